package dev.bora4j.bench;

import dev.bora4j.io.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

/**
 * Writes one suite's section of docs/RESULTS.md between {@code <!-- BEGIN name -->} and
 * {@code <!-- END name -->}, so every suite rewrites only its own table. Each section starts with
 * the machine, the date and the command that produced it.
 */
public final class ResultsSection {

    public static final Path RESULTS = Path.of("docs", "RESULTS.md");

    private ResultsSection() {
    }

    /** "N cores, CPU model" from nproc and /proc/cpuinfo. */
    public static String machine() {
        String model = "unknown CPU";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8)) {
                if (line.startsWith("model name")) {
                    model = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException e) {
            model = "unknown CPU (" + e.getMessage() + ")";
        }
        return Runtime.getRuntime().availableProcessors() + " cores (nproc), " + model + ", Java "
                + System.getProperty("java.version");
    }

    /** Replaces (or appends) the section {@code name} of docs/RESULTS.md with {@code body}. */
    public static void write(String name, String title, String command, String body) throws IOException {
        String begin = "<!-- BEGIN " + name + " -->";
        String end = "<!-- END " + name + " -->";
        String date = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_LOCAL_DATE_TIME).substring(0, 16);
        String section = begin + "\n## " + title + "\n\n- Machine: " + machine() + "\n- Date: " + date + " UTC\n"
                + "- Command: `" + command + "`\n\n" + body.strip() + "\n" + end;
        String doc = Files.isRegularFile(RESULTS) ? Files.readString(RESULTS, StandardCharsets.UTF_8)
                : "# Results\n\nEvery table below is written by the command shown with it.\n";
        int b = doc.indexOf(begin), e = doc.indexOf(end);
        if (b >= 0 && e > b) {
            doc = doc.substring(0, b) + section + doc.substring(e + end.length());
        } else {
            doc = doc.stripTrailing() + "\n\n" + section + "\n";
        }
        Files.createDirectories(RESULTS.getParent());
        AtomicFiles.writeString(RESULTS, doc);
    }

    /** mean ± std (sample std, n - 1) of the values. */
    public static String meanStd(double[] v, String format) {
        return meanStd(v, format, format);
    }

    /** mean ± std with their own formats (e.g. a signed mean, "%+.4f", and an unsigned std). */
    public static String meanStd(double[] v, String meanFormat, String stdFormat) {
        return String.format(meanFormat, mean(v)) + " ± " + String.format(stdFormat, std(v));
    }

    public static double mean(double[] v) {
        double sum = 0;
        for (double x : v) sum += x;
        return v.length == 0 ? Double.NaN : sum / v.length;
    }

    /** Sample standard deviation (n - 1); 0 for fewer than two values. */
    public static double std(double[] v) {
        if (v.length < 2) return 0;
        double m = mean(v), ss = 0;
        for (double x : v) ss += (x - m) * (x - m);
        return Math.sqrt(ss / (v.length - 1));
    }
}
