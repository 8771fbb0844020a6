package dev.bora4j.nn;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.TorchTesting;
import dev.bora4j.nn.BoraConfig.Mode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Switching adapters off gives the base model's outputs, bit for bit, and nothing is lost. */
class DisabledAdaptersTest {

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BORA", "LORA", "HIRA", "KRONA"})
    void insideTheScopeTheModelIsItsBaseAndAfterItTheAdaptedModel(Mode mode) {
        AdaptedModel a = AdaptedModel.of(mode);
        Tensor adaptedOutput = a.outputs();
        assertFalse(torch.equal(adaptedOutput, a.baseOutput()), "the adapters must change the outputs");
        try (BoraAdapters.Disabled off = a.adapters().disabled()) {
            assertTrue(torch.equal(a.outputs(), a.baseOutput()), "base outputs, bit for bit, while switched off");
            assertFalse(a.model().proj0.isAdapterEnabled());
        }
        assertTrue(torch.equal(a.outputs(), adaptedOutput), "the adapted outputs again after the scope");
        assertTrue(a.model().head.isAdapterEnabled());
    }

    @Test
    void scopesNestAndALayerSwitchedOffByHandStaysOff() {
        AdaptedModel a = AdaptedModel.of(Mode.BORA);
        a.model().head.setAdapterEnabled(false);
        try (BoraAdapters.Disabled outer = a.adapters().disabled()) {
            try (BoraAdapters.Disabled inner = a.adapters().disabled()) {
                assertFalse(a.model().proj1.isAdapterEnabled());
            }
            assertFalse(a.model().proj1.isAdapterEnabled(), "the inner scope switched nothing off, so it switches nothing on");
        }
        assertTrue(a.model().proj0.isAdapterEnabled());
        assertTrue(a.model().proj1.isAdapterEnabled());
        assertFalse(a.model().head.isAdapterEnabled(), "switched off before the scope: still off after it");
    }

    @Test
    void noGradientReachesASwitchedOffAdapter() {
        AdaptedModel a = AdaptedModel.of(Mode.BORA);
        Tensor x = a.x().clone().requires_grad_(true);
        try (BoraAdapters.Disabled off = a.adapters().disabled()) {
            a.model().forward(x).sum().backward();
        }
        assertTrue(x.grad().defined(), "the base model still carries gradients");
        for (Tensor p : a.adapters().trainableParameters().values()) {
            assertFalse(p.grad().defined(), "an adapter that is off takes no part in the graph");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BORA", "KRONA"})
    void mergedAdaptersCannotBeSwitchedOffNorSwitchedOffOnesMerged(Mode mode) {
        AdaptedModel a = AdaptedModel.of(mode);
        Tensor adaptedOutput = a.outputs();
        a.adapters().merge();
        IllegalStateException merged = assertThrows(IllegalStateException.class, () -> a.adapters().disabled());
        assertTrue(merged.getMessage().contains("unmerge()"), merged.getMessage());
        assertTrue(a.model().proj0.isAdapterEnabled() && a.model().head.isAdapterEnabled(), "nothing switched off");
        a.adapters().unmerge();
        assertTrue(TorchTesting.relError(a.outputs(), adaptedOutput) < 1e-6, "merge and unmerge round trip");

        try (BoraAdapters.Disabled off = a.adapters().disabled()) {
            Tensor before = a.outputs(); // the round trip above rounded the base weights
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> a.adapters().merge());
            assertTrue(e.getMessage().contains("switch it on before merging"), e.getMessage());
            assertTrue(torch.equal(a.outputs(), before), "the failed merge changed no weight");
        }
    }
}
