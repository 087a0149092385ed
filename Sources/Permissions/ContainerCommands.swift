import Foundation
import ProvenantCore
import Yams

/// Every command line the kubelet runs in a container: its `command` and `args`, and the exec
/// handlers of its probes and lifecycle hooks, each with `$(VAR)` references expanded from the
/// container's literal `env` values, as Kubernetes expands them. What a script check reads: a
/// `cleanup.sh` run from a preStop hook, or named only through an env value, runs all the same.
enum ContainerCommands {
    struct Line {
        /// Where the line is written, for the finding's location.
        var node: Node?
        var strings: [String]
    }

    static let handlers = ["livenessProbe", "readinessProbe", "startupProbe"]
    static let hooks = ["postStart", "preStop"]

    static func lines(_ container: Node) -> [Line] {
        let env = environment(container)
        func expanded(_ node: Node?) -> [String] { (node?.sequence ?? []).compactMap(\.string).map { expand($0, env) } }
        var out: [Line] = []
        let main = expanded(container["command"]) + expanded(container["args"])
        if !main.isEmpty { out.append(Line(node: container["command"] ?? container["args"], strings: main)) }
        for probe in handlers {
            let command = container[probe]?["exec"]?["command"]
            if command != nil { out.append(Line(node: command, strings: expanded(command))) }
        }
        for hook in hooks {
            let command = container["lifecycle"]?[hook]?["exec"]?["command"]
            if command != nil { out.append(Line(node: command, strings: expanded(command))) }
        }
        return out
    }

    /// The words of a command line, split wherever a shell would end a file name: `x=$(cleanup.sh)`
    /// runs cleanup.sh.
    static func words(_ strings: [String]) -> [String] {
        strings.flatMap { $0.split(whereSeparator: { " \t\n;&|()`$'\"<>=,{}".contains($0) }).map(String.init) }
    }

