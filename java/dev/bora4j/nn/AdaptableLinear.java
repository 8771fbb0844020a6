package dev.bora4j.nn;

import java.lang.ref.WeakReference;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A torch {@code Linear} that can carry an adapter. Models that want adapters build their
 * projections from this class; adapters are then attached by module name, as PEFT's
 * {@code target_modules} does. The base layer is registered as the child {@code "base"}, so its
 * parameters appear as {@code <name>.base.weight} / {@code <name>.base.bias}. An adapter that is
 * itself a torch {@link Module} is registered as the child {@code "adapter"}, so its parameters
 * appear as {@code <name>.adapter.<param>} in the model's {@code named_parameters()}.
 */
public class AdaptableLinear extends Module {

    private final LinearImpl base;
    private final long inFeatures;
    private final long outFeatures;
    /** Child name under which a Module adapter is registered. */
    public static final String ADAPTER_CHILD = "adapter";

    // named_modules() hands back plain Module wrappers of the native objects; this maps a native
    // address back to its Java AdaptableLinear so adapters can be attached by module name.
    private static final Map<Long, WeakReference<AdaptableLinear>> BY_ADDRESS = new ConcurrentHashMap<>();

    private LinearAdapter adapter;
    private boolean adapterEnabled = true;

    public AdaptableLinear(LinearImpl base) {
        if (base == null) {
            throw new IllegalArgumentException("base linear layer must not be null");
        }
        this.base = register_module("base", base);
        this.outFeatures = base.weight().size(0);
        this.inFeatures = base.weight().size(1);
        BY_ADDRESS.values().removeIf(ref -> ref.get() == null);
        BY_ADDRESS.put(address(), new WeakReference<>(this));
    }

    /**
     * The AdaptableLinear behind a module handle (e.g. from {@code named_modules()}), or null if
     * the module is not one.
     */
    public static AdaptableLinear lookup(Module module) {
        if (module == null || module.isNull()) {
            return null;
        }
        if (module instanceof AdaptableLinear al) {
            return al;
        }
        WeakReference<AdaptableLinear> ref = BY_ADDRESS.get(module.address());
        AdaptableLinear al = ref == null ? null : ref.get();
        return al != null && al.address() == module.address() ? al : null;
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

    /**
     * The dtype of the adapters attached to this layer: its weight's, but float32 for a bfloat16
     * or float16 weight, as PEFT's {@code autocast_adapter_dtype}: the optimizer then updates
     * float32 parameters, whose small steps bfloat16 would round away, and forward casts them to
     * the input's dtype (mixed precision: storage and kernels in the input's dtype, float32
     * master weights). To train half-precision adapters instead, convert the model with
     * {@code model.to(dtype)} after injecting.
     */
    public ScalarType adapterDtype() {
        ScalarType w = base.weight().scalar_type().intern();
        return w == ScalarType.BFloat16 || w == ScalarType.Half ? ScalarType.Float : w;
    }

    /** The attached adapter, or null. */
    public LinearAdapter adapter() {
        return adapter;
    }

    /** Attaches an adapter (null detaches); a Module adapter becomes the child "adapter". */
    public void setAdapter(LinearAdapter adapter) {
        if (this.adapter instanceof Module) {
            unregister_module(ADAPTER_CHILD);
        }
        if (adapter instanceof Module m) {
            register_module(ADAPTER_CHILD, m);
        }
        this.adapter = adapter;
    }

    /** Whether forward adds the adapter's update (true unless switched off). */
    public boolean isAdapterEnabled() {
        return adapterEnabled;
    }

    /**
     * Switches the adapter's update on or off in forward, as PEFT's {@code disable_adapter()}
     * does, e.g. for the base model's outputs as a reference; the adapter's parameters stay as
     * they are. {@link BoraAdapters#disabled()} does it for every adapted layer at once.
     *
     * @throws IllegalStateException when switching off an adapter that is merged into the base
     *     weight: the base layer alone would still apply its update
     */
    public void setAdapterEnabled(boolean enabled) {
        if (!enabled) {
            requireNotMerged();
        }
        adapterEnabled = enabled;
    }

    void requireNotMerged() {
        if (adapter instanceof TrainableAdapter t && t.isMerged()) {
            throw new IllegalStateException("the adapter is merged into the base weight, so the base layer alone"
                    + " still applies its update; unmerge() it before switching it off");
        }
    }

    /** Called by adapters before merging: a switched-off adapter merged in would act all the same. */
    void requireEnabledForMerge() {
        if (!adapterEnabled) {
            throw new IllegalStateException("the adapter is switched off; switch it on before merging it, or the"
                    + " merged base layer would apply its update while it is off");
        }
    }

    public Tensor forward(Tensor x) {
        Tensor y = base.forward(x);
        return adapter == null || !adapterEnabled ? y : adapter.forward(x, y);
    }
}
