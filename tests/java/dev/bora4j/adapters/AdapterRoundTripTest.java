package dev.bora4j.adapters;

import static dev.bora4j.TorchTesting.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.TestModel;
import dev.bora4j.TorchTesting;
import dev.bora4j.io.SafetensorsDtype;
import dev.bora4j.io.SafetensorsReader;
import dev.bora4j.nn.BoraAdapter;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraConfig.Mode;
import dev.bora4j.nn.BoraInjector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Save then load restores bitwise-identical adapter tensors and model outputs on the CPU. */
class AdapterRoundTripTest {

    @TempDir
    Path tmp;

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    static Stream<BoraConfig.Builder> kinds() {
        return AdapterFixtures.kinds();
    }

    /** A TestModel whose base weights depend on the seed only, with random adapters on proj and head. */
    static BoraAdapters adapted(TestModel[] out, long seed, BoraConfig config) {
        torch.manual_seed(seed);
        out[0] = new TestModel(8, 16, 4);
        BoraAdapters adapters = BoraInjector.inject(out[0], config);
        AdapterFixtures.randomize(adapters);
        return adapters;
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void saveThenLoadIsBitwise(BoraConfig.Builder kind) throws Exception {
        BoraConfig config = kind.targetModules("proj", "head").build();
        TestModel[] m = new TestModel[1];
        BoraAdapters saved = adapted(m, 11, config);
        Tensor x = randn(ScalarType.Float, 5, 8);
        Tensor expected;
        try (NoGradGuard ng = new NoGradGuard()) {
            expected = m[0].forward(x);
        }
        Tensor headW = randn(ScalarType.Float, 3, 16);
        Tensor headB = randn(ScalarType.Float, 3);
        Path dir = tmp.resolve("adapter");
        BoraAdapterFiles.save(dir, saved, AdapterSaveOptions.baseModel("test/tiny").withTaskType("SEQ_CLS")
                .withExtraTensor("classifier.weight", headW).withExtraTensor("classifier.bias", headB));

        TestModel[] fresh = new TestModel[1];
        torch.manual_seed(11);
        fresh[0] = new TestModel(8, 16, 4);
        try (NoGradGuard ng = new NoGradGuard()) {
            assertFalse(torch.equal(fresh[0].forward(x), expected), "adapters must change the output");
        }
        LoadedAdapter loaded = BoraAdapterFiles.load(dir, fresh[0]);
        try (NoGradGuard ng = new NoGradGuard()) {
            assertTrue(torch.equal(fresh[0].forward(x), expected), "outputs after load are not bitwise equal");
        }
        assertEquals(List.copyOf(saved.byModule().keySet()), List.copyOf(loaded.adapters().byModule().keySet()));
        for (Map.Entry<String, BoraAdapter> e : saved.byModule().entrySet()) {
            BoraAdapter a = e.getValue(), b = loaded.adapters().byModule().get(e.getKey());
            assertTrue(torch.equal(a.loraA(), b.loraA()), e.getKey() + " lora_A");
            assertTrue(torch.equal(a.loraB(), b.loraB()), e.getKey() + " lora_B");
            assertTrue(torch.equal(a.sigmaParameter(), b.sigmaParameter()), e.getKey() + " sigma");
            assertEquals(config.mode() == Mode.BORA, b.sigmaParameter().requires_grad(), "sigma trainable");
        }
        assertEquals(Set.of("classifier.weight", "classifier.bias"), loaded.extraTensors().keySet());
        assertTrue(torch.equal(loaded.extraTensors().get("classifier.weight"), headW));
        assertTrue(torch.equal(loaded.extraTensors().get("classifier.bias"), headB));
        AdapterConfigFile cfg = loaded.config();
        assertEquals(config.rank(), cfg.rank());
        assertEquals(config.blocks(), cfg.blocks());
        assertEquals(config.alpha(), cfg.alpha());
        assertEquals(config.rsLora(), cfg.rsLora());
        assertEquals(config.mode(), cfg.mode());
        assertEquals("test/tiny", cfg.baseModel());
        assertEquals(List.of("classifier"), cfg.modulesToSave());
        assertEquals(config.scaling(), loaded.adapters().byModule().get("head").scaling());

        // the file holds exactly the PEFT-style keys: A, B, Sigma in BORA mode only, the extras
        Set<String> keys = new TreeSet<>();
        for (String module : List.of("blocks.0.proj", "blocks.1.proj", "head")) {
            keys.add("base_model.model." + module + ".lora_A.weight");
            keys.add("base_model.model." + module + ".lora_B.weight");
            if (config.mode() == Mode.BORA) {
                keys.add("base_model.model." + module + ".bora_sigma");
            }
        }
        keys.add("base_model.model.classifier.weight");
        keys.add("base_model.model.classifier.bias");
        try (SafetensorsReader r = SafetensorsReader.open(dir.resolve("adapter_model.safetensors"))) {
            assertEquals(keys, new TreeSet<>(r.tensors().keySet()));
            assertEquals("pt", r.metadata().get("format"));
            int rank = config.rank(), b = config.blocks();
            assertEquals(List.of((long) rank, 16L),
                    List.of(r.info("base_model.model.blocks.0.proj.lora_A.weight").shape()[0],
                            r.info("base_model.model.blocks.0.proj.lora_A.weight").shape()[1]));
            assertEquals(List.of(4L, (long) rank),
                    List.of(r.info("base_model.model.head.lora_B.weight").shape()[0],
                            r.info("base_model.model.head.lora_B.weight").shape()[1]));
            if (config.mode() == Mode.BORA) {
                long[] s = r.info("base_model.model.head.bora_sigma").shape();
                assertEquals(List.of((long) b, (long) b, (long) rank), List.of(s[0], s[1], s[2]));
            }
        }
    }

    @Test
    void loadIntoAttachedAdaptersRestoresSavedValues() throws Exception {
        BoraConfig config = BoraConfig.builder().targetModules("proj").rank(2).blocks(4).build();
        TestModel[] m = new TestModel[1];
        BoraAdapters adapters = adapted(m, 3, config);
        Tensor x = randn(ScalarType.Float, 4, 8);
        Tensor expected;
        try (NoGradGuard ng = new NoGradGuard()) {
            expected = m[0].forward(x);
        }
        BoraAdapterFiles.save(tmp, adapters);
        AdapterFixtures.randomize(adapters); // "training" moves on
        try (NoGradGuard ng = new NoGradGuard()) {
            assertFalse(torch.equal(m[0].forward(x), expected));
        }
        Map<String, Tensor> extras = BoraAdapterFiles.loadInto(tmp, adapters);
        assertTrue(extras.isEmpty());
        try (NoGradGuard ng = new NoGradGuard()) {
            assertTrue(torch.equal(m[0].forward(x), expected), "loadInto did not restore the saved adapters");
        }
        adapters.merge();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> BoraAdapterFiles.loadInto(tmp, adapters));
        assertTrue(e.getMessage().contains("unmerge"), e.getMessage());
    }

