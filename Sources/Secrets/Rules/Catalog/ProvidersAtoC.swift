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
pattern: (?i)(?:\b|_)(?:adobe)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:airbrake)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:aiven)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9+/]{300,400}[=]{0,2})(?![\w=-])
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
pattern: (?i)(?:\b|_)(?:alchemy)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9_]{32})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:algolia)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:alibaba|aliyun)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{30})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:anypoint)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:apifonica)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([a-z0-9]{8,11}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:apify)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{36})(?![\w-])
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
severity: medium
keywords: apilayer
pattern: (?i)(?:\b|_)(?:apilayer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:apimetrics)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:apitemplate)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{39})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:apollo)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{22})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:appfollow)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b(eyJ[A-Za-z0-9_-]{10,100}\.[A-Za-z0-9_-]{10,400}\.[A-Za-z0-9_-]{10,200})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:appointedd)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9+/]{80,100}[=]{0,2})(?![\w=-])
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
pattern: (?i)(?:\b|_)(?:appoptics)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{64,80})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:appsynergy)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{64})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:asana)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([0-9]{16})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:assemblyai)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:atera)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:atlassian|jira|confluence)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{24})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:audd)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
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
pattern: (?i)(?:\b|_)(?:auth0)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32,40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AUTH0_API_KEY="sDaAsnMHcYBWbVGgQQrb1jKra0MaMBiCAQkqyRcX"
positive: auth0:\n  token: LEO5biBWZ48Zet1QDyCbb7Z2OBlbuQIhLqsr
negative: export AUTH0_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AUTH0_API_KEY="rMPwKPGLutVZWVb9jVVTsADP1DAo88"
negative: export AUTH0_API_KEY="${AUTH0_API_KEY}"
negative: Merge pull request #12 from auth0/token-refresh\n    commit f0333ff31cc907fdb2f4af4f309fed061059bdf5

id: auth0-client-secret
title: Auth0 client secret
severity: high
keywords: auth0
pattern: (?i)(?:\b|_)(?:auth0)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9_-]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AUTH0_API_KEY="I1URDhrfwmdqwhnctey75S66u3yhj49jqZhwzUoQ8vjuqtcCDmt139IvoXDskaAN"
positive: auth0:\n  token: iTxlNhj1rjVV56cDrzTxSu0ChnfXntq3Z73rXqzGHeKXxoVFGp678fX7uHcDdthj
negative: export AUTH0_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AUTH0_API_KEY="kKHF7wexfyCPOMAvsXUYxAKPLymGKuKSQg2QtwOmf9739LPUgEg6GJofJRJ1AU"
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
pattern: (?i)(?:\b|_)(?:autoklose)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AUTOKLOSE_API_KEY="6wqfQ7aYhSGNrIohBOb2fTpI65Q6BqxM"
positive: autoklose:\n  token: MIgnzJWYiOyju3IqrcskXLZnedSVmKin
negative: export AUTOKLOSE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AUTOKLOSE_API_KEY="bY5mXh8qGWEQ31u2M0nfFcfngugpGz"
negative: export AUTOKLOSE_API_KEY="${AUTOKLOSE_API_KEY}"

id: autopilot-api-key
title: Autopilot API key
severity: high
keywords: autopilot
pattern: (?i)(?:\b|_)(?:autopilot)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{33})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AUTOPILOT_API_KEY="cvnvlQtTUzG8P2eXHDp6oGhQeXCSvzabT"
positive: autopilot:\n  token: z4hTndDwN7uoRC3BFPfnZdQLEDAUPC1cc
negative: export AUTOPILOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AUTOPILOT_API_KEY="Na1U9VaXmjfFtgMVMd34BOLwLx7bzrz"
negative: export AUTOPILOT_API_KEY="${AUTOPILOT_API_KEY}"

id: avaza-personal-access-token
title: Avaza personal access token
severity: high
keywords: avaza
pattern: (?i)(?:\b|_)(?:avaza)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([0-9]{1,7}-[A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AVAZA_API_KEY="745708-KMsFZ6WQfBn4K5Y1f9EREvJkpuMtRClftJYF8Oi0"
positive: avaza:\n  token: 688861-zEGimnOQDEWpi0RA3KsLUpBwopiDbIMSS1Zi93B5
negative: export AVAZA_API_KEY="0-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AVAZA_API_KEY="0-iZfClHr2CZDOr5q37RZIvPaW5H15LnBvw6V2sw"
negative: export AVAZA_API_KEY="${AVAZA_API_KEY}"

id: aviationstack-api-key
title: Aviationstack API key
severity: medium
keywords: aviationstack
pattern: (?i)(?:\b|_)(?:aviationstack)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AVIATIONSTACK_API_KEY="QdLiaIPrxP660tZbIh7J24IhLNh61s1p"
positive: aviationstack:\n  token: L51dTvw8XG7ewtMdXDUFQndm9jM0v8ic
negative: export AVIATIONSTACK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AVIATIONSTACK_API_KEY="TbmJB1O20oNxhzoYge7ymlfJXtKBgE"
negative: export AVIATIONSTACK_API_KEY="${AVIATIONSTACK_API_KEY}"

id: axonaut-api-key
title: Axonaut API key
severity: high
keywords: axonaut
pattern: (?i)(?:\b|_)(?:axonaut)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AXONAUT_API_KEY="JXxyRkR9C0lu7PILguvKdCw0kEqUesUn"
positive: axonaut:\n  token: l2CR3y5Tfe1LwTlFEl6IHLMtrOFzzZ9l
negative: export AXONAUT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AXONAUT_API_KEY="wyo73mtC0f9lFefl1X6PbQHYUxxLbj"
negative: export AXONAUT_API_KEY="${AXONAUT_API_KEY}"

id: ayrshare-api-key
title: Ayrshare API key
severity: high
keywords: ayrshare
pattern: (?i)(?:\b|_)(?:ayrshare)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Z0-9]{8}-[A-Z0-9]{8}-[A-Z0-9]{8}-[A-Z0-9]{8})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AYRSHARE_API_KEY="LI8QDSIP-OU1WUKZX-1GCDB6EF-RY2N6GMF"
positive: ayrshare:\n  token: W1NSWUCQ-TCLGGXTM-FRC2M5PU-WOH3X4QU
negative: export AYRSHARE_API_KEY="xxxxxxxx-xxxxxxxx-xxxxxxxx-xxxxxxxx"
negative: export AYRSHARE_API_KEY="LR05SO-R7PEVE3G-2KV9SB07-372IIUW8"
negative: export AYRSHARE_API_KEY="${AYRSHARE_API_KEY}"

id: azureopenai-api-key
title: Azure OpenAI API key
severity: high
keywords: azure_openai azureopenai azure-openai openai_azure
pattern: (?i)(?:\b|_)(?:azure_openai|azureopenai|azure-openai|openai_azure)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AZURE_OPENAI_API_KEY="j22AlhlBetIkcv2R88ndhJbpPi7AZjxB"
positive: azure_openai:\n  token: CcxzC5i7Ic5xUcEKa9Dnyz1uMBVDoeze
negative: export AZURE_OPENAI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AZURE_OPENAI_API_KEY="IskyLHzcmYbrdOlNhIzZOConkf47Rx"
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
pattern: (?i)(?:\b|_)(?:azure_search|azuresearch|azure-search|search_service)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{52})(?![\w-])
entropy: 3.0
confidence: medium
positive: export AZURE_SEARCH_API_KEY="sLD5JWCKcoKZnuvDvCxmYTjd0VIR0YrSQWCVYsN96MlTXmUDYy8P"
positive: azure_search:\n  token: pVLbOASO2yywx4ingok8OLWQRmFIjHaifxMbQNGToiYKmYn576LJ
negative: export AZURE_SEARCH_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export AZURE_SEARCH_API_KEY="e0FDkOszSq1nIbIZO9LnfzgArdMR7GSaVYk0PwAtIdah860srI"
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
positive: DefaultEndpointsProtocol=https;AccountName=contoso;AccountKey=WOLKPHTxnnwHMrJTBSAWqX1DK03pHjKZXQlIGU2l9KfnLA1eKjXmaCKxFHYase0Socm8BdKN2xTsjt3CYDSSAI==;EndpointSuffix=core.windows.net
negative: AccountKey=xxxxxxxx;
negative: AccountKey=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==

