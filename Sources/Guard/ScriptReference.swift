import Foundation
import ProvenantCore

/// Which file of a command line is the "script" the manifest's `scripts:` speaks of: the command
/// itself, or, when the command is an interpreter (`sh x.sh`, `python3 -u x.py`, `env -i bash x.sh`),
/// its first non-option argument. Code an interpreter takes inline or from standard input
/// (`sh -c`, `python3 -`, `perl -e`) has no file: it is `.inline`, and the interpreter itself stands
/// for it.
///
/// Deny by default: an interpreter's options are read against a short list of options known to run
/// nothing but the script (`bash -e -o pipefail`, `python3 -u -W ignore`, `perl -w`). Any other option
/// (one that loads or runs code, like `perl -M`, `python3 -i`, `-m`, `ruby -r`, `node --require`,
/// `bash --rcfile`, or one the launcher does not know) makes the command `.refused`: a declared script
/// must not be the cover for code the manifest does not declare. `env` likewise takes only `-i`,
/// `-u NAME` and `NAME=VALUE` with a NAME that loads no code.
public enum ScriptReference: Sendable, Equatable {
    /// The command's own file.
    case command
    /// `argv[index]` names the script file. `searchPATH`: it is a command `env` runs, looked up on
    /// PATH; otherwise a path the interpreter opens relative to the working directory.
    case file(index: Int, searchPATH: Bool)
    /// Inline or standard-input code; the string says how (`sh -c`).
    case inline(String)
    /// The command line cannot be run: the reason.
    case refused(String)

    /// How an interpreter's options are read. Only what is listed is accepted.
    struct Syntax {
        /// Harmless letters without a value.
        var flags: Set<Character> = []
        /// Harmless letters with a value, attached or the next word.
        var valued: Set<Character> = []
        /// Harmless letters whose value can only be attached (ruby's `-W0`).
        var attachedOnly: Set<Character> = []
        /// Letters that give the program inline (or on standard input).
        var inline: Set<Character> = []
        /// The inline letter takes its code as a value (attached or the next word): perl, ruby, node.
        var inlineTakesValue = false
        /// The inline letter ends the options (python: what follows is `sys.argv`).
        var inlineEnds = false
        var longFlags: Set<String> = []
        var inlineLong: Set<String> = []
        /// Shells: `+o name`, `+e`, and `-o`'s value must be one of `setOptions`.
        var shell = false
    }

    /// `set -o` names that only change how the script's own commands are run.
    static let setOptions: Set<String> = ["errexit", "nounset", "xtrace", "verbose", "pipefail", "noglob", "noclobber", "noexec"]

    static let shell = Syntax(flags: ["e", "u", "x", "v", "f", "n"], valued: ["o"], inline: ["c", "s"], longFlags: ["--noprofile", "--norc"], shell: true)
    // Not -E: it ignores PYTHONNOUSERSITE, the launcher's guard against the user site (found by review).
    static let python = Syntax(flags: ["u", "B", "s", "S", "I", "O", "q", "P"], valued: ["W"], inline: ["c"], inlineEnds: true)
    static let perl = Syntax(flags: ["w", "W", "X", "t", "T"], inline: ["e", "E"], inlineTakesValue: true)
    static let ruby = Syntax(flags: ["w"], attachedOnly: ["W"], inline: ["e"], inlineTakesValue: true)
    static let node = Syntax(inline: ["e", "p"], inlineTakesValue: true,
                             longFlags: ["--no-warnings", "--enable-source-maps", "--no-deprecation", "--trace-warnings", "--throw-deprecation",
                                         "--trace-deprecation", "--pending-deprecation", "--trace-uncaught"],
                             inlineLong: ["--eval", "--print"])

    /// The interpreter languages whose options the launcher reads.
    enum Family: String { case shell, python, perl, ruby, node, env }

