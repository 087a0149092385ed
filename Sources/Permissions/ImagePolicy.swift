import Catalog
import Foundation
import ProvenantCore

/// `policy check IMAGE`: what an image grants any container that runs it, whatever the deployment
/// says: the user its config runs as, setuid and setgid files, file capabilities, and a tag that can
/// move. With an agent manifest, file capabilities and running as root are compared with what it
/// declares. A check whose answer the image does not hold (a user name with no /etc/passwd to
/// resolve it through, a capability attribute that cannot be decoded) is a NOT CHECKED finding of
/// that check's rule and severity, never a pass.
public enum ImagePolicy {
    /// The account databases the config's user is resolved through: the only file bytes kept.
    public static let accountFiles: Set<String> = ["etc/passwd", "etc/group"]
    /// Keeps exactly the account files while the layers stream.
    public static let capture = ImageCapture { path, _, _ in accountFiles.contains(path) ? .keep : .skip }
    /// An account file larger than this is not read, and what needed it is not checked.
    static let maxAccountFileBytes = 4 << 20

    public struct Result: Sendable {
        public var findings: [PolicyFinding]
        public var info: ImageInfo
        /// Problems that did not stop the read (a file wanted but not kept).
        public var diagnostics: [Diagnostic]
    }

    /// Reads the image from `source` (the caller opens it: a layout, an archive or a registry) and
    /// checks it. `reference` is what the user named, for the tag check. Throws the reader's
    /// `ImageError` for an image that cannot be read.
    public static func check(_ source: any ImageSource, reference: ImageReference, manifest: AgentManifest?,
                             platform: ImagePlatform = .linuxAMD64) async throws -> Result {
        // Each layer that rewrites an account file keeps its own copy until the layers are squashed.
        let budget = ReadBudget(total: 64 << 20)
        let reader = ImageReader(platform: platform, maxFileBytes: maxAccountFileBytes, capture: capture)
        let contents = try await reader.read(source, budget: budget)
        return Result(findings: check(contents, reference: reference, manifest: manifest), info: contents.info, diagnostics: contents.diagnostics)
    }

    /// Every check over an image already read (with `capture`, so its account files are kept).
    public static func check(_ image: ImageContents, reference: ImageReference, manifest: AgentManifest?) -> [PolicyFinding] {
        let c = Context(image: image, manifest: manifest, reference: reference)
        var out = user(c) + files(c) + tag(c)
        out.sort { ($0.location.path, $0.rule, $0.found) < ($1.location.path, $1.rule, $1.found) }
        return out
    }

    // MARK: - The config's user

    static let rootBecause = "a process that is root in the container owns every file the image holds, and is one kernel or runtime flaw away from root on the node"
    static let groupBecause = "the root group owns what root made group-writable, in the image and on any volume the container mounts"

