extension RuleCatalog {
    /// Provider rules A to F, overflow of ProvidersAtoC (providers coda .. currentsapi): prefixed tokens and API keys named near their provider.
    static let providersMoreAtoF = #"""
id: coda-api-key
title: Coda API token
severity: high
keywords: coda
pattern: (?i)(?:\b|_)(?:coda)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CODA_API_KEY="5b3d395a-7eb1-1b09-e907-1217eec0c34d"
positive: coda:\n  token: 8bad0ab1-34d9-c367-85ce-b8ff1a5af276
negative: export CODA_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export CODA_API_KEY="388c183c-96b3-f22a-b6a8-923e590e8a"
negative: export CODA_API_KEY="${CODA_API_KEY}"

id: codacy-api-token
title: Codacy API token
severity: high
keywords: codacy
pattern: (?i)(?:\b|_)(?:codacy)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CODACY_API_KEY="dHo3cPis5yIGPrkhd1Vm"
positive: codacy:\n  token: BvISnLW1ENErW3Ck44f9
negative: export CODACY_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export CODACY_API_KEY="daq4IHKAP0HaJ0rxMr"
negative: export CODACY_API_KEY="${CODACY_API_KEY}"

id: codeclimate-reporter-id
title: Code Climate test reporter id / token
severity: high
keywords: codeclimate cc_test_reporter_id
pattern: (?i)(?:\b|_)(?:codeclimate|cc_test_reporter_id)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: codeclimate=D7kfPrVqyVfB0VnKC2tWIiHwzisyfuYJWk7hxqCfeguwszzBxpQENfRokCPHXsT0
positive: CODECLIMATE OpVLfBEH2TkL6g1y8Wm2FAotH2coE6XuNIEQ23oURgWecKfkKKyoySEbWawUVA3q
negative: codeclimate=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: codeclimate=gmzIyy2fUbL5UQDHk0aGZa21pG4uSr6eKjTcVYSjG4rSyY4UVO7NB9ENJ8FH29
negative: codeclimate=${CODECLIMATE_API_KEY}

id: codemagic-api-token
title: Codemagic API token
severity: high
keywords: codemagic
pattern: (?i)(?:\b|_)(?:codemagic)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_]{40,60})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CODEMAGIC_API_KEY="eAasouBiBr3fXaoeATate3q5EfaIriU8vU6KPw3o8X"
positive: codemagic:\n  token: 1ZKP23BBHI9MlfPk98fD57JIo1yl4cgxZalSrK4Q0POoZQC9b5
negative: export CODEMAGIC_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CODEMAGIC_API_KEY="ghOc380oqsL3RANU4mZ3c4OQONDEn5grMBeDlQ"
negative: export CODEMAGIC_API_KEY="${CODEMAGIC_API_KEY}"

id: codequiry-api-key
title: Codequiry API key
severity: high
keywords: codequiry
pattern: (?i)(?:\b|_)(?:codequiry)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CODEQUIRY_API_KEY="iwJmb11I0Bt4FPur0ibrPoM8A9MCfjmL9SnVWbxRRk9zBnloOd98VRYAKT7IGc4K"
positive: codequiry:\n  token: edX5eA9xoycYBDpNq22yQuSxEPLz1bXskbW8j2XDwwPJjCy8y1fB0szmZSzPS9hz
negative: export CODEQUIRY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CODEQUIRY_API_KEY="VazstJwjJCHGQxCmIcelbbsAXE2LrUO0tUExrckQwf61Yi8Xib5CavLZlVggYP"
negative: export CODEQUIRY_API_KEY="${CODEQUIRY_API_KEY}"

