import Foundation
import Testing
import TestSupport
@testable import Server

/// The import lock's lease on the real PostgreSQL server `scripts/test` starts: an import that
/// cannot get a connection is answered within the store's deadline, and does not run when one comes
/// free later (the caller was told 503 already).
@Suite struct ImportLeaseTests {
    actor Gate {
        var leased = 0, open = false, ran = 0
        func lease() { leased += 1 }
        func release() { open = true }
        func run() { ran += 1 }
    }

    @Test func anImportWithoutAConnectionIsRefusedInTimeAndNeverRunsLate() async throws {
        let cluster = try PostgresCluster()
        let url = try cluster.createDatabase()
        let address = try #require(PostgresFleetStore.Address(url))
        let store = try PostgresFleetStore(address, deadline: .seconds(3))
        let gate = Gate()
        // Every connection of the pool (16) held until the gate opens.
        let holders = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        try await store.client.withConnection { _ in
                            await gate.lease()
                            while !(await gate.open) { try await Task.sleep(for: .milliseconds(20)) }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        // Each holder has its connection before the import asks (generously: connecting is slow under load).
        let ready = ContinuousClock.now + .seconds(60)
        while await gate.leased < 16, ContinuousClock.now < ready { try await Task.sleep(for: .milliseconds(20)) }
        #expect(await gate.leased == 16, "the holders did not all get a connection")

        // Without a deadline the import would wait for the holders, which wait for the test: after 30 s
        // the gate opens anyway, so such a build fails here instead of hanging.
        let watchdog = Task { try? await Task.sleep(for: .seconds(30)); await gate.release() }
        defer { watchdog.cancel() }
        let asked = ContinuousClock.now
        var refusal: String?
        do {
            _ = try await store.withImportLock { await gate.run(); return 1 }
        } catch {
            refusal = "\(error)"
        }
        let waited = ContinuousClock.now - asked
        #expect(refusal?.contains("no PostgreSQL connection for the import within") == true, "\(refusal ?? "it ran")")
        #expect(waited >= .seconds(3) && waited < .seconds(30), "\(waited)")

        // The pool frees its connections; the refused import's request for one is served now, and must not run.
        await gate.release()
        try await holders.value
        let value = try await store.withImportLock { await gate.run(); return 7 }
        #expect(value == 7, "an import with a connection runs")
        try await Task.sleep(for: .milliseconds(500))
        #expect(await gate.ran == 1, "only the import answered in time ran")
    }
}
