import ConduitCore
import ConduitState
import Foundation

/// The report for people (``text(timeZone:)``) and as deterministic JSON (``json()``).
extension IncidentReport {
    // MARK: Text

    /// The report as text: what the subject is, the timeline in `timeZone` (its entries in `language`), the durations.
    public func text(timeZone: TimeZone, language: DisplayLanguage = .en) -> String {
        let writer = ReplayWriter(format: .timeline, scenario: scenario, timeZone: timeZone, language: language)
        var lines = header(writer)
        lines.append("")
        lines.append("Timeline (\(entries.count) entr\(entries.count == 1 ? "y" : "ies"), times in \(timeZone.identifier); * derived by the fold on replay):")
        let width = String(entries.last?.sequence ?? 0).count + 1
        for entry in entries { lines.append("  " + line(entry, writer, width: width)) }
        if !durations.isEmpty {
            lines.append("")
            lines.append("Durations:")
            for duration in durations { lines.append("  " + Self.line(duration, writer)) }
        }
        return lines.map { $0.escapingControlCharacters() }.joined(separator: "\n")
    }

    private func header(_ writer: ReplayWriter) -> [String] {
        var lines: [String] = []
        let asOf = self.asOf.map { "as of \(writer.localTime($0))" } ?? ""
        switch subject {
        case .workItem(let id):
            let item = workItem?.item ?? scenario.workItem(id)
            lines.append("Incident: work item \(id)" + (item.map { " — \($0.title.en)" } ?? ""))
            if let item {
                let organisation = scenario.organisation(item.organisation)?.name.en ?? item.organisation
                lines.append("  \(writer.communityName(item.community)) · \(item.utility?.rawValue ?? "-") · \(organisation)")
            }
            if let state = workItem {
                let actual = [state.actualStart, state.actualFinish].map { $0?.iso8601 ?? "…" }.joined(separator: " → ")
                lines.append(
                    "  \(state.status?.rawValue ?? "unreported") \(String(format: "%g", state.percent))% \(asOf); "
                        + "plan \(state.plannedStart) → \(state.plannedFinish), actual \(actual)")
            }
            if !outages.isEmpty { lines.append("  outages it caused: " + outages.map(\.key).joined(separator: ", ")) }
            let reported = entries.contains { entry in
                if case .event(let event) = entry.content { return event.kind != .alert }
                return false
            }
            if !reported { lines.append("  no report about it in the window: the alerts below are all there is") }
        case .outage(let key):
            lines.append("Incident: outage \(key)")
            if let outage = outages.first {
                let report = outage.report
                let organisation = scenario.organisation(outage.organisation)?.name.en ?? outage.organisation
                var facts = [
                    writer.communityName(outage.community), report.service.rawValue, report.nature.rawValue,
                    "\(report.households) households",
                ]
                if !report.buildings.isEmpty { facts.append("buildings " + report.buildings.joined(separator: ", ")) }
                facts.append("reported by \(organisation)")
                lines.append("  " + facts.joined(separator: " · "))
                var status = "  \(report.status.rawValue) \(asOf)"
                if let start = report.windowStart, let end = report.windowEnd {
                    status += "; window \(writer.localTime(start)) – \(writer.localTime(end))"
                }
                if let cause = report.causedBy { status += "; caused by \(cause)" }
                lines.append(status)
            }
        }
        return lines
    }

    private func line(_ entry: IncidentEntry, _ writer: ReplayWriter, width: Int) -> String {
        let sequence = "#\(entry.sequence)".padding(toLength: width, withPad: " ", startingAt: 0)
        switch entry.content {
        case .event(let event):
            let kind = event.kind.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
            var text = "\(writer.localTime(event.time))  \(sequence)  \(kind)\(writer.detail(event).text)"
            var by = "by \(writer.organisationName(event)) (\(event.source))"
            if let identity = event.authenticatedIdentity { by += ", authenticated as \(identity)" }
            if let recorded = entry.recordedTime, Self.seconds(event.time, recorded) >= 60 {
                by += ", recorded \(writer.localTime(recorded))"
            }
            text += " — " + by
            return text
        case .derivedAlert(let change):
            let kind = "alert*".padding(toLength: 11, withPad: " ", startingAt: 0)
            // A clear's message already starts with "cleared: ".
            let status = change.status.rawValue + ": "
            let message = change.message.hasPrefix(status) ? String(change.message.dropFirst(status.count)) : change.message
            return "\(writer.localTime(change.time))  \(sequence)  \(kind)\(change.kind.rawValue) \(status)\(message)"
        }
    }

