import Foundation
import ProvenantCore

/// Everything one scan found, sorted so the same input always gives the same inventory.
public struct Inventory: Sendable, Codable {
    public var target: String
    public var mode: String
    public var distro: Distro?
    public var packages: [Package]
    public var diagnostics: [Diagnostic]
    /// Every file an extractor read, with the extractor's name, so coverage is auditable.
    public var sources: [String: String]
    /// The project the target is, when a manifest at its top names it (`package.json`, `go.mod`, …).
    public var rootProject: RootProject?
    /// The image the target is, when it is one.
    public var image: ImageInfo?
    /// Configuration files recorded with their digests (`sbom --config`, and the agent manifest).
    /// nil when none was found (and in inventories written before configuration was recorded).
    public var configFiles: [ConfigFile]?
    /// An SBOM read as input: the purls of what it says it is of (CycloneDX `metadata.component`,
    /// SPDX's described packages), and its CycloneDX `serialNumber`. A VEX statement about a package
    /// inside one product is matched against them. nil for anything else.
    public var describedPurls: [String]?
    public var serialNumber: String?
    /// The CycloneDX SBOM's `version` (1 when it gives none; nil when it gives one that is no
    /// positive integer): a BOM-Link names one version of a BOM.
    public var bomVersion: Int?
    /// A CycloneDX SBOM read as input: its bom-refs and the packages they name, which a BOM-Link
    /// into it names components by.
    public var documentRefs: DocumentRefs?

    // What an input SBOM says of itself is scan input, raw, and not part of an inventory written out.
    private enum CodingKeys: String, CodingKey {
        case target, mode, distro, packages, diagnostics, sources, rootProject, image, configFiles
    }

    public init(target: String, mode: String, distro: Distro?, packages: [Package], diagnostics: [Diagnostic],
                sources: [String: String], rootProject: RootProject? = nil) {
        self.target = target; self.mode = mode; self.distro = distro
        self.packages = packages; self.diagnostics = diagnostics; self.sources = sources
        self.rootProject = rootProject
    }
}

/// A CycloneDX SBOM's bom-refs, with the purl of the package each names.
public struct DocumentRefs: Sendable, Equatable {
    /// Refs that name one package.
    public var refs: [String: String]
    /// Refs the document gives to more than one package, with their purls: they name none of them surely.
    public var ambiguous: [String: Set<String>]
    /// Purls with a component that has no bom-ref, or an ambiguous one: no set of refs names every copy.
    public var unnamedCopies: Set<String>
    public init(refs: [String: String] = [:], ambiguous: [String: Set<String>] = [:], unnamedCopies: Set<String> = []) {
        self.refs = refs; self.ambiguous = ambiguous; self.unnamedCopies = unnamedCopies
    }

    /// From each component's bom-ref (nil when it has none) and its package's purl.
    public init(_ pairs: [(id: String?, purl: String)]) {
        var seen: [String: Set<String>] = [:], unnamed = Set<String>()
        for (id, purl) in pairs {
            guard let id, !id.isEmpty else { unnamed.insert(purl); continue }
            seen[id, default: []].insert(purl)
        }
        var refs: [String: String] = [:], ambiguous: [String: Set<String>] = [:]
        for (id, purls) in seen {
            if purls.count == 1, let only = purls.first { refs[id] = only } else { ambiguous[id] = purls; unnamed.formUnion(purls) }
        }
        self.init(refs: refs, ambiguous: ambiguous, unnamedCopies: unnamed)
    }
}

public struct Cataloger: Sendable {
    public var mode: ScanMode
    public var includeDev: Bool
    public var excludes: [Glob]
    public var extractors: [any Extractor]
    /// Bytes the whole scan may read whole (see `ReadBudget`).
    public var readBudget: Int
    /// Checks an image's config for secrets (its environment values and history commands) and returns
    /// one masked line per hit; they become the image's `secretsInConfig`. Set by the secrets engine's owner.
    public var configSecrets: (@Sendable (ImageConfig, _ display: String) -> [String])?
    /// Which files are recorded as configuration, with their digests.
    public var config = ConfigSelection(globs: [])