id: coinapi-api-key
title: CoinAPI key
severity: high
keywords: coinapi
pattern: (?i)(?:\b|_)(?:coinapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COINAPI_API_KEY="9f7e7c0f-d34e-e22c-2565-f74298f81f83"
positive: coinapi:\n  token: 964be440-da32-8c32-4ff8-8745e8405b82
negative: export COINAPI_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export COINAPI_API_KEY="92ca7ed0-96f5-119e-d107-283fd66623"
negative: export COINAPI_API_KEY="${COINAPI_API_KEY}"

id: coinbase-api-key
title: Coinbase API key
severity: high
keywords: coinbase
pattern: (?i)(?:\b|_)(?:coinbase)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COINBASE_API_KEY="96rGdRQroZiiHZoNq4f4laxqlZIP6XVw"
positive: coinbase:\n  token: cDINE6AmncuP3dT8vl2lTgFQqkcgDXId
negative: export COINBASE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COINBASE_API_KEY="WWdFhjrISnI2HcN6KIn3rddYcXrreO"
negative: export COINBASE_API_KEY="${COINBASE_API_KEY}"

id: coinlayer-api-key
title: coinlayer API key
severity: high
keywords: coinlayer
pattern: (?i)(?:\b|_)(?:coinlayer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COINLAYER_API_KEY="Gc5hLuyerLwms6EFpztJKyU86LTntGAL"
positive: coinlayer:\n  token: HeS2tpgyEGpwxia4TEiYO36VFjK5DnNc
negative: export COINLAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COINLAYER_API_KEY="CzCajmkbo2nm58AMP7eS2XQA74BgEd"
negative: export COINLAYER_API_KEY="${COINLAYER_API_KEY}"

id: coinlib-api-key
title: Coinlib API key
severity: high
keywords: coinlib
pattern: (?i)(?:\b|_)(?:coinlib)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{16})(?![\w-])
entropy: 2.5
confidence: medium
positive: export COINLIB_API_KEY="EXoOjyNu7seYJXsB"
positive: coinlib:\n  token: VzKM0YUBhGwmxl9S
negative: export COINLIB_API_KEY="xxxxxxxxxxxxxxxx"
negative: export COINLIB_API_KEY="W9JweJy8aTgjfu"
negative: export COINLIB_API_KEY="${COINLIB_API_KEY}"

id: collect2-api-key
title: Collect2 API key
severity: high
keywords: collect2
pattern: (?i)(?:\b|_)(?:collect2)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COLLECT2_API_KEY="7176ec3d-c217-b980-b309-95e1d5dd95fd"
positive: collect2:\n  token: 827e8b85-c8f9-3444-b457-68fe56db142f
negative: export COLLECT2_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export COLLECT2_API_KEY="4593f18b-64af-1241-b50c-9aed3b5930"
negative: export COLLECT2_API_KEY="${COLLECT2_API_KEY}"

id: column-api-key
title: Column API key
severity: high
keywords: column
pattern: (?i)(?:\b|_)column[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret)[\w\s.:'"=/>,-]{0,30}?\b((?:live|test)_[A-Za-z0-9]{26,40})\b
entropy: 3.0
confidence: medium
positive: COLUMN_API_KEY="live_tLZxhLWYEWZWS2joc490ttkJnzarhFAQ"
negative: COLUMN_API_KEY="live_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: COLUMN_API_KEY="demo_M6QjZckIHnXUBHglAR8im52IjqJod6ZG"

id: commercejs-secret-key
title: Commerce.js secret key
severity: high
keywords: commercejs commerce.js
pattern: (?i)(?:\b|_)(?:commercejs|commerce\.js)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{48})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COMMERCEJS_API_KEY="FzA13KPS09NBfexRXstqawQxpN8OFvRPheI3c6EsgipobjNg"
positive: commercejs:\n  token: QJTDJLItDW2FCaQnsXrnP8Plmysb0WlsE3B4y9zVjdImY9EJ
negative: export COMMERCEJS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COMMERCEJS_API_KEY="zcAkobINWJTWageZwqlDptwCRCNcfJUCuxFiYXglQ8QLBy"
negative: export COMMERCEJS_API_KEY="${COMMERCEJS_API_KEY}"

id: confluent-client-id
title: Confluent / Kafka API key id
severity: medium
keywords: confluent kafka
pattern: (?i)(?:\b|_)(?:confluent|kafka)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Z0-9]{16})(?![\w-])
entropy: 2.5
confidence: medium
positive: export CONFLUENT_API_KEY="XCD0FSUHG1WZQMPO"
positive: confluent:\n  token: SBT40ZTSJUKFQFUI
negative: export CONFLUENT_API_KEY="xxxxxxxxxxxxxxxx"
negative: export CONFLUENT_API_KEY="Y901042LI6QQZO"
negative: export CONFLUENT_API_KEY="${CONFLUENT_API_KEY}"

id: confluent-api-secret
title: Confluent / Kafka API secret
severity: high
keywords: confluent kafka
pattern: (?i)(?:\b|_)(?:confluent|kafka)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64,66})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CONFLUENT_API_KEY="hCoJPzesR0Cq60eDRh4LB6XS97mitNoD52GKW9k45UnEy3w8LCQrbjp55d144r0DzL"
positive: confluent:\n  token: a9qWCDviLb1iHKNh4tp4I84Q68HdkfcyCRifdSiOfJLMFnzyOZ9WG7QNmVxLbF5xS
negative: export CONFLUENT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CONFLUENT_API_KEY="i73kGOYLBdBrnlB33K9a75qFBkJecdF6DXkutIAB7tt6mUOAWguKfJfUXbmLu3"
negative: export CONFLUENT_API_KEY="${CONFLUENT_API_KEY}"

