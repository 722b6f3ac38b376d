// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Conduit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "conduit", targets: ["conduit"]),
        .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
        .library(name: "ConduitCore", targets: ["ConduitCore"]),
        .library(name: "ConduitJournal", targets: ["ConduitJournal"]),
        .library(name: "ConduitBroker", targets: ["ConduitBroker"]),
        .library(name: "ConduitState", targets: ["ConduitState"]),
        .library(name: "ConduitAgent", targets: ["ConduitAgent"]),
        .library(name: "ConduitSimulation", targets: ["ConduitSimulation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // The C boundary: Debian's libzmq (4.3.4). No pkgConfig: Debian's libzmq.pc drags in krb5 flags.
        .systemLibrary(
            name: "CZeroMQ",
            providers: [.apt(["libzmq3-dev"])]
        ),
        // The only module that imports CZeroMQ.
        .target(
            name: "ZeroMQ",
            dependencies: ["CZeroMQ", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
        ),
        // The transport benchmark's loops in plain C against libzmq: the reference the binding is measured against.
        .target(name: "TransportReference", linkerSettings: [.linkedLibrary("zmq")]),
        // The C boundary to NATS: Debian's libnats-dev (the official C client, 3.4.1, with the JetStream API).
        .systemLibrary(name: "CNATS", providers: [.apt(["libnats-dev"])]),
        // The only module that imports CNATS: a connection, streams, publications with headers, messages by sequence.
        .target(name: "NATS", dependencies: ["CNATS"]),
        // The broker benchmark's workload against NATS JetStream, in C through libnats (Debian's libnats-dev).
        .target(name: "JetStreamReference", linkerSettings: [.linkedLibrary("nats")]),
        // Events, validation, scenario and the wire codec: no sockets, no files, no dependencies.
        .target(name: "ConduitCore"),
        // The aggregate state: a pure fold of events into per-item state, roll-ups and derived alerts, and the
        // subscriber's sync with a broker that feeds it (FanoutSync). No I/O.
        .target(name: "ConduitState", dependencies: ["ConduitCore"]),
        // A seeded field simulator: the events a year of relocation work and inspection would produce. No I/O.
        .target(name: "ConduitSimulation", dependencies: ["ConduitCore"]),
        // CRC-32C with the SSE 4.2 instruction where the processor has it: the journal's checksum.
        .target(name: "CRC32CHardware"),
        // Cache hints (prefetch) the broker's dedupe window gives before its writes to a large table.
        .target(name: "MemoryHints"),
        // The durable event journal: segment files only, no sockets, no event model (topics and events are bytes).
        .target(name: "ConduitJournal", dependencies: ["CRC32CHardware"]),
        // What a long-running process shows its operators over HTTP: /metrics, /healthz, /readyz. POSIX sockets only.
        // Its settings (one configuration file, CONDUIT_* variables, flags; connection profiles) are read here too.
        .target(
            name: "ConduitOperations",
            dependencies: ["ConduitCore", .product(name: "Prometheus", package: "swift-prometheus")]
        ),
        // The broker: ingest, durable sequencing, fan-out, replay and presence.
        .target(
            name: "ConduitBroker",
            dependencies: [
                "ConduitCore", "ConduitJournal", "ConduitOperations", "MemoryHints", "ZeroMQ", .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Replay tooling: a journal window, filtered, as a timeline, JSON lines or CSV.
        .target(name: "ConduitReplay", dependencies: ["ConduitCore", "ConduitJournal", "ConduitState", "ZeroMQ"]),
        // The state aggregator process: catch-up, live fold, gap filling, checkpoints, snapshots, alerts.
        .target(
            name: "ConduitAggregator",
            dependencies: [
                "ConduitAgent", "ConduitCore", "ConduitJournal", "ConduitOperations", "ConduitState", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The agent library: a durable outbox, the ingest session (window, heartbeats, reconnection), publishing.
        .target(
            name: "ConduitAgent",
            dependencies: [
                "ConduitCore", "ConduitJournal", "ConduitOperations", "ZeroMQ", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The coordinators' dashboard: a Hummingbird server of the page, the JSON API and the live stream, fed by the
        // Clone-pattern follower; its page and assets are embedded in the binary.
        .target(
            name: "ConduitDashboard",
            dependencies: [
                "ConduitAggregator", "ConduitConsole", "ConduitCore", "ConduitJournal", "ConduitReplay", "ConduitState", "ZeroMQ",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            resources: [.embedInCode("Assets/index.html"), .embedInCode("Assets/app.js"), .embedInCode("Assets/app.css")]
        ),
        // A hub's journal carried into NATS JetStream, sequence for sequence (`conduit bridge nats`).
        .target(
            name: "ConduitBridge",
            dependencies: [
                "ConduitAggregator", "ConduitBroker", "ConduitCore", "ConduitJournal", "ConduitState", "NATS", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What tests share: a broker on ephemeral ports in a temporary directory, raw protocol clients, the
        // records of `conduit journal append-test`, sample events and journals, a live aggregator's probes, and the
        // `conduit` executable run as a child process.
        .target(
            name: "ConduitTesting",
            dependencies: [
                "ConduitAggregator", "ConduitBroker", "ConduitCore", "ConduitJournal", "ConduitReplay", "ConduitState",
                "ZeroMQ", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What the commands show on a terminal: the live state view, the state table and diff, the demo's display.
        .target(
            name: "ConduitConsole",
            dependencies: [
                "ConduitAggregator", "ConduitBroker", "ConduitCore", "ConduitJournal", "ConduitReplay", "ConduitState",
            ]
        ),
        // The benchmarks behind `conduit bench`: the measuring loops, the broker process they drive, the reports.
        .target(
            name: "ConduitBench",
            dependencies: [
                "ConduitAgent", "ConduitAggregator", "ConduitBridge", "ConduitBroker", "ConduitCore", "ConduitJournal", "ConduitReplay",
                "ConduitState", "ConduitTesting", "JetStreamReference", "NATS", "TransportReference", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "conduit",
            dependencies: [
                "ZeroMQ",
                "ConduitBench",
                "ConduitBridge",
                "ConduitCore",
                "ConduitDashboard",
                "ConduitJournal",
                "ConduitBroker",
                "ConduitReplay",
                "ConduitState",
                "ConduitAggregator",
                "ConduitAgent",
                "ConduitSimulation",
                "ConduitConsole",
                "ConduitOperations",
                "ConduitTesting",
                "NATS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // One test target per module, each depending on its module and what its tests import.
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
        .testTarget(name: "ConduitCoreTests", dependencies: ["ConduitCore"]),
        .testTarget(name: "ConduitJournalTests", dependencies: ["ConduitJournal", "ConduitTesting"]),
        .testTarget(name: "ConduitStateTests", dependencies: ["ConduitState", "ConduitCore"]),
        .testTarget(name: "ConduitSimulationTests", dependencies: ["ConduitSimulation", "ConduitCore", "ConduitState"]),
        .testTarget(
            name: "ConduitBrokerTests",
            dependencies: ["ConduitBroker", "ConduitCore", "ConduitJournal", "ConduitOperations", "ConduitReplay", "ConduitTesting", "ZeroMQ"]
        ),
        .testTarget(
            name: "ConduitAgentTests",
            dependencies: ["ConduitAgent", "ConduitBroker", "ConduitCore", "ConduitJournal", "ConduitTesting", "ZeroMQ"]
        ),
        // TerminalSafetyTests checks the replay's outputs and, with them, ConduitConsole's state table.
        .testTarget(
            name: "ConduitReplayTests",
            dependencies: [
                "ConduitReplay", "ConduitConsole", "ConduitCore", "ConduitJournal", "ConduitState", "ConduitTesting", "ZeroMQ",
            ]
        ),
        .testTarget(
            name: "ConduitAggregatorTests",
            dependencies: ["ConduitAggregator", "ConduitBroker", "ConduitCore", "ConduitOperations", "ConduitState", "ConduitTesting", "ZeroMQ"]
        ),
        .testTarget(
            name: "ConduitConsoleTests",
            dependencies: ["ConduitConsole", "ConduitCore", "ConduitState", "ConduitTesting"]
        ),
        .testTarget(name: "ConduitBenchTests", dependencies: ["ConduitBench"]),
        .testTarget(name: "ConduitOperationsTests", dependencies: ["ConduitOperations"]),
        .testTarget(
            name: "ConduitDashboardTests",
            dependencies: [
                "ConduitDashboard", "ConduitBroker", "ConduitCore", "ConduitState", "ConduitTesting", "ZeroMQ",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        // The commands as a user runs them: the tests that run the `conduit` executable as a child process, and the
        // only test target that depends on it.
        .testTarget(
            name: "conduitTests",
            dependencies: [
                "conduit", "ConduitAggregator", "ConduitBench", "ConduitBridge", "ConduitBroker", "ConduitCore", "ConduitJournal", "ConduitOperations",
                "ConduitReplay", "ConduitSimulation", "ConduitState", "ConduitTesting", "NATS", "ZeroMQ",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
