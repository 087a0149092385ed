import Catalog
import Foundation
import ProvenantCore
import TestSupport

/// Writes ustar archives byte by byte, so tests can make layers that no well-behaved tool would:
/// names that climb, whiteouts outside the root, links in loops, truncated streams.
struct TarWriter {
    var bytes: [UInt8] = []

    enum Kind: UInt8 { case file = 48, hardLink = 49, symlink = 50, characterDevice = 51, directory = 53, fifo = 54 }

    mutating func add(_ name: String, _ kind: Kind = .file, data: [UInt8] = [], link: String = "", mode: Int = 0o644,
                      uid: Int = 0, pax: [String: String] = [:]) {
        if !pax.isEmpty { paxHeader(pax.sorted(by: { $0.key < $1.key }).map { ($0.key, $0.value) }) }
        header(name, type: kind.rawValue, size: kind == .file ? data.count : 0, link: link, mode: mode, uid: uid)
        if kind == .file { append(data) }
    }

    /// A pax header (`x`, or `g` for a global one) with these records, in this order, empty values kept.
    mutating func paxHeader(_ records: [(String, String)], type: UInt8 = UInt8(ascii: "x")) {
        var body: [UInt8] = []
        for (k, v) in records {
            let rest = " \(k)=\(v)\n"
            var len = rest.utf8.count + 1
            while "\(len)".utf8.count + rest.utf8.count != len { len += 1 }
            body += Array("\(len)\(rest)".utf8)
        }
        header("PaxHeaders/x", type: type, size: body.count, link: "", mode: 0o644)
        append(body)
    }

    /// A GNU long name (`L`) or long link (`K`) entry.
    mutating func gnuLong(_ value: String, type: UInt8 = UInt8(ascii: "L")) {
        let body = Array(value.utf8) + [0]
        header("././@LongLink", type: type, size: body.count, link: "", mode: 0o644)
        append(body)
    }

    /// Data after a header, padded to the block.
    mutating func append(_ data: [UInt8]) {
        bytes += data
        bytes += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    /// One raw header: any type flag, any size field, any magic (8 bytes at 257: POSIX `ustar\0` `00` by
    /// default, GNU is `ustar  \0`), and any bytes laid over the rest (`extra`, by offset) before the checksum.
    mutating func header(_ name: String, type: UInt8, size: Int, link: String = "", mode: Int = 0o644, uid: Int = 0,
                         magic: [UInt8] = Array("ustar\u{0}00".utf8), extra: [(Int, [UInt8])] = []) {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ s: String, _ at: Int, _ width: Int) { for (i, b) in s.utf8.prefix(width).enumerated() { h[at + i] = b } }
        func octal(_ v: Int, _ at: Int, _ width: Int) {
            let digits = String(v, radix: 8)
            put(String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits, at, width - 1)
        }
        put(name, 0, 100)
        octal(mode, 100, 8); octal(uid, 108, 8); octal(uid, 116, 8)
        octal(size, 124, 12); octal(0, 136, 12)
        h[156] = type
        put(link, 157, 100)
        for (i, b) in magic.prefix(8).enumerated() { h[257 + i] = b }
        for (at, b) in extra { for (i, x) in b.enumerated() { h[at + i] = x } }
        for i in 148..<156 { h[i] = 32 }
        let sum = h.reduce(0) { $0 + Int($1) }
        octal(sum, 148, 7)
        h[155] = 32
        bytes += h
    }

    func finished() -> [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }
}

/// An OCI image layout written by hand: blobs named by their digests, a manifest, a config and an
/// index. Each piece can be bent to make a bad image.
struct LayoutWriter {
    let dir: URL
    var layers: [(bytes: [UInt8], mediaType: String, diffID: String)] = []
    var history: [String] = []
    var configExtra: [(String, JSONValue)] = []
    var envOverride: [String]?
    var labels: [String: String] = [:]
    var cmd: [String]?
    /// More fields of the config's `config` object (Healthcheck, OnBuild, …).
    var innerExtra: [(String, JSONValue)] = []
    var manifestAnnotations: [String: String] = [:]

