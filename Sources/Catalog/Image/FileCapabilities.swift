import ProvenantCore

/// A file's capabilities as the kernel reads them from its `security.capability` extended attribute
/// (`struct vfs_cap_data` and `vfs_ns_cap_data`, linux/capability.h; security/commoncap.c reads them).
/// Every field is a little-endian 32-bit word: `magic_etc` (the revision in its top byte, the
/// effective flag in bit 0), then a permitted and an inheritable word for capabilities 0–31, for
/// revisions 2 and 3 a second pair for 32–63, and for revision 3 the uid that is root in the user
/// namespace the capabilities belong to. The size must be exactly the revision's (12, 20 or 24
/// bytes): the kernel refuses any other, and so does this.
public struct FileCapabilities: Sendable, Equatable {
    /// 1, 2 or 3 (`VFS_CAP_REVISION_1` … `_3`).
    public var revision: Int
    /// `VFS_CAP_FLAGS_EFFECTIVE`: the permitted capabilities are raised in the effective set at exec,
    /// so even a program that never asks for them runs with them.
    public var effective: Bool
    public var permitted: UInt64
    public var inheritable: UInt64
    /// Revision 3 only: the capabilities apply in the user namespace whose root is this uid.
    public var rootID: UInt32?

    public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    static let revisionMask: UInt32 = 0xFF00_0000
    static let flagEffective: UInt32 = 0x0000_0001

    public init(xattr b: [UInt8]) throws(DecodeError) {
        func word(_ i: Int) -> UInt32 {
            UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
        }
        guard b.count >= 4 else {
            throw DecodeError(reason: "is \(b.count) byte\(b.count == 1 ? "" : "s"), shorter than the 4-byte magic_etc word")
        }
        let magic = word(0)
        let expected: Int
        switch magic & Self.revisionMask {
        case 0x0100_0000: revision = 1; expected = 12
        case 0x0200_0000: revision = 2; expected = 20
        case 0x0300_0000: revision = 3; expected = 24
        default:
            throw DecodeError(reason: "has revision \(magic >> 24) in magic_etc 0x\(String(magic, radix: 16)); the kernel reads only revisions 1, 2 and 3")
        }
        guard b.count == expected else {
            throw DecodeError(reason: "is \(b.count) bytes; a revision \(revision) capability set is exactly \(expected)")
        }
        effective = magic & Self.flagEffective != 0
        permitted = UInt64(word(4))
        inheritable = UInt64(word(8))
        if revision >= 2 {
            permitted |= UInt64(word(12)) << 32
            inheritable |= UInt64(word(16)) << 32
        }
        rootID = revision == 3 ? word(20) : nil
    }

    /// Every capability the file names, permitted or inheritable, by number.
    public var all: UInt64 { permitted | inheritable }

    /// The names (without `CAP_`) of the capabilities in `mask`, in number order.
    public static func names(_ mask: UInt64) -> [String] {
        (0..<64).filter { mask & (1 << UInt64($0)) != 0 }.map(LinuxCapabilities.name)
    }

    /// `CAP_NET_RAW+ep`-style text, as getcap prints it: each capability with the sets it is in
    /// (e effective, i inheritable, p permitted).
    public var text: String {
        (0..<64).filter { all & (1 << UInt64($0)) != 0 }.map { n in
            let bit: UInt64 = 1 << UInt64(n)
            var sets = ""
            if effective && permitted & bit != 0 { sets += "e" }
            if inheritable & bit != 0 { sets += "i" }
            if permitted & bit != 0 { sets += "p" }
            return "CAP_\(LinuxCapabilities.name(n))+\(sets)"
        }.joined(separator: " ")
    }
}
