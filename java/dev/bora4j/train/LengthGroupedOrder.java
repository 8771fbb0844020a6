package dev.bora4j.train;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A batch order that keeps sentences of similar length together, so that a batch padded to its
 * longest sentence computes little padding. The shuffled order is cut into mega-batches of
 * {@code megaBatches * batchSize} examples; each is sorted by length, longest first, and then cut
 * into batches. Batches stay random in content and across the epoch (the mega-batches follow the
 * shuffle), only their lengths are correlated. Hugging Face's Trainer does the same with
 * {@code group_by_length} (mega-batches of 50).
 */
public final class LengthGroupedOrder {

    /** Batches per mega-batch, as Hugging Face's LengthGroupedSampler. */
    public static final int DEFAULT_MEGA_BATCHES = 50;

    private LengthGroupedOrder() {
    }

    /**
     * Reorders {@code shuffled} (indices into {@code lengths}) within mega-batches by length,
     * longest first; ties keep their shuffled order. Returns a new list with the same indices.
     */
    public static List<Integer> of(List<Integer> shuffled, int[] lengths, int batchSize, int megaBatches) {
        if (batchSize < 1 || megaBatches < 1) {
            throw new IllegalArgumentException("batchSize and megaBatches must be >= 1, got " + batchSize + " and "
                    + megaBatches);
        }
        int chunk = Math.multiplyExact(batchSize, megaBatches);
        List<Integer> out = new ArrayList<>(shuffled.size());
        for (int from = 0; from < shuffled.size(); from += chunk) {
            List<Integer> mega = new ArrayList<>(shuffled.subList(from, Math.min(shuffled.size(), from + chunk)));
            mega.sort(Comparator.comparingInt((Integer i) -> lengths[i]).reversed()); // stable
            out.addAll(mega);
        }
        return out;
    }

    /** The tokens that batches taken in {@code order} compute when each is padded to its longest sentence. */
    public static long paddedTokens(List<Integer> order, int[] lengths, int batchSize) {
        long total = 0;
        for (int from = 0; from < order.size(); from += batchSize) {
            int to = Math.min(order.size(), from + batchSize);
            int longest = 0;
            for (int i = from; i < to; i++) {
                longest = Math.max(longest, lengths[order.get(i)]);
            }
            total += (long) longest * (to - from);
        }
        return total;
    }
}