    init(_ dir: URL) throws {
        self.dir = dir
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("blobs/sha256"), withIntermediateDirectories: true)
    }

    static func digest(_ b: [UInt8]) -> String { "sha256:" + FileDigest.sha256(b).value }

    /// A writer holding one small layer (`etc/hostname`), for tests about everything but the files.
    static func oneFile(_ dir: URL) throws -> LayoutWriter {
        var t = TarWriter()
        t.add("etc/hostname", data: Array("x\n".utf8))
        var w = try LayoutWriter(dir)
        try w.addLayer(t.finished())
        return w
    }

    @discardableResult
    func blob(_ b: [UInt8]) throws -> String {
        let d = Self.digest(b)
        try Data(b).write(to: dir.appendingPathComponent("blobs/sha256/" + d.dropFirst(7)))
        return d
    }

    /// Adds an uncompressed tar, or a gzip of it (made by gzip(1)).
    mutating func addLayer(_ tar: [UInt8], gzip: Bool = false, createdBy: String = "RUN test") throws {
        let stored = gzip ? try Self.gzip(tar) : tar
        layers.append((stored, gzip ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar", Self.digest(tar)))
        history.append(createdBy)
    }

    /// Adds a layer stored as given, with its media type and the diff ID of what it inflates to.
    mutating func addStoredLayer(_ stored: [UInt8], mediaType: String, diffID: String, createdBy: String = "RUN test") {
        layers.append((stored, mediaType, diffID))
        history.append(createdBy)
    }

    /// A zstd frame, written by hand, holding one tar of a single file of `size` zero bytes: the header
    /// as a raw block and the zeros as run-length blocks, 4 bytes per 128 KiB, as a bomb is made.
    static func zstdZerosTar(name: String, size: Int) -> [UInt8] {
        var t = TarWriter()
        t.header(name, type: UInt8(ascii: "0"), size: size)
        let header = t.bytes
        var out: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x38]  // magic; no content size; a 128 KiB window
        func block(_ type: UInt32, _ size: Int, last: Bool) {
            let h = UInt32(size) << 3 | type << 1 | (last ? 1 : 0)
            out += [UInt8(h & 0xFF), UInt8(h >> 8 & 0xFF), UInt8(h >> 16 & 0xFF)]
        }
        block(0, header.count, last: false)
        out += header
        // The file's zeros, padded to the block, then the tar's two zero end blocks.
        var zeros = (size + 511) / 512 * 512 + 1024
        while zeros > 0 {
            let n = min(zeros, 128 << 10)
            zeros -= n
            block(1, n, last: zeros == 0)
            out.append(0)
        }
        return out
    }

    static func gzip(_ b: [UInt8]) throws -> [UInt8] {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("gz-\(UUID().uuidString)")
        try Data(b).write(to: tmp)
        defer { try? FileManager.default.removeItem(at: tmp); try? FileManager.default.removeItem(atPath: tmp.path + ".gz") }
        _ = try runProcess("gzip", ["-n", tmp.path])
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: tmp.path + ".gz")))
    }

    /// Writes everything; `mediaTypeOverride` replaces every layer's media type, `manifestLayers` the
    /// manifest's layer list. Returns the manifest digest.
    @discardableResult
    func write(user: String? = nil, layerMediaType: String? = nil, dropLayers: Bool = false) throws -> String {
        var cfg: [(String, JSONValue)] = []
        var inner: [(String, JSONValue)] = [("Env", .array((envOverride ?? ["PATH=/usr/bin", "API_TOKEN=ghp_notarealtoken"]).map { .string($0) }))]
        if let user { inner.append(("User", .string(user))) }
        if !labels.isEmpty { inner.append(("Labels", .object(labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))) }
        if let cmd { inner.append(("Cmd", .array(cmd.map { .string($0) }))) }
        inner += innerExtra
        cfg.append(("architecture", .string("amd64")))
        cfg.append(("os", .string("linux")))
        cfg.append(("config", .object(inner)))
        cfg.append(("rootfs", .object([("type", .string("layers")), ("diff_ids", .array(dropLayers ? [] : layers.map { .string($0.diffID) }))])))
        cfg.append(("history", .array(history.map { .object([("created_by", .string($0))]) })))
        cfg += configExtra
        let configBytes = Array(JSONValue.object(cfg).serialized(pretty: false).utf8)
        let configDigest = try blob(configBytes)
        var layerDescs: [JSONValue] = []
        for l in layers where !dropLayers {
            let d = try blob(l.bytes)
            layerDescs.append(.object([("mediaType", .string(layerMediaType ?? l.mediaType)), ("digest", .string(d)), ("size", .int(l.bytes.count))]))
        }
        let manifest = JSONValue.object([
            ("schemaVersion", .int(2)), ("mediaType", .string(MediaType.ociManifest)),
            ("config", .object([("mediaType", .string(MediaType.ociConfig)), ("digest", .string(configDigest)), ("size", .int(configBytes.count))])),
            ("layers", .array(layerDescs)),
        ] + (manifestAnnotations.isEmpty ? [] : [("annotations", .object(manifestAnnotations.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))]))
        let manifestBytes = Array(manifest.serialized(pretty: false).utf8)
        let manifestDigest = try blob(manifestBytes)
        let index = JSONValue.object([
            ("schemaVersion", .int(2)),
            ("manifests", .array([.object([("mediaType", .string(MediaType.ociManifest)), ("digest", .string(manifestDigest)),
                                           ("size", .int(manifestBytes.count)),
                                           ("annotations", .object([("org.opencontainers.image.ref.name", .string("test"))]))])])),
        ])
        try Data(index.serialized(pretty: false).utf8).write(to: dir.appendingPathComponent("index.json"))
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: dir.appendingPathComponent("oci-layout"))
        return manifestDigest
    }
}

func temporaryDirectory(_ name: String) throws -> URL {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d
}

/// Runs a tool the tests need and fails loudly with its output when it fails.
@discardableResult
func tool(_ exe: String, _ args: [String]) throws -> String {
    let r = try runProcess(exe, args)
    guard r.code == 0 else { throw ToolFailure(description: "\(exe) \(args.joined(separator: " ")) exited \(r.code): \(r.err)\(r.out)") }
    return r.out
}

struct ToolFailure: Error, CustomStringConvertible { var description: String }

/// Reads an image the way `provenant sbom` does.
func catalogImage(_ reference: String) async throws -> Inventory {
    try await Cataloger().catalog(reference)
}
