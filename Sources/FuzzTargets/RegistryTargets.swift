import Catalog
import Foundation
import ProvenantCore

/// The registry client's parsers of what a registry or the user's environment hands it.
enum RegistryTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget("www-authenticate", "a registry's WWW-Authenticate challenges (Bearer realm/service/scope, Basic)") { bytes in
            let challenges = AuthChallenge.parse(String(decoding: bytes, as: UTF8.self))
            // What the client relies on: bounded counts, lower-cased schemes.
            precondition(challenges.count <= 16 && challenges.allSatisfy { $0.parameters.count <= 32 && $0.scheme == $0.scheme.lowercased() })
        },
        FuzzTarget("docker-config", "~/.docker/config.json: auths (auth, username/password, identitytoken), credential helpers") { bytes in
            let (credentials, notes) = RegistryCredentials.parseDockerConfig(bytes, name: "config.json")
            _ = RegistryCredentials(credentials, notes: notes).hosts
        },
        FuzzTarget("registry-auth-env", "PROVENANT_REGISTRY_AUTH: HOST=USER:PASSWORD entries") { bytes in
            guard let text = String(validating: bytes, as: UTF8.self) else { return }
            do throws(RegistryAuthError) {
                _ = try RegistryCredentials.parseEnvironment(text)
            } catch {
                // A refusal never quotes a password: one holding bytes no fixed message has is looked for.
                for entry in text.split(separator: ",") {
                    guard let eq = entry.firstIndex(of: "="), let colon = entry[eq...].firstIndex(of: ":") else { continue }
                    let password = entry[entry.index(after: colon)...]
                    if password.count >= 8, password.contains(where: { "#%&*;<>?@^`{|}~".contains($0) }) {
                        precondition(!error.message.contains(password), "the refusal quotes a password")
                    }
                }
            }
        },
        FuzzTarget("referrers-link", "a referrers page's Link headers (<URL>; rel=\"next\", comma-separated), resolved against the page") { bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            let links = text.split(separator: "\n", omittingEmptySubsequences: false).prefix(8).map(String.init)
            let page = "http://127.0.0.1:5000/v2/team/app/referrers/sha256:" + String(repeating: "0", count: 64)
            // A next page is a URL, and only one on the page's own registry is ever followed.
            if let next = RegistryClient.nextPage(links: links, after: page) {
                let url = URL(string: next)
                precondition(url != nil, "the next page is not a URL")
                // What counts as the same registry is the page's scheme, host and port, and nothing else.
                if RegistryClient.sameOrigin(next, page) {
                    precondition(url?.scheme?.lowercased() == "http" && url?.host?.lowercased() == "127.0.0.1" && (url?.port ?? 80) == 5000,
                                 "a page on another registry counts as the same: \(next)")
                }
            }
        },
    ]
}
