package dev.bora4j.models.minilm;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/** Self-attention followed by its output projection, residual and LayerNorm (HF "attention"). */
public final class MiniLmAttention extends Module {

    private final MiniLmSelfAttention self;
    private final MiniLmResidualOutput output;

    MiniLmAttention(MiniLmConfig config) {
        self = register_module("self", new MiniLmSelfAttention(config));
        output = register_module("output",
                new MiniLmResidualOutput(config.hiddenSize(), config.hiddenSize(), config.layerNormEps()));
    }

    public MiniLmSelfAttention self() {
        return self;
    }

    public MiniLmResidualOutput output() {
        return output;
    }

    /** Packed or padded states in, the same layout out: see {@link MiniLmLayer#forward}. */
    public Tensor forward(Tensor hidden, Tensor additiveMask, TokenPacking packing) {
        return output.forward(self.forward(hidden, additiveMask, packing), hidden);
    }
}
