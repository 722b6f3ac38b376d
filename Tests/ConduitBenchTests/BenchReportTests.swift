import ConduitBench
import Foundation
import Testing

@Suite struct BenchReportTests {
    @Test(arguments: [
        ([3.0, 1, 2], 2.0), ([4.0, 1, 3, 2], 2.5), ([7.0], 7.0),
    ])
    func theMedianIsTheMiddleRunOrTheMeanOfTheTwoMiddleOnes(runs: [Double], median: Double) {
        #expect(BenchFigure(name: "x", unit: "s", runs: runs).median == median)
    }

    @Test func noRunsHaveNoMedian() {
        #expect(BenchFigure(name: "x", unit: "s", runs: []).median.isNaN)
    }

    @Test func theJSONNamesEveryFigureWithItsValueUnitAndRuns() throws {
        var report = BenchReport(benchmark: "codec")
        report.parameters = [("events", "10"), ("build", "release")]
        report.add("encode", unit: "events/s", runs: [100, 300, 200])
        report.add("ratio", unit: "ratio", runs: [.nan, 2])
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(report.jsonText().utf8)) as? [String: Any])
        #expect(object["benchmark"] as? String == "codec")
        #expect(object["parameters"] as? [String: String] == ["events": "10", "build": "release"])
        let figures = try #require(object["figures"] as? [String: [String: Any]])
        #expect(figures["encode"]?["value"] as? Double == 200)
        #expect(figures["encode"]?["unit"] as? String == "events/s")
        #expect(figures["encode"]?["runs"] as? [Double] == [100, 300, 200])
        // Not a finite number: written as 0, which JSON can carry.
        #expect(figures["ratio"]?["runs"] as? [Double] == [0, 2])
    }

    @Test func theTableListsParametersThenOneLinePerFigure() {
        var report = BenchReport(benchmark: "journal")
        report.parameters = [("runs", "2")]
        report.add("append", unit: "events/s", runs: [12345.6, 0.5])
        #expect(report.table() == """
            conduit bench journal
              runs: 2
            figure          median  unit         runs
            ---------------------------------------------------
            append            6173  events/s     12346, 0.500
            """)
    }

    @Test(arguments: [(12345.6, "12346"), (12.34, "12.3"), (1.23456, "1.235"), (-0.5, "-0.500"), (.infinity, "-")])
    func figuresAreShownWithFewerDecimalsAsTheyGrow(value: Double, shown: String) {
        #expect(BenchReport.format(value) == shown)
    }
}
