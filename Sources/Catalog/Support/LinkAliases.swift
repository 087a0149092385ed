import ProvenantCore

/// Names that symbolic links give files, weighed a batch at a time on every core: a name is kept when
/// it is wanted and the file's real path is not (a real path that is wanted is read under that name
/// already, so nothing is read twice). Shared by an image's squashed filesystem and a directory's index.
struct LinkAliases<Item: Sendable> {
    private let wanted: @Sendable (String, Item) -> Bool
    private var batch: [(alias: String, real: String, item: Item)] = []
    private(set) var found: [(path: String, item: Item)] = []
    /// Names offered so far; past `limit` they are refused and `cut` is set.
    private(set) var offered = 0
    private(set) var cut = false
    let limit: Int

    /// Names links give files, looked at for one scan, in all.
    static var defaultLimit: Int { 1_000_000 }

    init(limit: Int = defaultLimit, wanted: @escaping @Sendable (String, Item) -> Bool) {
        self.limit = limit; self.wanted = wanted
    }

    /// Offers `alias`, a name a link gives the file at `real`; false once the limit is passed.
    mutating func offer(_ alias: String, real: String, _ item: Item) -> Bool {
        offered += 1
        if offered > limit { cut = true; return false }
        batch.append((alias, real, item))
        if batch.count >= 16_384 { flush() }
        return true
    }

    private mutating func flush() {
        let all = batch, wanted = self.wanted, width = Parallel.cores
        var shares = Parallel.map(width: width) { w -> [(path: String, item: Item)] in
            all[Parallel.share(w, of: width, all.indices)].compactMap { n in
                wanted(n.alias, n.item) && !wanted(n.real, n.item) ? (n.alias, n.item) : nil
            }
        }
        found += Parallel.joined(&shares)
        batch.removeAll(keepingCapacity: true)
    }

    /// What was kept, in path order.
    mutating func finish() -> [(path: String, item: Item)] {
        flush()
        return found.sorted { $0.path < $1.path }
    }
}
