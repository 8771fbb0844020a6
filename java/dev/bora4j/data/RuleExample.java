package dev.bora4j.data;

import java.util.List;

/**
 * One {@code <example>} of a LanguageTool rule. {@code segments} is the sentence cut at its
 * {@code <marker>} tags: even indices are unmarked text, odd indices are marked spans, so the
 * plain sentence is their concatenation. {@code correction} is the raw attribute (alternatives
 * separated by '|'), or null for a correct example.
 *
 * @param source file the example came from, e.g. "en/grammar.xml"
 * @param ruleId the id of the enclosing rulegroup, or of the rule when it stands alone
 */
public record RuleExample(String source, String ruleId, List<String> segments, String correction) {

    public RuleExample {
        segments = List.copyOf(segments);
        if (segments.size() % 2 != 1) {
            throw new IllegalArgumentException("segments must alternate text, marked, text, ...: got " + segments.size());
        }
    }

    /** Wrong when the example carries a correction attribute, even an empty one. */
    public boolean isWrong() {
        return correction != null;
    }

    public int markerCount() {
        return segments.size() / 2;
    }

    /** The sentence without marker tags, whitespace collapsed. */
    public String text() {
        return normalise(String.join("", segments));
    }

    /**
     * The sentence with the marked span replaced by the first correction alternative, or null
     * when there is none to apply: no or an empty correction (LanguageTool's "wrong, no
     * suggestion"), or not exactly one marker (with several it is not defined which alternative
     * goes where). An empty first alternative among several ("|kindly") means deleting the span.
     */
    public String correctedText() {
        if (correction == null || correction.isBlank() || markerCount() != 1) {
            return null;
        }
        String first = correction.split("\\|", -1)[0];
        return normalise(segments.get(0) + first + segments.get(2));
    }

    static String normalise(String s) {
        return s.replaceAll("\\s+", " ").trim();
    }
}
