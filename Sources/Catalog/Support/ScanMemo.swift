import Synchronization

/// Answers one scan's extraction jobs share, by key: a file that every one of many jobs would read
/// and parse again (a monorepo root's package.json, read for each member's manifest) is read once.
/// An answer must depend on the key and the target only, never on which job asked first.
public final class ScanMemo<Value: Sendable>: Sendable {
    private let answers = Mutex<[String: Value]>([:])
    public init() {}

    /// The answer for `key`, made by `make` the first time. Two jobs asking at once may both make it;
    /// the first kept is the one every later caller gets.
    public func value(_ key: String, _ make: () -> Value) -> Value {
        if let known = answers.withLock({ $0[key] }) { return known }
        let made = make()
        return answers.withLock { a in
            if let known = a[key] { return known }
            a[key] = made
            return made
        }
    }
}
