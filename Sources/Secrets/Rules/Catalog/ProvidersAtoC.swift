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
pattern: \b(pat[A-Za-z0-9]{14}\.[a-f0-9]{64})\b
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
pattern: \b(LTAI[A-Za-z0-9]{12,20})\b
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
pattern: \b(AKCp[A-Za-z0-9]{69})\b
entropy: 3.0
positive: export ARTIFACTORY_API_TOKEN=AKCpo5QefOGqFt3gU45pQixl7NLApkF9AtzaNOZ0UVz2VtIO0C0cUcrjyX03FXaaiHZCXna13
positive: jfrog rt dl --apikey=AKCpxfSg5J7eoD1t5KpVWncLvXTw9I5fj9UdQtds2HpTkdbNcUeOGTYiTgBkgTe8QpapQDqWv repo/file
negative: AKCpxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: AKCpShort123

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
positive: export ASANA_API_KEY="7533534434734916"
positive: asana:\n  token: 8248938843166960
negative: export ASANA_API_KEY="0000000000000000"
negative: export ASANA_API_KEY="61594580680577"
negative: export ASANA_API_KEY="${ASANA_API_KEY}"

id: asana-client-secret
title: Asana client secret
severity: high
keywords: asana
pattern: (?i)(?:\b|_)(?:asana)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{32,35})(?![\w-])
entropy: 3.0
confidence: medium
positive: asana=gb1OFBgeQAlLs1dYbzzCcJK1q5z8GKGd2uZ
positive: ASANA CdU0TW2RFWYGzvrOEILPDU6qB2ELqSrf
negative: asana=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: asana=ZDk6ceh8CpyHMBChdHxH5ViINmMHg8
negative: asana=${ASANA_API_KEY}

id: asana-access-token
title: Asana personal access / OAuth token
severity: high
keywords: asana
pattern: (?i)(?:\b|_)asana[\w\s.:'"=-]{0,30}?\b([0-2]/(?:[0-9]{16}:[a-f0-9]{32}|[a-f0-9]{32}|[a-z0-9/]{40,60}))(?![\w/:])
entropy: 2.8
confidence: medium
positive: asana_pat = 1/1053662352456240:b1a08a7275eed868890587600e0479e3
positive: ASANA_TOKEN="0/f760dc2c7e1a342b058eb9d09e075743"
negative: asana_pat = 1/1234
negative: asana_pat = 9/aa3c5ee8e7108c242ed60ec4558d7316

id: assemblyai-api-key
title: AssemblyAI API key
severity: high
keywords: assemblyai
pattern: (?i)(?:\b|_)(?:assemblyai)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ASSEMBLYAI_API_KEY="dACvf356VaZjxq745sG5JhPGHLPEVpo9"
positive: assemblyai:\n  token: NqxhWinXEUGW8Z2TGwYZ3MMFc5iS5Fio
negative: export ASSEMBLYAI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ASSEMBLYAI_API_KEY="heU1JKXUWz16Ugf0KICtD0qdh8APKY"
negative: export ASSEMBLYAI_API_KEY="${ASSEMBLYAI_API_KEY}"

id: atera-api-key
title: Atera API key
severity: high
keywords: atera
pattern: (?i)(?:\b|_)(?:atera)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ATERA_API_KEY="QTrI4oRvANt63QHFmiPKKXBiuHc2XRn8"
positive: atera:\n  token: IXloWA3sYKw4phWNGsPHGhnK4UDtJwuF
negative: export ATERA_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ATERA_API_KEY="OjVSKfu8Asr109cniQm95sPoKNEXbS"
negative: export ATERA_API_KEY="${ATERA_API_KEY}"

id: atlassian-api-token
title: Atlassian API token
severity: high
keywords: atlassian jira confluence
pattern: (?i)(?:\b|_)(?:atlassian|jira|confluence)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ATLASSIAN_API_KEY="IFlSTOKrfdh5exKfgP6qOSmW"
positive: atlassian:\n  token: qtiOSPLVYvw8ECXEBX6wAH9m
negative: export ATLASSIAN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ATLASSIAN_API_KEY="OMGlcm1Vkb8DmTl0QiDpKh"
negative: export ATLASSIAN_API_KEY="${ATLASSIAN_API_KEY}"

id: atlassian-api-token-v2
title: Atlassian API token (ATATT)
severity: high
keywords: atatt3
pattern: \b(ATATT3[A-Za-z0-9_=-]{150,250})(?![\w=-])
entropy: 3.5
positive: JIRA_API_TOKEN=ATATT3t7MuybMf2AibU0zqcXLsR9d8oKUZZKODBdsdo7rl0rX1ALCDhmObTV7xJ1vuJvrneXRy4qqN211oO04b7PDJAcsCI9wHXS6DwkTrRYSgkW0NvZWmYB88neiJog0BW1QgOBD1ClqCtNRCLy2jc4W65Lm0hj3e8eX9fcEL038QnGfOLN3CLPoP=1cc44f55
negative: JIRA_API_TOKEN=ATATT3xxxx

id: audd-api-key
title: AudD API key
severity: high
keywords: audd
pattern: (?i)(?:\b|_)(?:audd)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AUDD_API_KEY="6cxlbqrum8mmgvhcQjuR3USrPkNft09q"
positive: audd:\n  token: mZY93l1KrLQvJU337bay1nDW6mnaFDWf
negative: export AUDD_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AUDD_API_KEY="Dc3PfUP7xF6HXydR7wCFM7VwNwae9Y"
negative: export AUDD_API_KEY="${AUDD_API_KEY}"

id: auth0-client-id
title: Auth0 client id
severity: medium
keywords: auth0
pattern: (?i)(?:\b|_)(?:auth0)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32,40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AUTH0_API_KEY="XIJtCIU9IUFHVQ6dqWlHzRjdAkkZ3qy5lt"
positive: auth0:\n  token: Zwj7fmDrq0HyEBRc49knX8gQ2aclBp0pBlsP
negative: export AUTH0_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AUTH0_API_KEY="BNqMURwffokzcgHq2A5YSy38hKCvzN"
negative: export AUTH0_API_KEY="${AUTH0_API_KEY}"

id: auth0-client-secret
title: Auth0 client secret
severity: high
keywords: auth0
pattern: (?i)(?:\b|_)(?:auth0)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_-]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AUTH0_API_KEY="ERfmi1mJlMCnedIsDaAsnMHcYBWbVGgQQrb1jKra0MaMBiCAQkqyRcXsLEO5biBW"
positive: auth0:\n  token: t1QDyCbb7Z2OBlbuQIhLqsrMJ7ZtOVugklqUTzdShn7x7vz3GVgzeIJz13BZNedh
negative: export AUTH0_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AUTH0_API_KEY="G2ubVlvksSnGJEZliWh8GJm23LzQ7omL7xFcKglwhI1URDhrfwmdqwhnctey75"
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
positive: export AUTOKLOSE_API_KEY="3yhj49jqZhwzUoQ8vjuqtcCDmt139Ivo"
positive: autoklose:\n  token: skaANuiTxlNhj1rjVV56cDrzTxSu0Chn
negative: export AUTOKLOSE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AUTOKLOSE_API_KEY="DdthjWph4i8raTl7prMeLjZG96FmWs"
negative: export AUTOKLOSE_API_KEY="${AUTOKLOSE_API_KEY}"

id: autopilot-api-key
title: Autopilot API key
severity: high
keywords: autopilot
pattern: (?i)(?:\b|_)(?:autopilot)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{33})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AUTOPILOT_API_KEY="J7mmWOvwVStteqYGFtvRe92H4sz2flXxL"
positive: autopilot:\n  token: z2GFkKHF7wexfyCPOMAvsXUYxAKPLymGK
negative: export AUTOPILOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AUTOPILOT_API_KEY="6wqfQ7aYhSGNrIohBOb2fTpI65Q6Bqx"
negative: export AUTOPILOT_API_KEY="${AUTOPILOT_API_KEY}"

