@preconcurrency import Crypto
import Foundation
import ProvenantCore
import SwiftASN1
import X509

/// What the user holds: the artifact's bytes, or only its digests (enough for an attestation's subject).
public enum ArtifactInput: Sendable {
    case bytes(Data)
    case digests([String: String])
    /// A file hashed as it streams: a multi-gigabyte artifact is never held whole (it was: found by
    /// helper-130). Its bytes are read again only for a message signature no digest can check.
    case file(ArtifactFile)

    public var digests: [String: String] {
        switch self {
        case .bytes(let d): return ["sha256": Hex.encode(SHA256.hash(data: d)), "sha512": Hex.encode(SHA512.hash(data: d))]
        case .digests(let m): return m
        case .file(let f): return ["sha256": Hex.encode(f.sha256), "sha512": Hex.encode(f.sha512)]
        }
    }
}

/// A file's SHA-256, SHA-384 and SHA-512, computed in one streaming pass.
public struct ArtifactFile: Sendable {
    public let path: String
    public let sha256: SHA256Digest
    public let sha384: SHA384Digest
    public let sha512: SHA512Digest
    /// Whether the artifact was a regular file when digested: only such a file can be read again
    /// for a signature over its bytes (a pipe is drained, a device gives other bytes).
    public let isRegularFile: Bool
    /// The largest artifact read whole, for an Ed25519 signature over its bytes.
    public static let maxSignedBytes = 4 << 30

    public init(path: String) throws(InputError) {
        guard let h = FileHandle(forReadingAtPath: path) else { throw InputError("cannot read file", at: Location(path)) }
        defer { try? h.close() }
        var st = stat()
        isRegularFile = fstat(h.fileDescriptor, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
        var a = SHA256(), b = SHA384(), c = SHA512()
        while true {
            let chunk: Data
            do { chunk = try h.read(upToCount: 1 << 20) ?? Data() } catch { throw InputError("cannot read file: \(error.localizedDescription)", at: Location(path)) }
            if chunk.isEmpty { break }
            a.update(data: chunk); b.update(data: chunk); c.update(data: chunk)
        }
        self.path = path
        sha256 = a.finalize(); sha384 = b.finalize(); sha512 = c.finalize()
    }
}

/// Everything a bundle check may read, and what earlier checks established.
public struct BundleContext: Sendable {
    public var bundle: SigstoreBundle
    public var root: TrustedRoot
    public var artifact: ArtifactInput
    /// A managed key given by the user; keyless bundles leave it nil.
    public var key: Certificate.PublicKey?
    /// Times vouched for by a verified SET or timestamp authority.
    public var verifiedTimes: [(source: String, time: Date)] = []
    /// Rekor v2 entries carry no integrated time, so their log key is checked at each timestamp.
    public var logKeysToCheckAtTimestamps: [LogKey] = []
    public var envelope: VerificationSubject?

    public var leaf: Certificate? { if case .certificates(let c) = bundle.material { return c.first }; return nil }
    /// The signing certificate, or a failure of `check`, which needs one.
    func leaf(for check: String) throws(VerificationFailure) -> Certificate {
        guard let leaf else { throw VerificationFailure(check: check, reason: "the bundle has no signing certificate to check") }
        return leaf
    }

    /// The key the content signature and log entries must use.
    public var signerKey: Certificate.PublicKey? { leaf?.publicKey ?? key }
}

/// One bundle check that can say "no, because…", like `VerificationPolicy` for bare envelopes.
public protocol BundlePolicy: Sendable {
    var name: String { get }
    func check(_ c: inout BundleContext) throws(VerificationFailure) -> String
}

public struct BundleVerifier: Sendable {
    public var policies: [any BundlePolicy]
    public var notRequested: [String]
    public init(policies: [any BundlePolicy], notRequested: [String]) { self.policies = policies; self.notRequested = notRequested }

    /// The standard checks for a bundle, in order; identity and statement policies are appended by the caller.
    public static func standardChecks(for bundle: SigstoreBundle) -> [any BundlePolicy] {
        var out: [any BundlePolicy] = [TransparencyLogEntries()]
        if !bundle.timestamps.isEmpty { out.append(SignedTimestamps()) }
        out.append(VerifiedTimes())
        if case .certificates = bundle.material { out += [FulcioChain(), CertificateTransparency()] }
        out.append(ContentSignature())
        return out
    }

