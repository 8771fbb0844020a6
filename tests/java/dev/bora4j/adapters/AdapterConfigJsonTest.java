package dev.bora4j.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.bora4j.TestModel;
import dev.bora4j.TorchTesting;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraConfig.Mode;
import dev.bora4j.nn.BoraConfig.SigmaParameterization;
import dev.bora4j.nn.BoraInjector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** adapter_config.json: the fields written, and clear errors for configs that are wrong. */
class AdapterConfigJsonTest {

    @TempDir
    Path dir;
    Path configFile;

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    @BeforeEach
    void saveValidAdapter() throws Exception {
        torch.manual_seed(1);
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters adapters = BoraInjector.inject(model, BoraConfig.builder().targetModules("proj").rank(2)
                .blocks(4).alpha(16).dropout(0.05).sigma(SigmaParameterization.EXP_NORM).build());
        BoraAdapterFiles.save(dir, adapters, AdapterSaveOptions.baseModel("org/base-model")
                .withTaskType("FEATURE_EXTRACTION")
                .withExtraTensor("classifier.weight", model.head.base().weight()));
        configFile = dir.resolve("adapter_config.json");
    }

    private JsonObject json() throws Exception {
        return JsonParser.parseString(Files.readString(configFile)).getAsJsonObject();
    }

    @Test
    void fieldsAreWrittenAsPeftStyle() throws Exception {
        JsonObject j = json();
        assertEquals(Set.of("peft_type", "r", "bora_blocks", "lora_alpha", "use_rslora", "lora_dropout", "bora_sigma",
                "bora_mode", "target_modules", "base_model_name_or_path", "task_type", "bias", "fan_in_fan_out",
                "inference_mode", "modules_to_save", "bora4j_version"), j.keySet(), "exclude_modules only when set");
        assertEquals("BORA", j.get("peft_type").getAsString());
        assertEquals(new JsonPrimitive(2), j.get("r"));
        assertEquals("2", j.get("r").toString(), "r is an integer literal");
        assertEquals(4, j.get("bora_blocks").getAsInt());
        assertEquals("16", j.get("lora_alpha").toString(), "integral alpha is written as an int, as PEFT has it");
        assertFalse(j.get("use_rslora").getAsBoolean());
        assertEquals(0.05, j.get("lora_dropout").getAsDouble());
        assertEquals("exp_norm", j.get("bora_sigma").getAsString());
        assertEquals("BORA", j.get("bora_mode").getAsString());
        assertEquals(JsonParser.parseString("[\"proj\"]"), j.get("target_modules"));
        assertEquals("org/base-model", j.get("base_model_name_or_path").getAsString());
        assertEquals("FEATURE_EXTRACTION", j.get("task_type").getAsString());
        assertEquals("none", j.get("bias").getAsString());
        assertFalse(j.get("fan_in_fan_out").getAsBoolean());
        assertTrue(j.get("inference_mode").getAsBoolean());
        assertEquals(JsonParser.parseString("[\"classifier\"]"), j.get("modules_to_save"));
        assertEquals(AdapterConfigFile.BORA4J_VERSION, j.get("bora4j_version").getAsString());
        // keys sorted, two-space indent, as PEFT's json.dumps(indent=2, sort_keys=True)
        String text = Files.readString(configFile);
        assertTrue(text.startsWith("{\n  \"base_model_name_or_path\": "), text);
        List<String> order = List.copyOf(j.keySet());
        assertEquals(List.copyOf(new TreeSet<>(order)), order);
    }

    @Test
    void regexTargetsAndNullsAreWritten() throws Exception {
        torch.manual_seed(1);
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters adapters = BoraInjector.inject(model, BoraConfig.builder().targetRegex("blocks\\.\\d+\\.proj")
                .mode(Mode.MELORA).rank(2).blocks(2).alpha(1.5).rsLora(true).build());
        Path d = dir.resolve("regex");
        BoraAdapterFiles.save(d, adapters);
        JsonObject j = JsonParser.parseString(Files.readString(d.resolve("adapter_config.json"))).getAsJsonObject();
        assertEquals("blocks\\.\\d+\\.proj", j.get("target_modules").getAsString());
        assertEquals(1.5, j.get("lora_alpha").getAsDouble());
        assertTrue(j.get("use_rslora").getAsBoolean());
        assertEquals("MELORA", j.get("bora_mode").getAsString());
        assertEquals(JsonNull.INSTANCE, j.get("base_model_name_or_path"));
        assertEquals(JsonNull.INSTANCE, j.get("task_type"));
        assertEquals(JsonNull.INSTANCE, j.get("modules_to_save"));
        AdapterConfigFile read = AdapterConfigFile.read(d.resolve("adapter_config.json"));
        assertEquals("blocks\\.\\d+\\.proj", read.targetRegex());
        assertNull(read.targetModules());
        torch.manual_seed(1);
        TestModel fresh = new TestModel(8, 16, 4);
        assertEquals(List.of("blocks.0.proj", "blocks.1.proj"),
                List.copyOf(BoraAdapterFiles.load(d, fresh).adapters().byModule().keySet()));
    }

