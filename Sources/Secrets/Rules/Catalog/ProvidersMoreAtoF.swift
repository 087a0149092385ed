extension RuleCatalog {
    /// Provider rules A to F, overflow of ProvidersAtoC (providers coda .. currentsapi): prefixed tokens and API keys named near their provider.
    static let providersMoreAtoF = #"""
id: coda-api-key
title: Coda API token
severity: high
keywords: coda
pattern: (?i)(?:\b|_)(?:coda)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CODA_API_KEY="8f68b8ae-57f3-ed4f-b7a4-e45ba52e7378"
positive: coda:\n  token: 07fe9eb0-f24c-7a44-9698-21cee0accde1
negative: export CODA_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export CODA_API_KEY="53339aaf-6ad5-5395-1af6-a8d0cef090"
negative: export CODA_API_KEY="${CODA_API_KEY}"

id: codacy-api-token
title: Codacy API token
severity: high
keywords: codacy
pattern: (?i)(?:\b|_)(?:codacy)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CODACY_API_KEY="88bRRIaeHDVNBR93kGVP"
positive: codacy:\n  token: wqLcEyLpu6KjcMNJl8p3
negative: export CODACY_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export CODACY_API_KEY="zMTFhR0eOCykolURZA"
negative: export CODACY_API_KEY="${CODACY_API_KEY}"

id: codeclimate-reporter-id
title: Code Climate test reporter id / token
severity: high
keywords: codeclimate cc_test_reporter_id
pattern: (?i)(?:\b|_)(?:codeclimate|cc_test_reporter_id)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: codeclimate=WUdtgtEwbU3qPALU9JQ3JidosoWcRnFIsiF6nAlo59rpAjifm7ftZ2vOgHnDOQca
positive: CODECLIMATE JGnbcW2o9gsLvh94Fges8OzUByCx63fiOcdDl4lSWYNp8GbTxZZbkq3BMKyjJ7Pw
negative: codeclimate=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: codeclimate=DSfoCHtfEzWcslrNqbdPSyaUCMFrtixEnT5iDbYZqdHo3cPis5yIGPrkhd1Vmr
negative: codeclimate=${CODECLIMATE_API_KEY}

id: codemagic-api-token
title: Codemagic API token
severity: high
keywords: codemagic
pattern: (?i)(?:\b|_)(?:codemagic)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9_]{40,60})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CODEMAGIC_API_KEY="vISnLW1ENErW3Ck44f94m0WS3rYZMgTA9EqG5A3mJdaq4IHKAP0Ha"
positive: codemagic:\n  token: 0rxMruD7kfPrVqyVfB0VnKC2tWIiHwzisyfuYJWk7hxqCfeguwszzBxpQ
negative: export CODEMAGIC_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CODEMAGIC_API_KEY="gWecKfkKKyoySEbWawUVA3qROkoufXvkv1QGo9"
negative: export CODEMAGIC_API_KEY="${CODEMAGIC_API_KEY}"

id: codequiry-api-key
title: Codequiry API key
severity: high
keywords: codequiry
pattern: (?i)(?:\b|_)(?:codequiry)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CODEQUIRY_API_KEY="uOtLNAYkgUX6xO5C3hhahP4cJdKuSmYMeOHCdzvXT7sgGijwGrgmzIyy2fUbL5UQ"
positive: codequiry:\n  token: Hk0aGZa21pG4uSr6eKjTcVYSjG4rSyY4UVO7NB9ENJ8FH29feAasouBiBr3fXaoe
negative: export CODEQUIRY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CODEQUIRY_API_KEY="4Q0POoZQC9b51g3VhtKARXO9SfFlgl8DtBfOqqgO8UiN92pX4fhne5OJ7ghOc3"
negative: export CODEQUIRY_API_KEY="${CODEQUIRY_API_KEY}"

