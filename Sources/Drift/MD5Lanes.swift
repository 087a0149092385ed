import Foundation
import ProvenantCore

/// MD5 over eight messages at once, one per lane of 32-bit vectors (the "multi-buffer" technique).
/// MD5 cannot be sped up within one message, since every step needs the one before, but eight
/// independent messages fill the vector units; `verify-files` hashes tens of thousands of files for
/// `dpkg --verify`'s md5sums, so the lanes are always fed. RFC 1321 is the definition; the tests check
/// every lane against swift-crypto's `Insecure.MD5`.
struct MD5Lanes {
    typealias Vector = SIMD8<UInt32>
    static let width = 8

    var a = Vector(repeating: 0x6745_2301)
    var b = Vector(repeating: 0xefcd_ab89)
    var c = Vector(repeating: 0x98ba_dcfe)
    var d = Vector(repeating: 0x1032_5476)

    /// Starts a new message in `lane`.
    mutating func reset(lane: Int) {
        a[lane] = 0x6745_2301; b[lane] = 0xefcd_ab89; c[lane] = 0x98ba_dcfe; d[lane] = 0x1032_5476
    }

    /// The 16 bytes of `lane`'s digest, in the order MD5 writes them.
    func digest(lane: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        for word in [a[lane], b[lane], c[lane], d[lane]] {
            for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
        }
        return out
    }

    /// The rotation amounts, read from memory the compiler cannot see into: with constants, LLVM
    /// recognises a rotate and, lacking a vector rotate before AVX-512, splits it into one scalar
    /// `rol` per lane, which is slower than scalar MD5. From memory it stays two vector shifts.
    nonisolated(unsafe) static let shifts: UnsafeMutablePointer<UInt32> = {
        let p = UnsafeMutablePointer<UInt32>.allocate(capacity: 33)
        for s in 0...32 { p[s] = UInt32(s) }
        return p
    }()
    @inline(__always) static func f(_ a: inout Vector, _ b: Vector, _ c: Vector, _ d: Vector, _ m: Vector, _ k: UInt32, _ s: Int, _ t: UnsafePointer<UInt32>) {
        let x = a &+ (d ^ (b & (c ^ d))) &+ m &+ Vector(repeating: k)
        a = b &+ ((x &<< t[s]) | (x &>> t[32 - s]))
    }
    @inline(__always) static func g(_ a: inout Vector, _ b: Vector, _ c: Vector, _ d: Vector, _ m: Vector, _ k: UInt32, _ s: Int, _ t: UnsafePointer<UInt32>) {
        let x = a &+ (c ^ (d & (b ^ c))) &+ m &+ Vector(repeating: k)
        a = b &+ ((x &<< t[s]) | (x &>> t[32 - s]))
    }
    @inline(__always) static func h(_ a: inout Vector, _ b: Vector, _ c: Vector, _ d: Vector, _ m: Vector, _ k: UInt32, _ s: Int, _ t: UnsafePointer<UInt32>) {
        let x = a &+ (b ^ c ^ d) &+ m &+ Vector(repeating: k)
        a = b &+ ((x &<< t[s]) | (x &>> t[32 - s]))
    }
    @inline(__always) static func i(_ a: inout Vector, _ b: Vector, _ c: Vector, _ d: Vector, _ m: Vector, _ k: UInt32, _ s: Int, _ t: UnsafePointer<UInt32>) {
        let x = a &+ (c ^ (b | ~d)) &+ m &+ Vector(repeating: k)
        a = b &+ ((x &<< t[s]) | (x &>> t[32 - s]))
    }

