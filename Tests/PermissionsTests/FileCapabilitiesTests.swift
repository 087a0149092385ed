import Catalog
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The `security.capability` decoder `policy check IMAGE` reads file capabilities with, against
/// bytes written by hand and against what the kernel stores for setcap(8).
@Suite struct FileCapabilitiesTests {
    @Test func decodesEveryRevision() throws {
        let v1 = try FileCapabilities(xattr: capabilityXattr(0x0100_0000, 1 << 10, 1 << 10))
        #expect(v1.revision == 1 && !v1.effective && v1.rootID == nil && v1.text == "CAP_NET_BIND_SERVICE+ip")
        let v2 = try FileCapabilities(xattr: capabilityXattr(0x0200_0001, 1 << 13 | 1, 0, 1 << 7, 1 << 7))
        #expect(v2.revision == 2 && v2.effective && FileCapabilities.names(v2.permitted) == ["CHOWN", "NET_RAW", "BPF"])
        #expect(FileCapabilities.names(v2.inheritable) == ["BPF"] && v2.text == "CAP_CHOWN+ep CAP_NET_RAW+ep CAP_BPF+eip")
        let v3 = try FileCapabilities(xattr: capabilityXattr(0x0300_0000, 1 << 21, 0, 0, 0, 100_000))
        #expect(v3.revision == 3 && v3.rootID == 100_000 && v3.text == "CAP_SYS_ADMIN+p")
        // Flag bits other than effective are ignored, as the kernel ignores them.
        #expect(try FileCapabilities(xattr: capabilityXattr(0x0200_00F0, 1, 0, 0, 0)).effective == false)
    }

    @Test func refusesWhatTheKernelRefuses() {
        let refused: [([UInt8], String)] = [
            ([], "is 0 bytes, shorter than the 4-byte magic_etc word"),
            ([1, 0, 0], "is 3 bytes"),
            (capabilityXattr(0x0200_0001, 1, 0, 0), "is 16 bytes; a revision 2 capability set is exactly 20"),
            (capabilityXattr(0x0200_0001, 1, 0, 0, 0, 0), "is 24 bytes; a revision 2"),
            (capabilityXattr(0x0100_0001, 1, 0, 0, 0), "is 20 bytes; a revision 1 capability set is exactly 12"),
            (capabilityXattr(0x0300_0001, 1, 0, 0, 0), "is 20 bytes; a revision 3 capability set is exactly 24"),
            (capabilityXattr(0x0400_0001, 1, 0, 0, 0), "has revision 4"),
            (capabilityXattr(0x0000_0001, 1, 0, 0, 0), "has revision 0"),
        ]
        for (bytes, reason) in refused {
            #expect(throws: FileCapabilities.DecodeError.self) { try FileCapabilities(xattr: bytes) }
            do { _ = try FileCapabilities(xattr: bytes); Issue.record("\(bytes) decoded") } catch {
                #expect(error.reason.hasPrefix(reason), "\(error.reason)")
            }
        }
    }

    /// The kernel is the other reader: what setcap(8) makes it store, the decoder reads back.
    @Test func readsWhatSetcapStores() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-setcap-\(UUID().uuidString)").path
        try "#!/bin/sh\n".write(toFile: path, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        // getxattr(2) through libc: Swift's Glibc module leaves out <sys/xattr.h>.
        typealias GetXattr = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int
        let getxattr = unsafeBitCast(try #require(dlsym(dlopen(nil, RTLD_NOW), "getxattr")), to: GetXattr.self)
        func stored() throws -> FileCapabilities {
            var buf = [UInt8](repeating: 0, count: 64)
            let n = getxattr(path, "security.capability", &buf, buf.count)
            try #require(n > 0, "getxattr: errno \(errno)")
            return try FileCapabilities(xattr: Array(buf.prefix(n)))
        }
        try setcap(["cap_chown,cap_net_raw,cap_sys_admin,cap_bpf+ep cap_net_raw+i", path])
        var caps = try stored()
        #expect(caps.revision == 2 && caps.effective && caps.rootID == nil)
        #expect(FileCapabilities.names(caps.permitted) == ["CHOWN", "NET_RAW", "SYS_ADMIN", "BPF"] && FileCapabilities.names(caps.inheritable) == ["NET_RAW"])
        try setcap(["cap_net_bind_service+p", path])
        caps = try stored()
        #expect(!caps.effective && caps.text == "CAP_NET_BIND_SERVICE+p")
        try setcap(["-n", "1000", "cap_net_raw+ep", path])
        caps = try stored()
        #expect(caps.revision == 3 && caps.rootID == 1000 && caps.text == "CAP_NET_RAW+ep")
    }
}

/// `struct vfs_cap_data` bytes, each word little-endian, written independently of the decoder.
func capabilityXattr(_ words: UInt32...) -> [UInt8] {
    words.flatMap { w in [UInt8(w & 0xFF), UInt8(w >> 8 & 0xFF), UInt8(w >> 16 & 0xFF), UInt8(w >> 24)] }
}

/// setcap(8) from libcap2-bin, as root.
func setcap(_ args: [String]) throws {
    let r = try runProcess("setcap", args)
    try #require(r.code == 0, "setcap \(args.joined(separator: " ")): \(r.err)")
}