id: avaza-personal-access-token
title: Avaza personal access token
severity: high
keywords: avaza
pattern: (?i)(?:\b|_)(?:avaza)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([0-9]{1,7}-[A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AVAZA_API_KEY="79813-JWYiOyju3IqrcskXLZnedSVmKinLZ9GulDtDkvlr"
positive: avaza:\n  token: 254100-WUA7C7tU9qTQbY5mXh8qGWEQ31u2M0nfFcfngugp
negative: export AVAZA_API_KEY="0-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AVAZA_API_KEY="5-oRC3BFPfnZdQLEDAUPC1ccaztSWU74vWH42PpB"
negative: export AVAZA_API_KEY="${AVAZA_API_KEY}"

id: aviationstack-api-key
title: Aviationstack API key
severity: high
keywords: aviationstack
pattern: (?i)(?:\b|_)(?:aviationstack)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AVIATIONSTACK_API_KEY="4Xz8Ptag7NxK1QwYNa1U9VaXmjfFtgMV"
positive: aviationstack:\n  token: 34BOLwLx7bzrz8VFsuCcJcKMsFZ6WQfB
negative: export AVIATIONSTACK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AVIATIONSTACK_API_KEY="8JHJyfJtzEGimnOQDEWpi0RA3KsLUp"
negative: export AVIATIONSTACK_API_KEY="${AVIATIONSTACK_API_KEY}"

id: axonaut-api-key
title: Axonaut API key
severity: high
keywords: axonaut
pattern: (?i)(?:\b|_)(?:axonaut)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AXONAUT_API_KEY="wopiDbIMSS1Zi93B5wi3FIhFzjK2hwot"
positive: axonaut:\n  token: QH41S4SJpdyYXVLLwEnypR9toI6EZdai
negative: export AXONAUT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AXONAUT_API_KEY="2swnQdLiaIPrxP660tZbIh7J24IhLN"
negative: export AXONAUT_API_KEY="${AXONAUT_API_KEY}"

id: ayrshare-api-key
title: Ayrshare API key
severity: high
keywords: ayrshare
pattern: (?i)(?:\b|_)(?:ayrshare)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Z0-9]{8}-[A-Z0-9]{8}-[A-Z0-9]{8}-[A-Z0-9]{8})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AYRSHARE_API_KEY="SPODVW6E-TD35NDMJ-ICNWDLNL-8L6XHCR1"
positive: ayrshare:\n  token: M91OXHZO-EYMLF9T1-4S9XYK2L-8GUVD2WK
negative: export AYRSHARE_API_KEY="xxxxxxxx-xxxxxxxx-xxxxxxxx-xxxxxxxx"
negative: export AYRSHARE_API_KEY="L1BDWY-OMT2FL5E-FLB7XXBJ-RLI8QDSI"
negative: export AYRSHARE_API_KEY="${AYRSHARE_API_KEY}"

id: azureopenai-api-key
title: Azure OpenAI API key
severity: high
keywords: azure_openai azureopenai azure-openai openai_azure
pattern: (?i)(?:\b|_)(?:azure_openai|azureopenai|azure-openai|openai_azure)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AZURE_OPENAI_API_KEY="0hMouBVK91wuVN5k7zxCNBgVcdWbG4ef"
positive: azure_openai:\n  token: PryMCnGgmfxwBnsw0ucV3ORqVzOtMNcl
negative: export AZURE_OPENAI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AZURE_OPENAI_API_KEY="S0NR2Z2WuCNOwToZhDNxNEqumo004p"
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
positive: export AZURE_SEARCH_API_KEY="lejiW6Cw3gmWHxUvmw39JXda1Lrti4vJqit8mKGBrCxnElrL33Z3"
positive: azure_search:\n  token: FsYYoR1rHW0pM8WTe2v14e74LDg3CkvJsbAHDHY5CiiuwImj22Al
negative: export AZURE_SEARCH_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AZURE_SEARCH_API_KEY="BVDoeze5jdvUZC5OyKLIYMiOoNGfjULUbbtk0R7qzIskyLHzcm"
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
positive: DefaultEndpointsProtocol=https;AccountName=contoso;AccountKey=rdOlNhIzZOConkf47RxTtsLD5JWCKcoKZnuvDvCxmYTjd0VIR0YrSQWCVYsN96MlTXmUDYy8PFpVLbOASO2yyw==;EndpointSuffix=core.windows.net
negative: AccountKey=xxxxxxxx;
negative: AccountKey=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==

id: bannerbear-api-key
title: Bannerbear API key
severity: high
keywords: bannerbear
pattern: (?i)(?:\b|_)(?:bannerbear)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BANNERBEAR_API_KEY="KZXQlIGU2l9KfnLA1eKjXmaC"
positive: bannerbear:\n  token: FHYase0Socm8BdKN2xTsjt3C
negative: export BANNERBEAR_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BANNERBEAR_API_KEY="RuLQ0njl0YILNNN2QuKXv7"
negative: export BANNERBEAR_API_KEY="${BANNERBEAR_API_KEY}"

id: baremetrics-api-key
title: Baremetrics API key
severity: high
keywords: baremetrics
pattern: (?i)(?:\b|_)(?:baremetrics)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{25})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BAREMETRICS_API_KEY="1dapMb26n3HId0SFm8GR1V1NP"
positive: baremetrics:\n  token: DpP2RTGjlRPsvwQUaqRkjpnLl
negative: export BAREMETRICS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BAREMETRICS_API_KEY="W6Csce9UypgYMUnPLqTG4w2"
negative: export BAREMETRICS_API_KEY="${BAREMETRICS_API_KEY}"

id: beamer-api-key
title: Beamer API key
severity: high
keywords: beamer
pattern: (?i)(?:\b|_)(?:beamer)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b(b_[A-Za-z0-9]{44})(?![\w-])
entropy: 3.0
confidence: medium
positive: beamer=b_jIZL5r21qE0lk64BrDVjcUC3r4eVTC9S6FBxAOvQIscg
positive: BEAMER b_xnDej8KPqj1IoEbrhN8RSV9mALMe6UKMyPI9gTQ2Y0Tu
negative: beamer=b_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: beamer=b_P8NET8jmmhq62YrnA2Ss32djiFOJatSLaUfl6kebYp
negative: beamer=${BEAMER_API_KEY}

id: beebole-api-key
title: Beebole API key
severity: high
keywords: beebole
pattern: (?i)(?:\b|_)(?:beebole)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40,42})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BEEBOLE_API_KEY="5shELz46v5mQ7hT82auwdcLsdYgjKsPdv0IeGAYeL"
positive: beebole:\n  token: o3L56vz7DVuWawK8k65Un7gMlYuSQhzLXJO2g6pZVj
negative: export BEEBOLE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BEEBOLE_API_KEY="pQsFkptzRIlrYAJLsUyVCbB9sLroK6JLQukJ8Q"
negative: export BEEBOLE_API_KEY="${BEEBOLE_API_KEY}"

id: besnappy-api-key
title: BeSnappy API key
severity: high
keywords: besnappy
pattern: (?i)(?:\b|_)(?:besnappy)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BESNAPPY_API_KEY="L4qqPROczhorzQCRayogVesWoTrLqRoXk4yzdGecrorPYNXhxDbkee4kFbU6gnKq"
positive: besnappy:\n  token: zkBOX0Iwk6oaUctR58nmMTRNgaEKXMwfLYZQYrTVpkzBJozpgHEMxCtJqsoC1TVB
negative: export BESNAPPY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BESNAPPY_API_KEY="z7IUonn6ETbXHd2sg0ugil6jpcVop4i4QOGwnBVqyUjHaPYPxgVz2WqvIS34mx"
negative: export BESNAPPY_API_KEY="${BESNAPPY_API_KEY}"

id: besttime-api-key
title: BestTime API key
severity: high
keywords: besttime
pattern: (?i)(?:\b|_)(?:besttime)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{36})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BESTTIME_API_KEY="C2z9stptV98A9qb4S91fSLoZLk7DNXz3KAoW"
positive: besttime:\n  token: HdkOZq9jKDelZY15IWt1R1AvZuyXnw847Vkv
negative: export BESTTIME_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BESTTIME_API_KEY="TK8zEmmylnzPUJ54IiiPd230kgR1Rde4mJ"
negative: export BESTTIME_API_KEY="${BESTTIME_API_KEY}"

id: betterstack-api-token
title: Better Stack API token
severity: high
keywords: betterstack betteruptime logtail
pattern: (?i)(?:\b|_)(?:betterstack|betteruptime|logtail)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BETTERSTACK_API_KEY="0slOYS0dXAo6mwUHQVfGHNfb"
positive: betterstack:\n  token: QrDk1ZbXrq7FG2i0vTw7ZmkA
negative: export BETTERSTACK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BETTERSTACK_API_KEY="MBoI7qUD5DTarL0MC7ZzJF"
negative: export BETTERSTACK_API_KEY="${BETTERSTACK_API_KEY}"

id: bitbar-api-key
title: BitBar API key
severity: high
keywords: bitbar
pattern: (?i)(?:\b|_)(?:bitbar)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BITBAR_API_KEY="xxg3KIQCiQq6YP2NyW7DOuC0BLqNZu8a"
positive: bitbar:\n  token: sD5q31uI8mX3FpJyIpD7nqs7Oeop7MVr
negative: export BITBAR_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BITBAR_API_KEY="85rTfPuM5U501YwHqJdl1SJ7KME2sw"
negative: export BITBAR_API_KEY="${BITBAR_API_KEY}"

id: bitcoinaverage-api-key
title: BitcoinAverage API key
severity: high
keywords: bitcoinaverage
pattern: (?i)(?:\b|_)(?:bitcoinaverage)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{43})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BITCOINAVERAGE_API_KEY="7vWofF3084rHpt6FuhuaonkAlXkxMqGJALl4Fqdntdq"
positive: bitcoinaverage:\n  token: 1TtPe9QmGKs8oSnb3OEqBqDHz8GwylPH1Mc4VfAis2B
negative: export BITCOINAVERAGE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BITCOINAVERAGE_API_KEY="PXgpb9dwOL4ctLjF8F1ZGYAW51VAe8dn1Pm9PKA63"
negative: export BITCOINAVERAGE_API_KEY="${BITCOINAVERAGE_API_KEY}"