id: coinapi-api-key
title: CoinAPI key
severity: medium
keywords: coinapi
pattern: (?i)(?:\b|_)(?:coinapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COINAPI_API_KEY="2370b890-27c8-be50-7394-ea2178ce00a5"
positive: coinapi:\n  token: 670f1b7b-cbc7-16b7-1264-96a3fae855e8
negative: export COINAPI_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export COINAPI_API_KEY="744e4e78-8a63-35e8-580b-cfaa379239"
negative: export COINAPI_API_KEY="${COINAPI_API_KEY}"

id: coinbase-api-key
title: Coinbase API key or secret
severity: critical
keywords: coinbase
pattern: (?i)(?:\b|_)(?:coinbase)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COINBASE_API_KEY="rckQwf61Yi8Xib5CavLZlVggYP6pFUkB"
positive: coinbase:\n  token: Bem7OYk1Kx8hU3sujPq5irWOqX5eVirw
negative: export COINBASE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COINBASE_API_KEY="3kDspBFqFP4y5GHHVTposFNPy15udj"
negative: export COINBASE_API_KEY="${COINBASE_API_KEY}"

id: coinlayer-api-key
title: coinlayer API key
severity: medium
keywords: coinlayer
pattern: (?i)(?:\b|_)(?:coinlayer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COINLAYER_API_KEY="umjLgYbGTZRsrA6D85SOfUZtR5rUv0Uu"
positive: coinlayer:\n  token: QYkUNV8US4LTICKbUXDAuWLTw0j2Dvnx
negative: export COINLAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COINLAYER_API_KEY="tZWiwdUBz0RvD1HPfQSe8FIooIYx8K"
negative: export COINLAYER_API_KEY="${COINLAYER_API_KEY}"

id: coinlib-api-key
title: Coinlib API key
severity: medium
keywords: coinlib
pattern: (?i)(?:\b|_)(?:coinlib)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{16})(?![\w-])
entropy: 2.5
confidence: medium
positive: export COINLIB_API_KEY="rWpQWTIchCP087Fq"
positive: coinlib:\n  token: WaP3BNjHYW7gSnFO
negative: export COINLIB_API_KEY="xxxxxxxxxxxxxxxx"
negative: export COINLIB_API_KEY="4f4laxqlZIP6XV"
negative: export COINLIB_API_KEY="${COINLIB_API_KEY}"

id: collect2-api-key
title: Collect2 API key
severity: high
keywords: collect2
pattern: (?i)(?:\b|_)(?:collect2)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COLLECT2_API_KEY="0b89700b-b4ff-92fb-8b48-11539804ab0c"
positive: collect2:\n  token: b9de20b0-bbb2-c3bd-6c25-39916360372c
negative: export COLLECT2_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export COLLECT2_API_KEY="868ae0fa-1007-c77d-9b99-1e643c3756"
negative: export COLLECT2_API_KEY="${COLLECT2_API_KEY}"

id: column-api-key
title: Column API key
severity: high
keywords: column
pattern: (?i)(?:\b|_)column[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b((?:live|test)_[A-Za-z0-9]{26,40})\b
entropy: 3.0
confidence: medium
positive: COLUMN_API_KEY="live_8aTgjfuZyUAoBz5jftgOxfqUKOU2JWKp"
negative: COLUMN_API_KEY="live_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: COLUMN_API_KEY="demo_hGwmxl9S4dENKzCoBc25v0QLgUW9JweJ"

id: commercejs-secret-key
title: Commerce.js secret key
severity: high
keywords: commercejs commerce.js
pattern: (?i)(?:\b|_)(?:commercejs|commerce\.js)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{48})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COMMERCEJS_API_KEY="vKSbMcuxGP1S6AmVy3Dl8U69Ri9GxNSZVzg9HTUcpvq64kHn"
positive: commercejs:\n  token: N5gxXnxZIRPMCvQhFyt3CrLU0pGJ10HLEAc3hG5kP6W1ODbs
negative: export COMMERCEJS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COMMERCEJS_API_KEY="korRLv7pd8ZWUSwmemPwF9A77wFDSspnUXFZa1ihs82NQc"
negative: export COMMERCEJS_API_KEY="${COMMERCEJS_API_KEY}"

id: confluent-client-id
title: Confluent / Kafka API key id
severity: medium
keywords: confluent kafka
pattern: (?i)(?:\b|_)(?:confluent|kafka)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Z0-9]{16})(?![\w-])
entropy: 2.5
confidence: medium
positive: export CONFLUENT_API_KEY="5TN8EJCK87N17GL0"
positive: confluent:\n  token: M8JQ9OD6TTXH4JOC
negative: export CONFLUENT_API_KEY="xxxxxxxxxxxxxxxx"
negative: export CONFLUENT_API_KEY="X35V29JI9SLZ1N"
negative: export CONFLUENT_API_KEY="${CONFLUENT_API_KEY}"

