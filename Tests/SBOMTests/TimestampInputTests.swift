import Foundation
import Testing
import ProvenantCore
import SBOM
import TestSupport

/// SOURCE_DATE_EPOCH and RFC 3339 text come from outside: a bad value is an input error, never a trap.
@Suite struct TimestampInputTests {
    @Test func sourceDateEpochAcceptsOnlyWholeNonNegativeSeconds() throws {
        #expect(try SourceDateEpoch.seconds("0") == 0)
        #expect(try SourceDateEpoch.seconds("1700000000") == 1_700_000_000)
        #expect(try SourceDateEpoch.seconds("253402300799") == SourceDateEpoch.maximum)
        #expect(try SourceDateEpoch.date(from: [:]) == nil)
        #expect(try SourceDateEpoch.date(from: ["SOURCE_DATE_EPOCH": "86400"]) == Date(timeIntervalSince1970: 86_400))
        for bad in ["nan", "NaN", "inf", "-inf", "infinity", "-1", "+1", "1.5", "1e9", "0x10", " 1", "1 ", "", "1_000",
                    "253402300800", "99999999999999999999999999", "１２３"] {
            do {
                _ = try SourceDateEpoch.seconds(bad)
                Issue.record("'\(bad)' was accepted")
            } catch {
                #expect(error.description.hasPrefix("SOURCE_DATE_EPOCH '"), "\(error)")
                #expect(!error.description.contains("\n"))
            }
        }
        #expect(throws: InputError.self) { try DocumentInfo(toolVersion: "t", environment: ["SOURCE_DATE_EPOCH": "nan"]) }
        #expect(try DocumentInfo(toolVersion: "t", environment: ["SOURCE_DATE_EPOCH": "1700000000"]).isoTimestamp == "2023-11-14T22:13:20Z")
    }

    /// `SOURCE_DATE_EPOCH=nan` used to trap (exit 132) in `sbom`, `scan` and `provenance`.
    @Test func theCLIRefusesABadSourceDateEpochWithExit2() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-sde-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("requests==2.31.0\n".utf8).write(to: URL(fileURLWithPath: dir + "/requirements.txt"))
        for value in ["nan", "-5", "1e400", "17000000000000000000000"] {
            for args in [["sbom", dir], ["provenance", "--subject", dir + "/requirements.txt"]] {
                let r = try runProcess(provenantBinary, args, env: ["SOURCE_DATE_EPOCH": value])
                #expect(r.code == 2, "\(args[0]) with SOURCE_DATE_EPOCH=\(value): exit \(r.code), \(r.err)")
                let lines = r.err.split(separator: "\n")
                #expect(lines.count == 1 && lines[0].contains("SOURCE_DATE_EPOCH '\(value)' is invalid"), "\(r.err)")
                #expect(r.out.isEmpty)
            }
        }
        let ok = try runProcess(provenantBinary, ["sbom", dir], env: ["SOURCE_DATE_EPOCH": "1700000000"])
        #expect(ok.code == 0)
        #expect(ok.out.contains("2023-11-14T22:13:20Z"))
    }

    @Test func rfc3339FractionsOfAnyLengthNeverOverflow() throws {
        let base = 1_704_067_200.0  // 2024-01-01T00:00:00Z
        for digits in [1, 9, 18, 19, 20, 25, 400] {
            // Nines round up to the next second in a Double; fours stay inside it.
            let frac = String(repeating: "4", count: digits)
            let d = try #require(RFC3339.date(from: "2024-01-01T00:00:00.\(frac)Z"), "\(digits) digits")
            #expect(d.timeIntervalSince1970 >= base && d.timeIntervalSince1970 < base + 1, "\(digits) digits")
        }
        #expect(RFC3339.date(from: "2024-01-01T00:00:00.5Z")?.timeIntervalSince1970 == base + 0.5)
        for bad in ["2024-01-01T00:00:00.Z", "2024-01-01T00:00:00.12a4Z", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "+024-01-01T00:00:00Z"] {
            #expect(RFC3339.date(from: bad) == nil, "\(bad)")
        }
        // Writing never traps either, whatever the Date holds.
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: .nan)) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 1e300)) == "9999-12-31T23:59:59Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: -.infinity)) == "0001-01-01T00:00:00Z")
    }
}