id: bitly-access-token
title: Bitly access token
severity: high
keywords: bitly
pattern: (?i)(?:\b|_)(?:bitly)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BITLY_API_KEY="qTeLAgDYlLNHHtMbWUZJ7Hwyu7tOsjaPpa3hObxR"
positive: bitly:\n  token: 6Vho2zRRjHUkTSAHT7tTpd1MN8VnxlG6n5OwvIkN
negative: export BITLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BITLY_API_KEY="j3S6nBQKmQH8s3nqDbt8GBFBhtUwIicoICzx52"
negative: export BITLY_API_KEY="${BITLY_API_KEY}"

id: blazemeter-api-key
title: BlazeMeter / Runscope API key
severity: high
keywords: blazemeter runscope
pattern: (?i)(?:\b|_)(?:blazemeter|runscope)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: blazemeter=c7fabb00-d902-08ff-f688-a25ee6468938
positive: BLAZEMETER 8c52961a-ac50-1a8b-f10d-ebfdfa83ad4d
negative: blazemeter=xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
negative: blazemeter=01a4b742-80e4-ddde-34db-e36e510cd9
negative: blazemeter=${BLAZEMETER_API_KEY}

id: blitapp-api-key
title: Blitapp API key
severity: high
keywords: blitapp
pattern: (?i)(?:\b|_)(?:blitapp)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_-]{38,42})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BLITAPP_API_KEY="Mlf3baNTaPwNeQ2ab5eQyPcebyLZzMd0Ycx7OvD8a"
positive: blitapp:\n  token: cIYzhLxwHxfvKzkLZBbUg8aJuwA0M4JjhQMBTd
negative: export BLITAPP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BLITAPP_API_KEY="DjOvq4N8fh1gQllQr8dz23DnmV2j05FfLG1K"
negative: export BLITAPP_API_KEY="${BLITAPP_API_KEY}"

id: blocknative-api-key
title: Blocknative API key
severity: high
keywords: blocknative
pattern: (?i)(?:\b|_)(?:blocknative)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BLOCKNATIVE_API_KEY="aff95d63-8458-d527-8c89-5412ee069051"
positive: blocknative:\n  token: 8f5215d0-102c-eb82-4c0d-8e2456def618
negative: export BLOCKNATIVE_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export BLOCKNATIVE_API_KEY="5b5cf894-5621-ecb4-cbe5-25f6cea592"
negative: export BLOCKNATIVE_API_KEY="${BLOCKNATIVE_API_KEY}"

id: blogger-api-key
title: Blogger API key
severity: high
keywords: blogger
pattern: (?i)(?:\b|_)(?:blogger)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{35,50})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BLOGGER_API_KEY="4tbeCHiSTEdA411kdx3K3C7hhiZu9VY4f5q1K8pv"
positive: blogger:\n  token: PNfb3MCMrArmmZ6OZJJI6l3QcWrcH6Bnz11Nw1Ed9AI
negative: export BLOGGER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BLOGGER_API_KEY="du09WV02U0IBaNoNzk93qmjjAonNPiCjq"
negative: export BLOGGER_API_KEY="${BLOGGER_API_KEY}"

id: blynk-device-token
title: Blynk device auth token
severity: high
keywords: blynk.cloud
pattern: (?i)blynk\.cloud/external/api/[\w/.-]{0,40}\?(?:[\w=&.-]{0,80}&)?token=([A-Za-z0-9_-]{32})(?![\w-])
entropy: 3.0
positive: curl "https://ny3.blynk.cloud/external/api/get?token=cIoTSLv6x3weDvI6Sgff562zHrOdE7wj&v2"
negative: curl "https://blynk.cloud/external/api/get?token=YOUR_TOKEN&V1"

id: blynk-organization-token
title: Blynk organization access token
severity: high
keywords: blynk.cloud
pattern: (?i)(?:blynk\.cloud/api/[\s\S]{0,120}?Bearer\s+|Bearer\s+(?=[A-Za-z0-9_-]{40}["'\s\\]{1,8}(?:https://)?[a-z0-9.]{0,12}blynk\.cloud))([A-Za-z0-9_-]{40})(?:["'\s\\]{1,8}(?:https://)?[a-z0-9.]{0,12}blynk\.cloud)?
entropy: 3.0
positive: curl https://sgp1.blynk.cloud/api/organization/profile -H "Authorization: Bearer mobYFWNz5yqJDl1TjT04hSWi1nXlHrz0wlBnISEE"
positive: curl -H "Authorization: Bearer NTS9gqB1zV5uVaqlYhKAQSC9cLjQUxh54fy8jCXV" https://ny3.blynk.cloud/api/organization/profile
negative: curl https://sgp1.blynk.cloud/api/organization/profile -H "Authorization: Bearer <token>"

id: blynk-client-secret
title: Blynk OAuth client credentials
severity: high
keywords: oa2-client-id_
pattern: \boa2-client-id_[A-Za-z0-9_-]{32}(?::|&client_secret=)([A-Za-z0-9_-]{40})(?![\w-])
entropy: 3.0
positive: curl -X POST -u oa2-client-id_wXYr6WKc5VURygDaFMxAaOrPouMXJcsY:uqBuWnvKBMlA6vAl3Nb1J5teexJWOcoNwhRyPlMU https://sgp1.blynk.cloud/oauth2/token
negative: -u oa2-client-id_abc:secret

id: bombbomb-api-key
title: BombBomb API key
severity: high
keywords: bombbomb
pattern: (?i)(?:\b|_)(?:bombbomb)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9+/]{80,100}[=]{0,2})(?![\w=-])
entropy: 3.0
confidence: medium
positive: export BOMBBOMB_API_KEY="T6qnB6u50KhVx6MFinNdTntbiWP1v7Ta66aeaJRVvJ4Ow1v4BI8X90FwQGltzMreb2Y58xz9qyOaAzrO="
positive: bombbomb:\n  token: Y0bIGb6mb2BIermspld1zIlbYTbscj6RidyWOR1sdtNp56lOhCqSb2rliKFwKsFLVkZQaHeqpeRrTLPb
negative: export BOMBBOMB_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BOMBBOMB_API_KEY="JVWVtJJ3u1rMhicr7os0XgxKVxk81fIqIWqYjwFOYmLTOL3ONitw2QrnDAZjLGbFnUFhtQiiese3dO"
negative: export BOMBBOMB_API_KEY="${BOMBBOMB_API_KEY}"

id: boostnote-api-key
title: BoostNote API key
severity: high
keywords: boostnote
pattern: (?i)(?:\b|_)(?:boostnote)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BOOSTNOTE_API_KEY="rkkdPLKezR24v95lw2ByYkvVqEUlmJmnf9xFMdOd8w1oJaM00xlm3wfHANyP5F22"
positive: boostnote:\n  token: xk5nZJljrSwzizAGHS4as5M1UzH5g5WS2YlPVFLYrWDDWDMqRRxgGLDjKYs1uJWf
negative: export BOOSTNOTE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BOOSTNOTE_API_KEY="sqqWQa2EyzRcjOxeMHTFOVnOTtPUehY3Egv9IIbwxOlVPVnIkKPdvoduCPP0ig"
negative: export BOOSTNOTE_API_KEY="${BOOSTNOTE_API_KEY}"

id: borgbase-api-token
title: BorgBase API token
severity: high
keywords: borgbase
pattern: (?i)(?:\b|_)(?:borgbase)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_.-]{100,1000})(?![\w.-])
entropy: 3.0
window: 1024
confidence: medium
positive: export BORGBASE_API_KEY="kN2bAbB9W9IklkSMgwhDJJE49XM8OBcLLkFWo49Gx8JmUVvtYer4gDjboCn8nSRRXYWD6YCJrE0azq2koe9KF4QbcaVANjlybAiBeoiXGKJPJe9cXs9VCwFyXilHJcVSxTYzOf5fkC3ES7Akq4I7KLq31BQHU9sSFVbd1qqhkGDexHn7EgMfCmhUiKWEB6DkSSU4WQaV7nCtydSpy3qusKLXXSfceBHr1aGuST2Zfdtn8yNCfUgEPlhWtAnqUs1r1v8EdEWTMfzpPus1zia7ZYW2tzX6FYd6dOhzrW1tySAJTBKrU9gYiGsuzrawRZuzDE8I2gShkYlffGJ9Mx5ugZnZjjltJ2BTvIfJsHO8ePBYLqI5CNq1jZDhQHSC7TCAXZo1L9lIhsk7aDwpSfMyXYoKPQHuObTfu3iECfmw1RiGKPvglm1Ls3TsdgmvgKTbtGwW33GHU3kNwRJvqYPLJmqTQvloN9acJHA2waznTDPOrMeQpCLkZyOUddwjkR1HagJTzkpHp2wng5BkPHwHhxNBlR5Ppk3yzlYrMTCVE71U1CQN1C8q0kcSlHwi5qMKr3k9DqYUkZ0Sk322nOg3wiMG5bsOrwyZSrnsA8p1WJkdPq86DdOLQFwt2VpuORLMYlxYiZ5Z0EIrOBKMsh2ltxjGkwaYbUgUhetH8z6FTTFZsYET9KsanDd9fS1YajD3fuIpHkLhUZkSaS9xWanysnILyCncmcHQJcfOAjBky1vyBFa397qVFDf39HMOOapUwkSRNrHuQoXspzgd3XjfLnqIDy4GRUzGGojEOdZ2EcseToy2q9jFxhzCMzgAT2KuILuIcmSw8DkmjknOBiiQw9112hJG4xkir5tJnT9Syk8i2r"
positive: borgbase:\n  token: iLM1zVYl4P5btAPhTKHkivIzZmzaRGKmsh2PIEb6Hc2FvWejWOx3DSuJlmyafVtCIXBezaW3y6D8zDyr3M1Vt8k3yy2t8ApbYwyPvVeHlYmc1GoQxnmWjPGGpxYDqm2DecxqKAHsB9Gqg4sIrVxW9O9Xe2KZk5XcpLneELWVpsktDHQ1TNnni3ETdea4TAUMSkhrUhMBtufPxeV7ALiQgVScvHQ1aBMPGwPj1kOcVgneszHcCKslaVyJGnb9oJEkUSKOH6r8Hh8xeXi0nSnOQJLLB3au1HYvN5a2vHijO4prpzHyjq1ClZQOgbj4i5QWGjIxlaLQZR9enyH6F3R380NVtIWa9P2eRlyFEMaQRsuTm2u
negative: export BORGBASE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BORGBASE_API_KEY="t6QJxmPJoWKA9azzBJtgBoAQhCPGf7CGmZfWe7LS10gS1lER6SbG0gIz19UH3AC35rmawKvdfnW7CGl9zSWbgYkL6SNBfdxSSS"
negative: export BORGBASE_API_KEY="${BORGBASE_API_KEY}"

