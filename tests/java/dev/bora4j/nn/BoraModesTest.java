package dev.bora4j.nn;

import static dev.bora4j.TorchTesting.assertClose;
import static dev.bora4j.TorchTesting.randn;

import dev.bora4j.TorchTesting;
import dev.bora4j.nn.BoraConfig.Backend;
import dev.bora4j.nn.BoraConfig.Mode;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** LORA and MELORA modes against independent plain-torch implementations, outputs and gradients. */
class BoraModesTest {

    static final long IN = 12, OUT = 8, TOKENS = 10;
    static final int R = 3;

    @BeforeAll
    static void init() {
        TorchTesting.init();
        torch.manual_seed(5);
    }

    private static BoraAdapter adapter(Mode mode, int blocks, Backend backend, AdaptableLinear layer) {
        BoraConfig.Builder b = BoraConfig.builder().targetModules("x").rank(R).alpha(6).mode(mode).backend(backend);
        if (mode != Mode.LORA) {
            b.blocks(blocks);
        }
        BoraAdapter a = new BoraAdapter(layer, b.build());
        try (NoGradGuard ng = new NoGradGuard()) {
            a.loraB().copy_(randn(ScalarType.Float, OUT, R)); // B = 0 would make the check trivial
        }
        layer.setAdapter(a);
        return a;
    }

    @ParameterizedTest
    @MethodSource("dev.bora4j.Backends#both")
    void loraEqualsPlainLora(Backend backend) {
        AdaptableLinear layer = new AdaptableLinear(new LinearImpl(IN, OUT));
        BoraAdapter a = adapter(Mode.LORA, 1, backend, layer);
        Tensor x = randn(ScalarType.Float, TOKENS, IN);
        x.set_requires_grad(true);
        Tensor y = layer.forward(x);
        Tensor w = randn(ScalarType.Float, TOKENS, OUT);
        y.mul(w).sum().backward();

        Tensor a2 = a.loraA().detach().clone();
        a2.set_requires_grad(true);
        Tensor b2 = a.loraB().detach().clone();
        b2.set_requires_grad(true);
        Tensor x2 = x.detach().clone();
        x2.set_requires_grad(true);
        Tensor plain = layer.base().forward(x2).add(x2.matmul(a2.t()).matmul(b2.t()).mul(new Scalar(a.scaling())));
        plain.mul(w).sum().backward();

        assertClose(y, plain, 1e-5, "LoRA output");
        assertClose(a.loraA().grad(), a2.grad(), 1e-5, "LoRA dA");
        assertClose(a.loraB().grad(), b2.grad(), 1e-5, "LoRA dB");
        assertClose(x.grad(), x2.grad(), 1e-5, "LoRA dx");
    }

    @ParameterizedTest
    @MethodSource("dev.bora4j.Backends#both")
    void meloraEqualsBlockDiagonalMiniLoras(Backend backend) {
        int nb = 4;
        AdaptableLinear layer = new AdaptableLinear(new LinearImpl(IN, OUT));
        BoraAdapter a = adapter(Mode.MELORA, nb, backend, layer);
        Tensor x = randn(ScalarType.Float, TOKENS, IN);
        Tensor y = layer.forward(x);
        Tensor w = randn(ScalarType.Float, TOKENS, OUT);
        y.mul(w).sum().backward();

        Tensor a2 = a.loraA().detach().clone();
        a2.set_requires_grad(true);
        Tensor b2 = a.loraB().detach().clone();
        b2.set_requires_grad(true);
        // block i of the output sees only block i of the input through its own mini LoRA B_i A_i
        Tensor[] parts = new Tensor[nb];
        long ni = IN / nb, mi = OUT / nb;
        for (int i = 0; i < nb; i++) {
            Tensor xi = x.narrow(1, i * ni, ni);
            parts[i] = xi.matmul(a2.narrow(1, i * ni, ni).t()).matmul(b2.narrow(0, i * mi, mi).t());
        }
        Tensor plain = layer.base().forward(x).add(torch.cat(new org.bytedeco.pytorch.TensorVector(parts), 1)
                .mul(new Scalar(a.scaling())));
        plain.mul(w).sum().backward();

        assertClose(y, plain, 1e-5, "MELoRA output");
        assertClose(a.loraA().grad(), a2.grad(), 1e-5, "MELoRA dA");
        assertClose(a.loraB().grad(), b2.grad(), 1e-5, "MELoRA dB");
    }
}
