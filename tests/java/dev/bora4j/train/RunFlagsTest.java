package dev.bora4j.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RunFlagsTest {

    /** Fields that say where or how a run executes, not what it trains. */
    private static final Set<String> NOT_RUN_DEFINING = Set.of("output", "resume", "progressBar", "threads", "device",
            "evalBatchSize", "checkpointEvery");

    @Test
    void everyTrainingSettingIsRecorded() throws Exception {
        Map<String, String> base = new TrainingConfig().runDefiningFlags();
        int checked = 0;
        for (Field f : TrainingConfig.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) || NOT_RUN_DEFINING.contains(f.getName())) continue;
            TrainingConfig changed = new TrainingConfig();
            f.set(changed, otherValue(f, f.get(changed)));
            assertNotEquals(base, changed.runDefiningFlags(), "changing " + f.getName() + " must change the recorded flags");
            checked++;
        }
        assertTrue(checked >= 30, "only " + checked + " fields checked");
    }

    private static Object otherValue(Field f, Object v) {
        Class<?> t = f.getType();
        if (t == int.class) return (Integer) v + 1;
        if (t == long.class) return (Long) v + 1;
        if (t == double.class) return (Double) v * 2 + 1;
        if (t == boolean.class) return !(Boolean) v;
        if (t == Double.class) return v == null ? 0.5 : (Double) v * 2 + 1;
        if (t == String.class) return v + "x";
        if (t == Path.class) return Path.of("elsewhere");
        if (t == List.class) {
            List<String> l = new ArrayList<>(castList(v));
            l.add("extra");
            return l;
        }
        if (t.isEnum()) {
            Object[] all = t.getEnumConstants();
            return all[(((Enum<?>) v).ordinal() + 1) % all.length];
        }
        throw new AssertionError("no other value for " + f.getName() + " of type " + t);
    }

    @SuppressWarnings("unchecked")
    private static List<String> castList(Object v) {
        return (List<String>) v;
    }

    @Test
    void aResumeWithOtherFlagsIsRefusedNamingThem(@TempDir Path dir) throws IOException {
        Path file = dir.resolve(RunFlags.FILE);
        TrainingConfig first = new TrainingConfig();
        RunFlags.write(file, first.runDefiningFlags());
        assertEquals(first.runDefiningFlags(), RunFlags.read(file));
        assertDoesNotThrow(() -> RunFlags.requireSame(file, first.runDefiningFlags(), dir));

        TrainingConfig other = new TrainingConfig();
        other.learningRate = 5e-4;
        other.seed = 7;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RunFlags.requireSame(file, other.runDefiningFlags(), dir));
        assertTrue(e.getMessage().contains("--lr 0.001 (now 5.0E-4)"), e.getMessage());
        assertTrue(e.getMessage().contains("--seed 42 (now 7)"), e.getMessage());
        assertTrue(e.getMessage().contains("choose another --output"), e.getMessage());
    }

    @Test
    void theCheckpointIntervalMayChangeOnResume(@TempDir Path dir) throws IOException {
        // It decides only where a killed run can resume from; folders that recorded it still resume.
        Path file = dir.resolve(RunFlags.FILE);
        Map<String, String> old = new java.util.LinkedHashMap<>(new TrainingConfig().runDefiningFlags());
        old.put("--checkpoint-every", "200");
        RunFlags.write(file, old);
        TrainingConfig now = new TrainingConfig();
        now.checkpointEvery = 10;
        assertDoesNotThrow(() -> RunFlags.requireSame(file, now.runDefiningFlags(), dir));
        old.put("--unknown-flag", "1"); // other unknown flags are still differences
        RunFlags.write(file, old);
        assertThrows(IllegalArgumentException.class, () -> RunFlags.requireSame(file, now.runDefiningFlags(), dir));
    }

    @Test
    void aFolderFromBeforeAFlagWasRecordedResumesOnlyWithTheValueItRanWith(@TempDir Path dir) throws IOException {
        Path file = dir.resolve(RunFlags.FILE);
        Map<String, String> old = new java.util.LinkedHashMap<>(new TrainingConfig().runDefiningFlags());
        old.remove("--padded-batches"); // recorded before token packing existed: those runs were padded
        old.remove("--attention"); // and before --attention: they used eager attention
        RunFlags.write(file, old);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RunFlags.requireSame(file, new TrainingConfig().runDefiningFlags(), dir));
        assertTrue(e.getMessage().contains("--padded-batches true (now false)"), e.getMessage());
        TrainingConfig padded = new TrainingConfig();
        padded.paddedBatches = true;
        assertDoesNotThrow(() -> RunFlags.requireSame(file, padded.runDefiningFlags(), dir));
        // recorded before --attention existed: those runs used eager attention, the default
        padded.attention = dev.bora4j.models.minilm.AttentionImplementation.SDPA;
        e = assertThrows(IllegalArgumentException.class, () -> RunFlags.requireSame(file, padded.runDefiningFlags(), dir));
        assertTrue(e.getMessage().contains("--attention eager (now sdpa)"), e.getMessage());
        // and eval reads the same mode from such a folder
        assertEquals(new dev.bora4j.models.minilm.EncoderMode(false,
                dev.bora4j.models.minilm.AttentionImplementation.EAGER), RunFlags.encoderMode(RunFlags.read(file)));
        assertEquals(new dev.bora4j.models.minilm.EncoderMode(false,
                dev.bora4j.models.minilm.AttentionImplementation.SDPA), RunFlags.encoderMode(padded.runDefiningFlags()));
    }

    @Test
    void aFolderWithoutTheFileResumesAndACorruptFileIsReported(@TempDir Path dir) throws IOException {
        Path file = dir.resolve(RunFlags.FILE);
        assertDoesNotThrow(() -> RunFlags.requireSame(file, new TrainingConfig().runDefiningFlags(), dir));
        for (String bad : new String[] {"{\"--lr\": ", "[1, 2]", "{\"--lr\": 0.001}", "\u0000\u00ff"}) {
            Files.writeString(file, bad);
            IOException e = assertThrows(IOException.class,
                    () -> RunFlags.requireSame(file, new TrainingConfig().runDefiningFlags(), dir), bad);
            assertTrue(e.getMessage().contains("delete it to resume"), e.getMessage());
        }
        // a key twice says two things at once; a lenient parser kept the last
        Files.writeString(file, "{\"--lr\": \"0.1\", \"--lr\": \"0.2\"}");
        IOException twice = assertThrows(IOException.class,
                () -> RunFlags.requireSame(file, new TrainingConfig().runDefiningFlags(), dir));
        assertTrue(twice.getMessage().startsWith("cannot read " + file + " (field \"--lr\" appears twice)"),
                twice.getMessage());
        Files.writeString(file, "{--lr: '0.1'}"); // not JSON, though a lenient parser read it
        assertThrows(IOException.class, () -> RunFlags.requireSame(file, new TrainingConfig().runDefiningFlags(), dir));
        Files.write(file, new byte[] {'{', (byte) 0xff, '}'});
        IOException e = assertThrows(IOException.class,
                () -> RunFlags.requireSame(file, new TrainingConfig().runDefiningFlags(), dir));
        assertTrue(e.getMessage().contains(file + " (not UTF-8 text)"), e.getMessage());
    }
}
