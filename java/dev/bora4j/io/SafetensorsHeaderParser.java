package dev.bora4j.io;

import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;

import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The strict reader behind {@link SafetensorsHeader#parse}: checks every rule of
 * docs/safetensors.md and reports a broken one with the tensor concerned.
 */
final class SafetensorsHeaderParser {

    private SafetensorsHeaderParser() {
    }

    static SafetensorsHeader parse(byte[] header, long dataLength) throws SafetensorsFormatException {
        if (header.length < 2) {
            throw new SafetensorsFormatException("header is " + header.length + " bytes; the smallest valid header is {} (2 bytes)");
        }
        if (header[0] != '{') {
            // As in the reference implementation: no leading whitespace, and never an array or scalar.
            throw new SafetensorsFormatException("header must be a JSON object starting with '{', but its first byte is 0x"
                    + String.format("%02x", header[0] & 0xff) + ": not a safetensors file or a corrupt header");
        }
        String json;
        try {
            json = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(header)).toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsFormatException("header is not valid UTF-8", e);
        }
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        Map<String, String> metadata = null;
        try (JsonReader in = new JsonReader(new StringReader(json))) {
            in.setStrictness(Strictness.STRICT);
            JsonToken top = in.peek();
            if (top != JsonToken.BEGIN_OBJECT) {
                throw new SafetensorsFormatException("header JSON must be an object, found " + top);
            }
            in.beginObject();
            while (in.hasNext()) {
                String name = in.nextName();
                if (name.equals(SafetensorsHeader.METADATA_KEY)) {
                    if (metadata != null) {
                        throw new SafetensorsFormatException("'" + SafetensorsHeader.METADATA_KEY + "' appears twice in the header");
                    }
                    metadata = readMetadata(in);
                } else {
                    if (name.isEmpty()) {
                        throw new SafetensorsFormatException("a tensor has an empty name");
                    }
                    if (byName.containsKey(name)) {
                        throw new SafetensorsFormatException("tensor '" + name + "' appears twice in the header");
                    }
                    byName.put(name, readTensor(in, name));
                }
            }
            in.endObject();
            JsonToken after = in.peek();
            if (after != JsonToken.END_DOCUMENT) {
                throw new SafetensorsFormatException("unexpected " + after + " after the header object");
            }
        } catch (SafetensorsFormatException e) {
            throw e;
        } catch (IOException | IllegalStateException | NumberFormatException e) {
            // MalformedJsonException, EOFException and the reader's state errors all mean broken JSON.
            throw new SafetensorsFormatException("header is not valid JSON: " + e.getMessage(), e);
        }
        checkTiling(byName, dataLength);
        return new SafetensorsHeader(byName, metadata, dataLength);
    }

    private static Map<String, String> readMetadata(JsonReader in) throws IOException {
        JsonToken t = in.peek();
        if (t != JsonToken.BEGIN_OBJECT) {
            throw new SafetensorsFormatException("'" + SafetensorsHeader.METADATA_KEY + "' must be an object of strings, found " + t);
        }
        Map<String, String> meta = new LinkedHashMap<>();
        in.beginObject();
        while (in.hasNext()) {
            String key = in.nextName();
            JsonToken v = in.peek();
            if (v != JsonToken.STRING) {
                throw new SafetensorsFormatException("'" + SafetensorsHeader.METADATA_KEY + "' entry '" + key
                        + "' must be a string, found " + v);
            }
            if (meta.containsKey(key)) {
                throw new SafetensorsFormatException("'" + SafetensorsHeader.METADATA_KEY + "' key '" + key + "' appears twice");
            }
            meta.put(key, in.nextString());
        }
        in.endObject();
        return meta;
    }

    private static TensorInfo readTensor(JsonReader in, String name) throws IOException {
        JsonToken t = in.peek();
        if (t != JsonToken.BEGIN_OBJECT) {
            throw new SafetensorsFormatException("tensor '" + name
                    + "': expected an object with dtype, shape and data_offsets, found " + t);
        }
        SafetensorsDtype dtype = null;
        long[] shape = null;
        long[] offsets = null;
        in.beginObject();
        while (in.hasNext()) {
            String field = in.nextName();
            switch (field) {
                case "dtype":
                    if (dtype != null) {
                        throw duplicateField(name, field);
                    }
                    dtype = readDtype(in, name);
                    break;
                case "shape":
                    if (shape != null) {
                        throw duplicateField(name, field);
                    }
                    shape = readNonNegativeInts(in, name, "shape", SafetensorsHeader.MAX_RANK);
                    break;
                case "data_offsets":
                    if (offsets != null) {
                        throw duplicateField(name, field);
                    }
                    offsets = readNonNegativeInts(in, name, "data_offsets", 2);
                    if (offsets.length != 2) {
                        throw new SafetensorsFormatException("tensor '" + name
                                + "': data_offsets must hold exactly 2 integers [begin, end], found " + offsets.length);
                    }
                    break;
                default:
                    throw new SafetensorsFormatException("tensor '" + name + "': unexpected field '" + field
                            + "' (allowed: dtype, shape, data_offsets)");
            }
        }
        in.endObject();
        if (dtype == null) {
            throw missingField(name, "dtype");
        }
        if (shape == null) {
            throw missingField(name, "shape");
        }
        if (offsets == null) {
            throw missingField(name, "data_offsets");
        }
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end) {
            throw new SafetensorsFormatException("tensor '" + name + "': data_offsets [" + begin + ", " + end
                    + "] has begin after end");
        }
        long expected;
        try {
            expected = SafetensorsHeader.byteLength(dtype, shape);
        } catch (SafetensorsFormatException e) {
            throw new SafetensorsFormatException("tensor '" + name + "': " + e.getMessage());
        }
        if (end - begin != expected) {
            throw new SafetensorsFormatException("tensor '" + name + "': data_offsets [" + begin + ", " + end
                    + "] span " + (end - begin) + " bytes but " + dtype + " " + Arrays.toString(shape)
                    + " needs " + expected);
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static SafetensorsDtype readDtype(JsonReader in, String name) throws IOException {
        JsonToken t = in.peek();
        if (t != JsonToken.STRING) {
            throw new SafetensorsFormatException("tensor '" + name + "': dtype must be a string, found " + t);
        }
        String s = in.nextString();
        SafetensorsDtype d = SafetensorsDtype.fromWireName(s);
        if (d == null) {
            throw new SafetensorsFormatException("tensor '" + name + "': unknown or unsupported dtype '" + s
                    + "' (supported: " + Arrays.toString(SafetensorsDtype.values()) + ")");
        }
        return d;
    }

    /** An array of non-negative integer literals, at most {@code maxCount} long (one more is read to report it). */
    private static long[] readNonNegativeInts(JsonReader in, String name, String field, int maxCount) throws IOException {
        JsonToken t = in.peek();
        if (t != JsonToken.BEGIN_ARRAY) {
            throw new SafetensorsFormatException("tensor '" + name + "': " + field
                    + " must be an array of integers, found " + t);
        }
        long[] values = new long[4];
        int n = 0;
        in.beginArray();
        while (in.hasNext()) {
            if (n == maxCount) {
                throw new SafetensorsFormatException("tensor '" + name + "': " + field + " has more than "
                        + maxCount + " entries");
            }
            JsonToken v = in.peek();
            if (v != JsonToken.NUMBER) {
                throw new SafetensorsFormatException("tensor '" + name + "': " + field
                        + " must hold integers, found " + v);
            }
            String literal = in.nextString();
            if (literal.startsWith("-")) {
                throw new SafetensorsFormatException("tensor '" + name + "': " + field + " holds negative value " + literal);
            }
            if (!isDigits(literal)) {
                throw new SafetensorsFormatException("tensor '" + name + "': " + field + " holds " + literal
                        + ", not a non-negative integer");
            }
            long value;
            try {
                value = Long.parseLong(literal);
            } catch (NumberFormatException e) {
                throw new SafetensorsFormatException("tensor '" + name + "': " + field + " value " + literal
                        + " does not fit in 63 bits");
            }
            if (n == values.length) {
                values = Arrays.copyOf(values, n * 2);
            }
            values[n++] = value;
        }
        in.endArray();
        return Arrays.copyOf(values, n);
    }

    private static boolean isDigits(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }

    /** The tensors' byte ranges must tile [0, dataLength) exactly: inside it, no overlap, no hole, nothing after. */
    private static void checkTiling(Map<String, TensorInfo> byName, long dataLength) throws SafetensorsFormatException {
        for (TensorInfo t : byName.values()) {
            if (t.end() > dataLength) {
                throw new SafetensorsFormatException("tensor '" + t.name() + "': data_offsets [" + t.begin() + ", "
                        + t.end() + "] run past the end of the data section (" + dataLength + " bytes)");
            }
        }
        List<TensorInfo> sorted = new ArrayList<>(byName.values());
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expected = 0;
        TensorInfo previous = null;
        for (TensorInfo t : sorted) {
            if (t.begin() < expected) {
                throw new SafetensorsFormatException("tensor '" + t.name() + "': data_offsets [" + t.begin() + ", "
                        + t.end() + "] overlap tensor '" + previous.name() + "' [" + previous.begin() + ", "
                        + previous.end() + "]");
            }
            if (t.begin() > expected) {
                throw new SafetensorsFormatException("tensor '" + t.name() + "': " + (t.begin() - expected)
                        + " unused bytes (a hole) before its data_offsets [" + t.begin() + ", " + t.end() + "]");
            }
            expected = t.end();
            previous = t;
        }
        if (expected != dataLength) {
            throw new SafetensorsFormatException((dataLength - expected) + " bytes after the last tensor"
                    + (previous == null ? "" : " '" + previous.name() + "'")
                    + ": the data section must end where the last tensor ends");
        }
    }

    private static SafetensorsFormatException duplicateField(String name, String field) {
        return new SafetensorsFormatException("tensor '" + name + "': field '" + field + "' appears twice");
    }

    private static SafetensorsFormatException missingField(String name, String field) {
        return new SafetensorsFormatException("tensor '" + name + "': missing field '" + field + "'");
    }
}
