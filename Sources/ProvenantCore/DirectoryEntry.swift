#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `readdir` entry, read where it lies.
public enum DirectoryEntry {
    /// The entry's name. `ent.pointee` would copy a whole `struct dirent` (280 bytes), but the kernel
    /// packs entries by their length, so the last one of a buffer can end a few bytes before its page
    /// does: copying it read past the end and crashed, now and then, on a walk of `/`.
    public static func name(_ ent: UnsafeMutablePointer<dirent>) -> [UInt8] {
        let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 19
        let name = UnsafeRawPointer(ent).advanced(by: offset).assumingMemoryBound(to: CChar.self)
        return Array(UnsafeRawBufferPointer(start: name, count: strlen(name)))
    }
}
