import Catalog
import Foundation
import ProvenantCore

/// Container images: layers, the JSON documents that describe them, archives, references.
enum ImageTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget("image-layer", "one image layer: compression sniffing, gzip/zstd streams, the streaming tar reader, whiteouts, links, the squash") { bytes in
            try? ParserEntryPoints.imageLayer(bytes)
        },
        FuzzTarget("image-documents", "image manifests, indexes (with platform choice) and configs") { bytes in
            ParserEntryPoints.imageDocuments(bytes)
        },
        FuzzTarget("image-archive", "a docker-archive or oci-archive tar: header index, entry links, the layout inside, its layers") { bytes in
            Scratch.withFile(bytes, target: "image-archive", as: "image.tar") { path, _ in
                let done = DispatchSemaphore(value: 0)
                Task.detached { await ParserEntryPoints.imageArchive(path: path); done.signal() }
                done.wait()
            }
        },
        FuzzTarget("exclude-glob", "--exclude globs: a pattern, then paths; the bit-table and step-loop matchers compared, and the cached filter") { bytes in
            ParserEntryPoints.glob(bytes)
        },
        FuzzTarget("image-reference", "oci-dir:, oci-archive:, docker-archive: and registry: references, and --platform") { bytes in
            ParserEntryPoints.imageReference(String(decoding: bytes, as: UTF8.self))
        },
    ]
}
