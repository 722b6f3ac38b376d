// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Conduit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "conduit", targets: ["conduit"]),
        .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // The C boundary: Debian's libzmq (4.3.4). No pkgConfig: Debian's libzmq.pc drags in krb5 flags.
        .systemLibrary(
            name: "CZeroMQ",
            providers: [.apt(["libzmq3-dev"])]
        ),
        // The only module that imports CZeroMQ.
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
        // The transport benchmark's loops in plain C against libzmq: the reference the binding is measured against.
        .target(name: "TransportReference", linkerSettings: [.linkedLibrary("zmq")]),
        .executableTarget(
            name: "conduit",
            dependencies: [
                "ZeroMQ",
                "TransportReference",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
    ],
    swiftLanguageModes: [.v6]
)
