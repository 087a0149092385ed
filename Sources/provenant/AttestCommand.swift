import ArgumentParser
import Attestation
import Catalog
import Foundation
import ProvenantCore

struct AttestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attest",
        abstract: "Sign an in-toto Statement about FILEs, or about an image, into a DSSE envelope.",
        discussion: """
        Predicate types: \(Statement.shortTypes.keys.sorted().joined(separator: ", ")), or any URI. File subjects carry sha256 and sha512 digests. \
        With --image REF (registry:HOST/REPO[:TAG][@DIGEST], or HOST/REPO…) the subject is the image: named by its repository, with the \
        sha256 digest of the manifest the reference names (an index's own digest for a multi-platform image, as cosign does, not one \
        platform's). The result is then a Sigstore bundle v0.3 with the public key as verification material (no transparency-log entry: \
        Provenant signs offline), and --push attaches it to the image as an OCI 1.1 referrer (artifact type \(MediaType.sigstoreBundle)), \
        also recorded in the referrers tag sha256-<hex> for registries without the referrers API; the referrer's digest is printed.
        """
    )
    @Option(name: .long, parsing: .singleValue, help: "Artifact the statement is about (repeatable).")
    var subject: [String] = []
    @Option(name: .long, help: "The registry image the statement is about, instead of --subject files.")
    var image: String?
    @Flag(name: .long, help: "With --image: attach the attestation to the image in its registry.")
    var push = false
    @Option(name: [.customLong("predicate-type"), .customLong("type")], help: "Predicate type: a short name or a URI.")
    var predicateType: String
    @Option(name: .long, help: "JSON file holding the predicate.")
    var predicate: String
    @Option(name: .long, help: "Private key (PKCS#8 PEM, or encrypted with PROVENANT_KEY_PASSWORD).")
    var key: String
    @Option(name: .shortAndLong, help: "Write the envelope (or, for an image, the bundle) here instead of stdout.")
    var output: String?
    @OptionGroup var access: ImageAccessOptions

    func validate() throws {
        if image == nil {
            guard !subject.isEmpty else { throw ValidationError("at least one --subject (or --image) is required") }
            guard !push else { throw ValidationError("--push attaches to an image: give --image") }
        } else {
            guard subject.isEmpty else { throw ValidationError("give --subject files or --image, not both") }
            guard !push || output == nil else { throw ValidationError("--push prints the referrer digest; --output does not apply") }
        }
    }

    func run() async throws {
        do {
            let type = try Statement.predicateType(predicateType)
            let pdata = Data(try NamedInputFile.read(predicate, limit: DSSEEnvelope.maxPayload, what: "predicate"))
            guard let parsed = try? JSONSerialization.jsonObject(with: pdata) else { CLI.fail("error: \(predicate): predicate is not readable JSON") }
            // An in-toto Statement's predicate is an object: `[1,2]` was signed, and verified (found by helper-158).
            guard let pobj = parsed as? [String: Any] else { CLI.fail("error: \(predicate): the predicate must be a JSON object, as an in-toto Statement holds it") }
            guard let pem = String(validating: try NamedInputFile.read(key, limit: SigningKey.maxPEMBytes, what: "key"), as: UTF8.self) else {
                CLI.fail("error: \(key): cannot read key: not UTF-8 text")
            }
            // A key that does not load is named, as every other input is (helper-158).
            let signer: SigningKey
            do { signer = try SigningKey.load(pem: pem, password: ProcessInfo.processInfo.environment["PROVENANT_KEY_PASSWORD"]) }
            catch { throw InputError(error.message, at: error.location ?? Location(key)) }
            guard let image else {
                let statement = Statement(subjects: try Statement.subjects(files: subject), predicateType: type, predicate: pobj)
                let env = try DSSEEnvelope.sign(payload: try statement.payload(), type: DSSEEnvelope.inTotoType, with: signer)
                try CLI.withOutput(output) { sink in sink(Array((env.json + "\n").utf8)) }
                return
            }
            let client: RegistryClient
            let target: FetchedManifest
            let reference: RegistryReference
            do {
                reference = try Self.registryReference(image)
                client = try RegistryClient(reference, options: try access.registryOptions(quiet: false))
            } catch { CLI.fail("error: \(error)") }
            // The registry's words may echo the credentials it was sent (found by helper-160).
            do { target = try await ReferrerAttachment.subject(client, reference) } catch { CLI.fail("error: \(client.withoutCredentials("\(error)"))") }
            let statement = Statement(subjects: [.init(name: client.name, digest: ["sha256": String(target.digest.dropFirst(7))])],
                                      predicateType: type, predicate: pobj)
            let env = try DSSEEnvelope.sign(payload: try statement.payload(), type: DSSEEnvelope.inTotoType, with: signer)
            let bundle = SigstoreBundle.keySignedJSON(env, hint: signer.publicKey.keyID)
            guard push else {
                try CLI.withOutput(output) { sink in sink(bundle + Array("\n".utf8)) }
                return
            }
            let referrer: String
            do {
                referrer = try await ReferrerAttachment.attach(client, subject: target, artifactType: MediaType.sigstoreBundle,
                                                               payloadMediaType: MediaType.sigstoreBundle, payload: bundle)
            } catch { CLI.fail("error: \(client.withoutCredentials("\(error)"))") }
            CLI.stderr("attached a \(type) attestation to \(client.name)@\(target.digest)")
            print(referrer)
        } catch let e as InputError { CLI.fail("error: \(e)") }
    }

    /// `registry:HOST/REPO…`, or the same without the scheme.
    static func registryReference(_ text: String) throws -> RegistryReference {
        if text.hasPrefix("registry:") {
            if case .registry(let r)? = try ImageReference.parse(text) { return r }
        } else if let r = RegistryReference(text) { return r }
        throw InputError("'\(Redactor.quote(text, max: 160))' is not a registry image reference (HOST/REPOSITORY[:TAG][@sha256:DIGEST])")
    }
}
