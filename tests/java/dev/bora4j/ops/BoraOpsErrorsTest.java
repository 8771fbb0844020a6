package dev.bora4j.ops;

import static dev.bora4j.TorchTesting.options;
import static dev.bora4j.TorchTesting.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.TorchTesting;
import dev.bora4j.internal.BoraLibrary;
import dev.bora4j.internal.BoraNativeException;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Every bad input is an exception with a message that says what to change; none crashes the JVM. */
class BoraOpsErrorsTest {

    static final long T = 5, N = 8, M = 12, R = 2, NB = 4;

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    private static Tensor x() {
        return randn(ScalarType.Float, T, N);
    }

    private static Tensor y() {
        return randn(ScalarType.Float, T, M);
    }

    private static Tensor a() {
        return randn(ScalarType.Float, R, N);
    }

    private static Tensor b() {
        return randn(ScalarType.Float, M, R);
    }

    private static Tensor s() {
        return randn(ScalarType.Float, NB, NB, R);
    }

    private static void expect(Class<? extends Throwable> type, String fragment, Executable call) {
        Throwable e = assertThrows(type, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(fragment),
                "message '" + e.getMessage() + "' lacks '" + fragment + "'");
    }

    @Test
    void badShapes() {
        String what = "x must be [..., n]";
        expect(IllegalArgumentException.class, what, () -> BoraOps.forward(randn(ScalarType.Float, T, 6), a(), b(),
                s(), y(), null, 1));
        expect(IllegalArgumentException.class, "A must have 2 dimensions", () -> BoraOps.forward(x(),
                randn(ScalarType.Float, R, N, 1), b(), s(), y(), null, 1));
        expect(IllegalArgumentException.class, "S must be b x b x r", () -> BoraOps.forward(x(), a(), b(),
                randn(ScalarType.Float, NB, NB, R + 1), y(), null, 1));
        expect(IllegalArgumentException.class, "must divide", () -> BoraOps.forward(x(), a(), b(),
                randn(ScalarType.Float, 3, 3, R), y(), null, 1));
        expect(IllegalArgumentException.class, "y must be [..., m]", () -> BoraOps.forward(x(), a(), b(), s(),
                randn(ScalarType.Float, T, M + 4), null, 1));
        expect(IllegalArgumentException.class, "saved activations U", () -> BoraOps.forward(x(), a(), b(), s(), y(),
                randn(ScalarType.Float, T, NB, R + 1), 1));
        expect(IllegalArgumentException.class, "dA must have the shape", () -> BoraOps.backward(y(), x(), a(), b(),
                s(), null, 1, randn(ScalarType.Float, R + 1, N), null, null, null));
        expect(IllegalArgumentException.class, "dA must have the shape", () -> BoraOps.backward(y(), x(), a(), b(),
                s(), null, 1, randn(ScalarType.Float, N, R), null, null, null)); // transposed: same size
        expect(IllegalArgumentException.class, "dx must have the shape", () -> BoraOps.backward(y(), x(), a(), b(),
                s(), null, 1, null, null, null, randn(ScalarType.Float, N, T)));
        expect(IllegalArgumentException.class, "W must be m x n", () -> BoraOps.merge(randn(ScalarType.Float, N, M),
                a(), b(), s(), 1));
    }

