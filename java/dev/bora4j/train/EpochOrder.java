package dev.bora4j.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The order of an epoch's training examples: a shuffle seeded by (seed, epoch), so that a
 * resumed run repeats the uninterrupted one, then grouped by length when asked.
 */
final class EpochOrder {

    private EpochOrder() {
    }

    /** Indices 0..n-1 shuffled by (seed, epoch); {@code lengths} non-null groups batches by length. */
    static List<Integer> of(int n, long seed, int epoch, int[] lengths, int batchSize) {
        List<Integer> order = shuffled(n, seed, epoch);
        return lengths != null
                ? LengthGroupedOrder.of(order, lengths, batchSize, LengthGroupedOrder.DEFAULT_MEGA_BATCHES)
                : order;
    }

    static List<Integer> shuffled(int n, long seed, int epoch) {
        List<Integer> order = new ArrayList<>(n);
        for (int i = 0; i < n; i++) order.add(i);
        Collections.shuffle(order, new Random(seed * 31L + epoch));
        return order;
    }
}