    static Stream<Arguments> badFields() {
        return Stream.of(
                bad("peft_type", new JsonPrimitive("LOHA"), "\"LOHA\""),
                bad("peft_type", null, "missing"),
                bad("peft_type", new JsonPrimitive(3), "must be a string"),
                bad("r", null, "missing"),
                bad("r", new JsonPrimitive("2"), "must be a number"),
                bad("r", new JsonPrimitive(0), "out of range"),
                bad("r", new JsonPrimitive(-2), "out of range"),
                bad("r", new JsonPrimitive(1.5), "must be an integer"),
                bad("r", new JsonPrimitive(1 << 20), "out of range"),
                bad("r", JsonParser.parseString("1e999999999"), "is 1E+999999999, out of range"),
                bad("bora_blocks", JsonParser.parseString("1e-999999999"), "must be an integer, got 1E-999999999"),
                bad("bora_blocks", new JsonPrimitive(0), "out of range"),
                bad("bora_blocks", JsonNull.INSTANCE, "is null"),
                bad("lora_alpha", new JsonPrimitive(0), "must be positive"),
                bad("lora_alpha", new JsonPrimitive(-1), "must be positive"),
                bad("lora_alpha", new JsonPrimitive("16"), "must be a number"),
                bad("lora_alpha", JsonParser.parseString("1e999"), "finite"),
                bad("lora_dropout", new JsonPrimitive(1.0), "[0, 1)"),
                bad("use_rslora", new JsonPrimitive("false"), "true or false"),
                bad("bora_sigma", new JsonPrimitive("softplus"), "[raw, exp, exp_norm]"),
                bad("bora_mode", new JsonPrimitive("DORA"), "[BORA, LORA, MELORA]"),
                bad("target_modules", new JsonArray(), "at least one"),
                bad("target_modules", JsonParser.parseString("[\"proj\", 3]"), "non-empty strings"),
                bad("target_modules", new JsonPrimitive(5), "list of module names or a regex"),
                bad("bias", new JsonPrimitive("all"), "\"none\""),
                bad("fan_in_fan_out", new JsonPrimitive(true), "out x in"),
                bad("modules_to_save", new JsonPrimitive("classifier"), "list of strings"),
                bad("bora4j_version", null, "missing"));
    }

    private static Arguments bad(String field, JsonElement value, String problem) {
        return Arguments.of(field, value, problem);
    }

    @ParameterizedTest(name = "{0} = {1}")
    @MethodSource("badFields")
    void badFieldIsNamed(String field, JsonElement value, String problem) throws Exception {
        JsonObject j = json();
        if (value == null) {
            j.remove(field);
        } else {
            j.add(field, value);
        }
        Files.writeString(configFile, j.toString());
        assertLoadFails("\"" + field + "\"", problem);
    }

    @Test
    void loraModeWithBlocksIsRefused() throws Exception {
        edit(j -> j.addProperty("bora_mode", "LORA"));
        assertLoadFails("\"bora_blocks\"", "LORA uses one block");
    }

    @Test
    void invalidRegexIsRefusedWithTheFileName() throws Exception {
        edit(j -> j.addProperty("target_modules", "proj(["));
        assertLoadFails("regular expression", "adapter_config.json");
    }

    @Test
    void aConfigThatDoesNotFitTheModelNamesTheFile() throws Exception {
        edit(j -> {
            JsonArray targets = new JsonArray();
            targets.add("proj");
            targets.add("pre"); // a plain Linear
            j.add("target_modules", targets);
        });
        assertLoadFails("does not fit the model", "'pre'", "plain torch Linear");
    }

