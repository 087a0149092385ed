import Foundation

/// Where a command's time goes, on standard error, when `PROVENANT_TIMINGS` is set: benchmarks
/// explain their medians with it. Free when unset.
public struct PhaseTimer: Sendable {
    private let enabled: Bool
    private var last: UInt64
    private let indent: String

    public init(indent: Int = 0, environment: [String: String] = ProcessInfo.processInfo.environment) {
        enabled = !(environment["PROVENANT_TIMINGS"] ?? "").isEmpty
        last = DispatchTime.now().uptimeNanoseconds
        self.indent = String(repeating: "  ", count: indent)
    }

    /// Reports the time since the previous lap (or creation) under `phase`.
    public mutating func lap(_ phase: @autoclosure () -> String) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        let ms = Double(now - last) / 1_000_000
        FileHandle.standardError.write(Data("timing: \(indent)\(phase()) \(String(format: "%.1f", ms)) ms\n".utf8))
        last = DispatchTime.now().uptimeNanoseconds
    }
}
