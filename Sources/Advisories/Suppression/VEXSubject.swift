import Catalog
import ProvenantCore

extension VEXDocument {
    /// What a scan is of, against which statements scoped to a product are matched: the image, the
    /// project at the tree's top, or an SBOM's subject, by purl, and a CycloneDX SBOM's serial number.
    public struct Subject: Sendable, Equatable, CustomStringConvertible {
        public var purls: [String]
        /// An image's digests (`sha256:…`, lower case): its manifest's, its config's, and one its
        /// reference pins (an index's, for a multi-platform image).
        public var digests: [String]
        /// The UUID of a scanned CycloneDX SBOM's `serialNumber`, in lower case.
        public var bomSerial: String?
        /// The scanned CycloneDX SBOM's `version` (nil when it gives one that cannot be read).
        public var bomVersion: Int?
        /// The scanned SBOM's bom-refs: what a BOM-Link into it names by its bom-ref. nil when it has none.
        public var refs: DocumentRefs?
        /// The bom-refs of each purl, from `refs`.
        public var refsOfPurl: [String: Set<String>]
        public init(purls: [String] = [], digests: [String] = [], serialNumber: String? = nil, bomVersion: Int? = nil, refs: DocumentRefs? = nil) {
            self.bomVersion = bomVersion
            self.purls = purls.filter { !$0.isEmpty }
            self.refs = refs
            var of: [String: Set<String>] = [:]
            for (ref, purl) in refs?.refs ?? [:] { of[purl, default: []].insert(ref) }
            refsOfPurl = of
            self.digests = digests.map { $0.lowercased() }
            bomSerial = VEXDocument.serialUUID(serialNumber)
        }
        /// A scan of something that names no product: no scoped statement applies to it.
        public static let unnamed = Subject()

        public func holds(_ scope: Scope) -> Bool {
            switch scope {
            case .product(let ids): ids.contains(where: holds(product:))
            case .bom(let serial, let version): bomSerial != nil && bomSerial == serial && bomVersion == version
            }
        }

        /// Whether the scan is of the product `id` names. An image (`pkg:oci`, `pkg:docker`) is named
        /// by a digest, matched against any of the image's, whatever name, tag or registry the purl
        /// gives (the scan's name may come from a file name); one without a digest must name its
        /// repository, since a bare name matched any image so called (helper-218).
        func holds(product id: String) -> Bool {
            guard !id.isEmpty else { return false }
            if let p = PackageURL(parsing: id), p.type == "oci" || p.type == "docker" {
                if let v = p.version { return digests.contains(v.lowercased()) }
                guard p.qualifiers["repository_url"] != nil else { return false }
            }
            return purls.contains { VEXDocument.purlCovers(id, $0) }
        }

        /// The scan as a BOM-Link sees it: which version of which BOM, or none.
        public var bomDescription: String {
            guard let s = bomSerial else { return "a target that is no CycloneDX SBOM with a serial number" }
            return bomVersion.map { "version \($0) of the BOM urn:uuid:\(s)" } ?? "the BOM urn:uuid:\(s), whose version cannot be read"
        }

        public var description: String {
            if let p = purls.first { return Redactor.quote(p, max: 200) }
            if let s = bomSerial { return "version \(bomVersion.map(String.init) ?? "(unreadable)") of the BOM urn:uuid:\(s)" }
            return "a target that names no product (no image, no project manifest at its top, no SBOM subject)"
        }
    }
}

extension VEXDocument {
    /// A UUID in lower case, nil when `text` is not one (8-4-4-4-12 hex digits).
    static func uuid(_ text: String) -> String? {
        let u = text.lowercased()
        let parts = u.split(separator: "-", omittingEmptySubsequences: false).map(\.count)
        guard parts == [8, 4, 4, 4, 12], u.allSatisfy({ $0 == "-" || $0.isHexDigit }) else { return nil }
        return u
    }

    /// The UUID of a CycloneDX `serialNumber` (`urn:uuid:…`), in lower case; nil when it is not one.
    static func serialUUID(_ serialNumber: String?) -> String? {
        guard let s = serialNumber, s.lowercased().hasPrefix("urn:uuid:") else { return nil }
        return uuid(String(s.dropFirst("urn:uuid:".count)))
    }
}

extension VEXDocument.Subject {
    /// What a scanned inventory is of: an image's purl, the project at a tree's top, or an SBOM's
    /// subject and serial number.
    public init(_ inventory: Inventory) {
        var purls = [inventory.image?.purl.description, inventory.rootProject?.purl.description].compactMap { $0 }
        for p in inventory.describedPurls ?? [] where !purls.contains(p) { purls.append(p) }
        var digests: [String] = []
        if let image = inventory.image {
            digests = [image.manifestDigest, image.imageID].compactMap { $0 }
            // A digest the reference pins: an index's, when a platform was chosen from it.
            if let at = image.reference.range(of: "@sha256:") {
                let hex = image.reference[at.upperBound...].prefix { $0.isHexDigit }
                if hex.count == 64 { digests.append("sha256:" + hex) }
            }
        }
        // An image SBOM read back names its digests in its subject's purl.
        for p in purls.compactMap(PackageURL.init(parsing:)) where p.type == "oci" || p.type == "docker" {
            if let v = p.version, v.lowercased().hasPrefix("sha256:") { digests.append(v) }
        }
        self.init(purls: purls, digests: digests, serialNumber: inventory.serialNumber, bomVersion: inventory.bomVersion, refs: inventory.documentRefs)
    }
}
