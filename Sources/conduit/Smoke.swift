import ArgumentParser
import Foundation
import ConduitBench
import ZeroMQ

/// `conduit smoke`: a quick end-to-end check of the ZeroMQ layer on this machine.
struct Smoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that ZeroMQ works here: publish/subscribe, request/acknowledge and CURVE, over loopback.",
        discussion: """
            Binds ephemeral ports on 127.0.0.1, sends events through PUB→SUB with a topic filter, through \
            DEALER→ROUTER with an acknowledgement each, and through a CURVE-encrypted connection that a ZAP \
            handler admits; prints what each step saw and exits non-zero if any step fails.
            """
    )

    @Option(help: "Messages to send through each pattern.")
    var messages: Int = 10_000

    func validate() throws {
        guard messages >= 1 else { throw ValidationError("--messages must be at least 1, got \(messages)") }
    }

    func run() throws {
        print("libzmq \(LibraryVersion.current), CURVE \(CurveKeyPair.isAvailable ? "available" : "missing")")
        let smoke = try SmokeCheck(messages: messages)
        try step("PUB→SUB with a prefix filter") { try smoke.publishSubscribe() }
        try step("DEALER→ROUTER with acknowledgements") { try smoke.requestAcknowledge() }
        try step("CURVE handshake admitted by the ZAP handler") { try smoke.curve() }
        print("smoke: all steps passed")
    }

    private func step(_ name: String, _ body: () throws -> String) throws {
        let clock = ContinuousClock()
        let started = clock.now
        do {
            let detail = try body()
            let elapsed = clock.now - started
            print("ok    \(name): \(detail) in \(elapsed.formatted(.units(allowed: [.milliseconds])))")
        } catch {
            print("FAIL  \(name): \(error)")
            throw ExitCode.failure
        }
    }
}
