import Foundation
import ProvenantCore

/// A Kubernetes downward-API labels file: one `key="value"` a line, the value quoted and escaped as
/// Go's `strconv.Quote` writes it (`\"`, `\\`, `\n`, `\t`, `\xNN`, `\u{NNNN}` as `\uNNNN`, ...).
///
/// The guard reads the `environment` label from it to decide which scripts may run, so the parser
/// is strict where it matters: a line it cannot read gives no label, nor does any other line of the
/// key it names, and a label written twice is ambiguous and gives none either. Callers treat a missing label as production.
public struct DownwardAPILabels: Sendable, Equatable {
    /// Labels read cleanly, each written exactly once.
    public private(set) var labels: [String: String] = [:]
    /// Keys that appeared more than once: their values are withheld.
    public private(set) var ambiguous: Set<String> = []

    /// A file larger than this is not a labels file; the guard does not read further.
    public static let maximumSize = 1 << 20

    public init(parsing bytes: [UInt8]) {
        var seen: [String: String] = [:]
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            guard let (key, value) = Self.parseLine(Array(line)) else {
                // A line that cannot be read withholds the label it names: skipped, a badly quoted
                // `environment=production` let a later `environment="test"` win (found by helper-81).
                if let eq = line.firstIndex(of: UInt8(ascii: "=")) {
                    let key = String(decoding: line[..<eq], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                    if !key.isEmpty { ambiguous.insert(key); seen[key] = nil }
                }
                continue
            }
            if seen[key] != nil || ambiguous.contains(key) { ambiguous.insert(key); seen[key] = nil; continue }
            seen[key] = value
        }
        labels = seen
    }

    /// Reads `path`; nil when it cannot be read or is too large to be a labels file.
    public static func read(_ path: String) -> DownwardAPILabels? {
        guard let h = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? h.close() }
        guard let data = try? h.read(upToCount: maximumSize + 1), data.count <= maximumSize else { return nil }
        return DownwardAPILabels(parsing: [UInt8](data))
    }

    /// `key="value"`; nil for anything else (no `=`, an empty key, an unquoted or badly escaped value,
    /// trailing bytes after the closing quote).
    static func parseLine(_ line: [UInt8]) -> (String, String)? {
        var line = line
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard let eq = line.firstIndex(of: UInt8(ascii: "=")), eq > 0,
              let key = String(validating: line[..<eq], as: UTF8.self),
              key.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7f && $0 != "\"" }) else { return nil }
        let rest = Array(line[(eq + 1)...])
        guard rest.count >= 2, rest.first == UInt8(ascii: "\""), rest.last == UInt8(ascii: "\"") else { return nil }
        guard let value = unquote(Array(rest[1..<(rest.count - 1)])) else { return nil }
        return (key, value)
    }

    /// The inside of a Go-quoted string; nil on a bare `"`, a dangling `\`, an unknown escape or bytes
    /// that are not UTF-8.
    static func unquote(_ b: [UInt8]) -> String? { GoString.unquote(b) }
}
