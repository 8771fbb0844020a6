package dev.bora4j.adapters;

import static dev.bora4j.TorchTesting.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.TestModel;
import dev.bora4j.TorchTesting;
import dev.bora4j.io.SafetensorsTorch;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraInjector;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.pytorch.BatchNorm1dImpl;
import org.bytedeco.pytorch.BatchNormOptions;
import org.bytedeco.pytorch.LinearImpl;
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

/** Merged weights, loaded into plain Linear layers, reproduce the adapted model; the model is unchanged. */
class MergedWeightsTest {

    @TempDir
    Path dir;

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    static Stream<BoraConfig.Builder> kinds() {
        return Stream.concat(AdapterFixtures.kinds(), Stream.of(
                BoraConfig.builder().mode(BoraConfig.Mode.HIRA).rank(2).alpha(4),
                BoraConfig.builder().mode(BoraConfig.Mode.KRONA).kronFactors(2, 4).alpha(4)));
    }

    static LinearImpl plainLinear(Map<String, Tensor> w, String name) {
        Tensor weight = w.get(name + ".weight");
        LinearImpl l = new LinearImpl(weight.size(1), weight.size(0));
        try (NoGradGuard ng = new NoGradGuard()) {
            l.weight().copy_(weight);
            l.bias().copy_(w.get(name + ".bias"));
        }
        return l;
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void mergedWeightsReproduceTheAdaptedModel(BoraConfig.Builder kind) throws Exception {
        torch.manual_seed(23);
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters adapters = BoraInjector.inject(model, kind.targetModules("proj", "head").build());
        AdapterFixtures.randomize(adapters);
        Tensor w0 = model.proj1.base().weight().clone();
        Path file = dir.resolve("model.safetensors");
        MergedWeights.export(file, model);

        Map<String, Tensor> w = SafetensorsTorch.readAll(file);
        assertEquals(List.of("pre.bias", "pre.weight", "blocks.0.proj.bias", "blocks.0.proj.weight",
                "blocks.1.proj.bias", "blocks.1.proj.weight", "head.bias", "head.weight").stream().sorted().toList(),
                w.keySet().stream().sorted().toList());
        LinearImpl pre = plainLinear(w, "pre");
        LinearImpl p0 = plainLinear(w, "blocks.0.proj");
        LinearImpl p1 = plainLinear(w, "blocks.1.proj");
        LinearImpl head = plainLinear(w, "head");
        Tensor x = randn(ScalarType.Float, 6, 8);
        try (NoGradGuard ng = new NoGradGuard()) {
            Tensor adapted = model.forward(x);
            Tensor plain = head.forward(p1.forward(p0.forward(pre.forward(x).tanh()).tanh()).tanh());
            double err = TorchTesting.relError(plain, adapted);
            System.out.printf("merged weights %s: rel err %.3g%n", adapters.all().get("head").config(), err);
            assertTrue(err < 1e-5, "merged weights vs adapted model: relative error " + err);
            assertTrue(torch.equal(model.proj1.base().weight(), w0), "export changed the model's base weight");
            assertFalse(adapters.all().get("head").isMerged(), "export left the adapters merged");
            assertTrue(torch.equal(w.get("pre.weight"), model.pre.weight()), "unadapted weights are copied as is");
            assertTrue(TorchTesting.relError(w.get("blocks.1.proj.weight"), w0) > 1e-3, "the update was not merged");
        }
        // a model whose adapters are already merged exports the same weights
        adapters.merge();
        Map<String, Tensor> again = MergedWeights.compute(model);
        adapters.unmerge();
        TorchTesting.assertClose(again.get("head.weight"), w.get("head.weight"), 1e-6, "merged in place");
    }

    @Test
    void aSwitchedOffAdapterIsRefusedNotExportedAsIfOn() {
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters adapters = BoraInjector.inject(model, BoraConfig.builder().targetModules("head").build());
        try (BoraAdapters.Disabled off = adapters.disabled()) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> MergedWeights.compute(model));
            assertTrue(e.getMessage().contains("'head' is switched off"), e.getMessage());
        }
        assertEquals(8, MergedWeights.compute(model).size(), "switched on again: exported");
    }

    @Test
    void buffersAreExportedAfterTheParametersAndTheAdaptersOwnAreLeftOut() throws Exception {
        torch.manual_seed(9);
        NormModel model = new NormModel();
        // LORA mode keeps Sigma in a buffer of the adapter: it must not be exported
        BoraAdapters adapters = BoraInjector.inject(model,
                BoraConfig.builder().mode(BoraConfig.Mode.LORA).targetModules("proj").rank(2).build());
        AdapterFixtures.randomize(adapters);
        model.train(true);
        for (int i = 0; i < 2; i++) {
            model.forward(randn(ScalarType.Float, 16, 8).mul(new Scalar(2.0)).add(new Scalar(1.0)));
        }
        model.eval();
        Path file = dir.resolve("merged.safetensors");
        MergedWeights.export(file, model);

        List<String> names = List.of("norm.weight", "norm.bias", "proj.weight", "proj.bias", "norm.running_mean",
                "norm.running_var", "norm.num_batches_tracked");
        assertEquals(names, List.copyOf(MergedWeights.compute(model).keySet()), "parameters, then buffers");
        Map<String, Tensor> w = SafetensorsTorch.readAll(file);
        assertEquals(names.stream().sorted().toList(), w.keySet().stream().sorted().toList());
        assertTrue(torch.equal(w.get("norm.running_mean"), model.norm.running_mean()), "the trained statistics");
        assertEquals(2, w.get("norm.num_batches_tracked").item_long());

        BatchNorm1dImpl norm = new BatchNorm1dImpl(new BatchNormOptions(8));
        try (NoGradGuard ng = new NoGradGuard()) {
            norm.weight().copy_(w.get("norm.weight"));
            norm.bias().copy_(w.get("norm.bias"));
            norm.running_mean().copy_(w.get("norm.running_mean"));
            norm.running_var().copy_(w.get("norm.running_var"));
        }
        norm.eval();
        LinearImpl proj = plainLinear(w, "proj");
        Tensor x = randn(ScalarType.Float, 5, 8);
        try (NoGradGuard ng = new NoGradGuard()) {
            double err = TorchTesting.relError(proj.forward(norm.forward(x)), model.forward(x));
            assertTrue(err < 1e-6, "the plain model with the exported weights and statistics computes the same: " + err);
        }
    }
}
