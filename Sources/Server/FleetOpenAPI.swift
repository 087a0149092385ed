import Foundation

/// The OpenAPI 3.1 document of the API (`Resources/openapi.json`), served at `/openapi.json`.
enum FleetOpenAPI {
    static let document: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json", subdirectory: "Resources"),
              let text = try? String(contentsOf: url, encoding: .utf8) else { return "{}" }
        return text
    }()
}
