import Foundation
import Testing
@testable import Catalog
import ProvenantCore

/// Licenses from Debian's `/usr/share/doc/<package>/copyright`, on real files from a bookworm root
/// (`Fixtures/debian-root`, see its README).
@Suite struct DebianCopyrightTests {
    /// Review: a License line naming one unknown license 100,000 times hashed its 200 KB text once per
    /// repeat (minutes per package). Each name is now looked at once.
    @Test(.timeLimit(.minutes(1))) func aNameRepeatedOnALicenseLineIsHashedOnce() {
        let body = String(repeating: " This is the Foo licence text.\n", count: 6_500)
        let text = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nLicense: Foo\n" + body
            + "\nFiles: *\nLicense: " + Array(repeating: "Foo", count: 100_000).joined(separator: " and ") + "\n"
        let c = DebianCopyright.parse(Array(text.utf8))
        #expect(c.licenses.count == 1 && c.licenses[0].hasPrefix("LicenseRef-Foo"), "\(c.licenses.prefix(3))")
    }

    static var debianRoot: String { Fixture.root + "/debian-root" }

    static func extractDpkg(_ root: String) throws -> Extraction {
        let index = FileIndex(root: root)
        let file = try #require(index.file("var/lib/dpkg/status"))
        return try DpkgExtractor().extract(ExtractInput(file: file, index: index, context: ExtractContext(mode: .installed, includeDev: false)))
    }