id: box-api-key
title: Box API key or developer token
severity: high
keywords: box box.com
pattern: (?i)(?:\b|_)(?:box|box\.com)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BOX_API_KEY="dLWdlNa9DClh5Y4uM3m3JRqohrDHqQJx"
positive: box:\n  token: 5rFBKKrbJJMKbs9V4pvRNmjQtLvwoYcd
negative: export BOX_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BOX_API_KEY="nuBSjj22mWja6o9POFTYrDWLH9qr4M"
negative: export BOX_API_KEY="${BOX_API_KEY}"

id: brandfetch-api-key
title: Brandfetch API key
severity: high
keywords: brandfetch
pattern: (?i)(?:\b|_)(?:brandfetch)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BRANDFETCH_API_KEY="ZQIQT8poNriZ6AnwlffpPHhvvWzxGkppd5yzbUG5"
positive: brandfetch:\n  token: yBt3et3ZmeWLXR9M3FCQMbtLkqb3BAfgNRfCn0Ap
negative: export BRANDFETCH_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BRANDFETCH_API_KEY="vKhAKjiriG8QNf6jwoSgIxblnzYWXXwwdk4Qbv"
negative: export BRANDFETCH_API_KEY="${BRANDFETCH_API_KEY}"

id: browshot-api-key
title: Browshot API key
severity: high
keywords: browshot
pattern: (?i)(?:\b|_)(?:browshot)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{28})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BROWSHOT_API_KEY="izj7bbDSlbhmSNgMFdhNExXjFUR1"
positive: browshot:\n  token: Y7iMSuOxnWIQnxvch86vOtRTEq51
negative: export BROWSHOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BROWSHOT_API_KEY="wbDW2ulROLryrluQM1PL79La3J"
negative: export BROWSHOT_API_KEY="${BROWSHOT_API_KEY}"

id: bscscan-api-key
title: BscScan API key
severity: high
keywords: bscscan
pattern: (?i)(?:\b|_)(?:bscscan)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{34})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BSCSCAN_API_KEY="4hR3GLew9kvtJ8d3FIrRNHldNDAyj6xRv2"
positive: bscscan:\n  token: 1UL6J7gDaojsZtuicYLZIMglhj2lMIIiPf
negative: export BSCSCAN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BSCSCAN_API_KEY="p8i9TSQiMina1sodEHYnEc5HNbbmK8hK"
negative: export BSCSCAN_API_KEY="${BSCSCAN_API_KEY}"

id: buddyns-api-key
title: BuddyNS API key
severity: high
keywords: buddyns
pattern: (?i)(?:\b|_)(?:buddyns)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 2.5
confidence: medium
positive: export BUDDYNS_API_KEY="ob5a6Huh2BPG0q1he5FF2keAq3BP9nzveVPhD67K"
positive: buddyns:\n  token: 04Dgd7pvIG6YRNnbHOHMblBl8P7qIewMKelPN0eL
negative: export BUDDYNS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BUDDYNS_API_KEY="vnIBUMSj7WruaZ2mci7NhyQyPlZKOs8j0Fw1cJ"
negative: export BUDDYNS_API_KEY="${BUDDYNS_API_KEY}"

id: budibase-api-key
title: Budibase API key
severity: high
keywords: budibase
pattern: (?i)(?:\b|_)(?:budibase)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32}-[A-Za-z0-9]{60,100})(?![\w-])
entropy: 3.0
window: 512
confidence: medium
positive: export BUDIBASE_API_KEY="ElyVZzcvuOWnu07uQFDjNdXI37ORyHss-Ps25AueRmXBMw3m9BPz7QaSpQSuzylHOncbQHbh1m5WLML1a64WSlkyhze1O2JH998F4JpCTSlrnqW4GNGDNmsEsiuzg"
positive: budibase:\n  token: 1mDy9pLuPkapKiOi3155bYhRD009QuJs-gwp5jclHnzFCQy8qQILKZtjh6klqtvdzv5m8c0wZNgF46xPBmy9yL5PNhQTLazUMMaM0Lgd3BT3MSdpPhGr2
negative: export BUDIBASE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BUDIBASE_API_KEY="9sny8x9b24uYSVJpdKwNaUhzc8r3gkN6-tnOCyWNspeToWnMNuuxp9fyUpuWx2ogIJaMMs2eZOAUsk7HX8cg3llzL42"
negative: export BUDIBASE_API_KEY="${BUDIBASE_API_KEY}"

id: bugherd-api-key
title: BugHerd API key
severity: high
keywords: bugherd
pattern: (?i)(?:\b|_)(?:bugherd)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BUGHERD_API_KEY="zoUfG1j2HGdLKcuDzpMOWP"
positive: bugherd:\n  token: 2A6QKOp3yD16y93QHsSmS2
negative: export BUGHERD_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: export BUGHERD_API_KEY="4lEGi3fatYRGzoYi4d3A"
negative: export BUGHERD_API_KEY="${BUGHERD_API_KEY}"

id: bugsnag-api-key
title: Bugsnag API key
severity: high
keywords: bugsnag
pattern: (?i)(?:\b|_)(?:bugsnag)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BUGSNAG_API_KEY="2a158668-decf-2844-c5c6-404c7f52f1eb"
positive: bugsnag:\n  token: b571003d-b08c-5df5-09df-1367db5b46bc
negative: export BUGSNAG_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export BUGSNAG_API_KEY="6ff5adaf-1546-38bf-a095-0141b5033e"
negative: export BUGSNAG_API_KEY="${BUGSNAG_API_KEY}"

id: bugsnag-notifier-key
title: Bugsnag notifier API key
severity: high
keywords: bugsnag
pattern: (?i)(?:\b|_)(?:bugsnag)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-f0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BUGSNAG_API_KEY="93b4e58ea68a8cf390e8d3fba9687346"
positive: bugsnag:\n  token: 8497255859ca78a1ad30c154669f5193
negative: export BUGSNAG_API_KEY="00000000000000000000000000000000"
negative: export BUGSNAG_API_KEY="09b09c4eeae26da6610f9204a37596"
negative: export BUGSNAG_API_KEY="${BUGSNAG_API_KEY}"

id: bulbul-api-key
title: Bulbul API key
severity: high
keywords: bulbul
pattern: (?i)(?:\b|_)(?:bulbul)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BULBUL_API_KEY="Dy6Qy294Jb2VpZK4xlORnNsfsxFVhIiy"
positive: bulbul:\n  token: 3T0TetsWT6HwhP3LDZcrHTUqlzhUyEzL
negative: export BULBUL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BULBUL_API_KEY="NkLtTAw7gZLLwO4HzH77pRx1uwbVqX"
negative: export BULBUL_API_KEY="${BULBUL_API_KEY}"

