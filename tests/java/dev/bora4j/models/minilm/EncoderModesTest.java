package dev.bora4j.models.minilm;

import static dev.bora4j.TorchTesting.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.nn.BoraAdapter;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraInjector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every {@link EncoderMode} computes the same model: token states, sentence embeddings and adapter gradients. */
class EncoderModesTest {

    private static final List<String> SENTENCES = List.of("He go to school every day.",
            "The committee, which had met twice before, finally agreed on the budget.", "Ok.",
            "She has been working here since three years.");
    private static final EncoderMode PADDED_EAGER = new EncoderMode(false, AttentionImplementation.EAGER);
    private static final EncoderMode PACKED_SDPA = new EncoderMode(true, AttentionImplementation.SDPA);
    private static final EncoderMode PADDED_SDPA = new EncoderMode(false, AttentionImplementation.SDPA);

    private static MiniLmModel model;
    private static BoraAdapters adapters;
    private static TokenBatch batch;

    @BeforeAll
    static void loadModelWithRandomAdapters() {
        torch.set_num_threads(1);
        model = MiniLmModel.loadPretrained();
        try (MiniLmTokenizer tokenizer = MiniLmTokenizer.load(64)) {
            batch = tokenizer.encode(SENTENCES);
        }
        adapters = BoraInjector.inject(model, BoraConfig.builder()
                .targetModules("query", "value", "intermediate.dense").rank(4).blocks(4).alpha(8).build());
        torch.manual_seed(3);
        try (NoGradGuard ng = new NoGradGuard()) {
            for (BoraAdapter a : adapters.byModule().values()) {
                a.loraB().copy_(torch.randn(a.loraB().size(0), a.loraB().size(1)).mul(new Scalar(0.05)));
                a.sigmaParameter().copy_(torch.randn(4, 4, 4).mul(new Scalar(0.3)));
            }
        }
    }

    static Stream<Arguments> modePairs() {
        return Stream.of(Arguments.of(PADDED_EAGER, EncoderMode.DEFAULT), Arguments.of(EncoderMode.DEFAULT, PACKED_SDPA),
                Arguments.of(PADDED_SDPA, PADDED_EAGER));
    }

    @ParameterizedTest
    @MethodSource("modePairs")
    void bothModesComputeTheSameStatesAndGradients(EncoderMode first, EncoderMode second) {
        assertTrue(batch.attentionMask().sum().item_long() < batch.inputIds().numel(), "the batch must have padding");
        EncoderMode[] modes = {first, second};
        Tensor realMask = batch.attentionMask().unsqueeze(-1).to(ScalarType.Float);
        try (PointerScope scope = new PointerScope()) {
            Tensor[] states = new Tensor[2];
            Tensor[] embeddings = new Tensor[2];
            try (NoGradGuard ng = new NoGradGuard()) {
                for (int k = 0; k < 2; k++) {
                    modes[k].applyTo(model);
                    states[k] = model.tokenStates(batch).mul(realMask);
                    embeddings[k] = model.sentenceEmbeddings(batch);
                }
            }
            assertClose(states[0], states[1], 1e-5, "token states at the real tokens");
            assertClose(embeddings[0], embeddings[1], 1e-5, "sentence embeddings");

            Map<String, Tensor> params = adapters.trainableParameters();
            Tensor weights = torch.randn(SENTENCES.size(), 384);
            List<List<Tensor>> grads = new ArrayList<>();
            for (EncoderMode mode : modes) {
                mode.applyTo(model);
                for (Tensor p : params.values()) {
                    p.mutable_grad().reset();
                }
                model.sentenceEmbeddings(batch).mul(weights).sum().backward();
                grads.add(params.values().stream().map(p -> p.grad().clone()).toList());
            }
            int i = 0;
            for (String name : params.keySet()) {
                assertClose(grads.get(0).get(i), grads.get(1).get(i), 1e-4, "gradient of " + name);
                i++;
            }
        } finally {
            EncoderMode.DEFAULT.applyTo(model);
        }
    }

    @Test
    void packedTokenStatesAreZeroAtThePadding() {
        Tensor padding = batch.attentionMask().eq(new Scalar(0)).unsqueeze(-1).to(ScalarType.Float);
        for (EncoderMode mode : List.of(EncoderMode.DEFAULT, PACKED_SDPA)) {
            mode.applyTo(model);
            try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
                assertEquals(0.0, model.tokenStates(batch).mul(padding).abs().max().item_double(), mode.toString());
            }
        }
        EncoderMode.DEFAULT.applyTo(model);
    }

    @Test
    void modesNameTheirFlagsAndUnknownImplementationsAreRefusedByName() {
        assertEquals(List.of(), EncoderMode.DEFAULT.flags());
        assertEquals(List.of("--padded-batches", "--attention", "sdpa"), PADDED_SDPA.flags());
        assertEquals(AttentionImplementation.SDPA, AttentionImplementation.parse("SDPA"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AttentionImplementation.parse("flash"));
        assertTrue(e.getMessage().contains("'flash'") && e.getMessage().contains("[eager, sdpa]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> model.setAttentionImplementation(null));
    }
}
