import _CryptoExtras
@preconcurrency import Crypto
import Foundation
import ProvenantCore

/// A signing key Provenant can use: ECDSA P-256 with SHA-256, or Ed25519.
public enum SigningKey: Sendable {
    /// The largest key file read: a PEM key, or a certificate chain, is a few KiB.
    public static let maxPEMBytes = 64 << 10

    case p256(P256.Signing.PrivateKey)
    case ed25519(Curve25519.Signing.PrivateKey)

    public enum KeyType: String, Sendable, CaseIterable { case ecdsaP256 = "ecdsa-p256", ed25519 }

    public static func generate(_ type: KeyType) -> SigningKey {
        switch type {
        case .ecdsaP256: return .p256(P256.Signing.PrivateKey())
        case .ed25519: return .ed25519(Curve25519.Signing.PrivateKey())
        }
    }

    public var publicKey: VerifyingKey {
        switch self {
        case .p256(let k): return .p256(k.publicKey)
        case .ed25519(let k): return .ed25519(k.publicKey)
        }
    }

    /// DER for ECDSA, the 64 raw bytes for Ed25519.
    public func sign(_ message: Data) throws -> Data {
        switch self {
        case .p256(let k): return try k.signature(for: message).derRepresentation
        case .ed25519(let k): return try k.signature(for: message)
        }
    }

    /// PKCS#8 DER.
    public var pkcs8: Data {
        switch self {
        case .p256(let k): return k.derRepresentation
        case .ed25519(let k): return PKCS8.ed25519Prefix + k.rawRepresentation
        }
    }

    public var pkcs8PEM: String { PEM.encode(pkcs8, label: "PRIVATE KEY") }

    /// Reads PKCS#8 PEM, or Provenant's encrypted form when `password` is given.
    public static func load(pem: String, password: String?) throws(InputError) -> SigningKey {
        if pem.contains("BEGIN \(KeyEncryption.label)") {
            guard let password, !password.isEmpty else { throw InputError("the key is encrypted; set PROVENANT_KEY_PASSWORD") }
            guard let blob = PEM.decode(pem, label: KeyEncryption.label) else { throw InputError("malformed encrypted key PEM") }
            return try fromPKCS8(try KeyEncryption.decrypt(blob, password: password))
        }
        guard let der = PEM.decode(pem, label: "PRIVATE KEY") else { throw InputError("not a PKCS#8 PEM private key (BEGIN PRIVATE KEY)") }
        return try fromPKCS8(der)
    }

    static func fromPKCS8(_ der: Data) throws(InputError) -> SigningKey {
        if der.starts(with: PKCS8.ed25519Prefix), der.count == PKCS8.ed25519Prefix.count + 32,
           let k = try? Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32)) { return .ed25519(k) }
        if let k = try? P256.Signing.PrivateKey(derRepresentation: der) { return .p256(k) }
        throw InputError("unsupported private key: Provenant signs with ECDSA P-256 or Ed25519")
    }
}

/// A public key for verification.
public enum VerifyingKey: Sendable {
    case p256(P256.Signing.PublicKey)
    case ed25519(Curve25519.Signing.PublicKey)

    public var spki: Data {
        switch self {
        case .p256(let k): return k.derRepresentation
        case .ed25519(let k): return PKCS8.ed25519SPKIPrefix + k.rawRepresentation
        }
    }

    public var pem: String { PEM.encode(spki, label: "PUBLIC KEY") }

    /// A stable id: the hex SHA-256 of the SPKI DER.
    public var keyID: String { Hex.encode(SHA256.hash(data: spki)) }

    public var typeName: String {
        switch self { case .p256: "ecdsa-p256"; case .ed25519: "ed25519" }
    }

    public static func load(pem: String) throws(InputError) -> VerifyingKey {
        guard let der = PEM.decode(pem, label: "PUBLIC KEY") else { throw InputError("not an SPKI PEM public key (BEGIN PUBLIC KEY)") }
        if der.starts(with: PKCS8.ed25519SPKIPrefix), der.count == PKCS8.ed25519SPKIPrefix.count + 32,
           let k = try? Curve25519.Signing.PublicKey(rawRepresentation: der.suffix(32)) { return .ed25519(k) }
        if let k = try? P256.Signing.PublicKey(derRepresentation: der) { return .p256(k) }
        throw InputError("unsupported public key: ECDSA P-256 or Ed25519 expected")
    }

    /// ECDSA signatures are accepted in DER or as raw r‖s.
    public func verify(_ signature: Data, over message: Data) -> Bool {
        switch self {
        case .p256(let k):
            let sig = (try? P256.Signing.ECDSASignature(derRepresentation: signature))
                ?? (signature.count == 64 ? try? P256.Signing.ECDSASignature(rawRepresentation: signature) : nil)
            return sig.map { k.isValidSignature($0, for: message) } ?? false
        case .ed25519(let k):
            return signature.count == 64 && k.isValidSignature(signature, for: message)
        }
    }
}

enum PKCS8 {
    /// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } } (RFC 8410).
    static let ed25519Prefix = Data([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20])
    /// SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (0 unused bits, 32 bytes) }.
    static let ed25519SPKIPrefix = Data([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])
}

enum PEM {
    static func encode(_ der: Data, label: String) -> String {
        let b64 = der.base64EncodedString()
        var lines: [String] = []
        var i = b64.startIndex
        while i < b64.endIndex {
            let j = b64.index(i, offsetBy: 64, limitedBy: b64.endIndex) ?? b64.endIndex
            lines.append(String(b64[i..<j])); i = j
        }
        return "-----BEGIN \(label)-----\n" + lines.joined(separator: "\n") + "\n-----END \(label)-----\n"
    }