id: buttercms-api-key
title: ButterCMS API key
severity: high
keywords: buttercms
pattern: (?i)(?:\b|_)(?:buttercms)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BUTTERCMS_API_KEY="NZMp1L89KgmKeHArmo76UsObdYK6igSS2EcEgBaP"
positive: buttercms:\n  token: LY5wdg98GdSezGh8phDbz6dxQMFuOpfmnpxkrcGB
negative: export BUTTERCMS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BUTTERCMS_API_KEY="zYsxNbI1PgfpZXgShqr9WJoBclArAkectOwzx4"
negative: export BUTTERCMS_API_KEY="${BUTTERCMS_API_KEY}"

id: caflou-api-key
title: Caflou API key
severity: high
keywords: caflou
pattern: (?i)(?:\b|_)(?:caflou)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_.-]{100,1000})(?![\w.-])
entropy: 3.0
window: 1024
confidence: medium
positive: export CAFLOU_API_KEY="tK2prltSF4xPWvVvpkUXJRbCxGrtTyKOSn6lzu9Mz1qOioDzIFvqfXBEn5jKvKfRGdqkg1mSAFaUQZOAXo9J6aKNogH5ThjPNUB2ZWKE9EgdK22SXulZJj4m8HGiEpmqte9XBmhQdioChjiqY2MPeo97Pr150fUm0HH2AMw6Uix0V4OXl1futmQZc6oOFvUrlOZQDvSJuBQc1gjtc1uvgNyjB8OpVB55WCYov9yMj6oy29EH3lUeq7WBVd9eBfkNthVLv2hAEQ6wV8dInja6tnQVxMaQPQ0S86eS8nypDduTvm6OFoLTJ8uOHMKAJGR1E0WsFAWgxQJMRfbrhF81Jkh4bHHJLsJWZHaU9OozvP2xnRU3Z6GCwsUZJgQalVErqloFgOl8D2t9mqUXo4uCNrzYh4403T2IE3jY9TWpxbCppA8WXdoV4D88bYvEl7bdZYcYoPfGyVXfnm6ikLAwgZKxhZfXbygqnsgpWtoH71T6oaURwQqygVz9kqj6nMNDvHA"
positive: caflou:\n  token: GtYIIBodhadiXcu6YvDW5HT8BomNkJUHEdsjcluqiyJoswKOxZ3cgF3YUuJGfqDY3NaAam8gfHwsZCfIN5fLRlUPofxoTbCHQKLTI1wrMNQoxgKCDQ9gO8M5aSm5ActzW2Zpz6napdtC8Knb1g1NIMaNNRSY3bMlHAdtIPF6hzZwmLWdIWMeyWM7ONsZYUPzWzWO4REKlkyXchZSur4S4tNU5frwv1O4wepEdOcmlaPMUd0rb0rl0QraHI0Hh1i7WdyRWMfJshvphdmderDZOKrIe6d94SKhcKJmKjTGhFnK1zwu1jmNaZik8JdBrAHmbc4QZxZvFhJZckJXptvKG8mDJTRYGkzbpQsvKrFytB4RFl5NYIkucfjL3LcM4zATm8HTraHlm3evWoE0nMp6CI5xpDVRPVL6PNbFyrN2DQGgZdManL0XhGsToKJB0LiQg3bB45q9kyM5IrisqH5o4Os5ATblkrPQdq4ib4b3CvCA9yFNh8PFcrROOBk5SxjDF7hG0g3Yc1lAykozaciZux6Uq0KTYRx25XjJ88ZMU5Wid0OfpnoUJ97COlAj8VwoyHqhlPq58R8bbZ7HpyEThhd4PLH77dxek9iElJDkbfYIfDE4VL1ptvfcRVfCywzvXLRWOOeLbVY7T0vHaMjO8vDNWe01ZqAbJu6psBTR1ThcHKhyoazWjNRmHDfaLl8T01UXAfOOmSr4oLz702QbKAxWIvEWVaBavP4YJ85sZdGypJn8UutMUAxJLaQMK1D4aGOerUBszSOr5q4KmmA8cT7pMTMedFC7K1DOz8pUnBPQofJWvvss5iUxfg2PqQiD7Td6FHhbTy3hgVhZH1OjmWn
negative: export CAFLOU_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CAFLOU_API_KEY="Dixi55PofZ63DbrwBnmODzX5Gfn3yqtNxlD7SApj8G6FzpMAXaklPIY1sUs6APtCmgfaXqF7kG4qyWxgxACAmj4zTnZ7RI9SBl"
negative: export CAFLOU_API_KEY="${CAFLOU_API_KEY}"

id: calendarific-api-key
title: Calendarific API key
severity: high
keywords: calendarific
pattern: (?i)(?:\b|_)(?:calendarific)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 2.5
confidence: medium
positive: export CALENDARIFIC_API_KEY="34WRU7WezMk42mmhho08Sz4a1MUFDSiJ"
positive: calendarific:\n  token: o6b3NjajeL0aJbgL7jC2Xdfk3rvG0n7P
negative: export CALENDARIFIC_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CALENDARIFIC_API_KEY="fYpJz9ajn02yv3OhEudc4SdysCRKC1"
negative: export CALENDARIFIC_API_KEY="${CALENDARIFIC_API_KEY}"

id: calendly-api-token
title: Calendly API token
severity: high
keywords: calendly
pattern: (?i)(?:\b|_)(?:calendly)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b(eyJ[A-Za-z0-9_.-]{50,1500})(?![\w.-])
entropy: 3.0
window: 2048
confidence: medium
positive: export CALENDLY_API_KEY="eyJYjNncVilLggeszydxqEC9TfwseHZGfVx4Y3IWf3G9WBikONGnfCYXsOOGiI8LBmyAU5u2TqftspKyyU2sFb3gDQKOkgk61x6rpwOJ9WXnQuVFNOSaz0eXiK5B1zQodCsOC2pEIpuL9GWjwIB0knAdRQlQDW5x4vg4WrooFUpeFRwQ8QRaoiz545YugIlswGO6DAFnAi3IZcNQm3c9yrObmHEQ2Pj0rUzY1OXvJzl2Jglby3JZLLcQ2pSgSzmJ6Bs1VBXmJ8fVIq4qXwluvKIsbLup2mSYWFdxqhZENkr4S4KmHbIe2y8R42eVP5spUk4W0BD7dvSRDkJ0a02cVSiyYSUNKnIAFQamxVZV3sdWOCLREVLmJ9aWV1PwQxa50eX0prfWOYMMhrjk3MYi25cxhG5VJ7x6eJ7yCURRRZMJCcKrPwyBqIs2PGYfVXnnwMlMco7FxnXnb1q4qpEux9M064pmLcF4vRCN3wCYZ5z6GH54EdZD6H3zKFAqkwlpvvnApg5vb2JcEfbfFTBnZ2EdEappcp79BXzJTj3vC8N4qebJI3x00uEOE3wVIHN2uRS287lrifKcbAawdWhfnkQ23insyWjwKYZuiLY3r9a2WHizgud1G43C3TdeRHI6cnyb792Cn1RYUNnIwmfSs9H6aafchzjJjfCPHX5FrTsvzt6sm9bR1pW72MOv1w0GprH7QuXER3Hsrsmg02cdU7FFjhCfstghOokiY49Dil5AQz3DAvfPj3q0Ugfq3VhbOPljGxHOuxljaZMN5Vo1jdNki9O1332MoGeQfIbcVUAoFNfJ7MvZWmsxV9vyq3Z1gtSxkObkUSkcsSxx9MKW30vBLKcMswyAJJd50uy8H3bXMcZ0tKowkAR5KTrWhum05CmxIaf3L2P4Ig0r2TSKC41LwaCLXxyMWPC5zdCPECRrgojlgWaz4VceKAhMIUKLnzlbo9ZagqGf89qyK2MzPNsy8WVOvA6iuuH2TSrxcCBGhKKLUBTjErj2MbK7upD386z5sI1HhGrxNsbPHWdNp1z0g2WXx1cDgEDIHnxOvJCteHzK8RyOOAei0AkztBDWrhBhOFkX8UvaVHZrccgGU0y4HKgMkSLlvID9j7ByA66O1kc3pCc8WEkE3ekIZgBB2doTGj0yJuKhMRcWnhlLDeCCeTTnJQBYEsyE6MHFeCbsXiegIPMytWCRXaElkRglKDVOA4geVVkREABPvGH7BssQ6Zm8EPq7ZNgslxFVCcoVZ1htU9QM6T10hVVJ9o39gwjX3SVjNHkV5nr24maxQHH7VaGCO1je3TpmxYo7wnP8Q6uqfoQhWI4p93ztbwymYG96yUJOovyfEbI70jIZZFuAfx0wIAA6ooAXvngJ2ld1JsDI4pNMiIAsRJ8XnFw1KJVadBotZ4MRLaVzUD9P8HgQ69JSzGnXQvWQVPus8id5gabXXFLutnnJEm55ZYCVjxPn0t5FmRmTIeLe2h14aLFVEY"
positive: calendly:\n  token: eyJPDys6dvUypCFKk3OYP3uuQkSzxGBIugdxYdqxxLA10fwaoWyw0YLpkQ9ZEtdhH4eoagCu1uzAYi0PGhJoAIRqy4G6I392DcLwiP3mHSp5UfwotwMAZkGXytoREJbUUdxjxpr20b2l8cPZPf4VLFPAjsIOyo8IGzKlmyGLxm9bcYpoNmIuOlsMQ76sRxPRlreca8iPM8Td5rkrx7FC4p3bbCzX7M2ihrAMPlTkRcYJPd1pGT6AFT4oorBAd1Y7fb6AuA85eegS6jTqExLDRhM9Vn1ZwqyoF7pleGBbUxuDQ2SmSe4FM8LoCVMT6BStwB8OqQkV0oRDfoTJNRYPHQSd0aq390UrBB5d844PooNkti5WfCaz5Oycjpp2B5MEk81wEfaTErDHNVsOv74h5CCjLPVxvvCVNpKbeiBgW8LiB9ZssgqHpFabyLyFVpWNMmi7bgV2gBp607mYLappA6cQtLJJYSPpZkgg6duvJnoPtCWWgPV2FQooFH8i1gH6Nesc5OXKGaaKtlQkBZ09EE1877xVWBHKlTW0fq08UWu0BdhzR3GFcsTwfURROyPH62P1fXrB5fmZ512JtI66Yquu7S3y5inpyBEcROKfNNJ8emGa8zeR1Rzc6S7Gm4vQNusGU7GU4yZpBilVeECHD4mwh1wr7rk0RGyHKuuETuK40BFCcYoB81PhqB50X0PaJFcNFyudBgRDbeVvoV0MfZd0JNfn5SDS7XZqS0ywqNh5LcNRFhG0zti9Auw9u01vaNVaZ4EBtJDUEabpdkTgPKp2EXmcG41foMuutO1ia3eZJLBPHQfSafTSXPSzlZjMNo9x6c6gCQTmSqcHektLv9dGVatsX5VRmySKTS
negative: export CALENDLY_API_KEY="eyJxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CALENDLY_API_KEY="eyJqCSLfTvGPL7Hqu8Kr4QcqfCwhilRt7UFDziEeswvLHHkcWwK"
negative: export CALENDLY_API_KEY="${CALENDLY_API_KEY}"

