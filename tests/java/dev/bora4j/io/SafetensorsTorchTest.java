package dev.bora4j.io;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Safetensors files to and from libtorch tensors. */
class SafetensorsTorchTest {

    @TempDir
    Path dir;

    @BeforeAll
    static void oneThread() {
        torch.set_num_threads(1);
    }

    private static long[] shapeOf(Tensor t) {
        long[] s = new long[(int) t.dim()];
        for (int i = 0; i < s.length; i++) {
            s[i] = t.size(i);
        }
        return s;
    }

    /** The raw bytes of a contiguous CPU tensor. */
    private static byte[] bytesOf(Tensor t) {
        assertTrue(t.is_contiguous());
        byte[] b = new byte[Math.toIntExact(t.nbytes())];
        if (b.length > 0) {
            new BytePointer(t.data_ptr()).capacity(b.length).get(b);
        }
        return b;
    }

    /** A tensor of the given type whose memory holds random bit patterns (0/1 for bool). */
    private static Tensor randomBits(ScalarType type, Random rng, long... shape) {
        Tensor t = torch.empty(shape, new TensorOptions(type), new MemoryFormatOptional());
        byte[] b = new byte[Math.toIntExact(t.nbytes())];
        rng.nextBytes(b);
        if (type == ScalarType.Bool) {
            for (int i = 0; i < b.length; i++) {
                b[i] &= 1;
            }
        }
        if (b.length > 0) {
            new BytePointer(t.data_ptr()).capacity(b.length).put(b);
        }
        return t;
    }

    private static final List<ScalarType> TYPES = List.of(ScalarType.Float, ScalarType.Half, ScalarType.BFloat16,
            ScalarType.Double, ScalarType.Long, ScalarType.Int, ScalarType.Short, ScalarType.Char, ScalarType.Byte,
            ScalarType.Bool, ScalarType.UInt16, ScalarType.UInt32, ScalarType.UInt64, ScalarType.Float8_e5m2,
            ScalarType.Float8_e4m3fn, ScalarType.Float8_e8m0fnu);

    @Test
    void dtypeMappingIsABijection() {
        assertEquals(SafetensorsDtype.values().length, TYPES.size());
        for (ScalarType t : TYPES) {
            assertEquals(t, SafetensorsTorch.scalarTypeOf(SafetensorsTorch.dtypeOf(t)));
        }
        for (SafetensorsDtype d : SafetensorsDtype.values()) {
            assertEquals(d, SafetensorsTorch.dtypeOf(SafetensorsTorch.scalarTypeOf(d)));
            Tensor t = torch.empty(new long[] {1}, new TensorOptions(SafetensorsTorch.scalarTypeOf(d)), new MemoryFormatOptional());
            assertEquals(d.byteSize(), t.element_size(), d.toString());
            t.close();
        }
        assertThrows(IllegalArgumentException.class, () -> SafetensorsTorch.dtypeOf(ScalarType.ComplexFloat));
        // Scalar types coming back from native code map correctly too.
        Tensor half = torch.randn(2).to(ScalarType.Half);
        assertEquals(SafetensorsDtype.F16, SafetensorsTorch.dtypeOf(half.scalar_type()));
    }