id: confluent-api-secret
title: Confluent / Kafka API secret
severity: high
keywords: confluent kafka
pattern: (?i)(?:\b|_)(?:confluent|kafka)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9+/]{64,66})(?![\w+/-])
entropy: 3.0
confidence: medium
positive: export CONFLUENT_API_KEY="ZriyR1DFzi6qkc7dTyESZmnRi7SZ2jFzA13KPS09NBfexRXstqawQxpN8OFvRPheI3"
positive: confluent:\n  token: 6EsgipobjNgcQJTDJLItDW2FCaQnsXrnP8Plmysb0WlsE3B4y9zVjdImY9EJiajo
negative: export CONFLUENT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CONFLUENT_API_KEY="wCRCNcfJUCuxFiYXglQ8QLByYaxRcdAOfYsOuQh1ZgKSBwMz7qmZpogsbVtE9A"
negative: export CONFLUENT_API_KEY="${CONFLUENT_API_KEY}"

id: contentful-personal-access-token
title: Contentful personal access token
severity: high
keywords: cfpat-
pattern: \b(CFPAT-[A-Za-z0-9_-]{43,64})(?![\w-])
entropy: 3.0
positive: CONTENTFUL_MANAGEMENT_TOKEN=CFPAT-WQtsjuk5f9qf9KuizA6U7Xau9XNus84IJYmANK19MMt
negative: CFPAT-xxxx
negative: CFPAT-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: conversiontools-api-key
title: Conversion Tools API key
severity: high
keywords: conversiontools
pattern: (?i)(?:\b|_)(?:conversiontools)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b(eyJ[A-Za-z0-9_.-]{30,600})(?![\w.-])
entropy: 3.0
window: 1024
confidence: medium
positive: export CONVERSIONTOOLS_API_KEY="eyJ0DzLya9qWCDviLb1iHKNh4tp4I84Q68HdkfcyCRifdSiOfJLMFnzyOZ9WG7QNmVxLbF5xSt8qjDosb2uHofQWZNSQ7iExDEAZ83ljoIT7RsLJgTOnC5U8ndiCb2P9IxEVTatNTuIi73kGOYLBdBrnlB33K9a75qFBkJecdF6DXkutIAB7tt6mUOAWguKfJfUXbmLu3oavZIcJnINXJt9anNSZgAJuADn8p02BDwB53tTC6J7htgPyu7J0XxnandDjDtnKvJnm9lrrGksDwquggWMOS1nPnJIrro2cyNcQM4I4MS4s2nxr7XwXBt"
positive: conversiontools:\n  token: eyJyPDeKbWrfw2Z4uPVJk1xfyCZbzRjtNMd1MZgcSrQEtdekMf3K3DnXrfZtAA2QNhMxRLDA8UIGcCMBseKxALhCQ4PTbQ0x2FsxraQnd5rM7z62QN2na5xf0d8c0c7cjHkfVzWQZ5pflbAgZUGYkCNDw5f7a0pZ5XKxaNx5pbzML4QZCgnuxsUbdOrRdu2XYfClLaWwZ9wxkRZyau2HK53z6MHI3OS4ESAfeg0T7MmLtSc3Cbsr12FEND1MXmK2VQrIWxGAScpT4ZAw3jDYAa3PVjJW0y5HKCQfMFtBYwLiMEUPOP8r18vsZ0j3798lhUAdIh3FpGPpyNdth9563Es9vaIlsMMjhZeKdSawT41jPbTZeK705IFEQibhQkJZGRqlBrs6etMIMJ2NPKl61P7F55O2Jc5EX5829GmgfQnYDE4cUBA2S4xoVNjjF6PfToih2Y4oXsGJtV6QwAGE1sBxpjAehqaZj4s1AcQZzQtrj5oAcVlrBBSTqUWjmF0P6WZdRXqKxPpz6AnfatIGBhQlrjwslB3yJExVVRJhGHRIpHJtY1CQji
negative: export CONVERSIONTOOLS_API_KEY="eyJxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CONVERSIONTOOLS_API_KEY="eyJKMO2UqI0NUHbByIastEAAUJTzRLt"
negative: export CONVERSIONTOOLS_API_KEY="${CONVERSIONTOOLS_API_KEY}"