id: calorieninja-api-key
title: CalorieNinjas API key
severity: high
keywords: calorieninja
pattern: (?i)(?:\b|_)(?:calorieninja)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CALORIENINJA_API_KEY="6M1IHzHWTOrISu6VrjKvzCHNT7l2e9FJYem7U6JH"
positive: calorieninja:\n  token: QNm7G6ywXR7szBB1yHPaJPfYKNflhjyQO572ebf7
negative: export CALORIENINJA_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CALORIENINJA_API_KEY="bfIOXuwW5o1zCgsjGI8SRJ61FxKvH7ta8SQkmP"
negative: export CALORIENINJA_API_KEY="${CALORIENINJA_API_KEY}"

id: campayn-api-key
title: Campayn API key
severity: high
keywords: campayn
pattern: (?i)(?:\b|_)(?:campayn)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CAMPAYN_API_KEY="ngPx0NGxNPGZN0E3IFoaQjSQ5FeWNOhkIMcKN3Dyc036KisB2k5ophXkuqiG06lk"
positive: campayn:\n  token: zOqV90uSSDCX15CZ5JLKpLJpjWg8ICy1wc5eq86gSCXQLF2wT5LdjXdsgsOn11xP
negative: export CAMPAYN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CAMPAYN_API_KEY="Um3DyUxMUzbI7lNocfQL8Ezv50jR5XSRyMrugWe2LLqJWJENCsyislrdZVn7u7"
negative: export CAMPAYN_API_KEY="${CAMPAYN_API_KEY}"

id: cannyio-api-key
title: Canny API key
severity: high
keywords: canny
pattern: (?i)(?:\b|_)(?:canny)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CANNY_API_KEY="7d2e990f-c7b8-979a-496e-8467f95c8555"
positive: canny:\n  token: 2e33ca2c-fcbe-98b2-0ac7-847f52ba230e
negative: export CANNY_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export CANNY_API_KEY="0b06185f-e861-6f05-dabe-634a6acbde"
negative: export CANNY_API_KEY="${CANNY_API_KEY}"

id: capsulecrm-api-token
title: Capsule CRM API token
severity: high
keywords: capsulecrm capsule_crm
pattern: (?i)(?:\b|_)(?:capsulecrm|capsule_crm)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_-]{60,80})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CAPSULECRM_API_KEY="pSFGHOSjOaKy0gmMXwrVuQr1Ch7Jm9Q3C0juyZ8EPcg0sU5lJwfl4eN8sGx3toYxAkZthtehAXkHt3e"
positive: capsulecrm:\n  token: 5G1QfR4HzXVGC2CYFPWRMSmyoE5p1mb3PvyHgVkGkLSPmNbB62XAlNZWGaBHHw
negative: export CAPSULECRM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CAPSULECRM_API_KEY="cx4fnZUEod0HRprjc7LqjCNF4nR8sT7cvzCHS1AIjcGkAMPuR9L18EN7od"
negative: export CAPSULECRM_API_KEY="${CAPSULECRM_API_KEY}"

id: carboninterface-api-key
title: Carbon Interface API key
severity: high
keywords: carboninterface
pattern: (?i)(?:\b|_)(?:carboninterface)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{21})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CARBONINTERFACE_API_KEY="Fi7suRaAoDCAnWrPMTm82"
positive: carboninterface:\n  token: qj1zAwo30NwoYSSpC7Uh8
negative: export CARBONINTERFACE_API_KEY="xxxxxxxxxxxxxxxxxxxxx"
negative: export CARBONINTERFACE_API_KEY="HYho2FXxn5hiEB3A2YW"
negative: export CARBONINTERFACE_API_KEY="${CARBONINTERFACE_API_KEY}"

id: centralstationcrm-api-key
title: CentralStationCRM API key
severity: high
keywords: centralstationcrm centralstation
pattern: (?i)(?:\b|_)(?:centralstationcrm|centralstation)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{30})(?![\w-])
entropy: 2.5
confidence: medium
positive: export CENTRALSTATIONCRM_API_KEY="rv5OaXF3CLzR6wlKdOETNRzcXLmu6F"
positive: centralstationcrm:\n  token: WLKkIKf1FvI3o2P3snYm1EbLa1kDfk
negative: export CENTRALSTATIONCRM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CENTRALSTATIONCRM_API_KEY="zZQf1kSlnmvWzQaJu91b1KpDCLe9"
negative: export CENTRALSTATIONCRM_API_KEY="${CENTRALSTATIONCRM_API_KEY}"

id: chartmogul-api-key
title: ChartMogul API key
severity: high
keywords: chartmogul
pattern: (?i)(?:\b|_)(?:chartmogul)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: chartmogul=RPKtnubOAxUetOREHgRYzqh7xmfOkjKz
positive: CHARTMOGUL fYXzTrCGGVKGczTaTrNTB0Yk0v3texnq
negative: chartmogul=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: chartmogul=VoOeKUYFFWW7AxvRWn6F3mCl0yp0gT
negative: chartmogul=${CHARTMOGUL_API_KEY}

id: chatbot-api-key
title: ChatBot.com API token
severity: high
keywords: chatbot
pattern: (?i)(?:\b|_)(?:chatbot)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CHATBOT_API_KEY="VfxgRtnaDGkoJmagZCMbLf8TbgCLoRMG"
positive: chatbot:\n  token: q5xr5HkNwNCbHg619waGVVU10WVf1dhY
negative: export CHATBOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CHATBOT_API_KEY="GUkoyi40Y6clnRORQ0l1Ag3uq73dMR"
negative: export CHATBOT_API_KEY="${CHATBOT_API_KEY}"

id: chatfuel-api-key
title: Chatfuel API key
severity: high
keywords: chatfuel
pattern: (?i)(?:\b|_)(?:chatfuel)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{128})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CHATFUEL_API_KEY="I0pQqAMB5ngd2coPxRb45msuW3byIjtn96zoV6uAoyBf0Gm5OVRxnMFUVbZGpgiQ83CdsLP68UhDUGqjn7A5NxSkiUcZyet4B8FOw7T46wBMwevCPDDddeGJFsfKoZNc"
positive: chatfuel:\n  token: i6LYcLD7bwGbWG2QG7ykqiMUHdIbn2VICsVJLVCnsq1ZkxRKiY3CeC6HmIZGqZmrb4DOHNcZjjJBaZHNpdXZi5VzPLjZMiizSzgEhjecdbrvPFR2TCxauuLx8psaYT3S
negative: export CHATFUEL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CHATFUEL_API_KEY="z8XAaiAjRfGd9x61omIMp5IN3wi4cllZzRMOBZFCimd17wT7ulgKNnc2F4g5X5sXu8b8JjmfrSSK98psaGqm3Ei7MN8yVenE5byG94sKKLNtxqpCPNCojiZgHLcuG1"
negative: export CHATFUEL_API_KEY="${CHATFUEL_API_KEY}"

