package dev.bora4j.ops;

import static dev.bora4j.TorchTesting.assertClose;
import static dev.bora4j.TorchTesting.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.TorchTesting;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The pure-torch reference against the definition written block by block. */
class BoraReferenceTest {

    @BeforeAll
    static void init() {
        TorchTesting.init();
        torch.manual_seed(11);
    }

    /** dW built as the b x b grid of B_i diag(S[i][j]) A_j with explicit matmuls. */
    static Tensor blockwiseDelta(Tensor a, Tensor b, Tensor s, long nb) {
        long r = a.size(0), n = a.size(1), m = b.size(0);
        Tensor dw = torch.zeros(new long[] {m, n}, TorchTesting.options(a.scalar_type()));
        for (long i = 0; i < nb; i++) {
            Tensor bi = b.narrow(0, i * (m / nb), m / nb);
            for (long j = 0; j < nb; j++) {
                Tensor aj = a.narrow(1, j * (n / nb), n / nb);
                Tensor block = bi.mul(s.select(0, i).select(0, j)).matmul(aj);
                dw.narrow(0, i * (m / nb), m / nb).narrow(1, j * (n / nb), n / nb).copy_(block);
            }
        }
        return dw;
    }

    @Test
    void forwardMatchesBlockwiseDefinition() {
        long t = 7, n = 12, m = 8, r = 3, nb = 4;
        Tensor x = randn(ScalarType.Double, 2, t, n);
        Tensor y0 = randn(ScalarType.Double, 2, t, m);
        Tensor a = randn(ScalarType.Double, r, n);
        Tensor b = randn(ScalarType.Double, m, r);
        Tensor s = randn(ScalarType.Double, nb, nb, r);
        double scale = 0.75;
        Tensor y = BoraReference.forward(x, y0, a, b, s, scale);
        Tensor expected = y0.add(x.matmul(blockwiseDelta(a, b, s, nb).t()).mul(new Scalar(scale)));
        assertEquals(3, y.dim());
        assertClose(y, expected, 1e-12, "y");
        assertClose(BoraReference.deltaWeight(a, b, s, scale), blockwiseDelta(a, b, s, nb).mul(new Scalar(scale)),
                1e-12, "dW");
    }

    @Test
    void rankReachesMinOfBlocksTimesRankAndSizes() {
        long n = 24, m = 16, r = 2, nb = 4;
        Tensor dw = BoraReference.deltaWeight(randn(ScalarType.Double, r, n), randn(ScalarType.Double, m, r),
                randn(ScalarType.Double, nb, nb, r), 1.0);
        long rank = torch.linalg_matrix_rank(dw).item().toLong();
        assertEquals(Math.min(nb * r, Math.min(m, n)), rank);
    }

    @Test
    void rejectsBadShapes() {
        Tensor a = randn(ScalarType.Float, 2, 8);
        Tensor b = randn(ScalarType.Float, 8, 2);
        Tensor s = randn(ScalarType.Float, 4, 4, 2);
        Tensor x = randn(ScalarType.Float, 5, 8);
        Tensor y0 = randn(ScalarType.Float, 5, 8);
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> BoraReference.forward(randn(ScalarType.Float, 5, 6), y0, a, b, s, 1)).getMessage()
                .contains("x must be [..., n]"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> BoraReference.forward(x, y0, a, b, randn(ScalarType.Float, 3, 3, 2), 1)).getMessage()
                .contains("must divide"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> BoraReference.forward(x, y0, a, randn(ScalarType.Float, 8, 3), s, 1)).getMessage()
                .contains("B must be m x r"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> BoraReference.forward(null, y0, a, b, s, 1)).getMessage().contains("x must be a defined"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> BoraReference.forward(x, randn(ScalarType.Float, 4, 8), a, b, s, 1)).getMessage()
                .contains("same leading sizes"));
    }
}
