package dev.bora4j.models.minilm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.bora4j.data.LanguageToolExamples;
import dev.bora4j.data.RuleExample;
import dev.bora4j.onnx.OnnxModelReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * The encoder rebuilt on libtorch gives the same sentence embeddings as ONNX Runtime running
 * the original ONNX file, on real sentences (LanguageTool examples), in padded batches.
 */
class MiniLmOnnxParityTest {

    private static final int SENTENCES = 64;
    private static final int BATCH = 16;

    /** Every n-th distinct example sentence, so lengths and styles vary; deterministic. */
    private static List<String> realSentences() {
        List<RuleExample> examples = LanguageToolExamples.readEnglish();
        Set<String> picked = new LinkedHashSet<>();
        int stride = examples.size() / (SENTENCES * 2);
        for (int i = 0; i < examples.size() && picked.size() < SENTENCES; i += stride) {
            RuleExample e = examples.get(i);
            picked.add(e.text());
            if (e.correctedText() != null && picked.size() < SENTENCES) {
                picked.add(e.correctedText());
            }
        }
        return new ArrayList<>(picked);
    }

    @Test
    void sentenceEmbeddingsMatchOnnxRuntime() throws IOException, OrtException {
        torch.set_num_threads(1);
        byte[] modelBytes;
        try (InputStream in = MiniLmResources.open(MiniLmResources.ONNX_MODEL)) {
            modelBytes = in.readAllBytes();
        }
        MiniLmModel model = MiniLmModel.fromOnnx(OnnxModelReader.parse(modelBytes), MiniLmConfig.ALL_MINILM_L6_V2);
        List<String> sentences = realSentences();
        assertEquals(SENTENCES, sentences.size());

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        double minCosine = 1;
        double maxAbsDiff = 0;
        int maxLen = 0;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
             MiniLmTokenizer tokenizer = MiniLmTokenizer.load(128)) {
            options.setIntraOpNumThreads(1);
            try (OrtSession session = env.createSession(modelBytes, options)) {
                for (int start = 0; start < sentences.size(); start += BATCH) {
                    List<String> chunk = sentences.subList(start, Math.min(start + BATCH, sentences.size()));
                    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
                        TokenBatch batch = tokenizer.encode(chunk);
                        int b = (int) batch.batchSize();
                        int t = (int) batch.sequenceLength();
                        maxLen = Math.max(maxLen, t);
                        long[] ids = longs(batch.inputIds());
                        long[] mask = longs(batch.attentionMask());
                        long[] types = longs(batch.tokenTypeIds());
                        float[] ours = floats(model.sentenceEmbeddings(batch));
                        double[][] theirs = onnxMeanPooled(env, session, ids, mask, types, b, t);
                        for (int i = 0; i < b; i++) {
                            double dot = 0;
                            double nOurs = 0;
                            double nTheirs = 0;
                            for (int k = 0; k < 384; k++) {
                                double x = ours[i * 384 + k];
                                double y = theirs[i][k];
                                dot += x * y;
                                nOurs += x * x;
                                nTheirs += y * y;
                                maxAbsDiff = Math.max(maxAbsDiff, Math.abs(x - y));
                            }
                            double cosine = dot / Math.sqrt(nOurs * nTheirs);
                            minCosine = Math.min(minCosine, cosine);
                            assertTrue(cosine >= 0.9999, "cosine " + cosine + " for: " + chunk.get(i));
                        }
                    }
                }
            }
        }
        System.out.printf("MiniLM vs ONNX Runtime on %d LanguageTool sentences (up to %d tokens): "
                + "min cosine %.9f, max abs diff %.3g%n", sentences.size(), maxLen, minCosine, maxAbsDiff);
        assertTrue(maxAbsDiff < 1e-3, "max abs diff " + maxAbsDiff);
    }

    /** Runs the ONNX model and mean-pools its token output over the mask, as langchain4j does. */
    private static double[][] onnxMeanPooled(OrtEnvironment env, OrtSession session, long[] ids, long[] mask,
                                             long[] types, int b, int t) throws OrtException {
        long[] shape = {b, t};
        try (OnnxTensor idsT = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
             OnnxTensor maskT = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
             OnnxTensor typesT = OnnxTensor.createTensor(env, LongBuffer.wrap(types), shape);
             OrtSession.Result result = session.run(Map.of("input_ids", idsT, "attention_mask", maskT,
                     "token_type_ids", typesT))) {
            float[][][] states = (float[][][]) result.get(0).getValue();
            double[][] pooled = new double[b][384];
            for (int i = 0; i < b; i++) {
                int count = 0;
                for (int j = 0; j < t; j++) {
                    if (mask[i * t + j] == 1) {
                        count++;
                        for (int k = 0; k < 384; k++) {
                            pooled[i][k] += states[i][j][k];
                        }
                    }
                }
                for (int k = 0; k < 384; k++) {
                    pooled[i][k] /= count;
                }
            }
            return pooled;
        }
    }

    private static long[] longs(Tensor t) {
        Tensor c = t.contiguous();
        long[] out = new long[(int) c.numel()];
        c.data_ptr_long().get(out);
        return out;
    }

    private static float[] floats(Tensor t) {
        Tensor c = t.contiguous();
        float[] out = new float[(int) c.numel()];
        c.data_ptr_float().get(out);
        return out;
    }
}