    static func tempRoot(_ tag: String, status: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-copyright-\(tag)-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir + "/var/lib/dpkg", withIntermediateDirectories: true)
        try status.write(toFile: dir + "/var/lib/dpkg/status", atomically: true, encoding: .utf8)
        return dir
    }

    static func record(_ name: String) -> String {
        "Package: \(name)\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0-1\n\n"
    }

    /// The exact license set of each of the 37 packages, read from the files as Debian ships them:
    /// DEP-5 files (bash, coreutils, dpkg, perl-base, tzdata, zlib1g ...) and free-form ones
    /// (base-files, libc6, gcc-12-base, libgcrypt20, libselinux1, libtasn1-6 ...).
    static let expected: [String: [String]] = [
        "apt": ["BSD-3-Clause", "GPL-2.0-only", "GPL-2.0-or-later", "MIT"],
        "base-files": ["GPL-2.0-or-later"],
        "bash": ["BSD-4-Clause-UC", "GFDL-1.3-no-invariants-only", "GPL-2.0-or-later", "GPL-3.0-or-later", "Latex2e", "LicenseRef-MIT-like-7354e681411693f0", "LicenseRef-permissive"],
        "coreutils": ["BSD-4-Clause-UC", "FSFULLR", "GFDL-1.3-no-invariants-only", "GPL-3.0-or-later", "ISC"],
        "debian-archive-keyring": ["GPL-2.0-or-later"],
        "dpkg": ["BSD-2-Clause", "GPL-2.0-only", "GPL-2.0-or-later", "LicenseRef-public-domain-s-s-d"],
        "gcc-12-base": ["Artistic-1.0-Perl", "BSD-2-Clause", "BSD-3-Clause", "BSD-4-Clause", "GFDL-1.2-only", "GFDL-1.3-or-later", "GPL-1.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later", "LGPL-2.0-or-later", "LGPL-2.1-or-later", "MIT", "Zlib"],
        "grep": ["GPL-3.0-or-later"],
        "gzip": ["GPL-3.0-or-later", "LicenseRef-FSF-manpages-a698f1ee1d1f0fd4", "LicenseRef-GFDL-1.3-no-invariant-96dd69441e340503"],
        "hostname": ["GPL-2.0-only"],
        "libacl1": ["GPL-2.0-or-later", "LGPL-2.0-or-later"],
        "libattr1": ["GPL-2.0-or-later", "LGPL-2.0-or-later"],
        "libbz2-1.0": ["GPL-2.0-only", "LicenseRef-BSD-variant"],
        "libc6": ["BSD-3-Clause", "GPL-2.0-or-later", "ISC", "LGPL-2.1-or-later"],
        "libcap-ng0": ["GPL-2.0-or-later", "GPL-3.0-only", "LGPL-2.1-or-later"],
        "libcrypt1": ["LGPL-2.1-or-later"],
        "libdebconfclient0": ["BSD-2-Clause", "GPL-2.0-or-later"],
        "libgcrypt20": ["BSD-3-Clause", "GPL-2.0-or-later", "LGPL-2.1-or-later", "LicenseRef-public-domain", "MIT"],
        "libgmp10": ["GPL-2.0-or-later", "GPL-3.0-or-later", "LGPL-3.0-or-later"],
        "libgnutls30": ["Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "GFDL-1.3-or-later", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later", "ISC", "LGPL-2.1-or-later", "LGPL-3.0-or-later", "MIT"],
        "liblz4-1": ["BSD-2-Clause", "GPL-2.0-or-later"],
        "libpcre2-8-0": ["BSD-2-Clause", "BSD-3-Clause", "LicenseRef-BSD-3-clause-Cambridge", "LicenseRef-public-domain", "X11"],
        "libselinux1": ["GPL-2.0-only", "LGPL-2.1-or-later"],
        "libsemanage-common": ["GPL-2.0-only", "LGPL-2.1-or-later"],
        "libsystemd0": ["CC0-1.0", "GPL-2.0-only", "GPL-2.0-or-later", "LGPL-2.1-or-later", "LicenseRef-public-domain", "MIT"],
        "libtasn1-6": ["GFDL-1.3-or-later", "GPL-3.0-or-later", "LGPL-2.1-or-later"],
        "libxxhash0": ["BSD-2-Clause", "GPL-2.0-only"],
        "libzstd1": ["BSD-3-Clause", "GPL-2.0-only", "MIT", "Zlib"],
        "login": ["BSD-3-Clause", "GPL-1.0-only", "GPL-2.0-or-later", "LicenseRef-public-domain"],
        "mawk": ["CC-BY-3.0", "GPL-2.0-only", "X11"],
        "ncurses-base": ["BSD-3-Clause", "MIT", "X11"],
        "perl-base": ["Artistic-1.0-Perl", "Artistic-2.0", "Artistic-dist", "BSD-3-Clause", "CC0-1.0", "GPL-1.0-or-later", "GPL-2.0-or-later", "LGPL-2.1-only", "LicenseRef-BSD-3-clause-GENERIC-450b4973c7e8eac8", "LicenseRef-BSD-3-clause-with-weird-numbering-52322c013b3df7cd", "LicenseRef-BSD-4-clause-POWERDOG-35c7159583154d4c", "LicenseRef-BZIP-6ea1550964f37b98", "LicenseRef-DONT-CHANGE-THE-GPL-aaf9385eedc0e879", "LicenseRef-GPL-3-WITH-BISON-EXCEPTION-cd4cce7f462bfbaf", "LicenseRef-HSIEH-BSD-4838be03149b4e91", "LicenseRef-HSIEH-DERIVATIVE-b7bf7ce21d42b56a", "LicenseRef-REGCOMP-fdda0af67a262c49", "LicenseRef-RRA-KEEP-THIS-NOTICE-83f0a3922ebb5950", "LicenseRef-SDBM-PUBLIC-DOMAIN-d9cb94fd2db3a8c7", "LicenseRef-TEXT-TABS-a3ca9a79bec1ded0", "LicenseRef-Unicode-a981ffb63d9ed620", "MIT", "Zlib"],
        "sed": ["BSD-4-Clause-UC", "BSL-1.0", "GFDL-1.3-no-invariants-or-later", "GPL-3.0-or-later", "ISC", "LicenseRef-pcre", "X11"],
        "tar": ["GPL-2.0-or-later", "GPL-3.0-or-later", "LGPL-3.0-or-later"],
        "tzdata": ["LicenseRef-public-domain"],
        "util-linux": ["BSD-3-Clause", "BSD-4-Clause", "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-or-later", "LGPL-2.0-or-later", "LGPL-2.1-or-later", "LGPL-3.0-or-later", "LicenseRef-BSLA-2359ead3895164d9", "LicenseRef-public-domain", "MIT"],
        "zlib1g": ["Zlib"],
    ]

    @Test func realCopyrightFilesGiveTheirLicensesPerPackage() throws {
        let x = try Self.extractDpkg(Self.debianRoot)
        #expect(x.packages.count == 37)
        #expect(x.diagnostics.isEmpty)
        var got: [String: [String]] = [:]
        for p in x.packages { got[p.name] = p.licenses }
        for (name, want) in Self.expected.sorted(by: { $0.key < $1.key }) {
            #expect(got[name] == want, "\(name)")
        }
        #expect(Set(got.keys) == Set(Self.expected.keys))
        // Every package of the slice has a license, and every id is SPDX's or a LicenseRef.
        for p in x.packages {
            #expect(!p.licenses.isEmpty, "\(p.name)")
            for l in p.licenses { #expect(l.hasPrefix("LicenseRef-") || SPDXLicenses.canonical(l) == l, "\(p.name): \(l)") }
            #expect(p.licenses == Array(Set(p.licenses)).sorted(), "\(p.name) is sorted and deduplicated")
        }
    }

    @Test func licenseRefsWithATextCarryIt() throws {
        let x = try Self.extractDpkg(Self.debianRoot)
        let bash = try #require(x.packages.first { $0.name == "bash" })
        let ref = try #require(bash.licenses.first { $0.hasPrefix("LicenseRef-MIT-like-") })
        #expect(bash.licenseTexts?[ref]?.contains("Permission") == true)
        // A short name without a stand-alone text has no text to carry.
        #expect(bash.licenseTexts?["LicenseRef-permissive"] == nil)
    }

    @Test func debianShortNamesMapToSPDX() {
        let cases: [(String, [String])] = [
            ("GPL-2+", ["GPL-2.0-or-later"]), ("GPL-2", ["GPL-2.0-only"]), ("GPL-3.0+", ["GPL-3.0-or-later"]),
            ("GPL", ["GPL-1.0-or-later"]), ("GPLv2+", ["GPL-2.0-or-later"]), ("LGPL-2.1+", ["LGPL-2.1-or-later"]),
            ("LGPL-2", ["LGPL-2.0-only"]), ("LGPL-3", ["LGPL-3.0-only"]), ("AGPL-3+", ["AGPL-3.0-or-later"]),
            ("GFDL-1.3+", ["GFDL-1.3-or-later"]), ("GFDL-NIV-1.3", ["GFDL-1.3-no-invariants-only"]),
            ("BSD-3-clause", ["BSD-3-Clause"]), ("BSD-2-Clause", ["BSD-2-Clause"]), ("Expat", ["MIT"]),
            ("Artistic", ["Artistic-1.0-Perl"]), ("Artistic-2.0", ["Artistic-2.0"]), ("Perl", ["Artistic-1.0-Perl", "GPL-1.0-or-later"]),
            ("Apache-2.0", ["Apache-2.0"]), ("Apache-2", ["Apache-2.0"]), ("MPL-2.0", ["MPL-2.0"]), ("Zlib", ["Zlib"]),
            ("ISC", ["ISC"]), ("CC0-1.0", ["CC0-1.0"]), ("public-domain", ["LicenseRef-public-domain"]),
            ("BSD-variant", []), ("permissive", []), ("", []),
        ]
        for (name, want) in cases { #expect(DebianCopyright.spdx(forShortName: name) == want, "\(name)") }
    }

    @Test func licenseLinesSplitOnOperatorsAndDropExceptions() {
        #expect(DebianCopyright.shortNames("GPL-2+ or Artistic") == ["GPL-2+", "Artistic"])
        #expect(DebianCopyright.shortNames("LGPL-2.1+ with OpenSSL exception, and BSD-3-clause") == ["LGPL-2.1+", "BSD-3-clause"])
        #expect(DebianCopyright.shortNames("(GPL-2+ | MIT) and/or ISC") == ["GPL-2+", "MIT", "ISC"])
        #expect(DebianCopyright.shortNames("none") == [])
    }

    @Test func freeFormTextsAreNamedByTheirWording() {
        let gpl = "This program is free software; you can redistribute it and/or modify it under the terms of the\n# GNU General Public License as published by the Free Software Foundation; either version 2\n# of the License, or (at your option) any later version."
        #expect(LicenseTextMatcher.identify(gpl) == ["GPL-2.0-or-later"])
        #expect(LicenseTextMatcher.identify("licensed under the GNU Lesser General Public License, version 2.1.") == ["LGPL-2.1-only"])
        // A reference to Debian's copy of a text names that version when the wording states none.
        #expect(LicenseTextMatcher.identify("The complete text can be found in /usr/share/common-licenses/GPL-3.") == ["GPL-3.0-only"])
        // "You should have received a copy of the GNU GPL" states no version; the next paragraph's is not its.
        #expect(LicenseTextMatcher.identify("You should have received a copy of the GNU General Public License along with it. Version 3 of the manual.") == [])
        let mit = "Permission is hereby granted, free of charge, to any person obtaining a copy of this software"
        #expect(LicenseTextMatcher.identify(mit) == ["MIT"])
        let bsd2 = "Redistribution and use in source and binary forms, with or without modification, are permitted provided that the following conditions are met: 1. Redistributions of source code must retain the above copyright notice."
        #expect(LicenseTextMatcher.identify(bsd2) == ["BSD-2-Clause"])
        #expect(LicenseTextMatcher.identify(bsd2 + " 3. Neither the name of the University nor the names of its contributors may be used to endorse or promote products") == ["BSD-3-Clause"])
        #expect(LicenseTextMatcher.identify("Licensed under the Apache License, Version 2.0 (the \"License\")") == ["Apache-2.0"])
    }

    @Test func unrecognisedTextGetsAStableHashRef() {
        let a = DebianCopyright.parse(Array("Copyright 2001 Someone.\nDo what you like with it.\n".utf8))
        let b = DebianCopyright.parse(Array("Copyright  2001 someone\n\tDo what you like with it\n".utf8))
        #expect(a.licenses.count == 1)
        #expect(a.licenses.first?.hasPrefix("LicenseRef-") == true)
        #expect(a.licenses.first?.count == 11 + 16)
        #expect(a.licenses == b.licenses, "spacing, case and punctuation do not change the reference")
        #expect(a.texts[a.licenses[0]]?.contains("Do what you like") == true)
        #expect(DebianCopyright.parse([]).licenses.isEmpty)
        #expect(DebianCopyright.parse(Array("  \n\n".utf8)).licenses.isEmpty)
    }

    /// Copyright files are parsed on every core but read in the status file's order: under a read
    /// budget they all cannot fit in, the packages given a license are the first ones, every run. Read
    /// from several threads, which ones got through varied from run to run (found by review).
    @Test func aTightReadBudgetGoesToTheFirstPackagesEveryRun() throws {
        let names = (0..<40).map { String(format: "p%02d", $0) }
        let root = try Self.tempRoot("budget", status: names.map(Self.record).joined())
        defer { try? FileManager.default.removeItem(atPath: root) }
        let body = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: x\nLicense: MIT\n"
            + String(repeating: " pad line of text\n", count: 3500)
        for n in names {
            try FileManager.default.createDirectory(atPath: root + "/usr/share/doc/\(n)", withIntermediateDirectories: true)
            try body.write(toFile: root + "/usr/share/doc/\(n)/copyright", atomically: true, encoding: .utf8)
        }
        var runs: [[String]] = []
        for _ in 0..<4 {
            let index = FileIndex(root: root, readBudget: 1 << 20)
            let file = try #require(index.file("var/lib/dpkg/status"))
            let x = try DpkgExtractor().extract(ExtractInput(file: file, index: index, context: ExtractContext(mode: .installed, includeDev: false)))
            runs.append(x.packages.filter { $0.licenses == ["MIT"] }.map(\.name))
        }
        let first = try #require(runs.first)
        #expect(first.count > 4 && first.count < names.count, "\(first)")
        #expect(first == Array(names.prefix(first.count)), "\(first)")
        #expect(runs.allSatisfy { $0 == first }, "\(runs)")
    }

    /// Paragraphs as Debian writes them, and as they are mangled: field names in any case and with
    /// spaces before the colon, CRLF endings, a text only in a paragraph without `Files:` (wherever that
    /// field stands in it), continuation lines kept to the field they follow.
    @Test func licenseFieldsAreReadPerParagraph() {
        let file = [
            "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/", "",
            "LICENSE : Odd-One", " First line of the odd text.", " .", " Second paragraph.", "Files: *", "",
            "license:Other-One", "Comment: not part of the text", " still the comment", "", "",
            "License: Other-One", "   Text of the other one.  ", "Copyright: 2020 X", "", "garbage without colon",
            " continuation of nothing", "", "License: GPL-2+ or MIT", "",
        ].joined(separator: "\r\n")
        let c = DebianCopyright.parse(Array(file.utf8))
        #expect(c.machineReadable)
        #expect(c.licenses.contains("GPL-2.0-or-later") && c.licenses.contains("MIT"))
        // Odd-One's body sits in a paragraph with `Files:` after it: no stand-alone text, a name only.
        #expect(c.licenses.contains(LicenseTextMatcher.nameRef("Odd-One")))
        let other = c.licenses.filter { $0.hasPrefix("LicenseRef-Other-One-") }
        #expect(other.count == 1)
        #expect(c.texts[other.first ?? ""] == "Text of the other one.")
        #expect(c.licenses.count == 4, "\(c.licenses)")
    }

    @Test func machineReadableFileWithoutLicenseFieldsFallsBackToItsText() {
        let c = DebianCopyright.parse(Array("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nComment: Permission is hereby granted, free of charge, to any person obtaining a copy\n".utf8))
        #expect(c.licenses == ["MIT"])
    }

    @Test func missingHugeOrOddCopyrightFilesLeaveThePackageListedWithoutALicense() throws {
        let root = try Self.tempRoot("odd", status: Self.record("missing") + Self.record("huge") + Self.record("isdir") + Self.record("escapes") + Self.record("binary"))
        let fm = FileManager.default
        for p in ["huge", "isdir/copyright", "escapes", "binary"] { try fm.createDirectory(atPath: root + "/usr/share/doc/" + p, withIntermediateDirectories: true) }
        try Data(count: DebianCopyright.maxBytes + 1).write(to: URL(fileURLWithPath: root + "/usr/share/doc/huge/copyright"))
        try fm.createSymbolicLink(atPath: root + "/usr/share/doc/escapes/copyright", withDestinationPath: "../../../../../../../../etc/passwd")
        try Data([0, 0xFF, 0xFE, 0x00, 0x41]).write(to: URL(fileURLWithPath: root + "/usr/share/doc/binary/copyright"))
        let x = try Self.extractDpkg(root)
        #expect(x.packages.map(\.name).sorted() == ["binary", "escapes", "huge", "isdir", "missing"])
        for p in x.packages where p.name != "binary" { #expect(p.licenses.isEmpty, "\(p.name)") }
        // A missing file says nothing (distroless images strip them); a refused one is reported by path.
        let paths = Set(x.diagnostics.map(\.location.path))
        #expect(paths == ["usr/share/doc/huge/copyright", "usr/share/doc/isdir/copyright", "usr/share/doc/escapes/copyright"])
        #expect(x.diagnostics.allSatisfy { $0.message.contains("no license is given") })
    }

    @Test func docDirectoryLinkedToAnotherPackagesIsFollowedInsideTheRoot() throws {
        // libgcc-s1's /usr/share/doc/libgcc-s1 is a link to gcc-12-base, as on Debian.
        let root = try Self.tempRoot("link", status: Self.record("libgcc-s1"))
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/usr/share/doc/gcc-12-base", withIntermediateDirectories: true)
        try fm.copyItem(atPath: Self.debianRoot + "/usr/share/doc/gcc-12-base/copyright", toPath: root + "/usr/share/doc/gcc-12-base/copyright")
        try fm.createSymbolicLink(atPath: root + "/usr/share/doc/libgcc-s1", withDestinationPath: "gcc-12-base")
        let x = try Self.extractDpkg(root)
        #expect(x.packages.first?.licenses == Self.expected["gcc-12-base"])
    }

    @Test func apkLicenseFieldStaysAnExpression() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-apk-lic-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir + "/lib/apk/db", withIntermediateDirectories: true)
        try "P:musl\nV:1.2.4-r2\nL:MIT AND BSD-2-Clause\n\n".write(toFile: dir + "/lib/apk/db/installed", atomically: true, encoding: .utf8)
        let index = FileIndex(root: dir)
        let x = try ApkExtractor().extract(ExtractInput(file: try #require(index.file("lib/apk/db/installed")), index: index,
                                                       context: ExtractContext(mode: .installed, includeDev: false)))
        #expect(x.packages.first?.licenses == ["MIT AND BSD-2-Clause"])
    }

    @Test func jarLicensesFromEmbeddedPomAndBundleLicense() throws {
        let pom = Array("""
        <project><groupId>org.example</groupId><artifactId>lib</artifactId><version>1.0</version>
        <licenses><license><name>The Apache Software License, Version 2.0</name><url>https://www.apache.org/licenses/LICENSE-2.0.txt</url></license>
        <license><url>https://opensource.org/licenses/MIT</url></license></licenses></project>
        """.utf8)
        let props = Array("groupId=org.example\nartifactId=lib\nversion=1.0\n".utf8)
        let withPom = HostileInputTests.zip([("META-INF/maven/org.example/lib/pom.properties", 0, props, UInt32(props.count)),
                                             ("META-INF/maven/org.example/lib/pom.xml", 0, pom, UInt32(pom.count))])
        let manifest = Array("Manifest-Version: 1.0\r\nBundle-SymbolicName: org.other.tool\r\nBundle-Version: 2.1\r\nBundle-License: https://www.eclipse.org/legal/epl-2.0/\r\n\r\n".utf8)
        let withManifest = HostileInputTests.zip([("META-INF/MANIFEST.MF", 0, manifest, UInt32(manifest.count))])
        let dir = try HostileInputTests.tempDir("jar-licenses")
        try HostileInputTests.write(withPom, dir + "/lib-1.0.jar")
        try HostileInputTests.write(withManifest, dir + "/tool-2.1.jar")
        let a = try HostileInputTests.extract(JarExtractor(), dir, "lib-1.0.jar")
        #expect(a.packages.first?.licenses == ["Apache-2.0", "MIT"])
        let b = try HostileInputTests.extract(JarExtractor(), dir, "tool-2.1.jar")
        #expect(b.packages.first?.licenses == ["EPL-2.0"])
        #expect(JarExtractor.bundleLicense("Apache-2.0;link=\"https://x\"") == "Apache-2.0")
        #expect(JarExtractor.bundleLicense("https://example.com/our-terms") == nil)
        // Texts in another script hash their own bytes, so they stay apart; English with an accented name hashes its words.
        #expect(LicenseTextMatcher.hashRef("本软件仅限内部使用，不得再分发。", prefix: "x") != LicenseTextMatcher.hashRef("本软件是开源软件，可自由分发。", prefix: "x"))
        #expect(LicenseTextMatcher.hashRef("Copyright François. Permission is granted.") == LicenseTextMatcher.hashRef("Copyright Fran ois, permission is granted"))
        // Spacing and line ends do not count in another script either; two texts behind one English line stay two.
        #expect(LicenseTextMatcher.hashRef("本软件 仅限内部使用\r\n不得再分发。") == LicenseTextMatcher.hashRef("本软件  仅限内部使用\n 不得再分发 "))
        // The hash is of the redacted text: it cannot be used to test guesses of a password in it (helper-75).
        #expect(LicenseTextMatcher.hashRef("Packaged from https://deploy:Winter2024@git.corp.example/foo.git\nAll rights reserved.\n")
                == LicenseTextMatcher.hashRef("Packaged from https://deploy:Summer2023@git.corp.example/foo.git\nAll rights reserved.\n"))
        #expect(LicenseTextMatcher.hashRef("Copyright 2020 Acme.\n本软件仅限内部使用") != LicenseTextMatcher.hashRef("Copyright 2020 Acme.\n本软件是开源软件"))
        // Every license of the list, a comma inside a name kept, OSGi's <<EXTERNAL>> and unknown URLs dropped.
        #expect(JarExtractor.bundleLicenses("EPL-2.0;link=https://www.eclipse.org/legal/epl-2.0/, MIT") == ["EPL-2.0", "MIT"])
        #expect(JarExtractor.bundleLicenses("Apache License, Version 2.0;link=\"https://x, y\", BSD-3-Clause") == ["Apache License, Version 2.0", "BSD-3-Clause"])
        #expect(JarExtractor.bundleLicenses("\"GPL, with exception\";description=x,MIT") == ["GPL, with exception", "MIT"])
        #expect(JarExtractor.bundleLicenses("<<EXTERNAL>>") == [])
        #expect(JarExtractor.bundleLicenses("https://example.com/our-terms, Apache-2.0") == ["Apache-2.0"])
        // A header of thousands: at most 64 licenses, and a long run of continuations is cut, not copied over and over.
        #expect(JarExtractor.bundleLicenses((1...1000).map { "L\($0)" }.joined(separator: ", ")).count == JarExtractor.maxLicenses)
        let continued = JarExtractor.bundleLicenses("Apache" + String(repeating: ",1", count: 400_000))
        #expect(continued.count == 1 && continued[0].utf8.count <= JarExtractor.maxHeaderBytes)
        let marks = JarExtractor.bundleLicenses("a" + String(repeating: "\u{301}", count: 200_000))
        #expect(marks.allSatisfy { $0.utf8.count <= JarExtractor.maxHeaderBytes })
    }
}
