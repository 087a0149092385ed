import Foundation
import ProvenantCore
import X509

/// A Sigstore bundle, v0.1 to v0.3 (`application/vnd.dev.sigstore.bundle…`).
public struct SigstoreBundle: Sendable {
    public enum Version: String, Sendable { case v01 = "0.1", v02 = "0.2", v03 = "0.3" }

    public enum Material: Sendable {
        /// The leaf, then any intermediates the bundle carried.
        case certificates([Certificate])
        /// A managed key, named only by a hint: the key itself comes from the user.
        case publicKey(hint: String)
    }

    public enum Content: Sendable {
        case messageSignature(digestAlgorithm: String?, digest: Data?, signature: Data)
        case dsse(DSSEEnvelope)
        public var signature: Data {
            switch self {
            case .messageSignature(_, _, let s): return s
            case .dsse(let e): return e.signatures.first?.sig ?? Data()
            }
        }
    }

    public struct InclusionProof: Sendable {
        public var logIndex: Int64
        public var rootHash: Data
        public var treeSize: Int64
        public var hashes: [Data]
        public var checkpoint: String?
    }

    public struct LogEntry: Sendable {
        public var logIndex: Int64
        public var logID: Data
        public var kind: String
        public var kindVersion: String
        public var integratedTime: Int64?
        public var signedEntryTimestamp: Data?
        public var inclusionProof: InclusionProof?
        public var body: Data
    }

    public var version: Version
    public var material: Material
    public var logEntries: [LogEntry]
    public var timestamps: [Data]
    public var content: Content
    /// The envelope's bytes as they were signed and logged, when the bundle was put together from
    /// them (a cosign `.att` layer's blob): an intoto 0.0.1 entry records their hash, not the signature.
    public var envelopeBytes: Data? = nil

    /// The media types of the versions this reader knows, each spelt exactly as the Sigstore
    /// protobuf specs and clients write it (`bundle+json;version=0.3` was written by clients before
    /// `bundle.v0.3+json`). Anything else is refused: `bundle.v0.3+json;version=0.1` was read as 0.1,
    /// which needs no inclusion proof, and `bundleEVIL+json;version=0.3` as 0.3 (found by helper-121).
    static let mediaTypes: [String: Version] = [
        "application/vnd.dev.sigstore.bundle+json;version=0.1": .v01,
        "application/vnd.dev.sigstore.bundle+json;version=0.2": .v02,
        "application/vnd.dev.sigstore.bundle+json;version=0.3": .v03,
        "application/vnd.dev.sigstore.bundle.v0.3+json": .v03,
    ]

    public static func isBundle(_ obj: [String: Any]) -> Bool {
        (obj["mediaType"] as? String)?.hasPrefix("application/vnd.dev.sigstore.bundle") == true
    }

    /// Transparency log entries, and RFC 3161 timestamps, one bundle may list (Sigstore writes one of each).
    public static let maxListed = 16