    static func decode(_ pem: String, label: String) -> Data? {
        guard let b = pem.range(of: "-----BEGIN \(label)-----"), let e = pem.range(of: "-----END \(label)-----"), b.upperBound <= e.lowerBound else { return nil }
        let body = pem[b.upperBound..<e.lowerBound].filter { !$0.isWhitespace }
        return Data(base64Encoded: String(body))
    }
}

/// Private keys at rest, when PROVENANT_KEY_PASSWORD is set: scrypt (N = 2^15, r = 8, p = 1) derives
/// a 256-bit key from the password and a random 16-byte salt, and ChaCha20-Poly1305 seals the
/// PKCS#8 DER. The PEM body is `PVK1` ‖ logN ‖ r ‖ p ‖ salt ‖ nonce ‖ ciphertext ‖ tag.
enum KeyEncryption {
    static let label = "PROVENANT ENCRYPTED PRIVATE KEY"
    static let magic = Data("PVK1".utf8)

    static func encrypt(_ pkcs8: Data, password: String) throws -> Data {
        let salt = Data((0..<16).map { _ in UInt8.random(in: 0...255) })
        let (logN, r, p): (UInt8, UInt8, UInt8) = (15, 8, 1)
        let key = try KDF.Scrypt.deriveKey(from: Data(password.utf8), salt: salt, outputByteCount: 32, rounds: 1 << Int(logN), blockSize: Int(r), parallelism: Int(p))
        let box = try ChaChaPoly.seal(pkcs8, using: key, authenticating: magic)
        return magic + Data([logN, r, p]) + salt + box.combined
    }

    static func decrypt(_ blob: Data, password: String) throws(InputError) -> Data {
        let b = [UInt8](blob)
        guard b.count > 4 + 3 + 16 + 12 + 16, Data(b[0..<4]) == magic else { throw InputError("not a Provenant encrypted key (PVK1)") }
        let (logN, r, p) = (Int(b[4]), Int(b[5]), Int(b[6]))
        try checkScrypt(logN: logN, r: r, p: p)
        let salt = Data(b[7..<23])
        do {
            let key = try KDF.Scrypt.deriveKey(from: Data(password.utf8), salt: salt, outputByteCount: 32, rounds: 1 << logN, blockSize: r, parallelism: p)
            let box = try ChaChaPoly.SealedBox(combined: Data(b[23...]))
            return try ChaChaPoly.open(box, using: key, authenticating: magic)
        } catch {
            throw InputError("cannot decrypt the key: wrong PROVENANT_KEY_PASSWORD or a damaged file")
        }
    }

    /// The most a key file may ask of scrypt. Its parameters are read from the file before any
    /// password is checked, so a crafted file could otherwise demand gigabytes and hours:
    /// scrypt needs 128·N·r bytes per lane and time in proportion to N·r·p.
    static let maxLogN = 20, maxR = 32, maxP = 16
    static let maxWorkBytes = 256 << 20

    static func checkScrypt(logN: Int, r: Int, p: Int) throws(InputError) {
        let limits = "Provenant accepts N from 2^10 to 2^\(maxLogN), r up to \(maxR), p up to \(maxP), and 128·N·r·p up to \(maxWorkBytes >> 20) MiB"
        guard logN >= 10, logN <= maxLogN, (1...maxR).contains(r), (1...maxP).contains(p),
              128 * (1 << logN) * r * p <= maxWorkBytes else {
            throw InputError("encrypted key asks for scrypt N = 2^\(logN), r = \(r), p = \(p), beyond what \(limits); refused")
        }
    }

    static func pem(_ pkcs8: Data, password: String) throws -> String { PEM.encode(try encrypt(pkcs8, password: password), label: label) }
}

extension SigningKey {
    /// Writes `NAME.key` (mode 0600, encrypted when a password is given) and `NAME.pub`.
    public func write(to base: String, password: String?) throws(InputError) {
        let keyPEM: String
        do { keyPEM = try password.flatMap { $0.isEmpty ? nil : $0 }.map { try KeyEncryption.pem(pkcs8, password: $0) } ?? pkcs8PEM } catch {
            throw InputError("cannot encrypt the key (\(error))")
        }
        let keyPath = base + ".key"
        // The public half's path is looked at first: a FIFO or device there would take (or block on)
        // the write after the private key was already on disk.
        var st = stat()
        if lstat(base + ".pub", &st) == 0, st.st_mode & S_IFMT != S_IFREG {
            throw InputError("is not a regular file; refused, and no key was written", at: Location(base + ".pub"))
        }
        // Created with 0600 from the start, so the key is never readable by others, even briefly.
        // O_NOFOLLOW: a planted symlink at the key's path must not redirect the private key elsewhere.
        let fd = open(keyPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw InputError("cannot create key file: \(String(cString: strerror(errno)))", at: Location(keyPath)) }
        let failure = OutputFile.writeAll(fd, Array(keyPEM.utf8))
        close(fd)
        if let failure { unlink(keyPath); throw InputError("cannot write key file: \(failure)", at: Location(keyPath)) }
        // The public key goes through the same writer as every other output: never replacing a device.
        do {
            let out = try OutputFile(base + ".pub")
            out.write(Array(publicKey.pem.utf8))
            try out.commit()
        } catch {
            // No key without its public half: a retry would otherwise stop at "File exists" (helper-73).
            unlink(keyPath)
            throw InputError("cannot write public key: \(error.reason); \(keyPath) was not kept", at: Location(base + ".pub"))
        }
    }
}
