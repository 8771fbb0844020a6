package dev.bora4j.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.bora4j.io.SafetensorsReader;
import dev.bora4j.io.SafetensorsTorch;
import dev.bora4j.nn.BoraAdapter;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraInjector;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * BoRA started from a trained LoRA (--init-from) reproduces it exactly, and --train-only sigma
 * changes Sigma alone; every run records the numerical rank of each adapter's update.
 */
class SigmaOnlyTrainingTest {

    private static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);

    @Test
    void sigmaOnlyTrainingStartsAtTheLoraAndChangesOnlySigma(@TempDir Path dir) throws Exception {
        TrainingConfig lora = FineTuningTest.tinyConfig(dir.resolve("lora"));
        lora.method = "lora";
        lora.epochs = 1;
        FineTuningResult loraResult = new FineTuning(lora, QUIET).run();
        Path loraAdapter = dir.resolve("lora").resolve("adapter");

        // Started from the LoRA folder, each BoRA update equals the LoRA update (Sigma = 1).
        SentenceClassifier loraModel = AdapterEvaluation.load(loraAdapter);
        SentenceClassifier boraModel = AcceptabilityTask.newClassifier();
        BoraAdapters bora = BoraInjector.inject(boraModel, BoraConfig.builder().rank(8).blocks(4).alpha(16)
                .targetModules(lora.targets.toArray(new String[0])).build());
        LoraStart.copy(loraAdapter, bora, boraModel);
        Map<String, BoraAdapter> loaded = dev.bora4j.adapters.BoraAdapterFiles.load(loraAdapter,
                AcceptabilityTask.newClassifier()).adapters().byModule();
        for (Map.Entry<String, BoraAdapter> e : bora.byModule().entrySet()) {
            Tensor expected = loaded.get(e.getKey()).deltaWeight();
            Tensor got = e.getValue().deltaWeight();
            double scale = Math.max(1e-12, expected.abs().max().item_double());
            assertTrue(got.sub(expected).abs().max().item_double() <= 1e-5 * scale, e.getKey());
        }
        assertTrue(boraModel.head().weight().equal(loraModel.head().weight()), "the head is copied");

        // Training only Sigma: A, B and the head stay bit for bit; Sigma moves.
        TrainingConfig sigma = FineTuningTest.tinyConfig(dir.resolve("sigma"));
        sigma.epochs = 1;
        sigma.initFrom = loraAdapter;
        sigma.trainOnly = "sigma";
        sigma.rankEvery = 3;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        FineTuningResult sigmaResult = new FineTuning(sigma, new PrintStream(log, true, StandardCharsets.UTF_8)).run();
        String printed = log.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("training only Sigma"), printed);
        assertEquals(36L * 4 * 4 * 8, sigmaResult.trainableParameters(), "only the 36 Sigma tensors train");
        assertEquals(loraResult.steps(), sigmaResult.steps());
        Map<String, Tensor> before = SafetensorsTorch.readAll(loraAdapter.resolve("adapter_model.safetensors"));
        Map<String, Tensor> after = SafetensorsTorch.readAll(dir.resolve("sigma").resolve("adapter")
                .resolve("adapter_model.safetensors"));
        int sigmaTensors = 0;
        for (Map.Entry<String, Tensor> e : after.entrySet()) {
            if (e.getKey().contains("bora_sigma")) {
                sigmaTensors++;
                assertTrue(e.getValue().abs().max().item_double() > 0, e.getKey() + " must have moved from 0");
            } else {
                assertTrue(before.containsKey(e.getKey()), e.getKey());
                assertTrue(e.getValue().equal(before.get(e.getKey())), e.getKey() + " must not change");
            }
        }
        assertEquals(36, sigmaTensors);

        // Ranks: LoRA starts at 0 (B = 0) and stays <= r; BoRA from LoRA starts at the LoRA's
        // ranks and stays <= b * r.
        List<JsonObject> loraRanks = rankRecords(dir.resolve("lora"));
        List<JsonObject> sigmaRanks = rankRecords(dir.resolve("sigma"));
        assertEquals(0, loraRanks.get(0).get("step").getAsLong());
        assertEquals(0, maxRank(loraRanks.get(0)));
        JsonObject loraEnd = loraRanks.get(loraRanks.size() - 1);
        assertEquals(loraResult.steps(), loraEnd.get("step").getAsLong());
        assertTrue(maxRank(loraEnd) >= 1 && maxRank(loraEnd) <= 8, loraEnd.toString());
        assertEquals(loraEnd.get("rank_rel"), sigmaRanks.get(0).get("rank_rel"), "Sigma = 1: same update as LoRA");
        assertEquals(List.of(0L, 3L, 6L), sigmaRanks.stream().map(o -> o.get("step").getAsLong()).toList());
        assertTrue(maxRank(sigmaRanks.get(sigmaRanks.size() - 1)) <= 32);
    }

    private static List<JsonObject> rankRecords(Path run) throws Exception {
        List<JsonObject> out = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            if (o.has("rank_rel")) {
                assertEquals(36, o.getAsJsonObject("rank_rel").size(), line);
                out.add(o);
            }
        }
        assertFalse(out.isEmpty(), "no rank records in " + run);
        return out;
    }

    private static int maxRank(JsonObject record) {
        return record.getAsJsonObject("rank_rel").entrySet().stream().mapToInt(e -> e.getValue().getAsInt()).max().orElse(-1);
    }

    @Test
    void initFromRejectsWhatIsNotAMatchingLoraFolder(@TempDir Path dir) throws Exception {
        TrainingConfig bora = FineTuningTest.tinyConfig(dir.resolve("bora"));
        bora.epochs = 1;
        bora.maxSteps = 1;
        bora.rankEvery = 0;
        new FineTuning(bora, QUIET).run();
        assertFalse(Files.readString(dir.resolve("bora").resolve("metrics.jsonl")).contains("rank_rel"),
                "--rank-every 0 records no ranks");
        TrainingConfig fromBora = FineTuningTest.tinyConfig(dir.resolve("from-bora"));
        fromBora.initFrom = dir.resolve("bora").resolve("adapter");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new FineTuning(fromBora, QUIET).run());
        assertTrue(e.getMessage().contains("must be a LoRA folder"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("from-bora")), "a refused run leaves no empty --output folder");

        TrainingConfig missing = FineTuningTest.tinyConfig(dir.resolve("missing"));
        missing.initFrom = dir.resolve("no-such-folder");
        assertThrows(java.io.IOException.class, () -> new FineTuning(missing, QUIET).run());
        assertFalse(Files.exists(dir.resolve("missing")), "a refused run leaves no empty --output folder");

        Files.writeString(dir.resolve("a-file"), "x");
        TrainingConfig onAFile = FineTuningTest.tinyConfig(dir.resolve("a-file"));
        assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> new FineTuning(onAFile, QUIET).run());
    }

    @Test
    void sigmaOnlyFlagsAreChecked() {
        TrainingConfig c = new TrainingConfig();
        c.trainOnly = "sigma";
        assertTrue(assertThrows(IllegalArgumentException.class, c::validate).getMessage().contains("--init-from"));
        c.initFrom = Path.of("x");
        c.method = "lora";
        assertTrue(assertThrows(IllegalArgumentException.class, c::validate).getMessage().contains("needs --method bora"));
        TrainingConfig d = new TrainingConfig();
        d.trainOnly = "heads";
        assertTrue(assertThrows(IllegalArgumentException.class, d::validate).getMessage().contains("--train-only must be"));
        d.trainOnly = "all";
        d.initFrom = Path.of("x");
        d.method = "hira";
        assertTrue(assertThrows(IllegalArgumentException.class, d::validate).getMessage().contains("--method bora or lora"));
        d.method = "lora";
        d.validate(); // continuing a LoRA as LoRA: the control for the Sigma-only run
        d.rankEvery = -1;
        assertTrue(assertThrows(IllegalArgumentException.class, d::validate).getMessage().contains("--rank-every"));
    }
}