    public init(mode: ScanMode = .auto, includeDev: Bool = false, excludes: [String] = [],
                extractors: [any Extractor] = Cataloger.defaultExtractors, readBudget: Int = FileIndex.defaultReadBudget) {
        self.mode = mode; self.includeDev = includeDev
        self.excludes = excludes.map(Glob.init(excluding:)); self.extractors = extractors; self.readBudget = readBudget
    }

    public static let defaultExtractors: [any Extractor] = [
        DpkgExtractor(), ApkExtractor(),
        GoModExtractor(), GoVendorExtractor(), GoBinaryExtractor(),
        PythonInstalledExtractor(), RequirementsExtractor(), PipfileLockExtractor(),
        PythonTOMLLockExtractor(.poetry), PythonTOMLLockExtractor(.uv), PythonTOMLLockExtractor(.pdm), PythonTOMLLockExtractor(.pylock),
        NpmLockExtractor(), YarnLockExtractor(), PnpmLockExtractor(), BunLockExtractor(), NodeModulesExtractor(), PackageJSONExtractor(),
        JarExtractor(), PomExtractor(), GradleLockExtractor(),
        CargoLockExtractor(), GemfileLockExtractor(), ComposerLockExtractor(),
        NuGetLockExtractor(), DotnetDepsExtractor(), SwiftResolvedExtractor(),
    ]

    /// An OS package database marks an unpacked root filesystem.
    public static func looksInstalled(_ index: FileIndex) -> Bool {
        index.files.contains { f in
            f.path.hasSuffix("var/lib/dpkg/status") || f.path.hasSuffix("lib/apk/db/installed")
                || f.path.containsBytes("var/lib/dpkg/status.d/") || f.path.hasSuffix("usr/lib/opkg/status")
                || Self.isUnreadDatabase(f.path)
        }
    }

    /// Package databases no extractor reads: RPM's (Berkeley DB, NDB and SQLite, in both homes). A
    /// root holding one is not clean for having no packages listed: it is NOT CHECKED (found by helper-127).
    static let unreadDatabases = ["var/lib/rpm/Packages", "var/lib/rpm/Packages.db", "var/lib/rpm/rpmdb.sqlite",
                                  "usr/lib/sysimage/rpm/Packages", "usr/lib/sysimage/rpm/Packages.db", "usr/lib/sysimage/rpm/rpmdb.sqlite"]
    static let unreadDatabaseSuffixes = unreadDatabases.map { "/" + $0 }
    static let unreadDatabaseNames = Array(Set(unreadDatabases.map { PathText.lastComponent($0) })).sorted()
    static func isUnreadDatabase(_ path: String) -> Bool {
        // Most paths end in none of the names: rejected on the last bytes, with no allocation.
        guard unreadDatabaseNames.contains(where: { path.hasSuffix($0) }) else { return false }
        return unreadDatabases.contains(path) || unreadDatabaseSuffixes.contains { path.hasSuffix($0) }
    }

    /// Which files of an image to keep while its layers stream: what any extractor wants or reads beside.
    public var imageCapture: ImageCapture {
        let extractors = self.extractors
        let config = self.config
        let excludes = self.excludes, filter = ExcludeFilter(excludes)
        // `--exclude` leaves a path out of an image as the directory walk leaves it out of a tree: the
        // path itself or any directory above it. Asked only of what would be kept.
        return ImageCapture({ path, size, executable in
            let rule = Self.captureRule(path, size, executable, extractors: extractors, config: config)
            return rule.wantsBytes && filter.excludes(path) ? .excluded : rule
        }, linked: { fs in
            var found = LinkedPaths.find(extractors, lookUp: { path in fs.linkedTarget(path, wanted: { LinkedPaths.read(path + "/" + $0, by: extractors) }) },
                                         describe: { ($0.size, $0.mode & 0o111 != 0) },
                                         readAtRealPath: { !filter.excludes($0) })
            if !excludes.isEmpty {
                found.aliases.removeAll { filter.excludes($0.path) }
                found.dangling.removeAll { filter.excludes($0) }
                found.unlisted.removeAll { filter.excludes($0) }
            }
            return found
        }, linkedNames: Set(extractors.flatMap(\.linkedPaths).filter { !$0.hasSuffix("/") }.map { PathText.lastComponent($0) }))
    }

