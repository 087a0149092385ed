@preconcurrency import Crypto
import ProvenantCore
import Foundation
import X509

/// RFC 6962 / RFC 9162 Merkle tree hashing and inclusion proofs.
public enum Merkle {
    public static func leafHash(_ data: Data) -> Data {
        var h = SHA256(); h.update(data: [0]); h.update(data: data); return Data(h.finalize())
    }

    static func node(_ l: Data, _ r: Data) -> Data {
        var h = SHA256(); h.update(data: [1]); h.update(data: l); h.update(data: r); return Data(h.finalize())
    }

    /// The root an inclusion proof implies for `leaf` at `index` in a tree of `size`, or nil when the proof has the wrong shape.
    public static func root(leaf: Data, index: Int64, size: Int64, proof: [Data]) -> Data? {
        guard index >= 0, index < size, proof.allSatisfy({ $0.count == 32 }) else { return nil }
        var fn = UInt64(index), sn = UInt64(size - 1)
        var r = leaf
        for p in proof {
            guard sn != 0 else { return nil }
            if fn & 1 == 1 || fn == sn {
                r = node(p, r)
                if fn & 1 == 0 { while fn & 1 == 0 && fn != 0 { fn >>= 1; sn >>= 1 } }
            } else {
                r = node(r, p)
            }
            fn >>= 1; sn >>= 1
        }
        return sn == 0 ? r : nil
    }
}

/// A signed checkpoint in the C2SP signed-note format: origin, size, root hash, then signature lines.
public struct Checkpoint: Sendable {
    public struct Signature: Sendable { public var name: String; public var keyHint: Data; public var bytes: Data }
    public var origin: String
    public var size: Int64
    public var rootHash: Data
    /// The signed text: every line up to and including the newline before the blank line.
    public var note: Data
    public var signatures: [Signature]

    public struct Malformed: Error, CustomStringConvertible { public var description: String }

    /// Signature lines a checkpoint may carry.
    public static let maxSignatures = 16

    public static func parse(_ text: String) throws(Malformed) -> Checkpoint {
        guard let sep = text.range(of: "\n\n") else { throw Malformed(description: "no blank line between the note and its signatures") }
        let noteText = String(text[..<sep.lowerBound]) + "\n"
        let lines = noteText.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard lines.count >= 3 else { throw Malformed(description: "the note needs an origin, a tree size and a root hash") }
        let origin = String(lines[lines.startIndex])
        guard !origin.isEmpty, Int64(origin) == nil else { throw Malformed(description: "the note has no origin line") }
        guard let size = Int64(lines[lines.startIndex + 1]), size >= 0 else { throw Malformed(description: "tree size '\(lines[lines.startIndex + 1])' is not a number") }
        guard let root = Data(base64Encoded: String(lines[lines.startIndex + 2])), root.count == 32 else {
            throw Malformed(description: "root hash '\(lines[lines.startIndex + 2])' is not a base64 SHA-256 hash")
        }
        var sigs: [Signature] = []
        // The log's own line and a few witnesses': each line naming the log costs a signature check, and
        // a million of them took 100 s (found by helper-100). Counted as they are read, never all split.
        for line in text[sep.upperBound...].split(separator: "\n", maxSplits: maxSignatures) {
            guard sigs.count < maxSignatures else {
                throw Malformed(description: "the note has more than \(maxSignatures) signature lines; they are refused")
            }
            let parts = line.split(separator: " ")
            guard parts.count == 3, parts[0] == "\u{2014}", let b = Data(base64Encoded: String(parts[2])), b.count > 4 else {
                throw Malformed(description: "signature line '\(Redactor.quote(line, max: 40))' is malformed")
            }
            sigs.append(Signature(name: String(parts[1]), keyHint: b.prefix(4), bytes: b.dropFirst(4)))
        }
        guard !sigs.isEmpty else { throw Malformed(description: "the note has no signature") }
        return Checkpoint(origin: origin, size: size, rootHash: root, note: Data(noteText.utf8), signatures: sigs)
    }

    /// The origin's signer name: Rekor v1 appends " - <tree id>" to it.
    public var signerName: String { origin.components(separatedBy: " - ").first ?? origin }

    /// Whether one signature line names this log and verifies with its key; other lines (witness cosignatures) are ignored.
    public func signed(by log: LogKey) -> Bool {
        signatures.contains { $0.name == signerName && $0.keyHint == log.logID.prefix(4) && log.key.verifies($0.bytes, over: note) }
    }
}
