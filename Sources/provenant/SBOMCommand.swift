import ArgumentParser
import Catalog
import Foundation
import ProvenantCore
import SBOM
import Secrets

struct SBOMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sbom",
        abstract: "Catalog a directory, root filesystem or single file into an SBOM.",
        discussion: """
        Problems with individual files are printed as warnings on stderr and listed in the SBOM as known \
        unknowns; the scan goes on. Exit codes: 0 success, 2 usage or input error. SOURCE_DATE_EPOCH sets the timestamp.
        """
    )

    @Argument(help: "A directory (source checkout or unpacked root filesystem), a single file (lockfile, binary, archive), or an image: oci-dir:PATH[:TAG], oci-archive:FILE, docker-archive:FILE, registry:HOST/REPO[:TAG][@sha256:DIGEST].")
    var target: String

    @Option(name: .long, help: "Output format: cyclonedx-json, spdx-json, table or json (Provenant's lossless inventory).")
    var format: String = "cyclonedx-json"

    @Option(name: .shortAndLong, help: "Write the SBOM to this file instead of standard output.")
    var output: String?

    @OptionGroup var catalog: CatalogOptions

    func run() async throws {
        guard let fmt = OutputFormat(rawValue: format) else {
            throw ValidationError("unknown --format '\(format)'; use one of: \(OutputFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        // A bad SOURCE_DATE_EPOCH is refused before the scan, not after it.
        let info = try DocumentInfo(toolVersion: Provenant.version)
        var timer = PhaseTimer()
        EngineSpotter.prepareInBackground()
        let inventory = await catalog.catalog(target)
        timer.lap("catalog")
        catalog.warn(inventory)
        FreedMemory.release()
        try CLI.withOutput(output) { sink in try fmt.write(inventory, info: info, to: sink) }
        timer.lap("write \(format)")
        // Freeing it took the last 20-40 ms of an image's run, and the process ends here.
        Parallel.discard(consume inventory)
    }
}
