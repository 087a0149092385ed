extension RuleCatalog {
    /// Provider rules A to C, part one (providers adafruitio .. clustdoc): prefixed tokens and API keys named near their provider.
    static let providersAtoC = #"""
id: adafruitio-key
title: Adafruit IO key
severity: high
keywords: aio_
pattern: \b(aio_[A-Za-z0-9]{28})\b
entropy: 3.0
positive: #define IO_KEY "aio_L9dv4wtfUQ1VQ3OZRkt4aQng5VP2"
positive: export ADAFRUIT_IO_KEY=aio_v9O5yqeZ1LGKN9bemzYumle29nmw
negative: IO_KEY = "aio_xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: aio_qnMD8v0OmeHs4Wmld0Wp

id: adobe-io-api-key
title: Adobe IO API key
severity: high
keywords: adobe
pattern: (?i)(?:\b|_)(?:adobe)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ADOBE_API_KEY="xpxbB4r6bSr0pFBOPCWBRDFOxEzf5FJt"
positive: adobe:\n  token: ZRAJyu5BKaCKvsYFJGufE0w6HjwXmDMw
negative: export ADOBE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ADOBE_API_KEY="ocOKFm7BEKAT3TqFZA7oIzMc0pYJzv"
negative: export ADOBE_API_KEY="${ADOBE_API_KEY}"

id: adobe-product-id
title: Adobe IO product id
severity: low
keywords: adobe
pattern: (?i)(?:\b|_)adobe[\w.-]{0,12}?product[\w.-]{0,10}?["']?\s{0,3}[:=]{1,2}\s{0,3}["']?\b([A-Za-z0-9]{12})\b
entropy: 2.5
confidence: medium
positive: adobeProduct = J17FO6bBlKu8
positive: ADOBE_PRODUCT_ID: "0Xx7gslTkmH3"
negative: adobeProduct = xxxxxxxxxxxx
negative: adobeProduct = abc

id: adobe-client-secret
title: Adobe OAuth client secret
severity: high
keywords: p8e-
pattern: \b(p8e-[A-Za-z0-9_-]{32})(?![\w-])
entropy: 3.0
positive: "client_secret": "p8e-QxYISTCguXPeGq0eKoNy5cQ0uyVsOYYD"
positive: ADOBE_CLIENT_SECRET=p8e-bYeZjCpQrWH10dkc-aP50Aqg6hnb5tZK
negative: "client_secret": "p8e-xxxx"
negative: p9e-oaybhHitbwJuQ5gKeiOLS4GMtbtK4FEz

id: airbrake-user-key
title: Airbrake user key
severity: high
keywords: airbrake
pattern: (?i)(?:\b|_)(?:airbrake)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AIRBRAKE_API_KEY="MPqayL86nKISEgBCm2NyEN5qBHLVar1uFJtGed4G"
positive: airbrake:\n  token: wuDosUovYndV5ei5Zb5n6qA31m4lbDWmIq71xgLV
negative: export AIRBRAKE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AIRBRAKE_API_KEY="5nMQxaE3xqob1TmTsc9GjqFcf9tXprF5AyRaiC"
negative: export AIRBRAKE_API_KEY="${AIRBRAKE_API_KEY}"

id: airtable-personal-access-token
title: Airtable personal access token
severity: high
keywords: pat
pattern: (?:^|[^A-Za-z0-9+/_-])(pat[A-Za-z0-9]{14}\.[a-f0-9]{64})\b
entropy: 3.0
positive: AIRTABLE_PAT=patll9KOVkyqwGUWJ.38af558e65271e476b6f736bbee012dd5d92e175959a4cc5d3da875cf93c1916
positive: const token = "patjlxzwhJAReMvB8.7b593de909824db2310b1dc425183ea51e7bcac5a61cc8bbde0cdb59274f30bb";
negative: patxxxxxxxxxxxxxx.zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz
negative: pathXfsZBLOgxbJq.e68725d4f1eec5fc9a21dabef18bf93d

id: airtable-oauth-token
title: Airtable OAuth access token
severity: high
keywords: .v1.
pattern: \b([A-Za-z0-9]{5,20}\.v1\.[A-Za-z0-9_-]{5,80}\.[a-f0-9]{12,64})\b
entropy: 3.0
confidence: medium
positive: AIRTABLE_OAUTH_TOKEN=5ONIghEXY5zJld.v1.WoW6U9Ar9VHkRelm3ptr1nrb89tiBGsHx4M9MeuB.faac3909461c815e65018252a256eab68c527725a93a658a920988a428ee5309
negative: api.v1.users.list()
negative: tf.compat.v1.Session

id: aiven-api-token
title: Aiven API token
severity: high
keywords: aiven
pattern: (?i)(?:\b|_)(?:aiven)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9+/]{300,400}[=]{0,2})(?![\w=-])
entropy: 3.0
window: 1024
confidence: medium
positive: export AIVEN_API_KEY="vZxujyMYcWkis2Jg7dLei1o8xR6EOMoVJuQDRZYAL9mAhJ6pa9JNPG87rL6WOslLTrupEyWBNldmc7wz9Is8jOplVgiTMJFXXAMMdnSZ0RefhAPiE4ZUEqED5gPmMyPs8tMPGXEIm8ZUUc4I8PcoRxzsRQievVjOUMsAmeqp6OT4zncORZDhOskkQ74IQkQXlKWFwrEiBFjb84jZX2rRhS95BbPNmA7sz4E5JE6qPUaUhkUgISYZScEdXSHflD9c9WxPeyf7oXXA5Gib4JUrF6yohPVJx84y0WG6B4q4Crmweh5"
positive: aiven:\n  token: CsAGEt3b1djyzJfMkBQRg3H3xg9DWxqhZOVh5ByCFeoZgWfEed8lWLvGw9ChncvuFJmtDh2U9veBuoRBweBCndKT6gFZsz7vkdpgR24sewtmLi8fT7XxTgedlj6NVEnb6La1b9xqo64Iks8trI0cZ53Pk7FxsevSecVyWbqchzgWpTWHkNL3Lr8Wx1cMe0cPm4E1ShKtvIUpZxbKKVSbhXxvybK9zvVXKFjuDti48yTmWu9cr6JqpiIdEmBrf3u2nebAjmwbsJtwg24ZUDWyFFtjjmPXqZBqcs0q6yfQfKPTKJ2XqE
negative: export AIVEN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AIVEN_API_KEY="2HYrgfRnG1mmWjUxU9kiwY8Ck2mWxc9cMdPpcxzaMQYG5oyIfXOnBl9WDLEWH4nk3IdIqu9HCCk2k4I8cDYZklDp242LJ21XSu7MafqALWM0zAeMrbHK5uI6NGrB0FNEDx40zPDr8ql2ZDza9eZnVWNc8H7pcQOBfm9rz8Cdxp05jkpjdwHAJgcgB8uejjPUI0JJHwK1LISccAscB1uuzqrh4HOZ3Bps1g9KcpTbtllD0oskk1Cx4t8OeaXCuUtkey4Ai9C5X5bfKCQFmsqMzWWGM4rlYD1uu0jW6jB5KU"
negative: export AIVEN_API_KEY="${AIVEN_API_KEY}"

id: alchemy-api-key
title: Alchemy API key
severity: high
keywords: alchemy
pattern: (?i)(?:\b|_)(?:alchemy)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ALCHEMY_API_KEY="PIQ02LlMju9rYJJpN4s9v120nqhKF0Ck"
positive: alchemy:\n  token: RXyuiFZnRcP05zHK5MZ5a4dTHdFTSXOH
negative: export ALCHEMY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ALCHEMY_API_KEY="88XDsZCFAkMtIUxD5wXhCtGjRJFsdA"
negative: export ALCHEMY_API_KEY="${ALCHEMY_API_KEY}"

id: algolia-admin-api-key
title: Algolia admin API key
severity: high
keywords: algolia
pattern: (?i)(?:\b|_)(?:algolia)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ALGOLIA_API_KEY="UoUJPDKKCR0m9dWUHqpoLFJtvGUmJyQ3"
positive: algolia:\n  token: KNGRKYAUd8Ggk1PrvE3AxLHmm7ZvpouT
negative: export ALGOLIA_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ALGOLIA_API_KEY="lZz3oXYzT5SItPoOgj9Fq53G4jQA5l"
negative: export ALGOLIA_API_KEY="${ALGOLIA_API_KEY}"

id: algolia-application-id
title: Algolia application id
severity: low
keywords: algolia
pattern: (?i)(?:\b|_)algolia[\w.-]{0,12}?app(?:lication)?[_-]?id["']?\s{0,3}[:=]{1,2}\s{0,3}["']?\b([A-Z0-9]{10})\b
entropy: 2.5
confidence: medium
positive: algolia_app_id = "WLZGFT8EMY"
positive: ALGOLIA_APPLICATION_ID=9CEKOLUL9O
negative: algolia_app_id = "XXXXXXXXXX"
negative: algolia_app_id = "ABC"

id: alibabacloud-access-key-id
title: Alibaba Cloud AccessKey ID
severity: critical
keywords: ltai
pattern: (?:^|[^A-Za-z0-9+/_-])(LTAI[A-Za-z0-9]{12,20})\b
entropy: 3.0
positive: ALIBABA_CLOUD_ACCESS_KEY_ID=LTAI17SsKs4P0jfBhw5iUqnb
positive: access_key_id: "LTAIm22AjyyKZFlUIm0J7YWh"
negative: LTAIxxxxxxxxxxxxxxxxxxxx
negative: LTAI123

id: alibabacloud-access-key-secret
title: Alibaba Cloud AccessKey secret
severity: critical
keywords: alibaba aliyun
pattern: (?i)(?:\b|_)(?:alibaba|aliyun)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{30})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ALIBABA_API_KEY="7jde7sv2fZvQvoLoot2iuezLmmcYqN"
positive: alibaba:\n  token: 05Up2D0ddcTuCOVS8VaTikHFW2zT1K
negative: export ALIBABA_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ALIBABA_API_KEY="oG6szETeXQUGtVotuDgNEogCtoe5"
negative: export ALIBABA_API_KEY="${ALIBABA_API_KEY}"

id: anypoint-api-key
title: MuleSoft Anypoint API key
severity: high
keywords: anypoint
pattern: (?i)(?:\b|_)(?:anypoint)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 2.3
confidence: medium
positive: export ANYPOINT_API_KEY="b47a0b9f-6ff9-be16-203a-63875919f8d6"
positive: anypoint:\n  token: 6f24182b-db68-306d-6853-bb0b6b1b61de
negative: export ANYPOINT_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export ANYPOINT_API_KEY="e7d1889c-331c-7f59-550f-53eb3d6613"
negative: export ANYPOINT_API_KEY="${ANYPOINT_API_KEY}"

id: anypoint-organization-id
title: MuleSoft Anypoint organization id
severity: low
keywords: anypoint
pattern: (?i)(?:\b|_)anypoint[\w\s.-]{0,20}?org(?:anization)?[_-]?id["']?\s{0,3}[:=]{1,2}\s{0,3}["']?\b([a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})\b
entropy: 2.3
confidence: medium
positive: anypoint org_id = "95fcfa9f-c7f4-946b-139b-90f68362d25d"
positive: ANYPOINT_ORGANIZATION_ID=8ef4df95-8659-da9a-3cb5-e3604cec44c0
negative: anypoint org_id = "00000000-0000-0000-0000-000000000000"
negative: anypoint org_id = "1234abcd"

id: apifonica-api-key
title: Apifonica API key
severity: high
keywords: apifonica
pattern: (?i)(?:\b|_)(?:apifonica)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8,11}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export APIFONICA_API_KEY="5dxw6a7db-8pvv-0i1f-a7os-paft1bb0ejn3"
positive: apifonica:\n  token: qy6zgykq-f0y8-12nj-ymxi-a4ar209dq0cp
negative: export APIFONICA_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export APIFONICA_API_KEY="cyg0vgk1-2poc-9uf7-0cav-4rxw7k3get"
negative: export APIFONICA_API_KEY="${APIFONICA_API_KEY}"

