import Foundation
import ProvenantCore

/// Attaching an artifact (an attestation) to an image as an OCI 1.1 referrer, and finding them again.
///
/// The artifact is a manifest whose `subject` is the image: its one layer holds the payload, its config
/// is the OCI empty descriptor. Registries without the referrers API (distribution 2.8) are served by
/// the referrers tag `sha256-<hex>`, an index of the subject's referrers that clients keep up to date:
/// it is read, the new descriptor added, and written back. Two clients doing this at once can lose one
/// entry (the tag schema has no compare-and-swap); the artifact manifest itself is never lost.
public enum ReferrerAttachment {
    public static let emptyMediaType = "application/vnd.oci.empty.v1+json"
    public static let emptyBlob: [UInt8] = Array("{}".utf8)

    /// The manifest the reference names (by its digest when it pins one, else its tag, else `latest`):
    /// an image manifest, or an index as it is, not resolved to a platform.
    public static func subject(_ client: RegistryClient, _ reference: RegistryReference) async throws -> FetchedManifest {
        try await client.fetchManifest(reference.digest ?? reference.tag ?? "latest")
    }

    /// Pushes `payload` as a blob, an artifact manifest naming `subject`, and updates the referrers tag.
    /// Returns the artifact manifest's digest.
    public static func attach(_ client: RegistryClient, subject: FetchedManifest, artifactType: String,
                              payloadMediaType: String, payload: [UInt8], annotations: [String: String] = [:]) async throws -> String {
        let payloadDigest = try await client.pushBlob(payload)
        let emptyDigest = try await client.pushBlob(emptyBlob)
        let subjectType = subject.mediaType.isEmpty ? MediaType.ociManifest : subject.mediaType
        var manifest: [String: Any] = [
            "schemaVersion": 2,
            "mediaType": MediaType.ociManifest,
            "artifactType": artifactType,
            "config": ["mediaType": emptyMediaType, "digest": emptyDigest, "size": emptyBlob.count],
            "layers": [["mediaType": payloadMediaType, "digest": payloadDigest, "size": payload.count]],
            "subject": ["mediaType": subjectType, "digest": subject.digest, "size": subject.bytes.count],
        ]
        if !annotations.isEmpty { manifest["annotations"] = annotations }
        let bytes = try json(manifest)
        let digest = ImageDigest.of(bytes)
        try await client.pushManifest(bytes, mediaType: MediaType.ociManifest, reference: digest)
        try await addToReferrersTag(client, subject: subject.digest, descriptor: [
            "mediaType": MediaType.ociManifest, "digest": digest, "size": bytes.count, "artifactType": artifactType,
        ])
        return digest
    }

    /// Adds a descriptor to the referrers tag index of `subject`, creating the index when there is none.
    /// Entries already there are kept as they are; one with the same digest is not added twice.
    static func addToReferrersTag(_ client: RegistryClient, subject: String, descriptor: [String: Any]) async throws {
        let tag = RegistryClient.referrersTag(subject)
        var index: [String: Any] = ["schemaVersion": 2, "mediaType": MediaType.ociIndex, "manifests": [[String: Any]]()]
        if try await client.manifestExists(tag) {
            let fetched = try await client.fetchManifest(tag)
            _ = try ImageIndex(fetched.bytes, subject: client.name + ":" + tag)   // refuse anything that is not an index
            guard let existing = (try? JSONSerialization.jsonObject(with: Data(fetched.bytes))) as? [String: Any] else {
                throw ImageError(client.name + ":" + tag, "is not a JSON object")
            }
            index = existing
        }
        var entries = index["manifests"] as? [[String: Any]] ?? []
        guard !entries.contains(where: { ($0["digest"] as? String) == (descriptor["digest"] as? String) }) else { return }
        entries.append(descriptor)
        index["manifests"] = entries
        try await client.pushManifest(try json(index), mediaType: MediaType.ociIndex, reference: tag)
    }

    static func json(_ object: [String: Any]) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }
}
