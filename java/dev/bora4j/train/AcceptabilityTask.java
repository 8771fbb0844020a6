package dev.bora4j.train;

import dev.bora4j.adapters.AdapterSaveOptions;
import dev.bora4j.data.AcceptabilityDataset;
import dev.bora4j.data.AcceptabilityDatasetBuilder;
import dev.bora4j.data.LabeledSentence;
import dev.bora4j.data.Split;
import dev.bora4j.models.minilm.MiniLmModel;
import dev.bora4j.models.minilm.MiniLmTokenizer;

import org.bytedeco.pytorch.Tensor;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The main job's task: grammatical acceptability of LanguageTool's English rule examples with
 * the all-MiniLM-L6-v2 tokenizer and encoder, all read offline from the classpath.
 */
public final class AcceptabilityTask {

    public static final String BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2";
    public static final int CLASSES = 2;

    private final MiniLmTokenizer tokenizer;
    private final AcceptabilityDataset data;

    private AcceptabilityTask(MiniLmTokenizer tokenizer, AcceptabilityDataset data) {
        this.tokenizer = tokenizer;
        this.data = data;
    }

    /** Loads the tokenizer and builds the dataset (deduplicated by uncased token ids, split by {@code dataSeed}). */
    public static AcceptabilityTask load(int maxLength, long dataSeed, PrintStream out) {
        MiniLmTokenizer tokenizer = MiniLmTokenizer.load(maxLength);
        AcceptabilityDataset data = AcceptabilityDatasetBuilder.languageToolEnglish(
                text -> Arrays.toString(tokenizer.tokenIds(text)), dataSeed);
        out.print(data.balanceSummary());
        return new AcceptabilityTask(tokenizer, data);
    }

    /** Save options of this task's adapter folders: the base model, SEQ_CLS and the head's tensors. */
    public static AdapterSaveOptions saveOptions(Map<String, Tensor> headTensors) {
        AdapterSaveOptions options = AdapterSaveOptions.baseModel(BASE_MODEL).withTaskType("SEQ_CLS");
        for (Map.Entry<String, Tensor> e : headTensors.entrySet()) {
            options = options.withExtraTensor(e.getKey(), e.getValue());
        }
        return options;
    }

    public MiniLmTokenizer tokenizer() {
        return tokenizer;
    }

    /** At most {@code max} sentences of a split (0: all): a seeded random subset, so every rule can appear. */
    public List<LabeledSentence> split(Split split, int max, long seed) {
        List<LabeledSentence> all = data.get(split);
        if (max == 0 || max >= all.size()) {
            return all;
        }
        List<LabeledSentence> copy = new ArrayList<>(all);
        Collections.shuffle(copy, new Random(seed));
        return List.copyOf(copy.subList(0, max));
    }

    /** A fresh classifier over the frozen pretrained encoder, its head initialised from torch's generator. */
    public static SentenceClassifier newClassifier() {
        return new SentenceClassifier(MiniLmModel.loadPretrained(), CLASSES);
    }
}