    static func user(_ c: Context) -> [PolicyFinding] {
        // The manifest may allow root outright (user.nonRoot: false); then the group does not matter either.
        if c.manifest?.nonRoot == false { return [] }
        let spec = c.image.config.user ?? ""
        let shown = spec.isEmpty ? "the config sets no USER" : "USER '\(quote(spec))'"
        let colon = spec.firstIndex(of: ":")
        let userPart = colon.map { String(spec[..<$0]) } ?? spec
        // `app:` names no group, as runc reads it.
        let groupPart = colon.map { String(spec[spec.index(after: $0)...]) }.flatMap { $0.isEmpty ? nil : $0 }
        let allowed = c.manifest?.uid.map { "uid \($0), not root, as the manifest declares" } ?? "a non-root uid"
        let fixUser = "set USER to a non-root uid and gid in the image (USER 10001:10001)"
        func root(_ found: String) -> PolicyFinding {
            c.finding("image:root-user", "high", found: found, allowed: allowed, fix: fixUser, because: rootBecause)
        }

        let passwd = c.accounts("etc/passwd")
        // The uid, and the passwd entry it came from, if any.
        let uid: Int
        var entry: AccountEntry?
        if userPart.isEmpty {
            return [root("\(shown)\(spec.isEmpty ? "" : " names no user"): the container runs as uid 0, root")]
        } else if let n = Int(userPart) {
            // Out of uid_t's range: containerd before 1.6.38, 1.7.27 and 2.0.4 cut it to 32 bits, so
            // `4294967296` ran as root (CVE-2024-40635, found by helper-140); fixed runtimes refuse it.
            if let wrapped = Self.outOfRange(n) {
                if wrapped == 0 { return [root("\(shown): uid \(n) is out of range, and runtimes that cut it to 32 bits run it as uid 0, root (CVE-2024-40635)")] }
                return [root("NOT CHECKED: \(shown): uid \(n) is out of range; runtimes read it differently (older containerd as uid \(wrapped)), so which user runs cannot be told")]
            }
            // A number is a uid whether or not /etc/passwd lists it, as runc reads it.
            uid = n
            if case .read(let entries) = passwd { entry = entries.first { $0.id == n } }
        } else if userPart == "root" {
            return [root("\(shown): the container runs as root")]
        } else {
            switch passwd {
            case .missing, .unread:
                return [root("NOT CHECKED: \(shown) names a user, but \(passwd.problem), so whether it is uid 0 cannot be told")]
            case .read(let entries):
                guard let e = entries.first(where: { $0.named(userPart) }) else {
                    return [root("NOT CHECKED: \(shown) names a user /etc/passwd does not list: its uid cannot be told (and runc refuses to start a container whose user has no entry)")]
                }
                uid = e.id
                entry = e
            }
        }
        if uid == 0 {
            if Int(userPart) != nil { return [root("\(shown): uid 0, root")] }
            return [root("\(shown): /etc/passwd gives '\(quote(userPart))' uid 0: root under another name")]
        }

        // Not root: the primary group next.
        let fixGroup = "name a non-zero group in USER (USER \(uid):\(uid))"
        func rootGroup(_ found: String) -> PolicyFinding {
            c.finding("image:root-group", "medium", found: found, allowed: "a non-zero gid", fix: fixGroup, because: groupBecause)
        }
        if let g = groupPart {
            if g == "root" || Int(g) == 0 { return [rootGroup("\(shown): gid 0, the root group")] }
            if let n = Int(g), let wrapped = Self.outOfRange(n) {
                if wrapped == 0 { return [rootGroup("\(shown): gid \(n) is out of range, and runtimes that cut it to 32 bits give gid 0, the root group (CVE-2024-40635)")] }
                return [rootGroup("NOT CHECKED: \(shown): gid \(n) is out of range; runtimes read it differently (older containerd as gid \(wrapped)), so which group runs cannot be told")]
            }
            if Int(g) != nil { return [] }
            let group = c.accounts("etc/group")
            switch group {
            case .missing, .unread:
                return [rootGroup("NOT CHECKED: \(shown) names group '\(quote(g))', but \(group.problem), so whether it is gid 0 cannot be told")]
            case .read(let groups):
                guard let e = groups.first(where: { $0.named(g) }) else {
                    return [rootGroup("NOT CHECKED: \(shown) names a group /etc/group does not list: its gid cannot be told")]
                }
                return e.id == 0 ? [rootGroup("\(shown): /etc/group gives '\(quote(g))' gid 0, the root group")] : []
            }
        }
        // No group named: the passwd entry's, or 0 when the uid has none (runc's default).
        if let e = entry {
            // A passwd entry always has a gid as runc reads it: a missing or unparsable one is 0.
            return e.gid ?? 0 == 0 ? [rootGroup("\(shown) names no group, and /etc/passwd gives '\(quote(e.name))' gid 0, the root group")] : []
        }
        if case .unread = passwd {
            return [rootGroup("NOT CHECKED: \(shown) names no group, and \(passwd.problem), so the gid uid \(uid) gets cannot be told")]
        }
        let none: String
        if case .missing = passwd { none = "the image has no /etc/passwd" } else { none = "uid \(uid) has no /etc/passwd entry" }
        return [rootGroup("\(shown) names no group, and \(none), so the runtime gives uid \(uid) gid 0, the root group")]
    }

    /// For a numeric uid or gid outside 0…2³¹−1 (which runc and fixed containerd accept), the id an
    /// older containerd ran instead: the number cut to 32 bits. Nil within range.
    static func outOfRange(_ n: Int) -> UInt32? {
        (0...Int(Int32.max)).contains(n) ? nil : UInt32(truncatingIfNeeded: n)
    }

    /// One line of /etc/passwd or /etc/group: the name, the uid or gid, and (passwd only) the gid.
    struct AccountEntry: Equatable {
        var name: String
        /// The name as the file spells it: runc compares bytes, not canonically equal strings.
        var nameBytes: [UInt8]
        var id: Int
        var gid: Int?

        init(name: String, nameBytes: [UInt8]? = nil, id: Int, gid: Int?) {
            self.name = name; self.nameBytes = nameBytes ?? Array(name.utf8); self.id = id; self.gid = gid
        }

        func named(_ s: String) -> Bool { nameBytes.elementsEqual(s.utf8) }
    }

