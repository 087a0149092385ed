import Foundation
import ProvenantCore

public enum ScanMode: String, Sendable, CaseIterable {
    case source, installed, auto
}

/// The distribution named by os-release; OS package purls carry it as the `distro` qualifier.
public struct Distro: Sendable, Hashable, Codable {
    public var id: String
    public var versionID: String?
    public var versionCodename: String?
    public var prettyName: String?
    public var qualifier: String { versionID.map { "\(id)-\($0)" } ?? id }
}

public struct ExtractContext: Sendable {
    public var mode: ScanMode
    public var includeDev: Bool
    public var distro: Distro?
    public init(mode: ScanMode, includeDev: Bool, distro: Distro? = nil) {
        self.mode = mode; self.includeDev = includeDev; self.distro = distro
    }
}

/// What an extractor sees of one file: its path, its bytes on demand, and the index for siblings.
public struct ExtractInput: Sendable {
    public let file: IndexedFile
    public let index: FileIndex
    public let context: ExtractContext
    public var path: String { file.path }

    /// Files larger than this are refused instead of being loaded whole.
    public static let maxBytes = 1 << 30

    public func bytes() throws -> [UInt8] { try readBytes(file.path) }
    public func text() throws -> String { try TextDecoding.string(try bytes()) }

    /// Reads a file of the target by its path relative to the root. Every read of every extractor
    /// comes here: the path is resolved inside the root only (see `RootedDirectory`), its size is
    /// checked before it is read, and a path that leaves the root is refused, never read.
    public func readBytes(_ rel: String) throws -> [UInt8] {
        do { return try readBytes(rel, limit: Self.maxBytes) } catch { throw ParseError(error.description) }
    }

    /// `readBytes` with a smaller size limit, keeping the typed error so a caller can tell a file that
    /// is absent (often normal) from one that was refused (worth a diagnostic).
    public func readBytes(_ rel: String, limit: Int) throws(FileAccessError) -> [UInt8] {
        rel == file.path ? try index.source.readOwnFile(rel, limit: min(limit, Self.maxBytes))
            : try index.source.read(rel, limit: min(limit, Self.maxBytes))
    }

    /// This file for readers that seek instead of loading it whole (ELF).
    public func randomAccess() throws -> RandomAccessFile {
        do { return try index.source.randomAccess(file.path) } catch { throw ParseError(error.description) }
    }

    /// The directory part of this file's path, "" for files at the root.
    public var directory: String { PathText.splitLast(path).directory }
    public var fileName: String { PathText.splitLast(path).name }
    public func sibling(_ name: String) -> String { directory.isEmpty ? name : directory + "/" + name }
}

/// What one file yielded: packages, and problems worth reporting that did not stop the parse.
public struct Extraction: Sendable {
    public var packages: [Package]
    public var diagnostics: [Diagnostic]
    public init(_ packages: [Package] = [], diagnostics: [Diagnostic] = []) {
        self.packages = packages; self.diagnostics = diagnostics
    }
}

/// An extractor says which paths it wants, then parses one such file into packages.
public protocol Extractor: Sendable {
    var name: String { get }
    /// Which scan modes this extractor runs in.
    var modes: Set<ScanMode> { get }
    func wants(_ file: IndexedFile, fileName: String) -> Bool
    func extract(_ input: ExtractInput) throws -> Extraction
    /// Files read beside the wanted ones (a package's copyright, RECORD, md5sums): an image keeps these
    /// in memory too while its layers stream.
    func alsoReads(_ path: String, fileName: String) -> Bool
    /// True when this extractor reads no file but the one its job is on. An image's scan then keeps
    /// the files only such jobs want for those jobs alone (any other read is refused) and frees each
    /// once its jobs are done. An extractor that follows includes or reads siblings says false.
    var readsItsOwnFileOnly: Bool { get }
    /// Whether a wanted file's bytes are worth keeping from an image: an extractor that wants many
    /// files on their names alone (every executable) says which it can really read. Asked of bytes
    /// read into a buffer that is used again: kept ones are copied out.
    func keeps(_ bytes: UnsafeRawBufferPointer) -> Bool
    /// Paths from the root at which this extractor reads its file even when symbolic links lead there
    /// (`LinkedPaths`): a package database moved and linked back. One ending in "/" is a directory
    /// whose files it reads.
    var linkedPaths: [String] { get }
}

public extension Extractor {
    var modes: Set<ScanMode> { [.source, .installed] }
    func alsoReads(_ path: String, fileName: String) -> Bool { false }
    func keeps(_ bytes: UnsafeRawBufferPointer) -> Bool { true }
    func keeps(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { keeps($0) } }
    var readsItsOwnFileOnly: Bool { false }
    var linkedPaths: [String] { [] }
}

public enum TextDecoding {
    /// Lockfiles are UTF-8; a NUL byte means binary data where text was expected.
    public static func string(_ bytes: [UInt8]) throws -> String {
        if bytes.isEmpty { return "" }
        var b = bytes[...]
        if b.starts(with: [0xEF, 0xBB, 0xBF]) { b = b.dropFirst(3) }
        if b.contains(0) { throw ParseError("binary data where text was expected") }
        guard let s = String(validating: b, as: UTF8.self) else { throw ParseError("not valid UTF-8") }
        return s
    }
}
