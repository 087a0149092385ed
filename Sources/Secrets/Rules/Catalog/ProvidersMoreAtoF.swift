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
positive: export CODA_API_KEY="95a27eb1-1b09-e907-1217-ec0c34d08bad"
positive: coda:\n  token: ab1d34d9-c367-85ce-b8ff-a5af276e5506
negative: export CODA_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export CODA_API_KEY="83c96b3f-22ab-6a89-23e5-90e8a2b1be"
negative: export CODA_API_KEY="${CODA_API_KEY}"

id: codacy-api-token
title: Codacy API token
severity: high
keywords: codacy
pattern: (?i)(?:\b|_)(?:codacy)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CODACY_API_KEY="5yIGPrkhd1VmrBvISnLW"
positive: codacy:\n  token: NErW3Ck44f94m0WS3rYZ
negative: export CODACY_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export CODACY_API_KEY="0HaJ0rxMruD7kfPrVq"
negative: export CODACY_API_KEY="${CODACY_API_KEY}"

id: codeclimate-reporter-id
title: Code Climate test reporter id / token
severity: high
keywords: codeclimate cc_test_reporter_id
pattern: (?i)(?:\b|_)(?:codeclimate|cc_test_reporter_id)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: codeclimate=VfB0VnKC2tWIiHwzisyfuYJWk7hxqCfeguwszzBxpQENfRokCPHXsT03FOpVLfBE
positive: CODECLIMATE L6g1y8Wm2FAotH2coE6XuNIEQ23oURgWecKfkKKyoySEbWawUVA3qROkoufXvkv1
negative: codeclimate=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: codeclimate=5UQDHk0aGZa21pG4uSr6eKjTcVYSjG4rSyY4UVO7NB9ENJ8FH29feAasouBiBr
negative: codeclimate=${CODECLIMATE_API_KEY}

id: codemagic-api-token
title: Codemagic API token
severity: high
keywords: codemagic
pattern: (?i)(?:\b|_)(?:codemagic)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_]{40,60})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CODEMAGIC_API_KEY="XaoeATate3q5EfaIriU8vU6KPw3o8Xv1ZKP23BBHI9"
positive: codemagic:\n  token: lfPk98fD57JIo1yl4cgxZalSrK4Q0POoZQC9b51g3VhtKARXO9SfFlgl8Dt
negative: export CODEMAGIC_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CODEMAGIC_API_KEY="grMBeDlQdiwJmb11I0Bt4FPur0ibrPoM8A9MCf"
negative: export CODEMAGIC_API_KEY="${CODEMAGIC_API_KEY}"

id: codequiry-api-key
title: Codequiry API key
severity: high
keywords: codequiry
pattern: (?i)(?:\b|_)(?:codequiry)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CODEQUIRY_API_KEY="mL9SnVWbxRRk9zBnloOd98VRYAKT7IGc4KiedX5eA9xoycYBDpNq22yQuSxEPLz1"
positive: codequiry:\n  token: XskbW8j2XDwwPJjCy8y1fB0szmZSzPS9hzKIoZgNpV7d7SczKeVIezMbqHmZCjEf
negative: export CODEQUIRY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CODEQUIRY_API_KEY="0tUExrckQwf61Yi8Xib5CavLZlVggYP6pFUkBMLiBem7OYk1Kx8hU3sujPq5ir"
negative: export CODEQUIRY_API_KEY="${CODEQUIRY_API_KEY}"

