import ProvenantCore

/// Where OSV and purls spell the same package differently, this is the one place that knows.
public enum Ecosystems {
    /// `Debian:12` → (`Debian`, `12`); `PyPI` → (`PyPI`, ``).
    public static func split(_ osv: String) -> (String, String) {
        guard let c = osv.firstIndex(of: ":") else { return (osv, "") }
        return (String(osv[..<c]), String(osv[osv.index(after: c)...]))
    }

    /// The name as stored and looked up: PEP 503 for PyPI, lower case where the registry ignores
    /// case, and exactly as written elsewhere (Maven `group:artifact`). Go module paths are lowered
    /// too: the purl spec lowercases them (`pkg:golang/github.com/masterminds/goutils`), so a
    /// case-exact lookup found a purl-only SBOM clean of `github.com/Masterminds/goutils`'s advisories
    /// (found by helper-102); modules that differ only in case are one repository on the hosts that
    /// serve them.
    public static func canonicalName(_ ecosystem: String, _ name: String) -> String {
        switch ecosystem {
        case "PyPI": return PackageIdentity.pep503(name)
        // Swift packages are their URLs, whose hosts and (on GitHub, GitLab) paths ignore case, as
        // SwiftPM's identities do: a pin at `Apple/Swift-Crypto` scanned clean (found by helper-155).
        case "npm", "NuGet", "Packagist", "Hex", "Debian", "Ubuntu", "Alpine", "crates.io", "Go", "SwiftURL": return name.lowercasedFast
        default: return name
        }
    }

    /// What to look up for one package: the OSV ecosystem, its release for distributions, the
    /// canonical name and the version to compare.
    public struct Key: Sendable, Hashable {
        public var ecosystem: String
        public var release: String
        public var name: String
        public var version: String
        /// `Debian:12` as OSV would write it, for reports.
        public var osvEcosystem: String { release.isEmpty ? ecosystem : "\(ecosystem):\(release)" }
    }

    /// The OSV coordinates of a purl, or nil for types OSV has no database for.
    public static func key(for purl: PackageURL) -> Key? {
        guard let version = purl.version, !version.isEmpty else { return nil }
        let ns = purl.namespace
        func joined(_ sep: String) -> String { ns.map { $0 + sep + purl.name } ?? purl.name }
        let eco: String, name: String
        var release = ""
        var v = version
        switch purl.type {
        case "pypi": eco = "PyPI"; name = purl.name
        case "npm": eco = "npm"; name = joined("/")
        case "golang": eco = "Go"; name = joined("/")
        case "cargo": eco = "crates.io"; name = purl.name
        case "maven": eco = "Maven"; name = joined(":")
        case "gem": eco = "RubyGems"; name = purl.name
        case "composer": eco = "Packagist"; name = joined("/")
        case "nuget": eco = "NuGet"; name = purl.name
        case "hex": eco = "Hex"; name = purl.name
        case "pub": eco = "Pub"; name = purl.name
        case "cran": eco = "CRAN"; name = purl.name
        case "hackage": eco = "Hackage"; name = purl.name
        case "swift": eco = "SwiftURL"; name = joined("/")
        case "deb":
            // Only Debian's and Ubuntu's own packages: a derivative (kali, raspbian…) builds its
            // own, which Debian's advisories do not describe; they are not covered.
            switch ns?.lowercased() {
            case "debian": eco = "Debian"
            case "ubuntu": eco = "Ubuntu"
            default: return nil
            }
            // Debian advisories name source packages at their source version.
            (name, v) = sourcePackage(purl.qualifiers["upstream"], binary: purl.name, version: version)
            release = distroRelease(purl.qualifiers["distro"], ecosystem: eco)
        case "apk":
            // Alpine's advisories describe Alpine's builds; Wolfi and Chainguard have databases of their
            // own, without releases. Wolfi's packages were matched against Alpine's and passed clean
            // (found by helper-131); another distribution's apk packages are not covered.
            switch ns?.lowercased() {
            case nil, "alpine": eco = "Alpine"
            case "wolfi": eco = "Wolfi"
            case "chainguard": eco = "Chainguard"
            default: return nil
            }
            (name, v) = sourcePackage(purl.qualifiers["upstream"], binary: purl.name, version: version)
            if eco == "Alpine" { release = distroRelease(purl.qualifiers["distro"], ecosystem: eco) }
        case "rpm":
            switch ns?.lowercased() {
            case "redhat": eco = "Red Hat"
            case "rocky", "rocky-linux": eco = "Rocky Linux"
            case "almalinux": eco = "AlmaLinux"
            case "opensuse": eco = "openSUSE"
            case "suse", "sles": eco = "SUSE"
            default: return nil
            }
            name = purl.name
            if let e = purl.qualifiers["epoch"], !e.isEmpty, !version.contains(":") { v = e + ":" + version }
        default: return nil
        }
        return Key(ecosystem: eco, release: release, name: canonicalName(eco, name), version: v)
    }

