package org.rlhf4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** PNG line charts of metrics against the step, drawn with XChart. */
final class Plots {
    private Plots() {}

    /** One chart: a file name (without .png), a title, and the metrics drawn on it. */
    record Plot(String name, String title, List<String> metrics) {
        static Plot of(String name, String title, String... metrics) {
            return new Plot(name, title, List.of(metrics));
        }
    }

    /**
     * Draws each plot that has data into {@code dir/<name>.png} (written to a temporary file and renamed); returns
     * the files written.
     */
    static List<Path> write(Path dir, List<Map<String, Object>> entries, List<Plot> plots) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<Path> written = new ArrayList<>();
        Files.createDirectories(dir);
        for (Plot plot : plots) {
            XYChart chart = new XYChartBuilder().width(800).height(500).title(plot.title()).xAxisTitle("step").build();
            chart.getStyler().setLegendVisible(plot.metrics().size() > 1);
            chart.getStyler().setMarkerSize(3);
            int series = 0;
            for (String metric : plot.metrics()) {
                List<Double> x = new ArrayList<>(), y = new ArrayList<>();
                for (Map<String, Object> e : entries) {
                    if (e.get("step") instanceof Number s && e.get(metric) instanceof Number v && Double.isFinite(v.doubleValue())) {
                        x.add(s.doubleValue());
                        y.add(v.doubleValue());
                    }
                }
                if (x.isEmpty()) continue;
                XYSeries s = chart.addSeries(metric, x, y);
                s.setMarker(x.size() > 50 ? SeriesMarkers.NONE : SeriesMarkers.CIRCLE);
                series++;
            }
            if (series == 0) continue;
            if (plot.metrics().size() == 1) chart.setYAxisTitle(plot.metrics().get(0));
            Path target = dir.resolve(plot.name() + ".png");
            Path tmp = dir.resolve("." + plot.name() + ".tmp.png");
            BitmapEncoder.saveBitmap(chart, tmp.toString(), BitmapEncoder.BitmapFormat.PNG);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            written.add(target);
        }
        return written;
    }
}