id: apify-api-key
title: Apify API token
severity: high
keywords: apify
pattern: (?i)(?:\b|_)(?:apify)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{36})(?![\w-])
entropy: 3.0
confidence: medium
positive: export APIFY_API_KEY="uLxEWgwqNHXpZEfUtcYEcdWxmdSBhnX7iCoi"
positive: apify:\n  token: HSCzlML8BQkh9Qgj0I3ucDcOXTKziaK4gWGx
negative: export APIFY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export APIFY_API_KEY="8Rbh3vHohzvmImf97ccXz3nkS1X67KqeR4"
negative: export APIFY_API_KEY="${APIFY_API_KEY}"

id: apify-api-token
title: Apify API token (prefixed)
severity: high
keywords: apify_api_
pattern: \b(apify_api_[A-Za-z0-9]{36})\b
entropy: 3.0
positive: APIFY_TOKEN=apify_api_1vE8nSEEiuojVFarGmFgJZaPOxXv8uzFjhn9
negative: APIFY_TOKEN=apify_api_xxxx

id: apilayer-api-key
title: APILayer API key
severity: high
keywords: apilayer
pattern: (?i)(?:\b|_)(?:apilayer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export APILAYER_API_KEY="dMbmRDnCajspFsw1wv5JuKFzMeEEMiaE"
positive: apilayer:\n  token: vhHbUM8QfDvv7RBoL6W79oPVDNeigBsZ
negative: export APILAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export APILAYER_API_KEY="fePMf0HQhUyPiAaTK2PpW7oBxxzjBU"
negative: export APILAYER_API_KEY="${APILAYER_API_KEY}"

id: apimetrics-api-key
title: APImetrics API key
severity: high
keywords: apimetrics
pattern: (?i)(?:\b|_)(?:apimetrics)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export APIMETRICS_API_KEY="rKE05FZQNnUraHlDJcT4Ngs99P37A92t"
positive: apimetrics:\n  token: cPq6R9SIFy5SdvQg6LZ5X6Txdpp1j8dI
negative: export APIMETRICS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export APIMETRICS_API_KEY="7dynYVGIwQeS0U0IYJOUpQ8SXqFvDL"
negative: export APIMETRICS_API_KEY="${APIMETRICS_API_KEY}"

id: apitemplate-api-key
title: APITemplate.io API key
severity: high
keywords: apitemplate
pattern: (?i)(?:\b|_)(?:apitemplate)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{39})(?![\w-])
entropy: 3.0
confidence: medium
positive: export APITEMPLATE_API_KEY="YwGANR89sG6ahxS71MBMgFmHUAoYXkT7sbgj6pj"
positive: apitemplate:\n  token: ZMWBq6n8RiOyOjJOQZisb7TmLagTsLaxQgP9qqm
negative: export APITEMPLATE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export APITEMPLATE_API_KEY="5gFGhoIB23mxrF9P1bygfVBfAJOCjUE7ByPFv"
negative: export APITEMPLATE_API_KEY="${APITEMPLATE_API_KEY}"

id: apollo-api-key
title: Apollo.io API key
severity: high
keywords: apollo
pattern: (?i)(?:\b|_)(?:apollo)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export APOLLO_API_KEY="7Lao86VF4rm7DOXlrcIUDi"
positive: apollo:\n  token: pCazKfr6yxH90sHj2m3dA9
negative: export APOLLO_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: export APOLLO_API_KEY="XfoPm8pAOc74xtbyHVpk"
negative: export APOLLO_API_KEY="${APOLLO_API_KEY}"

id: appfollow-api-token
title: AppFollow API token
severity: high
keywords: appfollow
pattern: (?i)(?:\b|_)(?:appfollow)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b(eyJ[A-Za-z0-9_-]{10,100}\.[A-Za-z0-9_-]{10,400}\.[A-Za-z0-9_-]{10,200})(?![\w-])
entropy: 3.0
window: 1024
confidence: medium
positive: export APPFOLLOW_API_KEY="eyJIspZdmi6dbhIruUaoPnNeB9EnLuPBXCx464tcpKYYAnOGKAmmMcD9svCLU9TL.XULXUqQbu4kpyYBnjtbQbbkBFkYYM54IlLBhAuNvR4v5MJ3DsBwwAKHXYnVGwbBlJvudhrAeiM2cGxXRNdVs7z9oP8W3xSNigivZK6tJMVhR62U8mR322jGSrny2pjHvxCCcX39U3upzX3KPHf6vrts1nbIZaPtkS5zqA8HOR1i6Llvea9hONOUFWVUtur2aaWdaw21t0sbZ7EYU1TB5Uv.nwZ858vej8ARXWy0wbtiuXGgMAmRLkGCW70C1u05uyAiR2Xpu5TNXDj2CIe9mwPYwW84oyimaeZN47Fww6hIUczGv2tcgfsuH2Fu4oQ1oWp8VLqE61i6rEqpqLIpHtemGNYystTys9gilWP9Lt2M0o10y5nDe92JBsEfFdqclPc"
positive: appfollow:\n  token: eyJguwAuuIPPja0onrw1wvdE1ar3AEOIYTzYSMh9uA7f3NFHMkCIDEb6VOdhdVZgFTFv.JqS6iiKuZoS3usuRpx8MBD5scTbJ2mGY6TkhXYUpubomKg3nk9I00Puf3x5k5WcDjApeuSadpziQ8dW06cB5ua82Doq42HiXcigj9.iRU7Y0BEdSjhmzGf9hxSX2w7USd1yf6IjUnmTXJ7nOJxyN8JHspQLoJB9ZXvBCm0R2
negative: export APPFOLLOW_API_KEY="eyJxxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx"
negative: export APPFOLLOW_API_KEY="eyJ1S8iR1wj.qxzVdVj1v1.8l9wcRFOBk"
negative: export APPFOLLOW_API_KEY="${APPFOLLOW_API_KEY}"

id: appointedd-api-key
title: Appointedd API key
severity: high
keywords: appointedd
pattern: (?i)(?:\b|_)(?:appointedd)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9+/]{80,100}[=]{0,2})(?![\w=-])
entropy: 3.0
confidence: medium
positive: export APPOINTEDD_API_KEY="Q3RPWAXxuHLWH5qxYPgKEPlcgLrwVrL6ANVD2mrdjjXbidg4S2vU1fCCBdRbXwOYeUlhjhiOwpEmyrKx57SE="
positive: appointedd:\n  token: 825ZQ0NrA6uuV0RQvbEZVq6vE20QY9PGAS33pZeFbka1Tue7mLl7jXNePJtOHk1AceAq2o2nBI7Fj9HrtHw3qgTy8WJuBL8yV9==
negative: export APPOINTEDD_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export APPOINTEDD_API_KEY="CkzhszGA5cQAmAJ4QFAuw7wmSZv3hqqcm992Rl1gbHvXt3niiYdkHHXMu7nJDLTBM967A2MZO5SKUX"
negative: export APPOINTEDD_API_KEY="${APPOINTEDD_API_KEY}"

id: appoptics-api-token
title: AppOptics API token
severity: high
keywords: appoptics
pattern: (?i)(?:\b|_)(?:appoptics)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64,80})(?![\w-])
entropy: 3.0
confidence: medium
positive: export APPOPTICS_API_KEY="btzRJuA4eSgjSAjifuA0Mf22R4s7t9cqdMVd8Q2SSR0BnUnYCsHKwhHpEDHtyARtOwzvQXi"
positive: appoptics:\n  token: VBt22zUOWtM3pXYEO0zW1cvakrSK22d91Qkc1DkoJYf6QJKddK54FAgZtODOVmKTie6k9sdFZwr
negative: export APPOPTICS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export APPOPTICS_API_KEY="V2vvdYoox4uXhWhPRX2YD8iDAGKtYCVI6X9nEZqAAvEQ7hP84GQxcNlrXXPFmL"
negative: export APPOPTICS_API_KEY="${APPOPTICS_API_KEY}"

id: appsynergy-api-key
title: AppSynergy API key
severity: high
keywords: appsynergy
pattern: (?i)(?:\b|_)(?:appsynergy)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export APPSYNERGY_API_KEY="okyIGjO3YjgBtDuFtzEsZRdij4qqarjR0zmwWOjSw7RpDuEuogAZXi6Rz08fgcdb"
positive: appsynergy:\n  token: FlyK8TmXff2vvjy89FAAQik1FTw5kP2LqmXyHHlfptLbQvFuXTr5RAtg32OkED8l
negative: export APPSYNERGY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export APPSYNERGY_API_KEY="2ygUc9xaphxMlUYWNXJXX3szdwZWe8Eg5TkZyJEizWBrd57IkoHwPDMiBK6fEt"
negative: export APPSYNERGY_API_KEY="${APPSYNERGY_API_KEY}"

id: artifactory-api-key
title: JFrog Artifactory API key
severity: high
keywords: akcp
pattern: (?:^|[^A-Za-z0-9+/_-])(AKCp[A-Za-z0-9]{69})\b
entropy: 3.0
positive: export ARTIFACTORY_API_TOKEN=AKCpo5QefOGqFt3gU45pQixl7NLApkF9AtzaNOZ0UVz2VtIO0C0cUcrjyX03FXaaiHZCXna13
positive: jfrog rt dl --apikey=AKCpxfSg5J7eoD1t5KpVWncLvXTw9I5fj9UdQtds2HpTkdbNcUeOGTYiTgBkgTe8QpapQDqWv repo/file
negative: AKCpxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: AKCpShort123

id: artifactory-reference-token
title: JFrog Artifactory reference token
severity: high
keywords: cmvmdgtuojaxoj
pattern: \b(cmVmdGtuOjAxOj[A-Za-z0-9]{50})\b
entropy: 3.0
positive: export JFROG_ACCESS_TOKEN=cmVmdGtuOjAxOjDvnovpsrPp0Vq6Fn1rNPe0AIMURIPbGltRIKnTHZ6WItphBQYz
positive: Authorization: Bearer cmVmdGtuOjAxOjaaBwN3dArAhobxSeol6KzZBhv3MtvGTcyQGc2u4FCXPBWqFkrO
negative: cmVmdGtuOjAxOjxxxxxxxx
negative: cmVmdGtuOjAxOjAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA

id: artifactory-jfrog-host
title: JFrog cloud instance host
severity: low
keywords: .jfrog.io
pattern: (?i)\b([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.jfrog\.io)\b
confidence: medium
positive: url = "https://acme-corp.jfrog.io/artifactory/api/pypi/pypi/simple"
negative: url = "https://jfrog.io/"

id: asana-client-id
title: Asana client id
severity: medium
keywords: asana
pattern: (?i)(?:\b|_)(?:asana)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([0-9]{16})(?![\w-])
entropy: 2.5
confidence: medium
positive: export ASANA_API_KEY="5398236006122263"
positive: asana:\n  token: 7463197201173689
negative: export ASANA_API_KEY="0000000000000000"
negative: export ASANA_API_KEY="26863114162304"
negative: export ASANA_API_KEY="${ASANA_API_KEY}"

id: asana-client-secret
title: Asana client secret
severity: high
keywords: asana
pattern: (?i)(?:\b|_)(?:asana)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{32,35})(?![\w-])
entropy: 3.0
confidence: medium
positive: asana=GrdIQGUU6YWXnHxDidEGGhmIE446MimMRB
positive: ASANA QBHIvJTtbaUat7WGewj0LGiTDNj3B6o1Um
negative: asana=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: asana=gbwp3zOY03Bjp0v9USjrRWTxBkZX4t
negative: asana=${ASANA_API_KEY}

