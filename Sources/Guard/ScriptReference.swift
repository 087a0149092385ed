import Foundation

/// Which file of a command line is the "script" the manifest's `scripts:` speaks of: the command
/// itself, or, when the command is an interpreter (`sh x.sh`, `python3 -u x.py`, `env A=1 bash x.sh`),
/// its first non-option argument. Code an interpreter takes inline or from standard input
/// (`sh -c`, `python3 -`, `perl -e`) has no file: it is `.inline`, and the interpreter itself stands
/// for it. `python3 -m mod` runs a module found on sys.path: `.module`, matched by the module name.
public enum ScriptReference: Sendable, Equatable {
    /// The command's own file.
    case command
    /// `argv[index]` names the script file. `searchPATH`: it is a command `env` runs, looked up on
    /// PATH; otherwise a path the interpreter opens relative to the working directory.
    case file(index: Int, searchPATH: Bool)
    /// Inline or standard-input code; the string says how (`sh -c`).
    case inline(String)
    case module(String)

    /// How an interpreter's options are read: letters that mean inline code, a module, or that take a
    /// value (attached, or the next word when nothing is attached), and long options likewise.
    struct Syntax {
        var inline: Set<Character> = [], module: Set<Character> = [], valued: Set<Character> = []
        var inlineLong: Set<String> = [], valuedLong: Set<String> = []
        /// Shells also take `+o name`.
        var plusOptions = false
    }

    static let shell = Syntax(inline: ["c", "s"], valued: ["o", "O"], valuedLong: ["--rcfile", "--init-file"], plusOptions: true)
    static let python = Syntax(inline: ["c"], module: ["m"], valued: ["W", "X"], valuedLong: ["--check-hash-based-pycs"])
    static let perl = Syntax(inline: ["e", "E"], valued: ["I", "M", "m", "x", "i", "l", "C", "d", "D", "F", "0"])
    static let ruby = Syntax(inline: ["e"], valued: ["I", "r", "C", "E", "F", "K", "T", "x", "0", "l", "i"])
    static let node = Syntax(inline: ["e", "p"], valued: ["r"], inlineLong: ["--eval", "--print", "--input-type"], valuedLong: ["--require", "--import", "--loader"])

    /// The interpreter `name` (a basename) speaks, if any.
    static func syntax(of name: String) -> Syntax? {
        switch name {
        case "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "rbash": return shell
        case "perl": return perl
        case "ruby": return ruby
        case "node", "nodejs": return node
        default:
            // python, python3, python3.11, pypy3
            for prefix in ["python", "pypy"] where name.hasPrefix(prefix) {
                if name.dropFirst(prefix.count).allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) { return python }
            }
            return nil
        }
    }

    public static func isInterpreter(_ name: String) -> Bool { name == "env" || syntax(of: name) != nil }

    /// The script of `argv`. `names` are the command's basenames (as written, and of the file it
    /// resolves to): a symbolic link named `cleanup.sh` that points at bash is still bash.
    public static func of(_ argv: [String], names: [String]) -> ScriptReference {
        if names.contains("env") { return env(argv, from: 1) }
        guard let syntax = names.lazy.compactMap(syntax(of:)).first else { return .command }
        return interpreted(argv, from: 1, syntax: syntax, name: names[0])
    }

    /// `env [-i] [-u NAME] [-C DIR] [NAME=VALUE]... COMMAND [ARGS]`: the script of COMMAND.
    static func env(_ argv: [String], from start: Int) -> ScriptReference {
        var i = start
        while i < argv.count {
            let a = argv[i]
            if a == "--" { i += 1; break }
            if a == "-S" || a.hasPrefix("--split-string") || (a.hasPrefix("-") && !a.hasPrefix("--") && a.contains("S")) {
                return .inline("env -S")  // a command line env splits itself: not one we can read
            }
            if a == "-u" || a == "-C" || a == "--unset" || a == "--chdir" { i += 2; continue }
            if a.hasPrefix("-") && a != "-" { i += 1; continue }
            if a.contains("=") { i += 1; continue }
            break
        }
        guard i < argv.count else { return .inline("env without a command") }
        let name = (argv[i] as NSString).lastPathComponent
        if name == "env" { return env(argv, from: i + 1) }
        if let syntax = syntax(of: name) { return interpreted(argv, from: i + 1, syntax: syntax, name: name) }
        return .file(index: i, searchPATH: !argv[i].contains("/"))
    }

    static func interpreted(_ argv: [String], from start: Int, syntax: Syntax, name: String) -> ScriptReference {
        var i = start
        while i < argv.count {
            let a = argv[i]
            if a == "--" { i += 1; break }
            if a == "-" { return .inline("\(name) -") }
            if a.hasPrefix("--") {
                let option = String(a.split(separator: "=", maxSplits: 1)[0])
                if syntax.inlineLong.contains(option) { return .inline("\(name) \(option)") }
                i += syntax.valuedLong.contains(option) && !a.contains("=") ? 2 : 1
                continue
            }
            guard a.count > 1, a.hasPrefix("-") || (syntax.plusOptions && a.hasPrefix("+")) else { break }
            var skipNext = false
            let letters = Array(a.dropFirst())
            for (k, ch) in letters.enumerated() {
                if syntax.inline.contains(ch) { return .inline("\(name) -\(ch)") }
                if syntax.module.contains(ch) {
                    let attached = String(letters[(k + 1)...])
                    let module = attached.isEmpty ? (i + 1 < argv.count ? argv[i + 1] : "") : attached
                    return module.isEmpty ? .inline("\(name) -\(ch)") : .module(module)
                }
                if syntax.valued.contains(ch) { skipNext = k == letters.count - 1; break }
            }
            i += skipNext ? 2 : 1
        }
        // Nothing left: the interpreter reads its program from standard input.
        return i < argv.count ? .file(index: i, searchPATH: false) : .inline("\(name) reading standard input")
    }
}
