package dev.bora4j.cli;

import dev.bora4j.TorchTesting;
import dev.bora4j.adapters.AdapterSaveOptions;
import dev.bora4j.adapters.BoraAdapterFiles;
import dev.bora4j.io.SafetensorsReader;
import dev.bora4j.io.SafetensorsTorch;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraInjector;
import dev.bora4j.train.AcceptabilityTask;
import dev.bora4j.train.SentenceClassifier;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** 'bora4j merge' never writes over the adapter it reads, and its merged weights carry the trained head. */
class MergeCommandTest {

    @TempDir
    Path root;
    Path adapter;
    Tensor head;

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    @BeforeEach
    void saveAdapter() throws Exception {
        torch.manual_seed(5);
        SentenceClassifier model = AcceptabilityTask.newClassifier();
        head = model.head().weight().detach().clone();
        AdapterSaveOptions options = AcceptabilityTask.saveOptions(Map.of("classifier.weight", model.head().weight(),
                "classifier.bias", model.head().bias()));
        adapter = root.resolve("adapter");
        BoraAdapterFiles.save(adapter, BoraInjector.inject(model,
                BoraConfig.builder().targetModules("query", "value").rank(2).blocks(4).build()), options);
        Files.createSymbolicLink(root.resolve("link"), adapter);
    }

    @ParameterizedTest
    @CsvSource({
            "--lora, adapter, is",
            "--lora, adapter/., is",
            "--lora, link, is",
            "--output, adapter/adapter_model.safetensors, is inside",
            "--output, link/adapter_config.json, is inside",
            "--output, not-yet/../adapter/new/merged.safetensors, is inside",
            "--lora, adapter/lora, is inside"})
    void outputOnTheAdapterIsRefusedBeforeAnythingIsWritten(String option, String out, String where)
            throws Exception {
        Map<String, byte[]> before = contents(adapter);
        String given = root.resolve(out).toString();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream oldErr = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Bora4jCommand.execute("merge", "--adapter", adapter.toString(), option, given);
        } finally {
            System.setErr(oldErr);
        }
        assertEquals("error: " + option + " " + given + " " + where + " the adapter folder " + adapter
                + ": writing it would overwrite the adapter being merged; choose an " + option + " outside "
                + adapter, err.toString(StandardCharsets.UTF_8).strip());
        assertEquals(2, code);
        Map<String, byte[]> after = contents(adapter);
        assertEquals(before.keySet(), after.keySet(), "nothing may be added to or removed from the adapter folder");
        before.forEach((f, bytes) -> assertTrue(java.util.Arrays.equals(bytes, after.get(f)), f + " changed"));
    }

    @Test
    void neighboursOfTheAdapterAreAllowedAndTheMergedWeightsHoldTheTrainedHead() throws Exception {
        Path merged = root.resolve("adapter-merged.safetensors");
        Path lora = root.resolve("adapter-lora"); // shares the folder's name as a prefix, but is not in it
        assertEquals(0, Bora4jCommand.execute("merge", "--adapter", adapter.toString(),
                "--output", merged.toString(), "--lora", lora.toString()));
        try (SafetensorsReader r = SafetensorsReader.open(merged)) {
            assertTrue(torch.equal(SafetensorsTorch.read(r, "classifier.weight"), head),
                    "the merged weights must hold the adapter folder's head, not a new random one");
        }
        assertTrue(Files.isRegularFile(lora.resolve("adapter_model.safetensors")));
    }

    private static Map<String, byte[]> contents(Path dir) throws Exception {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.toList()) {
                out.put(dir.relativize(f).toString(), Files.isRegularFile(f) ? Files.readAllBytes(f) : new byte[0]);
            }
        }
        return out;
    }
}
