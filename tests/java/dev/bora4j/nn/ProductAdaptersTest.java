package dev.bora4j.nn;

import static dev.bora4j.TorchTesting.assertClose;
import static dev.bora4j.TorchTesting.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.TestModel;
import dev.bora4j.TorchTesting;
import dev.bora4j.adapters.BoraAdapterFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.bytedeco.pytorch.Adam;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** HiRA and KronA against independent plain-torch formulas: outputs, gradients, merge, training. */
class ProductAdaptersTest {

    static final long IN = 12, OUT = 8, TOKENS = 10;

    @BeforeAll
    static void init() {
        TorchTesting.init();
        torch.manual_seed(11);
    }

    private static BoraConfig.Builder config(BoraConfig.Mode mode) {
        return BoraConfig.builder().targetModules("x").rank(3).alpha(6).mode(mode);
    }

    private static Tensor leaf(Tensor t) {
        Tensor c = t.detach().clone();
        c.set_requires_grad(true);
        return c;
    }

    @Test
    void hiraEqualsHadamardOfW0WithLowRankProduct() {
        AdaptableLinear layer = new AdaptableLinear(new LinearImpl(IN, OUT));
        HiraAdapter a = new HiraAdapter(layer, config(BoraConfig.Mode.HIRA).build());
        layer.setAdapter(a);
        try (NoGradGuard ng = new NoGradGuard()) {
            a.hiraB().copy_(randn(ScalarType.Float, OUT, 3)); // B = 0 would make the check trivial
        }
        Tensor x = leaf(randn(ScalarType.Float, 2, TOKENS / 2, IN));
        Tensor w = randn(ScalarType.Float, 2, TOKENS / 2, OUT);
        Tensor y = layer.forward(x);
        y.mul(w).sum().backward();

        Tensor a2 = leaf(a.hiraA()), b2 = leaf(a.hiraB()), x2 = leaf(x);
        Tensor w0 = layer.base().weight();
        // element-wise sum over the rank: dW[o, i] = W0[o, i] * sum_k B[o, k] A[k, i]
        Tensor dw = torch.einsum("oi,ok,ki->oi", new TensorVector(w0, b2, a2));
        Tensor plain = layer.base().forward(x2).add(torch.einsum("bti,oi->bto", new TensorVector(x2, dw))
                .mul(new Scalar(6.0 / 3)));
        plain.mul(w).sum().backward();

        assertEquals(2.0, a.scaling(), 0);
        assertClose(y, plain, 1e-5, "HiRA output");
        assertClose(a.hiraA().grad(), a2.grad(), 1e-5, "HiRA dA");
        assertClose(a.hiraB().grad(), b2.grad(), 1e-5, "HiRA dB");
        assertClose(x.grad(), x2.grad(), 1e-5, "HiRA dx");
        assertClose(a.deltaWeight(), dw.detach().mul(new Scalar(2.0)), 1e-5, "HiRA deltaWeight");
    }

    @Test
    void kronaEqualsBlockwiseKroneckerProduct() {
        AdaptableLinear layer = new AdaptableLinear(new LinearImpl(IN, OUT));
        KronaAdapter a = new KronaAdapter(layer, config(BoraConfig.Mode.KRONA).kronFactors(2, 3).build());
        layer.setAdapter(a);
        assertArrayEquals(new long[] {2, 3}, a.kronaA().sizes().vec().get());
        assertArrayEquals(new long[] {OUT / 2, IN / 3}, a.kronaB().sizes().vec().get());
        assertEquals(0.0, a.kronaB().abs().max().item_double(), 0, "B starts at zero: training starts at W0");
        try (NoGradGuard ng = new NoGradGuard()) {
            a.kronaB().copy_(randn(ScalarType.Float, OUT / 2, IN / 3));
        }
        Tensor x = leaf(randn(ScalarType.Float, TOKENS, IN));
        Tensor w = randn(ScalarType.Float, TOKENS, OUT);
        Tensor y = layer.forward(x);
        y.mul(w).sum().backward();

        Tensor a2 = leaf(a.kronaA()), b2 = leaf(a.kronaB()), x2 = leaf(x);
        // the definition: block (i, j) of dW is A[i, j] * B
        List<Tensor> rows = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            List<Tensor> row = new ArrayList<>();
            for (int j = 0; j < 3; j++) {
                row.add(b2.mul(a2.select(0, i).select(0, j)));
            }
            rows.add(torch.cat(new TensorVector(row.toArray(new Tensor[0])), 1));
        }
        Tensor dw = torch.cat(new TensorVector(rows.toArray(new Tensor[0])), 0);
        Tensor plain = layer.base().forward(x2).add(x2.matmul(dw.t()).mul(new Scalar(a.scaling())));
        plain.mul(w).sum().backward();

