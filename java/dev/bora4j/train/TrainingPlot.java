package dev.bora4j.train;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.io.IOException;
import java.io.OutputStream;

/** A PNG plot of the training loss (top) and the dev metrics (bottom) against the optimizer step. */
public final class TrainingPlot {

    private final XYSeries trainLoss = new XYSeries("train loss");
    private final XYSeriesCollection devMetrics = new XYSeriesCollection();

    public TrainingPlot(String... devMetricNames) {
        for (String name : devMetricNames) {
            devMetrics.addSeries(new XYSeries("dev " + name));
        }
    }

    public void addLoss(long step, double loss) {
        if (Double.isFinite(loss)) {
            trainLoss.add(step, loss);
        }
    }

    /** Adds a dev metric point; {@code index} follows the names given to the constructor. */
    public void addDevMetric(int index, long step, double value) {
        devMetrics.getSeries(index).add(step, value);
    }

    public void writePng(OutputStream out, String title, int width, int height) throws IOException {
        System.setProperty("java.awt.headless", "true");
        NumberAxis stepAxis = new NumberAxis("optimizer step");
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(stepAxis);
        plot.add(subplot(new XYSeriesCollection(trainLoss), "loss", false), 3);
        plot.add(subplot(devMetrics, "dev metric", true), 2);
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        ChartUtils.writeChartAsPNG(out, chart, width, height);
    }

    private static XYPlot subplot(XYSeriesCollection data, String label, boolean shapes) {
        NumberAxis axis = new NumberAxis(label);
        axis.setAutoRangeIncludesZero(false);
        return new XYPlot(data, null, axis, new XYLineAndShapeRenderer(true, shapes));
    }
}
