package dev.bora4j.examples;

import dev.bora4j.nn.BoraAdapter;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraInjector;
import dev.bora4j.ops.BoraOps;
import dev.bora4j.train.GuardedStep;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

import java.io.PrintStream;

/**
 * Fine-tuning with BoRA adapters end to end on the CPU: an MLP is first trained in full on one
 * task (y = sin(x W) for a fixed W), then frozen and adapted with BoRA to a related task (a
 * rotated W and a shifted phase), printing the loss as it falls; finally the adapters are merged
 * and the merged model is checked against the adapted one.
 */
public final class FineTuneExample {

    private FineTuneExample() {
    }

    /** What the example measured: the fine-tuning loss before and after, and the merge check. */
    public record Result(double firstLoss, double lastLoss, double mergedMaxDifference, long fc1UpdateRank) {
    }

    /** Usage: {@code FineTuneExample [steps]}, the BoRA fine-tuning steps (default 600). */
    public static void main(String[] args) {
        int steps = 600;
        if (args.length > 0) {
            try {
                steps = Integer.parseInt(args[0].strip());
            } catch (NumberFormatException e) {
                steps = 0;
            }
        }
        if (args.length > 1 || steps < 1) {
            System.err.println("usage: FineTuneExample [steps], steps a whole number >= 1 (default 600); got "
                    + String.join(" ", args));
            System.exit(2);
        }
        run(steps, System.out);
    }

    /** Runs the example with {@code steps} BoRA fine-tuning steps, printing to {@code out}. */
    public static Result run(int steps, PrintStream out) {
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        }
        torch.set_num_threads(1);
        torch.manual_seed(1);
        long in = 32, hidden = 128, outputs = 8, examples = 1024;
        Tensor w = torch.randn(in, outputs).div(new Scalar(Math.sqrt(in)));
        Tensor x = torch.randn(examples, in);
        Tensor pretrainTarget = x.matmul(w).mul(new Scalar(2)).sin();
        Tensor rotation = torch.randn(outputs, outputs).mul(new Scalar(0.4)).add(torch.eye(outputs));
        Tensor fineTuneTarget = x.matmul(w.matmul(rotation)).mul(new Scalar(2)).add(new Scalar(0.3)).sin();

        Mlp model = new Mlp(in, hidden, outputs);
        out.println("1) pre-training the full model (" + countParameters(model) + " parameters)");
        train(model, model.parameters(), new AdamWOptions(3e-3), x, pretrainTarget, 800, 200, out);

        BoraConfig config = BoraConfig.builder().targetModules("fc1", "fc2").rank(4).blocks(4).alpha(8).build();
        BoraAdapters adapters = BoraInjector.inject(model, config);
        out.println("2) BoRA fine-tuning on the new task: " + config);
        out.println("   backend: " + (BoraOps.isNativeAvailable() ? "native kernels" : "pure-torch reference")
                + ", " + adapters.trainableCount() + " trainable parameters");
        AdamWOptions opts = new AdamWOptions(1e-2);
        opts.weight_decay().put(0.0);
        double[] losses = train(model, adapters.parameters(), opts, x, fineTuneTarget, steps, Math.max(1, steps / 10),
                out);
        out.printf("   loss %.5f -> %.5f (%.1fx lower)%n", losses[0], losses[1], losses[0] / losses[1]);

        try (NoGradGuard ng = new NoGradGuard()) {
            Tensor adapted = model.forward(x);
            adapters.merge();
            double diff = model.forward(x).sub(adapted).abs().max().item_double();
            out.printf("3) merged into the base weights: max |merged - adapted| = %.2e%n", diff);
            BoraAdapter fc1 = adapters.byModule().get("fc1");
            long rank = torch.linalg_matrix_rank(fc1.deltaWeight()).item().toLong();
            out.printf("   rank of fc1's update: %d (LoRA of rank %d would give at most %d)%n", rank, config.rank(),
                    config.rank());
            return new Result(losses[0], losses[1], diff, rank);
        }
    }

    /**
     * Trains for {@code steps}, printing every {@code every}; returns the first and last loss.
     * Each step goes through {@link GuardedStep}: a step with a NaN or Inf loss or gradient is
     * reported and skipped instead of trained on (no clipping here: the norm is only measured).
     */
    static double[] train(Mlp model, TensorVector parameters, AdamWOptions options, Tensor x, Tensor target, int steps,
                          int every, PrintStream out) {
        AdamW optimizer = new AdamW(parameters, options);
        GuardedStep guarded = new GuardedStep(optimizer, parameters, Double.POSITIVE_INFINITY, 10, out);
        double first = 0, last = 0;
        for (int step = 0; step < steps; step++) {
            try (PointerScope scope = new PointerScope()) {
                last = guarded.step(step, () -> torch.mse_loss(model.forward(x), target)).loss();
                if (step == 0) {
                    first = last;
                }
                if (step % every == 0 || step == steps - 1) {
                    out.printf("   step %4d  loss %.5f%n", step, last);
                }
            }
        }
        return new double[] {first, last};
    }

    private static long countParameters(Mlp model) {
        long n = 0;
        for (Tensor p : model.parameters().get()) {
            n += p.numel();
        }
        return n;
    }
}
