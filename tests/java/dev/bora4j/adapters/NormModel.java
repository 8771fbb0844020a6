package dev.bora4j.adapters;

import dev.bora4j.nn.AdaptableLinear;
import org.bytedeco.pytorch.BatchNorm1dImpl;
import org.bytedeco.pytorch.BatchNormOptions;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/** A BatchNorm (running statistics in buffers) before an adaptable Linear: 8 features in, 4 out. */
final class NormModel extends Module {
    final BatchNorm1dImpl norm = register_module("norm", new BatchNorm1dImpl(new BatchNormOptions(8)));
    final AdaptableLinear proj = register_module("proj", new AdaptableLinear(new LinearImpl(8, 4)));

    Tensor forward(Tensor x) {
        return proj.forward(norm.forward(x));
    }
}
