import Foundation
import ProvenantCore
import Testing
import TestSupport

/// `PackageFile` holds MD5, SHA-1 and SHA-256 digests inline; it must behave exactly as the plain
/// struct of a path and a `Digest?` it replaced: same values back, same equality, order and JSON.
@Suite struct PackageFileTests {
    /// The struct as it was before digests were held inline.
    struct Plain: Hashable, Codable, Comparable {
        var path: String
        var digest: Digest?
        static func < (a: Plain, b: Plain) -> Bool {
            (a.path, a.digest?.algorithm.rawValue ?? "", a.digest?.value ?? "") < (b.path, b.digest?.algorithm.rawValue ?? "", b.digest?.value ?? "")
        }
    }

    /// Digests of every algorithm: well-formed lowercase hex, and values the inline form must not take
    /// (upper case, one digit short or long, a stray byte, empty, non-ASCII).
    static func digests(_ rng: inout SplitMix) -> [Digest?] {
        var out: [Digest?] = [nil]
        let hex = Array("0123456789abcdef")
        for alg in Digest.Algorithm.allCases {
            for _ in 0..<6 {
                let digits = (0..<alg.hexLength).map { _ in hex[Int(rng.next() % 16)] }
                let v = String(digits)
                out.append(Digest(alg, v))
                // Digest's initialiser lowercases; a value set afterwards is kept as it is.
                var upper = Digest(alg, v); upper.value = v.uppercased(); out.append(upper)
                out.append(Digest(alg, String(v.dropLast())))
                out.append(Digest(alg, v + "0"))
                let at = Int(rng.next() % UInt64(alg.hexLength))
                for stray: Character in ["g", "/", ":", "G", "é", " "] {
                    var d = digits
                    d[at] = stray
                    out.append(Digest(alg, String(d)))
                }
            }
            out.append(Digest(alg, ""))
            // The extremes of each word.
            out.append(Digest(alg, String(repeating: "0", count: alg.hexLength)))
            out.append(Digest(alg, String(repeating: "f", count: alg.hexLength)))
        }
        return out
    }

    @Test func itBehavesAsThePlainStructItReplaced() throws {
        var rng = SplitMix(state: 0x5EED_F11E)
        let digests = Self.digests(&rng)
        let paths = ["/usr/bin/a", "/usr/bin/b", "/usr/lib/x86_64-linux-gnu/libz.so.1", ""]
        var pairs: [(PackageFile, Plain)] = []
        for p in paths {
            for d in digests { pairs.append((PackageFile(path: p, digest: d), Plain(path: p, digest: d))) }
        }
        for (f, plain) in pairs {
            #expect(f.path == plain.path && f.digest == plain.digest, "\(plain.digest.map { "\($0.algorithm) \($0.value)" } ?? "nil") reads back")
        }
        // Equality and hashing agree with the plain struct's on every pair.
        let sample = pairs.filter { $0.0.path == paths[0] || $0.0.path == paths[3] }
        for (a, pa) in sample {
            for (b, pb) in sample {
                #expect((a == b) == (pa == pb))
                if a == b { #expect(a.hashValue == b.hashValue) }
            }
        }
        // Sorting gives the plain struct's order.
        var shuffled = pairs
        shuffled.shuffle(using: &rng)
        let sortedNew = shuffled.map(\.0).sorted().map { Plain(path: $0.path, digest: $0.digest) }
        let sortedPlain = shuffled.map(\.1).sorted()
        #expect(sortedNew == sortedPlain)
        // The same JSON, both ways.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for (f, plain) in pairs {
            let json = try encoder.encode(f)
            #expect(json == (try encoder.encode(plain)))
            let back = try JSONDecoder().decode(PackageFile.self, from: json)
            #expect(back == f && back.digest == plain.digest)
        }
        // Setting the digest replaces it in whichever form.
        var f = PackageFile(path: "/x", digest: Digest(.md5, String(repeating: "a", count: 32)))
        f.digest = Digest(.sha512, String(repeating: "b", count: 128))
        #expect(f.digest == Digest(.sha512, String(repeating: "b", count: 128)))
        f.digest = nil
        #expect(f.digest == nil && f == PackageFile(path: "/x", digest: nil))
    }

    /// The point of the inline form: a file record holds no second heap string for its digest.
    @Test func aRecordStaysSmall() {
        #expect(MemoryLayout<PackageFile>.stride <= 56)
    }
}
