package dev.bora4j.nn;

import static dev.bora4j.TorchTesting.assertClose;
import static dev.bora4j.TorchTesting.randn;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.TestModel;
import dev.bora4j.TorchTesting;
import dev.bora4j.nn.BoraConfig.Backend;
import dev.bora4j.ops.BoraReference;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Merging gives the same outputs as the adapter; unmerging restores the base weight. */
class MergeTest {

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    @ParameterizedTest
    @MethodSource("dev.bora4j.Backends#both")
    void mergeUnmergeRoundTrip(Backend backend) {
        torch.manual_seed(9);
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters adapters = BoraInjector.inject(model, BoraConfig.builder().targetModules("proj").rank(2)
                .blocks(4).sigma(BoraConfig.SigmaParameterization.EXP_NORM).backend(backend).build());
        Tensor x = randn(ScalarType.Float, 5, 8);
        try (NoGradGuard ng = new NoGradGuard()) {
            for (BoraAdapter a : adapters.byModule().values()) {
                a.loraB().copy_(randn(ScalarType.Float, 16, 2));
                a.sigmaParameter().copy_(randn(ScalarType.Float, 4, 4, 2));
            }
            BoraAdapter a0 = adapters.byModule().get("blocks.0.proj");
            assertClose(a0.deltaWeight(), BoraReference.deltaWeight(a0.loraA(), a0.loraB(), a0.sigma(), a0.scaling()),
                    1e-5, "delta weight");
            Tensor w = model.proj0.base().weight().clone();
            Tensor adapted = model.forward(x);
            adapters.merge();
            assertTrue(a0.isMerged());
            assertFalse(torch.equal(w, model.proj0.base().weight()), "merge did not change the weight");
            assertClose(model.forward(x), adapted, 1e-5, "merged output");
            assertClose(model.proj0.base().weight().sub(w), a0.deltaWeight(), 1e-5, "merged weight - W0");
            adapters.unmerge();
            assertClose(model.proj0.base().weight(), w, 1e-6, "unmerged weight");
            assertClose(model.forward(x), adapted, 1e-5, "unmerged output");
            assertTrue(model.proj0.base().weight().sub(w).abs().max().item_double() < 1e-6 * w.abs().max()
                    .item_double() + 1e-7, "round trip drifted");
        }
    }

    @ParameterizedTest
    @MethodSource("dev.bora4j.Backends#both")
    void unmergeSubtractsWhatWasMergedEvenIfTheParametersChangedSince(Backend backend) {
        torch.manual_seed(10);
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters adapters = injectRank2Blocks4(model, backend);
        BoraAdapter a0 = adapters.byModule().get("blocks.0.proj");
        try (NoGradGuard ng = new NoGradGuard()) {
            a0.loraB().copy_(randn(ScalarType.Float, 16, 2));
            Tensor w = model.proj0.base().weight().clone();
            adapters.merge();
            Tensor merged = model.proj0.base().weight().sub(w);
            // e.g. a checkpoint loaded or an optimizer step taken while merged
            a0.loraB().copy_(randn(ScalarType.Float, 16, 2));
            a0.sigmaParameter().copy_(randn(ScalarType.Float, 4, 4, 2));
            assertClose(a0.deltaWeight(), merged, 1e-5, "deltaWeight while merged is the update in the weight");
            adapters.unmerge();
            assertClose(model.proj0.base().weight(), w, 1e-6, "unmerge left another weight");
        }
    }

    @ParameterizedTest
    @MethodSource("dev.bora4j.Backends#both")
    void mergingBetweenForwardAndBackwardIsCaughtByAutograd(Backend backend) {
        torch.manual_seed(11);
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters adapters = injectRank2Blocks4(model, backend);
        Tensor x = randn(ScalarType.Float, 5, 8).set_requires_grad(true);
        Tensor loss = model.forward(x).sum(); // the base Linear saved its weight for dL/dx
        adapters.merge();                     // and merge changes that weight in place
        RuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class, loss::backward,
                "a backward through a weight changed by merge must fail, not return wrong gradients");
        assertTrue(e.getMessage().contains("modified by an inplace operation"), e.getMessage());
    }

    private static BoraAdapters injectRank2Blocks4(TestModel model, Backend backend) {
        return BoraInjector.inject(model, BoraConfig.builder().targetModules("proj").rank(2).blocks(4).backend(backend)
                .build());
    }
}
