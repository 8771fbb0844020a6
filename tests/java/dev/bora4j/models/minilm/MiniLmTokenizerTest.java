package dev.bora4j.models.minilm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MiniLmTokenizerTest {

    private static MiniLmTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = MiniLmTokenizer.load(8);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private static long[] row(Tensor t, int b) {
        Tensor r = t.select(0, b).contiguous();
        long[] out = new long[(int) r.numel()];
        r.data_ptr_long().get(out);
        return out;
    }

    @Test
    void padsEachBatchToItsLongestSentenceAndTruncatesAtMaxLength() {
        try (PointerScope scope = new PointerScope()) {
            TokenBatch batch = tokenizer.encode(List.of("Hello world", "hi"));
            assertEquals(2, batch.batchSize());
            assertEquals(4, batch.sequenceLength(), "[CLS] hello world [SEP], not the json's fixed 128");
            assertEquals(torch.ScalarType.Long.value, batch.inputIds().scalar_type().value);
            long[] first = row(batch.inputIds(), 0);
            long[] second = row(batch.inputIds(), 1);
            assertEquals(101, first[0]);
            assertEquals(102, first[3]);
            assertArrayEquals(new long[] {101, second[1], 102, 0}, second);
            assertArrayEquals(new long[] {1, 1, 1, 0}, row(batch.attentionMask(), 1));
            assertArrayEquals(new long[] {0, 0, 0, 0}, row(batch.tokenTypeIds(), 0));

            TokenBatch longOne = tokenizer.encode(List.of("one two three four five six seven eight nine ten"));
            assertEquals(8, longOne.sequenceLength());
            assertEquals(102, row(longOne.inputIds(), 0)[7], "truncated sequences still end with [SEP]");
        }
    }

    @Test
    void isUncased() {
        assertArrayEquals(tokenizer.tokenIds("hello world"), tokenizer.tokenIds("HeLLo World"));
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> MiniLmTokenizer.load(1));
        assertThrows(IllegalArgumentException.class, () -> MiniLmTokenizer.load(513));
        assertThrows(IllegalArgumentException.class, () -> tokenizer.encode(List.of()));
    }
}
