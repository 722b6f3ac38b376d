import ConduitCore
import ConduitJournal
import ConduitOperations
import Foundation
import Logging

/// The broker's tuning and placement settings; `nil` means "not given" (the default applies).
public struct BrokerSettings: Equatable, Sendable {
    public var ingest: String?
    public var fanout: String?
    public var query: String?
    public var data: String?
    public var dedupeWindow: Int?
    public var durability: String?
    public var logLevel: String?
    public var segmentMegabytes: Int?
    public var maximumBatch: Int?
    public var fanoutHighWaterMark: Int?
    public var fanoutHeartbeatMs: Int?
    public var agentHeartbeatMs: Int?
    public var retentionMegabytes: Int?
    public var retentionHours: Int?
    public var ingestConnections: Int?
    public var fanoutConnections: Int?
    public var queryConnections: Int?
    public var connectionsPerAddress: Int?
    public var stalledConnectionMs: Int?

    /// A setting that is wrong, and why.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public init() {}

    /// The broker's settings as resolved from the configuration file, the environment and the flags
    /// (``SettingsSchema/broker``).
    public init(_ settings: Settings) {
        ingest = settings.text("ingest")
        fanout = settings.text("fanout")
        query = settings.text("query")
        data = settings.text("data")
        dedupeWindow = settings.whole("dedupeWindow")
        durability = settings.text("durability")
        logLevel = settings.text("logLevel")
        segmentMegabytes = settings.whole("segmentMegabytes")
        maximumBatch = settings.whole("maximumBatch")
        fanoutHighWaterMark = settings.whole("fanoutHighWaterMark")
        fanoutHeartbeatMs = settings.whole("fanoutHeartbeatMs")
        agentHeartbeatMs = settings.whole("agentHeartbeatMs")
        retentionMegabytes = settings.whole("retentionMegabytes")
        retentionHours = settings.whole("retentionHours")
        ingestConnections = settings.whole("ingestConnections")
        fanoutConnections = settings.whole("fanoutConnections")
        queryConnections = settings.whole("queryConnections")
        connectionsPerAddress = settings.whole("connectionsPerAddress")
        stalledConnectionMs = settings.whole("stalledConnectionMs")
    }

    /// The broker's configuration for these settings (defaults where none is given); throws ``Invalid``.
    public func configuration() throws -> BrokerConfiguration {
        var configuration = BrokerConfiguration(journalDirectory: data ?? "conduit-data/journal")
        if let ingest { configuration.ingestEndpoint = ingest }
        if let fanout { configuration.fanoutEndpoint = fanout }
        if let query { configuration.queryEndpoint = query }
        if let dedupeWindow {
            guard dedupeWindow >= 1 else { throw Invalid(description: "dedupeWindow must be at least 1, got \(dedupeWindow)") }
            configuration.dedupeWindow = dedupeWindow
        }
        switch durability ?? "batch" {
        case "batch": configuration.journal.durability = .perBatch
        case "unsafe-no-sync": configuration.journal.durability = .unsafeNoSyncForTestsOnly
        case let other:
            throw Invalid(
                description: "durability must be \"batch\" or \"unsafe-no-sync\", got \"\(other)\" (an acknowledgement always means synced to disk)")
        }
        if let segmentMegabytes {
            guard segmentMegabytes >= 1 else { throw Invalid(description: "segmentMegabytes must be at least 1") }
            configuration.journal.segmentSize = segmentMegabytes << 20
        }
        if let maximumBatch {
            guard maximumBatch >= 1 else { throw Invalid(description: "maximumBatch must be at least 1") }
            configuration.maximumBatch = maximumBatch
        }
        if let fanoutHighWaterMark {
            guard fanoutHighWaterMark >= 1 else { throw Invalid(description: "fanoutHighWaterMark must be at least 1") }
            configuration.fanoutHighWaterMark = Int32(clamping: fanoutHighWaterMark)
        }
        if let fanoutHeartbeatMs {
            guard fanoutHeartbeatMs >= 10 else { throw Invalid(description: "fanoutHeartbeatMs must be at least 10") }
            configuration.fanoutHeartbeatInterval = .milliseconds(fanoutHeartbeatMs)
        }
        if let agentHeartbeatMs {
            guard agentHeartbeatMs >= 100 else { throw Invalid(description: "agentHeartbeatMs must be at least 100") }
            configuration.agentHeartbeatInterval = .milliseconds(agentHeartbeatMs)
        }
        if retentionMegabytes != nil || retentionHours != nil {
            configuration.journal.retention = JournalRetention(
                maximumTotalBytes: retentionMegabytes.map { UInt64($0) << 20 },
                maximumAge: retentionHours.map { .seconds($0 * 3600) })
        }
        for (name, value, path) in [
            ("ingestConnections", ingestConnections, \BrokerConfiguration.ingestConnections),
            ("fanoutConnections", fanoutConnections, \BrokerConfiguration.fanoutConnections),
            ("queryConnections", queryConnections, \BrokerConfiguration.queryConnections),
        ] {
            guard let value else { continue }
            guard value >= 1 else { throw Invalid(description: "\(name) must be at least 1, got \(value)") }
            configuration[keyPath: path].total = value
            configuration[keyPath: path].perAddress = min(configuration[keyPath: path].perAddress, value)
        }
        if let connectionsPerAddress {
            guard connectionsPerAddress >= 1 else { throw Invalid(description: "connectionsPerAddress must be at least 1") }
            for path in [\BrokerConfiguration.ingestConnections, \.fanoutConnections, \.queryConnections] {
                configuration[keyPath: path].perAddress = min(connectionsPerAddress, configuration[keyPath: path].total)
            }
        }
        if let stalledConnectionMs {
            guard stalledConnectionMs >= 100 else { throw Invalid(description: "stalledConnectionMs must be at least 100") }
            configuration.stalledConnectionTimeout = .milliseconds(stalledConnectionMs)
        }
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw Invalid(description: "log level must be one of trace, debug, info, notice, warning, error, critical; got \"\(logLevel)\"")
        }
        return configuration
    }
}

/// Reads a plan file, with an error that names the file and what is wrong in it.
public func loadScenario(_ path: String) throws -> Scenario {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
        throw BrokerSettings.Invalid(description: "cannot read the plan file \(path): \(error.localizedDescription)")
    }
    do { return try Scenario.decode(Array(data)) } catch {
        throw BrokerSettings.Invalid(description: "the plan file \(path) is not valid: \(error)")
    }
}
