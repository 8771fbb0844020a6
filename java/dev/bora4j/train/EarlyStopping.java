package dev.bora4j.train;

/** Stops training when the dev metric (higher is better) has not improved for {@code patience} evaluations. */
public final class EarlyStopping {

    private final int patience;
    private double best = Double.NEGATIVE_INFINITY;
    private int evaluationsWithoutImprovement;

    public EarlyStopping(int patience) {
        if (patience < 1) {
            throw new IllegalArgumentException("patience must be >= 1, got " + patience);
        }
        this.patience = patience;
    }

    /** Records a dev metric; returns true when it is the best so far. */
    public boolean record(double metric) {
        if (metric > best) {
            best = metric;
            evaluationsWithoutImprovement = 0;
            return true;
        }
        evaluationsWithoutImprovement++;
        return false;
    }

    public boolean shouldStop() {
        return evaluationsWithoutImprovement >= patience;
    }

    public double best() {
        return best;
    }

    /** Restores the state saved in a checkpoint. */
    public void restore(double best, int evaluationsWithoutImprovement) {
        this.best = best;
        this.evaluationsWithoutImprovement = evaluationsWithoutImprovement;
    }

    public int evaluationsWithoutImprovement() {
        return evaluationsWithoutImprovement;
    }
}
