package dev.bora4j.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.bora4j.adapters.AdapterSaveOptions;
import dev.bora4j.adapters.BoraAdapterFiles;
import dev.bora4j.adapters.LoraExport;
import dev.bora4j.data.LabeledSentence;
import dev.bora4j.data.Split;
import dev.bora4j.io.AtomicFiles;
import dev.bora4j.io.SafetensorsTorch;
import dev.bora4j.models.minilm.EncoderMode;
import dev.bora4j.models.minilm.MiniLmModel;
import dev.bora4j.models.minilm.MiniLmTokenizer;
import dev.bora4j.models.minilm.TokenBatch;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraInjector;
import dev.bora4j.ops.BoraOps;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.OptimizerParamGroup;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

/**
 * The main job: fine-tunes MiniLM with adapters on the grammatical-acceptability task from a
 * Java-side training loop (torch AdamW with parameter groups, warmup + decay, gradient clipping,
 * a non-finite step guard, dev evaluation with early stopping, resumable checkpoints), then
 * reports dev and test accuracy and MCC of the best dev model.
 *
 * <p>Determinism: the data order of epoch e is a shuffle seeded by (seed, e) and every step
 * reseeds torch's generator with (seed, step), so a resumed run repeats the uninterrupted one.
 */
public final class FineTuning {

    private final TrainingConfig cfg;
    private final PrintStream out;
    /** Steps whose loss is replaced by NaN: lets tests drive the non-finite guard through the real loop. */
    java.util.function.LongPredicate poisonLossAt = step -> false;

    public FineTuning(TrainingConfig cfg, PrintStream out) {
        cfg.validate();
        this.cfg = cfg;
        this.out = out;
    }

