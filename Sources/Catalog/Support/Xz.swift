import CLzma
import ProvenantCore

/// xz files (every stream, as `xz -d` reads concatenated ones) and LZMA-alone (`.lzma`) files,
/// inflated against a budget: what a secret scan opens, `.deb` members among them.
public enum Xz {
    /// The xz stream header's magic.
    public static func isXz(_ b: some Collection<UInt8>) -> Bool { b.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) }

    /// Memory the decoder may take: `xz -9` needs about 65 MiB; a header asking for more (up to
    /// 1.5 GiB of dictionary) is refused rather than allocated.
    public static let memoryLimit: UInt64 = 128 << 20

    /// Inflates `bytes` (`lzmaAlone` for a `.lzma` file). Throws `InflateBudget.Exhausted` when the
    /// budget runs out and `ParseError` when nothing could be read; damage after some output ends it
    /// there, the output is returned and the damage goes to `damagedTail`.
    public static func decompress(_ bytes: [UInt8], name: String, lzmaAlone: Bool = false, budget: inout InflateBudget,
                                  damagedTail: inout ParseError?) throws -> [UInt8] {
        func damaged(_ why: String) -> ParseError { ParseError("'\(Redactor.quote(name, max: 120))' has damaged \(lzmaAlone ? "lzma" : "xz") data: \(why)") }
        var stream = lzma_stream()
        // LZMA_CONCATENATED (0x08): streams that follow one another, and the zero padding between them, are read too.
        let started = lzmaAlone ? lzma_alone_decoder(&stream, memoryLimit) : lzma_stream_decoder(&stream, memoryLimit, 0x08)
        guard started == LZMA_OK else { throw damaged("the decoder could not start") }
        defer { lzma_end(&stream) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var failure: ParseError?
        var exhausted = false
        bytes.withUnsafeBufferPointer { input in
            stream.next_in = input.baseAddress
            stream.avail_in = input.count
            while true {
                let (rc, produced) = chunk.withUnsafeMutableBufferPointer { buf -> (lzma_ret, Int) in
                    stream.next_out = buf.baseAddress
                    stream.avail_out = buf.count
                    let rc = lzma_code(&stream, LZMA_FINISH)
                    return (rc, buf.count - stream.avail_out)
                }
                if produced > 0 {
                    guard UInt64(produced) <= budget.remaining else { budget.remaining = 0; exhausted = true; return }
                    budget.remaining -= UInt64(produced)
                    out += chunk[0..<produced]
                }
                if rc == LZMA_STREAM_END {
                    // LZMA-alone ends at its end marker or size; xz reads joined streams and their
                    // padding itself. Bytes left over are no part of it (a token appended in clear, or a
                    // second stream nothing reads, found by helper-181).
                    if stream.avail_in > 0 { failure = damaged("\(stream.avail_in) bytes follow the end of the stream") }
                    return
                }
                // Every call consumes input or makes output; one that can do neither says LZMA_BUF_ERROR.
                guard rc == LZMA_OK else { failure = damaged(why(rc)); return }
            }
        }
        if exhausted { throw InflateBudget.Exhausted(limit: budget.limit) }
        if let failure {
            guard !out.isEmpty else { throw failure }
            damagedTail = failure
        }
        return out
    }

    static func why(_ rc: lzma_ret) -> String {
        switch rc {
        case LZMA_MEMLIMIT_ERROR: "it needs more than \(memoryLimit >> 20) MiB of memory to decode; refused"
        case LZMA_FORMAT_ERROR: "not in the format its name says"
        case LZMA_OPTIONS_ERROR: "it uses options this decoder does not support"
        case LZMA_DATA_ERROR: "a corrupt block"
        case LZMA_BUF_ERROR: "it ends before its last block"
        case LZMA_UNSUPPORTED_CHECK: "an unsupported integrity check"
        default: "decoder error \(rc.rawValue)"
        }
    }
}