id: bannerbear-api-key
title: Bannerbear API key
severity: high
keywords: bannerbear
pattern: (?i)(?:\b|_)(?:bannerbear)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BANNERBEAR_API_KEY="9S6FBxAOvQIscgkxnDej8KPq"
positive: bannerbear:\n  token: 1IoEbrhN8RSV9mALMe6UKMyP
negative: export BANNERBEAR_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BANNERBEAR_API_KEY="VSHQpiodS68F0f4ep5C7fn"
negative: export BANNERBEAR_API_KEY="${BANNERBEAR_API_KEY}"

id: baremetrics-api-key
title: Baremetrics API key
severity: high
keywords: baremetrics
pattern: (?i)(?:\b|_)(?:baremetrics)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{25})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BAREMETRICS_API_KEY="SxMjY2NP8NET8jmmhq62YrnA2"
positive: baremetrics:\n  token: 32djiFOJatSLaUfl6kebYpq5s
negative: export BAREMETRICS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BAREMETRICS_API_KEY="KsPdv0IeGAYeLPo3L56vz7D"
negative: export BAREMETRICS_API_KEY="${BAREMETRICS_API_KEY}"

id: beamer-api-key
title: Beamer API key
severity: high
keywords: beamer
pattern: (?i)(?:\b|_)(?:beamer)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b(b_[A-Za-z0-9]{44})(?![\w-])
entropy: 3.0
confidence: medium
positive: beamer=b_WawK8k65Un7gMlYuSQhzLXJO2g6pZVjbGiRMRc7bHon0
positive: BEAMER b_lU7tcm22xdS6WL75dBhZbtJFMpQsFkptzRIlrYAJLsUy
negative: beamer=b_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: beamer=b_WoTrLqRoXk4yzdGecrorPYNXhxDbkee4kFbU6gnKqi
negative: beamer=${BEAMER_API_KEY}

id: beebole-api-key
title: Beebole API key
severity: high
keywords: beebole
pattern: (?i)(?:\b|_)(?:beebole)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40,42})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BEEBOLE_API_KEY="kBOX0Iwk6oaUctR58nmMTRNgaEKXMwfLYZQYrTVpk"
positive: beebole:\n  token: BJozpgHEMxCtJqsoC1TVBTvJmbuWAY78VzZO8CI0D
negative: export BEEBOLE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BEEBOLE_API_KEY="euYkgz7IUonn6ETbXHd2sg0ugil6jpcVop4i4Q"
negative: export BEEBOLE_API_KEY="${BEEBOLE_API_KEY}"

id: besnappy-api-key
title: BeSnappy API key
severity: high
keywords: besnappy
pattern: (?i)(?:\b|_)(?:besnappy)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BESNAPPY_API_KEY="nBVqyUjHaPYPxgVz2WqvIS34mxjC2z9stptV98A9qb4S91fSLoZLk7DNXz3KAoWW"
positive: besnappy:\n  token: HdkOZq9jKDelZY15IWt1R1AvZuyXnw847Vkv8ngMNqAFh9MPuS4R3N7WAAFxypBX
negative: export BESNAPPY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BESNAPPY_API_KEY="HNfbmQrDk1ZbXrq7FG2i0vTw7ZmkAMpYgS88lrEkYWZMKYxTSxCy9bfMBoI7qU"
negative: export BESNAPPY_API_KEY="${BESNAPPY_API_KEY}"

id: besttime-api-key
title: BestTime API key
severity: medium
keywords: besttime
pattern: (?i)(?:\b|_)(?:besttime)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{36})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BESTTIME_API_KEY="5DTarL0MC7ZzJFUNsxxg3KIQCiQq6YP2NyW7"
positive: besttime:\n  token: OuC0BLqNZu8a21rsD5q31uI8mX3FpJyIpD7n
negative: export BESTTIME_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BESTTIME_API_KEY="qyjMBKj85rTfPuM5U501YwHqJdl1SJ7KME"
negative: export BESTTIME_API_KEY="${BESTTIME_API_KEY}"

id: betterstack-api-token
title: Better Stack API token
severity: high
keywords: betterstack betteruptime logtail
pattern: (?i)(?:\b|_)(?:betterstack|betteruptime|logtail)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BETTERSTACK_API_KEY="wj7vWofF3084rHpt6Fuhuaon"
positive: betterstack:\n  token: AlXkxMqGJALl4FqdntdqME1T
negative: export BETTERSTACK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BETTERSTACK_API_KEY="wylPH1Mc4VfAis2BW9FtVA"
negative: export BETTERSTACK_API_KEY="${BETTERSTACK_API_KEY}"

id: bitbar-api-key
title: BitBar API key
severity: high
keywords: bitbar
pattern: (?i)(?:\b|_)(?:bitbar)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BITBAR_API_KEY="Fke3Nb5i3N2l9wzdK1v8ZCCoyGQCiz3Z"
positive: bitbar:\n  token: 0PXMpPXgpb9dwOL4ctLjF8F1ZGYAW51V
negative: export BITBAR_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BITBAR_API_KEY="ZJ7Hwyu7tOsjaPpa3hObxRM8e6Vho2"
negative: export BITBAR_API_KEY="${BITBAR_API_KEY}"

id: bitcoinaverage-api-key
title: BitcoinAverage API key
severity: medium
keywords: bitcoinaverage
pattern: (?i)(?:\b|_)(?:bitcoinaverage)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{43})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BITCOINAVERAGE_API_KEY="RRjHUkTSAHT7tTpd1MN8VnxlG6n5OwvIkNQ4I0wHvmW"
positive: bitcoinaverage:\n  token: DVjvrJazhHKZITGzpjMiRQPIsmmVC25OhkQj3S6nBQK
negative: export BITCOINAVERAGE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BITCOINAVERAGE_API_KEY="ddnnPzWLKOhEmHHrSmXnClPHQGWkSyRZSNkyCD1JG"
negative: export BITCOINAVERAGE_API_KEY="${BITCOINAVERAGE_API_KEY}"

id: bitly-access-token
title: Bitly access token
severity: high
keywords: bitly
pattern: (?i)(?:\b|_)(?:bitly)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BITLY_API_KEY="aMSr0URxjNjy4v4z6GKN4JXCFOtDuDePw2r6VW0F"
positive: bitly:\n  token: 9G9W0MVGpbiaYXewn1HP71epbUD302dJ0C81T1Tl
negative: export BITLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BITLY_API_KEY="xL3i0VknT0Yask6vGDhlMAfkYlQ0dcCHpr5KBL"
negative: export BITLY_API_KEY="${BITLY_API_KEY}"

id: blazemeter-api-key
title: BlazeMeter / Runscope API key
severity: high
keywords: blazemeter runscope
pattern: (?i)(?:\b|_)(?:blazemeter|runscope)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: blazemeter=0aa79da0-a4b7-280e-ddde-4dbe36e510cd
positive: BLAZEMETER 8fcaaa5c-ac6b-a66b-548a-b6d555c46f7a
negative: blazemeter=xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
negative: blazemeter=2b6800e9-caaf-f95d-63e8-458ed527a8
negative: blazemeter=${BLAZEMETER_API_KEY}

id: blitapp-api-key
title: Blitapp API key
severity: high
keywords: blitapp
pattern: (?i)(?:\b|_)(?:blitapp)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9_-]{38,42})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BLITAPP_API_KEY="eTQGDKFmNSwMuSUpqLUjJinG7VJ9zG7F1m7H93xoZa"
positive: blitapp:\n  token: lxqoLwhXWQGSSGnqpnJ6NRYrVQQTf72HJxi2cD7Xr
negative: export BLITAPP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BLITAPP_API_KEY="mAuWcCzgkkZaU6PKlTcQqfS33dJl9eigsWU9"
negative: export BLITAPP_API_KEY="${BLITAPP_API_KEY}"

