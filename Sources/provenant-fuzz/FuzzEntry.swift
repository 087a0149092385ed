import Foundation
import FuzzTargets

// Built by `scripts/fuzz` with -sanitize=fuzzer,address and -D PROVENANT_LIBFUZZER: libFuzzer drives
// the harness named by $PROVENANT_FUZZ_TARGET. A plain build replays input files through a harness:
//     provenant-fuzz list
//     provenant-fuzz TARGET FILE...

/// `$PROVENANT_FUZZ_TARGET`, or the list of targets and exit 2 when it names none.
func selectedTarget() -> FuzzTarget {
    let name = ProcessInfo.processInfo.environment["PROVENANT_FUZZ_TARGET"] ?? ""
    if name == "list" { printTargets(); exit(0) }
    guard let t = FuzzTargets.named(name) else {
        FileHandle.standardError.write(Data("PROVENANT_FUZZ_TARGET must name a harness, not '\(name)'; one of:\n".utf8))
        printTargets(to: FileHandle.standardError)
        exit(2)
    }
    return t
}

func printTargets(to out: FileHandle = .standardOutput) {
    let width = FuzzTargets.all.map(\.name.count).max() ?? 0
    for t in FuzzTargets.all {
        out.write(Data((t.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + t.summary + "\n").utf8))
    }
}

#if PROVENANT_LIBFUZZER
/// Chosen once, before the first input, so the choice costs nothing per execution.
nonisolated(unsafe) var fuzzTarget: FuzzTarget?

@_silgen_name("__lsan_disable") func lsanDisable()
@_silgen_name("__lsan_enable") func lsanEnable()

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    let target = selectedTarget()
    fuzzTarget = target
    // One warm-up run with LeakSanitizer off: state a harness builds once (the embedded trusted root,
    // the fixed manifest, runtime caches) lives in globals whose pointers Swift packs with enum tag
    // bits, which LeakSanitizer cannot follow; allocated here, it is never reported as a leak.
    lsanDisable()
    target.run([])
    lsanEnable()
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let target = fuzzTarget ?? selectedTarget()
    target.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

typealias FuzzerCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: FuzzerCallback) -> Int32

/// SwiftPM links an executable's `main` to `<module>_main`; in a fuzzer build that is libFuzzer's driver.
@_cdecl("provenant_fuzz_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var c = argc
    var v = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzzerTestOneInput)
}
#else
@main
struct Replay {
    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        if args.first == "list" { printTargets(); return }
        guard !args.isEmpty else {
            FileHandle.standardError.write(Data("usage: provenant-fuzz list | provenant-fuzz TARGET FILE...\n".utf8))
            exit(2)
        }
        let name = args.removeFirst()
        guard let target = FuzzTargets.named(name) else {
            FileHandle.standardError.write(Data("no harness named '\(name)'; `provenant-fuzz list` names them\n".utf8))
            exit(2)
        }
        for path in args {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
                exit(2)
            }
            let start = Date()
            target.run([UInt8](data))
            print("\(path): ok (\((Date().timeIntervalSince(start) * 1000).rounded() / 1000) s)")
        }
    }
}
#endif
