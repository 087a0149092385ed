import ProvenantCore

/// Scope and directness from the roots a lockfile records: whatever prod roots reach is required,
/// whatever only dev roots reach is dev.
enum Graph {
    static func applyRoots(_ packages: inout [Package], prod: Set<String>, dev: Set<String>) {
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
        let prodReach = reach(prod), devReach = reach(dev)
        for i in packages.indices {
            let r = packages[i].ref
            packages[i].isDirect = prod.contains(r) || dev.contains(r)
            if devReach.contains(r) && !prodReach.contains(r) { packages[i].scope = .dev }
        }
    }
}
