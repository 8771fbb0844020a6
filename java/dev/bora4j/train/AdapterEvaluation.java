package dev.bora4j.train;

import dev.bora4j.adapters.AdapterFileException;
import dev.bora4j.adapters.AdapterKeys;
import dev.bora4j.adapters.BoraAdapterFiles;
import dev.bora4j.adapters.LoadedAdapter;
import dev.bora4j.data.LabeledSentence;
import dev.bora4j.data.Split;
import dev.bora4j.models.minilm.EncoderMode;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Loads a trained adapter folder (with its classification head) onto MiniLM and evaluates it. */
public final class AdapterEvaluation {

    /** The head's tensors as adapter folders store them (modules_to_save "classifier"). */
    private static final List<String> HEAD = List.of("classifier.weight", "classifier.bias");

    private AdapterEvaluation() {
    }

    /** The pretrained classifier with the adapter folder's adapters attached and its head loaded. */
    public static SentenceClassifier load(Path adapterDir) throws IOException {
        SentenceClassifier model = AcceptabilityTask.newClassifier();
        loadOnto(adapterDir, model);
        return model;
    }

    /**
     * Attaches the adapter folder's adapters to {@code model} and loads its head into the model's
     * head (BoraAdapterFiles.load restores it as modules_to_save "classifier"). The folder's extra
     * tensors must be exactly the head's: any other would be ignored here and passed on by
     * 'bora4j merge --lora' unchecked. A folder refused here leaves the adapters attached: discard
     * the model.
     */
    public static LoadedAdapter loadOnto(Path adapterDir, SentenceClassifier model) throws IOException {
        LoadedAdapter loaded = BoraAdapterFiles.load(adapterDir, model);
        Map<String, Tensor> extra = loaded.extraTensors();
        Path weights = adapterDir.resolve(BoraAdapterFiles.WEIGHTS_FILE_NAME);
        List<String> unknown = extra.keySet().stream().filter(n -> !HEAD.contains(n)).toList();
        if (!unknown.isEmpty()) {
            throw new AdapterFileException(weights + ": extra tensor(s) " + unknown.stream().map(AdapterKeys::extra)
                    .toList() + " are not part of the classifier, whose head is " + HEAD + "; remove them from the"
                    + " file (and modules_to_save) or use the folder written by 'bora4j finetune'");
        }
        for (String name : HEAD) {
            requireHead(adapterDir, extra, name);
        }
        return loaded;
    }

    /**
     * Metrics of the adapter folder on a split, with the encoder in {@code mode}: the mode its run
     * trained in gives the run's own metrics to the last digit.
     */
    public static ClassificationMetrics evaluate(Path adapterDir, Split split, int maxLength, int maxExamples,
                                                 long dataSeed, int batchSize, EncoderMode mode,
                                                 PrintStream out) throws IOException {
        SentenceClassifier model = load(adapterDir); // first: a bad folder fails before the data is built
        AcceptabilityTask task = AcceptabilityTask.load(maxLength, dataSeed, out);
        mode.applyTo(model.encoder());
        FineTuning.printEncoderMode(mode, out);
        noteTheRunsMode(adapterDir, mode, out);
        List<LabeledSentence> items = task.split(split, maxExamples, dataSeed);
        return ClassifierEvaluation.evaluate(model, task.tokenizer(), items, batchSize);
    }

    /**
     * When the adapter folder sits in a run folder whose recorded encoder mode differs from
     * {@code mode}, says so: the metrics then differ from the run's in the last digits.
     */
    private static void noteTheRunsMode(Path adapterDir, EncoderMode mode, PrintStream out) {
        Path runDir = adapterDir.toAbsolutePath().normalize().getParent();
        Path flagsFile = runDir == null ? null : runDir.resolve(RunFlags.FILE);
        if (flagsFile == null || !Files.isRegularFile(flagsFile)) {
            return;
        }
        try {
            EncoderMode trained = RunFlags.encoderMode(RunFlags.read(flagsFile));
            if (!trained.equals(mode)) {
                out.println("note: " + runDir + " trained with the encoder mode "
                        + (trained.equals(EncoderMode.DEFAULT) ? "of the defaults" : trained.flagText())
                        + "; give the same flags to reproduce its metrics to the last digit");
            }
        } catch (IOException | IllegalArgumentException e) {
            out.println("note: cannot tell the run's encoder mode from " + flagsFile + ": " + e.getMessage());
        }
    }

    /**
     * The head must be in the folder. Its checks (shape, dtype, finite values) and the copy into
     * the model's head are BoraAdapterFiles.load's: the head is under modules_to_save "classifier".
     */
    private static void requireHead(Path dir, Map<String, Tensor> extra, String name) throws IOException {
        if (!extra.containsKey(name)) {
            throw new IOException("adapter folder " + dir + " has no '" + name + "': it holds no classification head"
                    + " (was it written by 'bora4j finetune'?)");
        }
    }
}
