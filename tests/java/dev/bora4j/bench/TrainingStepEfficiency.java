package dev.bora4j.bench;

import dev.bora4j.data.LanguageToolExamples;
import dev.bora4j.data.RuleExample;
import dev.bora4j.models.minilm.MiniLmModel;
import dev.bora4j.models.minilm.MiniLmTokenizer;
import dev.bora4j.models.minilm.TokenBatch;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraConfig.Mode;
import dev.bora4j.nn.BoraInjector;
import dev.bora4j.train.SentenceClassifier;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Training-step cost of the adapters on MiniLM (all-MiniLM-L6-v2, the main job's six target
 * projections per layer): forward + cross-entropy + backward + AdamW step on a batch of 32
 * real sentences of the median token length (no padding). The variants are interleaved round by
 * round in one process so that machine noise hits them alike; the table gives the median step
 * time, its ratio to LoRA at the same r, and the step's transient memory: the peak RSS above the
 * RSS before the step (VmHWM, reset through /proc/self/clear_refs before each step), maximum
 * over the repetitions. Usage: {@code TrainingStepEfficiency [reps]} (default 15); bench/efficiency.sh.
 */
public final class TrainingStepEfficiency {

    static final int BATCH = 32;
    static final int WARMUP = 3;
    static final String[] TARGETS = {"attention.self.query", "attention.self.key", "attention.self.value",
            "attention.output.dense", "intermediate.dense", "output.dense"};

    record Variant(String label, BoraConfig config) {
    }

