import Foundation
import ProvenantCore
import Yams

/// Turns YAML parser failures into one-line errors with `file:line`.
enum YAMLInput {
    static func error(_ error: Error, text: String, path: String) -> InputError {
        let msg = String(describing: error)
        if msg.contains("duplicated key"), let dup = duplicateKeyLine(text) {
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

    /// Where a key repeats at the same indentation under the same parent, for the error's line
    /// number (the YAML parser names the key but not the line).
    static func duplicateKeyLine(_ text: String) -> (key: String, first: Int, line: Int)? {
        var seen: [[String: Int]] = [[:]]   // one scope per indentation level in use
        var indents: [Int] = [0]
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.prefix { $0 != "#" }
            var body = line.drop { $0 == " " }
            var indent = line.count - body.count
            guard !body.isEmpty else { continue }
            // `- key: v` starts a new mapping (a list item) two columns in.
            var newItem = false
            if body.hasPrefix("- ") || body == "-" {
                body = body.dropFirst(2).drop { $0 == " " }
                indent += 2
                newItem = true
            }
            while let last = indents.last, indent < last || (newItem && indent == last && indents.count > 1) { indents.removeLast(); seen.removeLast() }
            if indent > (indents.last ?? 0) || (newItem && indent == (indents.last ?? 0)) {
                if !(indent == indents.last && !newItem) { indents.append(indent); seen.append([:]) }
            }
            if newItem, indents.last == indent { seen[seen.count - 1] = [:] }
            guard let colon = body.firstIndex(of: ":"), !body.hasPrefix("{"), !body.hasPrefix("[") else { continue }
            let key = body[..<colon].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            if let first = seen[seen.count - 1][key] { return (key, first, i + 1) }
            seen[seen.count - 1][key] = i + 1
        }
        return nil
    }

}
