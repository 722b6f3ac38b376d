import ConduitCore
import Foundation

/// How replayed events are written.
public enum ReplayFormat: String, Sendable, CaseIterable {
    /// One line per event for people: local time, sequence, organisation, kind, community and what happened.
    case timeline
    /// The events as stored (canonical CloudEvents JSON), one per line.
    case jsonl
    /// Comma-separated values for spreadsheets, with a header row.
    case csv
}

/// Writes replayed events in a ``ReplayFormat``, with the scenario's display names and a time zone.
public struct ReplayWriter: Sendable {
    public let format: ReplayFormat
    public let scenario: Scenario
    public let timeZone: TimeZone
    /// The language of the timeline and of CSV's `detail` column (names from the plan, vocabulary translated).
    public let language: DisplayLanguage
    /// Whether CSV begins with a UTF-8 byte order mark, so that spreadsheets (Excel) read Chinese text as UTF-8.
    public let byteOrderMark: Bool

    public init(
        format: ReplayFormat, scenario: Scenario = .default, timeZone: TimeZone = .current, language: DisplayLanguage = .en,
        byteOrderMark: Bool = false
    ) {
        self.format = format
        self.scenario = scenario
        self.timeZone = timeZone
        self.language = language
        self.byteOrderMark = byteOrderMark
    }

    /// The header line, if the format has one (for CSV, after the byte order mark when asked for).
    public var header: String? {
        format == .csv
            ? (byteOrderMark ? "\u{FEFF}" : "")
                + "sequence,recorded,time,kind,status,organisation,utility,community,work_item,percent,households,detail" : nil
    }

    /// Appends one event (and a newline) to `output`. `event` is the decoded event, needed except for JSON lines.
    public func write(sequence: UInt64, recordedTime: Int64, bytes: UnsafeRawBufferPointer, event: Event?,
                      into output: inout [UInt8]) {
        switch format {
        case .jsonl:
            output.append(contentsOf: bytes)
            output.append(UInt8(ascii: "\n"))
        case .timeline:
            guard let event else { return }
            output.append(contentsOf: timelineLine(sequence: sequence, event: event).utf8)
            output.append(UInt8(ascii: "\n"))
        case .csv:
            guard let event else { return }
            output.append(contentsOf: csvLine(sequence: sequence, recordedTime: recordedTime, event: event).utf8)
            output.append(UInt8(ascii: "\n"))
        }
    }

    // MARK: Text

    func localTime(_ timestamp: Timestamp) -> String {
        let date = Date(timeIntervalSince1970: Double(timestamp.microsecondsSinceEpoch) / 1e6)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0, parts.hour ?? 0,
            parts.minute ?? 0, parts.second ?? 0)
    }

    func communityName(_ id: String?) -> String {
        guard let id else { return "-" }
        guard let community = scenario.community(id) else { return id }
        return language == .zh ? community.name.zh : "\(community.name.zh) \(community.name.en)"
    }

    func organisationName(_ event: Event) -> String {
        let id = String(event.sourceOrganisation)
        return scenario.organisation(id)?.name.text(in: language) ?? id
    }

    func organisationName(_ id: String) -> String { scenario.organisation(id)?.name.text(in: language) ?? id }

    /// What the event says, in a few words, in ``language``.
    func detail(_ event: Event) -> (status: String, percent: String, households: String, text: String) {
        let zh = language == .zh
        switch event.data {
        case .progress(let report):
            let percent = report.percent.map { String(format: "%g", $0) } ?? ""
            let blocking = report.blockingReason.map { " — \($0)" } ?? ""
            return (report.status.rawValue, percent, report.householdsAffected.map(String.init) ?? "",
                    "\(event.workItem ?? "?") \(report.status.displayName(in: language))\(percent.isEmpty ? "" : " \(percent)%")\(blocking)")
        case .inspection(let report):
            let kind = report.kind.displayName(in: language), status = report.status.displayName(in: language)
            let result = report.result.map { " " + $0.displayName(in: language) } ?? ""
            let count = report.defects.count
            if zh {
                let defects = count == 0 ? "" : "（\(count)项缺陷）"
                return (report.status.rawValue, "", "",
                        "\(organisationName(report.authority))对\(event.workItem ?? "?")的\(kind)：\(status)\(result)\(defects)")
            }
            let defects = count == 0 ? "" : " (\(count) defect\(count == 1 ? "" : "s"))"
            return (report.status.rawValue, "", "", "\(kind) of \(event.workItem ?? "?") by \(report.authority): \(status)\(result)\(defects)")
        case .outage(let report):
            var window = ""
            if let start = report.windowStart, let end = report.windowEnd {
                window = " \(localTime(start)) – \(localTime(end))"
            }
            let nature = report.nature.displayName(in: language), service = report.service.displayName(in: language)
            let status = report.status.displayName(in: language)
            if zh {
                return (report.status.rawValue, "", String(report.households),
                        "\(nature)\(service)停供\(status)，\(report.households)户\(window)")
            }
            return (report.status.rawValue, "", String(report.households),
                    "\(nature) \(service) outage \(status), \(report.households) households\(window)")
        case .presence(let report):
            return (report.status.rawValue, "", "",
                    zh ? "代理 \(report.agent) \(report.status.displayName(in: language))" : "agent \(report.agent) \(report.status.rawValue)")
        case .alert(let report):
            // A clear's message repeats the raise's after "cleared: "; the line says "cleared" once.
            let message = report.status == .cleared && report.message.hasPrefix("cleared: ")
                ? String(report.message.dropFirst("cleared: ".count)) : report.message
            let kind = report.kind.displayName(in: language), status = report.status.displayName(in: language)
            return (report.status.rawValue, "", "", zh ? "\(kind)\(status)：\(message)" : "\(kind) \(status): \(message)")
        case .plan(let plan):
            if zh {
                return ("", "", String(plan.totalHouseholds),
                        "计划 \(plan.id) 生效：\(plan.communities.count)个小区，\(plan.workItems.count)项工作，\(plan.deadline)前完成")
            }
            return ("", "", String(plan.totalHouseholds),
                    "plan \(plan.id) in force: \(plan.communities.count) communities, \(plan.workItems.count) work items, due \(plan.deadline)")
        }
    }

    /// The timeline line of one event, without its newline: local time, sequence, kind, organisation, community
    /// and what happened.
    public func timelineLine(sequence: UInt64, event: Event) -> String {
        let (_, _, _, text) = detail(event)
        let kind = language == .zh
            ? event.kind.displayName(in: language).padding(toLength: 4, withPad: "　", startingAt: 0)
            : event.kind.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
        return "\(localTime(event.time))  #\(sequence)  \(kind) \(organisationName(event)) @ \(communityName(event.site)): \(text)"
            .escapingControlCharacters()
    }

    func csvLine(sequence: UInt64, recordedTime: Int64, event: Event) -> String {
        let (status, percent, households, text) = detail(event)
        let fields = [
            String(sequence), Timestamp(microsecondsSinceEpoch: recordedTime).rfc3339, event.time.rfc3339,
            event.kind.rawValue, status, String(event.sourceOrganisation), event.utility?.rawValue ?? "",
            event.site ?? "", event.workItem ?? "", percent, households, text.escapingControlCharacters(),
        ]
        return fields.map(Self.csvField).joined(separator: ",")
    }

    /// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
