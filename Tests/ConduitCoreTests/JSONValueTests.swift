import Testing
@testable import ConduitCore

/// Strictness of the JSON reader (RFC 8259), through the generic tree parser.
@Suite struct JSONValueTests {
    @Test(arguments: [
        #"{"a":[1,-0,0.5,1e3,-2.5E-3,true,false,null,"\u00e9\ud83d\ude00\n"]}"#, "  [] ", #""x""#, "0", #"{"":{}}"#,
    ])
    func acceptsValidJSON(_ text: String) throws {
        let value = try JSONValue.parse(bytes(text))
        #expect(try JSONValue.parse(value.encoded) == value)
    }

    @Test(arguments: [
        ("[1,]", ConduitError.Code.jsonSyntax), (#"{"a":1,}"#, .jsonSyntax), ("[01]", .jsonNumber), ("[1.]", .jsonNumber),
        ("[-]", .jsonNumber), ("[.5]", .jsonSyntax), ("[+1]", .jsonSyntax), (#"["\x"]"#, .jsonString), (#"["\ud800"]"#, .jsonString),
        (#"["\udc00"]"#, .jsonString), (#"["\u12"]"#, .jsonString), ("[\"\u{01}\"]", .jsonString), (#"{"a":1,"a":2}"#, .jsonDuplicateKey),
        ("[tru]", .jsonSyntax), ("[nul]", .jsonSyntax), ("{a:1}", .jsonSyntax), (#"{"a" 1}"#, .jsonSyntax), ("[1] [2]", .jsonSyntax),
        ("[1e400]", .jsonNumber), (String(repeating: "[", count: 100) + String(repeating: "]", count: 100), .jsonDepth), ("", .jsonSyntax),
        ("'a'", .jsonSyntax), ("[NaN]", .jsonSyntax),
    ])
    func rejectsInvalidJSON(_ text: String, _ code: ConduitError.Code) {
        #expect {
            _ = try JSONValue.parse(bytes(text))
        } throws: { error in
            (error as? ConduitError)?.code == code
        }
    }

    @Test(arguments: [
        [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22],
        [0x22, 0xFF, 0x22], [0x22, 0x80, 0x22], [0x22, 0xF0, 0x80, 0x80, 0x80, 0x22],
    ] as [[UInt8]])
    func rejectsInvalidUTF8(_ input: [UInt8]) {
        #expect {
            _ = try JSONValue.parse(input)
        } throws: { error in
            (error as? ConduitError)?.code == .jsonUTF8
        }
    }

    @Test func decodesEscapes() throws {
        let value = try JSONValue.parse(bytes(#"["\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t"]"#))
        #expect(value == .array([.string("é😀\"\\/\u{08}\u{0C}\n\r\t")]))
    }

    @Test func acceptsValidMultibyteUTF8() throws {
        #expect(try JSONValue.parse(bytes(#""甘家坝 😀""#)) == .string("甘家坝 😀"))
    }

    @Test func escapesControlCharactersWhenWriting() throws {
        let value = JSONValue.string("a\"b\\c\n\u{01}")
        #expect(String(decoding: value.encoded, as: UTF8.self) == #""a\"b\\c\n\u0001""#)
        #expect(try JSONValue.parse(value.encoded) == value)
    }
}
