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
                guard let map = docs.lazy.compactMap({ holder(of: first, in: $0, depth: 0) }).first else { break }
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
    private static func holder(of mark: Mark, in n: Node, depth: Int) -> Node.Mapping? {
        guard depth < 200 else { return nil }
        if let map = n.mapping {
            if map.keys.contains(where: { same($0.mark, mark) }) { return map }
            for (k, v) in map {
                if let h = holder(of: mark, in: k, depth: depth + 1) ?? holder(of: mark, in: v, depth: depth + 1) { return h }
            }
        } else if let seq = n.sequence {
            for x in seq { if let h = holder(of: mark, in: x, depth: depth + 1) { return h } }
        }
        return nil
    }

    /// `doc` with YAML merge keys (`<<: *defaults`) applied, as Kubernetes' and compose's YAML
    /// readers apply them: read without this, `<<: {privileged: true}` would hide the field from
    /// every check. Keys written in a mapping win over merged ones, and earlier merged mappings over
    /// later ones. Aliases are copies, so the walk has a budget of nodes; nil when it runs out.
    static func expandingMerges(_ doc: Node, budget: inout Int) -> Node? {
        budget -= 1
        guard budget >= 0 else { return nil }
        switch doc {
        case .mapping(let map):
            var own: [(Node, Node)] = [], merged: [(Node, Node)] = []
            for (k, v) in map {
                guard let value = expandingMerges(v, budget: &budget) else { return nil }
                if let key = k.scalar, key.style == .plain, Resolver.default.resolveTag(of: k) == .merge {
                    let sources = value.mapping.map { [$0] } ?? value.sequence?.compactMap(\.mapping) ?? []
                    for src in sources { merged += src.map { ($0.key, $0.value) } }
                } else {
                    own.append((k, value))
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
                guard let e = expandingMerges(x, budget: &budget) else { return nil }
                items.append(e)
            }
            return .sequence(Node.Sequence(items, seq.tag, seq.style, seq.mark))
        default:
            return doc
        }
    }
}
