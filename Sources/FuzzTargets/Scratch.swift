import Foundation

/// A per-process scratch directory for harnesses whose parser reads a file by path. It lives on
/// /dev/shm when there is one, so a million executions do not touch a disk.
enum Scratch {
    static let root: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let dir = (base as NSString).appendingPathComponent("provenant-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // Removed at exit so repeated runs leave nothing behind.
        atexit { try? FileManager.default.removeItem(atPath: Scratch.root) }
        return dir
    }()

    /// The directory owned by one harness, emptied and recreated on every call so no earlier input
    /// is visible to the next.
    static func directory(_ target: String) -> String {
        let dir = (root as NSString).appendingPathComponent(target)
        try? FileManager.default.removeItem(atPath: dir)
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Writes `bytes` at `relative` inside the harness's directory and returns the absolute path.
    static func write(_ bytes: [UInt8], target: String, as relative: String, executable: Bool = false) -> String {
        let dir = directory(target)
        let path = (dir as NSString).appendingPathComponent(relative)
        let parent = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: path, contents: Data(bytes),
                                       attributes: [.posixPermissions: executable ? 0o700 : 0o600])
        return path
    }
}

/// Runs async work to completion from synchronous code (the libFuzzer callback, a replay loop).
/// Callers must not be on Swift's cooperative pool: the fuzzer's thread and XCTest's are not.
func runBlocking(_ body: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        await body()
        done.signal()
    }
    done.wait()
}
