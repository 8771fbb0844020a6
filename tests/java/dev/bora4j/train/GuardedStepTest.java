package dev.bora4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A user's training step through GuardedStep: applied when finite, skipped or undone otherwise. */
class GuardedStepTest {

    @BeforeAll
    static void oneThread() {
        torch.set_num_threads(1);
    }

    private final ByteArrayOutputStream report = new ByteArrayOutputStream();
    private final Tensor w;
    private final Tensor x;
    private final Tensor target;

    GuardedStepTest() {
        torch.manual_seed(11);
        w = torch.randn(4, 3).set_requires_grad(true);
        x = torch.randn(8, 4);
        target = torch.randn(8, 3);
    }

    private GuardedStep guarded(double lr, int maxSkips) {
        return guarded(new SGDOptions(lr), maxSkips);
    }

    private GuardedStep guarded(SGDOptions options, int maxSkips) {
        return new GuardedStep(new SGD(new TensorVector(w), options), new TensorVector(w), 1.0, maxSkips,
                new PrintStream(report, true, StandardCharsets.UTF_8));
    }

    private Tensor mse() {
        return torch.mse_loss(x.matmul(w), target);
    }

    private Tensor snapshot() {
        return w.detach().clone();
    }

    private String reported() {
        return report.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aFiniteStepIsAppliedWithItsGradientClipped() {
        GuardedStep step = guarded(0.1, 3);
        Tensor before = snapshot();
        Supplier<Tensor> scaled = () -> mse().mul(new Scalar(1e4)); // gradient norm far above 1
        GuardedStep.Outcome o = step.step(1, scaled);
        assertTrue(o.applied());
        assertTrue(o.gradNorm() > 1.0 && Double.isFinite(o.loss()), o.toString());
        double moved = torch.linalg_vector_norm(w.detach().sub(before)).item_double();
        assertEquals(0.1, moved, 1e-5, "SGD moved by lr times the clipped gradient norm (1)");
        assertFalse(w.grad().defined() && w.grad().abs().sum().item_double() != 0, "gradients are zeroed after");
        assertEquals(0, step.skipped());
        assertEquals("", reported());
    }

    @Test
    void aNonFiniteLossOrGradientSkipsTheStepAndLeavesTheParameters() {
        GuardedStep step = guarded(0.1, 3);
        Tensor before = snapshot();
        GuardedStep.Outcome nanLoss = step.step(7, () -> mse().mul(new Scalar(Double.NaN)));
        assertFalse(nanLoss.applied());
        assertTrue(torch.equal(w.detach(), before), "a NaN loss changed the parameters");
        assertTrue(reported().contains("step 7 skipped: loss = NaN"), reported());

        // finite loss (0), infinite gradient (d sqrt(u)/du at u = 0)
        GuardedStep.Outcome infGrad = step.step(8, () -> w.sub(w.detach()).sqrt().sum());
        assertFalse(infGrad.applied());
        assertEquals(0.0, infGrad.loss());
        assertTrue(torch.equal(w.detach(), before), "an infinite gradient changed the parameters");
        assertTrue(reported().contains("step 8 skipped: gradient norm = "), reported());
        assertEquals(2, step.skipped());

        assertTrue(step.step(9, this::mse).applied(), "a finite step afterwards is applied");
        assertFalse(torch.equal(w.detach(), before));
    }

    @Test
    void anUpdateThatMakesParametersNonFiniteIsUndone() {
        SGDOptions absurd = new SGDOptions(3e38);
        absurd.weight_decay().put(3e38); // w * 3e38 overflows float32: the update is infinite
        GuardedStep step = guarded(absurd, 3);
        Tensor before = snapshot();
        GuardedStep.Outcome o = step.step(2, this::mse);
        assertFalse(o.applied());
        assertTrue(Double.isFinite(o.loss()) && Double.isFinite(o.gradNorm()), o.toString());
        assertTrue(torch.equal(w.detach(), before), "the parameters from before the update are back, bit for bit");
        assertTrue(reported().contains("step 2 skipped: the update made parameters NaN or Inf; it was undone"),
                reported());
    }

    @Test
    void anOptimizerThatThrowsLeavesTheParametersAsTheyWere() {
        GuardedStep refused = guarded(1e39, 3); // torch refuses a learning rate beyond float32 in the update
        Tensor before = snapshot();
        RuntimeException e = assertThrows(RuntimeException.class, () -> refused.step(1, this::mse));
        assertTrue(String.valueOf(e.getMessage()).contains("overflow"), e.getMessage());
        assertTrue(torch.equal(w.detach(), before));

        GuardedStep failing = guarded(0.1, 3); // an error after the update has changed the parameters
        failing.afterUpdate = s -> {
            assertFalse(torch.equal(w.detach(), before), "the update ran");
            throw new IllegalStateException("failed part-way");
        };
        assertThrows(IllegalStateException.class, () -> failing.step(2, this::mse));
        assertTrue(torch.equal(w.detach(), before), "the parameters from before the update are back");
        assertFalse(w.grad().defined() && w.grad().abs().sum().item_double() != 0, "gradients are zeroed");
    }

    @Test
    void accumulatedMicroBatchesGiveTheUpdateOfTheWholeBatch() {
        Tensor start = snapshot();
        GuardedStep whole = guarded(0.1, 3);
        GuardedStep.Outcome one = whole.step(1, this::mse);
        Tensor afterWhole = snapshot();
        try (org.bytedeco.pytorch.NoGradGuard ng = new org.bytedeco.pytorch.NoGradGuard()) {
            w.copy_(start);
        }
        GuardedStep accumulated = guarded(0.1, 3);
        GuardedStep.Outcome two = accumulated.step(1, 2, i -> torch.mse_loss(x.narrow(0, 4L * i, 4).matmul(w),
                target.narrow(0, 4L * i, 4))); // equal halves: the mean of their means is the whole mean
        assertTrue(two.applied());
        assertEquals(one.loss(), two.loss(), 1e-6);
        assertEquals(one.gradNorm(), two.gradNorm(), 1e-6);
        double diff = w.detach().sub(afterWhole).abs().max().item_double();
        assertTrue(diff < 1e-6, "accumulated update differs from the whole batch's by " + diff);
        assertFalse(torch.equal(w.detach(), start), "it moved");
    }

    @Test
    void aNonFiniteMicroBatchSkipsTheWholeStep() {
        GuardedStep step = guarded(0.1, 3);
        Tensor before = snapshot();
        GuardedStep.Outcome o = step.step(4, 3, i -> i == 1 ? mse().mul(new Scalar(Double.NaN)) : mse());
        assertFalse(o.applied());
        assertTrue(Double.isNaN(o.loss()));
        assertTrue(torch.equal(w.detach(), before));
        assertTrue(reported().contains("step 4 skipped: loss = NaN"), reported());
        assertThrows(IllegalArgumentException.class, () -> step.step(5, 0, i -> mse()));
        String shape = assertThrows(IllegalArgumentException.class,
                () -> step.step(5, 2, i -> i == 0 ? mse() : x.matmul(w))).getMessage();
        assertTrue(shape.contains("one element"), shape);
        assertFalse(w.grad().defined() && w.grad().abs().sum().item_double() != 0,
                "the first micro-batch's gradient is discarded with the refused second");
        assertThrows(IllegalStateException.class, () -> step.step(6, 2, i -> {
            if (i == 1) {
                throw new IllegalStateException("the data loader failed");
            }
            return mse();
        }));
        assertFalse(w.grad().defined() && w.grad().abs().sum().item_double() != 0,
                "a micro-batch that throws leaves no gradients behind either");
        assertTrue(torch.equal(w.detach(), before));
    }

    @Test
    void tooManySkipsInARowMeanTheRunDiverged() {
        GuardedStep step = guarded(0.1, 2);
        step.step(1, () -> mse().mul(new Scalar(Double.POSITIVE_INFINITY)));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> step.step(2, () -> mse().mul(new Scalar(Double.NaN))));
        assertTrue(e.getMessage().contains("2 consecutive training steps") && e.getMessage().contains("diverged"),
                e.getMessage());
    }