    @Test
    void aBfloat16ModelsFloat32AdaptersRoundTripAsFloat32() throws Exception {
        BoraConfig config = BoraConfig.builder().targetModules("proj").rank(2).blocks(4).build();
        torch.manual_seed(5);
        TestModel model = new TestModel(8, 16, 4);
        model.to(ScalarType.BFloat16, false);
        BoraAdapters adapters = BoraInjector.inject(model, config);
        AdapterFixtures.randomize(adapters);
        BoraAdapterFiles.save(tmp, adapters);
        torch.manual_seed(5);
        TestModel fresh = new TestModel(8, 16, 4);
        fresh.to(ScalarType.BFloat16, false);
        BoraAdapterFiles.load(tmp, fresh);
        Tensor x = randn(ScalarType.Float, 3, 8).to(ScalarType.BFloat16);
        try (NoGradGuard ng = new NoGradGuard()) {
            assertTrue(torch.equal(fresh.forward(x), model.forward(x)), "bf16 outputs after load");
        }
        try (SafetensorsReader r = SafetensorsReader.open(tmp.resolve("adapter_model.safetensors"))) {
            assertEquals(SafetensorsDtype.F32, r.info("base_model.model.blocks.0.proj.bora_sigma").dtype());
        }
    }

    @Test
    void bfloat16AdaptersKeepTheirDtypeAndLoadOntoFloat32Ones() throws Exception {
        BoraConfig config = BoraConfig.builder().targetModules("proj").rank(2).blocks(4).build();
        torch.manual_seed(5);
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters adapters = BoraInjector.inject(model, config);
        AdapterFixtures.randomize(adapters);
        model.to(ScalarType.BFloat16, false); // after injecting: the adapters become bf16 too
        BoraAdapterFiles.save(tmp, adapters);
        try (SafetensorsReader r = SafetensorsReader.open(tmp.resolve("adapter_model.safetensors"))) {
            assertEquals(SafetensorsDtype.BF16, r.info("base_model.model.blocks.0.proj.bora_sigma").dtype());
        }
        torch.manual_seed(5);
        TestModel fresh = new TestModel(8, 16, 4);
        fresh.to(ScalarType.BFloat16, false);
        LoadedAdapter loaded = BoraAdapterFiles.load(tmp, fresh); // bf16 in the file, float32 adapters
        Tensor a = loaded.adapters().byModule().get("blocks.0.proj").loraA();
        assertEquals(ScalarType.Float, a.scalar_type().intern());
        assertTrue(torch.equal(a.to(ScalarType.BFloat16), adapters.byModule().get("blocks.0.proj").loraA()),
                "widened exactly");
        Tensor x = randn(ScalarType.Float, 3, 8).to(ScalarType.BFloat16);
        try (NoGradGuard ng = new NoGradGuard()) {
            // Sigma = exp(RMSNorm(P)) is now computed from float32 P: bf16 rounding apart
            double err = TorchTesting.relError(fresh.forward(x), model.forward(x));
            assertTrue(err < 2e-2, "bf16 outputs after load: relative error " + err);
        }
    }

