import Crypto
import Foundation
import Testing
import Catalog
import ProvenantCore
import TestSupport

/// The registry client against the real distribution registry (`docker-registry` 2.8), started by
/// each test on a free loopback port, with images pushed by skopeo. One at a time: each test runs its
/// own registry, and two cores are few.
@Suite(.serialized) struct RegistryTests {
    static func options(_ port: Int, _ credentials: [String: RegistryCredential] = [:], more: [String] = []) -> RegistryOptions {
        RegistryOptions(insecureHosts: ["127.0.0.1:\(port)"] + more, credentials: RegistryCredentials(credentials))
    }

    static func catalog(_ target: String, options: RegistryOptions, platform: ImagePlatform = .linuxAMD64) async throws -> Inventory {
        try await Cataloger().catalog(target, platform: platform, openRegistry: { try RegistryImageSource($0, options: options) })
    }

    static func purls(_ inv: Inventory) -> Set<String> { Set(inv.packages.map(\.purl.description)) }

    /// `provenant sbom TARGET --format json` with a HOME of the test's own (no stray Docker config).
    static func cli(_ args: [String], home: String, env: [String: String] = [:]) throws -> (code: Int32, out: String, err: String) {
        try runProcess(provenantBinary, ["sbom"] + args + ["--format", "json"],
                       env: ["HOME": home, "DOCKER_CONFIG": "", "PROVENANT_REGISTRY_AUTH": "", "SOURCE_DATE_EPOCH": "1700000000"].merging(env) { $1 })
    }

