import ConduitCore
import Testing

/// What each role may publish and where it may connect: every role × every kind of event × a source of its own
/// organisation or another's, against a table written out here (not derived from the code under test).
@Suite struct RoleTests {
    /// The forms of event a key may send: each kind, and the statuses that roles tell apart.
    enum Form: String, CaseIterable {
        case progress, outage, presence, inspectionRequested, inspectionPerformed, alertRaised, alertAcknowledged, plan

        var data: EventData {
            switch self {
            case .progress: Samples.progress.data
            case .outage: Samples.outage.data
            case .presence: Samples.presence.data
            case .inspectionRequested:
                .inspection(InspectionReport(status: .requested, kind: .waterAcceptance, authority: "water-investment-company"))
            case .inspectionPerformed: Samples.inspection.data
            case .alertRaised: Samples.alert.data
            case .alertAcknowledged:
                .alert(AlertReport(status: .acknowledged, kind: .outageOverrun, key: "outage_overrun/ganjiaba/power/x", message: "noted"))
            case .plan: .plan(Scenario.default)
            }
        }
    }

    /// Who may publish what, from the role table of the WireProtocol article; `nil` is a key of a `--client-keys`
    /// directory, which may do all its organisation may do (the plan then decides).
    static let allowed: [Role?: Set<Form>] = [
        .agent: [.progress, .outage, .presence, .inspectionRequested],
        .inspector: [.presence, .inspectionRequested, .inspectionPerformed],
        .coordinator: [.presence, .inspectionRequested, .alertAcknowledged, .plan],
        .aggregator: [.presence, .alertRaised],
        .reviewer: [],
        .bridge: [],
        .dashboard: [],
        nil: Set(Form.allCases),
    ]

    static let cases: [(Role?, Form, Bool)] = {
        var cases: [(Role?, Form, Bool)] = []
        for role in [nil] + Role.allCases.map(Optional.some) {
            for form in Form.allCases {
                for own in [true, false] { cases.append((role, form, own)) }
            }
        }
        return cases
    }()

    @Test(arguments: cases.indices)
    func aRolePublishesOnlyItsKindsAndOnlyForItsOrganisation(_ index: Int) {
        let (role, form, own) = Self.cases[index]
        let organisation = role == .aggregator ? "conduit" : "housing-bureau"
        let principal = Principal(name: "p", organisation: organisation, role: role)
        let source = own ? "/\(organisation)/desk" : "/fire-brigade/desk"
        let event = Event(id: "e", source: source, time: Timestamp(secondsSinceEpoch: 1_700_000_000), data: form.data)
        let expected = own && Self.allowed[role]!.contains(form)
        do {
            try principal.authorise(event)
            #expect(expected, "\(role?.rawValue ?? "organisation") published \(form) (own: \(own))")
        } catch {
            #expect(!expected, "\(role?.rawValue ?? "organisation") refused \(form) (own: \(own)): \(error)")
            #expect(error.code == .authForbidden)
            // Another organisation's source is refused first; then a kind the role never publishes, at `type`; then a
            // status of a kind it publishes in other statuses, at `data.status`.
            let kindAllowed = Self.allowed[role]!.contains { $0.data.kind == form.data.kind }
            #expect(error.path == (!own ? "source" : kindAllowed ? "data.status" : "type"), "\(role?.rawValue ?? "-") \(form): \(error)")
        }
    }

    @Test func whereEachRoleMayConnect() {
        let table: [Role: Set<HubEndpoint>] = [
            .agent: [.ingest, .fanout, .query],
            .inspector: [.ingest, .fanout, .query],
            .coordinator: [.ingest, .fanout, .query, .snapshot],
            .aggregator: [.ingest, .fanout, .query],
            .reviewer: [.query, .snapshot],
            .bridge: [.fanout, .query],
            .dashboard: [.fanout, .query, .snapshot],
        ]
        for role in Role.allCases {
            for endpoint in HubEndpoint.allCases {
                #expect(role.mayConnect(to: endpoint) == table[role]!.contains(endpoint), "\(role) at \(endpoint)")
            }
        }
        let organisationWide = Principal(name: "power-supply-bureau", organisation: "power-supply-bureau", role: nil)
        #expect(HubEndpoint.allCases.filter(organisationWide.mayConnect(to:)) == [.ingest, .fanout, .query])
    }
}

/// The authorisation file: every problem is reported with its path; a good file gives its principals.
@Suite struct AuthorisationFileTests {
    static let organisations: Set<String> = ["power-supply-bureau", "county-government-office", "conduit"]

    @Test func aGoodFileGivesItsPrincipals() throws {
        let text = #"""
            {"format":"conduit-authorisation/1","principals":[
              {"name":"power-field","organisation":"power-supply-bureau","role":"agent","keyFiles":["keys/power.pub"]},
              {"name":"desk","organisation":"county-government-office","role":"coordinator","publicKeys":["rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"]}
            ]}
            """#
        let file = try AuthorisationFile.parse(Array(text.utf8), organisations: Self.organisations)
        #expect(file.entries.map(\.principal) == [
            Principal(name: "power-field", organisation: "power-supply-bureau", role: .agent),
            Principal(name: "desk", organisation: "county-government-office", role: .coordinator),
        ])
        #expect(file.entries[0].keyFiles == ["keys/power.pub"])
        #expect(file.entries[1].publicKeys.count == 1)
    }

    @Test func everyProblemIsReportedWithItsPath() {
        let text = #"""
            {"format":"conduit-authorisation/2","extra":1,"principals":[
              {"name":"a","organisation":"nobody","role":"agent","keyFiles":["a.pub"]},
              {"name":"a","organisation":"power-supply-bureau","role":"janitor","publicKeys":[]},
              {"name":"b","organisation":"power-supply-bureau","role":"aggregator","keyFiles":["b.pub"]},
              {"name":"c","organisation":"conduit","role":"coordinator","keyFiles":["c.pub"],"colour":"red"},
              "d"
            ]}
            """#
        do {
            _ = try AuthorisationFile.parse(Array(text.utf8), organisations: Self.organisations)
            Issue.record("accepted")
        } catch {
            let found = error.problems.map { "\($0.path) \($0.code.rawValue)" }
            #expect(found == [
                "extra event.unknown_field",
                "format event.format",
                "principals[0].organisation scenario.organisation",
                "principals[1].name data.conflict",
                "principals[1].role data.enum",
                "principals[1] event.missing",
                "principals[2].role data.conflict",
                "principals[3].colour event.unknown_field",
                "principals[3].role data.conflict",
                "principals[4] event.type",
            ])
        }
    }
}
