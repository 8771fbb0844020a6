package dev.bora4j.models.minilm;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/**
 * The real (unpadded) tokens of a padded batch, in row-major order: {@code pack} turns
 * [batch, seq, hidden] states into [tokens, hidden], {@code unpack} scatters them back with zeros
 * at the padding.
 *
 * <p>Everything in a BERT layer but attention works token by token, so the projections, adapters,
 * LayerNorms and the FFN can run on the packed tokens only: a batch of 32 random sentences pads
 * its real tokens to about 2.7x as many. Attention alone needs the padded layout; with zeros at the
 * padded keys and values it computes exactly what it computes on padded states, because the
 * additive mask gives those keys a weight of exactly 0 either way.
 */
public final class TokenPacking {

    private final Tensor index;
    private final Tensor sentenceOfToken;
    private final Tensor tokensPerSentence;
    private final long batch;
    private final long seq;

    private TokenPacking(Tensor index, Tensor sentenceOfToken, Tensor tokensPerSentence, long batch, long seq) {
        this.index = index;
        this.sentenceOfToken = sentenceOfToken;
        this.tokensPerSentence = tokensPerSentence;
        this.batch = batch;
        this.seq = seq;
    }

    /** The packing of the positions where {@code attentionMask} [batch, seq] is non-zero. */
    public static TokenPacking of(Tensor attentionMask) {
        long batch = attentionMask.size(0), seq = attentionMask.size(1);
        Tensor index = attentionMask.reshape(batch * seq).nonzero().reshape(-1);
        Tensor sentence = index.floor_divide(new Scalar(seq));
        Tensor counts = attentionMask.ne(new Scalar(0)).sum(1).clamp_min(new Scalar(1));
        return new TokenPacking(index, sentence, counts, batch, seq);
    }

    /** Number of real tokens. */
    public long tokens() {
        return index.size(0);
    }

    /** [batch, seq, hidden] -> [tokens, hidden]. */
    public Tensor pack(Tensor padded) {
        Tensor rows = padded.reshape(batch * seq, padded.size(-1));
        return hasPadding() ? rows.index_select(0, index) : rows;
    }

    /** [tokens, hidden] -> [batch, seq, hidden], zero at the padding. */
    public Tensor unpack(Tensor packed) {
        long hidden = packed.size(-1);
        if (!hasPadding()) {
            return packed.reshape(batch, seq, hidden);
        }
        return packed.new_zeros(batch * seq, hidden).index_copy(0, index, packed).view(batch, seq, hidden);
    }

    /** False when every position is a real token: then packing is a reshape, with no copy. */
    private boolean hasPadding() {
        return index.size(0) != batch * seq;
    }

    /** The mean over each sentence's tokens of packed states [tokens, hidden] -> [batch, hidden]. */
    public Tensor sentenceMeans(Tensor packed) {
        Tensor sums = packed.new_zeros(batch, packed.size(-1)).index_add(0, sentenceOfToken, packed);
        return sums.div(tokensPerSentence.to(packed.scalar_type()).unsqueeze(1));
    }
}
