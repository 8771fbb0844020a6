package dev.bora4j.nn;

import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * An adapter {@link BoraInjector} attaches: it knows its config, its trainable tensors, its
 * weight update dW, and can merge that update into the frozen weight and take it out again.
 * {@link BoraAdapter} (BoRA, LoRA, MELoRA), {@link HiraAdapter} and {@link KronaAdapter}.
 */
public interface TrainableAdapter extends LinearAdapter {

    BoraConfig config();

    /** Trainable tensors by their name under the adapter (e.g. "lora_A"), in a fixed order. */
    Map<String, Tensor> trainableTensors();

    /** s * dW (out x in), detached. */
    Tensor deltaWeight();

    /** W0 += s * dW; forward then skips the adapter. Idempotent. */
    void merge();

    /**
     * Undoes {@link #merge()} by subtracting the update it added: W0 comes back up to rounding
     * (each entry within about an ulp of W0 + s*dW), not bit for bit. Idempotent.
     */
    void unmerge();

    boolean isMerged();

    /**
     * Called when its layer lets the adapter go ({@link BoraAdapters#mergeAndUnload()},
     * {@link BoraAdapters#unload()}): it frees what it kept to undo a merge (HiRA and KronA keep
     * their dense update, as large as the weight) and is spent: forward, merge and unmerge are
     * refused from then on, since its update is in the base weight or gone; {@link #isMerged()}
     * still says whether its update went into the base weight. Idempotent. Adapters that keep
     * nothing for unmerging need not do anything.
     */
    default void release() {
    }

    /** The error of forward, merge or unmerge on a released adapter. */
    static IllegalStateException releasedError() {
        return new IllegalStateException("this adapter was unloaded from its layer (mergeAndUnload or unload)"
                + " and cannot run, merge or unmerge any more; inject a new one");
    }
}