    private static func captureRule(_ path: String, _ size: Int, _ executable: Bool, extractors: [any Extractor],
                                    config: ConfigSelection) -> ImageCapture.Rule {
        let name = PathText.lastComponent(path)
        if OSRelease.paths.contains(path) || config.selects(path) { return .keep }
        let file = IndexedFile(path: path, size: size, isExecutable: executable)
        let wanting = extractors.filter { $0.wants(file, fileName: name) }
        if !wanting.isEmpty { return .keepIf { bytes in wanting.contains { $0.keeps(bytes) } } }
        return extractors.contains { $0.alsoReads(path, fileName: name) } ? .keep : .skip
    }

    /// Catalogs `target`: a directory, a single file, or an image (a scheme-prefixed reference such as
    /// `oci-dir:`, or a path that is an image layout or archive). `openRegistry` opens `registry:`
    /// references; without it they are refused.
    public func catalog(_ target: String, platform: ImagePlatform = .linuxAMD64,
                        openRegistry: (@Sendable (RegistryReference) throws -> any ImageSource)? = nil) async throws -> Inventory {
        if let image = try ImageReference.parse(target) ?? ImageReference.detect(path: target) {
            let source: any ImageSource
            if case .registry(let r) = image {
                guard let openRegistry else { throw ImageError(r.description, "registry images cannot be read here") }
                source = try openRegistry(r)
            } else {
                source = try ImageSources.open(image)
            }
            return try await catalog(image: source, platform: platform)
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: target, isDirectory: &isDir) else {
            throw InputError("target does not exist", at: Location(target))
        }
        let index = isDir.boolValue ? FileIndex(root: target, excludes: excludes, readBudget: readBudget) : FileIndex(singleFile: target, readBudget: readBudget)
        return await catalog(index: index, target: target, isDirectory: isDir.boolValue)
    }

