package dev.bora4j.ops;

import static dev.bora4j.TorchTesting.assertClose;
import static dev.bora4j.TorchTesting.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.TestModel;
import dev.bora4j.TorchTesting;
import dev.bora4j.nn.AdaptableLinear;
import dev.bora4j.nn.BoraAdapter;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraConfig.Backend;
import dev.bora4j.nn.BoraConfig.SigmaParameterization;
import dev.bora4j.nn.BoraInjector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The native path through the autograd bridge against the pure-torch reference, on a model
 * where gradients flow through three adapted layers into an earlier trainable layer and the input.
 */
class BoraFunctionTest {

    @BeforeAll
    static void init() {
        TorchTesting.init();
        assertTrue(BoraOps.isNativeAvailable(), "the build makes the native library; it must load in tests");
    }

    /** Two identical models with adapters on all three AdaptableLinear layers, one per backend. */
    private static TestModel[] twins(ScalarType dtype, SigmaParameterization sigma, long seed) {
        return twins(dtype, sigma, seed, 5);
    }

    private static TestModel[] twins(ScalarType dtype, SigmaParameterization sigma, long seed, double alpha) {
        TestModel[] models = new TestModel[2];
        Backend[] backends = {Backend.NATIVE, Backend.REFERENCE};
        for (int k = 0; k < 2; k++) {
            torch.manual_seed(seed);
            TestModel m = new TestModel(12, 16, 8);
            m.to(new org.bytedeco.pytorch.Device(torch.DeviceType.CPU), dtype, false);
            BoraAdapters adapters = BoraInjector.inject(m, BoraConfig.builder().targetModules("proj", "head").rank(3)
                    .blocks(4).alpha(alpha).sigma(sigma).backend(backends[k]).build());
            torch.manual_seed(seed + 1);
            try (NoGradGuard ng = new NoGradGuard()) {
                for (BoraAdapter a : adapters.byModule().values()) {
                    // fresh non-zero values everywhere: B = 0 or Sigma = const would hide errors
                    a.loraB().copy_(randn(dtype, a.loraB().size(0), a.loraB().size(1)));
                    a.sigmaParameter().copy_(randn(dtype, 4, 4, 3).mul(new org.bytedeco.pytorch.Scalar(0.3)));
                }
            }
            m.pre.weight().requires_grad_(true); // an earlier layer that needs dx through the adapters
            models[k] = m;
        }
        return models;
    }

    private static List<Tensor> gradsOf(TestModel m) {
        List<Tensor> grads = new ArrayList<>();
        grads.add(m.pre.weight().grad());
        for (AdaptableLinear l : new AdaptableLinear[] {m.proj0, m.proj1, m.head}) {
            BoraAdapter a = (BoraAdapter) l.adapter();
            grads.add(a.loraA().grad());
            grads.add(a.loraB().grad());
            grads.add(a.sigmaParameter().grad());
        }
        return grads;
    }

    private static void compareTwins(ScalarType dtype, SigmaParameterization sigma, double tol, double alpha) {
        TestModel[] m = twins(dtype, sigma, 42, alpha);
        Tensor x = randn(dtype, 3, 5, 12); // leading batch dims: [batch, seq, in]
        Tensor target = randn(dtype, 3, 5, 8);
        Tensor[] outs = new Tensor[2];
        Tensor[] dx = new Tensor[2];
        for (int k = 0; k < 2; k++) {
            Tensor xk = x.clone();
            xk.requires_grad_(true);
            outs[k] = m[k].forward(xk);
            outs[k].sub(target).square().mean().backward();
            dx[k] = xk.grad();
        }
        assertTrue(((BoraAdapter) m[0].head.adapter()).useNative(x));
        assertFalse(((BoraAdapter) m[1].head.adapter()).useNative(x));
        assertClose(outs[0], outs[1], tol, dtype + " output");
        assertClose(dx[0], dx[1], tol, dtype + " dx (input)");
        String[] names = {"pre.weight", "proj0 A", "proj0 B", "proj0 S", "proj1 A", "proj1 B", "proj1 S", "head A",
            "head B", "head S"};
        List<Tensor> g0 = gradsOf(m[0]), g1 = gradsOf(m[1]);
        for (int i = 0; i < names.length; i++) {
            assertClose(g0.get(i), g1.get(i), tol, dtype + " " + sigma + " grad " + names[i]);
        }
    }

    @ParameterizedTest
    @EnumSource(SigmaParameterization.class)
    void float32MatchesReferenceThroughBackward(SigmaParameterization sigma) {
        compareTwins(ScalarType.Float, sigma, 1e-5, 5);
    }