    public static func parse(_ obj: [String: Any]) throws(InputError) -> SigstoreBundle {
        let media = obj["mediaType"] as? String ?? ""
        guard let version = Self.mediaTypes[media] else {
            throw InputError("unknown bundle media type '\(Redactor.quote(media, max: 100))' (Provenant reads \(Self.mediaTypes.keys.sorted().joined(separator: ", ")))")
        }

        guard let vm = obj["verificationMaterial"] as? [String: Any] else { throw InputError("bundle has no verificationMaterial") }
        let material: Material
        // Protobuf `oneof` fields: one of each set, as sigstore-go insists. The first one found won, and
        // an unsigned DSSE statement beside a verified message signature went unread (found by helper-130).
        // Protobuf JSON also accepts the fields' proto names (`dsse_envelope`), which this reader does
        // not read but another may: they count too (found by helper-133).
        func present(_ o: [String: Any], _ names: [String]) -> [String] {
            names.filter { n in
                let proto = n.reduce(into: "") { s, c in if c.isUppercase { s += "_" + c.lowercased() } else { s.append(c) } }
                return [n, proto].contains { o[$0] != nil && !(o[$0] is NSNull) }
            }
        }
        let materials = present(vm, ["x509CertificateChain", "certificate", "publicKey"])
        guard materials.count <= 1 else { throw InputError("verificationMaterial holds \(materials.joined(separator: " and ")); a bundle has one of them") }
        let contents = present(obj, ["messageSignature", "dsseEnvelope"])
        guard contents.count <= 1 else { throw InputError("bundle holds both messageSignature and dsseEnvelope; a bundle has one of them") }
        if let chain = vm["x509CertificateChain"] as? [String: Any] {
            let raws = chain["certificates"] as? [[String: Any]] ?? []
            guard !raws.isEmpty else { throw InputError("bundle certificate chain is empty") }
            // A leaf, its intermediates and perhaps a root: 235,000 appended self-issued certificates,
            // each costing a signature check, took five minutes (found by helper-100).
            guard raws.count <= CosignAttestationLayer.maxChainCertificates else {
                throw InputError("the bundle's certificate chain has \(raws.count) certificates; more than \(CosignAttestationLayer.maxChainCertificates) are refused")
            }
            material = .certificates(try raws.enumerated().map { i, c throws(InputError) in try certificate(c, "x509CertificateChain.certificates[\(i)]") })
        } else if let c = vm["certificate"] as? [String: Any] {
            guard version == .v03 else { throw InputError("a single 'certificate' needs a v0.3 bundle") }
            material = .certificates([try certificate(c, "certificate")])
        } else if let pk = vm["publicKey"] as? [String: Any] {
            material = .publicKey(hint: pk["hint"] as? String ?? "")
        } else { throw InputError("verificationMaterial has no certificate, certificate chain or public key") }

        // Each entry and timestamp is verified: thousands of copies of one entry took seconds each run.
        let rawEntries = (vm["tlogEntries"] as? [[String: Any]]) ?? []
        let rawTimestamps = ((vm["timestampVerificationData"] as? [String: Any])?["rfc3161Timestamps"] as? [[String: Any]]) ?? []
        guard rawEntries.count <= maxListed, rawTimestamps.count <= maxListed else {
            throw InputError("the bundle has \(rawEntries.count) transparency log entries and \(rawTimestamps.count) timestamps; more than \(maxListed) of either are refused")
        }
        let entries = try rawEntries.enumerated().map { i, e throws(InputError) in try logEntry(e, i) }
        var timestamps: [Data] = []
        for (i, t) in rawTimestamps.enumerated() {
            guard let b = (t["signedTimestamp"] as? String).flatMap(strictBase64) else { throw InputError("rfc3161Timestamps[\(i)].signedTimestamp is missing or not valid base64") }
            timestamps.append(b)
        }

        let content: Content
        if let ms = obj["messageSignature"] as? [String: Any] {
            guard let sig = (ms["signature"] as? String).flatMap(strictBase64), !sig.isEmpty else { throw InputError("messageSignature.signature is missing or not valid base64") }
            let md = ms["messageDigest"] as? [String: Any]
            var digest: Data?
            if let d = md?["digest"] as? String {
                guard let b = strictBase64(d) else { throw InputError("messageSignature.messageDigest.digest is not valid base64") }
                digest = b
            }
            content = .messageSignature(digestAlgorithm: md?["algorithm"] as? String, digest: digest, signature: sig)
        } else if let env = obj["dsseEnvelope"] as? [String: Any] {
            let e = try DSSEEnvelope.parse(env)
            guard e.signatures.count == 1 else { throw InputError("a bundle's DSSE envelope must carry exactly one signature, not \(e.signatures.count)") }
            content = .dsse(e)
        } else { throw InputError("bundle has neither messageSignature nor dsseEnvelope") }
        return SigstoreBundle(version: version, material: material, logEntries: entries, timestamps: timestamps, content: content)
    }

