import ConduitCore
import Foundation

/// Headless Chromium driven through chromedriver (W3C WebDriver over HTTP on loopback), for tests that look at a
/// page as a person does: load it, wait for what it shows, read the DOM, click, take screenshots.
public final class Browser {
    let driver = Process()
    let port: Int
    let session: String
    /// Where downloads land.
    public let downloads: String

    /// Whether Chromium and chromedriver are installed (Debian: chromium, chromium-driver).
    public static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
    }

    /// Starts chromedriver and a headless browser with a window of `width`×`height`.
    public init(width: Int = 1280, height: Int = 1000, downloads: String) throws {
        self.downloads = downloads
        let port = try Self.freePort()
        self.port = port
        driver.executableURL = URL(fileURLWithPath: "/usr/bin/chromedriver")
        driver.arguments = ["--port=\(port)", "--allowed-ips=127.0.0.1"]
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
        guard Poll.until(30, { (try? Self.request(port: port, "GET", "/status")) != nil }) else {
            kill(driver.processIdentifier, SIGKILL)
            throw TestClientError("chromedriver did not start on port \(port)")
        }
        let capabilities = JSONValue.object([
            .init("capabilities", .object([.init("alwaysMatch", .object([
                .init("browserName", .string("chrome")),
                .init("goog:chromeOptions", .object([
                    .init("binary", .string("/usr/bin/chromium")),
                    .init("args", .array(["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                                          "--window-size=\(width),\(height)", "--lang=en-GB"].map { .string($0) })),
                    .init("prefs", .object([
                        .init("download.default_directory", .string(downloads)), .init("download.prompt_for_download", .bool(false)),
                    ])),
                ])),
            ]))])),
        ])
        let answer = try Self.request(port: port, "POST", "/session", body: capabilities)
        guard case .string(let id)? = answer["value"]?["sessionId"] else {
            kill(driver.processIdentifier, SIGKILL)
            throw TestClientError("chromedriver gave no session: \(String(decoding: answer.encoded, as: UTF8.self))")
        }
        session = id
        // Downloads without asking, into `downloads`.
        _ = try? command("POST", "goog/cdp/execute", .object([
            .init("cmd", .string("Browser.setDownloadBehavior")),
            .init("params", .object([.init("behavior", .string("allow")), .init("downloadPath", .string(downloads))])),
        ]))
    }

    /// Opens `url`.
    public func open(_ url: String) throws { _ = try command("POST", "url", .object([.init("url", .string(url))])) }

    /// Runs `script` in the page (the body of a function; `return` gives the value) and answers its value.
    @discardableResult
    public func run(_ script: String) throws -> JSONValue {
        try command("POST", "execute/sync", .object([.init("script", .string(script)), .init("args", .array([]))]))
    }

    /// Runs `script` until it answers `true`, for up to `seconds`; whether it did.
    public func until(_ seconds: Double, _ script: String) -> Bool {
        Poll.until(seconds) { (try? run(script)) == .bool(true) }
    }

    /// A screenshot of the window, as PNG bytes.
    public func screenshot() throws -> Data {
        guard case .string(let base64) = try command("GET", "screenshot"), let data = Data(base64Encoded: base64) else {
            throw TestClientError("no screenshot")
        }
        return data
    }

    /// Ends the session and chromedriver.
    public func close() {
        _ = try? Self.request(port: port, "DELETE", "/session/\(session)")
        // chromedriver does not end on SIGTERM while it serves; it keeps nothing worth a graceful stop.
        if driver.isRunning {
            kill(driver.processIdentifier, SIGKILL)
            driver.waitUntilExit()
        }
    }

    deinit { close() }

    func command(_ method: String, _ path: String, _ body: JSONValue? = nil) throws -> JSONValue {
        let answer = try Self.request(port: port, method, "/session/\(session)/\(path)", body: body ?? (method == "POST" ? .object([]) : nil))
        if case .object(let members)? = answer["value"], members.contains(where: { $0.key == "error" }) {
            throw TestClientError("WebDriver \(path): \(String(decoding: answer.encoded, as: UTF8.self).prefix(400))")
        }
        return answer["value"] ?? .null
    }

    /// One HTTP/1.1 request with a JSON body to chromedriver; its JSON answer.
    static func request(port: Int, _ method: String, _ path: String, body: JSONValue? = nil) throws -> JSONValue {
        let descriptor = try HTTPProbe.connection(to: "127.0.0.1:\(port)")
        defer { Glibc.close(descriptor) }
        let payload = body?.encoded ?? []
        var request = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n".utf8)
        if body != nil { request += Array("Content-Type: application/json\r\nContent-Length: \(payload.count)\r\n".utf8) }
        request += Array("\r\n".utf8) + payload
        _ = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
        // chromedriver says "Connection: close" and leaves the connection open: the answer ends at its length.
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let split = response.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: response[..<split.lowerBound], as: UTF8.self).lowercased()
                if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                    let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)),
                    response.count - split.upperBound >= length
                {
                    break
                }
            }
            var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 120_000) == 1 else { throw TestClientError("chromedriver did not answer \(method) \(path) in 120 s") }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            response += buffer[..<count]
        }
        guard let split = response.firstRange(of: Array("\r\n\r\n".utf8)) else { throw TestClientError("not an HTTP answer") }
        var bodyBytes = Array(response[split.upperBound...])
        let head = String(decoding: response[..<split.lowerBound], as: UTF8.self).lowercased()
        if head.contains("transfer-encoding: chunked") { bodyBytes = dechunk(bodyBytes) }
        return try JSONValue.parse(bodyBytes, maximumDepth: 256)
    }

    static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let end = bytes[index...].firstRange(of: Array("\r\n".utf8)) else { break }
            let size = Int(String(decoding: bytes[index..<end.lowerBound], as: UTF8.self).split(separator: ";")[0], radix: 16) ?? 0
            if size == 0 { break }
            output += bytes[end.upperBound..<min(bytes.count, end.upperBound + size)]
            index = end.upperBound + size + 2
        }
        return output
    }

    /// A TCP port nothing listens on now.
    public static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw TestClientError("cannot find a free port") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
