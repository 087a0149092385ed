import Foundation
import Testing
@testable import Server

/// Expired sessions and sign-in links are deleted whenever a new one is made, not only when a link
/// happens to be used: a read-token holder posting the sign-in form in a loop grew the table without
/// bound (found by helper-207).
@Suite struct FleetSessionExpiryTests {
    @Test func makingASessionDeletesTheExpiredOnes() async throws {
        let dir = try scratchDirectory("sessions")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteFleetStore(path: dir.appendingPathComponent("db.sqlite").path)
        try await store.migrate()
        let token = String(repeating: "t", count: 64)
        try await store.createSession(hash: "expired-link", kind: "link", tokenHash: token, expiresAt: "2026-01-01T00:00:00Z", now: "2025-12-31T00:00:00Z")
        try await store.createSession(hash: "live-link", kind: "link", tokenHash: token, expiresAt: "2026-03-01T00:00:00Z", now: "2025-12-31T00:00:00Z")
        // A new session at a time past the first link's expiry.
        try await store.createSession(hash: "session", kind: "session", tokenHash: token, expiresAt: "2026-02-02T00:00:00Z", now: "2026-02-01T00:00:00Z")
        // Asked as of a time both links were live, only the one that has not expired is still there:
        // the other was deleted when the session was made, not by this lookup.
        #expect(try await store.consumeLink(hash: "expired-link", now: "2025-12-31T00:00:00Z") == nil)
        #expect(try await store.consumeLink(hash: "live-link", now: "2025-12-31T00:00:00Z") == token)
    }
}
