package dev.bora4j.models.minilm;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/** One transformer block: attention, then the FFN with its residual and LayerNorm (HF "encoder.layer.N"). */
public final class MiniLmLayer extends Module {

    private final MiniLmAttention attention;
    private final MiniLmIntermediate intermediate;
    private final MiniLmResidualOutput output;

    MiniLmLayer(MiniLmConfig config) {
        attention = register_module("attention", new MiniLmAttention(config));
        intermediate = register_module("intermediate", new MiniLmIntermediate(config));
        output = register_module("output",
                new MiniLmResidualOutput(config.intermediateSize(), config.hiddenSize(), config.layerNormEps()));
    }

    public MiniLmAttention attention() {
        return attention;
    }

    public MiniLmIntermediate intermediate() {
        return intermediate;
    }

    public MiniLmResidualOutput output() {
        return output;
    }

    /**
     * @param hidden       [batch, seq, hidden], or [tokens, hidden] when {@code packing} is given
     * @param additiveMask [batch, 1, 1, seq]
     * @param packing      the real tokens of the batch when {@code hidden} is packed, else null
     */
    public Tensor forward(Tensor hidden, Tensor additiveMask, TokenPacking packing) {
        Tensor attended = attention.forward(hidden, additiveMask, packing);
        return output.forward(intermediate.forward(attended), attended);
    }
}
