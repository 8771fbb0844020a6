package dev.bora4j.train;

import java.io.PrintStream;

/**
 * Detects NaN or Inf in a training step (the loss or the gradient norm) so that the step is
 * skipped instead of trained on. Too many consecutive bad steps mean the run has diverged:
 * the guard then throws instead of silently skipping forever.
 */
public final class NonFiniteGuard {

    private final int maxConsecutive;
    private final PrintStream out;
    private int consecutive;
    private long skipped;

    public NonFiniteGuard(int maxConsecutive, PrintStream out) {
        if (maxConsecutive < 1) {
            throw new IllegalArgumentException("maxConsecutive must be >= 1, got " + maxConsecutive);
        }
        this.maxConsecutive = maxConsecutive;
        this.out = out;
    }

    /**
     * Returns true when the step may be applied. Otherwise reports it, counts it and returns false;
     * the caller must then discard the gradients.
     *
     * @throws IllegalStateException after {@code maxConsecutive} bad steps in a row
     */
    public boolean check(long step, double loss, double gradNorm) {
        if (Double.isFinite(loss) && Double.isFinite(gradNorm)) {
            consecutive = 0;
            return true;
        }
        consecutive++;
        skipped++;
        String what = !Double.isFinite(loss) ? "loss = " + loss : "gradient norm = " + gradNorm;
        if (out != null) {
            out.printf("%nstep %d skipped: %s (non-finite); gradients discarded (%d skipped so far)%n",
                    step, what, skipped);
        }
        if (consecutive >= maxConsecutive) {
            throw new IllegalStateException(consecutive + " consecutive training steps had a non-finite "
                    + (Double.isFinite(loss) ? "gradient" : "loss")
                    + ": the run has diverged. Lower the learning rate or check the data.");
        }
        return false;
    }

    public long skipped() {
        return skipped;
    }
}
