import Foundation

/// Where a command's time goes, on standard error, when `PROVENANT_TIMINGS` is set: benchmarks
/// explain their medians with it. Free when unset.
public struct PhaseTimer: Sendable {
    public let enabled: Bool
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

    /// Reports the slowest of several timed parts (extractor jobs, say), slowest first.
    public func slowest(_ parts: [(name: String, nanoseconds: UInt64)], count: Int = 8) {
        guard enabled else { return }
        for p in parts.sorted(by: { $0.nanoseconds > $1.nanoseconds }).prefix(count) {
            FileHandle.standardError.write(Data("timing: \(indent)  \(p.name) \(String(format: "%.1f", Double(p.nanoseconds) / 1_000_000)) ms\n".utf8))
        }
    }
}
