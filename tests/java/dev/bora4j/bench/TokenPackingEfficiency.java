package dev.bora4j.bench;

import dev.bora4j.data.LabeledSentence;
import dev.bora4j.data.Split;
import dev.bora4j.internal.JavaCppSettings;
import dev.bora4j.models.minilm.AttentionImplementation;
import dev.bora4j.models.minilm.TokenBatch;
import dev.bora4j.nn.BoraConfig.Mode;
import dev.bora4j.nn.BoraInjector;
import dev.bora4j.train.AcceptabilityTask;
import dev.bora4j.train.SentenceClassifier;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * MiniLM training steps on random batches of the main job's training sentences, with the encoder
 * on the padded batch, on the real tokens only (TokenPacking), and on the real tokens with torch's
 * fused attention, for LoRA r=8 and BoRA b=8 through the native kernels. All six run the same
 * batches, interleaved round by round in one process. Writes the "token-packing-cpu" section of docs/RESULTS.md. Usage:
 * {@code TokenPackingEfficiency [reps]} (default 10); bench/packing.sh.
 */
public final class TokenPackingEfficiency {

    static final int BATCH = 32;
    static final int BATCHES = 8;
    static final int WARMUP = 2;

    record Variant(String method, Mode mode, int blocks, boolean packed, AttentionImplementation attention) {
        String label() {
            return method + (packed ? ", packed" : ", padded") + ", " + attention.cliName();
        }
    }

    public static void main(String[] args) throws Exception {
        JavaCppSettings.skipResidentMemoryCheck(); // as the command line does
        torch.set_num_threads(1);
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        List<Variant> variants = new ArrayList<>();
        for (String method : List.of("LoRA r=8", "BoRA r=8, b=8")) {
            Mode mode = method.startsWith("LoRA") ? Mode.LORA : Mode.BORA;
            int blocks = mode == Mode.LORA ? 1 : 8;
            // the first of each method's variants is the baseline of its ratios
            variants.add(new Variant(method, mode, blocks, false, AttentionImplementation.EAGER));
            variants.add(new Variant(method, mode, blocks, true, AttentionImplementation.EAGER));
            variants.add(new Variant(method, mode, blocks, true, AttentionImplementation.SDPA));
        }
        AcceptabilityTask task = AcceptabilityTask.load(64, 0, new PrintStream(PrintStream.nullOutputStream()));
        List<LabeledSentence> train = task.split(Split.TRAIN, BATCH * BATCHES, 1);
        List<TokenBatch> batches = new ArrayList<>();
        List<Tensor> targets = new ArrayList<>();
        long real = 0, padded = 0;
        for (int k = 0; k < BATCHES; k++) {
            List<LabeledSentence> part = train.subList(k * BATCH, (k + 1) * BATCH);
            TokenBatch batch = task.tokenizer().encode(part.stream().map(LabeledSentence::text).toList());
            batches.add(batch);
            targets.add(Tensor.create(part.stream().mapToLong(LabeledSentence::label).toArray()));
            real += batch.attentionMask().sum().item_long();
            padded += batch.inputIds().numel();
        }
        List<SentenceClassifier> models = new ArrayList<>();
        List<AdamW> optimizers = new ArrayList<>();
        for (Variant v : variants) {
            torch.manual_seed(0);
            SentenceClassifier m = AcceptabilityTask.newClassifier();
            m.encoder().setPackTokens(v.packed());
            m.encoder().setAttentionImplementation(v.attention());
            List<Tensor> trainable = new ArrayList<>(BoraInjector.inject(m,
                    TrainingStepEfficiency.cfg(v.mode(), 8, v.blocks())).trainableParameters().values());
            models.add(m);
            optimizers.add(new AdamW(new TensorVector(trainable.toArray(new Tensor[0])), new AdamWOptions(1e-4)));
        }
        double[][] ms = new double[variants.size()][reps];
        for (int round = 0; round < WARMUP + reps; round++) {
            TokenBatch batch = batches.get(round % BATCHES);
            Tensor target = targets.get(round % BATCHES);
            for (int v = 0; v < variants.size(); v++) {
                double elapsed = TrainingStepEfficiency.timedStep(models.get(v), optimizers.get(v), batch, target);
                if (round >= WARMUP) {
                    ms[v][round - WARMUP] = elapsed;
                }
            }
            System.err.printf("round %d done%n", round + 1);
        }
        StringBuilder md = new StringBuilder();
        md.append(String.format("MiniLM training step (forward, cross-entropy, backward, AdamW) on %d random batches"
                + " of %d training sentences of the main job's task, taken in turn: %,d real tokens padded to %,d"
                + " (%.2fx). Adapters on the main job's six projections per layer through the native CPU kernels,"
                + " exp_norm Sigma; float32, 1 torch thread; %d interleaved repetitions after %d warm-up rounds.%n%n",
                BATCHES, BATCH, real, padded, (double) padded / real, reps, WARMUP));
        md.append("| variant | step median (ms) | p10-p90 (ms) | / padded, eager |\n|---|---:|---:|---:|\n");
        double baseline = Double.NaN;
        for (int v = 0; v < variants.size(); v++) {
            double med = TrainingStepEfficiency.median(ms[v]);
            boolean isBaseline = !variants.get(v).packed();
            baseline = isBaseline ? med : baseline;
            String ratio = isBaseline ? "" : String.format("%.2fx", med / baseline);
            md.append(String.format("| %s | %.1f | %s | %s |%n", variants.get(v).label(), med,
                    TrainingStepEfficiency.p10ToP90(ms[v]), ratio));
        }
        md.append("\nPadded: every layer runs on the padded batch (`finetune --padded-batches`); packed: projections,"
                + " adapters, LayerNorms and the FFN run on the real tokens only and attention on the padded layout"
                + " (the default). eager: attention as two batched matmuls and a softmax (the default); sdpa: torch's"
                + " fused `scaled_dot_product_attention` (`--attention sdpa`).\n");
        ResultsSection.write("token-packing-cpu", "Token packing on this CPU (MiniLM, random batches)",
                "bench/packing.sh " + reps, md.toString());
        System.out.println(md);
    }
}
