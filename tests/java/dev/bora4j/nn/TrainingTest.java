package dev.bora4j.nn;

import static dev.bora4j.TorchTesting.randn;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.TestModel;
import dev.bora4j.TorchTesting;
import dev.bora4j.nn.BoraConfig.Backend;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** A small regression task the adapters can fit: the loss falls >= 10x, base weights never move. */
class TrainingTest {

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    @ParameterizedTest
    @MethodSource("dev.bora4j.Backends#both")
    void adamWLowersLossTenfoldAndLeavesBaseUntouched(Backend backend) {
        torch.manual_seed(3);
        TestModel model = new TestModel(8, 16, 4);
        BoraConfig cfg = BoraConfig.builder().targetModules("proj", "head").rank(4).blocks(2).alpha(8)
                .backend(backend).build();
        BoraAdapters adapters = BoraInjector.inject(model, cfg);
        List<Tensor> base = new ArrayList<>();
        List<Tensor> baseCopies = new ArrayList<>();
        for (Tensor p : model.parameters().get()) {
            if (!p.requires_grad()) {
                base.add(new Tensor(p)); // own handle: the vector's elements die with the vector
                baseCopies.add(p.detach().clone());
            }
        }
        Tensor x = randn(ScalarType.Float, 64, 8);
        Tensor target;
        try (NoGradGuard ng = new NoGradGuard()) {
            // targets from the same model with random adapter weights: a task adapters can fit
            for (BoraAdapter a : adapters.byModule().values()) {
                a.loraB().copy_(randn(ScalarType.Float, a.loraB().size(0), a.loraB().size(1)).mul(new Scalar(0.5)));
                a.sigmaParameter().copy_(randn(ScalarType.Float, 2, 2, 4).mul(new Scalar(0.5)));
            }
            target = model.forward(x).detach().clone();
            for (BoraAdapter a : adapters.byModule().values()) {
                a.loraB().zero_();
                a.sigmaParameter().zero_();
            }
        }
        AdamWOptions opts = new AdamWOptions(1e-2);
        opts.weight_decay().put(0.0);
        AdamW optimizer = new AdamW(adapters.parameters(), opts);
        double first = Double.NaN, last = Double.NaN;
        for (int step = 0; step < 400; step++) {
            try (PointerScope scope = new PointerScope()) {
                optimizer.zero_grad();
                Tensor loss = torch.mse_loss(model.forward(x), target);
                loss.backward();
                optimizer.step();
                last = loss.item_double();
                if (step == 0) {
                    first = last;
                }
            }
        }
        assertTrue(first > 0 && last * 10 <= first, backend + ": loss " + first + " -> " + last + " fell less than 10x");
        for (int i = 0; i < base.size(); i++) {
            assertTrue(torch.equal(base.get(i), baseCopies.get(i)), backend + ": base parameter " + i + " changed");
        }
    }
}
