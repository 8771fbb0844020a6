package dev.bora4j.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.TestModel;
import dev.bora4j.TorchTesting;
import dev.bora4j.io.SafetensorsTorch;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraInjector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Adapter files that do not fit the model are refused with messages naming module, tensor and shapes. */
class AdapterMismatchTest {

    @TempDir
    Path dir;
    Path weights;

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    @BeforeEach
    void saveAdapterForHidden16() throws Exception {
        torch.manual_seed(2);
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters adapters = BoraInjector.inject(model,
                BoraConfig.builder().targetModules("proj").rank(2).blocks(4).build());
        AdapterFixtures.randomize(adapters);
        BoraAdapterFiles.save(dir, adapters);
        weights = dir.resolve("adapter_model.safetensors");
    }

    private AdapterFileException loadFails(TestModel model) {
        AdapterFileException e = assertThrows(AdapterFileException.class, () -> BoraAdapterFiles.load(dir, model));
        assertNull(model.proj0.adapter(), "a failed load must leave the model without adapters");
        assertTrue(model.proj0.base().weight().requires_grad(), "a failed load must not freeze the model");
        return e;
    }

    @Test
    void otherHiddenSizeNamesModuleAndBothShapes() {
        AdapterFileException e = loadFails(new TestModel(8, 32, 4));
        String m = e.getMessage();
        assertTrue(m.contains("module 'blocks.0.proj'"), m);
        assertTrue(m.contains("base_model.model.blocks.0.proj.lora_A.weight"), m);
        assertTrue(m.contains("[2, 16] in the file"), m);
        assertTrue(m.contains("needs [2, 32]"), m);
        assertTrue(m.contains("in_features = 32"), m);
        assertTrue(m.contains(weights.toString()), m);
    }

    @Test
    void aDtypeTheAdaptersHoldExactlyLoadsAndOneTheyWouldRoundIsNamed(@TempDir Path other) throws Exception {
        TestModel wide = new TestModel(8, 16, 4);
        wide.to(ScalarType.Double, false);
        LoadedAdapter loaded = BoraAdapterFiles.load(dir, wide); // F32 in the file, float64 adapters
        Tensor a = loaded.adapters().byModule().get("blocks.0.proj").loraA();
        assertEquals(ScalarType.Double, a.scalar_type().intern());
        assertTrue(torch.equal(a.to(ScalarType.Float), SafetensorsTorch.readAll(weights)
                .get("base_model.model.blocks.0.proj.lora_A.weight")), "widened exactly");

        BoraAdapterFiles.save(other, loaded.adapters()); // F64 in the file
        TestModel narrow = new TestModel(8, 16, 4);
        AdapterFileException e = assertThrows(AdapterFileException.class, () -> BoraAdapterFiles.load(other, narrow));
        assertTrue(e.getMessage().contains("is F64 in the file but the model's adapters are F32, which cannot hold it"
                + " exactly"), e.getMessage());
        assertTrue(e.getMessage().contains("module 'blocks.0.proj'"), e.getMessage());
    }

    @Test
    void missingTensorsAreListed() throws Exception {
        rewrite(m -> m.remove("base_model.model.blocks.1.proj.bora_sigma"));
        AdapterFileException e = loadFails(new TestModel(8, 16, 4));
        assertTrue(e.getMessage().contains("missing 1 tensor(s) [base_model.model.blocks.1.proj.bora_sigma]"),
                e.getMessage());
        assertTrue(e.getMessage().contains("[blocks.1.proj]"), e.getMessage());
    }

    @Test
    void unexpectedTensorsAreListed() throws Exception {
        rewrite(m -> m.put("base_model.model.pre.lora_A.weight", torch.zeros(2, 8)));
        AdapterFileException e = loadFails(new TestModel(8, 16, 4));
        assertTrue(e.getMessage().contains("unexpected tensor(s) [base_model.model.pre.lora_A.weight]"),
                e.getMessage());
    }

    @Test
    void wrongSigmaShapeIsNamed() throws Exception {
        rewrite(m -> m.put("base_model.model.blocks.0.proj.bora_sigma", torch.zeros(2, 2, 2)));
        AdapterFileException e = loadFails(new TestModel(8, 16, 4));
        assertTrue(e.getMessage().contains("[2, 2, 2] in the file but the model needs [4, 4, 2] (b = 4, r = 2)"),
                e.getMessage());
    }