    @Test
    void extraTensorWithAnAdapterKeyIsRefused() {
        BoraConfig config = BoraConfig.builder().targetModules("proj").rank(2).blocks(4).build();
        TestModel[] m = new TestModel[1];
        BoraAdapters adapters = adapted(m, 6, config);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BoraAdapterFiles.save(tmp, adapters, AdapterSaveOptions.none()
                        .withExtraTensor("blocks.0.proj.lora_A.weight", torch.zeros(2, 16))));
        assertTrue(e.getMessage().contains("has the name of an adapter tensor"), e.getMessage());
    }

    @Test
    void miniLmNamesRoundTrip() throws Exception {
        BoraConfig config = BoraConfig.builder().targetModules("query", "value").rank(4).blocks(4).alpha(8).build();
        torch.manual_seed(21);
        AdapterFixtures.MiniLmLike model = new AdapterFixtures.MiniLmLike(32, 64, 2, 3);
        BoraAdapters adapters = BoraInjector.inject(model, config);
        AdapterFixtures.randomize(adapters);
        assertEquals(List.of("encoder.layer.0.attention.self.query", "encoder.layer.0.attention.self.value",
                "encoder.layer.1.attention.self.query", "encoder.layer.1.attention.self.value"),
                List.copyOf(adapters.byModule().keySet()));
        Tensor x = randn(ScalarType.Float, 6, 32);
        Tensor expected;
        try (NoGradGuard ng = new NoGradGuard()) {
            expected = model.forward(x);
        }
        BoraAdapterFiles.save(tmp, adapters, AdapterSaveOptions.baseModel("sentence-transformers/all-MiniLM-L6-v2")
                .withExtraTensor("classifier.weight", model.classifier.weight()));
        torch.manual_seed(21);
        AdapterFixtures.MiniLmLike fresh = new AdapterFixtures.MiniLmLike(32, 64, 2, 3);
        LoadedAdapter loaded = BoraAdapterFiles.load(tmp, fresh);
        try (NoGradGuard ng = new NoGradGuard()) {
            assertTrue(torch.equal(fresh.forward(x), expected));
        }
        assertNotNull(fresh.layers[1][2].adapter());
        assertNull(fresh.layers[1][1].adapter(), "key is not a target");
        try (SafetensorsReader r = SafetensorsReader.open(tmp.resolve("adapter_model.safetensors"))) {
            assertTrue(r.tensors().containsKey(
                    "base_model.model.encoder.layer.1.attention.self.value.lora_B.weight"));
        }
        assertEquals(List.of("classifier"), loaded.config().modulesToSave());
    }

    @Test
    void aDivergedAdapterIsNotWrittenAnywhere() throws Exception {
        TestModel[] model = new TestModel[1];
        BoraAdapters adapters = adapted(model, 5, BoraConfig.builder().targetModules("proj", "head").rank(2)
                .blocks(2).build());
        try (NoGradGuard ng = new NoGradGuard()) {
            adapters.byModule().get("blocks.1.proj").loraB().select(0, 3).fill_(new Scalar(Double.NaN));
        }
        Path folder = tmp.resolve("diverged");
        Path lora = tmp.resolve("diverged-lora");
        Path merged = tmp.resolve("merged.safetensors");
        for (Executable write : List.<Executable>of(
                () -> BoraAdapterFiles.save(folder, adapters),
                () -> LoraExport.export(lora, adapters, AdapterSaveOptions.none()),
                () -> MergedWeights.export(merged, model[0]))) {
            IllegalStateException e = assertThrows(IllegalStateException.class, write);
            assertTrue(e.getMessage().contains("NaN or Inf") && e.getMessage().contains("nothing was written"),
                    e.getMessage());
        }
        assertFalse(Files.exists(folder) || Files.exists(lora)
                || Files.exists(merged), "a file or folder was created");
    }

    @Test
    void nullArgumentsAreNamed() {
        TestModel[] model = new TestModel[1];
        BoraAdapters adapters = adapted(model, 5, BoraConfig.builder().targetModules("head").build());
        for (Executable call : List.<Executable>of(
                () -> BoraAdapterFiles.save(null, adapters),
                () -> BoraAdapterFiles.load(null, model[0]),
                () -> BoraAdapterFiles.loadInto(null, adapters),
                () -> LoraExport.export(null, adapters, AdapterSaveOptions.none()),
                () -> LoraExport.export(tmp, adapters, null),
                () -> MergedWeights.export(null, model[0]))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
            assertTrue(e.getMessage().endsWith(" must not be null"), e.getMessage());
        }
    }
}
