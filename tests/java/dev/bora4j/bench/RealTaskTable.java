package dev.bora4j.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.bora4j.train.TrainingConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reads {@code <runs>/<name>-s<seed>/summary.json} (written by {@code bora4j finetune}) and writes
 * the "real-task" section of docs/RESULTS.md ({@code "real-task-<folder>"} for another runs folder): per configuration, the seeds found, trainable
 * parameters, dev / test accuracy and MCC as mean ± std over seeds, time per step and peak RSS.
 * The extra flags the runs were made with ({@code <runs>/extra_flags.txt}) are printed with the
 * table so a reduced run is labelled as one. Usage: {@code RealTaskTable [runs]}.
 */
public final class RealTaskTable {

    private static final Pattern RUN = Pattern.compile("(.+)-s(\\d+)");

    public static void main(String[] args) throws IOException {
        Path runs = Path.of(args.length > 0 ? args[0] : "runs");
        Map<String, List<JsonObject>> byConfig = new TreeMap<>();
        try (Stream<Path> dirs = Files.list(runs)) {
            for (Path d : dirs.sorted().toList()) {
                Matcher m = RUN.matcher(d.getFileName().toString());
                Path summary = d.resolve("summary.json");
                if (m.matches() && Files.isRegularFile(summary)) {
                    byConfig.computeIfAbsent(m.group(1), k -> new ArrayList<>())
                            .add(JsonParser.parseString(Files.readString(summary, StandardCharsets.UTF_8)).getAsJsonObject());
                }
            }
        }
        if (byConfig.isEmpty()) {
            throw new IllegalArgumentException("no <name>-s<seed>/summary.json under " + runs
                    + "; run bench/real_task.sh first");
        }
        Path flagsFile = runs.resolve("extra_flags.txt");
        String extra = Files.isRegularFile(flagsFile) ? Files.readString(flagsFile, StandardCharsets.UTF_8).strip() : "";
        java.util.SortedSet<String> seeds = new java.util.TreeSet<>();
        byConfig.values().forEach(l -> l.forEach(o -> seeds.add(o.get("seed").getAsString())));
        StringBuilder md = new StringBuilder();
        boolean reduced = shrinksTheTask(extra);
        md.append(extra.isEmpty()
                ? "Full runs (the main job's default flags).\n\n"
                : reduced
                ? "**Reduced runs**: every run was made with the extra flags `" + extra
                        + "`, so the numbers are NOT those of the full task.\n\n"
                : "Runs with the extra flags `" + extra + "` on top of the main job's defaults.\n\n");
        md.append(layoutNote(byConfig.values().stream().flatMap(List::stream).toList()));
        md.append("| config | seeds | trainable params | steps | dev acc | dev MCC | test acc | test MCC | s / step | peak RSS (MiB) |\n");
        md.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Map.Entry<String, List<JsonObject>> e : byConfig.entrySet()) {
            List<JsonObject> r = e.getValue();
            md.append("| ").append(e.getKey()).append(" | ")
                    .append(String.join(",", r.stream().map(o -> o.get("seed").getAsString()).toList())).append(" | ")
                    .append(String.format("%,d", r.get(0).get("trainable_parameters").getAsLong())).append(" | ")
                    .append(steps(r)).append(" | ")
                    .append(stat(r, "dev_accuracy", "%.4f")).append(" | ")
                    .append(stat(r, "dev_mcc", "%.4f")).append(" | ")
                    .append(stat(r, "test_accuracy", "%.4f")).append(" | ")
                    .append(stat(r, "test_mcc", "%.4f")).append(" | ")
                    .append(stat(r, "seconds_per_step", "%.3f")).append(" | ")
                    .append(stat(r, "peak_rss_mib", "%.0f")).append(" |\n");
        }
        md.append("\nTrainable parameters include the classifier head (770), except for sigma-only (Sigma alone"
                + " trains; A, B and the head are those of the lora-r8 run of the same seed). Mean ± sample std over the"
                + " seeds listed (± 0 with one seed). s / step: wall time of the training loop (including its dev"
                + " evaluations) divided by its steps; peak RSS: VmHWM of the whole JVM process (one process per run)."
                + " The table alone: `bench/real_task_table.sh " + runs + "`.\n");
        md.append(pairedTable(byConfig));
        md.append(rankTables(runs, byConfig.keySet()));
        md.append(charts(runs, byConfig));
        // each runs folder has its own section, so a reduced sweep never overwrites the full one
        String folder = runs.getFileName().toString();
        String section = folder.equals("runs") ? "real-task" : "real-task-" + folder;
        ResultsSection.write(section, "The real task: MiniLM on LanguageTool acceptability (" + folder + "/)",
                "RUNS=" + runs + " SEEDS=\"" + String.join(" ", seeds) + "\" CONFIGS=\"" + String.join(" ", byConfig.keySet())
                        + "\" bench/real_task.sh " + extra,
                md.toString());
        System.out.println(md);
    }

    /** The runs' step count, or each run's where they differ (early stopping, --max-steps). */
    static String steps(List<JsonObject> runs) {
        List<String> steps = runs.stream().map(o -> o.get("steps").getAsString()).toList();
        return steps.stream().distinct().count() == 1 ? steps.get(0) : String.join(", ", steps);
    }

    /**
     * Which encoder layout the runs used: summaries without {@code padded_batches} come from before
     * token packing, when every layer ran on the padded batch.
     */
    static String layoutNote(List<JsonObject> summaries) {
        long padded = summaries.stream()
                .filter(o -> !o.has("padded_batches") || o.get("padded_batches").getAsBoolean()).count();
        if (padded == 0) {
            return "";
        }
        String how = "ran every layer on the padded batch (made before token packing became the default, or"
                + " with `--padded-batches`); add `--padded-batches` to the command to reproduce them";
        return padded == summaries.size() ? "All runs " + how + ".\n\n"
                : "**Mixed layouts**: " + padded + " of " + summaries.size() + " runs " + how + ".\n\n";
    }

    /**
     * Whether extra finetune flags make a run smaller than the main job's defaults: fewer steps or
     * evaluation sentences, or fewer training sentences than the default (0 means all of them).
     */
    static boolean shrinksTheTask(String extra) {
        String[] f = extra.isBlank() ? new String[0] : extra.strip().split("\\s+");
        for (int i = 0; i < f.length; i++) {
            String value = i + 1 < f.length ? f[i + 1] : "";
            switch (f[i]) {
                case "--max-steps", "--max-eval" -> {
                    if (!value.equals("0")) return true;
                }
                case "--max-train" -> {
                    long n = value.matches("\\d{1,18}") ? Long.parseLong(value) : -1;
                    if (n != 0 && n < new TrainingConfig().maxTrainExamples) return true;
                }
                default -> {
                }
            }
        }
        return false;
    }

    private static final String BASELINE = "lora-r8";

    /** Differences to the LoRA run of the same seed: seeds share the data order, so pairs cancel its noise. */
    private static String pairedTable(Map<String, List<JsonObject>> byConfig) {
        List<JsonObject> base = byConfig.get(BASELINE);
        if (base == null) {
            return "";
        }
        Map<String, JsonObject> baseBySeed = new TreeMap<>();
        base.forEach(o -> baseBySeed.put(o.get("seed").getAsString(), o));
        StringBuilder md = new StringBuilder("\n### Paired by seed: each configuration minus " + BASELINE + "\n\n"
                + "| config | pairs | Δ dev MCC | Δ test acc | Δ test MCC | better test MCC in |\n|---|---:|---:|---:|---:|---:|\n");
        for (Map.Entry<String, List<JsonObject>> e : byConfig.entrySet()) {
            if (e.getKey().equals(BASELINE)) continue;
            List<double[]> d = new ArrayList<>();
            for (JsonObject o : e.getValue()) {
                JsonObject b = baseBySeed.get(o.get("seed").getAsString());
                if (b != null) {
                    d.add(new double[] {diff(o, b, "dev_mcc"), diff(o, b, "test_accuracy"), diff(o, b, "test_mcc")});
                }
            }
            if (d.isEmpty()) continue;
            long wins = d.stream().filter(x -> x[2] > 0).count();
            md.append("| ").append(e.getKey()).append(" | ").append(d.size());
            for (int k = 0; k < 3; k++) {
                final int kk = k;
                md.append(" | ").append(ResultsSection.meanStd(d.stream().mapToDouble(x -> x[kk]).toArray(), "%+.4f", "%.4f"));
            }
            md.append(" | ").append(wins).append(" of ").append(d.size()).append(" |\n");
        }
        if (byConfig.containsKey("sigma-only-b4")) {
            md.append("\nFor sigma-only the difference is what training Sigma alone added to the trained LoRA it"
                    + " started from (at Sigma = 1 it is that LoRA exactly); lora-r8-continued, its control, trains"
                    + " the same LoRA's A, B and head for the same number of extra steps.\n");
        }
        return md.toString();
    }

    private static double diff(JsonObject a, JsonObject b, String key) {
        return a.get(key).getAsDouble() - b.get(key).getAsDouble();
    }

    /** Rank records (step -> module -> {abs, rel}) of one run's metrics.jsonl, empty if it has none. */
    private static TreeMap<Long, Map<String, int[]>> rankRecords(Path run) throws IOException {
        TreeMap<Long, Map<String, int[]>> records = new TreeMap<>();
        Path metrics = run.resolve("metrics.jsonl");
        if (!Files.isRegularFile(metrics)) return records;
        for (String line : Files.readAllLines(metrics, StandardCharsets.UTF_8)) {
            if (!line.contains("rank_rel")) continue;
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            Map<String, int[]> modules = new java.util.LinkedHashMap<>();
            for (Map.Entry<String, com.google.gson.JsonElement> m : o.getAsJsonObject("rank_rel").entrySet()) {
                modules.put(m.getKey(), new int[] {o.getAsJsonObject("rank_abs").get(m.getKey()).getAsInt(),
                        m.getValue().getAsInt()});
            }
            records.put(o.get("step").getAsLong(), modules);
        }
        return records;
    }

    /** "attention.self.query" from "bert.encoder.layer.3.attention.self.query". */
    static String moduleType(String module) {
        return module.replaceFirst("^.*layer\\.\\d+\\.", "");
    }

    private static final List<String> TYPES = List.of("attention.self.query", "attention.self.key",
            "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense");

    /** Final rank per module type and mean rank over training, from the runs' rank records. */
    private static String rankTables(Path runs, java.util.Set<String> configs) throws IOException {
        StringBuilder finalRows = new StringBuilder();
        Map<String, TreeMap<Long, List<Double>>> overTraining = new TreeMap<>();
        java.util.SortedSet<Long> steps = new java.util.TreeSet<>();
        for (String config : configs) {
            List<TreeMap<Long, Map<String, int[]>>> perSeed = new ArrayList<>();
            try (Stream<Path> dirs = Files.list(runs)) {
                for (Path d : dirs.sorted().toList()) {
                    Matcher m = RUN.matcher(d.getFileName().toString());
                    if (m.matches() && m.group(1).equals(config) && Files.isRegularFile(d.resolve("summary.json"))) {
                        TreeMap<Long, Map<String, int[]>> r = rankRecords(d);
                        if (!r.isEmpty()) perSeed.add(r);
                    }
                }
            }
            if (perSeed.isEmpty()) continue;
            Map<String, List<Double>> byType = new java.util.LinkedHashMap<>();
            List<Double> absolute = new ArrayList<>();
            for (TreeMap<Long, Map<String, int[]>> r : perSeed) {
                for (Map.Entry<String, int[]> e : r.lastEntry().getValue().entrySet()) {
                    byType.computeIfAbsent(moduleType(e.getKey()), k -> new ArrayList<>()).add((double) e.getValue()[1]);
                    absolute.add((double) e.getValue()[0]);
                }
                for (Map.Entry<Long, Map<String, int[]>> step : r.entrySet()) {
                    steps.add(step.getKey());
                    overTraining.computeIfAbsent(config, k -> new TreeMap<>()).computeIfAbsent(step.getKey(),
                            k -> new ArrayList<>()).add(step.getValue().values().stream().mapToInt(x -> x[1]).average().orElse(0));
                }
            }
            finalRows.append("| ").append(config).append(" | ").append(perSeed.size());
            for (String t : TYPES) {
                List<Double> v = byType.get(t);
                finalRows.append(" | ").append(v == null ? "n/a" : String.format("%.1f", mean(v)));
            }
            finalRows.append(" | ").append(String.format("%.1f", mean(absolute))).append(" |\n");
        }
        if (finalRows.length() == 0) {
            return "";
        }
        StringBuilder md = new StringBuilder("\n### Numerical rank of each layer's update s·dW at the end of training\n\n"
                + "Singular values above 1e-3 σmax (relative), mean over the 6 layers and the seeds with rank records;"
                + " last column: above the paper's 0.005 (absolute), mean over all 36 modules. Bounds: r = 8 for LoRA,"
                + " b·r for BoRA and MELoRA (32 at b = 4), min(out, in) for HiRA and KronA.\n\n"
                + "| config | seeds | query | key | value | attn. output | intermediate | output | all, σ > 0.005 |\n"
                + "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        md.append(finalRows);
        md.append("\n### Mean numerical rank (relative threshold, all 36 modules) over training\n\n| config |");
        steps.forEach(s -> md.append(" step ").append(s).append(" |"));
        md.append("\n|---|");
        steps.forEach(s -> md.append("---:|"));
        md.append("\n");
        for (Map.Entry<String, TreeMap<Long, List<Double>>> e : overTraining.entrySet()) {
            md.append("| ").append(e.getKey()).append(" |");
            for (long s : steps) {
                List<Double> v = e.getValue().get(s);
                md.append(" ").append(v == null ? "" : String.format("%.1f", mean(v))).append(" |");
            }
            md.append("\n");
        }
        RANKS_OVER_TRAINING.clear();
        RANKS_OVER_TRAINING.putAll(overTraining);
        return md.toString();
    }

    private static final Map<String, TreeMap<Long, List<Double>>> RANKS_OVER_TRAINING = new TreeMap<>();

    private static double mean(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    /** docs/img/ charts: dev and test MCC per configuration, and the mean rank over training. */
    private static String charts(Path runs, Map<String, List<JsonObject>> byConfig) throws IOException {
        String folder = runs.getFileName().toString();
        Charts.Bars bars = new Charts.Bars();
        for (Map.Entry<String, List<JsonObject>> e : byConfig.entrySet()) {
            for (String key : List.of("dev_mcc", "test_mcc")) {
                double[] v = e.getValue().stream().mapToDouble(o -> o.get(key).getAsDouble()).toArray();
                bars.add(key.replace('_', ' '), e.getKey(), ResultsSection.mean(v), ResultsSection.std(v));
            }
        }
        StringBuilder md = new StringBuilder("\n");
        String mcc = bars.write(folder + "-mcc", "MiniLM on acceptability: MCC, mean ± std over seeds", "MCC");
        md.append("![dev and test MCC per configuration](").append(mcc).append(")\n");
        if (!RANKS_OVER_TRAINING.isEmpty()) {
            Charts.Lines lines = new Charts.Lines();
            RANKS_OVER_TRAINING.forEach((config, bySteps) -> bySteps.forEach((step, v) -> lines.add(config, step, mean(v))));
            String rank = lines.write(folder + "-rank", "Mean numerical rank of the 36 updates (σ > 1e-3 σmax)",
                    "optimizer step", "rank");
            md.append("\n![mean numerical rank over training](").append(rank).append(")\n");
        }
        return md.toString();
    }

    private static String stat(List<JsonObject> runs, String key, String format) {
        double[] v = runs.stream().filter(o -> o.has(key)).mapToDouble(o -> o.get(key).getAsDouble()).toArray();
        return v.length == 0 ? "n/a" : ResultsSection.meanStd(v, format);
    }
}
