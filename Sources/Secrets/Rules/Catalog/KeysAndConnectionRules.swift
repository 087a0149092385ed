extension RuleCatalog {
    /// Private keys (PEM, OpenSSH, PGP, PuTTY, age), JSON Web Tokens, database connection strings with passwords, and password hashes.
    static let keysAndConnections = #"""
id: private-key-rsa
title: RSA private key (PEM)
severity: critical
keywords: -----begin
pattern: (-----BEGIN RSA PRIVATE KEY-----(?:[A-Za-z0-9+/=\s:,.\-]|\\[nr]){32,16000}?-----END RSA PRIVATE KEY-----)
near: -----END RSA PRIVATE KEY-----
entropy: 4.0
window: 16384
positive: -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA0iWuKPB+7LZhiktbwyw1TLicHLANJe8ADG0+EVsL+bpi6sdExJ9Y5nsFvpvOylEz\nW3IlOZCR6MLR/O/HF7uCJ9l7WT/J3Q5Il20U+SujTTpMx7POECy/UnhEz5E3DgWD\nYitFUhsawvPly/V5wYgHltiy9O75B3wFrpGC141rVdLm7+LVnfzrxiziTXheMmPd\n9p3uuEb4zvHh620hupT2mFWDMaPURIK4wKhWjwkOQzmnu6Vl07C9oBQK1Nhkn17g\nXPQPlc9yTJKHfexhJFRjaaGWZG0s3bDybyfJpJ60aPj3OHtIHcuUIs54nXR0ngY5\nPQ33xc9RcknIVFyEQe5Loh9e5KmJtm4F6mSR4NrTT1/Tb3Ms+FdH8OLwWBrBvFVJ\nIeX99TRCt2UhM4C1DcappdFCbX/ZqqOmDgVFDHPU3Mwe8lnfMNQ3Unr4qzuVBsK9\n7HVypmWbFsEhcrlEvCDPdqj6QWPEufxyOKPBZhGJLV3cn+GP73HxMz9UgnHPSwT/\nVLEURJyvhsD8TTziMQRViJpfavAZH2g7LrcIAuP+1BBC3GKlOHUGbESROqB6HOe+\nd4udeT4UVBp9SCIElFCzp+XG9dOW9wTNtSco3Nlq58I8rXYPCFDEbybt5bbcbRk/\nW94fySWTAusjAn0h5KoNmA2VS3PhPYTJ2DsxcWbVP3OJe6Ayv0+Bft/XrCD+QhR5\nAOifiCDWmNIFb5YaY+T5bCMjIn5PTFwKqtwb8rxmxOhCehiaYU6FM5Q097VO/tQV\ncys2r6s9UH3ZeAvICTi8VEnA4CEJufhcgE9Ya+vbTgFZUTj7yLUWt0Vl/kxcGmrU\nMxMgrCgkuxbsNdVuYKkSMcyUoEmApuW3xEHVQ4ehfOE3JhDRGvja6H1itAah5ucq\nvmQPN3fqiiOEDPGDd65IVBdylUkY+kHx/NgpnaJFiMPu/GphYRcHJMNgldToB7IA\nwEOZiNF7DEgo8vlNUBTQr0a2/pSvSqzU/Jj3Z22FGg7gaSXTRGHyz7RHCXYg74LE\nAUUSwIc47ZrVJ+JC8O8zIfkjEjvQrFo6JyJrTZflwwQcndw9ZRkKQSG+KO6G+Dki\nLiz5ElLERYXZaA5B1+ZZ1STYe9twMTGZAUEdP1J3a8UlDEwuK9QSpYQKDQ2+2ZiO\nvPRm8Yz++wl1BCGSqsmVh3CuFla/MiLnWZS4KqCmPxG37WQ3BdMlSmHNQOfNVjxc\neEISY2bq9er1VoxOTTqTBnY/irrfukXtTlLDUNsHtWu3+6vHYLnEqS1ddZWG1KxK\nI39Ir1ri/BJPjTDb/Qs/7hI2v2o2xlD5lmO/0kga8M/VUi7tIIko1/7a5nc10Rlc\n-----END RSA PRIVATE KEY-----\n
positive: key = "-----BEGIN RSA PRIVATE KEY-----\\nProc-Type: 4,ENCRYPTED\\nDEK-Info: AES-128-CBC,80D78914FAF7299BAB7EE0B90D311B17\\n\\nk+RqslQCFLw6dsv04fK5wMnsI+CmvjSX63Lx/xRqW2+aNyIEvzzyHzsNzvmQ7lzP\\nmeHbaAP+XZJ6mjtGAbyYLQeQTSGrUVa/9mAwqnRf7WkHu2ppuuuNDo7heXTa2MYq\\nmzydKxzTw4gV9b3zLUl1KeozdzxCAu2CB1sJss+wYV9pPTkt/3uexDET4Guw/oqA\\n2Oz/xlNGkr2JBumI4VYK+cheLyPiz/u+aUoPpSiMXMejPEAwnE7zi4RXfnS8N+j2\\nL9G8mxtkl4ZMAzc5rP1+SueDUel6/2tt/IWO1Q5x9o39NUfQfFZWEVLUODO3fHi6\\nscTe11tA2hwIfC7iimm0IGoW/ZltxNln8dsGOF3irg7qTFVfAybKQ5i6byETU1Nw\\nPkz1wc4znjKm4ZG9wOiJ5QwecxsMjYyDIRDN3HBOk7ATitiHoXLyitK/6EQrwfBH\\nhuadjtFjIwJ0gnmrF4nRFz8NfDn7DbS6hd0cR0vSl1gzIVoZf1kFP10hm9g0sLtc\\n4hpYx+OF8ryQj6uH8Zosu9uWmOUc4qkTvaFDOqHec3lmjHRvmUH/mVT8YjM0hyWt\\nIatgfj0sqkflUubQ8RP7okZg31XjSVFvYs6gzDc9GdosXluu8hg3NPH1qclPVDgm\\n-----END RSA PRIVATE KEY-----"
negative: -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----
negative: -----BEGIN RSA PRIVATE KEY-----\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n-----END RSA PRIVATE KEY-----
negative: HEADER = "-----BEGIN RSA PRIVATE KEY-----"\nFOOTER = "-----END RSA PRIVATE KEY-----"

id: private-key-ec
title: EC private key (PEM)
severity: critical
keywords: -----begin
pattern: (-----BEGIN EC PRIVATE KEY-----(?:[A-Za-z0-9+/=\s:,.\-]|\\[nr]){32,16000}?-----END EC PRIVATE KEY-----)
near: -----END EC PRIVATE KEY-----
entropy: 4.0
window: 16384
positive: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI4pO0SRBS174PlausHsoc7d7Mgq56ZLaMHKMt74PIrr6KnTSSGgH28Y53ZHIN0A3y\nJ49PGEXPEYXxYeXK0BoQZnNkeh7EbxtrmCrZcxsj\n-----END EC PRIVATE KEY-----
negative: -----BEGIN EC PRIVATE KEY-----\nMIIEowIBAAKCAQEA...\n-----END EC PRIVATE KEY-----
negative: -----BEGIN EC PRIVATE KEY-----\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n-----END EC PRIVATE KEY-----
negative: HEADER = "-----BEGIN EC PRIVATE KEY-----"\nFOOTER = "-----END EC PRIVATE KEY-----"

id: private-key-dsa
title: DSA private key (PEM)
severity: critical
keywords: -----begin
pattern: (-----BEGIN DSA PRIVATE KEY-----(?:[A-Za-z0-9+/=\s:,.\-]|\\[nr]){32,16000}?-----END DSA PRIVATE KEY-----)
near: -----END DSA PRIVATE KEY-----
entropy: 4.0
window: 16384
positive: -----BEGIN DSA PRIVATE KEY-----\nMIIBuwIBAAKBgQgeHbm3trSTqLDnvVea6itJvPcyRMybtE1obR3APDiYwM+jgVxqT49pPf+Y5o/Ef6\nwC8ZwCu23BmcUadTmQhjSgi3owNXkB71o8kpigl3SCSv1POSTqb5yMS3hLOOQhKK\n6fSdJglRfXpLYNlbga1Ox6U0wDAhHLzkJMTCGhMlsVvfvrrcEY/vpdaOxlYdmoui\n6s4992Y7Q+g1RPh3JK+YrhQ5i6cd4eyaucGE68x5Jb/Y0/2agx1ftDRWIMYZlVE5\nodkO9HiBJtP9mYthrvJswvw8X5UeSOcGvdr0RFYQGDtXSrExEzWqSACAYlsn2l6p\nydPNk9fAlaRI4pPR+fHeaeFaW9ADKUmZstlU7eO64w2bjrZn6KZCUZL4Ur6kAgck\n3q5cpFLCXSeAz2VZQfbDHgKsDo/RkJiFYlu8dIMvSMtE0fv9Vh+vZ0iAlUF56n3O\nHUHgHG9PT4o3/3iaLet3wU7dWGwPimk/KT6AwZkFU/qwawrVT0wwxmLXp8xbCoKB\n-----END DSA PRIVATE KEY-----
negative: -----BEGIN DSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA...\n-----END DSA PRIVATE KEY-----
negative: -----BEGIN DSA PRIVATE KEY-----\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n-----END DSA PRIVATE KEY-----
negative: HEADER = "-----BEGIN DSA PRIVATE KEY-----"\nFOOTER = "-----END DSA PRIVATE KEY-----"

id: private-key-pkcs8
title: PKCS #8 private key (PEM)
severity: critical
keywords: -----begin
pattern: (-----BEGIN PRIVATE KEY-----(?:[A-Za-z0-9+/=\s:,.\-]|\\[nr]){32,16000}?-----END PRIVATE KEY-----)
near: -----END PRIVATE KEY-----
entropy: 4.0
window: 16384
positive: -----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCWlyItEAKNZW19sd/yb2WMfT6zWiLL8uCisog9eT+MV0bG1pQXJm+F2xVGepGAsE1\nbpb/VbE1om3kPOW8Zi3MQYQpMvbRVeUdxGi3MI4dWOXR1z8z98QcGDghpfBI8DN7\ny93jYDca+guolvJvIxnS6qmOsiDlPqTL2zDvCOYzIHlj9no7vxoOQGtW3koVI4/p\nJga3LWAmeeI+aFk02kTRhV1LFTFI9rDGEkGHHR4+SLnq1i+gcvFgFUk4GtFcB7de\nDB50PNSFm+JlpzotURxZpreA5xpPuybnOXuS6C5JJ+RWaYbQB01Nmp3bh5WUGhU8\nL2pmpocGMziYR8f72k99DJLN8rwAt/IGxEC/234O/pMCqjr7oEvQGHcwbohsZRDB\nExJnC3VIMz5eWvSj8HOAshafMxx9DrZ3m3PcTYk8GMrP1CWcFLMDri63h5wgkzmW\nxBl9c+WS1n8et66RRPxUaAtKY3CZr7cqJCGz9tNo99rOHKgbmg+eVYETkgsr+5Bf\n0sQ6PEAYi0Tx6SypR6urxRvi9JIhtCzCQE0pbxh7rKhM+Qjpf5JX6TNjCFv1GWF7\nc16u6MBMHiQPNpBWkile3QxLIQQ48c5ShBuDz+R/DwseQFHD+yTl+Xvuwc7YJyZm\nQAIcJY8REq1uiBFN/rhff05ayjuGKqn87HNIazx7mPhCS5wJp26GCS/OVS8F/MUa\n5ffbnR3mEUsu8u4kv2Wj50gT+WAaSWgA2In+hMU9O41ZQ8IBXT55Nup/IAeEeA9C\n-----END PRIVATE KEY-----
positive: "private_key": "-----BEGIN PRIVATE KEY-----\\nHml+JgekWfLXkCSOhC/ZNvYMc1N9uKwPKCNKNXDeUpmGPQa8FpVzPL0h+ZvOziva\\nwIJkSt1UsoMoyYe6vrC9dNGlLE/tmw1nubwERqFu09xXBpFKiIUmBETWCWk5JsVd\\np70Trxhlxx3f37DZTEG5NHlCMIeQndobhy6PYWnMpNo2liIho/LNGMVS8OFkjO89\\n1sdzoZyec/N43Be5V5ze1RiwdI3ZxhfJ+LZ7pNdV6lMeU0DZWnTWHxSJ7O9HGXnX\\ntd4PT4jrkgDlVHTvhWmkeRyf2ioggyI2QG/0nRe7L2jRc3HctDqa1Gic7cT37q73\\nSsKZc0pUVVdnIeMBzy//5w6s5PrEV7C+8dhdtJrpyB6swRTuIVyBCJ3j2KtPUN77\\n-----END PRIVATE KEY-----\\n"
negative: -----BEGIN PRIVATE KEY-----\nMIIEowIBAAKCAQEA...\n-----END PRIVATE KEY-----
negative: -----BEGIN PRIVATE KEY-----\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n-----END PRIVATE KEY-----
negative: HEADER = "-----BEGIN PRIVATE KEY-----"\nFOOTER = "-----END PRIVATE KEY-----"

id: private-key-pkcs8-encrypted
title: Encrypted PKCS #8 private key (PEM)
severity: critical
keywords: -----begin
pattern: (-----BEGIN ENCRYPTED PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=\s:,.\-]|\\[nr]){32,16000}?-----END ENCRYPTED PRIVATE KEY(?: BLOCK)?-----)
near: -----END
entropy: 4.0
window: 16384
positive: -----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI5YKCLTE4AzV7rbEOIIV11EM+b+WigGtwl/MlnebfoMjVzR4cjkBl84QsiYGctgs9\nLEFo8LAtUVwDpSjglluH23hTaYIuf3fBNcGZ/q1TvJvwjHEA+B4CKZpAdtg5eR0P\nBRH59v2bW+4YTN+ojBZBk5j+D2uKV1QCytjIB1axiEzD0phU0A/tFvYOoMrLDUUn\n6Tc/98meH0tmX8pNNpkByuaD8SBDkBu+Q2ONs6rtWCNEP7hxSUpHlKn+KsuJmJe2\nFf3hxNjnu0nVrx8mStSOWJe+5R4kRNvZiSHGyTghcfh3V2DLqc4iA34F+/jCz4ez\n2C/d4TMvUzZW9nky0tdNWkTzeGQmft9jXOl5/2yovI7174bNTrgJx4BA4V/9NUx9\ntwEc3cbM18Unp6f2M2ywRO/qlNX8XsQc7tyEZEIc/aO5G23GI3NWJ+Z+T6t6AIvF\nS8RfVO4/HEpqz3GZEZslzmrNMjcVNt1qwUujRPIkblMbfATRiPwE0vm1MwlMB67i\nJSfn09mXJW0HTxvATfsPYFLVLbd4kkVIznuoPVcw6hInguN3OTn7v8kUecf6NRwQ\nCTttm58HFVX8ffl6V3Xxi0k7ZsffO8TYq1SS53dCPWMvrL6Ow1QL6+Qll0eTsPvt\n-----END ENCRYPTED PRIVATE KEY-----
negative: -----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIEowIBAAKCAQEA...\n-----END ENCRYPTED PRIVATE KEY-----
negative: -----BEGIN ENCRYPTED PRIVATE KEY-----\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n-----END ENCRYPTED PRIVATE KEY-----
negative: HEADER = "-----BEGIN ENCRYPTED PRIVATE KEY-----"\nFOOTER = "-----END ENCRYPTED PRIVATE KEY-----"

