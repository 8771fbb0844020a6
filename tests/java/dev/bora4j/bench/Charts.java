package dev.bora4j.bench;

import dev.bora4j.io.AtomicFiles;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.StatisticalBarRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.statistics.DefaultStatisticalCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** PNG charts for docs/RESULTS.md, written next to it under docs/img/. */
final class Charts {

    static final Path IMAGES = ResultsSection.RESULTS.resolveSibling("img");

    private Charts() {
    }

    /** Bars of mean ± std per category, one bar per series within a category. */
    static final class Bars {
        private final DefaultStatisticalCategoryDataset data = new DefaultStatisticalCategoryDataset();

        void add(String series, String category, double mean, double std) {
            data.add(mean, std, series, category);
        }

        /** Writes docs/img/{@code name}.png and returns its path relative to docs/. */
        String write(String name, String title, String valueLabel) throws IOException {
            CategoryAxis categories = new CategoryAxis();
            categories.setCategoryLabelPositions(CategoryLabelPositions.UP_45);
            NumberAxis values = new NumberAxis(valueLabel);
            values.setAutoRangeIncludesZero(true);
            CategoryPlot plot = new CategoryPlot(data, categories, values, new StatisticalBarRenderer());
            return Charts.write(name, new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true));
        }
    }

    /** Lines of y against x, one per series, in insertion order. */
    static final class Lines {
        private final Map<String, XYSeries> series = new LinkedHashMap<>();

        void add(String name, double x, double y) {
            series.computeIfAbsent(name, n -> new XYSeries(n, true, true)).addOrUpdate(x, y);
        }

        String write(String name, String title, String xLabel, String yLabel) throws IOException {
            XYSeriesCollection data = new XYSeriesCollection();
            series.values().forEach(data::addSeries);
            NumberAxis x = new NumberAxis(xLabel);
            NumberAxis y = new NumberAxis(yLabel);
            y.setAutoRangeIncludesZero(true);
            XYPlot plot = new XYPlot(data, x, y, new XYLineAndShapeRenderer(true, true));
            return Charts.write(name, new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true));
        }
    }

    private static String write(String name, JFreeChart chart) throws IOException {
        System.setProperty("java.awt.headless", "true");
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ChartUtils.writeChartAsPNG(png, chart, 900, 560);
        Files.createDirectories(IMAGES);
        AtomicFiles.writeBytes(IMAGES.resolve(name + ".png"), png.toByteArray());
        return "img/" + name + ".png";
    }
}