    enum Accounts: Equatable {
        case read([AccountEntry])
        /// The image has no such file: the runtime then uses its defaults.
        case missing(String)
        /// The file is there but could not be read: why.
        case unread(String)

        /// What is wrong with the file, for a NOT CHECKED finding.
        var problem: String {
            switch self {
            case .read: "the file was read"
            case .missing(let path): "the image has no \(path)"
            case .unread(let why): why
            }
        }
    }

    /// `name:password:id:…` lines, exactly as runc's user package (moby/sys/user) reads them: split at
    /// LF with one CR before it dropped, trimmed of what Go's `bytes.TrimSpace` trims (vertical tab,
    /// form feed, NEL, no-break and the other Unicode spaces too), blank ones skipped, and in
    /// /etc/group lines starting with `#` too; missing fields left 0, a number that does not parse
    /// read as 0 (its errors are ignored), and the id then cut to 32 bits as the runtime stores it; the
    /// first entry for a name, compared byte for byte, wins. Reading them any more strictly would pass
    /// images that run as root.
    static func parseAccounts(_ bytes: [UInt8], passwd: Bool) -> [AccountEntry] {
        func number(_ f: ArraySlice<UInt8>?) -> Int {
            guard let f, !f.isEmpty else { return 0 }
            let text = String(decoding: f, as: UTF8.self)
            if let n = Int(text) { return Int(UInt32(truncatingIfNeeded: n)) }
            // Go's Atoi clamps an out-of-range number (its error ignored); anything else reads as 0.
            let digits = f.drop { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") }
            guard f.count - digits.count <= 1, !digits.isEmpty, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return 0 }
            return Int(UInt32(truncatingIfNeeded: f.first == UInt8(ascii: "-") ? Int.min : Int.max))
        }
        var out: [AccountEntry] = []
        for raw in bytes.split(separator: 10, omittingEmptySubsequences: false) {
            let line = GoSpace.trim(raw.last == 13 ? raw.dropLast() : raw)
            guard !line.isEmpty, passwd || line.first != UInt8(ascii: "#") else { continue }
            let f = line.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            out.append(AccountEntry(name: String(decoding: f[0], as: UTF8.self), nameBytes: Array(f[0]),
                                    id: number(f.count > 2 ? f[2] : nil), gid: passwd ? number(f.count > 3 ? f[3] : nil) : nil))
        }
        return out
    }

    /// `parseAccounts` for callers outside the module (the fuzz harness): name, id and passwd gid.
    public static func accountEntries(_ bytes: [UInt8], passwd: Bool) -> [(name: [UInt8], id: Int, gid: Int?)] {
        parseAccounts(bytes, passwd: passwd).map { ($0.nameBytes, $0.id, $0.gid) }
    }

    /// What Go's `bytes.TrimSpace` trims from either end of a line: `unicode.IsSpace` runes in UTF-8.
    enum GoSpace {
        static func trim(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
            var s = s
            while let n = leading(s) { s = s.dropFirst(n) }
            while let n = trailing(s) { s = s.dropLast(n) }
            return s
        }

        /// The UTF-8 encodings of the non-ASCII spaces: NEL, NBSP, U+1680, U+2000–U+200A, U+2028,
        /// U+2029, U+202F, U+205F and U+3000.
        static let wide: [[UInt8]] = [[0xC2, 0x85], [0xC2, 0xA0], [0xE1, 0x9A, 0x80]]
            + (0x80...0x8A).map { [0xE2, 0x80, UInt8($0)] }
            + [[0xE2, 0x80, 0xA8], [0xE2, 0x80, 0xA9], [0xE2, 0x80, 0xAF], [0xE2, 0x81, 0x9F], [0xE3, 0x80, 0x80]]

        static func isASCIISpace(_ b: UInt8) -> Bool { b == 32 || (b >= 9 && b <= 13) }

        static func leading(_ s: ArraySlice<UInt8>) -> Int? {
            guard let b = s.first else { return nil }
            if isASCIISpace(b) { return 1 }
            return wide.first { s.starts(with: $0) }?.count
        }

        static func trailing(_ s: ArraySlice<UInt8>) -> Int? {
            guard let b = s.last else { return nil }
            if isASCIISpace(b) { return 1 }
            return wide.first { s.count >= $0.count && s.suffix($0.count).elementsEqual($0) }?.count
        }
    }

    // MARK: - Files

