import ProvenantCore

/// `os/arch[/variant]`, as `--platform` and image indexes spell it.
public struct ImagePlatform: Sendable, Equatable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?
    /// Asked for by the user (`--platform`), not the default: an image of one platform that is not
    /// this one is then refused rather than read.
    public var requested = false

    public static func == (a: ImagePlatform, b: ImagePlatform) -> Bool {
        a.os == b.os && a.architecture == b.architecture && a.variant == b.variant
    }

    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os; self.architecture = architecture; self.variant = variant
    }

    public init?(_ text: String) {
        let p = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(p.count), p.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 > 32 && $0 < 127 } }) else { return nil }
        // Docker and containerd spell platforms in lower case, and accept any case.
        os = p[0].lowercased(); architecture = p[1].lowercased(); variant = p.count == 3 ? p[2].lowercased() : nil
    }

    public static let linuxAMD64 = ImagePlatform(os: "linux", architecture: "amd64")

    /// `--platform`'s value: linux/amd64 when it was not given, otherwise the platform it names, marked
    /// as asked for; nil when it names none.
    public static func option(_ text: String?) -> ImagePlatform? {
        guard let text else { return .linuxAMD64 }
        var p = ImagePlatform(text)
        p?.requested = true
        return p
    }

    public var description: String { variant.map { "\(os)/\(architecture)/\($0)" } ?? "\(os)/\(architecture)" }

    /// The platform as containerd normalises it, so that any spelling of one platform compares equal:
    /// lower case; architecture aliases (`x86_64`, `aarch64`, `armhf`, `armel`, `i386`); and each
    /// architecture's default variant spelled out (amd64 is v1, arm64 v8, arm v7).
    public var normalized: ImagePlatform {
        var os = os.lowercased(), arch = architecture.lowercased(), v = variant?.lowercased() ?? ""
        if os == "macos" { os = "darwin" }
        switch arch {
        case "x86_64", "x86-64", "amd64":
            arch = "amd64"; if v.isEmpty { v = "v1" }
        case "aarch64", "arm64":
            arch = "arm64"; if ["", "8", "v8.0"].contains(v) { v = "v8" }
        case "armhf": arch = "arm"; v = "v7"
        case "armel": arch = "arm"; v = "v6"
        case "arm":
            if v.isEmpty { v = "v7" } else if ["5", "6", "7", "8"].contains(v) { v = "v" + v }
        case "i386": arch = "386"
        default: break
        }
        var p = ImagePlatform(os: os, architecture: arch, variant: v.isEmpty ? nil : v)
        p.requested = requested
        return p
    }

    /// How well an image for `other` serves this platform: nil when it cannot run here, otherwise
    /// lower is better, 0 being the same platform. As containerd matches, a variant serves its own
    /// and every earlier one of its architecture (an amd64/v3 machine runs v2 and v1 images, not v4);
    /// variants that are not numbered must be equal.
    public func rank(_ other: ImagePlatform) -> Int? {
        let w = normalized, c = other.normalized
        guard w.os == c.os, w.architecture == c.architecture else { return nil }
        if w.variant == c.variant { return 0 }
        guard let wv = w.variant.flatMap(Self.variantNumber), let cv = c.variant.flatMap(Self.variantNumber), cv < wv else { return nil }
        return wv - cv
    }

    /// `v3` as 300, `v8.2` as 802; nil for any other spelling.
    static func variantNumber(_ v: String) -> Int? {
        guard v.hasPrefix("v") else { return nil }
        let parts = v.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ (1...3).contains($0.count) && $0.allSatisfy(\.isASCII) }),
              let major = Int(parts[0]), let minor = parts.count == 2 ? Int(parts[1]) : 0, major >= 0, minor >= 0, minor < 100 else { return nil }
        return major * 100 + minor
    }
}

/// A content descriptor: what a manifest or index says about a blob it points to.
public struct ImageDescriptor: Sendable, Equatable {
    public var mediaType: String
    public var digest: String
    public var size: Int
    public var platform: ImagePlatform?
    public var annotations: [String: String]
    public var artifactType: String?

