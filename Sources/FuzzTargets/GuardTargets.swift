import Guard

/// What `provenant guard` reads from clients: a destination host as written in a URL, a `Host`
/// header or a CONNECT authority.
enum GuardTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget("guard-destination", "a destination host: names (IDN too), IPv4 in every form, bracketed IPv6 with zones") { bytes in
            guard let host = String(validating: bytes, as: UTF8.self), let d = try? Destination.parse(host) else { return }
            if case .address(let a) = d { _ = a.classification; _ = a.description }
        },
    ]
}
