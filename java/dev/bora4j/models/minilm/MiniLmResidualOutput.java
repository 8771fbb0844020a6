package dev.bora4j.models.minilm;

import dev.bora4j.nn.AdaptableLinear;
import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * Dense projection, residual add and LayerNorm: BERT's "attention.output" and "output" blocks,
 * which have the same structure (children "dense" and "LayerNorm").
 */
public final class MiniLmResidualOutput extends Module {

    private final AdaptableLinear dense;
    private final LayerNormImpl layerNorm;

    MiniLmResidualOutput(long inFeatures, long outFeatures, double eps) {
        dense = register_module("dense", new AdaptableLinear(new LinearImpl(inFeatures, outFeatures)));
        layerNorm = register_module("LayerNorm", MiniLmModules.layerNorm(outFeatures, eps));
    }

    public AdaptableLinear dense() {
        return dense;
    }

    public Tensor forward(Tensor x, Tensor residual) {
        return layerNorm.forward(dense.forward(x).add(residual));
    }
}
