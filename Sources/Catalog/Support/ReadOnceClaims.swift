import Synchronization

/// Names a scan's extraction jobs claim so that a file several of them reach (a requirements file
/// that many others include) is read by one of them only. What is read under a claim must not depend
/// on which job made it, so that the result stays the same whatever the order the jobs ran in.
public final class ReadOnceClaims: Sendable {
    private let claimed = Mutex<Set<String>>([])
    public init() {}

    /// True for the first caller with this key in the scan, false for every later one.
    public func claim(_ key: String) -> Bool {
        claimed.withLock { $0.insert(key).inserted }
    }
}
