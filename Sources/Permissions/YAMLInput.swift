import Catalog
import Foundation
import ProvenantCore
import Yams

/// Turns YAML parser failures into one-line errors with `file:line`.
enum YAMLInput {
    static func error(_ error: Error, text: String, path: String) -> InputError {
        let msg = String(describing: error)
        if let dup = duplicateKeyLine(error, text: text) {
            return InputError("duplicate key '\(dup.key)' (first at line \(dup.first)): most parsers silently keep the second", at: Location(path, line: dup.line))
        }
        // Yams reports `LINE:COLUMN: error: …`.
        let first = msg.split(separator: "\n").first.map(String.init) ?? msg
        let parts = first.split(separator: ":", maxSplits: 3)
        if parts.count >= 3, let line = Int(parts[0]), Int(parts[1]) != nil {
            return InputError("not valid YAML: " + parts.dropFirst(2).joined(separator: ":").trimmingCharacters(in: .whitespaces), at: Location(path, line: line))
        }
        return InputError("not valid YAML: \(first)", at: Location(path))
    }

    /// The duplicated key, the line of its first occurrence and the line where it repeats, read from
    /// the YAML parser's own nodes: the parser names the first occurrence (with its position) but not
    /// the second. Each reported occurrence is made unique with a marker and the text parsed again,
    /// until it parses; the repeat is then the other key of that name in the mapping that holds the
    /// marked first occurrence. Block scalars, flow mappings and quoting are the parser's business.
    static func duplicateKeyLine(_ error: Error, text: String) -> (key: String, first: Int, line: Int)? {
        guard case let YamlError.duplicatedKeysInMapping(dups, context) = error, let key = dups.first else { return nil }
        let first = context.mark
        var marks = [first]
        for _ in 0..<8 {
            guard let edited = marking(text, at: marks) else { break }
            do {
                let parser = try Parser(yaml: edited)
                var docs: [Node] = []
                while let n = try parser.nextRoot() { docs.append(n) }
                // Aliases are copies: the search has a budget of nodes, or a small alias bomb beside
                // the repeated key stalled it (found by helper-124); past it, the first line is named.
                var budget = YAMLInput.nodeBudget
                guard let map = docs.lazy.compactMap({ holder(of: first, in: $0, depth: 0, budget: &budget) }).first else { break }
                let repeats = map.keys.filter { !same($0.mark, first) && $0.string.map(unmarked) == key }.compactMap { $0.mark?.line }
                return (key, first.line, repeats.min() ?? first.line)
            } catch let YamlError.duplicatedKeysInMapping(_, c) {
                guard !marks.contains(where: { same($0, c.mark) }) else { break }
                marks.append(c.mark)
            } catch { break }
        }
        return (key, first.line, first.line)
    }

    private static func same(_ a: Mark?, _ b: Mark) -> Bool { a.map { $0.line == b.line && $0.column == b.column } ?? false }

