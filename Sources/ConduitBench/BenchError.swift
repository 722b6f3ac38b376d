/// Why a benchmark did not run or did not finish.
public struct BenchError: Error, CustomStringConvertible {
    public enum Code: Sendable {
        /// The options are outside what the benchmark accepts; nothing was measured.
        case invalidOptions
        /// A measurement failed or stalled: a socket, the journal, a broker or an aggregator.
        case failed
    }

    public var code: Code
    /// What was wrong, for a person. An invalid option is named as on the command line: `--runs must be …`.
    public var message: String
    /// The error underneath, if there was one.
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }

    static func invalidOptions(_ message: String) -> BenchError { BenchError(.invalidOptions, message) }

    static func failed(_ message: String, cause: (any Error)? = nil) -> BenchError {
        BenchError(.failed, message, cause: cause)
    }

    /// Every benchmark runs each measurement at least once.
    static func checkRuns(_ runs: Int) throws(BenchError) {
        guard runs >= 1 else { throw invalidOptions("--runs must be at least 1, got \(runs)") }
    }
}
