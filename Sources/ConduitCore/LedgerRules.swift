/// The plan's rules for the supervision office's ledger (督查台账): how long a responsible organisation has to
/// rectify an entry of each kind (限期整改), and which suspensions are escalated to which organisation.
public struct LedgerRules: Sendable, Hashable {
    /// The rectification periods; a kind in none of them gets no deadline.
    public var rectification: [RectificationRule]
    /// The escalations of suspended work.
    public var escalations: [EscalationRule]

    public init(rectification: [RectificationRule] = [], escalations: [EscalationRule] = []) {
        self.rectification = rectification
        self.escalations = escalations
    }

    /// Whether the plan has no ledger rules.
    public var isEmpty: Bool { rectification.isEmpty && escalations.isEmpty }

    /// The days an entry of `kind` has from the day it is raised, if a rule names the kind.
    public func rectificationDays(for kind: AlertKind) -> Int? {
        rectification.first { $0.kinds.contains(kind) }?.days
    }

    /// The longest period a rule may set: ten years.
    public static let maximumDays = 3_650
}

/// How many days the responsible organisation has to rectify entries of some kinds.
public struct RectificationRule: Sendable, Hashable {
    public var kinds: [AlertKind]
    /// Days after the local day the entry was raised; its deadline is that day plus these days.
    public var days: Int
    /// Where the period comes from.
    public var source: LocalizedText
    /// Whether the period is the plan's own choice rather than a rule's.
    public var assumed: Bool

    public init(kinds: [AlertKind], days: Int, source: LocalizedText, assumed: Bool = false) {
        self.kinds = kinds
        self.days = days
        self.source = source
        self.assumed = assumed
    }
}

/// A work item suspended for one of these reasons longer than `afterDays` raises an `escalation` entry for
/// `organisation` (the seed: households refusing access go to the sub-district office, whose duty is the household
/// survey and the mediation of disputes).
public struct EscalationRule: Sendable, Hashable {
    /// The rule's id, part of its entries' keys (`escalation/<id>/<work item>`).
    public var id: String
    /// The reason in words.
    public var reason: LocalizedText
    /// A suspension is for this reason when its `blockingReason` contains one of these texts (compared as they are).
    public var reasonContains: [String]
    /// Whole days of suspension after which the entry is raised.
    public var afterDays: Int
    /// The organisation the entry is for.
    public var organisation: String
    /// Where the rule comes from.
    public var source: LocalizedText
    /// Whether the rule is the plan's own choice.
    public var assumed: Bool

    public init(
        id: String, reason: LocalizedText, reasonContains: [String], afterDays: Int, organisation: String,
        source: LocalizedText, assumed: Bool = false
    ) {
        self.id = id
        self.reason = reason
        self.reasonContains = reasonContains
        self.afterDays = afterDays
        self.organisation = organisation
        self.source = source
        self.assumed = assumed
    }

    /// Whether a suspension with this `blockingReason` is for the rule's reason.
    public func matches(_ blockingReason: String?) -> Bool {
        guard let blockingReason else { return false }
        return reasonContains.contains { blockingReason.contains($0) }
    }
}

