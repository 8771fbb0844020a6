package dev.bora4j.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class AtomicFilesTest {

    @TempDir
    Path dir;

    private List<String> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<String> names = new ArrayList<>();
            s.forEach(p -> names.add(p.getFileName().toString()));
            names.sort(null);
            return names;
        }
    }

    @Test
    void createsAndReplacesWithoutLeavingTempFiles() throws IOException {
        Path target = dir.resolve("adapter_config.json");
        AtomicFiles.writeString(target, "{\"r\": 8}");
        assertEquals("{\"r\": 8}", Files.readString(target));
        AtomicFiles.writeBytes(target, "second".getBytes(StandardCharsets.UTF_8));
        assertEquals("second", Files.readString(target));
        assertEquals(List.of("adapter_config.json"), listing());
    }

    @Test
    void failedWriteKeepsThePreviousFileAndRemovesItsTemp() throws IOException {
        Path target = dir.resolve("model.safetensors");
        AtomicFiles.writeString(target, "previous");
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(target, ch -> {
            AtomicFiles.writeFully(ch, ByteBuffer.wrap("partial new cont".getBytes(StandardCharsets.UTF_8)));
            throw new IOException("disk full (simulated)");
        }));
        assertEquals("disk full (simulated)", e.getMessage());
        assertThrows(IllegalStateException.class, () -> AtomicFiles.write(target, ch -> {
            throw new IllegalStateException("bug in the writer");
        }));
        assertEquals("previous", Files.readString(target));
        assertEquals(List.of("model.safetensors"), listing());
    }

    @Test
    void badTargetsGiveClearErrors() throws IOException {
        IOException noDir = assertThrows(IOException.class,
                () -> AtomicFiles.writeString(dir.resolve("missing/x.json"), "x"));
        assertTrue(noDir.getMessage().contains("does not exist"), noDir.getMessage());
        Path sub = Files.createDirectory(dir.resolve("sub"));
        IOException isDir = assertThrows(IOException.class, () -> AtomicFiles.writeString(sub, "x"));
        assertTrue(isDir.getMessage().contains("is a directory"), isDir.getMessage());
    }

    @Test
    void staleTempCleanupTouchesOnlyThatTargetsTemps() throws IOException {
        Path target = dir.resolve("a.safetensors");
        Files.writeString(target, "keep");
        Files.writeString(dir.resolve(".a.safetensors.0123456789abcdef.tmp"), "stale");
        Files.writeString(dir.resolve(".b.safetensors.0123456789abcdef.tmp"), "another target's");
        Files.writeString(dir.resolve(".a.safetensors.notes.tmp"), "not ours");
        Files.writeString(dir.resolve("a.safetensors.tmp"), "not ours");
        assertTrue(AtomicFiles.isTempFileOf(".a.safetensors.0123456789abcdef.tmp", "a.safetensors"));
        assertFalse(AtomicFiles.isTempFileOf(".a.safetensors.notes.tmp", "a.safetensors"));
        List<Path> deleted = AtomicFiles.deleteStaleTempFiles(target);
        assertEquals(List.of(dir.resolve(".a.safetensors.0123456789abcdef.tmp").toAbsolutePath()), deleted);
        assertEquals(List.of(".a.safetensors.notes.tmp", ".b.safetensors.0123456789abcdef.tmp", "a.safetensors",
                "a.safetensors.tmp"), listing());
        assertEquals("keep", Files.readString(target));
    }

    /**
     * A child JVM rewrites a 16 MB safetensors file through AtomicFiles, version after version;
     * it is killed while a temp file is being filled. The target must then be bitwise one of the
     * complete versions and load cleanly. Repeated for several kills, the first during the child's
     * very first write (the file written before the child started must survive).
     */
    @Test
    void killedWriterLeavesACompleteFile() throws Exception {
        int megabytes = 16;
        long pauseMs = 4;
        Path target = dir.resolve("adapter_model.safetensors");
        Path expectedDir = Files.createDirectory(dir.resolve("expected"));
        SafetensorsWriter.write(target, AtomicWriteChild.version(0, megabytes, 0), AtomicWriteChild.metadata(0));

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classpath = System.getProperty("java.class.path");
        int partialKills = 0;
        long lastVersion = 0;
        for (int attempt = 0; attempt < 10 && partialKills < 3; attempt++) {
            long firstVersion = 1000L * (attempt + 1);
            boolean waitForAReplacement = partialKills > 0;
            Path log = dir.resolve("child" + attempt + ".log");
            Process child = new ProcessBuilder(java, "-cp", classpath, AtomicWriteChild.class.getName(),
                    target.toString(), Integer.toString(megabytes), Long.toString(pauseMs), Long.toString(firstVersion))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            Path killedTemp;
            try {
                if (waitForAReplacement) {
                    awaitVersionAtLeast(target, firstVersion, child, log);
                }
                killedTemp = awaitGrowingTemp(target, child, log);
                child.destroyForcibly();
                assertTrue(child.waitFor(30, TimeUnit.SECONDS), "child did not die");
            } finally {
                child.destroyForcibly();
            }

            // The name only ever shows a complete, valid version, bitwise.
            long v;
            try (SafetensorsReader r = SafetensorsReader.open(target)) {
                v = Long.parseLong(r.metadata().get("version"));
                assertEquals(v, r.tensorBytes("version").getLong(0));
            }
            assertTrue(v == lastVersion || v >= firstVersion, "unexpected version " + v);
            if (waitForAReplacement) {
                assertTrue(v >= firstVersion, "the child never replaced the file");
            }
            Path expected = expectedDir.resolve("v" + v + ".safetensors");
            SafetensorsWriter.write(expected, AtomicWriteChild.version(v, megabytes, 0), AtomicWriteChild.metadata(v));
            assertEquals(-1L, Files.mismatch(target, expected), "target differs from version " + v);
            lastVersion = v;

            // Nothing else under the target name: only the target and temp files of it.
            for (String name : listing()) {
                boolean known = name.equals(target.getFileName().toString())
                        || AtomicFiles.isTempFileOf(name, target.getFileName().toString())
                        || name.startsWith("child") || name.equals("expected");
                assertTrue(known, "unexpected file " + name);
            }
            // Killed mid-write: the temp being filled is still there, shorter than a full file.
            long partialSize = Files.exists(killedTemp) ? Files.size(killedTemp) : -1;
            System.out.println("kill " + attempt + ": target holds version " + v + ", temp left with "
                    + partialSize + " of " + Files.size(target) + " bytes");
            if (partialSize >= 0 && partialSize < Files.size(target)) {
                partialKills++;
                try {
                    SafetensorsReader.open(killedTemp).close();
                    fail("a partial temp file must not load");
                } catch (SafetensorsFormatException expectedFailure) {
                    // The partial file is recognisably broken, should anyone open it by its temp name.
                }
            }
            List<Path> removed = AtomicFiles.deleteStaleTempFiles(target);
            assertTrue(removed.size() <= 1, "more than one temp left: " + removed);
            for (String name : listing()) {
                assertFalse(AtomicFiles.isTempFileOf(name, target.getFileName().toString()), name);
            }
        }
        assertEquals(3, partialKills, "could not kill the child in the middle of a write three times");
    }

    private static void awaitVersionAtLeast(Path target, long version, Process child, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            assertTrue(child.isAlive(), () -> "child exited: " + readLog(log));
            try (SafetensorsReader r = SafetensorsReader.open(target)) {
                if (Long.parseLong(r.metadata().get("version")) >= version) {
                    return;
                }
            }
            Thread.sleep(5);
        }
        fail("child wrote no version >= " + version + " in 60 s: " + readLog(log));
    }

    /** Waits for a temp file of target holding at least 1 MB and growing between two looks; returns it. */
    private static Path awaitGrowingTemp(Path target, Process child, Path log) throws Exception {
        String name = target.getFileName().toString();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            assertTrue(child.isAlive(), () -> "child exited: " + readLog(log));
            try (Stream<Path> s = Files.list(target.getParent())) {
                Path temp = s.filter(p -> AtomicFiles.isTempFileOf(p.getFileName().toString(), name))
                        .findFirst().orElse(null);
                if (temp != null) {
                    try {
                        long first = Files.size(temp);
                        Thread.sleep(3);
                        long second = Files.size(temp);
                        // Past the header and into the tensor data, and still being written.
                        if (first >= AtomicWriteChild.CHUNK && second > first) {
                            return temp;
                        }
                    } catch (java.nio.file.NoSuchFileException renamedMeanwhile) {
                        // The write finished between the two looks; try the next one.
                    }
                }
            }
            Thread.sleep(1);
        }
        fail("never saw a temp file growing in 60 s: " + readLog(log));
        return null;
    }

    private static String readLog(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
