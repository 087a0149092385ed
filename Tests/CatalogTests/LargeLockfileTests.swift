import Testing
@testable import Catalog
import ProvenantCore

/// Counts on the large lockfiles match what each lockfile lists. Expected numbers were counted with
/// Python's json/tomllib/yaml readers, independently of Provenant:
/// npm: `packages` keys containing `node_modules/` with a version and no `link`;
/// Cargo: `[[package]]` tables with a `source` (workspace members are the project itself);
/// poetry: `[[package]]` tables; pnpm v9: keys of `packages`; yarn: entry blocks with a version,
/// less workspace resolutions; Gemfile.lock: 4-space spec lines under GEM/GIT `specs:`;
/// requirements: lines of the form `name==version` (pip-compile output is fully pinned).
@Suite struct LargeLockfileTests {
    @Test(arguments: [
        ("package-lock-v2.json", 1466), ("package-lock-v3.json", 878), ("package-json_theia_package-lock.json", 2401),
    ])
    func npm(_ file: String, _ count: Int) throws {
        #expect(try Fixture.extract(NpmLockExtractor(), "large-lockfiles/" + file, includeDev: true).packages.count == count)
    }

    @Test func cargo() throws {
        #expect(try Fixture.extract(CargoLockExtractor(), "large-lockfiles/Cargom.lock").packages.count == 236)
    }

    @Test func poetry() throws {
        #expect(try Fixture.extract(PythonTOMLLockExtractor(.poetry), "large-lockfiles/poetry.lock", includeDev: true).packages.count == 32)
    }

    @Test func gemfile() throws {
        #expect(try Fixture.extract(GemfileLockExtractor(), "large-lockfiles/Gemfile4.lock").packages.count == 182)
    }

    @Test(arguments: [("pnpm-lock9a.yaml", 1005), ("pnpm-lock9b.yaml", 1352)])
    func pnpm(_ file: String, _ count: Int) throws {
        #expect(try Fixture.extract(PnpmLockExtractor(), "large-lockfiles/" + file, includeDev: true).packages.count == count)
    }

    @Test(arguments: [("yarn_locks_yarn.lock", 2029), ("yarn_locks_yarn-multi.lock", 1909), ("yarn_locks_yarnv4.lock", 1812)])
    func yarn(_ file: String, _ count: Int) throws {
        #expect(try Fixture.extract(YarnLockExtractor(), "large-lockfiles/" + file).packages.count == count)
    }

    @Test func requirementsLock() throws {
        let x = try Fixture.extract(RequirementsExtractor(), "large-lockfiles/requirements-lock.linux_py3.txt")
        #expect(x.packages.count == 377)
        #expect(x.diagnostics.isEmpty)
    }
}
