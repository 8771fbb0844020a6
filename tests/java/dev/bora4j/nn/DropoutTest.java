package dev.bora4j.nn;

import static dev.bora4j.TorchTesting.assertClose;
import static dev.bora4j.TorchTesting.randn;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.TorchTesting;
import dev.bora4j.nn.BoraConfig.Backend;
import dev.bora4j.ops.BoraReference;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Dropout hits the adapter's input only, and only in training mode. */
class DropoutTest {

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    @ParameterizedTest
    @MethodSource("dev.bora4j.Backends#both")
    void dropoutOnAdapterPathOnly(Backend backend) {
        torch.manual_seed(4);
        Module model = new Module();
        AdaptableLinear layer = model.register_module("proj", new AdaptableLinear(new LinearImpl(16, 8)));
        BoraAdapters adapters = BoraInjector.inject(model, BoraConfig.builder().targetModules("proj").rank(2)
                .blocks(2).dropout(0.5).backend(backend).build());
        BoraAdapter a = adapters.byModule().get("proj");
        Tensor x = randn(ScalarType.Float, 32, 16);
        try (NoGradGuard ng = new NoGradGuard()) {
            a.loraB().copy_(randn(ScalarType.Float, 8, 2));
            Tensor base = layer.base().forward(x);
            Tensor full = BoraReference.forward(x, base, a.loraA(), a.loraB(), a.sigma(), a.scaling());
            model.train(false);
            assertClose(layer.forward(x), full, 1e-5, "eval mode: no dropout");
            model.train(true);
            Tensor trained = layer.forward(x);
            // the adapter's share differs from the undropped one, so dropout acted on its input ...
            double change = trained.sub(full).abs().max().item_double();
            assertTrue(change > 1e-3, "train mode output equals the undropped output");
            // ... and on nothing else: with B = 0 the output is exactly the base output
            a.loraB().zero_();
            assertTrue(torch.equal(layer.forward(x), base), "dropout reached the base path");
        }
    }
}
