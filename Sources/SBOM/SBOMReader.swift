import Catalog
import Foundation
import ProvenantCore

/// Reads CycloneDX JSON and SPDX 2.x JSON SBOMs (Provenant's, syft's, trivy's…) back into an
/// inventory, one package per component that carries a purl.
public enum SBOMReader {

    /// `foundBy` of a package made for a component without a purl (`keepingComponentsWithoutPurl`):
    /// `diff` matches those by name, and says so.
    public static let withoutPurl = "sbom (no purl)"

    /// With `keepingComponentsWithoutPurl`, a component without a usable purl becomes a
    /// `pkg:generic/NAME@VERSION` package marked `withoutPurl` (and is still a diagnostic) instead of
    /// being left out: a scan cannot match it, but a comparison can pair it by name.
    public static func read(_ path: String, keepingComponentsWithoutPurl: Bool = false) throws(InputError) -> Inventory {
        try read(Data(try NamedInputFile.read(path, limit: maxBytes, what: "SBOM")), path: path, keepingComponentsWithoutPurl: keepingComponentsWithoutPurl)
    }

    /// The inventory of an SBOM already read from `path` (named in messages only).
    public static func read(_ data: Data, path: String, keepingComponentsWithoutPurl: Bool = false) throws(InputError) -> Inventory {
        let json: JSONValue
        do { json = try JSONParser.parse(data) } catch {
            throw InputError("not valid JSON: \(error.reason)", at: Location(path, line: error.line))
        }
        try checkShape(json, path: path)
        guard let (listed, extras) = listing(Doc(json)) else { throw InputError("JSON but neither a CycloneDX nor an SPDX document", at: Location(path)) }
        try checkListTypes(json, path: path)
        return inventory(listed, extras: extras, path: path, keepWithoutPurl: keepingComponentsWithoutPurl)
    }

    /// A document readers could take two ways is refused, not read one way: both formats' markers
    /// (read as CycloneDX, its SPDX packages went unseen), a repeated top-level key (the last list
    /// won, where other readers keep the first), or a major version this reader does not know (an
    /// SPDX 3 graph read as no packages): each was stored as empty, and clean (found by helper-97).
    static func checkShape(_ json: JSONValue, path: String) throws(InputError) {
        guard let fields = json.objectFields else { return }
        var seen = Set<String>()
        for (key, _) in fields where !seen.insert(key).inserted {
            throw InputError("the key '\(Redactor.quote(key, max: 60))' appears twice at the top level; readers differ on which counts", at: Location(path))
        }
        // At any depth too: a component with two `purl`s was read by its last, where a reader keeping
        // the first saw the vulnerable version (found by helper-135).
        // Every CycloneDX and SPDX object is a struct to Go's readers (cyclonedx-go, spdx/tools-golang),
        // which take `Purl` for `purl`, the last spelling winning: keys are compared case-folded
        // (found by helper-145).
        if let key = json.ambiguousKey(folds: { _ in true }) {
            throw InputError("the key '\(Redactor.quote(key, max: 60))' appears twice in one object; readers differ on which counts", at: Location(path))
        }
        let cyclone = json["bomFormat"] != nil, spdx = json["spdxVersion"] != nil
        if cyclone && spdx { throw InputError("has both 'bomFormat' (CycloneDX) and 'spdxVersion' (SPDX); readers differ on which it is", at: Location(path)) }
        if cyclone, let v = json["specVersion"]?.stringValue, !v.hasPrefix("1.") {
            throw InputError("CycloneDX specVersion '\(Redactor.quote(v, max: 30))' is not one this reader knows (1.x)", at: Location(path))
        }
        if spdx, let v = json["spdxVersion"]?.stringValue, !v.hasPrefix("SPDX-2.") {
            throw InputError("spdxVersion '\(Redactor.quote(v, max: 30))' is not one this reader knows (SPDX-2.x)", at: Location(path))
        }
    }

    /// A package list of the wrong type is refused, not read as empty: a current SBOM whose
    /// `components` is an object would otherwise compare as "everything removed" or scan as clean
    /// (found by review).
    static func checkListTypes(_ json: JSONValue, path: String) throws(InputError) {
        for field in ["components", "packages", "dependencies", "relationships"] {
            guard let v = json[field] else { continue }
            guard let items = v.arrayValue else { throw InputError("'\(field)' is not an array", at: Location(path)) }
            if items.contains(where: { $0.objectFields == nil }) { throw InputError("'\(field)' holds an entry that is not an object", at: Location(path)) }
        }
        // Nested components too (a component's own `components`, and the subject's under `metadata`):
        // an object or a string there was read as none, and the packages in it went unseen (found by
        // helper-145). The parser bounds depth, so the walk is bounded too.
        if let metadata = json["metadata"] {
            guard metadata.objectFields != nil else { throw InputError("'metadata' is not an object", at: Location(path)) }
            if let subject = metadata["component"], subject.objectFields == nil {
                throw InputError("'metadata.component' is not an object", at: Location(path))
            }
        }
        var pending = (json["components"]?.arrayValue ?? []) + (json["metadata"]?["component"].map { [$0] } ?? [])
        while let c = pending.popLast() {
            guard let nested = c["components"] else { continue }
            let name = Redactor.quote(c["name"]?.stringValue ?? "", max: 60)
            guard let items = nested.arrayValue else { throw InputError("the 'components' of component '\(name)' is not an array", at: Location(path)) }
            if items.contains(where: { $0.objectFields == nil }) {
                throw InputError("the 'components' of component '\(name)' holds an entry that is not an object", at: Location(path))
            }
            pending += items
        }
    }

