package dev.bora4j.cli;

import dev.bora4j.adapters.LoadedAdapter;
import dev.bora4j.adapters.LoraExport;
import dev.bora4j.adapters.MergedWeights;
import dev.bora4j.train.AcceptabilityTask;
import dev.bora4j.train.AdapterEvaluation;
import dev.bora4j.train.SentenceClassifier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code bora4j merge}: full weights with the adapter merged in, and/or the adapter as a plain LoRA. */
@Command(name = "merge", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write MiniLM's weights with an adapter merged in (W0 + s * dW) as one safetensors file,",
                "and/or export the adapter exactly as a plain PEFT LoRA of rank b*r."})
public final class MergeCommand implements Callable<Integer> {

    @Option(names = "--adapter", required = true, description = "Adapter folder written by 'bora4j finetune'.")
    Path adapter;
    @Option(names = "--output", description = "Safetensors file for the merged weights.")
    Path output;
    @Option(names = "--lora", description = "Folder for the adapter exported as a plain PEFT LoRA.")
    Path lora;

    @Override
    public Integer call() throws Exception {
        if (output == null && lora == null) {
            throw new IllegalArgumentException("give --output FILE (merged weights), --lora DIR (LoRA export), or both");
        }
        if (!Files.isDirectory(adapter)) {
            throw new IllegalArgumentException("--adapter " + adapter + " is not a folder");
        }
        if (output != null) {
            requireOutside(adapter, "--output", output);
        }
        if (lora != null) {
            requireOutside(adapter, "--lora", lora);
        }
        SentenceClassifier model = AcceptabilityTask.newClassifier();
        // the head too: the merged weights include it, and the LoRA export carries it
        LoadedAdapter loaded = AdapterEvaluation.loadOnto(adapter, model);
        if (output != null) {
            MergedWeights.export(output, model);
            System.out.println("wrote merged weights to " + output);
        }
        if (lora != null) {
            LoraExport.export(lora, loaded.adapters(), AcceptabilityTask.saveOptions(loaded.extraTensors()));
            System.out.println("wrote the adapter as a rank-" + LoraExport.exportedRank(loaded.adapters().byModule()
                    .values().iterator().next().config()) + " LoRA to " + lora);
        }
        return 0;
    }

    /**
     * Refuses an output that is the adapter folder, inside it, or one of its files: writing it
     * would overwrite the adapter being read. Paths are compared as they really are (symbolic
     * links resolved, '..' removed), and an output need not exist yet.
     */
    static void requireOutside(Path adapter, String option, Path out) throws IOException {
        Path folder = adapter.toRealPath();
        Path target = realLocation(out);
        if (target.startsWith(folder)) {
            throw new IllegalArgumentException(option + " " + out + (target.equals(folder) ? " is" : " is inside")
                    + " the adapter folder " + adapter + ": writing it would overwrite the adapter being merged;"
                    + " choose an " + option + " outside " + adapter);
        }
    }

    /** Where {@code p} is or would be created: the real path of its deepest existing ancestor, plus the rest. */
    private static Path realLocation(Path p) throws IOException {
        Path abs = p.toAbsolutePath().normalize();
        Path existing = abs;
        while (existing.getParent() != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        return existing.toRealPath().resolve(existing.relativize(abs));
    }
}