id: contentful-personal-access-token
title: Contentful personal access token
severity: high
keywords: cfpat-
pattern: \b(CFPAT-[A-Za-z0-9_-]{43,64})(?![\w-])
entropy: 3.0
positive: CONTENTFUL_MANAGEMENT_TOKEN=CFPAT-avZIcJnINXJt9anNSZgAJuADn8p02BDwB53tTC6J7ht
negative: CFPAT-xxxx
negative: CFPAT-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: conversiontools-api-key
title: Conversion Tools API key
severity: high
keywords: conversiontools
pattern: (?i)(?:\b|_)(?:conversiontools)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b(eyJ[A-Za-z0-9_.-]{30,600})(?![\w.-])
entropy: 3.0
window: 1024
confidence: medium
positive: export CONVERSIONTOOLS_API_KEY="eyJk1xfyCZbzRjtNMd1MZgcSrQEtdekMf3K3DnXrfZtAA2QNhMxRLDA8UIGcCMBseKxALhCQ4PTbQ0x2FsxraQnd5rM7z62QN2na5xf0d8c0c7cjHkfVzWQZ5pflbAgZUGYkCNDw5f7a0pZ5XKxaNx5pbzML4QZCgnuxsUbdOrRdu2XYfClLaWwZ9wxkRZyau2HK53z6MHI3OS4ESAfeg0T7MmLtSc3Cbsr12FEND1MXmK2VQrIWxGAScpT4ZAw3jDYAa3PVjJW0y5HKCQfMFtBYwLiMEUPOP8r18vsZ0j3798lhUAdIh3FpGPpyNdth9563Es9vaIlsMMjhZeKdSawT41jPbTZeK705IFEQibhQkJZGRqlBrs6etMIMJ2NPKl61P7F55O2Jc5EX5829GmgfQnYDE4cUBA2S4xoVNjjF6PfToih2Y4oXsGJtV6QwAGE1sBxpjAehqaZj4s1AcQZzQtrj5oAcVlrBBSTqUWjmF0P6WZdRXqKxPpz6AnfatIGBhQlrjwslB3yJExVVRJhGHRIpHJtY1CQjiFylHaqfSnqi17ik3Nr02nwqfuPUDHcyQk8xT3EMjKoOmdtOjuXY"
positive: conversiontools:\n  token: eyJBKTIKwGZOHg5iErDBXphpRbL2wOhC6JcvuIbquV5UXenmhph676OcmCYhDk5Yph5ofxBrCHkKbpDPpc5UOT885QNa380EuglNXaywzmdGHZe28ill1jxxL0CWLp5b5D5KpvmGt7hsggf8VbLrwtOF3BIUHwjukeHgSDwvvUtC7ArK590KkuyKcdpytdRI65cxBcl0zgMqrVyzXxCPUBaUi8q5KEVj5QIiHzuGzq
negative: export CONVERSIONTOOLS_API_KEY="eyJxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CONVERSIONTOOLS_API_KEY="eyJS0pGszLOg4y88IxvpHc60KgsIhGX"
negative: export CONVERSIONTOOLS_API_KEY="${CONVERSIONTOOLS_API_KEY}"

id: convertapi-api-key
title: ConvertAPI secret
severity: high
keywords: convertapi
pattern: (?i)(?:\b|_)(?:convertapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{16})(?![\w-])
entropy: 2.5
confidence: medium
positive: export CONVERTAPI_API_KEY="p5fOmiajGgjdOXkX"
positive: convertapi:\n  token: jurXpom3of2qTrBe
negative: export CONVERTAPI_API_KEY="xxxxxxxxxxxxxxxx"
negative: export CONVERTAPI_API_KEY="Kc6p2KXw8uNN55"
negative: export CONVERTAPI_API_KEY="${CONVERTAPI_API_KEY}"