    @Test func pullByTagAndByDigestGiveTheLayoutsPackages() async throws {
        let images = try TestImages.shared()
        let dir = try ScratchDirectory("registry-pull")
        let (registry, port) = try Harness.startRegistry(in: dir.path)
        defer { registry.stop() }
        let host = "127.0.0.1:\(port)"
        try Harness.push(images.layout, tag: "amd", to: "\(host)/team/app:1.0")
        let pushed = try Harness.remoteDigest("\(host)/team/app:1.0")

        let local = try await Cataloger().catalog("oci-dir:\(images.layout):amd")
        #expect(Self.purls(local).contains { $0.hasPrefix("pkg:deb/debian/hello@2.10-3") }, "the layout itself must give the package")

        let started = Date()
        let byTag = try await Self.catalog("registry:\(host)/team/app:1.0", options: Self.options(port))
        print("pull of a small image by tag: \(Int(Date().timeIntervalSince(started) * 1000)) ms")
        #expect(Self.purls(byTag) == Self.purls(local))
        let info = try #require(byTag.image)
        #expect(info.name == "\(host)/team/app")
        #expect(info.repositoryURL == "\(host)/team/app")
        #expect(info.tag == "1.0")
        #expect(info.pinnedByDigest == false)
        #expect(info.manifestDigest == pushed)
        #expect(info.reference == "registry:\(host)/team/app:1.0")

        let byDigest = try await Self.catalog("registry:\(host)/team/app@\(pushed)", options: Self.options(port))
        #expect(Self.purls(byDigest) == Self.purls(local))
        #expect(byDigest.image?.pinnedByDigest == true)
        #expect(byDigest.image?.tag == nil)
        #expect(byDigest.image?.manifestDigest == pushed)

        // A digest the registry does not hold is not found; the tag beside a digest does not rescue it.
        let absent = "sha256:" + String(repeating: "ab", count: 32)
        await #expect(throws: ImageError.self) { try await Self.catalog("registry:\(host)/team/app:1.0@\(absent)", options: Self.options(port)) }

        // The CLI reads it too, and says what the image is.
        let r = try Self.cli(["registry:\(host)/team/app:1.0", "--insecure-registry", host], home: dir.path)
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("\"name\" : \"hello\"") && r.out.contains("\"version\" : \"2.10-3\""))
        #expect(r.out.contains("\"target\" : \"registry:\(host)/team/app:1.0\""))
    }

    @Test func anIndexResolvesToThePlatformAsked() async throws {
        let images = try TestImages.shared()
        let dir = try ScratchDirectory("registry-index")
        let (registry, port) = try Harness.startRegistry(in: dir.path)
        defer { registry.stop() }
        let host = "127.0.0.1:\(port)"
        try Harness.push(images.layout, tag: "multi", to: "\(host)/multi:2", all: true)
        #expect(try Harness.remoteDigest("\(host)/multi:2") == images.indexDigest)

        let amd = try await Self.catalog("registry:\(host)/multi:2", options: Self.options(port))
        #expect(amd.packages.map(\.name) == ["hello"])
        #expect(amd.image?.manifestDigest == images.amdManifest)
        #expect(amd.image?.platform == "linux/amd64")

        let arm = try await Self.catalog("registry:\(host)/multi:2", options: Self.options(port), platform: ImagePlatform("linux/arm64")!)
        #expect(arm.packages.map(\.name) == ["armonly"])
        #expect(arm.image?.manifestDigest == images.armManifest)

        // Pinned to the index's digest, the platform is still chosen inside it.
        let pinned = try await Self.catalog("registry:\(host)/multi@\(images.indexDigest)", options: Self.options(port), platform: ImagePlatform("linux/arm64")!)
        #expect(pinned.image?.manifestDigest == images.armManifest)
        #expect(pinned.image?.pinnedByDigest == true)

        let error = await #expect(throws: ImageError.self) {
            try await Self.catalog("registry:\(host)/multi:2", options: Self.options(port), platform: ImagePlatform("linux/s390x")!)
        }
        #expect(error?.description.contains("linux/amd64, linux/arm64") == true, "\(String(describing: error))")

        let r = try Self.cli(["registry:\(host)/multi:2", "--insecure-registry", host, "--platform", "linux/arm64"], home: dir.path)
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("\"name\" : \"armonly\"") && !r.out.contains("\"name\" : \"hello\""))
    }

    @Test func basicAuthUsesTheCredentialsForTheHost() async throws {
        let images = try TestImages.shared()
        let dir = try ScratchDirectory("registry-basic")
        let password = "s3cret-Basic-\(UUID().uuidString.prefix(8))"
        try Harness.run("/usr/bin/htpasswd", ["-Bbc", dir.path + "/htpasswd", "tester", password])
        let (registry, port) = try Harness.startRegistry(in: dir.path, auth: "  htpasswd:\n    realm: provenant-test\n    path: \(dir.path)/htpasswd\n")
        defer { registry.stop() }
        let host = "127.0.0.1:\(port)"
        try Harness.push(images.layout, tag: "amd", to: "\(host)/private/app:1", creds: "tester:\(password)")

        let anonymous = await #expect(throws: ImageError.self) { try await Self.catalog("registry:\(host)/private/app:1", options: Self.options(port)) }
        #expect(anonymous?.message.contains("needs credentials") == true, "\(String(describing: anonymous))")

        let wrong = await #expect(throws: ImageError.self) {
            try await Self.catalog("registry:\(host)/private/app:1", options: Self.options(port, [host: .basic(user: "tester", password: "wrong-password")]))
        }
        #expect(wrong?.message.contains("did not accept the credentials") == true, "\(String(describing: wrong))")
        #expect(wrong?.description.contains("wrong-password") == false)

        // Credentials for another host are not sent here.
        await #expect(throws: ImageError.self) {
            try await Self.catalog("registry:\(host)/private/app:1", options: Self.options(port, ["127.0.0.1:1": .basic(user: "tester", password: password)]))
        }

        let inv = try await Self.catalog("registry:\(host)/private/app:1", options: Self.options(port, [host: .basic(user: "tester", password: password)]))
        #expect(inv.packages.map(\.name) == ["hello"])

        // The CLI: from PROVENANT_REGISTRY_AUTH, and from a Docker config whose helpers are noted, not run.
        let env = try Self.cli(["registry:\(host)/private/app:1", "--insecure-registry", host], home: dir.path,
                               env: ["PROVENANT_REGISTRY_AUTH": "\(host)=tester:\(password)"])
        #expect(env.code == 0, "\(env.err)")
        #expect(env.out.contains("hello"))
        #expect(!env.out.contains(password) && !env.err.contains(password))

        let dockerDir = dir.path + "/docker"
        try FileManager.default.createDirectory(atPath: dockerDir, withIntermediateDirectories: true)
        let auth = Data("tester:\(password)".utf8).base64EncodedString()
        try #"{"auths":{"http://\#(host)/v2/":{"auth":"\#(auth)"}},"credHelpers":{"gcr.io":"gcloud"}}"#
            .write(toFile: dockerDir + "/config.json", atomically: true, encoding: .utf8)
        let docker = try Self.cli(["registry:\(host)/private/app:1", "--insecure-registry", host], home: dir.path, env: ["DOCKER_CONFIG": dockerDir])
        #expect(docker.code == 0, "\(docker.err)")
        #expect(docker.err.contains("note:") && docker.err.contains("credential helpers"))
        #expect(!docker.err.contains(password) && !docker.err.contains(auth))

        let bad = try Self.cli(["registry:\(host)/private/app:1", "--insecure-registry", host], home: dir.path,
                               env: ["PROVENANT_REGISTRY_AUTH": "tester:\(password)"])
        #expect(bad.code == 2)
        #expect(bad.err.contains("PROVENANT_REGISTRY_AUTH entry 1 is not HOST=USER:PASSWORD"), "\(bad.err)")
        #expect(!bad.err.contains(password))
    }

    /// The registry in `auth: token` mode trusts only JWTs signed by the issuer's certificate
    /// (`rootcertbundle`); `registry_helper.py token` is that issuer, checking Basic credentials.
    @Test func bearerTokensComeFromTheRealm() async throws {
        let images = try TestImages.shared()
        let dir = try ScratchDirectory("registry-token")
        try Harness.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir.path + "/issuer.key",
                                             "-out", dir.path + "/issuer.crt", "-days", "2", "-subj", "/CN=provenant-test-issuer"])
        let tokenLog = dir.path + "/token.log"
        let (issuer, tokenPort) = try Harness.startHelper("token", in: dir.path, [tokenLog, dir.path + "/issuer.key", dir.path + "/issuer.crt",
                                                                                  "test-issuer", "test-service", "alice:wonderland-pass", "bob:builder-pass"])
        defer { issuer.stop() }
        let (registry, port) = try Harness.startRegistry(in: dir.path, auth: """
              token:
                realm: http://127.0.0.1:\(tokenPort)/token
                service: test-service
                issuer: test-issuer
                rootcertbundle: \(dir.path)/issuer.crt

            """)
        defer { registry.stop() }
        let host = "127.0.0.1:\(port)", realm = "127.0.0.1:\(tokenPort)"
        try Harness.push(images.layout, tag: "amd", to: "\(host)/team/app:1", creds: "alice:wonderland-pass")
        try? FileManager.default.removeItem(atPath: tokenLog)

        // The realm is plain HTTP: it must be allowed like the registry, or no token is asked for.
        let plainRealm = await #expect(throws: ImageError.self) {
            try await Self.catalog("registry:\(host)/team/app:1", options: Self.options(port, [host: .basic(user: "alice", password: "wonderland-pass")]))
        }
        #expect(plainRealm?.message.contains("--insecure-registry \(realm)") == true, "\(String(describing: plainRealm))")
        #expect(!FileManager.default.fileExists(atPath: tokenLog))

        let anonymous = await #expect(throws: ImageError.self) {
            try await Self.catalog("registry:\(host)/team/app:1", options: Self.options(port, more: [realm]))
        }
        #expect(anonymous?.message.contains("needs credentials") == true, "\(String(describing: anonymous))")

        let inv = try await Self.catalog("registry:\(host)/team/app:1",
                                         options: Self.options(port, [host: .basic(user: "alice", password: "wonderland-pass")], more: [realm]))
        #expect(inv.packages.map(\.name) == ["hello"])
        let log = (try? String(contentsOfFile: tokenLog, encoding: .utf8)) ?? ""
        #expect(log.contains("token user=- scope=repository:team/app:pull"), "without credentials, an anonymous token is asked for: \(log)")
        #expect(log.contains("token user=alice scope=repository:team/app:pull"), "\(log)")

        // An issuer answering `access_token` (the OAuth2 field) works the same.
        let oauth = try await Self.catalog("registry:\(host)/team/app:1",
                                           options: Self.options(port, [host: .basic(user: "bob", password: "builder-pass")], more: [realm]))
        #expect(oauth.packages.map(\.name) == ["hello"])

        // A token for pushing is asked for with push scope, and the registry accepts what it grants.
        let client = try RegistryClient(host: host, repository: "team/app",
                                        options: Self.options(port, [host: .basic(user: "alice", password: "wonderland-pass")], more: [realm]))
        let digest = try await client.pushBlob(Array("pushed with a bearer token\n".utf8))
        #expect(try await client.blobExists(digest))
        let after = (try? String(contentsOfFile: tokenLog, encoding: .utf8)) ?? ""
        #expect(after.contains("scope=repository:team/app:pull,push"), "\(after)")
    }

    @Test func aTamperedBlobFailsItsDigestCheck() async throws {
        let images = try TestImages.shared()
        let dir = try ScratchDirectory("registry-tamper")
        let (registry, port) = try Harness.startRegistry(in: dir.path)
        defer { registry.stop() }
        let host = "127.0.0.1:\(port)"
        try Harness.push(images.layout, tag: "amd", to: "\(host)/team/app:1")
        let client = try RegistryClient(host: host, repository: "team/app", options: Self.options(port))
        let fetched = try await client.fetchManifest("1")
        let manifest = try ImageManifest(fetched.bytes, subject: "test")
        let layer = try #require(manifest.layers.first)

        // One byte of the layer changed in the registry's storage, its size kept.
        let path = Harness.storedBlob(dir.path + "/storage", layer.digest)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let r = try Self.cli(["registry:\(host)/team/app:1", "--insecure-registry", host], home: dir.path)
        #expect(r.code == 2)
        #expect(r.err.contains("\(host)/team/app@\(layer.digest): has digest sha256:"), "\(r.err)")
        #expect(r.err.contains("not the \(layer.digest) it is named by"))
        #expect(r.err.split(separator: "\n").count == 1, "one line: \(r.err)")

        // The manifest's own bytes changed: the registry still sends the digest it filed them under.
        let manifestPath = Harness.storedBlob(dir.path + "/storage", fetched.digest)
        let m = try String(contentsOfFile: manifestPath, encoding: .utf8)
        #expect(m.contains("\"schemaVersion\":2"))
        try m.replacingOccurrences(of: "\"schemaVersion\":2", with: "\"schemaVersion\": 2").write(toFile: manifestPath, atomically: false, encoding: .utf8)
        let error = await #expect(throws: ImageError.self) { try await Self.catalog("registry:\(host)/team/app:1", options: Self.options(port)) }
        #expect(error?.message.contains("the registry says it has") == true, "\(String(describing: error))")
    }

    @Test func plainHTTPNeedsInsecureRegistry() async throws {
        let images = try TestImages.shared()
        let dir = try ScratchDirectory("registry-https")
        let (registry, port) = try Harness.startRegistry(in: dir.path)
        defer { registry.stop() }
        let host = "127.0.0.1:\(port)"
        try Harness.push(images.layout, tag: "amd", to: "\(host)/team/app:1")

        let before = registry.log.count
        let r = try Self.cli(["registry:\(host)/team/app:1"], home: dir.path)
        #expect(r.code == 2)
        #expect(r.err.contains("--insecure-registry \(host)"), "\(r.err)")
        #expect(!r.out.contains("hello"))
        // HTTPS was tried and nothing was asked for over plain HTTP.
        usleep(300_000)
        let after = String(registry.log.dropFirst(before))
        #expect(!after.contains("/v2/"), "\(after.suffix(1500))")

        // Allowing another port of the host is not allowing this one.
        let other = try Self.cli(["registry:\(host)/team/app:1", "--insecure-registry", "127.0.0.1:\(port == 65535 ? 1 : port + 1)"], home: dir.path)
        #expect(other.code == 2)

        let bad = try runProcess(provenantBinary, ["sbom", "registry:\(host)/team/app:1", "--insecure-registry", "http://\(host)/"])
        #expect(bad.code != 0)
        #expect(bad.err.contains("--insecure-registry takes HOST or HOST:PORT"), "\(bad.err)")
    }

    @Test func pushFetchAndReferrers() async throws {
        let images = try TestImages.shared()
        let dir = try ScratchDirectory("registry-push")
        let (registry, port) = try Harness.startRegistry(in: dir.path)
        defer { registry.stop() }
        let host = "127.0.0.1:\(port)"
        try Harness.push(images.layout, tag: "amd", to: "\(host)/team/app:1")
        let client = try RegistryClient(host: host, repository: "team/app", options: Self.options(port))
        let subject = try await client.fetchManifest("1")

        // An attestation-like artifact: a config blob, one layer, a manifest naming the image as its subject.
        let payload = Array(#"{"predicateType":"https://example.org/test"}"#.utf8)
        let empty = Array("{}".utf8)
        func uploads() -> Int { registry.log.components(separatedBy: "\"POST /v2/team/app/blobs/uploads/ ").count - 1 }
        usleep(300_000)
        let skopeoUploads = uploads()
        let payloadDigest = try await client.pushBlob(payload)
        #expect(try await client.pushBlob(payload) == payloadDigest)
        try Harness.waitFor("the upload in the access log", seconds: 5) { uploads() > skopeoUploads }
        usleep(300_000)
        #expect(uploads() == skopeoUploads + 1, "a blob the registry has is not uploaded again")
        let emptyDigest = try await client.pushBlob(empty)
        #expect(try await client.fetchBlob(payloadDigest, limit: 1024) == payload)
        await #expect(throws: ImageError.self) { try await client.fetchBlob(payloadDigest, limit: 8) }

        let artifactType = "application/vnd.provenant.test+json"
        let artifact = Array("""
        {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"\(artifactType)",\
        "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"\(emptyDigest)","size":2},\
        "layers":[{"mediaType":"application/json","digest":"\(payloadDigest)","size":\(payload.count)}],\
        "subject":{"mediaType":"\(subject.mediaType)","digest":"\(subject.digest)","size":\(subject.bytes.count)}}
        """.utf8)
        let artifactDigest = "sha256:" + Hex.encode(SHA256.hash(data: artifact))
        await #expect(throws: ImageError.self) {
            try await client.pushManifest(artifact, mediaType: MediaType.ociManifest, reference: "sha256:" + String(repeating: "0", count: 64))
        }
        #expect(try await client.pushManifest(artifact, mediaType: MediaType.ociManifest, reference: artifactDigest) == artifactDigest)
        // Cosign's convention: the attestation tagged `sha256-<hex>.att`.
        let cosignTag = RegistryClient.referrersTag(subject.digest) + ".att"
        try await client.pushManifest(artifact, mediaType: MediaType.ociManifest, reference: cosignTag)
        let byTag = try await client.fetchManifest(cosignTag)
        #expect(byTag.digest == artifactDigest && byTag.bytes == artifact && byTag.mediaType == MediaType.ociManifest)

        // distribution 2.8 has no referrers API (404): the referrers tag is read instead, absent at first.
        #expect(try await client.referrers(of: subject.digest).isEmpty)
        let index = Array("""
        {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(artifactDigest)","size":\(artifact.count),"artifactType":"\(artifactType)"}]}
        """.utf8)
        try await client.pushManifest(index, mediaType: MediaType.ociIndex, reference: RegistryClient.referrersTag(subject.digest))
        let found = try await client.referrers(of: subject.digest)
        #expect(found.map(\.digest) == [artifactDigest])
        #expect(try await client.referrers(of: subject.digest, artifactType: artifactType).count == 1)
        #expect(try await client.referrers(of: subject.digest, artifactType: "application/other").isEmpty)
        #expect(registry.log.contains("GET /v2/team/app/referrers/\(subject.digest)"), "the API is asked first")
        _ = images
    }

    /// Registries send blobs elsewhere with a redirect: credentials must not follow to another host,
    /// redirects are bounded, and a redirect to plain HTTP is refused unless that host is allowed.
    @Test func redirectsKeepCredentialsAtTheRegistry() async throws {
        let dir = try ScratchDirectory("registry-redirect")
        let blob = Array("layer bytes behind a redirect\n".utf8)
        let digest = "sha256:" + Hex.encode(SHA256.hash(data: blob))
        try Data(blob).write(to: URL(fileURLWithPath: dir.path + "/blob"))
        let log = dir.path + "/redirect.log"
        let (helper, port) = try Harness.startHelper("redirect", in: dir.path, [log, dir.path + "/blob", "carol:redirect-pass"])
        defer { helper.stop() }
        let host = "127.0.0.1:\(port)"
        let creds: [String: RegistryCredential] = [host: .basic(user: "carol", password: "redirect-pass")]

        let client = try RegistryClient(host: host, repository: "r", options: Self.options(port, creds, more: ["localhost:\(port)"]))
        #expect(try await client.fetchBlob(digest, limit: 1024) == blob)
        let lines = try String(contentsOfFile: log, encoding: .utf8)
        #expect(lines.contains("/v2/r/blobs/\(digest) auth=yes"), "\(lines)")
        #expect(lines.contains("/storage/\(digest) auth=no"), "\(lines)")
        #expect(!lines.contains("/storage/\(digest) auth=yes"), "\(lines)")

        // A layer lands in a file without a name: open, but already unlinked.
        func unlinkedFiles() -> Int {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
            return fds.filter { ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0)) ?? "").hasSuffix("(deleted)") }.count
        }
        let unlinkedBefore = unlinkedFiles()
        let stream = try await client.downloadBlob(digest, expectedSize: blob.count)
        #expect(unlinkedFiles() == unlinkedBefore + 1, "the layer is spooled to an unlinked file")
        await #expect(throws: ImageError.self, "a layer longer than its descriptor says") { try await client.downloadBlob(digest, expectedSize: blob.count - 1) }
        await #expect(throws: ImageError.self, "a layer shorter than its descriptor says") { try await client.downloadBlob(digest, expectedSize: blob.count + 1) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { b in (try? stream.read(into: b)) ?? -1 }
        #expect(Array(buffer[0..<max(0, n)]) == blob)

        // A 401 from where a redirect led is not the registry's challenge: answering it sent the
        // registry's password to a realm the storage host named (found by helper-79).
        let foreign = await #expect(throws: ImageError.self) { try await client.fetchBlob("sha256:" + String(repeating: "1", count: 64), limit: 1024) }
        #expect(foreign?.message.contains("only the registry's own challenge") == true, "\(String(describing: foreign))")
        let afterForeign = try String(contentsOfFile: log, encoding: .utf8)
        #expect(afterForeign.contains("/locked/sha256:"), "\(afterForeign)")
        #expect(!afterForeign.contains("/token"), "no token is asked of the storage host's realm: \(afterForeign)")

        // A registry echoing the credentials it was sent does not have them printed: a plain password
        // is a word to the redactor, so the client masks what it knows it sent.
        let echoed = await #expect(throws: ImageError.self) { try await client.fetchManifest("echo") }
        let said = echoed?.description ?? ""
        #expect(said.contains("no manifest for carol") && said.contains("REDACTED"), "\(said)")
        #expect(!said.contains("redirect-pass") && !said.contains(Data("carol:redirect-pass".utf8).base64EncodedString()), "\(said)")
        // Echoed in another case too (found by helper-120).
        #expect(!said.lowercased().contains("redirect-pass"), "\(said)")
        // And in a header the client quotes (found by helper-140).
        let header = await #expect(throws: ImageError.self) { try await client.fetchManifest("echo-digest") }
        #expect(header?.description.contains("Docker-Content-Digest") == true && header?.description.contains("redirect-pass") == false, "\(String(describing: header))")
        // And in a document it sends, quoted by the image reader (helper-143).
        let body = await #expect(throws: ImageError.self) { try await Self.catalog("registry:\(host)/r:echo-body", options: Self.options(port, creds)) }
        #expect(body?.description.contains("redirect-pass") == false && body?.description.contains("REDACTED") == true, "\(String(describing: body))")

        // `verify` on an image whose referrers the registry lists with the password as a digest: one
        // NOT CHECKED outcome, masked, and the run goes on to the cosign tag (helper-160).
        let keys = dir.path + "/k"
        #expect(try runProcess(provenantBinary, ["key", "generate", "-o", keys]).code == 0)
        let env = ["PROVENANT_REGISTRY_AUTH": "\(host)=carol:redirect-pass"]
        let verify = { (tag: String) in try runProcess(provenantBinary, ["verify", "registry:\(host)/r:\(tag)", "--key", keys + ".pub", "--insecure-registry", host], env: env) }
        let echoedList = try verify("echo-subject")
        #expect(echoedList.code == 1 && echoedList.out.contains("NOT CHECKED") && echoedList.out.contains("the referrers could not be listed") && echoedList.out.contains("REDACTED"), "\(echoedList)")
        #expect(!(echoedList.out + echoedList.err).lowercased().contains("redirect-pass"), "\(echoedList)")
        // Referrers on the API's second page are read: the bundle there is tried (and cannot be fetched).
        let paged = try verify("paged-subject")
        #expect(paged.code == 1 && paged.out.contains("referrer sha256:" + String(repeating: "2", count: 64)), "\(paged)")
        #expect(try String(contentsOfFile: log, encoding: .utf8).contains("?page=2"))
        // A page naming itself as the next: its referrer is still tried, and the listing said to be
        // incomplete, not read sixteen times and thrown away (review, helper-162).
        let looped = try verify("looped-subject")
        #expect(looped.code == 1 && looped.out.contains("referrer sha256:" + String(repeating: "3", count: 64))
                && looped.out.contains("names a page it has already sent as the next"), "\(looped)")

        let loop = await #expect(throws: ImageError.self) { try await client.fetchBlob("sha256:" + String(repeating: "0", count: 64), limit: 1024) }
        #expect(loop?.message.contains("redirected more than 5 times") == true, "\(String(describing: loop))")
        let looping = try RegistryClient(host: host, repository: "r", options: Self.options(port, creds))
        let refused = await #expect(throws: ImageError.self) { try await looping.fetchBlob(digest, limit: 1024) }
        #expect(refused?.message.contains("--insecure-registry localhost:\(port)") == true, "\(String(describing: refused))")
    }
}

