package dev.bora4j.nn;

import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * A torch {@code Linear} that can carry an adapter. Models that want adapters build their
 * projections from this class; adapters are then attached by module name, as PEFT's
 * {@code target_modules} does. The base layer is registered as the child {@code "base"}, so its
 * parameters appear as {@code <name>.base.weight} / {@code <name>.base.bias}.
 */
public class AdaptableLinear extends Module {

    private final LinearImpl base;
    private final long inFeatures;
    private final long outFeatures;
    private LinearAdapter adapter;

    public AdaptableLinear(LinearImpl base) {
        if (base == null) {
            throw new IllegalArgumentException("base linear layer must not be null");
        }
        this.base = register_module("base", base);
        this.outFeatures = base.weight().size(0);
        this.inFeatures = base.weight().size(1);
    }

    public LinearImpl base() {
        return base;
    }

    public long inFeatures() {
        return inFeatures;
    }

    public long outFeatures() {
        return outFeatures;
    }

    /** The attached adapter, or null. */
    public LinearAdapter adapter() {
        return adapter;
    }

    /** Attaches an adapter (null detaches). */
    public void setAdapter(LinearAdapter adapter) {
        this.adapter = adapter;
    }

    public Tensor forward(Tensor x) {
        Tensor y = base.forward(x);
        return adapter == null ? y : adapter.forward(x, y);
    }
}
