package dev.bora4j.io;

/**
 * Element types of the safetensors format, with their size in bytes.
 *
 * <p>The declaration order follows the reference implementation's {@code Dtype} enum (narrow to
 * wide): the writer orders tensors by this order descending, then by name, exactly as the reference
 * does, so every tensor starts at a multiple of its element size within the 8-byte aligned data
 * section. Sub-byte types (F4, F6_*) are not supported: their byte lengths are not whole elements.
 */
public enum SafetensorsDtype {
    BOOL(1),
    U8(1),
    I8(1),
    F8_E5M2(1),
    F8_E4M3(1),
    F8_E8M0(1),
    I16(2),
    U16(2),
    F16(2),
    BF16(2),
    I32(4),
    U32(4),
    F32(4),
    F64(8),
    I64(8),
    U64(8);

    private final int byteSize;

    SafetensorsDtype(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /**
     * Whether every value of this dtype is exactly a value of {@code to}: the same dtype, or a
     * float widening (bf16, f16 -> f32 -> f64). A file may be loaded into such a tensor.
     */
    public boolean widensExactlyTo(SafetensorsDtype to) {
        return switch (this) {
            case BF16, F16 -> to == this || to == F32 || to == F64;
            case F32 -> to == F32 || to == F64;
            default -> to == this;
        };
    }

    /** The name used in the header's {@code "dtype"} field. */
    public String wireName() {
        return name();
    }

    /** The dtype named {@code wireName} in a header, or null when the name is not a known dtype. */
    public static SafetensorsDtype fromWireName(String wireName) {
        for (SafetensorsDtype d : values()) {
            if (d.name().equals(wireName)) {
                return d;
            }
        }
        return null;
    }
}
