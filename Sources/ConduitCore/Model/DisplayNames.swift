/// The language of what Conduit prints for people: English, or Chinese with the plan's Chinese names.
public enum DisplayLanguage: String, Sendable, CaseIterable {
    case en
    case zh

    /// Chinese when the locale (`LC_ALL`, else `LC_MESSAGES`, else `LANG`) is Chinese (`zh…`), else English.
    public static func fromLocale(_ environment: [String: String]) -> DisplayLanguage {
        for name in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            guard let value = environment[name], !value.isEmpty else { continue }
            return value.lowercased().hasPrefix("zh") ? .zh : .en
        }
        return .en
    }
}

extension LocalizedText {
    /// The text in `language`.
    public func text(in language: DisplayLanguage) -> String { language == .zh ? zh : en }
}

/// A vocabulary value with a name for people in each display language; English is its wire name.
public protocol DisplayNamed: WireEnum {
    /// The Chinese names of the values that have one.
    static var chineseNames: [Self: String] { get }
}

extension DisplayNamed {
    /// The value's name in `language` (its wire name in English, and where no Chinese name is known).
    public func displayName(in language: DisplayLanguage) -> String {
        language == .zh ? Self.chineseNames[self] ?? rawValue : rawValue
    }
}

extension Utility: DisplayNamed {
    public static let chineseNames: [Utility: String] = [.power: "供电", .water: "供水", .telecom: "通信", .broadcast: "广电"]
}

extension EventKind: DisplayNamed {
    public static let chineseNames: [EventKind: String] = [
        .progress: "进度", .inspection: "检查验收", .outage: "停供", .presence: "在线状态", .alert: "督查", .plan: "计划",
    ]
}

extension WorkStatus: DisplayNamed {
    public static let chineseNames: [WorkStatus: String] = [
        .planned: "计划中", .scheduled: "已排期", .inProgress: "施工中", .suspended: "暂停", .completed: "已完工",
        .accepted: "已验收", .cancelled: "已取消",
    ]
}

extension OutageStatus: DisplayNamed {
    public static let chineseNames: [OutageStatus: String] = [
        .proposed: "拟停", .noticed: "已通知", .started: "已停", .restored: "已恢复", .cancelled: "已取消",
    ]
}

extension OutageNature: DisplayNamed {
    public static let chineseNames: [OutageNature: String] = [.planned: "计划", .unplanned: "非计划"]
}

extension InspectionKind: DisplayNamed {
    public static let chineseNames: [InspectionKind: String] = [
        .jointAcceptance: "联合验收", .waterAcceptance: "供水验收", .elevatorSupervisoryInspection: "电梯监督检验",
        .fireSafety: "消防安全检查",
    ]
}

extension InspectionStatus: DisplayNamed {
    public static let chineseNames: [InspectionStatus: String] = [.requested: "已申请", .performed: "已实施"]
}

extension InspectionResult: DisplayNamed {
    public static let chineseNames: [InspectionResult: String] = [.passed: "通过", .failed: "不通过", .conditional: "有条件通过"]
}

extension PresenceStatus: DisplayNamed {
    public static let chineseNames: [PresenceStatus: String] = [.birth: "上线", .heartbeat: "心跳", .death: "下线"]
}

extension AlertStatus: DisplayNamed {
    public static let chineseNames: [AlertStatus: String] = [.raised: "提出", .cleared: "销号", .acknowledged: "已确认"]
}

extension AlertKind: DisplayNamed {
    public static let chineseNames: [AlertKind: String] = [
        .behindSchedule: "进度滞后", .outageOverlap: "停供重叠", .shortNotice: "通知不足", .reinspectionOverdue: "复检逾期",
        .outageOverrun: "停供超时", .agentSilent: "代理失联", .deadlineAtRisk: "工期风险", .lifecycleAnomaly: "流程异常",
        .noNotice: "未通知停供", .acceptanceMissing: "未验收先报验收", .progressRegression: "进度倒退", .outageUnrestored: "停供未恢复",
        .outageLapsed: "通知停供未实施", .escalation: "提请协调",
    ]
}
