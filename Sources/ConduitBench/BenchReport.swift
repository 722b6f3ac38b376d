import Foundation

/// One named measurement: the median of several runs, with its unit and the individual runs.
public struct BenchFigure: Sendable {
    public var name: String
    public var unit: String
    public var runs: [Double]

    public init(name: String, unit: String, runs: [Double]) {
        self.name = name
        self.unit = unit
        self.runs = runs
    }

    public var median: Double {
        let sorted = runs.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}

/// The figures a benchmark produces and how to print them: a readable table, or one JSON object whose figures each
/// carry a value (the median), a unit and the individual runs.
public struct BenchReport: Sendable {
    /// The benchmark's name, as in `conduit bench <name>`.
    public var benchmark: String
    /// What was measured and how, in order: printed above the table, an object of strings in JSON.
    public var parameters: [(String, String)] = []
    public var figures: [BenchFigure] = []

    public init(benchmark: String) {
        self.benchmark = benchmark
    }

    public mutating func add(_ name: String, unit: String, runs: [Double]) {
        figures.append(BenchFigure(name: name, unit: unit, runs: runs))
    }

    /// Prints the table, or with `json` the JSON object, to standard output.
    public func print(json: Bool) {
        if json {
            Swift.print(jsonText())
        } else {
            Swift.print(table())
        }
    }

    /// One JSON object, keys sorted: `benchmark`, `parameters`, and `figures` by name, each with `value`, `unit`
    /// and `runs` (a figure that is not a finite number is written as 0).
    public func jsonText() -> String {
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

    /// The parameters, then one line per figure: its median, unit and runs.
    public func table() -> String {
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

    /// A figure for the table: no decimals from 1,000, one from 10, three below, `-` if it is not finite.
    public static func format(_ value: Double) -> String {
        if !value.isFinite { return "-" }
        if abs(value) >= 1000 { return String(format: "%.0f", value) }
        if abs(value) >= 10 { return String(format: "%.1f", value) }
        return String(format: "%.3f", value)
    }

    private func leftPad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
