package dev.bora4j.bench;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/** Runs {@link BoraBenchmark} once and prints the side-by-side ratios of the medians, one row per layer shape. */
public final class RunBenchmarks {

    public static void main(String[] args) throws RunnerException {
        // forks and their JVM flags come from BoraBenchmark's @Fork annotations
        Options opts = new OptionsBuilder().include(BoraBenchmark.class.getSimpleName())
                .warmupIterations(3).warmupTime(TimeValue.seconds(1)).measurementIterations(5)
                .measurementTime(TimeValue.seconds(1)).build();
        // layer -> benchmark -> microseconds per call
        Map<String, Map<String, Double>> us = new TreeMap<>();
        for (RunResult r : new Runner(opts).run()) {
            String name = r.getParams().getBenchmark();
            us.computeIfAbsent(r.getParams().getParam("layer"), k -> new LinkedHashMap<>())
                    .put(name.substring(name.lastIndexOf('.') + 1), r.getPrimaryResult().getStatistics().getPercentile(50));
        }
        System.out.println();
        System.out.println("One adapter layer, forward+backward (x, y0, A, B, Sigma need gradients), r=8, BoRA b=4,"
                + " fp32, CPU, 1 torch thread, median microseconds per call (JMH sample mode: GC pauses and other"
                + " outliers do not move it):");
        System.out.printf("%-14s %9s %9s %9s %9s %9s %9s | %9s %9s %9s %9s %9s%n", "T:in:out", "BoRA", "LoRA",
                "LoRA krn", "torch", "torch mm", "ref BoRA", "LoRA/trch", "krn/mm", "bridge", "autograd", "BoRA/LoRA");
        for (Map.Entry<String, Map<String, Double>> e : us.entrySet()) {
            Map<String, Double> m = e.getValue();
            double bora = m.get("nativeBora"), lora = m.get("nativeLora"), kernels = m.get("nativeLoraKernels");
            double torchLora = m.get("torchLora"), products = m.get("torchLoraProducts"), ref = m.get("referenceBora");
            System.out.printf("%-14s %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f | %8.2fx %8.2fx %9.1f %9.1f %8.2fx%n",
                    e.getKey(), bora, lora, kernels, torchLora, products, ref, lora / torchLora, kernels / products,
                    lora - kernels, torchLora - products, bora / lora);
        }
        System.out.println("LoRA/trch: native LoRA through the bridge / torch LoRA (two matmuls + autograd);"
                + " krn/mm: the LoRA kernels alone / the same products through torch.mm;"
                + " bridge, autograd: what each path adds on top of its products (us).");
        System.out.println();
        System.out.println("The same LoRA calls in JVMs with JavaCPP's default resident-memory check (a /proc read per"
                + " tensor handle), against the forks above (check off, as the command line runs):");
        System.out.printf("%-14s %11s %11s %11s %11s%n", "T:in:out", "LoRA check", "LoRA ratio", "torch check",
                "torch ratio");
        for (Map.Entry<String, Map<String, Double>> e : us.entrySet()) {
            Map<String, Double> m = e.getValue();
            double lora = m.get("nativeLoraJavacppCheck"), torchLora = m.get("torchLoraJavacppCheck");
            System.out.printf("%-14s %11.1f %10.2fx %11.1f %10.2fx%n", e.getKey(), lora, lora / m.get("nativeLora"),
                    torchLora, torchLora / m.get("torchLora"));
        }
        Map<String, Double> any = us.values().iterator().next();
        System.out.printf("JNI call (bora_version)     %9.3f us%n", any.get("jniVersion"));
        System.out.printf("tiny BoraOps.forward        %9.3f us   (target JNI overhead < 10 us)%n",
                any.get("tinyNativeForward"));
    }
}
