package dev.bora4j.bench;

import java.util.HashMap;
import java.util.Map;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/** Runs {@link BoraBenchmark} once and prints the side-by-side ratios. */
public final class RunBenchmarks {

    public static void main(String[] args) throws RunnerException {
        Options opts = new OptionsBuilder().include(BoraBenchmark.class.getSimpleName()).forks(1)
                .warmupIterations(3).warmupTime(TimeValue.seconds(2)).measurementIterations(5)
                .measurementTime(TimeValue.seconds(2)).jvmArgsAppend("-Xmx4g").build();
        Map<String, Double> us = new HashMap<>();
        for (RunResult r : new Runner(opts).run()) {
            String name = r.getParams().getBenchmark();
            us.put(name.substring(name.lastIndexOf('.') + 1), r.getPrimaryResult().getScore());
        }
        double nat = us.get("nativeBora"), ref = us.get("referenceBora"), lora = us.get("torchLora");
        System.out.println();
        System.out.println("BoRA layer forward+backward, T=4096 n=m=384 r=8 b=4, fp32, CPU, 1 torch thread:");
        System.out.printf("  native (autograd bridge)  %9.1f us%n", nat);
        System.out.printf("  pure-torch reference      %9.1f us%n", ref);
        System.out.printf("  torch LoRA (two matmuls)  %9.1f us%n", lora);
        System.out.printf("  native / reference        %9.2f x   (target <= 1.0, stretch 0.5)%n", nat / ref);
        System.out.printf("  native / torch LoRA       %9.2f x%n", nat / lora);
        System.out.printf("JNI call (bora_version)     %9.3f us%n", us.get("jniVersion"));
        System.out.printf("tiny BoraOps.forward        %9.3f us   (target JNI overhead < 10 us)%n",
                us.get("tinyNativeForward"));
    }
}
