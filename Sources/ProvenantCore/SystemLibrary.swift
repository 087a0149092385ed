#if canImport(Glibc)
import Glibc
#endif

/// Functions of the C library looked up by name rather than linked: glibc extensions the Glibc module
/// leaves out (`malloc_trim`, `memmem`, `fstatfs`). Nil where the library has none (musl, another
/// system); each caller then does without.
public enum SystemLibrary {
    public static func symbol<F>(_ name: String, as type: F.Type) -> F? {
        #if canImport(Glibc)
        guard let s = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(s, to: F.self)
        #else
        return nil
        #endif
    }
}
