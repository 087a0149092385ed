import Foundation
import ProvenantCore

/// The SPDX id a well-known license URL stands for, as Java manifests (`Bundle-License`) and POMs
/// (`<license><url>`) often give instead of a name.
public enum LicenseURL {
    /// Host-and-path fragments (lowercased, no scheme, no `www.`) and the license each names.
    static let known: [(String, String)] = [
        ("apache.org/licenses/license-2.0", "Apache-2.0"), ("opensource.org/licenses/apache-2.0", "Apache-2.0"),
        ("apache.org/licenses/license-1.1", "Apache-1.1"),
        ("opensource.org/licenses/mit", "MIT"), ("opensource.org/license/mit", "MIT"),
        ("eclipse.org/legal/epl-v10", "EPL-1.0"), ("eclipse.org/legal/epl-2.0", "EPL-2.0"), ("eclipse.org/org/documents/epl-v10", "EPL-1.0"),
        ("eclipse.org/org/documents/edl-v10", "BSD-3-Clause"),
        ("mozilla.org/mpl/2.0", "MPL-2.0"), ("mozilla.org/mpl/mpl-1.1", "MPL-1.1"),
        ("gnu.org/licenses/gpl-2.0", "GPL-2.0-only"), ("gnu.org/licenses/old-licenses/gpl-2.0", "GPL-2.0-only"),
        ("gnu.org/licenses/gpl-3.0", "GPL-3.0-only"), ("gnu.org/licenses/lgpl-2.1", "LGPL-2.1-only"),
        ("gnu.org/licenses/old-licenses/lgpl-2.1", "LGPL-2.1-only"), ("gnu.org/licenses/lgpl-3.0", "LGPL-3.0-only"),
        ("gnu.org/licenses/lgpl", "LGPL-3.0-only"), ("gnu.org/licenses/agpl", "AGPL-3.0-only"),
        ("opensource.org/licenses/bsd-license", "BSD-2-Clause"), ("opensource.org/licenses/bsd-3-clause", "BSD-3-Clause"),
        ("opensource.org/licenses/bsd-2-clause", "BSD-2-Clause"), ("creativecommons.org/publicdomain/zero/1.0", "CC0-1.0"),
        ("glassfish.dev.java.net/public/cddlv1.0", "CDDL-1.0"), ("opensource.org/licenses/cddl1", "CDDL-1.0"),
        ("unlicense.org", "Unlicense"), ("json.org/license", "JSON"),
    ]

    /// The SPDX id for `url`, or nil when it is no URL or not one known.
    public static func spdx(_ url: String) -> String? {
        var u = url.trimmingCharacters(in: .whitespaces).lowercased()
        guard let scheme = u.range(of: "://") else { return nil }
        u = String(u[scheme.upperBound...])
        if u.hasPrefix("www.") { u = String(u.dropFirst(4)) }
        for (fragment, id) in known where u.hasPrefix(fragment) { return id }
        // spdx.org/licenses/ID(.html|.txt|.json) and opensource.org/licenses/ID name the id itself.
        for base in ["spdx.org/licenses/", "opensource.org/licenses/", "opensource.org/license/"] where u.hasPrefix(base) {
            var id = String(u.dropFirst(base.count))
            for ext in [".html", ".txt", ".json", ".php", "/"] where id.hasSuffix(ext) { id.removeLast(ext.count) }
            if let c = SPDXLicenses.canonical(id) { return c }
        }
        return nil
    }
}