    /// Reads the image's layers (keeping what the extractors need), then catalogs its root filesystem;
    /// every package's locations name the layer that put its file there.
    public func catalog(image source: any ImageSource, platform: ImagePlatform = .linuxAMD64) async throws -> Inventory {
        var timer = PhaseTimer(indent: 1)
        let budget = ReadBudget(total: readBudget)
        // Catalogued while the local layers' digests are still being checked; the inventory is handed
        // out only once they pass.
        return try await ImageReader(platform: platform, capture: imageCapture).read(source, budget: budget) { contents in
            timer.lap("read the image's layers, keeping \(budget.used >> 20) MiB of files")
            let index = FileIndex(image: ImageFileSource(filesystem: contents.filesystem, budget: budget), name: contents.info.name,
                                  excludes: excludes)
            var inv = await catalog(index: index, target: contents.info.reference, isDirectory: true, extraDiagnostics: contents.diagnostics)
            timer.lap("catalog the squashed root filesystem")
            inv.image = contents.info
            inv.image?.secretsInConfig = configSecrets?(contents.config, contents.info.reference) ?? []
            let layers = contents.info.layers
            let fs = contents.filesystem
            // A file many layers rewrote (dpkg's status) names, for each package, the first layer from
            // which every later version lists it: the layer that installed it, not the last to touch the file.
            var introduced: [String: [String: Int]] = [:]
            // The packages read at each path, found once: asked per path, a scan of every package made
            // attribution quadratic in the files many layers rewrote (a `chown -R` over site-packages).
            var packagesAt: [String: [Int]]?
            func firstLayer(of ref: String, in path: String, canonical: String, node: ImageNode) -> Int {
                if introduced[path] == nil {
                    var presence: [(layer: Int, refs: Set<String>)] = []
                    let names = Set((inv.sources[path] ?? "").split(separator: ",").map(String.init))
                    let chosen = extractors.filter { names.contains($0.name) }
                    let context = ExtractContext(mode: ScanMode(rawValue: inv.mode) ?? .installed, includeDev: includeDev, distro: inv.distro)
                    // Only the versions after the last one without bytes (one over the budget, or not
                    // read again): a package is not followed back past a version that cannot be read.
                    let readable = node.earlier.reversed().prefix { $0.content.bytes != nil }.reversed()
                    for version in readable {
                        guard let bytes = version.content.bytes, let file = index.file(path) else { continue }
                        // The scan's link budget: an earlier version's packages read their copyrights too.
                        var source = ImageFileSource(filesystem: fs, budget: ReadBudget(total: Int.max), linkNames: index.source.linkNames)
                        source.overrides = [PathKey(canonical): bytes]
                        let input = ExtractInput(file: IndexedFile(path: path, size: bytes.count, isExecutable: file.isExecutable),
                                                 index: index.reading(through: source), context: context)
                        var refs = Set<String>()
                        for e in chosen { for p in (try? e.extract(input))?.packages ?? [] { refs.insert(p.ref) } }
                        presence.append((version.layer, refs))
                    }
                    var first: [String: Int] = [:]
                    if packagesAt == nil {
                        var at: [String: [Int]] = [:]
                        for (i, p) in inv.packages.enumerated() {
                            for l in Set(p.locations.map(\.path)) { at[l, default: []].append(i) }
                        }
                        packagesAt = at
                    }
                    for i in packagesAt?[path] ?? [] {
                        let p = inv.packages[i]
                        var layer = node.layer
                        for v in presence.reversed() { if v.refs.contains(p.ref) { layer = v.layer } else { break } }
                        first[p.ref] = layer
                    }
                    introduced[path] = first
                }
                return introduced[path]?[ref] ?? node.layer
            }
            // Thousands of packages share a location (dpkg's status file): each path is resolved once.
            var resolvedAt: [String: (node: ImageNode, path: String)?] = [:]
            for i in inv.packages.indices {
                for j in inv.packages[i].locations.indices {
                    // The path the package was read at (a database reached through a link is read at its
                    // usual path), resolved to the file whose versions are compared.
                    let path = inv.packages[i].locations[j].path
                    if resolvedAt[path] == nil { resolvedAt[path] = .some(try? fs.resolve(path)) }
                    guard let (node, canonical) = resolvedAt[path] ?? nil else { continue }
                    let layer = node.earlier.isEmpty ? node.layer : firstLayer(of: inv.packages[i].ref, in: path, canonical: canonical, node: node)
                    if layer < layers.count { inv.packages[i].locations[j].layer = layers[layer].digest }
                }
            }
            for i in inv.configFiles?.indices ?? (0..<0) {
                if let (node, _) = try? fs.resolve(inv.configFiles![i].path), node.layer < layers.count {
                    inv.configFiles![i].layer = layers[node.layer].digest
                }
            }
            timer.lap("attribute packages to layers")
            return inv
        }
    }

