import Foundation
import ProvenantCore
import X509

/// A layer of cosign's `sha256-<hex>.att` tag, read as the Sigstore bundle it amounts to.
///
/// Cosign keeps a keyless attestation as a DSSE envelope (the layer's blob) with its verification
/// material in the layer's annotations: the Fulcio leaf (`dev.sigstore.cosign/certificate`, PEM), the
/// chain above it (`dev.sigstore.cosign/chain`, PEM), and the Rekor entry with its signed entry timestamp
/// (`dev.sigstore.cosign/bundle`, JSON). That is what a v0.1 bundle holds, so it is translated into one
/// and verified by the same checks as a bundle file: nothing here is trusted, only reshaped. Anything
/// that does not fit the shape is an error, never a bundle with a part left out.
public enum CosignAttestationLayer {
    public static let certificateAnnotation = "dev.sigstore.cosign/certificate"
    public static let chainAnnotation = "dev.sigstore.cosign/chain"
    public static let bundleAnnotation = "dev.sigstore.cosign/bundle"
    public static let predicateTypeAnnotation = "predicateType"

    /// Whether the layer is signed keylessly (it carries a certificate) rather than with a managed key.
    public static func isKeyless(_ annotations: [String: String]) -> Bool { annotations[certificateAnnotation] != nil }

    /// The verification material the annotations carry, read before the envelope is fetched, so a
    /// layer whose annotations are wrong costs no download.
    public struct Material: Sendable {
        /// The signing certificate, then the chain's intermediates.
        public var certificates: [Certificate]
        public var entry: SigstoreBundle.LogEntry
    }

    /// Certificates the chain annotation may hold: Fulcio's chains are two or three long.
    public static let maxChainCertificates = 10

    /// The leaf, the chain's intermediates and the Rekor entry, each read strictly.
    public static func material(_ annotations: [String: String]) throws(InputError) -> Material {
        guard let leafText = annotations[certificateAnnotation] else { throw InputError("the layer has no \(certificateAnnotation) annotation") }
        let leaves = try certificates(leafText, certificateAnnotation, max: 1)
        guard leaves.count == 1 else { throw InputError("\(certificateAnnotation) holds \(leaves.count) certificates, not the one signing certificate") }
        // Roots come from the trusted root only; the chain annotation's root (cosign writes it) is left out.
        let chain = try annotations[chainAnnotation].map { t throws(InputError) in try certificates(t, chainAnnotation, max: maxChainCertificates) } ?? []
        let intermediates = chain.filter { !($0.subject == $0.issuer && $0.publicKey.isValidSignature($0.signature, for: $0)) }

        guard let bundleText = annotations[bundleAnnotation] else {
            throw InputError("keyless attestation without a \(bundleAnnotation) annotation: no Rekor entry vouches for when its certificate was used")
        }
        return Material(certificates: leaves + intermediates, entry: try logEntry(bundleText))
    }

    /// The v0.1 bundle the layer's annotations and envelope amount to: the leaf and the chain's
    /// intermediates, one Rekor entry whose kind and version are the logged body's own, its SET as the
    /// inclusion promise, and the envelope as the content.
    public static func bundle(annotations: [String: String], envelope: Data) throws(InputError) -> SigstoreBundle {
        try bundle(material(annotations), annotations: annotations, envelope: envelope)
    }

    public static func bundle(_ material: Material, annotations: [String: String], envelope: Data) throws(InputError) -> SigstoreBundle {
        guard let obj = (try? JSONSerialization.jsonObject(with: envelope)) as? [String: Any] else { throw InputError("the layer's DSSE envelope is not a JSON object") }
        try refuseAmbiguousKeys(envelope, what: "the layer's DSSE envelope", folds: AmbiguousKeys.envelope)
        let env: DSSEEnvelope
        do { env = try DSSEEnvelope.parse(obj) } catch { throw InputError("the layer's DSSE envelope: \(error.message)") }
        guard env.signatures.count == 1 else { throw InputError("the layer's DSSE envelope must carry exactly one signature, not \(env.signatures.count)") }
        // The annotation is not signed; one that contradicts the signed statement means the layer was put together wrongly.
        if let said = annotations[predicateTypeAnnotation], let statement = try? Statement.parse(env.payload), statement.predicateType != said {
            throw InputError("the \(predicateTypeAnnotation) annotation '\(Redactor.quote(said, max: 100))' is not the statement's '\(Redactor.quote(statement.predicateType, max: 100))'")
        }
        return SigstoreBundle(version: .v01, material: .certificates(material.certificates), logEntries: [material.entry], timestamps: [],
                              content: .dsse(env), envelopeBytes: envelope)
    }

