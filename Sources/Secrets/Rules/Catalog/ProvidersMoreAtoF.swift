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
positive: export CODA_API_KEY="d7530795-1f86-ae0f-1007-77d9b991e643"
positive: coda:\n  token: 37567d50-fb96-17b4-5c6a-ec467176ec3d
negative: export CODA_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export CODA_API_KEY="ec8f9d34-44ab-4570-68fe-56db142f04"
negative: export CODA_API_KEY="${CODA_API_KEY}"

id: codacy-api-token
title: Codacy API token
severity: high
keywords: codacy
pattern: (?i)(?:\b|_)(?:codacy)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CODACY_API_KEY="xXnxZIRPMCvQhFyt3CrL"
positive: codacy:\n  token: GJ10HLEAc3hG5kP6W1OD
negative: export CODACY_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export CODACY_API_KEY="RUf3ceqixIuYxFV5O4"
negative: export CODACY_API_KEY="${CODACY_API_KEY}"

id: codeclimate-reporter-id
title: Code Climate test reporter id / token
severity: high
keywords: codeclimate cc_test_reporter_id
pattern: (?i)(?:\b|_)(?:codeclimate|cc_test_reporter_id)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: codeclimate=koCc2NYyva1korRLv7pd8ZWUSwmemPwF9A77wFDSspnUXFZa1ihs82NQc8wFtnIT
positive: CODECLIMATE M6QjZckIHnXUBHglAR8im52IjqJod6ZGttLZxhLWYEWZWS2joc490ttkJnzarhFA
negative: codeclimate=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: codeclimate=Z2jFzA13KPS09NBfexRXstqawQxpN8OFvRPheI3c6EsgipobjNgcQJTDJLItDW
negative: codeclimate=${CODECLIMATE_API_KEY}

id: codemagic-api-token
title: Codemagic API token
severity: high
keywords: codemagic
pattern: (?i)(?:\b|_)(?:codemagic)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_]{40,60})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CODEMAGIC_API_KEY="CaQnsXrnP8Plmysb0WlsE3B4y9zVjdImY9EJiajo07e81WrjVZ8Mi0I"
positive: codemagic:\n  token: 1VXFfty8XeT6xCQyzf60GFg9DXOHTzcAkobINWJTWageZwqlDptwCR
negative: export CODEMAGIC_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CODEMAGIC_API_KEY="tE9AzWQtsjuk5f9qf9KuizA6U7Xau9XNus84IJ"
negative: export CODEMAGIC_API_KEY="${CODEMAGIC_API_KEY}"

id: codequiry-api-key
title: Codequiry API key
severity: high
keywords: codequiry
pattern: (?i)(?:\b|_)(?:codequiry)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CODEQUIRY_API_KEY="ANK19MMtdF83pdvNQzyJ3ABUAVECliG3qqKz1oIhCoJPzesR0Cq60eDRh4LB6XS9"
positive: codequiry:\n  token: itNoD52GKW9k45UnEy3w8LCQrbjp55d144r0DzLya9qWCDviLb1iHKNh4tp4I84Q
negative: export CODEQUIRY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CODEQUIRY_API_KEY="83ljoIT7RsLJgTOnC5U8ndiCb2P9IxEVTatNTuIi73kGOYLBdBrnlB33K9a75q"
negative: export CODEQUIRY_API_KEY="${CODEQUIRY_API_KEY}"

