package dev.bora4j.bench;

import dev.bora4j.internal.ProcessMemory;
import dev.bora4j.ops.BoraFunction;
import dev.bora4j.ops.BoraReference;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Resident memory during backward through a chain of BoRA layers (each y = x + BoRA(x), then
 * tanh), through the native autograd bridge or the pure-torch reference: how much a step's
 * backward adds on top of the forward's activations, the largest over three steps. Run each
 * path in its own JVM (the allocator keeps freed memory): usage
 * {@code BackwardMemory native|reference [layers tokens features]}, default 12 4096 1024, r = 8,
 * b = 4, float32.
 */
public final class BackwardMemory {

    private BackwardMemory() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1 && args.length != 4 || !args[0].matches("native|reference")) {
            System.err.println("usage: BackwardMemory native|reference [layers tokens features]");
            System.exit(2);
        }
        boolean nativePath = args[0].equals("native");
        int layers = args.length == 4 ? Integer.parseInt(args[1]) : 12;
        long tokens = args.length == 4 ? Long.parseLong(args[2]) : 4096;
        long features = args.length == 4 ? Long.parseLong(args[3]) : 1024;
        long rank = 8;
        long blocks = 4;
        torch.set_num_threads(1);
        torch.manual_seed(0);
        List<Tensor[]> weights = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            Tensor a = torch.randn(rank, features).mul_(new Scalar(0.03));
            Tensor b = torch.randn(features, rank).mul_(new Scalar(0.03));
            Tensor s = torch.randn(blocks, blocks, rank);
            for (Tensor t : new Tensor[] {a, b, s}) {
                t.requires_grad_(true);
            }
            weights.add(new Tensor[] {a, b, s});
        }
        Tensor input = torch.randn(tokens, features);
        double worst = 0;
        for (int step = 0; step < 3; step++) {
            try (PointerScope scope = new PointerScope()) {
                Tensor w = torch.randn(features, features).mul_(new Scalar(0.03));
                w.requires_grad_(true);
                Tensor x = input.matmul(w); // so that every layer also computes dx
                for (Tensor[] p : weights) {
                    x = nativePath ? BoraFunction.apply(x, x, p[0], p[1], p[2], 1.0)
                            : BoraReference.forward(x, x, p[0], p[1], p[2], 1.0);
                    x = x.tanh();
                }
                Tensor loss = x.sum();
                double before = ProcessMemory.statusMiB("VmRSS:");
                loss.backward();
                double peak = ProcessMemory.statusMiB("VmHWM:");
                worst = Math.max(worst, peak - before);
                System.out.printf("%s step %d: RSS %.0f MiB before backward, peak so far %.0f MiB%n", args[0], step,
                        before, peak);
            }
        }
        System.out.printf("%s: %d layers, T = %d, n = m = %d: backward added at most %.0f MiB over the RSS before"
                + " it (peak %.0f MiB)%n", args[0], layers, tokens, features, worst,
                ProcessMemory.statusMiB("VmHWM:"));
    }
}
