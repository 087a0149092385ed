/// A digest stated by the input or computed over a file. Values are lowercase hex.
public struct Digest: Sendable, Hashable, Codable, Comparable {
    public enum Algorithm: String, Sendable, Codable, Comparable, CaseIterable {
        case md5 = "MD5", sha1 = "SHA-1", sha256 = "SHA-256", sha384 = "SHA-384", sha512 = "SHA-512"
        public static func < (a: Algorithm, b: Algorithm) -> Bool { a.rawValue < b.rawValue }
        public var hexLength: Int {
            switch self { case .md5: 32; case .sha1: 40; case .sha256: 64; case .sha384: 96; case .sha512: 128 }
        }
    }
    public var algorithm: Algorithm
    public var value: String

    public init(_ algorithm: Algorithm, _ value: String) {
        self.algorithm = algorithm
        self.value = value.utf8.contains(where: { $0 >= 65 && $0 <= 90 }) ? value.lowercased() : value
    }

    /// Accepts hex of the right length; anything else is not a digest.
    public init?(_ algorithm: Algorithm, hex: String) {
        guard hex.utf8.count == algorithm.hexLength, hex.utf8.allSatisfy(Self.isHex) else { return nil }
        self.init(algorithm, hex)
    }

    /// Decodes base64 digests such as SRI `sha512-...`, apk `Q1...` and go.sum `h1:...`.
    public init?(_ algorithm: Algorithm, base64: String) { self.init(algorithm, base64Bytes: base64.utf8) }

    /// The same, from the base64 text's bytes.
    public init?(_ algorithm: Algorithm, base64Bytes: some Collection<UInt8>) {
        guard let bytes = Base64.decode(bytes: base64Bytes), bytes.count * 2 == algorithm.hexLength else { return nil }
        self.init(algorithm, Hex.encode(bytes))
    }

    /// Subresource-integrity strings (`sha512-BASE64`), as npm, yarn, pnpm and bun write them. Of several
    /// hashes, the strongest algorithm's, which is the one npm checks (ssri): `sha1-X sha512-Y` pins Y.
    public init?(sri: String) {
        guard let first = Self.sri(sri).first else { return nil }
        self = first
    }

    /// Every hash of the strongest algorithm in an SRI string, in their order: npm accepts a tarball
    /// that matches any of them, so a second one pins another tarball (found by review).
    public static func sri(_ s: String) -> [Digest] {
        // Lockfiles hold one per package (thousands per file): read as bytes where that reads the same.
        if let fast = s.utf8.withContiguousStorageIfAvailable({ sriBytes($0) }), let found = fast { return found }
        return sriByCharacters(s)
    }

    /// `sri` on the bytes of ASCII text without a carriage return, where every byte is a Character of
    /// its own and splitting bytes splits Characters alike (`\r\n` is one Character, and a combining
    /// mark joins the space before it); nil for any other text, which `sriByCharacters` reads.
    static func sriBytes(_ b: UnsafeBufferPointer<UInt8>) -> [Digest]? {
        guard !b.contains(where: { $0 >= 0x80 || $0 == 13 }) else { return nil }
        func isBlank(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 }
        var best = -1
        var out: [Digest] = []
        var i = 0
        while i < b.count {
            while i < b.count, isBlank(b[i]) { i += 1 }
            var start = i
            while i < b.count, !isBlank(b[i]) { i += 1 }
            guard i > start else { break }
            // As `split(separator: "?", maxSplits: 1).first`: leading `?`s cut off empty parts, which are
            // dropped and not counted, so the hash is the first non-empty part.
            while start < i, b[start] == UInt8(ascii: "?") { start += 1 }
            let end = b[start..<i].firstIndex(of: UInt8(ascii: "?")) ?? i
            guard start < end, let dash = b[start..<end].firstIndex(of: UInt8(ascii: "-")) else { continue }
            guard let ranked = sriRank(String(decoding: UnsafeBufferPointer(rebasing: b[start..<dash]), as: UTF8.self)) else { continue }
            guard ranked.0 >= best, let d = Digest(ranked.1, base64Bytes: UnsafeBufferPointer(rebasing: b[(dash + 1)..<end])) else { continue }
            if ranked.0 > best { best = ranked.0; out = [] }
            if !out.contains(d) { out.append(d) }
        }
        return out
    }

    /// An SRI algorithm's name (any case) and its strength, strongest last; nil for names npm does not use.
    static func sriRank(_ name: String) -> (Int, Algorithm)? {
        switch name.lowercased() {
        case "md5": (0, .md5)
        case "sha1": (1, .sha1)
        case "sha256": (2, .sha256)
        case "sha384": (3, .sha384)
        case "sha512": (4, .sha512)
        default: nil
        }
    }

