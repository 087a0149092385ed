@preconcurrency import Crypto
import Foundation
import ProvenantCore

/// A DSSE envelope (https://github.com/secure-systems-lab/dsse).
public struct DSSEEnvelope: Sendable, Equatable {
    public struct Signature: Sendable, Equatable { public var keyid: String; public var sig: Data }
    public var payloadType: String
    public var payload: Data
    public var signatures: [Signature]

    public static let inTotoType = "application/vnd.in-toto+json"
    /// Payloads above this are refused before decoding.
    public static let maxPayload = 64 << 20
    /// Signatures one envelope may carry (cosign writes one; DSSE's threshold uses are a handful).
    public static let maxSignatures = 16

    /// Pre-authentication encoding: what is actually signed.
    public static func pae(_ type: String, _ body: Data) -> Data {
        var d = Data("DSSEv1 \(type.utf8.count) \(type) \(body.count) ".utf8)
        d.append(body)
        return d
    }

    public static func sign(payload: Data, type: String, with key: SigningKey) throws -> DSSEEnvelope {
        let sig = try key.sign(pae(type, payload))
        return DSSEEnvelope(payloadType: type, payload: payload, signatures: [.init(keyid: key.publicKey.keyID, sig: sig)])
    }

    public var json: String {
        let sigs = signatures.map { ["keyid": $0.keyid, "sig": $0.sig.base64EncodedString()] }
        let obj: [String: Any] = ["payloadType": payloadType, "payload": payload.base64EncodedString(), "signatures": sigs]
        let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Parses one envelope; both base64 alphabets are accepted.
    public static func parse(_ obj: [String: Any]) throws(InputError) -> DSSEEnvelope {
        guard let type = obj["payloadType"] as? String else { throw InputError("DSSE envelope without payloadType") }
        guard let p64 = obj["payload"] as? String else { throw InputError("DSSE envelope without payload") }
        guard p64.utf8.count <= maxPayload / 3 * 4 + 4 else { throw InputError("DSSE payload is larger than 64 MiB; refused") }
        guard let payload = Base64.decode(p64).map({ Data($0) }) else { throw InputError("DSSE payload is not valid base64") }
        guard let raw = obj["signatures"] as? [[String: Any]], !raw.isEmpty else { throw InputError("DSSE envelope has no signatures") }
        // Each signature is tried against the key: 200,000 of them took 15 s and 700 MB.
        guard raw.count <= maxSignatures else { throw InputError("DSSE envelope has \(raw.count) signatures; more than \(maxSignatures) are refused") }
        var sigs: [Signature] = []
        for (i, s) in raw.enumerated() {
            guard let b = s["sig"] as? String, let sig = Base64.decode(b) else { throw InputError("signature \(i + 1) is missing or not valid base64") }
            sigs.append(.init(keyid: s["keyid"] as? String ?? "", sig: Data(sig)))
        }
        return DSSEEnvelope(payloadType: type, payload: payload, signatures: sigs)
    }

    /// Whether any signature verifies over the PAE with `key`.
    public func verified(by key: VerifyingKey) -> Bool {
        let m = Self.pae(payloadType, payload)
        return signatures.contains { key.verify($0.sig, over: m) }
    }
}

/// An in-toto Statement v1.
public struct Statement: Sendable {
    public struct Subject: Sendable, Equatable {
        public var name: String
        public var digest: [String: String]
        public init(name: String, digest: [String: String]) { self.name = name; self.digest = digest }
    }
    public var subjects: [Subject]
    public var predicateType: String
    /// The predicate as JSON, parsed on demand: `Any` is not `Sendable`.
    public var predicateJSON: Data
    public var predicate: Any? { try? JSONSerialization.jsonObject(with: predicateJSON, options: [.fragmentsAllowed]) }

    public init(subjects: [Subject], predicateType: String, predicate: Any?) {
        self.subjects = subjects; self.predicateType = predicateType
        predicateJSON = (try? JSONSerialization.data(withJSONObject: predicate ?? [String: Any](), options: [.sortedKeys, .fragmentsAllowed])) ?? Data("{}".utf8)
    }

    public static let type = "https://in-toto.io/Statement/v1"

    public static let shortTypes: [String: String] = [
        "slsaprovenance1": "https://slsa.dev/provenance/v1",
        "slsaprovenance": "https://slsa.dev/provenance/v0.2",
        "cyclonedx": "https://cyclonedx.org/bom",
        "spdx": "https://spdx.dev/Document",
        "vuln": "https://cosign.sigstore.dev/attestation/vuln/v1",
        "openvex": "https://openvex.dev/ns",
    ]

