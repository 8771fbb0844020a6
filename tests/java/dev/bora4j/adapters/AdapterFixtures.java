package dev.bora4j.adapters;

import static dev.bora4j.TorchTesting.randn;

import dev.bora4j.nn.AdaptableLinear;
import dev.bora4j.nn.BoraAdapter;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraConfig.Mode;
import dev.bora4j.nn.BoraConfig.SigmaParameterization;
import dev.bora4j.nn.TrainableAdapter;
import java.util.stream.Stream;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Configs, random adapter values and a MiniLM-like model for the adapter file tests. */
final class AdapterFixtures {

    private AdapterFixtures() {
    }

    /** The adapter kinds every format test covers: BORA with each Sigma, LORA, MELORA. */
    static Stream<BoraConfig.Builder> kinds() {
        return Stream.of(
                BoraConfig.builder().mode(Mode.BORA).sigma(SigmaParameterization.RAW).rank(2).blocks(4).alpha(4),
                BoraConfig.builder().mode(Mode.BORA).sigma(SigmaParameterization.EXP).rank(2).blocks(4).alpha(3),
                BoraConfig.builder().mode(Mode.BORA).sigma(SigmaParameterization.EXP_NORM).rank(3).blocks(2)
                        .alpha(5).rsLora(true),
                BoraConfig.builder().mode(Mode.LORA).rank(3).alpha(6),
                BoraConfig.builder().mode(Mode.MELORA).rank(2).blocks(4).alpha(2));
    }

    /** Non-trivial values for every adapter tensor (B = 0 and S = 1 would hide errors). */
    static void randomize(BoraAdapters adapters) {
        try (NoGradGuard ng = new NoGradGuard()) {
            for (TrainableAdapter t : adapters.all().values()) {
                if (!(t instanceof BoraAdapter a)) {
                    for (Tensor p : t.trainableTensors().values()) { // HiRA, KronA
                        p.copy_(randn(ScalarType.Float, p.sizes().vec().get()).mul(new Scalar(0.5)));
                    }
                    continue;
                }
                a.loraA().copy_(randn(ScalarType.Float, a.loraA().size(0), a.loraA().size(1)));
                a.loraB().copy_(randn(ScalarType.Float, a.loraB().size(0), a.loraB().size(1)));
                if (a.config().mode() == Mode.BORA) {
                    Tensor p = a.sigmaParameter();
                    p.copy_(randn(ScalarType.Float, p.size(0), p.size(1), p.size(2)).mul(new Scalar(0.5)));
                }
            }
        }
    }

    /**
     * A two-layer encoder with BERT/MiniLM module names
     * ({@code encoder.layer.N.attention.self.query} etc.) and a plain {@code classifier}.
     */
    static final class MiniLmLike extends Module {
        final AdaptableLinear[][] layers;
        final LinearImpl classifier;
        static final String[] NAMES = {"attention.self.query", "attention.self.key", "attention.self.value",
            "attention.output.dense", "intermediate.dense", "output.dense"};

        MiniLmLike(long hidden, long intermediate, int depth, long classes) {
            Module encoder = register_module("encoder", new Module());
            Module layer = encoder.register_module("layer", new Module());
            layers = new AdaptableLinear[depth][];
            for (int l = 0; l < depth; l++) {
                Module block = layer.register_module(Integer.toString(l), new Module());
                Module attention = block.register_module("attention", new Module());
                Module self = attention.register_module("self", new Module());
                Module attOut = attention.register_module("output", new Module());
                Module inter = block.register_module("intermediate", new Module());
                Module out = block.register_module("output", new Module());
                layers[l] = new AdaptableLinear[] {
                    self.register_module("query", new AdaptableLinear(new LinearImpl(hidden, hidden))),
                    self.register_module("key", new AdaptableLinear(new LinearImpl(hidden, hidden))),
                    self.register_module("value", new AdaptableLinear(new LinearImpl(hidden, hidden))),
                    attOut.register_module("dense", new AdaptableLinear(new LinearImpl(hidden, hidden))),
                    inter.register_module("dense", new AdaptableLinear(new LinearImpl(hidden, intermediate))),
                    out.register_module("dense", new AdaptableLinear(new LinearImpl(intermediate, hidden)))};
            }
            classifier = register_module("classifier", new LinearImpl(hidden, classes));
        }

        /** Not attention, but every projection contributes to the output. */
        Tensor forward(Tensor x) {
            Tensor h = x;
            for (AdaptableLinear[] l : layers) {
                Tensor mix = l[0].forward(h).tanh().mul(l[1].forward(h).tanh()).add(l[2].forward(h));
                h = h.add(l[3].forward(mix));
                h = h.add(l[5].forward(l[4].forward(h).tanh()));
            }
            return classifier.forward(h);
        }
    }
}
