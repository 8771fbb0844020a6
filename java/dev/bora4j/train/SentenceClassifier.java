package dev.bora4j.train;

import dev.bora4j.models.minilm.MiniLmModel;
import dev.bora4j.models.minilm.TokenBatch;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * A sentence classifier: the encoder's mean-pooled sentence embedding followed by a linear head.
 * Children are named as in Hugging Face's {@code BertForSequenceClassification} ("bert",
 * "classifier"), so adapter keys line up with what PEFT expects for that model.
 */
public final class SentenceClassifier extends Module {

    private final MiniLmModel encoder;
    private final LinearImpl head;

    public SentenceClassifier(MiniLmModel encoder, int classes) {
        if (classes < 2) {
            throw new IllegalArgumentException("a classifier needs at least 2 classes, got " + classes);
        }
        this.encoder = register_module("bert", encoder);
        this.head = register_module("classifier", new LinearImpl(encoder.config().hiddenSize(), classes));
    }

    public MiniLmModel encoder() {
        return encoder;
    }

    public LinearImpl head() {
        return head;
    }

    /** Class logits [batch, classes]. */
    public Tensor forward(TokenBatch batch) {
        return head.forward(encoder.sentenceEmbeddings(batch));
    }
}