    /// `sri` read by Characters: the reading for any text, and the reference `sriBytes` is tested against.
    static func sriByCharacters(_ s: String) -> [Digest] {
        var best = -1
        var out: [Digest] = []
        for token in s.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
            let hash = token.split(separator: "?", maxSplits: 1).first ?? token
            guard let dash = hash.firstIndex(of: "-") else { continue }
            guard let ranked = sriRank(String(hash[..<dash])) else { continue }
            guard ranked.0 >= best, let d = Digest(ranked.1, base64: String(hash[hash.index(after: dash)...])) else { continue }
            if ranked.0 > best { best = ranked.0; out = [] }
            if !out.contains(d) { out.append(d) }
        }
        return out
    }

    static func isHex(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 97 && b <= 102) || (b >= 65 && b <= 70)
    }

    public static func < (a: Digest, b: Digest) -> Bool {
        (a.algorithm, a.value) < (b.algorithm, b.value)
    }
}

/// Where something was found: a path relative to the scan root, and a 1-based line when the format has one.
public struct Location: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    /// In an image: the digest of the layer that put the file there.
    public var layer: String?
    public init(_ path: String, line: Int? = nil, layer: String? = nil) { self.path = path; self.line = line; self.layer = layer }
    public var description: String { line.map { "\(path):\($0)" } ?? path }
    public static func < (a: Location, b: Location) -> Bool {
        (a.path, a.line ?? 0, a.layer ?? "") < (b.path, b.line ?? 0, b.layer ?? "")
    }
}

/// A file that belongs to a package, with the digest its package database records.
///
/// A root filesystem lists a hundred thousand such files or more, so the digest is held inline: the
/// hex of an MD5, SHA-1 or SHA-256 as big-endian words instead of a string of its own on the heap.
/// Any other digest (another algorithm, or text that is not lowercase hex of the right length) is
/// kept as it was given. Either way `digest` reads back exactly the value stored.
public struct PackageFile: Sendable, Hashable, Codable, Comparable {
    public var path: String
    private var stored: Stored

    /// One form per digest value, so equal digests are equal here too.
    private enum Stored: Sendable, Hashable {
        case none
        case md5(UInt64, UInt64)
        /// The last word holds the final 32 bits.
        case sha1(UInt64, UInt64, UInt64)
        case sha256(UInt64, UInt64, UInt64, UInt64)
        case other(Digest)

        init(_ d: Digest?) {
            guard let d else { self = .none; return }
            let v = d.value.utf8
            switch d.algorithm {
            case .md5 where v.count == 32:
                if let a = Self.word(v, 0, 16), let b = Self.word(v, 16, 16) { self = .md5(a, b); return }
            case .sha1 where v.count == 40:
                if let a = Self.word(v, 0, 16), let b = Self.word(v, 16, 16), let c = Self.word(v, 32, 8) { self = .sha1(a, b, c); return }
            case .sha256 where v.count == 64:
                if let a = Self.word(v, 0, 16), let b = Self.word(v, 16, 16), let c = Self.word(v, 32, 16), let e = Self.word(v, 48, 16) {
                    self = .sha256(a, b, c, e); return
                }
            default: break
            }
            self = .other(d)
        }

        /// `count` lowercase hex digits from `start` as one number; nil for anything else, so upper
        /// case or stray bytes keep the value as text and it reads back unchanged.
        private static func word(_ v: String.UTF8View, _ start: Int, _ count: Int) -> UInt64? {
            var w: UInt64 = 0
            var i = v.index(v.startIndex, offsetBy: start)
            for _ in 0..<count {
                let c = v[i]
                let n: UInt8
                switch c {
                case 48...57: n = c - 48
                case 97...102: n = c - 87
                default: return nil
                }
                w = w << 4 | UInt64(n)
                i = v.index(after: i)
            }
            return w
        }

        var digest: Digest? {
            switch self {
            case .none: return nil
            case .other(let d): return d
            case .md5(let a, let b): return Digest(.md5, Self.hex(a, b, 0, 0, digits: 32))
            case .sha1(let a, let b, let c): return Digest(.sha1, Self.hex(a, b, c << 32, 0, digits: 40))
            case .sha256(let a, let b, let c, let d): return Digest(.sha256, Self.hex(a, b, c, d, digits: 64))
            }
        }

        /// The first `digits` hex digits of the four words read as one big-endian number.
        private static func hex(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64, digits: Int) -> String {
            String(unsafeUninitializedCapacity: digits) { out in
                for i in 0..<digits { out[i] = digit(i, a, b, c, d) }
                return digits
            }
        }

        static func appendHex(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64, digits: Int, to out: inout [UInt8]) {
            for i in 0..<digits { out.append(digit(i, a, b, c, d)) }
        }

