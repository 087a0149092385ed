import Crypto
import Foundation
import ProvenantCore
import Synchronization

/// One layer as the image describes it, and how to read it.
public struct LayerPlan: Sendable {
    public var index: Int
    /// What the layer's bytes are opened by: a path in a layout, or the digest in a registry.
    public var key: String
    /// The digest of the bytes as stored (compressed), checked while they stream; nil when the layout
    /// does not name one (old `docker save` archives), where `diffID` is checked instead.
    public var digest: String?
    /// The digest of the uncompressed tar, from the config.
    public var diffID: String?
    public var mediaType: String
    public var size: Int?
    public var createdBy: String?

    /// How errors and timings name the layer.
    var subject: String { "layer \(digest ?? diffID ?? key)" }
}

/// An image resolved to one manifest, its config and its layers, before any layer is read.
public struct ResolvedImage: Sendable {
    public var info: ImageInfo
    public var config: ImageConfig
    public var layers: [LayerPlan]
    /// Picked from an index by the platform the index gives it: the platform asked for was matched there.
    public var chosenByPlatform = false
}

/// What an SBOM and a policy say about the image itself. Environment values are never kept here.
public struct ImageInfo: Sendable, Codable, Equatable {
    public struct Layer: Sendable, Codable, Equatable {
        public var digest: String
        public var diffID: String?
        public var mediaType: String
        public var size: Int?
        public var createdBy: String?
    }
    /// The reference as given (redacted).
    public var reference: String
    /// The repository name: `host/path` for registry images, else the name the layout gives, else the file's.
    public var name: String
    public var tag: String?
    /// A `docker save` archive's other `RepoTags` (`docker load` applies every one): a `:latest` among
    /// them is judged as the first would be (found by helper-164).
    public var otherTags: [String] = []
    /// The manifest's digest; nil only for an old `docker save` archive, which holds no manifest.
    public var manifestDigest: String?
    /// The config's digest (Docker's image ID).
    public var imageID: String
    /// `host/repository` for images from a registry, for the purl's `repository_url`.
    public var repositoryURL: String?
    /// Whether the reference pinned a digest (a tag can be moved to other content).
    public var pinnedByDigest: Bool
    public var platform: String?
    public var user: String?
    public var exposedPorts: [String]
    public var entrypoint: [String]?
    public var cmd: [String]?
    public var workingDir: String?
    public var labels: [String: String]
    public var environmentNames: [String]
    public var layers: [Layer]
    /// Secrets found in the config's environment values or history, masked (never the value).
    public var secretsInConfig: [String] = []
    /// Platforms the index offered besides the one read: not looked at.
    public var otherPlatforms: [String] = []
    /// The index's attestation manifests, for `secrets scan` to read (`ImageSource.document`); never encoded.
    public var attestations: [ImageDescriptor] = []
    /// For the user, entrypoint, cmd and working directory whose text redaction changed: an HMAC of the
    /// text as the image gives it under a key made for this run and never kept, so `diff` of two images
    /// read in one run still sees a change that redacts to the same words, and nothing written lets
    /// anyone test a guess at the secret (a plain SHA-256 would). Keyed `user`, `entrypoint`, `cmd`,
    /// `working-dir`; and, whatever redaction did, `env:NAME` for each environment value and
    /// `healthcheck`, `shell` and `onbuild`, which no output carries. Never encoded; nil for an image
    /// read back from a document.
    public var redactedDigests: [String: String]?

    enum CodingKeys: String, CodingKey {
        case reference, name, tag, manifestDigest, imageID, repositoryURL, pinnedByDigest, platform, user, exposedPorts
        case entrypoint, cmd, workingDir, labels, environmentNames, layers, secretsInConfig, otherPlatforms
    }

    private static let runKey: [UInt8] = {
        var g = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &g) }
    }()
    static func keyedDigest(_ text: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: SymmetricKey(data: runKey)))
    }

    /// `pkg:oci/NAME@sha256:…?repository_url=…&tag=…`, the purl spec's OCI form.
    public var purl: PackageURL {
        let last = name.split(separator: "/").last.map(String.init) ?? name
        var q: [String: String] = [:]
        if let r = repositoryURL { q["repository_url"] = r }
        if let t = tag { q["tag"] = t }
        if let p = platform, let arch = p.split(separator: "/").dropFirst().first { q["arch"] = String(arch) }
        return PackageURL(type: "oci", name: last.lowercased(), version: manifestDigest ?? imageID, qualifiers: q)
    }
}

extension ImageInfo {
    /// An image as an SBOM of it tells, before its other facts are filled in: those it does not give
    /// stay empty.
    public init(reference: String, name: String, imageID: String) {
        self.init(reference: reference, name: name, tag: nil, manifestDigest: nil, imageID: imageID, repositoryURL: nil,
                  pinnedByDigest: false, platform: nil, user: nil, exposedPorts: [], entrypoint: nil, cmd: nil, workingDir: nil,
                  labels: [:], environmentNames: [], layers: [])
    }
}