id: coinapi-api-key
title: CoinAPI key
severity: high
keywords: coinapi
pattern: (?i)(?:\b|_)(?:coinapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COINAPI_API_KEY="7fcbb98f-3773-07d4-ca04-a4b03a0d7478"
positive: coinapi:\n  token: 1785738d-d645-a0b8-8304-0f22f38524dd
negative: export COINAPI_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export COINAPI_API_KEY="3bcfc802-c377-d587-b873-c57d8a5935"
negative: export COINAPI_API_KEY="${COINAPI_API_KEY}"

id: coinbase-api-key
title: Coinbase API key
severity: high
keywords: coinbase
pattern: (?i)(?:\b|_)(?:coinbase)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COINBASE_API_KEY="aQnd5rM7z62QN2na5xf0d8c0c7cjHkfV"
positive: coinbase:\n  token: WQZ5pflbAgZUGYkCNDw5f7a0pZ5XKxaN
negative: export COINBASE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COINBASE_API_KEY="wZ9wxkRZyau2HK53z6MHI3OS4ESAfe"
negative: export COINBASE_API_KEY="${COINBASE_API_KEY}"

id: coinlayer-api-key
title: coinlayer API key
severity: high
keywords: coinlayer
pattern: (?i)(?:\b|_)(?:coinlayer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COINLAYER_API_KEY="0T7MmLtSc3Cbsr12FEND1MXmK2VQrIWx"
positive: coinlayer:\n  token: ScpT4ZAw3jDYAa3PVjJW0y5HKCQfMFtB
negative: export COINLAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COINLAYER_API_KEY="PpyNdth9563Es9vaIlsMMjhZeKdSaw"
negative: export COINLAYER_API_KEY="${COINLAYER_API_KEY}"

id: coinlib-api-key
title: Coinlib API key
severity: high
keywords: coinlib
pattern: (?i)(?:\b|_)(?:coinlib)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{16})(?![\w-])
entropy: 2.5
confidence: medium
positive: export COINLIB_API_KEY="PbTZeK705IFEQibh"
positive: coinlib:\n  token: JZGRqlBrs6etMIMJ
negative: export COINLIB_API_KEY="xxxxxxxxxxxxxxxx"
negative: export COINLIB_API_KEY="29GmgfQnYDE4cU"
negative: export COINLIB_API_KEY="${COINLIB_API_KEY}"

id: collect2-api-key
title: Collect2 API key
severity: high
keywords: collect2
pattern: (?i)(?:\b|_)(?:collect2)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COLLECT2_API_KEY="751ee9c1-d133-7937-1e7c-2ae37b632e17"
positive: collect2:\n  token: f2772e09-2516-0ca3-df2e-3f7695d138ee
negative: export COLLECT2_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export COLLECT2_API_KEY="871d1a5d-8b44-a24c-00d1-db08d8f1d1"
negative: export COLLECT2_API_KEY="${COLLECT2_API_KEY}"

id: column-api-key
title: Column API key
severity: high
keywords: column
pattern: (?i)(?:\b|_)column[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret)[\w\s.:'"=/>,-]{0,30}?\b((?:live|test)_[A-Za-z0-9]{26,40})\b
entropy: 3.0
confidence: medium
positive: COLUMN_API_KEY="live_ywzmdGHZe28ill1jxxL0CWLp5b5D5Kpv"
negative: COLUMN_API_KEY="live_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: COLUMN_API_KEY="demo_xBrCHkKbpDPpc5UOT885QNa380EuglNX"

id: commercejs-secret-key
title: Commerce.js secret key
severity: high
keywords: commercejs commerce.js
pattern: (?i)(?:\b|_)(?:commercejs|commerce\.js)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{48})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COMMERCEJS_API_KEY="gMqrVyzXxCPUBaUi8q5KEVj5QIiHzuGzqQ6Ff3rxWSgStcMc"
positive: commercejs:\n  token: yPCwEthemCgc1LFAQgk14Y9AYaoEjoxztmu19ilW4SN4bSQJ
negative: export COMMERCEJS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COMMERCEJS_API_KEY="uQWgoHOSzuE8psLt52UzcxL1mIMtxxC8Bi6WpsguX0O9b2"
negative: export COMMERCEJS_API_KEY="${COMMERCEJS_API_KEY}"

id: confluent-client-id
title: Confluent / Kafka API key id
severity: medium
keywords: confluent kafka
pattern: (?i)(?:\b|_)(?:confluent|kafka)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Z0-9]{16})(?![\w-])
entropy: 2.5
confidence: medium
positive: export CONFLUENT_API_KEY="T7EEXOBC3YUAF8H1"
positive: confluent:\n  token: 3M598GKG3RRCMSFX
negative: export CONFLUENT_API_KEY="xxxxxxxxxxxxxxxx"
negative: export CONFLUENT_API_KEY="1Y8AST4009ZTTI"
negative: export CONFLUENT_API_KEY="${CONFLUENT_API_KEY}"

