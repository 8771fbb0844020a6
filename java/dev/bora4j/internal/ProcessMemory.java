package dev.bora4j.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** This process's memory as Linux reports it in {@code /proc/self/status}. */
public final class ProcessMemory {

    private static final Path STATUS = Path.of("/proc/self/status");

    private ProcessMemory() {
    }

    /**
     * A size field of {@code /proc/self/status} in MiB, e.g. {@code "VmRSS:"} (resident now) or
     * {@code "VmHWM:"} (peak resident); -1 when the field is missing.
     *
     * @throws IOException where there is no {@code /proc} (not Linux)
     */
    public static double statusMiB(String field) throws IOException {
        for (String line : Files.readAllLines(STATUS, StandardCharsets.UTF_8)) {
            if (line.startsWith(field)) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        return -1;
    }

    /** Peak resident set size in MiB, or -1 where it cannot be read. */
    public static double peakResidentMiB() {
        try {
            return statusMiB("VmHWM:");
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