    @Test
    void nanOrInfInAnAdapterTensorNamesFileAndTensor() throws Exception {
        String key = "base_model.model.blocks.1.proj.lora_B.weight";
        rewrite(m -> m.put(key, torch.full(new long[] {16, 2}, new org.bytedeco.pytorch.Scalar(Float.NaN))));
        AdapterFileException nan = loadFails(new TestModel(8, 16, 4));
        assertTrue(nan.getMessage().startsWith(weights + ": tensor " + key + " holds NaN or Inf values"),
                nan.getMessage());

        String sigma = "base_model.model.blocks.0.proj.bora_sigma";
        rewrite(m -> {
            m.put(key, torch.zeros(16, 2));
            m.put(sigma, m.get(sigma).clone().index_fill_(0, torch.zeros(1).to(ScalarType.Long),
                    new org.bytedeco.pytorch.Scalar(Double.NEGATIVE_INFINITY)));
        });
        AdapterFileException inf = loadFails(new TestModel(8, 16, 4));
        assertTrue(inf.getMessage().startsWith(weights + ": tensor " + sigma + " holds NaN or Inf values"),
                inf.getMessage());
    }

    @Test
    void loadIntoWithNanChangesNoAdapter() throws Exception {
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters attached = BoraInjector.inject(model,
                BoraConfig.builder().targetModules("proj").rank(2).blocks(4).build());
        Tensor before = attached.byModule().get("blocks.0.proj").loraA().clone();
        assertFalse(torch.equal(before, SafetensorsTorch.readAll(weights).get(
                "base_model.model.blocks.0.proj.lora_A.weight")), "the file must differ from the attached values");
        // blocks.0 comes first in the file: only blocks.1 is bad, so a copy-as-you-go load would change blocks.0
        rewrite(m -> m.put("base_model.model.blocks.1.proj.lora_A.weight",
                torch.full(new long[] {2, 16}, new org.bytedeco.pytorch.Scalar(Float.POSITIVE_INFINITY))));
        AdapterFileException e = assertThrows(AdapterFileException.class,
                () -> BoraAdapterFiles.loadInto(dir, attached));
        assertTrue(e.getMessage().contains("blocks.1.proj.lora_A.weight holds NaN or Inf values"), e.getMessage());
        assertTrue(torch.equal(before, attached.byModule().get("blocks.0.proj").loraA()),
                "a refused file must leave the attached adapters as they were");
    }

    @Test
    void modelWithoutMatchingModulesIsRefused() throws Exception {
        String json = Files.readString(dir.resolve("adapter_config.json"));
        Files.writeString(dir.resolve("adapter_config.json"), json.replace("\"proj\"", "\"query\""));
        AdapterFileException e = loadFails(new TestModel(8, 16, 4));
        assertTrue(e.getMessage().contains("no AdaptableLinear module of the model matches target_modules [query]"),
                e.getMessage());
    }

    @Test
    void loadIntoAdaptersOfAnotherConfigNamesTheField() {
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters other = BoraInjector.inject(model,
                BoraConfig.builder().targetModules("proj").rank(4).blocks(4).build());
        AdapterFileException e = assertThrows(AdapterFileException.class,
                () -> BoraAdapterFiles.loadInto(dir, other));
        assertTrue(e.getMessage().contains("field \"r\" is 2 but the adapters to load into have 4"), e.getMessage());
    }

    @Test
    void modelThatAlreadyHasAdaptersIsRefused() {
        TestModel model = new TestModel(8, 16, 4);
        BoraInjector.inject(model, BoraConfig.builder().targetModules("proj").rank(2).blocks(4).build());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BoraAdapterFiles.load(dir, model));
        assertTrue(e.getMessage().contains("already has an adapter"), e.getMessage());
    }

    private void rewrite(java.util.function.Consumer<Map<String, Tensor>> change) throws Exception {
        Map<String, Tensor> m = new LinkedHashMap<>(SafetensorsTorch.readAll(weights));
        change.accept(m);
        SafetensorsTorch.write(weights, m, Map.of("format", "pt"));
    }

    @Test
    void weightsAndConfigOfDifferentSavesAreRefused(@TempDir Path other) throws Exception {
        // the same shapes under another Sigma parameterisation: readable, but not as this config says
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters raw = BoraInjector.inject(model, BoraConfig.builder().targetModules("proj").rank(2).blocks(4)
                .sigma(BoraConfig.SigmaParameterization.RAW).build());
        BoraAdapterFiles.save(other, raw);
        // a save over `dir` killed after its weights and before its config
        Files.copy(other.resolve("adapter_model.safetensors"), weights, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        String m = loadFails(new TestModel(8, 16, 4)).getMessage();
        assertEquals(weights + " was saved with r=2 lora_alpha=2.0 use_rslora=false bora_blocks=4 bora_mode=BORA"
                + " bora_sigma=RAW but " + dir.resolve("adapter_config.json") + " says r=2 lora_alpha=2.0"
                + " use_rslora=false bora_blocks=4 bora_mode=BORA bora_sigma=EXP: the two files come from different"
                + " saves (one interrupted between its two files, or the config edited since); save the adapter"
                + " again", m);
    }
}
