import Testing
@testable import ConduitCore

@Suite struct SnapshotRequestTests {
    @Test func requestMatchesGoldenFrames() throws {
        let request = SnapshotRequest(request: 5, path: "communities/ganjiaba")
        #expect(request.encode() == GoldenFrames.snapshotRequest)
        #expect(try SnapshotRequest.decode(GoldenFrames.snapshotRequest) == request)
    }

    @Test func repliesMatchGoldenFrames() throws {
        let state = SnapshotReply.state(request: 5, sequence: 42, json: bytes(#"{"households":436}"#))
        #expect(state.encode() == GoldenFrames.snapshotState)
        #expect(try SnapshotReply.decode(GoldenFrames.snapshotState) == state)
        let error = SnapshotReply.error(request: 6, ConduitError(.queryNotFound, path: "frame[3]", "no state at communities/nowhere"))
        #expect(error.encode() == GoldenFrames.snapshotError)
        #expect(try SnapshotReply.decode(GoldenFrames.snapshotError) == error)
    }

    @Test func wholeStateIsTheEmptyPath() throws {
        let request = SnapshotRequest(request: 1)
        #expect(try SnapshotRequest.decode(request.encode()).path == "")
    }

    @Test func rejectsBadPaths() {
        expectError(.frameValue, at: "frame[3]") {
            _ = try SnapshotRequest.decode(SnapshotRequest(request: 1, path: "communities//x").encode())
        }
        expectError(.frameCommand, at: "frame[1]") {
            _ = try SnapshotRequest.decode([ProtocolSignature.frame, bytes("STATE"), hex("0000000000000001"), []])
        }
    }
}
