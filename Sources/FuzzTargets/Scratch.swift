import Foundation
import ProvenantCore

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

    private static let lock = NSLock()
    nonisolated(unsafe) private static var counter = 0

    /// Writes `bytes` at `relative` inside a fresh directory of its own, runs `body` with the file's
    /// path and the directory, then removes the directory. A directory per call keeps concurrent
    /// replays of one harness (the test runner's) from seeing each other's files.
    static func withFile<T>(_ bytes: [UInt8], target: String, as relative: String, executable: Bool = false,
                            _ body: (_ path: String, _ directory: String) -> T) -> T {
        let n: Int = lock.withLock { counter += 1; return counter }
        let dir = (root as NSString).appendingPathComponent("\(target)-\(n)")
        let path = (dir as NSString).appendingPathComponent(relative)
        try? FileManager.default.createDirectory(atPath: PathText.parent(path), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: path, contents: Data(bytes),
                                       attributes: [.posixPermissions: executable ? 0o700 : 0o600])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return body(path, dir)
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
