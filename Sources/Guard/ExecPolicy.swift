import Foundation
import Permissions

/// Whether a script may run, decided from the manifest alone: no files are opened here, so every
/// case is testable without exec. The launcher supplies what it read (the script's name, path and
/// the digest of the bytes it will execute).
public struct ExecPolicy: Sendable {
    public let scripts: [String: [String]]
    public let digests: [String: String]

    public init(manifest: AgentManifest) { scripts = manifest.scripts; digests = manifest.scriptDigests }

    /// The script as the launcher found it.
    public struct Script: Sendable, Equatable {
        /// What it is matched by: the basename of the script (or module) as the command line wrote it.
        public var name: String
        /// Absolute paths of its file: as written (made absolute) and with symbolic links resolved.
        public var paths: [String]
        /// SHA-256 of the file's bytes, hex; nil when there is no file or it was not hashed.
        public var sha256: String?
        /// The basename of the file that was opened, when a symbolic link gave it another name: a link
        /// named `deploy.sh` to a test-only `cleanup.sh` is still `cleanup.sh`.
        public var realName: String?
        public init(name: String, paths: [String] = [], sha256: String? = nil, realName: String? = nil) {
            self.name = name; self.paths = paths; self.sha256 = sha256
            self.realName = realName == name ? nil : realName
        }
    }

    public struct Decision: Sendable, Equatable {
        public var allowed: Bool
        /// The manifest key that declared the script, if one did.
        public var declaredAs: String?
        public var reason: String
    }

    /// The manifest key for `script`. Keys with a `/` are paths and match only a path: an absolute key
    /// the whole path, a relative one its tail; other keys match the basename. A path key wins over a
    /// basename key, being the more specific declaration, and of several path keys that match, the most
    /// specific wins: an absolute one, else the one with the most components. The first in name order
    /// won before, so `deploy/run.sh: [production]` decided for `…/test/deploy/run.sh`, which its own
    /// key pins to test with a digest (found by helper-208).
    public func key(for script: Script) -> String? {
        var best: (key: String, rank: (Int, Int))?
        for k in scripts.keys where k.contains("/") {
            guard script.paths.contains(where: { k.hasPrefix("/") ? $0 == k : $0.hasSuffix("/" + k) }) else { continue }
            let rank = (k.hasPrefix("/") ? Int.max : k.split(separator: "/").count, k.utf8.count)
            if let b = best, b.rank > rank || (b.rank == rank && b.key < k) { continue }
            best = (k, rank)
        }
        if let best { return best.key }
        return scripts[script.name] != nil && !script.name.contains("/") ? script.name : nil
    }

    /// Whether the digest is needed: only a declaration with `sha256` asks the launcher to hash.
    public func wantsDigest(_ script: Script) -> Bool { key(for: script).map { digests[$0] != nil } ?? false }

    public func decide(_ script: Script, in environment: ExecEnvironment) -> Decision {
        // Reached through a link, the file's own name is held to its own declaration too: the test-only
        // `cleanup.sh` ran in production under a link named after a production script (helper-136), and
        // in production an undeclared program ran under one (helper-138). A path key matching the file
        // is the more specific declaration, and decides alone. (A hard link has no other name to see: a
        // digest covers that.)
        if let real = script.realName, !real.contains("/"), key(for: Script(name: "", paths: script.paths)) == nil {
            if let environments = scripts[real], !environments.contains(environment.name) {
                let list = environments.isEmpty ? "no environment" : environments.joined(separator: ", ")
                return Decision(allowed: false, declaredAs: real,
                                reason: "'\(script.name)' is '\(real)' under another name, and '\(real)' is declared for \(list), not for \(environment.name)")
            }
            if scripts[real] == nil, environment.isProduction {
                return Decision(allowed: false, declaredAs: nil,
                                reason: "'\(script.name)' is '\(real)' under another name, and '\(real)' is not a declared script, and undeclared scripts are refused in \(environment.name)")
            }
        }
        guard let key = key(for: script) else {
            if environment.isProduction {
                return Decision(allowed: false, declaredAs: nil,
                                reason: "'\(script.name)' is not a declared script, and undeclared scripts are refused in \(environment.name)")
            }
            return Decision(allowed: true, declaredAs: nil, reason: "'\(script.name)' is not declared; undeclared scripts may run in \(environment.name)")
        }
        let environments = scripts[key] ?? []
        guard environments.contains(environment.name) else {
            let list = environments.isEmpty ? "no environment" : environments.joined(separator: ", ")
            return Decision(allowed: false, declaredAs: key, reason: "'\(key)' is declared for \(list), not for \(environment.name)")
        }
        if let want = digests[key] {
            guard let have = script.sha256 else {
                return Decision(allowed: false, declaredAs: key, reason: "'\(key)' declares a sha256, and '\(script.name)' has no file to check it against")
            }
            guard have == want else {
                return Decision(allowed: false, declaredAs: key, reason: "'\(key)' has sha256 \(have), the manifest declares \(want)")
            }
            return Decision(allowed: true, declaredAs: key, reason: "'\(key)' is declared for \(environment.name) and its sha256 matches")
        }
        return Decision(allowed: true, declaredAs: key, reason: "'\(key)' is declared for \(environment.name)")
    }
}
