package dev.bora4j.train;

import dev.bora4j.data.LabeledSentence;
import dev.bora4j.models.minilm.MiniLmTokenizer;

import java.util.ArrayList;
import java.util.List;

/** Turning lists of labelled sentences into what a batch needs: texts, labels, token lengths. */
final class SentenceBatches {

    private SentenceBatches() {
    }

    /** Items {@code order[from]}, ..., {@code order[from + count - 1]} of {@code all} (fewer at the end). */
    static List<LabeledSentence> slice(List<LabeledSentence> all, List<Integer> order, int from, int count) {
        List<LabeledSentence> out = new ArrayList<>(count);
        for (int i = from; i < Math.min(all.size(), from + count); i++) {
            out.add(all.get(order.get(i)));
        }
        return out;
    }

    static List<String> texts(List<LabeledSentence> items) {
        List<String> t = new ArrayList<>(items.size());
        items.forEach(s -> t.add(s.text()));
        return t;
    }

    static long[] labels(List<LabeledSentence> items) {
        long[] l = new long[items.size()];
        for (int i = 0; i < l.length; i++) {
            l[i] = items.get(i).label();
        }
        return l;
    }

    static int[] tokenLengths(MiniLmTokenizer tokenizer, List<LabeledSentence> items) {
        int[] lengths = new int[items.size()];
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = tokenizer.tokenIds(items.get(i).text()).length;
        }
        return lengths;
    }
}