id: asana-access-token
title: Asana personal access / OAuth token
severity: high
keywords: asana
pattern: (?i)(?:\b|_)asana[\w\s.:'"=-]{0,30}?\b([0-2]/(?:[0-9]{16}:[a-f0-9]{32}|[a-f0-9]{32}|[a-z0-9/]{40,60}))(?![\w/:])
entropy: 2.8
confidence: medium
positive: asana_pat = 1/7704301984806750:331677be6433316102896e8bb3aa944f
positive: ASANA_TOKEN="0/eb1a08a7275eed868890587600e0479e"
negative: asana_pat = 1/1234
negative: asana_pat = 9/e9d746304fb04e8e906beac884090428

id: assemblyai-api-key
title: AssemblyAI API key
severity: high
keywords: assemblyai
pattern: (?i)(?:\b|_)(?:assemblyai)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ASSEMBLYAI_API_KEY="oWA3sYKw4phWNGsPHGhnK4UDtJwuFXqx"
positive: assemblyai:\n  token: s9fyoAlWUgPI8eztDxyVQG9yXzKw0aOj
negative: export ASSEMBLYAI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ASSEMBLYAI_API_KEY="OKrfdh5exKfgP6qOSmW1DqtiOSPLVY"
negative: export ASSEMBLYAI_API_KEY="${ASSEMBLYAI_API_KEY}"

id: atera-api-key
title: Atera API key
severity: high
keywords: atera
pattern: (?i)(?:\b|_)(?:atera)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ATERA_API_KEY="w8ECXEBX6wAH9mUK2UqwFDB5Z3bpFo9V"
positive: atera:\n  token: xG8XOKqGUdOMGlcm1Vkb8DmTl0QiDpKh
negative: export ATERA_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ATERA_API_KEY="Bdsdo7rl0rX1ALCDhmObTV7xJ1vuJv"
negative: export ATERA_API_KEY="${ATERA_API_KEY}"

id: atlassian-api-token
title: Atlassian API token
severity: high
keywords: atlassian jira confluence
pattern: (?i)(?:\b|_)(?:atlassian|jira|confluence)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ATLASSIAN_API_KEY="neXRy4qqN211oO04b7PDJAcs"
positive: atlassian:\n  token: I9wHXS6DwkTrRYSgkW0NvZWm
negative: export ATLASSIAN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ATLASSIAN_API_KEY="RCLy2jc4W65Lm0hj3e8eX9"
negative: export ATLASSIAN_API_KEY="${ATLASSIAN_API_KEY}"

id: atlassian-api-token-v2
title: Atlassian API token (ATATT)
severity: high
keywords: atatt3
pattern: \b(ATATT3[A-Za-z0-9_=-]{150,250})(?![\w=-])
entropy: 3.5
positive: JIRA_API_TOKEN=ATATT3cEL038QnGfOLN3CLPoPjToe4WWZ3evvl90w8GxOTW7lKZ4KUWZGHYqEZB2Kk7w1WANPvZFJHpPHDQKJNRjsc5tTzoFpmhcpPwWbPvBEyAgeIz7aZagJy9aetbuJvRQpoCOL8wSr05nqokDkrRc6y5NXh60mJPmNZlMeftr7yzgpQ2j0gyWau=1c841cf4
negative: JIRA_API_TOKEN=ATATT3xxxx

id: audd-api-key
title: AudD API key
severity: high
keywords: audd
pattern: (?i)(?:\b|_)(?:audd)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AUDD_API_KEY="kkZ3qy5ltrZwj7fmDrq0HyEBRc49knX8"
positive: audd:\n  token: Q2aclBp0pBlsPCfj3iBihWYfVOC0pu5p
negative: export AUDD_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AUDD_API_KEY="q2A5YSy38hKCvzNvERfmi1mJlMCned"
negative: export AUDD_API_KEY="${AUDD_API_KEY}"

id: auth0-client-id
title: Auth0 client id
severity: medium
keywords: auth0
pattern: (?i)(?:\b|_)(?:auth0)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32,40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AUTH0_API_KEY="sDaAsnMHcYBWbVGgQQrb1jKra0MaMBiCAQkqyRcX"
positive: auth0:\n  token: LEO5biBWZ48Zet1QDyCbb7Z2OBlbuQIhLqsr
negative: export AUTH0_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AUTH0_API_KEY="rMPwKPGLutVZWVb9jVVTsADP1DAo88"
negative: export AUTH0_API_KEY="${AUTH0_API_KEY}"

id: auth0-client-secret
title: Auth0 client secret
severity: high
keywords: auth0
pattern: (?i)(?:\b|_)(?:auth0)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_-]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AUTH0_API_KEY="P2k6ntI5O9tHsk33kspffIFmAlh9d7rlG2ubVlvksSnGJEZliWh8GJm23LzQ7omL"
positive: auth0:\n  token: FcKglwhI1URDhrfwmdqwhnctey75S66u3yhj49jqZhwzUoQ8vjuqtcCDmt139Ivo
negative: export AUTH0_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AUTH0_API_KEY="cDdthjWph4i8raTl7prMeLjZG96FmWsSsJ7mmWOvwVStteqYGFtvRe92H4sz2f"
negative: export AUTH0_API_KEY="${AUTH0_API_KEY}"

id: auth0-domain
title: Auth0 tenant domain
severity: low
keywords: .auth0.com
pattern: (?i)\b([a-z0-9][a-z0-9-]{0,61}(?:\.[a-z]{2})?\.auth0\.com)\b
confidence: medium
positive: AUTH0_DOMAIN=acme-prod.eu.auth0.com
positive: https://widgets-inc.auth0.com/authorize
negative: see https://auth0.com/docs

id: autoklose-api-token
title: Autoklose API token
severity: high
keywords: autoklose
pattern: (?i)(?:\b|_)(?:autoklose)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AUTOKLOSE_API_KEY="XxLNEz2GFkKHF7wexfyCPOMAvsXUYxAK"
positive: autoklose:\n  token: mGKuKSQg2QtwOmf9739LPUgEg6GJofJR
negative: export AUTOKLOSE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AUTOKLOSE_API_KEY="xMRRDMIgnzJWYiOyju3IqrcskXLZne"
negative: export AUTOKLOSE_API_KEY="${AUTOKLOSE_API_KEY}"

id: autopilot-api-key
title: Autopilot API key
severity: high
keywords: autopilot
pattern: (?i)(?:\b|_)(?:autopilot)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{33})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AUTOPILOT_API_KEY="SVmKinLZ9GulDtDkvlrVl8urh3TbaUDWU"
positive: autopilot:\n  token: 7C7tU9qTQbY5mXh8qGWEQ31u2M0nfFcfn
negative: export AUTOPILOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AUTOPILOT_API_KEY="SvzabTnz4hTndDwN7uoRC3BFPfnZdQL"
negative: export AUTOPILOT_API_KEY="${AUTOPILOT_API_KEY}"

id: avaza-personal-access-token
title: Avaza personal access token
severity: high
keywords: avaza
pattern: (?i)(?:\b|_)(?:avaza)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([0-9]{1,7}-[A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AVAZA_API_KEY="7670-aztSWU74vWH42PpB2t4Xz8Ptag7NxK1QwYNa1U9V"
positive: avaza:\n  token: 3-fFtgMVMd34BOLwLx7bzrz8VFsuCcJcKMsFZ6WQfB
negative: export AVAZA_API_KEY="0-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AVAZA_API_KEY="7-EWpi0RA3KsLUpBwopiDbIMSS1Zi93B5wi3FIhF"
negative: export AVAZA_API_KEY="${AVAZA_API_KEY}"

id: aviationstack-api-key
title: Aviationstack API key
severity: high
keywords: aviationstack
pattern: (?i)(?:\b|_)(?:aviationstack)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AVIATIONSTACK_API_KEY="jK2hwotkQH41S4SJpdyYXVLLwEnypR9t"
positive: aviationstack:\n  token: I6EZdaiZfClHr2CZDOr5q37RZIvPaW5H
negative: export AVIATIONSTACK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AVIATIONSTACK_API_KEY="hLNh61s1poL51dTvw8XG7ewtMdXDUF"
negative: export AVIATIONSTACK_API_KEY="${AVIATIONSTACK_API_KEY}"

id: axonaut-api-key
title: Axonaut API key
severity: high
keywords: axonaut
pattern: (?i)(?:\b|_)(?:axonaut)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AXONAUT_API_KEY="dm9jM0v8icnY1wOS79dlnVlAI28lTG8K"
positive: axonaut:\n  token: h25crPLBZTbmJB1O20oNxhzoYge7ymlf
negative: export AXONAUT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AXONAUT_API_KEY="qUesUn8tl2CR3y5Tfe1LwTlFEl6IHL"
negative: export AXONAUT_API_KEY="${AXONAUT_API_KEY}"

id: ayrshare-api-key
title: Ayrshare API key
severity: high
keywords: ayrshare
pattern: (?i)(?:\b|_)(?:ayrshare)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Z0-9]{8}-[A-Z0-9]{8}-[A-Z0-9]{8}-[A-Z0-9]{8})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AYRSHARE_API_KEY="R5ZZLI7I-C7U5L0FY-1BDWYOMT-FL5EFLB7"
positive: ayrshare:\n  token: XBJRLI8Q-SIPHOU1W-KZX21GCD-6EFCRY2N
negative: export AYRSHARE_API_KEY="xxxxxxxx-xxxxxxxx-xxxxxxxx-xxxxxxxx"
negative: export AYRSHARE_API_KEY="4QUMOP-3LEJI2WG-M7XVMW9D-ARTIV9QI"
negative: export AYRSHARE_API_KEY="${AYRSHARE_API_KEY}"

id: azureopenai-api-key
title: Azure OpenAI API key
severity: high
keywords: azure_openai azureopenai azure-openai openai_azure
pattern: (?i)(?:\b|_)(?:azure_openai|azureopenai|azure-openai|openai_azure)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AZURE_OPENAI_API_KEY="8mKGBrCxnElrL33Z3AFsYYoR1rHW0pM8"
positive: azure_openai:\n  token: 2v14e74LDg3CkvJsbAHDHY5CiiuwImj2
negative: export AZURE_OPENAI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AZURE_OPENAI_API_KEY="zC5i7Ic5xUcEKa9Dnyz1uMBVDoeze5"
negative: export AZURE_OPENAI_API_KEY="${AZURE_OPENAI_API_KEY}"

id: azureopenai-host
title: Azure OpenAI endpoint host
severity: low
keywords: .openai.azure.com
pattern: (?i)\b([a-z0-9][a-z0-9-]{0,62}\.openai\.azure\.com)\b
confidence: medium
positive: AZURE_OPENAI_ENDPOINT=https://contoso-eastus.openai.azure.com/
negative: docs: openai.azure.com

id: azuresearch-query-key
title: Azure AI Search key
severity: high
keywords: azure_search azuresearch azure-search search_service
pattern: (?i)(?:\b|_)(?:azure_search|azuresearch|azure-search|search_service)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{52})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AZURE_SEARCH_API_KEY="dvUZC5OyKLIYMiOoNGfjULUbbtk0R7qzIskyLHzcmYbrdOlNhIzZ"
positive: azure_search:\n  token: onkf47RxTtsLD5JWCKcoKZnuvDvCxmYTjd0VIR0YrSQWCVYsN96M
negative: export AZURE_SEARCH_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AZURE_SEARCH_API_KEY="YKmYn576LJASoCURp8mkukqjUrplnyfOwZSVwjYwD38lWcUVe0"
negative: export AZURE_SEARCH_API_KEY="${AZURE_SEARCH_API_KEY}"

