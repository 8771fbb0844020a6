package dev.bora4j.cli;

import dev.bora4j.models.minilm.EncoderMode;
import dev.bora4j.train.FineTuning;
import dev.bora4j.train.LearningRateSchedule;
import dev.bora4j.train.TrainingConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code bora4j finetune}: the main job. Defaults are {@link TrainingConfig}'s. */
@Command(name = "finetune", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fine-tune all-MiniLM-L6-v2 with adapters on grammatical acceptability (LanguageTool's",
                "English rule examples), offline on the CPU, and report dev and test accuracy and MCC.",
                "Writes the adapter, metrics.jsonl, training.png and summary.json into --output;",
                "a run killed at any point continues from its last checkpoint when started again."})
public final class FineTuneCommand implements Callable<Integer> {

    private final TrainingConfig d = new TrainingConfig();

    @Option(names = "--method", description = "Adapter: bora, lora, melora, hira or krona (default: ${DEFAULT-VALUE}).")
    String method = d.method;
    @Option(names = "--r", description = "Rank r of A (r x in) and B (out x r) (default: ${DEFAULT-VALUE}).")
    int rank = d.rank;
    @Option(names = "--b", description = "BoRA blocks b; must divide every adapted layer's sizes (default: ${DEFAULT-VALUE}).")
    int blocks = d.blocks;
    @Option(names = "--kron-a1", description = "KronA: rows of the first factor A (a1 x a2); 0 = near-square automatic (default: ${DEFAULT-VALUE}).")
    int kronA1 = d.kronA1;
    @Option(names = "--kron-a2", description = "KronA: columns of the first factor A; 0 = near-square automatic (default: ${DEFAULT-VALUE}).")
    int kronA2 = d.kronA2;
    @Option(names = "--alpha", description = "Scaling numerator: the update is scaled by alpha / r (default: ${DEFAULT-VALUE}).")
    double alpha = d.alpha;
    @Option(names = "--sigma", description = "Sigma parameterisation: raw, exp or exp_norm (default: ${DEFAULT-VALUE}).")
    String sigma = d.sigma;
    @Option(names = "--dropout", description = "Dropout on the adapter input (default: ${DEFAULT-VALUE}).")
    double dropout = d.dropout;
    @Option(names = "--targets", split = ",", description = "Module-name suffixes to adapt (default: ${DEFAULT-VALUE}).")
    List<String> targets = d.targets;
    @Option(names = "--lr", description = "Peak learning rate of A and B (default: ${DEFAULT-VALUE}).")
    double lr = d.learningRate;
    @Option(names = "--sigma-lr", description = "Peak learning rate of Sigma (default: same as --lr).")
    Double sigmaLr = d.sigmaLearningRate;
    @Option(names = "--head-lr", description = "Peak learning rate of the classification head (default: ${DEFAULT-VALUE}).")
    double headLr = d.headLearningRate;
    @Option(names = "--weight-decay", description = "AdamW weight decay of A, B and the head; Sigma has none (default: ${DEFAULT-VALUE}).")
    double weightDecay = d.weightDecay;
    @Option(names = "--epochs", description = "Passes over the training data (default: ${DEFAULT-VALUE}).")
    int epochs = d.epochs;
    @Option(names = "--batch", description = "Training batch size (default: ${DEFAULT-VALUE}).")
    int batch = d.batchSize;
    @Option(names = "--warmup", description = "Fraction of steps with linear warmup (default: ${DEFAULT-VALUE}).")
    double warmup = d.warmupFraction;
    @Option(names = "--decay", description = "Learning-rate decay after warmup: constant, linear or cosine, any case (default: ${DEFAULT-VALUE}).")
    LearningRateSchedule.Decay decay = d.decay;
    @Option(names = "--clip", description = "Gradient clipping: max global L2 norm (default: ${DEFAULT-VALUE}).")
    double clip = d.clipNorm;
    @Option(names = "--patience", description = "Early stopping: evaluations without a better dev MCC (default: ${DEFAULT-VALUE}).")
    int patience = d.patience;
    @Option(names = "--eval-every", description = "Evaluate on dev every N steps; 0 = at each epoch end (default: ${DEFAULT-VALUE}).")
    int evalEvery = d.evalEvery;
    @Option(names = "--checkpoint-every", description = "Write a checkpoint every N steps (default: ${DEFAULT-VALUE}).")
    int checkpointEvery = d.checkpointEvery;
    @Option(names = "--max-length", description = "Longest sentence in tokens; longer ones are truncated (default: ${DEFAULT-VALUE}).")
    int maxLength = d.maxLength;
    @Option(names = "--group-by-length", negatable = false,
            description = "Batch sentences of similar length together (within mega-batches of 50 batches): less padding,"
                    + " faster steps, but on the acceptability task at 200 steps it trained worse (docs/RESULTS.md).")
    boolean groupByLength;
    @Mixin
    EncoderModeOptions encoderMode = new EncoderModeOptions();
    @Option(names = "--max-train", description = "Use at most N training sentences, 0 = all (default: ${DEFAULT-VALUE}).")
    int maxTrain = d.maxTrainExamples;
    @Option(names = "--max-eval", description = "Use at most N dev and N test sentences, 0 = all (default: ${DEFAULT-VALUE}).")
    int maxEval = d.maxEvalExamples;
    @Option(names = "--max-steps", description = "Stop after N optimizer steps, 0 = no limit (default: ${DEFAULT-VALUE}).")
    long maxSteps = d.maxSteps;
    @Option(names = "--seed", description = "Seed of initialisation, data order and dropout (default: ${DEFAULT-VALUE}).")
    long seed = d.seed;
    @Option(names = "--data-seed", description = "Seed of the train/dev/test split (default: ${DEFAULT-VALUE}).")
    long dataSeed = d.dataSeed;
    @Option(names = "--rank-every", description = "Record each adapter update's numerical rank every N steps, 0 = never (default: ${DEFAULT-VALUE}).")
    int rankEvery = d.rankEvery;
    @Option(names = "--init-from", description = "Start from a trained LoRA adapter folder (its A, B and head; Sigma = 1): --method bora or lora.")
    Path initFrom = d.initFrom;
    @Option(names = "--train-only", description = "all (adapters and head) or sigma (only Sigma; needs --init-from) (default: ${DEFAULT-VALUE}).")
    String trainOnly = d.trainOnly;
    @Option(names = "--device", description = "cpu or cuda (default: ${DEFAULT-VALUE}).")
    String device = d.device;
    @Option(names = "--threads", description = "Torch intra-op threads, 0 = 1 (OpenBLAS still uses every core) (default: ${DEFAULT-VALUE}).")
    int threads = d.threads;
    @Option(names = "--data", description = "Dataset: acceptability (default: ${DEFAULT-VALUE}).")
    String data = d.dataset;
    @Option(names = "--output", description = "Run folder for adapter, metrics, plot and checkpoints (default: ${DEFAULT-VALUE}).")
    Path output = d.output;
    @Option(names = "--no-resume", negatable = false,
            description = "Refuse to continue a run found in --output (default: continue it).")
    boolean noResume;
    @Option(names = "--no-progress-bar", description = "Print progress as lines instead of redrawing a bar.")
    boolean noProgressBar;

