import Catalog
import Foundation
import ProvenantCore
import SBOM

/// The shared text parsers, and SBOMs read back as scan input.
enum FormatTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget("toml", "the TOML reader behind Cargo.lock and the Python TOML locks") { bytes in
            guard let text = try? TextDecoding.string(bytes) else { return }
            try? ParserEntryPoints.toml(text)
        },
        FuzzTarget("lock-yaml", "pnpm-lock's block-YAML reading, which must agree with Yams wherever it reads") { bytes in
            ParserEntryPoints.lockYAML(String(decoding: bytes, as: UTF8.self))
        },
        FuzzTarget("yarn-readings", "yarn.lock's byte reading, which must agree with the reading by Characters") { bytes in
            ParserEntryPoints.yarnLockReadings(String(decoding: bytes, as: UTF8.self))
        },
        FuzzTarget("xml", "the XML reader behind pom.xml") { bytes in
            try? ParserEntryPoints.xml(bytes)
        },
        FuzzTarget("json", "ProvenantCore's JSON parser, and the writer on what it read") { bytes in
            guard let value = try? JSONParser.parse(bytes) else { return }
            _ = value.serialized(pretty: true)
        },
        FuzzTarget("sbom", "a CycloneDX or SPDX document read back as scan input (SBOMReader)") { bytes in
            Scratch.withFile(bytes, target: "sbom", as: "bom.json") { path, _ in _ = try? SBOMReader.readIfSBOM(path) }
        },
        FuzzTarget("os-release", "/etc/os-release, which names the distro for OS packages") { bytes in
            guard let text = try? TextDecoding.string(bytes) else { return }
            _ = OSRelease.parse(text)
        },
        FuzzTarget("debian-copyright", "/usr/share/doc/<package>/copyright: DEP-5 paragraphs, short names, license texts") { bytes in
            // Never throws: any bytes give a (possibly empty) license set.
            _ = DebianCopyright.parse(bytes)
        },
    ]

}
