import ProvenantCore

/// Provenant's own rules, written as text in `Catalog/*.swift` (one static property per group).
public enum RuleCatalog {
    /// Every group, named for error messages. Adding a group means adding its line here.
    static var groups: [(name: String, text: String)] {
        [
            ("CloudRules.swift", cloud),
            ("SourceControlRules.swift", sourceControl),
            ("MessagingPaymentsRules.swift", messagingPayments),
            ("AIAndRegistryRules.swift", aiAndRegistries),
            ("KeysAndConnectionRules.swift", keysAndConnections),
            ("ProvidersAtoC.swift", providersAtoC),
            ("ProvidersMoreAtoF.swift", providersMoreAtoF),
            ("ProvidersDtoF.swift", providersDtoF),
            ("ProvidersFtoK.swift", providersFtoK),
            ("ProvidersLtoP.swift", providersLtoP),
            ("ProvidersMoreFtoP.swift", providersMoreFtoP),
            ("ProvidersPtoS.swift", providersPtoS),
            ("ProvidersMorePtoZ.swift", providersMorePtoZ),
            ("ProvidersTtoZ.swift", providersTtoZ),
        ]
    }

    /// All rules, parsed. A malformed record is a programming error caught by the rule tests, so the
    /// throwing form is what tests use; the engine uses `all`. Only the rule tests need each rule's
    /// own `positive:` and `negative:` examples (`examples: true`).
    public static func load(examples: Bool = false) throws(RuleTextError) -> [Rule] {
        // The groups are parsed on every core: this is most of the engine's start, and an image's read
        // waits on it for the first name it echoes.
        let groups = self.groups, width = min(Parallel.cores, groups.count)
        let parsed = Parallel.map(width: width) { w -> [Result<[Rule], RuleTextError>] in
            groups[Parallel.share(w, of: width, groups.indices)].map { g in
                Result { () throws(RuleTextError) -> [Rule] in try RuleText.parse(g.text, file: g.name, examples: examples) }
            }
        }
        var rules: [Rule] = []
        for r in parsed.joined() { rules += try r.get() }
        var seen: [String: String] = [:]
        for r in rules {
            if let first = seen[r.id] { throw RuleTextError(file: r.origin, line: 0, reason: "rule id '\(r.id)' already used at \(first)") }
            seen[r.id] = r.origin
        }
        return rules
    }
}
