package dev.bora4j.nn;

import dev.bora4j.nn.BoraConfig.Backend;
import dev.bora4j.nn.BoraConfig.Mode;
import dev.bora4j.ops.BoraFunction;
import dev.bora4j.ops.BoraOps;
import dev.bora4j.ops.BoraReference;
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
 * A BoRA adapter on one frozen linear projection W0 (out x in): y = y0 + s * BoRA(dropout(x)),
 * with y0 = x W0^T + bias. A torch {@link Module} whose parameters are
 * <ul>
 * <li>{@code lora_A} r x in (kaiming-uniform, a = sqrt 5, as PEFT),</li>
 * <li>{@code lora_B} out x r (zeros, so the adapter starts as a no-op),</li>
 * <li>{@code bora_sigma} b x b x r: the raw parameter P of Sigma in BORA mode; in LORA and
 * MELORA modes Sigma itself, fixed, registered as a buffer.</li>
 * </ul>
 * Attached to an {@link AdaptableLinear} these appear as {@code <module>.adapter.lora_A} etc.
 */
public class BoraAdapter extends Module implements TrainableAdapter {

    /** eps of the RMSNorm in {@link BoraConfig.SigmaParameterization#EXP_NORM}. */
    public static final double RMS_EPS = 1e-6;

    private final BoraConfig config;
    private final AdaptableLinear target;
    private final double scaling;
    private final Tensor loraA;
    private final Tensor loraB;
    private final Tensor sigmaRaw;
    /**
     * A, B and Sigma as they were merged (retained copies, a few KB): unmerge subtracts what merge
     * added even if the parameters changed since (a checkpoint loaded, an optimizer step); null
     * while not merged.
     */
    private Tensor[] mergedFactors;
    private boolean mergedWhenReleased;
    private boolean released;

    /**
     * A new adapter for {@code target}, with parameters on its weight's device, in
     * {@link AdaptableLinear#adapterDtype()} (float32 on a bfloat16 or float16 layer).
     */
    public BoraAdapter(AdaptableLinear target, BoraConfig config) {
        if (target == null || config == null) {
            throw new IllegalArgumentException("target and config must not be null");
        }
        long in = target.inFeatures(), out = target.outFeatures();
        int r = config.rank(), b = config.blocks();
        if (!config.mode().isBoraFamily()) {
            throw new IllegalArgumentException("BoraAdapter computes BORA, LORA and MELORA; " + config.mode()
                    + " mode is " + (config.mode() == Mode.HIRA ? "HiraAdapter" : "KronaAdapter"));
        }
        if (in % b != 0 || out % b != 0) {
            throw new IllegalArgumentException("block count b = " + b + " must divide in = " + in + " and out = " + out
                    + " features; choose b among their common divisors");
        }
        this.config = config;
        this.target = target;
        this.scaling = config.scaling();
        Tensor w = target.base().weight();
        TensorOptions dtype = new TensorOptions().dtype(new ScalarTypeOptional(target.adapterDtype()));
        try (NoGradGuard ng = new NoGradGuard()) {
            // kaiming_uniform(a = sqrt 5) on fan_in = in: bound = sqrt(1/3) * sqrt(3/in) = 1/sqrt(in)
            double bound = 1.0 / Math.sqrt(in);
            Tensor a = w.new_empty(new long[] {r, in}, dtype);
            a.uniform_(-bound, bound, new GeneratorOptional());
            Tensor bw = w.new_zeros(new long[] {out, r}, dtype);
            Tensor sigma;
            if (config.mode() == Mode.BORA) {
                double init = config.sigma() == BoraConfig.SigmaParameterization.RAW ? 1.0 : 0.0;
                sigma = w.new_empty(new long[] {b, b, r}, dtype);
                sigma.fill_(new Scalar(init));
            } else {
                // LORA: b = 1 and Sigma = 1; MELORA: Sigma[i][i] = 1, Sigma[i][j] = 0 (block-diagonal dW)
                sigma = w.new_zeros(new long[] {b, b, r}, dtype);
                for (int i = 0; i < b; i++) {
                    sigma.select(0, i).select(0, i).fill_(new Scalar(1.0));
                }
            }
            // Keep our own handles: register_* returns a reference into the module's parameter
            // list, which moves when the list grows. Retained, so that a PointerScope around the
            // construction does not free them with its temporaries.
            this.loraA = a.retainReference();
            this.loraB = bw.retainReference();
            this.sigmaRaw = sigma.retainReference();
            register_parameter("lora_A", a, true);
            register_parameter("lora_B", bw, true);
            if (config.mode() == Mode.BORA) {
                register_parameter("bora_sigma", sigma, true);
            } else {
                register_buffer("bora_sigma", sigma);
            }
        }
    }

    @Override
    public BoraConfig config() {
        return config;
    }

    @Override
    public java.util.Map<String, Tensor> trainableTensors() {
        java.util.Map<String, Tensor> t = new java.util.LinkedHashMap<>();
        t.put("lora_A", new Tensor(loraA));
        t.put("lora_B", new Tensor(loraB));
        if (config.mode() == Mode.BORA) {
            t.put("bora_sigma", new Tensor(sigmaRaw));
        }
        return t;
    }

    public double scaling() {
        return scaling;
    }

    /** A: rank x in. Like every tensor getter here, a new handle: closing it leaves the adapter intact. */
    public Tensor loraA() {
        return new Tensor(loraA);
    }

    /** B: out x rank. */
    public Tensor loraB() {
        return new Tensor(loraB);
    }

    /** The raw Sigma parameter P (BORA mode) or the fixed Sigma (LORA, MELORA). */
    public Tensor sigmaParameter() {
        return new Tensor(sigmaRaw);
    }

