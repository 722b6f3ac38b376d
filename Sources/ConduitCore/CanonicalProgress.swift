/// A progress report received exactly as the broker stores it, in order and spelling: what Conduit's own agents send,
/// and the commonest event a hub takes. ``EventValidator/canonicalProgress(_:)`` accepts one by reading the received
/// bytes once against that form, checking every rule the decoder and the validator apply to a progress event, and
/// building no ``Event``; ``EventCodec/writeStoredForm(_:site:of:sequence:recordedTime:identity:to:)`` then writes its
/// stored bytes by copying them around what the broker adds.
///
/// Whatever it is not sure of — another member order, whitespace, an escape, a byte that is not ASCII, a
/// percent that is not a whole number, a member the form does not have, a rule broken — it leaves to the general
/// decoder and validator, which decide it with their errors. So it changes what is accepted in no case, only how
/// fast: `CanonicalProgressTests` runs both ways on canonical events and their random mutations and requires the
/// same stored bytes, topic and key whenever this one accepts.
public struct CanonicalProgress: Sendable {
    /// The source and the id, as ranges of the received bytes (without their quotes).
    public var source: Range<Int>
    public var id: Range<Int>
    /// The organisation the source names (`power-supply-bureau` of `/power-supply-bureau/grid-7`).
    public var organisation: Range<Int>
    /// The utility stored: the event's, or its work item's.
    public var utility: Utility?
    /// The community stored as `site` (the event's, or its work item's), at its place in the plan's communities; -1
    /// for none. ``EventValidator/site(of:)`` names it, and ``EventValidator/progressTopic(of:)`` gives the topic the
    /// event is published under. The report holds no reference: it is copied without reference counting.
    public var community: Int
    /// Where the `utility` and `site` members are in the received bytes, or would be when the plan fills them in.
    var utilityAt: Int
    var utilityGiven: Bool
    var siteAt: Int
    /// Whether the received event gives its site; when it does not, the stored form fills it in.
    public internal(set) var siteGiven: Bool
    /// Where `,"data":` begins: the broker's stamped members go before it.
    var dataAt: Int

}

