package org.rlhf4j.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ReportTest {
    @Test
    void pairByRunsEveryCombinationInTheOrderGiven() {
        Map<String, List<String>> values = new LinkedHashMap<>();
        values.put("shape", List.of("512x512x512", "2048x384x1152"));
        values.put("layout", List.of("NN", "NT", "TN"));
        values.put("threads", List.of("0"));

        List<Map<String, String>> combinations = Report.combinations(List.of("shape", "layout"), values);

        assertEquals(6, combinations.size());
        assertEquals(Map.of("shape", "512x512x512", "layout", "NN"), combinations.get(0));
        assertEquals(Map.of("shape", "512x512x512", "layout", "TN"), combinations.get(2));
        assertEquals(Map.of("shape", "2048x384x1152", "layout", "NT"), combinations.get(4));
    }

    @Test
    void noPairByIsOneRunOfEverything() {
        assertEquals(List.of(Map.of()), Report.combinations(List.of(), Map.of("shape", List.of("a", "b"))));
    }

    @Test
    void medianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
        assertEquals(3.0, Report.median(List.of(4.0, 1.0, 2.0, 9.0)));
        assertEquals(2.0, Report.median(List.of(3.0, 1.0, 2.0)));
    }
}