    @Test
    void float64MatchesReferenceThroughBackward() {
        // the C API takes the scaling as a float: alpha / r = 6 / 3 is exact, 5 / 3 would cost 3e-8
        compareTwins(ScalarType.Double, SigmaParameterization.EXP, 1e-12, 6);
    }

    /** Forward output and gradients of x, y0, A, B, S from one call, for a loss sum(y * w). */
    private static Tensor[] outputAndGrads(boolean nativePath, Tensor[] inputs, Tensor w, double scale) {
        Tensor[] leaves = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            leaves[i] = inputs[i].detach().clone();
            leaves[i].requires_grad_(true);
        }
        Tensor y = nativePath ? BoraFunction.apply(leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], scale)
                : BoraReference.forward(leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], scale);
        y.mul(w).sum().backward();
        Tensor[] out = new Tensor[6];
        out[0] = y.detach().to(ScalarType.Float);
        for (int i = 0; i < 5; i++) {
            out[i + 1] = leaves[i].grad().to(ScalarType.Float);
        }
        return out;
    }

    @ParameterizedTest
    @EnumSource(names = {"BFloat16", "Half"})
    void reducedPrecisionErrsAtMostTwiceTorchItself(ScalarType dtype) {
        torch.manual_seed(21);
        Tensor[] low = {randn(dtype, 2, 32, 64), randn(dtype, 2, 32, 48), randn(dtype, 8, 64), randn(dtype, 48, 8),
            randn(dtype, 4, 4, 8)};
        Tensor[] f32 = new Tensor[low.length];
        for (int i = 0; i < low.length; i++) {
            f32[i] = low[i].to(ScalarType.Float); // the same values, exactly
        }
        Tensor w = randn(dtype, 2, 32, 48);
        Tensor[] exact = outputAndGrads(false, f32, w.to(ScalarType.Float), 0.5);
        Tensor[] ours = outputAndGrads(true, low, w, 0.5);
        Tensor[] torchLow = outputAndGrads(false, low, w, 0.5);
        String[] names = {"y", "dx", "dy0", "dA", "dB", "dS"};
        for (int i = 0; i < names.length; i++) {
            double errOurs = TorchTesting.relError(ours[i], exact[i]);
            double errTorch = TorchTesting.relError(torchLow[i], exact[i]);
            assertTrue(errOurs <= 2 * errTorch + 1e-6, dtype + " " + names[i] + ": error " + errOurs
                    + " > 2 x torch's " + errTorch);
        }
    }

    @Test
    void skipsInputGradientWhenNothingUpstreamNeedsIt() {
        TestModel[] m = twins(ScalarType.Float, SigmaParameterization.EXP, 7);
        m[0].pre.weight().requires_grad_(false); // now nothing before the first adapter needs a gradient
        Tensor x = randn(ScalarType.Float, 6, 12);
        long before = BoraFunction.INPUT_GRADIENTS.get();
        m[0].forward(x).square().sum().backward();
        // proj1 and head must pass dx down (to proj0's adapter and the frozen base chain); proj0 need not
        assertEquals(2, BoraFunction.INPUT_GRADIENTS.get() - before);
        assertTrue(((BoraAdapter) m[0].proj0.adapter()).loraA().grad().abs().max().item_double() > 0);
    }

    @Test
    void frozenAdapterPassesTheBaseGradientWithoutAGraph() {
        // Only y0 needs a gradient (adapter frozen, x constant): it must reach y0 through autograd
        // alone, unchanged, and the bridge must build no graph of its own.
        torch.manual_seed(13);
        Tensor x = randn(ScalarType.Float, 2, 5, 16);
        Tensor y0 = randn(ScalarType.Float, 2, 5, 8);
        y0.requires_grad_(true);
        Tensor w = randn(ScalarType.Float, 2, 5, 8);
        int live = BoraFunction.liveGraphs();
        Tensor y = BoraFunction.apply(x, y0, randn(ScalarType.Float, 3, 16), randn(ScalarType.Float, 8, 3),
                randn(ScalarType.Float, 4, 4, 3), 0.5);
        assertEquals(live, BoraFunction.liveGraphs());
        assertTrue(y.requires_grad());
        y.mul(w).sum().backward();
        assertTrue(y0.grad().equal(w), "dL/dy0 must be dL/dy exactly");
    }

    @Test
    void anEmptyBatchGivesAnEmptyOutputAsThePlainModelDoes() {
        TestModel[] m = twins(ScalarType.Float, SigmaParameterization.EXP, 10);
        Tensor x = randn(ScalarType.Float, 0, 12);
        Tensor y = m[0].forward(x); // the NATIVE twin
        assertEquals(List.of(0L, 8L), List.of(y.size(0), y.size(1)));
        y.sum().backward();
        assertEquals(0.0, m[0].pre.weight().grad().abs().sum().item_double());
    }

    @Test
    void noGraphWithoutGradMode() {
        TestModel[] m = twins(ScalarType.Float, SigmaParameterization.EXP, 8);
        int live = BoraFunction.liveGraphs();
        try (NoGradGuard ng = new NoGradGuard()) {
            Tensor y = m[0].forward(randn(ScalarType.Float, 4, 12));
            assertFalse(y.requires_grad());
        }
        assertEquals(live, BoraFunction.liveGraphs());
    }

    @Test
    void backwardKeepsNoHandleOnTheGradientsItPassesOn() {
        // The hooks must let go of dL/dy and of the dx they hand to torch as soon as torch holds
        // them, not when the caller's scope closes: a deep model would otherwise keep every
        // layer's G and dx until the end of the step (and on CUDA, outside any scope, until GC).
        torch.manual_seed(21);
        try (PointerScope scope = new PointerScope()) {
            Tensor x = randn(ScalarType.Float, 6, 16);
            x.requires_grad_(true);
            Tensor[] layer1 = weights(16, 16);
            Tensor[] layer2 = weights(16, 8);
            Tensor h = BoraFunction.apply(x, randn(ScalarType.Float, 6, 16), layer1[0], layer1[1], layer1[2], 0.5);
            List<Tensor> seen = new ArrayList<>();
            h.register_hook(new org.bytedeco.pytorch.TensorTensorHook() {
                @Override
                public org.bytedeco.pytorch.TensorBase call(org.bytedeco.pytorch.TensorBase grad) {
                    seen.add(new Tensor(grad)); // dL/dh: layer 2's dx
                    grad.close();
                    return new Tensor();
                }
            });
            Tensor y = BoraFunction.apply(h, randn(ScalarType.Float, 6, 8), layer2[0], layer2[1], layer2[2], 0.5);
            Tensor g = randn(ScalarType.Float, 6, 8);
            y.backward(g, new org.bytedeco.pytorch.BoolOptional(), false,
                    new org.bytedeco.pytorch.TensorArrayRefOptional());
            assertEquals(1, g.use_count(), "handles on dL/dy still open after backward");
            assertEquals(1, seen.size());
            assertEquals(1, seen.get(0).use_count(), "handles on layer 2's dx still open after backward");
            assertTrue(x.grad().defined() && layer1[0].grad().defined() && layer2[2].grad().defined());
        }
    }

    /** A, B, Sigma of one layer (in -> out, r = 3, b = 4) that require gradients. */
    private static Tensor[] weights(long in, long out) {
        Tensor[] w = {randn(ScalarType.Float, 3, in), randn(ScalarType.Float, out, 3),
            randn(ScalarType.Float, 4, 4, 3)};
        for (Tensor t : w) {
            t.requires_grad_(true);
        }
        return w;
    }

    @Test
    void twoThousandStepsKeepNativeMemoryFlat() {
        TestModel[] m = twins(ScalarType.Float, SigmaParameterization.EXP_NORM, 9);
        List<Tensor> params = new ArrayList<>();
        for (AdaptableLinear l : new AdaptableLinear[] {m[0].proj0, m[0].proj1, m[0].head}) {
            BoraAdapter a = (BoraAdapter) l.adapter();
            params.add(a.loraA());
            params.add(a.loraB());
            params.add(a.sigmaParameter());
        }
        long warm = 0;
        for (int step = 0; step < 2000; step++) {
            try (PointerScope scope = new PointerScope()) {
                Tensor x = randn(ScalarType.Float, 64, 12);
                x.requires_grad_(true);
                Tensor loss = m[0].forward(x).square().mean();
                loss.backward();
                try (NoGradGuard ng = new NoGradGuard()) {
                    for (Tensor p : params) {
                        p.sub_(p.grad().mul(new org.bytedeco.pytorch.Scalar(1e-4)));
                        p.grad().zero_();
                    }
                }
            }
            if (step == 399) {
                System.gc();
                warm = rssKiB();
            }
        }
        System.gc();
        long end = rssKiB();
        System.out.println("RSS after 400 steps " + warm + " KiB, after 2000 steps " + end + " KiB");
        assertEquals(0, BoraFunction.liveGraphs(), "graphs still held after their scopes closed");
        assertTrue(end - warm < 32 * 1024, "RSS grew by " + (end - warm) + " KiB over 1,600 steps");
    }

    static long rssKiB() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
