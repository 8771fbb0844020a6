package dev.bora4j.ops;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * BoRA written with plain torch ops (einsum), differentiated by torch autograd. It is the
 * oracle the native kernels are tested against, the fallback where no native build exists, and
 * the "PyTorch eager" peer in benchmarks. Works for any dtype and device torch supports.
 */
public final class BoraReference {

    private BoraReference() {
    }

    /**
     * Returns y0 + scale * BoRA(x), with x [..., n] and y0 [..., m] (y0 usually x W0^T + bias).
     * Differentiable in every argument.
     */
    public static Tensor forward(Tensor x, Tensor y0, Tensor a, Tensor b, Tensor s, double scale) {
        BoraShape sh = BoraShape.of(x, y0, a, b, s);
        return y0.add(adapterOutput(x, a, b, s, scale, sh).view(y0.sizes()));
    }

    /** scale * BoRA(x) as T x m. */
    static Tensor adapterOutput(Tensor x, Tensor a, Tensor b, Tensor s, double scale, BoraShape sh) {
        long t = sh.tokens(), n = sh.in(), m = sh.out(), r = sh.rank(), nb = sh.blocks();
        Tensor xb = x.reshape(t, nb, n / nb);
        Tensor ab = a.view(r, nb, n / nb);
        Tensor bb = b.view(nb, m / nb, r);
        Tensor u = einsum("tjk,rjk->tjr", xb, ab);   // U[t,j,:] = A_j x[t, j-block]
        Tensor v = einsum("tjr,ijr->tir", u, s);     // V[t,i,:] = sum_j S[i,j,:] * U[t,j,:]
        Tensor out = einsum("tir,imr->tim", v, bb);  // B_i V[t,i,:]
        return out.reshape(t, m).mul(new Scalar(scale));
    }

    /** scale * dW, m x n, block (i, j) = B_i diag(S[i][j]) A_j. Differentiable. */
    public static Tensor deltaWeight(Tensor a, Tensor b, Tensor s, double scale) {
        BoraShape sh = BoraShape.ofWeights(a, b, s);
        long n = sh.in(), m = sh.out(), r = sh.rank(), nb = sh.blocks();
        Tensor dw = einsum("imr,ijr,rjk->imjk", b.view(nb, m / nb, r), s, a.view(r, nb, n / nb));
        return dw.reshape(m, n).mul(new Scalar(scale));
    }

    private static Tensor einsum(String equation, Tensor... operands) {
        return torch.einsum(equation, new TensorVector(operands));
    }
}
