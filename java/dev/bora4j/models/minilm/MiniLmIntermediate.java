package dev.bora4j.models.minilm;

import dev.bora4j.nn.AdaptableLinear;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** The FFN's first projection and exact (erf) GELU (HF "intermediate"). */
public final class MiniLmIntermediate extends Module {

    private final AdaptableLinear dense;

    MiniLmIntermediate(MiniLmConfig config) {
        dense = register_module("dense", new AdaptableLinear(new LinearImpl(config.hiddenSize(), config.intermediateSize())));
    }

    public AdaptableLinear dense() {
        return dense;
    }

    public Tensor forward(Tensor hidden) {
        return torch.gelu(dense.forward(hidden)); // approximate = "none": the erf form the model was trained with
    }
}