extension EventValidator {
    /// The event in `bytes`, if it is a progress report in exactly its canonical form that the general decoder and
    /// validator accept (see ``CanonicalProgress``); `nil` leaves the decision to them.
    public func canonicalProgress(_ b: UnsafeBufferPointer<UInt8>) -> CanonicalProgress? {
        guard b.count <= EventCodec.maximumEventBytes, b.baseAddress != nil else { return nil }
        var c = TemplateCursor(b)
        // The attributes, in the writer's order; a member that may be left out is tried in its place.
        guard c.literal(#"{"specversion":"1.0","id":""#), let id = c.plain(), id.count <= 128,
            c.literal(#","source":""#), let source = c.plain(),
            let organisation = Self.organisation(b, source, checkingIdentifier: !lookup.namesAreIdentifiers),
            c.literal(#","type":"conduit.progress","time":""#)
        else { return nil }
        guard let time = c.plain(), Timestamp.isCanonicalText(c.slice(time)) else { return nil }
        if c.literal(#","subject":""#) {
            guard let subject = c.plain(), subject.count <= 256 else { return nil }
        }
        let utilityAt = c.at
        var utility: Utility?
        if c.literal(#","utility":""#) {
            guard let text = c.plain(), let value = Utility.wireNames.match(c.slice(text)) else { return nil }
            utility = value
        }
        let siteAt = c.at
        var site: Range<Int>?
        if c.literal(#","site":""#) {
            guard let text = c.plain(), lookup.namesAreIdentifiers || Identifier.isValid(c.slice(text)) else { return nil }
            site = text
        }
        guard c.literal(#","workitem":""#), let workItem = c.plain(), lookup.namesAreIdentifiers || Identifier.isValid(c.slice(workItem))
        else { return nil }
        let dataAt = c.at
        // The data, its members in the writer's order.
        guard c.literal(#","data":{"status":""#), let statusText = c.plain(), let status = WorkStatus.wireNames.match(c.slice(statusText))
        else { return nil }
        var percent: Int?
        if c.literal(#","percent":"#) {
            guard let value = c.wholeNumber(maximumDigits: 3), value <= 100 else { return nil }
            percent = value
        }
        var plannedStart: CalendarDate?
        var plannedFinish: CalendarDate?
        var actualStart: CalendarDate?
        var actualFinish: CalendarDate?
        guard c.date(#","plannedStart":""#, &plannedStart), c.date(#","plannedFinish":""#, &plannedFinish),
            c.date(#","actualStart":""#, &actualStart), c.date(#","actualFinish":""#, &actualFinish)
        else { return nil }
        if c.literal(#","householdsAffected":"#) {
            guard c.wholeNumber(maximumDigits: 15) != nil else { return nil }
        }
        if c.literal(#","blockingReason":""#) {
            guard let reason = c.plain(), reason.count <= 1024 else { return nil }
        }
        guard c.literal("}}"), c.at == b.count else { return nil }

        // What checkPayload checks of progress.
        if let percent, status == .completed || status == .accepted, percent < 100 { return nil }
        if let start = plannedStart, let finish = plannedFinish, finish < start { return nil }
        if let start = actualStart, let finish = actualFinish, finish < start { return nil }

        // What references checks of progress from an organisation of the plan.
        let organisationBytes = c.slice(organisation)
        guard !sameBytes(organisationBytes, Self.systemOrganisationBytes),
            let named = lookup.organisations[organisationBytes]
        else { return nil }
        if let utility, named.utilities & Lookup.bit(utility) == 0 { return nil }
        var community: Int?
        if let site {
            guard let known = lookup.communities[c.slice(site)] else { return nil }
            community = known
        }
        guard let item = lookup.workItems[c.slice(workItem)] else { return nil }
        if site != nil, community != item.community { return nil }
        if let utility, utility != item.utility { return nil }
        guard named.index == item.organisation else { return nil }

        // What complete fills in: the work item's community and utility where the event leaves them out.
        let stored = community ?? item.community
        // The plan's name of the community is written when the event leaves the site out (as the event's own bytes
        // are when it gives it): only a name that needs no escaping is written as it is.
        if stored >= 0, site == nil, !lookup.communityNeedsNoEscaping[stored] { return nil }
        return CanonicalProgress(
            source: source, id: id, organisation: organisation, utility: utility ?? item.utility, community: stored,
            utilityAt: utilityAt, utilityGiven: utility != nil, siteAt: siteAt, siteGiven: site != nil, dataAt: dataAt)
    }

    /// The organisation a source (a range of `b` without its quotes) names, if the source is one the decoder accepts:
    /// 2 to 256 bytes, `/` then an identifier, and no space or control byte. Whether the organisation is an identifier
    /// is left unchecked when not `checkingIdentifier`: the organisation, site and work item are all looked up in the
    /// plan, and a plan whose names are all identifiers (``EventValidator/Lookup/namesAreIdentifiers``) finds none
    /// that is not one.
    private static func organisation(_ b: UnsafeBufferPointer<UInt8>, _ source: Range<Int>, checkingIdentifier: Bool) -> Range<Int>? {
        guard source.count >= 2, source.count <= 256, b[source.lowerBound] == UInt8(ascii: "/") else { return nil }
        var end = source.upperBound
        // TemplateCursor.plain has already refused the other control bytes. Eight bytes at a time, then one by one.
        let base = UnsafeRawPointer(b.baseAddress!)
        var i = source.lowerBound + 1
        while source.upperBound - i >= 8 {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            if zeroBytes(word ^ 0x2020_2020_2020_2020) | zeroBytes(word ^ 0x7F7F_7F7F_7F7F_7F7F) != 0 { return nil }
            if end == source.upperBound {
                let slashes = zeroBytes(word ^ 0x2F2F_2F2F_2F2F_2F2F)
                // The lowest marked byte is the first slash (a borrow only ever marks bytes above a zero byte).
                if slashes != 0 { end = i + slashes.trailingZeroBitCount / 8 }
            }
            i += 8
        }
        while i < source.upperBound {
            if b[i] == UInt8(ascii: " ") || b[i] == 0x7F { return nil }
            if b[i] == UInt8(ascii: "/") && end == source.upperBound { end = i }
            i += 1
        }
        let organisation = source.lowerBound + 1..<end
        guard organisation.count > 0 else { return nil }
        return !checkingIdentifier || Identifier.isValid(UnsafeBufferPointer(rebasing: b[organisation])) ? organisation : nil
    }
}

extension EventCodec {
    /// The stored form of an event accepted by ``EventValidator/canonicalProgress(_:)``: the same bytes as
    /// ``encode(_:)`` of the decoded, completed and stamped event.
    /// - Parameters:
    ///   - site: ``EventValidator/site(of:)`` of the event.
    ///   - recordedTime: the recorded time's JSON text, with its quotes (``TimestampText``).
    ///   - identity: the organisation of the key that published it, if any (an identifier: written as it is).
    public static func storedForm(
        _ event: CanonicalProgress, site: String?, of received: UnsafeBufferPointer<UInt8>, sequence: UInt64,
        recordedTime: [UInt8], identity: String?
    ) -> [UInt8] {
        let capacity = storedFormCapacity(event, site: site, of: received, recordedTime: recordedTime, identity: identity)
        return [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            count = writeStoredForm(
                event, site: site, of: received, sequence: sequence, recordedTime: recordedTime, identity: identity,
                to: buffer.baseAddress!)
            precondition(count <= capacity)
        }
    }

    /// The room ``writeStoredForm(_:site:of:sequence:recordedTime:identity:to:)`` needs at most.
    public static func storedFormCapacity(
        _ event: CanonicalProgress, site: String?, of received: UnsafeBufferPointer<UInt8>, recordedTime: [UInt8],
        identity: String?
    ) -> Int {
        // Besides the received bytes: at most 104 of keys and stamped values, and the filled-in and stamped names.
        let filled = (event.siteGiven ? 0 : site?.utf8.count ?? 0) + (identity?.utf8.count ?? 0) + recordedTime.count
        return received.count + 128 + filled
    }

    /// Writes the stored form of ``storedForm(_:site:of:sequence:recordedTime:identity:)`` at `start`, which has room
    /// for ``storedFormCapacity(_:site:of:recordedTime:identity:)`` bytes; returns how many it wrote.
    public static func writeStoredForm(
        _ event: CanonicalProgress, site: String?, of received: UnsafeBufferPointer<UInt8>, sequence: UInt64,
        recordedTime: [UInt8], identity: String?, to start: UnsafeMutablePointer<UInt8>
    ) -> Int {
        var out = ByteCursor(start)
        out.copy(received, 0..<event.utilityAt)
        if !event.utilityGiven, let utility = event.utility {
            out.put(#","utility":""#)
            out.put(utility.rawValue)
            out.put(UInt8(ascii: "\""))
        }
        out.copy(received, event.utilityAt..<event.siteAt)
        if !event.siteGiven, let site {
            out.put(#","site":""#)
            out.put(site)
            out.put(UInt8(ascii: "\""))
        }
        out.copy(received, event.siteAt..<event.dataAt)
        out.stamps(sequence: sequence, recordedTime: recordedTime, identity: identity)
        out.copy(received, event.dataAt..<received.count)
        return out.at - start
    }
}

/// The high bit of each byte of `word` that is zero set, and of no byte below the lowest zero byte (bytes above it
/// may be marked falsely: the result is non-zero exactly when a byte is zero).
@inline(__always)
private func zeroBytes(_ word: UInt64) -> UInt64 {
    (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
}

/// Reads received bytes against a fixed form: each step matches or leaves the position where it was.
private struct TemplateCursor {
    let b: UnsafeBufferPointer<UInt8>
    var at = 0

    init(_ b: UnsafeBufferPointer<UInt8>) { self.b = b }

    func slice(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: b[range]) }

    /// Reads `text` if the bytes go on with it.
    @inline(__always)
    mutating func literal(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard b.count - at >= count, memoryEqual(b.baseAddress! + at, text.utf8Start, count) else { return false }
        at += count
        return true
    }

    /// The text of a string whose opening quote was just read, up to its closing quote (read too), if it is not empty
    /// and every byte is ASCII from 0x20 on, other than a backslash: bytes the writer writes as they are.
    @inline(__always)
    mutating func plain() -> Range<Int>? {
        let start = at
        let base = b.baseAddress!
        // Eight bytes at a time while none needs a look (JSONReader's test), then one by one.
        while b.count - at >= 8, !JSONReader.needsAttention(UInt64(littleEndian: UnsafeRawPointer(base + at).loadUnaligned(as: UInt64.self))) {
            at += 8
        }
        while at < b.count {
            let byte = base[at]
            if byte == UInt8(ascii: "\"") {
                guard at > start else { return nil }
                at += 1
                return start..<at - 1
            }
            if byte < 0x20 || byte > 0x7F || byte == UInt8(ascii: "\\") { return nil }
            at += 1
        }
        return nil
    }

    /// Reads the member `key` (up to its value's opening quote) and its date, if the bytes go on with `key`; false
    /// when they do but the date is not one.
    mutating func date(_ key: StaticString, _ date: inout CalendarDate?) -> Bool {
        guard literal(key) else { return true }
        // YYYY-MM-DD and the closing quote.
        guard b.count - at >= 11, b[at + 10] == UInt8(ascii: "\""), let value = CalendarDate.parseQuickly(b.baseAddress! + at)
        else { return false }
        at += 11
        date = value
        return true
    }

    /// A whole number of at most `maximumDigits` digits, written as the writer writes it (no sign, no leading zero).
    mutating func wholeNumber(maximumDigits: Int) -> Int? {
        let start = at
        var value = 0
        while at < b.count, b[at] >= UInt8(ascii: "0"), b[at] <= UInt8(ascii: "9") {
            value = value * 10 + Int(b[at] &- UInt8(ascii: "0"))
            at += 1
            if at - start > maximumDigits { return nil }
        }
        guard at > start, at - start == 1 || b[start] != UInt8(ascii: "0") else { return nil }
        return value
    }
}
