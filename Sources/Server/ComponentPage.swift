/// `?limit=N&after=PURL` of `GET /v1/agents/{agent}/releases/{version}/components`: a page of the
/// release's components in purl byte order, and the cursor of the next page.
struct ComponentPage {
    static let defaultLimit = 1000
    static let maxLimit = 10_000

    var limit = ComponentPage.defaultLimit
    var after: String?

    struct Answer: Encodable {
        var components: [StoredComponent]
        /// The `after` of the next page; absent on the last.
        var next: String?
    }

    /// A `limit` parameter of any paged route: 1 to `maxLimit`.
    static func limit(_ v: Substring) throws -> Int {
        guard let n = Int(v), n >= 1, n <= maxLimit else {
            throw FleetAPIError(.badRequest, field: "limit", "limit must be a whole number from 1 to \(maxLimit)")
        }
        return n
    }

    /// An unknown parameter is refused, as on every other route.
    init(_ q: some Sequence<(key: Substring, value: Substring)>) throws {
        for (k, v) in q {
            switch k {
            case "limit": limit = try Self.limit(v)
            case "after":
                // As long as a stored purl may be: a 4,211-byte one ended a page with a `next` this
                // refused, and the components after it could not be reached (found by helper-207).
                guard !v.isEmpty, v.utf8.count <= FleetFindingCursor.maxField, !v.utf8.contains(0) else {
                    throw FleetAPIError(.badRequest, field: "after", "after must be the next value of a previous page")
                }
                after = String(v)
            default: throw FleetServer.unknownParameter(k)
            }
        }
    }
}