id: blocknative-api-key
title: Blocknative API key
severity: high
keywords: blocknative
pattern: (?i)(?:\b|_)(?:blocknative)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BLOCKNATIVE_API_KEY="f8bfa580-8843-b5cf-9456-1ecb4cbe525f"
positive: blocknative:\n  token: cea592f3-c8e9-7fb5-dde4-2142ca827200
negative: export BLOCKNATIVE_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export BLOCKNATIVE_API_KEY="0ee710e8-e2fb-1455-c84d-cc62b95ee0"
negative: export BLOCKNATIVE_API_KEY="${BLOCKNATIVE_API_KEY}"

id: blogger-api-key
title: Blogger API key
severity: high
keywords: blogger
pattern: (?i)(?:\b|_)(?:blogger)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{35,50})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BLOGGER_API_KEY="A3x0Siyy2eNHD70zen2jUpOD3pskN3nmobYFWNz5yqJDl1TjT0"
positive: blogger:\n  token: SWi1nXlHrz0wlBnISEEyNTS9gqB1zV5uVaqlYh
negative: export BLOGGER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BLOGGER_API_KEY="D17OEbqgA2sfkrwXYr6WKc5VURygDaFMx"
negative: export BLOGGER_API_KEY="${BLOGGER_API_KEY}"

id: blynk-device-token
title: Blynk device auth token
severity: high
keywords: blynk.cloud
pattern: (?i)blynk\.cloud/external/api/[\w/.-]{0,40}\?(?:[\w=&.-]{0,80}&)?token=([A-Za-z0-9_-]{32})(?![\w-])
entropy: 3.0
positive: curl "https://ny3.blynk.cloud/external/api/get?token=aOrPouMXJcsYMWhuqBuWnvKBMlA6vAl3&v2"
negative: curl "https://blynk.cloud/external/api/get?token=YOUR_TOKEN&V1"

id: blynk-organization-token
title: Blynk organization access token
severity: high
keywords: blynk.cloud
pattern: (?i)(?:blynk\.cloud/api/[\s\S]{0,120}?Bearer\s+|Bearer\s+(?=[A-Za-z0-9_-]{40}["'\s\\]{1,8}(?:https://)?[a-z0-9.]{0,12}blynk\.cloud))([A-Za-z0-9_-]{40})(?:["'\s\\]{1,8}(?:https://)?[a-z0-9.]{0,12}blynk\.cloud)?
entropy: 3.0
positive: curl https://sgp1.blynk.cloud/api/organization/profile -H "Authorization: Bearer Aob3mxkau3MJNqeNVDCEwLZjXxpWmaT6qnB6u50K"
positive: curl -H "Authorization: Bearer Vx6MFinNdTntbiWP1v7Ta66aeaJRVvJ4Ow1v4BI8" https://ny3.blynk.cloud/api/organization/profile
negative: curl https://sgp1.blynk.cloud/api/organization/profile -H "Authorization: Bearer <token>"

id: blynk-client-secret
title: Blynk OAuth client credentials
severity: high
keywords: oa2-client-id_
pattern: \boa2-client-id_[A-Za-z0-9_-]{32}(?::|&client_secret=)([A-Za-z0-9_-]{40})(?![\w-])
entropy: 3.0
positive: curl -X POST -u oa2-client-id_rmspld1zIlbYTbscj6RidyWOR1sdtNp5:OhCqSb2rliKFwKsFLVkZQaHeqpeRrTLPbZf35Q9t https://sgp1.blynk.cloud/oauth2/token
negative: -u oa2-client-id_abc:secret

id: bombbomb-api-key
title: BombBomb API key
severity: high
keywords: bombbomb
pattern: (?i)(?:\b|_)(?:bombbomb)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9+/]{80,100}[=]{0,2})(?![\w=-])
entropy: 3.0
confidence: medium
positive: export BOMBBOMB_API_KEY="rBVSmvBF13gTDDf4C4B5KnoqE5gD8ncpHyeoHMCPnXjHrHQelJVWVtJJ3u1rMhicr7os0XgxKVxk81fIqIWqYjwFOYmLTOL3ON"
positive: bombbomb:\n  token: w2QrnDAZjLGbFnUFhtQiiese3dOgrkkdPLKezR24v95lw2ByYkvVqEUlmJmnf9xFMdOd8w1oJaM00xlm3wfHANyP5=
negative: export BOMBBOMB_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BOMBBOMB_API_KEY="f2P7JOJCauPNL0lDMAvzMRRr5OuxHIbmu3O6TjJsqqWQa2EyzRcjOxeMHTFOVnOTtPUehY3Egv9IIb"
negative: export BOMBBOMB_API_KEY="${BOMBBOMB_API_KEY}"

id: boostnote-api-key
title: BoostNote API key
severity: high
keywords: boostnote
pattern: (?i)(?:\b|_)(?:boostnote)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BOOSTNOTE_API_KEY="xOlVPVnIkKPdvoduCPP0igWkN2bAbB9W9IklkSMgwhDJJE49XM8OBcLLkFWo49Gx"
positive: boostnote:\n  token: UVvtYer4gDjboCn8nSRRXYWD6YCJrE0azq2koe9KF4QbcaVANjlybAiBeoiXGKJP
negative: export BOOSTNOTE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BOOSTNOTE_API_KEY="n7EgMfCmhUiKWEB6DkSSU4WQaV7nCtydSpy3qusKLXXSfceBHr1aGuST2Zfdtn"
negative: export BOOSTNOTE_API_KEY="${BOOSTNOTE_API_KEY}"

id: borgbase-api-token
title: BorgBase API token
severity: high
keywords: borgbase
pattern: (?i)(?:\b|_)(?:borgbase)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9_.-]{100,1000})(?![\w.-])
entropy: 3.0
window: 1024
confidence: medium
positive: export BORGBASE_API_KEY="NCfUgEPlhWtAnqUs1r1v8EdEWTMfzpPus1zia7ZYW2tzX6FYd6dOhzrW1tySAJTBKrU9gYiGsuzrawRZuzDE8I2gShkYlffGJ9Mx5ugZnZjjltJ2BTvIfJsHO8ePBYLqI5CNq1jZDhQHSC7TCAXZo1L9lIhsk7aDwpSfMyXYoKPQHuObTfu3iECfmw1RiGKPvglm1Ls3TsdgmvgKTbtGwW33GHU3kNwRJvqYPLJmqTQvloN9acJHA2waznTDPOrMeQpCLkZyOUddwjkR1HagJTzkpHp2wng5BkPHwHhxNBlR5Ppk3yzlYrMTCVE71U1CQN1C8q0kcSlHwi5qMKr3k9DqYUkZ0Sk322nOg3wiMG5bsOrwyZSrnsA8p1WJkdPq86DdOLQFwt2VpuORLMYlxYiZ5Z0EIrOBKMsh2ltxjGkwaYbUgUhetH8z6FTTFZsYET9KsanDd9fS1YajD3fuIpHkLhUZkSaS9xWanysnILyCn"
positive: borgbase:\n  token: mcHQJcfOAjBky1vyBFa397qVFDf39HMOOapUwkSRNrHuQoXspzgd3XjfLnqIDy4GRUzGGojEOdZ2EcseToy2q9jFxhzCMzgAT2KuILuIcmSw8DkmjknOBiiQw9112hJG4xkir5tJn
negative: export BORGBASE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BORGBASE_API_KEY="3LM94wWhV9exSSKQyrB5M8wROThq7Lg400GEgIn409l6HTLlmAcSn6179GypAM65cxNIi4Nm1S3dCgb6HdUoFaeAVQogKFvvMS"
negative: export BORGBASE_API_KEY="${BORGBASE_API_KEY}"