extension RegistryTests {
    /// AsyncHTTPClient's deadline ends with the head, and its read timeout bounds only the silence
    /// between reads: a registry sending bodies a byte at a time held a run for as long as the body's
    /// size limit allowed (here 14 hours for a manifest, 64 referrers' worth for `verify`). The run's
    /// `--registry-timeout` bounds the reading of every body too.
    @Test func aDrippingRegistryIsGivenUpOnAtTheRunsTimeout() async throws {
        let dir = try ScratchDirectory("registry-drip")
        let (helper, port) = try Harness.startHelper("drip", in: dir.path, [])
        defer { helper.stop() }
        let host = "127.0.0.1:\(port)"
        let clock = ContinuousClock()
        for attempt in ["manifest", "blob", "layer"] {
            // A client each, so each reads a body for the whole 2 s rather than finding the time gone.
            var options = RegistryOptions(insecureHosts: [host])
            options.giveUp(after: 2, text: "2s")
            let client = try RegistryClient(host: host, repository: "r", options: options)
            let start = clock.now
            let stopped = await #expect(throws: ImageError.self, "\(attempt)") {
                switch attempt {
                case "manifest": _ = try await client.fetchManifest("v1")
                case "blob": _ = try await client.fetchBlob("sha256:" + String(repeating: "a", count: 64), limit: 1 << 20)
                default: _ = try await client.downloadBlob("sha256:" + String(repeating: "b", count: 64), expectedSize: 100_000)
                }
            }
            #expect(stopped?.message.contains("--registry-timeout of 2s ran out") == true, "\(attempt): \(String(describing: stopped))")
            #expect(clock.now - start < .seconds(20), "\(attempt) took \(clock.now - start)")
            #expect(clock.now - start >= .seconds(1), "\(attempt) was read for the time it was given: \(clock.now - start)")
        }
    }
}

