package dev.bora4j.train;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line console progress bar with loss, throughput and ETA. On a terminal it redraws in
 * place; otherwise (logs, CI) it prints a line every {@code 10%} so that output stays readable.
 */
public final class ProgressBar {

    private static final int WIDTH = 24;

    private final PrintStream out;
    private final String label;
    private final long total;
    private final boolean interactive;
    private final long startNanos;
    private long lastPrintedTenth = -1;

    public ProgressBar(PrintStream out, String label, long total, boolean interactive) {
        if (total <= 0) {
            throw new IllegalArgumentException("total must be > 0, got " + total);
        }
        this.out = out;
        this.label = label;
        this.total = total;
        this.interactive = interactive;
        this.startNanos = System.nanoTime();
    }

    /** True when standard output is a terminal. */
    public static boolean stdoutIsTerminal() {
        return System.console() != null;
    }

    /**
     * @param done     steps done so far (1..total)
     * @param examples examples processed so far, for the throughput
     * @param loss     the running loss
     */
    public void update(long done, long examples, double loss) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        String line = render(done, examples, loss, seconds);
        if (interactive) {
            out.print("\r" + line);
            if (done >= total) {
                out.println();
            }
            out.flush();
            return;
        }
        long tenth = done * 10 / total;
        if (tenth != lastPrintedTenth || done >= total) {
            lastPrintedTenth = tenth;
            out.println(line);
        }
    }

    String render(long done, long examples, double loss, double seconds) {
        int filled = (int) (WIDTH * Math.min(done, total) / total);
        StringBuilder bar = new StringBuilder(WIDTH);
        for (int i = 0; i < WIDTH; i++) {
            bar.append(i < filled ? '=' : (i == filled ? '>' : ' '));
        }
        double rate = seconds > 0 ? examples / seconds : 0.0;
        double eta = done > 0 ? seconds * (total - done) / done : 0.0;
        return String.format(Locale.ROOT, "%s [%s] %d/%d loss %.4f  %.1f ex/s  ETA %s",
                label, bar, done, total, loss, rate, formatDuration(eta));
    }

    static String formatDuration(double seconds) {
        long s = Math.max(0, Math.round(seconds));
        return s >= 3600
                ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
                : String.format(Locale.ROOT, "%02d:%02d", s / 60, s % 60);
    }
}