id: convertkit-api-key
title: ConvertKit API key
severity: high
keywords: convertkit
pattern: (?i)(?:\b|_)(?:convertkit)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CONVERTKIT_API_KEY="aqGJvj8UHos367ODo3eI2x"
positive: convertkit:\n  token: 3IZPo3Z8nPqTw4urN60uBH
negative: export CONVERTKIT_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: export CONVERTKIT_API_KEY="v3WrdrXZGZUCX4YPf5dR"
negative: export CONVERTKIT_API_KEY="${CONVERTKIT_API_KEY}"

id: countrylayer-api-key
title: countrylayer API key
severity: high
keywords: countrylayer
pattern: (?i)(?:\b|_)(?:countrylayer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COUNTRYLAYER_API_KEY="UHHafbqhbXBKFmb5eo4rzz4sToAExNQq"
positive: countrylayer:\n  token: wrA2DNfG8MkDbncFZJzXvsfseWhzTIZh
negative: export COUNTRYLAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COUNTRYLAYER_API_KEY="3ZTXBkOFKXtsGKe3JfhqIuvKoMP7AG"
negative: export COUNTRYLAYER_API_KEY="${COUNTRYLAYER_API_KEY}"

id: courier-api-key
title: Courier API key
severity: high
keywords: pk_prod_ pk_test_
pattern: \b(pk_(?:prod|test)_[A-Z0-9]{28})\b
entropy: 3.0
positive: COURIER_AUTH_TOKEN=pk_prod_DUENCOVE36V40O4V9D28MVT5SV3U
negative: pk_prod_XXXXXXXXXXXXXXXXXXXXXXXXXXXX
negative: pk_test_KroS3JkY5tKtIgEssC0cuxZs

id: coveralls-repo-token
title: Coveralls repo token
severity: high
keywords: coveralls
pattern: (?i)(?:\b|_)(?:coveralls)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{37})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COVERALLS_API_KEY="IwaSNkXIRMGNZfgKKmhLElnzKflSqMYNmO59n"
positive: coveralls:\n  token: HrSYy8d1DOU7sugt1wE38JNmkeaErfdhpJSiV
negative: export COVERALLS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COVERALLS_API_KEY="YUkf66nGSDVDy95H9WT3oE0VCAm7lALpa59"
negative: export COVERALLS_API_KEY="${COVERALLS_API_KEY}"

id: craftmypdf-api-key
title: CraftMyPDF API key
severity: high
keywords: craftmypdf
pattern: (?i)(?:\b|_)(?:craftmypdf)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{35})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CRAFTMYPDF_API_KEY="dB0E1rkwSt4oq9jNHtqGGM5PVz5WR8j5L6e"
positive: craftmypdf:\n  token: sDQ7f33dMhMqzKD9BYmRsBJXEcl901QXEYB
negative: export CRAFTMYPDF_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CRAFTMYPDF_API_KEY="4c79KsTujeNR1fmtF4fhe9ONz7jzavqct"
negative: export CRAFTMYPDF_API_KEY="${CRAFTMYPDF_API_KEY}"

id: cratesio-api-token
title: crates.io API token
severity: high
keywords: cio
pattern: (?:^|[^A-Za-z0-9+/_-])(cio[A-Za-z0-9]{32})\b
entropy: 3.0
positive: CARGO_REGISTRY_TOKEN=ciolEuIBb7ebOm3X12SoVF398h8Eur86OfT
positive: [registry]\ntoken = "cioI0UEGjmBLbMtQ5vafmgyG8S4UzTkDiXI"
negative: CARGO_REGISTRY_TOKEN=cioxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: preciousui294OYXGxUtbT0e3lXAoOXBnwOzNRjx

id: credentials-in-url
title: Password in a URL
severity: high
keywords: ://
pattern: (?i)\b[a-z][a-z0-9+.-]{1,15}://[A-Za-z0-9._%~-]{2,64}:([A-Za-z0-9._%~!*+=-]{3,100})@[A-Za-z0-9-]
entropy: 2.9
confidence: medium
positive: DATABASE_URL=postgres://app:vPfbp8cRQp4wSSFd@db.internal:5432/app
positive: amqp://svc_ingest:OlyGfHa5457us7cw@rabbit-01
negative: http://user:password@example.com
negative: redis://default:${REDIS_PASSWORD}@cache:6379
negative: https://user:pass@host

