package dev.bora4j.train;

import com.google.gson.JsonObject;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointsTest {

    @BeforeAll
    static void oneThread() {
        torch.set_num_threads(1);
    }

    /** A tiny least-squares problem trained with AdamW. */
    private static final class Problem {
        final Tensor w;
        final AdamW optimizer;
        final Tensor x;
        final Tensor target;

        Problem() {
            torch.manual_seed(7);
            w = torch.randn(4, 3).set_requires_grad(true);
            x = torch.randn(16, 4);
            target = torch.randn(16, 3);
            AdamWOptions options = new AdamWOptions(0.05);
            options.weight_decay().put(0.01);
            optimizer = new AdamW(new TensorVector(w), options);
        }

        void step() {
            try (PointerScope scope = new PointerScope()) {
                optimizer.zero_grad();
                Tensor loss = x.matmul(w).sub(target).pow(new org.bytedeco.pytorch.Scalar(2.0)).mean();
                loss.backward();
                optimizer.step();
            }
        }

        Map<String, Tensor> trainable() {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("w", w);
            return m;
        }
    }

    /** Rewrites a checkpoint's state as one written before data files had digests. */
    private static void forgetDigests(Path stepDir) throws IOException {
        Path state = stepDir.resolve("state.json");
        JsonObject o = com.google.gson.JsonParser.parseString(Files.readString(state)).getAsJsonObject();
        assertTrue(o.remove("sha256") != null, "save records the data files' digests");
        Files.writeString(state, o.toString());
    }

    private static float[] values(Tensor t) {
        Tensor c = t.contiguous();
        float[] out = new float[(int) c.numel()];
        c.data_ptr_float().get(out);
        return out;
    }

    @Test
    void resumingFromACheckpointContinuesBitwiseIdentically(@TempDir Path dir) throws IOException {
        Problem straight = new Problem();
        for (int i = 0; i < 10; i++) straight.step();

        Problem first = new Problem();
        for (int i = 0; i < 4; i++) first.step();
        Checkpoints checkpoints = new Checkpoints(dir, 2);
        JsonObject state = new JsonObject();
        state.addProperty("epoch", 1);
        checkpoints.save(4, first.trainable(), first.optimizer, state);

        Problem resumed = new Problem(); // fresh weights and a fresh optimizer
        Checkpoints.Loaded loaded = checkpoints.loadLatest(resumed.trainable(), resumed.optimizer).orElseThrow();
        assertEquals(4, loaded.step());
        assertEquals(1, loaded.state().get("epoch").getAsInt());
        assertFalse(loaded.state().has("sha256"), "the digests are the checkpoint's own business");
        for (int i = 4; i < 10; i++) resumed.step();
        assertTrue(java.util.Arrays.equals(values(straight.w), values(resumed.w)),
                "weights after resume must equal an uninterrupted run bit for bit (optimizer moments restored)");
    }

    @Test
    void keepsOnlyTheNewestCheckpointsAndIgnoresStaleTemporaries(@TempDir Path dir) throws IOException {
        Problem p = new Problem();
        Checkpoints checkpoints = new Checkpoints(dir, 2);
        Files.createDirectory(dir.resolve(".step-99.deadbeef.tmp")); // left by a killed writer
        for (long step = 1; step <= 4; step++) {
            p.step();
            checkpoints.save(step, p.trainable(), p.optimizer, new JsonObject());
        }
        assertFalse(Files.exists(dir.resolve("step-1")));
        assertFalse(Files.exists(dir.resolve("step-2")));
        assertTrue(Files.isDirectory(dir.resolve("step-3")));
        assertTrue(Files.isDirectory(dir.resolve("step-4")));
        assertFalse(Files.exists(dir.resolve(".step-99.deadbeef.tmp")));
        assertEquals("step-4", Files.readString(dir.resolve(Checkpoints.LATEST)));
    }

    @Test
    void noCheckpointMeansAFreshStart(@TempDir Path dir) throws IOException {
        Problem p = new Problem();
        assertTrue(new Checkpoints(dir.resolve("none"), 1).loadLatest(p.trainable(), p.optimizer).isEmpty());
    }

    @Test
    void corruptOrMismatchedCheckpointsGiveClearErrors(@TempDir Path dir) throws IOException {
        Problem p = new Problem();
        Checkpoints checkpoints = new Checkpoints(dir, 1);
        checkpoints.save(1, p.trainable(), p.optimizer, new JsonObject());

        Map<String, Tensor> otherShape = Map.of("w", torch.zeros(5, 3));
        IOException shape = assertThrows(IOException.class, () -> checkpoints.loadLatest(otherShape, p.optimizer));
        assertTrue(shape.getMessage().contains("has shape [4, 3]"), shape.getMessage());

        Map<String, Tensor> otherName = Map.of("v", torch.zeros(4, 3));
        IOException name = assertThrows(IOException.class, () -> checkpoints.loadLatest(otherName, p.optimizer));
        assertTrue(name.getMessage().contains("has no tensor 'v'"), name.getMessage());

        forgetDigests(dir.resolve("step-1"));
        Files.writeString(dir.resolve("step-1").resolve("optimizer.safetensors"), "not safetensors");
        IOException optimizer = assertThrows(IOException.class, () -> checkpoints.loadLatest(p.trainable(), p.optimizer));
        assertTrue(optimizer.getMessage().contains("optimizer.safetensors"), optimizer.getMessage());

        Files.writeString(dir.resolve("step-1").resolve("state.json"), "{broken");
        IOException state = assertThrows(IOException.class, () -> checkpoints.loadLatest(p.trainable(), p.optimizer));
        assertTrue(state.getMessage().contains("is not a JSON object"), state.getMessage());

        Files.writeString(dir.resolve(Checkpoints.LATEST), "../../etc");
        IOException pointer = assertThrows(IOException.class, () -> checkpoints.loadLatest(p.trainable(), p.optimizer));
        assertTrue(pointer.getMessage().contains("corrupt checkpoint pointer"), pointer.getMessage());
    }

    /** Checkpoints in dir holding step 1, saved after one step (AdamW has moments to save only then). */
    private static Checkpoints savedAfterOneStep(Path dir) throws IOException {
        Problem p = new Problem();
        p.step();
        Checkpoints checkpoints = new Checkpoints(dir, 1);
        checkpoints.save(1, p.trainable(), p.optimizer, new JsonObject());
        return checkpoints;
    }

    @Test
    void truncatedOptimizerStateGivesOneLineAndHowToStartOver(@TempDir Path dir) throws IOException {
        Checkpoints checkpoints = savedAfterOneStep(dir);
        Problem p = new Problem();
        forgetDigests(dir.resolve("step-1")); // the reader's own checks, behind the digest
        Path optimizerFile = dir.resolve("step-1").resolve("optimizer.safetensors");
        byte[] bytes = Files.readAllBytes(optimizerFile);
        Files.write(optimizerFile, java.util.Arrays.copyOf(bytes, bytes.length / 2));

        IOException e = assertThrows(IOException.class, () -> checkpoints.loadLatest(p.trainable(), p.optimizer));
        String m = e.getMessage();
        assertTrue(m.contains(optimizerFile.toString()), m);
        assertTrue(m.endsWith("; delete " + dir + " to start over"), m);
        assertFalse(m.contains("\n"), m);
    }

    @Test
    void aCheckpointWithLibtorchsPickledOptimizerStateIsRefusedUnread(@TempDir Path dir) throws IOException {
        Checkpoints checkpoints = savedAfterOneStep(dir);
        Path step1 = dir.resolve("step-1");
        Files.delete(step1.resolve("optimizer.safetensors"));
        Files.writeString(step1.resolve("optimizer.pt"), "PK a pickle that must not reach libtorch");
        Problem fresh = new Problem();
        float[] before = values(fresh.w);

        IOException e = assertThrows(IOException.class, () -> checkpoints.loadLatest(fresh.trainable(), fresh.optimizer));
        assertEquals("checkpoint " + step1 + " keeps the optimizer state in optimizer.pt, libtorch's pickle archive,"
                + " which is no longer read (its reader trusts the file); delete " + dir + " to start over",
                e.getMessage());
        assertTrue(java.util.Arrays.equals(before, values(fresh.w)));
    }

    @Test
    void aDamagedCheckpointLeavesTheParametersAsTheyWere(@TempDir Path dir) throws IOException {
        Problem saved = new Problem();
        saved.step();
        Checkpoints checkpoints = new Checkpoints(dir, 1);
        checkpoints.save(1, saved.trainable(), saved.optimizer, new JsonObject());
        Path step1 = dir.resolve("step-1");
        forgetDigests(step1); // the checks behind the digests
        Problem fresh = new Problem();
        float[] before = values(fresh.w);

        byte[] optimizerBytes = Files.readAllBytes(step1.resolve("optimizer.safetensors"));
        Files.write(step1.resolve("optimizer.safetensors"), java.util.Arrays.copyOf(optimizerBytes, 100));
        assertThrows(IOException.class, () -> checkpoints.loadLatest(fresh.trainable(), fresh.optimizer));
        assertTrue(java.util.Arrays.equals(before, values(fresh.w)), "a damaged optimizer state overwrote the weights");
        Files.write(step1.resolve("optimizer.safetensors"), optimizerBytes);

        Map<String, Tensor> poisoned = new LinkedHashMap<>();
        poisoned.put("w", saved.w.detach().clone().fill_(new org.bytedeco.pytorch.Scalar(Double.NaN)));
        dev.bora4j.io.SafetensorsTorch.write(step1.resolve("trainable.safetensors"), poisoned, Map.of());
        IOException nan = assertThrows(IOException.class,
                () -> checkpoints.loadLatest(fresh.trainable(), fresh.optimizer));
        assertTrue(nan.getMessage().contains("'w'") && nan.getMessage().contains("NaN or Inf"), nan.getMessage());
        assertTrue(java.util.Arrays.equals(before, values(fresh.w)), "a NaN checkpoint overwrote the weights");

        Files.write(dir.resolve(Checkpoints.LATEST), new byte[] {'s', 't', 'e', 'p', '-', '1', (byte) 0xff});
        IOException utf8 = assertThrows(IOException.class,
                () -> checkpoints.loadLatest(fresh.trainable(), fresh.optimizer));
        assertTrue(utf8.getMessage().contains("not UTF-8 text") && utf8.getMessage().contains(Checkpoints.LATEST),
                utf8.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"optimizer.safetensors", "trainable.safetensors"})
    void aFlippedByteIsCaughtByTheDigestBeforeAnyParserReadsTheFile(String file, @TempDir Path dir)
            throws IOException {
        Checkpoints checkpoints = savedAfterOneStep(dir);
        Path data = dir.resolve("step-1").resolve(file);
        byte[] bytes = Files.readAllBytes(data);
        bytes[bytes.length / 2] ^= 0x10; // same length, one bit: what a parser may not notice
        Files.write(data, bytes);
        Problem fresh = new Problem();
        float[] before = values(fresh.w);

        IOException e = assertThrows(IOException.class, () -> checkpoints.loadLatest(fresh.trainable(), fresh.optimizer));
        assertTrue(e.getMessage().startsWith("checkpoint file " + data + " is damaged: its SHA-256 is "), e.getMessage());
        assertTrue(e.getMessage().endsWith("; delete " + dir + " to start over"), e.getMessage());
        assertTrue(java.util.Arrays.equals(before, values(fresh.w)), "a damaged checkpoint overwrote the weights");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "[] | has a corrupt 'sha256': [] is not an object",
            "{} | has no valid SHA-256 for trainable.safetensors (found null)",
            "{\"trainable.safetensors\":\"ab\"} | has no valid SHA-256 for trainable.safetensors (found \"ab\")"})
    void corruptDigestsAreRefused(String digests, String problem, @TempDir Path dir) throws IOException {
        IOException e = refusedWithState(dir, "{\"step\":1,\"sha256\":" + digests + "}");
        assertEquals("checkpoint file " + dir.resolve("step-1").resolve("state.json") + " " + problem + "; delete "
                + dir + " to start over", e.getMessage());
    }

    /** The error of loading a checkpoint saved at step 1 whose state.json was replaced by {@code json}. */
    private static IOException refusedWithState(Path dir, String json) throws IOException {
        Problem p = new Problem();
        Checkpoints checkpoints = new Checkpoints(dir, 1);
        checkpoints.save(1, p.trainable(), p.optimizer, new JsonObject());
        Files.writeString(dir.resolve("step-1").resolve("state.json"), json);
        return assertThrows(IOException.class, () -> checkpoints.loadLatest(p.trainable(), p.optimizer));
    }

    @Test
    void aCheckpointWrittenBeforeDigestsStillResumes(@TempDir Path dir) throws IOException {
        Problem first = new Problem();
        first.step();
        Checkpoints checkpoints = new Checkpoints(dir, 1);
        JsonObject state = new JsonObject();
        state.addProperty("epoch", 2);
        checkpoints.save(1, first.trainable(), first.optimizer, state);
        forgetDigests(dir.resolve("step-1"));

        Problem resumed = new Problem();
        Checkpoints.Loaded loaded = checkpoints.loadLatest(resumed.trainable(), resumed.optimizer).orElseThrow();
        assertEquals(2, loaded.state().get("epoch").getAsInt());
        assertTrue(java.util.Arrays.equals(values(first.w), values(resumed.w)));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "\"abc\" | is \"abc\", not a number",
            "-5 | is -5, expected an integer in [0, 9223372036854775807]",
            "1.7 | is 1.7, not an integer",
            "null | is null, not a number",
            "true | is true, not a number",
            "1e99999999999 | is 1e99999999999, a number out of any usable range",
            "2 | is 2 but the checkpoint folder is step-1"})
    void corruptStepIsRefusedNamingFileAndField(String step, String problem, @TempDir Path dir) throws IOException {
        IOException e = refusedWithState(dir, "{\"step\":" + step + "}");
        assertEquals("checkpoint file " + dir.resolve("step-1").resolve("state.json") + " has a corrupt 'step': it "
                + problem + "; delete " + dir + " to start over", e.getMessage());
    }

    @Test
    void integralStepWrittenAsDecimalIsAccepted(@TempDir Path dir) throws IOException {
        Problem p = new Problem();
        Checkpoints checkpoints = new Checkpoints(dir, 1);
        checkpoints.save(3, p.trainable(), p.optimizer, new JsonObject());
        Files.writeString(dir.resolve("step-3").resolve("state.json"), "{\"step\":3.0}");
        assertEquals(3, checkpoints.loadLatest(p.trainable(), p.optimizer).orElseThrow().step());
    }

    @Test
    void theLatestStepOrANegativeOneIsNotSavedAgain(@TempDir Path dir) throws IOException {
        Checkpoints checkpoints = savedAfterOneStep(dir);
        Problem p = new Problem();
        IllegalArgumentException again = assertThrows(IllegalArgumentException.class,
                () -> checkpoints.save(1, p.trainable(), p.optimizer, new JsonObject()));
        assertEquals("step 1 is the latest checkpoint in " + dir + " already: checkpoints are saved at increasing"
                + " steps", again.getMessage());
        assertThrows(IllegalArgumentException.class, () -> checkpoints.save(-1, p.trainable(), p.optimizer,
                new JsonObject()));
        assertEquals("step-1", Files.readString(dir.resolve(Checkpoints.LATEST)));
        assertEquals(1, checkpoints.loadLatest(p.trainable(), new Problem().optimizer).orElseThrow().step());
        checkpoints.save(2, p.trainable(), p.optimizer, new JsonObject());
        assertEquals("step-2", Files.readString(dir.resolve(Checkpoints.LATEST)));
    }
}
