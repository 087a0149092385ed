/// Environment variables that make a shell, an interpreter, the dynamic loader or a build tool load or
/// run code of their choosing: what `guard exec` removes from a command's environment, and what `diff`
/// judges a change of an image's environment by. One list, used by both.
public enum CodeLoadingVariables {
    /// Variables that make a shell, an interpreter or the dynamic loader load or run code of their
    /// choosing before (or instead of) the script: a declared script would run undeclared code.
    public static let names: Set<String> = [
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
    /// PYTHONINSPECT, PYTHONWARNINGS, PYTHONBREAKPOINT, load code).
    static let harmlessPython: Set<String> = ["PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONIOENCODING", "PYTHONUTF8", "PYTHONHASHSEED", "PYTHONSAFEPATH"]

    /// Whether `name` loads code: the list above, every `LD_` variable of the loader, bash's exported
    /// functions (`BASH_FUNC_name%%`), git's numbered config, Lua's versioned paths, npm's config, and
    /// PYTHON* but a few.
    public static func loadsCode(_ name: String) -> Bool {
        if names.contains(name) || name.hasPrefix("LD_") || name.hasPrefix("BASH_FUNC_") { return true }
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
}
