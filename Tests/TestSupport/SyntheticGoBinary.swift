import Foundation

/// A minimal ELF64 file with the `.go.buildinfo` section the Go 1.18+ linker writes:
/// header, inline varint-prefixed version and module text framed by 16-byte sentinels.
public enum SyntheticGoBinary {
    public static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    public static func varint(_ n: Int) -> [UInt8] {
        var out: [UInt8] = [], v = n
        repeat { var b = UInt8(v & 0x7F); v >>= 7; if v > 0 { b |= 0x80 }; out.append(b) } while v > 0
        return out
    }

    public static func make(goVersion: String, modInfo: String, padding: Int = 8192) -> [UInt8] {
        var info: [UInt8] = [0xFF] + Array(" Go buildinf:".utf8) + [8, 2]
        info += [UInt8](repeating: 0, count: 32 - info.count)
        let sentinel = [UInt8](repeating: 0x30, count: 16)
        let mod = sentinel + Array(modInfo.utf8) + sentinel
        info += varint(goVersion.utf8.count) + Array(goVersion.utf8) + varint(mod.count) + mod
        let shstrtab: [UInt8] = [0] + Array(".go.buildinfo".utf8) + [0] + Array(".shstrtab".utf8) + [0]
        let infoOffset = 64, strOffset = 64 + info.count
        let shoff = strOffset + shstrtab.count + padding
        var f: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        f += le(UInt16(2)) + le(UInt16(0x3E)) + le(UInt32(1)) + le(UInt64(0)) + le(UInt64(0)) + le(UInt64(shoff))
        f += le(UInt32(0)) + le(UInt16(64)) + le(UInt16(56)) + le(UInt16(0)) + le(UInt16(64)) + le(UInt16(3)) + le(UInt16(2))
        f += info + shstrtab + [UInt8](repeating: 0, count: padding)
        func section(_ name: UInt32, _ type: UInt32, _ off: Int, _ size: Int) -> [UInt8] {
            le(name) + le(type) + le(UInt64(0)) + le(UInt64(0)) + le(UInt64(off)) + le(UInt64(size))
                + le(UInt32(0)) + le(UInt32(0)) + le(UInt64(1)) + le(UInt64(0))
        }
        f += section(0, 0, 0, 0) + section(1, 1, infoOffset, info.count) + section(15, 3, strOffset, shstrtab.count)
        return f
    }
}

