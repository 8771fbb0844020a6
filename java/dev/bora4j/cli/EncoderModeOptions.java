package dev.bora4j.cli;

import dev.bora4j.models.minilm.AttentionImplementation;
import dev.bora4j.models.minilm.EncoderMode;
import picocli.CommandLine.Option;

/** The flags that choose how the encoder runs a batch, shared by {@code finetune} and {@code eval}. */
final class EncoderModeOptions {

    @Option(names = "--padded-batches", negatable = false,
            description = "Run every layer on the padded batch instead of the real tokens only: the same model up to"
                    + " rounding and dropout draws, about 2x slower; reproduces runs made before token packing"
                    + " (eval: give the flags a run trained with to get its metrics to the last digit).")
    boolean paddedBatches;
    @Option(names = "--attention", description = "Attention: eager (two matmuls and a softmax, as the exported model)"
            + " or sdpa (torch's fused scaled_dot_product_attention; the same model up to rounding)"
            + " (default: ${DEFAULT-VALUE}).")
    String attention = EncoderMode.DEFAULT.attention().cliName();

    /** The mode these flags select; throws IllegalArgumentException for an unknown attention. */
    EncoderMode mode() {
        return new EncoderMode(!paddedBatches, AttentionImplementation.parse(attention));
    }
}