    public func verify(_ context: BundleContext) -> VerificationReport {
        var c = context
        var passed: [(String, String)] = []
        for p in policies {
            do { passed.append((p.name, try p.check(&c))) } catch {
                return VerificationReport(passed: passed, notRequested: notRequested, failure: error)
            }
        }
        return VerificationReport(passed: passed, notRequested: notRequested, failure: nil)
    }
}

private func fail(_ check: String, _ why: String) -> VerificationFailure { VerificationFailure(check: check, reason: why) }

/// Certificate or public key named in a log entry body, as PEM text in base64 (Rekor v1) or raw DER (v2).
private enum LoggedVerifier {
    case certificate(Certificate), key(Certificate.PublicKey)

    static func fromPEMBase64(_ s: String?) -> LoggedVerifier? {
        guard let s, let pemData = Data(base64Encoded: s), let pem = String(data: pemData, encoding: .utf8) else { return nil }
        // Rekor's PEM may hold its base64 on one line, which strict PEM readers refuse.
        if let der = PEM.decode(pem, label: "CERTIFICATE"), let c = try? Certificate(derEncoded: Array(der)) { return .certificate(c) }
        if let der = PEM.decode(pem, label: "PUBLIC KEY"), let k = try? Certificate.PublicKey(derEncoded: Array(der)) { return .key(k) }
        return nil
    }

    static func fromV2(_ v: [String: Any]?) -> LoggedVerifier? {
        if let raw = ((v?["x509Certificate"] as? [String: Any])?["rawBytes"] as? String).flatMap({ Data(base64Encoded: $0) }),
           let c = try? Certificate(derEncoded: Array(raw)) { return .certificate(c) }
        if let raw = ((v?["publicKey"] as? [String: Any])?["rawBytes"] as? String).flatMap({ Data(base64Encoded: $0) }),
           let k = try? Certificate.PublicKey(derEncoded: Array(raw)) { return .key(k) }
        return nil
    }

    func matches(_ c: BundleContext) -> Bool {
        switch self {
        case .certificate(let cert): return c.leaf == cert
        case .key(let k): return c.leaf == nil && c.key == k
        }
    }
}

/// Each log entry: a trusted log, a body that matches this bundle, an inclusion proof under a signed checkpoint, and the SET.
public struct TransparencyLogEntries: BundlePolicy {
    public var name: String { "transparency log" }
    public init() {}

