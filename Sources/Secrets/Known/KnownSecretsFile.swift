import Foundation
import ProvenantCore
import Yams

/// Reads `--known FILE`: a Kubernetes Secret manifest (`data`, base64, and `stringData`), a `.env` file,
/// or a flat JSON object of strings. The source name is the Secret's `metadata.name`, else the file's
/// name without its extension (`agent-creds.env` -> `agent-creds`).
public enum KnownSecretsFile {
    public static func read(path: String) throws(KnownSecretsError) -> [KnownSecrets.Value] {
        let data: [UInt8]
        do { data = try NamedInputFile.read(path, limit: 16 << 20, what: "the secrets file") } catch {
            throw KnownSecretsError(path: path, line: 0, reason: error.message)
        }
        let text = String(decoding: data, as: UTF8.self)
        let stem = sourceName(path)
        let trimmed = text.drop(while: { $0.isWhitespace })
        let values: [KnownSecrets.Value]
        if trimmed.hasPrefix("{") { values = try json(text, path: path, source: stem) }
        else if text.range(of: #"(?m)^\s*kind:"#, options: .regularExpression) != nil { values = try kubernetes(text, path: path) }
        else { values = try dotenv(text, path: path, source: stem) }
        // A file that yields nothing protects nothing: say so rather than scan as if it had.
        guard !values.isEmpty else { throw KnownSecretsError(path: path, line: 0, reason: "holds no secret values (expected a Kubernetes Secret, a .env file or a flat JSON object of strings)") }
        return values
    }

    static func sourceName(_ path: String) -> String {
        var name = PathText.lastComponent(path)
        if name.hasPrefix(".") { name.removeFirst() }
        if let dot = name.firstIndex(of: "."), dot != name.startIndex { name = String(name[..<dot]) }
        return name.isEmpty ? "known" : name
    }

    static func json(_ text: String, path: String, source: String) throws(KnownSecretsError) -> [KnownSecrets.Value] {
        let value: JSONValue
        do { value = try JSONParser.parse(Array(text.utf8)) } catch {
            throw KnownSecretsError(path: path, line: 0, reason: "not valid JSON: \(Redactor.escapeControls(String(describing: error)))")
        }
        guard case .object(let members) = value else { throw KnownSecretsError(path: path, line: 1, reason: "expected a flat JSON object of strings") }
        var out: [KnownSecrets.Value] = []
        for (k, v) in members {
            switch v {
            case .string(let s): out.append(.init(name: .init(source: source, key: k), bytes: Array(s.utf8)))
            case .int(let i): out.append(.init(name: .init(source: source, key: k), bytes: Array(String(i).utf8)))
            default: throw KnownSecretsError(path: path, line: 0, reason: "\(Redactor.quote(k, max: 80)) is not a string; a --known JSON file is a flat object of strings")
            }
        }
        return out.sorted { $0.name.key < $1.name.key }
    }

    static func dotenv(_ text: String, path: String, source: String) throws(KnownSecretsError) -> [KnownSecrets.Value] {
        var out: [KnownSecrets.Value] = []
        var number = 0
        // "\r\n" is one Character, which a split on "\n" does not see: a CRLF file read as one line
        // (found by helper-117).
        for raw in text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let eq = line.firstIndex(of: "="), eq != line.startIndex else {
                throw KnownSecretsError(path: path, line: number, reason: "expected NAME=value")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if let f = value.first, f == "\"" || f == "'" {
                // Quoted: the value ends at its closing quote, whatever follows (`KEY="v" # db`), and
                // a double-quoted one takes `\"`, `\\` and `\n` escapes, as dotenv reads them. Before,
                // such a value kept its quotes and escapes and the secret was never matched (helper-115).
                guard let unquoted = Self.quoted(Array(value.utf8)) else {
                    throw KnownSecretsError(path: path, line: number, reason: "the value's quote is not closed on its line")
                }
                value = unquoted
            } else if let hash = value.range(of: " #") { value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces) } // KEY=v # comment
            out.append(.init(name: .init(source: source, key: key), bytes: Array(value.utf8)))
        }
        return out
    }

    /// The text of a quoted dotenv value starting at `b[0]` (`"` or `'`), up to its closing quote;
    /// nil when it has none. Only what follows that quote is ignored.
    static func quoted(_ b: [UInt8]) -> String? {
        let q = b[0]
        var out: [UInt8] = []
        var i = 1
        while i < b.count {
            let c = b[i]
            if c == q { return String(decoding: out, as: UTF8.self) }
            if q == UInt8(ascii: "\""), c == UInt8(ascii: "\\"), i + 1 < b.count {
                let n = b[i + 1]
                switch n {
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "$"): out.append(n)
                default: out += [c, n]
                }
                i += 2
                continue
            }
            out.append(c)
            i += 1
        }
        return nil
    }

    /// The line of a YAML error, 1-based.
    static func line(_ e: YamlError) -> Int? {
        switch e {
        case .scanner(_, _, let m, _), .parser(_, _, let m, _), .composer(_, _, let m, _): return m.line
        default: return nil
        }
    }

    /// What is wrong, without the YAML's own text: the library's description quotes the lines around
    /// the error, and this file's lines are secrets.
    static func describe(_ e: any Error) -> String {
        switch e as? YamlError {
        case .scanner(_, let problem, _, _)?, .parser(_, let problem, _, _)?, .composer(_, let problem, _, _)?: return problem
        default: return "the YAML cannot be read"
        }
    }

    static func kubernetes(_ text: String, path: String) throws(KnownSecretsError) -> [KnownSecrets.Value] {
        var out: [KnownSecrets.Value] = []
        // Anchors and aliases can expand a small file into gigabytes ("billion laughs"); a Secret needs none.
        if text.range(of: #"(^|[\s:\[,-])[&*][A-Za-z0-9_-]+"#, options: .regularExpression) != nil {
            throw KnownSecretsError(path: path, line: 0, reason: "YAML anchors and aliases are not accepted in a --known file")
        }
        // Parsed document by document: `load_all`'s sequence ends quietly at a syntax error, so the
        // Secrets after a bad document were dropped without a word and their values never looked for
        // (found by helper-88).
        var docs: [Any?] = []
        do {
            let parser = try Parser(yaml: text)
            while let node = try parser.nextRoot() { docs.append(node.any) }
        } catch {
            throw KnownSecretsError(path: path, line: (error as? YamlError).flatMap(Self.line) ?? 0,
                                    reason: "not valid YAML: \(Redactor.escapeControls(Self.describe(error)).prefix(200))")
        }
        for case let doc as [String: Any] in docs where (doc["kind"] as? String) == "Secret" {
            let meta = doc["metadata"] as? [String: Any]
            let source = (meta?["name"] as? String) ?? sourceName(path)
            for (k, v) in (doc["data"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let s = v as? String, let bytes = Data(base64Encoded: s.filter { !$0.isWhitespace }) else {
                    throw KnownSecretsError(path: path, line: 0, reason: "data.\(k) of Secret \(source) is not base64")
                }
                out.append(.init(name: .init(source: source, key: k), bytes: Array(bytes)))
            }
            for (k, v) in (doc["stringData"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let s: String
                if let str = v as? String { s = str } else if let i = v as? Int { s = String(i) } else {
                    throw KnownSecretsError(path: path, line: 0, reason: "stringData.\(Redactor.quote(k, max: 80)) of Secret \(source) is not a string")
                }
                out.append(.init(name: .init(source: source, key: k), bytes: Array(s.utf8)))
            }
        }
        return out
    }
}
