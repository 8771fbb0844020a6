package dev.bora4j.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.bora4j.TestModel;
import dev.bora4j.TorchTesting;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraInjector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** exclude_modules, as PEFT's: targeted modules it names get no adapter, in memory and in files. */
class ExcludeModulesTest {

    @TempDir
    Path dir;

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    private static BoraConfig.Builder projExcept() {
        return BoraConfig.builder().targetModules("proj", "head").rank(2).blocks(2);
    }

    @Test
    void matchingFollowsPeftForListsAndRegexes() {
        BoraConfig list = projExcept().excludeModules("1.proj", "head").build();
        assertTrue(list.matches("blocks.0.proj"));
        assertFalse(list.matches("blocks.1.proj"), "a suffix after a '.' excludes");
        assertFalse(list.matches("head"), "the exact name excludes");
        assertTrue(list.excludes("x.head") && !list.excludes("xhead"), "suffixes count only after a '.'");

        BoraConfig regex = projExcept().excludeRegex("blocks\\.\\d+\\.proj").build();
        assertFalse(regex.matches("blocks.0.proj"));
        assertTrue(regex.matches("head"));
        assertTrue(regex.matches("a.blocks.0.proj"), "a regex must match the whole name");
        assertEquals("blocks\\.\\d+\\.proj", regex.toBuilder().build().excludeRegex(), "toBuilder keeps it");

        String both = assertThrows(IllegalArgumentException.class,
                () -> projExcept().excludeModules("head").excludeRegex("x").build()).getMessage();
        assertTrue(both.contains("not both"), both);
        assertThrows(IllegalArgumentException.class, () -> projExcept().excludeModules(" ").build());
        assertThrows(IllegalArgumentException.class, () -> projExcept().excludeModules((String) null));
        assertThrows(IllegalArgumentException.class, () -> projExcept().excludeRegex("(?=x)proj"));
    }

    @Test
    void excludedModulesGetNoAdapterAndFilesCarryTheExclusion() throws Exception {
        torch.manual_seed(2);
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters adapters = BoraInjector.inject(model, projExcept().excludeModules("blocks.1.proj").build());
        assertEquals(List.of("blocks.0.proj", "head"), List.copyOf(adapters.all().keySet()));
        assertEquals(null, model.proj1.adapter());
        AdapterFixtures.randomize(adapters);
        Tensor x = TorchTesting.randn(ScalarType.Float, 3, 8);
        Tensor y;
        try (NoGradGuard ng = new NoGradGuard()) {
            y = model.forward(x);
        }

        BoraAdapterFiles.save(dir.resolve("bora"), adapters);
        JsonObject config = JsonParser.parseString(Files.readString(dir.resolve("bora").resolve(
                "adapter_config.json"))).getAsJsonObject();
        assertEquals(JsonParser.parseString("[\"blocks.1.proj\"]"), config.get("exclude_modules"));
        LoraExport.export(dir.resolve("lora"), adapters, AdapterSaveOptions.none());
        assertEquals(JsonParser.parseString("[\"blocks.1.proj\"]"), JsonParser.parseString(Files.readString(
                dir.resolve("lora").resolve("adapter_config.json"))).getAsJsonObject().get("exclude_modules"),
                "the LoRA export says it too, or PEFT would look for weights of the excluded module");

        for (String folder : List.of("bora", "lora")) {
            torch.manual_seed(2);
            TestModel fresh = new TestModel(8, 16, 4);
            LoadedAdapter loaded = BoraAdapterFiles.load(dir.resolve(folder), fresh);
            assertEquals(List.of("blocks.0.proj", "head"), List.copyOf(loaded.adapters().all().keySet()), folder);
            try (NoGradGuard ng = new NoGradGuard()) {
                assertTrue(TorchTesting.relError(fresh.forward(x), y) < 1e-5, folder + " computes what was saved");
            }
        }
    }

    @Test
    void aRegexExclusionInAFileIsReadAndABadOneRefused() throws Exception {
        torch.manual_seed(2);
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapterFiles.save(dir, BoraInjector.inject(model, projExcept().excludeRegex("blocks\\.1\\..*").build()));
        Path configFile = dir.resolve("adapter_config.json");
        String text = Files.readString(configFile);
        assertTrue(text.contains("\"exclude_modules\": \"blocks\\\\.1\\\\..*\""), text);
        assertEquals(List.of("blocks.0.proj", "head"),
                List.copyOf(BoraAdapterFiles.load(dir, new TestModel(8, 16, 4)).adapters().all().keySet()));

        JsonObject json = JsonParser.parseString(text).getAsJsonObject();
        json.addProperty("exclude_modules", "(?!x)");
        Files.writeString(configFile, json.toString());
        TestModel fresh = new TestModel(8, 16, 4);
        AdapterFileException e = assertThrows(AdapterFileException.class, () -> BoraAdapterFiles.load(dir, fresh));
        assertTrue(e.getMessage().contains("adapter_config.json"), e.getMessage());
        assertEquals(null, fresh.proj0.adapter());

        json.add("exclude_modules", JsonParser.parseString("[3]"));
        Files.writeString(configFile, json.toString());
        assertTrue(assertThrows(AdapterFileException.class, () -> BoraAdapterFiles.load(dir, new TestModel(8, 16, 4)))
                .getMessage().contains("field \"exclude_modules\""));
    }

    @Test
    void anEmptyExclusionInAFileExcludesNothingAndTheLoraExportLeavesTheKeyOut() throws Exception {
        torch.manual_seed(2);
        BoraAdapters adapters = BoraInjector.inject(new TestModel(8, 16, 4), projExcept().build());
        BoraAdapterFiles.save(dir, adapters);
        LoraExport.export(dir.resolve("lora"), adapters, AdapterSaveOptions.none());
        assertFalse(JsonParser.parseString(Files.readString(dir.resolve("lora").resolve("adapter_config.json")))
                .getAsJsonObject().has("exclude_modules"), "PEFT before 0.14 refuses a LoraConfig key it lacks");
        Path configFile = dir.resolve("adapter_config.json");
        JsonObject json = JsonParser.parseString(Files.readString(configFile)).getAsJsonObject();
        for (String nothing : List.of("null", "[]", "\"\"", "\"  \"")) {
            json.add("exclude_modules", JsonParser.parseString(nothing));
            Files.writeString(configFile, json.toString());
            assertEquals(3, BoraAdapterFiles.load(dir, new TestModel(8, 16, 4)).adapters().all().size(), nothing);
        }
        json.add("exclude_modules", JsonParser.parseString("[\"proj\", \"head\"]"));
        Files.writeString(configFile, json.toString());
        String m = assertThrows(AdapterFileException.class, () -> BoraAdapterFiles.load(dir, new TestModel(8, 16, 4)))
                .getMessage();
        assertTrue(m.contains("minus exclude_modules [proj, head]"), m);
    }

    @Test
    void excludingEveryTargetSaysSo() {
        TestModel model = new TestModel(8, 16, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BoraInjector.inject(model, projExcept().excludeModules("proj", "head").build()));
        assertTrue(e.getMessage().contains("once exclude_modules [proj, head] are left out"), e.getMessage());
    }
}