id: openssh-private-key
title: OpenSSH private key
severity: critical
keywords: -----begin
pattern: (-----BEGIN OPENSSH PRIVATE KEY-----(?:[A-Za-z0-9+/=\s:,.\-]|\\[nr]){32,16000}?-----END OPENSSH PRIVATE KEY-----)
near: -----END OPENSSH PRIVATE KEY-----
entropy: 4.0
window: 16384
positive: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n7j4ejtc3s+ve3vzR5Sn0UEsmfdTqZWIDKxckZgQhhr2iDN+5QaPJqq4EdbVf9hre\nKVpmwu2vZmE/ETyNNl/ZeR3yc5r2iHXsOvastSsv1fuw/C06cUheBsz1Kl/QM/Pq\nXmU7pX+urH1UOHBK0JhsRAwlQLn3+cEYV1Nqn0Jnul5PUaj+CAPwICxE1JcgNZ/7\njuFNa+Ovr1QSMy+bXOIIRbT8finZpTgyIgIu+Uj96j2wTOURnRYX560KmC1dOxM3\n+6U7S3VQoAhEqJmkN8qyv+FJmtPe6bzq0yUUGVu3FE35H3wT0BVs/DmY2NS3u9c4\n-----END OPENSSH PRIVATE KEY-----
negative: -----BEGIN OPENSSH PRIVATE KEY-----\nMIIEowIBAAKCAQEA...\n-----END OPENSSH PRIVATE KEY-----
negative: -----BEGIN OPENSSH PRIVATE KEY-----\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n-----END OPENSSH PRIVATE KEY-----
negative: HEADER = "-----BEGIN OPENSSH PRIVATE KEY-----"\nFOOTER = "-----END OPENSSH PRIVATE KEY-----"
negative: _SK_START = b"-----BEGIN OPENSSH PRIVATE KEY-----"\n_SK_END = b"-----END OPENSSH PRIVATE KEY-----"