id: checio-api-key
title: Chec (Commerce.js) API key
severity: high
keywords: checio chec.io
pattern: (?i)(?:\b|_)(?:checio|chec\.io)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b(pk_[A-Za-z0-9]{40,50})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CHECIO_API_KEY="pk_8dtgtrotdYl3Yt3vr2Sj0IJtveuW1cMjSmXievKj"
positive: checio:\n  token: pk_7XmxW4N0uco60g8bRIFQtLCrWyhJxU2MifUOqsloGlFwhxK8bA
negative: export CHECIO_API_KEY="pk_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CHECIO_API_KEY="pk_d0bqRRp3hYZU5HEqT9weTVS1ehfxypy3qUJUVf"
negative: export CHECIO_API_KEY="${CHECIO_API_KEY}"

id: checklyhq-api-key
title: Checkly API key
severity: high
keywords: checklyhq checkly
pattern: (?i)(?:\b|_)(?:checklyhq|checkly)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CHECKLYHQ_API_KEY="Xy2Ko8paFsYXDbYzHyE74nffYMqbklbq"
positive: checklyhq:\n  token: JWnKLyvUoPzaInfc0TQAveMT7bHBKrk5
negative: export CHECKLYHQ_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CHECKLYHQ_API_KEY="mDhSiLvg4qa9jb2LdQvfICRRT8IAkf"
negative: export CHECKLYHQ_API_KEY="${CHECKLYHQ_API_KEY}"

id: cicero-api-key
title: Cicero API key
severity: high
keywords: cicero
pattern: (?i)(?:\b|_)(?:cicero)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CICERO_API_KEY="3uK8L07xvpAAvm1ueEJIppyQtPJPKhKaeQbUEGAp"
positive: cicero:\n  token: uUR2qQn2kPsoqTR2nnU2vDP9l1rx6cUkK7zig3Mf
negative: export CICERO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CICERO_API_KEY="FgmM5Zm2Hc3oxpxe3SyuOdpkIRu4I5sCsPrvGV"
negative: export CICERO_API_KEY="${CICERO_API_KEY}"

id: clarifai-api-key
title: Clarifai API key
severity: high
keywords: clarifai
pattern: (?i)(?:\b|_)(?:clarifai)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLARIFAI_API_KEY="WoLaoyTdiSrCOB90gxvG8DhN9yFOqynI"
positive: clarifai:\n  token: vooYVUdA7F0gYe8ILKMUzG2WSWZERB4F
negative: export CLARIFAI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLARIFAI_API_KEY="EfwXbP7e4Zmtpf7JyoUVnK2gPdRcLF"
negative: export CLARIFAI_API_KEY="${CLARIFAI_API_KEY}"

id: clearbit-api-key
title: Clearbit API key
severity: high
keywords: clearbit
pattern: (?i)(?:\b|_)(?:clearbit)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{35})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLEARBIT_API_KEY="WTPH4BtQoeWIHgsA5wz6c23p5Fj9Io12cSO"
positive: clearbit:\n  token: QxnF7sSr0mW8iER3P9efgYswS3CKl62fEBm
negative: export CLEARBIT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLEARBIT_API_KEY="vgMfu4k3UgWcV1qyes6Z28ED41wIjeNtc"
negative: export CLEARBIT_API_KEY="${CLEARBIT_API_KEY}"

id: clickup-personal-token
title: ClickUp personal API token
severity: high
keywords: pk_
pattern: \b(pk_[0-9]{5,10}_[A-Z0-9]{32})\b
entropy: 3.0
positive: CLICKUP_TOKEN=pk_08082262_AVMTQX4B58G2KIMYSPCGT2JQC4KRODPK
positive: headers = {"Authorization": "pk_52369188_QU045MJO8F4OZNDPXW23OU3DRF2I9ZWC"}
negative: pk_1234567_XXXXXXXX
negative: pk_test_CIV97UODUWDH04PBMINJWQ5R4GWPGFVC

id: cliengo-api-key
title: Cliengo API key
severity: high
keywords: cliengo
pattern: (?i)(?:\b|_)(?:cliengo)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLIENGO_API_KEY="1d9eecb0-a428-69d4-3f9a-912ad8236717"
positive: cliengo:\n  token: cbcbf21d-a290-c9cb-8134-1f56536f5340
negative: export CLIENGO_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export CLIENGO_API_KEY="aabf35bc-7d7c-1efb-a5d9-17cbd9547a"
negative: export CLIENGO_API_KEY="${CLIENGO_API_KEY}"

id: clockify-api-key
title: Clockify API key
severity: high
keywords: clockify
pattern: (?i)(?:\b|_)(?:clockify)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{48})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOCKIFY_API_KEY="9fpJWQyjhdBEdiEIA4MYJJnHiLxCUsGJ0fU9RG6mNOp5QOC4"
positive: clockify:\n  token: PWrGkXKJzmfflZiyLcQAXeHbPYuCOmoLNx4LvkQVKMiQIHPC
negative: export CLOCKIFY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOCKIFY_API_KEY="BFpIcHwMrmncIqmboW9cM1p9u0ZMZtRNxuMvZ1s8XqmJtB"
negative: export CLOCKIFY_API_KEY="${CLOCKIFY_API_KEY}"

id: closecrm-api-key
title: Close CRM API key
severity: high
keywords: closecrm close_crm close.com
pattern: (?i)(?:\b|_)(?:closecrm|close_crm|close\.com)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b(api_[A-Za-z0-9.]{30,60})(?![\w.-])
entropy: 3.0
confidence: medium
positive: export CLOSECRM_API_KEY="api_XAQPsBnQkACP94wPG93eq6NiB9EqVXYw3Hc0DzchXDHmQ3446cO1PVkb"
positive: closecrm:\n  token: api_67Uzp5sO4dcAA53sPRcLUv1ZkwtHZmpd3KC6ARLNsX
negative: export CLOSECRM_API_KEY="api_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOSECRM_API_KEY="api_yJAocyMkIj6Qh9VAIu7wUSF0FyrM"
negative: export CLOSECRM_API_KEY="${CLOSECRM_API_KEY}"

id: cloudconvert-api-key
title: CloudConvert API key
severity: high
keywords: cloudconvert
pattern: (?i)(?:\b|_)(?:cloudconvert)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_.+=/-]{300,1200})(?![\w+/=.-])
entropy: 3.0
window: 2048
confidence: medium
positive: export CLOUDCONVERT_API_KEY="xv2EhRvbNSavhGw1U0CiM7vggk9ccDsCzWlzMjLgHbG5Gi1bahPf9ZD8SuVl2O5pXBth4QwGN0c7d4D9X3UDUzPGu5utzI9XwqeBWDr9RuJDT0BHERYUnvycUor1DwejnJT1V9AlNyOFtxNNzT6EMuwH5R1sfUsh3WD9mOJSK1EpDijMhdihKwl0HOgwyJtaeVV3eC82cAFipPMR3VBcZkxOboQtWNjrEcjKodYFq53svM4BWiE25FBUMx4aEVkWTUkEN7ErOTd2nxwV2ME7xXmgju5qt0BQoe4sx0H3Ap8rsAh3FV6WrjcMxCibdkPDys6NhIdHtFcvzvLrsrDvteiaDUVurMeikdtKtcZ3Fps8tN44uWTC3wSdA9Nvx"
positive: cloudconvert:\n  token: xuWDjdok4o9pM324jHOoPWvMmgGLuf8nv93RCrzWKvr05XpLrirjLJtDRjyAjqcRddfuwHQmmPYUFpUbt5RsToqgufGtWInxoHl0WNGiZCFECo5jII12booKT6nfLwuRNYuXvDJAtG5nl5qf52v4MgOhWvEQJQfVec6dT9kbmWG9P7qiNoV9xDuvYT0gmI9IkHwU0vgbVsYIJbMQRCKFZWQxgp59X4dtnv2EzkEpJO2SsJAtfbBaBr0CzIoZJ0TNpMfkcoB3QYD6FDaTWPcZ34Kj6EF1ThXdbisUxDx1k4lPLCEdxJ2D2PNfX9uxhujhV8QFQHquZbpBlwrkccEJvLwcdP2ZyXYygsm16XXU3rdUgURMiDqCMumD8THYj9FVfTEypCYV4JshLF0Yu2JxGwWIZiQ0YdqYUFiA3i7IyMlbQA4COwgi7srnFSTO4I5MqjYfSjTCjeae4PqwpKrG7ZFghrwLkk3J5n3KJsNCff7LKQIgcbFRsFczodGF5BLJDNdMTP20YK6p6gt63FYcJhyBTswOFQjKvbdZAPjRVYvnnPW1nHnLWYdsK2sqcwsFpoQogZoN7FH9uEHBSjMOIfGnsG0vtTJCm81yp2Hd5riufAe4YotZqkHUjwLFeasIlgZBD3OEDIZOnhs3W0I5Ko4d5ZddYBDueYvoqnyE4ME6eiFmaYiDgGmVkE3KxcTj8cVv3M9Zdil3fxrsdcU935kFQBl2MRcpDTBiLEIh07QoZYqLU6LbZw4mq4iy2Pxjc9UrtTncg6InVTkUC7z2Mnz39RNmlpUYxBS0Z2DHK1unrs8zC0QfMDZ6Pxwgylab8WYv6m0MrZHlSqIQL91Zxs9gq2jXHbbf23A2oOhRXiucCTpnDyQpotBKueAWfZj0YF9KmhPQCLsG2i6AeZYWqmp0vNpvjcllG3eo56tOYwFFEqAY7INKCXqMqOGyjjnZUjMZVqOcSCrmgQg9BFj7P6W2ssgViHvii92NjVLcQfBMJQiSUqWWmbiYZYqsmvre0IrqLvl5GI6864DwykLWwHJQV6bB6VsYRns5Y4tsU5ndX0me0pohiYss6DIgloxfga6nUoGYhcgLSkzlB2PPrKRrDBFLrOjzpgyRzo53CVrpsb0v9I9Zuw3H93Zheevso3LoaaqDPKU8YX5R9ychKvENM
negative: export CLOUDCONVERT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOUDCONVERT_API_KEY="C8k2ffIi6WF0WupOfHFEf8EwOfwbcP6zYjr8UhlXc6KAWMvtRGQMuxyJVhhqH8aE71RV9pHyfzPYzlxuhQzcjORIjUuaJMbwgTbb2UMZI33XyGklW2VhKARMbrtvClF2hBx87X40GqrpNGyvzZwVo0T0uJwAdfbgcGtzHPx4mGMptgaYxKJB4pN1njZjOZHshsgxRxw5MlzSte5cuKOwUansz1qAvhfb8IhXLutC7GqvIJg5VxIfPhG30TmIKajrRk1xv5iwSHPXXbDvbSxivE7fGdTNHHgpYt4c0qkDie"
negative: export CLOUDCONVERT_API_KEY="${CLOUDCONVERT_API_KEY}"