        /// Hex digit `i` (0 the most significant) of the four words read as one big-endian number.
        @inline(__always) private static func digit(_ i: Int, _ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) -> UInt8 {
            let w = i < 16 ? a : i < 32 ? b : i < 48 ? c : d
            let n = UInt8(truncatingIfNeeded: w >> UInt64(60 - (i & 15) * 4)) & 0xF
            return n < 10 ? 48 + n : 87 + n
        }
    }

    public init(path: String, digest: Digest?) { self.path = path; stored = Stored(digest) }

    /// A file whose MD5 is given as hex bytes (an md5sums line): what `Digest(.md5, hex:)` accepts (32
    /// hex digits in either case) is kept, without a string made for it; anything else is no digest.
    public init(path: String, md5Hex hex: Slice<UnsafeBufferPointer<UInt8>>) {
        self.path = path
        stored = .none
        guard hex.count == 32 else { return }
        var words: (UInt64, UInt64) = (0, 0)
        for (k, c) in hex.enumerated() {
            let n: UInt8
            switch c {
            case 48...57: n = c - 48
            case 97...102: n = c - 87
            case 65...70: n = c - 55
            default: return
            }
            if k < 16 { words.0 = words.0 << 4 | UInt64(n) } else { words.1 = words.1 << 4 | UInt64(n) }
        }
        stored = .md5(words.0, words.1)
    }

    public var digest: Digest? {
        get { stored.digest }
        set { stored = Stored(newValue) }
    }

    /// The digest's algorithm, without spelling its value out.
    public var digestAlgorithm: Digest.Algorithm? {
        switch stored {
        case .none: nil
        case .md5: .md5
        case .sha1: .sha1
        case .sha256: .sha256
        case .other(let d): d.algorithm
        }
    }

    /// Appends an inline digest's lowercase hex to `out` (writers of 100,000 file records make no string
    /// for each) and returns true; false, appending nothing, for no digest or one kept as given.
    public func appendInlineHex(to out: inout [UInt8]) -> Bool {
        switch stored {
        case .none, .other: return false
        case .md5(let a, let b): Stored.appendHex(a, b, 0, 0, digits: 32, to: &out)
        case .sha1(let a, let b, let c): Stored.appendHex(a, b, c << 32, 0, digits: 40, to: &out)
        case .sha256(let a, let b, let c, let d): Stored.appendHex(a, b, c, d, digits: 64, to: &out)
        }
        return true
    }

    /// Total over both fields, so the same input always sorts the same way. Paths differ almost
    /// always, so the digests are only spelled out to break a tie.
    public static func < (a: PackageFile, b: PackageFile) -> Bool {
        if a.path != b.path { return a.path < b.path }
        let x = a.digest, y = b.digest
        return (x?.algorithm.rawValue ?? "", x?.value ?? "") < (y?.algorithm.rawValue ?? "", y?.value ?? "")
    }

    private enum CodingKeys: String, CodingKey { case path, digest }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(path: try c.decode(String.self, forKey: .path), digest: try c.decodeIfPresent(Digest.self, forKey: .digest))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encodeIfPresent(digest, forKey: .digest)
    }
}

/// One piece of software found in the target.
public struct Package: Sendable, Hashable, Codable {
    public var ecosystem: Ecosystem
    public var name: String
    public var version: String
    public var purl: PackageURL
    /// Never an empty or blank one: `"license": ""` says nothing, and an empty license makes an invalid
    /// SPDX document (found by helper-75).
    public var licenses: [String] {
        didSet { if licenses.contains(where: Self.isBlank) { licenses.removeAll(where: Self.isBlank) } }
    }
    static func isBlank(_ s: String) -> Bool { s.allSatisfy { $0.isWhitespace } }
    /// The text behind each `LicenseRef-` in `licenses` that the input gave one for (SPDX writes it as
    /// extracted licensing info). nil when there is none.
    public var licenseTexts: [String: String]?
    public var supplier: String?
    public var author: String?
    public var description: String?
    public var homepage: String?
    public var digests: [Digest]
    public var locations: [Location]
    public var scope: Scope
    /// nil when the input does not say whether the dependency is direct.
    public var isDirect: Bool?
    /// purl strings of the packages this one depends on.
    public var dependsOn: [String]
    /// Whether the input recorded this package's dependencies at all (empty then means a leaf).
    public var dependenciesKnown: Bool
    public var files: [PackageFile]
    /// Where the package manager resolved it from: a registry tarball URL, a registry index, or a
    /// VCS URL with its commit. nil when the input does not say.
    public var source: String?
    /// Other places the same name and version was resolved from, in other lockfiles or entries (sorted,
    /// without `source`): one component per purl kept only the first, so a second lockfile resolving
    /// the package from another host appeared nowhere and `diff` passed it (found by helper-90).
    /// nil when there are none.
    public var otherSources: [String]?
    /// The install-time scripts the input records, as `name: command` (npm's `preinstall`, `install`,
    /// `postinstall`), `hasInstallScript` when a lockfile only flags one, or `setup.py` for a Python
    /// package installed from an sdist. nil when there is none or the input does not say (optional, so
    /// an inventory written before this field existed still reads).
    public var installScripts: [String]?
    /// Which extractor found it, for the inventory and debugging.
    public var foundBy: String