id: azuresearch-url
title: Azure AI Search service URL
severity: low
keywords: .search.windows.net
pattern: (?i)\b(https://[a-z0-9][a-z0-9-]{1,59}\.search\.windows\.net)\b
confidence: medium
positive: endpoint = "https://contoso-search.search.windows.net/indexes/hotels"
negative: endpoint = "https://search.windows.net"

id: azurestorage-account-host
title: Azure Storage account host
severity: low
keywords: .core.windows.net
pattern: (?i)\b([a-z0-9]{3,24}\.(?:blob|file|queue|table|dfs)\.core\.windows\.net)\b
confidence: medium
positive: https://contosodata01.blob.core.windows.net/container/file.csv
negative: https://ab.blob.core.windows.net/

id: azurestorage-account-name
title: Azure Storage account name
severity: low
keywords: storage_name storageaccountname storage_account_name accountname=
pattern: (?i)(?:\bstorage_name|storage_?account_?name|\baccountname)["']?\s{0,3}[:=]{1,2}\s{0,3}["']?\b([a-z0-9]{6,24})\b(?![.(\[])
entropy: 2.8
confidence: low
positive: storage_name=contosodata01
positive: DefaultEndpointsProtocol=https;AccountName=fabrikam7logs;AccountKey=abc
negative: storage_name = self.name
negative: storage_name=ab

id: azurestorage-account-key
title: Azure Storage account key
severity: critical
keywords: accountkey=
pattern: (?i)accountkey=([A-Za-z0-9+/]{80,110}={0,2})(?![A-Za-z0-9+/=])
entropy: 4.0
positive: DefaultEndpointsProtocol=https;AccountName=contoso;AccountKey=umtezf2sf6uIe0FDkOszSq1nIbIZO9LnfzgArdMR7GSaVYk0PwAtIdah860srIIUHvWOLKPHTxnnwHMrJTBSAW==;EndpointSuffix=core.windows.net
negative: AccountKey=xxxxxxxx;
negative: AccountKey=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==

id: bannerbear-api-key
title: Bannerbear API key
severity: high
keywords: bannerbear
pattern: (?i)(?:\b|_)(?:bannerbear)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BANNERBEAR_API_KEY="PTnRIBrIW4O1W6Csce9UypgY"
positive: bannerbear:\n  token: PLqTG4w2CjIZL5r21qE0lk64
negative: export BANNERBEAR_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BANNERBEAR_API_KEY="IscgkxnDej8KPqj1IoEbrh"
negative: export BANNERBEAR_API_KEY="${BANNERBEAR_API_KEY}"

id: baremetrics-api-key
title: Baremetrics API key
severity: high
keywords: baremetrics
pattern: (?i)(?:\b|_)(?:baremetrics)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{25})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BAREMETRICS_API_KEY="ALMe6UKMyPI9gTQ2Y0Tu5UF3d"
positive: baremetrics:\n  token: GKBnK8nUXZkVSHQpiodS68F0f
negative: export BAREMETRICS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BAREMETRICS_API_KEY="62YrnA2Ss32djiFOJatSLaU"
negative: export BAREMETRICS_API_KEY="${BAREMETRICS_API_KEY}"

id: beamer-api-key
title: Beamer API key
severity: high
keywords: beamer
pattern: (?i)(?:\b|_)(?:beamer)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b(b_[A-Za-z0-9]{44})(?![\w-])
entropy: 3.0
confidence: medium
positive: beamer=b_l6kebYpq5shELz46v5mQ7hT82auwdcLsdYgjKsPdv0Ie
positive: BEAMER b_YeLPo3L56vz7DVuWawK8k65Un7gMlYuSQhzLXJO2g6pZ
negative: beamer=b_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: beamer=b_FkptzRIlrYAJLsUyVCbB9sLroK6JLQukJ8QV7WlL4q
negative: beamer=${BEAMER_API_KEY}

id: beebole-api-key
title: Beebole API key
severity: high
keywords: beebole
pattern: (?i)(?:\b|_)(?:beebole)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40,42})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BEEBOLE_API_KEY="PROczhorzQCRayogVesWoTrLqRoXk4yzdGecrorPY"
positive: beebole:\n  token: XhxDbkee4kFbU6gnKqizkBOX0Iwk6oaUctR58nmMTR
negative: export BEEBOLE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BEEBOLE_API_KEY="JmbuWAY78VzZO8CI0DlfoWRjxWkYyZ4qIPHnOp"
negative: export BEEBOLE_API_KEY="${BEEBOLE_API_KEY}"

id: besnappy-api-key
title: BeSnappy API key
severity: high
keywords: besnappy
pattern: (?i)(?:\b|_)(?:besnappy)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BESNAPPY_API_KEY="j9hfGlbTd2wY8MsluTyeuYkgz7IUonn6ETbXHd2sg0ugil6jpcVop4i4QOGwnBVq"
positive: besnappy:\n  token: UjHaPYPxgVz2WqvIS34mxjC2z9stptV98A9qb4S91fSLoZLk7DNXz3KAoWWvHdkO
negative: export BESNAPPY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BESNAPPY_API_KEY="hlTZTK8zEmmylnzPUJ54IiiPd230kgR1Rde4mJ6a0slOYS0dXAo6mwUHQVfGHN"
negative: export BESNAPPY_API_KEY="${BESNAPPY_API_KEY}"

id: besttime-api-key
title: BestTime API key
severity: high
keywords: besttime
pattern: (?i)(?:\b|_)(?:besttime)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{36})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BESTTIME_API_KEY="bmQrDk1ZbXrq7FG2i0vTw7ZmkAMpYgS88lrE"
positive: besttime:\n  token: YWZMKYxTSxCy9bfMBoI7qUD5DTarL0MC7ZzJ
negative: export BESTTIME_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BESTTIME_API_KEY="1rsD5q31uI8mX3FpJyIpD7nqs7Oeop7MVr"
negative: export BESTTIME_API_KEY="${BESTTIME_API_KEY}"

id: betterstack-api-token
title: Better Stack API token
severity: high
keywords: betterstack betteruptime logtail
pattern: (?i)(?:\b|_)(?:betterstack|betteruptime|logtail)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BETTERSTACK_API_KEY="FSXZEvR0LZXNqWwdkuLUILyY"
positive: betterstack:\n  token: qyjMBKj85rTfPuM5U501YwHq
negative: export BETTERSTACK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BETTERSTACK_API_KEY="pt6FuhuaonkAlXkxMqGJAL"
negative: export BETTERSTACK_API_KEY="${BETTERSTACK_API_KEY}"

id: bitbar-api-key
title: BitBar API key
severity: high
keywords: bitbar
pattern: (?i)(?:\b|_)(?:bitbar)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BITBAR_API_KEY="4FqdntdqME1TtPe9QmGKs8oSnb3OEqBq"
positive: bitbar:\n  token: Hz8GwylPH1Mc4VfAis2BW9FtVAFFke3N
negative: export BITBAR_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BITBAR_API_KEY="pPXgpb9dwOL4ctLjF8F1ZGYAW51VAe"
negative: export BITBAR_API_KEY="${BITBAR_API_KEY}"

id: bitcoinaverage-api-key
title: BitcoinAverage API key
severity: high
keywords: bitcoinaverage
pattern: (?i)(?:\b|_)(?:bitcoinaverage)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{43})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BITCOINAVERAGE_API_KEY="n1Pm9PKA63rqTeLAgDYlLNHHtMbWUZJ7Hwyu7tOsjaP"
positive: bitcoinaverage:\n  token: a3hObxRM8e6Vho2zRRjHUkTSAHT7tTpd1MN8VnxlG6n
negative: export BITCOINAVERAGE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BITCOINAVERAGE_API_KEY="25OhkQj3S6nBQKmQH8s3nqDbt8GBFBhtUwIicoICz"
negative: export BITCOINAVERAGE_API_KEY="${BITCOINAVERAGE_API_KEY}"

id: bitly-access-token
title: Bitly access token
severity: high
keywords: bitly
pattern: (?i)(?:\b|_)(?:bitly)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BITLY_API_KEY="52JsfAl4b5GS0LS2ddnnPzWLKOhEmHHrSmXnClPH"
positive: bitly:\n  token: SyRZSNkyCD1JGsaMSr0URxjNjy4v4z6GKN4JXCFO
negative: export BITLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BITLY_API_KEY="D302dJ0C81T1TlWpnXZhZsMicYkgIQl9aO0CtL"
negative: export BITLY_API_KEY="${BITLY_API_KEY}"

id: blazemeter-api-key
title: BlazeMeter / Runscope API key
severity: high
keywords: blazemeter runscope
pattern: (?i)(?:\b|_)(?:blazemeter|runscope)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: blazemeter=d4d84faa-985e-0a3f-8df7-ffbb812790aa
positive: BLAZEMETER 9da01a4b-4280-4ddd-34db-36e510cd98fc
negative: blazemeter=xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
negative: blazemeter=7ed7bc10-562f-0a85-25cc-ba728e42cd
negative: blazemeter=${BLAZEMETER_API_KEY}

id: blitapp-api-key
title: Blitapp API key
severity: high
keywords: blitapp
pattern: (?i)(?:\b|_)(?:blitapp)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_-]{38,42})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BLITAPP_API_KEY="QllQr8dz23DnmV2j05FfLG1KablQkYEw874Ghy"
positive: blitapp:\n  token: 8jCvTwDj3QHHOhG8x0qBQZOHQYbDU69LeTQGDKFm
negative: export BLITAPP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BLITAPP_API_KEY="hXWQGSSGnqpnJ6NRYrVQQTf72HJxi2cD7XrD"
negative: export BLITAPP_API_KEY="${BLITAPP_API_KEY}"

id: blocknative-api-key
title: Blocknative API key
severity: high
keywords: blocknative
pattern: (?i)(?:\b|_)(?:blocknative)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BLOCKNATIVE_API_KEY="c0dd8e24-6def-18f7-074b-6dffafb2cbfc"
positive: blocknative:\n  token: d36f8bfa-8088-435b-cf89-5621ecb4cbe5
negative: export BLOCKNATIVE_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export BLOCKNATIVE_API_KEY="200fb2b7-0659-b7df-34a8-ceb47a16f2"
negative: export BLOCKNATIVE_API_KEY="${BLOCKNATIVE_API_KEY}"

id: blogger-api-key
title: Blogger API key
severity: high
keywords: blogger
pattern: (?i)(?:\b|_)(?:blogger)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{35,50})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BLOGGER_API_KEY="jjAonNPiCjq0X6lcIoTSLv6x3weDvI6Sgff562zHr"
positive: blogger:\n  token: E7wjOjnFA3x0Siyy2eNHD70zen2jUpOD3psk
negative: export BLOGGER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BLOGGER_API_KEY="NTS9gqB1zV5uVaqlYhKAQSC9cLjQUxh54"
negative: export BLOGGER_API_KEY="${BLOGGER_API_KEY}"

id: blynk-device-token
title: Blynk device auth token
severity: high
keywords: blynk.cloud
pattern: (?i)blynk\.cloud/external/api/[\w/.-]{0,40}\?(?:[\w=&.-]{0,80}&)?token=([A-Za-z0-9_-]{32})(?![\w-])
entropy: 3.0
positive: curl "https://ny3.blynk.cloud/external/api/get?token=y8jCXVsJtRSN0TjtUoTOpwC6Ltb4cvSR&v2"
negative: curl "https://blynk.cloud/external/api/get?token=YOUR_TOKEN&V1"

