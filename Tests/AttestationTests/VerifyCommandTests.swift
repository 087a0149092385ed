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
        #expect(loose.err.contains("'^github\\.com/sigstore-conformance/$'"))
        let half = try verify(regexp: "^https://github\\.com/sigstore-conformance/")
        #expect(half.code == 0 && half.err.contains("is not anchored"))
        let anchored = try verify(regexp: "^https://github\\.com/sigstore-conformance/.*$")
        #expect(anchored.code == 0 && !anchored.err.contains("warning"), "\(anchored.err)")
    }
}