    public func check(_ c: inout BundleContext) throws(VerificationFailure) -> String {
        guard !c.bundle.logEntries.isEmpty else { throw fail(name, "the bundle has no transparency log entry") }
        var notes: [String] = []
        for (i, e) in c.bundle.logEntries.enumerated() {
            let at = "entry \(i + 1) (log index \(e.logIndex))"
            guard let log = c.root.tlogs.first(where: { $0.logID == e.logID }) else {
                throw fail(name, "\(at): log id \(e.logID.base64EncodedString()) is not a transparency log in the trusted root")
            }
            let v2 = Self.isRekorV2(kind: e.kind, version: e.kindVersion)
            try checkBody(e, c, at: at)
            // Rekor v2 has no SET to bind the entry's index: it must be the index the proof is for.
            if v2, let p = e.inclusionProof, p.logIndex != e.logIndex {
                throw fail(name, "\(at): the entry's log index \(e.logIndex) is not the inclusion proof's \(p.logIndex)")
            }

            // Inclusion: required from v0.2 on, and always for Rekor v2, which has no SET.
            var checkpointVerified = false
            if let p = e.inclusionProof {
                guard let root = Merkle.root(leaf: Merkle.leafHash(e.body), index: p.logIndex, size: p.treeSize, proof: p.hashes) else {
                    throw fail(name, "\(at): inclusion proof has the wrong shape for index \(p.logIndex) in a tree of \(p.treeSize)")
                }
                guard root == p.rootHash else {
                    throw fail(name, "\(at): inclusion proof gives root \(Hex.encode(root).prefix(16))…, the entry says \(Hex.encode(p.rootHash).prefix(16))…")
                }
                if let text = p.checkpoint {
                    let cp: Checkpoint
                    do { cp = try Checkpoint.parse(text) } catch { throw fail(name, "\(at): malformed checkpoint: \(error)") }
                    guard cp.signed(by: log) else {
                        throw fail(name, "\(at): no checkpoint signature from '\(cp.signerName)' verifies with the log key \(log.logID.prefix(4).base64EncodedString())")
                    }
                    guard cp.rootHash == p.rootHash, cp.size == p.treeSize else {
                        throw fail(name, "\(at): checkpoint (size \(cp.size), root \(Hex.encode(cp.rootHash).prefix(16))…) is not the tree the proof is for (size \(p.treeSize), root \(Hex.encode(p.rootHash).prefix(16))…)")
                    }
                    checkpointVerified = true
                } else if c.bundle.version != .v01 || v2 {
                    throw fail(name, "\(at): inclusion proof has no checkpoint")
                }
            } else if c.bundle.version != .v01 || v2 {
                throw fail(name, "\(at): no inclusion proof (required for bundle v0.2 and later, and for Rekor v2)")
            }

            if v2 {
                c.logKeysToCheckAtTimestamps.append(log)
            } else if let set = e.signedEntryTimestamp {
                guard let t = e.integratedTime else { throw fail(name, "\(at): a SET without an integrated time") }
                let payload = #"{"body":"\#(e.body.base64EncodedString())","integratedTime":\#(t),"logID":"\#(Hex.encode(e.logID))","logIndex":\#(e.logIndex)}"#
                guard log.key.verifies(set, over: Data(payload.utf8)) else { throw fail(name, "\(at): the signed entry timestamp does not verify with the log key") }
                let time = Date(timeIntervalSince1970: TimeInterval(t))
                guard log.validFor.contains(time) else { throw fail(name, "\(at): integrated time \(RFC3339.string(from: time)) is outside the log key's validity \(describe(log.validFor))") }
                c.verifiedTimes.append(("integrated time (SET)", time))
            } else if !checkpointVerified {
                // A proof up to a root hash the bundle itself gives proves nothing: only the log's
                // signature, on a SET or on a checkpoint, says the log holds the entry.
                throw fail(name, "\(at): neither a signed entry timestamp nor an inclusion proof under a signed checkpoint")
            } else {
                // Without a SET the integrated time is unsigned: the log key is checked at the timestamps instead.
                c.logKeysToCheckAtTimestamps.append(log)
            }
            notes.append("\(log.baseURL) index \(e.logIndex) (\(e.kind) \(e.kindVersion)\(checkpointVerified ? ", inclusion proof and checkpoint" : e.inclusionProof != nil ? ", inclusion proof without checkpoint" : "")\(e.signedEntryTimestamp != nil && !v2 ? ", SET" : ""))")
        }
        return notes.joined(separator: "; ")
    }

    static func isRekorV2(kind: String, version: String) -> Bool {
        (kind == "hashedrekord" || kind == "dsse") && version == "0.0.2"
    }

