import Foundation

enum CLI {
    static func stderr(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

    /// Input errors exit 2, as usage errors do.
    static func fail(_ message: String) -> Never {
        stderr(message)
        exit(2)
    }

    static func write(_ text: String, to path: String?) throws {
        guard let path, path != "-" else { FileHandle.standardOutput.write(Data(text.utf8)); return }
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            fail("error: \(path): cannot write output: \(error.localizedDescription)")
        }
    }
}
