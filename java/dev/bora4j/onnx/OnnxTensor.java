package dev.bora4j.onnx;

import java.util.Arrays;

/**
 * One ONNX initializer (TensorProto) whose values are stored as {@code raw_data}: little-endian
 * bytes in row-major order. The bytes are a window of the model file's buffer (not copied, and
 * not 4-byte aligned, so consumers copy them out byte-wise).
 */
public record OnnxTensor(String name, long[] dims, int dataType, byte[] buffer, int offset, int length) {

    /** ONNX TensorProto.DataType values this project uses. */
    public static final int FLOAT = 1;
    public static final int INT64 = 7;

    public OnnxTensor {
        dims = dims.clone();
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    public long numel() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Bytes per element for the data types that can be stored as raw_data here, or -1. */
    static int elementSize(int dataType) {
        return switch (dataType) {
            case 1, 6, 12 -> 4;  // FLOAT, INT32, UINT32
            case 7, 11, 13 -> 8; // INT64, DOUBLE, UINT64
            case 2, 3, 9 -> 1;   // UINT8, INT8, BOOL
            case 4, 5, 10, 16 -> 2; // UINT16, INT16, FLOAT16, BFLOAT16
            default -> -1;
        };
    }

    @Override
    public String toString() {
        return name + " " + Arrays.toString(dims) + " type " + dataType;
    }
}
