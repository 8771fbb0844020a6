package dev.bora4j.nn;

import static dev.bora4j.TorchTesting.randn;

import dev.bora4j.TestModel;
import dev.bora4j.nn.BoraConfig.Mode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A {@link TestModel} with adapters on "proj" and "head" whose update is not zero, an input, and
 * the model's outputs from before the adapters existed.
 */
record AdaptedModel(TestModel model, BoraAdapters adapters, Tensor x, Tensor baseOutput) {

    static AdaptedModel of(Mode mode) {
        torch.manual_seed(3);
        TestModel model = new TestModel(8, 16, 4);
        Tensor x = randn(ScalarType.Float, 5, 8);
        Tensor baseOutput;
        try (NoGradGuard ng = new NoGradGuard()) {
            baseOutput = model.forward(x).clone();
        }
        BoraAdapters adapters = BoraInjector.inject(model, BoraConfig.builder().targetModules("proj", "head")
                .mode(mode).rank(2).blocks(mode == Mode.BORA ? 2 : 1).kronFactors(2, 4).build());
        try (NoGradGuard ng = new NoGradGuard()) {
            for (Tensor p : adapters.trainableParameters().values()) {
                p.copy_(randn(ScalarType.Float, p.sizes().vec().get()).mul(new Scalar(0.5)));
            }
        }
        return new AdaptedModel(model, adapters, x, baseOutput);
    }

    /** The model's outputs on x now. */
    Tensor outputs() {
        try (NoGradGuard ng = new NoGradGuard()) {
            return model.forward(x).clone();
        }
    }
}
