package dev.bora4j.adapters;

import static dev.bora4j.TorchTesting.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.bora4j.TestModel;
import dev.bora4j.TorchTesting;
import dev.bora4j.io.SafetensorsTorch;
import dev.bora4j.nn.AdaptableLinear;
import dev.bora4j.nn.BoraAdapter;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraConfig.Mode;
import dev.bora4j.nn.BoraInjector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The exported plain LoRA, read back from its files and applied by a LoRA written here with
 * plain torch ops (y = x W0^T + bias + (alpha'/r') x A'^T B'^T), matches bora4j's outputs.
 */
class LoraExportTest {

    @TempDir
    Path dir;

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    static Stream<BoraConfig.Builder> kinds() {
        return AdapterFixtures.kinds();
    }

    /** A plain LoRA forward of one layer from the exported files; no bora4j code involved. */
    static Tensor plainLoraLinear(Tensor x, AdaptableLinear layer, String name, Map<String, Tensor> lora,
            double scaling) {
        Tensor y = x.matmul(layer.base().weight().t()).add(layer.base().bias());
        Tensor a = lora.get("base_model.model." + name + ".lora_A.weight");
        Tensor b = lora.get("base_model.model." + name + ".lora_B.weight");
        return a == null ? y : y.add(x.matmul(a.t()).matmul(b.t()).mul(new Scalar(scaling)));
    }

