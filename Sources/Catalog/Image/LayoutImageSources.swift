import Foundation
import ProvenantCore

/// Manifests, indexes and configs are small; anything larger is refused, not parsed.
let maxDocumentBytes = 4 << 20
/// Docker stops at 127 layers; an image of more than this many is refused, not read.
let maxLayers = 1000

/// An OCI image layout, in a directory or inside an archive: `index.json` is read, the manifest for the
/// platform chosen (through nested indexes), and every document checked against its digest.
struct LayoutImageSource: ImageSource {
    let files: any LayoutFiles
    let reference: String
    let tag: String?
    let fallbackName: String

    func blob(_ d: ImageDescriptor) throws(ImageError) -> [UInt8] {
        guard d.size <= maxDocumentBytes else { throw ImageError(d.digest, "is \(d.size) bytes, over the \(maxDocumentBytes >> 10) KiB a manifest or config may be") }
        let path = "blobs/sha256/" + d.digest.dropFirst(7)
        let (raw, _) = try files.open(path)
        let checked = try DigestingStream(raw, expected: d.digest, size: d.size, name: files.subject(path))
        return try checked.readAll(limit: maxDocumentBytes, name: files.subject(path))
    }

    func resolve(platform: ImagePlatform) async throws -> ResolvedImage {
        guard files.has("oci-layout") else { throw ImageError(files.displayName, "is not an OCI image layout (no oci-layout file)") }
        let indexSubject = files.subject("index.json")
        var index = try ImageIndex(try files.read("index.json", limit: maxDocumentBytes), subject: indexSubject)
        var chosen = try index.select(platform, tag: tag, subject: indexSubject)
        let refName = chosen.annotations["io.containerd.image.name"] ?? chosen.annotations["org.opencontainers.image.ref.name"]
        // The digest the recorded name is annotated on: the manifest, or the index it was pulled by (an
        // index's name may also pin the manifest chosen from it).
        let annotated = chosen.digest
        var depth = 0
        var others = index.otherPlatforms(than: chosen)
        var attestations = index.attestations
        while MediaType.isIndex(chosen.mediaType) {
            depth += 1
            guard depth <= 4 else { throw ImageError(chosen.digest, "is an index nested more than 4 deep; refused") }
            index = try ImageIndex(try blob(chosen), subject: chosen.digest)
            chosen = try index.select(platform, tag: nil, subject: chosen.digest)
            others += index.otherPlatforms(than: chosen)
            attestations += index.attestations
        }
        guard MediaType.isManifest(chosen.mediaType) || chosen.mediaType.isEmpty else {
            throw ImageError(chosen.digest, "has media type '\(Redactor.quote(chosen.mediaType, max: 120))', not an image manifest this reader supports")
        }
        let manifest = try ImageManifest(try blob(chosen), subject: chosen.digest)
        let named = refName.flatMap { $0.contains("/") || $0.contains(":") ? RegistryReference($0) : nil }
        // A recorded name with `@sha256:` (containerd records the reference an image was pulled by) pins it,
        // when that digest is the one the name is annotated on: any other pins content this is not.
        // A recorded full name gives its tag only when it says one (not Docker's default `latest`).
        // A recorded digest that is not that one is kept whole as the tag, so the policy can say so.
        let foreignPin = named?.digest != nil && named?.digest != annotated && named?.digest != chosen.digest
        let recordedTag = foreignPin ? refName : named.map { $0.tagWasGiven ? $0.tag : nil } ?? refName ?? tag
        var resolved = try ResolvedImage.make(reference: reference, manifest: manifest, manifestDigest: chosen.digest,
                                              config: try blob(manifest.config), named: named,
                                              tag: recordedTag, fallbackName: fallbackName, pinned: named?.digest != nil && !foreignPin,
                                              layerKey: { "blobs/sha256/" + $0.digest.dropFirst(7) })
        resolved.info.otherPlatforms = Array(Set(others)).sorted()
        resolved.info.attestations = attestations
        resolved.chosenByPlatform = chosen.platform != nil
        return resolved
    }