/// Where an image's manifests and blobs come from.
public protocol ImageSource: Sendable {
    func resolve(platform: ImagePlatform) async throws -> ResolvedImage
    /// The layer's bytes as stored; the reader checks them against the plan's digests.
    func openLayer(_ layer: LayerPlan) async throws -> ByteStream
    /// Whether `openLayer` hands over bytes already checked against the plan's digest and size (a
    /// registry layer is hashed while it downloads): the reader then does not hash them again.
    var layersArriveVerified: Bool { get }
    /// Files of an image archive that are not part of the image and were not read (sorted).
    var unreadEntries: [String] { get }
    /// A manifest or blob the image's index names (an attestation's manifest and layers), checked
    /// against its digest, at most 4 MiB.
    func document(_ d: ImageDescriptor) async throws -> [UInt8]
    /// `text` (an error that may quote what the image's server sent) without the credentials this
    /// source holds or has sent: a registry may echo a password back in a document (helper-160).
    func withoutCredentials(_ text: String) -> String
    /// Gives `body` each part of an image archive that no file of it holds (see
    /// `ArchiveLayout.eachHidden`): what it is, at most `keep` of its bytes, and whether more were left.
    func eachHiddenArchivePart(keep: Int, _ body: (String, [UInt8], Bool) throws(ImageError) -> Void) throws(ImageError)
}

extension ImageSource {
    public var layersArriveVerified: Bool { false }
    public var unreadEntries: [String] { [] }
    public func document(_ d: ImageDescriptor) async throws -> [UInt8] { throw ImageError(d.digest, "is not readable from this kind of image") }
    public func withoutCredentials(_ text: String) -> String { text }
    public func eachHiddenArchivePart(keep: Int, _ body: (String, [UInt8], Bool) throws(ImageError) -> Void) throws(ImageError) {}
}

/// Which files of the image to keep in memory while the layers stream: those an extractor will read.
public struct ImageCapture: Sendable {
    public enum Rule: Sendable {
        /// `excluded`: streamed past, and the file is not listed (`--exclude`).
        case skip, keep, excluded
        /// Keep only if the bytes pass the check (a Go binary among all executables, say). The check
        /// sees them in a buffer the layer's read uses again; only kept files are copied out of it.
        case keepIf(@Sendable (UnsafeRawBufferPointer) -> Bool)

        var wantsBytes: Bool {
            switch self {
            case .skip, .excluded: false
            case .keep, .keepIf: true
            }
        }
    }
    public let rule: @Sendable (_ path: String, _ size: Int, _ executable: Bool) -> Rule
    /// Package databases reached through symbolic links (`LinkedPaths`), looked up once the layers are
    /// squashed; their bytes are then read, whatever `rule` said of their real paths.
    public var linked: (@Sendable (SquashedFileSystem) -> LinkedPaths.Found<ImageNode>)?
    /// Names of the database files `linked` may find (dpkg's `status`, apk's `installed`): the squash
    /// keeps the versions earlier layers wrote under these names even when nothing kept their bytes,
    /// so a database found through a link can be attributed layer by layer.
    public var linkedNames: Set<String>
    public init(_ rule: @escaping @Sendable (String, Int, Bool) -> Rule,
                linked: (@Sendable (SquashedFileSystem) -> LinkedPaths.Found<ImageNode>)? = nil, linkedNames: Set<String> = []) {
        self.rule = rule; self.linked = linked; self.linkedNames = linkedNames
    }
    public static let nothing = ImageCapture { _, _, _ in .skip }
}

/// An image read: its squashed root filesystem with the wanted files' bytes, and what it says of itself.
public struct ImageContents: Sendable {
    public var info: ImageInfo
    public var config: ImageConfig
    public var filesystem: SquashedFileSystem
    /// Files wanted but not kept, and other problems that did not stop the read.
    public var diagnostics: [Diagnostic]
    /// Files the image archive holds beside the image, which nothing read: not clean, not checked.
    public var unreadArchiveEntries: [String] = []
}

/// Reads an image: resolves the manifest for the platform, streams every layer through its digest
/// check, decompression and tar reader (two at a time, merged in order), and squashes them. Nothing is
/// written to disk; only the files `capture` keeps are held in memory.
public struct ImageReader: Sendable {
    public var platform: ImagePlatform
    /// Bytes all layers together may inflate to.
    public var inflateLimit: Int
    /// One file kept in memory may be at most this large.
    public var maxFileBytes: Int
    public var capture: ImageCapture
    /// Sees every regular file of every layer as it streams (the secret scan): the layer's index, the
    /// file's path and a reader of its bytes. Files it sees are not also captured. Called from the
    /// layer tasks at once, so it must be safe to call concurrently.
    public var inspect: (@Sendable (_ layer: Int, _ path: String, _ size: Int, _ data: LayerFileReader) throws(ImageError) -> Void)?
    /// Sees the bytes of a layer no file of it holds, beside `inspect` (the secret scan): its extended
    /// headers (pax records, long names), the data of its whiteout entries, and what follows the
    /// tar's end (`cut` when only the first part is given). `what` names them: the entry's path, with
    /// what they are in parentheses. Called concurrently, as `inspect` is.
    public var inspectHidden: (@Sendable (_ layer: Int, _ what: String, _ bytes: [UInt8], _ cut: Bool) throws(ImageError) -> Void)?

