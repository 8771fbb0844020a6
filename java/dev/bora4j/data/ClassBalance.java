package dev.bora4j.data;

/** How many acceptable and unacceptable sentences a split holds. */
public record ClassBalance(int acceptable, int unacceptable) {

    public int total() {
        return acceptable + unacceptable;
    }

    public double acceptableFraction() {
        return total() == 0 ? 0 : (double) acceptable / total();
    }

    @Override
    public String toString() {
        return String.format("%d sentences: %d acceptable (%.1f%%), %d unacceptable (%.1f%%)", total(), acceptable,
                100 * acceptableFraction(), unacceptable, total() == 0 ? 0.0 : 100.0 * unacceptable / total());
    }
}