    static Stream<Arguments> badTexts() {
        return Stream.of(
                Arguments.of("", "not valid JSON"),
                Arguments.of("[1, 2]", "expected a JSON object"),
                Arguments.of("{\"r\": 2,}", "not valid JSON"),
                Arguments.of("{\"r\": 2} trailing", "not valid JSON"),
                Arguments.of("{\"r\": 2, \"r\": 4}", "\"r\" appears twice"),
                Arguments.of("{'r': 2}", "not valid JSON"),
                Arguments.of("{\"r\": NaN}", "not valid JSON"));
    }

    @ParameterizedTest
    @MethodSource("badTexts")
    void malformedJsonIsRefused(String text, String problem) throws Exception {
        Files.writeString(configFile, text);
        assertLoadFails(problem, "adapter_config.json");
    }

    @Test
    void numberBeyondAnyRangeNamesTheField() throws Exception {
        String json = Files.readString(configFile);
        Files.writeString(configFile, json.replace("\"r\": 2,", "\"r\": 1e9999999999,"));
        assertLoadFails("field \"r\" is 1e9999999999, a number out of any usable range");
        Files.writeString(configFile, json.replace("\"proj\"", "1e-9999999999"));
        assertLoadFails("field \"target_modules\" is 1e-9999999999, a number out of any usable range");
    }

    @Test
    void invalidUtf8AndMissingFileAreRefused() throws Exception {
        Files.write(configFile, new byte[] {'{', (byte) 0xC3, '}'});
        assertLoadFails("not valid UTF-8", "adapter_config.json");
        Files.delete(configFile);
        Exception e = assertThrows(java.nio.file.NoSuchFileException.class, () -> load());
        assertTrue(e.getMessage().contains("adapter_config.json"), e.getMessage());
    }

    @Test
    void peftsAllLinearShorthandIsRefusedWithWhatToWriteInstead() throws Exception {
        String json = Files.readString(configFile);
        Files.writeString(configFile, json.replace("\"target_modules\": [\n    \"proj\"\n  ]",
                "\"target_modules\": \"all-linear\""));
        assertLoadFails("field \"target_modules\"", "\"all-linear\" shorthand", "write those names instead");
    }

    @Test
    void aFolderWithOnlyPickledWeightsIsToldHowToConvertThem() throws Exception {
        Path weights = configFile.resolveSibling("adapter_model.safetensors");
        Files.move(weights, configFile.resolveSibling("adapter_model.bin")); // any bytes: it is never read
        String m = assertThrows(AdapterFileException.class, () -> load()).getMessage();
        assertTrue(m.startsWith(dir + " holds adapter_model.bin (PyTorch's pickle format, which bora4j does not read")
                && m.contains("save the adapter again with PEFT's save_pretrained"), m);
        Files.delete(configFile.resolveSibling("adapter_model.bin"));
        Exception e = assertThrows(java.nio.file.NoSuchFileException.class, () -> load());
        assertTrue(e.getMessage().contains("adapter_model.safetensors") && e.getMessage().contains("no adapter weights"),
                e.getMessage());
    }

    @Test
    void versionIsTheProjectVersion() throws Exception {
        String pom = Files.readString(Path.of("pom.xml"));
        int artifact = pom.indexOf("<artifactId>bora4j</artifactId>");
        int begin = pom.indexOf("<version>", artifact) + "<version>".length();
        assertEquals(pom.substring(begin, pom.indexOf("</version>", begin)), AdapterConfigFile.BORA4J_VERSION,
                "AdapterConfigFile.BORA4J_VERSION must follow the version in pom.xml");
    }

    @Test
    void unknownFieldsAreIgnoredAsPeftDoes() throws Exception {
        edit(j -> j.addProperty("some_future_field", 1));
        assertEquals(2, load().config().rank());
    }

    private void edit(Consumer<JsonObject> change) throws Exception {
        JsonObject j = json();
        change.accept(j);
        Files.writeString(configFile, j.toString(), StandardCharsets.UTF_8);
    }

    private LoadedAdapter load() throws Exception {
        torch.manual_seed(1);
        return BoraAdapterFiles.load(dir, new TestModel(8, 16, 4));
    }

    private void assertLoadFails(String... parts) throws Exception {
        torch.manual_seed(1);
        TestModel fresh = new TestModel(8, 16, 4);
        AdapterFileException e = assertThrows(AdapterFileException.class, () -> BoraAdapterFiles.load(dir, fresh));
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message lacks '" + p + "': " + e.getMessage());
        }
        assertTrue(e.getMessage().contains(configFile.toString()), "message lacks the file: " + e.getMessage());
        assertNull(fresh.proj0.adapter(), "a failed load must leave the model without adapters");
    }
}