    public static let defaultInflateLimit = 64 << 30

    public init(platform: ImagePlatform = .linuxAMD64, inflateLimit: Int = ImageReader.defaultInflateLimit,
                maxFileBytes: Int = ExtractInput.maxBytes, capture: ImageCapture = .nothing) {
        self.platform = platform; self.inflateLimit = inflateLimit; self.maxFileBytes = maxFileBytes; self.capture = capture
    }

    /// Reads the image; returns once every layer's bytes have been checked against their digests.
    public func read(_ source: any ImageSource, budget: ReadBudget) async throws -> ImageContents {
        try await read(source, budget: budget) { $0 }
    }

    /// Reads the image and runs `body` on it while the digests of its local layers are still being
    /// checked (`LayerDigestChecks`); `body`'s result is returned only once every check has passed.
    /// When a check fails, its error is thrown in place of the result, or of `body`'s own error: a
    /// layer that does not have its digest is the cause of whatever else went wrong reading it. So
    /// `body` must not act on the image, only compute from it.
    public func read<T: Sendable>(_ source: any ImageSource, budget: ReadBudget,
                                  during body: (ImageContents) async throws -> T) async throws -> T {
        let checks = LayerDigestChecks(width: Parallel.cores)
        let result: T
        do {
            let contents = try await readLayers(source, budget: budget, checks: checks)
            result = try await body(contents)
            Parallel.discard(consume contents)
        } catch let decided as DecidedFailure {
            throw decided.error
        } catch {
            if let failure = await checks.firstFailure() { throw failure }
            throw error
        }
        var timer = PhaseTimer(indent: 2)
        if let failure = await checks.allPassed() { throw failure }
        timer.lap("wait for the layers' digest checks")
        timer.slowest(checks.timings)
        return result
    }

