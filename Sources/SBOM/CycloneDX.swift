import ProvenantCore
import Catalog

/// CycloneDX 1.6 JSON.
public enum CycloneDXWriter {
    public static let specVersion = "1.6"

    public static func document(_ inv: Inventory, info: DocumentInfo) -> JSONValue {
        let rootRef = "root:" + inv.rootName
        // Each a pass over every package, done on two cores at once.
        let (serial, rootDeps) = Parallel.both({ "urn:uuid:" + UUIDv5.make(bytes: inv.contentKey) }, { inv.rootDependencies })
        var meta = ObjectBuilder()
        meta.add("timestamp", .string(info.isoTimestamp))
        // Lockfiles describe what a build will pull in; an installed tree is what was deployed.
        meta.add("lifecycles", .array([.object([("phase", .string(inv.mode == "installed" ? "operations" : "pre-build"))])]))
        meta.add("tools", .object([("components", .array([.object([
            ("type", .string("application")), ("author", .string("Provenant")),
            ("name", .string(info.toolName)), ("version", .string(info.toolVersion)),
        ])]))]))
        meta.add("authors", .array([.object([("name", .string(info.author))])]))
        var root = ObjectBuilder()
        root.add("type", .string(inv.image != nil ? "container" : inv.mode == "installed" && inv.distro != nil ? "operating-system" : "application"))
        root.add("bom-ref", .string(rootRef))
        if let image = inv.image {
            // The image itself: what was shipped, named by its manifest digest.
            root.add("name", .string(image.name))
            root.add("version", .string(image.manifestDigest ?? image.imageID))
            if let d = image.manifestDigest {
                root.add("hashes", .array([.object([("alg", .string("SHA-256")), ("content", .string(String(d.dropFirst(7))))])]))
            }
            root.add("purl", .string(image.purl.description))
            root.add("properties", array: ImageFacts.properties(image).map { .object([("name", .string($0.0)), ("value", .string($0.1))]) })
        } else if let project = inv.rootProject {
            // The agent itself, as its own manifest names it.
            root.add("name", .string(project.name))
            root.add("version", project.version)
            root.add("purl", .string(project.purl.description))
            root.add("properties", array: [.object([("name", .string("provenant:root-source")), ("value", .string(project.source.description))])])
        } else {
            root.add("name", .string(inv.distro?.id ?? inv.rootName))
            root.add("version", inv.distro?.versionID)
            root.add("description", inv.distro?.prettyName)
        }
        meta.add("component", root.value)
        // Those whose packages were not checked at all are said so too, and how many there are, so a
        // scan of the SBOM counts exactly what a scan of its input counts (`SBOMReader`).
        let notChecked = inv.diagnostics.filter { $0.unscanned != nil }
        meta.add("properties", array: inv.diagnostics.map {
            .object([("name", .string("provenant:known-unknown")), ("value", .string($0.description))])
        } + notChecked.map {
            .object([("name", .string("provenant:not-checked")), ("value", .string($0.description))])
        } + (inv.diagnostics.isEmpty ? [] : [.object([("name", .string("provenant:not-checked-inputs")), ("value", .string(String(notChecked.count)))])]))
        var doc = ObjectBuilder()
        doc.add("$schema", .string("http://cyclonedx.org/schema/bom-1.6.schema.json"))
        doc.add("bomFormat", .string("CycloneDX"))
        doc.add("specVersion", .string(specVersion))
        doc.add("serialNumber", .string(serial))
        doc.add("version", .int(1))
        doc.add("metadata", meta.value)
        let layers = inv.image.map(ImageFacts.layerLines)
        let configs = inv.configFiles ?? []
        // A component weighs its files: a Debian package can own 30,000 of them.
        doc.add("components", .generated(count: inv.packages.count + configs.count, weight: { i in
            i < inv.packages.count ? 8 + inv.packages[i].files.count : 8
        }) { i in
            i < inv.packages.count ? component(inv.packages[i], layers: layers) : configComponent(configs[i - inv.packages.count], layers: layers)
        })
        doc.add("dependencies", .generated(count: inv.packages.count + 1) { i in
            let (ref, on) = i == 0 ? (rootRef, rootDeps) : (inv.packages[i - 1].ref, inv.packages[i - 1].dependsOn)
            return .object([("ref", .string(ref)), ("dependsOn", .array(on.map { .string($0) }))])
        })
        doc.add("compositions", .array(compositions(inv, rootRef: rootRef)))
        return doc.value
    }

