import Foundation
import Testing
import TestSupport
@testable import ProvenantCore

/// Subresource-integrity strings as npm, yarn and pnpm lockfiles write them. Plain text is read as
/// bytes (`Digest.sriBytes`), anything else by Characters; both must give the same digests.
@Suite struct SubresourceIntegrityTests {
    static func b64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    @Test func readsTheStrongestHashesInTheirOrder() {
        let a = [UInt8](repeating: 0xAB, count: 64), b = [UInt8](repeating: 0x01, count: 64), c = [UInt8](repeating: 7, count: 20)
        #expect(Digest.sri("sha512-\(Self.b64(a))") == [Digest(.sha512, Hex.encode(a))])
        // A weaker hash before or after the strongest is passed over; two of the strongest are both kept.
        #expect(Digest.sri("sha1-\(Self.b64(c)) sha512-\(Self.b64(a))\tsha512-\(Self.b64(b)) sha1-\(Self.b64(c))")
                == [Digest(.sha512, Hex.encode(a)), Digest(.sha512, Hex.encode(b))])
        // Upper-case names, options after `?`, and leading `?`s (empty parts, dropped).
        #expect(Digest.sri("SHA512-\(Self.b64(a))?foo") == [Digest(.sha512, Hex.encode(a))])
        #expect(Digest.sri("??sha512-\(Self.b64(a))?x?y") == [Digest(.sha512, Hex.encode(a))])
        // The wrong length for the algorithm, an unknown name, and no dash give nothing.
        #expect(Digest.sri("sha256-\(Self.b64(a))").isEmpty)
        #expect(Digest.sri("sha3-\(Self.b64(a)) plain").isEmpty)
    }

    /// Random mixes of valid and broken tokens, separators, `?`, carriage returns, non-ASCII letters
    /// and combining marks: the byte reading and the Character reading agree on every one.
    @Test func bytesAndCharactersAgree() {
        var rng = SplitMix(state: 0x5121)
        func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
        let names = ["sha512", "SHA512", "sha1", "Sha256", "sha384", "md5", "sha3", "", "sha512\u{301}"]
        let lengths = [64, 20, 32, 48, 16, 63]
        let separators = [" ", "\t", "\n", "\r\n", "\r", " \u{308}", "  ", "?", "é", "-"]
        var checked = 0, found = 0, readAsBytes = 0
        for _ in 0..<20_000 {
            var s = ""
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let name = names[Int(rng.next() % UInt64(names.count))]
                var body = Self.b64(bytes(lengths[Int(rng.next() % UInt64(lengths.count))]))
                switch rng.next() % 8 {
                case 0: body = body.replacingOccurrences(of: "=", with: "")
                case 1: body += "?opt"
                case 2: body = "?" + body
                case 3: body = String(body.dropLast(Int(rng.next() % 5)))
                default: break
                }
                let lead = rng.next() % 6 == 0 ? "?" : ""
                s += lead + name + "-" + body + separators[Int(rng.next() % UInt64(separators.count))]
            }
            let fast = Digest.sri(s), reference = Digest.sriByCharacters(s)
            #expect(fast == reference, "\(s.debugDescription)")
            checked += 1
            if !fast.isEmpty { found += 1 }
            if let read = s.utf8.withContiguousStorageIfAvailable({ Digest.sriBytes($0) }), read != nil { readAsBytes += 1 }
        }
        // The mixes reach both readings and find digests often (1,830 and 5,286 of them as written).
        #expect(checked == 20_000 && found > 1_000 && readAsBytes > 4_000 && readAsBytes < 19_000,
                "\(found) of \(checked) found digests, \(readAsBytes) read as bytes")
    }
}
