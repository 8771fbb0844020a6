package dev.bora4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.Arrays;
import java.util.Objects;

/**
 * A tensor to write to a safetensors file: dtype, shape (C order) and its little-endian bytes,
 * either in a buffer or produced on demand by a {@link ByteSource} (for tensors over 2 GB or data
 * that should not be copied first).
 */
public final class TensorData {

    /** Writes exactly the tensor's byte length to {@code out}, in C order, little-endian. */
    @FunctionalInterface
    public interface ByteSource {
        void writeTo(WritableByteChannel out) throws IOException;
    }

    private final SafetensorsDtype dtype;
    private final long[] shape;
    private final long byteLength;
    private final ByteSource source;

    private TensorData(SafetensorsDtype dtype, long[] shape, ByteSource source) {
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        this.shape = Objects.requireNonNull(shape, "shape").clone();
        try {
            this.byteLength = SafetensorsHeader.byteLength(dtype, this.shape);
        } catch (SafetensorsFormatException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
        this.source = Objects.requireNonNull(source, "source");
    }

    /**
     * The bytes between {@code bytes}' position and limit (not consumed: each write uses a
     * duplicate). Their count must equal dtype size x element count.
     */
    public static TensorData of(SafetensorsDtype dtype, long[] shape, ByteBuffer bytes) {
        Objects.requireNonNull(bytes, "bytes");
        ByteBuffer frozen = bytes.duplicate();
        TensorData data = new TensorData(dtype, shape, out -> {
            ByteBuffer b = frozen.duplicate();
            while (b.hasRemaining()) {
                out.write(b);
            }
        });
        if (frozen.remaining() != data.byteLength) {
            throw new IllegalArgumentException(dtype + " " + Arrays.toString(shape) + " needs " + data.byteLength
                    + " bytes but the buffer holds " + frozen.remaining());
        }
        return data;
    }

    /** Bytes produced by {@code source} when the file is written; the writer checks the count. */
    public static TensorData streamed(SafetensorsDtype dtype, long[] shape, ByteSource source) {
        return new TensorData(dtype, shape, source);
    }

    public SafetensorsDtype dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public long byteLength() {
        return byteLength;
    }

    ByteSource source() {
        return source;
    }
}
