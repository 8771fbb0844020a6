package dev.bora4j.data;

/**
 * What building the acceptability dataset did to the raw examples, for the record.
 *
 * @param examples             examples read
 * @param correctExamples      examples without a correction attribute (triggers_error ones included)
 * @param wrongExamples        examples with a correction attribute, even an empty one
 * @param usableCorrections    wrong examples whose correction gives a corrected sentence
 * @param caseOnlyPairsDropped pairs whose two sentences tokenise identically (uncased): both dropped
 * @param duplicatesMerged     occurrences of a sentence already seen (same tokens), merged into it
 * @param conflictsDropped     distinct sentences seen with both labels, dropped
 * @param sentences            distinct sentences kept
 * @param minimalPairs         distinct (wrong, corrected) pairs whose two sentences were both kept
 * @param groups               groups the split assigns
 */
public record DatasetReport(int examples, int correctExamples, int wrongExamples, int usableCorrections,
                            int caseOnlyPairsDropped, int duplicatesMerged, int conflictsDropped,
                            int sentences, int minimalPairs, int groups) {

    @Override
    public String toString() {
        return "examples " + examples + " (" + correctExamples + " correct, " + wrongExamples + " wrong, "
                + usableCorrections + " with a usable correction); dropped " + caseOnlyPairsDropped
                + " case-only pairs and " + conflictsDropped + " sentences with both labels; merged "
                + duplicatesMerged + " duplicates; kept " + sentences + " sentences, " + minimalPairs
                + " minimal pairs, " + groups + " groups";
    }
}
