package dev.bora4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes files so that a reader of the target name sees either the complete previous version or
 * the complete new one, even if the writing process is killed or the machine loses power.
 *
 * <p>The content goes to a temporary file in the target's directory (same file system, so the
 * rename can be atomic), is forced to disk, then renamed over the target with
 * {@link StandardCopyOption#ATOMIC_MOVE}; finally the directory is forced so the rename itself is
 * durable. A crash leaves at most a temporary file named {@code .<target>.<random>.tmp}; readers
 * open only target names, and {@link #deleteStaleTempFiles} removes such leftovers.
 */
public final class AtomicFiles {

    private static final String TEMP_SUFFIX = ".tmp";

    /** Writes the whole content through the given channel; the channel is positioned at 0 and empty. */
    @FunctionalInterface
    public interface ChannelWriter {
        void writeTo(FileChannel channel) throws IOException;
    }

    private AtomicFiles() {
    }

    /** Atomically replaces (or creates) {@code target} with what {@code writer} writes. */
    public static void write(Path target, ChannelWriter writer) throws IOException {
        Objects.requireNonNull(writer, "writer");
        Path absolute = target.toAbsolutePath();
        Path dir = absolute.getParent();
        if (Files.isDirectory(absolute)) {
            throw new IOException("cannot write " + absolute + ": it is a directory");
        }
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IOException("cannot write " + absolute + ": directory " + dir + " does not exist");
        }
        Path temp = dir.resolve(tempName(absolute.getFileName().toString()));
        boolean moved = false;
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                writer.writeTo(ch);
                ch.force(true);
            }
            try {
                Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("the file system of " + dir + " cannot rename atomically; "
                        + "atomic writes need a local file system", e);
            }
            moved = true;
            forceDirectory(dir);
        } finally {
            if (!moved) {
                Files.deleteIfExists(temp);
            }
        }
    }

    /** Atomically replaces (or creates) {@code target} with {@code bytes}. */
    public static void writeBytes(Path target, byte[] bytes) throws IOException {
        Objects.requireNonNull(bytes, "bytes");
        write(target, ch -> writeFully(ch, ByteBuffer.wrap(bytes)));
    }

    /** Atomically replaces (or creates) {@code target} with {@code text} in UTF-8 (for JSON files). */
    public static void writeString(Path target, String text) throws IOException {
        writeBytes(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Deletes temporary files that interrupted atomic writes of {@code target} left behind. Call it
     * only when no other process is writing {@code target}. Returns the files deleted.
     */
    public static List<Path> deleteStaleTempFiles(Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path dir = absolute.getParent();
        List<Path> deleted = new ArrayList<>();
        if (dir == null || !Files.isDirectory(dir)) {
            return deleted;
        }
        String prefix = "." + absolute.getFileName() + ".";
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String n = p.getFileName().toString();
                if (isTempName(n, prefix) && Files.isRegularFile(p)) {
                    Files.deleteIfExists(p);
                    deleted.add(p);
                }
            }
        }
        return deleted;
    }

    /** Whether {@code fileName} is a temporary file of an atomic write of a file named {@code targetName}. */
    public static boolean isTempFileOf(String fileName, String targetName) {
        return isTempName(fileName, "." + targetName + ".");
    }

    /** Writes all of {@code src} to {@code ch} (a single write may be partial). */
    public static void writeFully(FileChannel ch, ByteBuffer src) throws IOException {
        while (src.hasRemaining()) {
            ch.write(src);
        }
    }

    private static boolean isTempName(String name, String prefix) {
        if (!name.startsWith(prefix) || !name.endsWith(TEMP_SUFFIX)) {
            return false;
        }
        String middle = name.substring(prefix.length(), name.length() - TEMP_SUFFIX.length());
        return middle.length() == 16 && middle.chars().allMatch(c -> Character.digit(c, 16) >= 0);
    }

    private static String tempName(String targetName) {
        return "." + targetName + "." + String.format("%016x", ThreadLocalRandom.current().nextLong()) + TEMP_SUFFIX;
    }

    /** Makes the rename durable. Some platforms (Windows) cannot open a directory; there the rename is all we get. */
    private static void forceDirectory(Path dir) throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(dir, StandardOpenOption.READ);
        } catch (IOException | UnsupportedOperationException e) {
            return;
        }
        try (ch) {
            ch.force(true);
        }
    }
}
