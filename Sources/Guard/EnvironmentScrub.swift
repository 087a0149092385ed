import Foundation
import ProvenantCore
import Secrets

/// The environment the command is given: the launcher's own, less every variable that holds a secret
/// the manifest does not name (`secrets[].env`). A variable is a secret when its name says so
/// (TOKEN, SECRET, PASSWORD, ... as a part of the name) or when the secret engine's high-confidence
/// rules find one in `NAME=value`. Entries are bytes: a value need not be UTF-8, and is passed on as it was.
public struct EnvironmentScrub: Sendable {
    /// Variables the manifest names: kept whatever they hold.
    public let named: Set<String>
    let engine: SecretEngine?

    public init(named: Set<String>, engine: SecretEngine?) { self.named = named; self.engine = engine }

    public struct Result: Sendable, Equatable {
        /// `NAME=value` entries, in their original order.
        public var kept: [[UInt8]]
        /// Names only: values are never reported.
        public var removed: [String]
    }

    /// Name parts that mark a secret (`GITHUB_TOKEN`, `DB_PASSWORD`, `AWS_SECRET_ACCESS_KEY`).
    static let secretParts: Set<String> = [
        "TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWORDS", "PASSWD", "PASSPHRASE",
        "CREDENTIAL", "CREDENTIALS", "CREDS", "AUTH", "AUTHORIZATION", "APIKEY", "PRIVATEKEY", "COOKIE",
    ]
    /// Adjacent parts that mark one (`OPENAI_API_KEY`, `SSH_PRIVATE_KEY`).
    static let secretPairs: Set<String> = ["API_KEY", "PRIVATE_KEY", "ACCESS_KEY", "SIGNING_KEY", "ENCRYPTION_KEY", "MASTER_KEY", "CLIENT_KEY", "ACCOUNT_KEY"]
    /// Endings of a single part (`GHTOKEN`, `DBPASSWORD`). AUTH only as a whole part: as a fragment it
    /// is in GIT_AUTHOR_NAME, which a commit needs and which is no secret.
    static let secretSuffixes = ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY"]
    /// Beginnings of a single part (`SECRETKEY`, `PASSWORDFILE`, `APIKEYS`). Not TOKEN: it begins
    /// TOKENIZERS_PARALLELISM, which is no secret.
    static let secretPrefixes = ["SECRET", "PASSWORD", "PASSWD", "APIKEY", "PRIVATEKEY"]
    /// Parts that mark one only beside others: `DB_PASS`, `MYSQL_PWD` (but `PWD` and `OLDPWD` are the
    /// working directories).
    static let secretPartsWithOthers: Set<String> = ["PASS", "PWD"]

    public static func nameLooksSecret(_ name: String) -> Bool {
        let parts = name.uppercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
        for (i, p) in parts.enumerated() {
            if secretParts.contains(p) || secretSuffixes.contains(where: { p.hasSuffix($0) }) { return true }
            if secretPrefixes.contains(where: { p.hasPrefix($0) }) { return true }
            if parts.count > 1, secretPartsWithOthers.contains(p) { return true }
            if i + 1 < parts.count, secretPairs.contains(p + "_" + parts[i + 1]) { return true }
        }
        return false
    }

    /// A value that carries a password whatever its variable is called: a URL with a password in its
    /// userinfo (`postgresql://admin:…@db/`), or a connection string's `Password=` or `Pwd=` field.
    public static func valueCarriesPassword(_ value: ArraySlice<UInt8>) -> Bool {
        if URLUserinfo.hasPassword(value) { return true }
        let lower = String(decoding: value, as: UTF8.self).lowercased()
        for key in ["password=", "pwd="] {
            var from = lower.startIndex
            while let r = lower.range(of: key, range: from..<lower.endIndex) {
                let before = r.lowerBound == lower.startIndex ? nil : lower[lower.index(before: r.lowerBound)]
                if before == nil || before == ";" || before == " " || before == "&" || before == "?" { return true }
                from = r.upperBound
            }
        }
        return false
    }

