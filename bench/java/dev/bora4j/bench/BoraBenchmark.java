package dev.bora4j.bench;

import dev.bora4j.internal.BoraLibrary;
import dev.bora4j.ops.BoraFunction;
import dev.bora4j.ops.BoraOps;
import dev.bora4j.ops.BoraReference;
import dev.bora4j.ops.BoraShape;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.global.torch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * One adapter layer forward + backward on the CPU (x, A, B and Sigma all need gradients), at the
 * MiniLM layer shapes a training step of 32 sentences x 13 tokens runs (T = 416) and at T = 4096:
 * BoRA and LoRA (b = 1) through the native kernels and the autograd bridge, the same LoRA kernels
 * called directly (no autograd), the pure-torch reference (einsum + autograd), a plain torch LoRA
 * (two matmuls + autograd) and its products called directly. The differences separate the
 * kernels' cost from the per-call cost of getting them into autograd. Plus the cost of a JNI call,
 * and both LoRA paths again with JavaCPP's default resident-memory check on (the forks run with
 * it off, as bora4j's command line does: see JavaCppSettings).
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g", "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0"})
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class BoraBenchmark {

    /** tokens : in features : out features. */
    @Param({"416:384:384", "416:384:1536", "416:1536:384", "4096:384:384"})
    public String layer;
    @Param({"8"})
    public long rank;
    @Param({"4"})
    public long blocks;

    Tensor x, y0, a, b, s, sLora, g, tinyX, tinyY, tinyA, tinyB, tinyS;
    // the direct calls' operands and outputs (no autograd)
    Tensor xd, ad, bd, yOut, uSaved, dA, dB, dx, tu, tdv;
    double scale = 2.0;

    @Setup(Level.Trial)
    public void setUp() {
        torch.set_num_threads(1);
        torch.manual_seed(0);
        String[] dims = layer.split(":");
        long tokens = Long.parseLong(dims[0]), in = Long.parseLong(dims[1]), out = Long.parseLong(dims[2]);
        x = leaf(torch.randn(tokens, in));
        y0 = leaf(torch.randn(tokens, out));
        a = leaf(torch.randn(rank, in).mul(new Scalar(0.05)));
        b = leaf(torch.randn(out, rank).mul(new Scalar(0.05)));
        s = leaf(torch.randn(blocks, blocks, rank));
        sLora = keep(torch.ones(1, 1, rank));
        g = keep(torch.randn(tokens, out));
        xd = keep(x.detach());
        ad = keep(a.detach());
        bd = keep(b.detach());
        yOut = keep(torch.zeros(tokens, out));
        uSaved = keep(BoraOps.newSaved(xd, BoraShape.of(xd, yOut, ad, bd, sLora)));
        dA = keep(torch.empty(rank, in));
        dB = keep(torch.empty(out, rank));
        dx = keep(torch.zeros(tokens, in));
        tu = keep(torch.empty(tokens, rank));
        tdv = keep(torch.empty(tokens, rank));
        tinyX = keep(torch.randn(1, 4));
        tinyY = keep(torch.zeros(1, 4));
        tinyA = keep(torch.randn(1, 4));
        tinyB = keep(torch.randn(4, 1));
        tinyS = keep(torch.randn(1, 1, 1));
        if (!BoraOps.isNativeAvailable()) {
            BoraOps.requireNative();
        }
    }

    private static Tensor keep(Tensor t) {
        t.retainReference();
        return t;
    }

    private static Tensor leaf(Tensor t) {
        keep(t).requires_grad_(true);
        return t;
    }

    private void backward(Tensor y) {
        y.backward(g, new BoolOptional(), false, new TensorArrayRefOptional());
        for (Tensor t : new Tensor[] {x, y0, a, b, s}) {
            if (t.grad().defined()) {
                t.grad().zero_();
            }
        }
    }

    @Benchmark
    public void nativeBora() {
        try (PointerScope scope = new PointerScope()) {
            backward(BoraFunction.apply(x, y0, a, b, s, scale));
        }
    }

    @Benchmark
    public void nativeLora() {
        try (PointerScope scope = new PointerScope()) {
            backward(BoraFunction.apply(x, y0, a, b, sLora, scale));
        }
    }

    /** nativeLora in a JVM with JavaCPP's default check (a /proc read per tensor handle). */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = "-Xmx4g")
    public void nativeLoraJavacppCheck() {
        nativeLora();
    }

    /** torchLora in a JVM with JavaCPP's default check. */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = "-Xmx4g")
    public void torchLoraJavacppCheck() {
        torchLora();
    }

    /** The LoRA kernels alone: forward (saving U) and backward for dA, dB and dx, no autograd. */
    @Benchmark
    public void nativeLoraKernels() {
        try (PointerScope scope = new PointerScope()) {
            BoraOps.forward(xd, ad, bd, sLora, yOut, uSaved, scale);
            BoraOps.backward(g, xd, ad, bd, sLora, uSaved, scale, dA, dB, null, dx);
        }
    }

    @Benchmark
    public void referenceBora() {
        try (PointerScope scope = new PointerScope()) {
            backward(BoraReference.forward(x, y0, a, b, s, scale));
        }
    }

    @Benchmark
    public void torchLora() {
        try (PointerScope scope = new PointerScope()) {
            backward(y0.add(x.matmul(a.t()).matmul(b.t()).mul(new Scalar(scale))));
        }
    }

    /** The same products as torchLora, called directly (no autograd): the BLAS floor. */
    @Benchmark
    public void torchLoraProducts() {
        try (PointerScope scope = new PointerScope()) {
            Scalar one = new Scalar(1.0), sc = new Scalar(scale);
            torch.mm_out(tu, xd, ad.t());
            yOut.addmm_(tu, bd.t(), one, sc);
            torch.mm_out(tdv, g, bd);
            tdv.mul_(sc);
            torch.mm_out(dB, g.t(), tu);
            dB.mul_(sc);
            torch.mm_out(dA, tdv.t(), xd);
            dx.addmm_(tdv, ad, one, one);
        }
    }

    /** A trivial JNI call: the binding's fixed cost. */
    @Benchmark
    public int jniVersion() {
        return BoraLibrary.bora_version();
    }

    /** BoraOps.forward on a 1 x 4 input: JNI plus the Java-side argument checks. */
    @Benchmark
    public void tinyNativeForward() {
        try (PointerScope scope = new PointerScope()) {
            BoraOps.forward(tinyX, tinyA, tinyB, tinyS, tinyY, null, 1.0);
        }
    }
}
