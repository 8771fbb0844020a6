package dev.bora4j.models.minilm;

import java.util.Arrays;
import java.util.Locale;

/**
 * How the encoder computes softmax(q k^T / sqrt(d) + mask) v, named as Hugging Face's
 * {@code attn_implementation}. Both compute the same function; they differ in rounding.
 */
public enum AttentionImplementation {
    /** Two batched matmuls and a softmax, as the exported graph computes it (the default). */
    EAGER,
    /** torch's fused {@code scaled_dot_product_attention}; on the CPU it pays off on long sequences (bench/attention.sh). */
    SDPA;

    /** The name used on the command line and in run records: "eager" or "sdpa". */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The implementation named {@code name} ("eager" or "sdpa", any case). */
    public static AttentionImplementation parse(String name) {
        for (AttentionImplementation a : values()) {
            if (a.name().equalsIgnoreCase(name)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown attention implementation '" + name + "'; use one of "
                + Arrays.stream(values()).map(AttentionImplementation::cliName).toList());
    }
}