id: convertapi-api-key
title: ConvertAPI secret
severity: high
keywords: convertapi
pattern: (?i)(?:\b|_)(?:convertapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{16})(?![\w-])
entropy: 2.5
confidence: medium
positive: export CONVERTAPI_API_KEY="7i6YvSQXm5V94uMC"
positive: convertapi:\n  token: l9g522PQUx8Et90r
negative: export CONVERTAPI_API_KEY="xxxxxxxxxxxxxxxx"
negative: export CONVERTAPI_API_KEY="6m3KzjV0yhbt9T"
negative: export CONVERTAPI_API_KEY="${CONVERTAPI_API_KEY}"

id: convertkit-api-key
title: ConvertKit API key
severity: high
keywords: convertkit
pattern: (?i)(?:\b|_)(?:convertkit)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CONVERTKIT_API_KEY="NrWxTOa9dZuO7POT3bWdEE"
positive: convertkit:\n  token: AWSJLh8xFEKm7FkDvvTkay
negative: export CONVERTKIT_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: export CONVERTKIT_API_KEY="9VRpd50AW6k6jVqq1iM5"
negative: export CONVERTKIT_API_KEY="${CONVERTKIT_API_KEY}"

id: countrylayer-api-key
title: countrylayer API key
severity: medium
keywords: countrylayer
pattern: (?i)(?:\b|_)(?:countrylayer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COUNTRYLAYER_API_KEY="GyJg6KXlHEMm28ozWj7Z3SCqgLxSsjXM"
positive: countrylayer:\n  token: TDGAvUaujRCe7JTdRi4TD477QV7VUzYJ
negative: export COUNTRYLAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COUNTRYLAYER_API_KEY="pGszLOg4y88IxvpHc60KgsIhGXdp5f"
negative: export COUNTRYLAYER_API_KEY="${COUNTRYLAYER_API_KEY}"

id: courier-api-key
title: Courier API key
severity: high
keywords: pk_prod_ pk_test_
pattern: \b(pk_(?:prod|test)_[A-Z0-9]{28})\b
entropy: 3.0
positive: COURIER_AUTH_TOKEN=pk_prod_R1EAOC05Q46NHHEO1OFHTW58WFGA
negative: pk_prod_XXXXXXXXXXXXXXXXXXXXXXXXXXXX
negative: pk_test_iajGgjdOXkXMLAjurXpom3of

id: coveralls-repo-token
title: Coveralls repo token
severity: high
keywords: coveralls
pattern: (?i)(?:\b|_)(?:coveralls)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{37})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COVERALLS_API_KEY="fbqhbXBKFmb5eo4rzz4sToAExNQqxwrA2DNfG"
positive: coveralls:\n  token: DbncFZJzXvsfseWhzTIZhmAt2bD6R4f0Srwv0
negative: export COVERALLS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COVERALLS_API_KEY="vKoMP7AGJpKroS3JkY5tKtIgEssC0cuxZs9"
negative: export COVERALLS_API_KEY="${COVERALLS_API_KEY}"