    public static void main(String[] args) throws Exception {
        torch.set_num_threads(1);
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        List<Variant> variants = List.of(
                new Variant("LoRA r=8", cfg(Mode.LORA, 8, 1)),
                new Variant("BoRA r=8, b=4", cfg(Mode.BORA, 8, 4)),
                new Variant("BoRA r=8, b=8", cfg(Mode.BORA, 8, 8)),
                new Variant("LoRA r=9 (budget of BoRA b=4)", cfg(Mode.LORA, 9, 1)),
                new Variant("LoRA r=32 (rank bound of BoRA b=4)", cfg(Mode.LORA, 32, 1)),
                new Variant("HiRA r=8", cfg(Mode.HIRA, 8, 1)),
                new Variant("KronA (auto factors)", cfg(Mode.KRONA, 8, 1)));

        List<String> batchText = medianLengthBatch();
        long[] labels = new long[BATCH];
        for (int i = 0; i < BATCH; i++) labels[i] = i % 2;
        try (MiniLmTokenizer tokenizer = MiniLmTokenizer.load(64)) {
            TokenBatch batch = tokenizer.encode(batchText);
            Tensor target = Tensor.create(labels);
            List<SentenceClassifier> models = new ArrayList<>();
            List<AdamW> optimizers = new ArrayList<>();
            long[] params = new long[variants.size()];
            for (int v = 0; v < variants.size(); v++) {
                torch.manual_seed(v);
                SentenceClassifier m = new SentenceClassifier(MiniLmModel.loadPretrained(), 2);
                BoraAdapters adapters = BoraInjector.inject(m, variants.get(v).config());
                List<Tensor> trainable = new ArrayList<>(adapters.trainableParameters().values());
                m.head().weight().set_requires_grad(true);
                m.head().bias().set_requires_grad(true);
                trainable.add(m.head().weight());
                trainable.add(m.head().bias());
                params[v] = adapters.trainableCount();
                models.add(m);
                optimizers.add(new AdamW(new TensorVector(trainable.toArray(new Tensor[0])), new AdamWOptions(1e-4)));
            }
            double[][] ms = new double[variants.size()][reps];
            double[] peakMiB = new double[variants.size()];
            for (int round = 0; round < WARMUP + reps; round++) {
                for (int v = 0; v < variants.size(); v++) {
                    resetPeakRss();
                    double before = rssMiB("VmRSS:");
                    long t0 = System.nanoTime();
                    try (PointerScope scope = new PointerScope()) {
                        SentenceClassifier m = models.get(v);
                        m.train(true);
                        optimizers.get(v).zero_grad();
                        Tensor loss = torch.cross_entropy(m.forward(batch), target);
                        loss.backward();
                        optimizers.get(v).step();
                        loss.item_double();
                    }
                    double elapsed = (System.nanoTime() - t0) / 1e6;
                    double peak = rssMiB("VmHWM:") - before;
                    if (round >= WARMUP) {
                        ms[v][round - WARMUP] = elapsed;
                        peakMiB[v] = Math.max(peakMiB[v], peak);
                    }
                }
                System.out.printf("round %d done%n", round + 1);
            }
            double loraMedian = median(ms[0]);
            StringBuilder md = new StringBuilder();
            md.append("MiniLM (6 layers, hidden 384), adapters on query, key, value, attention.output.dense,"
                    + " intermediate.dense, output.dense of every layer; batch ").append(BATCH)
                    .append(" sentences x ").append(batch.inputIds().size(1)).append(" tokens; float32, 1 torch thread;"
                    + " BoRA with the native CPU kernels (exp_norm Sigma), HiRA and KronA in plain torch; ")
                    .append(reps).append(" interleaved repetitions after ").append(WARMUP).append(" warm-up rounds.\n\n")
                    .append("| variant | adapter params | step median (ms) | p10-p90 (ms) | time vs LoRA r=8 | step peak RSS above start (MiB) |\n")
                    .append("|---|---:|---:|---:|---:|---:|\n");
            Charts.Bars chart = new Charts.Bars();
            for (int v = 0; v < variants.size(); v++) {
                double[] s = ms[v].clone();
                Arrays.sort(s);
                md.append(String.format("| %s | %,d | %.1f | %.1f-%.1f | %.2fx | %.0f |%n", variants.get(v).label(),
                        params[v], median(ms[v]), s[(int) (0.1 * (s.length - 1))], s[(int) (0.9 * (s.length - 1))],
                        median(ms[v]) / loraMedian, peakMiB[v]));
                chart.add("median step time / LoRA r=8", variants.get(v).label(), median(ms[v]) / loraMedian, 0);
            }
            md.append("\nThe memory column is the step's transient memory (activations kept for backward,"
                    + " gradients, temporaries): glibc's mmap threshold is fixed (MALLOC_MMAP_THRESHOLD_, set by"
                    + " bench/efficiency.sh) so that large blocks go back to the system when freed and each step's"
                    + " peak shows in VmHWM.\n\n![step time relative to LoRA r=8](").append(chart.write("efficiency-cpu",
                    "MiniLM training step on this CPU, relative to LoRA r=8", "median step time / LoRA r=8")).append(")\n");
            ResultsSection.write("efficiency-cpu", "Training-step efficiency on this CPU (MiniLM)",
                    "bench/efficiency.sh " + reps, md.toString());
            System.out.println(md);
        }
    }

    static BoraConfig cfg(Mode mode, int r, int b) {
        BoraConfig.Builder builder = BoraConfig.builder().targetModules(TARGETS).mode(mode).rank(r).alpha(r)
                .sigma(BoraConfig.SigmaParameterization.EXP_NORM);
        if (b > 1) builder.blocks(b);
        return builder.build();
    }

    static List<String> medianLengthBatch() {
        List<String> sentences = new ArrayList<>();
        for (RuleExample e : LanguageToolExamples.readEnglish()) sentences.add(e.text());
        try (MiniLmTokenizer tokenizer = MiniLmTokenizer.load(64)) {
            int[] lengths = sentences.stream().mapToInt(s -> tokenizer.tokenIds(s).length).sorted().toArray();
            int median = lengths[lengths.length / 2];
            List<String> batch = new ArrayList<>();
            for (String s : sentences) {
                if (batch.size() < BATCH && tokenizer.tokenIds(s).length == median) batch.add(s);
            }
            return batch;
        }
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** Resets VmHWM to the current RSS (Linux: writing 5 to clear_refs). */
    static void resetPeakRss() throws IOException {
        Files.writeString(Path.of("/proc/self/clear_refs"), "5");
    }

    static double rssMiB(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
            if (line.startsWith(field)) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        }
        return -1;
    }
}