    func readLayers(_ source: any ImageSource, budget: ReadBudget, checks: LayerDigestChecks) async throws -> ImageContents {
        var timer = PhaseTimer(indent: 2)
        let resolved = try await source.resolve(platform: platform)
        timer.lap("resolve the manifest and config")
        // An image an index did not pick by its platform is read whatever its platform, unless one was
        // asked for: then its config must say that one.
        if platform.requested, !resolved.chosenByPlatform {
            let subject = resolved.info.manifestDigest ?? resolved.info.imageID
            // A config is required to name its os and architecture; one that does not cannot be matched.
            guard let said = resolved.config.platform, let p = ImagePlatform(said) else {
                throw ImageError(subject, "names no platform in its config that can be matched, so it cannot be told to be \(platform) as --platform asks")
            }
            // A config without a variant (most arm images) is taken for any variant of its architecture.
            let (want, have) = (platform.normalized, p.normalized)
            let fits = p.variant == nil ? (want.os == have.os && want.architecture == have.architecture) : platform.rank(p) != nil
            if !fits {
                throw ImageError(subject, "is an image for \(Redactor.quote(said, max: 80)), not for \(platform) as --platform asks")
            }
        }
        guard !resolved.layers.isEmpty else {
            throw ImageError(resolved.info.manifestDigest ?? resolved.info.imageID, "is a manifest without layers; there is no root filesystem to read")
        }
        let inflated = SharedInflateBudget(limit: inflateLimit)
        let fs = SquashedFileSystem()
        if capture.linked != nil { fs.historyNames = capture.linkedNames }
        var trees: [Int: ImageNode] = [:]
        var next = 0
        let width = max(2, ProcessInfo.processInfo.activeProcessorCount)
        let capture = self.capture, maxFileBytes = self.maxFileBytes, inspect = self.inspect, inspectHidden = self.inspectHidden
        let arriveVerified = source.layersArriveVerified
        // Layers are read two at a time but merged, and their errors reported, in order: when several
        // layers are bad, the lowest one's error is the one said, whichever task failed first.
        try await withThrowingTaskGroup(of: (Int, Result<ImageNode, any Error>).self) { group in
            var started = 0
            var failures: [Int: any Error] = [:]
            func start() {
                guard started < resolved.layers.count, failures.keys.allSatisfy({ started < $0 }) else { return }
                let plan = resolved.layers[started]
                started += 1
                group.addTask {
                    do {
                        var layerTimer = PhaseTimer(indent: 2)
                        let raw = try await source.openLayer(plan)
                        let links = LinkedBytes()
                        let tree = try Self.readLayer(plan, raw, arrivedVerified: arriveVerified, checks: checks, capture: capture,
                                                      maxFileBytes: maxFileBytes, inflated: inflated, budget: budget, inspect: inspect,
                                                      inspectHidden: inspectHidden, linkedBytes: links)
                        layerTimer.lap("layer \(plan.index)" + (plan.size.map { " (\($0 >> 20) MiB)" } ?? ""))
                        if !links.wanted.isEmpty {
                            try Self.fill(links, plan, try await source.openLayer(plan), arrivedVerified: arriveVerified,
                                          maxFileBytes: maxFileBytes, inflateLimit: inflated.limit, budget: budget)
                            layerTimer.lap("layer \(plan.index) again, for \(links.wanted.count) files wanted under a hard link's name")
                        }
                        return (plan.index, .success(tree))
                    } catch {
                        return (plan.index, .failure(error))
                    }
                }
            }
            for _ in 0..<width { start() }
            while let (i, result) = try await group.next() {
                switch result {
                case .success(let tree): trees[i] = tree
                case .failure(let error): failures[i] = error
                }
                // Merge in order as soon as the next layer is ready, so finished layers free their trees.
                while true {
                    if let error = failures[next] {
                        // A lower layer that has not its digest, or this one, is the cause to report.
                        group.cancelAll()
                        checks.stop(above: next)
                        if let failure = await checks.firstFailure(upTo: next) { throw DecidedFailure(error: failure) }
                        throw DecidedFailure(error: error)
                    }
                    guard let t = trees.removeValue(forKey: next) else { break }
                    do throws(ImageError) {
                        let subject = resolved.layers[next].subject
                        try fs.apply(t) { "\(subject) entry '\(Redactor.quote($0, max: 160))'" }
                    } catch {
                        group.cancelAll()
                        checks.stop(above: next)
                        if let failure = await checks.firstFailure(upTo: next) { throw DecidedFailure(error: failure) }
                        throw DecidedFailure(error: error)
                    }
                    next += 1
                }
                start()
            }
        }
        timer.lap("read and merge \(resolved.layers.count) layers")
        fs.freeze()
        try fs.checkLinks()
        timer.lap("check links")
        var diagnostics: [Diagnostic] = []
        // A package database reached only through symbolic links: its bytes went by under a name nothing
        // wanted, so its layer is read again for them, as for a hard link.
        if inspect == nil, let linked = capture.linked {
            let found = linked(fs)
            /// Whether `c` is read again with `links` (bytes not kept, nor refused).
            func wants(_ c: FileContent?, _ links: LinkedBytes) -> Bool {
                guard let c, c.bytes == nil, c.refusal == nil, let entry = c.entry else { return false }
                links.want(entry, c, .keep)
                return true
            }
            // The databases themselves first: the budget goes to what is read before what only
            // attributes it.
            var refills: [Int: LinkedBytes] = [:]
            for alias in found.aliases {
                let links = refills[alias.item.layer] ?? LinkedBytes()
                if wants(alias.item.content, links) { refills[alias.item.layer] = links }
            }
            for layer in refills.keys.sorted() {
                guard let plan = resolved.layers.first(where: { $0.index == layer }), let wanted = refills[layer] else { continue }
                try Self.fill(wanted, plan, try await source.openLayer(plan), arrivedVerified: arriveVerified,
                              maxFileBytes: maxFileBytes, inflateLimit: inflated.limit, budget: budget)
            }
            // Then their earlier versions, so each package names the layer that added it, as a database
            // read at its own path does (`Cataloger`'s attribution): layer by layer from the newest, a
            // file's versions stopping at the first one not read (attribution goes no further back),
            // and none once the budget is spent.
            var stopped = Set<Int>()
            var readAgain = refills.count
            let earlierLayers = Set(found.aliases.flatMap { $0.item.earlier.map(\.layer) }).sorted(by: >)
            for layer in earlierLayers {
                guard budget.used < budget.total else { break }
                guard let plan = resolved.layers.first(where: { $0.index == layer }) else { continue }
                let links = LinkedBytes()
                var asked: [(alias: Int, content: FileContent)] = []
                for (i, alias) in found.aliases.enumerated() where !stopped.contains(i) && alias.item.content?.bytes != nil {
                    for version in alias.item.earlier where version.layer == layer && wants(version.content, links) {
                        asked.append((i, version.content))
                    }
                }
                guard !asked.isEmpty else { continue }
                readAgain += 1
                try Self.fill(links, plan, try await source.openLayer(plan), arrivedVerified: arriveVerified,
                              maxFileBytes: maxFileBytes, inflateLimit: inflated.limit, budget: budget)
                for (i, content) in asked where content.bytes == nil && stopped.insert(i).inserted {
                    diagnostics.append(Diagnostic(Location(Redactor.quote(found.aliases[i].path, max: 160)),
                        "its packages are attributed to layers from \(layer + 1) on: the version layer \(layer) wrote was not read (\(content.refusal ?? "not found again"))"))
                }
            }
            fs.aliases = found.aliases.map { ImageFile(path: $0.path, node: $0.item) }
            diagnostics += found.dangling.map(LinkedPaths.notRead)
            diagnostics += found.unlisted.map { LinkedPaths.notListed($0, links: FileIndex.maxLinkedEntryLinks) }
            timer.lap("look up \(found.aliases.count) package databases through links" + (readAgain == 0 ? "" : ", reading layers again \(readAgain) times"))
        }
        fs.walk { path, node in
            if let why = node.content?.refusal { diagnostics.append(Diagnostic(Location(path), "not read: \(why)", unscanned: .input)) }
        }
        let extra = source.unreadEntries
        if !extra.isEmpty {
            let shown = extra.prefix(5).map { Redactor.quote($0, max: 120) }.joined(separator: ", ") + (extra.count > 5 ? " and \(extra.count - 5) more" : "")
            diagnostics.append(Diagnostic(Location(resolved.info.reference),
                                          "the archive also holds \(extra.count) file\(extra.count == 1 ? "" : "s") outside the image, not read: \(shown)",
                                          unscanned: .input))
        }
        return ImageContents(info: resolved.info, config: resolved.config, filesystem: fs, diagnostics: diagnostics, unreadArchiveEntries: extra)
    }

