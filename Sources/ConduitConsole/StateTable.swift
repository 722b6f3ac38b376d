import ConduitCore
import ConduitState
import Foundation

/// The aggregate state as a table for people.
public struct StateTable {
    /// The state shown.
    public let state: AggregateState
    /// The language of the headings and names (the plan's Chinese names in Chinese).
    public let language: DisplayLanguage

    /// A table of `state`, its times in the plan's time zone.
    public init(state: AggregateState, language: DisplayLanguage = .en) {
        self.state = state
        self.language = language
    }

    /// `██████░░░░`: `percent` (0-100) as a bar of `width` blocks.
    static func bar(_ percent: Double, width: Int = 10) -> String {
        let filled = max(0, min(width, Int((percent / 100 * Double(width)).rounded())))
        return String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
    }

    /// `text` padded with spaces to `width` columns (never cut).
    static func pad(_ text: String, _ width: Int) -> String {
        // East Asian wide characters (Hangul, CJK, full-width forms) take two columns.
        func isWide(_ value: UInt32) -> Bool {
            (0x1100...0x115F).contains(value) || (0x2E80...0xA4CF).contains(value) || (0xAC00...0xD7A3).contains(value)
                || (0xF900...0xFAFF).contains(value) || (0xFE30...0xFE4F).contains(value) || (0xFF00...0xFF60).contains(value)
                || (0xFFE0...0xFFE6).contains(value)
        }
        let columns = text.unicodeScalars.reduce(0) { $0 + (isWide($1.value) ? 2 : 1) }
        return columns >= width ? text : text + String(repeating: " ", count: width - columns)
    }

    /// The header, the overall roll-up, progress per community and utility, open outages (the first 20) and active
    /// alerts (the first 30).
    public var text: String {
        let scenario = state.scenario
        let summary = state.summary()
        var lines: [String] = []
        let zh = language == .zh
        let offset = scenario.timeZone.utcOffsetSeconds
        let when = state.now.map { LiveStateView.localTime($0, offsetSeconds: offset) } ?? (zh ? "开始时" : "the beginning")
        let today = state.today.map { "\($0)" } ?? "-"
        lines.append(
            zh ? "序号 \(state.lastSequence) 之后的状态（截至 \(when)；当日 \(today)）"
                : "State after sequence \(state.lastSequence) (as of \(when); today \(today))")
        let overall = summary.overall
        lines.append(
            String(
                format: zh
                    ? "总体：完成 %.0f%%（计划 %.0f%%），%d/%d 项工作滞后，%d 项已验收，当前 %d 户停供"
                    : "Overall: %.0f%% complete (%.0f%% expected), %d of %d work items late, %d accepted, %d households without service now",
                overall.percentComplete, overall.expectedPercent, overall.itemsLate, overall.workItems, overall.itemsAccepted,
                overall.householdsAffectedNow))
        lines.append("")
        let utilities = Utility.allCases
        lines.append(Self.pad(zh ? "小区" : "community", 28) + utilities.map { Self.pad($0.displayName(in: language), 17) }.joined())
        for community in scenario.communities {
            var row = Self.pad(zh ? community.name.zh : "\(community.name.zh) \(community.name.en)", 28)
            for utility in utilities {
                let items = state.workItems.filter { $0.item.community == community.id && $0.item.utility == utility }
                guard !items.isEmpty else {
                    row += Self.pad("-", 17)
                    continue
                }
                let percent = items.reduce(0) { $0 + $1.percent } / Double(items.count)
                row += Self.pad("\(Self.bar(percent)) \(String(format: "%3.0f%%", percent))", 17)
            }
            lines.append(row)
        }
        let late = state.activeAlerts.values.filter { $0.kind == .behindSchedule }
        let open = state.outages.filter(\.isOpen)
        lines.append("")
        lines.append(zh ? "未恢复的停供（\(open.count)）：" : "Open outages (\(open.count)):")
        for outage in open.prefix(20) {
            lines.append("  \(outage.community) \(outage.report.service.rawValue) \(outage.report.status.rawValue), \(outage.report.households) households (\(outage.organisation))")
        }
        lines.append("Active alerts (\(state.activeAlerts.count), \(late.count) behind schedule):")
        for alert in state.activeAlerts.values.sorted(by: { ($0.kind.rawValue, $0.key) < ($1.kind.rawValue, $1.key) }).prefix(30) {
            lines.append("  [\(alert.kind.rawValue)] \(alert.message)")
        }
        if state.activeAlerts.count > 30 { lines.append("  … and \(state.activeAlerts.count - 30) more (--json for all)") }
        return lines.map { $0.escapingControlCharacters() }.joined(separator: "\n")
    }
}