id: pgp-private-key
title: PGP private key block
severity: critical
keywords: -----begin
pattern: (-----BEGIN PGP PRIVATE KEY BLOCK-----[\s\S]{64,16000}?-----END PGP PRIVATE KEY BLOCK-----)
near: -----END PGP PRIVATE KEY BLOCK-----
entropy: 4.0
window: 16384
positive: -----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQOYBFhUkYaoGXpygV0nb7GxX4VU/H8aZxbkJtEeO8fD5B7ze8gEqWhD+RYCWRXzsWj+BY\nZ/Hw91w9oXlV1bGTpk84u+NEHDo7NUk/NtS1MXyP2CuGhlobMQTwc8pyZr/IJL+B\ngyjoCGsWMAOF6cL8A9hBQ3fULm4Gk8gRWU8Ua4WtJpKfWzGSy+1e5h3OS0lm8hQc\n2wmy1LUkiSppAU/hkB1zL9tlZyeRbiymZBO0Zxa3dA9XGRXhJuTSjUa4mZqzVT3H\ne60E01AJD/gkySPdFqsVa5H530p+bopQ2+XIQQhhu/e84P2wDgIVYqJTP5uTMTdu\nnu7OIIdQTAHoICVLX+zrdMmtZWPBbMB41XxbSpufPCbken8v3oGU5BVTrm/qE87r\nzcJdV+ugJMkTeTWcouJYqL14mwEte+OYLYh4bm4BxS9pXcaZt3gmimzQY/SViEfO\nFBhIxEscLQor/XJVnViwb5W6hNTMPLpUKXYNG0rozwBHEwHpD+zyMsBDnYcz8jSR\n/XvMOyqgZV4H5GsZu1oS60hb1Jb8IycdBsEYbX4Z3Ysar/197itZjQJdiJrqzQur\n2btq24FgyxtepVIrcFbiscsgOhXJAbtgh0nhSJcHN222KUXE8Lg9l4wDsRln5pU7\ngXata5k+qYYutN+FHJuzeysIfM1JENgL3MGzzVbdbwncvlOCPAcRY1UxTv92q86r\nHZKySc4QN43tKhnbcOH3/gRV/YsKHA1VGhGBPS5IBH3beJr4/cbrugZMM7KqFWv9\n=MBEw\n-----END PGP PRIVATE KEY BLOCK-----
negative: -----BEGIN PGP PRIVATE KEY BLOCK-----\n...\n-----END PGP PRIVATE KEY BLOCK-----
negative: ARMOR = "-----BEGIN PGP PRIVATE KEY BLOCK-----"