    /// Bytes no file holds that the secret scan is given whole, at most: what is held is not streamed.
    public static let hiddenBytesKept = 64 << 20

    /// What an entry's data is when no runtime writes it as a file: a whiteout's, or an entry type's
    /// that is no file (a volume label, a multi-volume part); nil for data that is a file's, or none.
    static func hiddenData(_ h: TarHeader, _ parts: [Substring]) -> String? {
        switch h.kind {
        case .file: parts.last?.hasPrefix(".wh.") == true ? "whiteout data" : nil
        case .other(let type): StreamingTar.isHeaderOnly(type) ? nil : "data of a tar entry that is not a file"
        default: nil
        }
    }

    /// Gives `inspect` the extended headers the tar read before an entry (named `prefix`) or before its
    /// end, and says when some were read past.
    static func passHeaders(_ tar: StreamingTar, _ prefix: String, _ layer: Int, _ inspect: (Int, String, [UInt8], Bool) throws(ImageError) -> Void,
                            atEnd: Bool = false) throws(ImageError) {
        let end = atEnd ? " at the layer's end" : ""
        for meta in tar.extendedHeaders { try inspect(layer, prefix + "(tar extended header\(end))", meta, false) }
        if tar.extendedHeadersCut { try inspect(layer, prefix + "(tar extended headers\(end))", [], true) }
    }

