package dev.bora4j.examples;

import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraInjector;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** The usage example of the README (the README shows the code between the markers). */
public final class QuickStart {

    private QuickStart() {
    }

    /** Runs the example; returns the first and the last training loss. */
    public static double[] run() {
        // README-BEGIN
        torch.set_num_threads(1);
        torch.manual_seed(0);
        Mlp model = new Mlp(16, 64, 4);                  // any Module tree built from AdaptableLinear
        BoraConfig config = BoraConfig.builder()
                .targetModules("fc1", "fc2")             // like PEFT's target_modules
                .rank(4).blocks(4).alpha(8)              // BoRA: 4 x 4 blocks of rank 4
                .build();
        BoraAdapters adapters = BoraInjector.inject(model, config); // freezes the base, adds adapters
        AdamW optimizer = new AdamW(adapters.parameters(), new AdamWOptions(1e-2));

        Tensor x = torch.randn(256, 16);
        Tensor target = x.narrow(1, 0, 4).sin();         // a task the frozen model cannot do
        double first = 0, last = 0;
        for (int step = 0; step < 300; step++) {
            try (PointerScope scope = new PointerScope()) { // frees each step's tensors and graph
                optimizer.zero_grad();
                Tensor loss = torch.mse_loss(model.forward(x), target);
                loss.backward();                         // gradients for A, B and Sigma
                optimizer.step();
                last = loss.item_double();
                first = step == 0 ? last : first;
            }
        }
        System.out.printf("loss %.4f -> %.4f with %d trainable parameters%n", first, last,
                adapters.trainableCount());
        adapters.merge();                                // fold the adapters into the weights
        // README-END
        return new double[] {first, last};
    }

    public static void main(String[] args) {
        run();
    }
}
