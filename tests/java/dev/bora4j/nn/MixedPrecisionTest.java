package dev.bora4j.nn;

import static dev.bora4j.TorchTesting.randn;
import static dev.bora4j.TorchTesting.relError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.TestModel;
import dev.bora4j.TorchTesting;
import dev.bora4j.nn.BoraConfig.Backend;
import dev.bora4j.nn.BoraConfig.Mode;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Adapters on a bfloat16 or float16 model have float32 parameters (PEFT's autocast_adapter_dtype),
 * compute in the model's dtype and get float32 gradients, so small optimizer steps are not lost.
 */
class MixedPrecisionTest {

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    static Stream<Arguments> cases() {
        return Stream.of(ScalarType.BFloat16, ScalarType.Half).flatMap(dtype -> Stream.of(
                Arguments.of(dtype, Mode.BORA, Backend.NATIVE), Arguments.of(dtype, Mode.BORA, Backend.REFERENCE),
                Arguments.of(dtype, Mode.HIRA, Backend.AUTO), Arguments.of(dtype, Mode.KRONA, Backend.AUTO)));
    }

    private static BoraAdapters adapted(TestModel model, Mode mode, Backend backend) {
        torch.manual_seed(11);
        BoraAdapters adapters = BoraInjector.inject(model, BoraConfig.builder().targetModules("proj", "head")
                .mode(mode).backend(backend).rank(2).blocks(mode == Mode.BORA ? 2 : 1).kronFactors(2, 4).build());
        try (NoGradGuard ng = new NoGradGuard()) {
            for (Tensor p : adapters.trainableParameters().values()) {
                p.copy_(randn(ScalarType.Float, p.sizes().vec().get()).mul(new org.bytedeco.pytorch.Scalar(0.3)));
            }
        }
        return adapters;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void halfModelsGetFloat32AdaptersThatComputeInTheModelsDtype(ScalarType dtype, Mode mode, Backend backend) {
        torch.manual_seed(4);
        TestModel half = new TestModel(8, 16, 4);
        torch.manual_seed(4);
        TestModel full = new TestModel(8, 16, 4);
        half.to(dtype, false);
        BoraAdapters halfAdapters = adapted(half, mode, backend);
        adapted(full, mode, backend);
        for (Tensor p : halfAdapters.trainableParameters().values()) {
            assertEquals(ScalarType.Float, p.scalar_type().intern(), "adapter parameters are float32");
        }
        Tensor x = randn(ScalarType.Float, 5, 8).to(dtype);
        Tensor y = half.forward(x);
        assertEquals(dtype, y.scalar_type().intern(), "outputs in the model's dtype");
        Tensor expected;
        try (NoGradGuard ng = new NoGradGuard()) {
            expected = full.forward(x.to(ScalarType.Float));
        }
        double err = relError(y.to(ScalarType.Float), expected);
        assertTrue(err < (dtype == ScalarType.Half ? 5e-3 : 3e-2), dtype + " " + mode + ": relative error " + err);

        y.to(ScalarType.Float).square().sum().backward();
        for (var e : halfAdapters.trainableParameters().entrySet()) {
            Tensor g = e.getValue().grad();
            assertTrue(g.defined() && g.scalar_type().intern() == ScalarType.Float, "float32 gradient of " + e.getKey());
            assertTrue(torch.isfinite(g).all().item_bool() && g.abs().sum().item_double() > 0, e.getKey());
        }

        Tensor adaptedOutput;
        try (NoGradGuard ng = new NoGradGuard()) {
            adaptedOutput = half.forward(x).to(ScalarType.Float);
        }
        halfAdapters.merge();
        try (NoGradGuard ng = new NoGradGuard()) {
            double mergedErr = relError(half.forward(x).to(ScalarType.Float), adaptedOutput);
            assertTrue(mergedErr < 3e-2, "merged " + dtype + " model: relative error " + mergedErr);
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void smallOptimizerStepsReachTheParameters(ScalarType dtype, Mode mode, Backend backend) {
        torch.manual_seed(4);
        TestModel model = new TestModel(8, 16, 4);
        model.to(dtype, false);
        BoraAdapters adapters = adapted(model, mode, backend);
        Tensor first = adapters.trainableParameters().values().iterator().next();
        Tensor before = first.clone();
        AdamW optimizer = new AdamW(adapters.parameters(), new AdamWOptions(1e-4));
        Tensor x = randn(ScalarType.Float, 32, 8).to(dtype);
        for (int step = 0; step < 5; step++) {
            try (PointerScope scope = new PointerScope()) {
                optimizer.zero_grad();
                model.forward(x).to(ScalarType.Float).square().mean().backward();
                optimizer.step();
            }
        }
        // AdamW moves every entry by about 5e-4; in bfloat16 (an ulp of 2e-3 near 0.3) most would round back
        double unchanged = first.eq(before).to(ScalarType.Float).mean().item_double();
        assertTrue(unchanged < 0.01, String.format("%.1f%% of the entries did not move", 100 * unchanged));
    }
}
