import ConduitJournal
import Foundation

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// Seconds `body` took, on the continuous clock.
func timeSeconds(_ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    try body()
    return (clock.now - start).seconds
}

/// Monotonic microseconds, comparable across this process's threads.
func monotonicMicroseconds() -> Int64 { SystemClock.monotonicMicroseconds() }

/// How this module was built, shown with figures that mean little in a debug build.
#if DEBUG
let buildConfiguration = "debug (figures are not representative; use swift build -c release)"
#else
let buildConfiguration = "release"
#endif

/// `name` in `parent` (the system's temporary directory when `nil`), one slash between them whatever `parent` ends with.
func scratchPath(in parent: String?, _ name: String) -> String {
    ((parent ?? NSTemporaryDirectory()) as NSString).appendingPathComponent(name)
}