id: blynk-organization-token
title: Blynk organization access token
severity: high
keywords: blynk.cloud
pattern: (?i)(?:blynk\.cloud/api/[\s\S]{0,120}?Bearer\s+|Bearer\s+(?=[A-Za-z0-9_-]{40}["'\s\\]{1,8}(?:https://)?[a-z0-9.]{0,12}blynk\.cloud))([A-Za-z0-9_-]{40})(?:["'\s\\]{1,8}(?:https://)?[a-z0-9.]{0,12}blynk\.cloud)?
entropy: 3.0
positive: curl https://sgp1.blynk.cloud/api/organization/profile -H "Authorization: Bearer AaOrPouMXJcsYMWhuqBuWnvKBMlA6vAl3Nb1J5te"
positive: curl -H "Authorization: Bearer xJWOcoNwhRyPlMUnnrCPImBfWctAob3mxkau3MJN" https://ny3.blynk.cloud/api/organization/profile
negative: curl https://sgp1.blynk.cloud/api/organization/profile -H "Authorization: Bearer <token>"

id: blynk-client-secret
title: Blynk OAuth client credentials
severity: high
keywords: oa2-client-id_
pattern: \boa2-client-id_[A-Za-z0-9_-]{32}(?::|&client_secret=)([A-Za-z0-9_-]{40})(?![\w-])
entropy: 3.0
positive: curl -X POST -u oa2-client-id_WP1v7Ta66aeaJRVvJ4Ow1v4BI8X90FwQ:tzMreb2Y58xz9qyOaAzrOtkbY0bIGb6mb2BIerms https://sgp1.blynk.cloud/oauth2/token
negative: -u oa2-client-id_abc:secret

id: bombbomb-api-key
title: BombBomb API key
severity: high
keywords: bombbomb
pattern: (?i)(?:\b|_)(?:bombbomb)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9+/]{80,100}[=]{0,2})(?![\w=-])
entropy: 3.0
confidence: medium
positive: export BOMBBOMB_API_KEY="FwKsFLVkZQaHeqpeRrTLPbZf35Q9tGugtojKqk6emm0sAlStdhJ7syiqvSXo4SGXy0HYyE7LrBVSmvBF13gTDDf4C4B5KnoqE5"
positive: bombbomb:\n  token: 8ncpHyeoHMCPnXjHrHQelJVWVtJJ3u1rMhicr7os0XgxKVxk81fIqIWqYjwFOYmLTOL3ONitw2QrnDAZjLGbFnUFhtQiie=
negative: export BOMBBOMB_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BOMBBOMB_API_KEY="zAGHS4as5M1UzH5g5WS2YlPVFLYrWDDWDMqRRxgGLDjKYs1uJWf80L5Ya9gpwySeutjh5ofVffGKAX"
negative: export BOMBBOMB_API_KEY="${BOMBBOMB_API_KEY}"

id: boostnote-api-key
title: BoostNote API key
severity: high
keywords: boostnote
pattern: (?i)(?:\b|_)(?:boostnote)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BOOSTNOTE_API_KEY="2Atf2P7JOJCauPNL0lDMAvzMRRr5OuxHIbmu3O6TjJsqqWQa2EyzRcjOxeMHTFOV"
positive: boostnote:\n  token: OTtPUehY3Egv9IIbwxOlVPVnIkKPdvoduCPP0igWkN2bAbB9W9IklkSMgwhDJJE4
negative: export BOOSTNOTE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BOOSTNOTE_API_KEY="lybAiBeoiXGKJPJe9cXs9VCwFyXilHJcVSxTYzOf5fkC3ES7Akq4I7KLq31BQH"
negative: export BOOSTNOTE_API_KEY="${BOOSTNOTE_API_KEY}"

id: borgbase-api-token
title: BorgBase API token
severity: high
keywords: borgbase
pattern: (?i)(?:\b|_)(?:borgbase)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_.-]{100,1000})(?![\w.-])
entropy: 3.0
window: 1024
confidence: medium
positive: export BORGBASE_API_KEY="9sSFVbd1qqhkGDexHn7EgMfCmhUiKWEB6DkSSU4WQaV7nCtydSpy3qusKLXXSfceBHr1aGuST2Zfdtn8yNCfUgEPlhWtAnqUs1r1v8EdEWTMfzpPus1zia7ZYW2tzX6FYd6dOhzrW1tySAJTBKrU9gYiGsuzrawRZuzDE8I2gShkYlffGJ9Mx5ugZnZjjltJ2BTvIfJsHO8ePBYLqI5CNq1jZDhQHSC7TCAXZo1L9lIhsk7aDwpSfMyXYoKPQHuObTfu3iECfmw1RiGKPvglm1Ls3TsdgmvgKTbtGwW33GHU3kNwRJvqYPLJmqTQvloN9acJHA2waznTDPOrMeQpCLkZyOUddwjkR1HagJTzkpHp2wng5BkPHwHhxNBlR5Ppk3yzlYrMTCVE71U1CQN1C8q0kcSlHwi5qMKr3k9DqYUkZ0Sk322nOg3wiMG5bsOrwyZSrnsA8p1WJkdPq86DdOLQFwt2VpuORLMYlxYiZ5Z0EIrOBKMsh2ltxjGkwaYbUgUhetH8z6FTTFZsYET9KsanDd9fS1YajD3fuIpHkLhUZkSaS9xWanysnILyCncmcHQJcfOAjBky1vyBFa397qVFDf39HMOOapUwkSRNrHuQoXspzgd3XjfLnqIDy4GRUzGGojEOdZ2EcseToy2q9jFxhzCMzgAT2KuILuIcmSw8DkmjknOBiiQw9112hJG4xkir5tJnT9Syk8i2rqiLM1zVYl4P5btAPhTKHkivIzZmzaRGKmsh2PIEb6Hc2FvWejWOx3DSuJlmyafVtCIXBezaW3y6D8zDyr3M1Vt8k3yy2t8ApbYwyPvVeHlYmc1GoQxnmWjPG"
positive: borgbase:\n  token: pxYDqm2DecxqKAHsB9Gqg4sIrVxW9O9Xe2KZk5XcpLneELWVpsktDHQ1TNnni3ETdea4TAUMSkhrUhMBtufPxeV7ALiQgVScvHQ1aBMPGwPj1kOcVgneszHcCKslaVyJGnb9oJEkUSKOH6r8Hh8xeXi0nSnOQJLLB3au1HYvN5a2vHijO4prpzHyjq1ClZQOgbj4i5QWGjIxlaLQZR9enyH6F3R380NVtIWa9P2eRlyFEMaQRsuTm2uXRMLtRrutj1O3r7a9VhQSpgUNljNMOtvHjtdRL53XfkgiRp0SKipob1DosIQkYqTQvVpWs0HPdi6nfJC9ofHlTlcv0LGRGlWgUewQxhqRcY2Ds4sstYYT4QWBayxG92XaTBXbZccCXTnwynbq7tC6HcEVQ1YNA98dytmfAyCxuqvFx8OHgquhsJzFl5BBj4PZMG6LiN8sUhZxnBP2Od3s0XSrONLjP5aWcMfyu5kUCKEH9VlIY8yVMtgACzCbLBHSAJJOvWQf71J3Yfthw17z9VX4EPAlZ8SSNboSPWZMW1Q8Qnvc7ZGjqCrWGv8yGbKye5vrVDxquvjizwhlAW1y5leThgjQB1BMSMQHi7jGdNDvIWQD1
negative: export BORGBASE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BORGBASE_API_KEY="Ui4032O3jJ79VAVUwbDW2ulROLryrluQM1PL79La3Jj4hR3GLew9kvtJ8d3FIrRNHldNDAyj6xRv2A1UL6J7gDaojsZtuicYLZ"
negative: export BORGBASE_API_KEY="${BORGBASE_API_KEY}"

id: box-api-key
title: Box API key or developer token
severity: high
keywords: box box.com
pattern: (?i)(?:\b|_)(?:box|box\.com)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BOX_API_KEY="lhj2lMIIiPfZFPRRAoZwzIkcc4CtgmBN"
positive: box:\n  token: W78PhlVkZje1p8i9TSQiMina1sodEHYn
negative: export BOX_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BOX_API_KEY="2keAq3BP9nzveVPhD67Kj04Dgd7pvI"
negative: export BOX_API_KEY="${BOX_API_KEY}"

id: brandfetch-api-key
title: Brandfetch API key
severity: high
keywords: brandfetch
pattern: (?i)(?:\b|_)(?:brandfetch)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BRANDFETCH_API_KEY="bHOHMblBl8P7qIewMKelPN0eLVpK4lkMyBt6l9ti"
positive: brandfetch:\n  token: Cgq3k99yxTiLbiAjEwxKWIPV3JvnIBUMSj7WruaZ
negative: export BRANDFETCH_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BRANDFETCH_API_KEY="QFDjNdXI37ORyHssGPs25AueRmXBMw3m9BPz7Q"
negative: export BRANDFETCH_API_KEY="${BRANDFETCH_API_KEY}"

id: browshot-api-key
title: Browshot API key
severity: high
keywords: browshot
pattern: (?i)(?:\b|_)(?:browshot)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{28})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BROWSHOT_API_KEY="SpQSuzylHOncbQHbh1m5WLML1a64"
positive: browshot:\n  token: kyhze1O2JH998F4JpCTSlrnqW4GN
negative: export BROWSHOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BROWSHOT_API_KEY="55bYhRD009QuJsygwp5jclHnzF"
negative: export BROWSHOT_API_KEY="${BROWSHOT_API_KEY}"

id: bscscan-api-key
title: BscScan API key
severity: high
keywords: bscscan
pattern: (?i)(?:\b|_)(?:bscscan)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{34})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BSCSCAN_API_KEY="Qy8qQILKZtjh6klqtvdzv5m8c0wZNgF46x"
positive: bscscan:\n  token: my9yL5PNhQTLazUMMaM0Lgd3BT3MSdpPhG
negative: export BSCSCAN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BSCSCAN_API_KEY="9ykDXeGUxADfPXvtH6hQE4okGPhC2OfF"
negative: export BSCSCAN_API_KEY="${BSCSCAN_API_KEY}"

id: buddyns-api-key
title: BuddyNS API key
severity: high
keywords: buddyns
pattern: (?i)(?:\b|_)(?:buddyns)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 2.5
confidence: medium
positive: export BUDDYNS_API_KEY="Jpu9mcN06CCedUu5FzNQC7grXPOIznrpj9P15MUx"
positive: buddyns:\n  token: Lxvw4aIuYQh9sny8x9b24uYSVJpdKwNaUhzc8r3g
negative: export BUDDYNS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BUDDYNS_API_KEY="eZOAUsk7HX8cg3llzL42pzoUfG1j2HGdLKcuDz"
negative: export BUDDYNS_API_KEY="${BUDDYNS_API_KEY}"

id: budibase-api-key
title: Budibase API key
severity: high
keywords: budibase
pattern: (?i)(?:\b|_)(?:budibase)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32}-[A-Za-z0-9]{60,100})(?![\w-])
entropy: 3.0
window: 512
confidence: medium
positive: export BUDIBASE_API_KEY="MOWPw2A6QKOp3yD16y93QHsSmS2jSei9-VRD2viuLzKJBqf5Sj4lEGi3fatYRGzoYi4d3AiGqapxCI14MMyzICxQUSgJOP5j"
positive: budibase:\n  token: PlG404Taq8DvviewGXezQDumvSf0YBkx-kpiGcFcwAI1o1Z3nmtgMg1HcZUTnG2MV8JDJXWKeWQhwYHYYUhkQwdUmV5EhkeoszA3gSN6cW8wcu
negative: export BUDIBASE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BUDIBASE_API_KEY="OjwDja2y2JD2bCSJeKIOlt329UEGmGiD-TgYsXldbGEzD1AsR8vzxCvLF4OBrxWM6ZxCZ7xFfIbSOA9ICboW1MaRhtm"
negative: export BUDIBASE_API_KEY="${BUDIBASE_API_KEY}"

