package dev.bora4j.train;

import dev.bora4j.data.LabeledSentence;
import dev.bora4j.data.Split;
import dev.bora4j.io.SafetensorsTorch;
import dev.bora4j.models.minilm.EncoderMode;
import dev.bora4j.models.minilm.MiniLmTokenizer;
import dev.bora4j.models.minilm.TokenBatch;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraInjector;
import dev.bora4j.ops.BoraOps;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

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

    /** Steps whose update is made NaN: lets tests drive the update check through the real loop. */
    java.util.function.LongPredicate poisonUpdateAt = step -> false;

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
        BoraOps.setNumThreads(Math.min(Runtime.getRuntime().availableProcessors(), BoraOps.MAX_THREADS));
        if (Files.exists(cfg.output) && !Files.isDirectory(cfg.output)) { // before the model loads, not after
            throw new java.nio.file.FileAlreadyExistsException(cfg.output.toString());
        }
        RunFolder files = new RunFolder(cfg.output);

        out.println("loading all-MiniLM-L6-v2 and the acceptability data ...");
        AcceptabilityTask task = AcceptabilityTask.load(cfg.maxLength, cfg.dataSeed, out);
        MiniLmTokenizer tokenizer = task.tokenizer();
        List<LabeledSentence> train = task.split(Split.TRAIN, cfg.maxTrainExamples, cfg.dataSeed);
        List<LabeledSentence> dev = task.split(Split.DEV, cfg.maxEvalExamples, cfg.dataSeed);
        List<LabeledSentence> test = task.split(Split.TEST, cfg.maxEvalExamples, cfg.dataSeed);
        out.printf("using %d train, %d dev, %d test sentences%n", train.size(), dev.size(), test.size());
        int[] trainLengths = cfg.groupByLength ? SentenceBatches.tokenLengths(tokenizer, train) : null;
        if (cfg.groupByLength) {
            out.printf("batches grouped by length: %,d padded tokens per epoch instead of %,d%n",
                    LengthGroupedOrder.paddedTokens(epochOrder(train.size(), 0, trainLengths), trainLengths,
                            cfg.batchSize),
                    LengthGroupedOrder.paddedTokens(EpochOrder.shuffled(train.size(), cfg.seed, 0), trainLengths,
                            cfg.batchSize));
        }

        torch.manual_seed(cfg.seed);
        SentenceClassifier model = AcceptabilityTask.newClassifier();
        cfg.encoderMode().applyTo(model.encoder());
        printEncoderMode(cfg.encoderMode(), out);
        BoraAdapters adapters = BoraInjector.inject(model, adapterConfig());
        if (cfg.initFrom != null) {
            LoraStart.copy(cfg.initFrom, adapters, model);
            out.printf("started from the trained LoRA in %s (A, B and head; Sigma = 1)%n", cfg.initFrom);
        }
        Map<String, Tensor> trainable = trainableTensors(adapters, headParameters(model));
        long trainableCount = printTrainable(model, adapters, trainable);

        OptimizerGroups groups = new OptimizerGroups(trainable, cfg);
        AdamW optimizer = groups.optimizer();
        int stepsPerEpoch = (int) ((train.size() + (long) cfg.batchSize - 1) / cfg.batchSize);
        long totalSteps = (long) stepsPerEpoch * cfg.epochs;
        if (cfg.maxSteps > 0) {
            totalSteps = Math.min(totalSteps, cfg.maxSteps);
        }
        LearningRateSchedule schedule = new LearningRateSchedule(cfg.decay,
                Math.round(cfg.warmupFraction * totalSteps), totalSteps, 0.0);
        GuardedStep guarded = new GuardedStep(optimizer, groups.all, cfg.clipNorm, 20, out);
        guarded.afterUpdate = s -> poisonUpdate(s, groups.all);
        Checkpoints checkpoints = new Checkpoints(files.checkpoints, 2);

        Optional<Checkpoints.Loaded> resumed = resumeOrStart(files, checkpoints, trainable, optimizer);
        long step = resumed.map(Checkpoints.Loaded::step).orElse(0L);
        LoopState start = resumed.isEmpty() ? LoopState.START
                : LoopState.fromJson(resumed.get().state(), cfg.epochs, stepsPerEpoch, files.checkpoints);
        if (resumed.isPresent()) {
            files.truncateMetricsAfter(step);
            out.printf("resuming from the checkpoint at step %d (epoch %d, batch %d)%n", step, start.epoch() + 1,
                    start.batch());
        } else {
            // a run killed before its first checkpoint starts again from step 0: drop its lines
            Files.deleteIfExists(files.metrics);
        }
        EarlyStopping early = new EarlyStopping(cfg.patience);
        early.restore(start.bestDevMcc(), start.evalsWithoutImprovement());

        long trainStart = System.nanoTime();
        long stepsThisRun = 0;
        boolean stop = step >= totalSteps || early.shouldStop();
        try (MetricsLog metrics = new MetricsLog(files.metrics)) {
            if (resumed.isEmpty() && cfg.rankEvery > 0) {
                writeRanks(metrics, adapters, 0);
            }
            for (int epoch = start.epoch(); epoch < cfg.epochs && !stop; epoch++) {
                List<Integer> order = epochOrder(train.size(), epoch, trainLengths);
                int firstBatch = epoch == start.epoch() ? start.batch() : 0;
                ProgressBar bar = new ProgressBar(out, String.format("epoch %d/%d", epoch + 1, cfg.epochs),
                        stepsPerEpoch, cfg.progressBar && ProgressBar.stdoutIsTerminal());
                double runningLoss = Double.NaN;
                long examples = 0;
                for (int batch = firstBatch; batch < stepsPerEpoch && !stop; batch++) {
                    List<LabeledSentence> items = SentenceBatches.slice(train, order, batch * cfg.batchSize,
                            cfg.batchSize);
                    double lr = cfg.learningRate * schedule.factor(step);
                    GuardedStep.Outcome o = trainStep(model, tokenizer, optimizer, groups, items, step, schedule,
                            guarded);
                    step++;
                    stepsThisRun++;
                    examples += items.size();
                    if (o.applied()) {
                        runningLoss = Double.isNaN(runningLoss) ? o.loss() : 0.95 * runningLoss + 0.05 * o.loss();
                    }
                    bar.update(batch + 1, examples, runningLoss);
                    metrics.write("step", step, "epoch", epoch + 1, "loss", o.loss(), "grad_norm", o.gradNorm(),
                            "lr", lr, "applied", o.applied());
                    boolean epochEnd = batch + 1 == stepsPerEpoch;
                    boolean lastStep = step >= totalSteps;
                    if (epochEnd || lastStep || (cfg.evalEvery > 0 && step % cfg.evalEvery == 0)) {
                        ClassificationMetrics m = ClassifierEvaluation.evaluate(model, tokenizer, dev,
                                cfg.evalBatchSize);
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
                        LoopState next = new LoopState(epochEnd ? epoch + 1 : epoch, epochEnd ? 0 : batch + 1,
                                start.skipped() + guarded.skipped(), early.best(), early.evaluationsWithoutImprovement());
                        checkpoints.save(step, trainable, optimizer, next.toJson());
                        out.printf("%ncheckpoint saved at step %d%n", step);
                    }
                }
            }
        }
        double secondsPerStep = stepsThisRun == 0 ? 0 : (System.nanoTime() - trainStart) / 1e9 / stepsThisRun;

        if (Files.isRegularFile(files.bestTensors)) {
            Checkpoints.loadTensors(files.bestTensors, trainable);
        }
        ClassificationMetrics devMetrics = ClassifierEvaluation.evaluate(model, tokenizer, dev, cfg.evalBatchSize);
        ClassificationMetrics testMetrics = ClassifierEvaluation.evaluate(model, tokenizer, test, cfg.evalBatchSize);
        out.printf("best dev: %s%ntest:     %s%n", devMetrics, testMetrics);
        FineTuningResult result = new FineTuningResult(step, start.skipped() + guarded.skipped(), trainableCount,
                devMetrics.accuracy(), devMetrics.mcc(), testMetrics.accuracy(), testMetrics.mcc(), secondsPerStep);
        files.writeFinal(result, adapters, headParameters(model), cfg);
        out.printf("wrote %s, %s, %s and %s%n", files.adapter, files.metrics, files.plot, files.summary);
        return result;
    }

    /**
     * Loads the folder's latest checkpoint into the tensors and optimizer when resuming, after
     * checking that the run flags match the folder's; records the run flags either way.
     */
    private Optional<Checkpoints.Loaded> resumeOrStart(RunFolder files, Checkpoints checkpoints,
                                                       Map<String, Tensor> trainable, AdamW optimizer)
            throws IOException {
        // A folder with run flags but no checkpoint (deleted, or killed before the first one) still
        // holds that run's results: only the same run may start over in it.
        boolean earlierRun = Files.exists(files.checkpoints) || Files.exists(files.runFlags);
        if (!cfg.resume && earlierRun) {
            throw new IllegalArgumentException("output folder " + cfg.output + " already holds a run; leave out"
                    + " --no-resume to continue it or choose another --output");
        }
        Map<String, String> runFlags = cfg.runDefiningFlags();
        RunFlags.requireSame(files.runFlags, runFlags, cfg.output); // passes when there is no earlier run
        Optional<Checkpoints.Loaded> resumed = cfg.resume ? checkpoints.loadLatest(trainable, optimizer) : Optional.empty();
        // created only now, so that a run refused earlier (bad --init-from, a model it does not fit)
        // leaves no empty folder behind
        Files.createDirectories(cfg.output);
        RunFlags.write(files.runFlags, runFlags);
        return resumed;
    }

    /** Prints the method, its settings and the parameter counts; returns the trainable count. */
    private long printTrainable(SentenceClassifier model, BoraAdapters adapters, Map<String, Tensor> trainable) {
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
                trainableCount - headCount, headCount, model.encoder().parameterCount() - adapters.trainableCount());
        if (cfg.trainOnly.equals("sigma")) {
            out.println("training only Sigma: A, B and the head stay as loaded");
        }
        return trainableCount;
    }

    private List<Integer> epochOrder(int n, int epoch, int[] trainLengths) {
        return EpochOrder.of(n, cfg.seed, epoch, trainLengths, cfg.batchSize);
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

    /** One training step on {@code items}: forward, backward and the update, guarded against NaN and Inf. */
    private GuardedStep.Outcome trainStep(SentenceClassifier model, MiniLmTokenizer tokenizer, AdamW optimizer,
                                          OptimizerGroups groups, List<LabeledSentence> items, long step,
                                          LearningRateSchedule schedule, GuardedStep guarded) {
        try (PointerScope scope = new PointerScope()) {
            model.train(true);
            torch.manual_seed(cfg.seed * 1_000_003L + step);
            TokenBatch batch = tokenizer.encode(SentenceBatches.texts(items));
            Tensor labels = Tensor.create(SentenceBatches.labels(items));
            groups.setLearningRates(optimizer, schedule.factor(step));
            return guarded.step(step + 1, () -> {
                Tensor loss = torch.cross_entropy(model.forward(batch), labels);
                return poisonLossAt.test(step + 1) ? loss.mul(new org.bytedeco.pytorch.Scalar(Double.NaN)) : loss;
            });
        }
    }

    private void poisonUpdate(long step, TensorVector trainable) {
        if (poisonUpdateAt.test(step)) {
            try (NoGradGuard ng = new NoGradGuard()) {
                trainable.get(0).fill_(new org.bytedeco.pytorch.Scalar(Double.NaN));
            }
        }
    }

    /** Says how the encoder runs when that is not the default (what eval needs to be told to match). */
    static void printEncoderMode(EncoderMode mode, PrintStream out) {
        if (!mode.equals(EncoderMode.DEFAULT)) {
            out.println("encoder mode: " + mode.flagText());
        }
    }
}
