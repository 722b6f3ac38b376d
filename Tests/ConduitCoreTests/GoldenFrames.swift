// Generated from an independent implementation of the layouts in the WireProtocol article;
// the article's worked examples show the same bytes.

enum GoldenFrames {
    static let ingestPublish: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("5055424c495348"),
        hex("0000000000000007"),
        Samples.progressBytes,
    ]
    static let ingestHello: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("48454c4c4f"),
        hex("2f706f7765722d737570706c792d6275726561752f6167656e742d31"),
        hex("00001388"),
    ]
    static let ingestHeartbeat: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("484541525442454154"),
    ]
    static let ingestGoodbye: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("474f4f44425945"),
    ]
    static let ingestWelcome: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("57454c434f4d45"),
        hex("0000138800010000000001000000000000000028"),
    ]
    static let ingestAck: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("41434b"),
        hex("0000000000000007"),
        hex("000000000000002a"),
        hex("00"),
        hex("2f706f7765722d737570706c792d6275726561752f6167656e742d31"),
        hex("70772d30303031"),
    ]
    static let ingestReject: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("52454a454354"),
        hex("0000000000000008"),
        hex("646174612e72616e6765"),
        hex("646174612e70657263656e74"),
        hex("3134302069732061626f766520313030"),
    ]
    static let ingestBrokerHeartbeat: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("484541525442454154"),
    ]
    static let ingestHelloBatch: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("48454c4c4f"),
        hex("2f706f7765722d737570706c792d6275726561752f6167656e742d31"),
        hex("00001388"),
        hex("6261746368"),
    ]
    static let ingestWelcomeBatch: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("57454c434f4d45"),
        hex("0000138800010000000001000000000000000028"),
        hex("6261746368"),
    ]
    static let ingestBatch: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("4241544348"),
        hex("0000000000000007" + "00000002" + "7b7d" + "0000000000000008" + "00000002" + "7b7d"),
    ]
    static let ingestAcks: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("41434b53"),
        hex("0000000000000007" + "000000000000002a" + "00" + "0000000000000008" + "000000000000002b" + "01"),
    ]
    static let fanoutEvent: [[UInt8]] = [
        hex("70726f67726573732f706f7765722f67616e6a696162612f"),
        hex("434f4e445549542f31"),
        hex("000000000000002a0005fd0d3e01a290"),
        Samples.stampedProgressBytes,
    ]
    static let fanoutHeartbeat: [[UInt8]] = [
        hex("5f6865617274626561742f"),
        hex("434f4e445549542f31"),
        hex("000000000000002a0005fd0d3e01a290"),
    ]
    static let queryReplay: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("5245504c4159"),
        hex("0000000000000001"),
        hex("5300000000000000010000000000000064"),
        hex("00000040"),
        hex("6f75746167652f"),
        hex("70726f67726573732f77617465722f"),
    ]
    static let queryReplayTime: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("5245504c4159"),
        hex("0000000000000002"),
        hex("540005fd061e16e0000005fd1a3bee4000"),
        hex("00000010"),
    ]
    static let queryCredit: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("435245444954"),
        hex("0000000000000001"),
        hex("00000040"),
    ]
    static let queryCancel: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("43414e43454c"),
        hex("0000000000000001"),
    ]
    static let queryHead: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("48454144"),
        hex("0000000000000003"),
    ]
    static let queryStats: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("5354415453"),
        hex("0000000000000004"),
    ]
    static let queryChunk: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("4348554e4b"),
        hex("0000000000000001"),
        hex("000000000000002a0005fd0d3e01a290"),
        Samples.stampedProgressBytes,
    ]
    static let queryEnd: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("454e44"),
        hex("0000000000000001"),
        hex("6265796f6e645f68656164"),
        hex("000000000000002a"),
        hex("000000000000002a"),
    ]
    static let queryHeadReply: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("48454144"),
        hex("0000000000000003"),
        hex("0000000000000001"),
        hex("000000000000002a"),
        hex("0005fd0d3e01a290"),
    ]
    static let queryStatsReply: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("5354415453"),
        hex("0000000000000004"),
        hex("7b226576656e7473223a34327d"),
    ]
    static let queryError: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("4552524f52"),
        hex("0000000000000009"),
        hex("6672616d652e73697a65"),
        hex("6672616d655b345d"),
        hex("6578706563746564206120342d62797465206269672d656e6469616e20696e74656765722c20676f742032206279746573"),
    ]
    static let snapshotRequest: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("534e415053484f54"),
        hex("0000000000000005"),
        hex("636f6d6d756e69746965732f67616e6a69616261"),
    ]
    static let snapshotState: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("5354415445"),
        hex("0000000000000005"),
        hex("000000000000002a"),
        hex("7b22686f757365686f6c6473223a3433367d"),
    ]
    static let snapshotError: [[UInt8]] = [
        hex("434f4e445549542f31"),
        hex("4552524f52"),
        hex("0000000000000006"),
        hex("71756572792e6e6f745f666f756e64"),
        hex("6672616d655b335d"),
        hex("6e6f20737461746520617420636f6d6d756e69746965732f6e6f7768657265"),
    ]
}