id: bugherd-api-key
title: BugHerd API key
severity: high
keywords: bugherd
pattern: (?i)(?:\b|_)(?:bugherd)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BUGHERD_API_KEY="oxvyJzQPElwV5oFtZzDlCz"
positive: bugherd:\n  token: I80pAbJ9N36NAxxgVXrSjN
negative: export BUGHERD_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: export BUGHERD_API_KEY="SCX1ghUeFIE13Z4nEYUc"
negative: export BUGHERD_API_KEY="${BUGHERD_API_KEY}"

id: bugsnag-api-key
title: Bugsnag API key
severity: high
keywords: bugsnag
pattern: (?i)(?:\b|_)(?:bugsnag)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BUGSNAG_API_KEY="9c4eeae2-da66-0f92-4a37-96b866a15f03"
positive: bugsnag:\n  token: 359de63c-35d8-22f6-6961-ee48f1a80b99
negative: export BUGSNAG_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export BUGSNAG_API_KEY="5bdbc6d1-d8a6-b594-1c00-15f2b72470"
negative: export BUGSNAG_API_KEY="${BUGSNAG_API_KEY}"

id: bugsnag-notifier-key
title: Bugsnag notifier API key
severity: high
keywords: bugsnag
pattern: (?i)(?:\b|_)(?:bugsnag)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-f0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BUGSNAG_API_KEY="f539177bd80b1ada635adc1dd2217bf7"
positive: bugsnag:\n  token: 7fcb35656312f395441fa852360f6462
negative: export BUGSNAG_API_KEY="00000000000000000000000000000000"
negative: export BUGSNAG_API_KEY="b4fe0e91023c70dbe18dee2c12c075"
negative: export BUGSNAG_API_KEY="${BUGSNAG_API_KEY}"

id: bulbul-api-key
title: Bulbul API key
severity: high
keywords: bulbul
pattern: (?i)(?:\b|_)(?:bulbul)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BULBUL_API_KEY="x0V4OXl1futmQZc6oOFvUrlOZQDvSJuB"
positive: bulbul:\n  token: 1gjtc1uvgNyjB8OpVB55WCYov9yMj6oy
negative: export BULBUL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BULBUL_API_KEY="Inja6tnQVxMaQPQ0S86eS8nypDduTv"
negative: export BULBUL_API_KEY="${BULBUL_API_KEY}"

id: buttercms-api-key
title: ButterCMS API key
severity: high
keywords: buttercms
pattern: (?i)(?:\b|_)(?:buttercms)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BUTTERCMS_API_KEY="6OFoLTJ8uOHMKAJGR1E0WsFAWgxQJMRfbrhF81Jk"
positive: buttercms:\n  token: 4bHHJLsJWZHaU9OozvP2xnRU3Z6GCwsUZJgQalVE
negative: export BUTTERCMS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BUTTERCMS_API_KEY="xbCppA8WXdoV4D88bYvEl7bdZYcYoPfGyVXfnm"
negative: export BUTTERCMS_API_KEY="${BUTTERCMS_API_KEY}"

id: caflou-api-key
title: Caflou API key
severity: high
keywords: caflou
pattern: (?i)(?:\b|_)(?:caflou)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_.-]{100,1000})(?![\w.-])
entropy: 3.0
window: 1024
confidence: medium
positive: export CAFLOU_API_KEY="kLAwgZKxhZfXbygqnsgpWtoH71T6oaURwQqygVz9kqj6nMNDvHAVGtYIIBodhadiXcu6YvDW5HT8BomNkJUHEdsjcluqiyJoswKOxZ3cgF3YUuJGfqDY3NaAam8gfHwsZCfIN5fLRlUPofxoTbCHQKLTI1wrMNQoxgKCDQ9gO8M5aSm5ActzW2Zpz6napdtC8Knb1g1NIMaNNRSY3bMlHAdtIPF6hzZwmLWdIWMeyWM7ONs"
positive: caflou:\n  token: YUPzWzWO4REKlkyXchZSur4S4tNU5frwv1O4wepEdOcmlaPMUd0rb0rl0QraHI0Hh1i7WdyRWMfJshvphdmderDZOKrIe6d94SKhcKJmKjTGhFnK1zwu1jmNaZik8JdBrAHmbc4QZxZvFhJZckJXptvKG8mDJTRYGkzbpQsvKrFytB4RFl5NYIkucfjL3LcM4zATm8HTraHlm3evWoE0nMp6CI5xpDVRPVL6PNbFyrN2DQGgZdManL0XhGsToKJB0LiQg3bB45q9kyM5IrisqH5o4Os5ATblkrPQdq4ib4b3CvCA9yFNh8PFcrROOBk5SxjDF7hG0g3Yc1lAykozaciZux6Uq0KTYRx25XjJ88ZMU5Wid0OfpnoUJ97COlAj8VwoyHqhlPq58R8bbZ7HpyEThhd4PLH77dxek9iElJDkbfYIfDE4VL1ptvfcRVfCywzvXLRWOOeLbVY7T0vHaMjO8vDNWe01ZqAbJu6psBTR1ThcHKhyoazWjNRmHDfaLl8T01UXAfOOmSr4oLz702QbKAxWIvEWVaBavP4YJ85sZdGypJn8UutMUAxJLaQMK1D4aGOerUBszSOr5q4KmmA8cT7pMTMedFC7K1DOz8pUnBPQofJWvvss5iUxfg2PqQiD7Td6FHhbTy3hgVhZH1OjmWnKC8ogWNXmLJfZk7XEkWNoZQ6KjhDrVWdQq1aVogQdq3ymRIVkJuyTmUDG0VNak9QGf3JeA9cZmanr6RJV48KkWR4DNcuGqq6YjvMy7PfcDZiX8VQjsyW22UPqAsjN0I07fmcOpXYQooCZIZaOJsrstwHeZNF7VK2diKGEtuSbEuWsSyChx8W5w4BK3D08SezmcJwRmH99LBYtORanHp7NkCP05tB7IMN9PHvhGdrZN8eKpqjrmoYgqliPYsqTR5EKcK4Qpj
negative: export CAFLOU_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CAFLOU_API_KEY="y2baeuIMJv9DzrkVQ6fF3i3qwZm9d3thUIn0uN0sCj5OSc1pPbiHUuZ4qgmievISWwWkecRgX5fr2hudSySEqUKKkDDCDuWlzd"
negative: export CAFLOU_API_KEY="${CAFLOU_API_KEY}"

id: calendarific-api-key
title: Calendarific API key
severity: high
keywords: calendarific
pattern: (?i)(?:\b|_)(?:calendarific)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 2.5
confidence: medium
positive: export CALENDARIFIC_API_KEY="M7eMURUppS3tRoUfSJaz1ZMAnajv72qC"
positive: calendarific:\n  token: a1DdAlTNUgDW1tcKWaclw2RQQ2UxtNYg
negative: export CALENDARIFIC_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CALENDARIFIC_API_KEY="kzji9RzEXntbDixi55PofZ63DbrwBn"
negative: export CALENDARIFIC_API_KEY="${CALENDARIFIC_API_KEY}"

id: calendly-api-token
title: Calendly API token
severity: high
keywords: calendly
pattern: (?i)(?:\b|_)(?:calendly)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b(eyJ[A-Za-z0-9_.-]{50,1500})(?![\w.-])
entropy: 3.0
window: 2048
confidence: medium
positive: export CALENDLY_API_KEY="eyJODzX5Gfn3yqtNxlD7SApj8G6FzpMAXaklPIY1sUs6APtCmgfaXqF7kG4qyWxgxACAmj4zTnZ7RI9SBlLj34WRU7WezMk42mmhho08Sz4a1MUFDSiJFo6b3NjajeL0aJbgL7jC2Xdfk3rvG0n7PRibGmOAOOXcL9Qw4NYUzMtFNQFWEe0ARslfYpJz9ajn02yv3OhEudc4SdysCRKC1TYjNncVilLggeszydxqEC9TfwseHZGfVx4Y3IWf3G9WBikONGnfCYXsOOGiI8LBmyAU5u2TqftspKyyU2sFb3gDQKOkgk61x6rpwOJ9WXnQuVFNOSaz0eXiK5B1zQodCsOC2pEIpuL9GWjwIB0knAdRQlQDW5x4vg4WrooFUpeFRwQ8QRaoiz545YugIlswGO6DAFnAi3IZcNQm3c9yrObmHEQ2Pj0rUzY1OXvJzl2"
positive: calendly:\n  token: eyJglby3JZLLcQ2pSgSzmJ6Bs1VBXmJ8fVIq4qXwluvKIsbLup2mSYWFdxqhZENkr4S4KmHbIe2y8R42eVP5spUk4W0BD7dvSRDkJ0a02cVSiyYSUNKnIAFQamxVZV3sdWOCLREVLmJ9aWV1PwQxa50eX0prfWOYMMhrjk3MYi25cxhG5VJ7x6eJ7yCURRRZMJCcKrPwyBqIs2PGYfVXnnwMlMco7FxnXnb1q4qpEux9M064pmLcF4vRCN3wCYZ5z6GH54EdZD6H3zKFAqkwlpvvnApg5vb2JcEfbfFTBnZ2EdEappcp79BXzJTj3vC8N4qebJI3x00uEOE3wVIHN2uRS287lrifKcbAawdWhfnkQ23insyWjwKYZuiLY3r9a2WHizgud1G43C3TdeRHI6cnyb792Cn1RYUNnIwmfSs9H6aafchzjJjfCPHX5FrTsvzt6sm9bR1pW72MOv1w0GprH7QuXER3Hsrsmg02cdU7FFjhCfstghOokiY49Dil5AQz3DAvfPj3q0Ugfq3VhbOPljGxHOuxljaZMN5Vo1jdNki9O1332MoGeQfIbcVUAoFNfJ7MvZWmsxV9vyq3Z1gtSxkObkUSkcsSxx9MKW30vBLKcMswyAJJd50uy8H3bXMcZ0tKowkAR5KTrWhum05CmxIaf3L2P4Ig0r2TSKC41LwaCLXxyMWPC5zdCPECRrgojlgWaz4VceKAhMIUKLnzlbo9ZagqGf89qyK2MzPNsy8WVOvA6iuuH2TSrxcCBGhKKLUBTjErj2MbK7upD386z5sI1HhGrxNsbPHWdNp1z0g2WXx1cDgEDIHnxOvJCteHzK8RyOOAei0AkztBDWrhBhOFkX8UvaVHZrccgGU0y4HKgMkSLlvID9j7ByA66O1kc3pCc8WEkE3ekIZgBB2doTGj0yJuKhMRcWnhlLDeCCeTTnJQBYEsyE6MHFeCbsXiegIPMytWCRXaElkRglKDVOA4geVVkREABPvGH7BssQ6Zm8EPq7ZNgslxFVCcoVZ1htU9QM6T10hVVJ9o39gwjX3SVjNHkV5nr24maxQHH7VaGCO1je3TpmxYo7wnP8Q6uqfoQhWI4p93ztbwymYG96yUJOovyfEbI70jIZZFuAfx0wIAA6ooAXvngJ2ld1JsDI4pNMiIAsRJ8XnFw1KJVadBotZ4MRLaVz
negative: export CALENDLY_API_KEY="eyJxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CALENDLY_API_KEY="eyJFtCi3ENSt2rvaCvc7H0ebI4dRcICGk2CbM5X01LkoZonq8V6"
negative: export CALENDLY_API_KEY="${CALENDLY_API_KEY}"

