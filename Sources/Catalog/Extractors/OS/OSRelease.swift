import ProvenantCore

/// Reads `etc/os-release` (or `usr/lib/os-release`) so OS package purls can carry the distro.
public enum OSRelease {
    public static let paths = ["etc/os-release", "usr/lib/os-release"]

    public static func parse(_ text: String) -> Distro? {
        var kv: [String: String] = [:]
        for (_, line) in Lines(text: text) {
            let t = line.trimmed
            guard !t.hasPrefix("#"), let eq = t.firstIndex(of: "=") else { continue }
            kv[String(t[..<eq])] = String(t[t.index(after: eq)...]).unquoted()
        }
        guard let id = kv["ID"], !id.isEmpty else { return nil }
        return Distro(id: id.lowercased(), versionID: kv["VERSION_ID"], versionCodename: kv["VERSION_CODENAME"],
                      prettyName: kv["PRETTY_NAME"])
    }
}