    /// Streams one layer into its own tree. Its digests are checked at the end of the stream, or, for a
    /// local layer when `checks` is given, by `checks` beside it; either way a layer that fails them
    /// fails the read even though its entries were seen.
    static func readLayer(_ plan: LayerPlan, _ raw: ByteStream, arrivedVerified: Bool = false, checks: LayerDigestChecks? = nil,
                          capture: ImageCapture, maxFileBytes: Int, inflated: SharedInflateBudget, budget: ReadBudget,
                          inspect: (@Sendable (Int, String, Int, LayerFileReader) throws(ImageError) -> Void)? = nil,
                          inspectHidden: (@Sendable (Int, String, [UInt8], Bool) throws(ImageError) -> Void)? = nil,
                          linkedBytes: LinkedBytes? = nil, refill: LinkedBytes? = nil) throws(ImageError) -> ImageNode {
        let subject = plan.subject
        // A local layer (a range of a file) whose file can be held (`LayerDigestChecks.hold`, before
        // any read of it) is hashed beside the reading, from the file: what the tar reader skips is
        // then stepped over, never read.
        var side: (checks: LayerDigestChecks, local: SharedRangeStream, hold: LayerDigestChecks.Hold)?
        if let checks, !arrivedVerified, let local = raw as? SharedRangeStream, let hold = checks.hold(local) { side = (checks, local, hold) }
        var stream: ByteStream = side.map { SeekingRangeStream($0.local) } ?? raw
        // Whether work is left in the stream for a thread of its own (hashing, inflating).
        var busy = false
        if let d = plan.digest, !arrivedVerified {
            if let side {
                try side.checks.add(layer: plan.index, side.local, side.hold, expected: d, expectedSize: plan.size, name: subject)
            } else {
                // A large layer in a file is read on one thread and hashed on another.
                if raw is SharedRangeStream, (plan.size ?? Int.max) > 4 << 20 { stream = PrefetchingStream(stream) }
                stream = try DigestingStream(stream, expected: d, size: plan.size, name: subject)
                busy = true
            }
        }
        let compression: LayerCompression
        if let c = MediaType.layerCompression(plan.mediaType) {
            compression = c
        } else if plan.mediaType.isEmpty || plan.mediaType == "application/octet-stream" {
            var head = [UInt8](repeating: 0, count: 4)
            let n = try withBytes(&head) { (b) throws(ImageError) -> Int in try stream.readFully(into: b) }
            head.removeLast(4 - n)
            compression = LayerCompression.sniff(head[...])
            stream = PeekedStream(stream, head: head)
        } else {
            throw ImageError(subject, "has media type '\(Redactor.quote(plan.mediaType, max: 120))', which is not an image layer this reader supports")
        }
        let inflateBudget = InflatedBytes(shared: inflated)
        var gzip: GzipStream?, zstd: ZstdStream?
        switch compression {
        case .none: break
        case .gzip:
            let g = try GzipStream(stream, name: subject, budget: inflateBudget, keepingHidden: inspectHidden == nil ? nil : Self.hiddenBytesKept)
            gzip = g
            stream = g
        case .zstd:
            let z = try ZstdStream(stream, name: subject, budget: inflateBudget, keepingHidden: inspectHidden == nil ? nil : Self.hiddenBytesKept)
            zstd = z
            stream = z
        }
        if let diffID = plan.diffID {
            if compression == .none, let d = plan.digest {
                // Uncompressed, the stored bytes are the tar: its digest must be the config's diff ID.
                guard d == diffID else { throw ImageError(subject, "is an uncompressed layer whose digest is not the config's diff ID \(diffID)") }
            } else if compression == .none, plan.digest == nil, let side {
                // A classic `docker save` layer names no digest of its own; uncompressed, its diff ID is
                // the digest of its stored bytes, checked beside the reading.
                try side.checks.add(layer: plan.index, side.local, side.hold, expected: diffID, expectedSize: plan.size, name: subject)
            } else {
                // The config names the uncompressed tar too (containerd checks it); so does this reader.
                stream = try DigestingStream(stream, expected: diffID, name: subject + " (uncompressed)")
                busy = true
            }
        } else if plan.digest == nil {
            throw ImageError(subject, "has neither a digest nor a diff ID to check it against; refused")
        }
        // A large layer is hashed and inflated a few chunks ahead on a thread of its own.
        if busy || compression != .none, (plan.size ?? Int.max) > 4 << 20 { stream = PrefetchingStream(stream) }
        let tar = StreamingTar(stream, name: subject)
        tar.keepsExtendedHeaders = inspectHidden != nil
        var builder = LayerBuilder(index: plan.index) { "\(subject) entry '\(Redactor.quote($0, max: 160))'" }
        builder.takeNode = { inflated.takeEntry() == nil }
        var ordinal = -1   // of the entry in the layer's tar, headers that only extend the next one aside
        let screen = ScreeningBuffer()
        while let h = try tar.next() {
            ordinal += 1
            switch inflated.takeEntry(names: h.name.utf8.count + h.linkName.utf8.count) {
            case .entries?: throw ImageError(subject, "brings the image past \(SharedInflateBudget.maxEntries) entries in all its layers; stopped")
            case .names?: throw ImageError(subject, "brings the image past \(SharedInflateBudget.maxNameBytes >> 20) MiB of entry names in all its layers; stopped")
            case nil: break
            }
            let parts = try SquashedFileSystem.components(of: h.name, entry: builder.entryName(h.name))
            var content: FileContent?
            if let inspectHidden {
                try Self.passHeaders(tar, parts.joined(separator: "/") + " ", plan.index, inspectHidden)
                if tar.unusedFields.bytes.count >= 1 << 20 {
                    let fields = tar.takeUnusedFields()
                    try inspectHidden(plan.index, "(tar header fields no runtime reads)", fields.bytes, fields.cut)
                }
            }
            if let inspect, h.kind == .file, let last = parts.last, !last.hasPrefix(".wh.") {
                try inspect(plan.index, parts.joined(separator: "/"), h.size, LayerFileReader(tar: tar, entry: ordinal))
            } else if let inspectHidden, h.size > 0, let what = Self.hiddenData(h, parts) {
                // Data no runtime writes as a file, but in the layer. One too large to hold is said to be
                // cut, with nothing of it.
                let fits = h.size <= Self.hiddenBytesKept
                try inspectHidden(plan.index, parts.joined(separator: "/") + " (\(what))", fits ? try tar.readData(limit: h.size) : [], !fits)
            } else if h.kind == .file, let last = parts.last, !last.hasPrefix(".wh.") {
                let path = parts.joined(separator: "/")
                // Read again for the entries hard links wanted: those entries alone, whatever their names.
                let rule = refill.map { $0.wanted[ordinal]?.rule ?? .skip } ?? capture.rule(path, h.size, h.mode & 0o111 != 0)
                if case .excluded = rule {
                    // Left out by --exclude at the path its layer wrote: not listed either, wherever the
                    // squash puts it (a parent the layer did not list may resolve through a link).
                    content = FileContent(nil)
                    content?.excluded = true
                } else if !rule.wantsBytes {
                    // Streamed past.
                } else if h.size > maxFileBytes {
                    content = FileContent(nil, refusal: "\(h.size) bytes, over the \(maxFileBytes >> 20) MiB a file may be")
                } else if case .keepIf(let check) = rule {
                    // Screened first: only a file that is kept draws on the read budget, as a directory
                    // scan's look into an executable does not either.
                    switch try screen.screen(tar, size: h.size, limit: maxFileBytes, check: check, budget: budget) {
                    case .out:
                        content = FileContent(nil)
                        content?.screenedOut = true
                    case .kept(let bytes): content = FileContent(bytes)
                    case .overBudget: content = Self.overBudget(budget)
                    }
                } else {
                    content = budget.take(h.size) ? FileContent(try tar.readData(limit: maxFileBytes)) : Self.overBudget(budget)
                }
            }
            if h.kind == .file {
                // Which entry holds the bytes: for a hard link that wants them after they went by, and
                // for telling which files of a layer are still in the image under any of their names.
                if content == nil { content = FileContent(nil) }
                content?.entry = ordinal
                if let refill, refill.wanted[ordinal] != nil, let content { refill.read[ordinal] = content }
            }
            try builder.add(h, components: parts, content: content)
            // A link whose name is wanted, to a file whose own name was not: its bytes were streamed past
            // before the link said they were wanted.
            if h.kind == .hardLink, inspect == nil, let linkedBytes,
               let n = SquashedFileSystem.lookupLiteral(parts, in: builder.top), let c = n.content,
               c.bytes == nil, c.refusal == nil, !c.screenedOut, let entry = c.entry {
                let rule = capture.rule(parts.joined(separator: "/"), n.size, n.mode & 0o111 != 0)
                if rule.wantsBytes { linkedBytes.want(entry, c, rule) }
            }
        }
        if let inspectHidden {
            try Self.passHeaders(tar, "", plan.index, inspectHidden, atEnd: true)
            if let after = try tar.trailingBytes(keep: Self.hiddenBytesKept) {
                try inspectHidden(plan.index, "(bytes after the layer's end of archive)", after.bytes, after.more)
            }
            if !tar.padding.isEmpty {
                try inspectHidden(plan.index, "(tar padding after the layer's entries)", tar.padding.bytes, tar.padding.cut)
            }
            let fields = tar.takeUnusedFields()
            if !fields.isEmpty { try inspectHidden(plan.index, "(tar header fields no runtime reads)", fields.bytes, fields.cut) }
            // The compressed stream's own: read to its end above, so all of it is known here.
            if let hidden = gzip?.hidden {
                if !hidden.headers.isEmpty {
                    try inspectHidden(plan.index, "(gzip header of the layer)", hidden.headers.bytes, hidden.headers.cut)
                }
                if let trailing = hidden.trailing, !trailing.isEmpty {
                    try inspectHidden(plan.index, "(bytes after the layer's gzip stream)", trailing.bytes, trailing.cut)
                }
            }
            if let frames = zstd?.skippableFrames, !frames.isEmpty {
                try inspectHidden(plan.index, "(zstd skippable frames of the layer)", frames.bytes, frames.cut)
            }
        } else {
            try tar.drain()
        }
        return builder.top
    }
}