    /// Variables that make a shell, an interpreter or the dynamic loader load or run code of their
    /// choosing before (or instead of) the script: a declared script would run undeclared code.
    static let codeLoading: Set<String> = [
        "BASH_ENV", "ENV", "ZDOTDIR", "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND", "IFS",
        "PERL5OPT", "PERL5LIB", "PERLLIB", "PERL5DB", "PERL_DL_PATH",
        "NODE_OPTIONS", "NODE_PATH", "NODE_REPL_EXTERNAL_MODULE",
        "RUBYOPT", "RUBYLIB", "GEM_HOME", "GEM_PATH", "BUNDLE_GEMFILE",
        "GCONV_PATH", "GLIBC_TUNABLES", "MALLOC_CONF",
        // Load a shared object or run a command (OpenSSL's providers and engines were loaded from the
        // write directory by a pinned Python script, found by helper-81).
        "OPENSSL_CONF", "OPENSSL_CONF_INCLUDE", "OPENSSL_MODULES", "OPENSSL_ENGINES", "SASL_PATH",
        "GIT_SSH", "GIT_SSH_COMMAND", "GIT_EXEC_PATH", "GIT_ASKPASS", "SSH_ASKPASS", "GIT_PROXY_COMMAND", "GIT_EXTERNAL_DIFF",
        "GIT_CONFIG", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT",
        "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH", "RUBYGEMS_GEMDEPS",
        "LUA_INIT", "LUA_PATH", "LUA_CPATH", "PHPRC", "PHP_INI_SCAN_DIR", "TCLLIBPATH",
        // Where configuration that runs commands is read from, and the commands themselves (git's
        // core.fsmonitor through XDG_CONFIG_HOME, found by review).
        "XDG_CONFIG_HOME", "GIT_DIR", "GIT_WORK_TREE", "GIT_TEMPLATE_DIR", "GIT_PAGER", "PAGER", "MANPAGER", "LESSOPEN", "LESSCLOSE",
        "GIT_EDITOR", "EDITOR", "VISUAL", "DOTNET_STARTUP_HOOKS",
        // Another repository's config, hooks and objects (core.fsmonitor through GIT_COMMON_DIR, found
        // by helper-101), and the commands git, Mercurial, tar and build tools run or load.
        "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_INDEX_FILE", "GIT_SEQUENCE_EDITOR",
        "HGRCPATH", "HGEDITOR", "TAR_OPTIONS", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "CARGO_BUILD_RUSTC_WRAPPER", "GOFLAGS",
        "MAVEN_OPTS", "GRADLE_OPTS", "JAVA_OPTS", "CORECLR_PROFILER_PATH", "CORECLR_PROFILER_PATH_64", "COR_PROFILER_PATH",
        "GTK_MODULES", "GIO_EXTRA_MODULES", "QT_PLUGIN_PATH", "CURL_HOME", "WGETRC", "SUDO_ASKPASS", "BROWSER",
        "R_PROFILE", "R_PROFILE_USER", "ELECTRON_RUN_AS_NODE",
        // The compiler, linker and toolchain those tools run, and the files that set the options above
        // (RUSTC ran a program from the write directory under a pinned cargo build: found by review).
        "RUSTC", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_RUSTC", "CARGO_BUILD_RUSTFLAGS", "CARGO_HOME", "RUSTUP_TOOLCHAIN",
        "GOENV", "GOTOOLCHAIN", "JAVA_HOME", "GRADLE_USER_HOME", "MAVEN_ARGS", "MAVEN_CONFIG",
        // make's extra makefiles and options (`--eval=$(shell …)`), the compilers and flags make's
        // built-in rules, cgo, CMake and the cc crate run (`-fplugin=`, `-wrapper`), where gcc finds its
        // programs and headers, and rsync's and yarn's remote shell and path (MAKEFILES ran a makefile
        // from the write directory under a pinned build script: found by helper-146).
        "MAKEFLAGS", "MFLAGS", "GNUMAKEFLAGS", "MAKEFILES", "MAKESHELL",
        "CC", "CXX", "CPP", "LD", "AS", "AR", "FC", "CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "FFLAGS", "LDLIBS",
        "GCC_EXEC_PREFIX", "COMPILER_PATH", "CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH", "LIBRARY_PATH",
        "PKG_CONFIG", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "PKG_CONFIG_SYSROOT_DIR", "CCACHE_PREFIX", "DISTCC_HOSTS",
        "RSYNC_RSH", "RSYNC_CONNECT_PROG", "CVS_RSH",
        // configure's site script, clang's option override (`-fplugin=`), the cc crate's host and
        // target compilers, and cargo's workspace wrapper (found by helper-149).
        "CONFIG_SITE", "CCC_OVERRIDE_OPTIONS", "HOST_CC", "HOST_CXX", "HOST_CFLAGS", "HOST_CXXFLAGS", "HOST_AR",
        "TARGET_CC", "TARGET_CXX", "TARGET_CFLAGS", "TARGET_CXXFLAGS", "TARGET_AR", "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
        // Not code, but it writes TLS session keys, which decrypt the command's traffic, to a file.
        "SSLKEYLOGFILE",
    ]
    /// PYTHON* variables that load nothing (the others, like PYTHONPATH, PYTHONSTARTUP, PYTHONHOME,
    /// PYTHONINSPECT, PYTHONWARNINGS, PYTHONBREAKPOINT, are removed).
    /// Set by the launcher in every command's environment (any value given is removed first).
    public static let noUserSite = "PYTHONNOUSERSITE"
    static let harmlessPython: Set<String> = ["PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONIOENCODING", "PYTHONUTF8", "PYTHONHASHSEED", "PYTHONSAFEPATH"]

