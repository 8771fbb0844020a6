package dev.bora4j.data;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Builds a CoLA-like acceptability task from LanguageTool rule examples. Correct examples are
 * acceptable; wrong ones are unacceptable and, when their correction applies, also give an
 * acceptable corrected sentence: a minimal pair. Sentences are compared by the model's view of
 * them ({@code inputKey}, e.g. the uncased token ids), so case-only pairs, duplicates and
 * sentences seen with both labels are judged as the model would see them. Groups (connected
 * by minimal pairs, optionally by rule) are split by {@link GroupSplitter}.
 */
public final class AcceptabilityDatasetBuilder {

    /** What ties sentences into one group, which the split never cuts. */
    public enum Grouping {
        /** A wrong sentence and its correction (and any pair sharing one of them). */
        MINIMAL_PAIR,
        /** All sentences of a rule: dev/test then measure generalisation to unseen rules. */
        RULE
    }

    private AcceptabilityDatasetBuilder() {
    }

    /** LanguageTool's English examples, grouped by minimal pair, split 80/10/10 with the seed. */
    public static AcceptabilityDataset languageToolEnglish(Function<String, String> inputKey, long seed) {
        return build(LanguageToolExamples.readEnglish(), inputKey, GroupSplitter.standard(seed), Grouping.MINIMAL_PAIR);
    }

    private static final class Sentence {
        final String key;
        final String text;
        final int label;
        final List<String> rules = new ArrayList<>();
        boolean conflict;
        Sentence parent = this;

        Sentence(String key, String text, int label) {
            this.key = key;
            this.text = text;
            this.label = label;
        }

        Sentence root() {
            Sentence s = this;
            while (s.parent != s) {
                s.parent = s.parent.parent;
                s = s.parent;
            }
            return s;
        }
    }

    public static AcceptabilityDataset build(List<RuleExample> examples, Function<String, String> inputKey,
                                             GroupSplitter splitter, Grouping grouping) {
        if (examples == null || inputKey == null || splitter == null || grouping == null) {
            throw new IllegalArgumentException("examples, input key, splitter and grouping are all required");
        }
        Map<String, String> keyCache = new HashMap<>();
        Function<String, String> cachedKey = text -> keyCache.computeIfAbsent(text, inputKey);
        Map<String, Sentence> sentences = new LinkedHashMap<>();
        List<Sentence[]> pairs = new ArrayList<>();
        int wrong = 0;
        int usable = 0;
        int caseOnly = 0;
        int duplicates = 0;
        for (RuleExample example : examples) {
            String text = example.text();
            if (text.isEmpty()) {
                continue;
            }
            if (!example.isWrong()) {
                duplicates += add(sentences, cachedKey, text, LabeledSentence.ACCEPTABLE, example.ruleId()) ? 0 : 1;
                continue;
            }
            wrong++;
            String corrected = example.correctedText();
            if (corrected == null || corrected.isEmpty()) {
                duplicates += add(sentences, cachedKey, text, LabeledSentence.UNACCEPTABLE, example.ruleId()) ? 0 : 1;
                continue;
            }
            usable++;
            if (key(cachedKey, text).equals(key(cachedKey, corrected))) {
                caseOnly++; // the uncased model cannot tell the two apart
                continue;
            }
            duplicates += add(sentences, cachedKey, text, LabeledSentence.UNACCEPTABLE, example.ruleId()) ? 0 : 1;
            duplicates += add(sentences, cachedKey, corrected, LabeledSentence.ACCEPTABLE, example.ruleId()) ? 0 : 1;
            pairs.add(new Sentence[] {sentences.get(key(cachedKey, text)), sentences.get(key(cachedKey, corrected))});
        }

        int conflicts = 0;
        for (Sentence s : sentences.values()) {
            conflicts += s.conflict ? 1 : 0;
        }
        sentences.values().removeIf(s -> s.conflict);

        Set<String> pairKeys = new HashSet<>();
        for (Sentence[] p : pairs) {
            if (!p[0].conflict && !p[1].conflict) {
                union(p[0], p[1]);
                pairKeys.add(p[0].key + "\u0000" + p[1].key);
            }
        }
        if (grouping == Grouping.RULE) {
            Map<String, Sentence> firstOfRule = new HashMap<>();
            for (Sentence s : sentences.values()) {
                for (String rule : s.rules) {
                    Sentence first = firstOfRule.putIfAbsent(rule, s);
                    if (first != null) {
                        union(first, s);
                    }
                }
            }
        }

        // A group's id is derived from its smallest member text, so it does not depend on input order.
        Map<Sentence, String> smallestText = new HashMap<>();
        for (Sentence s : sentences.values()) {
            smallestText.merge(s.root(), s.text, (a, b) -> a.compareTo(b) <= 0 ? a : b);
        }
        Map<Sentence, String> groupIds = new HashMap<>();
        for (Map.Entry<Sentence, String> e : smallestText.entrySet()) {
            groupIds.put(e.getKey(), "g" + HexFormat.of().formatHex(GroupSplitter.sha256(e.getValue()), 0, 8));
        }

        Map<Split, List<LabeledSentence>> splits = new EnumMap<>(Split.class);
        for (Split split : Split.values()) {
            splits.put(split, new ArrayList<>());
        }
        for (Sentence s : sentences.values()) {
            String groupId = groupIds.get(s.root());
            splits.get(splitter.assign(groupId)).add(new LabeledSentence(s.text, s.label, groupId));
        }
        DatasetReport report = new DatasetReport(examples.size(), examples.size() - wrong, wrong, usable, caseOnly,
                duplicates, conflicts, sentences.size(), pairKeys.size(), groupIds.size());
        return new AcceptabilityDataset(splits, report);
    }

    /** Adds a sentence or merges it into the one with the same key; returns true when it is new. */
    private static boolean add(Map<String, Sentence> sentences, Function<String, String> inputKey,
                               String text, int label, String rule) {
        String key = key(inputKey, text);
        Sentence s = sentences.get(key);
        boolean isNew = s == null;
        if (isNew) {
            s = new Sentence(key, text, label);
            sentences.put(key, s);
        } else if (s.label != label) {
            s.conflict = true;
        }
        if (!s.rules.contains(rule)) {
            s.rules.add(rule);
        }
        return isNew;
    }

    private static String key(Function<String, String> inputKey, String text) {
        String key = inputKey.apply(text);
        if (key == null) {
            throw new IllegalArgumentException("input key function returned null for: " + text);
        }
        return key;
    }

    private static void union(Sentence a, Sentence b) {
        Sentence ra = a.root();
        Sentence rb = b.root();
        if (ra != rb) {
            rb.parent = ra;
        }
    }
}