id: craftmypdf-api-key
title: CraftMyPDF API key
severity: high
keywords: craftmypdf
pattern: (?i)(?:\b|_)(?:craftmypdf)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{35})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CRAFTMYPDF_API_KEY="dYYXuLRWNTePnc4ovOeD6YGvEAoE34VvJ9d"
positive: craftmypdf:\n  token: ImvtFsvD5upCkGZKIVqsv1qL1fhZTp83CjE
negative: export CRAFTMYPDF_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CRAFTMYPDF_API_KEY="13Hj7KJkYiQ0pr0VXssuYgZwALkjslnxI"
negative: export CRAFTMYPDF_API_KEY="${CRAFTMYPDF_API_KEY}"

id: cratesio-api-token
title: crates.io API token
severity: high
keywords: cio
pattern: (?:^|[^A-Za-z0-9+/_-])(cio[A-Za-z0-9]{32})\b
entropy: 3.0
positive: CARGO_REGISTRY_TOKEN=cioErfdhpJSiVi6L5gJj8S7mWe3JdM4xOEX
positive: [registry]\ntoken = "cior1R39q8QsfljxYUkf66nGSDVDy95H9WT"
negative: CARGO_REGISTRY_TOKEN=cioxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: precious59nXOvHrSYy8d1DOU7sugt1wE38JNmke

id: credentials-in-url
title: Password in a URL
severity: high
keywords: :// :\/\/
pattern: (?i)\b[a-z][a-z0-9+.-]{1,15}:(?://|\\/\\/)[A-Za-z0-9._%~-]{2,64}:([A-Za-z0-9._%~!*+=-]{3,100})@(?:[A-Za-z0-9-]|\[[0-9A-Fa-f:.]{2,45}(?:%25[\w.-]{1,32})?\])
near: @
entropy: 2.9
confidence: medium
positive: DATABASE_URL=postgres://app:9BYmRsBJXEcl901Q@db.internal:5432/app
positive: url = "http://admin:Rt6Yn3Qm8Wx2Lk7P@[::1]:8080/x"
positive: https://ci:Vq7Lm2Xn9Kw4Tz8R@[fe80::1%25eth0]/hook
positive: amqp://svc_ingest:YBklAN6a08aHjA7j@rabbit-01
positive: {"url":"https:\/\/ci:Vq7Lm2Xn9Kw4Tz8R@hooks.example.com\/x"}
negative: http://user:password@example.com
negative: redis://default:${REDIS_PASSWORD}@cache:6379
negative: https://user:pass@host

id: crowdin-api-token
title: Crowdin API token
severity: high
keywords: crowdin
pattern: (?i)(?:\b|_)(?:crowdin)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{80,90})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CROWDIN_API_KEY="zui294OYXGxUtbT0e3lXAoOXBnwOzNRjx7HR1TylEuIBb7ebOm3X12SoVF398h8Eur86OfT5hI0UEGjmBLbM"
positive: crowdin:\n  token: Q5vafmgyG8S4UzTkDiXIzDn5VR7bqZOqw6OomGbyJWPhhLB2uDoBKO5uUsS6ri3MKldi9JlLBej6wO9Zl96m
negative: export CROWDIN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CROWDIN_API_KEY="RfCCbZU67ElD443dKbUYzeCoDiVvH3YmbGSXnTiogaAhril6Bh6hJh6rcl4xs5MTWXITPDTO0FQayQ"
negative: export CROWDIN_API_KEY="${CROWDIN_API_KEY}"

