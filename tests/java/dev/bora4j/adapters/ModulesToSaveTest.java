package dev.bora4j.adapters;

import static dev.bora4j.TorchTesting.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import dev.bora4j.TestModel;
import dev.bora4j.TorchTesting;
import dev.bora4j.io.SafetensorsTorch;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraInjector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** modules_to_save: trained with the adapters, saved with them and restored by load, as in PEFT. */
class ModulesToSaveTest {

    @TempDir
    Path dir;

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    private static BoraConfig config() {
        return BoraConfig.builder().targetModules("proj").modulesToSave("pre").rank(2).blocks(4).build();
    }

    @Test
    void savedModulesTrainWithTheAdaptersAndComeBackOnLoad() throws Exception {
        torch.manual_seed(3);
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters adapters = BoraInjector.inject(model, config());
        Map<String, Tensor> trainable = adapters.trainableParameters();
        assertEquals(List.of("pre.weight", "pre.bias"), List.copyOf(adapters.modulesToSaveParameters().keySet()));
        assertTrue(trainable.keySet().containsAll(List.of("pre.weight", "pre.bias")), trainable.keySet().toString());
        assertTrue(model.pre.weight().requires_grad(), "a module to save stays trainable");
        assertFalse(model.head.base().weight().requires_grad(), "the rest of the base model is frozen");
        Tensor x = randn(ScalarType.Float, 5, 8);
        model.forward(x).sum().backward();
        assertTrue(model.pre.weight().grad().defined(), "the saved module gets gradients");
        AdapterFixtures.randomize(adapters);
        try (NoGradGuard ng = new NoGradGuard()) {
            model.pre.weight().add_(randn(ScalarType.Float, 16, 8)); // "trained"
        }
        BoraAdapterFiles.save(dir, adapters);

        assertEquals(JsonParser.parseString("[\"pre\"]"), JsonParser.parseString(
                Files.readString(dir.resolve("adapter_config.json"))).getAsJsonObject().get("modules_to_save"));
        torch.manual_seed(3); // the same base model, whose "pre" the training above changed
        TestModel fresh = new TestModel(8, 16, 4);
        assertFalse(torch.equal(fresh.pre.weight(), model.pre.weight()));
        LoadedAdapter loaded = BoraAdapterFiles.load(dir, fresh);
        assertTrue(torch.equal(fresh.pre.weight(), model.pre.weight()), "pre restored from the file");
        assertTrue(fresh.pre.weight().requires_grad(), "and trainable again");
        assertTrue(loaded.adapters().trainableParameters().containsKey("pre.bias"));
        try (NoGradGuard ng = new NoGradGuard()) {
            assertTrue(torch.equal(fresh.forward(x), model.forward(x)), "the loaded model computes the saved one");
        }
    }

    @Test
    void aSavedModuleThatDoesNotFitIsRefusedBeforeTheModelChanges() throws Exception {
        torch.manual_seed(3);
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapterFiles.save(dir, BoraInjector.inject(model, config()));
        Path weights = dir.resolve("adapter_model.safetensors");
        Map<String, Tensor> m = new LinkedHashMap<>(SafetensorsTorch.readAll(weights));
        m.put("base_model.model.pre.weight", torch.zeros(16, 9));
        SafetensorsTorch.write(weights, m, Map.of("format", "pt"));
        TestModel fresh = new TestModel(8, 16, 4);
        Tensor before = fresh.pre.weight().clone();
        AdapterFileException e = assertThrows(AdapterFileException.class, () -> BoraAdapterFiles.load(dir, fresh));
        assertTrue(e.getMessage().contains("base_model.model.pre.weight is F32 [16, 9] in the file but the model's"
                + " pre.weight is F32 [16, 8]"), e.getMessage());
        assertTrue(torch.equal(fresh.pre.weight(), before));
        assertNull(fresh.proj0.adapter(), "nothing attached");
    }

