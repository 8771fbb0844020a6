package dev.bora4j.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Round trips and byte layout of the format-level reader and writer (no torch). */
class SafetensorsFormatTest {

    @TempDir
    Path dir;

    private static byte[] randomBytes(Random rng, long n) {
        byte[] b = new byte[Math.toIntExact(n)];
        rng.nextBytes(b);
        return b;
    }

    private static byte[] bytesOf(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    @Test
    void everyDtypeRoundTripsBitwise() throws IOException {
        Random rng = new Random(1);
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        Map<String, byte[]> expected = new LinkedHashMap<>();
        for (SafetensorsDtype d : SafetensorsDtype.values()) {
            long[] shape = {3, 5, 2};
            byte[] bytes = randomBytes(rng, 30L * d.byteSize());
            tensors.put("t." + d, TensorData.of(d, shape, ByteBuffer.wrap(bytes)));
            expected.put("t." + d, bytes);
        }
        Path file = dir.resolve("all.safetensors");
        SafetensorsWriter.write(file, tensors, null);
        for (boolean mapWhole : new boolean[] {true, false}) {
            try (SafetensorsReader r = SafetensorsReader.open(file, mapWhole)) {
                assertEquals(mapWhole, r.mapsWholeFile());
                assertNull(r.metadata());
                assertEquals(expected.keySet().size(), r.tensors().size());
                for (SafetensorsDtype d : SafetensorsDtype.values()) {
                    String name = "t." + d;
                    TensorInfo info = r.info(name);
                    assertEquals(d, info.dtype());
                    assertArrayEquals(new long[] {3, 5, 2}, info.shape());
                    assertArrayEquals(expected.get(name), bytesOf(r.tensorBytes(name)), name);
                    assertArrayEquals(expected.get(name), bytesOf(r.copyBytes(name)), name);
                    // Tensors are naturally aligned inside the 8-byte aligned data section.
                    assertEquals(0, info.begin() % d.byteSize(), name);
                }
            }
        }
    }

    @Test
    void metadataRoundTripsIncludingEscapes() throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("quote\"back\\slash", "line\nbreak\ttab\u0001ctl é 😀 </script>");
        meta.put("", "empty key is allowed in metadata");
        Path file = dir.resolve("meta.safetensors");
        SafetensorsWriter.write(file, Map.of("x", TensorData.of(SafetensorsDtype.F32, new long[] {2},
                ByteBuffer.wrap(RawSafetensors.floats(1f, 2f)))), meta);
        try (SafetensorsReader r = SafetensorsReader.open(file)) {
            assertEquals(meta, r.metadata());
        }
        // Empty metadata is written as an empty object and read back as such.
        SafetensorsWriter.write(file, Map.of(), Map.of());
        try (SafetensorsReader r = SafetensorsReader.open(file)) {
            assertEquals(Map.of(), r.metadata());
            assertTrue(r.tensors().isEmpty());
        }
    }

    @Test
    void emptyTensorsAndScalars() throws IOException {
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        tensors.put("empty", TensorData.of(SafetensorsDtype.F32, new long[] {4, 0, 3}, ByteBuffer.allocate(0)));
        tensors.put("zero", TensorData.of(SafetensorsDtype.I64, new long[] {0}, ByteBuffer.allocate(0)));
        tensors.put("scalar", TensorData.of(SafetensorsDtype.F64, new long[] {},
                ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(0, Math.PI)));
        Path file = dir.resolve("edge.safetensors");
        SafetensorsWriter.write(file, tensors, null);
        try (SafetensorsReader r = SafetensorsReader.open(file)) {
            assertArrayEquals(new long[] {4, 0, 3}, r.info("empty").shape());
            assertEquals(0, r.info("empty").byteLength());
            assertEquals(0, r.tensorBytes("empty").remaining());
            assertEquals(0, r.info("zero").elementCount());
            assertEquals(0, r.info("scalar").rank());
            assertEquals(1, r.info("scalar").elementCount());
            assertEquals(Math.PI, r.tensorBytes("scalar").getDouble(0));
        }
        // A file with no tensors at all: "{}" padded to 8 bytes, nothing after.
        SafetensorsWriter.write(file, Map.of(), null);
        assertArrayEquals(RawSafetensors.file(8, "{}      ".getBytes(StandardCharsets.US_ASCII), new byte[0]),
                Files.readAllBytes(file));
    }