    func catalog(index: FileIndex, target: String, isDirectory: Bool, extraDiagnostics: [Diagnostic] = []) async -> Inventory {
        var timer = PhaseTimer(indent: 2)
        let isDir = ObjCBool(isDirectory)
        // A package database a directory reaches through symbolic links (an image's is found while its
        // layers are read), before the scan mode is decided from what is found.
        let index = isDirectory ? index.addingLinkedPaths(extractors, excludes: excludes) : index
        let resolvedMode: ScanMode = mode == .auto ? (Self.looksInstalled(index) ? .installed : .source) : mode
        var distro: Distro?
        for p in isDir.boolValue ? OSRelease.paths : ["os-release"] {
            if let f = index.file(p),
               let data = try? index.source.read(f.path, limit: 1 << 20),
               let text = try? TextDecoding.string(data), let d = OSRelease.parse(text) {
                distro = d; break
            }
        }
        let context = ExtractContext(mode: resolvedMode, includeDev: includeDev, distro: distro)
        // Pair files with extractors once; a single-file target runs whichever extractor claims it.
        // Split over the cores (a root filesystem has tens of thousands of files, each asked of every
        // extractor); joined in worker order, so the jobs keep the index's order.
        let files = index.files, candidates = self.extractors.enumerated().filter { $0.element.modes.contains(resolvedMode) }
        // The width is read once: the core count follows the cgroup's CPU limit, which can change mid-scan.
        let width = Parallel.cores
        var shares = Parallel.map(width: width) { w -> [(Int, IndexedFile)] in
            var mine: [(Int, IndexedFile)] = []
            for f in files[Parallel.share(w, of: width, files.indices)] {
                let name = PathText.splitLast(f.path).name
                for (i, e) in candidates where e.wants(f, fileName: name) { mine.append((i, f)) }
            }
            return mine
        }
        var jobs = Parallel.joined(&shares)
        // Largest files first, so one big lockfile does not start last and leave a core idle.
        jobs.sort { a, b in
            if a.1.size != b.1.size { return a.1.size > b.1.size }
            if !a.1.path.utf8.elementsEqual(b.1.path.utf8) { return PathKey.byBytes(a.1.path, b.1.path) }
            return a.0 < b.0
        }
        timer.lap("pair \(index.files.count) files with extractors (\(jobs.count) jobs)")
        let extractors = self.extractors
        // An image holds its kept files in memory: those only their own jobs read are freed after them,
        // and the rest nothing reads again once every job is done.
        let ownJobFiles = (index.source as? ImageFileSource).map { image in
            OwnJobFiles(image, jobs: jobs.map { ($0.1.path, extractors[$0.0].readsItsOwnFileOnly) },
                        readBeside: { path in
                            let name = PathText.lastComponent(path)
                            return extractors.contains { $0.alsoReads(path, fileName: name) }
                        },
                        readAfterJobs: { [config] path in OSRelease.paths.contains(path) || config.selects(path) })
        }
        var results: [(IndexedFile, String, Extraction)] = []
        // A single file with an unusual name (`prod.lock`) is tried against every format.
        if !isDir.boolValue, jobs.isEmpty, let f = index.files.first {
            let input = ExtractInput(file: f, index: index, context: context)
            // The format that reads the file cleanly wins: fewest problems, then most packages.
            let tried = extractors.compactMap { e in (try? e.extract(input)).flatMap { $0.packages.isEmpty ? nil : (e, $0) } }
            if let (e, x) = tried.min(by: { ($0.1.diagnostics.count, -$0.1.packages.count) < ($1.1.diagnostics.count, -$1.1.packages.count) }) {
                results.append((f, e.name, x))
            } else {
                results.append((f, "", Extraction([], diagnostics: [Diagnostic(Location(f.path), "no extractor recognises this file", unscanned: .input)])))
            }
        }
        var jobTimes: [(name: String, nanoseconds: UInt64)] = []
        await withTaskGroup(of: (IndexedFile, String, Extraction, UInt64).self) { group in
            var next = 0
            let width = max(2, ProcessInfo.processInfo.activeProcessorCount)
            func add() {
                guard next < jobs.count else { return }
                let (ei, f) = jobs[next]; next += 1
                group.addTask {
                    let e = extractors[ei]
                    let input = ExtractInput(file: f, index: index, context: context)
                    let start = DispatchTime.now().uptimeNanoseconds
                    let x: Extraction
                    do { x = try e.extract(input) } catch {
                        let pe = error as? ParseError
                        let msg = pe?.message ?? "\(error)"
                        x = Extraction([], diagnostics: [Diagnostic(Location(f.path, line: pe?.line), "\(e.name): \(msg)", unscanned: .input)])
                    }
                    return (f, e.name, x, DispatchTime.now().uptimeNanoseconds - start)
                }
            }
            for _ in 0..<width { add() }
            while let (f, en, x, ns) = await group.next() {
                results.append((f, en, x))
                ownJobFiles?.finished(f.path)
                if timer.enabled { jobTimes.append(("\(en) \(f.path)", ns)) }
                add()
            }
        }
        let freedByJobs = ownJobFiles?.freedBytes ?? 0
        ownJobFiles?.allJobsDone()
        timer.lap("run the extractors" + (ownJobFiles.map { ", freeing \(freedByJobs >> 20) MiB of files read by their own jobs alone as they finished and \(($0.freedBytes - freedByJobs) >> 20) MiB after" } ?? ""))
        timer.slowest(jobTimes)
        var packages: [Package] = []
        var diagnostics = index.diagnostics + extraDiagnostics
        for f in index.files where Self.isUnreadDatabase(f.path) {
            diagnostics.append(Diagnostic(Location(f.path), "an RPM package database, which Provenant does not read: the packages it lists are not checked", unscanned: .input))
        }
        let links = index.source.linkNames
        if timer.enabled { timer.lap("walk \(links.used) names through symbolic links") }
        // Each file a spent budget kept from being read says so too; this says why there were many.
        if links.isSpent {
            diagnostics.append(Diagnostic(Location(Redactor.quote(target, max: 160)),
                                          "the scan walked its budget of \(links.total) names through symbolic links; files reached through further links were not read",
                                          unscanned: .input))
        }
        var sources: [String: String] = [:]
        // Tasks finish in any order; merging in path order keeps "first sighting wins" deterministic.
        results.sort { a, b in a.0.path.utf8.elementsEqual(b.0.path.utf8) ? a.1 < b.1 : PathKey.byBytes(a.0.path, b.0.path) }
        for (f, en, x) in results {
            // A package must have a name: `pkg:gem/@3.0` from a Gemfile.lock spec line `(3.0)` is no
            // purl any reader accepts (found by helper-107). Skipped, and said, once per file.
            let named = x.packages.filter { !$0.purl.name.isEmpty }
            if named.count < x.packages.count {
                diagnostics.append(Diagnostic(x.packages.first { $0.purl.name.isEmpty }?.locations.first ?? Location(f.path),
                                              "\(x.packages.count - named.count) package entr\(x.packages.count - named.count == 1 ? "y" : "ies") without a name, skipped",
                                              unscanned: .entry))
            }
            packages += named
            diagnostics += x.diagnostics
            if !named.isEmpty { sources[f.path] = sources[f.path].map { $0 + "," + en } ?? en }
        }
        Parallel.discard(consume results)
        PythonInstalledLinker.link(&packages)
        InputRedaction.scrub(&packages)
        timer.lap("link and redact \(packages.count) packages")
        // Only a source tree is a project; an installed root filesystem is named by its distro.
        var root = isDir.boolValue && resolvedMode == .source && index.directory != nil ? RootProjectDetector.detect(in: index) : nil
        if var r = root {
            r.name = Redactor.redactField(r.name)
            r.version = r.version.map(Redactor.redactField)
            r.purl = InputRedaction.scrub(r.purl)
            root = r
        }
        let configs = config.record(index)
        diagnostics += configs.diagnostics
        var inv = Inventory(target: target, mode: resolvedMode.rawValue, distro: distro,
                            packages: Self.merge(packages), diagnostics: diagnostics.uniqueSorted(), sources: sources,
                            rootProject: root)
        inv.configFiles = configs.files.isEmpty ? nil : configs.files
        timer.lap("merge into \(inv.packages.count) components")
        return inv
    }