    static func compositions(_ inv: Inventory, rootRef: String) -> [JSONValue] {
        var out: [JSONValue] = []
        // The root's list is incomplete when any input could not be read.
        out.append(.object([("aggregate", .string(inv.diagnostics.isEmpty ? "complete" : "incomplete")),
                            ("dependencies", .array([.string(rootRef)]))]))
        let known = inv.packages.filter(\.dependenciesKnown).map { JSONValue.string($0.ref) }
        let unknown = inv.packages.filter { !$0.dependenciesKnown }.map { JSONValue.string($0.ref) }
        if !known.isEmpty { out.append(.object([("aggregate", .string("complete")), ("dependencies", .array(known))])) }
        if !unknown.isEmpty { out.append(.object([("aggregate", .string("unknown")), ("dependencies", .array(unknown))])) }
        return out
    }

    /// Whether `s` is a URL the CycloneDX schema's `iri-reference` takes: a scheme, no whitespace,
    /// controls or characters URLs never hold bare, and a host when it names an authority. An IPv6
    /// literal's brackets are refused too: the schema validators' IRI grammar refuses `https://[::1]/`.
    public static func isIRI(_ s: String) -> Bool {
        // Read by bytes when the text is ASCII alone (nearly every URL: by Characters this took 24 ms
        // of the agent image's write), by Characters otherwise. The steps are the same either way.
        s.utf8.allSatisfy({ $0 < 0x80 }) ? isASCIIIRI(Array(s.utf8)) : isIRIByCharacters(s)
    }

    /// `isIRI` of a text of ASCII bytes alone: a Character for each byte there, as the controls that
    /// could pair into one ("\r\n") are refused.
    static func isASCIIIRI(_ u: [UInt8]) -> Bool {
        !u.isEmpty && u.allSatisfy(isBareURLByte) && hasIRIShape(u, utf8: u) { $0 }
    }

    /// `isIRI` read by Characters.
    static func isIRIByCharacters(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy({ $0.isASCII ? isBareURLByte(UInt8($0.value)) : isUCSChar($0.value) })
            && hasIRIShape(s, utf8: Array(s.utf8)) { $0.asciiValue }
    }

