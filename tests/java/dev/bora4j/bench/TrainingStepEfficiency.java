package dev.bora4j.bench;

import dev.bora4j.internal.JavaCppSettings;
import dev.bora4j.internal.ProcessMemory;
import dev.bora4j.data.LanguageToolExamples;
import dev.bora4j.data.RuleExample;
import dev.bora4j.models.minilm.MiniLmModel;
import dev.bora4j.models.minilm.MiniLmTokenizer;
import dev.bora4j.models.minilm.TokenBatch;
import dev.bora4j.nn.AdaptableLinear;
import dev.bora4j.nn.BoraAdapter;
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
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.StringSharedModuleDict;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Training-step cost of the adapters on MiniLM (all-MiniLM-L6-v2, the main job's six target
 * projections per layer): forward + cross-entropy + backward + AdamW step on a batch of 32
 * real sentences of the median token length (no padding). LoRA runs twice: through the native
 * kernels (b = 1, the ratios' base) and as two plain torch matmuls, as PEFT writes it. The variants are interleaved round by
 * round in one process so that machine noise hits them alike; the table gives the median step
 * time, its ratio to LoRA at the same r, and the step's transient memory: the peak RSS above the
 * RSS before the step (VmHWM, reset through /proc/self/clear_refs before each step), maximum
 * over the repetitions, from a second process (see {@link #memoryPass}). Usage:
 * {@code TrainingStepEfficiency [reps]} (default 15); bench/efficiency.sh.
 */
public final class TrainingStepEfficiency {

    static final int BATCH = 32;
    static final int WARMUP = 3;
    static final String MEMORY_PASS = "--memory-pass";
    static final String MMAP_THRESHOLD = "MALLOC_MMAP_THRESHOLD_";
    static final String[] TARGETS = {"attention.self.query", "attention.self.key", "attention.self.value",
            "attention.output.dense", "intermediate.dense", "output.dense"};

    /** plainTorch: the LoRA written as PEFT does it, two torch matmuls, instead of the native kernels. */
    record Variant(String label, BoraConfig config, boolean plainTorch) {
        Variant(String label, BoraConfig config) {
            this(label, config, false);
        }
    }

    /** One variant's measurements: step times (ms) and the largest step transient memory (MiB). */
    record Measured(long params, double[] ms, double peakMiB) {
    }

    /** All variants' measurements on one batch of {@code tokensPerSentence} tokens per sentence. */
    record Measurements(long tokensPerSentence, List<Measured> variants) {
    }

    public static void main(String[] args) throws Exception {
        JavaCppSettings.skipResidentMemoryCheck(); // as the command line does
        torch.set_num_threads(1);
        if (args.length > 0 && args[0].equals(MEMORY_PASS)) {
            // the child pass: one line per variant, read back by the parent
            for (Measured m : measure(Integer.parseInt(args[1])).variants()) System.out.println("peak " + m.peakMiB());
            return;
        }
        if (System.getenv(MMAP_THRESHOLD) != null) {
            throw new IllegalStateException(MMAP_THRESHOLD + " is set: with a fixed mmap threshold every large"
                    + " allocation is a fresh mapping and the step times measure page faults; unset it (the memory"
                    + " pass sets it in its own process)");
        }
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        double[] peakMiB = memoryPass(reps);
        writeSection(reps, measure(reps), peakMiB);
    }

    /**
     * Runs the variants in a child JVM with glibc's mmap threshold fixed, so that large blocks go
     * back to the system when freed and each step's peak shows in VmHWM (with the default dynamic
     * threshold freed memory stays in malloc's cache and the peak hides). Its step times are not
     * used: at that threshold each step pays page faults for all of its large tensors.
     */
    static double[] memoryPass(int reps) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx4g", "-cp", System.getProperty("java.class.path"),
                TrainingStepEfficiency.class.getName(), MEMORY_PASS, Integer.toString(reps));
        pb.environment().put(MMAP_THRESHOLD, "131072");
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        Process child = pb.start();
        List<Double> peaks = new ArrayList<>();
        try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line; (line = lines.readLine()) != null; ) {
                if (line.startsWith("peak ")) peaks.add(Double.parseDouble(line.substring(5)));
                else System.out.println("memory pass: " + line);
            }
        }
        int status = child.waitFor();
        if (status != 0 || peaks.size() != variants().size()) {
            throw new IllegalStateException("the memory pass failed (exit " + status + ", " + peaks.size()
                    + " of " + variants().size() + " variants measured)");
        }
        return peaks.stream().mapToDouble(Double::doubleValue).toArray();
    }

    static List<Variant> variants() {
        return List.of(
                new Variant("LoRA r=8", cfg(Mode.LORA, 8, 1)),
                new Variant("LoRA r=8, plain torch (two matmuls, as PEFT)", cfg(Mode.LORA, 8, 1), true),
                new Variant("BoRA r=8, b=4", cfg(Mode.BORA, 8, 4)),
                new Variant("BoRA r=8, b=8", cfg(Mode.BORA, 8, 8)),
                new Variant("LoRA r=9 (budget of BoRA b=4)", cfg(Mode.LORA, 9, 1)),
                new Variant("LoRA r=32 (rank bound of BoRA b=4)", cfg(Mode.LORA, 32, 1)),
                new Variant("HiRA r=8", cfg(Mode.HIRA, 8, 1)),
                new Variant("KronA (auto factors)", cfg(Mode.KRONA, 8, 1)));
    }

    /** Warm-up, then {@code reps} rounds over all variants, each variant one training step per round. */
    static Measurements measure(int reps) throws IOException {
        List<Variant> variants = variants();
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
                if (variants.get(v).plainTorch()) {
                    useTorchMatmuls(m);
                }
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
                    double before = ProcessMemory.statusMiB("VmRSS:");
                    double elapsed = timedStep(models.get(v), optimizers.get(v), batch, target);
                    double peak = ProcessMemory.statusMiB("VmHWM:") - before;
                    if (round >= WARMUP) {
                        ms[v][round - WARMUP] = elapsed;
                        peakMiB[v] = Math.max(peakMiB[v], peak);
                    }
                }
                System.err.printf("round %d done%n", round + 1);
            }
            List<Measured> out = new ArrayList<>();
            for (int v = 0; v < variants.size(); v++) out.add(new Measured(params[v], ms[v], peakMiB[v]));
            return new Measurements(batch.inputIds().size(1), out);
        }
    }

    /** One training step (forward, cross-entropy, backward, optimizer step) in its own scope; milliseconds. */
    static double timedStep(SentenceClassifier model, AdamW optimizer, TokenBatch batch, Tensor target) {
        long t0 = System.nanoTime();
        try (PointerScope scope = new PointerScope()) {
            model.train(true);
            optimizer.zero_grad();
            Tensor loss = torch.cross_entropy(model.forward(batch), target);
            loss.backward();
            optimizer.step();
            loss.item_double(); // waits for the result
        }
        return (System.nanoTime() - t0) / 1e6;
    }

    /** Swaps every attached LoRA for y0 + s * (x A^T) B^T in torch ops on the same A and B tensors. */
    static void useTorchMatmuls(SentenceClassifier model) {
        StringSharedModuleDict modules = model.named_modules();
        StringVector keys = modules.keys();
        for (long i = 0; i < keys.size(); i++) {
            if (keys.get(i) == null) continue; // the root module
            AdaptableLinear linear = AdaptableLinear.lookup(modules.get(keys.get(i).getString()));
            if (linear != null && linear.adapter() instanceof BoraAdapter lora) {
                Tensor a = lora.loraA(), b = lora.loraB();
                Scalar scale = new Scalar(lora.scaling());
                scale.retainReference();
                linear.setAdapter((x, y0) -> y0.add(x.matmul(a.t()).matmul(b.t()).mul(scale)));
            }
        }
    }

    static void writeSection(int reps, Measurements measurements, double[] peakMiB) throws IOException {
        List<Variant> variants = variants();
        List<Measured> measured = measurements.variants();
        double loraMedian = median(measured.get(0).ms());
        StringBuilder md = new StringBuilder();
        md.append("MiniLM (6 layers, hidden 384), adapters on query, key, value, attention.output.dense,"
                        + " intermediate.dense, output.dense of every layer; batch ").append(BATCH)
                .append(" sentences x ").append(measurements.tokensPerSentence()).append(" tokens; float32, 1 torch thread;"
                        + " BoRA (exp_norm Sigma) and LoRA through the native CPU kernels unless marked plain torch, HiRA and KronA in plain torch; ")
                .append(reps).append(" interleaved repetitions after ").append(WARMUP).append(" warm-up rounds.\n\n")
                .append("| variant | adapter params | step median (ms) | p10-p90 (ms) | time vs LoRA r=8 | step peak RSS above start (MiB) |\n")
                .append("|---|---:|---:|---:|---:|---:|\n");
        Charts.Bars chart = new Charts.Bars();
        for (int v = 0; v < variants.size(); v++) {
            double med = median(measured.get(v).ms());
            md.append(String.format("| %s | %,d | %.1f | %s | %.2fx | %.0f |%n", variants.get(v).label(),
                    measured.get(v).params(), med, p10ToP90(measured.get(v).ms()), med / loraMedian, peakMiB[v]));
            chart.add("median step time / LoRA r=8", variants.get(v).label(), med / loraMedian, 0);
        }
        md.append("\nStep times come from this process, with glibc's default malloc settings. The memory column is"
                + " the step's transient memory (activations kept for backward, gradients, temporaries), measured in"
                + " a second process that runs the same rounds with glibc's mmap threshold fixed"
                + " (MALLOC_MMAP_THRESHOLD_=131072), so that large blocks go back to the system when freed and each"
                + " step's peak shows in VmHWM; that process's times are not used, since there every large tensor"
                + " costs fresh page faults.\n\n![step time relative to LoRA r=8](").append(chart.write("efficiency-cpu",
                "MiniLM training step on this CPU, relative to LoRA r=8", "median step time / LoRA r=8")).append(")\n");
        ResultsSection.write("efficiency-cpu", "Training-step efficiency on this CPU (MiniLM)",
                "bench/efficiency.sh " + reps, md.toString());
        System.out.println(md);
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

    /** "p10-p90" of step times in ms, as the tables print it. */
    static String p10ToP90(double[] ms) {
        double[] s = ms.clone();
        Arrays.sort(s);
        return String.format("%.1f-%.1f", s[(int) (0.1 * (s.length - 1))], s[(int) (0.9 * (s.length - 1))]);
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
}
