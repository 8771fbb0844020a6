package dev.bora4j.models.minilm;

import org.bytedeco.pytorch.Tensor;

/**
 * A tokenised batch padded to its longest sentence: three int64 tensors of shape [batch, seq].
 * {@code attentionMask} is 1 on real tokens and 0 on padding; {@code tokenTypeIds} is all 0 for
 * single sentences.
 */
public record TokenBatch(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds) {

    public TokenBatch {
        if (inputIds == null || attentionMask == null || tokenTypeIds == null) {
            throw new IllegalArgumentException("input ids, attention mask and token type ids are all required");
        }
        if (inputIds.dim() != 2) {
            throw new IllegalArgumentException("input ids must have shape [batch, seq], got " + inputIds.dim() + " dims");
        }
        for (Tensor t : new Tensor[] {attentionMask, tokenTypeIds}) {
            if (t.dim() != 2 || t.size(0) != inputIds.size(0) || t.size(1) != inputIds.size(1)) {
                throw new IllegalArgumentException("attention mask and token type ids must have the input ids' shape ["
                        + inputIds.size(0) + ", " + inputIds.size(1) + "]");
            }
        }
    }

    public long batchSize() {
        return inputIds.size(0);
    }

    public long sequenceLength() {
        return inputIds.size(1);
    }
}
