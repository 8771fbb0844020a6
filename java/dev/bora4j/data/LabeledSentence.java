package dev.bora4j.data;

/**
 * A sentence and its acceptability label, CoLA-style: 1 = acceptable, 0 = unacceptable.
 * Sentences with the same {@code groupId} (a minimal pair, or sentences tied to it) always
 * land in the same split.
 */
public record LabeledSentence(String text, int label, String groupId) {

    public static final int UNACCEPTABLE = 0;
    public static final int ACCEPTABLE = 1;

    public LabeledSentence {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("sentence text must not be empty");
        }
        if (label != UNACCEPTABLE && label != ACCEPTABLE) {
            throw new IllegalArgumentException("label must be 0 (unacceptable) or 1 (acceptable), got " + label);
        }
        if (groupId == null || groupId.isEmpty()) {
            throw new IllegalArgumentException("group id must not be empty");
        }
    }
}
