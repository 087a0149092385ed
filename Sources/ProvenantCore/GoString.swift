/// Go's double-quoted string literals, as `strconv.Unquote` reads them: what a Kubernetes downward-API
/// labels file holds (`strconv.Quote` writes it) and what go.mod allows for a module path.
public enum GoString {
    /// The inside of a `"…"` literal, unescaped; nil for a bare `"`, a dangling `\`, an escape Go does
    /// not know (`\'` included, which is a rune literal's), or bytes that are not UTF-8.
    public static func unquote(_ b: some Collection<UInt8>) -> String? {
        unquotedBytes(b).flatMap { String(validating: $0, as: UTF8.self) }
    }

    /// The same, as bytes, which need not be UTF-8: git C-quotes a path with the same escapes (a
    /// subset of Go's) and writes its non-UTF-8 bytes in octal.
    public static func unquotedBytes(_ b: some Collection<UInt8>) -> [UInt8]? {
        let b = Array(b)
        var out: [UInt8] = []
        var i = 0
        func digits(_ n: Int, radix: UInt32) -> UInt32? {
            guard i + n <= b.count else { return nil }
            var v: UInt32 = 0
            for k in 0..<n {
                let c = b[i + k]
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                default: return nil
                }
                guard d < radix else { return nil }
                v = v * radix + d
            }
            i += n
            return v
        }
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") { return nil }
            guard c == UInt8(ascii: "\\") else { out.append(c); i += 1; continue }
            guard i + 1 < b.count else { return nil }
            let e = b[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(e)
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "v"): out.append(0x0b)
            case UInt8(ascii: "x"):
                guard let v = digits(2, radix: 16) else { return nil }
                out.append(UInt8(v))
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                guard let v = digits(e == UInt8(ascii: "u") ? 4 : 8, radix: 16), let s = Unicode.Scalar(v) else { return nil }
                out.append(contentsOf: Array(String(s).utf8))
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                i -= 1
                guard let v = digits(3, radix: 8), v <= 255 else { return nil }
                out.append(UInt8(v))
            default: return nil
            }
        }
        return out
    }
}
