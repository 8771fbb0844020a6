package dev.bora4j.bench;

import dev.bora4j.internal.BoraLibrary;
import dev.bora4j.ops.BoraFunction;
import dev.bora4j.ops.BoraOps;
import dev.bora4j.ops.BoraReference;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.global.torch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * One BoRA layer forward + backward (x, A, B, S all need gradients) at MiniLM size on the CPU:
 * the native kernels through the autograd bridge, the pure-torch reference (einsum + autograd),
 * and a plain torch LoRA (two matmuls) as the floor. Plus the cost of a JNI call.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class BoraBenchmark {

    @Param({"4096"})
    public long tokens;
    @Param({"384"})
    public long features;
    @Param({"8"})
    public long rank;
    @Param({"4"})
    public long blocks;

    Tensor x, y0, a, b, s, g, tinyX, tinyY, tinyA, tinyB, tinyS;
    double scale = 2.0;

    @Setup(Level.Trial)
    public void setUp() {
        torch.set_num_threads(1);
        torch.manual_seed(0);
        x = leaf(torch.randn(tokens, features));
        y0 = torch.randn(tokens, features);
        a = leaf(torch.randn(rank, features).mul(new Scalar(0.05)));
        b = leaf(torch.randn(features, rank).mul(new Scalar(0.05)));
        s = leaf(torch.randn(blocks, blocks, rank));
        g = torch.randn(tokens, features);
        tinyX = torch.randn(1, 4);
        tinyY = torch.zeros(1, 4);
        tinyA = torch.randn(1, 4);
        tinyB = torch.randn(4, 1);
        tinyS = torch.randn(1, 1, 1);
        if (!BoraOps.isNativeAvailable()) {
            BoraOps.requireNative();
        }
    }

    private static Tensor leaf(Tensor t) {
        t.retainReference();
        t.requires_grad_(true);
        return t;
    }

    private void backward(Tensor y) {
        y.backward(g, new BoolOptional(), false, new TensorArrayRefOptional());
        x.grad().zero_();
        a.grad().zero_();
        b.grad().zero_();
        s.grad().zero_();
    }

    @Benchmark
    public void nativeBora() {
        try (PointerScope scope = new PointerScope()) {
            backward(BoraFunction.apply(x, y0, a, b, s, scale));
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
            Tensor y = y0.add(x.matmul(a.t()).matmul(b.t()).mul(new Scalar(scale)));
            y.backward(g, new BoolOptional(), false, new TensorArrayRefOptional());
            x.grad().zero_();
            a.grad().zero_();
            b.grad().zero_();
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
