package dev.bora4j.train;

/**
 * Learning-rate multiplier per optimizer step: linear warmup from 0, then constant, linear or
 * cosine decay to {@code minFactor} at {@code totalSteps}. The libtorch presets have no
 * scheduler, so the training loop sets each parameter group's lr to {@code baseLr * factor(step)}.
 */
public final class LearningRateSchedule {

    public enum Decay { CONSTANT, LINEAR, COSINE }

    private final Decay decay;
    private final long warmupSteps;
    private final long totalSteps;
    private final double minFactor;

    public LearningRateSchedule(Decay decay, long warmupSteps, long totalSteps, double minFactor) {
        if (decay == null) {
            throw new IllegalArgumentException("decay must not be null");
        }
        if (totalSteps <= 0) {
            throw new IllegalArgumentException("totalSteps must be > 0, got " + totalSteps);
        }
        if (warmupSteps < 0 || warmupSteps > totalSteps) {
            throw new IllegalArgumentException(
                    "warmupSteps must be in [0, totalSteps=" + totalSteps + "], got " + warmupSteps);
        }
        if (!(minFactor >= 0 && minFactor <= 1)) {
            throw new IllegalArgumentException("minFactor must be in [0, 1], got " + minFactor);
        }
        this.decay = decay;
        this.warmupSteps = warmupSteps;
        this.totalSteps = totalSteps;
        this.minFactor = minFactor;
    }

    /** Multiplier for the update made at 0-based optimizer step {@code step}. */
    public double factor(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        if (step < warmupSteps) {
            return (step + 1) / (double) warmupSteps;
        }
        long decaySteps = totalSteps - warmupSteps;
        double progress = decaySteps == 0 ? 1.0 : Math.min(1.0, (step - warmupSteps) / (double) decaySteps);
        switch (decay) {
            case CONSTANT:
                return 1.0;
            case LINEAR:
                return minFactor + (1.0 - minFactor) * (1.0 - progress);
            case COSINE:
                return minFactor + (1.0 - minFactor) * 0.5 * (1.0 + Math.cos(Math.PI * progress));
            default:
                throw new IllegalStateException("unknown decay " + decay);
        }
    }

    public long totalSteps() {
        return totalSteps;
    }
}
