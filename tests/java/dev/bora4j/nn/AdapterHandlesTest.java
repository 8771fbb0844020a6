package dev.bora4j.nn;

import static dev.bora4j.TorchTesting.relError;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.TorchTesting;
import dev.bora4j.nn.BoraConfig.Mode;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The tensors the adapters hand out are the caller's handles: closing them breaks nothing. */
class AdapterHandlesTest {

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BORA", "LORA", "HIRA", "KRONA"})
    void closingEveryHandedOutTensorLeavesTheAdaptersWorking(Mode mode) {
        AdaptedModel a = AdaptedModel.of(mode);
        Tensor before = a.outputs();
        List<Tensor> handedOut = new ArrayList<>(a.adapters().trainableParameters().values());
        for (TrainableAdapter adapter : a.adapters().all().values()) {
            handedOut.addAll(adapter.trainableTensors().values());
            if (adapter instanceof BoraAdapter b) {
                handedOut.addAll(List.of(b.loraA(), b.loraB(), b.sigmaParameter(), b.sigma()));
            } else if (adapter instanceof HiraAdapter h) {
                handedOut.addAll(List.of(h.hiraA(), h.hiraB()));
            } else if (adapter instanceof KronaAdapter k) {
                handedOut.addAll(List.of(k.kronaA(), k.kronaB()));
            }
        }
        handedOut.forEach(Tensor::close);

        assertTrue(relError(a.outputs(), before) == 0, "the outputs changed");
        a.model().forward(a.x()).sum().backward();
        for (Tensor p : a.adapters().trainableParameters().values()) {
            assertTrue(p.grad().defined(), "a parameter lost its gradient");
        }
        a.adapters().merge();
        assertTrue(relError(a.outputs(), before) < 1e-5, "merge after closing the handles");
    }

    @org.junit.jupiter.api.Test
    void rawSigmaIsHandedOutAsANewHandleToo() {
        dev.bora4j.TestModel model = new dev.bora4j.TestModel(8, 16, 4);
        BoraAdapters adapters = BoraInjector.inject(model, BoraConfig.builder().targetModules("head").rank(2).blocks(2)
                .sigma(BoraConfig.SigmaParameterization.RAW).build());
        BoraAdapter head = adapters.byModule().get("head");
        head.sigma().close();
        head.sigmaParameter().close();
        Tensor x = dev.bora4j.TorchTesting.randn(org.bytedeco.pytorch.global.torch.ScalarType.Float, 3, 8);
        model.forward(x).sum().backward();
        assertTrue(head.sigmaParameter().grad().defined(), "Sigma still takes part after its handles were closed");
    }
}