id: calorieninja-api-key
title: CalorieNinjas API key
severity: high
keywords: calorieninja
pattern: (?i)(?:\b|_)(?:calorieninja)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CALORIENINJA_API_KEY="M7GfjYioQdMKWX3x6xwq1DiAI8tny0ksmXYP9K6y"
positive: calorieninja:\n  token: KpjM7oJ18aj8LpTpzeT0pDjqm25mBpRmgugQj6rN
negative: export CALORIENINJA_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CALORIENINJA_API_KEY="kRjn7f9tpEFX5qgZDvyJYoxmDR0LQYtn6b8lw1"
negative: export CALORIENINJA_API_KEY="${CALORIENINJA_API_KEY}"

id: campayn-api-key
title: Campayn API key
severity: high
keywords: campayn
pattern: (?i)(?:\b|_)(?:campayn)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CAMPAYN_API_KEY="SW4pr3CzzD9AEQfgXXnVmvkd89Ql3DREo97Vcs4A9WMEP4IGrzdeYIV7vgEiZBJ0"
positive: campayn:\n  token: GfYHq0t5ike6Cr9VPRFj5fpXcBqXoRIHQeja7WcGv12J6CWV9Ed8gUbRuzAMie6R
negative: export CAMPAYN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CAMPAYN_API_KEY="HnH2K3HKlzAH3bTF8iUtQjnJvDr9Zoou13PdjrEZLYTltkITzBGYnixCp8Peug"
negative: export CAMPAYN_API_KEY="${CAMPAYN_API_KEY}"

id: cannyio-api-key
title: Canny API key
severity: high
keywords: canny
pattern: (?i)(?:\b|_)(?:canny)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CANNY_API_KEY="d8b8ba41-4faa-48bf-319b-772c60f9409c"
positive: canny:\n  token: 67b3fd74-6afb-a411-ef7c-7b95304f2657
negative: export CANNY_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export CANNY_API_KEY="9c2973d4-151d-d6ed-8810-459a26dbee"
negative: export CANNY_API_KEY="${CANNY_API_KEY}"

id: capsulecrm-api-token
title: Capsule CRM API token
severity: high
keywords: capsulecrm capsule_crm
pattern: (?i)(?:\b|_)(?:capsulecrm|capsule_crm)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_-]{60,80})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CAPSULECRM_API_KEY="EmOXoOcu0NfKYAqI0pyBJhrG3uuqNsReFYQkODkjeMpoY3MhxsqXUf28VVo7wgRXAd1QlO2swpHIv9"
positive: capsulecrm:\n  token: dzN4VzqvArsyWtR7r6f7Og7E5PvgR4NkxipLkw1An7DZ7QZDaKPkD7kqALECs
negative: export CAPSULECRM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CAPSULECRM_API_KEY="pvp42MddbPORSHztCr4CUTjkUpnCvFDHM7yPbAzktAOM30d2xTYNI1hliR"
negative: export CAPSULECRM_API_KEY="${CAPSULECRM_API_KEY}"

id: carboninterface-api-key
title: Carbon Interface API key
severity: high
keywords: carboninterface
pattern: (?i)(?:\b|_)(?:carboninterface)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{21})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CARBONINTERFACE_API_KEY="IunJuQAbBxGq2cc1aELsy"
positive: carboninterface:\n  token: 4VjnQSk8QCdykuVf2VPvg
negative: export CARBONINTERFACE_API_KEY="xxxxxxxxxxxxxxxxxxxxx"
negative: export CARBONINTERFACE_API_KEY="5gOVzLRtR08xf4FoL4A"
negative: export CARBONINTERFACE_API_KEY="${CARBONINTERFACE_API_KEY}"

id: centralstationcrm-api-key
title: CentralStationCRM API key
severity: high
keywords: centralstationcrm centralstation
pattern: (?i)(?:\b|_)(?:centralstationcrm|centralstation)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{30})(?![\w-])
entropy: 2.5
confidence: medium
positive: export CENTRALSTATIONCRM_API_KEY="3MrmM3VvaUofIR99Tje4Tcy07deuXa"
positive: centralstationcrm:\n  token: JnQcnb6xKlIwTtO7vdqO5nmuQfoOi5
negative: export CENTRALSTATIONCRM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CENTRALSTATIONCRM_API_KEY="MTDWvebqqT41CbmuOYSoPlXeOnqh"
negative: export CENTRALSTATIONCRM_API_KEY="${CENTRALSTATIONCRM_API_KEY}"

id: chartmogul-api-key
title: ChartMogul API key
severity: high
keywords: chartmogul
pattern: (?i)(?:\b|_)(?:chartmogul)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: chartmogul=wESyV9OE4XdK62HwvQQ7DOeuKdAGJh54
positive: CHARTMOGUL LZHQuj3qCSLfTvGPL7Hqu8Kr4QcqfCwh
negative: chartmogul=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: chartmogul=OrISu6VrjKvzCHNT7l2e9FJYem7U6J
negative: chartmogul=${CHARTMOGUL_API_KEY}

id: chatbot-api-key
title: ChatBot.com API token
severity: high
keywords: chatbot
pattern: (?i)(?:\b|_)(?:chatbot)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CHATBOT_API_KEY="QNm7G6ywXR7szBB1yHPaJPfYKNflhjyQ"
positive: chatbot:\n  token: bf7Q1mkr2H7SFGvBOYGFyR5BUvnF70Ob
negative: export CHATBOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CHATBOT_API_KEY="J61FxKvH7ta8SQkmP9hngPx0NGxNPG"
negative: export CHATBOT_API_KEY="${CHATBOT_API_KEY}"

id: chatfuel-api-key
title: Chatfuel API key
severity: high
keywords: chatfuel
pattern: (?i)(?:\b|_)(?:chatfuel)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{128})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CHATFUEL_API_KEY="3IFoaQjSQ5FeWNOhkIMcKN3Dyc036KisB2k5ophXkuqiG06lk3hzOqV90uSSDCX15CZ5JLKpLJpjWg8ICy1wc5eq86gSCXQLF2wT5LdjXdsgsOn11xPQvm9N7NNDAMRU"
positive: chatfuel:\n  token: sJjG4AKFxZJ2vixaXAvAWnodLxZGxSkDIOSE8m1Di7rkNqYpQjsoUm3DyUxMUzbI7lNocfQL8Ezv50jR5XSRyMrugWe2LLqJWJENCsyislrdZVn7u7bIBXhr03XTiEEm
negative: export CHATFUEL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CHATFUEL_API_KEY="qoBGTO1bgQU7mEIW8bnKpCfYjCgntwaKGY8SmkviBEcvPXNT2IfLS2DFTsHlLUFmNm34WUX4XdnIzpC3U2x6JRkjCQzpPTy55kmSxg767IW4RM7RJLVXK5Qbc6iyZt"
negative: export CHATFUEL_API_KEY="${CHATFUEL_API_KEY}"

id: checio-api-key
title: Chec (Commerce.js) API key
severity: high
keywords: checio chec.io
pattern: (?i)(?:\b|_)(?:checio|chec\.io)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b(pk_[A-Za-z0-9]{40,50})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CHECIO_API_KEY="pk_JNaHzb3edgQSiUMpSFGHOSjOaKy0gmMXwrVuQr1Ch7Jm9"
positive: checio:\n  token: pk_3C0juyZ8EPcg0sU5lJwfl4eN8sGx3toYxAkZthtehAXkHt3ef5
negative: export CHECIO_API_KEY="pk_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CHECIO_API_KEY="pk_XAlNZWGaBHHwFco0xsBigDVEQFlEaiAFlGcPT9"
negative: export CHECIO_API_KEY="${CHECIO_API_KEY}"

id: checklyhq-api-key
title: Checkly API key
severity: high
keywords: checklyhq checkly
pattern: (?i)(?:\b|_)(?:checklyhq|checkly)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CHECKLYHQ_API_KEY="J3D7jjPOJrfT98pzf5fLkB1AExFblXAU"
positive: checklyhq:\n  token: PsG8Sy2ZeYBcx4fnZUEod0HRprjc7Lqj
negative: export CHECKLYHQ_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CHECKLYHQ_API_KEY="N7odkFi7suRaAoDCAnWrPMTm82Fqj1"
negative: export CHECKLYHQ_API_KEY="${CHECKLYHQ_API_KEY}"

id: cicero-api-key
title: Cicero API key
severity: high
keywords: cicero
pattern: (?i)(?:\b|_)(?:cicero)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CICERO_API_KEY="Awo30NwoYSSpC7Uh8tYRbnylRG4YjkNSxYgHb96H"
positive: cicero:\n  token: o2FXxn5hiEB3A2YWYWJIrrv5OaXF3CLzR6wlKdOE
negative: export CICERO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CICERO_API_KEY="vdVTd3aKlIUsdxV5BmcaQGzsQDaDtzZQf1kSln"
negative: export CICERO_API_KEY="${CICERO_API_KEY}"

id: clarifai-api-key
title: Clarifai API key
severity: high
keywords: clarifai
pattern: (?i)(?:\b|_)(?:clarifai)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLARIFAI_API_KEY="vWzQaJu91b1KpDCLe99PqRPKtnubOAxU"
positive: clarifai:\n  token: tOREHgRYzqh7xmfOkjKzbfYXzTrCGGVK
negative: export CLARIFAI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLARIFAI_API_KEY="BZUUqv6yoG26OXCND9AaVoOeKUYFFW"
negative: export CLARIFAI_API_KEY="${CLARIFAI_API_KEY}"

id: clearbit-api-key
title: Clearbit API key
severity: high
keywords: clearbit
pattern: (?i)(?:\b|_)(?:clearbit)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{35})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLEARBIT_API_KEY="xvRWn6F3mCl0yp0gTLwVfxgRtnaDGkoJmag"
positive: clearbit:\n  token: MbLf8TbgCLoRMGLaq5xr5HkNwNCbHg619wa
negative: export CLEARBIT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLEARBIT_API_KEY="UzGUkoyi40Y6clnRORQ0l1Ag3uq73dMRC"
negative: export CLEARBIT_API_KEY="${CLEARBIT_API_KEY}"

id: clickup-personal-token
title: ClickUp personal API token
severity: high
keywords: pk_
pattern: \b(pk_[0-9]{5,10}_[A-Z0-9]{32})\b
entropy: 3.0
positive: CLICKUP_TOKEN=pk_83127049_36QJN0XKICYET15WW1WEV233DDE695SF
positive: headers = {"Authorization": "pk_90802909_BW6B66YKQI7D8BN82S92NSQKXI2E27M8"}
negative: pk_1234567_XXXXXXXX
negative: pk_test_Q01NGDCOXBMSUBY8JTNZOU0OY1F6MXN5

id: cliengo-api-key
title: Cliengo API key
severity: high
keywords: cliengo
pattern: (?i)(?:\b|_)(?:cliengo)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLIENGO_API_KEY="91d10ef8-995f-34bb-7afa-03b3a144f67a"
positive: cliengo:\n  token: 7ecb5101-ebff-798e-b54f-0b9d34ae0c21
negative: export CLIENGO_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export CLIENGO_API_KEY="2e34c4be-0ec4-e054-b1da-93826d5ec2"
negative: export CLIENGO_API_KEY="${CLIENGO_API_KEY}"

id: clockify-api-key
title: Clockify API key
severity: high
keywords: clockify
pattern: (?i)(?:\b|_)(?:clockify)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{48})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOCKIFY_API_KEY="loGlFwhxK8bA5Zo6gVtazZoU994epNG2iZvrFE6nc8O89hj8"
positive: clockify:\n  token: 6F956OXDd0bqRRp3hYZU5HEqT9weTVS1ehfxypy3qUJUVfeX
negative: export CLOCKIFY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOCKIFY_API_KEY="c0TQAveMT7bHBKrk54aNIL8H74wroLlExehVlWCafIRrug"
negative: export CLOCKIFY_API_KEY="${CLOCKIFY_API_KEY}"

