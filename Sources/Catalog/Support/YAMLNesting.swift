import CYaml
import ProvenantCore

/// A depth check to run before `Yams.compose`, whose node builder recurses once per level: a
/// `pnpm-lock.yaml` of `a: [[[[…` or `- - - - …` would otherwise exhaust the stack. libyaml's event
/// parser keeps its own heap stacks and does not recurse, so walking its events first is safe and
/// exact; syntax errors are left for Yams to report in its own words.
public enum YAMLNesting {
    /// Sequences and mappings nest at most this deep; lockfiles use under ten levels.
    public static let maxDepth = 128

    /// `maxAliases` bounds `*alias` uses: each is expanded in full by the node builder, so a short
    /// document of aliases to aliases grows without bound. nil leaves them unbounded.
    public static func check(_ text: String, maxDepth: Int = maxDepth, maxAliases: Int? = nil) throws(ParseError) {
        var utf8 = Array(text.utf8)
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return }
        defer { yaml_parser_delete(&parser) }
        var aliasLine: Int?, complexKeyLine: Int?
        let tooDeep: Int? = utf8.withUnsafeMutableBufferPointer { buf -> Int? in
            guard let base = buf.baseAddress else { return nil }
            yaml_parser_set_input_string(&parser, base, buf.count)
            var depth = 0, aliases = 0
            // For each open collection: whether it is a mapping, and whether its next node is a key.
            var open: [(mapping: Bool, atKey: Bool)] = []
            /// A node begins: in a mapping, it is a key or a value, in turn.
            func node() -> Bool {
                guard let last = open.indices.last, open[last].mapping else { return false }
                defer { open[last].atKey.toggle() }
                return open[last].atKey
            }
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                switch event.type {
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    // A key that is a collection: Yams hashes every key to find repeats, and a hash
                    // walks the whole key, aliases expanded (found by helper-125: a stall before any
                    // budget of ours could run).
                    if node() { complexKeyLine = Int(event.start_mark.line) + 1; return nil }
                    depth += 1
                    if depth > maxDepth { return Int(event.start_mark.line) + 1 }
                    open.append((event.type == YAML_MAPPING_START_EVENT, true))
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    depth -= 1
                    _ = open.popLast()
                case YAML_ALIAS_EVENT:
                    if node() { complexKeyLine = Int(event.start_mark.line) + 1; return nil }
                    aliases += 1
                    if let cap = maxAliases, aliases > cap { aliasLine = Int(event.start_mark.line) + 1; return nil }
                case YAML_SCALAR_EVENT:
                    _ = node()
                case YAML_STREAM_END_EVENT:
                    return nil
                default:
                    break
                }
            }
        }
        if let line = complexKeyLine { throw ParseError("invalid YAML: a mapping key that is an alias or a collection, which this reader refuses", line: line) }
        if let line = aliasLine {
            throw ParseError(maxAliases == 0 ? "invalid YAML: an alias (*name); aliases are not taken in this file" : "invalid YAML: more than \(maxAliases ?? 0) aliases", line: line)
        }
        if let line = tooDeep { throw ParseError("invalid YAML: sequences and mappings nested deeper than \(maxDepth) levels", line: line) }
    }
}
