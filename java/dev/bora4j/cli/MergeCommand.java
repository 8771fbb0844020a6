package dev.bora4j.cli;

import dev.bora4j.adapters.BoraAdapterFiles;
import dev.bora4j.adapters.LoadedAdapter;
import dev.bora4j.adapters.LoraExport;
import dev.bora4j.adapters.MergedWeights;
import dev.bora4j.train.AcceptabilityTask;
import dev.bora4j.train.SentenceClassifier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

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
        SentenceClassifier model = AcceptabilityTask.newClassifier();
        LoadedAdapter loaded = BoraAdapterFiles.load(adapter, model);
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
}
