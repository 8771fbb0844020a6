package dev.bora4j.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Corrupt and hostile files: each must fail with a SafetensorsFormatException naming the problem. */
class SafetensorsCorruptionTest {

    @TempDir
    Path dir;

    private int fileCount;

    /** A valid two-tensor file: "a" F32 [2, 2] at [0, 16], "b" I64 [3] at [16, 40]. */
    private static final String VALID_JSON = "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
            + "\"b\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[16,40]}}";

    private static byte[] data(int n) {
        byte[] d = new byte[n];
        for (int i = 0; i < n; i++) {
            d[i] = (byte) (i * 13 + 1);
        }
        return d;
    }

    private static byte[] validFile() {
        return RawSafetensors.file(VALID_JSON, data(40));
    }

    private Path save(byte[] bytes) throws IOException {
        return RawSafetensors.write(dir, "f" + (fileCount++) + ".safetensors", bytes);
    }

    /** Opens the bytes as a file and expects a SafetensorsFormatException whose message has every fragment. */
    private SafetensorsFormatException assertRejected(byte[] bytes, String... fragments) throws IOException {
        Path p = save(bytes);
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> {
            try (SafetensorsReader r = SafetensorsReader.open(p)) {
                fail("accepted: " + r.tensors());
            }
        });
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message '" + e.getMessage() + "' lacks '" + f + "'");
        }
        return e;
    }

    private SafetensorsFormatException assertHeaderRejected(String json, int dataBytes, String... fragments)
            throws IOException {
        return assertRejected(RawSafetensors.file(json, data(dataBytes)), fragments);
    }

    private static String tensor(String name, String dtype, String shape, String offsets) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
    }

    @Test
    void theBaselineFileIsValid() throws IOException {
        try (SafetensorsReader r = SafetensorsReader.open(save(validFile()))) {
            assertEquals(2, r.tensors().size());
            assertArrayEquals(Arrays.copyOfRange(data(40), 16, 40), r.copyBytes("b").array());
        }
    }

    @Test
    void truncatedFilesAtEveryCutPoint() throws IOException {
        byte[] full = validFile();
        int headerEnd = 8 + VALID_JSON.length();
        for (int cut = 0; cut < full.length; cut++) {
            byte[] cutBytes = Arrays.copyOf(full, cut);
            if (cut < 8) {
                assertRejected(cutBytes, "too short for the 8-byte header length");
            } else if (cut < headerEnd) {
                assertRejected(cutBytes, "runs past the end of the file");
            } else if (cut < headerEnd + 16) {
                assertRejected(cutBytes, "tensor 'a'", "run past the end of the data section");
            } else {
                assertRejected(cutBytes, "tensor 'b'", "run past the end of the data section");
            }
        }
    }

    @Test
    void headerLengthZeroAndOne() throws IOException {
        assertRejected(RawSafetensors.file(0, new byte[0], data(40)), "header length 0 is too small");
        assertRejected(RawSafetensors.file(1, "{".getBytes(StandardCharsets.US_ASCII), data(40)), "header length 1 is too small");
    }

    @Test
    void hugeHeaderLengths() throws IOException {
        byte[] header = VALID_JSON.getBytes(StandardCharsets.UTF_8);
        assertRejected(RawSafetensors.file(Long.MAX_VALUE, header, data(40)), "9223372036854775807", "exceeds the limit");
        assertRejected(RawSafetensors.file(-1L, header, data(40)), "18446744073709551615", "exceeds the limit");
        assertRejected(RawSafetensors.file(100_000_001L, header, data(40)), "exceeds the limit");
        // Under the limit but longer than the file.
        assertRejected(RawSafetensors.file(header.length + 41, header, data(40)), "runs past the end of the file");
        assertRejected(RawSafetensors.file(99_999_999L, header, data(40)), "runs past the end of the file");
    }

    @Test
    void headerLengthShorterThanTheJson() throws IOException {
        byte[] header = VALID_JSON.getBytes(StandardCharsets.UTF_8);
        // The prefix cuts the JSON: what is left is not a complete JSON document.
        assertRejected(RawSafetensors.file(header.length - 5, header, data(40)), "not valid JSON");
    }

    @Test
    void headerNotJson() throws IOException {
        assertHeaderRejected("{this is not json}", 0, "not valid JSON");
        assertHeaderRejected("{\"a\":{\"dtype\":\"F32\",", 0, "not valid JSON");
        assertHeaderRejected("{\"a\":{'dtype':\"F32\"}}", 0, "not valid JSON");
        assertHeaderRejected("PK\u0003\u0004 zip file", 0, "must be a JSON object starting with '{'");
        assertHeaderRejected(" {}", 0, "must be a JSON object starting with '{'");
        assertHeaderRejected("{} {}", 0, "not valid JSON");
        assertHeaderRejected("{}garbage", 0, "not valid JSON");
        // Invalid UTF-8 inside a name.
        byte[] bad = "{\"\u00e9\":1}".getBytes(StandardCharsets.UTF_8);
        bad[3] = (byte) 0xFF;
        assertRejected(RawSafetensors.file(bad.length, bad, new byte[0]), "not valid UTF-8");
    }

    @Test
    void headerJsonIsAnArrayOrScalar() throws IOException {
        assertHeaderRejected("[{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}]", 16,
                "must be a JSON object", "0x5b");
        assertHeaderRejected("\"just a string\"", 0, "must be a JSON object");
        assertHeaderRejected("42", 0, "must be a JSON object");
    }

    @Test
    void flippedHeaderBytesAreRejectedOrHarmless() throws IOException {
        byte[] valid = validFile();
        int headerEnd = 8 + VALID_JSON.length();
        int rejected = 0;
        for (int pos = 0; pos < headerEnd; pos++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] flipped = valid.clone();
                flipped[pos] ^= (byte) (1 << bit);
                Path p = save(flipped);
                try (SafetensorsReader r = SafetensorsReader.open(p)) {
                    // Accepted: the flip must have produced another fully consistent file (a renamed
                    // tensor or metadata entry); every tensor must still read in full.
                    for (String name : r.tensors().keySet()) {
                        assertEquals(r.info(name).byteLength(), r.tensorBytes(name).remaining());
                    }
                    assertEquals(40, r.header().dataLength());
                } catch (SafetensorsFormatException e) {
                    rejected++;
                }
                Files.delete(p);
            }
        }
        // Flips in structure, dtypes, shapes, offsets and the length prefix are caught;
        // only characters of names and metadata strings can change harmlessly.
        System.out.println("single-bit flips in the length and header: " + rejected + " of " + headerEnd * 8 + " rejected");
        assertTrue(rejected > headerEnd * 8 * 85 / 100, "only " + rejected + " of " + headerEnd * 8 + " flips rejected");

        // Targeted flips, each with its diagnosis.
        assertRejected(flipAt(valid, VALID_JSON.indexOf("F32") + 1, '6'), "tensor 'a'", "unknown or unsupported dtype 'F62'");
        assertRejected(flipAt(valid, VALID_JSON.indexOf("[2,2]") + 1, '3'), "tensor 'a'", "span 16 bytes but F32 [3, 2] needs 24");
        assertRejected(flipAt(valid, VALID_JSON.indexOf("[16,40]") + 5, '8'), "tensor 'b'", "span 32 bytes");
        assertRejected(flipAt(valid, VALID_JSON.indexOf("\"a\""), '['), "not valid JSON");
        assertRejected(flipAt(valid, 0, 'Z'), "must be a JSON object starting with '{'", "0x5a");
        byte[] lengthFlip = valid.clone();
        lengthFlip[1] ^= 0x01; // length prefix + 256
        assertRejected(lengthFlip, "runs past the end of the file");
    }

    private static byte[] flipAt(byte[] file, int jsonIndex, char replacement) {
        byte[] b = file.clone();
        b[8 + jsonIndex] = (byte) replacement;
        return b;
    }

    @Test
    void offsetsPastTheEnd() throws IOException {
        assertHeaderRejected("{" + tensor("a", "F32", "[4]", "[0,16]") + "}", 8,
                "tensor 'a'", "run past the end of the data section (8 bytes)");
        assertHeaderRejected("{" + tensor("a", "F32", "[0]", "[1000,1000]") + "}", 8,
                "tensor 'a'", "run past the end of the data section");
    }

    @Test
    void overlappingTensors() throws IOException {
        assertHeaderRejected("{" + tensor("a", "F32", "[4]", "[0,16]") + "," + tensor("b", "F32", "[2]", "[8,16]") + "}", 16,
                "overlap", "'a'", "'b'");
        // Two tensors claiming the same bytes.
        assertHeaderRejected("{" + tensor("a", "F32", "[2]", "[0,8]") + "," + tensor("b", "I32", "[2]", "[0,8]") + "}", 8,
                "overlap");
        // A zero-length tensor inside another one.
        assertHeaderRejected("{" + tensor("a", "F32", "[4]", "[0,16]") + "," + tensor("e", "F32", "[0]", "[4,4]") + "}", 16,
                "tensor 'e'", "overlap tensor 'a'");
    }

    @Test
    void holesBetweenOrBeforeTensors() throws IOException {
        assertHeaderRejected("{" + tensor("a", "F32", "[2]", "[0,8]") + "," + tensor("b", "F32", "[2]", "[12,20]") + "}", 20,
                "tensor 'b'", "4 unused bytes (a hole)");
        assertHeaderRejected("{" + tensor("a", "F32", "[2]", "[8,16]") + "}", 16, "tensor 'a'", "8 unused bytes (a hole)");
    }

    @Test
    void beginAfterEnd() throws IOException {
        assertHeaderRejected("{" + tensor("a", "F32", "[0]", "[16,8]") + "}", 16, "tensor 'a'", "begin after end");
    }

    @Test
    void byteLengthNotMatchingDtypeTimesShape() throws IOException {
        assertHeaderRejected("{" + tensor("a", "F32", "[2,2]", "[0,12]") + "}", 12,
                "tensor 'a'", "span 12 bytes but F32 [2, 2] needs 16");
        assertHeaderRejected("{" + tensor("s", "F64", "[]", "[0,4]") + "}", 4, "tensor 's'", "needs 8");
    }

    @Test
    void negativeAndNonIntegerDimensions() throws IOException {
        assertHeaderRejected("{" + tensor("a", "F32", "[-2,2]", "[0,16]") + "}", 16, "tensor 'a'", "negative value -2");
        assertHeaderRejected("{" + tensor("a", "F32", "[2.0,2]", "[0,16]") + "}", 16, "tensor 'a'", "not a non-negative integer");
        assertHeaderRejected("{" + tensor("a", "F32", "[4e0]", "[0,16]") + "}", 16, "tensor 'a'", "not a non-negative integer");
        assertHeaderRejected("{" + tensor("a", "F32", "[\"4\"]", "[0,16]") + "}", 16, "tensor 'a'", "must hold integers, found STRING");
        assertHeaderRejected("{" + tensor("a", "F32", "[4]", "[0,-16]") + "}", 16, "tensor 'a'", "negative value -16");
        assertHeaderRejected("{" + tensor("a", "F32", "[99999999999999999999]", "[0,16]") + "}", 16,
                "tensor 'a'", "does not fit in 63 bits");
    }

    @Test
    void elementCountOverflow() throws IOException {
        // 2^32 * 2^32 elements overflows; so does 2^62 elements of 4 bytes; a later 0 does not save it.
        assertHeaderRejected("{" + tensor("a", "F32", "[4294967296,4294967296]", "[0,16]") + "}", 16,
                "tensor 'a'", "element count", "overflows 64 bits");
        assertHeaderRejected("{" + tensor("a", "F32", "[4611686018427387904]", "[0,16]") + "}", 16,
                "tensor 'a'", "byte length", "overflows 64 bits");
        assertHeaderRejected("{" + tensor("a", "F32", "[4294967296,4294967296,0]", "[0,0]") + "}", 0,
                "tensor 'a'", "overflows 64 bits");
        // No element, but torch would still have to form a stride of 2^62 * 4 elements; a huge
        // first dim is no stride at all.
        assertHeaderRejected("{" + tensor("a", "F32", "[0,4611686018427387904,4]", "[0,0]") + "}", 0,
                "tensor 'a'", "strides of shape", "overflow 64 bits");
        String firstDimOnly = "{" + tensor("a", "F32", "[4611686018427387904,0]", "[0,0]") + "}";
        assertEquals(0, SafetensorsHeader.parse(firstDimOnly.getBytes(StandardCharsets.UTF_8), 0).tensor("a").byteLength());
        // Huge but representable: the byte length disagrees with the offsets, no allocation happens.
        assertHeaderRejected("{" + tensor("a", "U8", "[1000000000000]", "[0,16]") + "}", 16,
                "tensor 'a'", "needs 1000000000000");
    }

    @Test
    void duplicateNames() throws IOException {
        String a = tensor("a", "F32", "[2]", "[0,8]");
        assertHeaderRejected("{" + a + "," + a + "}", 8, "tensor 'a' appears twice");
        assertHeaderRejected("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "'__metadata__' appears twice");
        assertHeaderRejected("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "key 'k' appears twice");
        assertHeaderRejected("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                "tensor 'a'", "field 'dtype' appears twice");
    }

    @Test
    void badDtypes() throws IOException {
        assertHeaderRejected("{" + tensor("a", "F33", "[2]", "[0,8]") + "}", 8, "tensor 'a'", "unknown or unsupported dtype 'F33'");
        assertHeaderRejected("{" + tensor("a", "f32", "[2]", "[0,8]") + "}", 8, "unknown or unsupported dtype 'f32'");
        assertHeaderRejected("{" + tensor("a", "F4", "[2]", "[0,1]") + "}", 1, "unsupported dtype 'F4'");
        assertHeaderRejected("{\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype must be a string");
    }

    @Test
    void metadataMustMapStringsToStrings() throws IOException {
        assertHeaderRejected("{\"__metadata__\":{\"epoch\":3}}", 0, "'__metadata__' entry 'epoch' must be a string, found NUMBER");
        assertHeaderRejected("{\"__metadata__\":{\"x\":null}}", 0, "entry 'x' must be a string, found NULL");
        assertHeaderRejected("{\"__metadata__\":{\"x\":{\"nested\":\"no\"}}}", 0, "entry 'x' must be a string, found BEGIN_OBJECT");
        assertHeaderRejected("{\"__metadata__\":[\"a\"]}", 0, "must be an object of strings");
    }

    @Test
    void missingExtraAndMistypedFields() throws IOException {
        assertHeaderRejected("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "tensor 'a'", "missing field 'shape'");
        assertHeaderRejected("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'a'", "missing field 'dtype'");
        assertHeaderRejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "tensor 'a'", "missing field 'data_offsets'");
        assertHeaderRejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"stride\":[1]}}", 8,
                "tensor 'a'", "unexpected field 'stride'");
        assertHeaderRejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}}", 8,
                "tensor 'a'", "data_offsets has more than 2 entries");
        assertHeaderRejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8]}}", 8,
                "tensor 'a'", "exactly 2 integers");
        assertHeaderRejected("{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8,
                "tensor 'a'", "shape must be an array");
        assertHeaderRejected("{\"a\":[0,8]}", 8, "tensor 'a'", "expected an object");
        assertHeaderRejected("{\"\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "empty name");
    }

    @Test
    void extraBytesAfterTheLastTensor() throws IOException {
        byte[] valid = validFile();
        byte[] longer = Arrays.copyOf(valid, valid.length + 3);
        assertRejected(longer, "3 bytes after the last tensor 'b'");
        assertHeaderRejected("{}", 5, "5 bytes after the last tensor");
    }

    @Test
    void rankAndNestingBombsFailFast() throws IOException {
        String manyDims = "[" + "1,".repeat(SafetensorsHeader.MAX_RANK) + "1]";
        assertHeaderRejected("{" + tensor("a", "U8", manyDims, "[0,1]") + "}", 1, "tensor 'a'", "shape has more than 1024 entries");
        // A tensor entry nested a million arrays deep is refused at its first token, without recursion.
        String deep = "{\"a\":" + "[".repeat(1_000_000) + "]".repeat(1_000_000) + "}";
        assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertHeaderRejected(deep, 0, "tensor 'a'", "expected an object"));
        String deepMeta = "{\"__metadata__\":{\"k\":" + "[".repeat(1_000_000) + "]".repeat(1_000_000) + "}}";
        assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertHeaderRejected(deepMeta, 0, "entry 'k' must be a string"));
    }

    @Test
    void randomMutationsNeverEscapeAsAnythingButFormatErrors() {
        // Fuzz: random byte changes, cuts and insertions. Every outcome is a clean rejection or a
        // consistent file whose tensors all read; nothing else is thrown, nothing hangs.
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        tensors.put("w", TensorData.of(SafetensorsDtype.BF16, new long[] {3, 4}, ByteBuffer.wrap(data(24))));
        tensors.put("b", TensorData.of(SafetensorsDtype.F64, new long[] {2}, ByteBuffer.wrap(data(16))));
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            Path seed = dir.resolve("seed.safetensors");
            SafetensorsWriter.write(seed, tensors, Map.of("m", "v"));
            byte[] base = Files.readAllBytes(seed);
            Random rng = new Random(42);
            int rejected = 0;
            int trials = 1500;
            for (int i = 0; i < trials; i++) {
                byte[] m = base.clone();
                int kind = rng.nextInt(3);
                if (kind == 0) {
                    for (int k = 1 + rng.nextInt(4); k > 0; k--) {
                        m[rng.nextInt(m.length)] = (byte) rng.nextInt(256);
                    }
                } else if (kind == 1) {
                    m = Arrays.copyOf(m, rng.nextInt(m.length));
                } else {
                    int at = rng.nextInt(m.length);
                    byte[] ins = new byte[1 + rng.nextInt(8)];
                    rng.nextBytes(ins);
                    ByteBuffer b = ByteBuffer.allocate(m.length + ins.length);
                    b.put(m, 0, at).put(ins).put(m, at, m.length - at);
                    m = b.array();
                }
                Path p = dir.resolve("fuzz.safetensors");
                Files.write(p, m);
                try (SafetensorsReader r = SafetensorsReader.open(p)) {
                    for (String name : r.tensors().keySet()) {
                        assertEquals(r.info(name).byteLength(), r.copyBytes(name).remaining());
                    }
                } catch (SafetensorsFormatException e) {
                    rejected++;
                }
            }
            System.out.println("random mutations: " + rejected + " of " + trials + " rejected, the rest read cleanly");
            assertTrue(rejected > trials * 9 / 10, "only " + rejected + " of " + trials + " mutations rejected");
        });
    }

    @Test
    void lengthPrefixIsLittleEndian() throws IOException {
        // The same length written big-endian is a huge little-endian number.
        byte[] header = VALID_JSON.getBytes(StandardCharsets.UTF_8);
        byte[] be = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putLong(header.length).array();
        byte[] file = RawSafetensors.file(0, header, data(40));
        System.arraycopy(be, 0, file, 0, 8);
        assertRejected(file, "exceeds the limit");
    }
}