    static let setuidBecause = "a setuid file runs as its owner whoever starts it: a flaw in it hands any process in the container its owner's uid"
    static let setgidBecause = "a setgid file runs with its group whoever starts it: a flaw in it hands any process in the container that group's files"
    static let capabilityBecause = "a file capability hands each process that runs the file that piece of root, a non-root user's too"

    static func files(_ c: Context) -> [PolicyFinding] {
        var out: [PolicyFinding] = []
        let declared = (c.manifest?.capabilities ?? []).reduce(UInt64(0)) { m, name in
            LinuxCapabilities.names.firstIndex(of: name).map { m | 1 << UInt64($0) } ?? m
        }
        let allowedCaps = c.manifest.map { $0.capabilities.isEmpty ? "no capabilities (the manifest declares none)" : "the manifest's " + $0.capabilities.joined(separator: ", ") }
            ?? "no file capabilities (no manifest declares any)"
        c.image.filesystem.walk { path, node in
            guard node.isRegularFile else { return }
            let shown = "/" + path
            let mode = String(node.mode & 0o7777, radix: 8)
            let added = c.layerText(node.layer)
            if node.mode & 0o4000 != 0 {
                let owner = node.uid == 0 ? "root" : "uid \(node.uid)"
                out.append(c.finding("image:setuid", node.uid == 0 ? "high" : "medium", file: path, layer: node.layer,
                                     found: "\(quote(shown)) is setuid \(owner) (mode \(mode)): it runs as \(owner) whoever starts it; \(added)",
                                     allowed: "no setuid files", fix: "remove the bit (chmod u-s \(quote(shown))) in the layer that adds the file, or remove the file",
                                     because: setuidBecause))
            }
            if node.mode & 0o2000 != 0 {
                let group = node.gid == 0 ? "the root group" : "gid \(node.gid)"
                out.append(c.finding("image:setgid", "medium", file: path, layer: node.layer,
                                     found: "\(quote(shown)) is setgid \(group) (mode \(mode)): it runs with \(group) whoever starts it; \(added)",
                                     allowed: "no setgid files", fix: "remove the bit (chmod g-s \(quote(shown))) in the layer that adds the file, or remove the file",
                                     because: setgidBecause))
            }
            guard let raw = node.capability else { return }
            let caps: FileCapabilities
            do { caps = try FileCapabilities(xattr: raw) } catch {
                out.append(c.finding("image:file-capability", "high", file: path, layer: node.layer,
                                     found: "NOT CHECKED: \(quote(shown)) has a security.capability attribute that \(error), so what it grants cannot be told; \(added)",
                                     allowed: allowedCaps, fix: "remove the attribute (setcap -r \(quote(shown))) or write a valid one", because: capabilityBecause))
                return
            }
            let beyond = caps.all & ~declared
            guard beyond != 0 else { return }
            let names = FileCapabilities.names(beyond)
            let namespace = caps.rootID.map { " (revision 3: for the user namespace whose root is uid \($0))" } ?? ""
            out.append(c.finding("image:file-capability", names.contains("SYS_ADMIN") ? "critical" : "high", file: path, layer: node.layer,
                                 found: "\(quote(shown)) has file capabilities \(caps.text)\(namespace); not declared: \(names.joined(separator: ", ")); \(added)",
                                 allowed: allowedCaps,
                                 fix: "remove them (setcap -r \(quote(shown))) in the layer that adds the file" + (c.manifest == nil ? ", or declare them in an agent manifest (--manifest)" : ", or declare them under capabilities"),
                                 because: capabilityBecause))
        }
        return out
    }

    // MARK: - Tag

    static let unpinnedBecause = "a tag can be moved to other content: what runs is not what was checked"
    static let latestBecause = "latest names whatever was pushed last: which image runs changes with no change to the deployment"

