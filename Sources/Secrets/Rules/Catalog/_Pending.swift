extension RuleCatalog {
    static let providersAtoC = ""
    static let providersDtoF = ""
}
