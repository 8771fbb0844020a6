package dev.bora4j.nn;

import static dev.bora4j.TorchTesting.relError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.TorchTesting;
import dev.bora4j.nn.BoraConfig.Mode;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** mergeAndUnload() leaves a plain model that computes the adapted outputs; unload() the base model. */
class UnloadTest {

    private static final List<String> BASE_PARAMETERS = List.of("pre.weight", "pre.bias",
            "blocks.0.proj.base.weight", "blocks.0.proj.base.bias", "blocks.1.proj.base.weight",
            "blocks.1.proj.base.bias", "head.base.weight", "head.base.bias");

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BORA", "LORA", "HIRA", "KRONA"})
    void mergeAndUnloadLeavesAPlainModelWithTheAdaptedOutputs(Mode mode) {
        AdaptedModel a = AdaptedModel.of(mode);
        Tensor adaptedOutput = a.outputs();
        a.adapters().mergeAndUnload();
        assertTrue(relError(a.outputs(), adaptedOutput) < 1e-5, "the merged model computes the adapted outputs");
        assertNull(a.model().proj0.adapter());
        assertNull(a.model().head.adapter());
        assertEquals(BASE_PARAMETERS, BoraInjectorTest.parameterNames(a.model(), false), "no adapter tensor is left");
        assertEquals(List.of(), BoraInjectorTest.parameterNames(a.model(), true), "the base stays frozen");
        assertTrue(a.adapters().all().isEmpty());
        assertEquals(0, a.adapters().trainableCount());
        a.adapters().unmerge(); // acts on no adapter now: the merged weights stay
        assertTrue(relError(a.outputs(), adaptedOutput) < 1e-5, "unmerge after unloading changed the model");
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BORA", "KRONA"})
    void unloadGivesTheBaseModelBackAlsoFromAMergedOne(Mode mode) {
        AdaptedModel a = AdaptedModel.of(mode);
        a.adapters().merge();
        a.adapters().unload();
        assertTrue(relError(a.outputs(), a.baseOutput()) < 1e-6, "the base outputs again");
        assertEquals(BASE_PARAMETERS, BoraInjectorTest.parameterNames(a.model(), false));
        assertTrue(a.adapters().all().isEmpty());
        BoraAdapters again = BoraInjector.inject(a.model(), BoraConfig.builder().targetModules("head").build());
        assertNotNull(a.model().head.adapter(), "an unloaded model takes new adapters");
        assertEquals(1, again.all().size());
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BORA", "HIRA", "KRONA"})
    void unloadedAdaptersLetGoOfTheirMergeStateAndRefuseToRun(Mode mode) {
        AdaptedModel a = AdaptedModel.of(mode);
        a.adapters().merge();
        List<TrainableAdapter> detached = List.copyOf(a.adapters().all().values());
        for (TrainableAdapter adapter : detached) {
            if (adapter instanceof ProductAdapter p) {
                assertTrue(p.holdsMergedDelta(), "a merged HiRA/KronA adapter keeps its update to unmerge");
            }
        }
        Tensor merged = a.outputs();
        a.adapters().mergeAndUnload();
        Tensor x = torch.randn(2, a.model().proj0.inFeatures());
        for (TrainableAdapter adapter : detached) {
            if (adapter instanceof ProductAdapter p) {
                assertFalse(p.holdsMergedDelta(), "the dense update (as large as the weight) is freed");
            }
            String unmerge = assertThrows(IllegalStateException.class, adapter::unmerge).getMessage();
            assertTrue(unmerge.contains("was unloaded from its layer") && unmerge.contains("inject a new one"), unmerge);
            assertThrows(IllegalStateException.class, adapter::merge);
            assertThrows(IllegalStateException.class, () -> adapter.forward(x, torch.zeros(2, 1)));
            adapter.release(); // idempotent
            assertTrue(adapter.isMerged(), "its update is in the base weight: " + adapter.config().mode());
        }
        assertTrue(torch.equal(a.outputs(), merged), "the refused calls left the merged model as it was");
    }

    @Test
    void aSwitchedOffLayerStopsMergeAndUnloadBeforeAnythingChanges() {
        AdaptedModel a = AdaptedModel.of(Mode.BORA);
        a.model().head.setAdapterEnabled(false); // the last adapted layer: the others come first
        Tensor before = a.outputs();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> a.adapters().mergeAndUnload());
        assertTrue(e.getMessage().contains("switch it on before merging"), e.getMessage());
        for (TrainableAdapter adapter : a.adapters().all().values()) {
            assertFalse(adapter.isMerged(), "nothing merged");
        }
        assertNotNull(a.model().proj0.adapter(), "nothing detached");
        assertTrue(torch.equal(a.outputs(), before), "the model computes what it did");
    }
}
