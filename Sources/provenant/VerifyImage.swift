import ArgumentParser
import Attestation
import Catalog
import Foundation
import ProvenantCore

/// `provenant verify registry:REF`: the image's attestations, found in its registry and each verified
/// with the policy `verify` applies to a file. Success when at least one verifies, as cosign decides.
struct ImageVerification {
    let command: VerifyCommand
    let reference: RegistryReference

    static let dsseMediaType = "application/vnd.dsse.envelope.v1+json"
    /// Layers of one `.att` tag checked at most (cosign appends one per attestation).
    static let maxAttLayers = 64

    enum State: String { case verified, failed, notChecked = "not checked" }

    struct Outcome {
        /// Where it was found: `referrer` or `cosign <tag>`.
        var source: String
        /// The referrer manifest's digest, or the .att layer's.
        var digest: String
        var state: State
        var report: VerificationReport?
        var reason: String?
    }

    /// Why an attestation signed with a managed key cannot pass when an identity was asked for: it has no
    /// certificate to check one against (as `verify FILE` refuses the same bundle), so it never counts
    /// as verified with the identity unchecked.
    var identityCannotApply: String? {
        command.certificateIdentity == nil && command.certificateIdentityRegexp == nil && command.certificateOidcIssuer == nil ? nil
            : "signed with a managed key, not a certificate: the certificate identity and issuer asked for cannot be checked"
    }

    func run() async throws {
        let client: RegistryClient
        let target: FetchedManifest
        do { client = try RegistryClient(reference, options: try command.access.registryOptions(quiet: command.format == "json")) } catch { CLI.fail("error: \(error)") }
        // Everything printed from here may quote the registry, which may echo the credentials it was
        // sent: a password written as a descriptor's digest was printed (found by helper-160).
        do { target = try await ReferrerAttachment.subject(client, reference) } catch { CLI.fail("error: \(client.withoutCredentials("\(error)"))") }
        let digests = ["sha256": String(target.digest.dropFirst(7))]
        let keyPEM: String?
        let pub: VerifyingKey?
        let keyVerifier: Verifier?
        let cosignVerifier: Verifier?
        do {
            keyPEM = try command.key.map(VerifyCommand.readText)
            pub = try keyPEM.map { pem throws(InputError) in
                do throws(InputError) { return try VerifyingKey.load(pem: pem) } catch { throw InputError(error.message, at: command.key.map { Location($0) }) }
            }
            keyVerifier = try pub.map { k throws(InputError) in try command.keyVerifier(k, digests: digests, logNote: "transparency log (the bundle has no log entry: signed offline)") }
            cosignVerifier = try pub.map { k throws(InputError) in try command.keyVerifier(k, digests: digests, logNote: "transparency log (cosign's Rekor bundle annotation is not verified)") }
            if let t = command.type { _ = try Statement.predicateType(t) }
        } catch { CLI.fail("error: \(error)") }

        var outcomes: [Outcome] = []
        // Referrers that cannot be listed are not checked, and said so; the cosign tag is still read, as
        // a failure there is one outcome too (the run stopped with exit 2 before: helper-160).
        var referrers: [ImageDescriptor] = []
        do {
            let listing = try await client.referrerListing(of: target.digest, artifactType: MediaType.sigstoreBundle)
            referrers = listing.descriptors
            if let unread = listing.unread {
                outcomes.append(Outcome(source: "referrers", digest: "", state: .notChecked, reason: "not every referrer could be listed: \(unread)"))
            }
        } catch {
            outcomes.append(Outcome(source: "referrers", digest: "", state: .notChecked, reason: "the referrers could not be listed: \(error)"))
        }
        // One referrer listed many times is checked once, and at most maxAttLayers are: a referrers tag
        // anyone who may push could fill with 18,000 copies made each verify run for minutes (found by helper-79).
        var seenReferrers = Set<String>()
        let distinct = referrers.filter { seenReferrers.insert($0.digest).inserted }
        if distinct.count > Self.maxAttLayers {
            outcomes.append(Outcome(source: "referrers", digest: "", state: .notChecked,
                                    reason: "the image has \(distinct.count) Sigstore bundle referrers; only the first \(Self.maxAttLayers) are checked"))
        }
        for d in distinct.prefix(Self.maxAttLayers) {
            outcomes.append(await bundleOutcome(client, d, digests: digests, keyPEM: keyPEM, keyVerifier: keyVerifier))
        }
        let attTag = RegistryClient.referrersTag(target.digest) + ".att"
        do {
            if try await client.manifestExists(attTag) {
                outcomes += try await cosignOutcomes(client, tag: attTag, digests: digests, keyPEM: keyPEM, verifier: cosignVerifier)
            }
        } catch {
            outcomes.append(Outcome(source: "cosign \(attTag)", digest: "", state: .failed, reason: "\(error)"))
        }

        let verified = outcomes.contains { $0.state == .verified }
        emit(outcomes.map { Self.masked($0, client.withoutCredentials) }, image: client.name + "@" + target.digest, verified: verified)
        if !verified {
            if outcomes.isEmpty {
                CLI.stderr("error: no attestations found for \(client.name)@\(target.digest) (no Sigstore bundle referrer, no cosign \(attTag) tag)")
            } else {
                CLI.stderr("error: none of the \(outcomes.count) attestation(s) of \(client.name)@\(target.digest) verifies")
            }
            throw ExitCode(1)
        }
    }