/// The parsers of what registries and users hand the client, without a registry.
@Suite struct RegistryParsingTests {
    @Test func challengesParseIntoSchemesAndParameters() {
        let hub = AuthChallenge.parse(#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push""#)
        #expect(hub == [AuthChallenge(scheme: "bearer", parameters: ["realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                                                                      "scope": "repository:library/alpine:pull,push"])])
        let two = AuthChallenge.parse(#"Basic realm="a, b", BEARER Realm=https://x.example/t , error="insufficient_scope""#)
        #expect(two.map(\.scheme) == ["basic", "bearer"])
        #expect(two.first?.parameters["realm"] == "a, b")
        #expect(two.last?.parameters == ["realm": "https://x.example/t", "error": "insufficient_scope"])
        #expect(AuthChallenge.parse(#"Bearer realm="q\"uote""#).first?.parameters["realm"] == #"q"uote"#)
        #expect(AuthChallenge.parse("Negotiate abc==").map(\.scheme).first == "negotiate")
        #expect(AuthChallenge.parse("").isEmpty && AuthChallenge.parse(" , ,").isEmpty)
        #expect(AuthChallenge.parse(String(repeating: "Basic, ", count: 100)).count == 16)
    }

    @Test func theEnvironmentVariableTiesCredentialsToHosts() throws {
        let creds = try RegistryCredentials.parseEnvironment("127.0.0.1:5000=u:p:with:colons, Index.Docker.io=hub:pw")
        #expect(creds["127.0.0.1:5000"] == .basic(user: "u", password: "p:with:colons"))
        #expect(creds["docker.io"] == .basic(user: "hub", password: "pw"))
        for bad in ["user:secretpassword", "=u:p", "host.example=:p", "host.example=u:", "a.example=u:p,a.example=v:q", "h/x=u:p"] {
            #expect(throws: RegistryAuthError.self, "\(bad)") { try RegistryCredentials.parseEnvironment(bad) }
        }
        do {
            _ = try RegistryCredentials.parseEnvironment("user:secretpassword")
        } catch {
            #expect(!error.description.contains("secretpassword"))
        }
    }

    @Test func dockerConfigGivesAuthsAndNotesHelpers() {
        let auth = Data("me:pa:ss".utf8).base64EncodedString()
        let json = #"{"auths":{"https://index.docker.io/v1/":{"auth":"\#(auth)"},"reg.example:5000":{"username":"u","password":"p"},"#
            + #""ghcr.io":{"auth":"","identitytoken":"refresh-me"},"bad.example":{"auth":"!!notbase64"}},"credsStore":"desktop"}"#
        let (creds, notes) = RegistryCredentials.parseDockerConfig(Array(json.utf8), name: "config.json")
        #expect(creds["docker.io"] == .basic(user: "me", password: "pa:ss"))
        #expect(creds["reg.example:5000"] == .basic(user: "u", password: "p"))
        #expect(creds["ghcr.io"] == .identityToken("refresh-me"))
        #expect(creds["bad.example"] == nil)
        #expect(notes.count == 2 && notes.allSatisfy { !$0.contains("refresh-me") && !$0.contains(auth) })
        #expect(RegistryCredentials(creds).credential(for: "registry-1.docker.io") == .basic(user: "me", password: "pa:ss"))
        #expect(RegistryCredentials.parseDockerConfig(Array("{".utf8), name: "c").notes.count == 1)
        #expect("\(RegistryCredential.basic(user: "me", password: "pa:ss"))".contains("pa:ss") == false)
    }

    @Test func hostsAreOnlyHosts() throws {
        for good in ["127.0.0.1:5000", "registry.example", "localhost:1", "[::1]:5000", "[::1]", "a-b.example:65535"] {
            #expect(RegistryOptions.validInsecureHost(good), "\(good)")
        }
        for bad in ["user:pw@host", "host/path", "host:0", "host:65536", "http://host", "host?x", "", ".host", "host:", "[zz]:1"] {
            #expect(!RegistryOptions.validInsecureHost(bad), "\(bad)")
        }
        #expect(throws: ImageError.self) { try RegistryClient(host: "u:p@evil.example", repository: "r", options: RegistryOptions()) }
        #expect(throws: ImageError.self) { try RegistryClient(host: "ok.example", repository: "../x", options: RegistryOptions()) }
        let options = RegistryOptions(insecureHosts: ["plain.example", "127.0.0.1:5000"])
        #expect(options.allowsPlainHTTP("plain.example:8080") && options.allowsPlainHTTP("127.0.0.1:5000"))
        #expect(!options.allowsPlainHTTP("127.0.0.1:5001") && !options.allowsPlainHTTP("other.example:80"))
    }
}