    func document(_ d: ImageDescriptor) async throws -> [UInt8] { try blob(d) }

    func openLayer(_ layer: LayerPlan) async throws -> ByteStream { try files.open(layer.key).stream }
    var unreadEntries: [String] { files.unreadEntries }
    func eachHiddenArchivePart(keep: Int, _ body: (String, [UInt8], Bool) throws(ImageError) -> Void) throws(ImageError) {
        try files.eachHidden(keep: keep, body)
    }
}

/// `docker save` output of the classic kind: `manifest.json` naming a config file and layer tars,
/// whose digests are the config's diff IDs. (Docker 25 and later also write an OCI layout, read by
/// `LayoutImageSource` instead.)
struct DockerArchiveSource: ImageSource {
    let files: ArchiveLayout
    let reference: String
    let fallbackName: String

    func resolve(platform: ImagePlatform) async throws -> ResolvedImage {
        let subject = files.subject("manifest.json")
        let v: JSONValue
        do { v = try JSONParser.parse(try files.read("manifest.json", limit: maxDocumentBytes)) } catch let e as ImageError { throw e } catch {
            throw ImageError(subject, "is not valid JSON: \(error)")
        }
        guard let entries = v.arrayValue, let first = entries.first else { throw ImageError(subject, "lists no image") }
        guard entries.count == 1 else { throw ImageError(subject, "lists \(entries.count) images; save one image per archive") }
        guard let configPath = first[goField: "Config"]?.stringValue else { throw ImageError(subject, "names no config") }
        guard let layerPaths = try ImageJSON.strings(first[goField: "Layers"], "Layers", subject: subject), !layerPaths.isEmpty else { throw ImageError(subject, "is a manifest without layers") }
        guard layerPaths.count <= maxLayers else { throw ImageError(subject, "lists \(layerPaths.count) layers, more than the \(maxLayers) this reader takes") }
        let configBytes = try files.read(configPath, limit: maxDocumentBytes)
        let imageID = FileDigest.sha256(configBytes)
        // The config's file is named by its digest; a name that says otherwise is a tampered archive.
        let stem = configPath.split(separator: "/").last.map { String($0.hasSuffix(".json") ? $0.dropLast(5) : $0) } ?? ""
        if ImageDigest.isHex64(stem), stem != imageID.value {
            throw ImageError(files.subject(configPath), "has digest sha256:\(imageID.value), not the sha256:\(stem) it is named by")
        }
        let repoTag = first[goField: "RepoTags"]?.arrayValue?.first?.stringValue
        let tagged = repoTag.flatMap(RegistryReference.init)
        let config = try ImageConfig(configBytes, subject: files.subject(configPath))
        guard config.diffIDs.count == layerPaths.count else {
            throw ImageError(subject, "lists \(layerPaths.count) layers but the config has \(config.diffIDs.count) diff IDs")
        }
        let createdBy = config.createdBy(layerCount: layerPaths.count)
        let layers = layerPaths.enumerated().map { i, p in
            let hex = p.hasPrefix("blobs/sha256/") ? String(p.dropFirst(13)) : ""
            return LayerPlan(index: i, key: p, digest: ImageDigest.isHex64(hex) ? "sha256:" + hex : nil, diffID: config.diffIDs[i],
                             mediaType: "", size: nil, createdBy: createdBy[i])
        }
        var manifestDigest: String?
        if files.has("oci-layout") && files.has("index.json"),
           let oci = try? await LayoutImageSource(files: files, reference: reference, tag: nil, fallbackName: fallbackName).resolve(platform: platform),
           oci.info.imageID == "sha256:" + imageID.value, oci.config.diffIDs == config.diffIDs {
            manifestDigest = oci.info.manifestDigest
        }
        // A recorded digest pins nothing here (the archive holds no manifest it could be checked against,
        // or another one): the whole name is kept as the tag, so the policy says so.
        let foreignPin = tagged?.digest != nil && tagged?.digest != manifestDigest
        var info = ImageInfo.make(reference: reference, named: tagged, tag: foreignPin ? repoTag : tagged?.tag, fallbackName: fallbackName,
                                  manifestDigest: manifestDigest, imageID: "sha256:" + imageID.value,
                                  pinned: tagged?.digest != nil && !foreignPin, config: config, layers: layers)
        info.otherTags = (first[goField: "RepoTags"]?.arrayValue ?? []).dropFirst().compactMap(\.stringValue)
        return ResolvedImage(info: info, config: config, layers: layers)
    }

