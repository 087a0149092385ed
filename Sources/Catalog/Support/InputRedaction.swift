import ProvenantCore

/// Package fields are quoted from the input into SBOMs and reports, so they pass through the one
/// `Redactor` before they leave the catalog (or an SBOM read back): a version that is a git URL with
/// a token, a name derived from a location with userinfo, a homepage, a `vcs_url` qualifier, a
/// license string. Identity fields use `Redactor.redactField`, which leaves public random-looking
/// values such as Go pseudo-versions alone. Renamed purls are followed in every dependency edge.
public enum InputRedaction {
    public static func scrub(_ packages: inout [Package]) {
        // Every field of every package asks the secrets engine: thousands of packages are split over
        // the cores, and joined back in order. Split by weight, not count: a package's file paths cost
        // about a sixth of its own fields each, and package databases lie together in path order, so
        // halves by count gave one core all 143,000 paths of the agent bench image (230-330 ms against
        // 30-40 ms for the other). And in pieces, several per core, taken by whichever core is free:
        // one share per core left the second core idle whenever it was still finishing an extractor's
        // job, and the first then scrubbed both shares (100 ms of the agent image's, against 25).
        let input = packages
        var cumulative = [0]
        cumulative.reserveCapacity(input.count + 1)
        for p in input {
            let (sum, overflow) = cumulative[cumulative.count - 1].addingReportingOverflow(6 + p.files.count)
            cumulative.append(overflow ? Int.max : sum)
        }
        let width = cumulative[cumulative.count - 1] >= 4096 ? Parallel.pieces : 1
        let bounds = Parallel.shares(of: input.indices, cumulative: cumulative, width: width)
        var parts = Parallel.map(width: width) { w -> (packages: [Package], renamed: [String: String]) in
            var mine = Array(input[bounds[w]..<bounds[w + 1]])
            var renamed: [String: String] = [:]
            var memo = Memo()
            for i in mine.indices {
                let old = mine[i].ref
                scrub(&mine[i], &memo)
                let new = mine[i].ref
                if new != old { renamed[old] = new }
            }
            return (mine, renamed)
        }
        var lists = parts.map(\.packages)
        let renamed = parts.reduce(into: [String: String]()) { $0.merge($1.renamed) { _, later in later } }   // the last package wins, as in order
        parts.removeAll()
        packages = Parallel.joined(&lists)
        // The lists a path was redacted in were copied; the originals are freed elsewhere (13 ms).
        Parallel.discard(consume input)
        guard !renamed.isEmpty else { return }
        for i in packages.indices where packages[i].dependsOn.contains(where: { renamed[$0] != nil }) {
            packages[i].dependsOn = packages[i].dependsOn.map { renamed[$0] ?? $0 }
        }
    }

    public static func scrub(_ p: inout Package) {
        var memo = Memo()
        scrub(&p, &memo)
    }

    /// The redactor's answers for the strings seen so far. Thousands of packages repeat the same
    /// strings (a name again in its purl, a license, a registry URL), and each answer is a scan by the
    /// secrets engine; the redactor gives the same answer for the same string, so each is asked once.
    /// Answers are kept with the string's own bytes: Swift's `String` equality is canonical, so `café`
    /// spelt with a combining accent finds the precomposed spelling's entry, whose bytes differ.
    struct Memo {
        private var fields: [String: (key: String, value: String)] = [:], texts: [String: (key: String, value: String)] = [:]
        mutating func field(_ s: String) -> String { Self.answer(s, &fields, Redactor.redactField) }

        /// Whether a path needs asking whole (`Redactor.FieldPrefilter`).
        let prefilter = Redactor.FieldPrefilter()
        mutating func text(_ s: String) -> String { Self.answer(s, &texts, Redactor.redact) }

        private static func answer(_ s: String, _ memo: inout [String: (key: String, value: String)], _ ask: (String) -> String) -> String {
            if let known = memo[s] {
                if known.key.utf8.elementsEqual(s.utf8) { return known.value }
                return ask(s)
            }
            let r = ask(s)
            memo[s] = (s, r)
            return r
        }
    }

    static func scrub(_ p: inout Package, _ memo: inout Memo) {
        func text(_ s: String?) -> String? { s.map { memo.text($0) } }
        p.homepage = text(p.homepage)
        p.description = text(p.description)
        p.author = text(p.author)
        p.supplier = text(p.supplier)
        p.licenses = p.licenses.map { memo.field($0) }
        // License texts are copied from input files whole, so they are redacted as any other input text.
        p.licenseTexts = p.licenseTexts?.mapValues { memo.text($0) }
        p.name = memo.field(p.name)
        p.version = memo.field(p.version)
        p.purl = scrub(p.purl, &memo)
        // A resolved URL may carry registry credentials; its commit hash is public and kept.
        p.source = p.source.map { memo.field($0) }
        // Where it was found: a path from the input, written as its evidence (helper-135).
        for i in p.locations.indices { p.locations[i].path = memo.field(p.locations[i].path) }
        p.otherSources = p.otherSources.map { $0.map { memo.field($0) } }
        p.installScripts = p.installScripts?.map { memo.text($0) }
        scrubFiles(&p, &memo)
    }