    init(mediaType: String, digest: String, size: Int, platform: ImagePlatform? = nil, annotations: [String: String] = [:], artifactType: String? = nil) {
        self.mediaType = mediaType; self.digest = digest; self.size = size
        self.platform = platform; self.annotations = annotations; self.artifactType = artifactType
    }

    init(_ v: JSONValue, subject: String) throws(ImageError) {
        guard let d = v[goField: "digest"]?.stringValue else { throw ImageError(subject, "has a descriptor without a digest") }
        guard ImageDigest.isSHA256(d) else {
            throw ImageError(subject, "names blob '\(Redactor.quote(d, max: 80))', which is not a sha256 digest")
        }
        guard case .int(let size)? = v[goField: "size"], size >= 0 else { throw ImageError(subject, "has a descriptor for \(d) without a size") }
        digest = d
        self.size = size
        mediaType = v[goField: "mediaType"]?.stringValue ?? ""
        artifactType = v[goField: "artifactType"]?.stringValue
        annotations = ImageJSON.stringMap(v[goField: "annotations"])
        if let p = v[goField: "platform"], let os = p[goField: "os"]?.stringValue, let arch = p[goField: "architecture"]?.stringValue {
            platform = ImagePlatform(os: os, architecture: arch, variant: p[goField: "variant"]?.stringValue)
        } else {
            platform = nil
        }
    }
}

public enum MediaType {
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let dockerList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let sigstoreBundle = "application/vnd.dev.sigstore.bundle.v0.3+json"

    public static func isIndex(_ t: String) -> Bool { t == ociIndex || t == dockerList }
    public static func isManifest(_ t: String) -> Bool { t == ociManifest || t == dockerManifest }

    /// The compression a layer media type names, or nil for a type that is not an image layer.
    public static func layerCompression(_ t: String) -> LayerCompression? {
        switch t {
        case "application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.nondistributable.v1.tar",
             "application/vnd.docker.image.rootfs.diff.tar":
            return LayerCompression.none
        case "application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
             "application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":
            return .gzip
        case "application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd":
            return .zstd
        default: return nil
        }
    }
}

/// An image manifest: its config and its layers, bottom first.
public struct ImageManifest: Sendable {
    public var mediaType: String
    public var config: ImageDescriptor
    public var layers: [ImageDescriptor]
    public var subject: ImageDescriptor?
    public var artifactType: String?
    public var annotations: [String: String]

    public init(_ bytes: [UInt8], subject name: String) throws(ImageError) {
        let v = try ImageJSON.parse(bytes, subject: name)
        mediaType = v[goField: "mediaType"]?.stringValue ?? MediaType.ociManifest
        guard case .int(2)? = v[goField: "schemaVersion"] else { throw ImageError(name, "is not a schema 2 image manifest") }
        guard let c = v[goField: "config"] else { throw ImageError(name, "is a manifest without a config") }
        config = try ImageDescriptor(c, subject: name)
        guard let ls = v[goField: "layers"]?.arrayValue else { throw ImageError(name, "is a manifest without layers") }
        layers = []
        for l in ls { layers.append(try ImageDescriptor(l, subject: name)) }
        subject = try v[goField: "subject"].map { (s) throws(ImageError) in try ImageDescriptor(s, subject: name) }
        artifactType = v[goField: "artifactType"]?.stringValue
        annotations = ImageJSON.stringMap(v[goField: "annotations"])
    }
}

/// An image index (OCI) or manifest list (Docker): one manifest per platform, and perhaps attestations.
public struct ImageIndex: Sendable {
    public var manifests: [ImageDescriptor]

    public init(_ bytes: [UInt8], subject name: String) throws(ImageError) {
        let v = try ImageJSON.parse(bytes, subject: name)
        guard case .int(2)? = v[goField: "schemaVersion"] else { throw ImageError(name, "is not a schema 2 image index") }
        guard let ms = v[goField: "manifests"]?.arrayValue else { throw ImageError(name, "is an index without manifests") }
        manifests = []
        for m in ms { manifests.append(try ImageDescriptor(m, subject: name)) }
    }

