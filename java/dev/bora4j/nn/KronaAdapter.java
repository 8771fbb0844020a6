package dev.bora4j.nn;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * KronA: dW = A ⊗ B (Kronecker product), A a1 x a2 and B (out/a1) x (in/a2), so that
 * dW[i1*p + i2, j1*q + j2] = A[i1, j1] * B[i2, j2] with p = out/a1, q = in/a2. The factor sizes
 * come from {@link BoraConfig#kronFactorsFor}; rank(dW) = rank(A) * rank(B). Parameters
 * {@code krona_A} (kaiming-uniform) and {@code krona_B} (zeros, so training starts at W0);
 * y = y0 + s * x dW^T with the config's scaling s. The forward pass never forms dW: it
 * contracts x, viewed as T x a2 x q, with B and then with A.
 */
public final class KronaAdapter extends ProductAdapter {

    private final long a1;
    private final long a2;
    private final long p;
    private final long q;

    public KronaAdapter(AdaptableLinear target, BoraConfig config) {
        this(checked(target, config), config, config.kronFactorsFor(target.outFeatures(), target.inFeatures()));
    }

    private KronaAdapter(AdaptableLinear target, BoraConfig config, int[] f) {
        super(target, config, "krona_A", new long[] {f[0], f[1]}, "krona_B",
                new long[] {target.outFeatures() / f[0], target.inFeatures() / f[1]});
        this.a1 = f[0];
        this.a2 = f[1];
        this.p = target.outFeatures() / f[0];
        this.q = target.inFeatures() / f[1];
    }

    private static AdaptableLinear checked(AdaptableLinear target, BoraConfig config) {
        if (target == null) {
            throw new IllegalArgumentException("target must not be null");
        }
        requireSingleBlock(config, BoraConfig.Mode.KRONA);
        return target;
    }

    /** A: a1 x a2. */
    public Tensor kronaA() {
        return new Tensor(first()); // a new handle: closing it leaves the adapter intact
    }

    /** B: (out/a1) x (in/a2). */
    public Tensor kronaB() {
        return new Tensor(second()); // a new handle: closing it leaves the adapter intact
    }

    @Override
    protected Tensor update(Tensor a, Tensor b) {
        return torch.kron(a, b);
    }

    @Override
    protected Tensor applyUpdate(Tensor x2d, Tensor a, Tensor b) {
        Tensor xr = x2d.reshape(-1, a2, q);
        Tensor z = torch.einsum("tjk,mk->tjm", new TensorVector(xr, b)); // B acts on the inner index
        Tensor y = torch.einsum("ij,tjm->tim", new TensorVector(a, z));  // A mixes the outer blocks
        return y.reshape(-1, a1 * p);
    }
}