/// Files of one layer wanted only under a hard link's name, found after their bytes went by: by the
/// tar entry that holds the bytes (not its path, which a later entry of the layer may reuse for other
/// bytes), the content all their names share and the rule the link's name gave.
final class LinkedBytes {
    private(set) var wanted: [Int: (content: FileContent, rule: ImageCapture.Rule)] = [:]
    /// What the second read kept of those entries.
    var read: [Int: FileContent] = [:]

    func want(_ entry: Int, _ content: FileContent, _ rule: ImageCapture.Rule) {
        // A plain keep wins over a kept-if-it-passes from another name.
        if let known = wanted[entry], case .keep = known.rule { return }
        wanted[entry] = (content, rule)
    }
}

extension ImageReader {
    /// Reads the layer again (its digest checked inline) for the files only a hard link's name wanted,
    /// and gives their bytes (or why they were not kept) to the content every name of each shares. Rare:
    /// a package database or metadata file installed as a hard link to a file no extractor knows by name
    /// (uv links site-packages to its cache, which a layer may store first).
    static func fill(_ links: LinkedBytes, _ plan: LayerPlan, _ raw: ByteStream, arrivedVerified: Bool,
                     maxFileBytes: Int, inflateLimit: Int, budget: ReadBudget) throws(ImageError) {
        _ = try readLayer(plan, raw, arrivedVerified: arrivedVerified, capture: .nothing, maxFileBytes: maxFileBytes,
                          inflated: SharedInflateBudget(limit: inflateLimit), budget: budget, refill: links)
        for (entry, link) in links.wanted {
            let again = links.read[entry]
            link.content.bytes = again?.bytes
            link.content.screenedOut = again?.screenedOut ?? false
            // Wanted under another name, which no exclude left out: listed there.
            link.content.excluded = false
            link.content.refusal = again?.bytes == nil && again?.screenedOut != true
                ? again?.refusal ?? "the layer, read again for it, no longer held it" : nil
        }
    }

    static func overBudget(_ budget: ReadBudget) -> FileContent {
        FileContent(nil, refusal: "the scan has read its budget of \(budget.total >> 20) MiB")
    }
}

/// A layer's failure that stopped the read, already weighed against the digest checks of the layers
/// up to it; the checks of the layers above it were stopped, so they are not weighed again.
struct DecidedFailure: Error { let error: any Error }

