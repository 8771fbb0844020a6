package dev.bora4j.io;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor entry of a safetensors header: name, dtype, shape (C order) and its byte range
 * {@code [begin, end)} relative to the start of the data section (the byte after the header).
 */
public final class TensorInfo {

    private final String name;
    private final SafetensorsDtype dtype;
    private final long[] shape;
    private final long begin;
    private final long end;

    public TensorInfo(String name, SafetensorsDtype dtype, long[] shape, long begin, long end) {
        this.name = Objects.requireNonNull(name, "name");
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        this.shape = Objects.requireNonNull(shape, "shape").clone();
        if (begin < 0 || end < begin) {
            throw new IllegalArgumentException("tensor '" + name + "': invalid byte range [" + begin + ", " + end + ")");
        }
        this.begin = begin;
        this.end = end;
    }

    public String name() {
        return name;
    }

    public SafetensorsDtype dtype() {
        return dtype;
    }

    /** A copy of the shape; {@code []} is a scalar. */
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Start of the tensor's bytes, relative to the data section. */
    public long begin() {
        return begin;
    }

    /** End (exclusive) of the tensor's bytes, relative to the data section. */
    public long end() {
        return end;
    }

    public long byteLength() {
        return end - begin;
    }

    /** Number of elements (1 for a scalar); the header validation guarantees it does not overflow. */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof TensorInfo)) {
            return false;
        }
        TensorInfo t = (TensorInfo) o;
        return name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " @[" + begin + ", " + end + ")";
    }
}
