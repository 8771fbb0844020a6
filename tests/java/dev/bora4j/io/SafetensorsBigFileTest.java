package dev.bora4j.io;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A real file over 2 GB (sparse: only a few pages hold data). Takes ~30 s and needs ~2 GB of free disk and
 * 2 GB of memory, so it runs only with {@code -Dbora4j.bigFileTest=true}; the same code path is
 * covered on small files by forcing per-tensor mapping in the other tests.
 */
@EnabledIfSystemProperty(named = "bora4j.bigFileTest", matches = "true")
class SafetensorsBigFileTest {

    @TempDir
    Path dir;

    private static final long BIG = (1L << 31) + 5;
    private static final byte[] MARKER = {1, 2, 3, 4, 5, 6, 7, 8};
    /** Where the marker sits inside "big": straddling the 2^31 byte offset. */
    private static final long MARKER_AT = (1L << 31) - 3;

    @Test
    void readsAndRewritesAFileOverTwoGigabytes() throws IOException {
        torch.set_num_threads(1);
        SafetensorsHeader header = SafetensorsHeader.plan(List.of(
                new SafetensorsHeader.TensorSpec("head", SafetensorsDtype.F64, new long[] {4}),
                new SafetensorsHeader.TensorSpec("big", SafetensorsDtype.U8, new long[] {BIG}),
                new SafetensorsHeader.TensorSpec("tail", SafetensorsDtype.BOOL, new long[] {8})), Map.of("k", "v"));
        byte[] headerBytes = header.toBytes();
        long dataStart = 8 + headerBytes.length;
        Path file = dir.resolve("big.safetensors");
        ByteBuffer head = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 4; i++) {
            head.putDouble(i * 8, Math.sqrt(i + 2));
        }
        byte[] tail = {1, 0, 1, 1, 0, 0, 1, 0};
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, headerBytes.length));
            ch.write(ByteBuffer.wrap(headerBytes));
            ch.write(head.duplicate());
            ch.write(ByteBuffer.wrap(MARKER), dataStart + header.tensor("big").begin() + MARKER_AT);
            ch.write(ByteBuffer.wrap(tail), dataStart + header.tensor("tail").begin());
        }
        assertEquals(dataStart + header.dataLength(), Files.size(file));

        try (SafetensorsReader r = SafetensorsReader.open(file)) {
            assertFalse(r.mapsWholeFile());
            assertEquals(Map.of("k", "v"), r.metadata());
            assertEquals(head.duplicate(), r.tensorBytes("head"));
            // Mapped on its own, beyond the 2 GB file offset.
            ByteBuffer tailBytes = r.tensorBytes("tail");
            byte[] t = new byte[8];
            tailBytes.get(t);
            assertArrayEquals(tail, t);
            assertThrows(IllegalArgumentException.class, () -> r.tensorBytes("big"));
            ByteBuffer marker = ByteBuffer.allocate(8);
            r.readInto("big", MARKER_AT, marker);
            assertArrayEquals(MARKER, marker.array());

            // Through torch: a 2 GB tensor read in chunks, then written back in chunks.
            Tensor big = SafetensorsTorch.read(r, "big");
            assertEquals(BIG, big.nbytes());
            byte[] got = new byte[8];
            new BytePointer(big.data_ptr()).capacity(BIG).position(MARKER_AT).get(got);
            assertArrayEquals(MARKER, got);
            Tensor headT = SafetensorsTorch.read(r, "head");
            Tensor tailT = SafetensorsTorch.read(r, "tail");
            Path copy = dir.resolve("copy.safetensors");
            SafetensorsTorch.write(copy, Map.of("head", headT, "big", big, "tail", tailT), Map.of("k", "v"));
            big.close();
            assertEquals(-1L, Files.mismatch(file, copy));
            Files.delete(copy);
        }
    }
}
