/// Hands memory the allocator holds free back to the system. After an image's files have been
/// cataloged and dropped, their tens of megabytes stay in the allocator's heap (small blocks freed
/// in the middle of it), and the document's buffers are then taken from fresh pages on top: the
/// write phase set the run's peak. Returning them first lets the write reuse that room.
public enum FreedMemory {
    public static func release() {
        // glibc's `malloc_trim` (the Glibc module leaves out malloc.h); a libc without it skips this.
        typealias Trim = @convention(c) (Int) -> Int32
        _ = SystemLibrary.symbol("malloc_trim", as: Trim.self)?(0)
    }
}
