import Foundation
import ProvenantCore

/// A registry image name: `[HOST[:PORT]/]REPOSITORY[:TAG][@sha256:DIGEST]`, with Docker's defaults
/// (`docker.io`, `library/` for single names, tag `latest` when neither tag nor digest is given).
public struct RegistryReference: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var repository: String
    public var tag: String?
    public var digest: String?
    /// Whether the reference said a tag itself (`latest` filled in by default is not one).
    public var tagWasGiven: Bool

    public init?(_ text: String) {
        guard !text.isEmpty, text.utf8.count <= 4096, text.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else { return nil }
        var rest = Substring(text)
        if let at = rest.firstIndex(of: "@") {
            let d = String(rest[rest.index(after: at)...])
            guard ImageDigest.isSHA256(d) else { return nil }
            digest = d
            rest = rest[..<at]
        }
        // A tag follows the last ':' that comes after the last '/' (a ':' before it is a port).
        let lastSlash = rest.lastIndex(of: "/")
        if let colon = rest.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            let t = String(rest[rest.index(after: colon)...])
            guard !t.isEmpty, t.utf8.count <= 128, t.utf8.allSatisfy({ Self.tagByte($0) }) else { return nil }
            tag = t
            rest = rest[..<colon]
        }
        tagWasGiven = tag != nil
        var parts = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        if parts.count > 1, parts[0].contains(".") || parts[0].contains(":") || parts[0] == "localhost" {
            host = parts.removeFirst()
        } else {
            host = "docker.io"
        }
        if host == "docker.io" && parts.count == 1 { parts.insert("library", at: 0) }
        repository = parts.joined(separator: "/")
        guard repository.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 95 || $0 == 45 || $0 == 47 }) else { return nil }
        if tag == nil && digest == nil { tag = "latest" }
    }

    static func tagByte(_ b: UInt8) -> Bool {
        (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || (b >= 48 && b <= 57) || b == 95 || b == 46 || b == 45
    }

    /// The host to contact: Docker Hub's registry API lives on registry-1.docker.io.
    public var apiHost: String { host == "docker.io" ? "registry-1.docker.io" : host }

    public var description: String {
        var s = host + "/" + repository
        if let tag { s += ":" + tag }
        if let digest { s += "@" + digest }
        return s
    }
}

/// Where an image is read from, spelt as syft and trivy spell it.
public enum ImageReference: Sendable, Equatable, CustomStringConvertible {
    /// An OCI image layout directory (`oci-dir:PATH`, optionally `PATH:TAG`).
    case ociDirectory(path: String, tag: String?)
    /// A tar of an OCI image layout (`oci-archive:FILE`, as `skopeo copy … oci-archive:` writes).
    case ociArchive(path: String, tag: String?)
    /// `docker save` output (`docker-archive:FILE`): `manifest.json` with its configs and layer tars,
    /// or, from Docker 25 on, an OCI layout as well.
    case dockerArchive(path: String)
    /// An image in a registry (`registry:REF`).
    case registry(RegistryReference)

    /// Parses a scheme-prefixed reference; nil when `text` has none of the schemes.
    public static func parse(_ text: String) throws(ImageError) -> ImageReference? {
        func split(_ rest: String) -> (String, String?) {
            if FileManager.default.fileExists(atPath: rest) { return (rest, nil) }
            if let c = rest.lastIndex(of: ":"), !rest[c...].contains("/") {
                return (String(rest[..<c]), String(rest[rest.index(after: c)...]))
            }
            return (rest, nil)
        }
        if text.hasPrefix("oci-dir:") {
            let (p, t) = split(String(text.dropFirst(8)))
            return .ociDirectory(path: p, tag: t)
        }
        if text.hasPrefix("oci-archive:") {
            let (p, t) = split(String(text.dropFirst(12)))
            return .ociArchive(path: p, tag: t)
        }
        if text.hasPrefix("docker-archive:") { return .dockerArchive(path: String(text.dropFirst(15))) }
        if text.hasPrefix("registry:") {
            guard let r = RegistryReference(String(text.dropFirst(9))) else {
                throw ImageError("'\(Redactor.quote(text, max: 160))'", "is not an image reference (HOST/REPOSITORY[:TAG][@sha256:DIGEST])")
            }
            return .registry(r)
        }
        return nil
    }

    /// A plain path that is an image: a directory holding `oci-layout`, or a tar archive holding
    /// `oci-layout` or Docker's `manifest.json` at its top. Nil for anything else.
    public static func detect(path: String) -> ImageReference? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        if st.st_mode & S_IFMT == S_IFDIR {
            var lst = stat()
            guard lstat(path + "/oci-layout", &lst) == 0, lst.st_mode & S_IFMT == S_IFREG,
                  lstat(path + "/index.json", &lst) == 0 else { return nil }
            return .ociDirectory(path: path, tag: nil)
        }
        guard st.st_mode & S_IFMT == S_IFREG else { return nil }
        guard let archive = try? ArchiveLayout(path: path) else { return nil }
        if archive.has("oci-layout") && archive.has("index.json") { return .ociArchive(path: path, tag: nil) }
        // Other tars hold a manifest.json too (browser extensions, web apps): only Docker's shape counts.
        if archive.has("manifest.json"), let bytes = try? archive.read("manifest.json", limit: 4 << 20),
           let first = (try? JSONParser.parse(bytes))?.arrayValue?.first,
           first[goField: "Config"]?.stringValue != nil, first[goField: "Layers"]?.arrayValue != nil {
            return .dockerArchive(path: path)
        }
        return nil
    }

    public var description: String {
        switch self {
        case .ociDirectory(let p, let t): "oci-dir:" + p + (t.map { ":" + $0 } ?? "")
        case .ociArchive(let p, let t): "oci-archive:" + p + (t.map { ":" + $0 } ?? "")
        case .dockerArchive(let p): "docker-archive:" + p
        case .registry(let r): "registry:" + r.description
        }
    }
}