id: crowdin-api-token
title: Crowdin API token
severity: high
keywords: crowdin
pattern: (?i)(?:\b|_)(?:crowdin)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{80,90})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CROWDIN_API_KEY="lD443dKbUYzeCoDiVvH3YmbGSXnTiogaAhril6Bh6hJh6rcl4xs5MTWXITPDTO0FQayQPKmQidAzz8xTrQfa2Vi"
positive: crowdin:\n  token: VqX3AtbHfwBMQ9VFkdfVyUqKOXRsbPGxCXjqPKvwp4LrcCvTrVSjmONNOnGRjN086IVgYgNjG8eh8Pf07IzcN1N
negative: export CROWDIN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CROWDIN_API_KEY="TENYvQJUPUrDL1xrAK7sQzaIYhI9J3fdUHvgaR8GO8j0mQkCivrGQ4gXiA1RBbrep3SIHL0SkH4IWj"
negative: export CROWDIN_API_KEY="${CROWDIN_API_KEY}"

id: cryptocompare-api-key
title: CryptoCompare API key
severity: high
keywords: cryptocompare
pattern: (?i)(?:\b|_)(?:cryptocompare)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 2.9
confidence: medium
positive: export CRYPTOCOMPARE_API_KEY="0w7tG4L5Iij0SpIiCqkXDrdT8Tg8t02C1syuh3ltH8fQ5LnHjDil7GhCpJaTrFX0"
positive: cryptocompare:\n  token: YlVULKf1A15JHy7JmGAsKVAVD9sdhfLa1E9aGV8tAjf6yUwIahS3Ac8RobbQHkNm
negative: export CRYPTOCOMPARE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CRYPTOCOMPARE_API_KEY="SUX0WKhIk53aDyosXuwptH5twFrY5kSnpA9kPDY3OQv8ykgMwlmSmhAdQaEP7h"
negative: export CRYPTOCOMPARE_API_KEY="${CRYPTOCOMPARE_API_KEY}"

id: currencyfreaks-api-key
title: CurrencyFreaks API key
severity: high
keywords: currencyfreaks
pattern: (?i)(?:\b|_)(?:currencyfreaks)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CURRENCYFREAKS_API_KEY="3RoVQzu78v52BARskBHZPkalx1poPVky"
positive: currencyfreaks:\n  token: oOKhGlthTbZ1TnYJZjQQFsTbu6XdoS13
negative: export CURRENCYFREAKS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CURRENCYFREAKS_API_KEY="kw7Kag4nMpEd7ixmknSJZxcWeSrp7D"
negative: export CURRENCYFREAKS_API_KEY="${CURRENCYFREAKS_API_KEY}"

id: currencylayer-api-key
title: currencylayer API key
severity: high
keywords: currencylayer
pattern: (?i)(?:\b|_)(?:currencylayer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CURRENCYLAYER_API_KEY="C6YjcekiytsXuxXYzQChNrP3T0TsTbe4"
positive: currencylayer:\n  token: WJD2GknY3AjdP2YH6hFGYqA4SnvpkPvh
negative: export CURRENCYLAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CURRENCYLAYER_API_KEY="RzKPZBBrCt5spoEScb9gsUihrguQ0Y"
negative: export CURRENCYLAYER_API_KEY="${CURRENCYLAYER_API_KEY}"

id: currencyscoop-api-key
title: CurrencyScoop API key
severity: high
keywords: currencyscoop
pattern: (?i)(?:\b|_)(?:currencyscoop)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CURRENCYSCOOP_API_KEY="vf228m9fhY0mOaBr24ar86f42Ijaq3Mc"
positive: currencyscoop:\n  token: rh1kSVcZzghl3fxemlZnBKESeJYGOPKC
negative: export CURRENCYSCOOP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CURRENCYSCOOP_API_KEY="GUipiIFUdBKD59ioFbpfOS0i5GPI2T"
negative: export CURRENCYSCOOP_API_KEY="${CURRENCYSCOOP_API_KEY}"

id: currentsapi-api-key
title: Currents API key
severity: high
keywords: currentsapi
pattern: (?i)(?:\b|_)(?:currentsapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9+/_=-]{48})(?![\w+/=-])
entropy: 3.0
confidence: medium
positive: export CURRENTSAPI_API_KEY="HY2ebSekXRVwoASCovHN6ai6M8c8r58tBZeC1uMkjnbsYCaw"
positive: currentsapi:\n  token: LJfuxF7YzdKnsLqdAufDbRKlRh6SYv8yvzI0m3bcAjblviwU
negative: export CURRENTSAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CURRENTSAPI_API_KEY="23kjn122AFuPX23wNjMznZ8u3Sxa5fpTJd6SJkpiwz1HJ5"
negative: export CURRENTSAPI_API_KEY="${CURRENTSAPI_API_KEY}"
"""#
}
