import Foundation
import ProvenantCore
import Server

/// The fleet server's request bodies: an SBOM pushed as a release, and a deployment record. A refusal
/// must be a `FleetAPIError` (a 4xx naming a field), never anything else. And its trust policy file.
enum ServerTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget("server-release", "POST /v1/agents/{agent}/releases/{version}: a CycloneDX or SPDX body (FleetIngest.release)") { bytes in
            do { _ = try FleetIngest.release(agent: "a", version: "1", body: Data(bytes)) } catch let e as FleetAPIError {
                precondition((400..<500).contains(e.status.code) && !e.field.isEmpty)
            } catch { preconditionFailure("not a FleetAPIError: \(error)") }
        },
        FuzzTarget("server-deployment", "POST /v1/deployments: {agent, version, environment, cluster} (FleetIngest.deployment)") { bytes in
            do { _ = try FleetIngest.deployment(Data(bytes)) } catch let e as FleetAPIError {
                precondition((400..<500).contains(e.status.code) && !e.field.isEmpty)
            } catch { preconditionFailure("not a FleetAPIError: \(error)") }
        },
        FuzzTarget("server-trust-policy", "server --trust-policy FILE: agents and their signers, the key files and trusted root it names (FleetTrustPolicy.load)") { bytes in
            // A refusal is an `InputError` by the type of `load`; only crashes, hangs and leaks are findings.
            Scratch.withFile(bytes, target: "server-trust-policy", as: "trust.yaml") { path, _ in _ = try? FleetTrustPolicy.load(path) }
        },
        FuzzTarget("postgres-url", "server --database postgres://USER@HOST[:PORT]/DB?sslmode=…: the address and its TLS mode (PostgresFleetStore.Address.parse)") { bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            switch PostgresFleetStore.Address.parse(text, environment: [:]) {
            case .success(let a):
                // What it reads back is an address of the same kind, never plain text to another machine
                // unless asked for, and never verify-full to an IP address.
                precondition(!a.host.isEmpty && !a.database.isEmpty && (1...65535).contains(a.port))
                let asked = URLComponents(string: text)?.queryItems?.contains { $0.name == "sslmode" && $0.value == "disable" } == true
                precondition(a.tls != .disable || asked || HostAddress.isLoopback(a.host))
                // The password is never in the description: user and host only (a database may be named
                // `u:pw@d`, which is no password, found by this harness's first run).
                precondition(a.description.hasPrefix("postgres://\(a.user)@"), "the password is never in the description")
            case .failure(let why):
                precondition(!why.description.isEmpty && !why.description.contains("\n"))
            }
        },
    ]
}