id: coinapi-api-key
title: CoinAPI key
severity: high
keywords: coinapi
pattern: (?i)(?:\b|_)(?:coinapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COINAPI_API_KEY="ce25659f-4298-81f8-1792-6113964be440"
positive: coinapi:\n  token: da3278c3-44ff-a874-e840-b8245caad3b4
negative: export COINAPI_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export COINAPI_API_KEY="6f5119ed-1072-83fd-6662-3d2b21ee12"
negative: export COINAPI_API_KEY="${COINAPI_API_KEY}"

id: coinbase-api-key
title: Coinbase API key or secret
severity: critical
keywords: coinbase
pattern: (?i)(?:\b|_)(?:coinbase)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COINBASE_API_KEY="4laxqlZIP6XVw09ncDINE6AmncuP3dT8"
positive: coinbase:\n  token: l2lTgFQqkcgDXIduCxop4wQJtECN1KVn
negative: export COINBASE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COINBASE_API_KEY="n3rddYcXrreOtGc5hLuyerLwms6EFp"
negative: export COINBASE_API_KEY="${COINBASE_API_KEY}"

id: coinlayer-api-key
title: coinlayer API key
severity: high
keywords: coinlayer
pattern: (?i)(?:\b|_)(?:coinlayer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COINLAYER_API_KEY="tJKyU86LTntGALLQ3QrHeS2tpgyEGpwx"
positive: coinlayer:\n  token: a4TEiYO36VFjK5DnNcsTDjKnAdiiI6bg
negative: export COINLAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COINLAYER_API_KEY="AMP7eS2XQA74BgEdEEXoOjyNu7seYJ"
negative: export COINLAYER_API_KEY="${COINLAYER_API_KEY}"

id: coinlib-api-key
title: Coinlib API key
severity: high
keywords: coinlib
pattern: (?i)(?:\b|_)(?:coinlib)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{16})(?![\w-])
entropy: 2.5
confidence: medium
positive: export COINLIB_API_KEY="BwVzKM0YUBhGwmxl"
positive: coinlib:\n  token: ENKzCoBc25v0QLgU
negative: export COINLIB_API_KEY="xxxxxxxxxxxxxxxx"
negative: export COINLIB_API_KEY="z5jftgOxfqUKOU"
negative: export COINLIB_API_KEY="${COINLIB_API_KEY}"

id: collect2-api-key
title: Collect2 API key
severity: high
keywords: collect2
pattern: (?i)(?:\b|_)(?:collect2)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COLLECT2_API_KEY="73b9805b-0969-e1d5-d95f-6827e8b85ec8"
positive: collect2:\n  token: 9d3444ab-5706-fe56-b142-04d50584d963
negative: export COLLECT2_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export COLLECT2_API_KEY="1241b50c-0597-5983-109a-ed3b5930ce"
negative: export COLLECT2_API_KEY="${COLLECT2_API_KEY}"

id: column-api-key
title: Column API key
severity: high
keywords: column
pattern: (?i)(?:\b|_)column[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret)[\w\s.:'"=/>,-]{0,30}?\b((?:live|test)_[A-Za-z0-9]{26,40})\b
entropy: 3.0
confidence: medium
positive: COLUMN_API_KEY="live_WZWS2joc490ttkJnzarhFAQJ5pXkb6e2"
negative: COLUMN_API_KEY="live_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: COLUMN_API_KEY="demo_kIHnXUBHglAR8im52IjqJod6ZGttLZxh"

id: commercejs-secret-key
title: Commerce.js secret key
severity: high
keywords: commercejs commerce.js
pattern: (?i)(?:\b|_)(?:commercejs|commerce\.js)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{48})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COMMERCEJS_API_KEY="fexRXstqawQxpN8OFvRPheI3c6EsgipobjNgcQJTDJLItDW2"
positive: commercejs:\n  token: CaQnsXrnP8Plmysb0WlsE3B4y9zVjdImY9EJiajo07e81Wrj
negative: export COMMERCEJS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COMMERCEJS_API_KEY="wqlDptwCRCNcfJUCuxFiYXglQ8QLByYaxRcdAOfYsOuQh1"
negative: export COMMERCEJS_API_KEY="${COMMERCEJS_API_KEY}"

id: confluent-client-id
title: Confluent / Kafka API key id
severity: medium
keywords: confluent kafka
pattern: (?i)(?:\b|_)(?:confluent|kafka)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Z0-9]{16})(?![\w-])
entropy: 2.5
confidence: medium
positive: export CONFLUENT_API_KEY="1WZQMPOGSBT40ZTS"
positive: confluent:\n  token: UKFQFUIZ0AUUS89M
negative: export CONFLUENT_API_KEY="xxxxxxxxxxxxxxxx"
negative: export CONFLUENT_API_KEY="6QQZO8H2O9ZES2"
negative: export CONFLUENT_API_KEY="${CONFLUENT_API_KEY}"

