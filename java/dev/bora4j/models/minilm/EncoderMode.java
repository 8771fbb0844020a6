package dev.bora4j.models.minilm;

import java.util.ArrayList;
import java.util.List;

/**
 * How {@link MiniLmModel} runs a batch: its layers on the real tokens only or on the padded
 * batch, and which attention. Every mode computes the same model; they differ in speed and in
 * rounding, so a run is evaluated bit for bit only in the mode it trained in.
 */
public record EncoderMode(boolean packTokens, AttentionImplementation attention) {

    /** The model's defaults: packed tokens, eager attention. */
    public static final EncoderMode DEFAULT = new EncoderMode(true, AttentionImplementation.EAGER);

    public EncoderMode {
        if (attention == null) {
            throw new IllegalArgumentException("attention must not be null");
        }
    }

    public void applyTo(MiniLmModel model) {
        model.setPackTokens(packTokens);
        model.setAttentionImplementation(attention);
    }

    /** The flags that select this mode as one string, e.g. "--padded-batches --attention sdpa"; "" for {@link #DEFAULT}. */
    public String flagText() {
        return String.join(" ", flags());
    }

    /** The {@code finetune} / {@code eval} flags that select this mode, empty for {@link #DEFAULT}. */
    public List<String> flags() {
        List<String> flags = new ArrayList<>();
        if (!packTokens) {
            flags.add("--padded-batches");
        }
        if (attention != DEFAULT.attention) {
            flags.add("--attention");
            flags.add(attention.cliName());
        }
        return flags;
    }
}
