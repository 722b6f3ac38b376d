import Testing
@testable import ZeroMQ

@Test func linkedLibraryIsVersionFour() {
    let version = LibraryVersion.current
    #expect(version.major == 4)
    #expect(version.minor >= 3)
}