id: cryptocompare-api-key
title: CryptoCompare API key
severity: medium
keywords: cryptocompare
pattern: (?i)(?:\b|_)(?:cryptocompare)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{64})(?![\w-])
entropy: 2.9
confidence: medium
positive: export CRYPTOCOMPARE_API_KEY="QidAzz8xTrQfa2ViFVqX3AtbHfwBMQ9VFkdfVyUqKOXRsbPGxCXjqPKvwp4LrcCv"
positive: cryptocompare:\n  token: VSjmONNOnGRjN086IVgYgNjG8eh8Pf07IzcN1NKIldUQ0SvNyHBsHD64fKYC7CeA
negative: export CRYPTOCOMPARE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CRYPTOCOMPARE_API_KEY="UPUrDL1xrAK7sQzaIYhI9J3fdUHvgaR8GO8j0mQkCivrGQ4gXiA1RBbrep3SIH"
negative: export CRYPTOCOMPARE_API_KEY="${CRYPTOCOMPARE_API_KEY}"

id: currencyfreaks-api-key
title: CurrencyFreaks API key
severity: medium
keywords: currencyfreaks
pattern: (?i)(?:\b|_)(?:currencyfreaks)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CURRENCYFREAKS_API_KEY="H4IWjg0w7tG4L5Iij0SpIiCqkXDrdT8T"
positive: currencyfreaks:\n  token: 8t02C1syuh3ltH8fQ5LnHjDil7GhCpJa
negative: export CURRENCYFREAKS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CURRENCYFREAKS_API_KEY="hfLa1E9aGV8tAjf6yUwIahS3Ac8Rob"
negative: export CURRENCYFREAKS_API_KEY="${CURRENCYFREAKS_API_KEY}"

id: currencylayer-api-key
title: currencylayer API key
severity: medium
keywords: currencylayer
pattern: (?i)(?:\b|_)(?:currencylayer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CURRENCYLAYER_API_KEY="QHkNmvwfItvaSmpT3UwVMaaSPVQH8ony"
positive: currencylayer:\n  token: brXu22T4Sk2PZMqtCIHT0Gz60mfBDnkM
negative: export CURRENCYLAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CURRENCYLAYER_API_KEY="kSnpA9kPDY3OQv8ykgMwlmSmhAdQaE"
negative: export CURRENCYLAYER_API_KEY="${CURRENCYLAYER_API_KEY}"

id: currencyscoop-api-key
title: CurrencyScoop API key
severity: medium
keywords: currencyscoop
pattern: (?i)(?:\b|_)(?:currencyscoop)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CURRENCYSCOOP_API_KEY="l3RoVQzu78v52BARskBHZPkalx1poPVk"
positive: currencyscoop:\n  token: SL1AoOKhGlthTbZ1TnYJZjQQFsTbu6Xd
negative: export CURRENCYSCOOP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CURRENCYSCOOP_API_KEY="PBVBkw7Kag4nMpEd7ixmknSJZxcWeS"
negative: export CURRENCYSCOOP_API_KEY="${CURRENCYSCOOP_API_KEY}"

id: currentsapi-api-key
title: Currents API key
severity: medium
keywords: currentsapi
pattern: (?i)(?:\b|_)(?:currentsapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9+/_=-]{48})(?![\w+/=-])
entropy: 3.0
confidence: medium
positive: export CURRENTSAPI_API_KEY="p7D9AC6YjcekiytsXuxXYzQChNrP3T0TsTbe4QbWJD2GknY3"
positive: currentsapi:\n  token: jdP2YH6hFGYqA4SnvpkPvhRc8H0ef6FoeS7e0TBXP9f8p9pl
negative: export CURRENTSAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CURRENTSAPI_API_KEY="0mOaBr24ar86f42Ijaq3Mcwrh1kSVcZzghl3fxemlZnBKE"
negative: export CURRENTSAPI_API_KEY="${CURRENTSAPI_API_KEY}"
"""#
}
