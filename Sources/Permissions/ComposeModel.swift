import Catalog
import Foundation
import ProvenantCore
import Yams

/// How docker compose reads a service before it runs it: `${…}` interpolation, string booleans,
/// `extends`, and named volumes that are bind mounts. The checks read the service as compose
/// would; what the file alone cannot determine is reported, never taken as clean.
enum ComposeModel {
    /// Something in a service the check could not follow, with the node it is written at.
    struct NotChecked { var node: Node?; var found: String; var fix: String }

    // MARK: Booleans

    /// A boolean as compose reads it: YAML true/false, or the strings compose converts
    /// (`y`, `yes`, `true`, `on` and their negations, in any case). nil for anything else.
    static func bool(_ n: Node?) -> Bool? {
        guard let s = n?.scalar?.string else { return nil }
        switch s.lowercased() {
        case "y", "yes", "true", "on": return true
        case "n", "no", "false", "off": return false
        default: return nil
        }
    }

    // MARK: Service fields

    /// A service's `environment`, as a mapping or a list of `NAME=value`, in the order written: each
    /// name with its value (nil for a mapping entry that is not a string, `FOO:` say) and its node.
    static func environment(_ svc: Node) -> [(name: String, value: String?, node: Node)] {
        var out: [(name: String, value: String?, node: Node)] = []
        for (k, v) in svc["environment"]?.mapping ?? [:] { if let n = k.string { out.append((n, v.string, v)) } }
        for e in svc["environment"]?.sequence ?? [] {
            if let s = e.string, let eq = s.firstIndex(of: "=") { out.append((String(s[..<eq]), String(s[s.index(after: eq)...]), e)) }
        }
        return out
    }

    /// A command field compose takes as a string or a list of strings (`command`, `entrypoint`,
    /// `healthcheck.test`, a hook's `command`).
    static func commandStrings(_ n: Node) -> [String] { n.string.map { [$0] } ?? (n.sequence ?? []).compactMap(\.string) }

    // MARK: Interpolation