    /// What a bundle (a referrer's, or one made of a cosign layer) must satisfy: the policy of the flags,
    /// with the image's manifest digest as the artifact.
    func bundleRequest(digests: [String: String], keyPEM: String?) -> BundleVerificationRequest {
        BundleVerificationRequest(
            artifact: .digests(digests), trustedRootPath: command.trustedRoot, keyPEM: keyPEM,
            identity: command.certificateIdentity.map { .exact($0) } ?? command.certificateIdentityRegexp.map { .regex($0) },
            issuer: command.certificateOidcIssuer, predicateType: command.type, builderID: command.builderId,
            sourceURI: command.sourceUri)
    }

    /// One Sigstore bundle referrer: the manifest, its bundle layer, and the bundle's verification.
    func bundleOutcome(_ client: RegistryClient, _ d: ImageDescriptor, digests: [String: String], keyPEM: String?, keyVerifier: Verifier?) async -> Outcome {
        var out = Outcome(source: "referrer", digest: d.digest, state: .failed)
        do {
            let fetched = try await client.fetchManifest(d.digest, expectedSize: d.size)
            let manifest = try ImageManifest(fetched.bytes, subject: client.name + "@" + d.digest)
            guard let layer = manifest.layers.first(where: { $0.mediaType == MediaType.sigstoreBundle }) else {
                out.reason = "the referrer has no layer of media type \(MediaType.sigstoreBundle)"
                return out
            }
            let bytes = try await client.fetchBlob(layer.digest, limit: 16 << 20, expectedSize: layer.size)
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
                out.reason = "the bundle \(layer.digest) is not a JSON object"
                return out
            }
            do { try refuseAmbiguousKeys(Data(bytes), what: "the bundle \(layer.digest)") } catch {
                out.reason = error.message
                return out
            }
            let bundle = try SigstoreBundle.parse(obj)
            let report: VerificationReport
            if bundle.isKeySignedOffline {
                // No log entry and no timestamp: only the key vouches for it, as for a bare envelope.
                guard let keyVerifier else {
                    out.state = .notChecked
                    out.reason = "signed with a managed key and without a transparency-log entry: pass the public key with --key"
                    return out
                }
                guard case .dsse(let env) = bundle.content else {
                    out.reason = "the bundle holds a message signature, not an attestation"
                    return out
                }
                if let why = identityCannotApply { out.reason = why; return out }
                var keyed = keyVerifier.verify(env)
                if command.trustedRoot != nil { keyed.notRequested.append("the trusted root (nothing in this bundle is checked against it)") }
                report = keyed
            } else {
                report = try bundleRequest(digests: digests, keyPEM: keyPEM).verify(bundle)
            }
            out.report = report
            out.state = report.verified ? .verified : .failed
        } catch {
            out.reason = "\(error)"
        }
        return out
    }

    /// Cosign's `sha256-<hex>.att`: each DSSE layer. A keyless one (it carries a certificate) is read as the
    /// v0.1 bundle its annotations and envelope amount to and verified as a bundle file is: the Rekor SET
    /// by a trusted log key, the logged body against the envelope, the Fulcio chain at the integrated
    /// time, the SCT, identity, issuer and statement. One signed with a managed key is verified with --key.
    func cosignOutcomes(_ client: RegistryClient, tag: String, digests: [String: String], keyPEM: String?, verifier: Verifier?) async throws -> [Outcome] {
        let fetched = try await client.fetchManifest(tag)
        let manifest = try ImageManifest(fetched.bytes, subject: client.name + ":" + tag)
        var outs: [Outcome] = []
        let layers = manifest.layers.filter { $0.mediaType == Self.dsseMediaType }
        if layers.count > Self.maxAttLayers {
            outs.append(Outcome(source: "cosign \(tag)", digest: "", state: .notChecked,
                                reason: "the tag holds \(layers.count) attestation layers; only the first \(Self.maxAttLayers) are checked"))
        }
        for layer in layers.prefix(Self.maxAttLayers) {
            var out = Outcome(source: "cosign \(tag)", digest: layer.digest, state: .failed)
            let keyless = CosignAttestationLayer.isKeyless(layer.annotations)
            if !keyless {
                guard verifier != nil else {
                    out.state = .notChecked
                    out.reason = "pass the signer's public key with --key"
                    outs.append(out)
                    continue
                }
                if let why = identityCannotApply {
                    out.reason = why
                    outs.append(out)
                    continue
                }
            }
            do {
                // A keyless layer's annotations are read first: wrong ones cost no download.
                let material = keyless ? try CosignAttestationLayer.material(layer.annotations) : nil
                let bytes = Data(try await client.fetchBlob(layer.digest, limit: DSSEEnvelope.maxPayload * 2, expectedSize: layer.size))
                let report: VerificationReport
                if let material {
                    let bundle = try CosignAttestationLayer.bundle(material, annotations: layer.annotations, envelope: bytes)
                    report = try bundleRequest(digests: digests, keyPEM: keyPEM).verify(bundle)
                } else {
                    guard let verifier, let obj = (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any] else {
                        out.reason = "the envelope is not a JSON object"
                        outs.append(out)
                        continue
                    }
                    try refuseAmbiguousKeys(bytes, what: "the envelope", folds: AmbiguousKeys.envelope)
                    report = verifier.verify(try DSSEEnvelope.parse(obj))
                }
                out.report = report
                out.state = report.verified ? .verified : .failed
            } catch { out.reason = "\(error)" }
            outs.append(out)
        }
        return outs
    }

    /// An outcome with every text in it passed through `mask`.
    static func masked(_ o: Outcome, _ mask: (String) -> String) -> Outcome {
        var o = o
        o.source = mask(o.source); o.digest = mask(o.digest); o.reason = o.reason.map(mask)
        if var r = o.report {
            r.passed = r.passed.map { ($0.check, mask($0.detail)) }
            r.notRequested = r.notRequested.map(mask)
            r.failure = r.failure.map { VerificationFailure(check: $0.check, reason: mask($0.reason)) }
            o.report = r
        }
        return o
    }

    func emit(_ outcomes: [Outcome], image: String, verified: Bool) {
        if command.format == "json" {
            let list: [[String: Any]] = outcomes.map { o in
                var obj: [String: Any] = ["source": o.source, "digest": o.digest, "result": o.state.rawValue]
                if let r = o.report {
                    obj["checks"] = r.passed.map { ["check": $0.check, "result": "passed", "detail": $0.detail] }
                    obj["notRequested"] = r.notRequested
                    if let f = r.failure { obj["failure"] = ["check": f.check, "reason": f.reason] }
                }
                if let reason = o.reason { obj["reason"] = reason }
                return obj
            }
            let obj: [String: Any] = ["image": image, "verified": verified, "attestations": list]
            let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data()
            print(String(decoding: data, as: UTF8.self))
            return
        }
        // Lines go through VerifyCommand's, which escapes control characters: a registry's text (a logged
        // entry's kind, an annotation, a certificate's names) cannot write a line such as "verified:".
        for o in outcomes {
            let what = "\(o.source) \(o.digest)"
            switch o.state {
            case .verified:
                VerifyCommand.line("verified: \(image): \(what)")
                if let r = o.report { VerifyCommand.details(r) }
            case .failed:
                VerifyCommand.line("verification FAILED: \(image): \(what): \(o.report?.failure.map { "\($0)" } ?? o.reason ?? "")")
            case .notChecked:
                VerifyCommand.line("NOT CHECKED: \(image): \(what): \(o.reason ?? "")")
            }
        }
    }
}