id: confluent-api-secret
title: Confluent / Kafka API secret
severity: high
keywords: confluent kafka
pattern: (?i)(?:\b|_)(?:confluent|kafka)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9+/]{64,66})(?![\w+/-])
entropy: 3.0
confidence: medium
positive: export CONFLUENT_API_KEY="60eDRh4LB6XS97mitNoD52GKW9k45UnEy3w8LCQrbjp55d144r0DzLya9qWCDviLb"
positive: confluent:\n  token: HKNh4tp4I84Q68HdkfcyCRifdSiOfJLMFnzyOZ9WG7QNmVxLbF5xSt8qjDosb2uH
negative: export CONFLUENT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CONFLUENT_API_KEY="BrnlB33K9a75qFBkJecdF6DXkutIAB7tt6mUOAWguKfJfUXbmLu3oavZIcJnIN"
negative: export CONFLUENT_API_KEY="${CONFLUENT_API_KEY}"

id: contentful-personal-access-token
title: Contentful personal access token
severity: high
keywords: cfpat-
pattern: \b(CFPAT-[A-Za-z0-9_-]{43,64})(?![\w-])
entropy: 3.0
positive: CONTENTFUL_MANAGEMENT_TOKEN=CFPAT-9anNSZgAJuADn8p02BDwB53tTC6J7htgPyu7J0Xxnan
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
positive: export CONVERSIONTOOLS_API_KEY="eyJcSrQEtdekMf3K3DnXrfZtAA2QNhMxRLDA8UIGcCMBseKxALhCQ4PTbQ0x2FsxraQnd5rM7z62QN2na5xf0d8c0c7cjHkfVzWQZ5pflbAgZUGYkCNDw5f7a0pZ5XKxaNx5p"
positive: conversiontools:\n  token: eyJzML4QZCgnuxsUbdOrRdu2XYfClLaWwZ9wxkRZyau2HK53z6MHI3OS4ESA
negative: export CONVERSIONTOOLS_API_KEY="eyJxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CONVERSIONTOOLS_API_KEY="eyJlsMMjhZeKdSawT41jPbTZeK705IF"
negative: export CONVERSIONTOOLS_API_KEY="${CONVERSIONTOOLS_API_KEY}"

id: convertapi-api-key
title: ConvertAPI secret
severity: high
keywords: convertapi
pattern: (?i)(?:\b|_)(?:convertapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{16})(?![\w-])
entropy: 2.5
confidence: medium
positive: export CONVERTAPI_API_KEY="QibhQkJZGRqlBrs6"
positive: convertapi:\n  token: tMIMJ2NPKl61P7F5
negative: export CONVERTAPI_API_KEY="xxxxxxxxxxxxxxxx"
negative: export CONVERTAPI_API_KEY="4cUBA2S4xoVNjj"
negative: export CONVERTAPI_API_KEY="${CONVERTAPI_API_KEY}"

id: convertkit-api-key
title: ConvertKit API key
severity: high
keywords: convertkit
pattern: (?i)(?:\b|_)(?:convertkit)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CONVERTKIT_API_KEY="6PfToih2Y4oXsGJtV6QwAG"
positive: convertkit:\n  token: 1sBxpjAehqaZj4s1AcQZzQ
negative: export CONVERTKIT_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: export CONVERTKIT_API_KEY="WZdRXqKxPpz6AnfatIGB"
negative: export CONVERTKIT_API_KEY="${CONVERTKIT_API_KEY}"