    /// A shell's `$NAME` and `${NAME}` (with `:-`/`-` defaults read as the value when set, else the
    /// default) replaced from `env`; other text kept. What `sh -c "$CLEANUP"` runs, when the container
    /// sets CLEANUP to a literal (Left undone: only the kubelet's `$(VAR)` was expanded).
    static func shellExpanded(_ s: String, _ env: [String: String]) -> String {
        guard s.contains("$") else { return s }
        let c = Array(s.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < c.count {
            guard c[i] == "$", i + 1 < c.count else { out.append(c[i]); i += 1; continue }
            if c[i + 1] == "{", let close = c[(i + 2)...].firstIndex(of: "}") {
                let inner = c[(i + 2)..<close]
                let nameEnd = inner.indices.first { !isName(inner[$0], first: $0 == i + 2) } ?? close
                let name = String(String.UnicodeScalarView(c[(i + 2)..<nameEnd]))
                let rest = String(String.UnicodeScalarView(c[nameEnd..<close]))
                var value: String?
                if let v = env[name], !(rest.hasPrefix(":-") && v.isEmpty) { value = v }
                else if rest.hasPrefix(":-") { value = String(rest.dropFirst(2)) }
                else if rest.hasPrefix("-") { value = String(rest.dropFirst()) }
                if let value, !name.isEmpty { out.append(contentsOf: value.unicodeScalars); i = close + 1; continue }
                out.append(c[i]); i += 1; continue
            }
            var j = i + 1
            while j < c.count, isName(c[j], first: j == i + 1) { j += 1 }
            let name = String(String.UnicodeScalarView(c[(i + 1)..<j]))
            if !name.isEmpty, let v = env[name] { out.append(contentsOf: v.unicodeScalars); i = j; continue }
            out.append(c[i]); i += 1
        }
        return String(out)
    }

    /// The words of a command line as written and, when a shell would expand something in it, as
    /// expanded from `env` too: what a script check looks for a script's name in.
    /// Quotes and backslashes are removed as a shell removes them, too: `/opt/clean''up.sh` and
    /// `clean\up.sh` run cleanup.sh (found by helper-136).
    /// Also as a shell reads them after variables the command sets itself (`S=cleanup; ./$S.sh`), ANSI-C
    /// quoting (`clean$'u'p.sh`) and brace expansion (`clean{up,}.sh`) (helper-138).
    static func wordsAsRun(_ strings: [String], env: [String: String]) -> [String] {
        let local = env.merging(shellAssignments(strings)) { given, _ in given }
        let expanded = strings.map { shellExpanded($0, local) }
        var out = words(strings) + (expanded == strings ? [] : words(expanded))
        let unquoted = expanded.map(quotesRemoved)
        if unquoted != expanded { out += words(unquoted) }
        // Brace groups span what `words` splits at (`,`, `{`), so they are expanded in blank-separated words.
        for s in unquoted where s.contains("{") {
            for w in s.split(whereSeparator: { " \t\n;&|()".contains($0) }) where w.contains("{") { out += words(bracesExpanded(String(w))) }
        }
        return out
    }

    /// `NAME=VALUE` words a shell command line sets, with literal values only (no `$`, backquote or
    /// parenthesis), quotes removed.
    static func shellAssignments(_ strings: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for s in strings where s.contains("=") {
            for word in s.split(whereSeparator: { " \t\n;&|()".contains($0) }) {
                guard let eq = word.firstIndex(of: "="), eq > word.startIndex else { continue }
                let name = word[..<eq], value = quotesRemoved(String(word[word.index(after: eq)...]))
                guard isName(name), !value.contains(where: { "$`(".contains($0) }) else { continue }
                out[String(name)] = value
            }
        }
        return out
    }

    /// A word with `{a,b}` groups as the shell expands them (each group's alternatives, at most 64
    /// words); `${…}` is no group.
    static func bracesExpanded(_ word: String) -> [String] {
        var results = [""]
        var rest = Substring(word)
        while let open = rest.firstIndex(of: "{") {
            let before = rest[..<open]
            guard rest[..<open].last != "$", let close = rest[open...].firstIndex(of: "}") else { break }
            let inner = rest[rest.index(after: open)..<close]
            guard inner.contains(","), !inner.contains("{") else {
                results = results.map { $0 + rest[...close] }
                rest = rest[rest.index(after: close)...]
                continue
            }
            let alternatives = inner.split(separator: ",", omittingEmptySubsequences: false)
            // Lazily: a group of 100,000 alternatives must not build millions of words first.
            results = Array(results.lazy.flatMap { r in alternatives.lazy.map { r + before + $0 } }.prefix(64))
            rest = rest[rest.index(after: close)...]
        }
        return results.map { $0 + rest }
    }

    /// `s` without the quote characters and backslashes a shell removes (a backslash keeps the
    /// character after it).
    static func quotesRemoved(_ s: String) -> String {
        guard s.contains(where: { $0 == "'" || $0 == "\"" || $0 == "\\" }) else { return s }
        var out = "", escaped = false
        var chars = Array(s)
        // `$'…'` is ANSI-C quoting: the `$` goes with the quotes.
        var i = 0
        while i + 1 < chars.count { if chars[i] == "$" && chars[i + 1] == "'" { chars.remove(at: i) } else { i += 1 } }
        for ch in chars {
            if escaped { out.append(ch); escaped = false; continue }
            switch ch {
            case "\\": escaped = true
            case "'", "\"": continue
            default: out.append(ch)
            }
        }
        return out
    }

    /// Whether the words name `script`, by itself or as the last element of a path; a glob in the
    /// last element (`cleanup.s?`, `clean*`) that the name matches counts too, as the shell would
    /// expand it to the script.
    static func runs(_ words: [String], _ script: String) -> Bool {
        words.contains { w in
            if w == script || w.hasSuffix("/" + script) { return true }
            let last = w.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? w
            guard last.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }), !script.contains("/") else { return false }
            return fnmatch(last, script, 0) == 0
        }
    }

    /// Names a command line refers to (`$NAME`, `${NAME}`, `$(NAME)`) whose values the workload sets
    /// from outside itself: a `valueFrom` (ConfigMap, Secret, field), or, when the container has
    /// `envFrom`, any name the shell does not set itself. Which script such a line runs is not known
    /// here (found by helper-136: `sh -c "$(SCRIPT)"` from a ConfigMap passed as clean).
    static func unknownReferences(_ strings: [String], container: Node) -> [String] {
        let (literal, fromOutside) = environmentParts(container)
        let envFrom = !(container["envFrom"]?.sequence ?? []).isEmpty
        var out = Set<String>()
        for name in referencedNames(strings) where literal[name] == nil {
            if fromOutside.contains(name) || (envFrom && !shellOwn.contains(name)) { out.insert(name) }
        }
        return out.sorted()
    }

    /// The words a shell runs as a command (or hands to a runner such as `exec`, `sh` or `python3`)
    /// whose text is only known when it runs: a command substitution (`$(cat f)`, backquotes), or a
    /// variable neither the container's literal env nor the command itself sets literally
    /// (`S=$(cat f); ./$S`, `for f in *; do ./$f; done`). Which script such a word runs is not known
    /// here (left undone by helper-138). Only shell text (`sh -c TEXT`) is read: a word the kubelet
    /// runs directly is not expanded by a shell. Positional and special parameters (`"$@"`, `$1`)
    /// are not counted, as their values are words of the command line, checked themselves.
    static func runtimeNamedCommands(_ strings: [String], env: [String: String]) -> [String] {
        let local = env.merging(shellAssignments(strings)) { given, _ in given }
        // The words are quoted in findings: a secret's value is never filled in, only the redaction
        // mark. `$(/opt/boot.sh $DB_PASSWORD)` was quoted with the password in it (found by
        // helper-159); masking the words afterwards missed values the shell's quoting and word
        // splitting had changed, and took minutes on long values (review, helper-162). The mark is
        // letters only, so no quote, separator or glob of the value can change the words either.
        let secrets = local.filter { Hygiene.looksSecret(name: $0.key, value: $0.value) }
        let shown = local.merging(secrets.mapValues { _ in Redactor.mark }) { _, mark in mark }
        var out: [String] = []
        for text in shellTexts(strings) { out += runtimeNamedWords(shellExpanded(text, shown), known: shown) }
        // A value written into the command itself as well (`${NOPE:-VALUE}`) is masked in the words
        // findings quote (the first few: `ScriptEnvironments.listed`), longest value first.
        let values = secrets.values.filter { $0.count >= 4 }.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
        for i in out.indices.prefix(quotedWords) {
            out[i] = values.reduce(out[i]) { $0.replacingOccurrences(of: $1, with: Redactor.mark) }
        }
        return out
    }

    /// How many run-time-named words a finding quotes.
    static let quotedWords = 3

    static let shells: Set<String> = ["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"]

    /// The command text of each shell the line runs with `-c` (or a flag group holding `c`, as `-ec`):
    /// the first operand after the options, which may come before or after `-c` and take arguments
    /// (`-o pipefail`), beside long options (`--noprofile`), and behind `busybox sh` (helper-143).
    static func shellTexts(_ strings: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < strings.count {
            let name = strings[i].split(separator: "/").last.map(String.init) ?? strings[i]
            guard shells.contains(name) else { i += 1; continue }
            var j = i + 1
            // busybox's applet name, then the applet's own options.
            if name == "busybox", j < strings.count, shells.contains(strings[j]) { j += 1 }
            var command = false
            while j < strings.count {
                let w = strings[j]
                if w == "--" { j += 1; break }
                // bash's long options; `--rcfile FILE` and `--init-file FILE` take the next word (helper-144).
                if w.hasPrefix("--") { j += w == "--rcfile" || w == "--init-file" ? 2 : 1; continue }
                guard w.count > 1, w.hasPrefix("-") || w.hasPrefix("+") else { break }
                let flags = w.dropFirst()
                if w.hasPrefix("-"), flags.contains("c") { command = true }
                // `-o NAME` / `+o NAME` (and `-O` for bash's shopt) take the next word.
                j += flags.last == "o" || flags.last == "O" ? 2 : 1
            }
            if command, j < strings.count { out.append(strings[j]) }
            i = j + 1
        }
        return out
    }

    /// Words that keep the next word in a position the shell runs: command prefixes, shells and
    /// interpreters (whose first operand is the program they run), and the keywords before a command.
    static let runners: Set<String> = ["exec", "eval", "command", "builtin", "nohup", "env", "sudo", "nice", "xargs", "then", "do", "else", "elif", "if",
                                       "while", "until", "!", "time", "source", ".", "{", "sh", "bash", "dash", "ash", "zsh", "ksh", "mksh",
                                       "python", "python3", "node", "perl", "ruby", "php"]

    /// `runtimeNamedCommands` on one shell text, already expanded from what is known.
    static func runtimeNamedWords(_ text: String, known: [String: String]) -> [String] {
        let c = Array(text.unicodeScalars)
        var out: [String] = []
        var word = String.UnicodeScalarView(), dynamic = false
        var runPosition = true, afterRunner = false
        var quote: Unicode.Scalar?
        func endWord() {
            defer { word = String.UnicodeScalarView(); dynamic = false }
            guard !word.isEmpty else { return }
            let w = String(word)
            if runPosition && dynamic, !isAssignment(w) { out.append(w) }
            if isAssignment(w) { return }
            let base = w.split(separator: "/").last.map(String.init) ?? w
            if runPosition && runners.contains(base) { afterRunner = true; return }
            if afterRunner && w.hasPrefix("-") { return }
            runPosition = false; afterRunner = false
        }
        /// The end of a `$(…)` or backquoted text from `start`, nested parentheses counted.
        func substitutionEnd(_ start: Int, close: Unicode.Scalar) -> Int {
            var depth = 0, k = start
            while k < c.count {
                if c[k] == "\\" { k += 2; continue }
                if close == ")" && c[k] == "(" { depth += 1 }
                if c[k] == close { if depth == 0 { return k }; depth -= 1 }
                k += 1
            }
            return c.count - 1
        }
        var i = 0
        while i < c.count {
            let ch = c[i]
            if let q = quote {
                if ch == q { quote = nil; i += 1; continue }
                if q == "\"" && ch == "\\", i + 1 < c.count { word.append(c[i + 1]); i += 2; continue }
                if q == "'" { word.append(ch); i += 1; continue }
            } else {
                if ch == "'" || ch == "\"" { quote = ch; i += 1; continue }
                if ch == "\\", i + 1 < c.count { word.append(c[i + 1]); i += 2; continue }
                if ch == " " || ch == "\t" { endWord(); i += 1; continue }
                if ";&|\n()".unicodeScalars.contains(ch) { endWord(); runPosition = true; afterRunner = false; i += 1; continue }
            }
            // Unquoted, or inside double quotes: substitutions and parameters.
            if ch == "`" || (ch == "$" && i + 1 < c.count && c[i + 1] == "(") {
                let end = ch == "`" ? substitutionEnd(i + 1, close: "`") : substitutionEnd(i + 2, close: ")")
                word.append(contentsOf: c[i...end]); dynamic = true; i = end + 1; continue
            }
            if ch == "$", i + 1 < c.count {
                var j = i + 1
                if c[j] == "{" { j += 1 }
                let start = j
                while j < c.count, isName(c[j], first: j == start) { j += 1 }
                let name = String(String.UnicodeScalarView(c[start..<j]))
                if !name.isEmpty, known[name] == nil, !shellOwn.contains(name) { dynamic = true }
            }
            word.append(ch); i += 1
        }
        endWord()
        return out
    }

    /// `NAME=…`, a shell assignment word.
    static func isAssignment(_ w: String) -> Bool {
        guard let eq = w.firstIndex(of: "=") else { return false }
        return isName(w[..<eq])
    }

    /// Variables a shell or the kubelet sets whatever the workload says.
    static let shellOwn: Set<String> = ["HOME", "PATH", "PWD", "OLDPWD", "HOSTNAME", "USER", "SHELL", "IFS", "UID", "EUID", "PPID", "RANDOM", "LINENO", "SECONDS", "OPTARG", "OPTIND", "TERM"]

    /// A shell variable name's character: a letter, `_`, or (not first) a digit, in ASCII.
    static func isName(_ u: Unicode.Scalar, first: Bool) -> Bool { u == "_" || (u.isASCII && u.properties.isAlphabetic) || (!first && ("0"..."9").contains(u)) }

    /// Whether `s` is a shell variable name.
    static func isName(_ s: Substring) -> Bool {
        !s.isEmpty && s.unicodeScalars.enumerated().allSatisfy { isName($0.element, first: $0.offset == 0) }
    }

    /// The names after `$`, `${` and `$(` in `strings` (`$$` is a literal dollar for the kubelet).
    static func referencedNames(_ strings: [String]) -> Set<String> {
        var out = Set<String>()
        for s in strings where s.contains("$") {
            let c = Array(s.unicodeScalars)
            var i = 0
            while i < c.count {
                guard c[i] == "$", i + 1 < c.count else { i += 1; continue }
                var j = i + 1
                if c[j] == "$" { i += 2; continue }
                if c[j] == "{" || c[j] == "(" { j += 1 }
                let start = j
                while j < c.count, isName(c[j], first: j == start) { j += 1 }
                if j > start { out.insert(String(String.UnicodeScalarView(c[start..<j]))) }
                i = max(j, i + 1)
            }
        }
        return out
    }

    /// The container's literal env values in order, each expanded with those before it, as the
    /// kubelet builds them (a value from a Secret or field is not known here and stays unexpanded).
    static func environment(_ container: Node) -> [String: String] { environmentParts(container).literal }

    /// The container's env, in order, as the kubelet builds it: the values known here, and the names
    /// whose values come from outside the workload. A `valueFrom` (with no value, or an empty one,
    /// which the API allows beside it) is not known and replaces a literal given before, as the kubelet
    /// keeps the last entry (helper-138); a literal that takes in such a name through `$(NAME)` is not
    /// known either (helper-139).
    static func environmentParts(_ container: Node) -> (literal: [String: String], outside: Set<String>) {
        var env: [String: String] = [:], outside = Set<String>()
        for e in container["env"]?.sequence ?? [] {
            guard let name = e["name"]?.string else { continue }
            let value = e["value"]?.string ?? ""
            if e["valueFrom"] != nil && value.isEmpty { env[name] = nil; outside.insert(name); continue }
            if outside.contains(where: { value.contains("$(" + $0 + ")") }) { env[name] = nil; outside.insert(name); continue }
            env[name] = expand(value, env)
            outside.remove(name)
        }
        return (env, outside)
    }

    /// Kubernetes' `$(VAR)` expansion: a defined name is replaced, an undefined one kept as written,
    /// and `$$` is one literal `$`.
    static func expand(_ s: String, _ env: [String: String]) -> String {
        guard s.contains("$") else { return s }
        var out = "", rest = Substring(s)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.first == "$" { out += "$"; rest = after.dropFirst(); continue }
            if after.first == "(", let close = after.firstIndex(of: ")") {
                let name = String(after[after.index(after: after.startIndex)..<close])
                if let v = env[name] { out += v } else { out += "$(" + name + ")" }
                rest = after[after.index(after: close)...]
                continue
            }
            out += "$"; rest = after
        }
        return out + rest
    }
}