    /// One component per purl: locations, digests and edges from every sighting are combined.
    public static func merge(_ packages: consuming [Package]) -> [Package] {
        // Sorted by ref computed once per package (`ref` is the rendered purl); packages with one ref
        // are then adjacent, in input order, and fold into the first. No dictionary of whole packages.
        let refs = packages.map(\.ref)
        let order = Parallel.sortedIndices(refs.count) { refs[$0] < refs[$1] || (refs[$0] == refs[$1] && $0 < $1) }
        // Nothing to fold or normalise (an SBOM read back, usually): put them in order, copying none.
        if zip(order, order.dropFirst()).allSatisfy({ refs[$0] != refs[$1] }),
           packages.allSatisfy({ $0.dependsOn.isEmpty && $0.locations.count < 2 && $0.digests.count < 2 && $0.files.count < 2 }) {
            var sorted = consume packages
            sorted.arrange(by: order)
            return sorted
        }
        let known: Set<String>? = packages.contains { !$0.dependsOn.isEmpty } ? Set(refs) : nil
        let input = consume packages
        // Folded on every core, in pieces cut where a ref's run starts, joined in order: one core
        // took 35 ms of the agent image's run for this, with the other idle.
        let pieces = order.count >= 4096 ? Parallel.pieces : 1
        var cuts = [0]
        for k in 1..<pieces {
            var c = max(cuts[k - 1], order.count * k / pieces)
            while c > 0, c < order.count, refs[order[c]] == refs[order[c - 1]] { c += 1 }
            cuts.append(c)
        }
        cuts.append(order.count)
        let bounds = cuts
        var folded = Parallel.map(width: pieces) { w in
            fold(input, order: order, refs: refs, known: known, bounds[w]..<bounds[w + 1])
        }
        // The sightings' lists (143,000 file records in the agent bench image) are freed elsewhere.
        Parallel.discard(consume input)
        return Parallel.joined(&folded)
    }