    func openLayer(_ layer: LayerPlan) async throws -> ByteStream { try files.open(layer.key).stream }
    var unreadEntries: [String] { files.unreadEntries }
    func eachHiddenArchivePart(keep: Int, _ body: (String, [UInt8], Bool) throws(ImageError) -> Void) throws(ImageError) {
        try files.eachHidden(keep: keep, body)
    }
}

extension ResolvedImage {
    static func make(reference: String, manifest: ImageManifest, manifestDigest: String, config configBytes: [UInt8],
                     named: RegistryReference?, tag: String?, fallbackName: String, pinned: Bool,
                     layerKey: (ImageDescriptor) -> String) throws(ImageError) -> ResolvedImage {
        let configTypes = [MediaType.ociConfig, MediaType.dockerConfig, ""]
        guard configTypes.contains(manifest.config.mediaType) else {
            throw ImageError(manifest.config.digest, "has media type '\(Redactor.quote(manifest.config.mediaType, max: 120))', not an image config; this manifest is not a container image")
        }
        var config = try ImageConfig(configBytes, subject: manifest.config.digest)
        config.manifestAnnotations = manifest.annotations
        guard !manifest.layers.isEmpty else { throw ImageError(manifestDigest, "is a manifest without layers; there is no root filesystem to read") }
        guard manifest.layers.count <= maxLayers else { throw ImageError(manifestDigest, "lists \(manifest.layers.count) layers, more than the \(maxLayers) this reader takes") }
        guard config.diffIDs.count == manifest.layers.count else {
            throw ImageError(manifestDigest, "has \(manifest.layers.count) layers but its config has \(config.diffIDs.count) diff IDs")
        }
        let createdBy = config.createdBy(layerCount: manifest.layers.count)
        var layers: [LayerPlan] = []
        for (i, d) in manifest.layers.enumerated() {
            guard MediaType.layerCompression(d.mediaType) != nil else {
                throw ImageError(d.digest, "has media type '\(Redactor.quote(d.mediaType, max: 120))', which is not an image layer this reader supports")
            }
            layers.append(LayerPlan(index: i, key: layerKey(d), digest: d.digest, diffID: config.diffIDs[i],
                                    mediaType: d.mediaType, size: d.size, createdBy: createdBy[i]))
        }
        let info = ImageInfo.make(reference: reference, named: named, tag: tag, fallbackName: fallbackName,
                                  manifestDigest: manifestDigest, imageID: manifest.config.digest, pinned: pinned,
                                  config: config, layers: layers)
        return ResolvedImage(info: info, config: config, layers: layers)
    }
}

