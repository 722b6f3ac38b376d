import ArgumentParser
import Foundation

/// `conduit bench …`: commands that measure and print figures. Each prints a table by default and,
/// with `--json`, one JSON object of named figures with their units.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure Conduit's components and print the figures.",
        discussion: """
            Every benchmark prints a readable table by default, or with --json one JSON object \
            whose figures each carry a value and a unit. The machine may be noisy: run a benchmark \
            several times (--runs) and read the median.
            """,
        subcommands: [BenchTransport.self, BenchCodec.self, BenchJournal.self, BenchBroker.self, BenchReplay.self, BenchState.self, BenchStateAt.self]
    )
}

/// Options every benchmark shares.
struct BenchOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON object of named figures instead of a table.")
    var json = false

    @Option(name: .long, help: "How many times to run each measurement; the median is reported.")
    var runs: Int = 3

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1, got \(runs)") }
    }
}

/// One named measurement: the median of several runs, with its unit and the individual runs.
struct BenchFigure {
    var name: String
    var unit: String
    var runs: [Double]

    var median: Double {
        let sorted = runs.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}

/// The figures a benchmark produces and how to print them.
struct BenchReport {
    var benchmark: String
    var parameters: [(String, String)] = []
    var figures: [BenchFigure] = []

    mutating func add(_ name: String, unit: String, runs: [Double]) {
        figures.append(BenchFigure(name: name, unit: unit, runs: runs))
    }

    func print(json: Bool) {
        if json {
            Swift.print(jsonText())
        } else {
            Swift.print(table())
        }
    }

    func jsonText() -> String {
        var object: [String: Any] = ["benchmark": benchmark]
        var parameterObject: [String: String] = [:]
        for (key, value) in parameters { parameterObject[key] = value }
        object["parameters"] = parameterObject
        var figureObject: [String: Any] = [:]
        for figure in figures {
            figureObject[figure.name] = [
                "value": figure.median.isFinite ? figure.median : 0,
                "unit": figure.unit,
                "runs": figure.runs.map { $0.isFinite ? $0 : 0 },
            ]
        }
        object["figures"] = figureObject
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    func table() -> String {
        var lines: [String] = []
        lines.append("conduit bench \(benchmark)")
        for (key, value) in parameters { lines.append("  \(key): \(value)") }
        let nameWidth = max(6, figures.map(\.name.count).max() ?? 0)
        let header = "figure".padding(toLength: nameWidth, withPad: " ", startingAt: 0)
            + "  " + leftPad("median", 14) + "  unit         runs"
        lines.append(header)
        lines.append(String(repeating: "-", count: header.count + 10))
        for figure in figures {
            let runs = figure.runs.map { Self.format($0) }.joined(separator: ", ")
            lines.append(
                figure.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
                    + leftPad(Self.format(figure.median), 14) + "  "
                    + figure.unit.padding(toLength: 11, withPad: " ", startingAt: 0) + "  " + runs)
        }
        return lines.joined(separator: "\n")
    }

    static func format(_ value: Double) -> String {
        if !value.isFinite { return "-" }
        if abs(value) >= 1000 { return String(format: "%.0f", value) }
        if abs(value) >= 10 { return String(format: "%.1f", value) }
        return String(format: "%.3f", value)
    }

    private func leftPad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
