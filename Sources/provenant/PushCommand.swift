import ArgumentParser
import AsyncHTTPClient
import Catalog
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import ProvenantCore
import Server

struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Send a release's SBOM to the fleet server, and optionally record where it runs.",
        discussion: """
            The token comes from PROVENANT_SERVER_TOKEN, or --token-file (a command line is visible to every \
            user of the machine, so the token is never an argument). Attestations (--attestation) are verified \
            by the server against its trust policy, and the outcome is printed. Exit 0 when stored (or already \
            stored with the same SBOM), 1 when the server refuses or an attestation failed verification, 2 for \
            usage or input errors.
            """
    )

    @Option(name: .long, help: "The server's base URL, such as http://127.0.0.1:8080.")
    var server: String
    @Flag(name: .customLong("insecure-http"), help: "Allow a plain http --server that is not loopback (the token is then sent in clear).")
    var insecureHTTP = false

    @Option(name: .long, help: "Trust this PEM CA bundle for an https --server, instead of the system's roots.")
    var caFile: String?
    @Option(name: .long, help: "A file holding the bearer token (else PROVENANT_SERVER_TOKEN).")
    var tokenFile: String?
    @Option(name: .long, help: "The agent's name.")
    var agent: String
    @Option(name: .long, help: "The release's version.")
    var version: String
    @Option(name: .long, help: "Also record the release as running in this environment.")
    var deployment: String?
    @Option(name: .long, help: "The cluster for --deployment.")
    var cluster: String = "default"
    @Option(name: .long, help: "The digest of the artifact the release ships (sha256:HEX), when the SBOM's metadata component does not name it: what attestation subjects must match.")
    var artifactDigest: String?
    @Option(name: .long, help: "An attestation of the release (Sigstore bundle, DSSE envelope or .intoto.jsonl); repeatable.")
    var attestation: [String] = []
    @Option(name: .long, help: "The JSON of `provenant policy check --format json` for this release.")
    var policyResults: String?
    @Argument(help: "The CycloneDX or SPDX JSON SBOM.")
    var sbom: String

    func validate() throws {
        for (flag, v) in [("--agent", agent), ("--version", version), ("--cluster", cluster)] + (deployment.map { [("--deployment", $0)] } ?? []) {
            guard AgentName.isValid(v) else { throw ValidationError("\(flag) must be 1 to \(AgentName.maxLength) characters of letters, digits and . _ - +") }
        }
        guard let url = URL(string: server), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw ValidationError("--server must be an http or https URL")
        }
        guard RegistryClient.portIsValid(server) else { throw ValidationError("--server names a port outside 1 to 65535") }
        // The bearer token travels in every request: in plain text only to this machine, or when asked.
        if url.scheme == "http", !HostAddress.isLoopback(url.host ?? ""), !insecureHTTP {
            throw ValidationError("--server is plain http to a host that is not loopback, which would send the token in clear; use https, or pass --insecure-http")
        }
        if let d = artifactDigest {
            guard FleetIngest.sha256Hex(d) != nil else {
                throw ValidationError("--artifact-digest must be sha256:<64 hex digits>")
            }
        }
        if let caFile {
            guard (try? NIOSSLCertificate.fromPEMFile(caFile))?.isEmpty == false else { throw ValidationError("--ca-file must be a readable PEM file of certificates") }
        }
    }

    func token() throws -> String {
        if let f = tokenFile {
            do { return String(decoding: try NamedInputFile.read(f, limit: 4096, what: "the token", regularOnly: true), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) } catch {
                CLI.fail("error: --token-file \(error)")
            }
        }
        guard let t = ProcessInfo.processInfo.environment["PROVENANT_SERVER_TOKEN"], !t.isEmpty else {
            throw ValidationError("set PROVENANT_SERVER_TOKEN or pass --token-file")
        }
        return t
    }

    func run() async throws {
        let token = try token()
        let body: [UInt8]
        do { body = try NamedInputFile.read(sbom, limit: 1 << 30, what: "the SBOM", regularOnly: true) } catch { CLI.fail("error: \(error)") }
        let base = server.hasSuffix("/") ? String(server.dropLast()) : server
        // A client of its own: a connection that cannot be made (refused, or a certificate that does not
        // verify) fails at once instead of being retried until the request's deadline, which took 90 s
        // to report an untrusted certificate. A private CA is trusted for this client only.
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile { tls.trustRoots = .file(caFile) }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout.connect = .seconds(10)
        configuration.connectionPool.retryConnectionEstablishment = false
        if let why = FleetServer.eventLoopShortfall(for: "pushing to the fleet server") { CLI.fail("error: \(why)") }
        let own: HTTPClient? = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let client = own!
        do { try await push(client, base: base, token: token, body: body) } catch {
            try? await own?.shutdown()
            throw error
        }
        try? await own?.shutdown()
    }

    func push(_ client: HTTPClient, base: String, token: String, body: [UInt8]) async throws {
        func send(_ path: String, _ bytes: [UInt8]) async throws -> (UInt, String) {
            var request = HTTPClientRequest(url: base + path)
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer " + token)
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: bytes))
            let response: HTTPClientResponse
            do { response = try await client.execute(request, timeout: .seconds(300)) } catch {
                CLI.fail("error: cannot reach \(Redactor.redact(base)): \(Redactor.redact("\(error)"))")
            }
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            return (response.status.code, text)
        }
        // Every file is read before anything is sent, so a bad path stores nothing.
        var attachments: [(String, [UInt8])] = []
        for a in attestation {
            do { attachments.append((a, try NamedInputFile.read(a, limit: 256 << 20, what: "the attestation", regularOnly: true))) } catch { CLI.fail("error: --attestation \(error)") }
        }
        var policy: [UInt8]?
        if let p = policyResults {
            do { policy = try NamedInputFile.read(p, limit: 16 << 20, what: "the policy results", regularOnly: true) } catch { CLI.fail("error: --policy-results \(error)") }
        }
        let release = "/v1/agents/\(agent)/releases/\(version)"
        let (status, text) = try await send(release + (artifactDigest.map { "?artifact=" + $0 } ?? ""), body)
        guard status == 201 || status == 200 else {
            CLI.stderr("push refused: HTTP \(status): \(Redactor.redact(text))")
            throw ExitCode(1)
        }
        print(text)
        var failedVerification = false
        for (path, bytes) in attachments {
            let (s, t) = try await send(release + "/attestations", bytes)
            guard s == 201 || s == 200 else {
                CLI.stderr("attestation \(Redactor.redact(path)) refused: HTTP \(s): \(Redactor.redact(t))")
                throw ExitCode(1)
            }
            let outcome = (try? JSONSerialization.jsonObject(with: Data(t.utf8))) as? [String: Any]
            let state = outcome?["status"] as? String ?? "unknown"
            let reasons = outcome?["reasons"] as? [String] ?? []
            CLI.stderr("attestation \(Redactor.redact(path)): \(state)")
            for r in reasons where state != "verified" || r.hasPrefix("not checked") { CLI.stderr("  \(Redactor.redact(r))") }
            if state != "verified" && state != "not-checked" { failedVerification = true }
        }
        if let policy {
            let (s, t) = try await send(release + "/policy-results", policy)
            guard s == 201 else {
                CLI.stderr("policy results refused: HTTP \(s): \(Redactor.redact(t))")
                throw ExitCode(1)
            }
        }
        if let env = deployment {
            let d = FleetJSONBody.deployment(agent: agent, version: version, environment: env, cluster: cluster)
            let (s, t) = try await send("/v1/deployments", d)
            guard s == 201 else {
                CLI.stderr("deployment refused: HTTP \(s): \(Redactor.redact(t))")
                throw ExitCode(1)
            }
            print(t)
        }
        if failedVerification { throw ExitCode(1) }
    }
}

enum FleetJSONBody {
    static func deployment(agent: String, version: String, environment: String, cluster: String) -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return Array((try? e.encode(["agent": agent, "version": version, "environment": environment, "cluster": cluster])) ?? Data())
    }
}