extension ImageInfo {
    static func make(reference: String, named: RegistryReference?, tag: String?, fallbackName: String,
                     manifestDigest: String?, imageID: String, pinned: Bool, config: ImageConfig, layers: [LayerPlan]) -> ImageInfo {
        let name = named.map { $0.host == "docker.io" ? $0.repository : $0.host + "/" + $0.repository } ?? fallbackName
        // Everything taken from the image's own documents is redacted here, once (`InputRedaction.scrub`,
        // as for facts read back from a document), so no output of these facts (SBOM properties, the
        // JSON inventory, policy findings) can carry a secret they hold.
        let r = Redactor.redact
        let args = Redactor.redactArguments
        var digests: [String: String] = [:]
        func words(_ w: [String]) -> String { JSONValue.array(w.map { .string($0) }).serialized(pretty: false) }
        for (key, raw, changed) in [("user", config.user, config.user.map { r($0) != $0 }),
                                    ("entrypoint", config.entrypoint.map(words), config.entrypoint.map { args($0) != $0 }),
                                    ("cmd", config.cmd.map(words), config.cmd.map { args($0) != $0 }),
                                    ("working-dir", config.workingDir, config.workingDir.map { r($0) != $0 })] {
            if let raw, changed == true { digests[key] = ImageInfo.keyedDigest(raw) }
        }
        // What no output carries, compared only by these digests: the environment values (every value
        // of a name, in order: a process's getenv reads the first, a shell keeps the last; found by
        // review), the health check, the shell and the ONBUILD triggers.
        var values: [String: [String]] = [:]
        for pair in config.environment {
            let eq = pair.firstIndex(of: "=") ?? pair.endIndex
            values[String(pair[..<eq]), default: []].append(eq < pair.endIndex ? String(pair[pair.index(after: eq)...]) : "")
        }
        for (name, v) in values { digests["env:" + name] = ImageInfo.keyedDigest(v.joined(separator: "\u{0}")) }
        for (key, raw) in [("healthcheck", config.healthcheck), ("shell", config.shell), ("onbuild", config.onBuild)] {
            if let raw { digests[key] = ImageInfo.keyedDigest(words(raw)) }
        }
        var info = InputRedaction.scrub(ImageInfo(reference: reference, name: name, tag: tag, manifestDigest: manifestDigest, imageID: imageID,
                         repositoryURL: named.map { $0.host + "/" + $0.repository }, pinnedByDigest: pinned,
                         platform: config.platform, user: config.user, exposedPorts: config.exposedPorts,
                         entrypoint: config.entrypoint, cmd: config.cmd, workingDir: config.workingDir,
                         labels: config.labels, environmentNames: config.environmentNames,
                         layers: layers.map { Layer(digest: $0.digest ?? $0.diffID ?? "", diffID: $0.diffID, mediaType: $0.mediaType,
                                                    size: $0.size, createdBy: $0.createdBy) }))
        // Present, if empty, for every image read in this run: `diff` tells "read here" by it.
        info.redactedDigests = digests
        return info
    }
}

public enum ImageSources {
    /// The source for a local reference; registries are opened by `RegistryImageSource`.
    public static func open(_ reference: ImageReference) throws(ImageError) -> any ImageSource {
        func stem(_ path: String) -> String {
            var n = PathText.lastComponent(path)
            for ext in [".tar", ".oci", ".tgz"] where n.hasSuffix(ext) { n = String(n.dropLast(ext.count)) }
            return n.isEmpty ? "image" : n.lowercased()
        }
        switch reference {
        case .ociDirectory(let path, let tag):
            var st = stat()
            guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { throw ImageError(Redactor.quote(path, max: 160), "is not a directory") }
            return LayoutImageSource(files: DirectoryLayout(path: path), reference: reference.description, tag: tag, fallbackName: stem(path))
        case .ociArchive(let path, let tag):
            return LayoutImageSource(files: try ArchiveLayout(path: path), reference: reference.description, tag: tag, fallbackName: stem(path))
        case .dockerArchive(let path):
            let files = try ArchiveLayout(path: path)
            // `docker load` and skopeo read manifest.json; an OCI layout beside it (Docker 25 and later)
            // only lends the manifest's digest when it describes the very same image.
            guard files.has("manifest.json") else {
                if files.has("oci-layout") && files.has("index.json") {
                    return LayoutImageSource(files: files, reference: reference.description, tag: nil, fallbackName: stem(path))
                }
                throw ImageError(files.displayName, "is not a docker archive (no manifest.json)")
            }
            return DockerArchiveSource(files: files, reference: reference.description, fallbackName: stem(path))
        case .registry(let r):
            throw ImageError(r.description, "registry images are opened with RegistryImageSource")
        }
    }
}
