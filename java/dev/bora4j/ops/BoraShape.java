package dev.bora4j.ops;

import org.bytedeco.pytorch.Tensor;

/**
 * The sizes of one BoRA call, checked: x [..., n] (flattened to T x n), y [..., m], A r x n,
 * B m x r, S b x b x r, with b dividing n and m. Construction fails with an
 * {@link IllegalArgumentException} that names the argument and says what to change.
 */
public record BoraShape(long tokens, long in, long out, long rank, long blocks) {

    /** Checks the weights A (r x n), B (m x r) and S (b x b x r) against each other. */
    public static BoraShape ofWeights(Tensor a, Tensor b, Tensor s) {
        requireNonNull(a, "A");
        requireNonNull(b, "B");
        requireNonNull(s, "S");
        requireDims(a, 2, "A", "r x n");
        requireDims(b, 2, "B", "m x r");
        requireDims(s, 3, "S", "b x b x r");
        long rank = a.size(0);
        long in = a.size(1);
        long out = b.size(0);
        long blocks = s.size(0);
        if (b.size(1) != rank) {
            throw new IllegalArgumentException("B must be m x r with r = " + rank + " (the rows of A), but B is "
                    + sizes(b));
        }
        if (s.size(1) != blocks || s.size(2) != rank) {
            throw new IllegalArgumentException("S must be b x b x r = " + blocks + " x " + blocks + " x " + rank
                    + ", but S is " + sizes(s));
        }
        if (rank <= 0 || in <= 0 || out <= 0 || blocks <= 0) {
            throw new IllegalArgumentException("all sizes must be positive: A is " + sizes(a) + ", B is " + sizes(b)
                    + ", S is " + sizes(s));
        }
        if (in % blocks != 0 || out % blocks != 0) {
            throw new IllegalArgumentException("the block count b = " + blocks + " must divide both n = " + in
                    + " and m = " + out + "; choose b among the common divisors of n and m");
        }
        return new BoraShape(0, in, out, rank, blocks);
    }

    /** Checks a whole call: the weights, x [..., n] and y [..., m] with the same leading sizes. */
    public static BoraShape of(Tensor x, Tensor y, Tensor a, Tensor b, Tensor s) {
        requireNonNull(x, "x");
        requireNonNull(y, "y");
        BoraShape w = ofWeights(a, b, s);
        if (x.dim() < 1 || x.size(-1) != w.in) {
            throw new IllegalArgumentException("x must be [..., n] with n = " + w.in + " (the columns of A), but x is "
                    + sizes(x));
        }
        if (y.dim() != x.dim() || y.size(-1) != w.out) {
            throw new IllegalArgumentException("y must be [..., m] with m = " + w.out + " (the rows of B) and the same"
                    + " leading sizes as x " + sizes(x) + ", but y is " + sizes(y));
        }
        long tokens = 1;
        for (int d = 0; d < x.dim() - 1; d++) {
            if (x.size(d) != y.size(d)) {
                throw new IllegalArgumentException("x " + sizes(x) + " and y " + sizes(y)
                        + " must have the same leading sizes");
            }
            tokens = Math.multiplyExact(tokens, x.size(d));
        }
        if (tokens == 0) {
            throw new IllegalArgumentException("x " + sizes(x) + " holds no tokens");
        }
        return new BoraShape(tokens, w.in, w.out, w.rank, w.blocks);
    }

    static void requireNonNull(Tensor t, String name) {
        if (t == null || t.isNull() || !t.defined()) {
            throw new IllegalArgumentException(name + " must be a defined tensor, but it is null or undefined");
        }
    }

    private static void requireDims(Tensor t, int dims, String name, String layout) {
        if (t.dim() != dims) {
            throw new IllegalArgumentException(name + " must have " + dims + " dimensions (" + layout + "), but it is "
                    + sizes(t));
        }
    }

    /** The sizes of a tensor. */
    public static long[] shape(Tensor t) {
        long[] sizes = new long[(int) t.dim()];
        for (int d = 0; d < sizes.length; d++) {
            sizes[d] = t.size(d);
        }
        return sizes;
    }

    /** The sizes of a tensor as "[2, 3]". */
    public static String sizes(Tensor t) {
        return java.util.Arrays.toString(shape(t));
    }
}
