package example;

import dev.bora4j.nn.AdaptableLinear;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraInjector;
import dev.bora4j.train.GuardedStep;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** Trains one BoRA layer a few steps with the native kernels from the classifier jar, through GuardedStep. */
class TrainOneLayerTest {

    @Test
    void trainsOnNativeKernels() {
        torch.set_num_threads(1);
        torch.manual_seed(0);
        Module model = new Module();
        AdaptableLinear proj = model.register_module("proj", new AdaptableLinear(new LinearImpl(32, 16)));
        BoraAdapters adapters = BoraInjector.inject(model, BoraConfig.builder().targetModules("proj")
                .rank(4).blocks(4).backend(BoraConfig.Backend.NATIVE).build());
        AdamW optimizer = new AdamW(adapters.parameters(), new AdamWOptions(2e-2));
        GuardedStep guarded = new GuardedStep(optimizer, adapters.parameters(), 10.0, 5, System.out);
        Tensor x = torch.randn(128, 32);
        Tensor target = torch.randn(32, 16).div(new org.bytedeco.pytorch.Scalar(4)).t().matmul(x.t()).t();
        double first = 0, last = 0;
        for (int step = 0; step < 60; step++) {
            try (PointerScope scope = new PointerScope()) {
                boolean poisoned = step == 30; // one NaN loss: reported and skipped, not trained on
                GuardedStep.Outcome o = guarded.step(step, () -> {
                    Tensor loss = torch.mse_loss(proj.forward(x), target);
                    return poisoned ? loss.mul(new org.bytedeco.pytorch.Scalar(Double.NaN)) : loss;
                });
                if (o.applied()) {
                    last = o.loss();
                    first = step == 0 ? last : first;
                }
            }
        }
        System.out.printf("consumer: BoRA layer trained on native kernels, loss %.4f -> %.4f, %d step skipped%n",
                first, last, guarded.skipped());
        if (!(last < first) || guarded.skipped() != 1) {
            throw new IllegalStateException("the loss did not fall (" + first + " -> " + last + ") or the NaN step"
                    + " was not skipped once (" + guarded.skipped() + ")");
        }
    }
}