    /// The packages of `range` of `order`, each run of one ref folded into its first.
    private static func fold(_ packages: [Package], order: [Int], refs: [String], known: Set<String>?, _ range: Range<Int>) -> [Package] {
        var out: [Package] = []
        out.reserveCapacity(range.count)
        var i = range.lowerBound
        while i < range.upperBound {
            let ref = refs[order[i]]
            var m = packages[order[i]]
            var j = i + 1
            // Gathered here and sorted once: appended to the package's own list per copy, and sorted
            // per copy, 20,000 copies of one purl with their own scripts took 12 s (found by helper-233).
            var others: [String] = [], scripts: [String] = [], mergedScripts = false
            while j < range.upperBound, refs[order[j]] == ref {
                let p = packages[order[j]]
                m.locations += p.locations
                m.digests += p.digests
                m.dependsOn += p.dependsOn
                m.dependenciesKnown = m.dependenciesKnown || p.dependenciesKnown
                m.scope = min(m.scope, p.scope)
                if let d = p.isDirect { m.isDirect = (m.isDirect ?? false) || d }
                if m.licenses.isEmpty { m.licenses = p.licenses; m.licenseTexts = p.licenseTexts }
                m.supplier = m.supplier ?? p.supplier
                m.author = m.author ?? p.author
                m.description = m.description ?? p.description
                m.homepage = m.homepage ?? p.homepage
                m.files += p.files
                if let s = p.source {
                    if m.source == nil { m.source = s } else if s != m.source { others.append(s) }
                }
                if let more = p.otherSources { others += more }
                if let s = p.installScripts { scripts += s; mergedScripts = true }
                j += 1
            }
            if !others.isEmpty { m.otherSources = (m.otherSources ?? []) + others }
            if mergedScripts { m.installScripts = ((m.installScripts ?? []) + scripts).uniqueSorted() }
            // Most lists are empty or single: skip the work for them.
            if m.locations.count > 1 { m.locations = m.locations.uniqueSorted() }
            if m.digests.count > 1 { m.digests = m.digests.uniqueSorted() }
            if !m.dependsOn.isEmpty { m.dependsOn = m.dependsOn.filter { $0 != ref && known?.contains($0) == true }.uniqueSorted() }
            if m.files.count > 1 { m.files = m.files.uniqueSorted() }
            if let o = m.otherSources { m.otherSources = o.filter { $0 != m.source }.uniqueSorted(); if m.otherSources!.isEmpty { m.otherSources = nil } }
            out.append(m)
            i = j
        }
        return out
    }

}
