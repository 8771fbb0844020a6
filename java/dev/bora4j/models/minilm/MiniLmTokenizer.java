package dev.bora4j.models.minilm;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * The WordPiece tokenizer of all-MiniLM-L6-v2, loaded offline from the tokenizer json on the
 * classpath. The json's own fixed 128-token padding is switched off: each batch is padded to
 * its longest sentence (shorter batches are much faster) and sentences are truncated at
 * {@code maxLength} tokens, [CLS] and [SEP] included.
 */
public final class MiniLmTokenizer implements AutoCloseable {

    public static final long PAD_ID = 0;

    private final HuggingFaceTokenizer tokenizer;
    private final int maxLength;

    private MiniLmTokenizer(HuggingFaceTokenizer tokenizer, int maxLength) {
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
    }

    /** @param maxLength longest sequence in tokens, [CLS] and [SEP] included (2..512) */
    public static MiniLmTokenizer load(int maxLength) {
        if (maxLength < 2 || maxLength > MiniLmConfig.ALL_MINILM_L6_V2.maxPositions()) {
            throw new IllegalArgumentException("max length must be between 2 and "
                    + MiniLmConfig.ALL_MINILM_L6_V2.maxPositions() + " tokens, got " + maxLength);
        }
        Map<String, String> options = Map.of(
                "padding", "false",
                "truncation", "true",
                "maxLength", Integer.toString(maxLength),
                "addSpecialTokens", "true");
        try (InputStream in = MiniLmResources.open(MiniLmResources.TOKENIZER_JSON)) {
            return new MiniLmTokenizer(HuggingFaceTokenizer.newInstance(in, options), maxLength);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + MiniLmResources.TOKENIZER_JSON, e);
        }
    }

    public int maxLength() {
        return maxLength;
    }

    /** Token ids of one sentence, [CLS] ... [SEP], truncated at the max length. */
    public long[] tokenIds(String text) {
        if (text == null) {
            throw new IllegalArgumentException("text must not be null");
        }
        return tokenizer.encode(text).getIds();
    }

    /** Tokenises the sentences and pads them to the longest one. */
    public TokenBatch encode(List<String> sentences) {
        if (sentences == null || sentences.isEmpty()) {
            throw new IllegalArgumentException("need at least one sentence to encode");
        }
        for (String s : sentences) {
            if (s == null) {
                throw new IllegalArgumentException("sentences must not contain null");
            }
        }
        Encoding[] encodings = tokenizer.batchEncode(sentences);
        int seq = 0;
        for (Encoding e : encodings) {
            seq = Math.max(seq, e.getIds().length);
        }
        int batch = encodings.length;
        long[] ids = new long[batch * seq];
        long[] mask = new long[batch * seq];
        long[] types = new long[batch * seq];
        for (int b = 0; b < batch; b++) {
            long[] tokenIds = encodings[b].getIds();
            long[] typeIds = encodings[b].getTypeIds();
            System.arraycopy(tokenIds, 0, ids, b * seq, tokenIds.length);
            System.arraycopy(typeIds, 0, types, b * seq, typeIds.length);
            Arrays.fill(mask, b * seq, b * seq + tokenIds.length, 1L);
            // remaining ids stay PAD_ID (0), mask 0, type 0
        }
        return new TokenBatch(Tensor.create(ids, batch, seq), Tensor.create(mask, batch, seq),
                Tensor.create(types, batch, seq));
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