id: confluent-api-secret
title: Confluent / Kafka API secret
severity: high
keywords: confluent kafka
pattern: (?i)(?:\b|_)(?:confluent|kafka)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64,66})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CONFLUENT_API_KEY="SQXm5V94uMCsl9g522PQUx8Et90rgYpNO1bSfoNhDfEqs6m3KzjV0yhbt9TxNrWxT"
positive: confluent:\n  token: a9dZuO7POT3bWdEE03CAWSJLh8xFEKm7FkDvvTkayom5kywgMOb8GmEsrsa4jZ2c9V
negative: export CONFLUENT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CONFLUENT_API_KEY="Ce7JTdRi4TD477QV7VUzYJsPukn693PbyP4JEPnyCoDj9V60eCRi7S0pGszLOg"
negative: export CONFLUENT_API_KEY="${CONFLUENT_API_KEY}"

id: contentful-personal-access-token
title: Contentful personal access token
severity: high
keywords: cfpat-
pattern: \b(CFPAT-[A-Za-z0-9_-]{43,64})(?![\w-])
entropy: 3.0
positive: CONTENTFUL_MANAGEMENT_TOKEN=CFPAT-88IxvpHc60KgsIhGXdp5fOmiajGgjdOXkXMLAjurXpo
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
positive: export CONVERSIONTOOLS_API_KEY="eyJo3eI2xs3IZPo3Z8nPqTw4urN60uBHnS8n0OmMwkIqY5ub6pO1w94v3WrdrXZGZUCX4YPf5dR3wUHHafbqhbXBKFmb5eo4rzz4sToAExNQqxwrA2DNfG8MkDbncFZJzXvsfseWhzTIZhmAt2bD6R4f0Srwv07g2QySo1WKcazTIRn3ZTXBkOFKXtsGKe3JfhqIuvKoMP7AGJpKroS3JkY5tKtIgEssC0cuxZs9idYYXuLRWNTePnc4ovOeD6YGvEAoE34VvJ9dCImvtFsvD5upCkGZKIVqsv1qL1fhZTp83CjExelpE7BmUlDpUJvhnUas5nEeOeEQaFXoiQ8W13Hj7KJkYiQ0pr0VXssuYgZwALkjslnxIwaSNkXIRMGNZfgKKmhLElnzKflSqMYNmO59nXOvHrSYy8d1DOU7sugt1wE38JNmkeaErfdhpJSiVi6L5gJj8S7mWe3JdM4xOEX1Mkr1R39q8QsfljxYUkf66nGSDVDy95H9W"
positive: conversiontools:\n  token: eyJE0VCAm7lALpa59ddB0E1rkwSt4oq9jNHtqGGM5PVz5WR8j5L6eBsDQ7f33dMhMqzKD9BYmRsBJXEcl901QXEYBklAN6a08aHjA7jQ01xLV3ypIRymObM6KYeC64c79KsTujeNR1fmtF4fhe9ONz7jzavqctzui294OYXGxUtbT0e3lXAoOXBnwOzNRjx7HR1TylEuIBb7ebOm3X12SoVF398h8Eur86OfT5hI0UEGjmBLbMtQ5vafmgyG8S4UzTkDiXIzDn5
negative: export CONVERSIONTOOLS_API_KEY="eyJxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CONVERSIONTOOLS_API_KEY="eyJ96miM2gVIbvPfbp8cRQp4wSSFdeO"
negative: export CONVERSIONTOOLS_API_KEY="${CONVERSIONTOOLS_API_KEY}"

id: convertapi-api-key
title: ConvertAPI secret
severity: high
keywords: convertapi
pattern: (?i)(?:\b|_)(?:convertapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{16})(?![\w-])
entropy: 2.5
confidence: medium
positive: export CONVERTAPI_API_KEY="yGfHa5457us7cwDB"
positive: convertapi:\n  token: BGef4olbjCEsztex
negative: export CONVERTAPI_API_KEY="xxxxxxxxxxxxxxxx"
negative: export CONVERTAPI_API_KEY="LI4wyaIRfCCbZU"
negative: export CONVERTAPI_API_KEY="${CONVERTAPI_API_KEY}"

id: convertkit-api-key
title: ConvertKit API key
severity: high
keywords: convertkit
pattern: (?i)(?:\b|_)(?:convertkit)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CONVERTKIT_API_KEY="lD443dKbUYzeCoDiVvH3Ym"
positive: convertkit:\n  token: GSXnTiogaAhril6Bh6hJh6
negative: export CONVERTKIT_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: export CONVERTKIT_API_KEY="PKmQidAzz8xTrQfa2ViF"
negative: export CONVERTKIT_API_KEY="${CONVERTKIT_API_KEY}"