    /// `s` with `$$` read as `$`, a variable the project's `.env` sets (`env`) read as compose reads
    /// it, and any other `${VAR:-default}` / `${VAR-default}` read as its default; nil when another
    /// variable has no default (`$VAR`, `${VAR}`, `${VAR:?err}`, `${VAR:+alt}`): its value comes from
    /// the environment at deploy time.
    static func interpolate(_ s: String, env: [String: String] = [:], depth: Int = 0) -> String? {
        guard depth < 8, s.utf8.count <= 65536 else { return nil }
        let c = Array(s.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        func isNameStart(_ u: Unicode.Scalar) -> Bool { u == "_" || (u.isASCII && u.properties.isAlphabetic) }
        func isName(_ u: Unicode.Scalar) -> Bool { isNameStart(u) || ("0"..."9").contains(u) }
        while i < c.count {
            guard c[i] == "$", i + 1 < c.count else { out.append(c[i]); i += 1; continue }
            let next = c[i + 1]
            if next == "$" { out.append("$"); i += 2; continue }
            if isNameStart(next) {
                var k = i + 1
                while k < c.count, isName(c[k]) { k += 1 }
                guard let v = env[String(String.UnicodeScalarView(c[(i + 1)..<k]))] else { return nil }
                out.append(contentsOf: v.unicodeScalars)
                i = k
                continue
            }
            guard next == "{" else { out.append(c[i]); i += 1; continue }
            // The matching brace, counting nested `${`.
            var j = i + 2, level = 1
            while j < c.count {
                if c[j] == "$", j + 1 < c.count, c[j + 1] == "{" { level += 1; j += 2; continue }
                if c[j] == "}" { level -= 1; if level == 0 { break } }
                j += 1
            }
            guard j < c.count else { return nil }
            var k = i + 2
            while k < j, isName(c[k]) { k += 1 }
            guard k > i + 2 else { return nil }
            let rest = String(String.UnicodeScalarView(c[k..<j]))
            let name = String(String.UnicodeScalarView(c[(i + 2)..<k]))
            func word(_ n: Int) -> String? { interpolate(String(rest.dropFirst(n)), env: env, depth: depth + 1) }
            let value: String
            if let set = env[name] {
                // As compose: `:-` and `:?` treat an empty value as unset, `-` and `?` do not; `:+`/`+` give the word.
                if rest.isEmpty || rest.hasPrefix("?") { value = set }
                else if rest.hasPrefix(":-") { guard let d = set.isEmpty ? word(2) : set else { return nil }; value = d }
                else if rest.hasPrefix("-") { value = set }
                else if rest.hasPrefix(":?") { guard !set.isEmpty else { return nil }; value = set }
                else if rest.hasPrefix(":+") { guard let a = set.isEmpty ? "" : word(2) else { return nil }; value = a }
                else if rest.hasPrefix("+") { guard let a = word(1) else { return nil }; value = a }
                else { return nil }
            } else if rest.hasPrefix(":-") || rest.hasPrefix("-") {
                guard let d = word(rest.hasPrefix(":-") ? 2 : 1) else { return nil }
                value = d
            } else {
                return nil
            }
            out.append(contentsOf: value.unicodeScalars)
            i = j + 1
        }
        return String(out)
    }

    /// A copy of `n` with every scalar interpolated. A scalar with no determinable value is kept as
    /// written and listed in `unresolved`.
    static func interpolated(_ n: Node, env: [String: String] = [:], unresolved: inout [Node], depth: Int = 0) -> Node {
        guard depth < 64 else { unresolved.append(n); return n }
        switch n {
        case .scalar(let s):
            guard s.string.contains("$") else { return n }
            guard let v = interpolate(s.string, env: env) else { unresolved.append(n); return n }
            return .scalar(Node.Scalar(v, s.tag, s.style, s.mark))
        case .mapping(let m):
            return .mapping(Node.Mapping(m.map { ($0.key, interpolated($0.value, env: env, unresolved: &unresolved, depth: depth + 1)) }, m.tag, m.style, m.mark))
        case .sequence(let q):
            return .sequence(Node.Sequence(q.map { interpolated($0, env: env, unresolved: &unresolved, depth: depth + 1) }, q.tag, q.style, q.mark))
        default:
            return n
        }
    }

    /// Service fields whose value decides what the container may do: an interpolation there that
    /// has no value the file determines is a finding.
    static let securityFields: Set<String> = [
        "privileged", "network_mode", "pid", "ipc", "cgroup", "uts", "userns_mode", "user", "read_only", "cap_add", "cap_drop",
        "security_opt", "volumes", "volumes_from", "devices", "device_cgroup_rules", "image", "build", "extends", "tmpfs", "sysctls", "secrets",
        "group_add", "gpus", "runtime", "deploy",
    ]

    /// The service interpolated, with each security field whose value the file does not determine.
    static func interpolatedService(_ svc: Node, env: [String: String] = [:]) -> (Node, [(field: String, node: Node)]) {
        guard let m = svc.mapping else { return (svc, []) }
        var pairs: [(Node, Node)] = [], open: [(String, Node)] = []
        for (k, v) in m {
            var unresolved: [Node] = []
            pairs.append((k, interpolated(v, env: env, unresolved: &unresolved)))
            if let f = k.string, securityFields.contains(f) { open += unresolved.map { (f, $0) } }
        }
        return (.mapping(Node.Mapping(pairs, m.tag, m.style, m.mark)), open)
    }

    // MARK: extends

    /// Nodes one file's `extends` may merge in, all services together. Each service checks its base's
    /// fields again as its own, so 2,000 services extending one of 2,000 environment entries took 18 s
    /// from 97 KB (found by helper-233): past this, a service is not merged and says so.
    static let mergeBudget = 200_000

    /// The nodes of `n` up to `limit`: counting stops once past it.
    static func nodeCount(_ n: Node, limit: Int) -> Int {
        var count = 0, stack = [n]
        while let top = stack.popLast(), count <= limit {
            count += 1
            if let m = top.mapping { for (k, v) in m { stack.append(k); stack.append(v) } }
            else if let q = top.sequence { stack.append(contentsOf: q) }
        }
        return count
    }

    /// The service with what it `extends` in the same file merged in (its own values win, lists are
    /// joined), and what could not be merged: another file, a missing service, a cycle, a base past
    /// what `budget` has left of `mergeBudget`.
    static func extended(_ svc: Node, services: [String: Node], budget: inout Int, depth: Int = 0, seen: Set<String> = []) -> (Node, [NotChecked]) {
        guard let ext = svc["extends"] else { return (svc, []) }
        let baseName = ext.string ?? ext["service"]?.string
        if let other = ext["file"] {
            return (svc, [NotChecked(node: ext, found: "not checked: extends another file (\(other.string ?? "?"), service \(baseName ?? "?")), which is not read",
                                     fix: "check the merged file (`docker compose config`), or copy the base service's fields into this one")])
        }
        guard let baseName, let base = services[baseName] else {
            return (svc, [NotChecked(node: ext, found: "not checked: extends service \(baseName ?? "?"), which this file does not define", fix: "define the service it extends")])
        }
        guard depth < 16, !seen.contains(baseName) else {
            return (svc, [NotChecked(node: ext, found: "not checked: extends \(baseName) in a cycle or too deep a chain", fix: "break the cycle")])
        }
        let (resolvedBase, notes) = extended(base, services: services, budget: &budget, depth: depth + 1, seen: seen.union([baseName]))
        let size = nodeCount(resolvedBase, limit: budget)
        guard size <= budget else {
            return (svc, notes + [NotChecked(node: ext, found: "not checked: extends \(baseName), and the file's services together merge in more than \(mergeBudget) nodes",
                                             fix: "check the merged file (`docker compose config`)")])
        }
        budget -= size
        return (merge(resolvedBase, svc), notes)
    }

    /// `child` over `base`: mappings merged key by key, lists joined, scalars from `child`.
    /// `extends`, `volumes_from`, `depends_on` and `links` are never taken from the base.
    static func merge(_ base: Node, _ child: Node, depth: Int = 0) -> Node {
        guard depth < 32, let b = base.mapping, let c = child.mapping else { return child }
        let notInherited: Set<String> = depth == 0 ? ["extends", "volumes_from", "depends_on", "links"] : []
        var pairs: [(Node, Node)] = []
        var own: [String: Node] = [:]
        for (k, v) in c { if let s = k.string { own[s] = v } }
        for (k, v) in c {
            if depth == 0, k.string == "extends" { continue }
            guard let s = k.string, !notInherited.contains(s), let bv = base[s] else { pairs.append((k, v)); continue }
            if let bs = bv.sequence, let cs = v.sequence {
                pairs.append((k, .sequence(Node.Sequence(Array(bs) + Array(cs), cs.tag, cs.style, cs.mark))))
            } else if bv.mapping != nil, v.mapping != nil {
                pairs.append((k, merge(bv, v, depth: depth + 1)))
            } else {
                pairs.append((k, v))
            }
        }
        for (k, v) in b {
            guard let s = k.string, own[s] == nil, !notInherited.contains(s) else { continue }
            pairs.append((k, v))
        }
        return .mapping(Node.Mapping(pairs, c.tag, c.style, c.mark))
    }

    // MARK: The project's .env

    /// The variables of the `.env` file beside a compose file, which compose reads for interpolation
    /// by itself: `KEY=VALUE` lines, `export ` allowed, `#` comments, quotes removed (single quotes
    /// literal), an unquoted value ending at a `#` after a blank. Nil when there is no such file; a line
    /// this does not read (one that compose would expand, unescape or read more assignments from) is
    /// listed, so that what it might set is not taken as unset. The file is read through the confined
    /// reader, as a scan reads: a regular file of at most 1 MiB, links resolved inside the compose
    /// file's directory (a FIFO or a link to `/dev/zero` named `.env` would otherwise hold the run);
    /// one it refuses is `unreadable`, with why. An absolute link is a host path, as compose follows
    /// it: read only when it leads inside the directory, never as a name under it (a decoy
    /// `DIR/etc/app.env` stood in for the `/etc/app.env` compose reads).
    static func dotEnv(beside composeFile: String) -> (values: [String: String], unread: [Int], unreadable: String?)? {
        let dir = PathText.parent(composeFile)
        guard let directory = RootedDirectory(hostDirectory: dir.isEmpty ? "." : dir) else {
            return ([:], [], "the compose file's directory cannot be resolved")
        }
        let data: [UInt8]
        do { data = try directory.read(".env", limit: 1 << 20) }
        catch .notFound { return nil }
        catch { return ([:], [], error.description) }
        var values: [String: String] = [:], unread: [Int] = []
        // Lines at LF scalars: "\r\n" is one Character, and splitting on Characters would read a CRLF file
        // as one line.
        for (n, raw) in String(decoding: data, as: UTF8.self).unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var scalars = Substring(raw).unicodeScalars
            if scalars.last == "\r" { scalars = scalars.dropLast() }
            var line = String(Substring(scalars)).trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let eq = line.firstIndex(of: "="), !line[..<eq].isEmpty,
                  line[..<eq].trimmingCharacters(in: .whitespaces).unicodeScalars.allSatisfy({ $0 == "_" || $0 == "." || $0 == "-" || ($0.isASCII && $0.properties.isAlphabetic) || ("0"..."9").contains($0) })
            else { unread.append(n + 1); continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            // Compose expands `${…}` in unquoted and double-quoted values, reads escapes in double
            // quotes, and reads what follows a closing quote as the next assignment: such a line is
            // not guessed at, it is reported.
            if let q = value.first, q == "\"" || q == "'" {
                guard let close = value.dropFirst().firstIndex(of: q) else { unread.append(n + 1); continue }
                let rest = value[value.index(after: close)...].trimmingCharacters(in: .whitespaces)
                let inner = String(value[value.index(after: value.startIndex)..<close])
                guard rest.isEmpty || rest.hasPrefix("#"), q == "'" || !(inner.contains("$") || inner.contains("\\")) else { unread.append(n + 1); continue }
                value = inner
            } else {
                if let hash = value.firstIndex(where: { $0 == "#" }), hash == value.startIndex || value[value.index(before: hash)].isWhitespace {
                    value = String(value[..<hash]).trimmingCharacters(in: .whitespaces)
                }
                guard !value.contains("$"), !value.contains("\\"), !value.contains("\""), !value.contains("'") else { unread.append(n + 1); continue }
            }
            values[key] = value
        }
        return (values, unread, nil)
    }

    // MARK: Named volumes

    /// Top-level named volumes that the local driver mounts from a host path or device
    /// (`driver_opts: {type: none, o: bind, device: /etc}`, `{type: ext4, device: /dev/sda1}`): name → host path and its node.
    static func bindVolumes(_ doc: Node, env: [String: String] = [:]) -> [String: (device: String, node: Node)] {
        var out: [String: (device: String, node: Node)] = [:]
        for (k, raw) in doc["volumes"]?.mapping ?? [:] {
            guard let name = k.string, let opts = raw["driver_opts"] else { continue }
            var unresolved: [Node] = []
            let o = interpolated(opts, env: env, unresolved: &unresolved)
            let options = (o["o"]?.string ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let isBind = options.contains("bind") || options.contains("rbind") || o["type"]?.string == "none"
            // Options the file does not determine could name a bind: fail closed.
            // A device that is a path (`{type: ext4, device: /dev/sda1}`) is the host's, bound or mounted.
            let hostDevice = o["device"]?.string?.hasPrefix("/") == true
            if isBind || hostDevice || (!unresolved.isEmpty && o["device"] != nil) { out[name] = (o["device"]?.string ?? "", o["device"] ?? opts) }
        }
        return out
    }
}