id: box-api-key
title: Box API key or developer token
severity: high
keywords: box box.com
pattern: (?i)(?:\b|_)(?:box|box\.com)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BOX_API_KEY="AztM5Oiy1sqUES19YfCbOmxGb0W9jhzI"
positive: box:\n  token: yVgjdtddkTDyTd6Br4xl7wROnxqf6l5K
negative: export BOX_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BOX_API_KEY="3UdXpmnlnb4SB1U6P3DcUWofztfnNE"
negative: export BOX_API_KEY="${BOX_API_KEY}"
negative: self.checkbox_key = "ofRSJvZmDErbqfRJoC0mNhy9gcZ1O9Cz"

id: brandfetch-api-key
title: Brandfetch API key
severity: high
keywords: brandfetch
pattern: (?i)(?:\b|_)(?:brandfetch)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BRANDFETCH_API_KEY="ZJHkAQVIp3pI4r3K7CYktwhlYcFWo7nMU9ouoeR7"
positive: brandfetch:\n  token: cBZrR0RfwpMCVM8XmxxYedAywBk5BWEFs3pwm2Oo
negative: export BRANDFETCH_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BRANDFETCH_API_KEY="Vdz1yt1wDi5K7AnLUNw0oFQKwx7cN1dnlrexCO"
negative: export BRANDFETCH_API_KEY="${BRANDFETCH_API_KEY}"

id: browshot-api-key
title: Browshot API key
severity: high
keywords: browshot
pattern: (?i)(?:\b|_)(?:browshot)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{28})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BROWSHOT_API_KEY="VEj6r4wJDqqTrYnt6QJxmPJoWKA9"
positive: browshot:\n  token: zzBJtgBoAQhCPGf7CGmZfWe7LS10
negative: export BROWSHOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BROWSHOT_API_KEY="dfnW7CGl9zSWbgYkL6SNBfdxSS"
negative: export BROWSHOT_API_KEY="${BROWSHOT_API_KEY}"

id: bscscan-api-key
title: BscScan API key
severity: medium
keywords: bscscan
pattern: (?i)(?:\b|_)(?:bscscan)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{34})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BSCSCAN_API_KEY="dLWdlNa9DClh5Y4uM3m3JRqohrDHqQJxw5"
positive: bscscan:\n  token: FBKKrbJJMKbs9V4pvRNmjQtLvwoYcd9Bte
negative: export BSCSCAN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BSCSCAN_API_KEY="22mWja6o9POFTYrDWLH9qr4MTnZQIQT8"
negative: export BSCSCAN_API_KEY="${BSCSCAN_API_KEY}"

id: buddyns-api-key
title: BuddyNS API key
severity: high
keywords: buddyns
pattern: (?i)(?:\b|_)(?:buddyns)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 2.5
confidence: medium
positive: export BUDDYNS_API_KEY="oNriZ6AnwlffpPHhvvWzxGkppd5yzbUG5KayBt3e"
positive: buddyns:\n  token: 3ZmeWLXR9M3FCQMbtLkqb3BAfgNRfCn0Apl65Bb2
negative: export BUDDYNS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BUDDYNS_API_KEY="iriG8QNf6jwoSgIxblnzYWXXwwdk4Qbvrizj7b"
negative: export BUDDYNS_API_KEY="${BUDDYNS_API_KEY}"

id: budibase-api-key
title: Budibase API key
severity: high
keywords: budibase
pattern: (?i)(?:\b|_)(?:budibase)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32}-[A-Za-z0-9]{60,100})(?![\w-])
entropy: 3.0
window: 512
confidence: medium
positive: export BUDIBASE_API_KEY="DSlbhmSNgMFdhNExXjFUR1PaY7iMSuOx-WIQnxvch86vOtRTEq51CUwKQDmwlKrgiUi4032O3jJ79VAVUwbDW2ulROLryrluQM1PL79La3"
positive: budibase:\n  token: 4hR3GLew9kvtJ8d3FIrRNHldNDAyj6xR-2A1UL6J7gDaojsZtuicYLZIMglhj2lMIIiPfZFPRRAoZwzIkcc4CtgmBNO6xW78PhlVkZje1p8i9TSQiM
negative: export BUDIBASE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BUDIBASE_API_KEY="Cgq3k99yxTiLbiAjEwxKWIPV3JvnIBUM-Sj7WruaZ2mci7NhyQyPlZKOs8j0Fw1cJHhElyVZzcvuOWnu07uQFDjNdXI"
negative: export BUDIBASE_API_KEY="${BUDIBASE_API_KEY}"

id: bugherd-api-key
title: BugHerd API key
severity: high
keywords: bugherd
pattern: (?i)(?:\b|_)(?:bugherd)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BUGHERD_API_KEY="HssGPs25AueRmXBMw3m9BP"
positive: bugherd:\n  token: 7QaSpQSuzylHOncbQHbh1m
negative: export BUGHERD_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: export BUGHERD_API_KEY="CTSlrnqW4GNGDNmsEsiu"
negative: export BUGHERD_API_KEY="${BUGHERD_API_KEY}"

id: bugsnag-api-key
title: Bugsnag API key
severity: high
keywords: bugsnag
pattern: (?i)(?:\b|_)(?:bugsnag)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BUGSNAG_API_KEY="d308614f-1eea-8436-51eb-0698623edff2"
positive: bugsnag:\n  token: 4b640b5d-5706-da6a-b7b1-288ec71aa443
negative: export BUGSNAG_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export BUGSNAG_API_KEY="6021e535-45a4-d306-5a41-b5ad6b2df3"
negative: export BUGSNAG_API_KEY="${BUGSNAG_API_KEY}"

