import Catalog
import Foundation
import ProvenantCore
import Synchronization

extension SecretsScanner {
    /// Scans an image: its config (every environment value and history step, where build-time secrets
    /// leak) and every regular file of every layer as the layers stream, including files a later layer
    /// deletes or replaces, which are still in the image for anyone who pulls it. Findings are named
    /// `IMAGE!path` with the layer's digest. Bytes of a layer that no file holds are scanned too: its
    /// tar extended headers (pax records such as `comment=`), its whiteouts' data and what follows its
    /// tar's end, all shipped to whoever pulls it. Nothing is unpacked to disk.
    public func scanImage(_ source: any ImageSource, display: String, platform: ImagePlatform = .linuxAMD64,
                          inflateLimit: Int = ImageReader.defaultInflateLimit) async throws -> SecretsScanResult {
        // Findings of the layers, and beside each (same index) the layer, image path and tar entry it came
        // from; no entry for bytes no file of the image holds.
        let shared = Mutex((result: SecretsScanResult(), origins: [(layer: Int, path: String, entry: Int?)]()))
        let scanner = self
        let excludes = ExcludeFilter(options.excludes)
        var reader = ImageReader(platform: platform, inflateLimit: inflateLimit)
        reader.inspect = { layer, path, size, data throws(ImageError) in
            if excludes.excludes(path) { return }
            var part = SecretsScanResult()
            try scanner.scanLayerFile(data, size: size, display: "\(display)!\(path)", into: &part)
            // Counts too: a skipped binary was dropped with its part, and an image always said
            // "0 binary skipped" (Left undone last stop).
            if !part.isEmpty {
                shared.withLock { s in
                    s.result.merge(part)
                    s.origins += repeatElement((layer: layer, path: path, entry: Optional(data.entry)), count: part.findings.count)
                }
            }
        }
        reader.inspectHidden = { layer, what, bytes, cut throws(ImageError) in
            let part = scanner.scanHiddenPart("\(display)!\(what)", bytes, cut: cut)
            if !part.isEmpty {
                shared.withLock { s in
                    s.result.merge(part)
                    s.origins += repeatElement((layer: layer, path: what, entry: nil), count: part.findings.count)
                }
            }
        }
        let contents = try await reader.read(source, budget: ReadBudget(total: Int.max))
        var (result, origins) = shared.withLock { $0 }
        let layers = contents.info.layers
        // Where each layer's files are in the squashed image, by layer and tar entry: a file is still
        // there under its own name, or under another name its layer linked it as, only when the node
        // at that name holds that very entry.
        var live: [Int: [Int: [String]]] = [:]
        if !origins.isEmpty {
            contents.filesystem.walk { path, node in
                if node.isRegularFile, let e = node.content?.entry { live[node.layer, default: [:]][e, default: []].append(path) }
            }
        }
        for (i, origin) in origins.enumerated() where origin.layer < layers.count {
            result.findings[i].layer = layers[origin.layer].digest
            guard let entry = origin.entry else { continue }
            let names = live[origin.layer]?[entry] ?? []
            guard let still = names.contains(origin.path) ? origin.path : names.min() else {
                result.findings[i].removedLater = true
                continue
            }
            if still != origin.path {
                let was = shownPath("\(display)!\(origin.path)")
                if result.findings[i].path.hasPrefix(was) {
                    result.findings[i].path = shownPath("\(display)!\(still)") + result.findings[i].path.dropFirst(was.count)
                }
            }
        }
        // The archive's own bytes that no file holds: its extended headers, entries that are no file,
        // what follows its end (Left undone, helper-169). They belong to no layer.
        try source.eachHiddenArchivePart(keep: ImageReader.hiddenBytesKept) { (what, bytes, cut) throws(ImageError) in
            result.merge(scanHiddenPart("\(display)!\(what)", bytes, cut: cut))
        }
        scanConfig(contents.config, display: display, into: &result)
        await scanAttestations(source, contents.info.attestations, display: display, into: &result)
        if !contents.info.otherPlatforms.isEmpty {
            // The other platforms' layers were not read: not clean, not checked.
            result.partial += 1
            result.warnings.append("\(display): NOT CHECKED: the index also holds \(contents.info.otherPlatforms.joined(separator: ", ")); only \(contents.info.platform ?? "one platform") was scanned (use --platform for each)")
        }
        if !contents.unreadArchiveEntries.isEmpty {
            // Bytes beside the image in its archive: nothing scanned them.
            result.partial += 1
            let d = contents.diagnostics.first { $0.message.hasPrefix("the archive also holds") }
            result.warnings.append("\(display): NOT CHECKED: \(d?.message ?? "the archive holds files outside the image")")
        }
        result.findings.sort(by: SecretFinding.order)
        result.warnings.sort()
        return result
    }

