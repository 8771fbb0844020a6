package dev.bora4j.train;

import java.io.PrintStream;
import java.util.function.IntFunction;
import java.util.function.LongConsumer;
import java.util.function.Supplier;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * One optimizer step that is never trained on NaN or Inf, for a training loop of your own: it
 * computes the loss, back-propagates, clips the gradients to a total norm, and applies the
 * update only when the loss and the gradient norm are finite; an update that makes a parameter
 * non-finite (finite gradients, but an absurd learning rate or weight decay) is undone. Each
 * skipped step is reported with its reason; after {@code maxConsecutiveSkips} in a row the run
 * has diverged and {@link #step} throws. The gradients are zeroed before and after every step.
 *
 * <pre>{@code
 * GuardedStep guarded = new GuardedStep(optimizer, adapters.parameters(), 1.0, 20, System.err);
 * for (long step = 1; step <= steps; step++) {
 *     try (PointerScope scope = new PointerScope()) {
 *         GuardedStep.Outcome o = guarded.step(step, () -> torch.mse_loss(model.forward(x), target));
 *     }
 * }
 * }</pre>
 *
 * <p>An undone update restores the parameters, not the optimizer's state: AdamW's moments keep
 * that step's (finite) gradient. To undo it, each applied step copies the parameters first: as
 * much memory again as they take, which is little for adapters and a head.
 */
public final class GuardedStep {

    /** What a step did: its loss, its gradient norm before clipping, and whether it was applied. */
    public record Outcome(double loss, double gradNorm, boolean applied) {
    }

    private final Optimizer optimizer;
    private final TensorVector parameters;
    private final double clipNorm;
    private final NonFiniteGuard guard;
    /** Runs right after the optimizer's update: lets tests make an update non-finite. */
    LongConsumer afterUpdate = step -> { };

    /**
     * @param optimizer the optimizer that updates {@code parameters}
     * @param parameters the tensors whose gradients are clipped and checked and whose update is
     *     undone when non-finite: every tensor the optimizer updates
     * @param clipNorm the largest total gradient norm (2-norm over all parameters); larger ones
     *     are scaled down to it. {@code Double.POSITIVE_INFINITY} measures without clipping
     * @param maxConsecutiveSkips how many skipped steps in a row mean the run has diverged
     * @param report where skipped steps are reported (null: nowhere)
     */
    public GuardedStep(Optimizer optimizer, TensorVector parameters, double clipNorm, int maxConsecutiveSkips,
                       PrintStream report) {
        if (optimizer == null || parameters == null) {
            throw new IllegalArgumentException("optimizer and parameters must not be null");
        }
        if (parameters.size() == 0) {
            throw new IllegalArgumentException("parameters is empty: pass the tensors the optimizer trains");
        }
        if (!(clipNorm > 0)) {
            throw new IllegalArgumentException("clipNorm must be > 0 (Double.POSITIVE_INFINITY for no clipping), got "
                    + clipNorm);
        }
        this.optimizer = optimizer;
        this.parameters = parameters;
        this.clipNorm = clipNorm;
        this.guard = new NonFiniteGuard(maxConsecutiveSkips, report);
    }

    /**
     * Computes {@code loss.get()} (a scalar that depends on the parameters), back-propagates it and
     * applies the optimizer's update if everything is finite.
     *
     * @param step the step's number, for the report
     * @throws IllegalArgumentException if the loss is not a scalar or does not require gradients
     * @throws IllegalStateException after {@code maxConsecutiveSkips} skipped steps in a row
     */
    public Outcome step(long step, Supplier<Tensor> loss) {
        return step(step, 1, i -> loss.get());
    }

    /**
     * One update from {@code microBatches} losses with their gradients accumulated, as Hugging
     * Face's {@code gradient_accumulation_steps}: {@code loss.apply(i)} is micro-batch i's loss
     * (a mean over its examples), back-propagated scaled by 1 / microBatches right away so that
     * only one micro-batch's graph is alive at a time; the update sees the mean of their
     * gradients and the outcome reports the mean loss. A non-finite loss in any micro-batch skips
     * the whole step.
     *
     * @param step the step's number, for the report
     * @throws IllegalArgumentException if microBatches is below 1, or a loss is not a scalar or
     *     does not require gradients; on this or any exception from a micro-batch the gradients
     *     accumulated so far are discarded
     * @throws IllegalStateException after {@code maxConsecutiveSkips} skipped steps in a row
     */
    public Outcome step(long step, int microBatches, IntFunction<Tensor> loss) {
        if (microBatches < 1) {
            throw new IllegalArgumentException("microBatches must be >= 1, got " + microBatches);
        }
        optimizer.zero_grad();
        double lossSum = 0;
        try {
            for (int i = 0; i < microBatches; i++) {
                Tensor value = loss.apply(i);
                requireScalarLoss(value);
                // with one micro-batch the loss is used as it is: the same graph as without accumulation
                Tensor scaled = microBatches == 1 ? value : value.div(new Scalar((double) microBatches));
                scaled.backward();
                lossSum += value.item_double();
            }
        } catch (RuntimeException e) { // a refused loss or a failing micro-batch leaves no gradients behind
            optimizer.zero_grad();
            throw e;
        }
        double lossValue = lossSum / microBatches;
        double norm = torch.clip_grad_norm_(parameters, clipNorm);
        boolean applied = guard.check(step, lossValue, norm);
        if (applied) {
            try (ParameterSnapshot before = new ParameterSnapshot(parameters)) {
                try {
                    optimizer.step();
                    afterUpdate.accept(step);
                } catch (RuntimeException e) { // a torch error part-way through leaves no half-updated parameters
                    before.restore();
                    optimizer.zero_grad();
                    throw e;
                }
                applied = guard.checkUpdate(step, before.currentValuesFinite());
                if (!applied) {
                    before.restore();
                }
            }
        }
        optimizer.zero_grad();
        return new Outcome(lossValue, norm, applied);
    }

    private static void requireScalarLoss(Tensor value) {
        if (value == null || value.numel() != 1) {
            throw new IllegalArgumentException("the loss must be a tensor with one element, got "
                    + (value == null ? "null" : "shape " + java.util.Arrays.toString(value.sizes().vec().get())));
        }
        if (!value.requires_grad()) {
            throw new IllegalArgumentException("the loss does not require gradients: it does not depend on any"
                    + " trainable tensor (computed under a NoGradGuard, or from frozen parameters only?)");
        }
    }

    /** How many steps were skipped or undone so far. */
    public long skipped() {
        return guard.skipped();
    }
}