    /// The index's attestation manifests (BuildKit's `attestation-manifest`, or an `unknown/unknown`
    /// platform): in-toto statements that may record build arguments, secrets among them.
    public var attestations: [ImageDescriptor] {
        manifests.filter { $0.annotations["vnd.docker.reference.type"] == "attestation-manifest" || $0.platform?.os == "unknown" }
    }

    /// The platforms of the index's other images than `chosen` (attestations left out), for saying
    /// what a one-platform read did not look at.
    public func otherPlatforms(than chosen: ImageDescriptor) -> [String] {
        Array(Set(manifests.filter { $0.digest != chosen.digest && $0.platform?.os != "unknown"
            && $0.annotations["vnd.docker.reference.type"] != "attestation-manifest" }
            .compactMap { $0.platform.map { Redactor.redact($0.description) } })).sorted()
    }

    /// The manifest for `platform`: one whose platform matches, or the only image manifest when none
    /// says its platform. Attestation manifests (Docker's `unknown/unknown`) are never picked.
    public func select(_ platform: ImagePlatform, tag: String?, subject: String) throws(ImageError) -> ImageDescriptor {
        var candidates = manifests.filter {
            (MediaType.isManifest($0.mediaType) || MediaType.isIndex($0.mediaType) || $0.mediaType.isEmpty)
                && $0.annotations["vnd.docker.reference.type"] != "attestation-manifest"
                && $0.platform?.os != "unknown"
        }
        if let tag {
            candidates = candidates.filter {
                let ref = $0.annotations["org.opencontainers.image.ref.name"] ?? $0.annotations["io.containerd.image.name"] ?? ""
                return ref == tag || ref.hasSuffix(":" + tag)
            }
            if candidates.isEmpty { throw ImageError(subject, "has no image tagged '\(Redactor.quote(tag, max: 80))'") }
        }
        // The best match, as containerd picks: the platform itself, then the nearest variant its
        // machines also run; the index's order breaks ties.
        let ranked = candidates.enumerated().compactMap { i, d in d.platform.flatMap(platform.rank).map { ($0, i, d) } }
        if let best = ranked.min(by: { ($0.0, $0.1) < ($1.0, $1.1) }) { return best.2 }
        let unplatformed = candidates.filter { $0.platform == nil }
        if unplatformed.count == 1 { return unplatformed[0] }
        if unplatformed.count > 1 {
            throw ImageError(subject, "holds \(unplatformed.count) images; name one by its tag (PATH:TAG)")
        }
        let offered = candidates.compactMap { $0.platform?.description }.joined(separator: ", ")
        throw ImageError(subject, "has no image for \(platform) (it offers \(offered.isEmpty ? "none" : offered)); choose one with --platform")
    }
}

/// The facts of an image config that an SBOM and a policy need. Environment values are never kept:
/// only the variables' names.
public struct ImageConfig: Sendable, Codable, Equatable {
    public struct HistoryEntry: Sendable, Codable, Equatable {
        public var createdBy: String
        public var emptyLayer: Bool
    }
    public var user: String?
    public var environmentNames: [String]
    /// `NAME=VALUE` pairs: only for the secret scan of the config, never written out.
    public var environment: [String]
    public var exposedPorts: [String]
    public var entrypoint: [String]?
    public var cmd: [String]?
    public var workingDir: String?
    public var labels: [String: String]
    public var history: [HistoryEntry]
    public var diffIDs: [String]
    public var platform: String?
    public var created: String?
    /// Other words the image carries that a build can leak a secret into, for the secret scan only:
    /// the health check's command, `ONBUILD` triggers, the shell, history comments, and the manifest's
    /// annotations (set by the reader, which has the manifest).
    public var healthcheck: [String]?
    public var onBuild: [String]?
    public var shell: [String]?
    public var historyComments: [String]?
    public var manifestAnnotations: [String: String]?

