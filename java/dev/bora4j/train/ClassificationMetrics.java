package dev.bora4j.train;

/**
 * Binary classification metrics from a confusion matrix: accuracy and Matthews correlation
 * coefficient (MCC, the metric of CoLA-style acceptability tasks; 0 when undefined).
 */
public final class ClassificationMetrics {

    private long truePositive;
    private long trueNegative;
    private long falsePositive;
    private long falseNegative;

    /** Records one prediction; labels are 0 or 1. */
    public void add(int label, int predicted) {
        if ((label != 0 && label != 1) || (predicted != 0 && predicted != 1)) {
            throw new IllegalArgumentException(
                    "labels must be 0 or 1, got label=" + label + " predicted=" + predicted);
        }
        if (label == 1) {
            if (predicted == 1) truePositive++; else falseNegative++;
        } else {
            if (predicted == 0) trueNegative++; else falsePositive++;
        }
    }

    public long count() {
        return truePositive + trueNegative + falsePositive + falseNegative;
    }

    public double accuracy() {
        long n = count();
        return n == 0 ? 0.0 : (truePositive + trueNegative) / (double) n;
    }

    public double mcc() {
        double tp = truePositive, tn = trueNegative, fp = falsePositive, fn = falseNegative;
        double denominator = Math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
        return denominator == 0 ? 0.0 : (tp * tn - fp * fn) / denominator;
    }

    @Override
    public String toString() {
        return String.format("acc %.4f  mcc %.4f  (n=%d, tp=%d tn=%d fp=%d fn=%d)",
                accuracy(), mcc(), count(), truePositive, trueNegative, falsePositive, falseNegative);
    }
}
