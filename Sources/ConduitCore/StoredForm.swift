/// Writing the stored form of a received event the cheap way: its canonical members copied from the received bytes,
/// the few others (the stamped ones, and what the plan fills in) written beside them, straight into an array sized
/// once. The bytes are those of ``EventCodec/encode(_:)``; ``ReceivedFormTests`` compares the two on every kind of
/// event, canonical or not.
extension EventCodec {
    /// The canonical JSON of `event`, decoded from `received` with ``decode(_:form:)`` and changed since only in the
    /// members `form` does not hold; or `nil` when one of id, source, time and data did not arrive canonical, or a
    /// member `form` does not hold needs escaping (``encode(_:)`` then writes the whole event).
    /// - Parameter recordedTime: the text of the latest recorded time written, reused while it does not change.
    public static func storedForm(
        _ event: Event, reusing form: ReceivedForm, of received: [UInt8], recordedTime: inout TimestampText
    ) -> [UInt8]? {
        guard let id = form.id, let source = form.source, let time = form.time, let data = form.data,
            (event.subject != nil) == (form.subject != nil), (event.workItem != nil) == (form.workItem != nil),
            form.site == nil || event.site != nil,
            event.dataContentType == nil || event.dataContentType == "application/json"
        else { return nil }
        let site = form.site == nil ? event.site : nil
        let identity = event.authenticatedIdentity
        guard site.map(Self.needsNoEscaping) ?? true, identity.map(Self.needsNoEscaping) ?? true else { return nil }
        let recordedText = event.recordedTime.map { recordedTime.text(of: $0) }
        // Everything but the copies is at most 268 bytes of keys and stamped values, 24 for each extension's key.
        let capacity = received.count + 512 + (site?.utf8.count ?? 0) + (identity?.utf8.count ?? 0) + 24 * event.extensions.count
        return received.withUnsafeBufferPointer { input in
            [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
                var out = ByteCursor(buffer.baseAddress!)
                out.put(#"{"specversion":"1.0","id":"#)
                out.copy(input, id)
                out.put(#","source":"#)
                out.copy(input, source)
                switch event.kind {
                case .progress: out.put(#","type":"conduit.progress","time":"#)
                case .inspection: out.put(#","type":"conduit.inspection","time":"#)
                case .outage: out.put(#","type":"conduit.outage","time":"#)
                case .presence: out.put(#","type":"conduit.presence","time":"#)
                case .alert: out.put(#","type":"conduit.alert","time":"#)
                case .plan: out.put(#","type":"conduit.plan","time":"#)
                }
                out.copy(input, time)
                if let subject = form.subject {
                    out.put(#","subject":"#)
                    out.copy(input, subject)
                }
                if event.dataContentType != nil { out.put(#","datacontenttype":"application/json""#) }
                if let utility = event.utility {
                    out.put(#","utility":""#)
                    out.put(utility.rawValue)
                    out.put(UInt8(ascii: "\""))
                }
                if let span = form.site {
                    out.put(#","site":"#)
                    out.copy(input, span)
                } else if let site {
                    out.put(#","site":""#)
                    out.put(site)
                    out.put(UInt8(ascii: "\""))
                }
                if let workItem = form.workItem {
                    out.put(#","workitem":"#)
                    out.copy(input, workItem)
                }
                out.stamps(sequence: event.sequence, recordedTime: recordedText, identity: identity)
                for attribute in event.extensions {
                    out.put(UInt8(ascii: ","))
                    out.put(UInt8(ascii: "\""))
                    out.put(attribute.name)
                    out.put(#"":"#)
                    attribute.json.withUnsafeBufferPointer { out.copy($0, 0..<$0.count) }
                }
                out.put(#","data":"#)
                out.copy(input, data)
                out.put(UInt8(ascii: "}"))
                count = out.at - buffer.baseAddress!
                precondition(count <= capacity)
            }
        }
    }

    /// Whether JSON writes the text between quotes as it is: no quote, backslash or control character.
    static func needsNoEscaping(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }
}

/// The JSON text of the latest timestamp asked for (with its quotes), kept while the timestamp does not change: a
/// batch's events share their recorded time.
public struct TimestampText: Sendable {
    private var value: Int64 = .min
    private var text: [UInt8] = []

    public init() {}

    public mutating func text(of timestamp: Timestamp) -> [UInt8] {
        if timestamp.microsecondsSinceEpoch != value || text.isEmpty {
            var bytes: [UInt8] = [UInt8(ascii: "\"")]
            bytes.reserveCapacity(29)
            timestamp.write(into: &bytes)
            bytes.append(UInt8(ascii: "\""))
            text = bytes
            value = timestamp.microsecondsSinceEpoch
        }
        return text
    }
}

/// Writes bytes through a pointer into memory the caller has sized.
struct ByteCursor {
    var at: UnsafeMutablePointer<UInt8>

    init(_ start: UnsafeMutablePointer<UInt8>) { at = start }

    @inline(__always)
    mutating func put(_ literal: StaticString) {
        let count = literal.utf8CodeUnitCount
        at.initialize(from: literal.utf8Start, count: count)
        at += count
    }

    @inline(__always)
    mutating func put(_ byte: UInt8) {
        at.initialize(to: byte)
        at += 1
    }

    @inline(__always)
    mutating func put(_ text: String) {
        var text = text
        text.withUTF8 { copy($0, 0..<$0.count) }
    }

    @inline(__always)
    mutating func copy(_ source: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) {
        guard !range.isEmpty, let base = source.baseAddress else { return }
        at.initialize(from: base + range.lowerBound, count: range.count)
        at += range.count
    }

    /// The members the broker stamps on a stored event, as the writer writes them: `sequence`, `recordedtime` (its JSON
    /// text, quotes included) and `authidentity` (an organisation: no escape needed).
    mutating func stamps(sequence: UInt64?, recordedTime: [UInt8]?, identity: String?) {
        if let sequence {
            put(#","sequence":"#)
            decimal(sequence)
        }
        if let recordedTime {
            put(#","recordedtime":"#)
            recordedTime.withUnsafeBufferPointer { copy($0, 0..<$0.count) }
        }
        if let identity {
            put(#","authidentity":""#)
            put(identity)
            put(UInt8(ascii: "\""))
        }
    }

    mutating func decimal(_ value: UInt64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for the 20 digits of 2^64 - 1
        let count = withUnsafeMutableBytes(of: &digits) { scratch -> Int in
            var value = value
            var index = scratch.count
            repeat {
                index -= 1
                scratch[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value % 10)
                value /= 10
            } while value > 0
            let count = scratch.count - index
            (at).initialize(from: scratch.baseAddress!.assumingMemoryBound(to: UInt8.self) + index, count: count)
            return count
        }
        at += count
    }
}
