import Foundation
import Testing
import ProvenantCore
import TestSupport
@testable import Permissions

/// `policy check DIR` reads only inside DIR: a manifest-named link that leads out of it, a FIFO, a
/// device or a link loop is rejected (the run is an input error) and never read. Before, the walk
/// listed links and read them wherever they led, so a pod outside the checked directory was checked
/// as if it were in it.
@Suite struct CheckedDirectoryConfinementTests {
    static let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: NAME}\nspec:\n  containers:\n  - {name: c, image: x, securityContext: {privileged: true}}\n"

    func scratch() throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-confine-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: d + "/checked/inner", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: d + "/outside", withIntermediateDirectories: true)
        try Self.pod.replacingOccurrences(of: "NAME", with: "inside").write(toFile: d + "/checked/inner/real.yaml", atomically: true, encoding: .utf8)
        try Self.pod.replacingOccurrences(of: "NAME", with: "outsider").write(toFile: d + "/outside/priv.yaml", atomically: true, encoding: .utf8)
        return d
    }

    @Test(.timeLimit(.minutes(1))) func aDirectoryIsReadOnlyInsideItself() throws {
        let d = try scratch(), c = d + "/checked"
        let fm = FileManager.default
        try fm.createSymbolicLink(atPath: c + "/in.yaml", withDestinationPath: "inner/real.yaml")
        try fm.createSymbolicLink(atPath: c + "/abs.yaml", withDestinationPath: d + "/outside/priv.yaml")
        try fm.createSymbolicLink(atPath: c + "/up.yaml", withDestinationPath: "../outside/priv.yaml")
        try fm.createSymbolicLink(atPath: c + "/zero.yaml", withDestinationPath: "/dev/zero")
        try fm.createSymbolicLink(atPath: c + "/loop.yaml", withDestinationPath: "loop.yaml")
        try fm.createSymbolicLink(atPath: c + "/outdir.yaml", withDestinationPath: "../outside")
        #expect(mkfifo(c + "/fifo.yaml", 0o600) == 0)
        // Found by review (helper-204): an absolute link is a host path, as kubectl follows it. Read
        // as if the directory were a filesystem image, `abs.yaml` gave this harmless decoy inside it,
        // and the privileged pod kubectl would apply was never seen.
        try fm.createDirectory(atPath: c + d + "/outside", withIntermediateDirectories: true)
        try "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: decoy}\n".write(toFile: c + d + "/outside/priv.yaml", atomically: true, encoding: .utf8)
        // An absolute link into the directory itself is read; so is a manifest under `.git`, which
        // `kubectl apply -R` applies too.
        let real = try #require(PathText.real(c))
        try fm.createSymbolicLink(atPath: c + "/absin.yaml", withDestinationPath: real + "/inner/real.yaml")
        try fm.createSymbolicLink(atPath: c + "/absdot.yaml", withDestinationPath: real + "/./inner/./real.yaml")
        try fm.createDirectory(atPath: c + "/.git", withIntermediateDirectories: true)
        try Self.pod.replacingOccurrences(of: "NAME", with: "ingit").write(toFile: c + "/.git/priv.yaml", atomically: true, encoding: .utf8)

        let got = try Workloads.collect([c])
        // The file inside, as itself and through both links inside, and the one under .git; nothing
        // from outside.
        #expect(got.pods.map(\.name).sorted() == ["ingit", "inside", "inside", "inside", "inside"], "\(got.pods.map { "\($0.file): \($0.name)" })")
        // The decoy is a file of the directory and is read as itself, never as `abs.yaml`.
        #expect(got.objects.serviceAccounts.map(\.file) == [c + d + "/outside/priv.yaml"], "\(got.objects.serviceAccounts.map(\.file))")
        let rejected = Set(got.rejected.map { PathText.lastComponent($0.location.path) })
        #expect(rejected == ["abs.yaml", "up.yaml", "zero.yaml", "loop.yaml", "outdir.yaml", "fifo.yaml"], "\(got.rejected)")
        #expect(got.rejected.allSatisfy { $0.message.contains("not read") }, "\(got.rejected)")

        // The command: the pod inside is reported, the rejected files make it an input error, and
        // nothing of the outside pod is printed.
        let r = try runProcess(provenantBinary, ["policy", "check", c])
        #expect(r.code == 2, "\(r.out)\(r.err)")
        #expect(r.out.contains("Pod/inside") && !r.out.contains("outsider") && !r.err.contains("outsider"), "\(r.out)\(r.err)")
        #expect(r.err.contains("abs.yaml: a symbolic link out of "), "\(r.err)")
        #expect(r.err.contains("fifo.yaml: not a regular file; not read"), "\(r.err)")
    }

    /// A link target that is not UTF-8 reads back with U+FFFD in place of its bad bytes, so it could
    /// match a directory whose name holds a real U+FFFD: `deploy\xff/priv.yaml`, outside, would read
    /// the decoy `deploy\u{FFFD}/priv.yaml` inside (helper-205). Such a target is refused.
    @Test func aTargetThatIsNotUTF8IsNotFollowed() throws {
        let d = try scratch()
        let checked = d + "/deploy\u{FFFD}"
        try FileManager.default.createDirectory(atPath: checked, withIntermediateDirectories: true)
        try "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: decoy}\n".write(toFile: checked + "/priv.yaml", atomically: true, encoding: .utf8)
        func cString(_ bytes: [UInt8]) -> [CChar] { bytes.map { CChar(bitPattern: $0) } + [0] }
        let sibling = Array((d + "/deploy").utf8) + [0xFF]
        #expect(mkdir(cString(sibling), 0o755) == 0)
        let pod = Self.pod.replacingOccurrences(of: "NAME", with: "outsider")
        let fd = open(cString(sibling + Array("/priv.yaml".utf8)), O_WRONLY | O_CREAT, 0o644)
        #expect(fd >= 0 && write(fd, pod, pod.utf8.count) == pod.utf8.count)
        close(fd)
        #expect(symlink(cString(sibling + Array("/priv.yaml".utf8)), cString(Array((checked + "/pod.yaml").utf8))) == 0)
        let got = try Workloads.collect([checked])
        #expect(got.objects.serviceAccounts.map(\.file) == [checked + "/priv.yaml"], "\(got.objects.serviceAccounts.map(\.file))")
        #expect(got.rejected.map { PathText.lastComponent($0.location.path) } == ["pod.yaml"], "\(got.rejected)")
        #expect(got.rejected.first?.message.contains("a symbolic link out of") == true, "\(got.rejected)")
    }

    /// A compose project's `.env` that is an absolute link is the host file compose reads. Read as a
    /// path under the compose file's directory, a decoy there set `PRIV=false` while the real file
    /// compose interpolates with sets `PRIV=true`. It is NOT CHECKED now; a link inside is read.
    @Test func aComposeDotEnvLinkedOutIsNotReadAsADecoy() throws {
        let d = try scratch(), c = d + "/checked"
        try "services:\n  app:\n    image: x@sha256:\(String(repeating: "0", count: 64))\n    privileged: ${PRIV:-false}\n".write(toFile: c + "/compose.yaml", atomically: true, encoding: .utf8)
        try "PRIV=true\n".write(toFile: d + "/outside/real.env", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: c + d + "/outside", withIntermediateDirectories: true)
        try "PRIV=false\n".write(toFile: c + d + "/outside/real.env", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: c + "/.env", withDestinationPath: d + "/outside/real.env")
        func rules() throws -> [String] {
            try Workloads.collect([c + "/compose.yaml"]).objects.compose.flatMap { RuntimeConfigs.compose($0.node, file: $0.file) }.map(\.rule)
        }
        let outside = try rules()
        #expect(outside.contains("compose:not-checked") && !outside.contains("pss:privileged"), "\(outside)")
        // A link to a file inside the directory, even spelled absolute, is read.
        try FileManager.default.removeItem(atPath: c + "/.env")
        try "PRIV=true\n".write(toFile: c + "/in.env", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: c + "/.env", withDestinationPath: try #require(PathText.real(c)) + "/in.env")
        let inside = try rules()
        #expect(inside.contains("pss:privileged") && !inside.contains("compose:not-checked"), "\(inside)")
    }

    /// A kustomization resource that is a link out of the checked path renders files the walk never
    /// read: NOT CHECKED, whether the link is absolute or relative (the relative one passed before).
    @Test func aKustomizationResourceLinkedOutIsNotChecked() throws {
        let d = try scratch(), c = d + "/checked"
        try FileManager.default.createSymbolicLink(atPath: c + "/rel", withDestinationPath: "../outside")
        try FileManager.default.createSymbolicLink(atPath: c + "/abs", withDestinationPath: d + "/outside")
        try "resources:\n- inner\n- rel\n- abs\n".write(toFile: c + "/kustomization.yaml", atomically: true, encoding: .utf8)
        // A resource that is the checked directory itself is inside it (helper-204: it was "not found").
        try FileManager.default.createDirectory(atPath: c + "/prod", withIntermediateDirectories: true)
        try "resources:\n- ..\n".write(toFile: c + "/prod/kustomization.yaml", atomically: true, encoding: .utf8)
        let found = try Workloads.collect([c]).notChecked.map(\.found)
        #expect(found.count == 2, "\(found)")
        #expect(found.contains { $0.contains("entry rel is") } && found.contains { $0.contains("entry abs is") }, "\(found)")
        #expect(!found.contains { $0.contains("entry inner") }, "\(found)")
    }

    /// A file named alone is the operator's: a pipe is read (process substitution), but never past
    /// the limit, and a directory or an oversized file is refused with the path.
    @Test(.timeLimit(.minutes(1))) func aNamedFileIsReadWithinItsLimit() throws {
        let d = try scratch()
        #expect(throws: InputError.self) { try Workloads.read("/dev/zero") }
        let zero = #expect(throws: InputError.self) { try NamedInputFile.read("/dev/zero", limit: 1 << 16, what: "key") }
        #expect(zero?.description == "/dev/zero: cannot read key: more than the 64 KiB this file may have", "\(String(describing: zero))")
        let directory = #expect(throws: InputError.self) { try NamedInputFile.read(d, limit: 100) }
        #expect(directory?.description.hasSuffix("cannot read file: a directory, not a file") == true, "\(String(describing: directory))")
        let big = d + "/big.yaml"
        try String(repeating: "a", count: 101).write(toFile: big, atomically: true, encoding: .utf8)
        let tooBig = #expect(throws: InputError.self) { try NamedInputFile.read(big, limit: 100) }
        #expect(tooBig?.description == "\(big): cannot read file: 101 bytes, over the 100 bytes this file may have", "\(String(describing: tooBig))")
        #expect(try NamedInputFile.read(big, limit: 101).count == 101)

        // A FIFO with a writer: read whole when within the limit, refused one byte past it. The
        // writer whose reader gave up gets EPIPE, not the signal.
        signal(SIGPIPE, SIG_IGN)
        for (size, limit, fits) in [(200_000, 200_000, true), (200_001, 200_000, false)] {
            let fifo = d + "/fifo-\(size)"
            #expect(mkfifo(fifo, 0o600) == 0)
            let writer = Thread {
                guard let h = FileHandle(forWritingAtPath: fifo) else { return }
                try? h.write(contentsOf: Data(repeating: 0x61, count: size))
                try? h.close()
            }
            writer.start()
            if fits {
                #expect(try NamedInputFile.read(fifo, limit: limit) == [UInt8](repeating: 0x61, count: size))
            } else {
                #expect(throws: InputError.self) { try NamedInputFile.read(fifo, limit: limit) }
            }
            while !writer.isFinished { usleep(1_000) }
        }

        // Through the command, from a pipe: `policy check <(…)`.
        let r = try runProcess("/bin/bash", ["-c", "\(provenantBinary) policy check <(cat \(d)/outside/priv.yaml)"])
        #expect(r.out.contains("Pod/outsider"), "\(r.out)\(r.err)")
    }
}
