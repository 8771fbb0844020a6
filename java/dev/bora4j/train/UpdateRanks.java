package dev.bora4j.train;

import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.TrainableAdapter;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The numerical rank of every adapter's update s * dW: how many singular values exceed the
 * paper's absolute threshold (0.005) and how many exceed {@value #RELATIVE} of the largest. The
 * absolute count depends on the scale of the update; the relative one does not.
 */
public final class UpdateRanks {

    public static final double ABSOLUTE = 0.005;
    public static final double RELATIVE = 1e-3;

    /** Rank counts of one update; both 0 for an update that is exactly zero. */
    public record Rank(int absolute, int relative, double largestSingularValue) {
    }

    private UpdateRanks() {
    }

    /** The rank of each adapter's update, by module name in model order. */
    public static Map<String, Rank> of(BoraAdapters adapters) {
        Map<String, Rank> ranks = new LinkedHashMap<>();
        for (Map.Entry<String, TrainableAdapter> e : adapters.all().entrySet()) {
            ranks.put(e.getKey(), of(e.getValue().deltaWeight()));
        }
        return ranks;
    }

    /** The rank of one matrix (computed in float64, so fp32 round-off does not add ranks). */
    public static Rank of(Tensor matrix) {
        try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
            Tensor s = torch.linalg_svdvals(matrix.detach().to(torch.ScalarType.Double));
            double largest = s.numel() == 0 ? 0 : s.max().item_double();
            if (!(largest > 0)) {
                return new Rank(0, 0, largest);
            }
            int absolute = (int) s.gt(new Scalar(ABSOLUTE)).sum().item_long();
            int relative = (int) s.gt(new Scalar(RELATIVE * largest)).sum().item_long();
            return new Rank(absolute, relative, largest);
        }
    }
}
