package dev.bora4j.train;

import dev.bora4j.io.SafetensorsReader;
import dev.bora4j.io.SafetensorsTorch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Adam;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OptimizerStateFileTest {

    @BeforeAll
    static void oneThread() {
        torch.set_num_threads(1);
    }

    /** A weight and a bias fitted by least squares with the optimizer {@code kind} makes. */
    private static final class Fit {
        final Tensor w;
        final Tensor b;
        final Optimizer optimizer;
        final Tensor x;
        final Tensor target;

        Fit(String kind) {
            torch.manual_seed(11);
            w = torch.randn(4, 3).set_requires_grad(true);
            b = torch.zeros(3).set_requires_grad(true);
            x = torch.randn(16, 4);
            target = torch.randn(16, 3);
            TensorVector params = new TensorVector(w, b);
            optimizer = switch (kind) {
                case "adamw" -> new AdamW(params, new AdamWOptions(0.05));
                case "adam-amsgrad" -> {
                    AdamOptions o = new AdamOptions(0.05);
                    o.amsgrad().put(true);
                    yield new Adam(params, o);
                }
                case "sgd-momentum" -> {
                    SGDOptions o = new SGDOptions(0.05);
                    o.momentum().put(0.9);
                    yield new SGD(params, o);
                }
                default -> throw new IllegalArgumentException(kind);
            };
        }

        void steps(int n) {
            for (int i = 0; i < n; i++) {
                try (PointerScope scope = new PointerScope()) {
                    optimizer.zero_grad();
                    x.matmul(w).add(b).sub(target).pow(new Scalar(2.0)).mean().backward();
                    optimizer.step();
                }
            }
        }

        Map<String, Tensor> trainable() {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("layer.weight", w);
            m.put("layer.bias", b);
            return m;
        }

        float[] values() {
            Tensor c = torch.cat(new TensorVector(w.detach().flatten(), b.detach().flatten())).contiguous();
            float[] out = new float[(int) c.numel()];
            c.data_ptr_float().get(out);
            return out;
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"adamw", "adam-amsgrad", "sgd-momentum"})
    void trainingGoesOnBitwiseAsIfNeverInterrupted(String kind, @TempDir Path dir) throws IOException {
        Fit straight = new Fit(kind);
        straight.steps(6);

        Fit first = new Fit(kind);
        first.steps(3);
        Path file = dir.resolve("optimizer.safetensors");
        OptimizerStateFile.write(file, first.trainable(), first.optimizer);
        Fit resumed = new Fit(kind); // other tensors, so other state keys inside libtorch
        try (PointerScope scope = new PointerScope()) {
            for (Map.Entry<String, Tensor> e : first.trainable().entrySet()) {
                resumed.trainable().get(e.getKey()).detach().copy_(e.getValue());
            }
        }
        OptimizerStateFile.load(file, resumed.trainable(), resumed.optimizer);
        resumed.steps(3);
        assertArrayEquals(straight.values(), resumed.values(), kind + ": the restored state differs");
    }

    @Test
    void adamWStateIsItsCountersAndMomentsUnderTheParameterNames(@TempDir Path dir) throws IOException {
        Fit fit = new Fit("adamw");
        fit.steps(3);
        Path file = dir.resolve("optimizer.safetensors");
        OptimizerStateFile.write(file, fit.trainable(), fit.optimizer);
        try (SafetensorsReader reader = SafetensorsReader.open(file)) {
            assertEquals(OptimizerStateFile.FORMAT, reader.metadata().get("format"));
            assertEquals(new java.util.TreeSet<>(java.util.List.of("layer.bias/exp_avg", "layer.bias/exp_avg_sq",
                    "layer.bias/step", "layer.weight/exp_avg", "layer.weight/exp_avg_sq", "layer.weight/step")),
                    new java.util.TreeSet<>(reader.tensors().keySet()));
        }
        Map<String, Tensor> saved = SafetensorsTorch.readAll(file);
        assertEquals(3, saved.get("layer.weight/step").item_long());
        assertArrayEquals(new long[] {4, 3}, saved.get("layer.weight/exp_avg_sq").sizes().vec().get());
    }

    @Test
    void anOptimizerThatHasNotSteppedSavesAndLoadsNoState(@TempDir Path dir) throws IOException {
        Fit fresh = new Fit("adamw");
        Path file = dir.resolve("optimizer.safetensors");
        OptimizerStateFile.write(file, fresh.trainable(), fresh.optimizer);
        assertTrue(SafetensorsTorch.readAll(file).isEmpty());
        Fit loaded = new Fit("adamw");
        OptimizerStateFile.load(file, loaded.trainable(), loaded.optimizer);
        loaded.steps(2);
        fresh.steps(2);
        assertArrayEquals(fresh.values(), loaded.values());
    }

    @Test
    void loadingReplacesTheStateOfAnOptimizerThatHasSteppedSince(@TempDir Path dir) throws IOException {
        Fit straight = new Fit("adamw");
        straight.steps(5);
        Fit rolledBack = new Fit("adamw");
        rolledBack.steps(2);
        Path file = dir.resolve("optimizer.safetensors");
        OptimizerStateFile.write(file, rolledBack.trainable(), rolledBack.optimizer);
        Map<String, Tensor> at2 = new LinkedHashMap<>();
        rolledBack.trainable().forEach((k, v) -> at2.put(k, v.detach().clone()));
        rolledBack.steps(4); // a detour whose moments must not survive
        try (PointerScope scope = new PointerScope()) {
            at2.forEach((k, v) -> rolledBack.trainable().get(k).detach().copy_(v));
        }
        OptimizerStateFile.load(file, rolledBack.trainable(), rolledBack.optimizer);
        rolledBack.steps(3);
        assertArrayEquals(straight.values(), rolledBack.values());
    }

    @Test
    void stateTheFileLacksCannotBeDroppedSoLoadingIsRefused(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("optimizer.safetensors");
        Fit fresh = new Fit("adamw");
        OptimizerStateFile.write(file, fresh.trainable(), fresh.optimizer); // no state yet
        Fit stepped = new Fit("adamw");
        stepped.steps(1);
        Fit twin = new Fit("adamw");
        twin.steps(1);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> OptimizerStateFile.load(file, stepped.trainable(), stepped.optimizer));
        assertTrue(e.getMessage().startsWith("the optimizer already holds state for 'layer."), e.getMessage());
        assertTrue(e.getMessage().endsWith("load into an optimizer that has not stepped yet"), e.getMessage());
        stepped.steps(2);
        twin.steps(2);
        assertArrayEquals(twin.values(), stepped.values(), "a refused load changed the optimizer");
    }

    @Test
    void stateForATensorMissingFromTheMapIsAnError(@TempDir Path dir) {
        Fit fit = new Fit("adamw");
        fit.steps(1);
        Map<String, Tensor> onlyWeight = Map.of("layer.weight", fit.w);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OptimizerStateFile.write(dir.resolve("o.safetensors"), onlyWeight, fit.optimizer));
        assertTrue(e.getMessage().contains("not one of the 1 trainable tensors given"), e.getMessage());
    }

    private static Tensor longScalar(long v) {
        return torch.scalar_tensor(new Scalar(v), new TensorOptions(torch.ScalarType.Long));
    }

    /** Edits applied to a valid saved state, each making a file that must be refused. */
    private static final Map<String, Function<Map<String, Tensor>, String>> DAMAGE = new LinkedHashMap<>();

    static {
        DAMAGE.put("wrong shape", m -> {
            m.put("layer.weight/exp_avg", torch.zeros(5, 3));
            return "'layer.weight/exp_avg' has shape [5, 3] Float, its parameter [4, 3] Float";
        });
        DAMAGE.put("wrong dtype", m -> {
            m.put("layer.weight/exp_avg", torch.zeros(4, 3).to(torch.ScalarType.Double));
            return "'layer.weight/exp_avg' has shape [4, 3] Double, its parameter [4, 3] Float";
        });
        DAMAGE.put("NaN", m -> {
            m.put("layer.bias/exp_avg_sq", torch.full(new long[] {3}, new Scalar(Double.NaN)));
            return "'layer.bias/exp_avg_sq' holds NaN or Inf values";
        });
        DAMAGE.put("negative counter", m -> {
            m.put("layer.weight/step", longScalar(-1));
            return "'layer.weight/step' is -1; counters are >= 0";
        });
        DAMAGE.put("counter with a shape", m -> {
            m.put("layer.weight/step", torch.zeros(new long[] {2}, new TensorOptions(torch.ScalarType.Long)));
            return "'layer.weight/step' is an int64 tensor of shape [2]; counters are scalars";
        });
        DAMAGE.put("unknown tensor", m -> {
            m.put("other.weight/exp_avg", torch.zeros(4, 3));
            return "has an entry 'other.weight/exp_avg' that is not <trainable tensor>/<field>";
        });
        DAMAGE.put("odd field name", m -> {
            m.put("layer.weight/../step", longScalar(1));
            return "has an entry 'layer.weight/../step' that is not <trainable tensor>/<field>";
        });
        DAMAGE.put("fields differ between tensors", m -> {
            m.remove("layer.bias/exp_avg");
            return "is damaged: 'layer.weight' has [exp_avg, exp_avg_sq, step] but 'layer.bias' has [exp_avg_sq, step]";
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"wrong shape", "wrong dtype", "NaN", "negative counter", "counter with a shape",
            "unknown tensor", "odd field name", "fields differ between tensors"})
    void aCraftedFileIsRefusedAndTheOptimizerKeepsItsState(String damage, @TempDir Path dir) throws IOException {
        Fit saved = new Fit("adamw");
        saved.steps(2);
        Path file = dir.resolve("optimizer.safetensors");
        OptimizerStateFile.write(file, saved.trainable(), saved.optimizer);
        Map<String, Tensor> entries = new LinkedHashMap<>(SafetensorsTorch.readAll(file));
        String problem = DAMAGE.get(damage).apply(entries);
        SafetensorsTorch.write(file, entries, Map.of("format", OptimizerStateFile.FORMAT));

        Fit target = new Fit("adamw");
        target.steps(1);
        Fit twin = new Fit("adamw");
        twin.steps(1);
        IOException e = assertThrows(IOException.class,
                () -> OptimizerStateFile.load(file, target.trainable(), target.optimizer));
        assertTrue(e.getMessage().startsWith("optimizer state " + file), e.getMessage());
        assertTrue(e.getMessage().contains(problem), e.getMessage());
        target.steps(2);
        twin.steps(2);
        assertArrayEquals(twin.values(), target.values(), "a refused file changed the optimizer");
    }

    @Test
    void aFileOfAnotherFormatIsRefused(@TempDir Path dir) throws IOException {
        Fit fit = new Fit("adamw");
        Path file = dir.resolve("optimizer.safetensors");
        SafetensorsTorch.write(file, fit.trainable(), Map.of("format", "bora4j-checkpoint"));
        IOException e = assertThrows(IOException.class,
                () -> OptimizerStateFile.load(file, fit.trainable(), fit.optimizer));
        assertEquals("optimizer state " + file + " has format bora4j-checkpoint, expected " + OptimizerStateFile.FORMAT,
                e.getMessage());
    }
}
