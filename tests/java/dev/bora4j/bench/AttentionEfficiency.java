package dev.bora4j.bench;

import dev.bora4j.internal.JavaCppSettings;
import dev.bora4j.models.minilm.AttentionImplementation;
import dev.bora4j.models.minilm.MiniLmModel;
import dev.bora4j.models.minilm.MiniLmSelfAttention;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * MiniLM's self-attention block (query/key/value projections and attention, layer 0 of the
 * pretrained encoder) forward + backward on padded batches of growing sequence length, eager
 * vs sdpa ({@link AttentionImplementation}), interleaved call by call in one process: at which
 * lengths torch's fused attention pays off on this CPU. Writes the "attention-cpu" section of
 * docs/RESULTS.md. Usage: {@code AttentionEfficiency [reps]} (default 10); bench/attention.sh.
 */
public final class AttentionEfficiency {

    static final int BATCH = 8;
    static final int[] LENGTHS = {32, 64, 128, 256, 512};
    static final int WARMUP = 2;

    public static void main(String[] args) throws Exception {
        JavaCppSettings.skipResidentMemoryCheck();
        torch.set_num_threads(1);
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        MiniLmModel model = MiniLmModel.loadPretrained();
        MiniLmSelfAttention attention = model.layer(0).attention().self();
        long hidden = model.config().hiddenSize();
        StringBuilder md = new StringBuilder();
        md.append(String.format("Layer 0's self-attention block of the pretrained MiniLM (query, key and value"
                + " projections, then attention over %d heads), forward and backward to its input, on a batch of %d"
                + " sequences padded to the length shown, each of a random length between half and all of it;"
                + " float32, 1 torch thread; median of %d interleaved repetitions after %d warm-up rounds.%n%n",
                model.config().numHeads(), BATCH, reps, WARMUP));
        md.append("| sequence length | eager (ms) | sdpa (ms) | sdpa / eager |\n|---:|---:|---:|---:|\n");
        AttentionImplementation[] impls = AttentionImplementation.values();
        for (int seq : LENGTHS) {
            torch.manual_seed(seq);
            Tensor x = torch.randn(BATCH, seq, hidden);
            Tensor lengths = torch.randint(seq / 2, seq + 1, new long[] {BATCH});
            Tensor keep = torch.arange(new Scalar(seq)).unsqueeze(0).lt(lengths.unsqueeze(1));
            Tensor mask = keep.logical_not().to(torch.ScalarType.Float).mul(new Scalar(-(double) Float.MAX_VALUE))
                    .reshape(BATCH, 1, 1, seq);
            double[][] ms = new double[impls.length][reps];
            for (int round = 0; round < WARMUP + reps; round++) {
                for (int i = 0; i < impls.length; i++) {
                    model.setAttentionImplementation(impls[i]);
                    double elapsed = timedForwardBackward(attention, x, mask);
                    if (round >= WARMUP) {
                        ms[i][round - WARMUP] = elapsed;
                    }
                }
            }
            double eager = TrainingStepEfficiency.median(ms[0]);
            double sdpa = TrainingStepEfficiency.median(ms[1]);
            md.append(String.format("| %d | %.1f | %.1f | %.2fx |%n", seq, eager, sdpa, sdpa / eager));
            System.err.printf("length %d done%n", seq);
        }
        md.append("\nThe main job's sentences are at most 64 tokens (about 40 in a random batch of 32).\n");
        ResultsSection.write("attention-cpu", "Eager vs fused attention on this CPU (MiniLM layer 0)",
                "bench/attention.sh " + reps, md.toString());
        System.out.println(md);
    }

    private static double timedForwardBackward(MiniLmSelfAttention attention, Tensor x, Tensor mask) {
        try (PointerScope scope = new PointerScope()) {
            Tensor input = x.detach().requires_grad_(true);
            long start = System.nanoTime();
            attention.forward(input, mask, null).sum().backward();
            double elapsed = (System.nanoTime() - start) / 1e6;
            if (!(input.grad().abs().sum().item_double() > 0)) {
                throw new IllegalStateException("no gradient reached the input");
            }
            return elapsed;
        }
    }
}
