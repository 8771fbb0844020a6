package dev.bora4j.bench;

import dev.bora4j.internal.JavaCppSettings;
import dev.bora4j.data.LanguageToolExamples;
import dev.bora4j.data.RuleExample;
import dev.bora4j.models.minilm.MiniLmModel;
import dev.bora4j.models.minilm.MiniLmTokenizer;
import dev.bora4j.models.minilm.TokenBatch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.global.torch;

/**
 * Times a frozen MiniLM forward pass (sentence embeddings, no grad) on a batch of 32 real
 * LanguageTool sentences that all have the median token length, so the batch has no padding.
 * A benchmark, not a test: run it by hand after {@code mvn -o test-compile}:
 * <pre>
 * java -cp target/test-classes:target/classes:$(cat cp.txt) dev.bora4j.bench.MiniLmForwardBenchmark
 * </pre>
 * (cp.txt from {@code mvn -o dependency:build-classpath -Dmdep.outputFile=cp.txt}).
 */
public final class MiniLmForwardBenchmark {

    private static final int BATCH = 32;
    private static final int WARMUP = 5;
    private static final int RUNS = 30;

    public static void main(String[] args) {
        JavaCppSettings.skipResidentMemoryCheck(); // as the command line does
        torch.set_num_threads(1);
        List<String> sentences = new ArrayList<>();
        for (RuleExample e : LanguageToolExamples.readEnglish()) {
            sentences.add(e.text());
        }
        try (MiniLmTokenizer tokenizer = MiniLmTokenizer.load(512)) {
            int[] lengths = sentences.stream().mapToInt(s -> tokenizer.tokenIds(s).length).sorted().toArray();
            int median = lengths[lengths.length / 2];
            long within32 = Arrays.stream(lengths).filter(n -> n <= 32).count();
            long within64 = Arrays.stream(lengths).filter(n -> n <= 64).count();
            System.out.printf("token lengths of %d examples: median %d, %.2f%% <= 32, %.2f%% <= 64%n", lengths.length,
                    median, 100.0 * within32 / lengths.length, 100.0 * within64 / lengths.length);
            List<String> batchText = new ArrayList<>();
            for (String s : sentences) {
                if (batchText.size() < BATCH && tokenizer.tokenIds(s).length == median) {
                    batchText.add(s);
                }
            }
            MiniLmModel model = MiniLmModel.loadPretrained();
            double[] ms = new double[RUNS];
            for (int i = 0; i < WARMUP + RUNS; i++) {
                try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
                    long t0 = System.nanoTime();
                    TokenBatch batch = tokenizer.encode(batchText);
                    model.sentenceEmbeddings(batch).sum().item_double(); // forces the result
                    long t1 = System.nanoTime();
                    if (i >= WARMUP) {
                        ms[i - WARMUP] = (t1 - t0) / 1e6;
                    }
                }
            }
            Arrays.sort(ms);
            System.out.printf("forward, batch %d x %d tokens (tokenising included), %d runs, torch threads %d: "
                    + "median %.1f ms, min %.1f ms, max %.1f ms%n", BATCH, median, RUNS, torch.get_num_threads(),
                    ms[RUNS / 2], ms[0], ms[RUNS - 1]);
        }
    }
}