id: cloudflare-api-token
title: Cloudflare API token
severity: high
keywords: cloudflare
pattern: (?i)(?:\b|_)(?:cloudflare)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_-]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOUDFLARE_API_KEY="AgFWvF5rNl7REVgtgnLqvkhAfqPauw20RY49sCbM"
positive: cloudflare:\n  token: pDoKV9HKQgbIQWGATS6YsdVKliBGEXe0NzN3YayN
negative: export CLOUDFLARE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOUDFLARE_API_KEY="e4cv6mDuQFMn3Ayzd7LoLSnNBgdaB2njZ84SoI"
negative: export CLOUDFLARE_API_KEY="${CLOUDFLARE_API_KEY}"

id: cloudflare-global-api-key
title: Cloudflare global API key
severity: critical
keywords: cloudflare
pattern: (?i)(?:\b|_)(?:cloudflare)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-f0-9]{37})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOUDFLARE_API_KEY="73f1ec9ab51cd99efffaddaea36ccc5d19780"
positive: cloudflare:\n  token: 5f4ac4a27addcb1e740191381ae2f1c2d4f04
negative: export CLOUDFLARE_API_KEY="0000000000000000000000000000000000000"
negative: export CLOUDFLARE_API_KEY="7d2cb3553ae55f83965db5a275cf40d41c5"
negative: export CLOUDFLARE_API_KEY="${CLOUDFLARE_API_KEY}"

id: cloudflare-origin-ca-key
title: Cloudflare Origin CA key
severity: high
keywords: v1.0-
pattern: \b(v1\.0-[a-f0-9]{24,64}-[a-f0-9]{100,200}(?:-[a-f0-9]{64})?)\b
entropy: 3.0
positive: X-Auth-User-Service-Key: v1.0-ef40299cd6315f980eaf720e8bb30030951e45de0a8299d8b344734c19fb411c-5e606ef79cf387abfbe953a03e56576900b1cc9bea73e4ca1ac7111f200cda9f72a4e85bcace87e3ca7f95dcfc0fb2b37dd8511850f3bac96ea3d18dc2ef94676b781cdd285c8a7b8b
negative: version = "v1.0-beta"
negative: v1.0-abcdef

id: cloudimage-api-key
title: Cloudimage API key
severity: high
keywords: cloudimage
pattern: (?i)(?:\b|_)(?:cloudimage)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{30})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOUDIMAGE_API_KEY="D7kfPrVqyVfB0VnKC2tWIiHwzisyfu"
positive: cloudimage:\n  token: 7hxqCfeguwszzBxpQENfRokCPHXsT0
negative: export CLOUDIMAGE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOUDIMAGE_API_KEY="XuNIEQ23oURgWecKfkKKyoySEbWa"
negative: export CLOUDIMAGE_API_KEY="${CLOUDIMAGE_API_KEY}"

id: cloudmersive-api-key
title: Cloudmersive API key
severity: high
keywords: cloudmersive
pattern: (?i)(?:\b|_)(?:cloudmersive)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOUDMERSIVE_API_KEY="72f14c4f-1a43-fd58-dadb-40c8b643dee5"
positive: cloudmersive:\n  token: d0666ca8-aa14-cebe-6799-c7a3147e72ca
negative: export CLOUDMERSIVE_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export CLOUDMERSIVE_API_KEY="37c9fdf8-37c2-2de1-cd0c-ddb12370b8"
negative: export CLOUDMERSIVE_API_KEY="${CLOUDMERSIVE_API_KEY}"

id: cloudplan-api-key
title: Cloudplan API key
severity: high
keywords: cloudplan
pattern: (?i)(?:\b|_)(?:cloudplan)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOUDPLAN_API_KEY="n5grMBeDlQdiwJmb11I0Bt4FPur0ibrP"
positive: cloudplan:\n  token: M8A9MCfjmL9SnVWbxRRk9zBnloOd98VR
negative: export CLOUDPLAN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOUDPLAN_API_KEY="xEPLz1bXskbW8j2XDwwPJjCy8y1fB0"
negative: export CLOUDPLAN_API_KEY="${CLOUDPLAN_API_KEY}"

id: cloudsight-api-key
title: CloudSight API key
severity: high
keywords: cloudsight
pattern: (?i)(?:\b|_)(?:cloudsight)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{20,30})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOUDSIGHT_API_KEY="zmZSzPS9hzKIoZgNpV7d7Scz"
positive: cloudsight:\n  token: eVIezMbqHmZCjEfUR8oKVlL3DuhNI
negative: export CLOUDSIGHT_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export CLOUDSIGHT_API_KEY="sAXE2LrUO0tUExrckQ"
negative: export CLOUDSIGHT_API_KEY="${CLOUDSIGHT_API_KEY}"

id: cloudsmith-api-key
title: Cloudsmith API key
severity: high
keywords: cloudsmith
pattern: (?i)(?:\b|_)(?:cloudsmith)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: cloudsmith=f61Yi8Xib5CavLZlVggYP6pFUkBMLiBem7OYk1Kx
positive: CLOUDSMITH U3sujPq5irWOqX5eVirw9zSKxN0Q4OFkG4AYvZS9
negative: cloudsmith=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: cloudsmith=udjuumjLgYbGTZRsrA6D85SOfUZtR5rUv0UukQ
negative: cloudsmith=${CLOUDSMITH_API_KEY}

id: cloverly-api-key
title: Cloverly API key
severity: high
keywords: cloverly
pattern: (?i)(?:\b|_)(?:cloverly)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_]{28,29})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOVERLY_API_KEY="UNV8US4LTICKbUXDAuWLTw0j2Dvn"
positive: cloverly:\n  token: dD3ZqvVxfJaahtG0Jd0Hum7GDBfHd
negative: export CLOVERLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOVERLY_API_KEY="Yx8KlrWpQWTIchCP087FqTeWaP"
negative: export CLOVERLY_API_KEY="${CLOVERLY_API_KEY}"

id: clustdoc-api-key
title: Clustdoc API key
severity: high
keywords: clustdoc
pattern: (?i)(?:\b|_)(?:clustdoc)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLUSTDOC_API_KEY="NjHYW7gSnFOVY9WZ2NzlwooPFjgpmAGrCslhz1z5GyqsYQTh96rGdRQroZiiHZoN"
positive: clustdoc:\n  token: 4f4laxqlZIP6XVw09ncDINE6AmncuP3dT8vl2lTgFQqkcgDXIduCxop4wQJtECN1
negative: export CLUSTDOC_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLUSTDOC_API_KEY="ztJKyU86LTntGALLQ3QrHeS2tpgyEGpwxia4TEiYO36VFjK5DnNcsTDjKnAdii"
negative: export CLUSTDOC_API_KEY="${CLUSTDOC_API_KEY}"
"""#
}
