package dev.bora4j.data;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** A grammatical-acceptability dataset split into train/dev/test, and how it was built. */
public final class AcceptabilityDataset {

    private final Map<Split, List<LabeledSentence>> splits;
    private final DatasetReport report;

    AcceptabilityDataset(Map<Split, List<LabeledSentence>> splits, DatasetReport report) {
        this.splits = new EnumMap<>(Split.class);
        for (Split s : Split.values()) {
            this.splits.put(s, List.copyOf(splits.getOrDefault(s, List.of())));
        }
        this.report = report;
    }

    /** The sentences of one split, in source order (shuffling is the training loop's job). */
    public List<LabeledSentence> get(Split split) {
        return splits.get(split);
    }

    public DatasetReport report() {
        return report;
    }

    public ClassBalance balance(Split split) {
        int acceptable = 0;
        for (LabeledSentence s : splits.get(split)) {
            acceptable += s.label();
        }
        return new ClassBalance(acceptable, splits.get(split).size() - acceptable);
    }

    /** One line per split with its class balance. */
    public String balanceSummary() {
        StringBuilder sb = new StringBuilder();
        for (Split s : Split.values()) {
            sb.append(String.format("%-5s %s%n", s.name().toLowerCase(), balance(s)));
        }
        return sb.toString();
    }
}