/// The inflate budget of one image, shared by the layers read at once.
final class SharedInflateBudget: Sendable {
    let limit: Int
    /// Bytes inflated by all the layers; bytes fed to and inflated by ratio-limited streams alone.
    let used = Mutex((inflated: 0, fed: 0, ratioInflated: 0))
    /// Nodes taken, and bytes of entry names and link targets: one lock for both, taken once per entry.
    let counts = Mutex((entries: 0, names: 0))
    /// Nodes (entries, and the directories their paths make) all the layers of one image may hold.
    static let maxEntries = 2_000_000
    /// Deflate cannot inflate more than about 1,032 bytes per compressed byte; zstd can, by far (64 GiB
    /// of zeros fit in a few MiB). A zstd layer is held to deflate's ratio past a first allowance, so a
    /// bomb costs what a gzip layer of its size could, not a minute and more within `limit`.
    static let maxRatio = 1_032
    static let ratioAllowance = 1 << 30
    /// Bytes of entry names and link targets all the layers may hold: they are kept for the whole run,
    /// and 300,000 names of 4,000 bytes took 1.3 GB (found by helper-164). A real image of two million
    /// files with 80-byte paths needs 160 MB.
    static let maxNameBytes = 256 << 20
    init(limit: Int) { self.limit = limit }
    enum EntryRefusal { case entries, names }
    /// Takes a node and `names` bytes of names; which limit it passed, if any.
    func takeEntry(names bytes: Int = 0) -> EntryRefusal? {
        counts.withLock { c in
            c.entries += 1; c.names += bytes
            return c.entries > Self.maxEntries ? .entries : c.names > Self.maxNameBytes ? .names : nil
        }
    }
    /// Counts compressed bytes read by a ratio-limited stream.
    func fed(_ n: Int) { used.withLock { u in u.fed = u.fed.addingReportingOverflow(n).overflow ? Int.max : u.fed + n } }
    enum Refusal { case limit, ratio }
    /// Takes `n` inflated bytes; `ratioLimited` streams are also held to `maxRatio` over what they were fed.
    func take(_ n: Int, ratioLimited: Bool = false) -> Refusal? {
        used.withLock { u in
            let (sum, o) = u.inflated.addingReportingOverflow(n)
            guard !o, sum <= limit else { return .limit }
            if ratioLimited {
                let (scaled, so) = u.fed.multipliedReportingOverflow(by: Self.maxRatio)
                let (allowed, ao) = scaled.addingReportingOverflow(Self.ratioAllowance)
                let (ratioSum, ro) = u.ratioInflated.addingReportingOverflow(n)
                if ro || (!so && !ao && ratioSum > allowed) { return .ratio }
                u.ratioInflated = ratioSum
            }
            u.inflated = sum
            return nil
        }
    }
}

/// The bytes of one file inside a layer as it streams past: read what is needed; the rest is skipped.
public struct LayerFileReader {
    let tar: StreamingTar
    /// The file's tar entry in its layer (the count of entries before it): what the squashed image's
    /// nodes name as `FileContent.entry`, under every name a hard link gave the file.
    public let entry: Int
    /// Reads up to `buffer.count` bytes of the file; 0 at its end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int { try tar.readData(into: buffer) }
    /// Appends up to `max` bytes to `buffer`; the count appended, 0 at the file's end.
    public func read(appendingTo buffer: inout [UInt8], max: Int) throws(ImageError) -> Int {
        let start = buffer.count
        buffer += [UInt8](repeating: 0, count: max)
        let n = try withBytes(&buffer) { (b) throws(ImageError) -> Int in
            try tar.readData(into: UnsafeMutableRawBufferPointer(rebasing: b[start...]))
        }
        buffer.removeLast(max - n)
        return n
    }
}

/// The buffer a layer's read screens files in (`ImageCapture.Rule.keepIf`): most executables are not
/// kept, and a fresh array for each was zeroed, faulted in and freed again. It grows to the largest
/// file screened so far, up to `kept` bytes; a larger file is read into an array of its own, kept as
/// it is when it passes.
final class ScreeningBuffer {
    private var buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    static let kept = 16 << 20
    deinit { buffer.deallocate() }

    enum Outcome { case out, kept([UInt8]), overBudget }

    /// Reads the current entry's data, all `size` bytes of it (at most `limit`), and asks `check` of
    /// them; bytes that pass are copied out when `budget` has room for them.
    func screen(_ tar: StreamingTar, size: Int, limit: Int, check: (UnsafeRawBufferPointer) -> Bool,
                budget: ReadBudget) throws(ImageError) -> Outcome {
        if size > Self.kept {
            let own = try tar.readData(limit: limit)
            guard own.withUnsafeBytes(check) else { return .out }
            return budget.take(size) ? .kept(own) : .overBudget
        }
        if size > buffer.count {
            buffer.deallocate()
            buffer = .allocate(byteCount: size, alignment: 64)
        }
        let got = try tar.readData(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<size]))
        guard got == size else { throw ImageError(tar.name, "ends inside a file's data (truncated layer)") }
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[..<size])
        guard check(bytes) else { return .out }
        return budget.take(size) ? .kept([UInt8](bytes)) : .overBudget
    }
}
