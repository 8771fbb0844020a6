package dev.bora4j.train;

import dev.bora4j.TorchTesting;
import dev.bora4j.adapters.AdapterFileException;
import dev.bora4j.adapters.BoraAdapterFiles;
import dev.bora4j.io.SafetensorsTorch;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraInjector;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An adapter folder's classification head loads only when it is the classifier's, in its dtype, and finite. */
class AdapterEvaluationTest {

    private static final String HEAD_W = "base_model.model.classifier.weight";
    private static final String HEAD_B = "base_model.model.classifier.bias";

    @TempDir
    Path dir;
    Path weights;
    Tensor savedHead;

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    /** A folder as 'bora4j finetune' writes it: adapters on MiniLM plus the head. */
    @BeforeEach
    void saveAdapterWithHead() throws Exception {
        torch.manual_seed(3);
        SentenceClassifier model = AcceptabilityTask.newClassifier();
        BoraAdapterFiles.save(dir, BoraInjector.inject(model,
                BoraConfig.builder().targetModules("query", "value").rank(2).blocks(4).build()),
                AcceptabilityTask.saveOptions(Map.of("classifier.weight", model.head().weight(),
                        "classifier.bias", model.head().bias())));
        savedHead = model.head().weight().detach().clone();
        weights = dir.resolve(BoraAdapterFiles.WEIGHTS_FILE_NAME);
    }

    @Test
    void headIsLoaded() throws Exception {
        torch.manual_seed(4); // another random head before the load
        assertTrue(torch.equal(AdapterEvaluation.load(dir).head().weight(), savedHead));
    }

    @Test
    void headWithNanOrInfIsRefused() throws Exception {
        rewrite(m -> m.put(HEAD_W, m.get(HEAD_W).clone().fill_(new Scalar(Float.NaN))));
        assertLoadFails(weights + ": tensor " + HEAD_W + " holds NaN or Inf values");
        rewrite(m -> {
            m.put(HEAD_W, savedHead);
            m.put(HEAD_B, torch.full(new long[] {2}, new Scalar(Double.POSITIVE_INFINITY)));
        });
        assertLoadFails(weights + ": tensor " + HEAD_B + " holds NaN or Inf values");
    }

    @Test
    void headOfIntegerOrBoolDtypeIsRefused() throws Exception {
        rewrite(m -> m.put(HEAD_W, savedHead.to(ScalarType.Long)));
        assertLoadFails(weights + ": tensor " + HEAD_W + " is I64 [2, 384] in the file but the model's"
                + " classifier.weight is F32 [2, 384]");
        rewrite(m -> m.put(HEAD_W, savedHead.to(ScalarType.Bool)));
        assertLoadFails(weights + ": tensor " + HEAD_W + " is BOOL [2, 384] in the file but the model's"
                + " classifier.weight is F32 [2, 384]");
    }

    @Test
    void extraTensorsBesidesTheHeadAreRefused() throws Exception {
        // under modules_to_save "classifier" like the head, so the adapter files accept it
        rewrite(m -> m.put("base_model.model.classifier.scale", torch.empty(0, 1L << 62)));
        assertLoadFails(weights + ": tensor base_model.model.classifier.scale is under modules_to_save but the"
                + " model has no parameter or buffer classifier.scale");
    }

    private void assertLoadFails(String message) {
        AdapterFileException e = assertThrows(AdapterFileException.class, () -> AdapterEvaluation.load(dir));
        assertTrue(e.getMessage().startsWith(message), e.getMessage());
    }

    private void rewrite(Consumer<Map<String, Tensor>> change) throws Exception {
        Map<String, Tensor> m = new LinkedHashMap<>(SafetensorsTorch.readAll(weights));
        change.accept(m);
        SafetensorsTorch.write(weights, m, Map.of("format", "pt"));
    }
}
