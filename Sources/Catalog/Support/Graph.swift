import ProvenantCore

/// Dependency edges and directness inside one lockfile, shared by every extractor.
enum Graph {
    /// Resolves each package's raw dependency keys (names, specs, paths) to package indices through
    /// `lookup`, and stores the refs as unique, sorted edges without self-loops.
    static func link<Key>(_ packages: inout [Package], _ raw: [[Key]], _ lookup: (Key) -> Int?) {
        for i in packages.indices where i < raw.count {
            packages[i].dependsOn = raw[i].compactMap(lookup).filter { $0 != i }.map { packages[$0].ref }.uniqueSorted()
        }
    }

    /// Marks the packages the project itself names as direct, and all others as indirect.
    static func markDirect(_ packages: inout [Package], roots: Set<String>) {
        for i in packages.indices { packages[i].isDirect = roots.contains(packages[i].ref) }
    }

    /// Scope and directness from the roots a lockfile records: whatever prod roots reach is required,
    /// whatever only optional roots (extras) reach is optional, whatever only dev roots reach is dev.
    static func applyRoots(_ packages: inout [Package], prod: Set<String>, dev: Set<String>, optional: Set<String> = []) {
        var index: [String: Int] = [:]
        for (i, p) in packages.enumerated() where index[p.ref] == nil { index[p.ref] = i }
        func reach(_ roots: Set<String>) -> Set<String> {
            var seen = Set<String>()
            var stack = Array(roots)
            while let r = stack.popLast() {
                guard seen.insert(r).inserted, let i = index[r] else { continue }
                stack.append(contentsOf: packages[i].dependsOn)
            }
            return seen
        }
        let prodReach = reach(prod), devReach = reach(dev), optionalReach = reach(optional)
        markDirect(&packages, roots: prod.union(dev).union(optional))
        for i in packages.indices where !prodReach.contains(packages[i].ref) {
            if optionalReach.contains(packages[i].ref) { packages[i].scope = .optional }
            else if devReach.contains(packages[i].ref) { packages[i].scope = .dev }
        }
    }
}

extension Sequence where Element: Hashable & Comparable {
    /// Deduplicated and sorted, the order every list in an SBOM is written in. Sorting first and
    /// dropping neighbours avoids hashing: per-file lists run to tens of thousands of entries.
    /// Most lists (md5sums, RECORD, single sightings) arrive sorted and unique, so that is checked
    /// first; `Array(self)` of an array shares its storage.
    func uniqueSorted() -> [Element] {
        let all = Array(self)
        if all.count < 2 || zip(all, all.dropFirst()).allSatisfy({ $0 < $1 }) { return all }
        var out: [Element] = []
        for e in all.sorted() where out.last != e { out.append(e) }
        return out
    }
}
