package dev.bora4j.nn;

import org.bytedeco.pytorch.Tensor;

/**
 * HiRA: dW = W0 ⊙ (B A), the Hadamard product of the frozen weight W0 (out x in) with a rank-r
 * product, y = y0 + s * x dW^T with s = alpha / r (as PEFT's {@code hira}). The rank of dW is
 * not bounded by r: {@code rank(W0 ⊙ BA) <= rank(W0) * r}. Parameters {@code hira_A} (r x in,
 * kaiming-uniform) and {@code hira_B} (out x r, zeros). The update is formed densely (out x in)
 * in every forward pass; that is what the method costs.
 */
public final class HiraAdapter extends ProductAdapter {

    public HiraAdapter(AdaptableLinear target, BoraConfig config) {
        super(checked(target, config), config, "hira_A", new long[] {config.rank(), target.inFeatures()}, "hira_B",
                new long[] {target.outFeatures(), config.rank()});
    }

    private static AdaptableLinear checked(AdaptableLinear target, BoraConfig config) {
        if (target == null) {
            throw new IllegalArgumentException("target must not be null");
        }
        requireSingleBlock(config, BoraConfig.Mode.HIRA);
        return target;
    }

    /** A: rank x in. */
    public Tensor hiraA() {
        return new Tensor(first()); // a new handle: closing it leaves the adapter intact
    }

    /** B: out x rank. */
    public Tensor hiraB() {
        return new Tensor(second()); // a new handle: closing it leaves the adapter intact
    }

    @Override
    protected Tensor update(Tensor a, Tensor b) {
        // W0 is frozen (no grad); gradients reach A and B through the product
        return baseWeight().mul(b.matmul(a));
    }
}
