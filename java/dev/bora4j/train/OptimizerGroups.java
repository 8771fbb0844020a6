package dev.bora4j.train;

import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.OptimizerParamGroup;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The AdamW parameter groups of a run: adapter matrices ({@code --lr}, {@code --weight-decay}),
 * Sigma ({@code --sigma-lr}, no weight decay: it is a scale, not a weight) and the head
 * ({@code --head-lr}). Groups with no tensors are left out.
 */
final class OptimizerGroups {
    private final List<TensorVector> vectors = new ArrayList<>();
    private final List<Double> baseLr = new ArrayList<>();
    private final List<Double> decay = new ArrayList<>();
    /** Every trainable tensor, for gradient clipping over all groups. */
    final TensorVector all;

    OptimizerGroups(Map<String, Tensor> trainable, TrainingConfig cfg) {
        List<Tensor> matrices = new ArrayList<>();
        List<Tensor> sigma = new ArrayList<>();
        List<Tensor> head = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : trainable.entrySet()) {
            String name = e.getKey();
            (name.startsWith("classifier.") ? head : name.endsWith("bora_sigma") ? sigma : matrices).add(e.getValue());
        }
        add(matrices, cfg.learningRate, cfg.weightDecay);
        add(sigma, cfg.sigmaLearningRate != null ? cfg.sigmaLearningRate : cfg.learningRate, 0.0);
        add(head, cfg.headLearningRate, cfg.weightDecay);
        all = new TensorVector(trainable.values().toArray(new Tensor[0]));
    }

    private void add(List<Tensor> params, double lr, double weightDecay) {
        if (!params.isEmpty()) {
            vectors.add(new TensorVector(params.toArray(new Tensor[0])));
            baseLr.add(lr);
            decay.add(weightDecay);
        }
    }

    AdamW optimizer() {
        AdamW adamW = new AdamW(vectors.get(0), options(0));
        for (int g = 1; g < vectors.size(); g++) {
            adamW.add_param_group(new OptimizerParamGroup(vectors.get(g), options(g)));
        }
        return adamW;
    }

    private AdamWOptions options(int g) {
        AdamWOptions o = new AdamWOptions(baseLr.get(g));
        o.weight_decay().put(decay.get(g));
        return o;
    }

    /** Sets every group's learning rate to its peak times {@code factor} (the schedule's value). */
    void setLearningRates(AdamW optimizer, double factor) {
        for (int g = 0; g < vectors.size(); g++) {
            optimizer.param_groups().get(g).options().set_lr(baseLr.get(g) * factor);
        }
    }
}
