package dev.bora4j.train;

import java.io.PrintStream;

/**
 * Detects NaN or Inf in a training step (the loss, the gradient norm, or the parameters after
 * the update) so that the step is skipped or undone instead of trained on. Too many consecutive
 * bad steps mean the run has diverged: the guard then throws instead of silently skipping forever.
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
        String what = !Double.isFinite(loss) ? "loss = " + loss : "gradient norm = " + gradNorm;
        return reject(step, what + " (non-finite); gradients discarded", Double.isFinite(loss) ? "a non-finite gradient"
                : "a non-finite loss", "Lower the learning rate or check the data.");
    }

    /**
     * Returns true when the parameters are finite after the step's update. Otherwise reports and
     * counts the step (the caller must restore the parameters) and returns false.
     *
     * @throws IllegalStateException after {@code maxConsecutive} bad steps in a row
     */
    public boolean checkUpdate(long step, boolean parametersFinite) {
        if (parametersFinite) {
            return true;
        }
        return reject(step, "the update made parameters NaN or Inf; it was undone",
                "updates that made the parameters non-finite", "Lower the learning rates or the weight decay.");
    }

    private boolean reject(long step, String report, String cause, String advice) {
        consecutive++;
        skipped++;
        if (out != null) {
            out.printf("%nstep %d skipped: %s (%d skipped so far)%n", step, report, skipped);
        }
        if (consecutive >= maxConsecutive) {
            throw new IllegalStateException(consecutive + " consecutive training steps had " + cause
                    + ": the run has diverged. " + advice);
        }
        return false;
    }

    public long skipped() {
        return skipped;
    }
}
