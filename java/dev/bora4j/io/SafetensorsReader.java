package dev.bora4j.io;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Objects;

/**
 * Reads a safetensors file without loading it whole.
 *
 * <p>{@link #open} reads and validates only the header ({@link SafetensorsHeader#parse}); tensor
 * bytes are read on demand. Files up to 2 GB are memory-mapped once and tensors are slices of
 * that mapping; larger files (one {@link MappedByteBuffer} cannot exceed 2 GB) map each tensor's
 * region on its own. {@link #readInto} uses positional reads and works for tensors of any size.
 *
 * <p>Reads never move a shared file position, so one reader may serve several threads.
 *
 * <p>Mapped buffers stay valid after {@link #close} until garbage-collected (Java cannot unmap
 * them explicitly). If another process truncates the file while it is mapped, touching the lost
 * pages raises an {@link InternalError}; replace files atomically ({@link AtomicFiles}) instead.
 */
public final class SafetensorsReader implements Closeable {

    /** Largest region one {@link MappedByteBuffer} (or any ByteBuffer) can cover. */
    static final long MAX_BUFFER_BYTES = Integer.MAX_VALUE;

    private final Path path;
    private final FileChannel channel;
    private final SafetensorsHeader header;
    private final long dataStart;
    private final MappedByteBuffer wholeData;

    private SafetensorsReader(Path path, FileChannel channel, SafetensorsHeader header, long dataStart,
                              MappedByteBuffer wholeData) {
        this.path = path;
        this.channel = channel;
        this.header = header;
        this.dataStart = dataStart;
        this.wholeData = wholeData;
    }

    /** Opens and validates {@code path}; throws {@link SafetensorsFormatException} if it is not a valid file. */
    public static SafetensorsReader open(Path path) throws IOException {
        return open(path, true);
    }

    /**
     * @param mapWholeFile map the data section once when it fits in one buffer; false forces the
     *                     per-tensor region mapping that files over 2 GB use (for tests)
     */
    static SafetensorsReader open(Path path, boolean mapWholeFile) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            long fileSize = ch.size();
            if (fileSize < 8) {
                throw new SafetensorsFormatException(path + ": file is " + fileSize
                        + " bytes, too short for the 8-byte header length");
            }
            ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, prefix, 0, path);
            long n = prefix.getLong(0);
            // n is unsigned on disk: a negative long is a length of 2^63 or more.
            if (n < 0 || n > SafetensorsHeader.MAX_HEADER_LENGTH) {
                throw new SafetensorsFormatException(path + ": header length " + Long.toUnsignedString(n)
                        + " exceeds the limit of " + SafetensorsHeader.MAX_HEADER_LENGTH + " bytes");
            }
            if (n > fileSize - 8) {
                throw new SafetensorsFormatException(path + ": header length " + n + " runs past the end of the file ("
                        + fileSize + " bytes): truncated or corrupt file");
            }
            if (n < 2) {
                throw new SafetensorsFormatException(path + ": header length " + n
                        + " is too small (the smallest header, {}, is 2 bytes)");
            }
            ByteBuffer headerBytes = ByteBuffer.allocate((int) n);
            readFully(ch, headerBytes, 8, path);
            long dataStart = 8 + n;
            SafetensorsHeader header;
            try {
                header = SafetensorsHeader.parse(headerBytes.array(), fileSize - dataStart);
            } catch (SafetensorsFormatException e) {
                throw new SafetensorsFormatException(path + ": " + e.getMessage(), e);
            }
            MappedByteBuffer whole = null;
            long dataLength = header.dataLength();
            if (mapWholeFile && dataLength > 0 && dataLength <= MAX_BUFFER_BYTES) {
                whole = ch.map(FileChannel.MapMode.READ_ONLY, dataStart, dataLength);
            }
            return new SafetensorsReader(path, ch, header, dataStart, whole);
        } catch (IOException | RuntimeException | Error e) {
            ch.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public SafetensorsHeader header() {
        return header;
    }

    /** Tensors by name, in header order. */
    public Map<String, TensorInfo> tensors() {
        return header.tensors();
    }

    /** The {@code __metadata__} map, or null. */
    public Map<String, String> metadata() {
        return header.metadata();
    }

    /** The named tensor's entry; IllegalArgumentException (listing what exists) if there is none. */
    public TensorInfo info(String name) {
        Objects.requireNonNull(name, "name");
        TensorInfo t = header.tensor(name);
        if (t == null) {
            throw new IllegalArgumentException(path + " has no tensor '" + name + "'; it has "
                    + header.tensors().keySet());
        }
        return t;
    }

    /** Absolute file position of the named tensor's first byte. */
    public long filePosition(String name) {
        return dataStart + info(name).begin();
    }

    /**
     * A read-only, little-endian view of the named tensor's bytes, backed by a file mapping (no
     * copy). Tensors over 2 GB cannot be one buffer: read them in parts with {@link #readInto}.
     */
    public ByteBuffer tensorBytes(String name) throws IOException {
        ensureOpen();
        TensorInfo t = info(name);
        long len = t.byteLength();
        if (len > MAX_BUFFER_BYTES) {
            throw new IllegalArgumentException("tensor '" + name + "' is " + len
                    + " bytes, more than one ByteBuffer can hold; read it in parts with readInto");
        }
        ByteBuffer view;
        if (len == 0) {
            view = ByteBuffer.allocate(0);
        } else if (wholeData != null) {
            view = wholeData.slice((int) t.begin(), (int) len);
        } else {
            view = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin(), len);
        }
        return view.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Copies {@code dst.remaining()} bytes of the named tensor, starting {@code offset} bytes into
     * it, into {@code dst} (positional reads; any tensor size). Advances dst's position.
     */
    public void readInto(String name, long offset, ByteBuffer dst) throws IOException {
        ensureOpen();
        TensorInfo t = info(name);
        Objects.requireNonNull(dst, "dst");
        if (offset < 0 || offset > t.byteLength() || dst.remaining() > t.byteLength() - offset) {
            throw new IllegalArgumentException("tensor '" + name + "' is " + t.byteLength() + " bytes; cannot read "
                    + dst.remaining() + " bytes at offset " + offset);
        }
        readFully(channel, dst, dataStart + t.begin() + offset, path);
    }

    /** A heap copy of the named tensor's bytes (little-endian); the tensor must be under 2 GB. */
    public ByteBuffer copyBytes(String name) throws IOException {
        TensorInfo t = info(name);
        if (t.byteLength() > MAX_BUFFER_BYTES - 8) {
            throw new IllegalArgumentException("tensor '" + name + "' is " + t.byteLength()
                    + " bytes, too large for one array; read it in parts with readInto");
        }
        ByteBuffer copy = ByteBuffer.allocate((int) t.byteLength()).order(ByteOrder.LITTLE_ENDIAN);
        readInto(name, 0, copy);
        return copy.flip();
    }

    /** Whether tensors are slices of one mapping of the data section (false: one mapping per tensor). */
    boolean mapsWholeFile() {
        return wholeData != null;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    private void ensureOpen() throws IOException {
        if (!channel.isOpen()) {
            throw new IOException(path + " is closed");
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long position, Path path) throws IOException {
        long pos = position;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, pos);
            if (n < 0) {
                throw new SafetensorsFormatException(path + ": unexpected end of file at byte " + pos
                        + " (was the file truncated while open?)");
            }
            pos += n;
        }
    }
}