id: bugsnag-notifier-key
title: Bugsnag notifier API key
severity: high
keywords: bugsnag
pattern: (?i)(?:\b|_)(?:bugsnag)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([a-f0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BUGSNAG_API_KEY="8631c104451c61451da3c73fbdff6161"
positive: bugsnag:\n  token: ebb486157168630eceb84e4672cef9ec
negative: export BUGSNAG_API_KEY="00000000000000000000000000000000"
negative: export BUGSNAG_API_KEY="04c7f52f1eb9b571003ddb08cd5df5"
negative: export BUGSNAG_API_KEY="${BUGSNAG_API_KEY}"

id: bulbul-api-key
title: Bulbul API key
severity: high
keywords: bulbul
pattern: (?i)(?:\b|_)(?:bulbul)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BULBUL_API_KEY="UmV5EhkeoszA3gSN6cW8wcuz2cfuWuEn"
positive: bulbul:\n  token: bSsZPttCOYoQaEztzbhWaL80tXnyMAek
negative: export BULBUL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BULBUL_API_KEY="ahbUkX2pxvzsPCRd17k0bm2ESxVKno"
negative: export BULBUL_API_KEY="${BULBUL_API_KEY}"

id: buttercms-api-key
title: ButterCMS API key
severity: high
keywords: buttercms
pattern: (?i)(?:\b|_)(?:buttercms)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export BUTTERCMS_API_KEY="oXZOXJcMwXSnXtQtiaEQsdvOjwDja2y2JD2bCSJe"
positive: buttercms:\n  token: t329UEGmGiDTgYsXldbGEzD1AsR8vzxCvLF4OBrx
negative: export BUTTERCMS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export BUTTERCMS_API_KEY="FtZzDlCzMO5nI80pAbJ9N36NAxxgVXrSjNS7Hl"
negative: export BUTTERCMS_API_KEY="${BUTTERCMS_API_KEY}"

id: caflou-api-key
title: Caflou API key
severity: high
keywords: caflou
pattern: (?i)(?:\b|_)(?:caflou)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9_.-]{100,1000})(?![\w.-])
entropy: 3.0
window: 1024
confidence: medium
positive: export CAFLOU_API_KEY="0DMr6gC7F2ACYLtIlHuSSCX1ghUeFIE13Z4nEYUcn66NF2fvi5jb89i5rUJYzgaMVOyQR2yYHGGonlFrmvbZPsAxRE03yJdDy6Qy294Jb2VpZK4xlORnNsfsxFVhIiyt3T0TetsWT6HwhP3LDZcrHTUqlzhUyEzL4pSOUKFUZjVi6v0CSZk1YoQaLCnc0EEafiNkLtTAw7gZLLwO4HzH77pRx1uwbVqXOjNZMp1L89KgmKeHArmo76UsObdYK6igSS2EcEgBaPyLY5wdg98GdSezGh8phDbz6dxQMFuOpfmnpxkrcGB0RYqSvBn8G2Oplx8TPs4YFIpABGNdgUCncWSPNpVbNgazYsxNbI1PgfpZXgShqr"
positive: caflou:\n  token: JoBclArAkectOwzx4ztK2prltSF4xPWvVvpkUXJRbCxGrtTyKOSn6lzu9Mz1qOioDzIFvqfXBEn5jKvKfRGdqkg1mSAFaUQZOAXo9J6aKNogH5ThjPNUB2ZWKE9EgdK22SXulZJj4m8HGiEpmqte9XBmhQdioChjiqY2MPeo97Pr150fUm0HH2AMw6Uix0V4OXl1futmQZc6oOFvUrlOZQDvSJuBQc1gjtc1uvgNyjB8OpVB55WCYov9yMj6oy29EH3lUeq7WBVd9eBfkNthVLv2hAEQ6wV8dInja6tnQVxMaQPQ0S86eS8nypDduTvm6OFoLTJ8uOHMKAJGR1E0WsFAWgxQJMRfbrhF81Jkh4bHHJLsJWZHaU9OozvP2xnRU3Z6GCwsUZJgQalVErqloFgOl8D2t9mqUXo4uCNrzYh4403T2IE3jY9TWpxbCppA8WXdoV4D88bYvEl7bdZYcYoPfGyVXfnm6ikLAwgZKxhZfXbygqnsgpWtoH71T6oaURwQqygVz9kqj6nMNDvHAVGtYIIBodhadiXcu6YvDW5HT8BomNkJUHEdsjcluqiyJoswKOxZ3cgF3YUuJGfqDY3NaAam8gfHwsZCfIN5fLRlUPofxoTbCHQKLTI1wrMNQoxgKCDQ9gO8M5aSm5ActzW2Zpz6napdtC8Knb1g1NIMaNNRSY3bMlHAdtIPF6hzZwmLWdIWMeyWM7ONsZYUPzWzWO4REKlkyXchZSur4S4tNU5frwv1O4wepEdOcmlaPMUd0rb0rl0QraHI0Hh1i7WdyRWMfJshvphdmderDZOKrIe6d94SKhcKJmKjTGhFnK1zwu1jmNaZik8JdBrAHmbc4QZxZvFhJZckJXptvKG8mDJT
negative: export CAFLOU_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CAFLOU_API_KEY="Ba4t2BurV7ifRCfTmjJyTmwN52kfgvAJMOGaoOa3RPhw0rSQrMLiQDjGqL7OPYV2dgOW5BLbJWSNcyheIMnkPfaxoAjBrl16Nf"
negative: export CAFLOU_API_KEY="${CAFLOU_API_KEY}"

id: calendarific-api-key
title: Calendarific API key
severity: medium
keywords: calendarific
pattern: (?i)(?:\b|_)(?:calendarific)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 2.5
confidence: medium
positive: export CALENDARIFIC_API_KEY="5y794RVYkFohTFwobpWyKNbNnCofMbBA"
positive: calendarific:\n  token: Gw28nOesR4bNuHxkVm8Dp9XRhr64rTdn
negative: export CALENDARIFIC_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CALENDARIFIC_API_KEY="uIMJv9DzrkVQ6fF3i3qwZm9d3thUIn"
negative: export CALENDARIFIC_API_KEY="${CALENDARIFIC_API_KEY}"

id: calendly-api-token
title: Calendly API token
severity: high
keywords: calendly
pattern: (?i)(?:\b|_)(?:calendly)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b(eyJ[A-Za-z0-9_.-]{50,1500})(?![\w.-])
entropy: 3.0
window: 2048
confidence: medium
positive: export CALENDLY_API_KEY="eyJN0sCj5OSc1pPbiHUuZ4qgmievISWwWkecRgX5fr2hudSySEqUKKkDDCDuWlzdYoM7eMURUppS3tRoUfSJaz1ZMAnajv72qC43ca1DdAlTNUgDW1tcKWaclw2RQQ2UxtNYgijUIFKa3PRj9C4qNq7S3cAeStDEmCNIfYkzji9RzEXntbDixi55PofZ63DbrwBnmODzX5Gfn3yqtNxlD7SApj8G6FzpMAXaklPIY1sUs6APtCmgfaXqF7kG4qyWxgxACAmj4zTnZ7RI9SBlLj34WRU7WezMk42mmhho08Sz4a1MUFDSiJFo6b3NjajeL0aJbgL7jC2Xdfk3rvG0n7PRibGmOAOOXcL9Qw4NYUzMtFNQFWEe0ARslfYpJz9ajn02yv3OhEudc4SdysCRKC1TYjNncVilLggeszydxqEC9TfwseHZGfVx4Y3IWf3G9WBikONGnfCYXsOOGiI8LBmyAU5u2TqftspKyyU2sFb3gDQKOkgk61x6rpwOJ9WXnQuVFNOSaz0eXiK5B1zQodCsOC2pEIpuL9GWjwIB0knAdRQlQDW5x4vg4WrooFUpeFRwQ8QRaoiz545YugIlswGO6DAFnAi3IZcNQm3c9yrObmHEQ2Pj0rUzY1OXvJzl2Jglby3JZLLcQ2pSgSzmJ6Bs1VBXmJ8fVIq4qXwluvKIsbLup2mSYW"
positive: calendly:\n  token: eyJdxqhZENkr4S4KmHbIe2y8R42eVP5spUk4W0BD7dvSRDkJ0a02cVSiyYSUNKnIAFQamxVZV3sdWOCLREVLmJ9aWV1PwQxa50eX0prfWOYMMhrjk3MYi25cxhG5VJ7x6eJ7yCURRRZMJCcKrPwyBqIs2PGYfVXnnwMlMco7FxnXnb1q4qpEux9M064pmLcF4vRCN3wCYZ5z6GH54EdZD6H3zKFAqkwlpvvnApg5vb2JcEfbfFTBnZ2EdEappcp79BXzJTj3vC8N4qebJI3x00uEOE3wVIHN2uRS287lrifKcbAawdWhfnkQ23insyWjwKYZuiLY3r9a2WHizgud1G43C3TdeRHI6cnyb792Cn1RYUNnIwmfSs9H6aafchzjJjfCPHX5FrTsvzt6sm9bR1pW72MOv1w0GprH7QuXER3Hsrsmg02cdU7FFjhCfstghOokiY49Dil5AQz3DAvfPj3q0Ugfq3VhbOPljGxHOuxljaZMN5Vo1jdNki9O1332MoGeQfIbcVUAoFNfJ7MvZWmsxV9vyq3Z1gtSxkObkUSkcsSxx9MKW30vBLKcMswyAJJd50uy8H3bXMcZ0tKowkAR5KTrWhum05CmxIaf3L2P4Ig0r2TSKC41LwaCLXxyMWPC5zdCPECRrgojlgWaz4VceKAhMIUKLnzlbo9ZagqGf89qyK2MzPNsy8WVOvA6iuuH2TSrxcCBGhKKLUBTjErj2MbK7upD386z5sI1HhGrxNsbPHWdNp1z0g2WXx1cDgEDIHnxOvJCteHzK8RyOOAei0AkztBDWrhBhOFkX8UvaVHZrccgGU0y4HKgMkSLlvID9j7ByA66O1kc3pCc8WEkE3ekIZgBB2doTGj0yJuKhMRcWnhlLDeCCeTTnJQBYEsyE6MHFeCbsXiegIPMytWCRXaElkRglKDVOA4geVVkREABPvGH7BssQ6Zm8EPq7ZNgslxFVCcoVZ1htU9QM6T10hVVJ9o39gwjX3SVjNHkV5nr24maxQHH7VaGCO1je3TpmxYo7wnP8Q6uqfoQhWI4p93ztbwymYG96y
negative: export CALENDLY_API_KEY="eyJxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CALENDLY_API_KEY="eyJT0pDjqm25mBpRmgugQj6rN1zUmOGNg1eMFg4GnymrheJeIdH"
negative: export CALENDLY_API_KEY="${CALENDLY_API_KEY}"

