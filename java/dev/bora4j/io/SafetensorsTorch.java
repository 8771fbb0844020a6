package dev.bora4j.io;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Safetensors files to and from libtorch tensors. Bytes are copied straight between the file and
 * the tensor's memory in chunks, so tensors of any size move without an intermediate Java array.
 */
public final class SafetensorsTorch {

    /** Bytes moved per chunk; keeps every ByteBuffer view far below the 2 GB buffer limit. */
    private static final long CHUNK_BYTES = 64L << 20;

    private SafetensorsTorch() {
    }

    /** The safetensors dtype of a torch scalar type; IllegalArgumentException for types the format lacks. */
    public static SafetensorsDtype dtypeOf(ScalarType type) {
        Objects.requireNonNull(type, "type");
        // JavaCPP returns native enums as fresh objects carrying only their value: intern() maps
        // them to the real constant (a switch on the raw object sees ordinal 0, i.e. Byte).
        switch (type.intern()) {
            case Float: return SafetensorsDtype.F32;
            case Half: return SafetensorsDtype.F16;
            case BFloat16: return SafetensorsDtype.BF16;
            case Double: return SafetensorsDtype.F64;
            case Long: return SafetensorsDtype.I64;
            case Int: return SafetensorsDtype.I32;
            case Short: return SafetensorsDtype.I16;
            case Char: return SafetensorsDtype.I8;
            case Byte: return SafetensorsDtype.U8;
            case Bool: return SafetensorsDtype.BOOL;
            case UInt16: return SafetensorsDtype.U16;
            case UInt32: return SafetensorsDtype.U32;
            case UInt64: return SafetensorsDtype.U64;
            case Float8_e5m2: return SafetensorsDtype.F8_E5M2;
            case Float8_e4m3fn: return SafetensorsDtype.F8_E4M3;
            case Float8_e8m0fnu: return SafetensorsDtype.F8_E8M0;
            default:
                throw new IllegalArgumentException("torch dtype " + type + " has no safetensors equivalent");
        }
    }

    /** The torch scalar type that holds a safetensors dtype. */
    public static ScalarType scalarTypeOf(SafetensorsDtype dtype) {
        Objects.requireNonNull(dtype, "dtype");
        switch (dtype) {
            case F32: return ScalarType.Float;
            case F16: return ScalarType.Half;
            case BF16: return ScalarType.BFloat16;
            case F64: return ScalarType.Double;
            case I64: return ScalarType.Long;
            case I32: return ScalarType.Int;
            case I16: return ScalarType.Short;
            case I8: return ScalarType.Char;
            case U8: return ScalarType.Byte;
            case BOOL: return ScalarType.Bool;
            case U16: return ScalarType.UInt16;
            case U32: return ScalarType.UInt32;
            case U64: return ScalarType.UInt64;
            case F8_E5M2: return ScalarType.Float8_e5m2;
            case F8_E4M3: return ScalarType.Float8_e4m3fn;
            case F8_E8M0: return ScalarType.Float8_e8m0fnu;
            default:
                throw new IllegalArgumentException("safetensors dtype " + dtype + " has no torch equivalent");
        }
    }

    /** Reads the named tensor into a new contiguous CPU tensor of its dtype and shape. */
    public static Tensor read(SafetensorsReader reader, String name) throws IOException {
        return read(reader, name, CHUNK_BYTES);
    }

    /** {@link #read} moving {@code chunkBytes} at a time (small values let tests cover the chunking). */
    static Tensor read(SafetensorsReader reader, String name, long chunkBytes) throws IOException {
        requireLittleEndianHost();
        TensorInfo info = reader.info(name);
        Tensor t = torch.empty(info.shape(), new TensorOptions(scalarTypeOf(info.dtype())), new MemoryFormatOptional());
        try {
            long total = info.byteLength();
            if (t.nbytes() != total) {
                throw new IllegalStateException("torch allocated " + t.nbytes() + " bytes for " + info + ", expected " + total);
            }
            if (total > 0) {
                Pointer base = t.data_ptr();
                for (long off = 0; off < total; off += chunkBytes) {
                    long len = Math.min(chunkBytes, total - off);
                    reader.readInto(name, off, view(base, off, len));
                }
            }
            return t;
        } catch (IOException | RuntimeException e) {
            t.close();
            throw e;
        }
    }