    /// Bytes no file holds, named `shown` as what they are: scanned whole, even when they look binary,
    /// and NOT CHECKED past what was kept of them.
    func scanHiddenPart(_ name: String, _ bytes: [UInt8], cut: Bool) -> SecretsScanResult {
        var part = SecretsScanResult()
        var budget = InflateBudget(options.archiveLimits, archiveSize: bytes.count)
        // Scanned first under no name: naming a part runs the engine over its name, which cost most of
        // a scan of a hundred thousand small parts, and most parts hold nothing. Only counts are kept
        // of that pass; a part with anything to say is scanned again under its name.
        if !cut {
            scanHidden(bytes, display: "", depth: -1, budget: &budget, into: &part)
            if part.findings.isEmpty && part.warnings.isEmpty && part.partial == 0 && part.unreadable == 0 { return part }
            part = SecretsScanResult()
            budget = InflateBudget(options.archiveLimits, archiveSize: bytes.count)
        }
        let shown = shownPath(name)
        scanHidden(bytes, display: shown, depth: -1, budget: &budget, into: &part)
        if cut {
            part.partial += 1
            part.warnings.append(bytes.isEmpty ? "\(shown): over the limit, not read; not checked"
                                               : "\(shown): only the first \(bytes.count >> 20) MiB scanned; the rest is not checked")
        }
        return part
    }

    /// The index's attestation manifests: BuildKit's provenance (`mode=max`) records build arguments,
    /// `GITHUB_TOKEN=…` among them, and `secrets scan` passed an image holding one as clean (found by
    /// helper-140). Each statement layer is scanned as text, and a DSSE envelope's payload decoded
    /// too; what cannot be read is NOT CHECKED.
    /// Each blob is read once, and at most `maxAttestationBlobs` of them and `maxAttestationBytes` in
    /// all: a manifest listing one blob thousands of times held a scan for minutes (helper-143).
    func scanAttestations(_ source: any ImageSource, _ attestations: [ImageDescriptor], display: String, into result: inout SecretsScanResult) async {
        var seen = Set<String>()
        var blobs = 0, bytesRead = 0
        func notChecked(_ shown: String, _ why: String) {
            result.partial += 1
            result.warnings.append("\(shownPath(shown)): NOT CHECKED: \(why)")
        }
        for a in attestations where seen.insert(a.digest).inserted {
            let shown = "\(display)!attestation \(a.digest)"
            do {
                let manifest = try ImageManifest(try await source.document(a), subject: a.digest)
                for layer in manifest.layers where seen.insert(layer.digest).inserted {
                    blobs += 1
                    guard blobs <= Self.maxAttestationBlobs, bytesRead <= Self.maxAttestationBytes - layer.size else {
                        notChecked(shown, "more attestation blobs than the \(Self.maxAttestationBlobs) (\(Self.maxAttestationBytes >> 20) MiB) read; the rest are not scanned")
                        return
                    }
                    let bytes = try await source.document(layer)
                    bytesRead += bytes.count
                    // As a file of the same bytes: a gzipped statement is opened.
                    result.merge(scanPayload(bytes, display: shown))
                    // A signed statement is base64 (or base64url) in a DSSE envelope's payload.
                    if let v = try? JSONParser.parse(bytes), case .string(let payload)? = v["payload"], let decoded = Self.base64(payload) {
                        result.merge(scanPayload(decoded, display: shown + " (payload)"))
                    }
                }
            } catch {
                // The registry's own words may quote what it was sent (helper-160).
                notChecked(shown, "the attestation could not be read: \(shownPath(source.withoutCredentials(String(describing: error))))")
            }
        }
    }

    static let maxAttestationBlobs = 256
    static let maxAttestationBytes = 64 << 20

    /// Standard or URL-safe base64, padded or not (DSSE allows either alphabet).
    static func base64(_ s: String) -> [UInt8]? {
        var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while t.utf8.count % 4 != 0 { t += "=" }
        return Data(base64Encoded: t).map(Array.init)
    }

