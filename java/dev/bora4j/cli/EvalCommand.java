package dev.bora4j.cli;

import dev.bora4j.data.Split;
import dev.bora4j.train.AdapterEvaluation;
import dev.bora4j.train.ClassificationMetrics;
import dev.bora4j.train.TrainingConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code bora4j eval}: accuracy and MCC of a trained adapter folder on one split. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Evaluate an adapter folder written by 'bora4j finetune' on the acceptability task.")
public final class EvalCommand implements Callable<Integer> {

    private final TrainingConfig d = new TrainingConfig();

    @Option(names = "--adapter", required = true, description = "Adapter folder (adapter_config.json + adapter_model.safetensors).")
    Path adapter;
    @Option(names = "--split", description = "train, dev or test (default: ${DEFAULT-VALUE}).")
    String split = "test";
    @Option(names = "--max-length", description = "Longest sentence in tokens (default: ${DEFAULT-VALUE}).")
    int maxLength = d.maxLength;
    @Option(names = "--max-eval", description = "Use at most N sentences, 0 = all (default: ${DEFAULT-VALUE}).")
    int maxEval = d.maxEvalExamples;
    @Option(names = "--data-seed", description = "Seed of the train/dev/test split used in training (default: ${DEFAULT-VALUE}).")
    long dataSeed = d.dataSeed;
    @Option(names = "--eval-batch", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch = d.evalBatchSize;
    @Mixin
    EncoderModeOptions encoderMode = new EncoderModeOptions();

    @Override
    public Integer call() throws Exception {
        Split s = switch (split) {
            case "train" -> Split.TRAIN;
            case "dev" -> Split.DEV;
            case "test" -> Split.TEST;
            default -> throw new IllegalArgumentException("--split must be train, dev or test, got '" + split + "'");
        };
        if (!Files.isDirectory(adapter)) {
            throw new IllegalArgumentException("--adapter " + adapter + " is not a folder");
        }
        if (maxLength < 4 || maxLength > 512 || maxEval < 0 || batch < 1) {
            throw new IllegalArgumentException("need --max-length in [4, 512], --max-eval >= 0 and --eval-batch >= 1");
        }
        ClassificationMetrics m = AdapterEvaluation.evaluate(adapter, s, maxLength, maxEval, dataSeed, batch,
                encoderMode.mode(), System.out);
        System.out.println(split + ": " + m);
        return 0;
    }
}
