package dev.bora4j.examples;

import dev.bora4j.nn.AdaptableLinear;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/** A two-layer perceptron whose projections ("fc1", "fc2") can carry adapters. */
public class Mlp extends Module {

    public final AdaptableLinear fc1;
    public final AdaptableLinear fc2;

    public Mlp(long in, long hidden, long out) {
        fc1 = register_module("fc1", new AdaptableLinear(new LinearImpl(in, hidden)));
        fc2 = register_module("fc2", new AdaptableLinear(new LinearImpl(hidden, out)));
    }

    public Tensor forward(Tensor x) {
        return fc2.forward(fc1.forward(x).tanh());
    }
}