    public init(_ bytes: [UInt8], subject name: String) throws(ImageError) {
        let v = try ImageJSON.parse(bytes, subject: name)
        let c = v[goField: "config"] ?? .object([])
        user = c[goField: "User"]?.stringValue
        environment = try ImageJSON.strings(c[goField: "Env"], "config.Env", subject: name) ?? []
        // An entry without '=' is a name only as far as a name's characters go; the rest is not written.
        environmentNames = environment.map { e in
            e.firstIndex(of: "=").map { String(e[..<$0]) } ?? String(e.prefix { $0.isLetter || $0.isNumber || $0 == "_" }.prefix(128))
        }
        exposedPorts = (c[goField: "ExposedPorts"]?.objectFields ?? []).map(\.0).sorted()
        entrypoint = try ImageJSON.strings(c[goField: "Entrypoint"], "config.Entrypoint", subject: name, oneString: true)
        cmd = try ImageJSON.strings(c[goField: "Cmd"], "config.Cmd", subject: name, oneString: true)
        workingDir = c[goField: "WorkingDir"]?.stringValue
        labels = ImageJSON.stringMap(c[goField: "Labels"])
        healthcheck = try ImageJSON.strings(c[goField: "Healthcheck"]?[goField: "Test"], "config.Healthcheck.Test", subject: name)
        onBuild = try ImageJSON.strings(c[goField: "OnBuild"], "config.OnBuild", subject: name)
        shell = try ImageJSON.strings(c[goField: "Shell"], "config.Shell", subject: name, oneString: true)
        historyComments = (v[goField: "history"]?.arrayValue ?? []).compactMap { $0[goField: "comment"]?.stringValue }
        history = (v[goField: "history"]?.arrayValue ?? []).map { h in
            var empty = false
            if case .bool(true)? = h[goField: "empty_layer"] { empty = true }
            return HistoryEntry(createdBy: h[goField: "created_by"]?.stringValue ?? "", emptyLayer: empty)
        }
        guard let ids = try ImageJSON.strings(v[goField: "rootfs"]?[goField: "diff_ids"], "rootfs.diff_ids", subject: name) else {
            throw ImageError(name, "is an image config without rootfs.diff_ids")
        }
        diffIDs = ids
        if let os = v[goField: "os"]?.stringValue, let arch = v[goField: "architecture"]?.stringValue {
            platform = ImagePlatform(os: os, architecture: arch, variant: v[goField: "variant"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }).description
        }
        created = v[goField: "created"]?.stringValue
    }

    /// The `created_by` line of each layer: history entries that made no layer are skipped.
    public func createdBy(layerCount: Int) -> [String?] {
        let real = history.filter { !$0.emptyLayer }.map(\.createdBy)
        return (0..<layerCount).map { $0 < real.count ? real[$0] : nil }
    }
}

enum ImageJSON {
    static func parse(_ bytes: [UInt8], subject: String) throws(ImageError) -> JSONValue {
        do { return try JSONParser.parse(bytes) } catch { throw ImageError(subject, "is not valid JSON: \(error)") }
    }

    /// A list of strings as Go decodes it into `[]string`: nil when absent or null; anything else that
    /// is not an array of strings is refused, as the runtimes refuse it. Reading the strings among
    /// other entries let `diff_ids` of four entries, three of them not strings, pass the count check
    /// against a manifest of one layer (found by helper-120).
    /// `oneString` takes a string as a list of it, as Docker's `strslice` reads `Cmd`, `Entrypoint` and
    /// `Shell` (helper-123: `"Cmd": "/bin/sh"` was refused).
    static func strings(_ v: JSONValue?, _ field: String, subject: String, oneString: Bool = false) throws(ImageError) -> [String]? {
        guard let v else { return nil }
        if case .null = v { return nil }
        if oneString, let s = v.stringValue { return [s] }
        guard let items = v.arrayValue else { throw ImageError(subject, "has a '\(field)' that is not a list") }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for (i, x) in items.enumerated() {
            guard let s = x.stringValue else { throw ImageError(subject, "has a '\(field)' whose entry \(i + 1) is not a string") }
            out.append(s)
        }
        return out
    }

    static func stringMap(_ v: JSONValue?) -> [String: String] {
        var out: [String: String] = [:]
        for (k, x) in v?.objectFields ?? [] { if let s = x.stringValue { out[k] = s } }
        return out
    }
}
