package dev.bora4j.internal;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * JavaCPP binding of the C API in {@code native/include/bora/bora.h}, one static method per C
 * function (void* as Pointer, int64_t as long). The JNI library generated from this class links
 * {@code libbora.so}; both ship in the {@code linux-x86_64} classifier jar and {@link Loader}
 * extracts and loads them. Internal: use {@code dev.bora4j.ops.BoraOps}.
 */
@Properties(value = @Platform(include = "bora/bora.h", link = "bora"))
public final class BoraLibrary {

    static {
        Loader.load();
    }

    private BoraLibrary() {
    }

    public static final int BORA_OK = 0;
    public static final int BORA_ERR_NULL_POINTER = 1;
    public static final int BORA_ERR_BAD_SIZE = 2;
    public static final int BORA_ERR_BLOCKS_DO_NOT_DIVIDE = 3;
    public static final int BORA_ERR_OVERFLOW = 4;
    public static final int BORA_ERR_WORKSPACE_TOO_SMALL = 5;
    public static final int BORA_ERR_BAD_DTYPE = 6;
    public static final int BORA_ERR_BAD_DEVICE = 7;
    public static final int BORA_ERR_NO_CUDA = 8;
    public static final int BORA_ERR_CUDA = 9;
    public static final int BORA_ERR_OUT_OF_MEMORY = 10;
    public static final int BORA_ERR_BAD_ARGUMENT = 11;
    public static final int BORA_ERR_INTERNAL = 12;

    public static final int BORA_DTYPE_F32 = 0;
    public static final int BORA_DTYPE_BF16 = 1;
    public static final int BORA_DTYPE_F16 = 2;
    public static final int BORA_DTYPE_F64 = 3;

    public static final int BORA_DEVICE_CPU = 0;
    public static final int BORA_DEVICE_CUDA = 1;

    public static final int BORA_FLAG_NONE = 0;
    public static final int BORA_FLAG_ACCUMULATE = 1;
    public static final int BORA_FLAG_DETERMINISTIC = 2;
    public static final int BORA_FLAG_REFERENCE = 4;
    public static final int BORA_FLAG_NO_TENSOR_CORES = 8;

    public static native @Cast("const char*") BytePointer bora_status_string(int status);

    public static native @Cast("const char*") BytePointer bora_last_error();

    public static native int bora_version();

    public static native int bora_cuda_compiled();

    public static native int bora_cuda_available();

    public static native int bora_set_num_threads(int n);

    public static native int bora_get_num_threads();

    public static native int bora_forward_workspace_bytes(int device, int dtype, @Cast("int64_t") long T,
            @Cast("int64_t") long n, @Cast("int64_t") long m, @Cast("int64_t") long r, @Cast("int64_t") long b,
            @Cast("int64_t*") long[] bytes);

    public static native int bora_backward_workspace_bytes(int device, int dtype, @Cast("int64_t") long T,
            @Cast("int64_t") long n, @Cast("int64_t") long m, @Cast("int64_t") long r, @Cast("int64_t") long b,
            int flags, @Cast("int64_t*") long[] bytes);

    public static native int bora_forward(int device, int dtype, @Cast("int64_t") long T, @Cast("int64_t") long n,
            @Cast("int64_t") long m, @Cast("int64_t") long r, @Cast("int64_t") long b, float scale,
            @Cast("const void*") Pointer x, @Cast("const void*") Pointer A, @Cast("const void*") Pointer B,
            @Cast("const void*") Pointer S, Pointer y, Pointer u_saved, Pointer workspace,
            @Cast("int64_t") long workspace_bytes, Pointer stream, int flags);

    public static native int bora_backward(int device, int dtype, @Cast("int64_t") long T, @Cast("int64_t") long n,
            @Cast("int64_t") long m, @Cast("int64_t") long r, @Cast("int64_t") long b, float scale,
            @Cast("const void*") Pointer G, @Cast("const void*") Pointer x, @Cast("const void*") Pointer A,
            @Cast("const void*") Pointer B, @Cast("const void*") Pointer S, @Cast("const void*") Pointer u_saved,
            Pointer dA, Pointer dB, Pointer dS, Pointer dx, Pointer workspace, @Cast("int64_t") long workspace_bytes,
            Pointer stream, int flags);

    public static native int bora_delta_weight(int device, int dtype, @Cast("int64_t") long n,
            @Cast("int64_t") long m, @Cast("int64_t") long r, @Cast("int64_t") long b, float scale,
            @Cast("const void*") Pointer A, @Cast("const void*") Pointer B, @Cast("const void*") Pointer S,
            Pointer dW, Pointer stream, int flags);

    public static native int bora_merge(int device, int dtype, @Cast("int64_t") long n, @Cast("int64_t") long m,
            @Cast("int64_t") long r, @Cast("int64_t") long b, float scale, @Cast("const void*") Pointer A,
            @Cast("const void*") Pointer B, @Cast("const void*") Pointer S, Pointer W, Pointer stream, int flags);

    public static native int bora_unmerge(int device, int dtype, @Cast("int64_t") long n, @Cast("int64_t") long m,
            @Cast("int64_t") long r, @Cast("int64_t") long b, float scale, @Cast("const void*") Pointer A,
            @Cast("const void*") Pointer B, @Cast("const void*") Pointer S, Pointer W, Pointer stream, int flags);

    /** Throws {@link BoraNativeException} with the library's messages unless status is BORA_OK. */
    public static void check(int status, String call) {
        if (status != BORA_OK) {
            throw new BoraNativeException(status, call, string(bora_status_string(status)), string(bora_last_error()));
        }
    }

    private static String string(BytePointer p) {
        return p == null || p.isNull() ? "" : p.getString();
    }
}