id: countrylayer-api-key
title: countrylayer API key
severity: high
keywords: countrylayer
pattern: (?i)(?:\b|_)(?:countrylayer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COUNTRYLAYER_API_KEY="QlrjwslB3yJExVVRJhGHRIpHJtY1CQji"
positive: countrylayer:\n  token: ylHaqfSnqi17ik3Nr02nwqfuPUDHcyQk
negative: export COUNTRYLAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COUNTRYLAYER_API_KEY="ErDBXphpRbL2wOhC6JcvuIbquV5UXe"
negative: export COUNTRYLAYER_API_KEY="${COUNTRYLAYER_API_KEY}"

id: courier-api-key
title: Courier API key
severity: high
keywords: pk_prod_ pk_test_
pattern: \b(pk_(?:prod|test)_[A-Z0-9]{28})\b
entropy: 3.0
positive: COURIER_AUTH_TOKEN=pk_prod_27KBP3PCA4UGLAYWZMD67EILLJXX
negative: pk_prod_XXXXXXXXXXXXXXXXXXXXXXXXXXXX
negative: pk_test_mhph676OcmCYhDk5Yph5ofxB

id: coveralls-repo-token
title: Coveralls repo token
severity: high
keywords: coveralls
pattern: (?i)(?:\b|_)(?:coveralls)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{37})(?![\w-])
entropy: 3.0
confidence: medium
positive: export COVERALLS_API_KEY="CPUBaUi8q5KEVj5QIiHzuGzqQ6Ff3rxWSgStc"
positive: coveralls:\n  token: UryPCwEthemCgc1LFAQgk14Y9AYaoEjoxztmu
negative: export COVERALLS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export COVERALLS_API_KEY="8koN0KOj3EfkLIwHkwDw5mEauQWgoHOSzuE"
negative: export COVERALLS_API_KEY="${COVERALLS_API_KEY}"

id: craftmypdf-api-key
title: CraftMyPDF API key
severity: high
keywords: craftmypdf
pattern: (?i)(?:\b|_)(?:craftmypdf)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{35})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CRAFTMYPDF_API_KEY="sLt52UzcxL1mIMtxxC8Bi6WpsguX0O9b29z"
positive: craftmypdf:\n  token: XWHP0QSe8ex5obcT7Dy8ua1ZfNIS1h2ZB3J
negative: export CRAFTMYPDF_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CRAFTMYPDF_API_KEY="eWRND3Txlw3QnsENnBIsKMO2UqI0NUHbB"
negative: export CRAFTMYPDF_API_KEY="${CRAFTMYPDF_API_KEY}"

id: cratesio-api-token
title: crates.io API token
severity: high
keywords: cio
pattern: (?:^|[^A-Za-z0-9+/_-])(cio[A-Za-z0-9]{32})\b
entropy: 3.0
positive: CARGO_REGISTRY_TOKEN=ciosl9g522PQUx8Et90rgYpNO1bSfoNhDfE
positive: [registry]\ntoken = "cios6m3KzjV0yhbt9TxNrWxTOa9dZuO7POT"
negative: CARGO_REGISTRY_TOKEN=cioxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: preciousIastEAAUJTzRLtU8t7i6YvSQXm5V94uM

id: credentials-in-url
title: Password in a URL
severity: high
keywords: ://
pattern: (?i)\b[a-z][a-z0-9+.-]{1,15}://[A-Za-z0-9._%~-]{2,64}:([A-Za-z0-9._%~!*+=-]{3,100})@[A-Za-z0-9-]
entropy: 2.9
confidence: medium
positive: DATABASE_URL=postgres://app:q1iM5YEGyJg6KXlH@db.internal:5432/app
positive: amqp://svc_ingest:Mm28ozWj7Z3SCqgL@rabbit-01
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
positive: export CROWDIN_API_KEY="PnyCoDj9V60eCRi7S0pGszLOg4y88IxvpHc60KgsIhGXdp5fOmiajGgjdOXkXMLAjurXpom3of2qTrBe7OLaocA"
positive: crowdin:\n  token: LqXLETGWZnhKheoTBofPhZtMwFNIwfN5gOajNlVeMuxyKc6p2KXw8uNN55waqGJvj8UHos367ODo3eI2xs3IZPo
negative: export CROWDIN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CROWDIN_API_KEY="oAExNQqxwrA2DNfG8MkDbncFZJzXvsfseWhzTIZhmAt2bD6R4f0Srwv07g2QySo1WKcazTIRn3ZTXB"
negative: export CROWDIN_API_KEY="${CROWDIN_API_KEY}"

