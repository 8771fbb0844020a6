package dev.bora4j.internal;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Whether a tensor holds NaN or Inf: the check every file reader and writer makes before trusting values. */
public final class FiniteValues {

    private FiniteValues() {
    }

    /** True when every value of {@code t} is finite; integer and bool tensors always are. */
    public static boolean all(Tensor t) {
        if (!torch.is_floating_point(t)) {
            return true;
        }
        try (Tensor finite = torch.isfinite(t); Tensor all = finite.all()) {
            return all.item_bool();
        }
    }
}