        assertClose(y, plain, 1e-5, "KronA output");
        assertClose(a.kronaA().grad(), a2.grad(), 1e-5, "KronA dA");
        assertClose(a.kronaB().grad(), b2.grad(), 1e-5, "KronA dB");
        assertClose(x.grad(), x2.grad(), 1e-5, "KronA dx");
        assertClose(a.deltaWeight(), dw.detach().mul(new Scalar(a.scaling())), 1e-5, "KronA deltaWeight");
    }

    @Test
    void kronaDefaultFactorsAreNearSquareDivisors() {
        BoraConfig c = config(BoraConfig.Mode.KRONA).build();
        assertArrayEquals(new int[] {16, 16}, c.kronFactorsFor(384, 384));
        assertArrayEquals(new int[] {32, 16}, c.kronFactorsFor(1536, 384));
        assertArrayEquals(new int[] {1, 1}, c.kronFactorsFor(7, 13));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> config(BoraConfig.Mode.KRONA).kronFactors(5, 0).build().kronFactorsFor(8, 12));
        assertTrue(e.getMessage().contains("must divide"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> config(BoraConfig.Mode.HIRA).blocks(2).build());
        assertThrows(IllegalArgumentException.class,
                () -> new BoraAdapter(new AdaptableLinear(new LinearImpl(IN, OUT)), config(BoraConfig.Mode.HIRA).build()));
    }

    @Test
    void mergeThenUnmergeRestoresW0AndKeepsOutputs() {
        for (BoraConfig.Mode mode : new BoraConfig.Mode[] {BoraConfig.Mode.HIRA, BoraConfig.Mode.KRONA}) {
            AdaptableLinear layer = new AdaptableLinear(new LinearImpl(IN, OUT));
            TrainableAdapter a = BoraInjector.newAdapter(layer, config(mode).build());
            layer.setAdapter(a);
            try (NoGradGuard ng = new NoGradGuard()) {
                for (Tensor t : a.trainableTensors().values()) {
                    t.copy_(randn(ScalarType.Float, t.sizes().vec().get()));
                }
                Tensor w0 = layer.base().weight().clone();
                Tensor x = randn(ScalarType.Float, TOKENS, IN);
                Tensor before = layer.forward(x);
                Tensor delta = a.deltaWeight();
                a.merge();
                a.merge(); // idempotent
                assertTrue(a.isMerged());
                assertClose(layer.forward(x), before, 1e-5, mode + " merged output");
                assertClose(a.deltaWeight(), delta, 1e-6, mode + " deltaWeight while merged");
                a.unmerge();
                a.unmerge();
                assertClose(layer.base().weight(), w0, 1e-6, mode + " W0 after unmerge");
                assertClose(layer.forward(x), before, 1e-5, mode + " output after unmerge");
            }
        }
    }

    @Test
    void injectedAdaptersTrainAndAreNamedByMethod() throws Exception {
        for (BoraConfig.Mode mode : new BoraConfig.Mode[] {BoraConfig.Mode.HIRA, BoraConfig.Mode.KRONA}) {
            torch.manual_seed(3);
            TestModel model = new TestModel(8, 16, 4);
            BoraAdapters adapters = BoraInjector.inject(model,
                    BoraConfig.builder().targetModules("proj", "head").rank(4).alpha(8).mode(mode).build());
            String p = mode == BoraConfig.Mode.HIRA ? "hira" : "krona";
            assertEquals(Set.of("blocks.0.proj.adapter." + p + "_A", "blocks.0.proj.adapter." + p + "_B",
                    "blocks.1.proj.adapter." + p + "_A", "blocks.1.proj.adapter." + p + "_B",
                    "head.adapter." + p + "_A", "head.adapter." + p + "_B"), adapters.trainableParameters().keySet());
            assertThrows(IllegalStateException.class, adapters::byModule);
            Path dir = Files.createTempDirectory("product-adapter");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BoraAdapterFiles.save(dir, adapters));
            assertTrue(e.getMessage().contains(mode + " adapters have no PEFT-compatible layout"), e.getMessage());

            Tensor x = randn(ScalarType.Float, 64, 8);
            Tensor target;
            try (NoGradGuard ng = new NoGradGuard()) {
                // targets from the same model with random second factors: a task the adapters can fit
                for (TrainableAdapter a : adapters.all().values()) {
                    Tensor second = new ArrayList<>(a.trainableTensors().values()).get(1);
                    second.copy_(randn(ScalarType.Float, second.sizes().vec().get()).mul(new Scalar(0.5)));
                }
                target = model.forward(x).detach().clone();
                for (TrainableAdapter a : adapters.all().values()) {
                    new ArrayList<>(a.trainableTensors().values()).get(1).zero_();
                }
            }
            Adam opt = new Adam(adapters.parameters(), new AdamOptions(1e-2));
            double first = 0, last = 0;
            for (int step = 0; step < 200; step++) {
                opt.zero_grad();
                Tensor loss = model.forward(x).sub(target).square().mean();
                loss.backward();
                for (Tensor t : adapters.trainableParameters().values()) {
                    assertTrue(t.grad().defined(), mode + ": no gradient reached an adapter tensor");
                }
                opt.step();
                if (step == 0) first = loss.item_double();
                last = loss.item_double();
            }
            assertTrue(last < 0.1 * first, mode + ": loss " + first + " -> " + last + " did not fall 10x in 200 steps");
            for (Tensor t : model.parameters().get()) {
                if (!t.requires_grad()) {
                    assertTrue(!t.grad().defined(), mode + ": a frozen parameter got a gradient");
                }
            }
        }
    }
}