    /// One 64-byte block in every lane: `w[n]` holds word `n` (little-endian) of each lane's block.
    mutating func compress(_ w: UnsafePointer<Vector>) {
        let t = UnsafePointer(Self.shifts)
        var a = self.a, b = self.b, c = self.c, d = self.d
        Self.f(&a, b, c, d, w[0], 0xd76aa478, 7, t)
        Self.f(&d, a, b, c, w[1], 0xe8c7b756, 12, t)
        Self.f(&c, d, a, b, w[2], 0x242070db, 17, t)
        Self.f(&b, c, d, a, w[3], 0xc1bdceee, 22, t)
        Self.f(&a, b, c, d, w[4], 0xf57c0faf, 7, t)
        Self.f(&d, a, b, c, w[5], 0x4787c62a, 12, t)
        Self.f(&c, d, a, b, w[6], 0xa8304613, 17, t)
        Self.f(&b, c, d, a, w[7], 0xfd469501, 22, t)
        Self.f(&a, b, c, d, w[8], 0x698098d8, 7, t)
        Self.f(&d, a, b, c, w[9], 0x8b44f7af, 12, t)
        Self.f(&c, d, a, b, w[10], 0xffff5bb1, 17, t)
        Self.f(&b, c, d, a, w[11], 0x895cd7be, 22, t)
        Self.f(&a, b, c, d, w[12], 0x6b901122, 7, t)
        Self.f(&d, a, b, c, w[13], 0xfd987193, 12, t)
        Self.f(&c, d, a, b, w[14], 0xa679438e, 17, t)
        Self.f(&b, c, d, a, w[15], 0x49b40821, 22, t)
        Self.g(&a, b, c, d, w[1], 0xf61e2562, 5, t)
        Self.g(&d, a, b, c, w[6], 0xc040b340, 9, t)
        Self.g(&c, d, a, b, w[11], 0x265e5a51, 14, t)
        Self.g(&b, c, d, a, w[0], 0xe9b6c7aa, 20, t)
        Self.g(&a, b, c, d, w[5], 0xd62f105d, 5, t)
        Self.g(&d, a, b, c, w[10], 0x02441453, 9, t)
        Self.g(&c, d, a, b, w[15], 0xd8a1e681, 14, t)
        Self.g(&b, c, d, a, w[4], 0xe7d3fbc8, 20, t)
        Self.g(&a, b, c, d, w[9], 0x21e1cde6, 5, t)
        Self.g(&d, a, b, c, w[14], 0xc33707d6, 9, t)
        Self.g(&c, d, a, b, w[3], 0xf4d50d87, 14, t)
        Self.g(&b, c, d, a, w[8], 0x455a14ed, 20, t)
        Self.g(&a, b, c, d, w[13], 0xa9e3e905, 5, t)
        Self.g(&d, a, b, c, w[2], 0xfcefa3f8, 9, t)
        Self.g(&c, d, a, b, w[7], 0x676f02d9, 14, t)
        Self.g(&b, c, d, a, w[12], 0x8d2a4c8a, 20, t)
        Self.h(&a, b, c, d, w[5], 0xfffa3942, 4, t)
        Self.h(&d, a, b, c, w[8], 0x8771f681, 11, t)
        Self.h(&c, d, a, b, w[11], 0x6d9d6122, 16, t)
        Self.h(&b, c, d, a, w[14], 0xfde5380c, 23, t)
        Self.h(&a, b, c, d, w[1], 0xa4beea44, 4, t)
        Self.h(&d, a, b, c, w[4], 0x4bdecfa9, 11, t)
        Self.h(&c, d, a, b, w[7], 0xf6bb4b60, 16, t)
        Self.h(&b, c, d, a, w[10], 0xbebfbc70, 23, t)
        Self.h(&a, b, c, d, w[13], 0x289b7ec6, 4, t)
        Self.h(&d, a, b, c, w[0], 0xeaa127fa, 11, t)
        Self.h(&c, d, a, b, w[3], 0xd4ef3085, 16, t)
        Self.h(&b, c, d, a, w[6], 0x04881d05, 23, t)
        Self.h(&a, b, c, d, w[9], 0xd9d4d039, 4, t)
        Self.h(&d, a, b, c, w[12], 0xe6db99e5, 11, t)
        Self.h(&c, d, a, b, w[15], 0x1fa27cf8, 16, t)
        Self.h(&b, c, d, a, w[2], 0xc4ac5665, 23, t)
        Self.i(&a, b, c, d, w[0], 0xf4292244, 6, t)
        Self.i(&d, a, b, c, w[7], 0x432aff97, 10, t)
        Self.i(&c, d, a, b, w[14], 0xab9423a7, 15, t)
        Self.i(&b, c, d, a, w[5], 0xfc93a039, 21, t)
        Self.i(&a, b, c, d, w[12], 0x655b59c3, 6, t)
        Self.i(&d, a, b, c, w[3], 0x8f0ccc92, 10, t)
        Self.i(&c, d, a, b, w[10], 0xffeff47d, 15, t)
        Self.i(&b, c, d, a, w[1], 0x85845dd1, 21, t)
        Self.i(&a, b, c, d, w[8], 0x6fa87e4f, 6, t)
        Self.i(&d, a, b, c, w[15], 0xfe2ce6e0, 10, t)
        Self.i(&c, d, a, b, w[6], 0xa3014314, 15, t)
        Self.i(&b, c, d, a, w[13], 0x4e0811a1, 21, t)
        Self.i(&a, b, c, d, w[4], 0xf7537e82, 6, t)
        Self.i(&d, a, b, c, w[11], 0xbd3af235, 10, t)
        Self.i(&c, d, a, b, w[2], 0x2ad7d2bb, 15, t)
        Self.i(&b, c, d, a, w[9], 0xeb86d391, 21, t)
        self.a &+= a; self.b &+= b; self.c &+= c; self.d &+= d
    }
}