    @Test
    void badArgumentsAreRefusedWithWhatToDo() {
        GuardedStep step = guarded(0.1, 3);
        Tensor before = snapshot();
        String shape = assertThrows(IllegalArgumentException.class, () -> step.step(1, () -> x.matmul(w))).getMessage();
        assertTrue(shape.contains("one element") && shape.contains("[8, 3]"), shape);
        String noGrad = assertThrows(IllegalArgumentException.class,
                () -> step.step(1, () -> torch.mse_loss(x.matmul(w.detach()), target))).getMessage();
        assertTrue(noGrad.contains("does not require gradients"), noGrad);
        assertTrue(torch.equal(w.detach(), before));

        SGD sgd = new SGD(new TensorVector(w), new SGDOptions(0.1));
        for (double clip : new double[] {0, -1, Double.NaN}) {
            assertThrows(IllegalArgumentException.class, () -> new GuardedStep(sgd, new TensorVector(w), clip, 3, null));
        }
        assertThrows(IllegalArgumentException.class, () -> new GuardedStep(sgd, new TensorVector(), 1.0, 3, null));
        assertThrows(IllegalArgumentException.class, () -> new GuardedStep(sgd, new TensorVector(w), 1.0, 0, null));
        assertThrows(IllegalArgumentException.class, () -> new GuardedStep(null, new TensorVector(w), 1.0, 3, null));
    }
}