id: countrylayer-api-key
title: countrylayer API key
severity: high
keywords: countrylayer
pattern: (?i)(?:\b|_)(?:countrylayer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COUNTRYLAYER_API_KEY="X3AtbHfwBMQ9VFkdfVyUqKOXRsbPGxCX"
positive: countrylayer:\n  token: qPKvwp4LrcCvTrVSjmONNOnGRjN086IV
negative: export COUNTRYLAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COUNTRYLAYER_API_KEY="sHD64fKYC7CeA9NZSMLwarqW2mSzcp"
negative: export COUNTRYLAYER_API_KEY="${COUNTRYLAYER_API_KEY}"

id: courier-api-key
title: Courier API key
severity: high
keywords: pk_prod_ pk_test_
pattern: \b(pk_(?:prod|test)_[A-Z0-9]{28})\b
entropy: 3.0
positive: COURIER_AUTH_TOKEN=pk_prod_WIEFWV669N4V9R3XR0SZA8H89FD7
negative: pk_prod_XXXXXXXXXXXXXXXXXXXXXXXXXXXX
negative: pk_test_dHxDmkeVuyJ8q4HewyGj3MWx

id: coveralls-repo-token
title: Coveralls repo token
severity: high
keywords: coveralls
pattern: (?i)(?:\b|_)(?:coveralls)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{37})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COVERALLS_API_KEY="CpJaTrFX0jYlVULKf1A15JHy7JmGAsKVAVD9s"
positive: coveralls:\n  token: hfLa1E9aGV8tAjf6yUwIahS3Ac8RobbQHkNmv
negative: export COVERALLS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COVERALLS_API_KEY="PZMqtCIHT0Gz60mfBDnkM5sUugSUX0WKhIk"
negative: export COVERALLS_API_KEY="${COVERALLS_API_KEY}"

id: craftmypdf-api-key
title: CraftMyPDF API key
severity: high
keywords: craftmypdf
pattern: (?i)(?:\b|_)(?:craftmypdf)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{35})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CRAFTMYPDF_API_KEY="DyosXuwptH5twFrY5kSnpA9kPDY3OQv8ykg"
positive: craftmypdf:\n  token: lmSmhAdQaEP7hl3RoVQzu78v52BARskBHZP
negative: export CRAFTMYPDF_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CRAFTMYPDF_API_KEY="sTbu6XdoS13hNSq9FjGhobJWlci8tlpAI"
negative: export CRAFTMYPDF_API_KEY="${CRAFTMYPDF_API_KEY}"

id: cratesio-api-token
title: crates.io API token
severity: high
keywords: cio
pattern: \b(cio[A-Za-z0-9]{32})\b
entropy: 3.0
positive: CARGO_REGISTRY_TOKEN=cioWeSrp7D9AC6YjcekiytsXuxXYzQChNrP
positive: [registry]\ntoken = "cioTbe4QbWJD2GknY3AjdP2YH6hFGYqA4Sn"
negative: CARGO_REGISTRY_TOKEN=cioxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: precioussQFNe2PBVBkw7Kag4nMpEd7ixmknSJZx

id: credentials-in-url
title: Password in a URL
severity: high
keywords: ://
pattern: (?i)\b[a-z][a-z0-9+.-]{1,15}://[A-Za-z0-9._%~-]{2,64}:([A-Za-z0-9._%~!*+=-]{3,100})@[A-Za-z0-9-]
entropy: 2.9
confidence: medium
positive: DATABASE_URL=postgres://app:Q0YEvf228m9fhY0m@db.internal:5432/app
positive: amqp://svc_ingest:Br24ar86f42Ijaq3@rabbit-01
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
positive: export CROWDIN_API_KEY="UipiIFUdBKD59ioFbpfOS0i5GPI2TTxHY2ebSekXRVwoASCovHN6ai6M8c8r58tBZeC1uMkjnbsYCawLJ59xLJfu"
positive: crowdin:\n  token: F7YzdKnsLqdAufDbRKlRh6SYv8yvzI0m3bcAjblviwUr62eDnsseet6rSo7HW41ubJOVk4x4XdpDOAPnBjvtA
negative: export CROWDIN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CROWDIN_API_KEY="iGSURfjv9nTOJejwJp2ICioA6KXs8gYkDYU9w4LxVqVpsP84tNsIbtcjICCZ69tsFe6LY9ifkkmvW9"
negative: export CROWDIN_API_KEY="${CROWDIN_API_KEY}"