    @Test
    void namesThatMatchNoModuleOrAnAdaptedOneAreRefused() {
        TestModel model = new TestModel(8, 16, 4);
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> BoraInjector.inject(model,
                BoraConfig.builder().targetModules("proj").modulesToSave("classifier").build()));
        assertTrue(none.getMessage().contains("modules_to_save 'classifier' matches no module"), none.getMessage());
        IllegalArgumentException both = assertThrows(IllegalArgumentException.class, () -> BoraInjector.inject(model,
                BoraConfig.builder().targetModules("proj").modulesToSave("blocks").build()));
        assertTrue(both.getMessage().contains("a module is either adapted or saved whole"), both.getMessage());
        assertNull(model.proj0.adapter(), "a refused config leaves the model as it was");
        assertTrue(model.pre.weight().requires_grad());
    }

    @Test
    void loadIntoGoesBackToTheSavedModulesTooAndATensorTheFileLacksKeepsItsValue() throws Exception {
        torch.manual_seed(3);
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters adapters = BoraInjector.inject(model, config());
        BoraAdapterFiles.save(dir, adapters); // a checkpoint
        Tensor saved = model.pre.weight().clone();
        try (NoGradGuard ng = new NoGradGuard()) {
            model.pre.weight().add_(randn(ScalarType.Float, 16, 8)); // training goes on
        }
        BoraAdapterFiles.loadInto(dir, adapters);
        assertTrue(torch.equal(model.pre.weight(), saved), "loadInto restores the saved module");

        Path weights = dir.resolve("adapter_model.safetensors");
        Map<String, Tensor> m = new LinkedHashMap<>(SafetensorsTorch.readAll(weights));
        m.remove("base_model.model.pre.bias");
        SafetensorsTorch.write(weights, m, Map.of("format", "pt"));
        torch.manual_seed(5);
        TestModel fresh = new TestModel(8, 16, 4);
        Tensor freshBias = fresh.pre.bias().clone();
        BoraAdapterFiles.load(dir, fresh);
        assertTrue(torch.equal(fresh.pre.weight(), saved), "the weight the file holds is restored");
        assertTrue(torch.equal(fresh.pre.bias(), freshBias), "the bias it lacks keeps its value");
    }

    @Test
    void unloadingFreezesTheSavedModulesWithTheBase() {
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters adapters = BoraInjector.inject(model, config());
        adapters.mergeAndUnload();
        assertFalse(model.pre.weight().requires_grad());
        assertTrue(adapters.trainableParameters().isEmpty());
    }

    @Test
    void aSecondInjectFreezesTheFirstsSavedModulesUnlessItListsThemToo() {
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters first = BoraInjector.inject(model, config()); // adapters on blocks.*.proj, "pre" saved
        BoraAdapters head = BoraInjector.inject(model, BoraConfig.builder().targetModules("head").rank(2).blocks(4)
                .build());
        assertFalse(model.pre.weight().requires_grad(), "frozen as the base model by the second inject");
        assertTrue(first.trainableParameters().get("blocks.0.proj.adapter.lora_A").requires_grad(),
                "the first inject's adapters stay trainable");
        assertTrue(head.modulesToSaveParameters().isEmpty());

        TestModel again = new TestModel(8, 16, 4);
        BoraInjector.inject(again, config());
        BoraAdapters listing = BoraInjector.inject(again, BoraConfig.builder().targetModules("head").rank(2).blocks(4)
                .modulesToSave("pre").build());
        assertTrue(again.pre.weight().requires_grad(), "listed again, it trains on");
        assertEquals(List.of("pre.weight", "pre.bias"), List.copyOf(listing.modulesToSaveParameters().keySet()));
    }

    @Test
    void theBuffersOfASavedModuleAreSavedAndRestoredWithItsParameters() throws Exception {
        torch.manual_seed(4);
        NormModel model = new NormModel();
        BoraConfig config = BoraConfig.builder().targetModules("proj").modulesToSave("norm").rank(2).blocks(2).build();
        BoraAdapters adapters = BoraInjector.inject(model, config);
        assertEquals(List.of("norm.weight", "norm.bias"), List.copyOf(adapters.modulesToSaveParameters().keySet()),
                "buffers are not trained");
        assertEquals(List.of("norm.weight", "norm.bias", "norm.running_mean", "norm.running_var",
                "norm.num_batches_tracked"), List.copyOf(adapters.modulesToSaveState().keySet()));
        model.train(true);
        for (int i = 0; i < 3; i++) {
            model.forward(randn(ScalarType.Float, 16, 8).mul(new Scalar(3.0)).add(new Scalar(1.0))); // moves the statistics
        }
        BoraAdapterFiles.save(dir, adapters);

        torch.manual_seed(4);
        NormModel fresh = new NormModel();
        BoraAdapterFiles.load(dir, fresh);
        assertTrue(torch.equal(fresh.norm.running_mean(), model.norm.running_mean()), "running mean restored");
        assertTrue(torch.equal(fresh.norm.running_var(), model.norm.running_var()), "running variance restored");
        assertEquals(3, fresh.norm.num_batches_tracked().item_long(), "the batch count too");
        model.eval();
        fresh.eval();
        Tensor x = randn(ScalarType.Float, 5, 8);
        try (NoGradGuard ng = new NoGradGuard()) {
            assertTrue(torch.equal(fresh.forward(x), model.forward(x)), "in eval mode the loaded model computes the saved one");
        }

        model.train(true);
        model.forward(randn(ScalarType.Float, 16, 8)); // statistics move on
        BoraAdapterFiles.loadInto(dir, adapters);
        assertTrue(torch.equal(model.norm.running_mean(), fresh.norm.running_mean()), "loadInto restores buffers too");
    }
}
