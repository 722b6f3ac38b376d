import ArgumentParser
import ConduitBench

/// `conduit bench transport`: the binding's message rate against the same loops written in C, side by side.
struct BenchTransport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transport",
        abstract: "Messages/s through the ZeroMQ binding against the same loops in C, over tcp loopback.",
        discussion: """
            Two loops, each run in Swift (through the ZeroMQ module) and in C (straight libzmq) in the same session, \
            alternating, so the ratio compares like with like on a noisy machine:
              pub-sub        PUB→SUB, a topic frame and a payload frame per message; the publisher waits at its \
            high-water mark (XPUB_NODROP) instead of dropping, so every message is delivered and counted.
              dealer-router  DEALER→ROUTER with one acknowledgement per message and at most --window unacknowledged.
            """
    )

    private static let defaults = TransportBenchmark.Options()

    @OptionGroup var options: BenchOptions

    @Option(help: "Messages per run of each loop.")
    var messages: Int = Self.defaults.messages

    @Option(help: "Payload frame size in bytes.")
    var payload: Int = Self.defaults.payload

    @Option(help: "Unacknowledged messages a DEALER may have in flight.")
    var window: Int = Self.defaults.window

    @Option(help: "The topic frame sent before each payload.")
    var topic: String = Self.defaults.topic

    private var benchmark: TransportBenchmark.Options {
        TransportBenchmark.Options(runs: options.runs, messages: messages, payload: payload, window: window, topic: topic)
    }

    func validate() throws {
        try benchmarkValidation { try benchmark.validate() }
    }

    func run() throws {
        try TransportBenchmark.run(benchmark, progress: options.progress).print(json: options.json)
    }
}
