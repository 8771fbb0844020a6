package dev.bora4j.adapters;

import static dev.bora4j.TorchTesting.randn;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.TorchTesting;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraInjector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the example of docs/adapters.md and checks that the document shows exactly this code. */
class AdapterDocsExampleTest {

    @TempDir
    Path tmp;

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    @Test
    void saveLoadExportMerge() throws Exception {
        torch.manual_seed(8);
        AdapterFixtures.MiniLmLike model = new AdapterFixtures.MiniLmLike(32, 64, 2, 3);
        torch.manual_seed(8);
        AdapterFixtures.MiniLmLike freshModel = new AdapterFixtures.MiniLmLike(32, 64, 2, 3);
        // docs:begin
        BoraAdapters adapters = BoraInjector.inject(model, BoraConfig.builder()
                .targetModules("query", "value").rank(4).blocks(4).alpha(8).build());
        // ... train the adapters (and the classifier) ...

        // save: my-adapter/adapter_config.json + my-adapter/adapter_model.safetensors
        Path dir = tmp.resolve("my-adapter");
        AdapterSaveOptions options = AdapterSaveOptions.baseModel("sentence-transformers/all-MiniLM-L6-v2")
                .withTaskType("SEQ_CLS")
                .withExtraTensor("classifier.weight", model.classifier.weight());
        BoraAdapterFiles.save(dir, adapters, options);

        // load onto a fresh copy of the base model: injects the adapters and copies the tensors in
        LoadedAdapter loaded = BoraAdapterFiles.load(dir, freshModel);
        Tensor classifierWeight = loaded.extraTensors().get("classifier.weight");

        // export as a plain PEFT LoRA of rank b*r, for PeftModel.from_pretrained or vLLM
        LoraExport.export(tmp.resolve("my-adapter-lora"), loaded.adapters(), options);

        // or merge every adapter into the base weights (the model in memory stays as it is)
        MergedWeights.export(tmp.resolve("merged.safetensors"), freshModel);
        // docs:end

        AdapterFixtures.randomize(adapters);
        BoraAdapterFiles.save(dir, adapters, options); // now with trained-looking values
        torch.manual_seed(8);
        AdapterFixtures.MiniLmLike other = new AdapterFixtures.MiniLmLike(32, 64, 2, 3);
        BoraAdapterFiles.load(dir, other);
        Tensor x = randn(ScalarType.Float, 3, 32);
        try (NoGradGuard ng = new NoGradGuard()) {
            assertTrue(torch.equal(other.forward(x), model.forward(x)), "loaded model differs from the saved one");
        }
        assertTrue(torch.equal(classifierWeight, model.classifier.weight()));
        assertTrue(Files.isRegularFile(tmp.resolve("my-adapter-lora/adapter_config.json")));
        assertTrue(Files.isRegularFile(tmp.resolve("my-adapter-lora/adapter_model.safetensors")));
        assertTrue(Files.isRegularFile(tmp.resolve("merged.safetensors")));
        String config = Files.readString(dir.resolve("adapter_config.json"));
        assertTrue(Files.readString(Path.of("docs/adapters.md")).contains("```json\n" + config + "```"),
                "docs/adapters.md must show the config this example writes:\n" + config);
    }

    @Test
    void documentShowsTheTestedCode() throws Exception {
        List<String> source = Files.readAllLines(Path.of("tests/java/dev/bora4j/adapters/AdapterDocsExampleTest.java"));
        int begin = source.indexOf("        // docs:begin"), end = source.indexOf("        // docs:end");
        assertTrue(begin >= 0 && end > begin, "markers not found");
        String snippet = source.subList(begin + 1, end).stream()
                .map(l -> l.length() >= 8 ? l.substring(8) : l.strip()).collect(Collectors.joining("\n"));
        String doc = Files.readString(Path.of("docs/adapters.md"));
        assertTrue(doc.contains(snippet), "docs/adapters.md must contain the example exactly as tested:\n" + snippet);
    }
}