    /// The interpreter `name` (a basename) is, if any: versioned names too (`python3.11`, `perl5.36.0`,
    /// `ruby3.1`, `ksh93`), so that a link's target is known for what it is.
    static func family(of name: String) -> Family? {
        var base = Substring(name)
        while let last = base.last, last.isASCII, last.isNumber || last == "." { base = base.dropLast() }
        switch base {
        case "env": return name == "env" ? .env : nil
        case "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "rbash": return .shell
        case "perl": return .perl
        case "ruby": return .ruby
        case "node", "nodejs": return .node
        case "python", "pypy": return .python
        default: return nil
        }
    }

    /// The options of the interpreter `name` (a basename) speaks, if any.
    static func syntax(of name: String) -> Syntax? {
        switch family(of: name) {
        case .shell: return shell
        case .python: return python
        case .perl: return perl
        case .ruby: return ruby
        case .node: return node
        case .env, nil: return nil
        }
    }

    /// Why a command typed as `typed` must not run when the file it resolves to is `real` (basenames),
    /// or nil. Options are read with the grammar of the name, so the name must say what runs: a link
    /// named `python3` to bash made python's harmless `-s` bash's "read commands from standard input",
    /// and a pinned script the cover for them (found by helper-81). A target that is no interpreter
    /// the launcher knows is refused under an interpreter's name too (busybox alone picks its applet
    /// by the name it is run as).
    public static func mismatch(typed: String, real: String) -> String? {
        guard typed != real else { return nil }
        let t = family(of: typed), r = family(of: real)
        if t == r || (t != nil && real == "busybox") { return nil }
        if let t, let r { return "'\(typed)' is \(real): a \(r.rawValue) interpreter would read options written for \(t.rawValue)" }
        if t != nil { return "'\(typed)' is \(real), which is not the interpreter its name says" }
        return nil
    }

    public static func isInterpreter(_ name: String) -> Bool { family(of: name) != nil }

    static func codeOption(_ option: String, of name: String) -> ScriptReference {
        .refused("interpreter option \(option) of \(name) could run code the manifest does not declare")
    }

    /// The script of `argv`. `names` are the command's basenames (as written, and of the file it
    /// resolves to): a symbolic link named `cleanup.sh` that points at bash is still bash.
    public static func of(_ argv: [String], names: [String]) -> ScriptReference {
        var interpreters: [Int] = []
        return of(argv, names: names, interpreters: &interpreters)
    }

    /// Also the indices of the words `env` runs as interpreters (the launcher checks their files).
    public static func of(_ argv: [String], names: [String], interpreters: inout [Int]) -> ScriptReference {
        if names.count > 1, let why = mismatch(typed: names[0], real: names[1]) { return .refused(why) }
        if names.contains("env") { return env(argv, from: 1, interpreters: &interpreters) }
        guard let syntax = names.lazy.compactMap(syntax(of:)).first else { return .command }
        return interpreted(argv, from: 1, syntax: syntax, name: names[0])
    }

    /// Variables `env NAME=VALUE` may not set: those that load code, PATH, which chooses the
    /// interpreter env runs, and HOME, whose module folders Node loads from (the launcher checks the
    /// HOME it was given; `env HOME=` carried a planted one past it, found by helper-81).
    static func envMayNotSet(_ name: String) -> Bool { name == "PATH" || name == "HOME" || EnvironmentScrub.loadsCode(name) }

    /// Variables `env -u` may not unset: what the launcher sets to keep code out.
    static func envMayNotUnset(_ name: String) -> Bool { name == EnvironmentScrub.noUserSite || name == "PATH" || name == "HOME" }

