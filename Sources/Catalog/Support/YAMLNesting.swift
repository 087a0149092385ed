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
        var aliasLine: Int?
        let tooDeep: Int? = utf8.withUnsafeMutableBufferPointer { buf -> Int? in
            guard let base = buf.baseAddress else { return nil }
            yaml_parser_set_input_string(&parser, base, buf.count)
            var depth = 0, aliases = 0
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                switch event.type {
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    depth += 1
                    if depth > maxDepth { return Int(event.start_mark.line) + 1 }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    depth -= 1
                case YAML_ALIAS_EVENT:
                    aliases += 1
                    if let cap = maxAliases, aliases > cap { aliasLine = Int(event.start_mark.line) + 1; return nil }
                case YAML_STREAM_END_EVENT:
                    return nil
                default:
                    break
                }
            }
        }
        if let line = aliasLine { throw ParseError("invalid YAML: more than \(maxAliases ?? 0) aliases", line: line) }
        if let line = tooDeep { throw ParseError("invalid YAML: sequences and mappings nested deeper than \(maxDepth) levels", line: line) }
    }
}
