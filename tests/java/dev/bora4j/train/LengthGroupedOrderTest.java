package dev.bora4j.train;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LengthGroupedOrderTest {

    private static int[] randomLengths(int n, long seed) {
        Random rnd = new Random(seed);
        int[] lengths = new int[n];
        for (int i = 0; i < n; i++) lengths[i] = 3 + rnd.nextInt(60);
        return lengths;
    }

    private static List<Integer> shuffled(int n, long seed) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) order.add(i);
        Collections.shuffle(order, new Random(seed));
        return order;
    }

    @Test
    void keepsEveryIndexOnceAndSortsEachMegaBatchLongestFirst() {
        int n = 1000, batch = 8, mega = 5;
        int[] lengths = randomLengths(n, 1);
        List<Integer> in = shuffled(n, 2);
        List<Integer> out = LengthGroupedOrder.of(in, lengths, batch, mega);

        List<Integer> sorted = new ArrayList<>(out);
        Collections.sort(sorted);
        for (int i = 0; i < n; i++) assertEquals(i, sorted.get(i));

        int chunk = batch * mega;
        for (int from = 0; from < n; from += chunk) {
            int to = Math.min(n, from + chunk);
            // the same examples as that slice of the shuffle, only reordered
            List<Integer> a = new ArrayList<>(in.subList(from, to));
            List<Integer> b = new ArrayList<>(out.subList(from, to));
            Collections.sort(a);
            Collections.sort(b);
            assertEquals(a, b);
            for (int i = from + 1; i < to; i++) {
                assertTrue(lengths[out.get(i - 1)] >= lengths[out.get(i)], "not longest first at " + i);
            }
        }
    }

    @Test
    void computesLessPaddingThanTheShuffledOrder() {
        int n = 3200, batch = 32;
        int[] lengths = randomLengths(n, 3);
        List<Integer> in = shuffled(n, 4);
        long shuffledPadded = LengthGroupedOrder.paddedTokens(in, lengths, batch);
        long groupedPadded = LengthGroupedOrder.paddedTokens(LengthGroupedOrder.of(in, lengths, batch,
                LengthGroupedOrder.DEFAULT_MEGA_BATCHES), lengths, batch);
        long real = 0;
        for (int l : lengths) real += l;
        assertTrue(groupedPadded < shuffledPadded, groupedPadded + " vs " + shuffledPadded);
        // lengths are uniform in [3, 62]: 50 batches per mega-batch leave about one length unit of padding
        assertTrue(groupedPadded < real * 1.1, groupedPadded + " padded tokens for " + real + " real ones");
    }

    @Test
    void isDeterministicAndKeepsTiesInShuffledOrder() {
        int[] lengths = {5, 7, 5, 7, 5};
        List<Integer> in = List.of(4, 2, 1, 0, 3);
        assertEquals(List.of(1, 3, 4, 2, 0), LengthGroupedOrder.of(in, lengths, 2, 10));
        assertEquals(LengthGroupedOrder.of(in, lengths, 2, 10), LengthGroupedOrder.of(in, lengths, 2, 10));
        // mega-batches of 2 x 1: each pair sorted on its own, the last one alone
        assertEquals(List.of(1, 0, 3, 2, 4), LengthGroupedOrder.of(List.of(0, 1, 2, 3, 4), lengths, 2, 1));
    }

    @Test
    void countsPaddedTokensPerBatch() {
        int[] lengths = {5, 7, 2, 9, 4};
        // batches {5, 7} {2, 9} {4}: 2 x 7 + 2 x 9 + 1 x 4
        assertEquals(36, LengthGroupedOrder.paddedTokens(List.of(0, 1, 2, 3, 4), lengths, 2));
        assertEquals(5 * 9, LengthGroupedOrder.paddedTokens(List.of(0, 1, 2, 3, 4), lengths, 8));
    }

    @Test
    void rejectsBadSizes() {
        assertThrows(IllegalArgumentException.class, () -> LengthGroupedOrder.of(List.of(0), new int[] {1}, 0, 50));
        assertThrows(IllegalArgumentException.class, () -> LengthGroupedOrder.of(List.of(0), new int[] {1}, 32, 0));
    }
}
