import Foundation

/// The `provenant` binary built beside the test bundle.
public var provenantBinary: String {
    let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("provenant").path
    return FileManager.default.fileExists(atPath: bin) ? bin : FileManager.default.currentDirectoryPath + "/.build/debug/provenant"
}

/// Runs a program (an absolute path, or a name looked up on PATH) and returns its exit status,
/// standard output and standard error. Output is read before waiting, so a large one cannot stall it.
public func runProcess(_ exe: String, _ args: [String], env: [String: String] = [:]) throws -> (code: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe.hasPrefix("/") ? exe : "/usr/bin/env")
    p.arguments = exe.hasPrefix("/") ? args : [exe] + args
    p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out; p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