    @Test
    void dataStartsEightByteAlignedForEveryHeaderLength() throws IOException {
        // Names of 1..16 characters move the JSON length through every residue mod 8.
        for (int len = 1; len <= 16; len++) {
            String name = "n".repeat(len);
            Path file = dir.resolve("align" + len + ".safetensors");
            SafetensorsWriter.write(file, Map.of(name, TensorData.of(SafetensorsDtype.U8, new long[] {3},
                    ByteBuffer.wrap(new byte[] {1, 2, 3}))), null);
            byte[] all = Files.readAllBytes(file);
            long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(0, (8 + n) % 8, "data start for name length " + len);
            String header = new String(all, 8, (int) n, StandardCharsets.UTF_8);
            String json = header.stripTrailing();
            assertTrue(json.endsWith("}"));
            assertTrue(header.length() - json.length() < 8, "padding is at most 7 spaces");
            assertEquals(8 + n + 3, all.length);
            try (SafetensorsReader r = SafetensorsReader.open(file)) {
                assertEquals(8 + n, r.filePosition(name));
            }
        }
    }

    @Test
    void writerMatchesReferenceLayoutByteForByte() throws IOException {
        // Expected bytes assembled by hand from the format rules: metadata first, tensors ordered by
        // dtype width (I64, F32, F16) then name, compact JSON, 194 JSON bytes + 6 spaces = 200 = 0xC8.
        String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
                + "\"c\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[16,22]}}";
        byte[] expected = concat(
                new byte[] {(byte) 0xC8, 0, 0, 0, 0, 0, 0, 0},
                (json + "      ").getBytes(StandardCharsets.US_ASCII),
                new byte[] {7, 0, 0, 0, 0, 0, 0, 0},                      // a = int64 7
                new byte[] {0, 0, (byte) 0x80, 0x3F, 0, 0, 0, 0x40},      // b = float32 1, 2
                new byte[] {0, 0x3C, 0, (byte) 0xC0, 0, 0x38});           // c = float16 1, -2, 0.5
        assertEquals(230, expected.length);

        Map<String, TensorData> tensors = new LinkedHashMap<>();
        // Inserted out of order on purpose: the layout must not depend on map order.
        tensors.put("c", TensorData.of(SafetensorsDtype.F16, new long[] {3},
                ByteBuffer.wrap(new byte[] {0, 0x3C, 0, (byte) 0xC0, 0, 0x38})));
        tensors.put("b", TensorData.of(SafetensorsDtype.F32, new long[] {2}, ByteBuffer.wrap(RawSafetensors.floats(1f, 2f))));
        tensors.put("a", TensorData.of(SafetensorsDtype.I64, new long[] {1},
                ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 7)));
        Path file = dir.resolve("ref.safetensors");
        SafetensorsWriter.write(file, tensors, Map.of("format", "pt"));
        assertArrayEquals(expected, Files.readAllBytes(file));
    }

    @Test
    void readsValidFilesWithOtherLayouts() throws IOException {
        // Valid but unlike what the writer produces: pretty-printed, fields and entries in another
        // order, metadata last, data not in header order, no padding.
        String json = "{\n  \"w\": {\"data_offsets\": [8, 16], \"shape\": [2], \"dtype\": \"F32\"},\n"
                + "  \"v\": {\"shape\": [2], \"dtype\": \"F32\", \"data_offsets\": [0, 8]},\n"
                + "  \"__metadata__\": {\"k\": \"v\"}\n}";
        byte[] data = RawSafetensors.floats(1f, 2f, 3f, 4f);
        Path file = RawSafetensors.write(dir, "other.safetensors", RawSafetensors.file(json, data));
        try (SafetensorsReader r = SafetensorsReader.open(file)) {
            assertEquals(List.of("w", "v"), new ArrayList<>(r.tensors().keySet()));
            assertEquals(Map.of("k", "v"), r.metadata());
            assertEquals(3f, r.tensorBytes("w").getFloat(0));
            assertEquals(2f, r.tensorBytes("v").getFloat(4));
            ByteBuffer part = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            r.readInto("w", 4, part);
            assertEquals(4f, part.getFloat(0));
        }
    }

    @Test
    void regionMappingPathMatchesWholeFileMapping() throws IOException {
        Random rng = new Random(7);
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        for (int i = 0; i < 20; i++) {
            long[] shape = {1 + rng.nextInt(50), 1 + rng.nextInt(50)};
            tensors.put("layer" + i, TensorData.of(SafetensorsDtype.F32, shape,
                    ByteBuffer.wrap(randomBytes(rng, shape[0] * shape[1] * 4))));
        }
        Path file = dir.resolve("regions.safetensors");
        SafetensorsWriter.write(file, tensors, null);
        try (SafetensorsReader whole = SafetensorsReader.open(file, true);
             SafetensorsReader regions = SafetensorsReader.open(file, false)) {
            assertTrue(whole.mapsWholeFile());
            assertFalse(regions.mapsWholeFile());
            for (String name : tensors.keySet()) {
                ByteBuffer a = whole.tensorBytes(name);
                ByteBuffer b = regions.tensorBytes(name);
                assertEquals(a, b, name);
                assertTrue(b.isReadOnly());
                assertEquals(ByteOrder.LITTLE_ENDIAN, b.order());
                // Positional reads in odd-sized parts agree with the mapping.
                byte[] viaParts = new byte[a.remaining()];
                ByteBuffer dst = ByteBuffer.wrap(viaParts);
                int step = 37;
                for (int off = 0; off < viaParts.length; off += step) {
                    dst.limit(Math.min(viaParts.length, off + step));
                    regions.readInto(name, off, dst);
                }
                assertArrayEquals(bytesOf(a), viaParts, name);
            }
        }
    }

    @Test
    void readerRejectsMisuseClearly() throws IOException {
        Path file = dir.resolve("m.safetensors");
        SafetensorsWriter.write(file, Map.of("x", TensorData.of(SafetensorsDtype.F32, new long[] {2},
                ByteBuffer.wrap(RawSafetensors.floats(1f, 2f)))), null);
        SafetensorsReader r = SafetensorsReader.open(file);
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> r.info("y"));
        assertTrue(missing.getMessage().contains("no tensor 'y'"), missing.getMessage());
        assertThrows(IllegalArgumentException.class, () -> r.readInto("x", 4, ByteBuffer.allocate(8)));
        assertThrows(IllegalArgumentException.class, () -> r.readInto("x", -1, ByteBuffer.allocate(1)));
        r.close();
        assertThrows(IOException.class, () -> r.readInto("x", 0, ByteBuffer.allocate(4)));
    }

    @Test
    void writerRejectsInconsistentInput() {
        ByteBuffer eight = ByteBuffer.allocate(8);
        assertThrows(IllegalArgumentException.class, () -> TensorData.of(SafetensorsDtype.F32, new long[] {3}, eight));
        assertThrows(IllegalArgumentException.class, () -> TensorData.of(SafetensorsDtype.F32, new long[] {-1}, eight));
        assertThrows(IllegalArgumentException.class,
                () -> TensorData.of(SafetensorsDtype.F64, new long[] {1L << 40, 1L << 30}, eight));
        Path file = dir.resolve("bad.safetensors");
        Map<String, TensorData> reserved = Map.of("__metadata__", TensorData.of(SafetensorsDtype.F64, new long[] {1}, eight));
        assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(file, reserved, null));
        Map<String, TensorData> emptyName = Map.of("", TensorData.of(SafetensorsDtype.F64, new long[] {1}, eight));
        assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(file, emptyName, null));
        // A streamed source that writes too little or too much fails, and leaves no file behind.
        Map<String, TensorData> shortSource = Map.of("x", TensorData.streamed(SafetensorsDtype.F32, new long[] {2},
                out -> out.write(ByteBuffer.allocate(4))));
        IOException e = assertThrows(IOException.class, () -> SafetensorsWriter.write(file, shortSource, null));
        assertTrue(e.getMessage().contains("wrote 4 bytes"), e.getMessage());
        Map<String, TensorData> longSource = Map.of("x", TensorData.streamed(SafetensorsDtype.F32, new long[] {2},
                out -> out.write(ByteBuffer.allocate(12))));
        assertThrows(IOException.class, () -> SafetensorsWriter.write(file, longSource, null));
        assertFalse(Files.exists(file));
        assertEquals(0, dir.toFile().list().length, Arrays.toString(dir.toFile().list()));
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        ByteBuffer b = ByteBuffer.allocate(n);
        for (byte[] p : parts) {
            b.put(p);
        }
        return b.array();
    }
}