    /// `{"SignedEntryTimestamp": b64, "Payload": {"body": b64, "integratedTime": n, "logIndex": n, "logID": hex}}`,
    /// read strictly: a number must be a JSON integer, not a string, a fraction or a boolean.
    static func logEntry(_ text: String) throws(InputError) -> SigstoreBundle.LogEntry {
        let a = bundleAnnotation
        let obj: JSONValue
        do { obj = try JSONParser.parse(Array(text.utf8)) } catch { throw InputError("\(a) is not JSON (\(error))") }
        guard obj.objectFields != nil else { throw InputError("\(a) is not a JSON object") }
        guard let set = obj["SignedEntryTimestamp"]?.stringValue.flatMap(SigstoreBundle.strictBase64), !set.isEmpty else {
            throw InputError("\(a): SignedEntryTimestamp is missing or not valid base64")
        }
        guard let payload = obj["Payload"], payload.objectFields != nil else { throw InputError("\(a): Payload is missing or not an object") }
        guard let body = payload["body"]?.stringValue.flatMap(SigstoreBundle.strictBase64), !body.isEmpty else {
            throw InputError("\(a): Payload.body is missing or not valid base64")
        }
        func integer(_ key: String) throws(InputError) -> Int64 {
            guard case .int(let n)? = payload[key], n >= 0 else { throw InputError("\(a): Payload.\(key) is missing or not a non-negative integer") }
            return Int64(n)
        }
        let integrated = try integer("integratedTime")
        guard integrated > 0 else { throw InputError("\(a): Payload.integratedTime is 0") }
        let index = try integer("logIndex")
        guard let logID = payload["logID"]?.stringValue.flatMap(hexBytes), !logID.isEmpty else {
            throw InputError("\(a): Payload.logID is missing or not hex")
        }
        guard let logged = try? JSONParser.parse(Array(body)), let kind = logged["kind"]?.stringValue,
              let version = logged["apiVersion"]?.stringValue else {
            throw InputError("\(a): Payload.body is not a Rekor entry with a kind and an apiVersion")
        }
        // Rekor's kinds are lower-case words and its versions three numbers; anything else is refused
        // here, before it could be echoed in a message about the entry.
        guard !kind.isEmpty, kind.utf8.count <= 32, kind.utf8.allSatisfy({ $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }),
              version.utf8.count <= 32, version.split(separator: ".", omittingEmptySubsequences: false).count == 3,
              version.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }) else {
            throw InputError("\(a): Payload.body names an entry kind or apiVersion that is not Rekor's (a lower-case word, three numbers)")
        }
        return SigstoreBundle.LogEntry(logIndex: index, logID: logID, kind: kind, kindVersion: version, integratedTime: integrated,
                                       signedEntryTimestamp: set, inclusionProof: nil, body: body)
    }

    static func hexBytes(_ s: String) -> Data? { Hex.decode(s).map { Data($0) } }

    /// Every `CERTIFICATE` block of a PEM text, each parsed; any other text or block, or none at all, is an error.
    static func certificates(_ pem: String, _ field: String, max: Int) throws(InputError) -> [Certificate] {
        let begin = "-----BEGIN CERTIFICATE-----", end = "-----END CERTIFICATE-----"
        var rest = Substring(pem)
        var out: [Certificate] = []
        while true {
            rest = rest.drop(while: \.isWhitespace)
            if rest.isEmpty { break }
            guard rest.hasPrefix(begin) else { throw InputError("\(field) is not PEM certificates: text outside a CERTIFICATE block") }
            guard out.count < max else { throw InputError("\(field) holds more than \(max) certificate\(max == 1 ? "" : "s"); refused") }
            rest = rest.dropFirst(begin.count)
            guard let e = rest.range(of: end) else { throw InputError("\(field): a CERTIFICATE block has no END line") }
            let body = rest[..<e.lowerBound].filter { !$0.isWhitespace }
            rest = rest[e.upperBound...]
            guard let der = Data(base64Encoded: String(body)) else { throw InputError("\(field): certificate \(out.count + 1) is not valid base64") }
            do { out.append(try Certificate(derEncoded: Array(der))) } catch {
                throw InputError("\(field): certificate \(out.count + 1) does not parse as X.509")
            }
        }
        guard !out.isEmpty else { throw InputError("\(field) holds no certificate") }
        return out
    }
}