id: cryptocompare-api-key
title: CryptoCompare API key
severity: high
keywords: cryptocompare
pattern: (?i)(?:\b|_)(?:cryptocompare)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 2.9
confidence: medium
positive: export CRYPTOCOMPARE_API_KEY="34h5R19UGcIcztaPH0NZlREVtQN7GAHU7zc4o3XIC8sPn5pGAQ9fTANzCvlE0m70"
positive: cryptocompare:\n  token: 0Rz5zfqGreBcWxTN1wSQptvANCF3dwVCTAMyc61pIsmVgAtSEp7Z42L5RJtq9JsE
negative: export CRYPTOCOMPARE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CRYPTOCOMPARE_API_KEY="bmCRaMUAjojvJbHk3VWqMfuUpaexgHRK1rIiYh5vjsDU2TRm9x0wmWYAcfAPGg"
negative: export CRYPTOCOMPARE_API_KEY="${CRYPTOCOMPARE_API_KEY}"

id: currencyfreaks-api-key
title: CurrencyFreaks API key
severity: high
keywords: currencyfreaks
pattern: (?i)(?:\b|_)(?:currencyfreaks)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CURRENCYFREAKS_API_KEY="IRxXNboPBMn76VG29tMFkDMXtmv5CM35"
positive: currencyfreaks:\n  token: hQF5LAlfQ0dbqBymSlFgrKx1N6VBmpgF
negative: export CURRENCYFREAKS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CURRENCYFREAKS_API_KEY="kvYdziSw4ytyDGMU3mErhLIWSHprgF"
negative: export CURRENCYFREAKS_API_KEY="${CURRENCYFREAKS_API_KEY}"

id: currencylayer-api-key
title: currencylayer API key
severity: high
keywords: currencylayer
pattern: (?i)(?:\b|_)(?:currencylayer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CURRENCYLAYER_API_KEY="8EsyIgYg9w989rd0EWwNcJ9npXF5Z5jl"
positive: currencylayer:\n  token: ZghXjHGLeexZ6tc7YbTn5xxoS2O2tjt5
negative: export CURRENCYLAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CURRENCYLAYER_API_KEY="iTnhhVqcKYASkBIrsVCBq7QpRCNbuE"
negative: export CURRENCYLAYER_API_KEY="${CURRENCYLAYER_API_KEY}"

id: currencyscoop-api-key
title: CurrencyScoop API key
severity: high
keywords: currencyscoop
pattern: (?i)(?:\b|_)(?:currencyscoop)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CURRENCYSCOOP_API_KEY="roqus8mn9FGbL5QzFwmMoI0vStRMUc3r"
positive: currencyscoop:\n  token: KGEcuZ7jlc8nJrAy1qfRSMjjpv9k8ESL
negative: export CURRENCYSCOOP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CURRENCYSCOOP_API_KEY="ge6lcIksDzu8Q3mMBH4sMWDiPHmAeq"
negative: export CURRENCYSCOOP_API_KEY="${CURRENCYSCOOP_API_KEY}"

id: currentsapi-api-key
title: Currents API key
severity: high
keywords: currentsapi
pattern: (?i)(?:\b|_)(?:currentsapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9+/_=-]{48})(?![\w+/=-])
entropy: 3.0
confidence: medium
positive: export CURRENTSAPI_API_KEY="AnxdiUElaKHaEQevDW6xrmzQWGGYYRELvz09QCCtIsaF3M07"
positive: currentsapi:\n  token: x2knmzL5KHd8qf9in7YhEbKbYzR2Gjte8tRUDCh7x6UY1Orx
negative: export CURRENTSAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CURRENTSAPI_API_KEY="0nP2xgGOBgStsc0t0T867opJD6ixo0dDSVXYZCft3jZppf"
negative: export CURRENTSAPI_API_KEY="${CURRENTSAPI_API_KEY}"
"""#
}