    public FineTuningResult run() throws IOException {
        if (!cfg.device.equals("cpu")) {
            throw new IllegalArgumentException("--device " + cfg.device + " is not supported by this build's main job"
                    + " yet; use --device cpu");
        }
        // One torch thread: OpenBLAS already uses every core, and two OpenMP pools spinning on
        // the same cores made training several times slower. Our kernels' pool blocks instead.
        torch.set_num_threads(cfg.threads > 0 ? cfg.threads : 1);
        BoraOps.setNumThreads(Runtime.getRuntime().availableProcessors());
        Files.createDirectories(cfg.output);
        RunFiles files = new RunFiles(cfg.output);

        out.println("loading all-MiniLM-L6-v2 and the acceptability data ...");
        AcceptabilityTask task = AcceptabilityTask.load(cfg.maxLength, cfg.dataSeed, out);
        MiniLmTokenizer tokenizer = task.tokenizer();
        List<LabeledSentence> train = task.split(Split.TRAIN, cfg.maxTrainExamples, cfg.dataSeed);
        List<LabeledSentence> dev = task.split(Split.DEV, cfg.maxEvalExamples, cfg.dataSeed);
        List<LabeledSentence> test = task.split(Split.TEST, cfg.maxEvalExamples, cfg.dataSeed);
        out.printf("using %d train, %d dev, %d test sentences%n", train.size(), dev.size(), test.size());
        int[] trainLengths = cfg.groupByLength ? tokenLengths(tokenizer, train) : null;
        if (cfg.groupByLength) {
            out.printf("batches grouped by length: %,d padded tokens per epoch instead of %,d%n",
                    LengthGroupedOrder.paddedTokens(epochOrder(train.size(), 0, trainLengths), trainLengths,
                            cfg.batchSize),
                    LengthGroupedOrder.paddedTokens(shuffledOrder(train.size(), cfg.seed, 0), trainLengths,
                            cfg.batchSize));
        }

        torch.manual_seed(cfg.seed);
        SentenceClassifier model = AcceptabilityTask.newClassifier();
        MiniLmModel encoder = model.encoder();
        cfg.encoderMode().applyTo(encoder);
        printEncoderMode(cfg.encoderMode(), out);
        BoraAdapters adapters = BoraInjector.inject(model, adapterConfig());
        if (cfg.initFrom != null) {
            LoraStart.copy(cfg.initFrom, adapters, model);
            out.printf("started from the trained LoRA in %s (A, B and head; Sigma = 1)%n", cfg.initFrom);
        }
        Map<String, Tensor> trainable = trainableTensors(adapters, headParameters(model));
        long trainableCount = trainable.values().stream().mapToLong(Tensor::numel).sum();
        long headCount = trainable.entrySet().stream().filter(e -> e.getKey().startsWith("classifier."))
                .mapToLong(e -> e.getValue().numel()).sum();
        boolean blockMethod = cfg.method.equals("bora") || cfg.method.equals("melora");
        String blockSettings = blockMethod ? String.format("  b=%d", cfg.blocks) : "";
        if (cfg.method.equals("bora")) {
            blockSettings += "  sigma=" + cfg.sigma;
        }
        out.printf("method %s  r=%d%s  alpha=%.1f: %d adapted modules, %,d trainable parameters"
                        + " (%,d in adapters, %,d in the head); the base model has %,d%n",
                cfg.method, cfg.rank, blockSettings, cfg.alpha, adapters.all().size(), trainableCount,
                trainableCount - headCount, headCount, encoder.parameterCount() - adapters.trainableCount());
        if (cfg.trainOnly.equals("sigma")) {
            out.println("training only Sigma: A, B and the head stay as loaded");
        }

        ParameterGroups groups = new ParameterGroups(trainable);
        AdamW optimizer = groups.optimizer();
        int stepsPerEpoch = (train.size() + cfg.batchSize - 1) / cfg.batchSize;
        long totalSteps = (long) stepsPerEpoch * cfg.epochs;
        if (cfg.maxSteps > 0) {
            totalSteps = Math.min(totalSteps, cfg.maxSteps);
        }
        LearningRateSchedule schedule = new LearningRateSchedule(cfg.decay,
                Math.round(cfg.warmupFraction * totalSteps), totalSteps, 0.0);
        EarlyStopping early = new EarlyStopping(cfg.patience);
        NonFiniteGuard guard = new NonFiniteGuard(20, out);
        Checkpoints checkpoints = new Checkpoints(files.checkpoints, 2);

        long step = 0;
        int startEpoch = 0;
        int startBatch = 0;
        long skippedBefore = 0;
        if (!cfg.resume && Files.exists(files.checkpoints)) {
            throw new IllegalArgumentException("output folder " + cfg.output + " already holds a run; pass --resume"
                    + " to continue it or choose another --output");
        }
        Map<String, String> runFlags = cfg.runDefiningFlags();
        if (cfg.resume && checkpoints.exists()) {
            RunFlags.requireSame(files.runFlags, runFlags, cfg.output);
        }
        Optional<Checkpoints.Loaded> resumed = cfg.resume ? checkpoints.loadLatest(trainable, optimizer) : Optional.empty();
        RunFlags.write(files.runFlags, runFlags);
        if (resumed.isPresent()) {
            JsonObject s = resumed.get().state();
            step = resumed.get().step();
            startEpoch = s.get("epoch").getAsInt();
            startBatch = s.get("batch").getAsInt();
            skippedBefore = s.get("skipped").getAsLong();
            early.restore(s.get("best_dev_mcc").getAsDouble(), s.get("evals_without_improvement").getAsInt());
            files.truncateMetricsAfter(step);
            out.printf("resuming from the checkpoint at step %d (epoch %d, batch %d)%n", step, startEpoch + 1, startBatch);
        } else {
            // a run killed before its first checkpoint starts again from step 0: drop its lines
            Files.deleteIfExists(files.metrics);
        }

        long trainStart = System.nanoTime();
        long stepsThisRun = 0;
        boolean stop = step >= totalSteps || early.shouldStop();
        try (MetricsLog metrics = new MetricsLog(files.metrics)) {
            if (resumed.isEmpty() && cfg.rankEvery > 0) {
                writeRanks(metrics, adapters, 0);
            }
            for (int epoch = startEpoch; epoch < cfg.epochs && !stop; epoch++) {
                List<Integer> order = epochOrder(train.size(), epoch, trainLengths);
                int firstBatch = epoch == startEpoch ? startBatch : 0;
                ProgressBar bar = new ProgressBar(out, String.format("epoch %d/%d", epoch + 1, cfg.epochs),
                        stepsPerEpoch, cfg.progressBar && ProgressBar.stdoutIsTerminal());
                double runningLoss = Double.NaN;
                long examples = 0;
                for (int batch = firstBatch; batch < stepsPerEpoch && !stop; batch++) {
                    List<LabeledSentence> items = slice(train, order, batch * cfg.batchSize, cfg.batchSize);
                    double lr = cfg.learningRate * schedule.factor(step);
                    StepOutcome o = trainStep(model, tokenizer, optimizer, groups, items, step, schedule, guard);
                    step++;
                    stepsThisRun++;
                    examples += items.size();
                    if (o.applied) {
                        runningLoss = Double.isNaN(runningLoss) ? o.loss : 0.95 * runningLoss + 0.05 * o.loss;
                    }
                    bar.update(batch + 1, examples, runningLoss);
                    metrics.write("step", step, "epoch", epoch + 1, "loss", o.loss, "grad_norm", o.gradNorm,
                            "lr", lr, "applied", o.applied);
                    boolean epochEnd = batch + 1 == stepsPerEpoch;
                    boolean lastStep = step >= totalSteps;
                    if (epochEnd || lastStep || (cfg.evalEvery > 0 && step % cfg.evalEvery == 0)) {
                        ClassificationMetrics m = evaluate(model, tokenizer, dev, cfg.evalBatchSize);
                        boolean best = early.record(m.mcc());
                        metrics.write("step", step, "epoch", epoch + 1, "split", "dev", "accuracy", m.accuracy(),
                                "mcc", m.mcc(), "best", best);
                        out.printf("step %d dev: %s%s%n", step, m, best ? "  (best so far)" : "");
                        if (best) {
                            SafetensorsTorch.write(files.bestTensors, trainable, Map.of("step", Long.toString(step)));
                        }
                        stop = early.shouldStop();
                        if (stop) {
                            out.printf("early stopping: dev MCC has not improved for %d evaluations%n", cfg.patience);
                        }
                    }
                    if (cfg.rankEvery > 0 && (lastStep || step % cfg.rankEvery == 0)) {
                        writeRanks(metrics, adapters, step);
                    }
                    stop |= lastStep;
                    if (stop || epochEnd || step % cfg.checkpointEvery == 0) {
                        JsonObject state = new JsonObject();
                        state.addProperty("epoch", epochEnd ? epoch + 1 : epoch);
                        state.addProperty("batch", epochEnd ? 0 : batch + 1);
                        state.addProperty("skipped", skippedBefore + guard.skipped());
                        state.addProperty("best_dev_mcc", early.best());
                        state.addProperty("evals_without_improvement", early.evaluationsWithoutImprovement());
                        checkpoints.save(step, trainable, optimizer, state);
                        out.printf("%ncheckpoint saved at step %d%n", step);
                    }
                }
            }
        }
        double secondsPerStep = stepsThisRun == 0 ? 0 : (System.nanoTime() - trainStart) / 1e9 / stepsThisRun;

        if (Files.isRegularFile(files.bestTensors)) {
            Checkpoints.loadTensors(files.bestTensors, trainable);
        }
        ClassificationMetrics devMetrics = evaluate(model, tokenizer, dev, cfg.evalBatchSize);
        ClassificationMetrics testMetrics = evaluate(model, tokenizer, test, cfg.evalBatchSize);
        out.printf("best dev: %s%ntest:     %s%n", devMetrics, testMetrics);
        FineTuningResult result = new FineTuningResult(step, skippedBefore + guard.skipped(), trainableCount,
                devMetrics.accuracy(), devMetrics.mcc(), testMetrics.accuracy(), testMetrics.mcc(), secondsPerStep);
        files.writeFinal(result, adapters, headParameters(model), cfg);
        out.printf("wrote %s, %s, %s and %s%n", files.adapter, files.metrics, files.plot, files.summary);
        return result;
    }

