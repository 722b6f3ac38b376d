import Foundation
import Testing
@testable import ConduitCore

/// The worked examples of the WireProtocol article show exactly the golden frames the codecs are tested against.
@Suite struct WireProtocolArticleTests {
    static let articleURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/ConduitCore/Documentation.docc/WireProtocol.md")

    /// The examples in the order the article shows them.
    static let goldens: [[[UInt8]]] = [
        GoldenFrames.ingestPublish, GoldenFrames.ingestHello, GoldenFrames.ingestHeartbeat, GoldenFrames.ingestGoodbye,
        GoldenFrames.ingestWelcome, GoldenFrames.ingestAck, GoldenFrames.ingestReject, GoldenFrames.ingestBrokerHeartbeat,
        GoldenFrames.ingestHelloBatch, GoldenFrames.ingestWelcomeBatch, GoldenFrames.ingestBatch, GoldenFrames.ingestAcks,
        GoldenFrames.fanoutEvent, GoldenFrames.fanoutHeartbeat, GoldenFrames.queryReplay, GoldenFrames.queryReplayTime,
        GoldenFrames.queryCredit, GoldenFrames.queryCancel, GoldenFrames.queryHead, GoldenFrames.queryStats,
        GoldenFrames.queryChunk, GoldenFrames.queryEnd, GoldenFrames.queryHeadReply, GoldenFrames.queryStatsReply,
        GoldenFrames.queryError, GoldenFrames.snapshotRequest, GoldenFrames.snapshotState, GoldenFrames.snapshotError,
    ]

    /// Parses the `frame[n] hex… "text"` lines under each `####` heading of the worked examples.
    static func examples(in article: String) -> [[[UInt8]]] {
        guard let start = article.range(of: "## Worked examples") else { return [] }
        var examples: [[[UInt8]]] = []
        for line in article[start.upperBound...].split(separator: "\n") {
            if line.hasPrefix("#### ") {
                examples.append([])
            } else if line.hasPrefix("frame["), !examples.isEmpty {
                let afterIndex = line.drop { $0 != "]" }.dropFirst().drop { $0 == " " }
                if afterIndex.hasPrefix("(") {
                    // "(350 bytes) …": the sample event of that length, as sent or as stamped; another length fails.
                    let count = Int(afterIndex.dropFirst().prefix(while: \.isNumber)) ?? -1
                    let sample = [Samples.progressBytes, Samples.stampedProgressBytes].first { $0.count == count }
                    examples[examples.count - 1].append(sample ?? [])
                } else {
                    let hexPart = afterIndex.components(separatedBy: "   ").first ?? ""
                    examples[examples.count - 1].append(hex(hexPart.replacingOccurrences(of: " ", with: "")))
                }
            } else if line.hasPrefix("## ") {
                break
            }
        }
        return examples
    }

    @Test func workedExamplesMatchTheGoldenFrames() throws {
        let article = try String(contentsOf: Self.articleURL, encoding: .utf8)
        let examples = Self.examples(in: article)
        #expect(examples.count == Self.goldens.count)
        for (index, (shown, golden)) in zip(examples, Self.goldens).enumerated() {
            #expect(shown == golden, "example \(index + 1)")
        }
    }

    @Test func exampleEventIsTheSampleEvent() throws {
        let article = try String(contentsOf: Self.articleURL, encoding: .utf8)
        #expect(article.contains("```json\n" + Samples.progressJSON + "\n```"))
    }

    /// The alert examples are the golden ledger alert and acknowledgement the codec tests decode and encode.
    @Test func alertExamplesAreTheGoldenAlerts() throws {
        let article = try String(contentsOf: Self.articleURL, encoding: .utf8)
        #expect(article.contains("```json\n" + Samples.ledgerAlertJSON + "\n```"))
        #expect(article.contains("```json\n" + Samples.acknowledgementJSON + "\n```"))
        // Every kind and figure is documented.
        for kind in AlertKind.allCases { #expect(article.contains("| `\(kind.rawValue)` | \(kind.ledgerClass.rawValue) |"), "\(kind)") }
        for figure in FigureName.allCases { #expect(article.contains("`\(figure.rawValue)`"), "\(figure)") }
    }

    @Test func everyErrorCodeIsDocumented() throws {
        let article = try String(contentsOf: Self.articleURL, encoding: .utf8)
        for code in ConduitError.Code.all {
            #expect(article.contains("| `\(code.rawValue)` |"), "\(code.rawValue) is not in the article's table")
        }
    }

    /// The stamped example is what the broker's encoder writes for the example event at sequence 42, and the
    /// article shows it in full.
    @Test func theStampedExampleIsWhatTheBrokerSends() throws {
        let stamped = Samples.progress.stamped(sequence: 42, recordedTime: Samples.recordedAt, authenticatedIdentity: nil)
        #expect(EventCodec.encode(stamped) == Samples.stampedProgressBytes)
        #expect(Samples.progressBytes.count == 350)
        #expect(Samples.stampedProgressBytes.count == 409)
        let withIdentity = Samples.progress.stamped(sequence: 42, recordedTime: Samples.recordedAt, authenticatedIdentity: "power-supply-bureau")
        let authenticated = String(decoding: EventCodec.encode(withIdentity), as: UTF8.self)
        #expect(authenticated.count == 446)
        #expect(authenticated.contains(#""recordedtime":"2023-06-01T08:30:00.250000Z","authidentity":"power-supply-bureau","data":"#))
        let article = try String(contentsOf: Self.articleURL, encoding: .utf8)
        #expect(article.contains("```json\n" + Samples.stampedProgressJSON + "\n```"))
    }
}