    /** Sigma (b x b x r) from its parameterisation; differentiable in P. */
    public Tensor sigma() {
        boolean stored = config.mode() != Mode.BORA || config.sigma() == BoraConfig.SigmaParameterization.RAW;
        return stored ? new Tensor(sigmaRaw) : sigmaOf(sigmaRaw, config.sigma());
    }

    /** Sigma from its parameter P (b x b x r) under {@code parameterization}; differentiable in P. */
    public static Tensor sigmaOf(Tensor p, BoraConfig.SigmaParameterization parameterization) {
        switch (parameterization) {
            case RAW:
                return p;
            case EXP:
                return p.exp();
            case EXP_NORM: {
                Tensor ms = p.square().mean(new long[] {2}, true, new ScalarTypeOptional());
                return p.mul(ms.add(new Scalar(RMS_EPS)).rsqrt()).exp();
            }
            default:
                throw new IllegalStateException("unknown sigma parameterization " + parameterization);
        }
    }

    /** True while the update is merged into the base weight (forward then returns y0 as is). */
    @Override
    public boolean isMerged() {
        return released ? mergedWhenReleased : mergedFactors != null;
    }

    @Override
    public Tensor forward(Tensor x, Tensor baseOutput) {
        if (released) {
            throw TrainableAdapter.releasedError();
        }
        // An empty batch adds nothing (the kernels and the reference refuse T = 0).
        if (mergedFactors != null || x.numel() == 0) {
            return baseOutput;
        }
        Tensor input = config.dropout() > 0 && is_training() ? torch.dropout(x, config.dropout(), true) : x;
        // float32 parameters of a half-precision layer are cast to the input's dtype; autograd
        // takes the gradients back to float32
        ScalarType compute = input.scalar_type().intern();
        Tensor a = inDtype(loraA, compute), bm = inDtype(loraB, compute), s = inDtype(sigma(), compute);
        if (useNative(input)) {
            return BoraFunction.apply(input.contiguous(), baseOutput, a, bm, s.contiguous(), scaling);
        }
        return BoraReference.forward(input, baseOutput, a, bm, s, scaling);
    }

    /** t itself if it has that dtype, else a differentiable copy in it. */
    static Tensor inDtype(Tensor t, ScalarType dtype) {
        return t.scalar_type().intern() == dtype ? t : t.to(dtype);
    }

    /** Whether forward runs the native kernels for this input. */
    public boolean useNative(Tensor x) {
        Backend backend = config.backend();
        if (backend == Backend.NATIVE) {
            BoraOps.requireNative();
            return true;
        }
        return backend == Backend.AUTO && BoraOps.supports(x);
    }

    /** s * dW (out x in), detached; while merged, the update that is in the base weight. */
    @Override
    public Tensor deltaWeight() {
        try (NoGradGuard ng = new NoGradGuard()) {
            return mergedFactors != null ? deltaWeight(mergedFactors[0], mergedFactors[1], mergedFactors[2])
                    : deltaWeight(loraA, loraB, sigma().contiguous());
        }
    }

    private Tensor deltaWeight(Tensor a, Tensor b, Tensor s) {
        return useNative(a) ? BoraOps.deltaWeight(a, b, s, scaling) : BoraReference.deltaWeight(a, b, s, scaling);
    }

    /** W0 += s * dW; forward then skips the adapter. Idempotent. */
    @Override
    public void merge() {
        if (released) {
            throw TrainableAdapter.releasedError();
        }
        if (mergedFactors != null) {
            return;
        }
        target.requireEnabledForMerge();
        Tensor[] factors;
        try (NoGradGuard ng = new NoGradGuard()) {
            factors = new Tensor[] {loraA.detach().clone(), loraB.detach().clone(), sigma().detach().contiguous().clone()};
        }
        addToBaseWeight(true, factors);
        for (Tensor f : factors) {
            f.retainReference(); // outlives the caller's PointerScope
        }
        mergedFactors = factors;
    }

    /** W0 -= s * dW as merged, undoing {@link #merge()}. Idempotent. */
    @Override
    public void unmerge() {
        if (released) {
            throw TrainableAdapter.releasedError();
        }
        if (mergedFactors == null) {
            return;
        }
        addToBaseWeight(false, mergedFactors);
        dropMergedFactors();
    }

    /** Frees the copies kept for unmerge; the merge stays in the base weight. */
    @Override
    public void release() {
        if (!released) {
            mergedWhenReleased = mergedFactors != null;
        }
        released = true;
        dropMergedFactors();
    }

    private void dropMergedFactors() {
        if (mergedFactors != null) {
            for (Tensor f : mergedFactors) {
                f.releaseReference();
            }
            mergedFactors = null;
        }
    }

    private void addToBaseWeight(boolean add, Tensor[] factors) {
        Tensor w = target.base().weight();
        Tensor a = factors[0], b = factors[1], s = factors[2];
        try (NoGradGuard ng = new NoGradGuard()) {
            boolean sameDtype = w.scalar_type().intern() == a.scalar_type().intern();
            if (sameDtype && useNative(w) && w.is_contiguous()) {
                if (add) {
                    BoraOps.merge(w, a, b, s, scaling);
                } else {
                    BoraOps.unmerge(w, a, b, s, scaling);
                }
            } else {
                // s*dW in the adapter's dtype (float32 on a half-precision layer), added with one rounding
                Tensor dw = deltaWeight(a, b, s);
                if (add) {
                    w.add_(dw);
                } else {
                    w.sub_(dw);
                }
            }
        }
    }
}