    /// `env [-i] [-u NAME] [NAME=VALUE]... COMMAND [ARGS]`: the script of COMMAND.
    static func env(_ argv: [String], from start: Int, interpreters: inout [Int]) -> ScriptReference {
        var i = start
        while i < argv.count {
            let a = argv[i]
            if a == "--" { i += 1; break }
            // A cleared environment drops what the launcher sets (PYTHONNOUSERSITE) and brings back
            // shells' built-in PATH, which ends in `.`: refused, as every way around a narrower check
            // was found (review).
            if a == "-i" || a == "--ignore-environment" || a == "-" {
                return .refused("env \(a) clears the environment the launcher sets (PYTHONNOUSERSITE, PATH), which could run code the manifest does not declare")
            }
            if a == "-u" || a == "--unset" {
                guard i + 1 < argv.count else { return .refused("env option \(a) has no variable name") }
                if envMayNotUnset(argv[i + 1]) { return .refused("env -u \(argv[i + 1]) could run code the manifest does not declare") }
                i += 2; continue
            }
            if a.hasPrefix("--unset=") || (a.hasPrefix("-u") && !a.hasPrefix("--") && a.count > 2) {
                let name = a.hasPrefix("--unset=") ? String(a.dropFirst(8)) : String(a.dropFirst(2))
                if envMayNotUnset(name) { return .refused("env -u \(name) could run code the manifest does not declare") }
                i += 1; continue
            }
            if a.hasPrefix("-") {
                return .refused("env option \(a) could run code the manifest does not declare; env takes only -i, -u NAME and NAME=VALUE here")
            }
            if let eq = a.firstIndex(of: "=") {
                let name = String(a[..<eq])
                if envMayNotSet(name) { return .refused("env \(name)=... could run code the manifest does not declare") }
                i += 1; continue
            }
            break
        }
        guard i < argv.count else { return .inline("env without a command") }
        let name = PathText.lastComponent(argv[i])
        if name == "env" { interpreters.append(i); return env(argv, from: i + 1, interpreters: &interpreters) }
        if let syntax = syntax(of: name) {
            interpreters.append(i)
            return interpreted(argv, from: i + 1, syntax: syntax, name: name)
        }
        return .file(index: i, searchPATH: !argv[i].contains("/"))
    }

    /// `-W` of python: `action:message:category:module:lineno`; a category with a dot is imported.
    static func harmlessPythonWarning(_ value: String) -> Bool {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count < 3 || !parts[2].contains(".")
    }

    static func interpreted(_ argv: [String], from start: Int, syntax: Syntax, name: String) -> ScriptReference {
        var i = start
        var inline: String?
        words: while i < argv.count {
            let a = argv[i]
            if a == "--" { i += 1; break }
            if a == "-" { return .inline(inline ?? "\(name) -") }
            if a.hasPrefix("--") {
                let option = String(a.split(separator: "=", maxSplits: 1)[0])
                if syntax.longFlags.contains(option) && !a.contains("=") { i += 1; continue }
                if syntax.inlineLong.contains(option) {
                    inline = inline ?? "\(name) \(option)"
                    i += a.contains("=") ? 1 : 2
                    continue
                }
                return codeOption(option, of: name)
            }
            guard a.count > 1, a.hasPrefix("-") || (syntax.shell && a.hasPrefix("+")) else { break }
            let letters = Array(a.dropFirst())
            var next = i + 1
            for (k, ch) in letters.enumerated() {
                if syntax.flags.contains(ch) { continue }
                let attached = String(letters[(k + 1)...])
                if syntax.attachedOnly.contains(ch) {
                    guard attached.allSatisfy(\.isNumber) else { return codeOption("-\(ch)\(attached)", of: name) }
                    break
                }
                if syntax.valued.contains(ch) {
                    let value: String
                    if attached.isEmpty {
                        guard next < argv.count else { return codeOption("-\(ch)", of: name) }
                        value = argv[next]; next += 1
                    } else {
                        value = attached
                    }
                    if syntax.shell && ch == "o" && !setOptions.contains(value) { return codeOption("-o \(value)", of: name) }
                    if syntax.inlineEnds && ch == "W" && !harmlessPythonWarning(value) { return codeOption("-W \(value)", of: name) }
                    break
                }
                if syntax.inline.contains(ch) && a.hasPrefix("-") {
                    inline = inline ?? "\(name) -\(ch)"
                    if syntax.inlineEnds { return .inline(inline!) }
                    if syntax.inlineTakesValue {
                        if attached.isEmpty { next += 1 }
                        break
                    }
                    continue
                }
                return codeOption("-\(ch)", of: name)
            }
            i = next
            continue words
        }
        if let inline { return .inline(inline) }
        // Nothing left: the interpreter reads its program from standard input.
        return i < argv.count ? .file(index: i, searchPATH: false) : .inline("\(name) reading standard input")
    }
}
