import Catalog
import ProvenantCore
import Testing

/// `InputRedaction.scrub` splits packages over the cores; what it gives must be what scrubbing them one
/// by one in order gives, renames of dependency edges included (the last package wins, as in order).
@Suite struct ParallelScrubTests {
    /// The one-by-one loop the parallel scrub replaced.
    static func oldScrub(_ packages: inout [Package]) {
        var renamed: [String: String] = [:]
        for i in packages.indices {
            let old = packages[i].ref
            InputRedaction.scrub(&packages[i])
            let new = packages[i].ref
            if new != old { renamed[old] = new }
        }
        guard !renamed.isEmpty else { return }
        for i in packages.indices where packages[i].dependsOn.contains(where: { renamed[$0] != nil }) {
            packages[i].dependsOn = packages[i].dependsOn.map { renamed[$0] ?? $0 }
        }
    }

    @Test func parallelScrubMatchesTheOneByOneLoop() {
        let token = "ghp_R8x2Kq9ZpL4mT7vW1nB5cY3hJ6dF0sA2gE8k"
        func pkg(_ i: Int, namespace: String? = nil, deps: [String] = []) -> Package {
            let v = i % 13 == 0 ? "1.0.0-\(token)" : "1.0.\(i)"
            return Package(ecosystem: .npm, name: "p\(i)", version: v, purl: PackageURL(type: "npm", namespace: namespace, name: "p\(i)", version: v),
                           dependsOn: deps, foundBy: "t")
        }
        // Ordinary: secrets in some versions, dependencies across the shares.
        var a = (0..<3000).map { i in pkg(i, deps: [pkg((i * 7 + 1) % 3000).ref, pkg((i + 1500) % 3000).ref]) }
        var b = a
        InputRedaction.scrub(&a); Self.oldScrub(&b)
        #expect(a == b, "ordinary packages: parallel and sequential differ")
        // Two packages with one ref that scrub to two refs (purls render empty namespace segments away),
        // in different shares: the old loop renamed to the later one, the parallel one to the earlier.
        let nsA = "https://u:\(token)@h", nsB = "https:/u:\(token)@h"
        var c = (0..<1024).map { pkg($0 + 1) }
        c[0] = Package(ecosystem: .npm, name: "x", version: "1", purl: PackageURL(type: "npm", namespace: nsA, name: "x", version: "1"), foundBy: "t")
        c[1000] = Package(ecosystem: .npm, name: "x", version: "1", purl: PackageURL(type: "npm", namespace: nsB, name: "x", version: "1"), foundBy: "t")
        #expect(c[0].ref == c[1000].ref)
        c[500].dependsOn = [c[0].ref]
        var d = c
        InputRedaction.scrub(&c); Self.oldScrub(&d)
        #expect(c[500].dependsOn == d[500].dependsOn)
    }

    /// A package database's file list is input too: a token written as a RECORD path reached the SBOM's
    /// file components whole (found by helper-135). Digests are kept.
    /// A purl qualifier named for a credential is masked, however plain its value; standard and
    /// look-alike names are kept, since they are part of the package's identity (helper-161, helper-162).
    @Test func qualifiersNamedForCredentialsAreMasked() {
        let masked = ["password", "db_password", "passphrase", "passwort", "pass", "pw", "access_token", "client_secret", "x-api-key",
                      "signing_key", "ssh_key", "authkey", "bearer", "jwt", "token"]
        let kept = ["checksum", "download_url", "repository_url", "vcs_url", "key_id", "tokenizer", "token_type", "signature_url",
                    "credential_helper", "secret_ref", "author", "bypass", "arch", "distro", "upstream"]
        for name in masked + kept {
            let purl = PackageURL(type: "npm", name: "x", version: "1.0.0", qualifiers: [name: "Zq9PlainValue42"])
            let shown = InputRedaction.scrub(purl).description
            #expect(shown.contains("Zq9PlainValue42") == kept.contains(name), "\(name): \(shown)")
        }
    }

    @Test func filePathsAreRedacted() {
        let token = "ghp_R8x2Kq9ZpL4mT7vW1nB5cY3hJ6dF0sA2gE8k"
        let digest = Digest(.sha256, String(repeating: "ab", count: 32))
        var p = [Package(ecosystem: .pypi, name: "foo", version: "1.0", purl: PackageURL(type: "pypi", name: "foo", version: "1.0"),
                         files: [PackageFile(path: "foo/__init__.py", digest: digest), PackageFile(path: token, digest: nil),
                                 PackageFile(path: "https://bob:hunter2pass@example.com/x", digest: digest),
                                 PackageFile(path: "site-packages/\(token)/x.py", digest: digest),
                                 PackageFile(path: "usr/share/doc/-----BEGIN OPENSSH PRIVATE KEY-----", digest: nil)], foundBy: "t")]
        InputRedaction.scrub(&p)
        let paths = p[0].files.map(\.path)
        #expect(paths.contains("foo/__init__.py") && !paths.contains { $0.contains(token) || $0.contains("hunter2pass") }, "\(paths)")
        #expect(p[0].files.filter { $0.digest == digest }.count == 3)
        #expect(paths.contains("REDACTED.py"), "a token between directories: \(paths)")
    }
}
