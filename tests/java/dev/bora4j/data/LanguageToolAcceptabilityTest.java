package dev.bora4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.models.minilm.MiniLmTokenizer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real task: LanguageTool's English examples, keyed by the MiniLM tokenizer's uncased ids. */
class LanguageToolAcceptabilityTest {

    private static MiniLmTokenizer tokenizer;
    private static Function<String, String> tokenKey;
    private static AcceptabilityDataset dataset;

    @BeforeAll
    static void build() {
        tokenizer = MiniLmTokenizer.load(512);
        tokenKey = s -> Arrays.toString(tokenizer.tokenIds(s));
        dataset = AcceptabilityDatasetBuilder.languageToolEnglish(tokenKey, 20240521L);
        System.out.println("LanguageTool acceptability: " + dataset.report());
        System.out.print(dataset.balanceSummary());
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void countsAreInTheExpectedRanges() {
        DatasetReport r = dataset.report();
        assertEquals(25_013, r.examples());
        assertEquals(10_072, r.wrongExamples());
        assertEquals(9_640, r.usableCorrections());
        assertTrue(r.caseOnlyPairsDropped() >= 250 && r.caseOnlyPairsDropped() <= 330, "case-only " + r.caseOnlyPairsDropped());
        assertTrue(r.conflictsDropped() >= 60 && r.conflictsDropped() <= 200, "conflicts " + r.conflictsDropped());
        assertTrue(r.sentences() >= 25_000 && r.sentences() <= 34_000, "sentences " + r.sentences());
        assertTrue(r.minimalPairs() >= 8_000, "pairs " + r.minimalPairs());
        int total = 0;
        for (Split s : Split.values()) {
            total += dataset.get(s).size();
        }
        assertEquals(r.sentences(), total);
    }

    @Test
    void splitsAreRoughlyEightyTenTenAndBothClassesArePresent() {
        double total = dataset.report().sentences();
        assertEquals(0.8, dataset.get(Split.TRAIN).size() / total, 0.03);
        assertEquals(0.1, dataset.get(Split.DEV).size() / total, 0.03);
        assertEquals(0.1, dataset.get(Split.TEST).size() / total, 0.03);
        for (Split s : Split.values()) {
            double acceptable = dataset.balance(s).acceptableFraction();
            assertTrue(acceptable > 0.5 && acceptable < 0.8, s + " " + dataset.balance(s));
        }
    }

    @Test
    void noGroupAndNoMinimalPairCrossesSplits() {
        Map<String, Split> splitOfGroup = new HashMap<>();
        Map<String, Split> splitOfKey = new HashMap<>();
        for (Split s : Split.values()) {
            for (LabeledSentence x : dataset.get(s)) {
                Split previous = splitOfGroup.putIfAbsent(x.groupId(), s);
                assertTrue(previous == null || previous == s, "group " + x.groupId() + " in " + previous + " and " + s);
                assertTrue(splitOfKey.put(tokenKey.apply(x.text()), s) == null, "sentence twice: " + x.text());
            }
        }
        // every kept pair, recomputed from the raw examples, sits in one split
        int checked = 0;
        for (RuleExample e : LanguageToolExamples.readEnglish()) {
            String corrected = e.correctedText();
            if (corrected == null) {
                continue;
            }
            Split wrongSplit = splitOfKey.get(tokenKey.apply(e.text()));
            Split rightSplit = splitOfKey.get(tokenKey.apply(corrected));
            if (wrongSplit != null && rightSplit != null) {
                assertEquals(wrongSplit, rightSplit, "pair split: " + e.text() + " / " + corrected);
                checked++;
            }
        }
        assertTrue(checked >= 8_000, "pairs checked " + checked);
    }

    @Test
    void sameSeedGivesTheSameDataset() {
        AcceptabilityDataset again = AcceptabilityDatasetBuilder.languageToolEnglish(tokenKey, 20240521L);
        for (Split s : Split.values()) {
            List<LabeledSentence> a = dataset.get(s);
            assertEquals(a, again.get(s));
        }
        assertEquals(dataset.report(), again.report());
    }
}
