import Foundation
import ProvenantCore

public struct CVSSError: Error, Sendable, CustomStringConvertible {
    public var vector: String
    public var reason: String
    public var description: String { "invalid CVSS vector '\(vector)': \(reason)" }
}

/// CVSS base scores computed from vectors, v3.0/v3.1 by the specification's formula and v4.0 by
/// its MacroVector interpolation.
public enum CVSS {
    public static func baseScore(_ vector: String) throws(CVSSError) -> Double {
        if vector.hasPrefix("CVSS:3.") { return try v3(vector) }
        if vector.hasPrefix("CVSS:4.0/") { return try v4(vector) }
        throw CVSSError(vector: vector, reason: "only CVSS v3.x and v4.0 vectors are scored")
    }

    static func metrics(_ vector: String, allowed: [String: Set<String>], required: [String]) throws(CVSSError) -> [String: String] {
        var m: [String: String] = [:]
        for part in vector.split(separator: "/").dropFirst() {
            let kv = part.split(separator: ":", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { throw CVSSError(vector: vector, reason: "'\(part)' is not METRIC:VALUE") }
            guard m[kv[0]] == nil else { throw CVSSError(vector: vector, reason: "metric \(kv[0]) appears twice") }
            if let ok = allowed[kv[0]], !ok.contains(kv[1]) { throw CVSSError(vector: vector, reason: "\(kv[0]) cannot be '\(kv[1])'") }
            m[kv[0]] = kv[1]
        }
        for r in required where m[r] == nil { throw CVSSError(vector: vector, reason: "missing base metric \(r)") }
        return m
    }

    // MARK: v3

    static func v3(_ vector: String) throws(CVSSError) -> Double {
        let allowed: [String: Set<String>] = ["AV": ["N", "A", "L", "P"], "AC": ["L", "H"], "PR": ["N", "L", "H"], "UI": ["N", "R"],
                                              "S": ["U", "C"], "C": ["H", "L", "N"], "I": ["H", "L", "N"], "A": ["H", "L", "N"]]
        let m = try metrics(vector, allowed: allowed, required: ["AV", "AC", "PR", "UI", "S", "C", "I", "A"])
        let changed = m["S"] == "C"
        // Every metric was checked against `allowed` above; a miss here is still an error, not a trap.
        func w(_ metric: String, _ table: [String: Double]) throws(CVSSError) -> Double {
            guard let v = m[metric], let x = table[v] else { throw CVSSError(vector: vector, reason: "bad \(metric)") }
            return x
        }
        let av = try w("AV", ["N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2])
        let ac = try w("AC", ["L": 0.77, "H": 0.44])
        let pr = try w("PR", changed ? ["N": 0.85, "L": 0.68, "H": 0.5] : ["N": 0.85, "L": 0.62, "H": 0.27])
        let ui = try w("UI", ["N": 0.85, "R": 0.62])
        let cia = ["H": 0.56, "L": 0.22, "N": 0.0]
        let iss = 1 - (1 - (try w("C", cia))) * (1 - (try w("I", cia))) * (1 - (try w("A", cia)))
        let impact = changed ? 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15) : 6.42 * iss
        guard impact > 0 else { return 0 }
        let exploitability = 8.22 * av * ac * pr * ui
        return roundUp(min((changed ? 1.08 : 1) * (impact + exploitability), 10))
    }

    /// CVSS 3.1's Roundup: the smallest one-decimal number not below the input, computed on
    /// integers so floating-point noise cannot push 4.0 to 4.1.
    static func roundUp(_ x: Double) -> Double {
        let i = Int((x * 100_000).rounded())
        return i % 10_000 == 0 ? Double(i) / 100_000 : Double(i / 10_000 + 1) / 10
    }

    // MARK: v4

    static let v4Levels: [String: [String: Double]] = [
        "AV": ["N": 0, "A": 0.1, "L": 0.2, "P": 0.3], "PR": ["N": 0, "L": 0.1, "H": 0.2], "UI": ["N": 0, "P": 0.1, "A": 0.2],
        "AC": ["L": 0, "H": 0.1], "AT": ["N": 0, "P": 0.1],
        "VC": ["H": 0, "L": 0.1, "N": 0.2], "VI": ["H": 0, "L": 0.1, "N": 0.2], "VA": ["H": 0, "L": 0.1, "N": 0.2],
        "SC": ["H": 0.1, "L": 0.2, "N": 0.3], "SI": ["S": 0, "H": 0.1, "L": 0.2, "N": 0.3], "SA": ["S": 0, "H": 0.1, "L": 0.2, "N": 0.3],
        "CR": ["H": 0, "M": 0.1, "L": 0.2], "IR": ["H": 0, "M": 0.1, "L": 0.2], "AR": ["H": 0, "M": 0.1, "L": 0.2],
    ]

    static func v4(_ vector: String) throws(CVSSError) -> Double {
        let base: [String: Set<String>] = ["AV": ["N", "A", "L", "P"], "AC": ["L", "H"], "AT": ["N", "P"], "PR": ["N", "L", "H"],
                                           "UI": ["N", "P", "A"], "VC": ["H", "L", "N"], "VI": ["H", "L", "N"], "VA": ["H", "L", "N"],
                                           "SC": ["H", "L", "N"], "SI": ["H", "L", "N"], "SA": ["H", "L", "N"],
                                           "E": ["X", "A", "P", "U"], "CR": ["X", "H", "M", "L"], "IR": ["X", "H", "M", "L"], "AR": ["X", "H", "M", "L"]]
        let raw = try metrics(vector, allowed: base, required: ["AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"])
        // Effective values: threat and requirement metrics default to their worst case.
        var m = raw
        m["E"] = raw["E"].flatMap { $0 == "X" ? nil : $0 } ?? "A"
        for r in ["CR", "IR", "AR"] { m[r] = raw[r].flatMap { $0 == "X" ? nil : $0 } ?? "H" }
        func v(_ k: String) -> String { m[k] ?? "" }
        if ["VC", "VI", "VA", "SC", "SI", "SA"].allSatisfy({ v($0) == "N" }) { return 0 }

        let eq1 = v("AV") == "N" && v("PR") == "N" && v("UI") == "N" ? 0
            : (v("AV") == "N" || v("PR") == "N" || v("UI") == "N") && v("AV") != "P" ? 1 : 2
        let eq2 = v("AC") == "L" && v("AT") == "N" ? 0 : 1
        let eq3 = v("VC") == "H" && v("VI") == "H" ? 0 : (v("VC") == "H" || v("VI") == "H" || v("VA") == "H") ? 1 : 2
        let eq4 = v("SI") == "S" || v("SA") == "S" ? 0 : (v("SC") == "H" || v("SI") == "H" || v("SA") == "H") ? 1 : 2
        let eq5 = ["A": 0, "P": 1, "U": 2][v("E")] ?? 0
        let eq6 = (v("CR") == "H" && v("VC") == "H") || (v("IR") == "H" && v("VI") == "H") || (v("AR") == "H" && v("VA") == "H") ? 0 : 1
        let eqs = [eq1, eq2, eq3, eq4, eq5, eq6]
        func key(_ e: [Int]) -> String { e.map(String.init).joined() }
        guard let value = CVSS4Tables.macroScores[key(eqs)] else { throw CVSSError(vector: vector, reason: "no MacroVector score") }
        func lower(_ changes: [(Int, Int)]) -> Double? {
            var e = eqs
            for (i, d) in changes { e[i] += d }
            return CVSS4Tables.macroScores[key(e)]
        }
        let next1 = lower([(0, 1)]), next2 = lower([(1, 1)]), next4 = lower([(3, 1)]), next5 = lower([(4, 1)])
        let next36: Double?
        switch (eq3, eq6) {
        case (0, 0):
            let l = lower([(5, 1)]), r = lower([(2, 1)])
            next36 = [l, r].compactMap { $0 }.max()
        case (1, 0): next36 = lower([(5, 1)])
        case (2, _): next36 = lower([(2, 1), (5, 1)])
        default: next36 = lower([(2, 1)])
        }
        // The first highest-severity vector of this MacroVector that the scored vector does not exceed.
        var distances: [String: Double] = [:]
        let maxes = CVSS4Tables.maxVectors(eq1: eq1, eq2: eq2, eq3: eq3, eq6: eq6, eq4: eq4, eq5: eq5)
        for candidate in maxes {
            var d: [String: Double] = [:]
            var ok = true
            for (metric, levels) in v4Levels {
                guard let mine = levels[v(metric)], let theirs = candidate[metric].flatMap({ levels[$0] }) else { continue }
                d[metric] = mine - theirs
                if mine - theirs < 0 { ok = false; break }
            }
            if ok { distances = d; break }
        }
        func sum(_ ks: [String]) -> Double { ks.reduce(0) { $0 + (distances[$1] ?? 0) } }
        let step = 0.1
        let parts: [(Double?, Double, Double)] = [
            (next1, sum(["AV", "PR", "UI"]), CVSS4Tables.depth1[eq1] * step),
            (next2, sum(["AC", "AT"]), CVSS4Tables.depth2[eq2] * step),
            (next36, sum(["VC", "VI", "VA", "CR", "IR", "AR"]), (CVSS4Tables.depth36[eq3]?[eq6] ?? 1) * step),
            (next4, sum(["SC", "SI", "SA"]), CVSS4Tables.depth4[eq4] * step),
            (next5, 0, 1),
        ]
        var total = 0.0, n = 0
        for (next, distance, depth) in parts {
            guard let next else { continue }
            n += 1
            total += (value - next) * (distance / depth)
        }
        let score = min(10, max(0, value - (n == 0 ? 0 : total / Double(n))))
        return ((score * 10) + 1e-9).rounded() / 10
    }
}
