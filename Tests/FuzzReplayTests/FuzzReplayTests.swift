import Foundation
import Testing
import Catalog
import FuzzTargets

/// Every committed fuzz input, replayed through the same harness code `scripts/fuzz` runs under
/// libFuzzer. `Fixtures/<target>/` holds regression inputs and hand-written seeds; inputs under
/// `Fixtures/pending/<target>/` crash code another change is fixing and are not replayed yet.
enum ReplayInputs {
    static var root: String { Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path }

    /// `target/file` for every replayed input, sorted so test names are stable.
    static let all: [String] = {
        let fm = FileManager.default
        var out: [String] = []
        for dir in ((try? fm.contentsOfDirectory(atPath: root)) ?? []).sorted() where dir != "pending" && !dir.hasPrefix(".") {
            for f in ((try? fm.contentsOfDirectory(atPath: root + "/" + dir)) ?? []).sorted() where !f.hasPrefix(".") {
                out.append(dir + "/" + f)
            }
        }
        return out
    }()
}

/// Runs a harness on a thread of its own: harnesses block on async work, which must not happen
/// on the cooperative pool the tests run on.
func onOwnThread(_ body: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
        let t = Thread { body(); done.resume() }
        t.stackSize = 8 << 20  // what the main thread a fuzzer runs on gets
        t.start()
    }
}

@Suite struct FuzzReplayTests {
    /// A crash or trap in a harness ends the test process, which fails the run. Hangs are the fuzzer's
    /// to find (`-timeout=10` in `scripts/fuzz`); this test makes no timing assertion, because a
    /// loaded machine is not a defect.
    @Test(arguments: ReplayInputs.all)
    func replaysWithoutCrash(_ input: String) async throws {
        let name = String(input.split(separator: "/")[0])
        let target = try #require(FuzzTargets.named(name), "Fixtures/\(name) names no harness")
        let bytes = try #require(FileManager.default.contents(atPath: ReplayInputs.root + "/" + input))
        #expect(!bytes.isEmpty || input.contains("empty"), "\(input) is an empty fixture")
        await onOwnThread { target.run([UInt8](bytes)) }
    }

    /// Each harness reaches its parser on empty and trivial input without crashing, so a harness
    /// whose fixtures folder is empty is still exercised.
    @Test(arguments: FuzzTargets.all.map(\.name))
    func harnessRunsOnTrivialInput(_ name: String) async throws {
        let target = try #require(FuzzTargets.named(name))
        for input in ["", "{}", "[", "a = 1\n", "<a/>", "\u{0}\u{1}\u{2}"] {
            await onOwnThread { target.run(Array(input.utf8)) }
        }
    }

    /// Every extractor a scan runs has a harness of its own name: `package-json` had none until a
    /// review of the list against `Cataloger.defaultExtractors` found it.
    @Test func everyDefaultExtractorHasAHarness() {
        let names = Set(FuzzTargets.all.map(\.name))
        for e in Cataloger.defaultExtractors {
            #expect(names.contains(e.name), "the \(e.name) extractor has no fuzz harness")
        }
    }

    @Test func targetNamesAreUniqueAndFixtureFoldersNameHarnesses() throws {
        let names = FuzzTargets.all.map(\.name)
        #expect(Set(names).count == names.count)
        let folders = (try FileManager.default.contentsOfDirectory(atPath: ReplayInputs.root)).filter { $0 != "pending" && !$0.hasPrefix(".") }
        for f in folders { #expect(names.contains(f), "Fixtures/\(f) names no harness") }
    }
}
