package dev.bora4j.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
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
 * the "real-task" section of docs/RESULTS.md ("real-task-<folder>" for another runs folder): per configuration, the seeds found, trainable
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
        md.append(extra.isEmpty()
                ? "Full runs (the main job's default flags).\n\n"
                : "**Reduced runs**: every run was made with the extra flags `" + extra
                        + "`, so the numbers are NOT those of the full task.\n\n");
        md.append("| config | seeds | trainable params | steps | dev acc | dev MCC | test acc | test MCC | s / step | peak RSS (MiB) |\n");
        md.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Map.Entry<String, List<JsonObject>> e : byConfig.entrySet()) {
            List<JsonObject> r = e.getValue();
            md.append("| ").append(e.getKey()).append(" | ")
                    .append(String.join(",", r.stream().map(o -> o.get("seed").getAsString()).toList())).append(" | ")
                    .append(String.format("%,d", r.get(0).get("trainable_parameters").getAsLong())).append(" | ")
                    .append(r.get(0).get("steps").getAsLong()).append(" | ")
                    .append(stat(r, "dev_accuracy", "%.4f")).append(" | ")
                    .append(stat(r, "dev_mcc", "%.4f")).append(" | ")
                    .append(stat(r, "test_accuracy", "%.4f")).append(" | ")
                    .append(stat(r, "test_mcc", "%.4f")).append(" | ")
                    .append(stat(r, "seconds_per_step", "%.3f")).append(" | ")
                    .append(stat(r, "peak_rss_mib", "%.0f")).append(" |\n");
        }
        md.append("\nTrainable parameters include the classifier head (770). Mean ± sample std over the seeds listed"
                + " (± 0 with one seed). s / step: wall time of the training loop (including its dev evaluations)"
                + " divided by its steps; peak RSS: VmHWM of the whole JVM process (one process per run). The"
                + " table alone: `bench/real_task_table.sh " + runs + "`.\n");
        // each runs folder has its own section, so a reduced sweep never overwrites the full one
        String folder = runs.getFileName().toString();
        String section = folder.equals("runs") ? "real-task" : "real-task-" + folder;
        ResultsSection.write(section, "The real task: MiniLM on LanguageTool acceptability (" + folder + "/)",
                "RUNS=" + runs + " SEEDS=\"" + String.join(" ", seeds) + "\" CONFIGS=\"" + String.join(" ", byConfig.keySet())
                        + "\" bench/real_task.sh " + extra,
                md.toString());
        System.out.println(md);
    }

    private static String stat(List<JsonObject> runs, String key, String format) {
        double[] v = runs.stream().filter(o -> o.has(key)).mapToDouble(o -> o.get(key).getAsDouble()).toArray();
        return v.length == 0 ? "n/a" : ResultsSection.meanStd(v, format);
    }
}