    static func tag(_ c: Context) -> [PolicyFinding] {
        let info = c.image.info
        // A registry reference is judged as written (`latest` when it names neither tag nor digest);
        // a local layout or archive by the name it records for the image.
        let tag: String?
        var pinned = info.pinnedByDigest
        if case .registry(let r) = c.reference {
            tag = r.tag
            pinned = pinned || r.digest != nil
        } else {
            tag = info.tag
            // Another name `docker load` gives the same archive: a `:latest` among them is the same risk.
            func isLatest(_ s: String) -> Bool {
                s == "latest" || ((s.contains(":") || s.contains("/") || s.contains("@")) && RegistryReference(s).map { $0.tagWasGiven && $0.tag == "latest" } ?? false)
            }
            if let other = info.otherTags.first(where: isLatest), !(tag.map(isLatest) ?? false) {
                return [c.finding("image:latest-tag", "high", found: "the image is also tagged '\(quote(other))', :latest" + (pinned ? "" : ", and not pinned by digest"),
                                  allowed: "a versioned tag pinned by digest", fix: "tag a version only, and pin it by digest", because: latestBecause)]
            }
        }
        guard let recorded = tag, !recorded.isEmpty else { return [] }
        // A recorded name may be a whole reference (`ghcr.io/acme/app:1.2@sha256:…`), not only a tag.
        // Its digest pins the image only when the reader found it to be the image's own (`pinnedByDigest`).
        var bare: String? = recorded
        var foreignPin = false
        if recorded.contains("/") || recorded.contains(":") || recorded.contains("@"), let r = RegistryReference(recorded) {
            bare = r.tagWasGiven ? r.tag : nil
            foreignPin = r.digest != nil && !pinned
        }
        let digest = info.manifestDigest.map { "@" + $0 } ?? "@sha256:<digest>"
        let pin = "pin it by digest (\(quote(info.name))\(digest))"
        if foreignPin, bare != "latest" {
            return [c.finding("image:unpinned-tag", "medium",
                              found: "the image is recorded as '\(quote(recorded))', whose digest is not this image's",
                              allowed: "a reference pinned by the image's own digest", fix: pin, because: unpinnedBecause)]
        }
        if bare == "latest" {
            return [c.finding("image:latest-tag", "high", found: "the image is tagged '\(quote(recorded))', :latest" + (pinned ? "" : ", and not pinned by digest"),
                              allowed: "a versioned tag pinned by digest", fix: "tag a version and \(pin)", because: latestBecause)]
        }
        guard let t = bare, !pinned else { return [] }
        let what: String
        if case .registry = c.reference { what = "the reference names tag '\(quote(t))' without a digest" }
        else { what = "the image is recorded as '\(quote(recorded))', a tag without a digest" }
        return [c.finding("image:unpinned-tag", "medium", found: what, allowed: "a reference pinned by digest (@sha256:…)", fix: pin, because: unpinnedBecause)]
    }

    // MARK: -

    /// Input quoted into a finding: redacted, cut, and with control characters escaped so one
    /// finding stays on its lines.
    static func quote(_ s: String) -> String { Redactor.escapeControls(Redactor.quote(s, max: 200)) }

    struct Context {
        var image: ImageContents
        var manifest: AgentManifest?
        var reference: ImageReference

        /// `name:tag`, as the findings name the image.
        var name: String {
            let info = image.info
            let t = info.tag.flatMap { $0.contains("/") || $0.contains(":") || $0.contains("@") ? nil : $0 }
            return quote(info.name + (t.map { ":" + $0 } ?? ""))
        }

        /// A finding about the image's config (`file` nil) or one of its files.
        func finding(_ rule: String, _ severity: String, file: String? = nil, layer: Int? = nil,
                     found: String, allowed: String, fix: String, because: String) -> PolicyFinding {
            let layers = image.info.layers
            let location = file.map { Location(quote("/" + $0), layer: layer.flatMap { layers.indices.contains($0) ? layers[$0].digest : nil }) }
                ?? Location(quote(image.info.reference))
            return PolicyFinding(rule: rule, severity: severity, kind: "image", name: name, container: nil, location: location,
                                 found: found, allowed: allowed, fix: fix, because: because)
        }

        /// Which layer added a file: its place, digest and the `created_by` line that made it.
        func layerText(_ i: Int) -> String {
            let layers = image.info.layers
            guard layers.indices.contains(i) else { return "added by layer \(i + 1)" }
            let l = layers[i]
            let by = l.createdBy.map { " (created by: \(Redactor.escapeControls(Redactor.quote($0, max: 160))))" } ?? ""
            return "added by layer \(i + 1) of \(layers.count), \(l.digest)\(by)"
        }

        /// /etc/passwd or /etc/group, as the container's runtime would read it (links followed inside the image).
        func accounts(_ path: String) -> Accounts {
            let shown = "/" + path
            let node: ImageNode
            do { node = try image.filesystem.resolve(path).node } catch .notFound(_) {
                return .missing(shown)
            } catch {
                return .unread("\(shown) cannot be resolved (\(error))")
            }
            guard node.isRegularFile else { return .unread("\(shown) is not a regular file") }
            guard let bytes = node.content?.bytes else {
                return .unread("\(shown) was not read (\(node.content?.refusal ?? "its bytes were not kept: it is reached through a link to another file"))")
            }
            return .read(parseAccounts(bytes, passwd: path == "etc/passwd"))
        }
    }
}
