package dev.bora4j.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.bora4j.cli.Bora4jCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The main job's loop on a tiny configuration (seconds of training): it trains, evaluates,
 * writes its files, resumes bit-exactly after {@code kill -9}, and skips non-finite steps.
 */
class FineTuningTest {

    /** 2 epochs of 6 steps on 96 sentences, a checkpoint every 2 steps. */
    private static String[] tinyArgs(Path output) {
        return new String[] {"finetune", "--max-train", "96", "--max-eval", "64", "--batch", "16", "--epochs", "2",
                "--checkpoint-every", "2", "--max-length", "32", "--lr", "5e-3", "--no-progress-bar",
                "--output", output.toString()};
    }

    static TrainingConfig tinyConfig(Path output) {
        TrainingConfig c = new TrainingConfig();
        c.maxTrainExamples = 96;
        c.maxEvalExamples = 64;
        c.batchSize = 16;
        c.epochs = 2;
        c.checkpointEvery = 2;
        c.maxLength = 32;
        c.learningRate = 5e-3;
        c.progressBar = false;
        c.output = output;
        return c;
    }

    /** What a command-line call returned and printed. */
    private record CliRun(int code, String out, String err) {
    }

    /** Runs {@code bora4j} in this JVM with standard output and error captured. */
    private static CliRun runCli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = Bora4jCommand.execute(args);
            return new CliRun(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    private static List<String> lines(ByteArrayOutputStream out) {
        return out.toString(StandardCharsets.UTF_8).lines().toList();
    }

    @Test
    void resumesAfterKillNineExactlyWhereAnUninterruptedRunWouldBe(@TempDir Path dir) throws Exception {
        Path straightDir = dir.resolve("straight");
        ByteArrayOutputStream straightLog = new ByteArrayOutputStream();
        FineTuningResult straight = new FineTuning(tinyConfig(straightDir),
                new PrintStream(straightLog, true, StandardCharsets.UTF_8)).run();
        assertEquals(12, straight.steps());
        assertTrue(Files.isRegularFile(straightDir.resolve("adapter").resolve("adapter_model.safetensors")));
        assertNotNull(ImageIO.read(straightDir.resolve("training.png").toFile()), "training.png must be a PNG");
        JsonObject summary = JsonParser.parseString(Files.readString(straightDir.resolve("summary.json"))).getAsJsonObject();
        assertEquals(straight.testMcc(), summary.get("test_mcc").getAsDouble(), 0.0);
        assertTrue(lines(straightLog).stream().anyMatch(l -> l.startsWith("test:")), "prints the test metrics");

        // The adapter folder alone reproduces the test metrics ('bora4j eval') ...
        ClassificationMetrics reloaded = AdapterEvaluation.evaluate(straightDir.resolve("adapter"),
                dev.bora4j.data.Split.TEST, 32, 64, 42, 128, dev.bora4j.models.minilm.EncoderMode.DEFAULT, new PrintStream(new ByteArrayOutputStream()));
        assertEquals(straight.testAccuracy(), reloaded.accuracy(), 0.0);
        assertEquals(straight.testMcc(), reloaded.mcc(), 0.0);
        // ... and 'bora4j merge' writes merged weights and the exact LoRA export.
        Path merged = dir.resolve("merged.safetensors");
        assertEquals(0, Bora4jCommand.execute("merge", "--adapter", straightDir.resolve("adapter").toString(),
                "--output", merged.toString(), "--lora", dir.resolve("lora").toString()));
        try (dev.bora4j.io.SafetensorsReader r = dev.bora4j.io.SafetensorsReader.open(merged)) {
            assertTrue(r.tensors().containsKey("bert.encoder.layer.0.attention.self.query.weight"), r.tensors().keySet().toString());
            assertTrue(r.tensors().containsKey("classifier.weight"));
        }
        JsonObject loraConfig = JsonParser.parseString(
                Files.readString(dir.resolve("lora").resolve("adapter_config.json"))).getAsJsonObject();
        assertEquals("LORA", loraConfig.get("peft_type").getAsString());
        assertEquals(32, loraConfig.get("r").getAsInt()); // b * r = 4 * 8

        // The same run in a child JVM, killed with SIGKILL right after its checkpoint at step 4 ...
        Path killedDir = dir.resolve("killed");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Bora4jCommand.class.getName()));
        command.addAll(List.of(tinyArgs(killedDir)));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        boolean killedAfterCheckpoint = false;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.contains("checkpoint saved at step 4")) {
                    child.destroyForcibly(); // SIGKILL: no shutdown hooks, no flushing
                    killedAfterCheckpoint = true;
                    break;
                }
            }
        }
        assertTrue(child.waitFor(60, TimeUnit.SECONDS));
        assertTrue(killedAfterCheckpoint, "the child must reach its step-4 checkpoint");
        assertFalse(Files.exists(killedDir.resolve("summary.json")), "the killed run must not have finished");

        // ... then started again on the same folder: it continues from step 4.
        ByteArrayOutputStream resumedLog = new ByteArrayOutputStream();
        FineTuningResult resumed = new FineTuning(tinyConfig(killedDir),
                new PrintStream(resumedLog, true, StandardCharsets.UTF_8)).run();
        assertTrue(lines(resumedLog).stream().anyMatch(l -> l.startsWith("resuming from the checkpoint at step 4")),
                String.join("\n", lines(resumedLog)));
        assertEquals(straight.steps(), resumed.steps());
        assertEquals(straight.devAccuracy(), resumed.devAccuracy(), 0.0);
        assertEquals(straight.devMcc(), resumed.devMcc(), 0.0);
        assertEquals(straight.testAccuracy(), resumed.testAccuracy(), 0.0);
        assertEquals(straight.testMcc(), resumed.testMcc(), 0.0);
        assertArrayEquals(Files.readAllBytes(straightDir.resolve("adapter").resolve("adapter_model.safetensors")),
                Files.readAllBytes(killedDir.resolve("adapter").resolve("adapter_model.safetensors")),
                "the resumed run's adapter must equal the uninterrupted run's bit for bit");
        List<String> straightLosses = losses(straightDir);
        assertEquals(straightLosses, losses(killedDir), "metrics.jsonl must hold each step once, as uninterrupted");
    }

    private static List<String> losses(Path run) throws Exception {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            if (o.has("loss")) {
                out.add(o.get("step").getAsLong() + ":" + o.get("loss"));
            }
        }
        return out;
    }

    @Test
    void aNonFiniteLossIsReportedAndItsStepSkipped(@TempDir Path dir) throws Exception {
        TrainingConfig c = tinyConfig(dir);
        c.epochs = 1;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        FineTuning job = new FineTuning(c, new PrintStream(log, true, StandardCharsets.UTF_8));
        job.poisonLossAt = step -> step == 3;
        FineTuningResult result = job.run();
        assertEquals(1, result.skippedSteps());
        assertTrue(lines(log).stream().anyMatch(l -> l.startsWith("step 3 skipped: loss = NaN")),
                String.join("\n", lines(log)));
        for (String line : Files.readAllLines(dir.resolve("metrics.jsonl"))) {
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            if (o.has("applied")) {
                boolean skipped = o.get("step").getAsLong() == 3;
                assertEquals(!skipped, o.get("applied").getAsBoolean(), line);
                assertEquals(skipped, o.get("loss").isJsonNull(), "a NaN loss is written as null: " + line);
            }
        }
        assertTrue(Double.isFinite(result.testMcc()));
    }

    @Test
    void aRunInAnotherEncoderModeIsRecordedAndEvaluatedToTheLastDigitWithTheSameFlags(@TempDir Path dir)
            throws Exception {
        Path out = dir.resolve("padded");
        List<String> args = new ArrayList<>(List.of(tinyArgs(out)));
        args.addAll(List.of("--padded-batches", "--attention", "sdpa"));
        CliRun run = runCli(args.toArray(new String[0]));
        assertEquals(0, run.code(), run.out() + run.err());
        JsonObject summary = JsonParser.parseString(Files.readString(out.resolve("summary.json"))).getAsJsonObject();
        assertTrue(summary.get("padded_batches").getAsBoolean());
        assertEquals("sdpa", summary.get("attention").getAsString());
        assertTrue(run.out().contains("encoder mode: --padded-batches --attention sdpa"), run.out());
        CliRun eval = runCli("eval", "--adapter", out.resolve("adapter").toString(), "--max-eval", "64",
                "--max-length", "32", "--padded-batches", "--attention", "sdpa");
        assertEquals(0, eval.code(), eval.out() + eval.err());
        String expected = String.format("acc %.4f  mcc %.4f", summary.get("test_accuracy").getAsDouble(),
                summary.get("test_mcc").getAsDouble());
        assertTrue(eval.out().contains("encoder mode: --padded-batches --attention sdpa"), eval.out());
        assertTrue(eval.out().contains("test: " + expected), expected + " not in\n" + eval.out());
        assertTrue(!eval.out().contains("note:"), eval.out());
        CliRun defaults = runCli("eval", "--adapter", out.resolve("adapter").toString(), "--max-eval", "64",
                "--max-length", "32");
        assertEquals(0, defaults.code(), defaults.out() + defaults.err());
        assertTrue(defaults.out().contains("trained with the encoder mode --padded-batches --attention sdpa; give the"
                + " same flags"), defaults.out());
    }

    @Test
    void groupByLengthFromTheCommandLineTrainsOnLessPadding(@TempDir Path dir) throws Exception {
        List<String> args = new ArrayList<>(List.of(tinyArgs(dir.resolve("grouped"))));
        args.add("--group-by-length");
        CliRun run = runCli(args.toArray(new String[0]));
        List<String> log = run.out().lines().toList();
        assertEquals(0, run.code(), String.join("\n", log));
        String line = log.stream().filter(l -> l.startsWith("batches grouped by length: ")).findFirst()
                .orElseThrow(() -> new AssertionError("no grouping line in\n" + String.join("\n", log)));
        java.util.regex.Matcher m = java.util.regex.Pattern
                .compile("([0-9,]+) padded tokens per epoch instead of ([0-9,]+)").matcher(line);
        assertTrue(m.find(), line);
        long grouped = Long.parseLong(m.group(1).replace(",", ""));
        long shuffled = Long.parseLong(m.group(2).replace(",", ""));
        assertTrue(grouped > 0 && grouped < shuffled, line);
        JsonObject summary = JsonParser.parseString(Files.readString(dir.resolve("grouped").resolve("summary.json")))
                .getAsJsonObject();
        assertTrue(summary.get("group_by_length").getAsBoolean());
        assertEquals(12, summary.get("steps").getAsLong());
    }

    @Test
    void resumingWithOtherFlagsIsRefusedAndLosesNothing(@TempDir Path dir) throws Exception {
        TrainingConfig first = tinyConfig(dir);
        first.maxSteps = 2;
        new FineTuning(first, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)).run();
        byte[] adapter = Files.readAllBytes(dir.resolve("adapter").resolve("adapter_model.safetensors"));
        String flags = Files.readString(dir.resolve("run_flags.json"));

        TrainingConfig other = tinyConfig(dir);
        other.maxSteps = 2;
        other.learningRate = 1e-4;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new FineTuning(other, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)).run());
        assertTrue(e.getMessage().contains("--lr 0.005 (now 1.0E-4)"), e.getMessage());
        assertArrayEquals(adapter, Files.readAllBytes(dir.resolve("adapter").resolve("adapter_model.safetensors")));
        assertEquals(flags, Files.readString(dir.resolve("run_flags.json")));

        // Without its checkpoints the folder still holds that run's results: still refused.
        try (var files = Files.walk(dir.resolve("checkpoints"))) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        e = assertThrows(IllegalArgumentException.class,
                () -> new FineTuning(other, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)).run());
        assertTrue(e.getMessage().contains("--lr 0.005 (now 1.0E-4)"), e.getMessage());
        assertArrayEquals(adapter, Files.readAllBytes(dir.resolve("adapter").resolve("adapter_model.safetensors")));
    }

    @Test
    void anUpdateThatMakesTheParametersNonFiniteIsUndone(@TempDir Path dir) throws Exception {
        // Finite loss and gradients, but an update that leaves NaN in the parameters.
        TrainingConfig c = tinyConfig(dir);
        c.maxSteps = 2;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        FineTuning job = new FineTuning(c, new PrintStream(log, true, StandardCharsets.UTF_8));
        job.poisonUpdateAt = step -> step == 2;
        FineTuningResult result = job.run();
        assertEquals(1, result.skippedSteps(), String.join("\n", lines(log)));
        assertTrue(lines(log).stream().anyMatch(l -> l.startsWith("step 2 skipped: the update made parameters NaN")),
                String.join("\n", lines(log)));
        var saved = dev.bora4j.io.SafetensorsTorch.readAll(dir.resolve("adapter").resolve("adapter_model.safetensors"));
        for (var t : saved.entrySet()) {
            assertTrue(org.bytedeco.pytorch.global.torch.isfinite(t.getValue()).all().item_bool(),
                    t.getKey() + " saved with non-finite values");
        }
    }

    @Test
    void aCorruptCheckpointStateIsRefusedAndLosesNothing(@TempDir Path dir) throws Exception {
        TrainingConfig first = tinyConfig(dir);
        first.maxSteps = 2;
        new FineTuning(first, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)).run();
        Path state = dir.resolve("checkpoints").resolve("step-2").resolve("state.json");
        JsonObject s = JsonParser.parseString(Files.readString(state)).getAsJsonObject();
        assertEquals(2, s.get("batch").getAsInt(), "two steps done, the next batch is the third: " + s);
        s.addProperty("batch", 99);
        Files.writeString(state, s.toString());
        byte[] adapter = Files.readAllBytes(dir.resolve("adapter").resolve("adapter_model.safetensors"));

        TrainingConfig again = tinyConfig(dir);
        again.maxSteps = 2;
        IOException e = assertThrows(IOException.class,
                () -> new FineTuning(again, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)).run());
        assertTrue(e.getMessage().contains("'batch' is 99.0, expected an integer in [0, 5]"), e.getMessage());
        assertArrayEquals(adapter, Files.readAllBytes(dir.resolve("adapter").resolve("adapter_model.safetensors")));
    }

    @Test
    void badFlagsGiveAMessageAndExitCodeTwo(@TempDir Path dir) throws Exception {
        String[][] bad = {
                {"finetune", "--r", "0"},
                {"finetune", "--method", "dora"},
                {"finetune", "--lr", "-1"},
                {"finetune", "--batch", "many"},
                {"finetune", "--no-such-flag"},
                {"finetune", "--sigma", "softplus"},
                {"finetune", "--device", "tpu"},
                {"finetune", "--data", "imagenet"},
                {"finetune", "--threads", "100000"},
                {"finetune", "--weight-decay", "Infinity"},
                {"finetune", "--lr", "1e39"},
        };
        String[] expected = {"--r must be >= 1", "--method must be one of", "--lr must be > 0", "'many' is not an int",
                "Unknown option: '--no-such-flag'", "--sigma must be one of", "--device must be cpu or cuda",
                "--data must be 'acceptability'", "--threads must be between 0 (one thread) and 256",
                "--weight-decay must be a finite number >= 0", "--lr must be > 0 (and a float32)"};
        for (int i = 0; i < bad.length; i++) {
            CliRun run = runCli(bad[i]);
            String message = run.err();
            assertEquals(2, run.code(), String.join(" ", bad[i]) + " -> " + message);
            assertTrue(message.contains(expected[i]), String.join(" ", bad[i]) + " -> " + message);
        }
    }

    @Test
    void anOutputThatIsAFileFailsWithExitCodeOne(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("not-a-folder"), "x");
        CliRun run = runCli("finetune", "--output", file.toString());
        assertEquals(1, run.code(), run.err());
        assertTrue(run.err().contains("a file is in the way (a folder was expected): ")
                && run.err().contains("not-a-folder"), run.err());
        assertTrue(new File(file.toString()).isFile(), "the file must be left alone");
    }
}
