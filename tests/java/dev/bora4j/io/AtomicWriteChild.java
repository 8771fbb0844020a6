package dev.bora4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Child process for the kill test: rewrites one safetensors file through {@link AtomicFiles}
 * forever, version after version, pausing between 1 MB chunks to stand in for a slow disk, until
 * it is killed. Arguments: target file, size in MB, pause per MB in ms, first version number.
 */
public final class AtomicWriteChild {

    static final int CHUNK = 1 << 20;

    private AtomicWriteChild() {
    }

    /** The tensors of version {@code v}: a U8 payload of {@code megabytes} MB and the version as I64. */
    static Map<String, TensorData> version(long v, int megabytes, long pauseMillisPerChunk) {
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        tensors.put("version", TensorData.of(SafetensorsDtype.I64, new long[] {1},
                ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, v)));
        tensors.put("payload", TensorData.streamed(SafetensorsDtype.U8, new long[] {megabytes, CHUNK}, out -> {
            byte[] chunk = new byte[CHUNK];
            for (int c = 0; c < megabytes; c++) {
                for (int i = 0; i < CHUNK; i++) {
                    chunk[i] = (byte) (v * 131 + c * 7 + i);
                }
                ByteBuffer b = ByteBuffer.wrap(chunk);
                while (b.hasRemaining()) {
                    out.write(b);
                }
                if (pauseMillisPerChunk > 0) {
                    try {
                        Thread.sleep(pauseMillisPerChunk);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IOException("interrupted", e);
                    }
                }
            }
        }));
        return tensors;
    }

    static Map<String, String> metadata(long v) {
        return Map.of("version", Long.toString(v));
    }

    public static void main(String[] args) throws IOException {
        Path target = Path.of(args[0]);
        int megabytes = Integer.parseInt(args[1]);
        long pause = Long.parseLong(args[2]);
        for (long v = Long.parseLong(args[3]); ; v++) {
            SafetensorsWriter.write(target, version(v, megabytes, pause), metadata(v));
            System.out.println("wrote version " + v);
            System.out.flush();
        }
    }
}