    /// Why a purl has no OSV coordinates (`key(for:)` is nil): the group it is reported under
    /// as not checked (`pkg:generic`, `pkg:rpm/amazon`) and the reason. A purl of a type OSV
    /// covers but without a version has nothing to compare; any other type has no database.
    public static func uncovered(_ purl: PackageURL) -> (label: String, reason: String) {
        let versioned = PackageURL(type: purl.type, namespace: purl.namespace, name: purl.name, version: "0",
                                   qualifiers: purl.qualifiers, subpath: purl.subpath)
        // OS package types are covered per distribution, so the namespace names the group.
        let byNamespace: Set<String> = ["rpm", "deb", "apk", "alpm", "ebuild"]
        let label = "pkg:" + purl.type + (byNamespace.contains(purl.type) ? purl.namespace.map { "/" + $0.lowercased() } ?? "" : "")
        if key(for: versioned) != nil { return (label, "its purl names no version to compare with advisories") }
        return (label, "no advisory database covers \(label)")
    }

    /// `openssl`, dpkg's `openssl (3.0.11-1)` or syft's `openssl@3.0.11-1` from the upstream qualifier.
    /// (syft's form was taken whole as the name, which no advisory names: found by helper-102.)
    static func sourcePackage(_ upstream: String?, binary: String, version: String) -> (String, String) {
        guard let u = upstream, !u.isEmpty else { return (binary, version) }
        if let open = u.firstIndex(of: "("), let close = u.lastIndex(of: ")"), open < close {
            let name = u[..<open].trimmed
            return (name.isEmpty ? binary : name, String(u[u.index(after: open)..<close]).trimmed)
        }
        // Package names hold no `@`.
        if let at = u.firstIndex(of: "@") {
            let name = u[..<at].trimmed, v = u[u.index(after: at)...].trimmed
            return (name.isEmpty ? binary : name, v.isEmpty ? version : v)
        }
        return (u, version)
    }

    /// `debian-12` → `12`; `alpine-3.18.4` → `v3.18`; `ubuntu-22.04` → `22.04:LTS`, as OSV
    /// names Alpine and Ubuntu releases.
    /// trivy writes `distro=debian-12.4` (a point release, which OSV does not name: every package was
    /// NOT CHECKED) and `distro=3.19.1` for Alpine, without the name (matched against every release):
    /// both are read as their release (found by helper-102).
    static func distroRelease(_ distro: String?, ecosystem: String) -> String {
        guard let d = distro, !d.isEmpty else { return "" }
        let v: String
        if let dash = d.firstIndex(of: "-") {
            v = String(d[d.index(after: dash)...])
        } else if d.first?.isNumber == true {
            v = d
        } else {
            return ""
        }
        if ecosystem == "Alpine" {
            let parts = v.split(separator: ".")
            return parts.count >= 2 ? "v\(parts[0]).\(parts[1])" : "v" + v
        }
        if ecosystem == "Ubuntu" { return ubuntuRelease(v) }
        // Debian's releases are its major versions; a point release is one of them.
        if ecosystem == "Debian", let dot = v.firstIndex(of: "."), v[..<dot].allSatisfy(\.isNumber), !v[..<dot].isEmpty {
            return String(v[..<dot])
        }
        return v
    }

    /// OSV writes an Ubuntu LTS release `22.04:LTS` (os-release says `22.04`): every April
    /// release of an even year since 6.06 is LTS. Others (`24.10`) are written as they are.
    static func ubuntuRelease(_ versionID: String) -> String {
        let base = ubuntuBase(versionID)
        let parts = base.split(separator: ".")
        guard parts.count == 2, let year = Int(parts[0]), parts[1] == "04", year >= 8, year % 2 == 0 else { return base }
        return base + ":LTS"
    }

    /// The release number an Ubuntu release name is about: `Pro:22.04:LTS` and `22.04:LTS`
    /// are both `22.04`. FIPS streams (`Pro:FIPS-updates:22.04:LTS`) keep their stream name:
    /// their packages are other builds, not the archive's.
    static func ubuntuBase(_ release: String) -> String {
        var r = Substring(release)
        if r.hasPrefix("Pro:") { r = r.dropFirst(4) }
        if r.hasSuffix(":LTS") { r = r.dropLast(4) }
        return String(r)
    }

    /// Whether an entry stored for `stored` (`ecosystem`'s release, as OSV writes it) speaks for a
    /// package of release `wanted`. Ubuntu's archive, LTS and Pro (ESM) names for one release
    /// are one release: an installed package is judged by all of them.
    public static func releaseMatches(ecosystem: String, stored: String, wanted: String) -> Bool {
        if stored == wanted { return true }
        guard ecosystem == "Ubuntu" else { return false }
        return ubuntuBase(stored) == ubuntuBase(wanted)
    }

    /// Every spelling under which OSV stores entries for `release`, for lookups by release.
    public static func releaseSpellings(ecosystem: String, release: String) -> [String] {
        guard ecosystem == "Ubuntu", !release.isEmpty else { return [release] }
        let b = ubuntuBase(release)
        return [b, b + ":LTS", "Pro:" + b, "Pro:" + b + ":LTS"]
    }
}