    @Test
    void everyDtypeRoundTripsBitwise() throws IOException {
        Random rng = new Random(3);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (ScalarType type : TYPES) {
            tensors.put("p." + type, randomBits(type, rng, 7, 3, 5));
        }
        Path file = dir.resolve("torch.safetensors");
        SafetensorsTorch.write(file, tensors, Map.of("format", "pt"));
        Map<String, Tensor> back = SafetensorsTorch.readAll(file);
        assertEquals(tensors.keySet(), back.keySet());
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor got = back.get(e.getKey());
            assertEquals(e.getValue().scalar_type().intern(), got.scalar_type().intern(), e.getKey());
            assertArrayEquals(shapeOf(e.getValue()), shapeOf(got), e.getKey());
            assertArrayEquals(bytesOf(e.getValue()), bytesOf(got), e.getKey());
        }
        try (SafetensorsReader r = SafetensorsReader.open(file)) {
            assertEquals(Map.of("format", "pt"), r.metadata());
        }
        tensors.values().forEach(Tensor::close);
        back.values().forEach(Tensor::close);
    }

    @Test
    void torchWriterAndFormatWriterProduceIdenticalFiles() throws IOException {
        Random rng = new Random(5);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, TensorData> raw = new LinkedHashMap<>();
        ScalarType[] types = {ScalarType.Float, ScalarType.BFloat16, ScalarType.Half, ScalarType.Double, ScalarType.Long};
        for (int i = 0; i < types.length; i++) {
            Tensor t = randomBits(types[i], rng, 4, 6);
            tensors.put("layers." + i + ".weight", t);
            raw.put("layers." + i + ".weight", TensorData.of(SafetensorsTorch.dtypeOf(types[i]), shapeOf(t),
                    ByteBuffer.wrap(bytesOf(t))));
        }
        Path viaTorch = dir.resolve("a.safetensors");
        Path viaBytes = dir.resolve("b.safetensors");
        SafetensorsTorch.write(viaTorch, tensors, Map.of("k", "v"));
        SafetensorsWriter.write(viaBytes, raw, Map.of("k", "v"));
        assertEquals(-1L, Files.mismatch(viaTorch, viaBytes));
        tensors.values().forEach(Tensor::close);
    }

    @Test
    void realValuesEmptyAndScalarTensors() throws IOException {
        Tensor w = torch.randn(3, 4);
        Tensor empty = torch.empty(new long[] {2, 0, 5}, new TensorOptions(ScalarType.Float), new MemoryFormatOptional());
        Tensor scalar = torch.randn(new long[] {}, new TensorOptions(ScalarType.Double));
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("w", w);
        tensors.put("empty", empty);
        tensors.put("scalar", scalar);
        Path file = dir.resolve("values.safetensors");
        SafetensorsTorch.write(file, tensors, null);
        Map<String, Tensor> back = SafetensorsTorch.readAll(file);
        assertTrue(back.get("w").equal(w));
        assertArrayEquals(new long[] {2, 0, 5}, shapeOf(back.get("empty")));
        assertEquals(0, back.get("scalar").dim());
        assertEquals(scalar.item_double(), back.get("scalar").item_double());
        back.values().forEach(Tensor::close);
        tensors.values().forEach(Tensor::close);
    }

    @Test
    void nonContiguousInputIsWrittenInCOrderAndLeftUntouched() throws IOException {
        Tensor base = torch.randn(5, 3);
        Tensor transposed = base.t();
        assertFalse(transposed.is_contiguous());
        Path file = dir.resolve("t.safetensors");
        SafetensorsTorch.write(file, Map.of("t", transposed), null);
        assertFalse(transposed.is_contiguous());
        try (SafetensorsReader r = SafetensorsReader.open(file)) {
            Tensor back = SafetensorsTorch.read(r, "t");
            assertArrayEquals(new long[] {3, 5}, shapeOf(back));
            assertTrue(back.equal(transposed));
            Tensor expected = transposed.contiguous();
            assertArrayEquals(bytesOf(expected), bytesOf(back));
            // A second read gives independent memory.
            Tensor again = SafetensorsTorch.read(r, "t");
            assertFalse(again.data_ptr().address() == back.data_ptr().address());
        }
    }

    @Test
    void readsThroughTheRegionMappingPathToo() throws IOException {
        Tensor w = torch.randn(64, 33);
        Path file = dir.resolve("r.safetensors");
        SafetensorsTorch.write(file, Map.of("w", w, "v", torch.randn(7)), null);
        try (SafetensorsReader r = SafetensorsReader.open(file, false)) {
            assertFalse(r.mapsWholeFile());
            assertTrue(SafetensorsTorch.read(r, "w").equal(w));
        }
    }

    @Test
    void chunkedCopiesReassembleExactly() throws IOException {
        // Chunks of 7 bytes never align with elements: every boundary case of the chunk loop.
        Tensor w = randomBits(ScalarType.Double, new Random(11), 13, 9);
        Path file = dir.resolve("chunks.safetensors");
        Path reference = dir.resolve("whole.safetensors");
        SafetensorsTorch.write(file, Map.of("w", w), null, 7);
        SafetensorsTorch.write(reference, Map.of("w", w), null);
        assertEquals(-1L, Files.mismatch(file, reference));
        try (SafetensorsReader r = SafetensorsReader.open(file)) {
            assertArrayEquals(bytesOf(w), bytesOf(SafetensorsTorch.read(r, "w", 7)));
            assertArrayEquals(bytesOf(w), bytesOf(SafetensorsTorch.read(r, "w", 13 * 9 * 8)));
        }
    }

    @Test
    void rejectsUnsupportedTensors() {
        Path file = dir.resolve("bad.safetensors");
        Tensor complex = torch.empty(new long[] {2}, new TensorOptions(ScalarType.ComplexFloat), new MemoryFormatOptional());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SafetensorsTorch.write(file, Map.of("c", complex), null));
        assertTrue(e.getMessage().contains("ComplexFloat"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SafetensorsTorch.write(file, Map.of("u", new Tensor()), null));
        assertFalse(Files.exists(file));
    }
}
