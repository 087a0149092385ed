import Foundation
import Testing
@testable import Catalog
import ProvenantCore
import TestSupport

@Suite struct RobustnessTests {
    static func mutate(_ b: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
        var out = b
        for _ in 0..<Int.random(in: 1...8, using: &rng) {
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where !out.isEmpty: out[Int.random(in: 0..<out.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            case 1 where !out.isEmpty: out.removeSubrange(Int.random(in: 0..<out.count, using: &rng)...)
            case 2: out.insert(contentsOf: [0x22, 0x7B, 0x5B, 0x0A, 0x3A, 0x00, 0xFF].shuffled(using: &rng).prefix(3), at: Int.random(in: 0...out.count, using: &rng))
            case 3 where out.count > 2:
                let i = Int.random(in: 0..<out.count, using: &rng), j = Int.random(in: i..<out.count, using: &rng)
                out.insert(contentsOf: out[i..<min(j, i + 200)], at: Int.random(in: 0...out.count, using: &rng))
            case 4 where !out.isEmpty: out.remove(at: Int.random(in: 0..<out.count, using: &rng))
            default: out.append(contentsOf: "\n[[package]]\nname = \"x\"\n".utf8)
            }
        }
        return out
    }

    /// Feeds `bytes` to every extractor as a file named `name`. Each either returns, or rejects the
    /// input with a `ParseError` whose message is one non-empty line: any other error type, a
    /// multi-line message or a trap fails the run. Returns how many extractors accepted it.
    static func feed(_ bytes: [UInt8], as name: String, in dir: String) throws -> Int {
        let path = dir + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o755) // the Go binary reader only looks at executables
        defer { unlink(path) }
        let index = FileIndex(root: dir)
        let file = try #require(index.file(name))
        var accepted = 0
        for e in Cataloger.defaultExtractors {
            let ctx = ExtractContext(mode: .installed, includeDev: true)
            do {
                _ = try e.extract(ExtractInput(file: file, index: index, context: ctx))
                accepted += 1
            } catch let error as ParseError {
                #expect(!error.message.isEmpty && !error.message.contains("\n"), "\(e.name): \(error.message)")
            } catch {
                Issue.record("\(e.name) threw \(type(of: error)), not a ParseError: \(error)")
            }
        }
        return accepted
    }