    /**
     * The tensors the optimizer updates, by name: adapters and head, or only Sigma with
     * {@code --train-only sigma} (the rest then needs no gradient, which also saves its backward).
     */
    private Map<String, Tensor> trainableTensors(BoraAdapters adapters, Map<String, Tensor> head) {
        boolean sigmaOnly = cfg.trainOnly.equals("sigma");
        Map<String, Tensor> trainable = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : adapters.trainableParameters().entrySet()) {
            boolean train = !sigmaOnly || e.getKey().endsWith("bora_sigma");
            e.getValue().set_requires_grad(train);
            if (train) {
                trainable.put(e.getKey(), e.getValue());
            }
        }
        for (Map.Entry<String, Tensor> e : head.entrySet()) {
            e.getValue().set_requires_grad(!sigmaOnly);
            if (!sigmaOnly) {
                trainable.put(e.getKey(), e.getValue());
            }
        }
        return trainable;
    }

    /** One metrics record with the numerical rank of every adapter's update (see {@link UpdateRanks}). */
    private static void writeRanks(MetricsLog metrics, BoraAdapters adapters, long step) throws IOException {
        Map<String, Integer> absolute = new LinkedHashMap<>();
        Map<String, Integer> relative = new LinkedHashMap<>();
        for (Map.Entry<String, UpdateRanks.Rank> e : UpdateRanks.of(adapters).entrySet()) {
            absolute.put(e.getKey(), e.getValue().absolute());
            relative.put(e.getKey(), e.getValue().relative());
        }
        metrics.write("step", step, "rank_abs", absolute, "rank_rel", relative);
    }

    private BoraConfig adapterConfig() {
        BoraConfig.Mode mode = switch (cfg.method) {
            case "lora" -> BoraConfig.Mode.LORA;
            case "melora" -> BoraConfig.Mode.MELORA;
            case "hira" -> BoraConfig.Mode.HIRA;
            case "krona" -> BoraConfig.Mode.KRONA;
            default -> BoraConfig.Mode.BORA;
        };
        boolean blocked = mode == BoraConfig.Mode.BORA || mode == BoraConfig.Mode.MELORA;
        return BoraConfig.builder()
                .rank(cfg.rank)
                .blocks(blocked ? cfg.blocks : 1)
                .kronFactors(cfg.kronA1, cfg.kronA2)
                .alpha(cfg.alpha)
                .dropout(cfg.dropout)
                .sigma(BoraConfig.SigmaParameterization.valueOf(cfg.sigma.toUpperCase()))
                .mode(mode)
                .targetModules(cfg.targets.toArray(new String[0]))
                .build();
    }

    private static Map<String, Tensor> headParameters(SentenceClassifier model) {
        Map<String, Tensor> head = new LinkedHashMap<>();
        head.put("classifier.weight", model.head().weight());
        head.put("classifier.bias", model.head().bias());
        return head;
    }

    /** The AdamW parameter groups: adapter matrices, Sigma (no weight decay) and the head. */
    private final class ParameterGroups {
        private final List<TensorVector> vectors = new ArrayList<>();
        private final List<Double> baseLr = new ArrayList<>();
        private final List<Double> decay = new ArrayList<>();
        private final TensorVector all;

        ParameterGroups(Map<String, Tensor> trainable) {
            List<Tensor> matrices = new ArrayList<>();
            List<Tensor> sigma = new ArrayList<>();
            List<Tensor> head = new ArrayList<>();
            for (Map.Entry<String, Tensor> e : trainable.entrySet()) {
                String name = e.getKey();
                (name.startsWith("classifier.") ? head : name.endsWith("bora_sigma") ? sigma : matrices).add(e.getValue());
            }
            add(matrices, cfg.learningRate, cfg.weightDecay);
            add(sigma, cfg.sigmaLearningRate != null ? cfg.sigmaLearningRate : cfg.learningRate, 0.0);
            add(head, cfg.headLearningRate, cfg.weightDecay);
            all = new TensorVector(trainable.values().toArray(new Tensor[0]));
        }

        private void add(List<Tensor> params, double lr, double weightDecay) {
            if (!params.isEmpty()) {
                vectors.add(new TensorVector(params.toArray(new Tensor[0])));
                baseLr.add(lr);
                decay.add(weightDecay);
            }
        }

        AdamW optimizer() {
            AdamW adamW = new AdamW(vectors.get(0), options(0));
            for (int g = 1; g < vectors.size(); g++) {
                adamW.add_param_group(new OptimizerParamGroup(vectors.get(g), options(g)));
            }
            return adamW;
        }

        private AdamWOptions options(int g) {
            AdamWOptions o = new AdamWOptions(baseLr.get(g));
            o.weight_decay().put(decay.get(g));
            return o;
        }

        void setLearningRates(AdamW optimizer, double factor) {
            for (int g = 0; g < vectors.size(); g++) {
                optimizer.param_groups().get(g).options().set_lr(baseLr.get(g) * factor);
            }
        }
    }

    private record StepOutcome(double loss, double gradNorm, boolean applied) {
    }

    private StepOutcome trainStep(SentenceClassifier model, MiniLmTokenizer tokenizer, AdamW optimizer,
                                  ParameterGroups groups, List<LabeledSentence> items, long step,
                                  LearningRateSchedule schedule, NonFiniteGuard guard) {
        try (PointerScope scope = new PointerScope()) {
            model.train(true);
            torch.manual_seed(cfg.seed * 1_000_003L + step);
            TokenBatch batch = tokenizer.encode(texts(items));
            Tensor labels = Tensor.create(labels(items));
            optimizer.zero_grad();
            Tensor loss = torch.cross_entropy(model.forward(batch), labels);
            if (poisonLossAt.test(step + 1)) {
                loss = loss.mul(new org.bytedeco.pytorch.Scalar(Double.NaN));
            }
            loss.backward();
            double lossValue = loss.item_double();
            double norm = torch.clip_grad_norm_(groups.all, cfg.clipNorm);
            boolean ok = guard.check(step + 1, lossValue, norm);
            if (ok) {
                groups.setLearningRates(optimizer, schedule.factor(step));
                optimizer.step();
            }
            optimizer.zero_grad();
            return new StepOutcome(lossValue, norm, ok);
        }
    }

    /** Accuracy and MCC over {@code items}, batched by length so that little padding is computed. */
    static ClassificationMetrics evaluate(SentenceClassifier model, MiniLmTokenizer tokenizer,
                                          List<LabeledSentence> items, int batchSize) {
        ClassificationMetrics metrics = new ClassificationMetrics();
        List<LabeledSentence> byLength = new ArrayList<>(items);
        byLength.sort(Comparator.comparingInt((LabeledSentence s) -> s.text().length()).thenComparing(LabeledSentence::text));
        boolean wasTraining = model.is_training();
        model.eval();
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (int start = 0; start < byLength.size(); start += batchSize) {
                try (PointerScope scope = new PointerScope()) {
                    List<LabeledSentence> chunk = byLength.subList(start, Math.min(byLength.size(), start + batchSize));
                    Tensor predicted = model.forward(tokenizer.encode(texts(chunk))).argmax(
                            new org.bytedeco.pytorch.LongOptional(1), false).contiguous();
                    long[] p = new long[chunk.size()];
                    predicted.data_ptr_long().get(p);
                    for (int i = 0; i < p.length; i++) {
                        metrics.add(chunk.get(i).label(), (int) p[i]);
                    }
                }
            }
        } finally {
            model.train(wasTraining);
        }
        return metrics;
    }

    private static int[] tokenLengths(MiniLmTokenizer tokenizer, List<LabeledSentence> items) {
        int[] lengths = new int[items.size()];
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = tokenizer.tokenIds(items.get(i).text()).length;
        }
        return lengths;
    }

    private static List<String> texts(List<LabeledSentence> items) {
        List<String> t = new ArrayList<>(items.size());
        items.forEach(s -> t.add(s.text()));
        return t;
    }

    private static long[] labels(List<LabeledSentence> items) {
        long[] l = new long[items.size()];
        for (int i = 0; i < l.length; i++) {
            l[i] = items.get(i).label();
        }
        return l;
    }

    /** Says how the encoder runs when that is not the default (what eval needs to be told to match). */
    static void printEncoderMode(EncoderMode mode, PrintStream out) {
        if (!mode.equals(EncoderMode.DEFAULT)) {
            out.println("encoder mode: " + mode.flagText());
        }
    }

    /** The order of an epoch's training examples: shuffled by seed and epoch, then grouped by length if asked. */
    private List<Integer> epochOrder(int n, int epoch, int[] trainLengths) {
        List<Integer> order = shuffledOrder(n, cfg.seed, epoch);
        return cfg.groupByLength
                ? LengthGroupedOrder.of(order, trainLengths, cfg.batchSize, LengthGroupedOrder.DEFAULT_MEGA_BATCHES)
                : order;
    }

    static List<Integer> shuffledOrder(int n, long seed, int epoch) {
        List<Integer> order = new ArrayList<>(n);
        for (int i = 0; i < n; i++) order.add(i);
        Collections.shuffle(order, new Random(seed * 31L + epoch));
        return order;
    }

    private static List<LabeledSentence> slice(List<LabeledSentence> all, List<Integer> order, int from, int count) {
        List<LabeledSentence> out = new ArrayList<>(count);
        for (int i = from; i < Math.min(all.size(), from + count); i++) {
            out.add(all.get(order.get(i)));
        }
        return out;
    }

    /** Peak resident set size of this process in MiB (VmHWM of /proc/self/status), or -1 without /proc. */
    static double peakRssMiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** The files of one run folder. */
    private static final class RunFiles {
        final Path checkpoints;
        final Path metrics;
        final Path bestTensors;
        final Path adapter;
        final Path loraExport;
        final Path plot;
        final Path summary;
        final Path runFlags;

        RunFiles(Path out) {
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

        void writeFinal(FineTuningResult result, BoraAdapters adapters, Map<String, Tensor> head, TrainingConfig cfg)
                throws IOException {
            AdapterSaveOptions options = AcceptabilityTask.saveOptions(head);
            if (cfg.method.equals("hira") || cfg.method.equals("krona")) {
                // no PEFT-compatible folder layout for these: the trained tensors (adapter and head) by name
                Map<String, Tensor> all = new LinkedHashMap<>(adapters.trainableParameters());
                all.putAll(head);
                Files.createDirectories(adapter);
                SafetensorsTorch.write(adapter.resolve("trainable.safetensors"), all, Map.of("method", cfg.method));
            } else {
                BoraAdapterFiles.save(adapter, adapters, options);
                if (!cfg.method.equals("lora")) {
                    LoraExport.export(loraExport, adapters, options);
                }
            }
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
            chart.writePng(png, "MiniLM + " + cfg.method + " on acceptability", 900, 600);
            AtomicFiles.writeBytes(plot, png.toByteArray());
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
            s.addProperty("peak_rss_mib", peakRssMiB());
            s.addProperty("max_train_examples", cfg.maxTrainExamples);
            s.addProperty("epochs", cfg.epochs);
            s.addProperty("train_only", cfg.trainOnly);
            s.addProperty("group_by_length", cfg.groupByLength);
            s.addProperty("padded_batches", cfg.paddedBatches);
            s.addProperty("attention", cfg.attention.cliName());
            if (cfg.initFrom != null) {
                s.addProperty("init_from", cfg.initFrom.toString());
            }
            AtomicFiles.writeString(summary, s.toString());
        }
    }
}