    /// The logged body must describe this bundle's signature, signer and content.
    func checkBody(_ e: SigstoreBundle.LogEntry, _ c: BundleContext, at: String) throws(VerificationFailure) {
        guard let body = (try? JSONSerialization.jsonObject(with: e.body)) as? [String: Any],
              let spec = body["spec"] as? [String: Any] else { throw fail(name, "\(at): the logged body is not a JSON entry") }
        guard body["kind"] as? String == e.kind, body["apiVersion"] as? String == e.kindVersion else {
            throw fail(name, "\(at): the body is \(body["kind"] ?? "?") \(body["apiVersion"] ?? "?"), the entry says \(e.kind) \(e.kindVersion)")
        }
        // Each kind names the signature, the signer and a digest in its own fields; the comparisons are the same.
        func bytes(_ v: Any?) -> Data? { (v as? String).flatMap { Data(base64Encoded: $0) } }
        func object(_ v: Any?, _ path: String...) -> [String: Any]? { path.reduce(v as? [String: Any]) { $0?[$1] as? [String: Any] } }
        let payloadHash: (Data) -> String = { Hex.encode(SHA256.hash(data: $0)) }
        let logged: (signature: Data?, signer: LoggedVerifier?, digest: String, digestMatches: Bool)
        switch (e.kind, e.kindVersion, c.bundle.content) {
        case ("hashedrekord", "0.0.1", _):
            let s = object(spec, "signature")
            let hex = (object(spec, "data", "hash")?["value"] as? String)?.lowercased()
            logged = (bytes(s?["content"]), .fromPEMBase64(object(s, "publicKey")?["content"] as? String),
                      hex == nil ? "the logged hash" : "the artifact digest", hex != nil && hex == contentDigestHex(c))
        case ("hashedrekord", "0.0.2", _):
            let s = object(spec, "hashedRekordV002", "signature")
            let digest = bytes(object(spec, "hashedRekordV002", "data")?["digest"]).map(Hex.encode)
            logged = (bytes(s?["content"]), .fromV2(object(s, "verifier")), "the artifact digest", digest != nil && digest == contentDigestHex(c))
        case ("dsse", "0.0.1", .dsse(let env)):
            let sigs = (spec["signatures"] as? [[String: Any]]) ?? []
            logged = (sigs.count == 1 ? bytes(sigs[0]["signature"]) : nil, .fromPEMBase64(sigs.first?["verifier"] as? String),
                      "the payload hash", object(spec, "payloadHash")?["value"] as? String == payloadHash(env.payload))
        case ("dsse", "0.0.2", .dsse(let env)):
            let sigs = (object(spec, "dsseV002")?["signatures"] as? [[String: Any]]) ?? []
            logged = (sigs.count == 1 ? bytes(sigs[0]["content"]) : nil, .fromV2(object(sigs.first, "verifier")),
                      "the payload hash", bytes(object(spec, "dsseV002", "payloadHash")?["digest"]).map(Hex.encode) == payloadHash(env.payload))
        case ("intoto", "0.0.1", .dsse(let env)):
            // Cosign before 2.0 logged attestations so: the hash of the envelope's bytes, the payload's
            // hash (absent in the oldest entries) and the signer, but no signature. The hash binds the
            // signature, so the envelope must be the very bytes logged, and the one verified.
            guard let raw = c.bundle.envelopeBytes else {
                throw fail(name, "\(at): an intoto 0.0.1 entry records the hash of the envelope's own bytes, and this bundle carries the envelope parsed, not as logged")
            }
            let fromRaw = (try? JSONSerialization.jsonObject(with: raw)).flatMap { $0 as? [String: Any] }.flatMap { try? DSSEEnvelope.parse($0) }
            guard fromRaw == env else { throw fail(name, "\(at): the bundle's envelope is not the one its bytes hold") }
            func sha256(_ o: [String: Any]?) -> String? {
                o?["algorithm"] as? String == "sha256" ? (o?["value"] as? String)?.lowercased() : nil
            }
            // What holds the entry to this layer: the envelope hash over the very bytes verified, the
            // logged certificate being the leaf, and the DSSE signature check against the leaf after
            // this. The parse comparison above and the signature comparison below only keep the bundle
            // consistent for any other caller. A payload hash is absent only when its key is: anything
            // else there (null, a string) is read as a hash that does not match.
            let content = object(spec, "content")
            let envelopeMatches = sha256(object(content, "hash")).map { $0 == Hex.encode(SHA256.hash(data: raw)) } ?? false
            let payloadMatches = content?["payloadHash"] == nil || sha256(content?["payloadHash"] as? [String: Any]) == payloadHash(env.payload)
            logged = (envelopeMatches ? env.signatures.first?.sig : nil, .fromPEMBase64(spec["publicKey"] as? String),
                      envelopeMatches ? "the payload hash" : "the envelope hash", envelopeMatches && payloadMatches)
        case ("intoto", "0.0.2", .dsse(let env)):
            let sigs = (object(spec, "content", "envelope")?["signatures"] as? [[String: Any]]) ?? []
            // intoto v0.0.2 stores the signature base64-encoded twice.
            let sig = bytes(sigs.first?["sig"]).flatMap { String(data: $0, encoding: .utf8) }.flatMap { Data(base64Encoded: $0) }
            logged = (sigs.count == 1 ? sig : nil, .fromPEMBase64(sigs.first?["publicKey"] as? String),
                      "the payload hash", object(spec, "content", "payloadHash")?["value"] as? String == payloadHash(env.payload))
        default:
            throw fail(name, "\(at): entry kind \(e.kind) \(e.kindVersion) does not fit a \(c.bundle.content.kindName) bundle")
        }
        func mismatch(_ what: String) -> VerificationFailure { fail(name, "\(at): the log entry does not match the bundle: \(what) differs") }
        // Envelope kinds are compared by payload first: a different statement is the clearer reason.
        let envelope = e.kind != "hashedrekord"
        if envelope, !logged.digestMatches { throw mismatch(logged.digest) }
        guard logged.signature == c.bundle.content.signature else { throw mismatch(envelope ? "the envelope signature" : "the signature") }
        guard logged.signer?.matches(c) == true else { throw mismatch("the certificate or key") }
        guard logged.digestMatches else { throw mismatch(logged.digest) }
    }

