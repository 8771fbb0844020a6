package dev.bora4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.TestModel;
import dev.bora4j.TorchTesting;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class BoraInjectorTest {

    @BeforeAll
    static void init() {
        TorchTesting.init();
    }

    /** The names in the model's named_parameters(), only the trainable ones if asked. */
    static List<String> parameterNames(org.bytedeco.pytorch.Module m, boolean trainableOnly) {
        StringTensorDict d = m.named_parameters();
        StringVector keys = d.keys();
        List<String> names = new ArrayList<>();
        for (long i = 0; i < keys.size(); i++) {
            String k = keys.get(i).getString();
            if (!trainableOnly || d.get(k).requires_grad()) {
                names.add(k);
            }
        }
        return names;
    }

    @Test
    void attachesByNameFreezesBaseAndNamesParametersLikePeft() {
        TestModel model = new TestModel(8, 16, 4);
        BoraConfig cfg = BoraConfig.builder().targetModules("proj").rank(2).blocks(4).build();
        BoraAdapters adapters = BoraInjector.inject(model, cfg);
        assertEquals(List.of("blocks.0.proj", "blocks.1.proj"), List.copyOf(adapters.byModule().keySet()));
        assertNotNull(model.proj0.adapter());
        assertNull(model.head.adapter());
        List<String> trainable = parameterNames(model, true);
        assertEquals(List.of("blocks.0.proj.adapter.lora_A", "blocks.0.proj.adapter.lora_B",
                "blocks.0.proj.adapter.bora_sigma", "blocks.1.proj.adapter.lora_A", "blocks.1.proj.adapter.lora_B",
                "blocks.1.proj.adapter.bora_sigma"), trainable);
        assertEquals(trainable, List.copyOf(adapters.trainableParameters().keySet()));
        assertTrue(parameterNames(model, false).contains("pre.weight"));
        assertFalse(model.pre.weight().requires_grad());
        assertFalse(model.head.base().weight().requires_grad());
        assertEquals(2 * (2 * 16 + 16 * 2 + 4 * 4 * 2), adapters.trainableCount());
        for (Map.Entry<String, Tensor> e : adapters.trainableParameters().entrySet()) {
            assertTrue(e.getValue().requires_grad(), e.getKey());
        }
        // B starts at zero, so the adapted model computes exactly the base model
        assertEquals(0.0, adapters.byModule().get("blocks.0.proj").loraB().abs().max().item_double());
    }

    @Test
    void errorsNameTheProblem() {
        TestModel model = new TestModel(8, 16, 4);
        IllegalArgumentException plain = assertThrows(IllegalArgumentException.class,
                () -> BoraInjector.inject(model, BoraConfig.builder().targetModules("pre").build()));
        assertTrue(plain.getMessage().contains("'pre'") && plain.getMessage().contains("plain torch Linear"),
                plain.getMessage());
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> BoraInjector.inject(model, BoraConfig.builder().targetModules("query").build()));
        assertTrue(none.getMessage().contains("no AdaptableLinear module matches"), none.getMessage());
        IllegalArgumentException divide = assertThrows(IllegalArgumentException.class,
                () -> BoraInjector.inject(model, BoraConfig.builder().targetModules("head").blocks(8).build()));
        assertTrue(divide.getMessage().contains("'head'") && divide.getMessage().contains("does not divide"),
                divide.getMessage());
        BoraInjector.inject(model, BoraConfig.builder().targetModules("head").blocks(2).build());
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
                () -> BoraInjector.inject(model, BoraConfig.builder().targetModules("head").blocks(2).build()));
        assertTrue(twice.getMessage().contains("already has an adapter"), twice.getMessage());
    }

    @Test
    void anAdapterThatCannotBeBuiltLeavesTheModelAsItWas() {
        TestModel model = new TestModel(8, 16, 4);
        assertTrue(model.pre.weight().requires_grad());
        // KronA a1 = 8 divides the proj layers' 16 outputs but not the head's 4, the last target.
        BoraConfig krona = BoraConfig.builder().mode(BoraConfig.Mode.KRONA).targetModules("proj", "head")
                .kronFactors(8, 0).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BoraInjector.inject(model, krona));
        assertTrue(e.getMessage().contains("must divide"), e.getMessage());
        assertNull(model.proj0.adapter());
        assertNull(model.head.adapter());
        assertTrue(model.pre.weight().requires_grad(), "the base model was frozen by a failed injection");
        BoraAdapters adapters = BoraInjector.inject(model, BoraConfig.builder().mode(BoraConfig.Mode.KRONA)
                .targetModules("proj", "head").kronFactors(4, 0).build());
        assertEquals(3, adapters.all().size());
    }

    @Test
    void aSecondInjectionLeavesTheFirstAdaptersTrainable() {
        TestModel model = new TestModel(8, 16, 4);
        BoraAdapters first = BoraInjector.inject(model, BoraConfig.builder().targetModules("proj").rank(2).blocks(4)
                .build());
        BoraAdapters second = BoraInjector.inject(model, BoraConfig.builder().targetModules("head").rank(2).blocks(2)
                .build());
        assertEquals(List.of("blocks.0.proj.adapter.lora_A", "blocks.0.proj.adapter.lora_B",
                "blocks.0.proj.adapter.bora_sigma", "blocks.1.proj.adapter.lora_A", "blocks.1.proj.adapter.lora_B",
                "blocks.1.proj.adapter.bora_sigma", "head.adapter.lora_A", "head.adapter.lora_B",
                "head.adapter.bora_sigma"), parameterNames(model, true));
        model.forward(TorchTesting.randn(org.bytedeco.pytorch.global.torch.ScalarType.Float, 3, 8)).sum().backward();
        for (BoraAdapters adapters : List.of(first, second)) {
            for (Map.Entry<String, Tensor> e : adapters.trainableParameters().entrySet()) {
                assertTrue(e.getValue().grad().defined(), "no gradient for " + e.getKey());
            }
        }
    }
}
