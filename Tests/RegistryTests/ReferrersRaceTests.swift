import Foundation
import Testing
import Catalog
import ProvenantCore
import TestSupport

/// Writers racing on one referrers tag (`sha256-<hex>`), against distribution 2.8, which has no
/// referrers API and ignores If-Match: every attachment must end up in the index.
@Suite(.serialized) struct ReferrersRaceTests {
    static let writers = 8

    /// Eight in-process attaches at once, for each of three subjects: each subject's index lists all eight.
    @Test func concurrentAttachesAllLandInTheReferrersTag() async throws {
        let s = try ImageAttestationTests.setup("referrers-race")
        defer { s.stop() }
        try Harness.push(s.images.layout, tag: "amd", to: "\(s.host)/team/app:amd")
        try Harness.push(s.images.layout, tag: "arm", to: "\(s.host)/team/app:arm")
        try Harness.push(s.images.layout, tag: "multi", to: "\(s.host)/team/app:multi", all: true)
        for tag in ["amd", "arm", "multi"] {
            let subject = try await s.client.fetchManifest(tag)
            let client = s.client
            let attached = try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<Self.writers {
                    group.addTask {
                        try await ReferrerAttachment.attach(client, subject: subject, artifactType: MediaType.sigstoreBundle,
                                                            payloadMediaType: MediaType.sigstoreBundle,
                                                            payload: Array(#"{"writer":\#(i),"subject":"\#(tag)"}"#.utf8))
                    }
                }
                var out: Set<String> = []
                for try await d in group { out.insert(d) }
                return out
            }
            #expect(attached.count == Self.writers)
            let listed = Set(try await s.client.referrers(of: subject.digest, artifactType: MediaType.sigstoreBundle).map(\.digest))
            #expect(listed == attached, "\(tag): \(attached.subtracting(listed).count) of \(Self.writers) attachments lost from the referrers tag")
        }
    }

    /// The same race between separate `provenant attest --image --push` processes.
    @Test func concurrentAttestProcessesAllLandInTheReferrersTag() async throws {
        let s = try ImageAttestationTests.setup("referrers-race-cli")
        defer { s.stop() }
        try Harness.push(s.images.layout, tag: "amd", to: "\(s.host)/team/app:1")
        let image = try await s.client.fetchManifest("1")
        let signer = try s.key("signer")
        let results = try await withThrowingTaskGroup(of: (code: Int32, out: String, err: String).self) { group in
            for _ in 0..<Self.writers {
                group.addTask { try s.attest("registry:\(s.host)/team/app:1", key: signer) }
            }
            var out: [(code: Int32, out: String, err: String)] = []
            for try await r in group { out.append(r) }
            return out
        }
        for r in results { #expect(r.code == 0, "\(r.err)") }
        let attached = Set(results.map { $0.out.trimmingCharacters(in: .whitespacesAndNewlines) })
        #expect(attached.count == Self.writers, "each attestation is its own artifact (signatures differ)")
        let listed = Set(try await s.client.referrers(of: image.digest, artifactType: MediaType.sigstoreBundle).map(\.digest))
        #expect(listed == attached, "\(attached.subtracting(listed).count) of \(Self.writers) attestations lost from the referrers tag")
    }

    /// A registry that honours If-Match: the tag write carries the ETag it was read with, a 412 (another
    /// writer's entry came first) is met by reading again and merging, and that entry is kept.
    @Test func aStaleConditionalWriteIsMergedAgainAndKeepsTheOtherEntry() async throws {
        let dir = try ScratchDirectory("referrers-if-match")
        let (helper, client, subject) = try await Harness.conditionalRegistry("race", in: dir.path)
        defer { helper.stop() }
        #expect(subject.etag == "\"\(subject.digest)\"")
        let first = try await ReferrerAttachment.attach(client, subject: subject, artifactType: MediaType.sigstoreBundle,
                                                        payloadMediaType: MediaType.sigstoreBundle, payload: Array("first".utf8))
        let second = try await ReferrerAttachment.attach(client, subject: subject, artifactType: MediaType.sigstoreBundle,
                                                         payloadMediaType: MediaType.sigstoreBundle, payload: Array("second".utf8))
        let tag = RegistryClient.referrersTag(subject.digest)
        let index = try ImageIndex(try await client.fetchManifest(tag).bytes, subject: tag)
        #expect(Set(index.manifests.map(\.digest)) == [first, second, "sha256:" + String(repeating: "f", count: 64)])
        let log = (try? String(contentsOfFile: dir.path + "/helper.log", encoding: .utf8)) ?? ""
        let writes = log.split(separator: "\n").filter { $0.hasPrefix("PUT \(tag) ") }
        #expect(writes.count == 3, "\(log)")
        #expect(writes.first?.hasSuffix("if-match=- -> 201") == true, "the first write creates the tag: nothing to match")
        #expect(writes.dropFirst().allSatisfy { $0.contains("if-match=\"sha256:") }, "\(log)")
        #expect(writes.dropFirst().first?.hasSuffix("-> 412") == true && writes.last?.hasSuffix("-> 201") == true, "\(log)")
    }

    /// A registry that never keeps the tag written: after the bounded attempts, one line naming the tag.
    @Test func aTagThatNeverKeepsTheEntryFailsAfterBoundedAttempts() async throws {
        let dir = try ScratchDirectory("referrers-forget")
        let (helper, client, subject) = try await Harness.conditionalRegistry("forget", in: dir.path)
        defer { helper.stop() }
        let tag = RegistryClient.referrersTag(subject.digest)
        do {
            _ = try await ReferrerAttachment.attach(client, subject: subject, artifactType: MediaType.sigstoreBundle,
                                                    payloadMediaType: MediaType.sigstoreBundle, payload: Array("lost".utf8))
            Issue.record("an entry the registry never keeps was reported attached")
        } catch let e as ImageError {
            #expect(e.description.contains("\(client.name):\(tag): still does not list sha256:") && e.description.contains("after 8 attempts"), "\(e)")
            #expect(!e.description.contains("\n"))
        }
        let log = (try? String(contentsOfFile: dir.path + "/helper.log", encoding: .utf8)) ?? ""
        #expect(log.split(separator: "\n").filter { $0.hasPrefix("PUT \(tag) ") }.count == 8, "\(log)")
    }
}