    /// The file's inventory when it is a JSON SBOM, nil when it is anything else.
    public static func readIfSBOM(_ path: String) throws(InputError) -> Inventory? {
        // A regular file is peeked at first, so a large file of another kind is never read whole
        // here, and one that cannot be read is left to the catalog, as before. A pipe is opened once.
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        let isRegular = st.st_mode & S_IFMT == S_IFREG
        if isRegular {
            guard let head = regularFileHead(path), head.first(where: { !$0.isWhitespace }).map({ $0 == UInt8(ascii: "{") }) ?? true else { return nil }
        }
        let data = Data(try NamedInputFile.read(path, limit: maxBytes, what: "SBOM", regularOnly: isRegular))
        guard data.first(where: { !$0.isWhitespace }) == UInt8(ascii: "{") else { return nil }
        let json: JSONValue
        do { json = try JSONParser.parse(data) } catch {
            // A file that names an SBOM format and does not parse is a broken SBOM, not some other file:
            // it was "no extractor recognises this file", exit 0 (found by helper-135).
            guard namesSBOMFormat(data) else { return nil }
            throw InputError("not valid JSON: \(error.reason)", at: Location(path, line: error.line))
        }
        guard let (listed, extras) = listing(Doc(json)) else { return nil }
        try checkShape(json, path: path)
        try checkListTypes(json, path: path)
        return inventory(listed, extras: extras, path: path)
    }

    /// The largest SBOM read: an image's, with a component for every file, is a few hundred MiB.
    public static let maxBytes = 2 << 30