id: cryptocompare-api-key
title: CryptoCompare API key
severity: high
keywords: cryptocompare
pattern: (?i)(?:\b|_)(?:cryptocompare)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 2.9
confidence: medium
positive: export CRYPTOCOMPARE_API_KEY="OFKXtsGKe3JfhqIuvKoMP7AGJpKroS3JkY5tKtIgEssC0cuxZs9idYYXuLRWNTeP"
positive: cryptocompare:\n  token: c4ovOeD6YGvEAoE34VvJ9dCImvtFsvD5upCkGZKIVqsv1qL1fhZTp83CjExelpE7
negative: export CRYPTOCOMPARE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CRYPTOCOMPARE_API_KEY="SNkXIRMGNZfgKKmhLElnzKflSqMYNmO59nXOvHrSYy8d1DOU7sugt1wE38JNmk"
negative: export CRYPTOCOMPARE_API_KEY="${CRYPTOCOMPARE_API_KEY}"

id: currencyfreaks-api-key
title: CurrencyFreaks API key
severity: high
keywords: currencyfreaks
pattern: (?i)(?:\b|_)(?:currencyfreaks)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CURRENCYFREAKS_API_KEY="aErfdhpJSiVi6L5gJj8S7mWe3JdM4xOE"
positive: currencyfreaks:\n  token: r1R39q8QsfljxYUkf66nGSDVDy95H9WT
negative: export CURRENCYFREAKS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CURRENCYFREAKS_API_KEY="tqGGM5PVz5WR8j5L6eBsDQ7f33dMhM"
negative: export CURRENCYFREAKS_API_KEY="${CURRENCYFREAKS_API_KEY}"

id: currencylayer-api-key
title: currencylayer API key
severity: high
keywords: currencylayer
pattern: (?i)(?:\b|_)(?:currencylayer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CURRENCYLAYER_API_KEY="zKD9BYmRsBJXEcl901QXEYBklAN6a08a"
positive: currencylayer:\n  token: A7jQ01xLV3ypIRymObM6KYeC64c79KsT
negative: export CURRENCYLAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CURRENCYLAYER_API_KEY="YXGxUtbT0e3lXAoOXBnwOzNRjx7HR1"
negative: export CURRENCYLAYER_API_KEY="${CURRENCYLAYER_API_KEY}"

id: currencyscoop-api-key
title: CurrencyScoop API key
severity: high
keywords: currencyscoop
pattern: (?i)(?:\b|_)(?:currencyscoop)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CURRENCYSCOOP_API_KEY="lEuIBb7ebOm3X12SoVF398h8Eur86OfT"
positive: currencyscoop:\n  token: I0UEGjmBLbMtQ5vafmgyG8S4UzTkDiXI
negative: export CURRENCYSCOOP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CURRENCYSCOOP_API_KEY="O5uUsS6ri3MKldi9JlLBej6wO9Zl96"
negative: export CURRENCYSCOOP_API_KEY="${CURRENCYSCOOP_API_KEY}"

id: currentsapi-api-key
title: Currents API key
severity: high
keywords: currentsapi
pattern: (?i)(?:\b|_)(?:currentsapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9+/_=-]{48})(?![\w+/=-])
entropy: 3.0
confidence: medium
positive: export CURRENTSAPI_API_KEY="iM2gVIbvPfbp8cRQp4wSSFdeOlyGfHa5457us7cwDBqBGef4"
positive: currentsapi:\n  token: lbjCEsztexlYpNksbKo6Phjv10sLI4wyaIRfCCbZU67ElD44
negative: export CURRENTSAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CURRENTSAPI_API_KEY="WXITPDTO0FQayQPKmQidAzz8xTrQfa2ViFVqX3AtbHfwBM"
negative: export CURRENTSAPI_API_KEY="${CURRENTSAPI_API_KEY}"
"""#
}
