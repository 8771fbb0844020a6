package dev.bora4j.train;

import dev.bora4j.models.minilm.AttentionImplementation;
import dev.bora4j.models.minilm.EncoderMode;
import dev.bora4j.ops.BoraOps;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything a fine-tuning run needs to know, with the defaults of the main job. Plain fields
 * (the command line fills them); {@link #validate()} checks them all and says what to change.
 */
public final class TrainingConfig {

    /** Adapter method. */
    public String method = "bora";
    public int rank = 8;
    public int blocks = 4;
    /** KronA first-factor sizes a1 x a2 (0 = automatic, near-square). */
    public int kronA1 = 0;
    public int kronA2 = 0;
    public double alpha = 16;
    public String sigma = "exp_norm";
    public double dropout = 0.05;
    public List<String> targets = new ArrayList<>(List.of(
            "attention.self.query", "attention.self.key", "attention.self.value",
            "attention.output.dense", "intermediate.dense", "output.dense"));

    public double learningRate = 1e-3;
    /** Learning rate of the Sigma parameters (null: same as {@link #learningRate}). */
    public Double sigmaLearningRate = null;
    public double headLearningRate = 1e-3;
    public double weightDecay = 0.01;
    public int epochs = 1;
    public int batchSize = 32;
    public int evalBatchSize = 128;
    public double warmupFraction = 0.06;
    public LearningRateSchedule.Decay decay = LearningRateSchedule.Decay.COSINE;
    public double clipNorm = 1.0;
    public int patience = 2;
    /** Evaluate on dev every this many optimizer steps (0: once per epoch). */
    public int evalEvery = 100;
    /** Write a checkpoint every this many steps (and at the end); where a killed run resumes from. */
    public int checkpointEvery = 50;
    public int maxLength = 64;
    /** Batch sentences of similar length together (less padding, faster steps); see {@link LengthGroupedOrder}. */
    public boolean groupByLength = false;
    /** Run the encoder on the padded batch instead of the real tokens only; see {@link dev.bora4j.models.minilm.TokenPacking}. */
    public boolean paddedBatches = false;
    /** How the encoder computes attention; eager reproduces every run made before this setting existed. */
    public AttentionImplementation attention = EncoderMode.DEFAULT.attention();
    /** Use at most this many training examples (0: all); the default keeps the main job within minutes on 2 cores. */
    public int maxTrainExamples = 6400;
    /** Use at most this many dev / test examples (0: all). */
    public int maxEvalExamples = 0;
    /** Stop after this many optimizer steps (0: no limit). */
    public long maxSteps = 0;
    public long seed = 42;
    /** Seed of the train/dev/test split (fixed, so that runs with different seeds see the same split). */
    public long dataSeed = 42;
    /** Record the numerical rank of every adapter's update every this many steps (0: never). */
    public int rankEvery = 50;
    /** A trained LoRA adapter folder to start from (A, B and head copied, Sigma = 1; null: fresh init). */
    public Path initFrom = null;
    /** Which tensors train: "all" (adapters and head) or "sigma" (only BoRA's Sigma; A, B, head frozen). */
    public String trainOnly = "all";
    public String device = "cpu";
    /** Torch threads, 0 = 1; at most {@link BoraOps#MAX_THREADS}, as for the kernels' own pool. */
    public int threads = 0;
    public String dataset = "acceptability";
    public Path output = Path.of("runs", "default");
    public boolean resume = true;
    /** Redraw a progress bar in place (false: one line per 10%, for logs). */
    public boolean progressBar = true;

    public void validate() {
        List<String> methods = List.of("bora", "lora", "melora", "hira", "krona");
        require(methods.contains(method), "--method must be one of " + methods + ", got '" + method + "'");
        require(rank >= 1, "--r must be >= 1, got " + rank);
        require(blocks >= 1, "--b must be >= 1, got " + blocks);
        require(kronA1 >= 0 && kronA2 >= 0, "--kron-a1 and --kron-a2 must be >= 0 (0 = automatic), got " + kronA1
                + ", " + kronA2);
        require(alpha > 0 && Double.isFinite(alpha), "--alpha must be > 0, got " + alpha);
        List<String> sigmas = List.of("raw", "exp", "exp_norm");
        require(sigmas.contains(sigma), "--sigma must be one of " + sigmas + ", got '" + sigma + "'");
        require(dropout >= 0 && dropout < 1, "--dropout must be in [0, 1), got " + dropout);
        require(!targets.isEmpty(), "--targets must name at least one module pattern");
        require(learningRate > 0 && fitsFloat32(learningRate), "--lr must be > 0 (and a float32), got " + learningRate);
        require(sigmaLearningRate == null || (sigmaLearningRate > 0 && fitsFloat32(sigmaLearningRate)),
                "--sigma-lr must be > 0 (and a float32), got " + sigmaLearningRate);
        require(headLearningRate > 0 && fitsFloat32(headLearningRate),
                "--head-lr must be > 0 (and a float32), got " + headLearningRate);
        require(weightDecay >= 0 && fitsFloat32(weightDecay), "--weight-decay must be a finite number >= 0, got "
                + weightDecay);
        require(epochs >= 1, "--epochs must be >= 1, got " + epochs);
        require(batchSize >= 1, "--batch must be >= 1, got " + batchSize);
        require(evalBatchSize >= 1, "--eval-batch must be >= 1, got " + evalBatchSize);
        require(warmupFraction >= 0 && warmupFraction < 1, "--warmup must be in [0, 1), got " + warmupFraction);
        require(clipNorm > 0, "--clip must be > 0, got " + clipNorm);
        require(patience >= 1, "--patience must be >= 1, got " + patience);
        require(evalEvery >= 0, "--eval-every must be >= 0, got " + evalEvery);
        require(checkpointEvery >= 1, "--checkpoint-every must be >= 1, got " + checkpointEvery);
        require(maxLength >= 4 && maxLength <= 512, "--max-length must be in [4, 512], got " + maxLength);
        require(maxTrainExamples >= 0, "--max-train must be >= 0, got " + maxTrainExamples);
        require(maxEvalExamples >= 0, "--max-eval must be >= 0, got " + maxEvalExamples);
        require(maxSteps >= 0, "--max-steps must be >= 0, got " + maxSteps);
        require(rankEvery >= 0, "--rank-every must be >= 0, got " + rankEvery);
        require(trainOnly.equals("all") || trainOnly.equals("sigma"),
                "--train-only must be all or sigma, got '" + trainOnly + "'");
        require(!trainOnly.equals("sigma") || method.equals("bora"),
                "--train-only sigma needs --method bora (only BoRA has Sigma), got --method " + method);
        require(initFrom == null || method.equals("bora") || method.equals("lora"),
                "--init-from continues a trained LoRA as BoRA or as LoRA: it needs --method bora or lora, got --method "
                        + method);
        require(!trainOnly.equals("sigma") || initFrom != null,
                "--train-only sigma trains Sigma on top of fixed A and B: give the trained LoRA with --init-from");
        require(device.equals("cpu") || device.equals("cuda"), "--device must be cpu or cuda, got '" + device + "'");
        require(threads >= 0 && threads <= BoraOps.MAX_THREADS, "--threads must be between 0 (one thread) and "
                + BoraOps.MAX_THREADS + ", got " + threads);
        require(output != null, "--output must be given");
    }

    /** How the encoder runs batches in this run. */
    public EncoderMode encoderMode() {
        return new EncoderMode(!paddedBatches, attention);
    }

    /**
     * The settings that define a run's trajectory, by command-line flag, as strings: a run folder
     * records them and a resumed run must match them. Left out: where and how it runs
     * ({@code --output}, {@code --no-resume}, {@code --no-progress-bar}, {@code --threads},
     * {@code --device}, {@code --checkpoint-every}, the evaluation batch size), none of which
     * changes what is trained.
     */
    public java.util.Map<String, String> runDefiningFlags() {
        java.util.Map<String, String> f = new java.util.LinkedHashMap<>();
        f.put("--method", method);
        f.put("--r", Integer.toString(rank));
        f.put("--b", Integer.toString(blocks));
        f.put("--kron-a1", Integer.toString(kronA1));
        f.put("--kron-a2", Integer.toString(kronA2));
        f.put("--alpha", Double.toString(alpha));
        f.put("--sigma", sigma);
        f.put("--dropout", Double.toString(dropout));
        f.put("--targets", String.join(",", targets));
        f.put("--lr", Double.toString(learningRate));
        f.put("--sigma-lr", String.valueOf(sigmaLearningRate));
        f.put("--head-lr", Double.toString(headLearningRate));
        f.put("--weight-decay", Double.toString(weightDecay));
        f.put("--epochs", Integer.toString(epochs));
        f.put("--batch", Integer.toString(batchSize));
        f.put("--warmup", Double.toString(warmupFraction));
        f.put("--decay", decay.toString());
        f.put("--clip", Double.toString(clipNorm));
        f.put("--patience", Integer.toString(patience));
        f.put("--eval-every", Integer.toString(evalEvery));
        f.put("--max-length", Integer.toString(maxLength));
        f.put("--group-by-length", Boolean.toString(groupByLength));
        f.put("--padded-batches", Boolean.toString(paddedBatches));
        f.put("--attention", attention.cliName());
        f.put("--max-train", Integer.toString(maxTrainExamples));
        f.put("--max-eval", Integer.toString(maxEvalExamples));
        f.put("--max-steps", Long.toString(maxSteps));
        f.put("--seed", Long.toString(seed));
        f.put("--data-seed", Long.toString(dataSeed));
        f.put("--rank-every", Integer.toString(rankEvery));
        f.put("--init-from", String.valueOf(initFrom));
        f.put("--train-only", trainOnly);
        f.put("--data", dataset);
        return f;
    }

    /** Finite and within float32's range: torch's optimizers take their rates as float32. */
    private static boolean fitsFloat32(double value) {
        return Double.isFinite(value) && Math.abs(value) <= Float.MAX_VALUE;
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }
}
