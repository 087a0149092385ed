import Foundation
import Testing
import TestSupport

/// Issue 11, item 9: an identity pattern without `^…$` matches identities that merely contain it.
@Suite struct VerifyCommandTests {
    func verify(regexp: String) throws -> (code: Int32, out: String, err: String) {
        let d = Conformance.dir + "/bundle-verify/happy-path-intoto-in-dsse-v3"
        return try runProcess(provenantBinary, ["verify", d + "/bundle.sigstore.json", "--artifact", Conformance.dir + "/a.txt",
                                                "--certificate-identity-regexp", regexp, "--certificate-oidc-issuer", Conformance.issuer])
    }

    @Test func anUnanchoredIdentityPatternWarnsAndStillVerifies() throws {
        let loose = try verify(regexp: "github\\.com/sigstore-conformance/")
        #expect(loose.code == 0, "\(loose.out)\(loose.err)")
        #expect(loose.err.contains("warning: --certificate-identity-regexp 'github\\.com/sigstore-conformance/' is not anchored with ^…$"))
        #expect(loose.err.contains("'^(?:github\\.com/sigstore-conformance/)$'"))
        let half = try verify(regexp: "^https://github\\.com/sigstore-conformance/")
        #expect(half.code == 0 && half.err.contains("is not anchored"))
        let anchored = try verify(regexp: "^https://github\\.com/sigstore-conformance/.*$")
        #expect(anchored.code == 0 && !anchored.err.contains("warning"), "\(anchored.err)")
        // A branch of a top-level alternation is anchored at one end only (found by helper-100).
        let branch = try verify(regexp: "^https://github\\.com/acme/.*|sigstore-conformance.*$")
        #expect(branch.code == 0 && branch.err.contains("is not anchored"), "\(branch.err)")
        let grouped = try verify(regexp: "^(?:https://github\\.com/acme/.*|https://github\\.com/sigstore-conformance/.*)$")
        #expect(grouped.code == 0 && !grouped.err.contains("warning"), "\(grouped.err)")
        let escaped = try verify(regexp: "^https://github\\.com/sigstore-conformance/.*\\$")
        #expect(escaped.err.contains("is not anchored"), "\(escaped.err)")
        // A comment, quoting or a flag group hides an alternation or the closing `$` (review).
        for hidden in ["^(?#()|https://github\\.com/acme/.*$", "^https://github\\.com/sigstore-conformance/(?x)#$", "^\\Q(\\E|x$"] {
            #expect(try verify(regexp: hidden).err.contains("is not anchored"), "\(hidden)")
        }
        // Nested sets and a leading `]` in a set keep the alternation after them at the top (helper-121).
        for nested in ["^https://github\\.com/acme/[[a](]|.*$", "^https://github\\.com/acme/[]()]|.*$", "^https://github\\.com/acme/[^](]|.*$"] {
            let r = try verify(regexp: nested)
            #expect(r.code == 0 && r.err.contains("is not anchored"), "\(nested): \(r.err)")
        }
        // A quantified `^` is optional, so the pattern matches mid-text (found by helper-130).
        for optional in ["^?github\\.com/sigstore-conformance/.*$", "^*github\\.com/sigstore-conformance/.*$", "^{0}github\\.com/sigstore-conformance/.*$"] {
            let r = try verify(regexp: optional)
            #expect(r.code == 0 && r.err.contains("is not anchored"), "\(optional): \(r.err)")
        }
        let set = try verify(regexp: "^https://github\\.com/sigstore-conformance/[[a-z]-]+/.*$")
        #expect(set.code == 0 && !set.err.contains("warning"), "\(set.err)")
    }

    /// A pattern that does not compile is a usage error (exit 2), not a failed verification (found by helper-100).
    @Test func anInvalidIdentityPatternIsAUsageError() throws {
        let bad = try verify(regexp: "^(abc$")
        #expect(bad.code == 2 && bad.err.contains("not a valid regular expression"), "\(bad.code) \(bad.out) \(bad.err)")
    }
}