    /// The first 64 KiB of `path` when it is a regular file; nil for anything else or what cannot be
    /// read. Opened without blocking, so a regular file swapped for a FIFO is not waited on.
    static func regularFileHead(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        var head = [UInt8](repeating: 0, count: 64 << 10)
        let n = head.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress!, $0.count) }
        guard n >= 0 else { return nil }
        head.removeLast(head.count - n)
        return head
    }

    /// Whether the first 64 KiB hold a CycloneDX or SPDX marker key.
    static func namesSBOMFormat(_ data: Data) -> Bool {
        let head = data.prefix(64 << 10)
        return ["\"bomFormat\"", "\"spdxVersion\""].contains { head.range(of: Data($0.utf8)) != nil }
    }

    /// How a warning names an SBOM entry that could not be scanned (`<origin> '<name>' has no purl,
    /// not scanned`); the diagnostic also carries `unscanned`, which is what a scan counts.
    static let noPurl = "has no purl, not scanned"
    /// `<origin> '<name>' has an unreadable purl '<purl>', not scanned`.
    static let unreadablePurl = "has an unreadable purl"
    /// `has no 'components' list, so …`: a document without its package list at all.
    public static let missingList = "list, so what it describes was not checked (an empty list is written [])"

    /// One SBOM entry that may be a package: its purl, name and version, and what the format calls it.
    struct Listed: Sendable {
        var purl: String?; var name: String?; var version: String?; var origin: String
        /// The document's own id for the entry (CycloneDX bom-ref, SPDX SPDXID), which edges name.
        var id: String? = nil
        var digests: [Digest] = []
        var licenses: [String] = []
        var source: String? = nil
        var otherSources: [String] = []
        var installScripts: [String] = []
        var isDirect: Bool? = nil
        /// An OS package's source package, `name (version)`, when the document says it beside the purl
        /// (trivy's `aquasecurity:trivy:Src*` properties) rather than in it.
        var upstream: String? = nil
    }

    /// What a document says beyond its list of entries: dependency edges between ids, and the
    /// configuration files it records.
    struct Extras: Sendable {
        var edges: [String: [String]] = [:]
        var rootIDs: Set<String> = []
        var configFiles: [ConfigFile] = []
        var edgesKnown = false
        /// The image the document is of, from its `provenant:image:` properties.
        var image: ImageInfo?
        /// The purls of what the document is of: CycloneDX `metadata.component`, SPDX's described packages.
        var describedPurls: [String] = []
        var serialNumber: String?
        var bomVersion: Int?
        /// What the document's maker says it could not read: its `provenant:known-unknown` properties
        /// (SPDX: `known unknown:` annotations), or a root composition it calls incomplete.
        var knownUnknowns: [String] = []
        /// The package list's key when the document has none at all.
        var missingList: String?
    }

    /// Container types that are a package when they carry a version and hold nothing.
    static let versionedLeaves: Set<String> = ["application", "file"]
    static let spdxVersionedLeaves: Set<String> = ["APPLICATION", "FILE", "SOURCE"]
    static func hasVersion(_ v: String?) -> Bool {
        guard let v = v?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return false }
        return v != "NOASSERTION" && v != "NONE"
    }

    /// Types that contain packages rather than being one, when they carry no purl.
    static let cdxContainers: Set<String> = ["application", "file", "operating-system", "container", "platform"]
    static let spdxContainers: Set<String> = ["APPLICATION", "FILE", "SOURCE", "CONTAINER", "OPERATING-SYSTEM"]

    /// Just the fields read, taken leniently from the JSON tree: a field of an unexpected type is absent.
    struct Doc {
        struct Component {
            var type: String?; var name: String?; var version: String?; var purl: String?; var components: [Component]?
            var bomRef: String? = nil
            var hashes: [(alg: String, content: String)] = []
            var licenses: [String] = []
            var externalReferences: [(type: String, url: String)] = []
            var properties: [(name: String, value: String)] = []
        }
        struct Metadata { var component: Component? }
        struct Relationship { var spdxElementId: String? = nil; var relationshipType: String?; var relatedSpdxElement: String? }
        struct Ref { var referenceType: String?; var referenceLocator: String? }
        struct SPDXPackage {
            var SPDXID: String?; var name: String?; var versionInfo: String?; var primaryPackagePurpose: String?; var externalRefs: [Ref]?
            var checksums: [(alg: String, value: String)] = []
            var licenseDeclared: String? = nil; var licenseConcluded: String? = nil
            var downloadLocation: String? = nil; var comment: String? = nil
        }
        struct Dependency { var ref: String; var dependsOn: [String] }
        var bomFormat: String?; var spdxVersion: String?
        /// CycloneDX's `urn:uuid:…`.
        var serialNumber: String? = nil
        /// CycloneDX's `version`: 1 when absent, nil when not a positive integer.
        var bomVersion: Int? = 1
        var metadata: Metadata?; var components: [Component]?
        var documentDescribes: [String]?; var relationships: [Relationship]?; var packages: [SPDXPackage]?
        var dependencies: [Dependency]? = nil
        /// `metadata.properties` named `provenant:known-unknown`, and SPDX annotations' comments.
        var knownUnknowns: [String] = []
        /// A CycloneDX composition of aggregate `incomplete` (or one of its `incomplete_*` kinds).
        var incomplete = false
        /// The document says which of its known unknowns left packages unchecked (a Provenant SBOM
        /// since it does), so `knownUnknowns` holds those only and an incomplete composition adds nothing.
        var marksNotChecked = false
    }

    static func listing(_ doc: Doc) -> (listed: [Listed], extras: Extras)? {
        var extras = Extras()
        // Inputs the SBOM's maker could not read are not checked by a scan of the SBOM either: read
        // back as such, the scan of a tree and of its SBOM agree (found by helper-90: the SBOM's scan
        // said clean).
        extras.knownUnknowns = doc.knownUnknowns
        extras.serialNumber = doc.bomFormat == "CycloneDX" ? doc.serialNumber : nil
        extras.bomVersion = doc.bomFormat == "CycloneDX" ? doc.bomVersion : nil
        if extras.knownUnknowns.isEmpty, doc.incomplete, !doc.marksNotChecked { extras.knownUnknowns = ["the SBOM says its list of components is incomplete"] }
        // A document without its package list at all (a generator that wrote only metadata, or the
        // list under another key) says nothing about what is inside: read as empty it scanned as clean
        // and compared as "everything removed". An empty list (`[]`) is a statement, and is kept.
        // A document whose subject is itself a package (a library's SBOM) lists that one.
        let subjectIsPackage = doc.metadata?.component?.purl.map { !$0.hasPrefix("pkg:oci/") && !$0.hasPrefix("pkg:docker/") } ?? false
        if doc.bomFormat == "CycloneDX", doc.components == nil, doc.metadata?.component?.components == nil, !subjectIsPackage {
            extras.missingList = "components"
        } else if doc.bomFormat != "CycloneDX", doc.spdxVersion != nil, doc.packages == nil {
            extras.missingList = "packages"
        }
        if doc.bomFormat == "CycloneDX" {
            extras.describedPurls = doc.metadata?.component?.purl.map { [$0] } ?? []
            var out: [Listed] = []
            var stack = (doc.components ?? []) + (doc.metadata?.component?.components ?? [])
            // The document's subject is a package too when its purl says so (a library's own SBOM), as
            // SPDX's described package is; an image (pkg:oci, pkg:docker) is the subject, not a package.
            if var root = doc.metadata?.component, let purl = root.purl, !purl.hasPrefix("pkg:oci/"), !purl.hasPrefix("pkg:docker/") {
                root.components = nil
                stack.insert(root, at: 0)
            }
            let leadsOn = Set((doc.dependencies ?? []).filter { !$0.dependsOn.isEmpty }.map(\.ref))
            while let c = stack.popLast() {
                stack += c.components ?? []
                let props = c.properties
                if c.type == "file", props.contains(where: { $0.name == "provenant:role" && $0.value == "configuration" }) {
                    if let path = c.name, let d = c.hashes.lazy.compactMap(digest).first(where: { $0.algorithm == .sha256 }) {
                        extras.configFiles.append(ConfigFile(path: path, digest: d))
                    }
                    continue
                }
                // Applications, files and images without a purl are containers of packages, not packages;
                // but an application or file with a version of its own and nothing inside it is a
                // package named without a purl (idna 2.8 as an `application` scanned as nothing at all,
                // found by helper-122), so it is listed, and NOT CHECKED for want of a purl.
                if c.purl == nil, let t = c.type, cdxContainers.contains(t),
                   !(Self.versionedLeaves.contains(t) && Self.hasVersion(c.version) && (c.components ?? []).isEmpty
                     && !leadsOn.contains(c.bomRef ?? "")) { continue }
                var l = Listed(purl: c.purl, name: c.name, version: c.version, origin: "component", id: c.bomRef)
                l.digests = c.hashes.compactMap(digest)
                l.licenses = c.licenses
                let sources = c.externalReferences.filter { $0.type == "distribution" }.map(\.url) + c.externalReferences.filter { $0.type == "vcs" }.map(\.url)
                    + props.filter { $0.name == "provenant:source" }.map(\.value)
                l.source = sources.first
                l.otherSources = sources.filter { $0 != l.source }
                l.installScripts = props.filter { $0.name == "provenant:install-script" }.map(\.value)
                if let d = props.first(where: { $0.name == "provenant:dependency" })?.value { l.isDirect = d == "direct" }
                l.upstream = trivySource(props)
                out.append(l)
            }
            if let deps = doc.dependencies {
                extras.edgesKnown = true
                for d in deps { extras.edges[d.ref, default: []] += d.dependsOn }
                if let root = doc.metadata?.component?.bomRef { extras.rootIDs = Set(extras.edges[root] ?? []) }
            }
            if let root = doc.metadata?.component {
                extras.image = ImageFacts.info(from: root.properties, name: root.name, version: root.version)
            }
            return (out, extras)
        }
        guard doc.spdxVersion != nil else { return nil }
        var described = Set(doc.documentDescribes ?? [])
        for r in doc.relationships ?? [] where r.relationshipType == "DESCRIBES" { if let t = r.relatedSpdxElement { described.insert(t) } }
        // What the document is of, for VEX statements scoped to a product: the one package the
        // document itself describes. Generators that describe every package name no subject
        // (helper-218: a library among them cleared statements scoped to it).
        var subjects = Set(doc.documentDescribes ?? [])
        for r in doc.relationships ?? [] where r.relationshipType == "DESCRIBES" && r.spdxElementId == "SPDXRef-DOCUMENT" {
            if let t = r.relatedSpdxElement { subjects.insert(t) }
        }
        let subject = subjects.count == 1 ? subjects.first : nil
        if let rels = doc.relationships {
            for r in rels {
                guard let a = r.spdxElementId, let b = r.relatedSpdxElement else { continue }
                switch r.relationshipType {
                case "DEPENDS_ON": extras.edges[a, default: []].append(b); extras.edgesKnown = true
                case "DEPENDENCY_OF", "DEV_DEPENDENCY_OF", "OPTIONAL_DEPENDENCY_OF", "RUNTIME_DEPENDENCY_OF", "BUILD_DEPENDENCY_OF":
                    extras.edges[b, default: []].append(a); extras.edgesKnown = true
                default: break
                }
            }
            extras.rootIDs = Set(described.flatMap { extras.edges[$0] ?? [] })
        }
        // Packages that hold or lead to others (an application's lockfile, a source tree): containers.
        let contains = Set((doc.relationships ?? []).filter { $0.relationshipType == "CONTAINS" || $0.relationshipType == "DEPENDS_ON" }.compactMap(\.spdxElementId))
        var alsoListed: [Listed] = []
        let listed: [Listed] = (doc.packages ?? []).compactMap { p in
            let notes = (p.comment ?? "").split(separator: "\n").map(String.init)
            if p.primaryPackagePurpose == "FILE", notes.contains("provenant:role: configuration") {
                if let path = p.name, let d = p.checksums.lazy.compactMap({ digest(($0.alg, $0.value)) }).first(where: { $0.algorithm == .sha256 }) {
                    extras.configFiles.append(ConfigFile(path: path, digest: d))
                }
                return nil
            }
            let purls = (p.externalRefs ?? []).filter { $0.referenceType == "purl" }.compactMap(\.referenceLocator)
            let purl = purls.first
            // SPDX documents describe their own root (a directory, an image, a lockfile) as a
            // package without a purl.
            let isDescribed = p.SPDXID.map(described.contains) ?? false, purpose = p.primaryPackagePurpose ?? ""
            if let subject, p.SPDXID == subject { extras.describedPurls += purls }
            if isDescribed, extras.image == nil {
                // SPDX has no properties: the image's are lines of the described package's comment.
                let props = notes.compactMap { line -> (name: String, value: String)? in
                    guard line.hasPrefix("provenant:image:"), let sep = line.range(of: ": ") else { return nil }
                    return (String(line[..<sep.lowerBound]), String(line[sep.upperBound...]))
                }
                extras.image = ImageFacts.info(from: props, name: p.name, version: p.versionInfo)
            }
            if purl == nil, isDescribed || (spdxContainers.contains(purpose)
                                            && !(Self.spdxVersionedLeaves.contains(purpose) && Self.hasVersion(p.versionInfo) && !contains.contains(p.SPDXID ?? ""))) { return nil }
            // An image the document describes is its subject (CycloneDX's metadata.component), even
            // with a purl: not a package of the inventory.
            if isDescribed, purpose == "CONTAINER" || purl.map({ $0.hasPrefix("pkg:oci/") || $0.hasPrefix("pkg:docker/") }) == true { return nil }
            var l = Listed(purl: purl, name: p.name, version: p.versionInfo, origin: "package", id: p.SPDXID)
            l.digests = p.checksums.compactMap { digest(($0.alg, $0.value)) }
            let license = [p.licenseDeclared, p.licenseConcluded].compactMap { $0 }.first { $0 != "NOASSERTION" && $0 != "NONE" && !$0.isEmpty }
            l.licenses = license.map { [$0] } ?? []
            func note(_ key: String) -> [String] { notes.filter { $0.hasPrefix(key + ": ") }.map { String($0.dropFirst(key.count + 2)) } }
            l.source = p.downloadLocation.flatMap { $0 == "NOASSERTION" || $0 == "NONE" || $0.isEmpty ? nil : $0 } ?? note("provenant:source").first
            l.installScripts = note("provenant:install-script")
            l.otherSources = note("provenant:also-resolved-from")
            // A package with more purls of one type than one (idna@3.7 and idna@2.8): each is scanned,
            // since readers differ on which one counts; the first alone read as clean (found by
            // helper-122). A purl of another type (pkg:github beside pkg:pypi) names the same thing
            // elsewhere, and is not scanned again (helper-123: it was NOT CHECKED).
            let firstType = purl.flatMap { PackageURL(parsing: $0)?.type }
            for other in Array(Set(purls.dropFirst())).sorted() where other != purl && PackageURL(parsing: other)?.type == firstType && firstType != nil {
                var o = l
                o.purl = other
                alsoListed.append(o)
            }
            return l
        }
        return (listed + alsoListed, extras)
    }

    /// trivy's source package of an OS package, `openssl (1:3.0.2-0ubuntu1.10)`, from its
    /// `aquasecurity:trivy:SrcName`, `SrcEpoch`, `SrcVersion` and `SrcRelease` properties: its deb and
    /// apk purls carry no `upstream`, and distributions' advisories name source packages, so `libssl3`
    /// was looked up under its own name and found clean (found by helper-102).
    static func trivySource(_ props: [(name: String, value: String)]) -> String? {
        func value(_ key: String) -> String? {
            props.first { $0.name == "aquasecurity:trivy:" + key }.map { $0.value.trimmed }.flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let name = value("SrcName"), !name.contains("("), !name.contains(")") else { return nil }
        guard var version = value("SrcVersion") else { return name }
        if let release = value("SrcRelease") { version += "-" + release }
        if let epoch = value("SrcEpoch"), epoch != "0" { version = epoch + ":" + version }
        return "\(name) (\(version))"
    }

    /// `SHA-256`, `SHA256`, `sha256` and the like with hex of the right length; anything else is no digest.
    static func digest(_ h: (String, String)) -> Digest? {
        let alg = h.0.uppercased().replacingOccurrences(of: "-", with: "")
        guard let a = Digest.Algorithm.allCases.first(where: { $0.rawValue.replacingOccurrences(of: "-", with: "") == alg }) else { return nil }
        return Digest(a, hex: h.1)
    }

    /// The version field's release when it is another than the purl's; nil when the two are one release
    /// written two ways: Go's `v`; a deb, rpm, apk or alpm epoch of 0 written as `0:` or left out (an
    /// `epoch=` qualifier above 0 makes only `e:version` the same); PyPI's case, leading `v` and trailing
    /// `.0` release segments.
    static func disagreeingVersion(field: String, purlVersion: String, type: String, qualifiers: [String: String]) -> String? {
        let f = field.trimmingCharacters(in: .whitespaces)
        guard !f.isEmpty else { return nil }
        var same: Set<String> = [purlVersion]
        switch type {
        case "golang":
            if f.drop(while: { $0 == "v" }) == purlVersion.drop(while: { $0 == "v" }) { return nil }
        case "deb", "rpm", "apk", "alpm":
            // An epoch above 0 in the qualifier makes the bare version another release (grype reads
            // `4.13` as epoch 0): only `e:version` is the same then (found by review).
            if let e = qualifiers["epoch"], !e.isEmpty, e != "0" {
                same = [e + ":" + purlVersion]
            } else {
                if purlVersion.hasPrefix("0:") { same.insert(String(purlVersion.dropFirst(2))) }
                same.insert("0:" + purlVersion)
            }
        case "pypi":
            // PEP 440 reads case, a leading `v` and trailing `.0` release segments as the same release.
            func release(_ v: String) -> String {
                var t = v.lowercased()
                if t.hasPrefix("v") { t.removeFirst() }
                var parts = t.split(separator: ".", omittingEmptySubsequences: false)
                guard parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return t }
                while parts.count > 1, parts.last.map({ $0.allSatisfy { $0 == "0" } }) == true { parts.removeLast() }
                return parts.map { p in p.drop { $0 == "0" }.isEmpty ? "0" : String(p.drop { $0 == "0" }) }.joined(separator: ".")
            }
            if release(f) == release(purlVersion) { return nil }
        default: break
        }
        return same.contains(f) ? nil : f
    }

    static func inventory(_ listed: [Listed], extras: Extras = Extras(), path: String, keepWithoutPurl: Bool = false) -> Inventory {
        // Purl parsing is most of the work; contiguous slices on each core keep the input order.
        let width = listed.count < 2_000 ? 1 : Parallel.cores
        let slices = Parallel.map(width: width) { w -> ([Package], [Diagnostic], [(String, String)]) in
            var packages: [Package] = [], diags: [Diagnostic] = [], ids: [(String, String)] = []
            let slice = listed[Parallel.share(w, of: width, listed.indices)]
            packages.reserveCapacity(slice.count)
            for l in slice {
                let parsed = l.purl.flatMap { $0.isEmpty ? nil : PackageURL(parsing: $0) }
                if parsed == nil {
                    if let raw = l.purl, !raw.isEmpty {
                        diags.append(Diagnostic(Location(path), "\(l.origin) '\(l.name ?? "?")' " + unreadablePurl + " '\(raw)', not scanned",
                                                unscanned: .componentWithUnreadablePurl("\(l.origin) '\(l.name ?? "?")'")))
                    } else {
                        diags.append(Diagnostic(Location(path), "\(l.origin) '\(l.name ?? "?")' " + noPurl,
                                                unscanned: .componentWithoutPurl("\(l.origin) '\(l.name ?? "?")'")))
                    }
                }
                // Kept, with neither a name nor a purl, under its document id: dropped, it would be missing
                // from what the fleet server lists as not checked (found by review).
                let keptName = [l.name, l.id].compactMap { $0 }.first { !$0.isEmpty } ?? "unnamed component"
                guard var purl = parsed ?? (keepWithoutPurl ? PackageURL(type: "generic", name: keptName, version: l.version) : nil) else {
                    continue
                }
                let eco = Ecosystem(rawValue: purl.type) ?? .generic
                var n = purl.namespace.map { purl.type == "maven" ? "\($0):\(purl.name)" : "\($0)/\(purl.name)" } ?? purl.name
                // syft writes a Go module path past its third element as the purl's subpath
                // (github.com/go-git/go-git/v5 is pkg:golang/github.com/go-git/go-git@v5.12.0#v5): the
                // module is the whole path, and scanning the first three missed its advisories (found by helper-82).
                // Only in syft's shape, the component named by the whole path (or a major-version
                // suffix with no name): the purl spec's own subpath is a package inside the module
                // (golang.org/x/text#language), whose advisories are the module's (found by review).
                if purl.type == "golang", let sp = purl.subpath.map({ $0.split(separator: "/").joined(separator: "/") }), !sp.isEmpty,
                   l.name == n + "/" + sp || (l.name == nil && sp.first == "v" && sp.dropFirst().allSatisfy(\.isNumber) && sp.count > 1) {
                    n += "/" + sp
                    let slash = n.lastIndex(of: "/")
                    purl = PackageURL(type: "golang", namespace: slash.map { String(n[..<$0]) }, name: slash.map { String(n[n.index(after: $0)...]) } ?? n,
                                      version: purl.version, qualifiers: purl.qualifiers, subpath: nil)
                }
                // Go module paths are case-sensitive, and trivy lowercases them in purls, keeping the
                // real spelling in the name: the name is the module then (github.com/Masterminds/goutils).
                // Only that way round: a lowercased name beside a purl in the module's spelling is not
                // trivy's, and must not lowercase the purl (found by review).
                if purl.type == "golang", let name = l.name, name != n, n == n.lowercased(), name.lowercased() == n {
                    n = name
                    let slash = name.lastIndex(of: "/")
                    purl = PackageURL(type: "golang", namespace: slash.map { String(name[..<$0]) }, name: slash.map { String(name[name.index(after: $0)...]) } ?? name,
                                      version: purl.version, qualifiers: purl.qualifiers, subpath: purl.subpath)
                }
                if let u = l.upstream, purl.type == "deb" || purl.type == "apk", (purl.qualifiers["upstream"] ?? "").isEmpty {
                    var q = purl.qualifiers
                    q["upstream"] = u
                    purl = PackageURL(type: purl.type, namespace: purl.namespace, name: purl.name, version: purl.version, qualifiers: q, subpath: purl.subpath)
                }
                var p = Package(ecosystem: eco, name: n, version: purl.version ?? l.version ?? "", purl: purl,
                                licenses: l.licenses, digests: l.digests, locations: [Location(path)], foundBy: parsed == nil ? withoutPurl : "sbom")
                p.source = l.source
                p.otherSources = l.otherSources.isEmpty ? nil : l.otherSources
                p.installScripts = l.installScripts.isEmpty ? nil : l.installScripts
                p.isDirect = l.isDirect
                ids.append((l.id ?? "", p.ref))
                packages.append(p)
                // A version field that says another release than the purl: grype reads the field, trivy
                // the purl, so a document can show each tool a different package. Both are scanned,
                // and the disagreement is said (a listed vulnerable version hid behind a purl's).
                if parsed != nil, let pv = purl.version, let fv = l.version,
                   let other = Self.disagreeingVersion(field: fv, purlVersion: pv, type: purl.type, qualifiers: purl.qualifiers) {
                    let epoch = ["deb", "rpm", "apk", "alpm"].contains(purl.type) ? purl.qualifiers["epoch"].flatMap { $0.isEmpty || $0 == "0" ? nil : $0 + ":" } ?? "" : ""
                    diags.append(Diagnostic(Location(path), "\(l.origin) '\(Redactor.quote(l.name ?? n, max: 200))' has version '\(Redactor.quote(fv, max: 100))' "
                        + "but its purl says '\(Redactor.quote(epoch + pv, max: 100))'; both are scanned"))
                    var q = purl.qualifiers
                    q["epoch"] = nil
                    var twin = p
                    twin.version = other
                    twin.purl = PackageURL(type: purl.type, namespace: purl.namespace, name: purl.name, version: other, qualifiers: q, subpath: purl.subpath)
                    twin.dependsOn = []
                    packages.append(twin)
                    // The component's bom-ref names both readings: a link to it is unsure of either
                    // (helper-223: a link naming only the other component of the twin's purl cleared it).
                    ids.append((l.id ?? "", twin.ref))
                }
            }
            return (packages, diags, ids)
        }
        let recorded = extras.knownUnknowns.prefix(1000).map {
            Diagnostic(Location(path), "the SBOM records an input its maker could not read: \(Redactor.escapeControls(Redactor.quote($0, max: 300)))", unscanned: .input)
        }
        let missing = extras.missingList.map {
            [Diagnostic(Location(path), "has no '\($0)' " + missingList, unscanned: .input)]
        } ?? []
        let diagnostics = (slices.flatMap(\.1) + recorded + missing).uniqueSortedDiagnostics()
        let slicesRefs = slices.flatMap(\.2)
        // Components without an id are listed with "" (for `documentRefs`); edges name ids only.
        let refOf = Dictionary(slicesRefs.filter { !$0.0.isEmpty }, uniquingKeysWith: { a, _ in a })
        var lists = slices.map(\.0)
        _ = consume slices
        var packages = Parallel.joined(&lists)
        // Edges name the document's ids; packages are keyed by purl.
        if extras.edgesKnown {
            // One package may carry several ids (a component listed twice): its edges are all of theirs.
            var idsOf: [String: [String]] = [:]
            for (id, ref) in refOf { idsOf[ref, default: []].append(id) }
            let rootRefs = Set(extras.rootIDs.compactMap { refOf[$0] })
            // Once per ref: thousands of components sharing one purl, each with edges, took minutes when
            // every copy gathered every copy's edges again (found by helper-135).
            var dependsOnOf: [String: [String]] = [:]
            for i in packages.indices {
                let ref = packages[i].ref
                if dependsOnOf[ref] == nil {
                    var refs = Set<String>()
                    for id in idsOf[ref] ?? [] { for e in extras.edges[id] ?? [] { if let r = refOf[e] { refs.insert(r) } } }
                    dependsOnOf[ref] = refs.sorted()
                }
                packages[i].dependsOn = dependsOnOf[ref] ?? []
                packages[i].dependenciesKnown = true
                if packages[i].isDirect == nil, !rootRefs.isEmpty { packages[i].isDirect = rootRefs.contains(packages[i].ref) }
            }
        }
        // An SBOM from elsewhere is input like any other: what it says is redacted before it is echoed.
        InputRedaction.scrub(&packages)
        var inv = Inventory(target: path, mode: "sbom", distro: nil, packages: Cataloger.merge(packages),
                            diagnostics: diagnostics, sources: [path: "sbom"])
        inv.configFiles = extras.configFiles.isEmpty ? nil : extras.configFiles.sorted()
        inv.image = extras.image
        inv.describedPurls = extras.describedPurls
        inv.serialNumber = extras.serialNumber
        inv.bomVersion = extras.bomVersion
        // A bom-ref given to two packages names neither: a statement about one cleared the other
        // (helper-221). Only CycloneDX has BOM-Links.
        if extras.serialNumber != nil {
            inv.documentRefs = DocumentRefs(slicesRefs.map { (id: $0.0.isEmpty ? nil : $0.0, purl: $0.1) })
        }
        return inv
    }
}

