import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ProvenantCore

/// Every refusal the API gives: a status and a JSON body naming the field at fault,
/// `{"error": {"field": …, "message": …}}`. Anything echoed from the request is redacted.
public struct FleetAPIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var field: String
    public var message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, field: String, _ message: String) {
        self.status = status; self.field = field; self.message = Redactor.redact(message)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        let body = FleetJSON.encode(["error": ["field": field, "message": message]])
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func unauthorized(_ why: String) -> FleetAPIError {
        var e = FleetAPIError(.unauthorized, field: "authorization", why)
        e.headers[.wwwAuthenticate] = "Bearer realm=\"provenant\""
        return e
    }
}

/// JSON with sorted keys, so answers are byte-for-byte repeatable.
enum FleetJSON {
    static func encode(_ value: some Encodable) -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? e.encode(value)) ?? Data("{}".utf8))
    }

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: encode(value))))
    }
}
