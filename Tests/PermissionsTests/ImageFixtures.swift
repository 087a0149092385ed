import Foundation
import Testing
import TestSupport

/// A real OCI image layout built with Debian's umoci, one layer at a time, as the image policy
/// tests read it. Needs root (umoci unpack keeps owners, setcap needs CAP_SETFCAP).
struct UmociImage {
    let root: String
    var layout: String { root + "/layout" }
    /// `oci-dir:LAYOUT:t`, the reference the CLI is given.
    var reference: String { "oci-dir:\(layout):t" }

    struct CommandFailed: Error, CustomStringConvertible { var description: String }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-image-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try Self.run("umoci", ["init", "--layout", root + "/layout"])
        try Self.run("umoci", ["new", "--image", root + "/layout:t"])
    }

    @discardableResult
    static func run(_ exe: String, _ args: [String]) throws -> String {
        let r = try runProcess(exe, args)
        guard r.code == 0 else { throw CommandFailed(description: "\(exe) \(args.joined(separator: " ")) exited \(r.code): \(r.err)") }
        return r.out
    }

    /// Unpacks the image, lets `edit` change its root filesystem (given as a path), and repacks the
    /// change as one new layer whose history says `createdBy`.
    func layer(createdBy: String, _ edit: (String) throws -> Void) throws {
        let bundle = root + "/bundle-\(UUID().uuidString)"
        try Self.run("umoci", ["unpack", "--image", layout + ":t", bundle])
        try edit(bundle + "/rootfs")
        try Self.run("umoci", ["repack", "--history.created_by", createdBy, "--image", layout + ":t", bundle])
        try FileManager.default.removeItem(atPath: bundle)
    }

    /// Appends a layer tar written by hand (what umoci cannot make from a directory).
    func addLayer(_ tar: [UInt8], createdBy: String) throws {
        let path = root + "/layer-\(UUID().uuidString).tar"
        try Data(tar).write(to: URL(fileURLWithPath: path))
        try Self.run("umoci", ["raw", "add-layer", "--history.created_by", createdBy, "--image", layout + ":t", path])
    }

    func config(_ args: [String]) throws {
        try Self.run("umoci", ["config", "--image", layout + ":t"] + args)
    }

    /// The layer digests of tag `t`, bottom first, read from the layout's own index and manifest.
    func layerDigests() throws -> [String] {
        let index = try json(layout + "/index.json")
        let manifests = try #require(index["manifests"] as? [[String: Any]])
        let m = try #require(manifests.first { ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == "t" })
        let digest = try #require(m["digest"] as? String)
        let manifest = try json(layout + "/blobs/sha256/" + digest.dropFirst(7))
        return try #require(manifest["layers"] as? [[String: Any]]).compactMap { $0["digest"] as? String }
    }

    /// A layer's uncompressed tar as text (binary bytes decoded lossily), to look for a header's name in.
    func layerText(_ digest: String) throws -> String {
        let r = try runProcess("gzip", ["-dc", layout + "/blobs/sha256/" + digest.dropFirst(7)])
        guard r.code == 0 else { throw CommandFailed(description: "gzip -dc: \(r.err)") }
        return r.out
    }

    /// Rewrites the ref name index.json records for the layout's one image (nil removes it, leaving
    /// an untagged image, read as `oci-dir:LAYOUT`).
    func recordName(_ name: String?) throws {
        var index = try json(layout + "/index.json")
        var manifests = try #require(index["manifests"] as? [[String: Any]])
        try #require(manifests.count == 1)
        manifests[0]["annotations"] = name.map { ["org.opencontainers.image.ref.name": $0] } ?? [:]
        index["manifests"] = manifests
        try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: layout + "/index.json"))
    }

    func json(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

/// A ustar archive written byte by byte, for layers umoci cannot make from a directory: extended
/// attributes the kernel would refuse to set (a malformed `security.capability`), or a revision 3
/// one. Each entry's attributes go in a pax header before it as `SCHILY.xattr.NAME` records holding
/// the raw bytes, as GNU tar and umoci write them.
struct TarWriter {
    private(set) var bytes: [UInt8] = []

    mutating func directory(_ name: String, mode: Int = 0o755) {
        append(header(name: name, mode: mode, uid: 0, gid: 0, size: 0, type: UInt8(ascii: "5")))
    }

    mutating func file(_ name: String, mode: Int, uid: Int = 0, gid: Int = 0, data: [UInt8], xattrs: [(String, [UInt8])] = []) {
        if !xattrs.isEmpty {
            var pax: [UInt8] = []
            for (k, v) in xattrs { pax += Self.paxRecord("SCHILY.xattr." + k, v) }
            append(header(name: "PaxHeaders/" + name.split(separator: "/").last!, mode: 0o644, uid: 0, gid: 0, size: pax.count, type: UInt8(ascii: "x")))
            append(pax)
        }
        append(header(name: name, mode: mode, uid: uid, gid: gid, size: data.count, type: UInt8(ascii: "0")))
        append(data)
    }

    /// The archive with its two zero blocks of end.
    var finished: [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }

    private mutating func append(_ b: [UInt8]) {
        bytes += b
        bytes += [UInt8](repeating: 0, count: (512 - b.count % 512) % 512)
    }

    /// `LENGTH key=value\n`, where LENGTH counts the whole record, its own digits too.
    static func paxRecord(_ key: String, _ value: [UInt8]) -> [UInt8] {
        let rest = 1 + key.utf8.count + 1 + value.count + 1
        var n = rest + 1
        while String(n).utf8.count + rest != n { n = String(n).utf8.count + rest }
        return Array("\(n) \(key)=".utf8) + value + [0x0A]
    }

    private func header(name: String, mode: Int, uid: Int, gid: Int, size: Int, type: UInt8) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ s: String, _ at: Int) { for (i, b) in s.utf8.enumerated() { h[at + i] = b } }
        func octal(_ v: Int, _ at: Int, _ width: Int) { put(String(repeating: "0", count: max(0, width - 1 - String(v, radix: 8).count)) + String(v, radix: 8), at) }
        precondition(name.utf8.count <= 100)
        put(name, 0)
        octal(mode, 100, 8); octal(uid, 108, 8); octal(gid, 116, 8); octal(size, 124, 12); octal(1_700_000_000, 136, 12)
        h[156] = type
        put("ustar", 257); put("00", 263)
        for i in 148..<156 { h[i] = 0x20 }
        let sum = h.reduce(0) { $0 + Int($1) }
        octal(sum, 148, 7)
        return h
    }
}