    /// A duration in days, hours, minutes (and seconds under an hour).
    static func span(_ seconds: Int64) -> String {
        let value = abs(seconds)
        let (days, hours, minutes, rest) = (value / 86_400, value % 86_400 / 3600, value % 3600 / 60, value % 60)
        if days > 0 { return "\(days) d \(hours) h" + (minutes > 0 ? " \(minutes) min" : "") }
        if hours > 0 { return "\(hours) h \(minutes) min" }
        if minutes > 0 { return "\(minutes) min" + (rest > 0 ? " \(rest) s" : "") }
        return "\(rest) s"
    }

    static func point(_ point: IncidentDuration.Point, _ writer: ReplayWriter) -> String {
        switch point {
        case .instant(let time): writer.localTime(time)
        case .day(let date): date.iso8601
        }
    }

    static func line(_ duration: IncidentDuration, _ writer: ReplayWriter) -> String {
        let from = point(duration.from, writer)
        let to = duration.to.map { point($0, writer) }
        switch duration.kind {
        case .start, .finish:
            let name = "\(duration.kind.rawValue) of \(duration.subject): planned \(from)"
            guard let seconds = duration.seconds else { return name + ", \(duration.note ?? "no actual date")" }
            let days = seconds / 86_400
            let amount = "\(abs(days)) day\(abs(days) == 1 ? "" : "s")"
            if let to {
                return name + ", actual \(to): " + (days == 0 ? "on time" : days > 0 ? "\(amount) late" : "\(amount) early")
            }
            let note = duration.note ?? "not yet"
            return name + ", \(note): " + (days > 0 ? "\(amount) past the plan" : days == 0 ? "due today" : "\(amount) to go")
        case .reinspection:
            var text = "re-inspection of \(duration.subject): \(from)"
            text += to.map { " → \($0)" } ?? " → (none)"
            if let seconds = duration.seconds { text += ": " + span(seconds) + (duration.ongoing ? " so far" : "") }
            if let note = duration.note { text += " (\(note))" }
            return text
        case .noticeLeadTime:
            guard let seconds = duration.seconds, let to else {
                return "notice lead time of \(duration.subject): \(duration.note ?? "unknown")"
            }
            let lead = seconds >= 0 ? span(seconds) : "none: noticed \(span(-seconds)) after the window began"
            var text = "notice lead time of \(duration.subject): \(lead) (noticed \(from), window from \(to))"
            if let required = duration.expectedSeconds {
                text += "; \(span(required)) required"
                if seconds < required { text += ": \(span(required - seconds)) short" }
            }
            return text
        case .outageLength:
            var text = "outage length of \(duration.subject): "
            if let seconds = duration.seconds, seconds < 0 {
                text += "contradictory: restored \(span(-seconds)) before it started"
            } else if let seconds = duration.seconds {
                text += span(seconds) + (duration.ongoing ? " so far" : "")
            } else {
                text += "unknown"
            }
            text += " (\(from) → \(to ?? "…"))"
            if let window = duration.expectedSeconds {
                text += "; planned window \(span(window))"
                if let seconds = duration.seconds, seconds >= 0, !duration.ongoing || seconds > window {
                    text += seconds > window ? ": \(span(seconds - window)) over" : seconds < window ? ": within it" : ": exactly it"
                }
            }
            if let note = duration.note { text += " (\(note))" }
            return text
        }
    }