    static Tensor plainLoraForward(TestModel m, Tensor x, Map<String, Tensor> lora, double scaling) {
        Tensor h = m.pre.forward(x).tanh();
        h = plainLoraLinear(h, m.proj0, "blocks.0.proj", lora, scaling).tanh();
        h = plainLoraLinear(h, m.proj1, "blocks.1.proj", lora, scaling).tanh();
        return plainLoraLinear(h, m.head, "head", lora, scaling);
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void exportedLoraMatchesBora(BoraConfig.Builder kind) throws Exception {
        BoraConfig config = kind.targetModules("proj", "head").build();
        torch.manual_seed(17);
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters adapters = BoraInjector.inject(model, config);
        AdapterFixtures.randomize(adapters);
        LoraExport.export(dir, adapters, AdapterSaveOptions.baseModel("test/tiny"));

        JsonObject j = JsonParser.parseString(Files.readString(dir.resolve("adapter_config.json"))).getAsJsonObject();
        assertEquals("LORA", j.get("peft_type").getAsString());
        int rPrime = j.get("r").getAsInt();
        double alphaPrime = j.get("lora_alpha").getAsDouble();
        boolean rs = j.get("use_rslora").getAsBoolean();
        assertEquals(config.blocks() * config.rank(), rPrime);
        assertEquals(config.rsLora(), rs);
        assertEquals(config.rsLora() ? config.alpha() * Math.sqrt(config.blocks()) : config.alpha() * config.blocks(),
                alphaPrime, 1e-12);
        assertEquals("test/tiny", j.get("base_model_name_or_path").getAsString());
        assertEquals(JsonParser.parseString("[\"proj\", \"head\"]"), j.get("target_modules"));
        assertEquals("none", j.get("bias").getAsString());
        assertFalse(j.has("bora_sigma") || j.has("bora_blocks"), "a plain LoRA config has no BoRA fields");
        double scaling = rs ? alphaPrime / Math.sqrt(rPrime) : alphaPrime / rPrime;

        Map<String, Tensor> lora = SafetensorsTorch.readAll(dir.resolve("adapter_model.safetensors"));
        Set<String> keys = new TreeSet<>();
        for (String module : new String[] {"blocks.0.proj", "blocks.1.proj", "head"}) {
            keys.add("base_model.model." + module + ".lora_A.weight");
            keys.add("base_model.model." + module + ".lora_B.weight");
        }
        assertEquals(keys, new TreeSet<>(lora.keySet()));
        assertEquals(rPrime, lora.get("base_model.model.head.lora_A.weight").size(0));
        assertEquals(16, lora.get("base_model.model.head.lora_A.weight").size(1));
        assertEquals(4, lora.get("base_model.model.head.lora_B.weight").size(0));
        assertEquals(rPrime, lora.get("base_model.model.head.lora_B.weight").size(1));

        Tensor x = randn(ScalarType.Float, 7, 8);
        try (NoGradGuard ng = new NoGradGuard()) {
            Tensor bora = model.forward(x);
            Tensor plain = plainLoraForward(model, x, lora, scaling);
            double err = TorchTesting.relError(plain, bora);
            System.out.printf("exact LoRA export %s %s r=%d b=%d: rel err %.3g%n", config.mode(), config.sigma(),
                    config.rank(), config.blocks(), err);
            assertTrue(err < 1e-5, "exported LoRA vs BoRA: relative error " + err);
            // the adapters matter: without them the outputs differ by far more than the tolerance
            Tensor base = plainLoraForward(model, x, Map.of(), 0);
            assertTrue(TorchTesting.relError(base, bora) > 1e-2, "adapters hardly change the output");
        }
        // the export loads back into bora4j as a LORA-mode adapter of rank b*r computing the same
        torch.manual_seed(17);
        TestModel fresh = new TestModel(8, 16, 4);
        LoadedAdapter loaded = BoraAdapterFiles.load(dir, fresh);
        assertEquals(Mode.LORA, loaded.config().mode());
        assertEquals(rPrime, loaded.config().rank());
        assertEquals(null, loaded.config().bora4jVersion());
        try (NoGradGuard ng = new NoGradGuard()) {
            double err = TorchTesting.relError(fresh.forward(x), model.forward(x));
            assertTrue(err < 1e-5, "the exported LoRA loaded back vs BoRA: relative error " + err);
        }
        if (config.mode() == Mode.LORA) {
            BoraAdapter head = adapters.byModule().get("head");
            assertTrue(torch.equal(lora.get("base_model.model.head.lora_A.weight"), head.loraA()),
                    "LORA mode exports A itself");
            assertTrue(torch.equal(lora.get("base_model.model.head.lora_B.weight"), head.loraB()),
                    "LORA mode exports B itself");
        }
    }

    @Test
    void blockStructureOfTheExport() throws Exception {
        torch.manual_seed(4);
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters adapters = BoraInjector.inject(model,
                BoraConfig.builder().targetModules("head").rank(2).blocks(4).build());
        AdapterFixtures.randomize(adapters);
        LoraExport.export(dir, adapters, AdapterSaveOptions.none());
        Map<String, Tensor> lora = SafetensorsTorch.readAll(dir.resolve("adapter_model.safetensors"));
        BoraAdapter a = adapters.byModule().get("head");
        Tensor ap = lora.get("base_model.model.head.lora_A.weight"); // 8 x 16
        Tensor bp = lora.get("base_model.model.head.lora_B.weight"); // 4 x 8
        Tensor s;
        try (NoGradGuard ng = new NoGradGuard()) {
            s = a.sigma();
        }
        for (int i = 0; i < 4; i++) {
            for (int jb = 0; jb < 4; jb++) {
                Tensor aBlock = ap.narrow(0, 2 * i, 2).narrow(1, 4 * jb, 4);
                Tensor expectA = i == jb ? a.loraA().narrow(1, 4 * jb, 4) : torch.zeros(2, 4);
                assertTrue(torch.equal(aBlock, expectA), "A' block (" + i + ", " + jb + ")");
                // block (i, j) of B' = B_i diag(S[i][j]); B_i is row i of B (m/b = 1 row here)
                Tensor bBlock = bp.narrow(0, i, 1).narrow(1, 2 * jb, 2);
                Tensor expectB = a.loraB().narrow(0, i, 1).mul(s.select(0, i).select(0, jb));
                assertTrue(torch.equal(bBlock, expectB), "B' block (" + i + ", " + jb + ")");
            }
        }
    }

    @Test
    void aPeftLoraConfigLoadsAndOneUsingFeaturesBora4jDoesNotComputeIsRefused() throws Exception {
        torch.manual_seed(4);
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters adapters = BoraInjector.inject(model, BoraConfig.builder().mode(Mode.LORA).targetModules("head")
                .rank(2).alpha(4).build());
        AdapterFixtures.randomize(adapters);
        LoraExport.export(dir, adapters, AdapterSaveOptions.none());
        Path config = dir.resolve("adapter_config.json");
        // fields PEFT writes with these features off, and one bora4j does not know
        JsonObject peft = JsonParser.parseString(Files.readString(config)).getAsJsonObject();
        for (String empty : new String[] {"rank_pattern", "alpha_pattern"}) {
            peft.add(empty, new JsonObject());
        }
        peft.add("layers_to_transform", com.google.gson.JsonNull.INSTANCE);
        peft.addProperty("lora_bias", false);
        peft.addProperty("revision", "main");
        Files.writeString(config, peft.toString());
        torch.manual_seed(4);
        assertEquals(2, BoraAdapterFiles.load(dir, new TestModel(8, 16, 4)).config().rank());

        for (String[] feature : new String[][] {{"use_dora", "true"}, {"rank_pattern", "{\"head\": 4}"},
                {"layers_to_transform", "[0]"}, {"lora_bias", "true"}, {"alora_invocation_tokens", "[7, 8]"},
                {"init_lora_weights", "\"pissa_niter_4\""}}) {
            JsonObject j = peft.deepCopy();
            j.add(feature[0], JsonParser.parseString(feature[1]));
            Files.writeString(config, j.toString());
            TestModel fresh = new TestModel(8, 16, 4);
            AdapterFileException e = org.junit.jupiter.api.Assertions.assertThrows(AdapterFileException.class,
                    () -> BoraAdapterFiles.load(dir, fresh));
            assertTrue(e.getMessage().contains("field \"" + feature[0] + "\"") && (e.getMessage().contains(
                    "which bora4j does not compute") || e.getMessage().contains("convert it to a plain LoRA")),
                    e.getMessage());
            assertEquals(null, fresh.head.adapter(), "a refused folder leaves the model as it was");
        }
    }

    @Test
    void theBlockDiagonalAFollowsADeviceAndDtype() {
        // the meta device stands in for CUDA here: an identity made on the CPU would not mix with it
        Tensor a = randn(ScalarType.Float, 3, 8).to(new org.bytedeco.pytorch.Device("meta"), ScalarType.Double);
        Tensor blockDiagonal = LoraExport.blockDiagonalA(a, 4);
        assertEquals("meta", blockDiagonal.device().str().getString());
        assertEquals(ScalarType.Double, blockDiagonal.scalar_type().intern());
        assertEquals(12, blockDiagonal.size(0));
        assertEquals(8, blockDiagonal.size(1));
    }
}