    public init(ecosystem: Ecosystem, name: String, version: String, purl: PackageURL,
                licenses: [String] = [], supplier: String? = nil, author: String? = nil,
                description: String? = nil, homepage: String? = nil,
                digests: [Digest] = [], locations: [Location] = [], scope: Scope = .required,
                isDirect: Bool? = nil, dependsOn: [String] = [], dependenciesKnown: Bool = false,
                files: [PackageFile] = [], foundBy: String) {
        self.ecosystem = ecosystem; self.name = name; self.version = version; self.purl = purl
        self.licenses = licenses.filter { !Self.isBlank($0) }; self.supplier = supplier; self.author = author
        self.description = description; self.homepage = homepage; self.digests = digests
        self.locations = locations; self.scope = scope; self.isDirect = isDirect
        self.dependsOn = dependsOn; self.dependenciesKnown = dependenciesKnown
        self.files = files; self.foundBy = foundBy
    }

    /// The bom-ref and SPDX identity: the purl, which is stable across runs.
    public var ref: String { purl.description }
}

/// A problem with one input file. The scan goes on; the SBOM lists it as a known unknown.
public struct Diagnostic: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var location: Location
    public var message: String
    /// Set when the problem means something was not read at all, so nothing in it was matched against
    /// advisories: a scan reports it as NOT CHECKED, never as clean. Not part of the serialized form.
    public var unscanned: Unscanned?

    /// What was left unread, as a scan groups it.
    public enum Unscanned: Sendable, Hashable {
        /// A whole input file (or a member of an archive) that its reader refused.
        case input
        /// An SBOM component, named as the SBOM names it, without a purl or with one that cannot be read.
        case componentWithoutPurl(String), componentWithUnreadablePurl(String)
        /// One entry of an input that names no exact version (a range, a git source, a version from a
        /// parent POM or an undefined property) or could not be read: its package was not checked.
        case entry
    }

    private enum CodingKeys: String, CodingKey { case location, message }

    /// The message goes through `Redactor`: diagnostics quote input, and input may hold credentials.
    /// The location's path is a name from the input too: redacted as a field (a directory named
    /// `https:/bob:pw@host` was echoed whole: helper-135), and its control characters escaped, so a
    /// file named with a terminal escape cannot rewrite the warning lines a user reads.
    public init(_ location: Location, _ message: String, unscanned: Unscanned? = nil) {
        var location = location
        location.path = Redactor.escapeControls(Redactor.redactField(location.path))
        self.location = location; self.message = Redactor.escapeControls(Redactor.redact(message))
        switch unscanned {
        case .componentWithoutPurl(let name): self.unscanned = .componentWithoutPurl(Redactor.escapeControls(Redactor.redact(name)))
        case .componentWithUnreadablePurl(let name): self.unscanned = .componentWithUnreadablePurl(Redactor.escapeControls(Redactor.redact(name)))
        default: self.unscanned = unscanned
        }
    }
    public var description: String { "\(location): \(message)" }
    public static func < (a: Diagnostic, b: Diagnostic) -> Bool {
        (a.location, a.message) < (b.location, b.message)
    }
}

/// A parse failure that knows where it happened.
public struct ParseError: Error, Sendable, CustomStringConvertible {
    public var line: Int?
    public var message: String
    /// Set when the input was refused as a decompression bomb rather than as damaged: a reader that
    /// passes over damage quietly still says a bomb's refusal.
    public var refusedAsBomb = false
    public init(_ message: String, line: Int? = nil) { self.message = Redactor.escapeControls(Redactor.redact(message)); self.line = line }
    public var description: String { message }
}

/// Errors the CLI turns into exit code 2.
public struct InputError: Error, Sendable, CustomStringConvertible {
    public var location: Location?
    public var message: String
    public init(_ message: String, at location: Location? = nil) {
        self.message = Redactor.escapeControls(Redactor.redact(message))
        self.location = location.map { var l = $0; l.path = Redactor.escapeControls(l.path); return l }
    }
    public var description: String { location.map { "\($0): \(message)" } ?? message }
}