    @Test
    void badDtypesDevicesLayoutsAndNulls() {
        expect(IllegalArgumentException.class, "the BoRA kernels take float32, float64, bfloat16 or float16",
                () -> BoraOps.forward(x().to(ScalarType.Int), a().to(ScalarType.Int), b().to(ScalarType.Int),
                        s().to(ScalarType.Int), y().to(ScalarType.Int), null, 1));
        expect(IllegalArgumentException.class, "all tensors must have one dtype", () -> BoraOps.forward(x(),
                a().to(ScalarType.Double), b(), s(), y(), null, 1));
        expect(IllegalArgumentException.class, "is not contiguous", () -> BoraOps.forward(
                randn(ScalarType.Float, N, T).t(), a(), b(), s(), y(), null, 1));
        expect(IllegalArgumentException.class, "is not contiguous", () -> BoraFunction.apply(
                randn(ScalarType.Float, N, T).t(), y(), a(), b(), s(), 1));
        expect(IllegalArgumentException.class, "x must be a defined tensor", () -> BoraOps.forward(null, a(), b(), s(),
                y(), null, 1));
        expect(IllegalArgumentException.class, "S must be a defined tensor", () -> BoraFunction.apply(x(), y(), a(),
                b(), new Tensor(), 1));
        // no CUDA tensors exist with the CPU presets; a tensor on another device takes the same path
        Tensor meta = torch.empty(new long[] {T, N}, options(ScalarType.Float).device(
                new org.bytedeco.pytorch.DeviceOptional(new org.bytedeco.pytorch.Device("meta"))), new org.bytedeco.pytorch.MemoryFormatOptional());
        expect(IllegalArgumentException.class, "all tensors must be on one device", () -> BoraOps.forward(meta, a(),
                b(), s(), y(), null, 1));
    }

    @Test
    void cudaTensorsOnALibraryThatCannotTakeThemSayWhy() {
        assertEquals(null, BoraOps.cudaUnavailableReason(true, true));
        assertTrue(BoraOps.cudaUnavailableReason(false, false).contains("built without CUDA"));
        assertTrue(BoraOps.cudaUnavailableReason(true, false).contains("no usable GPU or driver"));
        // This machine's library: CUDA compiled in when nvcc was found, no GPU here to use it.
        String here = BoraOps.cudaUnavailableReason(BoraLibrary.bora_cuda_compiled() == 1,
                BoraLibrary.bora_cuda_available() == 1);
        assertEquals(BoraLibrary.bora_cuda_available() == 1, here == null, String.valueOf(here));
    }

    @Test
    void nativeStatusBecomesExceptionWithLibraryMessage() {
        int status = BoraLibrary.bora_forward(BoraLibrary.BORA_DEVICE_CPU, BoraLibrary.BORA_DTYPE_F32, T, N, M, R, NB,
                1f, null, null, null, null, null, null, null, 0, null, 0);
        BoraNativeException e = assertThrows(BoraNativeException.class, () -> BoraLibrary.check(status,
                "bora_forward"));
        assertTrue(e.status() == BoraLibrary.BORA_ERR_NULL_POINTER, e.getMessage());
        assertTrue(e.getMessage().startsWith("bora_forward failed with status 1 ("), e.getMessage());
        int div = BoraLibrary.bora_delta_weight(BoraLibrary.BORA_DEVICE_CPU, BoraLibrary.BORA_DTYPE_F32, 10, 12, 2, 4,
                1f, a().data_ptr(), b().data_ptr(), s().data_ptr(), y().data_ptr(), null, 0);
        assertTrue(div == BoraLibrary.BORA_ERR_BLOCKS_DO_NOT_DIVIDE, "status " + div);
    }

    @Test
    void inPlaceChangeBetweenForwardAndBackwardIsReported() {
        Tensor a = a();
        a.requires_grad_(true);
        Tensor x = x();
        Tensor y = BoraFunction.apply(x, y(), a, b(), s(), 1);
        try (NoGradGuard ng = new NoGradGuard()) {
            x.mul_(new Scalar(2));
        }
        expect(RuntimeException.class, "modified in place", () -> y.sum().backward());
    }

    @Test
    void secondBackwardWithoutRetainGraphIsAnErrorNotACrash() {
        Tensor a = a();
        a.requires_grad_(true);
        Tensor loss = BoraFunction.apply(x(), y(), a, b(), s(), 1).sum();
        loss.backward();
        assertThrows(RuntimeException.class, loss::backward);
    }
}