    /// An image config's environment values (named, never printed), history commands and comments,
    /// labels, entrypoint, cmd, user, working directory, health check, shell and `ONBUILD` triggers, and
    /// the manifest's annotations: where build-time secrets leak (`ENV TOKEN=…`,
    /// `RUN curl -H "Authorization: …"`, `LABEL deploy-key=…`).
    public func scanConfig(_ config: ImageConfig, display: String, into result: inout SecretsScanResult) {
        for pair in config.environment {
            let name = pair.firstIndex(of: "=").map { String(pair[..<$0]) } ?? pair
            scanBytes(Array(pair.utf8), display: "\(display) (config Env \(Redactor.quote(name, max: 80)))", into: &result)
        }
        for (i, h) in config.history.enumerated() where !h.createdBy.isEmpty {
            scanBytes(Array(h.createdBy.utf8), display: "\(display) (config history step \(i))", into: &result)
        }
        for k in config.labels.keys.sorted() {
            scanBytes(Array("\(k)=\(config.labels[k] ?? "")".utf8), display: "\(display) (config label \(Redactor.quote(k, max: 80)))", into: &result)
        }
        for (what, words) in [("Entrypoint", config.entrypoint), ("Cmd", config.cmd)] {
            if let words { scanBytes(Array(words.joined(separator: " ").utf8), display: "\(display) (config \(what))", into: &result) }
        }
        for (what, value) in [("User", config.user), ("WorkingDir", config.workingDir)] {
            if let value, !value.isEmpty { scanBytes(Array(value.utf8), display: "\(display) (config \(what))", into: &result) }
        }
        for (what, words) in [("Healthcheck", config.healthcheck), ("Shell", config.shell)] {
            if let words, !words.isEmpty { scanBytes(Array(words.joined(separator: " ").utf8), display: "\(display) (config \(what))", into: &result) }
        }
        for (i, trigger) in (config.onBuild ?? []).enumerated() {
            scanBytes(Array(trigger.utf8), display: "\(display) (config OnBuild \(i))", into: &result)
        }
        for (i, comment) in (config.historyComments ?? []).enumerated() where !comment.isEmpty {
            scanBytes(Array(comment.utf8), display: "\(display) (config history comment \(i))", into: &result)
        }
        let annotations = config.manifestAnnotations ?? [:]
        for k in annotations.keys.sorted() {
            scanBytes(Array("\(k)=\(annotations[k] ?? "")".utf8), display: "\(display) (manifest annotation \(Redactor.quote(k, max: 80)))", into: &result)
        }
    }

    /// A binary layer file up to this size is read whole to look for a zip behind a prefix; a larger
    /// one keeps only its last 64 KiB for that look.
    static let wholeBinaryLimit = 64 << 20

    /// One file of a layer, judged as a file on disk is (`scanFile`): archives (up to the archive limit)
    /// opened, a zip behind a prefix opened from its end, compressed formats no reader opens and
    /// archives too large to open NOT CHECKED, binary files skipped, and text streamed through the
    /// engine in chunks. In a layer all four of these passed clean (found by helper-132).
    func scanLayerFile(_ data: LayerFileReader, size: Int, display: String, into result: inout SecretsScanResult) throws(ImageError) {
        var head: [UInt8] = []
        while head.count < 8192, try data.read(appendingTo: &head, max: 8192 - head.count) > 0 {}
        if Self.isArchive(head) {
            guard size <= options.maxArchiveBytes else {
                result.tooLargeToOpen(shownPath(display), limit: options.maxArchiveBytes)
                return try streamText(head, data, display: display, into: &result)
            }
            var all = head
            while try data.read(appendingTo: &all, max: 1 << 20) > 0 {}
            var budget = InflateBudget(options.archiveLimits, archiveSize: all.count)
            scanArchive(all, display: shownPath(display), depth: 0, budget: &budget, into: &result)
            return
        }
        if !Self.readsAsUTF16(head) {
            if let format = Self.unopenedCompression(head) {
                result.notOpened(shownPath(display), format: format)
                return
            }
            let binary = Self.isBinary(head)
            if binary || (Self.mayHaveZipBehind(head) && size <= Self.wholeBinaryLimit) {
                // Read on to see whether a zip's directory ends it (a zipapp, a self-extractor).
                var all = head, whole = true
                while try data.read(appendingTo: &all, max: 1 << 20) > 0 {
                    if all.count > Self.wholeBinaryLimit { whole = false; all.removeFirst(all.count - (22 + 0xFFFF)) }
                }
                if ZipArchive.endRecordOffset(Array(all.suffix(22 + 0xFFFF))) != nil {
                    guard whole, all.count <= options.maxArchiveBytes else {
                        result.partial += 1
                        result.warnings.append("\(shownPath(display)): a zip behind a prefix, larger than \(Self.wholeBinaryLimit >> 20) MiB; not opened, so what it holds is not checked")
                        return
                    }
                    var budget = InflateBudget(options.archiveLimits, archiveSize: all.count)
                    scanArchive(all, display: shownPath(display), depth: 0, budget: &budget, into: &result)
                    return
                }
                if binary { result.skippedBinary += 1; return }
                return scanBytes(all, display: shownPath(display), into: &result)
            }
        }
        try streamText(head, data, display: display, into: &result)
    }

    private func streamText(_ head: [UInt8], _ data: LayerFileReader, display: String,
                            into result: inout SecretsScanResult) throws(ImageError) {
        try scanStream(head: head, display: shownPath(display), into: &result) { (buffer: inout [UInt8], max: Int) throws(ImageError) -> Int in
            try data.read(appendingTo: &buffer, max: max)
        }
    }
}
