import Foundation
import ProvenantCore

extension ProvenanceBuilder {
    /// The `resolvedDependencies` an SBOM's components make, and what a reader of the provenance must
    /// be told about them:
    /// - a component without a usable purl is listed by its name when it carries a digest, and left
    ///   out with a warning when it does not;
    /// - a package whose copies carry two digests of one algorithm (two builds under one purl) is
    ///   listed once per digest, each with its own, rather than with one of them chosen.
    public struct Component: Sendable {
        /// The purl, or the name (and `@version`) of a component without one.
        public var identity: String
        public var hasPurl: Bool
        public var digests: [Digest]
        public init(identity: String, hasPurl: Bool, digests: [Digest]) {
            self.identity = identity; self.hasPurl = hasPurl; self.digests = digests
        }
    }

    public static func dependencies(from components: [Component]) -> (dependencies: [Dependency], warnings: [String]) {
        var out: [Dependency] = []
        var warnings: [String] = []
        var leftOut: [String] = []
        for p in components {
            var byAlgorithm: [String: Set<String>] = [:]
            for d in p.digests {
                byAlgorithm[d.algorithm.rawValue.lowercased().replacingOccurrences(of: "-", with: ""), default: []].insert(d.value.lowercased())
            }
            let shown = p.identity
            // A ResourceDescriptor needs a uri, a digest or content: a name alone is not one (found by
            // helper-113), so such a component is left out, and said.
            if !p.hasPurl, byAlgorithm.isEmpty { leftOut.append(shown); continue }
            func entry(_ digest: [String: String]) -> Dependency {
                p.hasPurl ? Dependency(uri: shown, digest: digest) : Dependency(name: shown, digest: digest)
            }
            if byAlgorithm.values.allSatisfy({ $0.count <= 1 }) {
                out.append(entry(byAlgorithm.compactMapValues(\.first)))
                continue
            }
            let conflicting = byAlgorithm.filter { $0.value.count > 1 }.keys.sorted()
            warnings.append("\(Redactor.quote(shown, max: 200)) carries more than one \(conflicting.joined(separator: ", ")) digest; it is listed once per digest")
            for (alg, values) in byAlgorithm.sorted(by: { $0.key < $1.key }) {
                for v in values.sorted() { out.append(entry([alg: v])) }
            }
        }
        if !leftOut.isEmpty {
            let named = leftOut.sorted().prefix(5).map { Redactor.quote($0, max: 80) }.joined(separator: ", ")
            warnings.append("\(leftOut.count) component\(leftOut.count == 1 ? "" : "s") without a usable purl or a digest \(leftOut.count == 1 ? "is" : "are") left out, since a resource descriptor needs a uri or a digest: \(named)\(leftOut.count > 5 ? ", …" : "")")
        }
        return (out, warnings)
    }
}
