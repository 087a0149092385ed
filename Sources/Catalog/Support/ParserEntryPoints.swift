import ProvenantCore

/// Public doors into the internal text parsers, so the fuzz harnesses reach exactly the code the
/// extractors run. Each parses and discards; a thrown error is an ordinary rejection.
public enum ParserEntryPoints {
    /// The TOML reader behind Cargo.lock, poetry.lock, uv.lock, pdm.lock and pylock.toml.
    public static func toml(_ text: String) throws {
        _ = try TOMLParser.parse(text)
    }

    /// The XML reader behind pom.xml; every callback is visited, as the pom reader does.
    public static func xml(_ bytes: [UInt8]) throws {
        var events = 0
        try MiniXML.parse(bytes, start: { _, _ in events += 1 }, text: { _ in events += 1 }, end: { _ in events += 1 })
    }
}