id: ssh2-private-key
title: SSH.com (SSH2) private key
severity: critical
keywords: ssh2
pattern: (---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----(?:[A-Za-z0-9+/=\s:,."\-]|\\[nr]){32,16000}?---- END SSH2 ENCRYPTED PRIVATE KEY ----)
entropy: 4.0
window: 16384
positive: ---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: "rsa-key-20240101"\nP2/56wAAA2C1khfLrIqIYwYm2y/AXnGJZ5PwG+aQvzmvjDFraMOGxTHVjXFgY4dxwYXcsmc9r\nYqwl5+ZpbJaZ1NmsTfomxMW2oDVSKoc96yQo0se2u3RC9z8kWWXkeygwgCjGV9al\nvTnZ6p8wqQHATgU4j5K/4faBQtV9cqOr0eFBGxXcAlrEEnJoUlz7IMJDMjxRjD/f\nQHX7aSc6lgtiNg83Y93bK0KrqOvp2dU5tDs5GPyvTAJhmpsaU7OTs38bTl62kq1h\nfpqzNJE+mdcZxB2amfmg1de0OxphKpAjNbT8gMyh/UKIRvLZv0m7+sXZUwkHqnDm\nXQFSlGsbuEUIqfvBPTQchDlenMGickt614MMQoCTflyATXoAFCVTbdDR4hgiZuXA\n+oibA9lcUNNdCruvlTDX9lyybUxtTPgvPoQLIJtRCOqeEHWFZD08SoUzKbYjjnU6\n/aq0jeq7oJ3n7jRzjJ6eY5OAjgMS4jln0IFUhy01pOr5WYT25ViTDf+qKrZ+8FGJ\n---- END SSH2 ENCRYPTED PRIVATE KEY ----
negative: ---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\n...\n---- END SSH2 ENCRYPTED PRIVATE KEY ----

id: putty-private-key
title: PuTTY private key file
severity: critical
keywords: putty-user-key-file-
pattern: (PuTTY-User-Key-File-[23]:[\s\S]{10,8000}?Private-Lines:\s{0,3}\d{1,3}\s{1,3}[A-Za-z0-9+/=\s]{40,14000}?Private-(?:MAC|Hash):\s{0,3}[0-9a-fA-F]{40,64})
entropy: 4.0
window: 24576
positive: PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy@build\nPublic-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAIhPQpaP6dNvHPThBB4q6VaB+Yk8Pfz6vmZRvg/Wty\ns7ZWGTgKMfH1wO9CphUx\nPrivate-Lines: 1\nAAAAIu1ouclS3nA0EeAvL4hUMgEjqIgFhVOK292sdVqkvR0E\nPrivate-MAC: e78f86c7ee2ef83d1e1ca3567cd21421588dea66da489284ff0f0349409632ba
negative: PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nPrivate-Lines: 1\n<private key here>\nPrivate-MAC: <mac>

id: age-secret-key
title: age encryption secret key
severity: critical
keywords: age-secret-key-1
pattern: \b(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b
entropy: 3.5
positive: # public key: age164d744ttw6zvsedhmuhsaz4vetmyv8a9yzz5mg7h5lwu63d4cv6akh6cct\nAGE-SECRET-KEY-13KF38LA9YPLCU2QKDR3KXEJ73GPJD6F42P6RDRCUTHMS5ACN2G8MT6E3V9
positive: SOPS_AGE_KEY=AGE-SECRET-KEY-14Q4QTWEZWTTUV5SMQ5W66KSCV2E8KL9EYD3TFV703VN43EC2AJURFKTW4E
negative: SOPS_AGE_KEY=AGE-SECRET-KEY-1...
negative: AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ

id: age-plugin-identity
title: age plugin identity
severity: high
keywords: age-plugin-
pattern: \b(AGE-PLUGIN-[A-Z0-9]{1,40}-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{20,400})\b
entropy: 3.5
confidence: medium
positive: AGE-PLUGIN-YUBIKEY-1MDESW7ZHAS5P3QD5ENH9H4TEFV7N6TCURDUHMYGLSF00YC8VX6Q0GHEW3YGG
negative: AGE-PLUGIN-YUBIKEY-1QQQQ

id: age-recipient
title: age recipient (X25519 public key)
severity: low
keywords: age1
pattern: \b(age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58})\b
entropy: 3.5
positive: recipients: age1ljsnae7vga4kw5g6fpgpdhewytr5cz9knq8t47n87swdxfwuml95dh2se4
negative: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq
negative: age1dwq4ahkw66gvs7vfyhc2

id: json-web-token
title: JSON Web Token
severity: medium
keywords: eyj
pattern: \b(eyJ[A-Za-z0-9_-]{8,2000}\.eyJ[A-Za-z0-9_-]{8,6000}\.(?!SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c)[A-Za-z0-9_-]{16,1000})(?![A-Za-z0-9_.-])
entropy: 3.5
window: 8192
positive: Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIw4vnwunSNy3ao1_0YwndDSyLoeym7HAhgIO_xMgOP2YRh1nYXYuAV0hrIBDU.rd14xfkZ5LCN7hXirAW7lFXkJT1Du_ssD6gMgi_AKoU
positive: SUPABASE_ANON_KEY=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiDDaezzF4USQoy33XGdUwx9uiEzvD3cDuXfYyhEiupkNNG_uSFS13N2zsfX4gVSnbbLo0epEk88mgca8TORaLR2yrse_gBNTmT4XoGy5dRUuErKtpSM8CR4vl.FW0q31mLHT6cROiGwss5mwYhE2KgNnTh5NYBK511w6E
negative: 'eyJhbGciOiJIUzI1NiJ9..BI5Vh7Tiz77lmeWoUCJbHds7AMbcQVF_RqBO4V9G4Y9'
negative: token = "eyJ...eyJ...sig"
negative: eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.
negative: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c

id: postgres-uri-password
title: PostgreSQL connection URI with a password
severity: high
keywords: postgres postgis pgsql
pattern: (?i)\b(?:postgres(?:ql)?(?:\+[a-z0-9]{1,20})?|postgis|pgsql)://[^:/?#@\s'"]{0,64}:((?![$%\{<*\[(@#]|(?:password|passwd|pass|pwd|tiger|guest|\*+|x{3,}|\.\.\.)@)[^/?#\s'"]{1,128}?)@(?=(?:[\w.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}(?:%25[\w.-]{1,32})?\])(?::\d{1,5})?(?![\w.@-]))
window: 512
confidence: medium
positive: DATABASE_URL=postgres://app:Ptz8s8ksWuSH1nhu@db.internal:5432/app
positive: DATABASE_URL=postgres://app:Wd7Kq2Lm9Xv4Np8T@[2001:db8::1]:5432/app
positive: engine = create_engine("postgresql+psycopg2://etl:RwagJQxC@k2H@10.0.3.7/warehouse")
negative: 'url': 'postgresql://{}@{}:{}/{}'.format(user, host, port, db)
negative: # jdbc:postgresql://db.example.com:5432/ebdb
negative: postgres://user:password@localhost/db
negative: postgres://user:${DB_PASSWORD}@localhost/db
negative: postgres://user:*****@localhost/db
negative: postgres://{user}:{password}@{host}/db
negative: postgres://user:<password>@localhost/db
negative: postgres://user:@localhost/db
negative: postgres://user:$password@localhost/db

id: mysql-uri-password
title: MySQL / MariaDB connection URI with a password
severity: high
keywords: mysql mariadb
pattern: (?i)\b(?:mysql(?:x|\+[a-z0-9]{1,20})?|mariadb(?:\+[a-z0-9]{1,20})?)://[^:/?#@\s'"]{0,64}:((?![$%\{<*\[(@#]|(?:password|passwd|pass|pwd|tiger|guest|\*+|x{3,}|\.\.\.)@)[^/?#\s'"]{1,128}?)@(?=(?:[\w.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}(?:%25[\w.-]{1,32})?\])(?::\d{1,5})?(?![\w.@-]))
window: 512
confidence: medium
positive: DATABASE_URL=mysql://shop:kyc91dJvoMQJv9@mysql.internal:3306/shop
positive: SQLALCHEMY_DATABASE_URI = "mysql+pymysql://root:rkwuSt9wp5!@127.0.0.1/app"
negative: mysql://localhost:3306/app
negative: mysql://user:password@localhost/db
negative: mysql://user:${DB_PASSWORD}@localhost/db
negative: mysql://user:*****@localhost/db
negative: mysql://{user}:{password}@{host}/db
negative: mysql://user:<password>@localhost/db
negative: mysql://user:@localhost/db
negative: mysql://user:$password@localhost/db

id: mysql-cli-password
title: MySQL / MariaDB password on a command line
severity: high
keywords: mysql mariadb
pattern: (?i:\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlshow|mysqlslap|mysqlpump|mariadb|mariadb-dump|mariadb-admin)(?:\.exe)?)['"]?[ \t,][^\n;|&]{0,200}?(?<=[\s'"])-p((?![$%\{<*\[(]|(?i:password|passwd|pass|pwd|secret|\*+|x{3,}|\.\.\.)(?:[\s'"]|$))[^\s'"]{4,128})
window: 512
entropy: 2.5
confidence: medium
positive: mysql -h db.internal -u root -pkyc91dJvoMQJv9 shop
positive: RUN mysqldump --single-transaction -uadmin -pRt6Yn3Qm8Wx2Lk7P app > /backup/app.sql
positive: ["mysql", "-u", "etl", "-pWd7Kq2Lm9Xv4Np8T"]
negative: mysql -u root -p shop
negative: mysql -u root -p$MYSQL_ROOT_PASSWORD shop
negative: mysql -u root -p"${DB_PASSWORD}" shop
negative: mysql -u root -ppassword shop
negative: mysqldump -h db -P 3306 -u root app
negative: mysql -u root --port 3306 -pxxxxxxxx app

id: sshpass-cli-password
title: Password given to sshpass on a command line
severity: high
keywords: sshpass
pattern: \bsshpass(?:[ \t]+-[a-oq-zA-Z]\S*)*[ \t]+-p[ \t]*((?![$%\{<*\[(]|(?i:password|passwd|pass|pwd|secret|\*+|x{3,}|\.\.\.)(?:[\s'"]|$))[^\s'"]{4,128})
window: 256
entropy: 2.5
confidence: medium
positive: sshpass -p Vq7Lm2Xn9Kw4Tz8R ssh deploy@10.0.0.5
positive: sshpass -pYBklAN6a08aHjA7j scp build.tar ci@host:/srv
positive: sshpass -v -p 9BYmRsBJXEcl901Q rsync -a out/ deploy@web:/srv
negative: sshpass -p "$SSHPASS" ssh deploy@10.0.0.5
negative: sshpass -e ssh deploy@10.0.0.5
negative: sshpass -p password ssh deploy@host
negative: sshpass -f ~/.pw ssh deploy@host

id: mongodb-uri-password
title: MongoDB connection URI with a password
severity: high
keywords: mongodb
pattern: (?i)\bmongodb(?:\+srv)?://[^:/?#@\s'"]{0,64}:((?![$%\{<*\[(@#]|(?:password|passwd|pass|pwd|tiger|guest|\*+|x{3,}|\.\.\.)@)[^/?#\s'"]{1,128}?)@(?=(?:[\w.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}(?:%25[\w.-]{1,32})?\])(?::\d{1,5})?(?![\w.@-]))
window: 512
confidence: medium
positive: MONGO_URL=mongodb+srv://svc:08LRwJ4ZCWCMxhAl@cluster0.6lp6w.mongodb.net/app?retryWrites=true
positive: mongodb://admin:i5UEjt1rU8St@mongo-0:27017,mongo-1:27017/?replicaSet=rs0
negative: mongodb://localhost:27017/test
negative: engine = create_engine("mongodb://scott:tiger@localhost/test")
negative: mongodb://user:password@localhost/db
negative: mongodb://user:${DB_PASSWORD}@localhost/db
negative: mongodb://user:*****@localhost/db
negative: mongodb://{user}:{password}@{host}/db
negative: mongodb://user:<password>@localhost/db
negative: mongodb://user:@localhost/db
negative: mongodb://user:$password@localhost/db

id: redis-uri-password
title: Redis connection URI with a password
severity: high
keywords: redis
pattern: (?i)\brediss?://[^:/?#@\s'"]{0,64}:((?![$%\{<*\[(@#]|(?:password|passwd|pass|pwd|tiger|guest|\*+|x{3,}|\.\.\.)@)[^/?#\s'"]{1,128}?)@(?=(?:[\w.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}(?:%25[\w.-]{1,32})?\])(?::\d{1,5})?(?![\w.@-]))
window: 512
confidence: medium
positive: REDIS_URL=redis://:0obGcH6WPfZUesDVRhFiAEy6@redis.internal:6379/0
positive: CACHE = "rediss://default:XWq4BrlpF8QNxWVV4vh9@cache.acme.io:6380"
negative: redis://localhost:6379/0
negative: redis://user:password@localhost/db
negative: redis://user:${DB_PASSWORD}@localhost/db
negative: redis://user:*****@localhost/db
negative: redis://{user}:{password}@{host}/db
negative: redis://user:<password>@localhost/db
negative: redis://user:@localhost/db
negative: redis://user:$password@localhost/db

id: amqp-uri-password
title: AMQP (RabbitMQ) connection URI with a password
severity: high
keywords: amqp
pattern: (?i)\bamqps?://[^:/?#@\s'"]{0,64}:((?![$%\{<*\[(@#]|(?:password|passwd|pass|pwd|tiger|guest|\*+|x{3,}|\.\.\.)@)[^/?#\s'"]{1,128}?)@(?=(?:[\w.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}(?:%25[\w.-]{1,32})?\])(?::\d{1,5})?(?![\w.@-]))
window: 512
confidence: medium
positive: BROKER_URL=amqp://celery:5kKAKSbz6zfj0V@rabbitmq.internal:5672/vhost
positive: amqps://admin:HDmcyz@192.168.1.10:5671/prod
negative: amqp://guest@localhost//
negative: BROKER_URL = "amqp://guest:guest@localhost:5672//"
negative: amqp://user:password@localhost/db
negative: amqp://user:${DB_PASSWORD}@localhost/db
negative: amqp://user:*****@localhost/db
negative: amqp://{user}:{password}@{host}/db
negative: amqp://user:<password>@localhost/db
negative: amqp://user:@localhost/db
negative: amqp://user:$password@localhost/db

id: mssql-uri-password
title: SQL Server connection URI with a password
severity: high
keywords: mssql sqlserver
pattern: (?i)\b(?:mssql(?:\+[a-z0-9]{1,20})?|sqlserver)://[^:/?#@\s'"]{0,64}:((?![$%\{<*\[(@#]|(?:password|passwd|pass|pwd|tiger|guest|\*+|x{3,}|\.\.\.)@)[^/?#\s'"]{1,128}?)@(?=(?:[\w.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}(?:%25[\w.-]{1,32})?\])(?::\d{1,5})?(?![\w.@-]))
window: 512
confidence: medium
positive: DB = "mssql+pyodbc://sa:n7jQi8ro3FZ5k5@sql01.internal:1433/erp?driver=ODBC+Driver+18+for+SQL+Server"
positive: sqlserver://app:z39KIzEHwB4I@db:1433?database=erp
negative: mssql://sql01.internal/erp
negative: mssql://user:password@localhost/db
negative: mssql://user:${DB_PASSWORD}@localhost/db
negative: mssql://user:*****@localhost/db
negative: mssql://{user}:{password}@{host}/db
negative: mssql://user:<password>@localhost/db
negative: mssql://user:@localhost/db
negative: mssql://user:$password@localhost/db

id: database-uri-password
title: Database connection URI with a password (Oracle, CockroachDB, ClickHouse, Cassandra, CouchDB, Neo4j and others)
severity: high
keywords: oracle:// cockroach clickhouse cassandra:// couchdb:// couchbase:// neo4j bolt:// bolt+s:// db2:// db2+ ibm_db_sa:// sybase:// firebird:// influxdb://
pattern: (?i)\b(?:oracle(?:\+[a-z0-9_]{1,20})?|cockroachdb|cockroach|clickhouse(?:\+[a-z0-9]{1,20})?|cassandra|couchdb|couchbase|neo4j(?:\+s{1,2}c?)?|bolt(?:\+s)?|db2(?:\+[a-z0-9_]{1,20})?|ibm_db_sa|sybase|firebird|influxdb)://[^:/?#@\s'"]{0,64}:((?![$%\{<*\[(@#]|(?:password|passwd|pass|pwd|tiger|guest|\*+|x{3,}|\.\.\.)@)[^/?#\s'"]{1,128}?)@(?=(?:[\w.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}(?:%25[\w.-]{1,32})?\])(?::\d{1,5})?(?![\w.@-]))
window: 512
confidence: medium
positive: ORACLE_URL = "oracle+cx_oracle://app:zOxtigslMkZFaj@ora01.internal:1521/?service_name=ORCLPDB1"
positive: NEO4J_URI=neo4j+s://neo4j:04cAvL65U6x5DLjr@bzk0fu3s.databases.neo4j.io
positive: clickhouse://default:YdeZjjRVlZ4H@ch.internal:9000/analytics
negative: oracle://ora01.internal:1521/ORCL
negative: cockroachdb://user:password@localhost/db
negative: cockroachdb://user:${DB_PASSWORD}@localhost/db
negative: cockroachdb://user:*****@localhost/db
negative: cockroachdb://{user}:{password}@{host}/db
negative: cockroachdb://user:<password>@localhost/db
negative: cockroachdb://user:@localhost/db
negative: cockroachdb://user:$password@localhost/db

id: jdbc-url-password
title: Password parameter in a JDBC URL
severity: high
keywords: jdbc:
pattern: (?i)\bjdbc:[a-z0-9:]{2,30}://[^\s'"]{1,200}?[?\&;]password=((?![$%\{<*\[(@#]|(?:password|\*+)(?:[\&;'"\s]|$))[^\&;\s'"]{1,128})
window: 512
confidence: medium
positive: spring.datasource.url=jdbc:mysql://db.internal:3306/app?user=app&password=5ZWDQ7QURSVN1c&useSSL=true
positive: jdbc:sqlserver://sql01:1433;databaseName=erp;user=etl;password=55kVqqe6m9WV;encrypt=true
negative: jdbc:postgresql://localhost/test?user=fred&password=${DB_PASSWORD}
negative: jdbc:sqlserver://sql01:1433;databaseName=erp;integratedSecurity=true
negative: jdbc:mysql://db/app?user=root&password=password

id: curl-user-password
title: Password in a curl command line (-u, --user, -U, --proxy-user)
severity: high
keywords: curl
pattern: \bcurl\b[^\n]{0,300}?\s(?:-u|--user|-U|--proxy-user)(?:[ \t]{1,3})?["']?[^\s:"']{0,64}:((?![$%\{<*\[(]|(?:password|passwd|pass|pwd|secret|changeme|x{3,}|\*+)(?![^\s"'\\]))[^\s"']{4,128})["']?(?![^\s\\;|&)])
entropy: 3.0
window: 512
confidence: medium
positive: curl -u deploy:Hx7pQ2vLm9Rt4kWz https://api.example.com/v1
positive: curl --user deploy:Zq8Wm2Nc7Vb4Xk1Lp9Rt https://api.example.com/v1
positive: curl -s -X POST -u "admin:Ny5Tb8Qw2Kx7Vm3Pz" https://x.example.com
positive: curl -udeploy:Hx7pQ2vLm9Rt4kWz https://x.example.com
positive: RUN curl -fsSL --proxy-user proxy:Tq4Wn8Lx2Vm7Kp3R -o /tmp/a https://x.example.com
negative: curl -u "$USER:$PASSWORD" https://api.example.com
negative: curl -u admin:password https://x.example.com
negative: curl -u user:${TOKEN} https://x.example.com
negative: curl -u admin https://x.example.com
negative: curl --upload-file a.txt https://x.example.com:8443/up
negative: curl -u user:pass https://x.example.com

id: jdbc-oracle-thin-password
title: Password in an Oracle thin JDBC URL
severity: high
keywords: jdbc:oracle
pattern: (?i)\bjdbc:oracle:thin:[\w$#.]{1,30}/((?![$%\{<*\[(@]|(?:password|\*+)@)[^@\s'"/]{1,64})@
confidence: medium
positive: url = "jdbc:oracle:thin:scott/j9W8yCjb5t@db01.internal:1521:ORCL"
negative: jdbc:oracle:thin:@db01:1521:ORCL
negative: jdbc:oracle:thin:scott/${PASS}@db01:1521:ORCL

id: odbc-connection-string-password
title: Password in an ODBC / ADO.NET connection string
severity: high
keywords: server= source= provider= driver= dsn= database= catalog= uid= host= pwd= password=
pattern: (?i)\b(?:server|data source|host|provider|driver|dsn|database|initial catalog|user id|uid|address|addr)\s{0,2}=[^;\n]{0,200};(?:[^;\n]{0,200};){0,8}?[^;\n]{0,40}?\b(?:password|pwd)\s{0,2}=\s{0,2}((?![#$%\{<*\[(@]|(?:password|\*+)\s{0,2}(?:;|$))[^;"'\s]{1,128})
near: ;
window: 1024
confidence: medium
positive: "ConnectionStrings": {"Default": "Server=sql01.internal;Database=erp;User Id=erp_app;Password=yEFbrqNSBj45WZ;TrustServerCertificate=true"}
positive: Driver={ODBC Driver 18 for SQL Server};Server=tcp:acme.database.windows.net,1433;Uid=etl;Pwd=X7Rm1OV7!TB01;Encrypt=yes;
negative: Server=sql01;Database=erp;User Id=app;Password=${DB_PASSWORD};
negative: Server=sql01;Database=erp;Trusted_Connection=True;
negative: text << "User=#{username}, "\ntext << "Password=#{password}, "
negative: Server=sql01;Database=erp;User Id=app;Password=******;
negative: connStr = "Server=" + host + ";Password=" + pw + ";"

id: postgres-conninfo-password
title: Password in a libpq key=value connection string
severity: high
keywords: dbname= host=
pattern: (?i)\b(?:host|dbname)=[\w.-]{1,100}\s(?:[^\n'"]{0,200}?\s)?password=((?![#$%\{<*\[(@]|(?:password|\*+)(?:\s|'|"|$))[^\s'"]{1,128})
window: 512
confidence: medium
positive: conn = psycopg2.connect("host=db.internal port=5432 dbname=app user=app password=bF1OesLCHu7ILY")
negative: 'host=db_host port=3306 user=apache password=###### dbname=apache_auth'
negative: dsn = "host=localhost dbname=test user=postgres password=%s" % pw

id: mongodb-atlas-private-key
title: MongoDB Atlas API private key (context)
severity: high
keywords: atlas mongodb
pattern: (?i)(?:atlas|mongodb)[\w.-]{0,25}?private[_-]?(?:api[_-]?)?key[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b
entropy: 3.0
confidence: medium
positive: ATLAS_PRIVATE_KEY=22742f5a-6df1-4ced-9337-34b69c0e10ef
positive: MONGODB_ATLAS_PRIVATE_API_KEY: "96f79fbb-8d1f-46bb-a073-46fe59dd8880"
negative: ATLAS_PRIVATE_KEY=00000000-0000-0000-0000-000000000000
negative: ATLAS_PRIVATE_KEY=${KEY}

id: mongodb-atlas-public-key
title: MongoDB Atlas API public key (context)
severity: low
keywords: atlas mongodb
pattern: (?i)(?:atlas|mongodb)[\w.-]{0,25}?public(?:[_-]?(?:api[_-]?)?key)?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([A-Za-z0-9]{8,10})\b
entropy: 2.5
confidence: medium
positive: MONGODB_ATLAS_PUBLIC_KEY=nszdugco
positive: mongodb-public: E91WgY4D5N
negative: MONGODB_ATLAS_PUBLIC_KEY=${PUB}
negative: atlas_public_key: aaaaaaaa

id: mongodb-atlas-service-account-secret
title: MongoDB Atlas service account secret
severity: high
keywords: mdb_sa_sk_
pattern: \b(mdb_sa_sk_[A-Za-z0-9_-]{40})(?![A-Za-z0-9_-])
entropy: 3.5
positive: MONGODB_ATLAS_CLIENT_SECRET=mdb_sa_sk_cwPzjyg9b-GA4b9RRpiaHqWxR0h7zZNMMqbMIWy4
negative: mdb_sa_sk_GQOiQbHkB7
negative: mdb_sa_sk_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: mongodb-atlas-service-account-id
title: MongoDB Atlas service account client ID
severity: low
keywords: mdb_sa_id_
pattern: \b(mdb_sa_id_[a-f0-9]{24})\b
entropy: 3.0
positive: MONGODB_ATLAS_CLIENT_ID=mdb_sa_id_7de65a41eb5ef469c78f92af
negative: mdb_sa_id_f5f7b46e21

id: password-hash-bcrypt
title: bcrypt password hash
severity: medium
keywords: $2a$ $2b$ $2y$ $2x$
pattern: (\$2[abxy]\$\d{2}\$[./A-Za-z0-9]{53})(?![./A-Za-z0-9])
entropy: 3.0
positive: admin:$2b$12$VCjyBNecJs.B0fNIgJL07kLswllINs3u4AksanPwf6vIw.O8DA7AY
positive: 'password_hash': '$2y$10$EN/PyfYcYSIwj/ZGhOzJd8LTSqTsODQ7NZqpVACW98j6jII6naipq'
negative: $2b$12$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
negative: prefix = "$2b$12$"

id: password-hash-md5crypt
title: md5crypt password hash
severity: medium
keywords: $1$
pattern: (\$1\$[./A-Za-z0-9]{1,8}\$[./A-Za-z0-9]{22})(?![./A-Za-z0-9])
entropy: 3.0
positive: root:$1$E00Gvzx0$LVX4SFGKatmEJm/fKyvbZ1:19000:0:99999:7:::
negative: $1$saltsalt$aaaaaaaaaaaaaaaaaaaaaa
negative: echo $1$2

id: password-hash-apr1
title: Apache apr1 (htpasswd) password hash
severity: medium
keywords: $apr1$
pattern: (\$apr1\$[./A-Za-z0-9]{1,8}\$[./A-Za-z0-9]{22})(?![./A-Za-z0-9])
entropy: 3.0
positive: admin:$apr1$I/fTgBCg$3d4AJyl4Js1PslyLIStlrS
negative: $apr1$salt$

id: password-hash-sha256crypt
title: sha256crypt password hash
severity: medium
keywords: $5$
pattern: (\$5\$(?:rounds=\d{1,9}\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{43})(?![./A-Za-z0-9])
entropy: 3.0
positive: deploy:$5$c6AiDdXGx/K.aQE5$WqfHq8lxHiEKng5iHsMuUI.2FgNleShdd38aKJMo1ca:19500::::::
positive: $5$rounds=5000$/8GnKD/okSvQzqZc$t64r.93JDHIma5WrHIF2CJHQ9JzuK95ZLyfFjGZs/ei
negative: $5$salt$bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb

id: password-hash-sha512crypt
title: sha512crypt password hash
severity: medium
keywords: $6$
pattern: (\$6\$(?:rounds=\d{1,9}\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{86})(?![./A-Za-z0-9])
entropy: 3.0
positive: root:$6$Fa.1.YRv80cjWal8$QQSwfXCZeTIjSzsRWZih1bEv3Pd3Hwf9TEMWqRNKEqQ7rV3L3NxcOoQ1LXq4W8PBKxWjWwhxN9VLqmO0ARi8D/:19000:0:99999:7:::
positive: password: "$6$rounds=656000$YxAwrupMTwArkKEW$CxC/IgL4WwbAVjVbsDuQt1Yj5RiTnEayhJnI2IN2M/N9gkrkg1bQIgllE3Q5zB0e/BQunefH7rCHscfl1uhxT6"
negative: $6$salt$cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc
negative: x = "$6$"

id: password-hash-cisco-type8
title: Cisco type 8 (PBKDF2-SHA256) password hash
severity: medium
keywords: $8$
pattern: (\$8\$[./A-Za-z0-9]{14}\$[./A-Za-z0-9]{43})(?![./A-Za-z0-9])
entropy: 3.0
positive: username admin privilege 15 secret 8 $8$AwnDHypzXC3430$flDMPVI22rs8kiURtMjGroRMbiq115kJ0IRDieLiFRE
negative: secret 8 $8$aaaaaaaaaaaaaa$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa

id: password-hash-cisco-type9
title: Cisco type 9 (scrypt) password hash
severity: medium
keywords: $9$
pattern: (\$9\$[./A-Za-z0-9]{14}\$[./A-Za-z0-9]{43})(?![./A-Za-z0-9])
entropy: 3.0
positive: enable algorithm-type scrypt secret 9 $9$3AVOlKI2jmMwq6$QG8D7XNav.B0hkYc5r3s.3z5CQCIxfY8r.s0ua.cy1r
negative: $9$aaaaaaaaaaaaaa$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa

id: password-hash-yescrypt
title: yescrypt password hash
severity: medium
keywords: $y$
pattern: (\$y\$[./A-Za-z0-9]{1,20}\$[./A-Za-z0-9]{1,86}\$[./A-Za-z0-9]{43})(?![./A-Za-z0-9])
entropy: 3.0
positive: user:$y$j9T$Q6aJjWBNOBtjXC/yEyAn4y$TnCdMLS1vz6uw7t8Cku/EhkOSzZLnX4Rxhv18BhE2YO:19700:0:99999:7:::
negative: $y$j9T$salt$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa

id: password-hash-argon2
title: Argon2 password hash
severity: medium
keywords: $argon2
pattern: (\$argon2(?:id|i|d)\$v=\d{1,3}\$m=\d{1,10},t=\d{1,5},p=\d{1,3}\$[A-Za-z0-9+/]{11,64}\$[A-Za-z0-9+/]{16,128})(?![A-Za-z0-9+/])
entropy: 3.0
positive: hash = "$argon2id$v=19$m=65536,t=3,p=4$A9AnEoKmvmGViv8CS54q0a$AIG0BhoN6JzR/5ha8e1OEDyX20jlVGqmq35ukP5iyzL"
negative: $argon2id$v=19$m=65536,t=3,p=4$c2FsdA$

id: password-hash-pbkdf2
title: PBKDF2 password hash (Django / Werkzeug format)
severity: medium
keywords: pbkdf2_sha pbkdf2:sha scrypt:
pattern: ((?:pbkdf2_sha(?:1|256|512)\$\d{3,7}\$[A-Za-z0-9]{1,64}\$[A-Za-z0-9+/]{27,88}={0,2}|(?:pbkdf2:sha(?:1|256|512):\d{3,7}|scrypt:\d{3,7}:\d{1,3}:\d{1,3})\$[A-Za-z0-9]{8,32}\$[a-f0-9]{64,128}))(?![A-Za-z0-9+/=])
entropy: 3.0
positive: "password": "pbkdf2_sha256$600000$OgiPZqnQ694czXVGmCI1sJ$2wAQGIMHaOFvaBCut3m0kY+PeVr3oYsR4H1V5MW9ziF="
positive: pw_hash = "scrypt:32768:8:1$UnbNAkDjxgOvGf11$f36308c2765240cd2d90a2b0a4e3746dd4cc613fd56c7c00cfeb103fb25b281ce7c0dad9d13be9aaffeef8f0e033f2833503a8ef61d56ecc066773672911aa5d"
negative: algorithm = "pbkdf2_sha256$"
negative: method="pbkdf2:sha256:600000"

id: password-hash-ldap-sha
title: LDAP / htpasswd SHA password hash
severity: medium
keywords: {sha} {ssha} {sha256} {ssha256} {sha512} {ssha512}
pattern: (\{S?SHA(?:256|384|512)?\}[A-Za-z0-9+/]{27,120}={0,2})(?![A-Za-z0-9+/=])
entropy: 3.5
positive: userPassword: {SSHA}+znSJ5avAZIwT/tkYYjJZSVMfw/KMB8U
positive: admin:{SHA}+zm9E1oXX06zM/pqbasvg8vx7Rc=
negative: userPassword: {SSHA}
negative: {SHA}AAAAAAAAAAAAAAAAAAAAAAAAAAA=

id: php-database-password
title: Database password in a PHP connection block
severity: high
keywords: $database $dbname $db_name $db_host $dbhost $db_user $dbuser
pattern: (?i)\$(?:database|db_?name|db_?host|db_?user)\s{0,3}=\s{0,3}["'][^"'\n]{1,100}["']\s{0,3};[\s\S]{0,200}?\$(?:password|passwd|pass|pwd|db_?pass(?:word|wd)?)\s{0,3}=\s{0,3}["']?((?![$%\{<*\[(@]|(?:password|\*+)["';])[^"'\s;]{1,128})["']?\s{0,3};
window: 512
confidence: medium
positive: <?php\n$db_host = "mysql.internal";\n$db_name = "shop";\n$db_user = "shop";\n$db_pass = "fEwm83710jSIzQ";\n
positive: $database = "crm"; $user = "crm"; $password = '9hoQBS0iA1';
negative: $db_host = "localhost";\n$db_pass = $_ENV["DB_PASS"];\n
negative: $database = "crm";\n$password = "";\n
negative: $dbname = "x";\n$password = getenv("DB_PASSWORD");\n

id: base64-pem-private-key
title: Base64-encoded PEM private key (kubeconfig client-key-data, Kubernetes secrets, CI variables)
severity: critical
keywords: ls0tls1crudjtib
pattern: \b(LS0tLS1CRUdJTiB(?:SU0EgUFJJVkFURSBLRVk|QUklWQVRFIEtFWS0|FQyBQUklWQVRFIEtFWS0|PUEVOU1NIIFBSSVZBVEUgS0VZ|EU0EgUFJJVkFURSBLRVk|FTkNSWVBURUQgUFJJVkFURSBLRVk|QR1AgUFJJVkFURSBLRVkgQkxPQ0s)[A-Za-z0-9+/]{60,20000}={0,2})(?![A-Za-z0-9+/=])
entropy: 4.0
window: 20480
positive: users:\n- name: admin\n  user:\n    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t\n    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQphcStyZnAyNCtMRy9Nc0l0bkdCeU93SkRFM2hPQWVwTFE2T2JiOFM2ckFjZytWOFM4bklVRjA0cFBQaFNEYXpVCngyUTFFTkpjU3ZnMlV5emVwblc3VGlSTExhTnF1N3FmUEMvSFRGNmtqOWFqTnNTTUoxN2FzZUdFeEg1YWtZSU4KZVg3VXpHV1pZdXM1ejNZb3VkZGliNHJOYWsrMzdmU3FZMWk2VEdWWHNQQ2VBd2M2RmZpSFlJUit2UWlMT0F0cwpqNmxqKzlKYUlHOXF5ZVRXekdhYWpkVTViZmJqRzRVVzZVWm1KWXVuZjZtdFBKZzhBL0Iya3ZGV3ZneW5zRXFwCnBiWHJMYzNDazY5N3BqWFE3YTJtVHp1d1J6bko2RWQ2Z1dSN3k5MEh4TTM5SUxkRWVFM08vQ3Q2TGd3Wnp0NGgKUUYrUlFwRVJOb0pnRVgvNCtuV0d1eUZYdlRtVGUvUk5kdE9kQnBma2l0TURDR2RLSHV1QVVDcXdITUMrSFYyawotLS0tLUVORCBSU0EgUFJJVkFURSBLRVktLS0tLQo=
positive: data:\n  tls.key: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCmJycFdKdUpmNFZuM2JXcmRVQVFDdDdWY0NLdytxNUVWWmU5c1gydUVjY2NqbHZYWmdaL05KTnJTWm1PejVIS0UKL0kxQjlxS1M4WU5DbVBYUW9Ic2pxZ1hBcGdqYURTTGdvQnRtSUZReDFWZDN3d1NrLy9RVDY0K3VYVHNpNTQzWgp0Z25Yc0pJMXByRkY5eWRLMXRzOHJqWVl1cTd4OXZ6dUhNOHVIaGczc1hmSWRGTzNtemR6TGN0eGlyRkVsSWp1CjUzMUJJeG1vcnhLYUUva1BUUFRzT2NyTG15WUozeTl2ZGdCTkNXU0hHYS9vWTNuODNudlRrdDJZNXcxZy9JN3EKLS0tLS1FTkQgUFJJVkFURSBLRVktLS0tLQo=
negative: client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUNBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==
negative: PREFIX = "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0t"
"""#
}