id: calorieninja-api-key
title: CalorieNinjas API key
severity: medium
keywords: calorieninja
pattern: (?i)(?:\b|_)(?:calorieninja)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CALORIENINJA_API_KEY="Pib8zlpNEVx0uQkRjn7f9tpEFX5qgZDvyJYoxmDR"
positive: calorieninja:\n  token: n6b8lw1vSW4pr3CzzD9AEQfgXXnVmvkd89Ql3DRE
negative: export CALORIENINJA_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CALORIENINJA_API_KEY="5ike6Cr9VPRFj5fpXcBqXoRIHQeja7WcGv12J6"
negative: export CALORIENINJA_API_KEY="${CALORIENINJA_API_KEY}"

id: campayn-api-key
title: Campayn API key
severity: high
keywords: campayn
pattern: (?i)(?:\b|_)(?:campayn)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CAMPAYN_API_KEY="WV9Ed8gUbRuzAMie6RucTpt5FDN3iZlf3YK60FswmrXeUZmvEcepEykBbSACpDJ2"
positive: campayn:\n  token: WIGLAgyPBeHDe3MkLHnH2K3HKlzAH3bTF8iUtQjnJvDr9Zoou13PdjrEZLYTltkI
negative: export CAMPAYN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CAMPAYN_API_KEY="ZDRdSlSTssNoFdcBBrfznkVQKF1vUXmTEOfBzB2TNctULkQ5gAvj8zbldZcIbv"
negative: export CAMPAYN_API_KEY="${CAMPAYN_API_KEY}"

id: cannyio-api-key
title: Canny API key
severity: high
keywords: canny
pattern: (?i)(?:\b|_)(?:canny)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CANNY_API_KEY="17ef7c87-9530-f265-991f-09de83fb8f7f"
positive: canny:\n  token: 5833f995-8f1c-d6c8-9c29-3d4151dd6ed8
negative: export CANNY_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export CANNY_API_KEY="11d532c1-5d7b-f351-4bb6-624723632c"
negative: export CANNY_API_KEY="${CANNY_API_KEY}"

id: capsulecrm-api-token
title: Capsule CRM API token
severity: high
keywords: capsulecrm capsule_crm
pattern: (?i)(?:\b|_)(?:capsulecrm|capsule_crm)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9_-]{60,80})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CAPSULECRM_API_KEY="g7E5PvgR4NkxipLkw1An7DZ7QZDaKPkD7kqALECs3GH8jWN9dXsXPvon8gPbeje9GTGjgWkUwWfolPxv"
positive: capsulecrm:\n  token: TOYozfcblnjJoMolDRtCUfBuy17QkCd1OSHpvp42MddbPORSHztCr4CUTjkUpnCvF
negative: export CAPSULECRM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CAPSULECRM_API_KEY="q88ynnok2Te6pVS5C3WF4i5gOVzLRtR08xf4FoL4AT0Ww3MrmM3VvaUofI"
negative: export CAPSULECRM_API_KEY="${CAPSULECRM_API_KEY}"

id: carboninterface-api-key
title: Carbon Interface API key
severity: medium
keywords: carboninterface
pattern: (?i)(?:\b|_)(?:carboninterface)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{21})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CARBONINTERFACE_API_KEY="e4Tcy07deuXafJnQcnb6x"
positive: carboninterface:\n  token: IwTtO7vdqO5nmuQfoOi55
negative: export CARBONINTERFACE_API_KEY="xxxxxxxxxxxxxxxxxxxxx"
negative: export CARBONINTERFACE_API_KEY="yPMn2J5AtMTDWvebqqT"
negative: export CARBONINTERFACE_API_KEY="${CARBONINTERFACE_API_KEY}"

id: centralstationcrm-api-key
title: CentralStationCRM API key
severity: high
keywords: centralstationcrm centralstation
pattern: (?i)(?:\b|_)(?:centralstationcrm|centralstation)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{30})(?![\w-])
entropy: 2.5
confidence: medium
positive: export CENTRALSTATIONCRM_API_KEY="bmuOYSoPlXeOnqhGswESyV9OE4XdK6"
positive: centralstationcrm:\n  token: vQQ7DOeuKdAGJh54iLZHQuj3qCSLfT
negative: export CENTRALSTATIONCRM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CENTRALSTATIONCRM_API_KEY="swvLHHkcWwKp6M1IHzHWTOrISu6V"
negative: export CENTRALSTATIONCRM_API_KEY="${CENTRALSTATIONCRM_API_KEY}"

id: chartmogul-api-key
title: ChartMogul API key
severity: high
keywords: chartmogul
pattern: (?i)(?:\b|_)(?:chartmogul)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: chartmogul=jKvzCHNT7l2e9FJYem7U6JH0tQNm7G6y
positive: CHARTMOGUL XR7szBB1yHPaJPfYKNflhjyQO572ebf7
negative: chartmogul=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: chartmogul=2PBCuosVbfIOXuwW5o1zCgsjGI8SRJ
negative: chartmogul=${CHARTMOGUL_API_KEY}

id: chatbot-api-key
title: ChatBot.com API token
severity: high
keywords: chatbot
pattern: (?i)(?:\b|_)(?:chatbot)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9_]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CHATBOT_API_KEY="xKvH7ta8SQkmP9hngPx0NGxNPGZN0E3I"
positive: chatbot:\n  token: oaQjSQ5FeWNOhkIMcKN3Dyc036KisB2k
negative: export CHATBOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CHATBOT_API_KEY="LKpLJpjWg8ICy1wc5eq86gSCXQLF2w"
negative: export CHATBOT_API_KEY="${CHATBOT_API_KEY}"

id: chatfuel-api-key
title: Chatfuel API key
severity: high
keywords: chatfuel
pattern: (?i)(?:\b|_)(?:chatfuel)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{128})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CHATFUEL_API_KEY="jXdsgsOn11xPQvm9N7NNDAMRUnsJjG4AKFxZJ2vixaXAvAWnodLxZGxSkDIOSE8m1Di7rkNqYpQjsoUm3DyUxMUzbI7lNocfQL8Ezv50jR5XSRyMrugWe2LLqJWJENCs"
positive: chatfuel:\n  token: islrdZVn7u7bIBXhr03XTiEEm1NlNUCeMA0dKKDz2ESZAOEbJKGkZKY8uFYzSjwCvTNzTBkF3JU1xeCOwPxxUArVj5UssfbNrNfKpkZOedjj71HUFCXdZrCTmaeA2KSz
negative: export CHATFUEL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CHATFUEL_API_KEY="767IW4RM7RJLVXK5Qbc6iyZtuJNaHzb3edgQSiUMpSFGHOSjOaKy0gmMXwrVuQr1Ch7Jm9Q3C0juyZ8EPcg0sU5lJwfl4eN8sGx3toYxAkZthtehAXkHt3ef5G1QfR"
negative: export CHATFUEL_API_KEY="${CHATFUEL_API_KEY}"

