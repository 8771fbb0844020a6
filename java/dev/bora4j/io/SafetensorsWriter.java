package dev.bora4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes safetensors files laid out as the reference implementation lays them out: header padded
 * with spaces to 8-byte alignment, tensors ordered by dtype width then name, back to back.
 * {@link #write} replaces the target atomically ({@link AtomicFiles}).
 */
public final class SafetensorsWriter {

    private SafetensorsWriter() {
    }

    /**
     * Atomically writes {@code tensors} (name to data) and {@code metadata} (may be null: no
     * {@code __metadata__} entry) to {@code target}.
     */
    public static void write(Path target, Map<String, TensorData> tensors, Map<String, String> metadata)
            throws IOException {
        SafetensorsHeader header = plan(tensors, metadata);
        AtomicFiles.write(target, ch -> writeTo(ch, header, tensors));
    }

    /** The header that {@link #write} would produce for these tensors. */
    public static SafetensorsHeader plan(Map<String, TensorData> tensors, Map<String, String> metadata) {
        Objects.requireNonNull(tensors, "tensors");
        List<SafetensorsHeader.TensorSpec> specs = new ArrayList<>(tensors.size());
        for (Map.Entry<String, TensorData> e : tensors.entrySet()) {
            if (e.getKey() == null || e.getValue() == null) {
                throw new IllegalArgumentException("tensor names and data must not be null: " + e);
            }
            specs.add(new SafetensorsHeader.TensorSpec(e.getKey(), e.getValue().dtype(), e.getValue().shape()));
        }
        return SafetensorsHeader.plan(specs, metadata);
    }

    /** Writes the whole file (length prefix, header, data) to {@code ch} from its current position. */
    public static void writeTo(FileChannel ch, SafetensorsHeader header, Map<String, TensorData> tensors)
            throws IOException {
        byte[] headerBytes = header.toBytes();
        ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, headerBytes.length);
        AtomicFiles.writeFully(ch, prefix);
        AtomicFiles.writeFully(ch, ByteBuffer.wrap(headerBytes));
        for (TensorInfo t : header.tensorsInDataOrder()) {
            TensorData data = tensors.get(t.name());
            if (data == null) {
                throw new IllegalArgumentException("no data for tensor '" + t.name() + "'");
            }
            BoundedChannel out = new BoundedChannel(ch, t.name(), t.byteLength());
            data.source().writeTo(out);
            if (out.written != t.byteLength()) {
                throw new IOException("tensor '" + t.name() + "': its source wrote " + out.written
                        + " bytes, the header promises " + t.byteLength());
            }
        }
    }

    /** Passes writes through while counting them; refuses to go past the tensor's length. */
    private static final class BoundedChannel implements WritableByteChannel {
        private final FileChannel ch;
        private final String name;
        private final long limit;
        long written;

        BoundedChannel(FileChannel ch, String name, long limit) {
            this.ch = ch;
            this.name = name;
            this.limit = limit;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            if (src.remaining() > limit - written) {
                throw new IOException("tensor '" + name + "': its source writes more than the " + limit
                        + " bytes the header promises");
            }
            int n = ch.write(src);
            written += n;
            return n;
        }

        @Override
        public boolean isOpen() {
            return ch.isOpen();
        }

        @Override
        public void close() {
            // The file channel belongs to the caller.
        }
    }
}
