extension StringProtocol {
    /// Trims spaces and tabs by bytes; Foundation's trimmingCharacters bridges through NSString
    /// and was a fifth of a root-filesystem scan.
    public var trimmed: String {
        let sub = Substring(self)
        let u = sub.utf8
        var s = u.startIndex, e = u.endIndex
        while s < e, u[s] == 32 || u[s] == 9 { s = u.index(after: s) }
        while e > s, case let c = u[u.index(before: e)], c == 32 || c == 9 { e = u.index(before: e) }
        return String(sub[s..<e])
    }
}