id: closecrm-api-key
title: Close CRM API key
severity: high
keywords: closecrm close_crm close.com
pattern: (?i)(?:\b|_)(?:closecrm|close_crm|close\.com)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b(api_[A-Za-z0-9.]{30,60})(?![\w.-])
entropy: 3.0
confidence: medium
positive: export CLOSECRM_API_KEY="api_KZmpmDhSiLvg4qa9jb2LdQvfICRRT8IAkfNE3uK8L07xvpAAvm1ueEJIppy"
positive: closecrm:\n  token: api_tPJPKhKaeQbUEGApfuUR2qQn2kPsoqTR2nnU2vDP9l1rx6cUkK7
negative: export CLOSECRM_API_KEY="api_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOSECRM_API_KEY="api_WND30FgmM5Zm2Hc3oxpxe3SyuOdp"
negative: export CLOSECRM_API_KEY="${CLOSECRM_API_KEY}"

id: cloudconvert-api-key
title: CloudConvert API key
severity: high
keywords: cloudconvert
pattern: (?i)(?:\b|_)(?:cloudconvert)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_.+=/-]{300,1200})(?![\w+/=.-])
entropy: 3.0
window: 2048
confidence: medium
positive: export CLOUDCONVERT_API_KEY="IRu4I5sCsPrvGVaWoLaoyTdiSrCOB90gxvG8DhN9yFOqynIW4TRwvooYVUdA7F0gYe8ILKMUzG2WSWZERB4FV79bYfKTjbXMS7CpesvZp5nhpo6SL0dIw6X3EfwXbP7e4Zmtpf7JyoUVnK2gPdRcLFoWTPH4BtQoeWIHgsA5wz6c23p5Fj9Io12cSOzQxnF7sSr0mW8iER3P9efgYswS3CKl62fEBmkvR92HOAhWu2V2PFJM04DGMfNvNczxswafP9vgMfu4k3UgWcV1qyes6Z28ED41wIjeNtcNQV9bVcivJV5NHu7oduwdhVWAEpZNQbmi3TnUW5RjwqFPYrEgUSwpT0gfvcj6RdYGaJklSVA0j5t2QavSmt30qS0xEbP9FIgMCkimUyspPPNLcgtW3Cjq2c1TEP7krodp1kNiXwi5oA1KgJ7V8JyquAERFYmLjoRI1fEXURoz6YOOTnd7QU1VpxU"
positive: cloudconvert:\n  token: CDouDdrfMC1iJzwNcqpncsswAHoe5XcBIqA5RG1tWpbs2A6Axz3PWmnhVOwxjbsCHla5a7O7KIVZccPKmsuUJHSFe9aevkeSFXZxP2pMbXIiBO9RRcKfk04VDo2jCKlmcOVuMCJtDSV6dD9HRPUxMi508YuGm1VXnxJOoYgENSjjfdO7O1nDJb5Mu5qCl7JHzEgu8HIKUzIs0Sk9FUaJwJF8QN8T6GMoIQSrbThRDrVOszOL7KAJMpBy4f867GWdGeZH1cWTlGqVph8YcIbZOrQEnkfFHRecDVCWp1OWOKsvFMpl401w5QJzxJ6WtykLQZxItumaW4mg9x4YxfJhZepncqZNlwZhx2pHNOJqSm5gTXAr8TCzVwfBkY5fmQKuf0Kq2egfJnbZ0bdltSSxLcIf5X1AMhGAQJHeHojTkKcMMaR3OxgF8oAO7fdH7HJhFwuSAaOLHB9fpJWQyjhdBEdiEIA4MYJJnHiLxCUsGJ0fU9RG6mNOp5QOC4zPWrGkXKJzmfflZiyLcQAXeHbPYuCOmoLNx4LvkQVKMiQIHPCN0KluwdIAWNq0AJBRrPPVKYqu3DeAz7WgvG0Hs5SKv11SRLer4vcBFpIcHwMrmncIqmboW9cM1p9u0ZMZtRNxuMvZ1s8XqmJtB1XAQPsBnQkACP
negative: export CLOUDCONVERT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOUDCONVERT_API_KEY="fLwuRNYuXvDJAtG5nl5qf52v4MgOhWvEQJQfVec6dT9kbmWG9P7qiNoV9xDuvYT0gmI9IkHwU0vgbVsYIJbMQRCKFZWQxgp59X4dtnv2EzkEpJO2SsJAtfbBaBr0CzIoZJ0TNpMfkcoB3QYD6FDaTWPcZ34Kj6EF1ThXdbisUxDx1k4lPLCEdxJ2D2PNfX9uxhujhV8QFQHquZbpBlwrkccEJvLwcdP2ZyXYygsm16XXU3rdUgURMiDqCMumD8THYj9FVfTEypCYV4JshLF0Yu2JxGwWIZiQ0YdqYUFiA3"
negative: export CLOUDCONVERT_API_KEY="${CLOUDCONVERT_API_KEY}"

id: cloudflare-api-token
title: Cloudflare API token
severity: high
keywords: cloudflare
pattern: (?i)(?:\b|_)(?:cloudflare)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_-]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOUDFLARE_API_KEY="7IyMlbQA4COwgi7srnFSTO4I5MqjYfSjTCjeae4P"
positive: cloudflare:\n  token: wpKrG7ZFghrwLkk3J5n3KJsNCff7LKQIgcbFRsFc
negative: export CLOUDFLARE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOUDFLARE_API_KEY="vbdZAPjRVYvnnPW1nHnLWYdsK2sqcwsFpoQogZ"
negative: export CLOUDFLARE_API_KEY="${CLOUDFLARE_API_KEY}"

id: cloudflare-global-api-key
title: Cloudflare global API key
severity: critical
keywords: cloudflare x-auth-key
pattern: (?i)(?:(?:\b|_)cloudflare[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|auth)|x-auth-key)[\w\s.:'"=/>,-]{0,30}?\b([a-f0-9]{37})\b
entropy: 3.0
confidence: medium
positive: CLOUDFLARE_API_KEY=9497ec03438061b2e4c7c132fe59ca3fd7898
positive: curl -H 'X-Auth-Email: ops@contoso.com' -H 'X-Auth-Key: d31bbb784c4120699ce90ae8d0f95beb4befc' https://api.cloudflare.com/client/v4/zones
negative: CLOUDFLARE_API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: X-Auth-Key: <api-key>

id: cloudflare-origin-ca-key
title: Cloudflare Origin CA key
severity: high
keywords: v1.0-
pattern: \b(v1\.0-[a-f0-9]{24,64}-[a-f0-9]{100,200}(?:-[a-f0-9]{64})?)\b
entropy: 3.0
positive: X-Auth-User-Service-Key: v1.0-b8108611374c7ce90d83e7c201414ebffc135999278226ee0e2b820dd79e33de-eeebc7e20ae23042c224f856f5a7303330b0c11de338df15cda01dbdf6f7228792e61d6618213a445dcc4311aa286bd49c4c3313bfb8ffa8752426c764d97f14dd1b227045175d885b
negative: version = "v1.0-beta"
negative: v1.0-abcdef

id: cloudimage-api-key
title: Cloudimage API key
severity: high
keywords: cloudimage
pattern: (?i)(?:\b|_)(?:cloudimage)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{30})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOUDIMAGE_API_KEY="zQ2fe11fxgo9E3BOCXm4AxUVLlvHbf"
positive: cloudimage:\n  token: HbqBb8hhVOJ09J35fRPYcojA50vnMp
negative: export CLOUDIMAGE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOUDIMAGE_API_KEY="G1QYSIHZbXeN2inJtBNTQW0Kjgbz"
negative: export CLOUDIMAGE_API_KEY="${CLOUDIMAGE_API_KEY}"

id: cloudmersive-api-key
title: Cloudmersive API key
severity: high
keywords: cloudmersive
pattern: (?i)(?:\b|_)(?:cloudmersive)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOUDMERSIVE_API_KEY="1137a292-367c-d228-bbaa-57d2cb3553ae"
positive: cloudmersive:\n  token: 5f83965d-5a27-cf40-41c5-ef40299cd631
negative: export CLOUDMERSIVE_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export CLOUDMERSIVE_API_KEY="344734c1-9fb4-11cf-5e60-6ef79cf387"
negative: export CLOUDMERSIVE_API_KEY="${CLOUDMERSIVE_API_KEY}"

id: cloudplan-api-key
title: Cloudplan API key
severity: high
keywords: cloudplan
pattern: (?i)(?:\b|_)(?:cloudplan)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOUDPLAN_API_KEY="15VdkIUJYcjVSExta45n5GKQTZTsj0xy"
positive: cloudplan:\n  token: ByFImUVTncMoeeERdiZbNYBL2IJ8sjve
negative: export CLOUDPLAN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOUDPLAN_API_KEY="w5IUSWMZY0de1M4LZa0NeQRjRDAj7t"
negative: export CLOUDPLAN_API_KEY="${CLOUDPLAN_API_KEY}"

id: cloudsight-api-key
title: CloudSight API key
severity: high
keywords: cloudsight
pattern: (?i)(?:\b|_)(?:cloudsight)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{20,30})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOUDSIGHT_API_KEY="faVVRAlJ4EwI554hVeleml7crcsA"
positive: cloudsight:\n  token: 4OQgL8gDwooD6PwnRltcPNZbKS6eKH
negative: export CLOUDSIGHT_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export CLOUDSIGHT_API_KEY="7OuHV6RyAzQcBC8pUJ"
negative: export CLOUDSIGHT_API_KEY="${CLOUDSIGHT_API_KEY}"

id: cloudsmith-api-key
title: Cloudsmith API key
severity: high
keywords: cloudsmith
pattern: (?i)(?:\b|_)(?:cloudsmith)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: cloudsmith=hIgHOqTCwMeCbTR22SAdD2dNkDyPOuwWESjsFwyd
positive: CLOUDSMITH LZBfJXubB1h31A3XVLg9DtbZ0il0ZX8HeMqvKvjG
negative: cloudsmith=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: cloudsmith=KLVaNLzw7a4lnQcbMyK6pezMaG2GDkzLCcDbTj
negative: cloudsmith=${CLOUDSMITH_API_KEY}

id: cloverly-api-key
title: Cloverly API key
severity: high
keywords: cloverly
pattern: (?i)(?:\b|_)(?:cloverly)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_]{28,29})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOVERLY_API_KEY="3wAkGtNTgX5Hi8NSg9vlAN1dJYRAa"
positive: cloverly:\n  token: viJvGI35x0OdaXw9rjAtZIMR7BZXC
negative: export CLOVERLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOVERLY_API_KEY="8YB0b9Ivv1MWhME1WzJEMD5cr8"
negative: export CLOVERLY_API_KEY="${CLOVERLY_API_KEY}"

id: clustdoc-api-key
title: Clustdoc API key
severity: high
keywords: clustdoc
pattern: (?i)(?:\b|_)(?:clustdoc)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLUSTDOC_API_KEY="eijLmNQa2fNfhiHXoHURTwGNUPd7cMnMqpk03O01806B0MigoPbksdrfIWF2UJqh"
positive: clustdoc:\n  token: JseBeqkd2TVrpkpMWV6xss6w68JNSXex3Qsst3FaaRlH9RI6zHTKSbShGOw1ZwXs
negative: export CLUSTDOC_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLUSTDOC_API_KEY="pu6KjcMNJl8p36lUPFvonQU5zPs3yZT1txXzMTFhR0eOCykolURZA0T3xWUdtg"
negative: export CLUSTDOC_API_KEY="${CLUSTDOC_API_KEY}"
"""#
}
