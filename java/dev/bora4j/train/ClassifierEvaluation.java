package dev.bora4j.train;

import dev.bora4j.data.LabeledSentence;
import dev.bora4j.models.minilm.MiniLmTokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Accuracy and MCC of a sentence classifier on a list of labelled sentences. */
final class ClassifierEvaluation {

    private ClassifierEvaluation() {
    }

    /**
     * Evaluates {@code model} in eval mode without gradients, batched by length so that little
     * padding is computed; the model's training flag is restored afterwards.
     */
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
                    Tensor predicted = model.forward(tokenizer.encode(SentenceBatches.texts(chunk)))
                            .argmax(new LongOptional(1), false).contiguous();
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
}
