package dev.bora4j.nn;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The shared part of the adapters whose update is a product of two trainable factors other than
 * BoRA's block form ({@link HiraAdapter}, {@link KronaAdapter}): two parameters, the first
 * kaiming-uniform and the second zeros (so training starts at W0), y = y0 + s * adapter(x),
 * merge and unmerge through the dense update. Plain torch, differentiated by torch autograd.
 */
abstract class ProductAdapter extends Module implements TrainableAdapter {

    private final BoraConfig config;
    private final AdaptableLinear target;
    private final double scaling;
    private final String firstName;
    private final String secondName;
    private final Tensor first;
    private final Tensor second;
    // the update added by merge(), kept so unmerge() removes exactly it even where dW depends on
    // W0 (HiRA: the merged weight is no longer W0)
    private Tensor mergedDelta;
    private boolean released;
    private boolean mergedWhenReleased;

    /**
     * @param firstShape  shape of the first factor, kaiming-uniform with fan-in firstShape[1]
     * @param secondShape shape of the second factor, zeros
     */
    ProductAdapter(AdaptableLinear target, BoraConfig config, String firstName, long[] firstShape, String secondName,
            long[] secondShape) {
        this.config = config;
        this.target = target;
        this.scaling = config.scaling();
        this.firstName = firstName;
        this.secondName = secondName;
        Tensor w = target.base().weight();
        TensorOptions dtype = new TensorOptions().dtype(new ScalarTypeOptional(target.adapterDtype()));
        try (NoGradGuard ng = new NoGradGuard()) {
            // kaiming_uniform(a = sqrt 5): bound = 1 / sqrt(fan_in), as PEFT initialises lora_A
            double bound = 1.0 / Math.sqrt(firstShape[1]);
            Tensor a = w.new_empty(firstShape, dtype);
            a.uniform_(-bound, bound, new GeneratorOptional());
            Tensor b = w.new_zeros(secondShape, dtype);
            // own handles, retained: see BoraAdapter
            this.first = a.retainReference();
            this.second = b.retainReference();
            register_parameter(firstName, a, true);
            register_parameter(secondName, b, true);
        }
    }

    static void requireSingleBlock(BoraConfig config, BoraConfig.Mode expected) {
        if (config == null || config.mode() != expected) {
            throw new IllegalArgumentException("this adapter computes " + expected + " mode, got config "
                    + (config == null ? "null" : config.mode()));
        }
    }

    /** The frozen weight W0 (out x in) of the adapted layer. */
    protected Tensor baseWeight() {
        return target.base().weight();
    }

    protected AdaptableLinear target() {
        return target;
    }

    /** The first factor (kaiming-uniform at init); the adapter's own handle. */
    protected Tensor first() {
        return first;
    }

    /** The second factor (zeros at init); the adapter's own handle. */
    protected Tensor second() {
        return second;
    }

    /** dW (out x in) without the scaling from the two factors, differentiable in both. */
    protected abstract Tensor update(Tensor first, Tensor second);

    /**
     * x dW^T as [T, out] for x as [T, in], from the two factors in x's dtype; differentiable.
     * Subclasses may avoid forming dW.
     */
    protected Tensor applyUpdate(Tensor x2d, Tensor first, Tensor second) {
        return x2d.matmul(update(first, second).t());
    }

    @Override
    public BoraConfig config() {
        return config;
    }

    public double scaling() {
        return scaling;
    }

    @Override
    public Map<String, Tensor> trainableTensors() {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put(firstName, new Tensor(first)); // new handles: closing them leaves the adapter intact
        t.put(secondName, new Tensor(second));
        return t;
    }

    @Override
    public Tensor forward(Tensor x, Tensor baseOutput) {
        if (released) {
            throw TrainableAdapter.releasedError();
        }
        if (mergedDelta != null) {
            return baseOutput;
        }
        Tensor input = config.dropout() > 0 && is_training() ? torch.dropout(x, config.dropout(), true) : x;
        long in = target.inFeatures();
        ScalarType compute = input.scalar_type().intern(); // float32 factors of a half-precision layer are cast
        Tensor y = applyUpdate(input.reshape(-1, in), BoraAdapter.inDtype(first, compute),
                BoraAdapter.inDtype(second, compute)).mul(new Scalar(scaling));
        return baseOutput.add(y.view(baseOutput.sizes()));
    }

    @Override
    public Tensor deltaWeight() {
        if (mergedDelta != null) {
            return mergedDelta.clone();
        }
        try (NoGradGuard ng = new NoGradGuard()) {
            return update(first, second).mul(new Scalar(scaling));
        }
    }

    @Override
    public boolean isMerged() {
        return released ? mergedWhenReleased : mergedDelta != null;
    }

    @Override
    public void merge() {
        if (released) {
            throw TrainableAdapter.releasedError();
        }
        if (mergedDelta != null) {
            return;
        }
        target.requireEnabledForMerge();
        Tensor d = deltaWeight();
        try (NoGradGuard ng = new NoGradGuard()) {
            baseWeight().add_(d);
        }
        mergedDelta = d.retainReference();
    }

    @Override
    public void unmerge() {
        if (released) {
            throw TrainableAdapter.releasedError();
        }
        if (mergedDelta == null) {
            return;
        }
        try (NoGradGuard ng = new NoGradGuard()) {
            baseWeight().sub_(mergedDelta);
        }
        mergedDelta.releaseReference();
        mergedDelta = null;
    }

    /** Frees the dense update kept for unmerge; the merge stays in the base weight. */
    @Override
    public void release() {
        if (!released) {
            mergedWhenReleased = mergedDelta != null;
        }
        released = true;
        if (mergedDelta != null) {
            mergedDelta.releaseReference();
            mergedDelta = null;
        }
    }

    /** Whether the dense update of a merge is still held (tests check that release frees it). */
    boolean holdsMergedDelta() {
        return mergedDelta != null;
    }
}
