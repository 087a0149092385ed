import Foundation
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
    ]
}