    /// Markers are private-use characters, a different one per occurrence so marked keys differ.
    private static func unmarked(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.filter { !(0xE000...0xE0FF).contains($0.value) }))
    }

    /// `text` with a marker after the first character of the key that starts at each mark.
    private static func marking(_ text: String, at marks: [Mark]) -> String? {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array(String($0).unicodeScalars) }
        for (i, m) in marks.enumerated().sorted(by: { ($0.1.line, $0.1.column) > ($1.1.line, $1.1.column) }) {
            guard m.line >= 1, m.line <= lines.count, m.column >= 1, m.column <= lines[m.line - 1].count,
                  let marker = Unicode.Scalar(0xE000 + UInt32(i)) else { return nil }
            lines[m.line - 1].insert(marker, at: m.column)
        }
        return lines.map { String(String.UnicodeScalarView($0)) }.joined(separator: "\n")
    }

    /// The mapping one of whose keys starts at `mark`.
    private static func holder(of mark: Mark, in n: Node, depth: Int, budget: inout Int) -> Node.Mapping? {
        budget -= 1
        guard depth < 200, budget >= 0 else { return nil }
        if let map = n.mapping {
            if map.keys.contains(where: { same($0.mark, mark) }) { return map }
            for (k, v) in map {
                if let h = holder(of: mark, in: k, depth: depth + 1, budget: &budget) ?? holder(of: mark, in: v, depth: depth + 1, budget: &budget) { return h }
                if budget < 0 { return nil }
            }
        } else if let seq = n.sequence {
            for x in seq {
                if let h = holder(of: mark, in: x, depth: depth + 1, budget: &budget) { return h }
                if budget < 0 { return nil }
            }
        }
        return nil
    }

    /// Nesting and keys checked on the parser's events before any document is composed: an alias as a
    /// key stalled the composer's own check for repeated keys (found by helper-125). One line naming
    /// `path` and the line when refused.
    static func checkEvents(_ text: String, path: String) throws(InputError) {
        do throws(ParseError) { try YAMLNesting.check(text, maxDepth: 512) } catch {
            throw InputError("not valid YAML: \(error.message)", at: Location(path, line: error.line))
        }
    }

    /// Nodes one walk of a YAML document may visit. Aliases are copies, so ten levels of ten aliases
    /// are 10^10 nodes to a walk; real manifests and workloads have thousands.
    static let nodeBudget = 2_000_000

    /// A document whose merge keys the YAML readers of its consumers apply differently.
    struct AmbiguousMerge: Error {
        let message: String
        let line: Int?
    }

    /// Whether a mapping key is a merge key: `<<` written plain, untagged or with the non-specific
    /// `!`, or tagged `!!merge` (quoted too). Go's YAML readers (v2 for kubectl, v3 for compose and
    /// kustomize) agree on these; a quoted untagged `"<<"` is an ordinary key to both.
    static func isMergeKey(_ k: Node) -> Bool {
        guard let key = k.scalar, key.string == "<<" else { return false }
        let tag = key.tag.description
        if tag == Tag.Name.merge.rawValue { return true }
        return key.style == .plain && (tag.isEmpty || tag == Tag.Name.nonSpecific.rawValue)
    }

    /// A `<<` key that is no plain merge key: quoted or tagged. Go's readers merge `! <<` and
    /// `! "<<"` (the non-specific tag) but not `"<<"` or `!!str <<`, and the parser here has resolved
    /// them all to strings by the time it hands them over, so they cannot be told apart: refused
    /// (found by review: `! <<: {privileged: true}` passed).
    static func isAmbiguousMergeKey(_ k: Node) -> Bool {
        k.scalar?.string == "<<" && !isMergeKey(k)
    }

    /// A line that starts with `---` but is no YAML document marker (`---#`, `---x`): kubectl splits
    /// documents at such lines (a `---#` line started a privileged Pod it applied, which YAML readers
    /// took for a mapping key: found by helper-152), so the file is refused.
    static func checkDocumentMarkers(_ text: String, path: String) throws(InputError) {
        var line = 0
        for l in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            line += 1
            guard l.count > 3, l.starts(with: "---".utf8) else { continue }
            let next = l[l.index(l.startIndex, offsetBy: 3)]
            if next != UInt8(ascii: " ") && next != UInt8(ascii: "\t") && next != UInt8(ascii: "\r") {
                throw InputError("a line starting '---' without a space after it: kubectl splits documents there and YAML readers do not; write '--- ' or indent it",
                                 at: Location(path, line: line))
            }
        }
    }

    /// Compose's `!reset` (compose-go's loader) removes the value it tags: read as absent, so
    /// `user: !reset "10001"` no longer passes as a non-root user (found by helper-152).
    static func droppingResets(_ n: Node) -> Node {
        switch n {
        case .mapping(let map):
            let pairs = map.compactMap { (k, v) -> (Node, Node)? in v.tag.rawValue == "!reset" ? nil : (k, droppingResets(v)) }
            return .mapping(Node.Mapping(pairs, map.tag, map.style, map.mark))
        case .sequence(let seq):
            return .sequence(Node.Sequence(seq.compactMap { $0.tag.rawValue == "!reset" ? nil : droppingResets($0) }, seq.tag, seq.style, seq.mark))
        default:
            return n
        }
    }

    /// `doc` with YAML merge keys (`<<: *defaults`) applied: read without this, `<<: {privileged: true}`
    /// would hide the field from every check. Keys written after a merge win over merged ones, and
    /// earlier merged mappings over later ones; every Go YAML reader agrees there. Where they do not,
    /// the document is refused (found by helper-80): kubectl's reader (yaml v2) applies merges in
    /// order, so a merge after `privileged: false` sets it true, where compose's and kustomize's (v3)
    /// keep the written key; and with two merge keys in one mapping v2 applies both, v3 the last.
    /// Aliases are copies, so the walk has a budget of nodes; nil when it runs out.
    static func expandingMerges(_ doc: Node, budget: inout Int, strict: Bool = true) throws(AmbiguousMerge) -> Node? {
        budget -= 1
        guard budget >= 0 else { return nil }
        switch doc {
        case .mapping(let map):
            var own: [(Node, Node)] = [], merged: [(Node, Node)] = []
            var written: [String: Int] = [:]
            var mergeLine: Int?
            for (k, v) in map {
                guard let value = try expandingMerges(v, budget: &budget, strict: strict) else { return nil }
                if isAmbiguousMergeKey(k) {
                    throw AmbiguousMerge(message: "a '<<' key that is quoted or tagged: YAML readers disagree whether it merges; write a plain <<", line: k.mark?.line)
                }
                if isMergeKey(k) {
                    if let first = mergeLine {
                        throw AmbiguousMerge(message: "a second merge key '<<' in one mapping (the first at line \(first)): YAML readers disagree whether both apply or only the last", line: k.mark?.line)
                    }
                    mergeLine = k.mark?.line ?? 0
                    let sources = value.mapping.map { [$0] } ?? value.sequence?.compactMap(\.mapping) ?? []
                    for src in sources {
                        for (mk, mv) in src {
                            // Compose reads with yaml v3, where the written key wins as the spec says.
                            if strict, let name = mk.string, let at = written[name] {
                                throw AmbiguousMerge(message: "the merge key '<<' sets '\(name)', written before it at line \(at): kubectl's YAML reader lets the merge win, kustomize's the written key; write the key after the merge", line: k.mark?.line)
                            }
                            merged.append((mk, mv))
                        }
                    }
                } else {
                    if let name = k.string { written[name] = k.mark?.line ?? 0 }
                    own.append((try plainKey(k, in: map), value))
                }
            }
            guard !merged.isEmpty else { return .mapping(Node.Mapping(own, map.tag, map.style, map.mark)) }
            var seen = Set(own.compactMap { $0.0.string })
            var pairs = own
            for (k, v) in merged {
                guard let name = k.string, !seen.contains(name) else { continue }
                seen.insert(name)
                pairs.append((k, v))
            }
            return .mapping(Node.Mapping(pairs, map.tag, map.style, map.mark))
        case .sequence(let seq):
            var items: [Node] = []
            for x in seq {
                guard let e = try expandingMerges(x, budget: &budget, strict: strict) else { return nil }
                items.append(e)
            }
            return .sequence(Node.Sequence(items, seq.tag, seq.style, seq.mark))
        default:
            if case .scalar(let scalar) = doc, scalar.tag.rawValue == Tag.Name.binary.rawValue {
                throw AmbiguousMerge(message: "a !!binary value: Kubernetes decodes it, where the checks here would read its base64 text; write the value itself", line: scalar.mark?.line)
            }
            return doc
        }
    }

    /// `k` as the key Kubernetes reads: its tag dropped (Go's readers read `!x containers:` as
    /// `containers`, where a lookup here matched tags too, so the field was invisible to every check:
    /// found by helper-105). A `!!binary` key, which Go decodes to another name, is refused.
    static func plainKey(_ k: Node, in map: Node.Mapping) throws(AmbiguousMerge) -> Node {
        guard case .scalar(var scalar) = k else { return k }
        if scalar.tag.rawValue == Tag.Name.binary.rawValue {
            throw AmbiguousMerge(message: "a !!binary key: Kubernetes decodes it to another field name, where the checks here would not; write the name itself", line: scalar.mark?.line)
        }
        let plain = map.tag.copy(with: .implicit)
        guard scalar != Node.Scalar(scalar.string, plain) else { return k }
        scalar.tag = plain
        return .scalar(scalar)
    }
}
