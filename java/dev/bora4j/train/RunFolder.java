package dev.bora4j.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.bora4j.adapters.AdapterSaveOptions;
import dev.bora4j.adapters.BoraAdapterFiles;
import dev.bora4j.adapters.LoraExport;
import dev.bora4j.internal.ProcessMemory;
import dev.bora4j.io.AtomicFiles;
import dev.bora4j.io.SafetensorsTorch;
import dev.bora4j.nn.BoraAdapters;
import org.bytedeco.pytorch.Tensor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** The files of one run folder ({@code --output}) and the writing of its final results. */
final class RunFolder {
    final Path checkpoints;
    final Path metrics;
    final Path bestTensors;
    final Path adapter;
    final Path loraExport;
    final Path plot;
    final Path summary;
    final Path runFlags;

    RunFolder(Path out) {
        runFlags = out.resolve(RunFlags.FILE);
        checkpoints = out.resolve("checkpoints");
        metrics = out.resolve("metrics.jsonl");
        bestTensors = out.resolve("best.safetensors");
        adapter = out.resolve("adapter");
        loraExport = out.resolve("adapter-as-lora");
        plot = out.resolve("training.png");
        summary = out.resolve("summary.json");
    }

    /** Drops metric lines a killed run wrote after its last checkpoint (they will be written again). */
    void truncateMetricsAfter(long step) throws IOException {
        if (!Files.isRegularFile(metrics)) {
            return;
        }
        StringBuilder kept = new StringBuilder();
        for (String line : Files.readAllLines(metrics, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            try {
                if (JsonParser.parseString(line).getAsJsonObject().get("step").getAsLong() <= step) {
                    kept.append(line).append('\n');
                }
            } catch (RuntimeException e) {
                // a line cut by the kill: drop it
            }
        }
        AtomicFiles.writeString(metrics, kept.toString());
    }

    /** Writes the trained adapter (and its LoRA form), the training chart and summary.json. */
    void writeFinal(FineTuningResult result, BoraAdapters adapters, Map<String, Tensor> head, TrainingConfig cfg)
            throws IOException {
        writeAdapter(adapters, head, cfg.method);
        writePlot(cfg.method);
        AtomicFiles.writeString(summary, summaryJson(result, cfg).toString());
    }

    private void writeAdapter(BoraAdapters adapters, Map<String, Tensor> head, String method) throws IOException {
        AdapterSaveOptions options = AcceptabilityTask.saveOptions(head);
        if (method.equals("hira") || method.equals("krona")) {
            // no PEFT-compatible folder layout for these: the trained tensors (adapter and head) by name
            Map<String, Tensor> all = new LinkedHashMap<>(adapters.trainableParameters());
            all.putAll(head);
            Files.createDirectories(adapter);
            SafetensorsTorch.write(adapter.resolve("trainable.safetensors"), all, Map.of("method", method));
        } else {
            BoraAdapterFiles.save(adapter, adapters, options);
            if (!method.equals("lora")) {
                LoraExport.export(loraExport, adapters, options);
            }
        }
    }

    /** training.png: the loss of every applied step and the dev metrics, read back from metrics.jsonl. */
    private void writePlot(String method) throws IOException {
        TrainingPlot chart = new TrainingPlot("accuracy", "mcc");
        for (String line : Files.readAllLines(metrics, StandardCharsets.UTF_8)) {
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            long s = o.get("step").getAsLong();
            if (o.has("split")) {
                chart.addDevMetric(0, s, o.get("accuracy").getAsDouble());
                chart.addDevMetric(1, s, o.get("mcc").getAsDouble());
            } else if (o.has("applied") && o.get("applied").getAsBoolean()) {
                chart.addLoss(s, o.get("loss").getAsDouble());
            }
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        chart.writePng(png, "MiniLM + " + method + " on acceptability", 900, 600);
        AtomicFiles.writeBytes(plot, png.toByteArray());
    }

    private static JsonObject summaryJson(FineTuningResult result, TrainingConfig cfg) {
        JsonObject s = new JsonObject();
        s.addProperty("method", cfg.method);
        s.addProperty("rank", cfg.rank);
        s.addProperty("blocks", cfg.blocks);
        s.addProperty("sigma", cfg.sigma);
        s.addProperty("seed", cfg.seed);
        s.addProperty("steps", result.steps());
        s.addProperty("skipped_steps", result.skippedSteps());
        s.addProperty("trainable_parameters", result.trainableParameters());
        s.addProperty("dev_accuracy", result.devAccuracy());
        s.addProperty("dev_mcc", result.devMcc());
        s.addProperty("test_accuracy", result.testAccuracy());
        s.addProperty("test_mcc", result.testMcc());
        s.addProperty("seconds_per_step", result.secondsPerStep());
        s.addProperty("peak_rss_mib", ProcessMemory.peakResidentMiB());
        s.addProperty("max_train_examples", cfg.maxTrainExamples);
        s.addProperty("epochs", cfg.epochs);
        s.addProperty("train_only", cfg.trainOnly);
        s.addProperty("group_by_length", cfg.groupByLength);
        s.addProperty("padded_batches", cfg.paddedBatches);
        s.addProperty("attention", cfg.attention.cliName());
        if (cfg.initFrom != null) {
            s.addProperty("init_from", cfg.initFrom.toString());
        }
        return s;
    }
}
