package dev.bora4j.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainingToolsTest {

    @Test
    void earlyStoppingCountsEvaluationsWithoutImprovement() {
        EarlyStopping stop = new EarlyStopping(2);
        assertTrue(stop.record(0.5));
        assertFalse(stop.record(0.4));
        assertFalse(stop.shouldStop());
        assertTrue(stop.record(0.6));
        assertFalse(stop.record(0.6));
        assertFalse(stop.record(0.1));
        assertTrue(stop.shouldStop());
        assertEquals(0.6, stop.best(), 0.0);
    }

    @Test
    void guardSkipsNonFiniteStepsAndStopsADivergedRun() {
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        NonFiniteGuard guard = new NonFiniteGuard(3, new PrintStream(text, true, StandardCharsets.UTF_8));
        assertTrue(guard.check(0, 0.7, 1.2));
        assertFalse(guard.check(1, Double.NaN, 1.0));
        assertFalse(guard.check(2, 0.7, Double.POSITIVE_INFINITY));
        assertTrue(guard.check(3, 0.6, 1.0));
        assertEquals(2, guard.skipped());
        String report = text.toString(StandardCharsets.UTF_8);
        assertTrue(report.contains("step 1 skipped: loss = NaN"), report);
        assertTrue(report.contains("step 2 skipped: gradient norm = Infinity"), report);
        guard.check(4, Double.NaN, 0);
        guard.check(5, Double.NaN, 0);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> guard.check(6, Double.NaN, 0));
        assertTrue(e.getMessage().contains("diverged"), e.getMessage());
    }

    @Test
    void guardCountsUpdatesThatMadeTheParametersNonFinite() {
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        NonFiniteGuard guard = new NonFiniteGuard(2, new PrintStream(text, true, StandardCharsets.UTF_8));
        assertTrue(guard.checkUpdate(1, true));
        assertFalse(guard.checkUpdate(2, false));
        assertEquals(1, guard.skipped());
        assertTrue(text.toString(StandardCharsets.UTF_8).contains("step 2 skipped: the update made parameters NaN"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> guard.checkUpdate(3, false));
        assertTrue(e.getMessage().contains("weight decay"), e.getMessage());
    }

    @Test
    void progressBarRendersRateAndEta() {
        ProgressBar bar = new ProgressBar(new PrintStream(new ByteArrayOutputStream()), "epoch 1/2", 100, false);
        String line = bar.render(25, 800, 0.5, 10.0);
        assertTrue(line.startsWith("epoch 1/2 [======>"), line);
        assertTrue(line.contains("25/100 loss 0.5000  80.0 ex/s  ETA 00:30"), line);
        assertEquals("1:01:01", ProgressBar.formatDuration(3661));
    }

    @Test
    void progressBarPrintsTheFirstStepAndEveryTenthWhenNotATerminal() {
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        ProgressBar bar = new ProgressBar(new PrintStream(text, true, StandardCharsets.UTF_8), "e", 50, false);
        for (int i = 1; i <= 50; i++) {
            bar.update(i, i * 4L, 1.0 / i);
        }
        long lines = text.toString(StandardCharsets.UTF_8).lines().count();
        assertEquals(11, lines); // the first update, then one per 10% crossed
    }

    @Test
    void metricsLogAppendsOneJsonObjectPerLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("metrics.jsonl");
        try (MetricsLog log = new MetricsLog(file)) {
            log.write("step", 1, "loss", 0.5);
            log.write("step", 2, "loss", Double.NaN, "grad_norm", Float.POSITIVE_INFINITY);
            log.write("step", 3, "per_layer", new double[] {0.5, Double.NaN}, "by_name", Map.of("q", Double.NEGATIVE_INFINITY));
        }
        try (MetricsLog log = new MetricsLog(file)) {
            log.write("split", "dev", "mcc", 0.25);
        }
        List<String> lines = Files.readAllLines(file);
        assertEquals(4, lines.size());
        JsonObject first = JsonParser.parseString(lines.get(0)).getAsJsonObject();
        assertEquals(1, first.get("step").getAsInt());
        assertEquals(0.5, first.get("loss").getAsDouble(), 0.0);
        assertEquals("{\"step\":2,\"loss\":null,\"grad_norm\":null}", lines.get(1),
                "JSON has no NaN or Infinity: strict readers refuse them");
        assertEquals("{\"step\":3,\"per_layer\":[0.5,null],\"by_name\":{\"q\":null}}", lines.get(2), "at any depth");
        assertEquals("dev", JsonParser.parseString(lines.get(3)).getAsJsonObject().get("split").getAsString());
    }

    @Test
    void plotIsAReadablePng() throws Exception {
        TrainingPlot plot = new TrainingPlot("accuracy", "mcc");
        for (int step = 0; step < 20; step++) {
            plot.addLoss(step, 1.0 / (step + 1));
        }
        plot.addLoss(20, Double.NaN);
        plot.addDevMetric(0, 10, 0.6);
        plot.addDevMetric(1, 10, 0.2);
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        plot.writePng(png, "test", 640, 480);
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png.toByteArray()));
        assertNotNull(image);
        assertEquals(640, image.getWidth());
        assertEquals(480, image.getHeight());
    }
}
