package dev.bora4j.ops;

import static dev.bora4j.internal.BoraLibrary.*;

import dev.bora4j.internal.BoraLibrary;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The native BoRA kernels as functions on torch tensors, without autograd (see
 * {@link BoraFunction} for that). Every argument is checked here, so the C library only ever
 * sees consistent pointers: same dtype (float32, float64, bfloat16 or float16), same device
 * (CPU, or CUDA when the library has it; CUDA calls run on torch's current stream), contiguous,
 * b dividing n and m. Inputs with leading batch dimensions [..., n] are read as T x n.
 * The kernels see raw pointers, so autograd records nothing here and no NoGradGuard is needed
 * (constructing one costs several microseconds through JavaCPP).
 */
public final class BoraOps {

    private BoraOps() {
    }

    // ----------------------------------------------------------------------------------------
    // availability

    private static final class Availability {
        static final Throwable LOAD_FAILURE = tryLoad();

        private static Throwable tryLoad() {
            try {
                BoraLibrary.bora_version();
                return null;
            } catch (Throwable t) {
                return t;
            }
        }
    }

    /** True if the native library (JNI + libbora) loaded on this platform. */
    public static boolean isNativeAvailable() {
        return Availability.LOAD_FAILURE == null;
    }

    /** The most threads {@link #setNumThreads} accepts. */
    public static final int MAX_THREADS = 256;

    /**
     * Threads of the native CPU kernels (1 to {@link #MAX_THREADS}, default 1). The kernels'
     * pool waits without spinning, so it can share the cores with libtorch's; does nothing
     * without the native library.
     */
    public static void setNumThreads(int threads) {
        if (threads < 1 || threads > MAX_THREADS) {
            throw new IllegalArgumentException("thread count must be between 1 and " + MAX_THREADS + ", got "
                    + threads);
        }
        if (isNativeAvailable()) {
            check(BoraLibrary.bora_set_num_threads(threads), "bora_set_num_threads");
        }
    }

    /** Throws an {@link UnsupportedOperationException} that says why the library did not load. */
    public static void requireNative() {
        Throwable t = Availability.LOAD_FAILURE;
        if (t != null) {
            throw new UnsupportedOperationException("the native BoRA library could not be loaded (" + t
                    + "); put the bora4j linux-x86_64 classifier jar on the class path, or use"
                    + " Backend.REFERENCE", t);
        }
    }

    /** True if the native kernels can take tensors of this dtype and device. */
    public static boolean supports(Tensor t) {
        if (!isNativeAvailable() || bora_dtype_or_negative(dtypeOf(t)) < 0) {
            return false;
        }
        if (t.is_cuda()) {
            return BoraLibrary.bora_cuda_available() == 1 && dtypeOf(t) != ScalarType.Double;
        }
        return t.is_cpu();
    }

    // ----------------------------------------------------------------------------------------
    // forward / backward

    /**
     * y += scale * BoRA(x), in place. If {@code uSaved} is not null it receives U (float32,
     * T x b x r) for {@link #backward}. Returns y.
     */
    public static Tensor forward(Tensor x, Tensor a, Tensor b, Tensor s, Tensor y, Tensor uSaved, double scale) {
        BoraShape sh = BoraShape.of(x, y, a, b, s);
        Call c = new Call(sh, "x", x, "A", a, "B", b, "S", s, "y", y);
        if (uSaved != null) {
            c.checkSaved(uSaved, sh);
        }
        long[] ws = new long[1];
        check(bora_forward_workspace_bytes(c.device, c.dtype, sh.tokens(), sh.in(), sh.out(), sh.rank(),
                sh.blocks(), ws), "bora_forward_workspace_bytes");
        Tensor work = c.workspace(x, ws[0]);
        try {
            check(bora_forward(c.device, c.dtype, sh.tokens(), sh.in(), sh.out(), sh.rank(), sh.blocks(),
                    (float) scale, x.data_ptr(), a.data_ptr(), b.data_ptr(), s.data_ptr(), y.data_ptr(),
                    uSaved == null ? null : uSaved.data_ptr(), ptr(work), ws[0], c.stream(), BORA_FLAG_NONE),
                    "bora_forward");
        } finally {
            Call.release(work);
        }
        return y;
    }

    /**
     * Gradients from G = dL/dy. dA, dB, dS are overwritten (each may be null when not needed);
     * the input gradient is ADDED into dx (may be null). {@code uSaved}: U from
     * {@link #forward}, or null to recompute it.
     */
    public static void backward(Tensor g, Tensor x, Tensor a, Tensor b, Tensor s, Tensor uSaved, double scale,
            Tensor dA, Tensor dB, Tensor dS, Tensor dx) {
        BoraShape sh = BoraShape.of(x, g, a, b, s);
        Call c = new Call(sh, "x", x, "A", a, "B", b, "S", s, "G", g);
        if (uSaved != null) {
            c.checkSaved(uSaved, sh);
        }
        c.checkGradient(dA, a, "dA", true);
        c.checkGradient(dB, b, "dB", true);
        c.checkGradient(dS, s, "dS", true);
        c.checkGradient(dx, x, "dx", false); // any view of x's rows, e.g. 2-D for a 3-D x
        long[] ws = new long[1];
        check(bora_backward_workspace_bytes(c.device, c.dtype, sh.tokens(), sh.in(), sh.out(), sh.rank(),
                sh.blocks(), BORA_FLAG_NONE, ws), "bora_backward_workspace_bytes");
        Tensor work = c.workspace(x, ws[0]);
        try {
            check(bora_backward(c.device, c.dtype, sh.tokens(), sh.in(), sh.out(), sh.rank(), sh.blocks(),
                    (float) scale, g.data_ptr(), x.data_ptr(), a.data_ptr(), b.data_ptr(), s.data_ptr(),
                    uSaved == null ? null : uSaved.data_ptr(), ptr(dA), ptr(dB), ptr(dS), ptr(dx), ptr(work), ws[0],
                    c.stream(), BORA_FLAG_NONE), "bora_backward");
        } finally {
            Call.release(work);
        }
    }

    /** A new float32 tensor for U on x's device, T x b x r. */
    public static Tensor newSaved(Tensor x, BoraShape sh) {
        return x.new_empty(new long[] {sh.tokens(), sh.blocks(), sh.rank()}, dtype(ScalarType.Float));
    }

    // ----------------------------------------------------------------------------------------
    // weights

    /** scale * dW, a new m x n tensor: block (i, j) = B_i diag(S[i][j]) A_j. */
    public static Tensor deltaWeight(Tensor a, Tensor b, Tensor s, double scale) {
        BoraShape sh = BoraShape.ofWeights(a, b, s);
        Call c = new Call(sh, "A", a, "B", b, "S", s);
        Tensor dw = a.new_empty(sh.out(), sh.in());
        check(bora_delta_weight(c.device, c.dtype, sh.in(), sh.out(), sh.rank(), sh.blocks(), (float) scale,
                a.data_ptr(), b.data_ptr(), s.data_ptr(), dw.data_ptr(), c.stream(), BORA_FLAG_NONE),
                "bora_delta_weight");
        return dw;
    }

    /** W += scale * dW in place (W m x n, e.g. a frozen Linear weight). */
    public static void merge(Tensor w, Tensor a, Tensor b, Tensor s, double scale) {
        mergeOrUnmerge(w, a, b, s, scale, true);
    }

    /** W -= scale * dW in place. */
    public static void unmerge(Tensor w, Tensor a, Tensor b, Tensor s, double scale) {
        mergeOrUnmerge(w, a, b, s, scale, false);
    }

    private static void mergeOrUnmerge(Tensor w, Tensor a, Tensor b, Tensor s, double scale, boolean merge) {
        BoraShape sh = BoraShape.ofWeights(a, b, s);
        BoraShape.requireNonNull(w, "W");
        if (w.dim() != 2 || w.size(0) != sh.out() || w.size(1) != sh.in()) {
            throw new IllegalArgumentException("W must be m x n = " + sh.out() + " x " + sh.in() + ", but it is "
                    + BoraShape.sizes(w));
        }
        Call c = new Call(sh, "A", a, "B", b, "S", s, "W", w);
        int status = merge
                ? bora_merge(c.device, c.dtype, sh.in(), sh.out(), sh.rank(), sh.blocks(), (float) scale,
                        a.data_ptr(), b.data_ptr(), s.data_ptr(), w.data_ptr(), c.stream(), BORA_FLAG_NONE)
                : bora_unmerge(c.device, c.dtype, sh.in(), sh.out(), sh.rank(), sh.blocks(), (float) scale,
                        a.data_ptr(), b.data_ptr(), s.data_ptr(), w.data_ptr(), c.stream(), BORA_FLAG_NONE);
        check(status, merge ? "bora_merge" : "bora_unmerge");
        // W changed behind autograd's back: a graph that saved it must refuse its backward, as
        // after any in-place op (inference tensors have no version to bump)
        if (!w.is_inference()) {
            w.unsafeGetTensorImpl().bump_version();
        }
    }

    // ----------------------------------------------------------------------------------------
    // checks

    /** The dtype as a canonical enum constant (JavaCPP returns fresh instances: == fails). */
    static ScalarType dtypeOf(Tensor t) {
        return t.scalar_type().intern();
    }

    private static TensorOptions dtype(ScalarType t) {
        return new TensorOptions().dtype(new ScalarTypeOptional(t));
    }

    private static Pointer ptr(Tensor t) {
        return t == null ? null : t.data_ptr();
    }

    static int bora_dtype_or_negative(ScalarType t) {
        if (t == ScalarType.Float) {
            return BORA_DTYPE_F32;
        } else if (t == ScalarType.Double) {
            return BORA_DTYPE_F64;
        } else if (t == ScalarType.BFloat16) {
            return BORA_DTYPE_BF16;
        } else if (t == ScalarType.Half) {
            return BORA_DTYPE_F16;
        }
        return -1;
    }

    private static boolean sameDevice(Tensor t, Tensor u) {
        if (t.is_cpu() && u.is_cpu()) {
            return true; // the common case without allocating Device objects
        }
        return t.device().type().value == u.device().type().value && t.device().index() == u.device().index();
    }

    private static String deviceName(Tensor t) {
        return t.device().str().getString();
    }

    /**
     * Why this library cannot take CUDA tensors, or null if it can; a function of what the build
     * (compiled) and the machine (available) give, so that both messages are testable anywhere.
     */
    static String cudaUnavailableReason(boolean compiled, boolean available) {
        if (compiled && available) {
            return null;
        }
        return "this BoRA library " + (compiled ? "finds no usable GPU or driver"
                : "was built without CUDA (no nvcc at build time)");
    }

    /** The common dtype, device and stream of one call's tensors, checked. */
    private static final class Call {
        final int dtype;
        final int device;
        final ScalarType scalarType;
        final Tensor first;
        final byte cudaIndex;

        /** names and tensors alternate: "x", x, "A", a, ... */
        Call(BoraShape sh, Object... namesAndTensors) {
            String firstName = (String) namesAndTensors[0];
            first = (Tensor) namesAndTensors[1];
            scalarType = dtypeOf(first);
            dtype = bora_dtype_or_negative(scalarType);
            if (dtype < 0) {
                throw new IllegalArgumentException(firstName + " has dtype " + scalarType + "; the BoRA kernels take"
                        + " float32, float64, bfloat16 or float16: convert with .to(ScalarType.Float)");
            }
            for (int i = 0; i < namesAndTensors.length; i += 2) {
                String name = (String) namesAndTensors[i];
                Tensor t = (Tensor) namesAndTensors[i + 1];
                if (dtypeOf(t) != scalarType) {
                    throw new IllegalArgumentException("all tensors must have one dtype, but " + firstName + " is "
                            + scalarType + " and " + name + " is " + dtypeOf(t) + ": convert " + name
                            + " with .to(ScalarType." + scalarType + ")");
                }
                if (!sameDevice(t, first)) {
                    throw new IllegalArgumentException("all tensors must be on one device, but " + firstName + " is on "
                            + deviceName(first) + " and " + name + " is on " + deviceName(t));
                }
                if (!t.is_contiguous()) {
                    throw new IllegalArgumentException(name + " " + BoraShape.sizes(t) + " is not contiguous: pass "
                            + name + ".contiguous()");
                }
            }
            if (first.is_cuda()) {
                String unavailable = cudaUnavailableReason(BoraLibrary.bora_cuda_compiled() == 1,
                        BoraLibrary.bora_cuda_available() == 1);
                if (unavailable != null) {
                    throw new IllegalArgumentException("the tensors are on " + deviceName(first) + " but "
                            + unavailable + ": move the tensors to the CPU or use a CUDA build");
                }
                if (dtype == BORA_DTYPE_F64) {
                    throw new IllegalArgumentException("float64 is CPU-only in the BoRA kernels: use float32,"
                            + " bfloat16 or float16 on CUDA");
                }
                device = BORA_DEVICE_CUDA;
                cudaIndex = first.device().index();
            } else if (first.is_cpu()) {
                device = BORA_DEVICE_CPU;
                cudaIndex = -1;
            } else {
                throw new IllegalArgumentException("the tensors are on " + deviceName(first)
                        + "; the BoRA kernels run on the CPU or CUDA");
            }
        }

        void checkSaved(Tensor u, BoraShape sh) {
            if (dtypeOf(u) != ScalarType.Float || !u.is_contiguous()
                    || u.numel() != sh.tokens() * sh.blocks() * sh.rank()
                    || !sameDevice(u, first)) {
                throw new IllegalArgumentException("the saved activations U must be a contiguous float32 tensor of "
                        + sh.tokens() + " x " + sh.blocks() + " x " + sh.rank() + " on " + deviceName(first) + ", got "
                        + dtypeOf(u) + " " + BoraShape.sizes(u));
            }
        }

        /**
         * @param exactShape weight gradients must have their weight's shape (a transposed dA has
         *     the right size but the wrong layout); otherwise any shape with like's rows of the same width
         */
        void checkGradient(Tensor grad, Tensor like, String name, boolean exactShape) {
            if (grad == null) {
                return;
            }
            boolean fits = exactShape
                    ? java.util.Arrays.equals(BoraShape.shape(grad), BoraShape.shape(like))
                    : grad.numel() == like.numel() && grad.dim() >= 1 && grad.size(-1) == like.size(-1);
            if (!fits) {
                throw new IllegalArgumentException(name + " must have the shape " + BoraShape.sizes(like) + ", got "
                        + BoraShape.sizes(grad));
            }
            if (dtypeOf(grad) != scalarType || !grad.is_contiguous()
                    || !sameDevice(grad, first)) {
                throw new IllegalArgumentException(name + " must be a contiguous " + scalarType + " tensor on "
                        + deviceName(first) + ", got " + dtypeOf(grad) + " on " + deviceName(grad)
                        + (grad.is_contiguous() ? "" : " (not contiguous)"));
            }
        }

        /** Scratch memory from torch's allocator on the call's device, or null for none. */
        Tensor workspace(Tensor like, long bytes) {
            if (bytes <= 0) {
                return null;
            }
            return like.new_empty(new long[] {bytes}, dtype(ScalarType.Byte));
        }

        /**
         * Gives the workspace back to torch's allocator at once rather than when the caller's
         * scope closes (or, on torch's backward threads, which have no scope, when the garbage
         * collector runs). Safe right after the launch: the allocator reuses the block only for
         * work queued later on the same stream.
         */
        static void release(Tensor work) {
            if (work != null) {
                work.close();
            }
        }

        /** torch's current CUDA stream on the call's device; null on the CPU. */
        Pointer stream() {
            return device == BORA_DEVICE_CUDA ? CudaStreams.current(cudaIndex) : null;
        }
    }

    private static void check(int status, String call) {
        BoraLibrary.check(status, call);
    }
}