    /// Whether `name` loads code: the list above, every `LD_` variable of the loader, bash's exported
    /// functions (`BASH_FUNC_name%%`), git's numbered config, Lua's versioned paths, npm's config, and
    /// PYTHON* but a few.
    public static func loadsCode(_ name: String) -> Bool {
        if codeLoading.contains(name) || name.hasPrefix("LD_") || name.hasPrefix("BASH_FUNC_") { return true }
        if name.hasPrefix("GIT_CONFIG_KEY_") || name.hasPrefix("GIT_CONFIG_VALUE_") || name.hasPrefix("LUA_INIT_")
            || name.hasPrefix("LUA_PATH_") || name.hasPrefix("LUA_CPATH_") { return true }
        // npm reads `npm_config_*` in any case (`node-options`, `script-shell`), and yarn lower-cases names
        // before matching `yarn_` (`yarn_yarn_path`, which runs another yarn: found by helper-149).
        let upper = name.uppercased()
        if upper.hasPrefix("NPM_CONFIG_") || upper.hasPrefix("YARN_") { return true }
        // cgo's compiler flags, bun's options, CMake's compiler launchers and toolchain files, and the cc
        // crate's per-target `CC_x86_64-unknown-linux-gnu`, `CFLAGS_…`.
        if ["CGO_", "BUN_", "CMAKE_", "CC_", "CXX_", "CFLAGS_", "CXXFLAGS_", "AR_"].contains(where: { name.hasPrefix($0) }) { return true }
        // cargo's per-target runner and linker (`CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER`).
        if name.hasPrefix("CARGO_TARGET_") && (name.hasSuffix("_RUNNER") || name.hasSuffix("_LINKER") || name.hasSuffix("_RUSTFLAGS")) { return true }
        return name.hasPrefix("PYTHON") && !harmlessPython.contains(name)
    }

    /// Code-loading variables are removed whatever the manifest says: naming one cannot keep it.
    public func scrub(_ entries: [[UInt8]]) -> Result {
        var kept: [[UInt8]] = [], removed: [String] = []
        var seen = Set<[UInt8]>()
        for entry in entries {
            let eq = entry.firstIndex(of: UInt8(ascii: "=")) ?? entry.endIndex
            let name = String(decoding: entry[..<eq], as: UTF8.self)
            // One entry per name, the first, which getenv and the checks here read: a shell keeps the
            // last, so a second HOME= could carry past the check what the first did not (found by review).
            guard seen.insert(Array(entry[..<eq])).inserted else { removed.append(name); continue }
            if Self.loadsCode(name) { removed.append(name); continue }
            if named.contains(name) { kept.append(entry); continue }
            let value = eq < entry.endIndex ? entry[(eq + 1)...] : []
            let flagged = Self.nameLooksSecret(name) || Self.valueCarriesPassword(value)
                || (engine.map { e in entry.withUnsafeBytes { !e.scan($0).isEmpty } } ?? false)
            if flagged { removed.append(name) } else { kept.append(entry) }
        }
        return Result(kept: kept, removed: removed)
    }

    /// The value of the first `NAME=` entry in `entries`, as bytes (what getenv returns), or nil.
    public static func value(of name: String, in entries: [[UInt8]]) -> [UInt8]? {
        let prefix = Array(name.utf8) + [UInt8(ascii: "=")]
        return entries.first { $0.starts(with: prefix) }.map { Array($0.dropFirst(prefix.count)) }
    }

    /// `NAME=value` entries of this process's environment, as the kernel gave them.
    public static func current() -> [[UInt8]] {
        var out: [[UInt8]] = []
        var p = environ
        while let s = p.pointee {
            out.append(Array(UnsafeBufferPointer(start: UnsafeRawPointer(s).assumingMemoryBound(to: UInt8.self), count: strlen(s))))
            p += 1
        }
        return out
    }
}