    /// The scheme, the escapes and the authority of `s`, whose elements `ascii` names by the ASCII
    /// byte each one is (nil for any other), so a delimiter is matched only by itself.
    private static func hasIRIShape<C: BidirectionalCollection>(_ s: C, utf8 u: [UInt8], _ ascii: (C.Element) -> UInt8?) -> Bool {
        func isLetter(_ c: UInt8?) -> Bool { c.map { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) } ?? false }
        func isDigit(_ c: UInt8?) -> Bool { c.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
        guard let colon = s.firstIndex(where: { ascii($0) == 0x3A }), colon != s.startIndex, isLetter(ascii(s[s.startIndex])),
              s[..<colon].allSatisfy({ isLetter(ascii($0)) || isDigit(ascii($0)) || [0x2B, 0x2D, 0x2E].contains(ascii($0)) }) else { return false }
        // Each `%` starts an escape of two hex digits (`%zz` made the document invalid: found by review).
        func hex(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) }
        for (i, c) in u.enumerated() where c == 37 {
            guard i + 2 < u.count, hex(u[i + 1]), hex(u[i + 2]) else { return false }
        }
        guard u.filter({ $0 == 35 }).count <= 1 else { return false }
        let rest = s[s.index(after: colon)...]
        guard rest.prefix(2).count == 2, rest.prefix(2).allSatisfy({ ascii($0) == 0x2F }) else { return true }
        // A port is digits (`:8o` made the document invalid: found by review).
        let authority = rest.dropFirst(2).prefix { ![0x2F, 0x3F, 0x23].contains(ascii($0)) }
        // One `@` at most, and one `:` before the port (`https://host:80:90/` made the document
        // invalid under the format check: found by helper-148).
        guard authority.filter({ ascii($0) == 0x40 }).count <= 1 else { return false }
        let hostPort = authority.split(whereSeparator: { ascii($0) == 0x40 }).last ?? authority
        guard hostPort.filter({ ascii($0) == 0x3A }).count <= 1 else { return false }
        if let c = hostPort.lastIndex(where: { ascii($0) == 0x3A }), !hostPort[hostPort.index(after: c)...].allSatisfy({ isDigit(ascii($0)) }) { return false }
        return authority.contains { ascii($0) != 0x40 && ascii($0) != 0x3A }
    }

    /// An ASCII byte a URL may hold bare: no space, control, DEL, or any of `"<>\^`{|}[]`.
    static func isBareURLByte(_ b: UInt8) -> Bool {
        switch b {
        case 0...32, 127, 0x22, 0x3C, 0x3E, 0x5C, 0x5E, 0x60, 0x7B, 0x7C, 0x7D, 0x5B, 0x5D: false
        default: true
        }
    }

    /// RFC 3987's `ucschar`: the characters beyond ASCII an IRI may hold bare. Not the C1 controls,
    /// private-use characters, noncharacters, surrogates or the tag characters (U+E0000…U+E0FFF),
    /// which the schema's format check refuses (found by helper-148).
    static func isUCSChar(_ v: UInt32) -> Bool {
        switch v {
        case 0xA0...0xD7FF, 0xF900...0xFDCF, 0xFDF0...0xFFEF: return true
        case 0x10000...0xDFFFD: return v & 0xFFFF <= 0xFFFD
        case 0xE1000...0xEFFFD: return true
        default: return false
        }
    }

    /// A git or other VCS source (a commit is part of it), as opposed to a registry download.
    static func sourceIsVCS(_ s: String) -> Bool { s.hasPrefix("git+") || s.hasPrefix("git:") || s.hasPrefix("git@") || (s.utf8.contains(0x23) && s.contains(".git#")) }

    /// A configuration file: its path and SHA-256, never its bytes.
    static func configComponent(_ f: ConfigFile, layers: [String: String]?) -> JSONValue {
        var c = ObjectBuilder()
        c.add("type", .string("file"))
        c.add("bom-ref", .string("config:" + f.path))
        c.add("name", .string(f.path))
        c.add("hashes", .array([.object([("alg", .string(f.digest.algorithm.rawValue)), ("content", .string(f.digest.value))])]))
        c.add("properties", .array([.object([("name", .string("provenant:role")), ("value", .string("configuration"))])]))
        if let l = f.layer {
            c.add("evidence", .object([("occurrences", .array([.object([("location", .string(f.path)), ("additionalContext", .string(layers?[l] ?? "layer \(l)"))])]))]))
        }
        return c.value
    }

    /// `layers` maps a layer digest to the line that names it and the history step that made it.
    static func component(_ p: Package, layers: [String: String]? = nil) -> JSONValue {
        var c = ObjectBuilder()
        c.add("type", .string("library"))
        c.add("bom-ref", .string(p.ref))
        if let s = p.supplier { c.add("supplier", .object([("name", .string(s))])) }
        if let a = p.author { c.add("authors", .array([.object([("name", .string(a))])])) }
        // npm's name already holds its scope (`@babel/core`): a group beside it read `@babel/@babel/core`
        // (found by helper-107). Maven's and Composer's names are the purl's, under their group.
        c.add("group", p.purl.namespace.flatMap { p.ecosystem == .maven || p.ecosystem == .composer ? $0 : nil })
        c.add("name", .string(p.ecosystem == .maven || p.ecosystem == .composer ? p.purl.name : p.name))
        c.add("version", .string(p.version))
        c.add("description", p.description)
        c.add("scope", .string(p.scope == .dev ? "excluded" : p.scope == .optional ? "optional" : "required"))
        c.add("hashes", array: p.digests.map { .object([("alg", .string($0.algorithm.rawValue)), ("content", .string($0.value))]) })
        c.add("licenses", licenses(p.licenses, texts: p.licenseTexts ?? [:]))
        c.add("purl", .string(p.purl.description))
        var refs: [JSONValue] = []
        // A URL the schema refuses (a space in it, a bare `http://`) made the whole document invalid
        // (found by helper-90): a homepage is left out, a source kept as a property.
        if let h = p.homepage, h.hasPrefix("http"), isIRI(h) { refs.append(.object([("type", .string("website")), ("url", .string(h))])) }
        var props: [JSONValue] = [
            .object([("name", .string("provenant:found-by")), ("value", .string(p.foundBy))]),
            .object([("name", .string("provenant:scope")), ("value", .string(p.scope.rawValue))]),
        ]
        // Where the package manager resolved it from: what `diff` compares for a moved registry or commit.
        for s in (p.source.map { [$0] } ?? []) + (p.otherSources ?? []) {
            if isIRI(s) { refs.append(.object([("type", .string(sourceIsVCS(s) ? "vcs" : "distribution")), ("url", .string(s))])) }
            else { props.append(.object([("name", .string("provenant:source")), ("value", .string(s))])) }
        }
        c.add("externalReferences", array: refs)
        for s in p.installScripts ?? [] { props.append(.object([("name", .string("provenant:install-script")), ("value", .string(s))])) }
        if let d = p.isDirect {
            props.append(.object([("name", .string("provenant:dependency")), ("value", .string(d ? "direct" : "indirect"))]))
        }
        c.add("properties", .array(props))
        c.add("evidence", .object([("occurrences", .array(p.locations.map { l in
            var o = ObjectBuilder()
            o.add("location", .string(l.path))
            if let n = l.line { o.add("line", .int(n)) }
            if let layer = l.layer { o.add("additionalContext", .string(layers?[layer] ?? "layer \(layer)")) }
            return o.value
        }))]))
        if !p.files.isEmpty {
            let files = p.files
            c.add("components", .raw { o, indent, pretty in writeFiles(files, into: &o, indent: indent, pretty: pretty) })
        }
        return c.value
    }

    /// An array of `{type, name, hashes}` objects, without the tree and without a writer's bookkeeping
    /// per value: packages own tens of thousands of files (one Debian package in the agent bench image,
    /// 30,000), which made this list the slowest part of the write. Pretty output puts each record on
    /// a line of its own, written compact: spread over seven lines, records made three fifths of a
    /// 48 MB document, and a line per file is what `grep` wants (a path and its hash together).
    /// A list as long as `JSONValue.alone` is written over the cores: its component is then written
    /// alone while they are free (the agent image's `google-cloud-cli`, 45,000 files and 8 MB, took
    /// 40 ms on one core while the other waited). Shorter ones are written in place, on the core that
    /// writes their component, with the other cores busy with other components.
    static func writeFiles(_ files: [PackageFile], into o: inout [UInt8], indent: Int, pretty: Bool) {
        guard !files.isEmpty else { o.append(contentsOf: "[]".utf8); return }
        let layout = FileListLayout(indent: indent, pretty: pretty)
        o.append(UInt8(ascii: "["))
        if files.count >= JSONValue.alone, Parallel.cores > 1 {
            let pieces = Parallel.pieces
            let parts = Parallel.map(width: pieces) { w -> [UInt8] in
                var part: [UInt8] = []
                let mine = Parallel.share(w, of: pieces, files.indices)
                part.reserveCapacity(mine.count * 160)
                for i in mine { layout.element(files[i], first: i == 0, into: &part) }
                return part
            }
            for p in parts { o.append(contentsOf: p) }
        } else {
            for i in files.indices { layout.element(files[i], first: i == 0, into: &o) }
        }
        JSONValue.newline(&o, indent, pretty)
        o.append(UInt8(ascii: "]"))
    }

    /// The fixed bytes between a file record's values, for one indent: pretty output starts each record
    /// on a new line at the list's indent, and every record is compact.
    struct FileListLayout: Sendable {
        let open: [UInt8], hashes: [UInt8], content: [UInt8], close: [UInt8], closeHashed: [UInt8]

        init(indent: Int, pretty: Bool) {
            let lead = pretty ? "\n" + String(repeating: "  ", count: indent + 1) : ""
            open = Array("\(lead){\"type\":\"file\",\"name\":".utf8)
            hashes = Array(",\"hashes\":[{\"alg\":".utf8)
            content = Array(",\"content\":".utf8)
            closeHashed = Array("}]}".utf8)
            close = Array("}".utf8)
        }

        func element(_ f: PackageFile, first: Bool, into o: inout [UInt8]) {
            if !first { o.append(UInt8(ascii: ",")) }
            o.append(contentsOf: open)
            JSONValue.escape(f.path, into: &o)
            if let algorithm = f.digestAlgorithm {
                o.append(contentsOf: hashes)
                JSONValue.escape(algorithm.rawValue, into: &o)
                o.append(contentsOf: content)
                // Hex needs no escaping; a digest kept as given may.
                o.append(UInt8(ascii: "\""))
                if f.appendInlineHex(to: &o) { o.append(UInt8(ascii: "\"")) } else {
                    o.removeLast()
                    JSONValue.escape(f.digest?.value ?? "", into: &o)
                }
                o.append(contentsOf: closeHashed)
            } else {
                o.append(contentsOf: close)
            }
        }
    }

    /// SPDX IDs become `license.id`, valid expressions `expression`, anything else `license.name`; never empty.
    /// A LicenseRef the extractor read a text for (a Debian copyright file's) carries it as `license.text`,
    /// since CycloneDX has no other place that says what the reference means.
    static func licenses(_ ls: [String], texts: [String: String] = [:]) -> JSONValue {
        let kinds = ls.map(Licenses.classify)
        if kinds.count == 1, case .expression(let e) = kinds[0] { return .array([.object([("expression", .string(e))])]) }
        var out: [JSONValue] = []
        for k in kinds {
            switch k {
            case .id(let id): out.append(.object([("license", .object([("id", .string(id))]))]))
            case .name(let n):
                if let text = texts[n] {
                    out.append(.object([("license", .object([("name", .string(n)),
                                                             ("text", .object([("contentType", .string("text/plain")), ("content", .string(text))]))]))]))
                } else {
                    out.append(.object([("license", .object([("name", .string(n))]))]))
                }
            case .expression(let e): out.append(.object([("license", .object([("name", .string(e))]))]))
            }
        }
        if out.isEmpty { out = [.object([("license", .object([("name", .string("NOASSERTION"))]))])] }
        return .array(out)
    }
}