    /// A v0.3 bundle of a DSSE envelope signed with a managed key: the key named by `hint` (its id), no
    /// transparency-log entry and no timestamp, as Provenant signs offline. Its verifier needs the key.
    public static func keySignedJSON(_ envelope: DSSEEnvelope, hint: String) -> [UInt8] {
        let obj: [String: Any] = [
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": ["publicKey": ["hint": hint]],
            "dsseEnvelope": [
                "payload": envelope.payload.base64EncodedString(), "payloadType": envelope.payloadType,
                "signatures": envelope.signatures.map { ["keyid": $0.keyid, "sig": $0.sig.base64EncodedString()] },
            ],
        ]
        return Array((try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data())
    }

    /// Whether the bundle is signed with a managed key and carries no log entry and no timestamp: one
    /// that only a key can vouch for, with no verified time (see `keySignedJSON`).
    public var isKeySignedOffline: Bool {
        if case .publicKey = material, logEntries.isEmpty, timestamps.isEmpty { return true }
        return false
    }

    static func certificate(_ c: [String: Any], _ field: String) throws(InputError) -> Certificate {
        guard let raw = (c["rawBytes"] as? String).flatMap(strictBase64) else { throw InputError("\(field).rawBytes is missing or not valid base64") }
        do { return try Certificate(derEncoded: Array(raw)) } catch { throw InputError("\(field) does not parse as an X.509 certificate: \(error)") }
    }

    static func int64(_ v: Any?, _ field: String) throws(InputError) -> Int64 {
        // Protobuf JSON writes int64 as a string; accept a number too.
        if let s = v as? String, let n = Int64(s) { guard n >= 0 else { throw InputError("\(field) is negative (\(n))") }; return n }
        if let n = v as? NSNumber, let i = Int64(exactly: n.doubleValue) { guard i >= 0 else { throw InputError("\(field) is negative (\(i))") }; return i }
        throw InputError("\(field) is missing or not an integer")
    }

    static func logEntry(_ e: [String: Any], _ i: Int) throws(InputError) -> LogEntry {
        let f = "tlogEntries[\(i)]"
        let kv = e["kindVersion"] as? [String: Any]
        guard let kind = kv?["kind"] as? String, let kver = kv?["version"] as? String else { throw InputError("\(f).kindVersion is missing") }
        guard let logID = ((e["logId"] as? [String: Any])?["keyId"] as? String).flatMap(strictBase64) else { throw InputError("\(f).logId.keyId is missing or not valid base64") }
        guard let body = (e["canonicalizedBody"] as? String).flatMap(strictBase64) else { throw InputError("\(f).canonicalizedBody is missing or not valid base64") }
        var integrated: Int64?
        if let t = e["integratedTime"], (t as? String) != "0" { integrated = try int64(t, "\(f).integratedTime"); if integrated == 0 { integrated = nil } }
        var set: Data?
        if let p = e["inclusionPromise"] as? [String: Any] {
            guard let s = (p["signedEntryTimestamp"] as? String).flatMap(strictBase64) else { throw InputError("\(f).inclusionPromise.signedEntryTimestamp is not valid base64") }
            set = s
        }
        var proof: InclusionProof?
        if let p = e["inclusionProof"] as? [String: Any] {
            guard let root = (p["rootHash"] as? String).flatMap(strictBase64) else { throw InputError("\(f).inclusionProof.rootHash is missing or not valid base64") }
            var hashes: [Data] = []
            for (j, h) in ((p["hashes"] as? [String]) ?? []).enumerated() {
                guard let b = strictBase64(h) else { throw InputError("\(f).inclusionProof.hashes[\(j)] is not valid base64") }
                hashes.append(b)
            }
            proof = InclusionProof(logIndex: try int64(p["logIndex"], "\(f).inclusionProof.logIndex"), rootHash: root,
                                   treeSize: try int64(p["treeSize"], "\(f).inclusionProof.treeSize"), hashes: hashes,
                                   checkpoint: (p["checkpoint"] as? [String: Any])?["envelope"] as? String)
        }
        return LogEntry(logIndex: try int64(e["logIndex"], "\(f).logIndex"), logID: logID, kind: kind, kindVersion: kver,
                        integratedTime: integrated, signedEntryTimestamp: set, inclusionProof: proof, body: body)
    }

    /// Standard base64 only, as protobuf JSON writes bytes; anything else is refused rather than guessed at.
    static func strictBase64(_ s: String) -> Data? {
        let s = s.contains(where: \.isWhitespace) ? s.filter { !$0.isWhitespace } : s
        return Data(base64Encoded: s) ?? Data(base64Encoded: s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/").padded)
    }
}

private extension String {
    var padded: String { let r = utf8.count % 4; return r == 0 ? self : self + String(repeating: "=", count: 4 - r) }
}
