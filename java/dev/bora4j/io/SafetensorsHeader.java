package dev.bora4j.io;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The header of a safetensors file: the tensor entries and the optional {@code __metadata__}.
 *
 * <p>{@link #parse} validates a header strictly (see docs/safetensors.md for the full list of
 * rules) and {@link #plan} lays out a new one the way the reference implementation does. A header
 * obtained from either is always consistent: offsets tile the data section exactly, every byte
 * length equals dtype size x element count, names are unique and non-empty.
 */
public final class SafetensorsHeader {

    /** Largest header accepted, as in the reference implementation: bounds memory spent on a hostile file. */
    public static final long MAX_HEADER_LENGTH = 100_000_000L;
    /** Largest rank accepted; far above any real tensor, it bounds memory spent on a hostile shape. */
    public static final int MAX_RANK = 1024;
    /** The reserved header key holding string-to-string metadata. */
    public static final String METADATA_KEY = "__metadata__";

    /** Name, dtype and shape of a tensor to lay out with {@link #plan}. */
    public record TensorSpec(String name, SafetensorsDtype dtype, long[] shape) {
        public TensorSpec {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(dtype, "dtype");
            shape = Objects.requireNonNull(shape, "shape").clone();
        }
    }

    private final Map<String, TensorInfo> byName;
    private final List<TensorInfo> inDataOrder;
    private final Map<String, String> metadata;
    private final long dataLength;

    SafetensorsHeader(Map<String, TensorInfo> byName, Map<String, String> metadata, long dataLength) {
        this.byName = Collections.unmodifiableMap(byName);
        List<TensorInfo> sorted = new ArrayList<>(byName.values());
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        this.inDataOrder = Collections.unmodifiableList(sorted);
        this.metadata = metadata == null ? null : Collections.unmodifiableMap(metadata);
        this.dataLength = dataLength;
    }

    /** Tensors by name, in the order the header lists them. */
    public Map<String, TensorInfo> tensors() {
        return byName;
    }

    /** Tensors in the order their bytes appear in the data section. */
    public List<TensorInfo> tensorsInDataOrder() {
        return inDataOrder;
    }

    /** The named tensor, or null. */
    public TensorInfo tensor(String name) {
        return byName.get(name);
    }

    /** The {@code __metadata__} map (unmodifiable), or null when the header has none. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Length in bytes of the data section (sum of all tensor byte lengths). */
    public long dataLength() {
        return dataLength;
    }

    // ---------------------------------------------------------------- layout of a new header

    /**
     * Lays out tensors the way the reference implementation does: ordered by dtype width
     * (widest first, {@link SafetensorsDtype} order descending), then by name, back to back from
     * offset 0. {@code metadata} may be null (no {@code __metadata__} entry).
     */
    public static SafetensorsHeader plan(List<TensorSpec> specs, Map<String, String> metadata) {
        Objects.requireNonNull(specs, "specs");
        List<TensorSpec> ordered = new ArrayList<>(specs);
        ordered.sort(Comparator.comparing(TensorSpec::dtype, Comparator.reverseOrder())
                .thenComparing(TensorSpec::name));
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        long offset = 0;
        for (TensorSpec spec : ordered) {
            String name = spec.name();
            if (name.isEmpty()) {
                throw new IllegalArgumentException("tensor names must not be empty");
            }
            if (name.equals(METADATA_KEY)) {
                throw new IllegalArgumentException("'" + METADATA_KEY + "' is reserved and cannot name a tensor");
            }
            if (byName.containsKey(name)) {
                throw new IllegalArgumentException("tensor name '" + name + "' appears twice");
            }
            if (spec.shape().length > MAX_RANK) {
                throw new IllegalArgumentException("tensor '" + name + "': rank " + spec.shape().length
                        + " exceeds the limit of " + MAX_RANK);
            }
            long bytes;
            try {
                bytes = byteLength(spec.dtype(), spec.shape());
            } catch (SafetensorsFormatException e) {
                throw new IllegalArgumentException("tensor '" + name + "': " + e.getMessage());
            }
            long end;
            try {
                end = Math.addExact(offset, bytes);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("total size of the tensors overflows 64 bits at tensor '" + name + "'");
            }
            byName.put(name, new TensorInfo(name, spec.dtype(), spec.shape(), offset, end));
            offset = end;
        }
        Map<String, String> meta = null;
        if (metadata != null) {
            // Sorted keys make the bytes deterministic (the reference keeps a hash map here).
            meta = new TreeMap<>();
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                if (e.getKey() == null || e.getValue() == null) {
                    throw new IllegalArgumentException("metadata keys and values must not be null: " + e);
                }
                meta.put(e.getKey(), e.getValue());
            }
            meta = new LinkedHashMap<>(meta);
        }
        return new SafetensorsHeader(byName, meta, offset);
    }

    /**
     * The header as written to a file: compact JSON ({@code __metadata__} first, then the tensors
     * in data order, fields dtype, shape, data_offsets) padded with spaces so that 8 + length is a
     * multiple of 8 and the data section starts 8-byte aligned.
     */
    public byte[] toBytes() {
        StringBuilder sb = new StringBuilder();
        sb.append('{');
        boolean first = true;
        if (metadata != null) {
            appendString(sb, METADATA_KEY);
            sb.append(":{");
            boolean firstMeta = true;
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                if (!firstMeta) {
                    sb.append(',');
                }
                firstMeta = false;
                appendString(sb, e.getKey());
                sb.append(':');
                appendString(sb, e.getValue());
            }
            sb.append('}');
            first = false;
        }
        for (TensorInfo t : inDataOrder) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            appendString(sb, t.name());
            sb.append(":{\"dtype\":");
            appendString(sb, t.dtype().wireName());
            sb.append(",\"shape\":[");
            long[] shape = t.shape();
            for (int i = 0; i < shape.length; i++) {
                if (i > 0) {
                    sb.append(',');
                }
                sb.append(shape[i]);
            }
            sb.append("],\"data_offsets\":[").append(t.begin()).append(',').append(t.end()).append("]}");
        }
        sb.append('}');
        byte[] json = sb.toString().getBytes(StandardCharsets.UTF_8);
        int padding = (8 - json.length % 8) % 8;
        if ((long) json.length + padding > MAX_HEADER_LENGTH) {
            throw new IllegalArgumentException("header would be " + (json.length + padding)
                    + " bytes, over the format's limit of " + MAX_HEADER_LENGTH);
        }
        byte[] out = Arrays.copyOf(json, json.length + padding);
        Arrays.fill(out, json.length, out.length, (byte) ' ');
        return out;
    }

    /** JSON string escaping as serde_json does it: quote, backslash and control characters only. */
    private static void appendString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\b': sb.append("\\b"); break;
                case '\f': sb.append("\\f"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }

    /**
     * Parses and validates header bytes (the N bytes after the length prefix) for a file whose data
     * section is {@code dataLength} bytes long.
     *
     * @throws SafetensorsFormatException naming the rule broken and the tensor concerned
     */
    public static SafetensorsHeader parse(byte[] header, long dataLength) throws SafetensorsFormatException {
        return SafetensorsHeaderParser.parse(header, dataLength);
    }

    /**
     * dtype size x product of dims, left to right as the reference does, refusing 64-bit overflow,
     * also of the product of the nonzero dims (a tensor of zero elements still has strides).
     */
    static long byteLength(SafetensorsDtype dtype, long[] shape) throws SafetensorsFormatException {
        long count = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new SafetensorsFormatException("negative dimension " + d + " in shape " + Arrays.toString(shape));
            }
            try {
                count = Math.multiplyExact(count, d);
            } catch (ArithmeticException e) {
                throw new SafetensorsFormatException("element count of shape " + Arrays.toString(shape) + " overflows 64 bits");
            }
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(count, (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new SafetensorsFormatException("byte length of " + dtype + " " + Arrays.toString(shape) + " overflows 64 bits");
        }
        // torch also forms the strides (in elements): the products of the dims after each one,
        // which a zero dim elsewhere does not bound
        try {
            long stride = 1;
            for (int i = shape.length - 1; i > 0; i--) {
                stride = Math.multiplyExact(stride, Math.max(shape[i], 1));
            }
        } catch (ArithmeticException e) {
            throw new SafetensorsFormatException("strides of shape " + Arrays.toString(shape) + " overflow 64 bits");
        }
        return bytes;
    }
}
