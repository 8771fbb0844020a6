package dev.bora4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.data.AcceptabilityDatasetBuilder.Grouping;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** The builder's rules on small hand-made examples (no tokenizer: an uncased stand-in key). */
class AcceptabilityDatasetBuilderTest {

    private static final Function<String, String> UNCASED = s -> s.toLowerCase(Locale.ROOT);

    private static RuleExample correct(String rule, String text) {
        return new RuleExample("t.xml", rule, List.of(text), null);
    }

    private static RuleExample wrong(String rule, String before, String marked, String after, String correction) {
        return new RuleExample("t.xml", rule, List.of(before, marked, after), correction);
    }

    private static Map<String, LabeledSentence> all(AcceptabilityDataset d) {
        Map<String, LabeledSentence> m = new HashMap<>();
        for (Split s : Split.values()) {
            for (LabeledSentence x : d.get(s)) {
                m.put(x.text(), x);
            }
        }
        return m;
    }

    @Test
    void buildsPairsAndDropsCaseOnlyPairsDuplicatesAndConflicts() {
        List<RuleExample> examples = List.of(
                wrong("A", "He ", "goed", " home.", "went|gone"),            // pair
                wrong("B", "I like ", "paris", ".", "Paris"),                // case-only pair: dropped
                correct("C", "He went home."),                              // duplicate of the correction
                correct("D", "It is what it is."),
                wrong("E", "It is ", "what", " it is.", ""),                 // wrong, no suggestion: conflicts with D
                correct("F", "Some text."), correct("F", "some TEXT."));    // duplicate when uncased
        AcceptabilityDataset d = AcceptabilityDatasetBuilder.build(examples, UNCASED, GroupSplitter.standard(1),
                Grouping.MINIMAL_PAIR);
        DatasetReport r = d.report();
        assertEquals(7, r.examples());
        assertEquals(3, r.wrongExamples());
        assertEquals(2, r.usableCorrections());
        assertEquals(1, r.caseOnlyPairsDropped());
        assertEquals(1, r.conflictsDropped());
        assertEquals(3, r.duplicatesMerged());
        assertEquals(3, r.sentences());
        assertEquals(1, r.minimalPairs());
        Map<String, LabeledSentence> byText = all(d);
        assertEquals(LabeledSentence.UNACCEPTABLE, byText.get("He goed home.").label());
        assertEquals(LabeledSentence.ACCEPTABLE, byText.get("He went home.").label());
        assertEquals(byText.get("He goed home.").groupId(), byText.get("He went home.").groupId());
        assertTrue(byText.containsKey("Some text."));
        assertTrue(!byText.containsKey("It is what it is."));
    }

    @Test
    void ruleGroupingKeepsEachRuleInOneSplit() {
        List<RuleExample> examples = new ArrayList<>();
        for (int rule = 0; rule < 40; rule++) {
            for (int i = 0; i < 5; i++) {
                examples.add(correct("R" + rule, "Rule " + rule + " sentence " + i + "."));
            }
        }
        AcceptabilityDataset d = AcceptabilityDatasetBuilder.build(examples, UNCASED, GroupSplitter.standard(3),
                Grouping.RULE);
        assertEquals(40, d.report().groups());
        Map<String, Split> splitOfRule = new HashMap<>();
        for (Split s : Split.values()) {
            for (LabeledSentence x : d.get(s)) {
                String rule = x.text().split(" ")[1];
                assertEquals(splitOfRule.computeIfAbsent(rule, k -> s), s, "rule " + rule + " crosses splits");
            }
        }
    }

    @Test
    void splitDependsOnTheSeedButNotOnInputOrder() {
        List<RuleExample> examples = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            examples.add(correct("R", "Sentence number " + i + "."));
        }
        AcceptabilityDataset a = AcceptabilityDatasetBuilder.build(examples, UNCASED, GroupSplitter.standard(7),
                Grouping.MINIMAL_PAIR);
        List<RuleExample> reversed = new ArrayList<>(examples);
        java.util.Collections.reverse(reversed);
        AcceptabilityDataset b = AcceptabilityDatasetBuilder.build(reversed, UNCASED, GroupSplitter.standard(7),
                Grouping.MINIMAL_PAIR);
        AcceptabilityDataset c = AcceptabilityDatasetBuilder.build(examples, UNCASED, GroupSplitter.standard(8),
                Grouping.MINIMAL_PAIR);
        Map<String, LabeledSentence> inA = all(a);
        for (Split s : Split.values()) {
            for (LabeledSentence x : b.get(s)) {
                assertTrue(a.get(s).contains(x), x + " moved to another split when the input order changed");
            }
        }
        assertEquals(inA.size(), all(b).size());
        assertNotEquals(a.get(Split.TEST), c.get(Split.TEST));
    }

    @Test
    void badArgumentsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new GroupSplitter(1, 0.9, 0.2));
        assertThrows(IllegalArgumentException.class, () -> AcceptabilityDatasetBuilder.build(List.of(), null,
                GroupSplitter.standard(1), Grouping.RULE));
        assertThrows(IllegalArgumentException.class, () -> new LabeledSentence("x", 2, "g"));
    }
}