    /// The digest a hashedrekord entry records: of the artifact, or of the DSSE PAE.
    func contentDigestHex(_ c: BundleContext) -> String? {
        switch c.bundle.content {
        case .dsse(let env): return Hex.encode(SHA256.hash(data: DSSEEnvelope.pae(env.payloadType, env.payload)))
        case .messageSignature: return c.artifact.digests["sha256"]
        }
    }
}

extension SigstoreBundle.Content {
    var kindName: String { if case .dsse = self { return "DSSE" }; return "message-signature" }
}

/// RFC 3161 timestamps over the signature, each from a timestamp authority in the trusted root.
public struct SignedTimestamps: BundlePolicy {
    public var name: String { "timestamps" }
    public init() {}
    public func check(_ c: inout BundleContext) throws(VerificationFailure) -> String {
        var out: [String] = []
        for t in c.bundle.timestamps {
            let ts = try RFC3161Timestamp.verify(t, signature: c.bundle.content.signature, root: c.root)
            c.verifiedTimes.append(("RFC 3161 timestamp from \(ts.authority)", ts.time))
            out.append("\(RFC3339.string(from: ts.time)) from \(ts.authority)")
        }
        return out.joined(separator: "; ")
    }
}

/// At least one verified time, the log keys valid then, and the signing certificate valid at every one.
public struct VerifiedTimes: BundlePolicy {
    public var name: String { "verified time" }
    public init() {}
    public func check(_ c: inout BundleContext) throws(VerificationFailure) -> String {
        guard !c.verifiedTimes.isEmpty else { throw fail(name, "no verified time: the bundle has neither a signed entry timestamp nor a trusted RFC 3161 timestamp") }
        if !c.logKeysToCheckAtTimestamps.isEmpty {
            let tsaTimes = c.verifiedTimes.filter { $0.source.hasPrefix("RFC 3161") }
            guard !tsaTimes.isEmpty else { throw fail(name, "a Rekor entry without a signed integrated time needs an RFC 3161 timestamp, and the bundle has none") }
            for log in c.logKeysToCheckAtTimestamps {
                for t in tsaTimes where !log.validFor.contains(t.time) {
                    throw fail(name, "\(t.source) \(RFC3339.string(from: t.time)) is outside the log key's validity \(describe(log.validFor))")
                }
            }
        }
        if let leaf = c.leaf {
            for t in c.verifiedTimes where !(leaf.notValidBefore <= t.time && t.time <= leaf.notValidAfter) {
                throw fail(name, "\(t.source) \(RFC3339.string(from: t.time)) is outside the signing certificate's validity \(RFC3339.string(from: leaf.notValidBefore)) to \(RFC3339.string(from: leaf.notValidAfter))")
            }
        }
        return c.verifiedTimes.map { "\($0.source) \(RFC3339.string(from: $0.time))" }.joined(separator: "; ")
    }
}

/// The signing certificate chains to a Fulcio CA of the trusted root that was valid at every verified time.
public struct FulcioChain: BundlePolicy {
    public var name: String { "certificate chain" }
    public init() {}
    public func check(_ c: inout BundleContext) throws(VerificationFailure) -> String {
        guard case .certificates(let given) = c.bundle.material, let leaf = given.first else { throw fail(name, "the bundle has no signing certificate") }
        // Roots come from the trusted root only; a bundle that ships one is refused.
        if let r = given.first(where: { $0.subject == $0.issuer && $0.publicKey.isValidSignature($0.signature, for: $0) }) {
            throw fail(name, "the bundle's certificate chain includes the self-signed root '\(r.subject)'")
        }
        if (try? leaf.extensions.basicConstraints).map({ if case .isCertificateAuthority = $0 { return true }; return false }) == true {
            throw fail(name, "the signing certificate is a CA certificate")
        }
        guard let eku = try? leaf.extensions.extendedKeyUsage, eku.contains(.codeSigning) else {
            throw fail(name, "the signing certificate lacks the codeSigning extended key usage")
        }
        var reasons: [String] = []
        for ca in c.root.certificateAuthorities {
            guard let issuer = ca.chain.first, issuer.subject == leaf.issuer, issuer.publicKey.isValidSignature(leaf.signature, for: leaf) else { continue }
            var ok = true
            for t in c.verifiedTimes {
                if !ca.validFor.contains(t.time) { reasons.append("\(ca.uri) is trusted \(describe(ca.validFor)), not at \(RFC3339.string(from: t.time))"); ok = false; break }
                if let why = CertificateChain.problem([leaf] + ca.chain, at: t.time) { reasons.append(why); ok = false; break }
            }
            if ok { return "issued by '\(issuer.subject)' (\(ca.uri)), valid at every verified time" }
        }
        throw fail(name, reasons.first ?? "the signing certificate (issuer '\(leaf.issuer)') does not chain to a certificate authority in the trusted root")
    }
}

/// At least one embedded SCT verifies against a CT log key of the trusted root.
public struct CertificateTransparency: BundlePolicy {
    public var name: String { "certificate transparency" }
    public init() {}
    public func check(_ c: inout BundleContext) throws(VerificationFailure) -> String {
        let leaf = try c.leaf(for: name)
        let scts: [EmbeddedSCT.SCT]
        let tbs: [UInt8]
        do { scts = try EmbeddedSCT.list(in: leaf); tbs = try EmbeddedSCT.precertTBS(leaf) } catch { throw fail(name, "malformed SCT extension: \(error.what)") }
        guard !scts.isEmpty else { throw fail(name, "the signing certificate carries no SCT") }
        // The issuer key hash is over the CA that issued the leaf, found by its signature.
        guard let issuer = c.root.certificateAuthorities.compactMap(\.chain.first).first(where: { $0.publicKey.isValidSignature(leaf.signature, for: leaf) }) else {
            throw fail(name, "the leaf's issuer is not in the trusted root, so its SCT cannot be checked")
        }
        guard let issuerKeyHash = issuer.publicKey.spkiSHA256 else { throw fail(name, "cannot encode the issuer's public key") }
        var reasons: [String] = []
        for sct in scts {
            guard let log = c.root.ctlogs.first(where: { $0.logID == sct.logID }) else {
                reasons.append("SCT from log \(sct.logID.base64EncodedString()) which is not a CT log in the trusted root"); continue
            }
            let when = Date(timeIntervalSince1970: TimeInterval(sct.timestamp) / 1000)
            guard log.validFor.contains(when) else { reasons.append("SCT time \(RFC3339.string(from: when)) is outside \(log.baseURL)'s validity"); continue }
            if log.key.verifies(sct.signature, over: EmbeddedSCT.signedData(sct, issuerKeyHash: issuerKeyHash, tbs: tbs)) {
                return "SCT from \(log.baseURL) at \(RFC3339.string(from: when))"
            }
            reasons.append("SCT from \(log.baseURL) does not verify with its key")
        }
        throw fail(name, reasons.joined(separator: "; "))
    }
}

/// The bundle's signature verifies over the artifact, or over the DSSE pre-authentication encoding.
public struct ContentSignature: BundlePolicy {
    public var name: String { "signature" }
    public init() {}
    public func check(_ c: inout BundleContext) throws(VerificationFailure) -> String {
        guard let key = c.signerKey else { throw fail(name, "the bundle is signed with a managed key; pass it with --key") }
        if c.leaf != nil, let k = c.key, k != key { throw fail(name, "the signing certificate's key is not the --key given") }
        switch c.bundle.content {
        case .messageSignature(let alg, let digest, let sig):
            let file: ArtifactFile?, data: Data?
            switch c.artifact {
            case .bytes(let d): file = nil; data = d
            case .file(let f): file = f; data = nil
            case .digests: throw fail(name, "a message signature covers the artifact's bytes: pass --artifact, not --digest")
            }
            // The digest is a hint, not signed; still, one that names another artifact is refused.
            if let digest {
                let actual: Data
                switch alg ?? "SHA2_256" {
                case "SHA2_256": actual = file.map { Data($0.sha256) } ?? Data(SHA256.hash(data: data!))
                case "SHA2_384": actual = file.map { Data($0.sha384) } ?? Data(SHA384.hash(data: data!))
                case "SHA2_512": actual = file.map { Data($0.sha512) } ?? Data(SHA512.hash(data: data!))
                default: throw fail(name, "unsupported messageDigest algorithm '\(alg ?? "")'")
                }
                guard digest == actual else { throw fail(name, "the bundle's message digest \(Hex.encode(digest).prefix(16))… is not the artifact's \(Hex.encode(actual).prefix(16))…") }
            }
            let verified: Bool
            if let file {
                // ECDSA and RSA sign a digest, which the stream gave; Ed25519 is checked over the bytes.
                if let byDigest = key.verifies(sig, overDigestsOf: file) {
                    verified = byDigest
                } else {
                    guard file.isRegularFile else { throw fail(name, "an Ed25519 signature is checked over the artifact's bytes, read a second time, and the artifact is not a regular file; give it as one") }
                    let bytes: [UInt8]
                    do { bytes = try NamedInputFile.read(file.path, limit: ArtifactFile.maxSignedBytes, what: "the artifact again", regularOnly: true) } catch {
                        throw fail(name, error.description)
                    }
                    // The bytes signed must be the bytes digested: a file replaced (or a pipe drained)
                    // between the two reads is not verified.
                    guard Data(SHA256.hash(data: bytes)) == Data(file.sha256) else {
                        throw fail(name, "the artifact changed between the digest and the signature check; nothing is verified")
                    }
                    verified = key.verifies(sig, over: bytes)
                }
            } else {
                verified = key.verifies(sig, over: data!)
            }
            guard verified else { throw fail(name, "the signature does not verify over the artifact with the \(c.leaf != nil ? "certificate's" : "given") key") }
            return "message signature over the artifact (sha256 \(c.artifact.digests["sha256"]?.prefix(16) ?? "")…)"
        case .dsse(let env):
            let pae = DSSEEnvelope.pae(env.payloadType, env.payload)
            guard env.signatures.contains(where: { key.verifies($0.sig, over: pae) || key.verifies(RawECDSA.der(fromRaw: $0.sig) ?? Data(), over: pae) }) else {
                throw fail(name, "the DSSE signature does not verify with the \(c.leaf != nil ? "certificate's" : "given") key")
            }
            c.envelope = VerificationSubject(envelope: env, statement: nil)
            return "DSSE signature over the pre-authentication encoding"
        }
    }
}

/// ECDSA signatures as raw r‖s, re-encoded to DER for verification.
enum RawECDSA {
    static func der(fromRaw raw: Data) -> Data? {
        guard raw.count == 64 || raw.count == 96 || raw.count == 132 else { return nil }
        func integer(_ b: Data) -> [UInt8] {
            var v = Array(b.drop(while: { $0 == 0 }))
            if v.isEmpty { v = [0] }
            if v[0] & 0x80 != 0 { v.insert(0, at: 0) }
            return DERNode.tlv(0x02, v)
        }
        let half = raw.count / 2
        return Data(DERNode.tlv(0x30, integer(raw.prefix(half)) + integer(raw.suffix(half))))
    }
}

/// Subject alternative names and Fulcio's OIDC issuer, read from the signing certificate.
public enum FulcioIdentity {
    public static func sans(_ cert: Certificate) -> [String] {
        guard let sans = try? cert.extensions.subjectAlternativeNames else { return [] }
        return sans.compactMap { n in
            switch n {
            case .uniformResourceIdentifier(let s), .rfc822Name(let s), .dnsName(let s): return s
            case .otherName(let o):
                // Fulcio's username SAN (1.3.6.1.4.1.57264.1.7) is a UTF8String.
                guard let v = o.value, let str = try? ASN1UTF8String(asn1Any: v) else { return nil }
                return String(str)
            default: return nil
            }
        }
    }

    /// Extension 1.3.6.1.4.1.57264.1.8 (a DER UTF8String), else the older 1.1 (raw bytes).
    public static func issuer(_ cert: Certificate) -> String? {
        if let e = cert.extensions.first(where: { $0.oid.description == "1.3.6.1.4.1.57264.1.8" }) {
            guard let node = try? DER.parse(Array(e.value)), case .primitive(let b) = node.content else { return nil }
            return String(decoding: b, as: UTF8.self)
        }
        if let e = cert.extensions.first(where: { $0.oid.description == "1.3.6.1.4.1.57264.1.1" }) { return String(decoding: e.value, as: UTF8.self) }
        return nil
    }
}

/// The certificate's SAN equals the expected identity, or matches a regular expression (unanchored, as cosign does).
public struct IdentityIs: BundlePolicy {
    public enum Match: Sendable { case exact(String), regex(String) }
    public let match: Match
    public var name: String { "identity" }
    public init(_ match: Match) { self.match = match }
    public func check(_ c: inout BundleContext) throws(VerificationFailure) -> String {
        let sans = FulcioIdentity.sans(try c.leaf(for: name))
        let said = sans.map { Redactor.quote($0, max: 200) }.joined(separator: ", ")
        switch match {
        case .exact(let want):
            if sans.contains(where: { $0.utf8.elementsEqual(want.utf8) }) { return want }
            throw fail(name, "expected \(want), got \(sans.isEmpty ? "no SAN" : said)")
        case .regex(let pattern):
            guard let re = try? NSRegularExpression(pattern: pattern) else { throw fail(name, "invalid regular expression '\(pattern)'") }
            // ICU's `$` also matches before a final line break, where Go's (cosign's) does not: an
            // identity holding a line break or other control character never matches a pattern.
            let matchable = sans.filter { !$0.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0x2028 || $0.value == 0x2029 } }
            if let hit = matchable.first(where: { re.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) != nil }) { return "\(hit) matches /\(pattern)/" }
            throw fail(name, "no SAN matches /\(pattern)/ (got \(sans.isEmpty ? "none" : said))")
        }
    }
}

public struct IssuerIs: BundlePolicy {
    public let expected: String
    public var name: String { "OIDC issuer" }
    public init(_ expected: String) { self.expected = expected }
    public func check(_ c: inout BundleContext) throws(VerificationFailure) -> String {
        let got = FulcioIdentity.issuer(try c.leaf(for: name))
        guard let got, got.utf8.elementsEqual(expected.utf8) else { throw fail(name, "expected \(expected), got \(got ?? "no issuer extension")") }
        return expected
    }
}

/// Runs an envelope policy (statement, subject, predicate, SLSA) on a bundle's verified DSSE envelope.
public struct EnvelopeCheck: BundlePolicy {
    public let inner: any VerificationPolicy
    public var name: String { inner.name }
    public init(_ inner: any VerificationPolicy) { self.inner = inner }
    public func check(_ c: inout BundleContext) throws(VerificationFailure) -> String {
        guard var s = c.envelope else { throw fail(name, "the bundle holds no verified DSSE envelope") }
        let out = try inner.check(&s)
        c.envelope = s
        return out
    }
}