id: checio-api-key
title: Chec (Commerce.js) API key
severity: high
keywords: checio chec.io
pattern: (?i)(?:\b|_)(?:checio|chec\.io)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b(pk_[A-Za-z0-9]{40,50})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CHECIO_API_KEY="pk_zXVGC2CYFPWRMSmyoE5p1mb3PvyHgVkGkLSPmNbB62XAlNZW"
positive: checio:\n  token: pk_aBHHwFco0xsBigDVEQFlEaiAFlGcPT9ML0KYqJ3D7jjPOJrf
negative: export CHECIO_API_KEY="pk_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CHECIO_API_KEY="pk_rjc7LqjCNF4nR8sT7cvzCHS1AIjcGkAMPuR9L1"
negative: export CHECIO_API_KEY="${CHECIO_API_KEY}"

id: checklyhq-api-key
title: Checkly API key
severity: high
keywords: checklyhq checkly
pattern: (?i)(?:\b|_)(?:checklyhq|checkly)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CHECKLYHQ_API_KEY="N7odkFi7suRaAoDCAnWrPMTm82Fqj1zA"
positive: checklyhq:\n  token: o30NwoYSSpC7Uh8tYRbnylRG4YjkNSxY
negative: export CHECKLYHQ_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CHECKLYHQ_API_KEY="aXF3CLzR6wlKdOETNRzcXLmu6FaWLK"
negative: export CHECKLYHQ_API_KEY="${CHECKLYHQ_API_KEY}"

id: cicero-api-key
title: Cicero API key
severity: high
keywords: cicero
pattern: (?i)(?:\b|_)(?:cicero)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CICERO_API_KEY="IKf1FvI3o2P3snYm1EbLa1kDfkCmvdVTd3aKlIUs"
positive: cicero:\n  token: xV5BmcaQGzsQDaDtzZQf1kSlnmvWzQaJu91b1KpD
negative: export CICERO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CICERO_API_KEY="YXzTrCGGVKGczTaTrNTB0Yk0v3texnqx89F4yU"
negative: export CICERO_API_KEY="${CICERO_API_KEY}"

id: clarifai-api-key
title: Clarifai API key
severity: high
keywords: clarifai
pattern: (?i)(?:\b|_)(?:clarifai)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLARIFAI_API_KEY="MvBZUUqv6yoG26OXCND9AaVoOeKUYFFW"
positive: clarifai:\n  token: xvRWn6F3mCl0yp0gTLwVfxgRtnaDGkoJ
negative: export CLARIFAI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLARIFAI_API_KEY="Hg619waGVVU10WVf1dhYc3BgXghJ9i"
negative: export CLARIFAI_API_KEY="${CLARIFAI_API_KEY}"

id: clearbit-api-key
title: Clearbit API key
severity: high
keywords: clearbit
pattern: (?i)(?:\b|_)(?:clearbit)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{35})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLEARBIT_API_KEY="CJ0vB9Q3DC7ii12VBWUzGUkoyi40Y6clnRO"
positive: clearbit:\n  token: 1Ag3uq73dMRCI0pQqAMB5ngd2coPxRb45ms
negative: export CLEARBIT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLEARBIT_API_KEY="GpgiQ83CdsLP68UhDUGqjn7A5NxSkiUcZ"
negative: export CLEARBIT_API_KEY="${CLEARBIT_API_KEY}"

id: clickup-personal-token
title: ClickUp personal API token
severity: high
keywords: pk_
pattern: \b(pk_[0-9]{5,10}_[A-Z0-9]{32})\b
entropy: 3.0
positive: CLICKUP_TOKEN=pk_24298080_82S92NSQKXI2E27M86QMRB37CJJ91A7P
positive: headers = {"Authorization": "pk_26929226_G4HJECDBRV52XAUUXPSATSETJYBRKZP3"}
negative: pk_1234567_XXXXXXXX
negative: pk_test_ET15WW1WEV233DDE695SFOC9AIC3BW6B

id: cliengo-api-key
title: Cliengo API key
severity: high
keywords: cliengo
pattern: (?i)(?:\b|_)(?:cliengo)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLIENGO_API_KEY="f6798e0b-4fd0-9d34-e0c2-3a209e6c09a6"
positive: cliengo:\n  token: 3521881e-db4b-3d32-3bf3-2e34c4be0ec4
negative: export CLIENGO_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export CLIENGO_API_KEY="42990bde-398b-a21d-925c-cdc56162cc"
negative: export CLIENGO_API_KEY="${CLIENGO_API_KEY}"

id: clockify-api-key
title: Clockify API key
severity: high
keywords: clockify
pattern: (?i)(?:\b|_)(?:clockify)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{48})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOCKIFY_API_KEY="2Ko8paFsYXDbYzHyE74nffYMqbklbq06oJWnKLyvUoPzaInf"
positive: clockify:\n  token: 0TQAveMT7bHBKrk54aNIL8H74wroLlExehVlWCafIRrug6KZ
negative: export CLOCKIFY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOCKIFY_API_KEY="ueEJIppyQtPJPKhKaeQbUEGApfuUR2qQn2kPsoqTR2nnU2"
negative: export CLOCKIFY_API_KEY="${CLOCKIFY_API_KEY}"

id: closecrm-api-key
title: Close CRM API key
severity: high
keywords: closecrm close_crm close.com
pattern: (?i)(?:\b|_)(?:closecrm|close_crm|close\.com)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b(api_[A-Za-z0-9.]{30,60})(?![\w.-])
entropy: 3.0
confidence: medium
positive: export CLOSECRM_API_KEY="api_DP9l1rx6cUkK7zig3MfSCiJZFjxary3ba4l6qVev"
positive: closecrm:\n  token: api_F13USxDlC8Ao4DQWND30FgmM5Zm2Hc3o
negative: export CLOSECRM_API_KEY="api_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOSECRM_API_KEY="api_0gxvG8DhN9yFOqynIW4TRwvooYVU"
negative: export CLOSECRM_API_KEY="${CLOSECRM_API_KEY}"

id: cloudconvert-api-key
title: CloudConvert API key
severity: high
keywords: cloudconvert
pattern: (?i)(?:\b|_)(?:cloudconvert)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9_.+=/-]{300,1200})(?![\w+/=.-])
entropy: 3.0
window: 2048
confidence: medium
positive: export CLOUDCONVERT_API_KEY="A7F0gYe8ILKMUzG2WSWZERB4FV79bYfKTjbXMS7CpesvZp5nhpo6SL0dIw6X3EfwXbP7e4Zmtpf7JyoUVnK2gPdRcLFoWTPH4BtQoeWIHgsA5wz6c23p5Fj9Io12cSOzQxnF7sSr0mW8iER3P9efgYswS3CKl62fEBmkvR92HOAhWu2V2PFJM04DGMfNvNczxswafP9vgMfu4k3UgWcV1qyes6Z28ED41wIjeNtcNQV9bVcivJV5NHu7oduwdhVWAEpZNQbmi3TnUW5RjwqFPYrEgUSwpT0gfvcj6RdYGaJklSVA0j5t2QavSmt30qS0xEbP9FIgMCkimUyspPPNLcgtW3Cjq2c1TEP7krodp1"
positive: cloudconvert:\n  token: NiXwi5oA1KgJ7V8JyquAERFYmLjoRI1fEXURoz6YOOTnd7QU1VpxUwCDouDdrfMC1iJzwNcqpncsswAHoe5XcBIqA5RG1tWpbs2A6Axz3PWmnhVOwxjbsCHla5a7O7KIVZccPKmsuUJHSFe9aevkeSFXZxP2pMbXIiBO9RRcKfk04VDo2jCKlmcOVuMCJtDSV6dD9HRPUxMi508YuGm1VXnxJOoYgENSjjfdO7O1nDJb5Mu5qCl7JHzEgu8HIKUzIs0Sk9FUaJwJF8QN8T6GMoIQSrbThRDrVOszOL7KAJMpBy4f867GWdGeZH1cWTlGqVph8YcIbZOrQEnkfFHRecDVCWp1OWOKsvFMpl401w5QJzxJ6WtykLQZxItumaW4mg9x4YxfJhZepncqZNlwZhx2pHNOJqSm5gTXAr8TCzVwfBkY5fmQKuf0Kq2egfJnbZ0bdltSSxLcIf5X1AMhGAQJHeH
negative: export CLOUDCONVERT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOUDCONVERT_API_KEY="nJT1V9AlNyOFtxNNzT6EMuwH5R1sfUsh3WD9mOJSK1EpDijMhdihKwl0HOgwyJtaeVV3eC82cAFipPMR3VBcZkxOboQtWNjrEcjKodYFq53svM4BWiE25FBUMx4aEVkWTUkEN7ErOTd2nxwV2ME7xXmgju5qt0BQoe4sx0H3Ap8rsAh3FV6WrjcMxCibdkPDys6NhIdHtFcvzvLrsrDvteiaDUVurMeikdtKtcZ3Fps8tN44uWTC3wSdA9Nvx2xuWDjdok4o9pM324jHOoPWvMmgGLuf8nv93RCrzWKvr0"
negative: export CLOUDCONVERT_API_KEY="${CLOUDCONVERT_API_KEY}"

