import Foundation
import ProvenantCore

/// An image in a registry: the manifest for the reference (a digest it pins, else its tag) is fetched
/// and checked, an index is resolved to the platform's manifest, the config fetched into memory, and
/// each layer streamed through an unlinked temporary file when the reader opens it.
public struct RegistryImageSource: ImageSource {
    public let reference: RegistryReference
    let client: RegistryClient

    public init(_ reference: RegistryReference, options: RegistryOptions) throws(ImageError) {
        self.reference = reference
        client = try RegistryClient(reference, options: options)
    }

    /// The documents a registry sends are its own words too: an error quoting one (a descriptor whose
    /// digest is the password it was sent) is said without the client's credentials (helper-143).
    public func resolve(platform: ImagePlatform) async throws -> ResolvedImage {
        do { return try await resolveQuoting(platform: platform) } catch let e as ImageError { throw masked(e) }
    }

    public func withoutCredentials(_ text: String) -> String { client.withoutCredentials(text) }

    func masked(_ e: ImageError) -> ImageError {
        var m = e
        m.subject = client.withoutCredentials(e.subject)
        m.message = client.withoutCredentials(e.message)
        return m
    }

    func resolveQuoting(platform: ImagePlatform) async throws -> ResolvedImage {
        // A pinned digest wins over a tag given beside it: the tag may have moved, the digest cannot.
        let wanted = reference.digest ?? reference.tag ?? "latest"
        var fetched = try await client.fetchManifest(wanted)
        var depth = 0
        var others: [String] = []
        var attestations: [ImageDescriptor] = []
        var byPlatform = false
        while try Self.isIndex(fetched) {
            depth += 1
            let subject = client.name + "@" + fetched.digest
            guard depth <= 4 else { throw ImageError(subject, "is an index nested more than 4 deep; refused") }
            let index = try ImageIndex(fetched.bytes, subject: subject)
            let chosen = try index.select(platform, tag: nil, subject: subject)
            others += index.otherPlatforms(than: chosen)
            attestations += index.attestations
            byPlatform = chosen.platform != nil
            fetched = try await client.fetchManifest(chosen.digest, expectedSize: chosen.size)
        }
        let subject = client.name + "@" + fetched.digest
        guard MediaType.isManifest(fetched.mediaType) || fetched.mediaType.isEmpty else {
            throw ImageError(subject, "has media type '\(client.echoed(fetched.mediaType, max: 120))', not an image manifest this reader supports")
        }
        let manifest = try ImageManifest(fetched.bytes, subject: subject)
        let config = try await client.fetchBlob(manifest.config.digest, limit: maxDocumentBytes, expectedSize: manifest.config.size)
        var resolved = try ResolvedImage.make(reference: "registry:" + reference.description, manifest: manifest,
                                              manifestDigest: fetched.digest, config: config, named: reference,
                                              tag: reference.tag, fallbackName: reference.repository,
                                              pinned: reference.digest != nil, layerKey: { $0.digest })
        resolved.info.otherPlatforms = Array(Set(others)).sorted()
        resolved.info.attestations = attestations
        resolved.chosenByPlatform = byPlatform
        return resolved
    }

    public func document(_ d: ImageDescriptor) async throws -> [UInt8] {
        do { return try await documentQuoting(d) } catch let e as ImageError { throw masked(e) }
    }

    func documentQuoting(_ d: ImageDescriptor) async throws -> [UInt8] {
        guard d.size <= maxDocumentBytes else { throw ImageError(d.digest, "is \(d.size) bytes, over the \(maxDocumentBytes >> 10) KiB a document may be") }
        if MediaType.isManifest(d.mediaType) || MediaType.isIndex(d.mediaType) {
            let fetched = try await client.fetchManifest(d.digest, expectedSize: d.size)
            return fetched.bytes
        }
        return try await client.fetchBlob(d.digest, limit: maxDocumentBytes, expectedSize: d.size)
    }

    /// `downloadBlob` hashes a layer as it arrives and refuses it unless it has its digest and size.
    public var layersArriveVerified: Bool { true }

    public func openLayer(_ layer: LayerPlan) async throws -> ByteStream {
        guard let digest = layer.digest else { throw ImageError("layer \(layer.index)", "has no digest to fetch it by") }
        return try await client.downloadBlob(digest, expectedSize: layer.size)
    }

    /// Whether a fetched document is an index: by its media type, else (a registry that sends none) by
    /// its shape. Docker's schema 1 manifests are refused by name: they carry no digests to check.
    static func isIndex(_ m: FetchedManifest) throws(ImageError) -> Bool {
        if MediaType.isIndex(m.mediaType) { return true }
        if MediaType.isManifest(m.mediaType) { return false }
        if m.mediaType.hasPrefix("application/vnd.docker.distribution.manifest.v1") {
            throw ImageError(m.digest, "is a Docker schema 1 manifest, which this reader does not support")
        }
        let v = try ImageJSON.parse(m.bytes, subject: m.digest)
        return v["manifests"] != nil && v["layers"] == nil
    }
}
