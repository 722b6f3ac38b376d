/// What a key may do at the hub: its principal's role decides which endpoints it may connect to and which kinds of
/// event it may publish; the plan then decides for which work items, outages and inspections (``EventValidator``).
///
/// | role | ingest | fan-out | query | snapshot | publishes |
/// | --- | --- | --- | --- | --- | --- |
/// | agent | yes | yes | yes | no | progress, outages, presence, inspection requests |
/// | inspector | yes | yes | yes | no | inspections (requested and performed), presence |
/// | coordinator | yes | yes | yes | yes | plan changes, acknowledgements of ledger entries, inspection requests, presence |
/// | aggregator | yes | yes | yes | no | alerts (raised, cleared), presence |
/// | reviewer | no | no | yes | yes | nothing |
/// | bridge | no | yes | yes | no | nothing |
/// | dashboard | no | yes | yes | yes | nothing |
public enum Role: String, WireEnum, CaseIterable {
    /// A utility's field agent: reports its organisation's work and outages.
    case agent
    /// An inspecting body: schedules and reports the inspections it carries out.
    case inspector
    /// A coordinator of the programme: changes the plan, acknowledges ledger entries, watches everything.
    case coordinator
    /// Reads the journal and the state for review; publishes nothing.
    case reviewer
    /// Conduit's state aggregator: derives the alerts (the ledger) and serves snapshots.
    case aggregator
    /// Carries the hub's events to another system; publishes nothing here.
    case bridge
    /// The coordinators' dashboard: reads live events, replays and snapshots; publishes nothing.
    case dashboard

    /// Whether a key of this role may connect to `endpoint` at all.
    public func mayConnect(to endpoint: HubEndpoint) -> Bool {
        switch (self, endpoint) {
        case (.agent, .snapshot), (.inspector, .snapshot), (.aggregator, .snapshot), (.bridge, .snapshot): false
        case (.reviewer, .ingest), (.reviewer, .fanout), (.bridge, .ingest), (.dashboard, .ingest): false
        default: true
        }
    }

    /// Whether ``authorise(_:)`` lets this role publish any progress report: what the broker's quick way for
    /// canonical progress reports (``CanonicalProgress``) asks.
    public var publishesProgress: Bool { self == .agent }

    /// Checks that this role may publish `event`'s kind (and, for inspections and alerts, its status):
    /// `auth.forbidden` at `type` or `data.status` otherwise. Whose work, outage or inspection it is, the plan decides
    /// (``EventValidator``).
    public func authorise(_ event: Event) throws(ConduitError) {
        let kind = event.kind
        switch (self, event.data) {
        case (.agent, .progress), (.agent, .outage), (.agent, .presence),
            (.inspector, .inspection), (.inspector, .presence),
            (.coordinator, .plan), (.coordinator, .presence),
            (.aggregator, .presence):
            return
        case (.agent, .inspection(let report)), (.coordinator, .inspection(let report)):
            guard report.status == .requested else {
                throw ConduitError(
                    .authForbidden, path: "data.status",
                    "a key of role \(rawValue) may request an inspection; a performed one is reported by an inspector's key")
            }
        case (.coordinator, .alert(let report)):
            guard report.status == .acknowledged else {
                throw ConduitError(.authForbidden, path: "data.status", "a coordinator acknowledges ledger entries; alerts are raised and cleared by the aggregator")
            }
        case (.aggregator, .alert(let report)):
            guard report.status != .acknowledged else {
                throw ConduitError(.authForbidden, path: "data.status", "a ledger entry is acknowledged by a coordinator's key, not the aggregator's")
            }
        default:
            throw ConduitError(.authForbidden, path: "type", "a key of role \(rawValue) may not publish \(kind.rawValue) events")
        }
    }
}

/// The hub's endpoints, each its own ZAP domain: the broker's three and the aggregator's snapshot endpoint.
public enum HubEndpoint: String, WireEnum, CaseIterable {
    case ingest
    case fanout
    case query
    case snapshot
}

/// Who a key speaks for: a name (unique in the authorisation file), an organisation of the plan (or `conduit` for
/// Conduit's own components) and a role. A principal without a role — a key of a `--client-keys` directory — may do
/// everything its organisation may do under the plan.
public struct Principal: Sendable, Hashable {
    public var name: String
    public var organisation: String
    public var role: Role?

    public init(name: String, organisation: String, role: Role?) {
        self.name = name
        self.organisation = organisation
        self.role = role
    }

    /// Whether this principal may connect to `endpoint`.
    public func mayConnect(to endpoint: HubEndpoint) -> Bool { role?.mayConnect(to: endpoint) ?? (endpoint != .snapshot) }

    /// Checks that this principal may publish `event`: the source is of its organisation (`auth.forbidden` at
    /// `source`), and its role allows the kind.
    public func authorise(_ event: Event) throws(ConduitError) {
        guard event.sourceOrganisation == organisation[...] else {
            throw ConduitError(
                .authForbidden, path: "source", "the key of \(name) (organisation \(organisation)) may not publish for \(event.sourceOrganisation)")
        }
        try role?.authorise(event)
    }
}

