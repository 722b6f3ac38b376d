import Testing

@testable import ConduitCore

/// Who may report what is decided by the plan's owners of work items and services, never by the optional attributes
/// an event chooses to carry: a dishonest utility with a valid key cannot touch another's work.
@Suite struct AuthorityTests {
    static let validator = EventValidator(scenario: .default)

    static func event(_ json: String) throws -> Event { try EventCodec.decode(Array(json.utf8)) }

    static let cases: [(String, String, ConduitError.Code, String)] = [
        // China Telecom cancels the power bureau's work by leaving out the utility attribute.
        ("another's work item without the utility attribute",
         #"{"specversion":"1.0","id":"x1","source":"/china-telecom/nms","type":"conduit.progress","time":"2023-06-01T08:30:00Z","workitem":"ganjiaba-power","data":{"status":"cancelled"}}"#,
         .authForbidden, "workitem"),
        // China Mobile cancels China Telecom's work item, naming the right utility.
        ("a fellow carrier's work item",
         #"{"specversion":"1.0","id":"x2","source":"/china-mobile/nms","type":"conduit.progress","time":"2023-06-01T08:30:00Z","utility":"telecom","site":"ganjiaba","workitem":"ganjiaba-china-telecom","data":{"status":"cancelled"}}"#,
         .authForbidden, "workitem"),
        // China Telecom announces a planned power outage without the utility attribute.
        ("an outage of a service it does not run",
         #"{"specversion":"1.0","id":"x3","source":"/china-telecom/nms","type":"conduit.outage","time":"2023-06-01T08:30:00Z","site":"ganjiaba","data":{"status":"noticed","nature":"planned","service":"power","windowStart":"2023-06-10T01:00:00Z","windowEnd":"2023-06-10T05:00:00Z","noticedAt":"2023-06-01T08:30:00Z","households":10}}"#,
         .authForbidden, "data.service"),
        // An outage blamed on another's work item.
        ("an outage caused by another's work",
         #"{"specversion":"1.0","id":"x4","source":"/china-telecom/nms","type":"conduit.outage","time":"2023-06-01T08:30:00Z","site":"ganjiaba","data":{"status":"noticed","nature":"planned","service":"telecom","windowStart":"2023-06-10T01:00:00Z","windowEnd":"2023-06-10T05:00:00Z","noticedAt":"2023-06-01T08:30:00Z","households":10,"causedBy":"ganjiaba-power"}}"#,
         .authForbidden, "data.causedBy"),
        // A request for an acceptance of someone else's work.
        ("an inspection request for another's work",
         #"{"specversion":"1.0","id":"x5","source":"/china-telecom/nms","type":"conduit.inspection","time":"2023-06-01T08:30:00Z","workitem":"ganjiaba-power","data":{"status":"requested","kind":"joint_acceptance","authority":"housing-bureau"}}"#,
         .authForbidden, "workitem"),
    ]

    @Test(arguments: 0..<cases.count)
    func anotherOrganisationsWorkIsRefused(_ index: Int) throws {
        let (_, json, code, path) = Self.cases[index]
        let event = try Self.event(json)
        #expect {
            try Self.validator.validate(event)
        } throws: { error in
            guard let error = error as? ConduitError else { return false }
            return error.code == code && error.path == path
        }
    }

    static let allowed: [String] = [
        // The owner, without optional attributes: completed from the plan.
        #"{"specversion":"1.0","id":"y1","source":"/power-supply-bureau/agent-1","type":"conduit.progress","time":"2023-06-01T08:30:00Z","workitem":"ganjiaba-power","data":{"status":"in_progress","percent":10}}"#,
        // A coordinator requests the acceptance of a utility's work.
        #"{"specversion":"1.0","id":"y2","source":"/housing-bureau/office","type":"conduit.inspection","time":"2023-06-01T08:30:00Z","workitem":"ganjiaba-power","data":{"status":"requested","kind":"joint_acceptance","authority":"housing-bureau"}}"#,
        // The authority reports the inspection it performed on the power bureau's work.
        #"{"specversion":"1.0","id":"y3","source":"/housing-bureau/office","type":"conduit.inspection","time":"2023-06-01T08:30:00Z","workitem":"ganjiaba-power","data":{"status":"performed","kind":"joint_acceptance","authority":"housing-bureau","performedAt":"2023-06-01T08:00:00Z","result":"passed"}}"#,
    ]

    @Test(arguments: 0..<allowed.count)
    func theOwnerAndTheAuthoritiesAreAllowed(_ index: Int) throws {
        try Self.validator.validate(try Self.event(Self.allowed[index]))
    }
}
