import Crypto
import Foundation
import ProvenantCore

/// Streams a file through SHA-256 so large binaries and archives never sit whole in memory.
public enum FileDigest {
    /// Hashes from the handle's current position to its end, then closes it.
    public static func sha256(_ fh: FileHandle) throws -> ProvenantCore.Digest {
        defer { try? fh.close() }
        var h = SHA256()
        while let chunk = try fh.read(upToCount: 1 << 20), !chunk.isEmpty { h.update(data: chunk) }
        return ProvenantCore.Digest(.sha256, Hex.encode(h.finalize()))
    }

    public static func sha256(_ bytes: [UInt8]) -> ProvenantCore.Digest { ProvenantCore.Digest(.sha256, Hex.encode(SHA256.hash(data: bytes))) }
    public static func sha1(_ bytes: [UInt8]) -> ProvenantCore.Digest { ProvenantCore.Digest(.sha1, Hex.encode(Insecure.SHA1.hash(data: bytes))) }
}
