import Foundation
import ProvenantCore

/// Attaching an artifact (an attestation) to an image as an OCI 1.1 referrer, and finding them again.
///
/// The artifact is a manifest whose `subject` is the image: its one layer holds the payload, its config
/// is the OCI empty descriptor. Registries without the referrers API (distribution 2.8) are served by
/// the referrers tag `sha256-<hex>`, an index of the subject's referrers that clients keep up to date:
/// it is read, the new descriptor added, and written back. Writers racing on it are reconciled by
/// `addToReferrersTag` (a conditional write where the registry honours one, and reading back where it
/// does not); the artifact manifest itself is never lost.
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
        // Blobs are idempotent by digest, and distribution 2.8 answers a blob's HEAD with 500 now and
        // then while another client uploads the same blob (every attachment pushes the same `{}`).
        let payloadDigest = try await retryingTransient(attempts: 4) { try await client.pushBlob(payload) }
        let emptyDigest = try await retryingTransient(attempts: 4) { try await client.pushBlob(emptyBlob) }
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
        // Idempotent (by digest), so a registry's passing failure is tried again: distribution 2.8 answers
        // 400 DIGEST_INVALID or 500 while another client rewrites the link of a blob this manifest names.
        _ = try await retryingTransient(attempts: 4) { try await client.pushManifest(bytes, mediaType: MediaType.ociManifest, reference: digest) }
        try await addToReferrersTag(client, subject: subject.digest, descriptor: [
            "mediaType": MediaType.ociManifest, "digest": digest, "size": bytes.count, "artifactType": artifactType,
        ])
        return digest
    }

    /// Writes to the referrers tag before it gives up, each after a re-read and merge.
    static let referrersTagAttempts = 8

    /// Adds a descriptor to the referrers tag index of `subject`, creating the index when there is none.
    /// Entries already there are kept as they are; one with the same digest is not added twice.
    ///
    /// Other clients may be updating the same tag. The write carries `If-Match` with the ETag the index
    /// was read with (when the registry sent one), and a 412 means: read, merge and write again. As
    /// registries that ignore `If-Match` (distribution 2.8) let a writer that read before this write
    /// replace it, the tag is read back after the write, and once more after a pause of a few times this
    /// client's own read-to-write time, longer than another writer's read-to-write normally takes: a
    /// writer that read before this write and wrote after the first read-back is caught by the second.
    /// Missing either time, the entry is merged into the index as it is then and written again, after a
    /// randomized backoff, up to `referrersTagAttempts` writes.
    static func addToReferrersTag(_ client: RegistryClient, subject: String, descriptor: [String: Any]) async throws {
        let tag = RegistryClient.referrersTag(subject)
        guard let digest = descriptor["digest"] as? String else { throw ImageError(client.name + ":" + tag, "cannot list a descriptor without a digest") }
        var why = ""
        var pause = Duration.milliseconds(250)
        for attempt in 1...referrersTagAttempts {
            // Writers that collided would collide again after the same pause: the backoff spreads them
            // over a span as long as the pause, growing with the attempt.
            if attempt > 1 { try await backoff(attempt, span: pause) }
            let started = ContinuousClock.now
            do {
                let current = try await readReferrersTag(client, tag)
                if current?.entries.contains(where: { ($0["digest"] as? String) == digest }) != true {
                    var index = current?.index ?? ["schemaVersion": 2, "mediaType": MediaType.ociIndex]
                    index["manifests"] = (current?.entries ?? []) + [descriptor]
                    // Only a strong ETag can match (RFC 9110 compares If-Match strongly): a weak one
                    // would make every write fail with 412.
                    let etag = current?.etag.flatMap { $0.hasPrefix("W/") ? nil : $0 }
                    try await client.pushManifest(try json(index), mediaType: MediaType.ociIndex, reference: tag, ifMatch: etag)
                }
                guard try await referrersTagLists(client, tag, digest) else { why = "another writer replaced the index without it"; continue }
                let cycle = ContinuousClock.now - started
                pause = min(max(cycle * 3, .milliseconds(250)), .seconds(5))
                try await Task.sleep(for: pause)
                guard try await referrersTagLists(client, tag, digest) else { why = "another writer replaced the index without it"; continue }
                return
            } catch let e as ImageError where isTransient(e) {
                why = e.description
            }
        }
        throw ImageError(client.name + ":" + tag, "still does not list \(digest) after \(referrersTagAttempts) attempts to add it while other clients update it (last: \(why))")
    }

    /// The referrers tag's index, its entries and ETag; nil when there is no such tag.
    static func readReferrersTag(_ client: RegistryClient, _ tag: String) async throws -> (index: [String: Any], entries: [[String: Any]], etag: String?)? {
        guard try await client.manifestExists(tag) else { return nil }
        let fetched = try await client.fetchManifest(tag)
        _ = try ImageIndex(fetched.bytes, subject: client.name + ":" + tag)   // refuse anything that is not an index
        guard let index = (try? JSONSerialization.jsonObject(with: Data(fetched.bytes))) as? [String: Any] else {
            throw ImageError(client.name + ":" + tag, "is not a JSON object")
        }
        return (index, index["manifests"] as? [[String: Any]] ?? [], fetched.etag)
    }

    static func referrersTagLists(_ client: RegistryClient, _ tag: String, _ digest: String) async throws -> Bool {
        try await readReferrersTag(client, tag)?.entries.contains { ($0["digest"] as? String) == digest } == true
    }

    /// A failure that another try may not meet: a stale conditional write (412), the registry's own
    /// error (5xx), rate limiting, or distribution's DIGEST_INVALID for a link another writer is rewriting.
    static func isTransient(_ e: ImageError) -> Bool {
        guard let status = e.status else { return false }
        return status == 412 || status == 429 || status >= 500 || (status == 400 && e.registryCode == "DIGEST_INVALID")
    }

    /// A random wait up to `span` times the attempt (at least 25 ms): writers that collided spread out.
    static func backoff(_ attempt: Int, span: Duration = .milliseconds(100)) async throws {
        let most = max(25, Int(span.components.seconds * 1000 + span.components.attoseconds / 1_000_000_000_000_000) * attempt)
        try await Task.sleep(for: .milliseconds(Int.random(in: 25...most)))
    }

    static func retryingTransient<T>(attempts: Int, _ body: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do { return try await body() } catch let e as ImageError where isTransient(e) && attempt < attempts {
                attempt += 1
                try await backoff(attempt)
            }
        }
    }

    static func json(_ object: [String: Any]) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }
}