extension LedgerRules {
    /// Checks the rules against the plan's organisations.
    func check(organisations: (String) -> Bool) throws(ConduitError) {
        var ruled: Set<AlertKind> = []
        for (position, rule) in rectification.enumerated() {
            for (index, kind) in rule.kinds.enumerated() where !ruled.insert(kind).inserted {
                throw ConduitError(.scenarioInvalid, path: "ledger.rectification[\(position)].kinds[\(index)]", "a second period for \(kind.rawValue)")
            }
            guard (0...Self.maximumDays).contains(rule.days) else {
                throw ConduitError(.dataRange, path: "ledger.rectification[\(position)].days", "\(rule.days) is outside 0 to \(Self.maximumDays)")
            }
        }
        var ids: Set<String> = []
        for (position, rule) in escalations.enumerated() {
            guard ids.insert(rule.id).inserted else {
                throw ConduitError(.scenarioInvalid, path: "ledger.escalations[\(position)].id", "duplicate id \(rule.id)")
            }
            guard organisations(rule.organisation) else {
                throw ConduitError(
                    .scenarioOrganisation, path: "ledger.escalations[\(position)].organisation",
                    "\"\(rule.organisation)\" is not an organisation of the scenario")
            }
            guard (0...Self.maximumDays).contains(rule.afterDays) else {
                throw ConduitError(.dataRange, path: "ledger.escalations[\(position)].afterDays", "\(rule.afterDays) is outside 0 to \(Self.maximumDays)")
            }
            guard !rule.reasonContains.isEmpty else {
                throw ConduitError(.eventMissing, path: "ledger.escalations[\(position)].reasonContains", "name at least one text of the reason")
            }
        }
    }

    /// Reads the `ledger` member of a plan.
    static func decode(_ object: ScenarioObject) throws(ConduitError) -> LedgerRules {
        try object.allow(["rectification", "escalations"])
        let rectification = try object.optionalArray("rectification").enumerated().map { (position, value) throws(ConduitError) -> RectificationRule in
            let rule = try ScenarioObject(value, path: "\(object.path).rectification[\(position)]")
            try rule.allow(["kinds", "days", "source", "assumed"])
            return RectificationRule(
                kinds: try rule.enums("kinds", AlertKind.self), days: try rule.count("days"), source: try rule.text("source"),
                assumed: try rule.optionalBool("assumed") ?? false)
        }
        let escalations = try object.optionalArray("escalations").enumerated().map { (position, value) throws(ConduitError) -> EscalationRule in
            let rule = try ScenarioObject(value, path: "\(object.path).escalations[\(position)]")
            try rule.allow(["id", "reason", "reasonContains", "afterDays", "organisation", "source", "assumed"])
            let texts = try rule.array("reasonContains").enumerated().map { (index, element) throws(ConduitError) -> String in
                guard case .string(let text) = element, !text.isEmpty else {
                    throw ConduitError(.eventType, path: "\(rule.path).reasonContains[\(index)]", "expected a non-empty string")
                }
                return text
            }
            return EscalationRule(
                id: try rule.identifier("id"), reason: try rule.text("reason"), reasonContains: texts,
                afterDays: try rule.count("afterDays"), organisation: try rule.identifier("organisation"),
                source: try rule.text("source"), assumed: try rule.optionalBool("assumed") ?? false)
        }
        return LedgerRules(rectification: rectification, escalations: escalations)
    }

    /// The `ledger` member of a plan document.
    var document: JSONValue {
        func text(_ value: LocalizedText) -> JSONValue {
            .object([.init("zh", .string(value.zh)), .init("en", .string(value.en))])
        }
        var members: [JSONValue.Member] = []
        if !rectification.isEmpty {
            members.append(.init("rectification", .array(rectification.map { rule in
                var fields: [JSONValue.Member] = [
                    .init("kinds", .array(rule.kinds.map { .string($0.rawValue) })), .init("days", .number(String(rule.days))),
                    .init("source", text(rule.source)),
                ]
                if rule.assumed { fields.append(.init("assumed", .bool(true))) }
                return .object(fields)
            })))
        }
        if !escalations.isEmpty {
            members.append(.init("escalations", .array(escalations.map { rule in
                var fields: [JSONValue.Member] = [
                    .init("id", .string(rule.id)), .init("reason", text(rule.reason)),
                    .init("reasonContains", .array(rule.reasonContains.map(JSONValue.string))),
                    .init("afterDays", .number(String(rule.afterDays))), .init("organisation", .string(rule.organisation)),
                    .init("source", text(rule.source)),
                ]
                if rule.assumed { fields.append(.init("assumed", .bool(true))) }
                return .object(fields)
            })))
        }
        return .object(members)
    }
}