extension Array where Element == Diagnostic {
    func uniqueSortedDiagnostics() -> [Diagnostic] { Array(Set(self)).sorted() }
}

private extension UInt8 {
    var isWhitespace: Bool { self == 32 || self == 9 || self == 10 || self == 13 }
}

extension SBOMReader.Doc {
    /// A field of the wrong type is absent, except a purl that is present but not a string, which
    /// stays present (empty) so it is reported, not skipped. Non-object list items are passed over.
    init(_ o: JSONValue) {
        func objects(_ v: JSONValue?) -> [JSONValue]? { v?.arrayValue?.filter { $0.objectFields != nil } }
        bomFormat = o["bomFormat"]?.stringValue
        spdxVersion = o["spdxVersion"]?.stringValue
        serialNumber = o["serialNumber"]?.stringValue
        switch o["version"] {
        case nil: bomVersion = 1
        case .int(let v)?: bomVersion = v > 0 ? v : nil
        default: bomVersion = nil
        }
        metadata = o["metadata"]?["component"].flatMap { $0.objectFields == nil ? nil : Metadata(component: Component($0)) }
        components = objects(o["components"])?.map(Component.init)
        documentDescribes = o["documentDescribes"]?.arrayValue?.compactMap(\.stringValue)
        relationships = objects(o["relationships"])?.map {
            Relationship(spdxElementId: $0["spdxElementId"]?.stringValue, relationshipType: $0["relationshipType"]?.stringValue,
                         relatedSpdxElement: $0["relatedSpdxElement"]?.stringValue)
        }
        packages = objects(o["packages"])?.map { p in
            var s = SPDXPackage(SPDXID: p["SPDXID"]?.stringValue, name: p["name"]?.stringValue, versionInfo: p["versionInfo"]?.stringValue,
                                primaryPackagePurpose: p["primaryPackagePurpose"]?.stringValue,
                                externalRefs: objects(p["externalRefs"])?.map { Ref(referenceType: $0["referenceType"]?.stringValue, referenceLocator: $0["referenceLocator"]?.stringValue) })
            s.checksums = objects(p["checksums"])?.compactMap { c in
                c["algorithm"]?.stringValue.flatMap { a in c["checksumValue"]?.stringValue.map { (a, $0) } }
            } ?? []
            s.licenseDeclared = p["licenseDeclared"]?.stringValue
            s.licenseConcluded = p["licenseConcluded"]?.stringValue
            s.downloadLocation = p["downloadLocation"]?.stringValue
            s.comment = p["comment"]?.stringValue
            return s
        }
        dependencies = objects(o["dependencies"])?.compactMap { d in
            d["ref"]?.stringValue.map { Dependency(ref: $0, dependsOn: d["dependsOn"]?.arrayValue?.compactMap(\.stringValue) ?? []) }
        }
        // What was not checked: the entries a Provenant SBOM marks so, when it says how many there are;
        // else, from one that does not, every known unknown (which may be mere warnings: fail closed).
        let props = (objects(o["metadata"]?["properties"]) ?? []).compactMap { p in p["name"]?.stringValue.flatMap { n in p["value"]?.stringValue.map { (n, $0) } } }
        let notes = (objects(o["annotations"]) ?? []).compactMap { $0["comment"]?.stringValue }
        if props.contains(where: { $0.0 == "provenant:not-checked-inputs" }) || notes.contains(where: { $0.hasPrefix("provenant:not-checked-inputs: ") }) {
            marksNotChecked = true
            knownUnknowns = props.filter { $0.0 == "provenant:not-checked" }.map(\.1)
                + notes.compactMap { $0.hasPrefix("not checked: ") ? String($0.dropFirst(13)) : nil }
        } else {
            knownUnknowns = props.filter { $0.0 == "provenant:known-unknown" }.map(\.1)
                + notes.compactMap { $0.hasPrefix("known unknown: ") ? String($0.dropFirst(15)) : nil }
        }
        incomplete = (objects(o["compositions"]) ?? []).contains { c in
            c["aggregate"]?.stringValue.map { $0 == "incomplete" || $0.hasPrefix("incomplete_") } ?? false
        }
    }
}

extension SBOMReader.Doc.Component {
    init(_ c: JSONValue) {
        type = c["type"]?.stringValue; name = c["name"]?.stringValue; version = c["version"]?.stringValue
        purl = c["purl"].map { $0.stringValue ?? "" }
        components = c["components"]?.arrayValue?.filter { $0.objectFields != nil }.map(Self.init)
        bomRef = c["bom-ref"]?.stringValue
        func objects(_ v: JSONValue?) -> [JSONValue] { v?.arrayValue?.filter { $0.objectFields != nil } ?? [] }
        hashes = objects(c["hashes"]).compactMap { h in h["alg"]?.stringValue.flatMap { a in h["content"]?.stringValue.map { (a, $0) } } }
        licenses = objects(c["licenses"]).compactMap { l in
            l["expression"]?.stringValue ?? l["license"]?["id"]?.stringValue ?? l["license"]?["name"]?.stringValue
        }
        externalReferences = objects(c["externalReferences"]).compactMap { r in r["type"]?.stringValue.flatMap { t in r["url"]?.stringValue.map { (t, $0) } } }
        properties = objects(c["properties"]).compactMap { p in p["name"]?.stringValue.flatMap { n in p["value"]?.stringValue.map { (n, $0) } } }
    }
}
