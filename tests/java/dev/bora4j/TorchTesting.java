package dev.bora4j;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Helpers shared by the tests. */
public final class TorchTesting {

    static {
        // one torch thread: OpenMP spin-waiting against OpenBLAS's own pool is slow on few cores
        torch.set_num_threads(1);
    }

    private TorchTesting() {
    }

    /** Call first in every test class (runs the static initialiser). */
    public static void init() {
    }

    public static TensorOptions options(ScalarType dtype) {
        return new TensorOptions().dtype(new ScalarTypeOptional(dtype));
    }

    public static Tensor randn(ScalarType dtype, long... sizes) {
        return torch.randn(sizes, options(dtype));
    }

    /** max |a - b| / max |b| (both converted to float64). */
    public static double relError(Tensor actual, Tensor expected) {
        Tensor a = actual.to(ScalarType.Double);
        Tensor e = expected.to(ScalarType.Double);
        double scale = e.abs().max().item_double();
        double diff = a.sub(e).abs().max().item_double();
        return scale == 0 ? diff : diff / scale;
    }

    public static void assertClose(Tensor actual, Tensor expected, double tol, String what) {
        assertTrue(actual.defined(), what + ": tensor is undefined");
        assertTrue(expected.defined(), what + ": expected tensor is undefined");
        double err = relError(actual, expected);
        assertTrue(err < tol, what + ": relative error " + err + " >= " + tol);
        // a check that both tensors are not trivially zero, so that equality means something
        assertTrue(expected.abs().max().item_double() > 0, what + ": expected tensor is all zeros");
    }
}
