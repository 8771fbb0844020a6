package dev.bora4j.models.minilm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.nn.AdaptableLinear;
import dev.bora4j.onnx.OnnxModel;
import dev.bora4j.onnx.OnnxModelReader;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MiniLmModelTest {

    private static OnnxModel onnx;
    private static MiniLmModel model;

    @BeforeAll
    static void load() throws IOException {
        torch.set_num_threads(1);
        try (InputStream in = MiniLmResources.open(MiniLmResources.ONNX_MODEL)) {
            onnx = OnnxModelReader.read(in);
        }
        model = MiniLmModel.fromOnnx(onnx, MiniLmConfig.ALL_MINILM_L6_V2);
    }

    @Test
    void hasAllParametersFrozen() {
        assertEquals(22_565_376L, model.parameterCount());
        java.util.Map<String, Tensor> params = MiniLmModules.namedParameters(model);
        assertEquals(101, params.size(), "every initializer but position_ids is a parameter");
        params.forEach((name, p) -> assertFalse(p.requires_grad(), name + " is trainable"));
        assertTrue(params.containsKey("encoder.layer.0.attention.self.query.base.weight"));
        assertFalse(model.is_training());
    }

    @Test
    void everyProjectionIsAnAdaptableLinearUnderItsHuggingFaceName() {
        org.bytedeco.pytorch.StringVector names = model.named_modules().keys();
        Set<String> adaptable = new HashSet<>();
        for (long i = 0; i < names.size(); i++) {
            org.bytedeco.javacpp.BytePointer raw = names.get(i);
            String name = raw == null ? "" : raw.getString(); // the root module's name is empty
            if (name.endsWith(".query") || name.endsWith(".key") || name.endsWith(".value") || name.endsWith(".dense")) {
                adaptable.add(name);
            }
        }
        assertEquals(36, adaptable.size(), adaptable.toString());
        for (String expected : List.of("encoder.layer.0.attention.self.query", "encoder.layer.0.attention.self.key",
                "encoder.layer.0.attention.self.value", "encoder.layer.0.attention.output.dense",
                "encoder.layer.5.intermediate.dense", "encoder.layer.5.output.dense")) {
            assertTrue(adaptable.contains(expected), expected);
        }
        assertInstanceOf(AdaptableLinear.class, model.layer(0).attention().self().query());
        assertEquals(1536, model.layer(3).intermediate().dense().outFeatures());
    }

    @Test
    void projectionWeightsAreTheTransposedOnnxMatrices() {
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Tensor w = model.layer(0).attention().self().query().base().weight(); // [out, in]
            dev.bora4j.onnx.OnnxTensor stored = onnx.initializers().get("onnx::MatMul_787"); // [in, out]
            java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(stored.buffer(), stored.offset(), stored.length())
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN);
            int in = 5;
            int out = 7;
            float expected = bb.getFloat((in * 384 + out) * 4 + stored.offset());
            assertEquals(expected, w.select(0, out).select(0, in).item_float());
        }
    }

    @Test
    void tokenStatesAndSentenceEmbeddingsHaveTheRightShapes() {
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard();
             MiniLmTokenizer tokenizer = MiniLmTokenizer.load(64)) {
            TokenBatch batch = tokenizer.encode(List.of("A short one.", "A somewhat longer sentence to pad the other."));
            Tensor states = model.tokenStates(batch);
            assertEquals(3, states.dim());
            assertEquals(2, states.size(0));
            assertEquals(batch.sequenceLength(), states.size(1));
            assertEquals(384, states.size(2));
            Tensor pooled = model.sentenceEmbeddings(batch);
            assertEquals(2, pooled.size(0));
            assertEquals(384, pooled.size(1));
            // padding must not change a sentence's embedding
            Tensor alone = model.sentenceEmbeddings(tokenizer.encode(List.of("A short one.")));
            double diff = alone.sub(pooled.narrow(0, 0, 1)).abs().max().item_double();
            assertTrue(diff < 1e-5, "padding changed the embedding by " + diff);
        }
    }

    @Test
    void loadingIntoTheWrongShapeFailsClearly() {
        MiniLmConfig fiveLayers = new MiniLmConfig(30522, 384, 5, 12, 1536, 512, 2, 1e-12);
        IllegalArgumentException unused = assertThrows(IllegalArgumentException.class,
                () -> MiniLmModel.fromOnnx(onnx, fiveLayers));
        assertTrue(unused.getMessage().contains("not used") && unused.getMessage().contains("encoder.layer.5"),
                unused.getMessage());
        MiniLmConfig widerFfn = new MiniLmConfig(30522, 384, 6, 12, 1024, 512, 2, 1e-12);
        IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                () -> MiniLmModel.fromOnnx(onnx, widerFfn));
        assertTrue(shape.getMessage().contains("shape"), shape.getMessage());
        MiniLmConfig sevenLayers = new MiniLmConfig(30522, 384, 7, 12, 1536, 512, 2, 1e-12);
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> MiniLmModel.fromOnnx(onnx, sevenLayers));
        assertTrue(missing.getMessage().contains("no ONNX initializer"), missing.getMessage());
    }

    @Test
    void rejectsMismatchedInputs() {
        try (PointerScope scope = new PointerScope()) {
            Tensor ids = torch.zeros(2, 3).to(torch.ScalarType.Long);
            Tensor mask = torch.ones(2, 4).to(torch.ScalarType.Long);
            assertThrows(IllegalArgumentException.class, () -> new TokenBatch(ids, mask, ids));
            Tensor tooLong = torch.zeros(1, 600).to(torch.ScalarType.Long);
            assertThrows(IllegalArgumentException.class,
                    () -> model.tokenStates(new TokenBatch(tooLong, tooLong, tooLong)));
        }
    }
}