    // MARK: JSON

    /// The report as deterministic JSON (members sorted by key, compact), format ``jsonFormat``.
    public func json() -> [UInt8] { document().encoded }

    func document() -> JSONValue {
        var members: [String: JSONValue?] = [
            "format": .string(Self.jsonFormat),
            "subject": Self.object([
                "type": .string(subject.isWorkItem ? "workitem" : "outage"), "id": .string(subject.id),
            ]),
            "asOf": asOf.map { .string($0.rfc3339) },
            "outages": .array(outages.map(Self.encode)),
            "timeline": .array(entries.map(Self.encode)),
            "durations": .array(durations.map(Self.encode)),
        ]
        if let item = workItem {
            members["workitem"] = Self.object([
                "id": .string(item.item.id), "community": .string(item.item.community),
                "organisation": .string(item.item.organisation), "utility": item.item.utility.map { .string($0.rawValue) },
                "status": item.status.map { .string($0.rawValue) }, "percent": .number(item.percent.description),
                "plannedStart": .string(item.plannedStart.iso8601), "plannedFinish": .string(item.plannedFinish.iso8601),
                "actualStart": item.actualStart.map { .string($0.iso8601) },
                "actualFinish": item.actualFinish.map { .string($0.iso8601) },
            ])
        }
        return Self.object(members)
    }

    static func object(_ members: [String: JSONValue?]) -> JSONValue {
        .object(members.compactMap { key, value in value.map { JSONValue.Member(key, $0) } }.sorted { $0.key < $1.key })
    }

    static func encode(_ outage: OutageState) -> JSONValue {
        let report = outage.report
        func time(_ value: Timestamp?) -> JSONValue? { value.map { .string($0.rfc3339) } }
        return object([
            "key": .string(outage.key), "community": .string(outage.community), "organisation": .string(outage.organisation),
            "service": .string(report.service.rawValue), "nature": .string(report.nature.rawValue),
            "status": .string(report.status.rawValue), "households": .number(String(report.households)),
            "buildings": .array(report.buildings.map(JSONValue.string)), "windowStart": time(report.windowStart),
            "windowEnd": time(report.windowEnd), "noticedAt": time(report.noticedAt), "startedAt": time(report.startedAt),
            "restoredAt": time(report.restoredAt), "causedBy": report.causedBy.map(JSONValue.string),
        ])
    }

    static func encode(_ entry: IncidentEntry) -> JSONValue {
        switch entry.content {
        case .event(let event):
            return object([
                "sequence": .number(String(entry.sequence)), "origin": .string("journal"),
                "time": .string(event.time.rfc3339), "recordedTime": entry.recordedTime.map { .string($0.rfc3339) },
                "kind": .string(event.kind.rawValue), "source": .string(event.source),
                "authidentity": event.authenticatedIdentity.map(JSONValue.string),
                "ref": .string(event.source + "#" + event.id),
                "event": (try? JSONValue.parse(EventCodec.encode(event))) ?? .null,
            ])
        case .derivedAlert(let change):
            return object([
                "sequence": .number(String(entry.sequence)), "origin": .string("fold"), "time": .string(change.time.rfc3339),
                "kind": .string(EventKind.alert.rawValue),
                "alert": object([
                    "kind": .string(change.kind.rawValue), "key": .string(change.key), "status": .string(change.status.rawValue),
                    "message": .string(change.message), "refs": .array(change.refs.map(JSONValue.string)),
                ]),
            ])
        }
    }

    static func encode(_ duration: IncidentDuration) -> JSONValue {
        object([
            "kind": .string(duration.kind.rawValue), "subject": .string(duration.subject),
            "from": .string(duration.from.text), "to": duration.to.map { .string($0.text) },
            "seconds": duration.seconds.map { .number(String($0)) }, "ongoing": .bool(duration.ongoing),
            "expectedSeconds": duration.expectedSeconds.map { .number(String($0)) },
            "note": duration.note.map(JSONValue.string),
        ])
    }
}