    /// The file lists of package databases (RECORD, md5sums, apk's F:/R:) are input too, and are written
    /// as the package's file components: a token written as a RECORD path was copied into the SBOM whole
    /// (found by helper-135). An image of 7,000 packages holds 140,000 paths, so the byte rules and the
    /// spotter are run once over the package's paths joined, and only the paths where either may find
    /// something are asked whole. Joined by NUL, which no rule or keyword spans, so each answer is
    /// the one the path alone would get.
    static func scrubFiles(_ p: inout Package, _ memo: inout Memo) {
        guard !p.files.isEmpty else { return }
        var joined: [UInt8] = [], starts: [Int] = []
        starts.reserveCapacity(p.files.count)
        for f in p.files { starts.append(joined.count); joined += f.path.utf8; joined.append(0) }
        // The spotter's answer for each path, from one pass; the byte rules' too.
        var ask = memo.prefilter.spotterMayFindEach(joined, starts: starts)
        joined.withUnsafeBufferPointer { b in
            memo.prefilter.byteRules(b, stopAtFirst: false) { ask[JoinedTexts.text(containing: $0, starts: starts)] = true }
        }
        for i in p.files.indices where ask[i] {
            let path = p.files[i].path
            let field = Redactor.redactField(path)
            if !field.utf8.elementsEqual(path.utf8) { p.files[i].path = field }
        }
    }

    /// An image's facts, as an image is read or as a document gives them back (an SBOM's properties, an
    /// inventory written by an older build or by anyone): the one redaction of them.
    public static func scrub(_ i: ImageInfo) -> ImageInfo {
        let r = Redactor.redact
        var o = i
        o.reference = r(i.reference); o.name = r(i.name); o.tag = i.tag.map(r); o.otherTags = i.otherTags.map(r); o.platform = i.platform.map(r)
        o.imageID = r(i.imageID); o.manifestDigest = i.manifestDigest.map(r)
        o.user = i.user.map(r); o.exposedPorts = i.exposedPorts.map(r)
        o.entrypoint = i.entrypoint.map(Redactor.redactArguments); o.cmd = i.cmd.map(Redactor.redactArguments)
        o.workingDir = i.workingDir.map(r)
        // A label is judged with its key, as an assignment: `db_password=Sup3rS3cret99` passed the
        // redactor as a bare value and was written to the SBOM (found by helper-211).
        o.labels = Dictionary(i.labels.map { (r($0.key), label($0.key, $0.value)) }, uniquingKeysWith: { a, _ in a })
        o.environmentNames = i.environmentNames.map(r)
        o.layers = i.layers.map { l in
            var l = l
            l.mediaType = r(l.mediaType); l.createdBy = l.createdBy.map(Redactor.redactCommandLine)
            return l
        }
        return o
    }

    /// A label's value: withheld when its key names a credential, else redacted as `key=value` is.
    static func label(_ key: String, _ value: String) -> String {
        if namesCredential(key), !value.isEmpty { return Redactor.mark }
        let joined = Redactor.redact(key + "=" + value)
        return joined.hasPrefix(key + "=") ? String(joined.dropFirst(key.count + 1)) : Redactor.redact(value)
    }

    /// Whether a key's name says its value is a credential, as an env variable's name would.
    static func namesCredential(_ key: String) -> Bool {
        let k = key.lowercased().filter { $0 != "_" && $0 != "-" && $0 != "." }
        // Words a name ends with (`db_password`, `client_secret`, `x-api-key`), and whole names only
        // (`auth`, not `author`; `pass`, not `bypass`). Not as a start: `tokenizer`, `token_type`,
        // `secret_ref` and `credential_helper` name no credential (review, helper-162).
        if ["password", "passwd", "passwort", "passphrase", "secret", "token", "apikey", "accesskey", "privatekey", "signingkey",
            "sshkey", "authkey", "credential", "credentials", "signature", "bearer", "jwt", "cookie"]
            .contains(where: { k.hasSuffix($0) }) { return true }
        return ["pass", "pw", "pwd", "auth", "authorization", "sig", "key", "sas", "pat", "session"].contains(k)
    }

    public static func scrub(_ purl: PackageURL) -> PackageURL {
        var memo = Memo()
        return scrub(purl, &memo)
    }

    static func scrub(_ purl: PackageURL, _ memo: inout Memo) -> PackageURL {
        let namespace = purl.namespace.map { memo.field($0) }, name = memo.field(purl.name)
        let version = purl.version.map { memo.field($0) }, subpath = purl.subpath.map { memo.field($0) }
        // A qualifier named for a credential (`password=`, `token=`) holds one, however plain it looks:
        // `password=Sup3rS3cret99` passed the redactor alone and the fleet server served it back
        // (found by helper-161).
        let qualifiers = Dictionary(uniqueKeysWithValues: purl.qualifiers.map { key, value in
            (key, Self.namesCredential(key) && !value.isEmpty ? Redactor.mark : memo.field(value))
        })
        guard namespace != purl.namespace || name != purl.name || version != purl.version || subpath != purl.subpath
                || qualifiers != purl.qualifiers else { return purl }
        return PackageURL(type: purl.type, namespace: namespace, name: name, version: version, qualifiers: qualifiers, subpath: subpath)
    }
}