    /// A short name from the table, or any URI as it is.
    public static func predicateType(_ name: String) throws(InputError) -> String {
        if let t = shortTypes[name] { return t }
        guard name.contains(":"), URL(string: name)?.scheme != nil else {
            throw InputError("unknown predicate type '\(name)'; use a URI or one of \(shortTypes.keys.sorted().joined(separator: ", "))")
        }
        return name
    }

    /// Subjects with sha256 and sha512 digests, named by the path as given.
    public static func subjects(files: [String]) throws(InputError) -> [Subject] {
        try files.map { path throws(InputError) in
            // Hashed as it streams: a subject of gigabytes is never held whole (found by helper-130).
            let f: ArtifactFile
            do { f = try ArtifactFile(path: path) } catch { throw InputError("cannot read subject", at: Location(path)) }
            return Subject(name: PathText.lastComponent(path), digest: ["sha256": Hex.encode(f.sha256), "sha512": Hex.encode(f.sha512)])
        }
    }

    public func payload() throws -> Data {
        let obj: [String: Any] = [
            "_type": Self.type,
            "subject": subjects.map { ["name": $0.name, "digest": $0.digest] },
            "predicateType": predicateType,
            "predicate": predicate ?? [String: Any](),
        ]
        return try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
    }

    public static func parse(_ data: Data) throws(InputError) -> Statement {
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { throw InputError("payload is not a JSON object") }
        try refuseAmbiguousKeys(data, what: "the statement", folds: AmbiguousKeys.statement)
        guard let t = obj["_type"] as? String, t == type || t == "https://in-toto.io/Statement/v0.1" else {
            throw InputError("payload is not an in-toto Statement (_type is '\(obj["_type"] ?? "missing")')")
        }
        guard let pt = obj["predicateType"] as? String else { throw InputError("statement without predicateType") }
        guard let raw = obj["subject"] as? [[String: Any]], !raw.isEmpty else { throw InputError("statement without subjects") }
        let subjects = raw.map { Subject(name: $0["name"] as? String ?? "", digest: ($0["digest"] as? [String: String]) ?? [:]) }
        // The predicate is an object when there is one: an array or a string passed as a verified
        // statement a Go reader refuses (found by helper-158).
        if let p = obj["predicate"], !(p is NSNull), !(p is [String: Any]) { throw InputError("the statement's predicate is not a JSON object") }
        return Statement(subjects: subjects, predicateType: pt, predicate: obj["predicate"])
    }
}

/// Refuses a signed or verified JSON document with a key twice, or in two spellings Go reads as one:
/// `"predicateType": "https://spdx.dev/Document", "PredicateType": "https://slsa.dev/provenance/v1"`
/// verified as SPDX here and would read as SLSA provenance to a Go policy engine (found by helper-121).
/// Spellings are folded where Go decodes into structs (`AmbiguousKeys`); exact repeats count anywhere.
public func refuseAmbiguousKeys(_ data: Data, what: String, folds: ([String]) -> Bool = AmbiguousKeys.none) throws(InputError) {
    guard let value = try? JSONParser.parse(data) else { throw InputError("\(what) is not JSON this reader can parse") }
    if let key = value.ambiguousKey(folds: folds) {
        throw InputError("\(what) holds the key '\(Redactor.quote(key, max: 60))' twice (or in two spellings Go reads as one); readers differ on which counts")
    }
}

/// Which objects of a document Go's readers decode into structs, where `Key` and `key` are one field.
public enum AmbiguousKeys {
    /// Protobuf JSON (a Sigstore bundle) matches names exactly: repeats only.
    public static func none(_ path: [String]) -> Bool { false }
    /// A DSSE envelope and its signatures.
    public static func envelope(_ path: [String]) -> Bool { path.isEmpty || path == ["signatures", "[]"] }
    /// An in-toto statement, its subjects, and the parts of SLSA provenance a policy reads (builder,
    /// build type, source): not the free maps inside them (parameters, environment, digests).
    public static func statement(_ path: [String]) -> Bool { structPaths.contains(path) }
    static let structPaths: Set<[String]> = [
        [], ["subject", "[]"], ["predicate"],
        ["predicate", "runDetails"], ["predicate", "runDetails", "builder"], ["predicate", "runDetails", "metadata"],
        ["predicate", "buildDefinition"], ["predicate", "buildDefinition", "resolvedDependencies", "[]"],
        ["predicate", "builder"], ["predicate", "invocation"], ["predicate", "invocation", "configSource"],
        ["predicate", "metadata"], ["predicate", "materials", "[]"],
    ]
}