id: cloudflare-api-token
title: Cloudflare API token
severity: high
keywords: cloudflare
pattern: (?i)(?:\b|_)(?:cloudflare)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9_-]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOUDFLARE_API_KEY="LrirjLJtDRjyAjqcRddfuwHQmmPYUFpUbt5RsToq"
positive: cloudflare:\n  token: ufGtWInxoHl0WNGiZCFECo5jII12booKT6nfLwuR
negative: export CLOUDFLARE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOUDFLARE_API_KEY="9P7qiNoV9xDuvYT0gmI9IkHwU0vgbVsYIJbMQR"
negative: export CLOUDFLARE_API_KEY="${CLOUDFLARE_API_KEY}"

id: cloudflare-global-api-key
title: Cloudflare global API key
severity: critical
keywords: cloudflare x-auth-key
pattern: (?i)(?:(?:\b|_)cloudflare[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|auth)|x-auth-key)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([a-f0-9]{37})\b
entropy: 3.0
confidence: medium
positive: CLOUDFLARE_API_KEY=95d1b30496f91373ca7a728611cfb17898abe
positive: curl -H 'X-Auth-Email: ops@contoso.com' -H 'X-Auth-Key: 9dbae3585ff89b58c45d4ed924a17f52fbb94' https://api.cloudflare.com/client/v4/zones
negative: CLOUDFLARE_API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: X-Auth-Key: <api-key>

id: cloudflare-origin-ca-key
title: Cloudflare Origin CA key
severity: high
keywords: v1.0-
pattern: \b(v1\.0-[a-f0-9]{24,64}-[a-f0-9]{100,200}(?:-[a-f0-9]{64})?)\b
entropy: 3.0
positive: X-Auth-User-Service-Key: v1.0-a939b61b978b1d39bd67359e4ab7e40000b332b539111d19497ec03438061b2e-c7c132fe59ca3fd78980d31bbb784c4120699ce90ae8d0f95beb4befc523bbf97fb187e9d12a502e65eb230bd0f86060f1578402368c855d6faa402f253d2eaac71de4b8108611374c
negative: version = "v1.0-beta"
negative: v1.0-abcdef

id: cloudimage-api-key
title: Cloudimage API key
severity: medium
keywords: cloudimage
pattern: (?i)(?:\b|_)(?:cloudimage)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{30})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOUDIMAGE_API_KEY="Vo0T0uJwAdfbgcGtzHPx4mGMptgaYx"
positive: cloudimage:\n  token: 4pN1njZjOZHshsgxRxw5MlzSte5cuK
negative: export CLOUDIMAGE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOUDIMAGE_API_KEY="IfPhG30TmIKajrRk1xv5iwSHPXXb"
negative: export CLOUDIMAGE_API_KEY="${CLOUDIMAGE_API_KEY}"

id: cloudmersive-api-key
title: Cloudmersive API key
severity: high
keywords: cloudmersive
pattern: (?i)(?:\b|_)(?:cloudmersive)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOUDMERSIVE_API_KEY="4a5e49cb-13b2-8ec5-d949-f9d3d024fd7c"
positive: cloudmersive:\n  token: a4538aa1-1da7-bfe7-c6a6-f224bd2bf8f9
negative: export CLOUDMERSIVE_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export CLOUDMERSIVE_API_KEY="c9ab51cd-99ef-ffad-daea-36ccc5d197"
negative: export CLOUDMERSIVE_API_KEY="${CLOUDMERSIVE_API_KEY}"

id: cloudplan-api-key
title: Cloudplan API key
severity: high
keywords: cloudplan
pattern: (?i)(?:\b|_)(?:cloudplan)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOUDPLAN_API_KEY="Xm4AxUVLlvHbfJvHbqBb8hhVOJ09J35f"
positive: cloudplan:\n  token: ojA50vnMpFoSsDZpVajVWr0Ylpfr7hvl
negative: export CLOUDPLAN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOUDPLAN_API_KEY="bz0VFPYopsA0bqF48YQIqatzOBOeQF"
negative: export CLOUDPLAN_API_KEY="${CLOUDPLAN_API_KEY}"

id: cloudsight-api-key
title: CloudSight API key
severity: high
keywords: cloudsight
pattern: (?i)(?:\b|_)(?:cloudsight)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{20,30})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOUDSIGHT_API_KEY="MSq8qDU2CNcWdObamxBhL"
positive: cloudsight:\n  token: fdXsKwKRxJt4bj3x5GP9xWlD
negative: export CLOUDSIGHT_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export CLOUDSIGHT_API_KEY="1exB2ilum5r9WEVJEe"
negative: export CLOUDSIGHT_API_KEY="${CLOUDSIGHT_API_KEY}"

id: cloudsmith-api-key
title: Cloudsmith API key
severity: high
keywords: cloudsmith
pattern: (?i)(?:\b|_)(?:cloudsmith)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: cloudsmith=ysUV8HpwN9kLEXR8QRDn2iak6ArLXniCPUcN3csL
positive: CLOUDSMITH 8nUUsn5EwT03pi0uUG0XwZPginY3NZaUNODr4ZFU
negative: cloudsmith=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: cloudsmith=JXxjWzmzYjkBE6Se6S1ltUD6YSVAb15VdkIUJY
negative: cloudsmith=${CLOUDSMITH_API_KEY}

id: cloverly-api-key
title: Cloverly API key
severity: high
keywords: cloverly
pattern: (?i)(?:\b|_)(?:cloverly)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9_]{28,29})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLOVERLY_API_KEY="jVSExta45n5GKQTZTsj0xyxByFIm"
positive: cloverly:\n  token: cMoeeERdiZbNYBL2IJ8sjveapafY
negative: export CLOVERLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLOVERLY_API_KEY="IUSWMZY0de1M4LZa0NeQRjRDAj"
negative: export CLOVERLY_API_KEY="${CLOVERLY_API_KEY}"

id: clustdoc-api-key
title: Clustdoc API key
severity: high
keywords: clustdoc
pattern: (?i)(?:\b|_)(?:clustdoc)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export CLUSTDOC_API_KEY="YJfaVVRAlJ4EwI554hVeleml7crcsAQ4OQgL8gDwooD6PwnRltcPNZbKS6eKHNF8"
positive: clustdoc:\n  token: 3ZjMas1hJpCgW93eqPilESJO17OuHV6RyAzQcBC8pUJehIgHOqTCwMeCbTR22SAd
negative: export CLUSTDOC_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export CLUSTDOC_API_KEY="boDfUKykX7q0hjf1dQ0AXRBEnuQPOAJYt3ikelKLVaNLzw7a4lnQcbMyK6pezM"
negative: export CLUSTDOC_API_KEY="${CLUSTDOC_API_KEY}"
"""#
}
