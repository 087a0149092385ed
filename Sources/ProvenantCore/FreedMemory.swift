#if canImport(Glibc)
import Glibc
#endif

/// Hands memory the allocator holds free back to the system. After an image's files have been
/// cataloged and dropped, their tens of megabytes stay in the allocator's heap (small blocks freed
/// in the middle of it), and the document's buffers are then taken from fresh pages on top: the
/// write phase set the run's peak. Returning them first lets the write reuse that room.
public enum FreedMemory {
    public static func release() {
        #if canImport(Glibc)
        // glibc's `malloc_trim`, looked up rather than linked: the Glibc module leaves out malloc.h,
        // and a libc without it (musl) simply skips this.
        typealias Trim = @convention(c) (Int) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
        #endif
    }
}
