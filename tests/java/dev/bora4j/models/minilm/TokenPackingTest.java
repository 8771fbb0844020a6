package dev.bora4j.models.minilm;

import static dev.bora4j.TorchTesting.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.nn.BoraAdapter;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraInjector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

class TokenPackingTest {

    private static final List<String> SENTENCES = List.of("He go to school every day.",
            "The committee, which had met twice before, finally agreed on the budget.", "Ok.",
            "She has been working here since three years.");

    @Test
    void packsRealTokensInOrderAndUnpacksWithZeroPadding() {
        Tensor mask = Tensor.create(new long[] {1, 1, 1, 0, 1, 1, 0, 0}, 2, 4);
        Tensor states = torch.arange(new Scalar(0), new Scalar(24)).to(ScalarType.Float).reshape(2, 4, 3);
        TokenPacking p = TokenPacking.of(mask);
        assertEquals(5, p.tokens());
        Tensor packed = p.pack(states);
        // rows 0, 1, 2 of sentence 0 and rows 0, 1 of sentence 1: flat rows 0, 1, 2, 4, 5
        float[] expectedFirst = {0, 3, 6, 12, 15};
        for (int i = 0; i < 5; i++) {
            assertEquals(expectedFirst[i], packed.select(0, i).select(0, 0).item_float(), "row " + i);
        }
        Tensor maskF = mask.to(ScalarType.Float).unsqueeze(-1);
        assertTrue(p.unpack(packed).equal(states.mul(maskF)), "unpack(pack(x)) must be x with zeros at the padding");
        assertClose(p.sentenceMeans(packed), MiniLmModel.meanPool(states, mask), 1e-7, "sentence means");
    }

    @Test
    void aBatchWithoutPaddingPacksWithoutCopying() {
        Tensor states = torch.randn(2, 3, 4);
        TokenPacking p = TokenPacking.of(torch.ones(2, 3).to(ScalarType.Long));
        assertEquals(6, p.tokens());
        Tensor packed = p.pack(states);
        assertEquals(states.data_ptr().address(), packed.data_ptr().address(), "a view, not a copy");
        assertTrue(p.unpack(packed).equal(states));
    }

    @Test
    void packedAndPaddedLayersComputeTheSameModelAndGradients() {
        torch.set_num_threads(1);
        MiniLmModel model = MiniLmModel.loadPretrained();
        try (MiniLmTokenizer tokenizer = MiniLmTokenizer.load(64); PointerScope scope = new PointerScope()) {
            TokenBatch batch = tokenizer.encode(SENTENCES);
            long real = batch.attentionMask().sum().item_long();
            assertTrue(real < batch.inputIds().numel(), "the batch must have padding");
            Tensor realMask = batch.attentionMask().unsqueeze(-1).to(ScalarType.Float);
            try (NoGradGuard ng = new NoGradGuard()) {
                Tensor[] states = new Tensor[2];
                Tensor[] embeddings = new Tensor[2];
                for (int k = 0; k < 2; k++) {
                    model.setPackTokens(k == 0);
                    states[k] = model.tokenStates(batch).mul(realMask);
                    embeddings[k] = model.sentenceEmbeddings(batch);
                }
                assertClose(states[0], states[1], 1e-5, "token states at the real tokens");
                assertClose(embeddings[0], embeddings[1], 1e-5, "sentence embeddings");
                model.setPackTokens(true);
                Tensor padding = model.tokenStates(batch).mul(realMask.neg().add(new Scalar(1)));
                assertEquals(0.0, padding.abs().max().item_double(), "packed token states are 0 at the padding");
            }

            BoraAdapters adapters = BoraInjector.inject(model, BoraConfig.builder()
                    .targetModules("query", "value", "intermediate.dense").rank(4).blocks(4).alpha(8).build());
            torch.manual_seed(3);
            try (NoGradGuard ng = new NoGradGuard()) {
                for (BoraAdapter a : adapters.byModule().values()) {
                    a.loraB().copy_(torch.randn(a.loraB().size(0), a.loraB().size(1)).mul(new Scalar(0.05)));
                    a.sigmaParameter().copy_(torch.randn(4, 4, 4).mul(new Scalar(0.3)));
                }
            }
            Map<String, Tensor> params = adapters.trainableParameters();
            List<List<Tensor>> grads = new ArrayList<>();
            Tensor weights = torch.randn(SENTENCES.size(), 384);
            for (int k = 0; k < 2; k++) {
                model.setPackTokens(k == 0);
                for (Tensor p : params.values()) {
                    p.mutable_grad().reset();
                }
                model.sentenceEmbeddings(batch).mul(weights).sum().backward();
                List<Tensor> g = new ArrayList<>();
                for (Tensor p : params.values()) {
                    g.add(p.grad().clone());
                }
                grads.add(g);
            }
            int i = 0;
            for (String name : params.keySet()) {
                assertClose(grads.get(0).get(i), grads.get(1).get(i), 1e-4, "gradient of " + name);
                i++;
            }
        }
    }
}