    /** Reads every tensor of {@code path}, in header order. */
    public static Map<String, Tensor> readAll(Path path) throws IOException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (SafetensorsReader reader = SafetensorsReader.open(path)) {
            for (String name : reader.tensors().keySet()) {
                out.put(name, read(reader, name));
            }
        } catch (IOException | RuntimeException e) {
            out.values().forEach(Tensor::close);
            throw e;
        }
        return out;
    }

    /**
     * Atomically writes {@code tensors} to {@code target} with {@code metadata} (may be null).
     * Tensors on other devices are copied to the CPU and non-contiguous ones made contiguous first;
     * the inputs are left untouched.
     */
    public static void write(Path target, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        write(target, tensors, metadata, CHUNK_BYTES);
    }

    /** {@link #write} moving {@code chunkBytes} at a time (small values let tests cover the chunking). */
    static void write(Path target, Map<String, Tensor> tensors, Map<String, String> metadata, long chunkBytes)
            throws IOException {
        requireLittleEndianHost();
        Objects.requireNonNull(tensors, "tensors");
        List<Tensor> owned = new ArrayList<>();
        try {
            Map<String, TensorData> data = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                Tensor src = e.getValue();
                if (src == null || src.isNull() || !src.defined()) {
                    throw new IllegalArgumentException("tensor '" + e.getKey() + "' is null or undefined");
                }
                if (src.is_sparse() || src.is_quantized()) {
                    throw new IllegalArgumentException("tensor '" + e.getKey() + "' is sparse or quantized; "
                            + "only dense tensors can be written");
                }
                SafetensorsDtype dtype = dtypeOf(src.scalar_type());
                Tensor cpu = src.cpu();
                owned.add(cpu);
                Tensor dense = cpu.contiguous();
                owned.add(dense);
                long[] shape = new long[(int) dense.dim()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = dense.size(i);
                }
                long total = dense.nbytes();
                data.put(e.getKey(), TensorData.streamed(dtype, shape, out -> {
                    if (total == 0) {
                        return;
                    }
                    Pointer base = dense.data_ptr();
                    for (long off = 0; off < total; off += chunkBytes) {
                        ByteBuffer chunk = view(base, off, Math.min(chunkBytes, total - off));
                        while (chunk.hasRemaining()) {
                            out.write(chunk);
                        }
                    }
                }));
            }
            SafetensorsWriter.write(target, data, metadata);
        } finally {
            // Each wrapper holds its own reference; closing it releases only that reference.
            owned.forEach(Tensor::close);
        }
    }

    /** A direct ByteBuffer over {@code len} bytes of native memory at {@code base + offset}. */
    private static ByteBuffer view(Pointer base, long offset, long len) {
        // A pointer that starts at the chunk itself: JavaCPP's asByteBuffer() handles positions
        // and limits only below 2^31, so offsets into a tensor over 2 GB must go into the address.
        ByteBuffer b = new ChunkPointer(base.address() + offset, len).asByteBuffer();
        if (b.remaining() != len) {
            throw new IllegalStateException("native view of " + len + " bytes has " + b.remaining());
        }
        return b.order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Non-owning pointer to {@code size} bytes at a raw address. */
    private static final class ChunkPointer extends BytePointer {
        ChunkPointer(long address, long size) {
            this.address = address;
            this.capacity = size;
            this.limit = size;
        }
    }

    private static void requireLittleEndianHost() {
        // Safetensors is little-endian; tensor memory is in host order and is copied as is.
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new UnsupportedOperationException("safetensors tensor I/O needs a little-endian host");
        }
    }
}
