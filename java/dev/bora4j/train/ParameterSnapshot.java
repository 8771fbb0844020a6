package dev.bora4j.train;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The trainable tensors as they were before an optimizer step, so that a step whose update made
 * them non-finite (finite loss and gradients, but an absurd learning rate or weight decay) can be
 * undone instead of trained on and saved.
 */
final class ParameterSnapshot implements AutoCloseable {

    private final List<Tensor> parameters = new ArrayList<>();
    private final List<Tensor> copies = new ArrayList<>();

    ParameterSnapshot(TensorVector parameters) {
        try (NoGradGuard ng = new NoGradGuard()) {
            for (long i = 0; i < parameters.size(); i++) {
                Tensor p = parameters.get(i);
                this.parameters.add(p);
                try (Tensor detached = p.detach()) {
                    copies.add(detached.clone());
                }
            }
        }
    }

    /**
     * Whether every parameter holds only finite values now (after the step): one flag per
     * parameter, combined on the parameters' device and read once (one GPU sync, not one each).
     */
    boolean currentValuesFinite() {
        List<Tensor> flags = new ArrayList<>();
        try {
            for (Tensor p : parameters) {
                try (Tensor finite = torch.isfinite(p)) {
                    flags.add(finite.all());
                }
            }
            try (TensorVector vector = new TensorVector(flags.toArray(new Tensor[0]));
                 Tensor stacked = torch.stack(vector); Tensor all = stacked.all()) {
                return all.item_bool();
            } catch (RuntimeException parametersOnSeveralDevices) { // torch cannot stack across devices
                return flags.stream().allMatch(Tensor::item_bool);
            }
        } finally {
            flags.forEach(Tensor::close);
        }
    }

    /** Puts the values from before the step back. */
    void restore() {
        try (NoGradGuard ng = new NoGradGuard()) {
            for (int i = 0; i < parameters.size(); i++) {
                parameters.get(i).copy_(copies.get(i));
            }
        }
    }

    /** Frees the copies now rather than at the next garbage collection (a step may run without a PointerScope). */
    @Override
    public void close() {
        copies.forEach(Tensor::close);
        copies.clear();
    }
}