    @Override
    public Integer call() throws Exception {
        new FineTuning(toConfig(), System.out).run();
        return 0;
    }

    /** The run's settings from the parsed flags; throws IllegalArgumentException naming a bad one. */
    TrainingConfig toConfig() {
        if (!"acceptability".equals(data)) {
            throw new IllegalArgumentException("--data must be 'acceptability', got '" + data + "'");
        }
        TrainingConfig c = new TrainingConfig();
        c.method = method;
        c.rank = rank;
        c.blocks = blocks;
        c.kronA1 = kronA1;
        c.kronA2 = kronA2;
        c.alpha = alpha;
        c.sigma = sigma;
        c.dropout = dropout;
        c.targets = targets;
        c.learningRate = lr;
        c.sigmaLearningRate = sigmaLr;
        c.headLearningRate = headLr;
        c.weightDecay = weightDecay;
        c.epochs = epochs;
        c.batchSize = batch;
        c.warmupFraction = warmup;
        c.decay = decay;
        c.clipNorm = clip;
        c.patience = patience;
        c.evalEvery = evalEvery;
        c.checkpointEvery = checkpointEvery;
        c.maxLength = maxLength;
        c.groupByLength = groupByLength;
        EncoderMode mode = encoderMode.mode();
        c.paddedBatches = !mode.packTokens();
        c.attention = mode.attention();
        c.maxTrainExamples = maxTrain;
        c.maxEvalExamples = maxEval;
        c.maxSteps = maxSteps;
        c.seed = seed;
        c.dataSeed = dataSeed;
        c.rankEvery = rankEvery;
        c.initFrom = initFrom;
        c.trainOnly = trainOnly;
        c.device = device;
        c.threads = threads;
        c.output = output;
        c.resume = !noResume;
        c.progressBar = !noProgressBar;
        c.validate();
        return c;
    }
}
