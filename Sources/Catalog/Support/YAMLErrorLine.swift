import Yams

/// Where Yams says a document went wrong.
public enum YAMLErrorLine {
    /// The 1-based line of a Yams error: a scanner, parser or composer mark, or the mapping that holds
    /// a duplicated key. Nil for any other error.
    public static func of(_ error: any Error) -> Int? {
        switch error as? YamlError {
        case .scanner(_, _, let mark, _)?, .parser(_, _, let mark, _)?, .composer(_, _, let mark, _)?: return mark.line
        case .duplicatedKeysInMapping(_, let context)?: return context.mark.line
        default: return nil
        }
    }
}