/// An authorisation file (`conduit-authorisation/1`): the principals a hub admits, each with its public keys.
///
/// ```json
/// {
///   "format": "conduit-authorisation/1",
///   "principals": [
///     {"name": "power-field", "organisation": "power-supply-bureau", "role": "agent", "keyFiles": ["keys/power.pub"]},
///     {"name": "supervision-desk", "organisation": "county-government-office", "role": "coordinator",
///      "publicKeys": ["rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"]}
///   ]
/// }
/// ```
///
/// A public key is given as its Z85 text (40 characters) or as a key file written by `conduit keygen`, relative to the
/// authorisation file's directory. A principal has at least one key; a key belongs to one principal.
public struct AuthorisationFile: Sendable, Equatable {
    public static let format = "conduit-authorisation/1"

    public struct Entry: Sendable, Equatable {
        public var principal: Principal
        /// Z85 texts of public keys.
        public var publicKeys: [String]
        /// Paths of public key files, as written in the file.
        public var keyFiles: [String]
        /// The entry's path in the document, for errors: `principals[2]`.
        public var path: String
    }

    public var entries: [Entry]

    /// Parses and checks a document: every problem is reported, each with its path. `organisations` are those a
    /// principal may belong to (the plan's, and `conduit`).
    public static func parse(_ bytes: [UInt8], organisations: Set<String>) throws(AuthorisationFileError) -> AuthorisationFile {
        let document: JSONValue
        do { document = try JSONValue.parse(bytes) } catch { throw AuthorisationFileError(problems: [error]) }
        var problems: [ConduitError] = []
        guard case .object(let members) = document else {
            throw AuthorisationFileError(problems: [ConduitError(.eventType, path: "$", "an authorisation file is a JSON object")])
        }
        for member in members where member.key != "format" && member.key != "principals" {
            problems.append(ConduitError(.eventUnknownField, path: JSONPath.member("$", member.key), "unknown member (format, principals)"))
        }
        if document["format"] != .string(format) {
            problems.append(ConduitError(.eventFormat, path: "format", "must be \"\(format)\""))
        }
        guard case .array(let list)? = document["principals"] else {
            problems.append(ConduitError(.eventMissing, path: "principals", "an array of principals is required"))
            throw AuthorisationFileError(problems: problems)
        }
        var entries: [Entry] = []
        var names: Set<String> = []
        for (index, value) in list.enumerated() {
            let path = "principals[\(index)]"
            guard case .object(let fields) = value else {
                problems.append(ConduitError(.eventType, path: path, "a principal is an object"))
                continue
            }
            for field in fields where !["name", "organisation", "role", "publicKeys", "keyFiles"].contains(field.key) {
                problems.append(ConduitError(.eventUnknownField, path: JSONPath.member(path, field.key), "unknown member (name, organisation, role, publicKeys, keyFiles)"))
            }
            func text(_ key: String) -> String? {
                guard case .string(let string)? = value[key], !string.isEmpty else {
                    problems.append(ConduitError(.eventMissing, path: "\(path).\(key)", "a non-empty string is required"))
                    return nil
                }
                return string
            }
            func texts(_ key: String) -> [String] {
                guard let field = value[key] else { return [] }
                guard case .array(let items) = field else {
                    problems.append(ConduitError(.eventType, path: "\(path).\(key)", "an array of strings"))
                    return []
                }
                var strings: [String] = []
                for (position, item) in items.enumerated() {
                    guard case .string(let string) = item, !string.isEmpty else {
                        problems.append(ConduitError(.eventType, path: "\(path).\(key)[\(position)]", "a non-empty string"))
                        continue
                    }
                    strings.append(string)
                }
                return strings
            }
            let name = text("name"), organisation = text("organisation"), roleText = text("role")
            let publicKeys = texts("publicKeys"), keyFiles = texts("keyFiles")
            if let name, !names.insert(name).inserted {
                problems.append(ConduitError(.dataConflict, path: "\(path).name", "\(name) is the name of an earlier principal"))
            }
            if let organisation, !organisations.contains(organisation) {
                problems.append(ConduitError(.scenarioOrganisation, path: "\(path).organisation", "\"\(organisation)\" is not an organisation of the plan"))
            }
            var role: Role?
            if let roleText {
                role = Role(rawValue: roleText)
                if role == nil {
                    problems.append(ConduitError(
                        .dataEnum, path: "\(path).role", "\"\(roleText)\" is not a role (\(Role.allCases.map(\.rawValue).joined(separator: ", ")))"))
                }
            }
            if let role, let organisation {
                let system = organisation == EventValidator.systemOrganisation
                if role == .aggregator && !system {
                    problems.append(ConduitError(.dataConflict, path: "\(path).role", "the aggregator's organisation is \(EventValidator.systemOrganisation)"))
                } else if system && [.agent, .inspector, .coordinator].contains(role) {
                    problems.append(ConduitError(.dataConflict, path: "\(path).role", "a \(role.rawValue) speaks for an organisation of the plan, not \(organisation)"))
                }
            }
            if publicKeys.isEmpty && keyFiles.isEmpty {
                problems.append(ConduitError(.eventMissing, path: path, "a principal needs publicKeys or keyFiles"))
            }
            if let name, let organisation, let role {
                entries.append(Entry(
                    principal: Principal(name: name, organisation: organisation, role: role), publicKeys: publicKeys,
                    keyFiles: keyFiles, path: path))
            }
        }
        guard problems.isEmpty else { throw AuthorisationFileError(problems: problems) }
        return AuthorisationFile(entries: entries)
    }
}

/// Every problem of an authorisation file, each with its path.
public struct AuthorisationFileError: Error, Sendable, CustomStringConvertible {
    public var problems: [ConduitError]
    public var description: String { problems.map { "\($0.path): \($0.reason) [\($0.code.rawValue)]" }.joined(separator: "\n") }
}