    /// 10,000 mutated text fixtures and 600 mutated binaries (ELF with Go build info, nested jars),
    /// each fed to every extractor: any trap fails the whole test run.
    @Test func fuzzEveryExtractor() throws {
        let fm = FileManager.default
        var seeds: [[UInt8]] = []
        let base = Fixture.root + "/lockfiles"
        let en = fm.enumerator(atPath: base)
        while let rel = en?.nextObject() as? String {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: base + "/" + rel, isDirectory: &isDir), !isDir.boolValue,
                  let d = fm.contents(atPath: base + "/" + rel), d.count < 64 << 10 else { continue }
            seeds.append([UInt8](d))
        }
        seeds.sort { $0.count < $1.count || ($0.count == $1.count && $0.lexicographicallyPrecedes($1)) }
        #expect(seeds.count > 250)
        let dir = fm.temporaryDirectory.appendingPathComponent("provenant-fuzz-\(getpid())").path
        try? fm.removeItem(atPath: dir)
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: dir) }
        var rng = SplitMix(state: 20261129)
        for i in 0..<10_000 {
            _ = try Self.feed(Self.mutate(seeds[i % seeds.count], &rng), as: "input", in: dir)
        }
        // The binary parsers are reached too: seeds that parse before mutation, then mutants.
        let elf = SyntheticGoBinary.make(goVersion: "go1.22.1", modInfo: "path\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\tgolang.org/x/text\tv0.14.0\th1:ScX5w1eTa3QqT8oi6+ziP7dTV1S2+ALU0bI+0zXKWiQ=\n", padding: 64)
        let jarURL = URL(fileURLWithPath: dir + "/seed.jar")
        try JavaExtractorTests.jar(jarURL, pom: "groupId=org.example\nartifactId=inner\nversion=2.0\n", manifest: "Manifest-Version: 1.0\n")
        let jar = [UInt8](try Data(contentsOf: jarURL))
        try fm.removeItem(at: jarURL)
        #expect(try Self.feed(elf, as: "app", in: dir) >= 1, "the ELF seed parses")
        #expect(try Self.feed(jar, as: "lib.jar", in: dir) >= 1, "the jar seed parses")
        for i in 0..<600 {
            let (seed, name) = i.isMultiple(of: 2) ? (elf, "app") : (jar, "lib.jar")
            _ = try Self.feed(Self.mutate(seed, &rng), as: name, in: dir)
        }
    }

    @Test func badTreesAreReportedAndTheScanGoesOn() async throws {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("provenant-bad-\(getpid())").path
        try? fm.removeItem(atPath: root)
        try fm.createDirectory(atPath: root + "/a/b", withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: root) }
        // A symlink loop, binary data where JSON is expected, an empty lockfile, a truncated one, an unreadable one.
        try fm.createSymbolicLink(atPath: root + "/a/b/loop", withDestinationPath: root + "/a")
        try Data([0x00, 0x01, 0xFF, 0xFE, 0x00]).write(to: URL(fileURLWithPath: root + "/a/package-lock.json"))
        try Data().write(to: URL(fileURLWithPath: root + "/a/b/Cargo.lock"))
        try "{\"packages\": [{\"name\": \"x/y\", \"vers".write(toFile: root + "/composer.lock", atomically: true, encoding: .utf8)
        try "[[package]]\nname = \"serde\"\nversion = \"1.0.0\"\nsource = \"registry+x\"\n".write(toFile: root + "/Cargo.lock", atomically: true, encoding: .utf8)
        try "requests==2.0.0\n".write(toFile: root + "/requirements.txt", atomically: true, encoding: .utf8)
        let unreadable = root + "/a/b/yarn.lock"
        try "x@1:\n  version \"1\"\n".write(toFile: unreadable, atomically: true, encoding: .utf8)
        chmod(unreadable, 0)
        let inv = try await Cataloger().catalog(root)
        let readable: Set<String> = getuid() == 0 ? ["pkg:npm/x@1"] : []
        #expect(Set(inv.packages.map(\.purl.description)) == readable.union(["pkg:cargo/serde@1.0.0", "pkg:pypi/requests@2.0.0"]))
        let paths = Set(inv.diagnostics.map(\.location.path))
        #expect(paths.contains("a/package-lock.json"))
        #expect(paths.contains("composer.lock"))
        #expect(inv.diagnostics.first { $0.location.path == "a/package-lock.json" }?.message.contains("binary") == true)
        // Running as root can read mode-0 files; otherwise the unreadable file must be reported.
        if getuid() != 0 { #expect(paths.contains("a/b/yarn.lock")) }
        // Each problem is reported once.
        #expect(inv.diagnostics.count == Set(inv.diagnostics.map(\.location.path)).count)
    }

    @Test func hugeLockfileDoesNotTrap() throws {
        // 100 MB of requirements: streamed through the parser without a crash.
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("provenant-huge-\(getpid())").path
        try? fm.removeItem(atPath: dir)
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // 100 MB must not be left behind in the temporary directory.
        defer { try? fm.removeItem(atPath: dir) }
        let hash = String(repeating: "a", count: 64)
        var data = [UInt8]()
        data.reserveCapacity(101 << 20)
        var n = 0
        while data.count < 100 << 20 {
            data.append(contentsOf: "package-\(n)==1.0.0 --hash=sha256:\(hash)\n".utf8)
            n += 1
        }
        try Data(data).write(to: URL(fileURLWithPath: dir + "/requirements.txt"))
        let index = FileIndex(root: dir)
        let x = try RequirementsExtractor().extract(ExtractInput(file: try #require(index.file("requirements.txt")), index: index,
                                                                 context: ExtractContext(mode: .source, includeDev: false)))
        #expect(x.packages.count == n)
    }
}
