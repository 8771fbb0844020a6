package dev.bora4j.train;

/** What a fine-tuning run achieved: the best dev metrics and the test metrics of that model. */
public record FineTuningResult(long steps, long skippedSteps, long trainableParameters,
                               double devAccuracy, double devMcc, double testAccuracy, double testMcc,
                               double secondsPerStep) {
}
