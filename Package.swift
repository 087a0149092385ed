// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Provenant",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "provenant", targets: ["provenant"]),
        .library(name: "ProvenantCore", targets: ["ProvenantCore"]),
        .library(name: "Catalog", targets: ["Catalog"]),
        .library(name: "SBOM", targets: ["SBOM"]),
        .library(name: "Advisories", targets: ["Advisories"]),
        .library(name: "Attestation", targets: ["Attestation"]),
        .library(name: "Permissions", targets: ["Permissions"]),
        .library(name: "Secrets", targets: ["Secrets"]),
        .library(name: "Guard", targets: ["Guard"]),
        .library(name: "Drift", targets: ["Drift"]),
        .library(name: "Server", targets: ["Server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
    ],
    targets: [
        // Identity, purls, digests, findings: depends on nothing so everything can use it.
        .target(name: "ProvenantCore"),
        // Debian's libzstd-dev: zstd-compressed image layers.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // Debian's liblzma-dev: xz and `.lzma` files, and the members of `.deb` packages, for the secret scan.
        .systemLibrary(name: "CLzma", pkgConfig: "liblzma", providers: [.apt(["liblzma-dev"])]),
        .target(name: "Catalog", dependencies: [
            "ProvenantCore", "CZstd", "CLzma",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            // The registry client (OCI Distribution v2): HTTPS, redirects, streamed bodies.
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .target(name: "SBOM", dependencies: [
            "ProvenantCore", "Catalog",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // OSV store, version schemes, matching, VEX and scan reports.
        .target(name: "Advisories", dependencies: [
            "ProvenantCore", "Catalog", "SBOM",
            .product(name: "GRDB", package: "GRDB.swift"),
            // The SQLite C API, for the two scan reads that step rows themselves.
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            // `db update`: archives streamed to disk under a size cap and a deadline.
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], resources: [.copy("Resources")]),
        // Keys, DSSE envelopes, in-toto statements, Sigstore bundles and verification policies.
        .target(name: "Attestation", dependencies: [
            "ProvenantCore",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
        ], resources: [.copy("Resources")]),
        // Pod Security Standards checks over Kubernetes workloads, compose files, OCI configs and images.
        .target(name: "Permissions", dependencies: [
            "ProvenantCore", "Catalog", "Secrets",
            .product(name: "Yams", package: "Yams"),
        ]),
        // The secret engine: rules, keyword prefilter, generic and known-secret detectors, and the
        // scans of files, archives and git history built on it.
        .target(name: "Secrets", dependencies: [
            "ProvenantCore", "Catalog",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "Yams", package: "Yams"),
        ], exclude: ["Rules/Catalog/FORMAT.md", "Rules/Catalog/README.md"]),
        // The Linux system calls the exec launcher makes (Landlock, prctl, capabilities, execveat):
        // Swift cannot call the variadic syscall(2) and prctl(2) itself.
        .target(name: "CGuardSys"),
        // Runtime enforcement of the agent manifest: egress decisions and the proxy, the exec launcher.
        .target(name: "Guard", dependencies: [
            "ProvenantCore", "Permissions", "Secrets", "CGuardSys",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // Unauthorized change: an SBOM against its approved baseline (`diff`), installed files against the
        // digests their package databases record (`verify-files`).
        .target(name: "Drift", dependencies: [
            "ProvenantCore", "Catalog", "SBOM", "Advisories",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Yams", package: "Yams"),
        ]),
        // The fleet server: every agent's releases, deployments and exposure over an HTTP API (Hummingbird 2),
        // stored in SQLite (embedded, through GRDB).
        .target(name: "Server", dependencies: [
            "ProvenantCore", "Catalog", "SBOM", "Drift", "Advisories", "Attestation",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ], resources: [.copy("Resources")]),
        .executableTarget(name: "provenant", dependencies: [
            "ProvenantCore", "Catalog", "SBOM", "Advisories", "Attestation", "Permissions", "Secrets", "Guard", "Drift", "Server",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        // One harness per parser entry point, shared by the libFuzzer binary and the replay tests.
        .target(name: "FuzzTargets", dependencies: [
            "ProvenantCore", "Catalog", "SBOM", "Advisories", "Attestation", "Permissions", "Secrets", "Guard", "Drift", "Server",
        ]),
        // `scripts/fuzz` builds this with -sanitize=fuzzer,address; a plain build replays input files.
        .executableTarget(name: "provenant-fuzz", dependencies: ["FuzzTargets"]),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog", "ProvenantCore", "SBOM", "TestSupport",
                                                  .product(name: "ZIPFoundation", package: "ZIPFoundation")],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "SBOMTests", dependencies: ["SBOM", "Catalog", "ProvenantCore", "TestSupport"]),
        // Runs the built binary and other programs for the end-to-end tests.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "AttestationTests", dependencies: ["Attestation", "ProvenantCore", "TestSupport",
                                                     .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
                                                     .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto")],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "PermissionsTests", dependencies: ["Permissions", "Catalog", "ProvenantCore", "TestSupport", .product(name: "Yams", package: "Yams")],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "AdvisoriesTests", dependencies: ["Advisories", "SBOM", "Catalog", "ProvenantCore", "TestSupport"],
                    resources: [.copy("Fixtures")]),
        // Every input the fuzzers found (and every seed) replayed through the harnesses.
        .testTarget(name: "SecretsTests", dependencies: ["Secrets", "Catalog", "ProvenantCore", "TestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "GuardTests", dependencies: ["Guard", "Permissions", "ProvenantCore", "TestSupport"],
                    resources: [.copy("Fixtures")]),
        // Images read from real layouts and archives (skopeo, umoci) and from hand-made bad ones.
        .testTarget(name: "ImageTests", dependencies: ["Catalog", "SBOM", "ProvenantCore", "TestSupport"]),
        // diff over real lockfiles and SBOMs; verify-files against `dpkg --verify` on a real Debian root.
        .testTarget(name: "DriftTests", dependencies: ["Drift", "Catalog", "SBOM", "ProvenantCore", "TestSupport"],
                    resources: [.copy("Fixtures")]),
        // The fleet server run as `provenant server` and reached over real HTTP on loopback.
        .testTarget(name: "ServerTests", dependencies: ["Server", "ProvenantCore", "Advisories", "TestSupport", .product(name: "Hummingbird", package: "hummingbird"),
                                                   .product(name: "Crypto", package: "swift-crypto"), .product(name: "ZIPFoundation", package: "ZIPFoundation")],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "FuzzReplayTests", dependencies: ["FuzzTargets", "Catalog"], resources: [.copy("Fixtures")]),
        // The registry client against the real `docker-registry` (distribution), started by the tests.
        // Keyless cosign attestations are made there too, with a Fulcio, CT log and Rekor of the tests' own.
        .testTarget(name: "RegistryTests", dependencies: ["Catalog", "Attestation", "ProvenantCore", "TestSupport",
                                                   .product(name: "Crypto", package: "swift-crypto"),
                                                   .product(name: "X509", package: "swift-certificates"),
                                                   .product(name: "SwiftASN1", package: "swift-asn1")],
                    resources: [.copy("Fixtures")]),
    ]
)
