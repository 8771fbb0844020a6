package dev.bora4j.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class OnnxModelReaderTest {

    private static byte[] modelBytes;

    @BeforeAll
    static void readModel() throws IOException {
        try (InputStream in = OnnxModelReaderTest.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
            modelBytes = in.readAllBytes();
        }
    }

    @Test
    void readsTheMiniLmInitializersAndNodes() {
        OnnxModel model = OnnxModelReader.parse(modelBytes);
        assertEquals(11, model.opsetVersion());
        assertEquals(102, model.initializers().size());
        OnnxTensor words = model.initializers().get("embeddings.word_embeddings.weight");
        assertEquals(OnnxTensor.FLOAT, words.dataType());
        assertTrue(Arrays.equals(new long[] {30522, 384}, words.dims()));
        assertEquals(30522L * 384 * 4, words.length());
        long matmuls = model.initializers().keySet().stream().filter(n -> n.startsWith("onnx::MatMul_")).count();
        assertEquals(36, matmuls);
        assertEquals("/encoder/layer.0/attention/self/query/MatMul",
                model.consumersOf("onnx::MatMul_787").get(0).name());
        // the file really has unaligned tensors: the reader must not assume alignment
        assertTrue(model.initializers().values().stream().anyMatch(t -> t.offset() % 4 != 0));
    }

    @Test
    void truncatedFilesFailWithAClearMessage() {
        for (int length : new int[] {1, 17, 1000, modelBytes.length / 2, modelBytes.length - 1}) {
            byte[] cut = Arrays.copyOf(modelBytes, length);
            OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> OnnxModelReader.parse(cut),
                    "truncated at " + length);
            assertTrue(e.getMessage().contains("corrupt ONNX") || e.getMessage().contains("no graph"), e.getMessage());
        }
    }

    @Test
    void randomBytesFailWithoutHugeAllocations() {
        Random random = new Random(42);
        for (int i = 0; i < 200; i++) {
            byte[] junk = new byte[1 + random.nextInt(4096)];
            random.nextBytes(junk);
            assertThrows(OnnxFormatException.class, () -> OnnxModelReader.parse(junk));
        }
    }

    @Test
    void flippedLengthPrefixIsRejected() {
        // graph field (7, length-delimited) claiming 2^40 bytes
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write((7 << 3) | 2);
        long length = 1L << 40;
        while (length >= 0x80) {
            out.write((int) (length & 0x7F) | 0x80);
            length >>>= 7;
        }
        out.write((int) length);
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> OnnxModelReader.parse(out.toByteArray()));
        assertTrue(e.getMessage().contains("exceeds"), e.getMessage());
    }

    @Test
    void rawDataThatDoesNotMatchTheDimensionsIsRejected() {
        // graph { initializer { dims: 2, data_type: FLOAT, name: "w", raw_data: 4 bytes } }
        byte[] tensor = {0x08, 0x02, 0x10, 0x01, 0x42, 0x01, 'w', 0x4A, 0x04, 0, 0, 0, 0};
        byte[] graph = concat(new byte[] {0x2A, (byte) tensor.length}, tensor);
        byte[] model = concat(new byte[] {0x3A, (byte) graph.length}, graph);
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> OnnxModelReader.parse(model));
        assertTrue(e.getMessage().contains("'w'"), e.getMessage());
    }

    @Test
    void emptyAndMissingInputsAreRejected() {
        assertThrows(OnnxFormatException.class, () -> OnnxModelReader.parse(new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> OnnxModelReader.read(null));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
