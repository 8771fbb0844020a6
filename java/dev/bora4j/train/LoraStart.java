package dev.bora4j.train;

import dev.bora4j.adapters.AdapterConfigFile;
import dev.bora4j.adapters.LoadedAdapter;
import dev.bora4j.nn.BoraAdapter;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Starts BoRA (or LoRA) adapters from a trained LoRA folder: A, B and the classification head are
 * copied, Sigma keeps its initial value, at which every parameterisation gives Sigma = 1 and so
 * B diag(Sigma) A = B A: the model starts exactly where the LoRA run ended. Continuing as LoRA is
 * the control for continuing as BoRA: same start, same extra steps.
 */
final class LoraStart {

    private LoraStart() {
    }

    /** Copies the LoRA folder's A and B into {@code target}'s adapters and its head into {@code model}. */
    static void copy(Path loraDir, BoraAdapters target, SentenceClassifier model) throws IOException {
        SentenceClassifier source = AcceptabilityTask.newClassifier();
        LoadedAdapter loaded = AdapterEvaluation.loadOnto(loraDir, source);
        AdapterConfigFile c = loaded.config();
        Map<String, BoraAdapter> to = target.byModule();
        BoraConfig want = to.values().iterator().next().config();
        if (c.mode() != BoraConfig.Mode.LORA) {
            throw new IllegalArgumentException("--init-from " + loraDir + " holds a " + c.mode()
                    + " adapter; it must be a LoRA folder (a 'bora4j finetune --method lora' run's adapter/)");
        }
        if (c.rank() != want.rank() || c.alpha() != want.alpha() || c.rsLora() != want.rsLora()) {
            throw new IllegalArgumentException(String.format("--init-from %s has r=%d alpha=%s rslora=%s; this run"
                            + " has r=%d alpha=%s rslora=%s: they must match, or the update would change scale",
                    loraDir, c.rank(), c.alpha(), c.rsLora(), want.rank(), want.alpha(), want.rsLora()));
        }
        Map<String, BoraAdapter> from = loaded.adapters().byModule();
        if (!from.keySet().equals(to.keySet())) {
            String excluded = c.describeExclusions();
            throw new IllegalArgumentException("--init-from " + loraDir + " adapts " + from.keySet()
                    + (excluded != null ? " (its exclude_modules " + excluded + ")" : "")
                    + " but this run adapts " + to.keySet() + "; use the same --targets as the LoRA run, or a LoRA"
                    + " folder that adapts every module this run does");
        }
        try (NoGradGuard ng = new NoGradGuard()) {
            for (Map.Entry<String, BoraAdapter> e : to.entrySet()) {
                BoraAdapter src = from.get(e.getKey());
                e.getValue().loraA().copy_(src.loraA());
                e.getValue().loraB().copy_(src.loraB());
            }
            copy(source.head().weight(), model.head().weight());
            copy(source.head().bias(), model.head().bias());
        }
    }

    private static void copy(Tensor from, Tensor to) {
        to.copy_(from.to(to.scalar_type()));
    }
}
