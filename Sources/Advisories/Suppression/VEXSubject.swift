import Catalog
import ProvenantCore

extension VEXDocument {
    /// What a scan is of, against which statements scoped to a product are matched: the image, the
    /// project at the tree's top, or an SBOM's subject, by purl, and a CycloneDX SBOM's serial number.
    public struct Subject: Sendable, Equatable, CustomStringConvertible {
        public var purls: [String]
        /// The UUID of a scanned CycloneDX SBOM's `serialNumber`, in lower case.
        public var bomSerial: String?
        public init(purls: [String] = [], serialNumber: String? = nil) {
            self.purls = purls
            bomSerial = serialNumber.flatMap { s in
                s.lowercased().hasPrefix("urn:uuid:") ? String(s.dropFirst("urn:uuid:".count)).lowercased() : nil
            }
        }
        /// A scan of something that names no product: no scoped statement applies to it.
        public static let unnamed = Subject()

        public func holds(_ scope: Scope) -> Bool {
            switch scope {
            case .product(let ids): ids.contains { id in purls.contains { VEXDocument.purlCovers(id, $0) } }
            case .bom(let serial): bomSerial == serial
            }
        }

        public var description: String {
            if let p = purls.first { return p }
            if let s = bomSerial { return "the BOM urn:uuid:\(s)" }
            return "a target that names no product (no image, no project manifest at its top, no SBOM subject)"
        }
    }
}

extension VEXDocument.Subject {
    /// What a scanned inventory is of: an image's purl, the project at a tree's top, or an SBOM's
    /// subject and serial number.
    public init(_ inventory: Inventory) {
        var purls = [inventory.image?.purl.description, inventory.rootProject?.purl.description].compactMap { $0 }
        for p in inventory.describedPurls ?? [] where !purls.contains(p) { purls.append(p) }
        self.init(purls: purls, serialNumber: inventory.serialNumber)
    }
}
