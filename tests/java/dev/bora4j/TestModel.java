package dev.bora4j;

import dev.bora4j.nn.AdaptableLinear;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * A small model for tests: a plain Linear ("pre") followed by three AdaptableLinear layers
 * ("blocks.0.proj", "blocks.1.proj", "head") with tanh in between, so gradients flow through
 * adapted layers into earlier ones.
 */
public final class TestModel extends Module {

    public final LinearImpl pre;
    public final AdaptableLinear proj0;
    public final AdaptableLinear proj1;
    public final AdaptableLinear head;

    public TestModel(long in, long hidden, long out) {
        pre = register_module("pre", new LinearImpl(in, hidden));
        Module blocks = register_module("blocks", new Module());
        Module b0 = blocks.register_module("0", new Module());
        Module b1 = blocks.register_module("1", new Module());
        proj0 = b0.register_module("proj", new AdaptableLinear(new LinearImpl(hidden, hidden)));
        proj1 = b1.register_module("proj", new AdaptableLinear(new LinearImpl(hidden, hidden)));
        head = register_module("head", new AdaptableLinear(new LinearImpl(hidden, out)));
    }

    public Tensor forward(Tensor x) {
        Tensor h = pre.forward(x).tanh();
        h = proj0.forward(h).tanh();
        h = proj1.forward(h).tanh();
        return head.forward(h);
    }
}
