extension RuleCatalog {
    /// Provider rules D to F (providers d7network .. flightapi): prefixed tokens and API keys named near their provider.
    static let providersDtoF = #"""
id: d7network-api-key
title: D7 Networks API key
severity: high
keywords: d7network d7networks d7sms
pattern: (?i)(?:\b|_)(?:d7network|d7networks|d7sms)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9+/_=-]{20,30})(?![\w+/=-])
entropy: 3.0
confidence: medium
positive: export D7NETWORK_API_KEY="yKU17fws1bcEIlvUW2Q59iyhDYhohW"
positive: d7network:\n  token: tqZJMiGSURfjv9nTOJejwJp2ICioA
negative: export D7NETWORK_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export D7NETWORK_API_KEY="jICCZ69tsFe6LY9ifk"
negative: export D7NETWORK_API_KEY="${D7NETWORK_API_KEY}"

id: dailyco-api-key
title: Daily.co API key
severity: high
keywords: daily dailyco daily.co
pattern: (?i)(?:\b|_)(?:daily|dailyco|daily\.co)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DAILY_API_KEY="mvW9Mq34h5R19UGcIcztaPH0NZlREVtQN7GAHU7zc4o3XIC8sPn5pGAQ9fTANzCv"
positive: daily:\n  token: E0m7018Km0Rz5zfqGreBcWxTN1wSQptvANCF3dwVCTAMyc61pIsmVgAtSEp7Z42L
negative: export DAILY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DAILY_API_KEY="wL7uWW2rKbmCRaMUAjojvJbHk3VWqMfuUpaexgHRK1rIiYh5vjsDU2TRm9x0wm"
negative: export DAILY_API_KEY="${DAILY_API_KEY}"

id: dandelion-api-token
title: Dandelion API token
severity: high
keywords: dandelion
pattern: (?i)(?:\b|_)(?:dandelion)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DANDELION_API_KEY="cfAPGglIRxXNboPBMn76VG29tMFkDMXt"
positive: dandelion:\n  token: v5CM35QNNjhQF5LAlfQ0dbqBymSlFgrK
negative: export DANDELION_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DANDELION_API_KEY="49EKQuVOgekvYdziSw4ytyDGMU3mEr"
negative: export DANDELION_API_KEY="${DANDELION_API_KEY}"

id: dareboost-api-key
title: Dareboost API key
severity: high
keywords: dareboost
pattern: (?i)(?:\b|_)(?:dareboost)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{55,65})(?![\w-])
entropy: 3.0
confidence: medium
positive: dareboost=LIWSHprgFy8EsyIgYg9w989rd0EWwNcJ9npXF5Z5jlqZghXjHGLeexZ6
positive: DAREBOOST c7YbTn5xxoS2O2tjt5oDb3iKbEsL3pPzhp2VgOoTRlj1yQUePkBiTnhhVqc
negative: dareboost=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: dareboost=lc8nJrAy1qfRSMjjpv9k8ESLkZuffNCiC4carEET3N6uYoeVjBf28
negative: dareboost=${DAREBOOST_API_KEY}

id: databox-api-token
title: Databox API token
severity: high
keywords: databox
pattern: (?i)(?:\b|_)(?:databox)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{21,22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DATABOX_API_KEY="7Ztge6lcIksDzu8Q3mMBH4"
positive: databox:\n  token: aEQevDW6xrmzQWGGYYRELv
negative: export DATABOX_API_KEY="xxxxxxxxxxxxxxxxxxxxx"
negative: export DATABOX_API_KEY="5KHd8qf9in7YhEbKbYz"
negative: export DATABOX_API_KEY="${DATABOX_API_KEY}"

id: databricks-api-token
title: Databricks personal access token
severity: high
keywords: dapi
pattern: \b(dapi[a-f0-9]{32}(?:-[0-9])?)\b
entropy: 3.0
positive: DATABRICKS_TOKEN=dapi1a8393713169058a1f217ca1905d7d33
positive: databricks configure --token dapi3118e51b88c3e11c6dc7a30a86619ace-2
negative: dapixxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: dapi3c388d525f2214497aec

id: databricks-workspace-host
title: Databricks workspace host
severity: low
keywords: databricks.com azuredatabricks.net
pattern: (?i)\b([a-z0-9][a-z0-9-]{0,62}\.(?:cloud\.databricks\.com|azuredatabricks\.net))\b
confidence: medium
positive: DATABRICKS_HOST=https://acme-analytics.cloud.databricks.com
positive: host = "adb-1234567890123456.7.azuredatabricks.net"
negative: see https://www.databricks.com/

id: datadog-api-key
title: Datadog API key
severity: high
keywords: datadog dd-api dd_api ddapi
pattern: (?i)(?:datadog|\bdd[_-]?api)[\w\s.:'"=/>,-]{0,25}?(?:api|key|token|secret)[\w\s.:'"=/>,-]{0,20}?\b([a-f0-9]{32})\b
entropy: 3.0
confidence: medium
positive: DD_API_KEY=c3c44d5596d029fa3d2fc9cf9f057e69
positive: datadog:\n  api_key: "b3841fa70084379f6d231f9876ab85bd"
negative: DD_API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: DATADOG_API_KEY=<your-api-key>

id: datadog-app-key
title: Datadog application key
severity: high
keywords: datadog dd_app dd-app dd_secret ddapp
pattern: (?i)(?:datadog|\bdd[_-]?(?:app|secret))[\w\s.:'"=/>,-]{0,25}?(?:key|token|secret)[\w\s.:'"=/>,-]{0,20}?\b([A-Za-z0-9]{40})\b
entropy: 3.0
confidence: medium
positive: DD_APP_KEY=ebaaa2d694ecb3bb66fb6cd68aec9db06f0ca019
positive: datadog_application_key = "392f10ccfc38b2ee726781bbc999705b2b4ceb5f"
negative: DD_APP_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: DD_APP_KEY=1cfd96ffa77cf7e94950c5164161b190

id: datagov-api-key
title: api.data.gov API key
severity: high
keywords: data.gov data_gov datagov
pattern: (?i)(?:\b|_)(?:data\.gov|data_gov|datagov)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DATA_GOV_API_KEY="XSP6dzV7HHYKDAyhpDn7PbC8tN7aKvnEx3TGLpNh"
positive: data.gov:\n  token: AuZT6ch8NrMxrEmfzcKn2hpFAdoWsbjo27K2wDb0
negative: export DATA_GOV_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DATA_GOV_API_KEY="QXb6hpesUYmnZlU40zt671zBQRi66JP6B6ux6E"
negative: export DATA_GOV_API_KEY="${DATA_GOV_API_KEY}"

id: debounce-api-key
title: DeBounce API key
severity: high
keywords: debounce
pattern: (?i)(?:\b|_)(?:debounce)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{13})(?![\w-])
entropy: 2.5
confidence: medium
positive: export DEBOUNCE_API_KEY="P4UCyULqqcwHx"
positive: debounce:\n  token: crS1ne3wA8STN
negative: export DEBOUNCE_API_KEY="xxxxxxxxxxxxx"
negative: export DEBOUNCE_API_KEY="RU7XfBz6gx2"
negative: export DEBOUNCE_API_KEY="${DEBOUNCE_API_KEY}"

id: deepai-api-key
title: DeepAI API key
severity: high
keywords: deepai
pattern: (?i)(?:\b|_)(?:deepai)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12,14})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DEEPAI_API_KEY="rx4arwcj-2nxp-0qnp-hpaj-7pht8izxbquo0"
positive: deepai:\n  token: kzweqcb2-x89c-j07b-4njy-0965ysc92zv88x
negative: export DEEPAI_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export DEEPAI_API_KEY="ttim7m5x-6nqa-pb38-jhjb-p5nw7d6tos"
negative: export DEEPAI_API_KEY="${DEEPAI_API_KEY}"

id: deepgram-api-key
title: Deepgram API key
severity: high
keywords: deepgram
pattern: (?i)(?:\b|_)(?:deepgram)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DEEPGRAM_API_KEY="CFvusUOhPAwMo2LJw8oEGBuXDZUB5iOLud9lPKlt"
positive: deepgram:\n  token: aoEdCGnTdz3bNs8YWZ1NBc8qVFzbLqgBkY9jEsRr
negative: export DEEPGRAM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DEEPGRAM_API_KEY="A46x8zHSAKM0O1O1s6zEONWOjXTEDBtrgiiYqh"
negative: export DEEPGRAM_API_KEY="${DEEPGRAM_API_KEY}"

id: delighted-api-key
title: Delighted API key
severity: high
keywords: delighted
pattern: (?i)(?:\b|_)(?:delighted)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DELIGHTED_API_KEY="mY4IEKMzodspM7E5o8GEsZFuHRaUJZPW"
positive: delighted:\n  token: AcilAAfNZfmnHn4t3JFEgtTL96NDRmsK
negative: export DELIGHTED_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DELIGHTED_API_KEY="pBVnvoCgHr6IqB1qOL420JCvjXoXyq"
negative: export DELIGHTED_API_KEY="${DELIGHTED_API_KEY}"

id: dtrack-api-key
title: Dependency-Track API key
severity: high
keywords: odt_
pattern: \b(odt_[A-Za-z0-9]{32,40})\b
entropy: 3.0
positive: X-Api-Key: odt_2FUYQ8FGO3R5T69ZrQsYnZffY2OkmGlD
positive: DTRACK_API_KEY=odt_EJJfZQcpY35VwnBdJysTVtMYAA52s2Jj
negative: odt_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: odt_r5S4CX1xNlHw

id: detectify-api-key
title: Detectify API key
severity: high
keywords: detectify
pattern: (?i)(?:\b|_)(?:detectify)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DETECTIFY_API_KEY="Qlm8VR6sRxFVcR9CVDGxKFaiI8MSMizp"
positive: detectify:\n  token: wTtHfcaRjd6QX9tEgR2PluGvbyG5BiGc
negative: export DETECTIFY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DETECTIFY_API_KEY="uIlIIJD3d8ui1ZUUr44SdRlsM6roaL"
negative: export DETECTIFY_API_KEY="${DETECTIFY_API_KEY}"

id: detectlanguage-api-key
title: Detect Language API key
severity: high
keywords: detectlanguage
pattern: (?i)(?:\b|_)(?:detectlanguage)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DETECTLANGUAGE_API_KEY="2PVM45GPFNkqn1jgJ51AOuIQ3Qc4ILRz"
positive: detectlanguage:\n  token: uqhWlOG4poBMt9a96bj8TEznnMDShML4
negative: export DETECTLANGUAGE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DETECTLANGUAGE_API_KEY="bENki4Cay8Hl1ZMKggTbKR06LHiLFg"
negative: export DETECTLANGUAGE_API_KEY="${DETECTLANGUAGE_API_KEY}"

id: dfuse-api-key
title: dfuse API key
severity: high
keywords: web_
pattern: \b(web_[a-f0-9]{32})\b
entropy: 3.0
confidence: medium
positive: DFUSE_API_KEY=web_93f5fd3f3f3d0e721e6cc7d50c72cac2
negative: web_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: web_server_6986b9037e5e0d12333a68f2581e4045

id: diffbot-api-token
title: Diffbot API token
severity: high
keywords: diffbot
pattern: (?i)(?:\b|_)(?:diffbot)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DIFFBOT_API_KEY="I7GlA98jLRcnBoVERPjUY97LQXJD8sA2"
positive: diffbot:\n  token: aQ7pcdBoenDtIOBcI9cSBbp38CeQV9nG
negative: export DIFFBOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DIFFBOT_API_KEY="aShCUULBM4e0C4cQnqOYUxaA7OYgwd"
negative: export DIFFBOT_API_KEY="${DIFFBOT_API_KEY}"

id: diggernaut-api-key
title: Diggernaut API key
severity: high
keywords: diggernaut
pattern: (?i)(?:\b|_)(?:diggernaut)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DIGGERNAUT_API_KEY="5MdN8diCfeOY6yN0tmLbRoPl8alLNU91r14wSZqr"
positive: diggernaut:\n  token: JlDVxNJHN1aIj0QSDwjdTHYoSByumV0SXrqwUt4r
negative: export DIGGERNAUT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DIGGERNAUT_API_KEY="p4y9OS4uFZPBfccSe4xhPoCVTOWtMm9aZMEmmo"
negative: export DIGGERNAUT_API_KEY="${DIGGERNAUT_API_KEY}"

id: discord-webhook-url
title: Discord webhook URL
severity: high
keywords: discord.com/api/webhooks discordapp.com/api/webhooks
pattern: (?i)\b(https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,70})(?![\w-])
entropy: 3.0
positive: WEBHOOK = "https://discord.com/api/webhooks/462139085017076154/qYLrj6u2qCgfoBsPy2ViRXCtrAqufphUSqXYgCR9cPVqE5hogTNpHyfT75U1Cb2xswGX"
negative: https://discord.com/api/webhooks/123/abc
negative: https://discord.com/api/webhooks/{id}/{token}

id: discord-bot-token
title: Discord bot token
severity: high
keywords: discord bot_token bottoken apikey api_key token
pattern: (?i)(?:discord|bot|token|api_?key)[\w.-]{0,25}?["']?\s{0,3}[:=]{1,2}\s{0,3}["']?([MNO][\w-]{23,27}\.[\w-]{6}\.[\w-]{27,40})(?![\w-])
entropy: 3.5
positive: DISCORD_BOT_TOKEN=MT9Bxkz8Jc7Ik5mEvpFazQBEl.AzsH96.rswYnjXBgHKl4HoLhe4TgIJny6USXwUyAeRshS
positive: bot.run(token="MT7vw3QsnhP821G8upRia4ztl.GVVhyx.BmdFstYKH5uuWmePNCDR22qdOuTy3Oq6f8FpBO")
negative: DISCORD_BOT_TOKEN=MTIz.abc.def
negative: token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijklmnopqrstuvwxyz0123"

id: discord-bot-id
title: Discord bot / application id
severity: low
keywords: discord bot_id botid
pattern: (?i)(?:discord[\w.-]{0,20}?|\bbot_?id)["']?\s{0,3}[:=]{1,2}\s{0,3}["']?\b([0-9]{17,19})\b
entropy: 2.5
confidence: medium
positive: DISCORD_CLIENT_ID=148271465065012920
positive: bot_id: "759467508435347345"
negative: DISCORD_CLIENT_ID=123
negative: discord = 00000000000000000

id: disqus-api-key
title: Disqus API key
severity: high
keywords: disqus
pattern: (?i)(?:\b|_)(?:disqus)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DISQUS_API_KEY="jlGjggNS5eBFbCxEBWhQISuRbKuRxCRZxlLpQRIPbiw99KhOI2RgGAVVXTlxWbaz"
positive: disqus:\n  token: THnJkiwYGUKfS8hMYtEMGNPVdFECIjA2JAsruliLzqYUiJB4IX8oaINY0tSpdg2x
negative: export DISQUS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DISQUS_API_KEY="0smFlNqaxq8AbFqrrjddG0Nx61aC3odnPtiFmO5OTOfgFuHqJoNUW1tiZkR1nk"
negative: export DISQUS_API_KEY="${DISQUS_API_KEY}"

id: ditto-api-key
title: Ditto API key
severity: high
keywords: ditto
pattern: (?i)(?:\b|_)(?:ditto)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}\.[A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DITTO_API_KEY="f30660c0-7f14-6021-c6a1-49b8d9b9b88f.oo6gTEQu3D7pKyi0ro1rwqPcupT8krjkOztorH2o"
positive: ditto:\n  token: ddf96011-d0ea-4a07-3c7c-d75cdc77619d.GieVhrtKYT1vuzbFc3lduClt41lxb6pWpisARbUX
negative: export DITTO_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DITTO_API_KEY="71cf2233-6918-89c0-7cf8-4d842daed34d.wJ1Hyvvzp4IBBfUjonOzlB4SQLnYIN4BG0rP7r"
negative: export DITTO_API_KEY="${DITTO_API_KEY}"

id: django-secret-key
title: Django SECRET_KEY
severity: high
keywords: django
pattern: (?i)(?:\b|_)django[\w.-]{0,10}?secret[_-]?key["']?\s{0,3}[:=,]{1,2}\s{0,3}["']([^\s'"]{40,80})["']
entropy: 3.5
confidence: medium
positive: os.environ.get('DJANGO_SECRET_KEY', 'q7#vn!2k$e9f@x0p*h6w&z3m^r8t(a1s)d5g%j4l+b_c-y=u')
positive: DJANGO_SECRET_KEY = "5EEPHoUFuIa5zvz6UL9z17JDluXqIvX1mvQwg4oBNgFxWeqOEA"
negative: DJANGO_SECRET_KEY = "changeme"
negative: DJANGO_SECRET_KEY = os.environ['DJANGO_SECRET_KEY']

id: django-insecure-secret-key
title: Django generated insecure SECRET_KEY
severity: medium
keywords: django-insecure-
pattern: \b(django-insecure-[^\s'"]{40,70})
entropy: 3.5
positive: SECRET_KEY = 'django-insecure-CsKOfX0a8xoXARNMSACGiEaQdg2LQOSa1Lsd50NiqIVz62gcpy'
negative: SECRET_KEY = 'django-insecure-xxxxxxxx'

id: docparser-api-key
title: Docparser API key
severity: high
keywords: docparser
pattern: (?i)(?:\b|_)(?:docparser)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DOCPARSER_API_KEY="ZuqS4m2mf9JvD9Oi3NUYV9PbbiDjCnz9WBndW2I7"
positive: docparser:\n  token: TFg5mAMz3SCu0SigRYjLtf72eBCoTTg8XMeegvEn
negative: export DOCPARSER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DOCPARSER_API_KEY="ReLMPi5zSoSW1Gfr8jYcIwl6qG8alJ82jRroB7"
negative: export DOCPARSER_API_KEY="${DOCPARSER_API_KEY}"

id: doppler-cli-token
title: Doppler CLI token
severity: high
keywords: dp.ct.
pattern: \b(dp\.ct\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.ct.0XzqBafuauOlvFzMd79TtHvBMUVZgqUibxKBeCz4YE5
negative: DOPPLER_TOKEN=dp.ct.xxxx
negative: DOPPLER_TOKEN=dp.ct.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-personal-token
title: Doppler personal token
severity: high
keywords: dp.pt.
pattern: \b(dp\.pt\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.pt.oxttdWV8U3GFg57P2InY840Pe888ti87tGxkf53ySJW
negative: DOPPLER_TOKEN=dp.pt.xxxx
negative: DOPPLER_TOKEN=dp.pt.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-service-account-token
title: Doppler service account token
severity: high
keywords: dp.sa.
pattern: \b(dp\.sa\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.sa.v11oj8iN14Q9g5GyLRrFucBi7hwZf9XJYgXHLOvIzvM
negative: DOPPLER_TOKEN=dp.sa.xxxx
negative: DOPPLER_TOKEN=dp.sa.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-scim-token
title: Doppler SCIM token
severity: high
keywords: dp.scim.
pattern: \b(dp\.scim\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.scim.RNnpMi4mYZnhtNwHib7LeleH3jklfvTd9F2Pw0fG6oi
negative: DOPPLER_TOKEN=dp.scim.xxxx
negative: DOPPLER_TOKEN=dp.scim.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-audit-token
title: Doppler audit token
severity: high
keywords: dp.audit.
pattern: \b(dp\.audit\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.audit.lT51b2nH73Jcm63KWgD7VsQV1p7qPolSX7NgXxRKzVY
negative: DOPPLER_TOKEN=dp.audit.xxxx
negative: DOPPLER_TOKEN=dp.audit.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-service-token
title: Doppler service token
severity: high
keywords: dp.st.
pattern: \b(dp\.st\.(?:[a-z0-9_-]{2,35}\.)?[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.st.prd.y8Zv9LzyD5tzq8rQYyP3wwMt98aCzK55yNYcmqLncrk
positive: DOPPLER_TOKEN=dp.st.zu0MrBIWXw7UCSK2LQPwAUUIF9nRhiL4FHbE4EcldeE
negative: DOPPLER_TOKEN=dp.st.prd.xxxx

id: dronahq-api-key
title: DronaHQ API key
severity: high
keywords: dronahq
pattern: (?i)(?:\b|_)(?:dronahq)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{50})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DRONAHQ_API_KEY="Rvx17f7SGHhBINFWtjsxFlYmRNd4mRjRaG5St4uoakQvxsrZW4"
positive: dronahq:\n  token: eWydRuuY850irxMd0fEHgASmaLLBwxoJexQC5HTuei8DBIaCAX
negative: export DRONAHQ_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DRONAHQ_API_KEY="YX0GLmLMKBOqUE9oSoqAIls8GAVnqj6pM6xvNwTna0d44f6c"
negative: export DRONAHQ_API_KEY="${DRONAHQ_API_KEY}"

id: droneci-access-token
title: Drone CI access token
severity: high
keywords: droneci drone_token drone-token
pattern: (?i)(?:\b|_)(?:droneci|drone_token|drone-token)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DRONECI_API_KEY="CG7DSFVTORvruMhaz0qQ1kbs3HAKk2z1"
positive: droneci:\n  token: c6J9eWW6Lhw6OHxifRsOCYS8L12IpH1L
negative: export DRONECI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DRONECI_API_KEY="wIzCfJIXfUDZu5cnQs8uZb6k6MJ501"
negative: export DRONECI_API_KEY="${DRONECI_API_KEY}"

id: dropbox-access-token
title: Dropbox short-lived access token
severity: high
keywords: sl.
pattern: \b(sl\.(?:u\.)?[A-Za-z0-9_-]{130,1400})(?![\w-])
entropy: 3.5
window: 2048
positive: curl -H "Authorization: Bearer sl.TuqCQs6itasJ0PWM3VnWtDFTrVL7JLA3FLmy1KlDQvHhpX6YGUYhZ9aZgKeTXWgleIuJJsDxVQhDWhOS2Pk5JHOeBxGdAUlRKjt1vjcYWkkqWYFMldDNgc6oKjCAdYjkKWtqNFopRW" https://api.dropboxapi.com/2/users/get_current_account
negative: sl.xxxxxxxxxx
negative: ssl.OwMC83YuL5ACPr9KBMKQwTtY2hnQ2bgsNUhoSp0zDviYUe81XnNL9cV4oDWswWHt2XOROMIFu0XMBCFile8LrpvLToVXEMyFr8lmAMBi4qdxKx54p185BJbQo26dqjrxglZDzx1kSdD8

id: dynalist-api-token
title: Dynalist API token
severity: high
keywords: dynalist
pattern: (?i)(?:\b|_)(?:dynalist)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{128})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DYNALIST_API_KEY="zwfrRpDLheYehrLskp75LLot9EwBeFAgEGidZtBI1ATwlh82tvJRcIYxe68q3RBtPKKRPH9YY6xZ1zyhh5uvfDcPKnilSwmxqscE76lX80lPYNYjQ77hzFtmTIiBX79G"
positive: dynalist:\n  token: 6AzmD1Qpvl5lWVDjwuuCpglZWBJkVFfZzt5dA4dft055qKR3Ubxla0UKbCyHwGD3qPGwFsbFwN7f6PqJ8gtnDS4rMdLOnKeSj3Qk1tBm3IyF8CGZa7uGhYFeqcrEaeZw
negative: export DYNALIST_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DYNALIST_API_KEY="9AEsYbpy5ZSAR5CCR2by7meAG2OejGjeyfVOBnMVvXR7gslfovtcHxwM2O2fWy5kwgveLvloEAAtllpZCXXFEN2onJD4xEDqUJmmcSHlsDBoyo8Anv7uwaAap1qrbT"
negative: export DYNALIST_API_KEY="${DYNALIST_API_KEY}"

id: dynatrace-api-token
title: Dynatrace API token
severity: high
keywords: dt0c0 dt0s0
pattern: \b(dt0[cs]0[0-9]\.[A-Z0-9]{24}\.[A-Z0-9]{64})\b
entropy: 3.0
positive: apiToken: dt0c01.8N2Y6G82R38TP3DIJ1NJT24V.FHDLRPROLY5YIZ22P0NJWVE0ILWJX6PL87WY6W68840CPRZXNWNALOCBRB20B0SI
negative: apiToken: dt0c01.XXXX
negative: dt0c01.AAAAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBB

id: dyspatch-api-key
title: Dyspatch API key
severity: high
keywords: dyspatch
pattern: (?i)(?:\b|_)(?:dyspatch)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{52})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DYSPATCH_API_KEY="th444tMI0qMxmMbiMoQyeqtI5d2VjejbKhyKJSK87EXMm0ADzj7z"
positive: dyspatch:\n  token: hUXlGC7pOJCXXXWNxv3we3g0xXvXCqtj54X7MSgxE9Azpa4HJNyI
negative: export DYSPATCH_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DYSPATCH_API_KEY="2Zbes8pge9QBUTyqsgOuxeeBcL64KGkl5mrwwVo2cPgjvVlbkx"
negative: export DYSPATCH_API_KEY="${DYSPATCH_API_KEY}"

id: eagleeyenetworks-api-key
title: Eagle Eye Networks API key
severity: high
keywords: eagleeyenetworks eagleeye
pattern: (?i)(?:\b|_)(?:eagleeyenetworks|eagleeye)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{15})(?![\w-])
entropy: 2.5
confidence: medium
positive: export EAGLEEYENETWORKS_API_KEY="ZRnI30P6xFgWeP4"
positive: eagleeyenetworks:\n  token: Zp8FGoYGjpdMeGs
negative: export EAGLEEYENETWORKS_API_KEY="xxxxxxxxxxxxxxx"
negative: export EAGLEEYENETWORKS_API_KEY="s670lWTslhaX5"
negative: export EAGLEEYENETWORKS_API_KEY="${EAGLEEYENETWORKS_API_KEY}"

id: eagleeyenetworks-email
title: Eagle Eye Networks account email
severity: low
keywords: eagleeyenetworks
pattern: (?i)eagleeyenetworks[\w\s.:'"=,-]{0,20}?\b([A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,4}\.[A-Za-z]{2,10})\b
confidence: low
positive: eagleeyenetworks user: ops.team@contoso-security.com
negative: eagleeyenetworks user: none

id: easypost-api-key
title: EasyPost API key
severity: high
keywords: ezak eztk
pattern: (?:^|[^A-Za-z0-9+/_-])(EZ[AT]K[A-Za-z0-9]{54})\b
entropy: 3.0
positive: EASYPOST_API_KEY=EZAKzxQXGFQzCIarCJI0xbj8MtgfLJNptN3AjKeAlN1NMxZwFqL14Viivl
negative: EZAKxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: EZAKbhGgUGRY4M2kO5PJZOgS

id: ecostruxureit-api-key
title: EcoStruxure IT API key
severity: high
keywords: ecostruxureit ecostruxure
pattern: (?i)(?:\b|_)(?:ecostruxureit|ecostruxure)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b(AK1[A-Za-z0-9]{45,55})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ECOSTRUXUREIT_API_KEY="AK1KkY7mJBu81jCoCrtJ3B3EpGgvfThtKZBVQyKmF5GDESLYN2qO"
positive: ecostruxureit:\n  token: AK1D6qnGjUuqu6I6Jn7L9vqQlFHJJ1tmdcYb1Drxxg4wFlGNW2B5zTSG1
negative: export ECOSTRUXUREIT_API_KEY="AK1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ECOSTRUXUREIT_API_KEY="AK1hKQTnIfElrv2kq4wS90CCv7oDYfHPtgqzPpGwOQYNC0"
negative: export ECOSTRUXUREIT_API_KEY="${ECOSTRUXUREIT_API_KEY}"

id: edenai-api-key
title: Eden AI API key
severity: high
keywords: edenai eden_ai
pattern: (?i)(?:\b|_)(?:edenai|eden_ai)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_.-]{100,600})(?![\w.-])
entropy: 3.0
window: 1024
confidence: medium
positive: export EDENAI_API_KEY="TRFoGRcHPwp6LgEjZuG1MkcdLeYITzFNFGYAN61wJQ4igvNecPgcZGdwbIFNbwZGQh6tI89CTejo05miAWTOwvP3bKoUlngIt36FceR4b4xu55C81LxhL07qce962DY3hfOtd69MqhJ7NkD"
positive: edenai:\n  token: 4t8yaoug84TqHL4zcjchyrsvSfXPM55b9hu3pVMoYkEVcSFFKhQJKxxewENZg016gpbDWfHfMvOrV9EAEskN5NYPoiBEgHO3XOZr4SNeLcAfJSBGnTgcz74C4NWmfXDffeOE0ZSDs5OEL0T5Fr7ZoC0WIQVPnMQJTQPIdeDj3NetW0IoTdiuOCgusRpWk5w4KIvlddVe0XmQqhZsOnTJXmgMbz1CCdMypI691jwlJOxdZL8B9RCce71gQmfGJ7eSssNuQD45qX766zyytuWCGNxuFNhGjvBo1ka5n1XqrTmpV6Caj4GdJaSuEfgLYguqRVrzDYWx1FZT860pRALn57R7vgVK6QmBmmaj2kvwC3BFTXaplFwJSLGhP1jBXFORSZuDDxz8SA40YNmCmQltoNbDKNrYsxN8i1d3dF1k9CivHuYviWegFFwnuygsxcha256zNrj3bBIi4yWV04Ym1zzvWCrdJ
negative: export EDENAI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EDENAI_API_KEY="nIxeQqMJ9ylkDTfK444a20Cf0jNpEpk5vc4atsr4WKWehQbEAVEyL1PqqQNJF2xUMoq9ed3eHzja8h2FvQz8TxmVC94FAqQTvp"
negative: export EDENAI_API_KEY="${EDENAI_API_KEY}"

id: elasticemail-api-key
title: Elastic Email API key
severity: high
keywords: elasticemail elastic_email elastic
pattern: (?i)(?:\b|_)(?:elasticemail|elastic_email|elastic)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_]{90,100})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ELASTICEMAIL_API_KEY="tZz2mY04KBcq3BrUfwmeThhF3vRXdntEs4fvsJhe3U0Rx8blRIhmEgY4agwAZERtHMNEestGWghtFFdyZUOt09w5XvM5B0qNoUW"
positive: elasticemail:\n  token: dYRL9zvtZng4Dyg8GJFrg7QE6xZxWYAZQXCUD3gFjVYcrjodMwJi40df7JJizWDKh91RUxMv9LgMU6zWPkc9NsKqDx39cL5q6CWn
negative: export ELASTICEMAIL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ELASTICEMAIL_API_KEY="J7KP3OJKBfKe0aSDAM1Ve1FzzUbvPsEyPRv1VJvHu1XjFnLf7JF4RVOAi8nDG468g7WRrn6svGaK3pOmrfvfcsXw"
negative: export ELASTICEMAIL_API_KEY="${ELASTICEMAIL_API_KEY}"

id: elevenlabs-api-key
title: ElevenLabs API key
severity: high
keywords: sk_
pattern: \b(sk_[a-f0-9]{48})\b
entropy: 3.0
positive: ELEVENLABS_API_KEY=sk_ddbc71ef229c724595a2da1e27a860dbc7ab1988720c3c08
positive: client = ElevenLabs(api_key="sk_b6193a0e47ec39a36607722c5fea6a7ac90cb0d182e35ee4")
negative: sk_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: task_6ba2eb1eda5b449197ef2aa95be38663c6472d968b8f197a

id: enigma-api-key
title: Enigma API key
severity: high
keywords: enigma
pattern: (?i)(?:\b|_)(?:enigma)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: enigma=SuGxGqbrCy5ro821JjPMrlP0IJmYDZAbJFt2vyOP
positive: ENIGMA g5hdnSo9WIa8KWfpgz1BjGNNZ7yzYXTTiIZiKGfx
negative: enigma=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: enigma=SddfaIsb52zh0iRV7fDtYkCT88Wpy6Pd49QgUz
negative: enigma=${ENIGMA_API_KEY}

id: envoy-api-key
title: Envoy API key
severity: high
keywords: envoy
pattern: (?i)(?:\b|_)(?:envoy)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{150,260})(?![\w-])
entropy: 3.0
window: 1024
confidence: medium
positive: export ENVOY_API_KEY="8A2N0QBhwxEeYYswHmLsOgMYHflDcVFCZBRFrv5WLxsOw7gQQqwnZtp275bbbRuIaFLmWJYLyCgGuwqsut3wS684a4fw45bSGzv4zVWeE6EmTfIbfEg0sh6JKltEZyG7MDWFEHdlNfYpxpfdowqJoZ8YBTgpuJMKAXbmwR1KszDUOYsKZsmLBeKfEgBLODlrAHKRQ5oMy1Ebl0nX9iEVUa7dOh0zpeeqqWWqmBxeWq5kjXRLg"
positive: envoy:\n  token: IF1bBgnNZhBk1kHCHbaDp4H8lJkmEMEnMBnr8LeLHn15eckBAZqzYS8BlPCkQydpGp4yQAMwWOP9UCTgrS1cIFdwDxQnlVWZbwKUgJI6B0yfeSbdsVyg2Nus0Tu0tO5I0suaqWnYLDyEhgKBtQqdJ1sLIpHeWx8bwJOvk1qlL1iEIe8OYjIWBJXRwnRHazJa3HjnOjaUCiCB2eAY13D5u1g
negative: export ENVOY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ENVOY_API_KEY="OBr3rHx6dRzDRBmqn3IKIdbHec8hHCHVoCAaciCl4vz6wQOceExfY8KLYkPPSheyZ2Y4YL9dPLZGSORWc1Xg6jFB8RxFxxo1O0FiifCBdnireHoilWoEW2IGMlllOCDhNnpRz7UW1by74DGPS30O"
negative: export ENVOY_API_KEY="${ENVOY_API_KEY}"

id: eraser-api-token
title: Eraser API token
severity: high
keywords: eraser
pattern: (?i)(?:\b|_)(?:eraser)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ERASER_API_KEY="ztwSZW45tmetWB9mh5Nlsa"
positive: eraser:\n  token: TaSw7fK94EFrAaVhX6odLR
negative: export ERASER_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: export ERASER_API_KEY="eIbGJdahwpqbYXOy0dCB"
negative: export ERASER_API_KEY="${ERASER_API_KEY}"

id: etherscan-api-key
title: Etherscan API key
severity: high
keywords: etherscan
pattern: (?i)(?:\b|_)(?:etherscan)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{34})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ETHERSCAN_API_KEY="m0EU7RDScycQv0DvW1qqiicQVjGtBWNRxQ"
positive: etherscan:\n  token: JHWv7yPZxpmUMV3EYW0Wzj8gQ9Tz18GCgT
negative: export ETHERSCAN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ETHERSCAN_API_KEY="lME1ax3tHletZauSdy57DuOva1lcThjS"
negative: export ETHERSCAN_API_KEY="${ETHERSCAN_API_KEY}"

id: ethplorer-api-key
title: Ethplorer API key
severity: high
keywords: ethplorer
pattern: (?i)(?:\b|_)(?:ethplorer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ETHPLORER_API_KEY="hvOey9DyfCrCebS5PgsxwA"
positive: ethplorer:\n  token: xatmvSxnhTJEvki9wMWP2e
negative: export ETHPLORER_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: export ETHPLORER_API_KEY="0vX8VpyjkrZNJ0nKAo0M"
negative: export ETHPLORER_API_KEY="${ETHPLORER_API_KEY}"

id: eventbrite-api-token
title: Eventbrite private token
severity: high
keywords: eventbrite
pattern: (?i)(?:\b|_)(?:eventbrite)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EVENTBRITE_API_KEY="SF791J3UR5G14APPHBWX"
positive: eventbrite:\n  token: G2EKGJRZ5PN7O32JKG0W
negative: export EVENTBRITE_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export EVENTBRITE_API_KEY="ZG24CPZGYT700LT44S"
negative: export EVENTBRITE_API_KEY="${EVENTBRITE_API_KEY}"

id: everhour-api-key
title: Everhour API key
severity: high
keywords: everhour
pattern: (?i)(?:\b|_)(?:everhour)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{6}-[A-Za-z0-9]{6}-[A-Za-z0-9]{8})(?![\w-])
entropy: 3.0
confidence: medium
positive: everhour=KjQI-EE9u-flGjhU-n7a1Ex-1YI5O1Eg
positive: EVERHOUR uwOl-3yje-TE862l-U5BKSl-RKl8ViDH
negative: everhour=xxxx-xxxx-xxxxxx-xxxxxx-xxxxxxxx
negative: everhour=QGRU-7ynK-iXOvqg-GccEq7-cG8eCp
negative: everhour=${EVERHOUR_API_KEY}

id: exchangerateapi-api-key
title: ExchangeRate-API key
severity: high
keywords: exchangerate exchangerate-api exchangerateapi
pattern: (?i)(?:\b|_)(?:exchangerate|exchangerate-api|exchangerateapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EXCHANGERATE_API_KEY="cTgUaPDimGCZKv4TI5Q1DI7n"
positive: exchangerate:\n  token: dHQPS1Cmy2gonrpD2Uuo3XWl
negative: export EXCHANGERATE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EXCHANGERATE_API_KEY="OHJ15SNvRSWLuyk5o7dKnt"
negative: export EXCHANGERATE_API_KEY="${EXCHANGERATE_API_KEY}"

id: exchangeratesapi-api-key
title: Exchangerates API key
severity: high
keywords: exchangerates exchangeratesapi
pattern: (?i)(?:\b|_)(?:exchangerates|exchangeratesapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EXCHANGERATES_API_KEY="gpkNRGnFMoA0kMxFN7msypgLqKBFWo5p"
positive: exchangerates:\n  token: qhuAxWaGtVsDzHbVsABxkJzfHT9YAoTR
negative: export EXCHANGERATES_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EXCHANGERATES_API_KEY="oe8k4oipu6UDbNf4Q3LWG0Cychwxh0"
negative: export EXCHANGERATES_API_KEY="${EXCHANGERATES_API_KEY}"

id: extractorapi-api-key
title: ExtractorAPI key
severity: high
keywords: extractorapi
pattern: (?i)(?:\b|_)(?:extractorapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EXTRACTORAPI_API_KEY="gR00ZspF0x4AQOPp0JIUxCOKhgx30p3vk4vr3UL3"
positive: extractorapi:\n  token: 29YXfOydYplojuzt3n8TWate6fOsPUVbM9XnzxSf
negative: export EXTRACTORAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EXTRACTORAPI_API_KEY="Tk78G2ABD5PQ2Lqsah2Uxt43FQf3UinmFDRcpQ"
negative: export EXTRACTORAPI_API_KEY="${EXTRACTORAPI_API_KEY}"

id: facebook-app-id
title: Facebook app id
severity: low
keywords: facebook fb_app fbapp fb-app
pattern: (?i)(?:facebook|\bfb[_-]?app)[\w\s.:'"=-]{0,25}?(?:app(?:lication)?[_-]?)?id["']?\s{0,3}[:=]{1,2}\s{0,3}["']?\b([0-9]{15,16})\b
entropy: 2.5
confidence: medium
positive: FACEBOOK_APP_ID=202567741682598
positive: fb_app_id: "1233222515706667"
negative: FACEBOOK_APP_ID=123
negative: FACEBOOK_APP_ID=000000000000000

id: facebook-app-secret
title: Facebook app secret
severity: high
keywords: facebook fbapi fb_api fb_app fbapp fb_secret fbsecret fb-app
pattern: (?i)(?:facebook|\bfb[_-]?(?:api|app|secret))[\w\s.:'"=-]{0,25}?(?:secret|key)["']?\s{0,20}[:=]{1,2}\s{0,20}["']?\b([a-f0-9]{32})\b
entropy: 3.0
confidence: medium
positive: FACEBOOK_APP_SECRET=80fc27f9a52e93d95d9e66e376ecdb17
positive: var fbApiKey = 'c68502bc3f05558eb315a399bcf5fdb5';
negative: FACEBOOK_APP_SECRET=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: FACEBOOK_APP_SECRET=ffffffffffffffffffffffffffffffff

id: facebook-access-token
title: Facebook (Meta) access token
severity: high
keywords: eaa
pattern: (?:^|[^A-Za-z0-9+/_-])(EAA[A-Za-z0-9]{30,300})(?![A-Za-z0-9+/=_-])
entropy: 4.2
positive: FB_ACCESS_TOKEN=EAACYZyyYpwJqArRQtPAlxzxaDKQd83IAM6SAANk8xLndgDHsFIhucvG34Su8nb8RDZT8xt18ZaYpJBKGpKG9T4rgHMqlKGGij8LTt8uUf1zdfa6KxlgxXTZBbVn
positive: https://graph.facebook.com/me?access_token=EAACmtYTjW8qUFmvvqSlNRTK99dVRcgyc3GcVnXYaq6VMik16bdqH9JjoTSs6Kc78188kQstSFU3RJyy87zdjzPjCUtHD1VLFxpgawqlyKKxbnZRe3oyrJMtXk6L
negative: EAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
negative: EAABxxxxxxxxxx
negative: data = "EAAAoBUAACMUAACJEgAAixQAAE0VAADUEQAAzxQAABAYAADJFgAA3BYAAMERAADgFwAAuxQAAHQUAAB8FQAA5RQAAAgXAAAfEAAA"

id: fastforex-api-key
title: fastFOREX API key
severity: high
keywords: fastforex
pattern: (?i)(?:\b|_)(?:fastforex)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{28})(?![\w-])
entropy: 3.0
confidence: medium
positive: fastforex=pxrjj3nEqiBEAuG6bHola9LsxyBi
positive: FASTFOREX sHovunzOjfcnhbVco5lyj1alCevN
negative: fastforex=xxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: fastforex=JuJqkD8q6FMjpjQjEiSPS0ftzi
negative: fastforex=${FASTFOREX_API_KEY}

id: fastly-api-token
title: Fastly API token
severity: high
keywords: fastly
pattern: (?i)(?:\b|_)(?:fastly)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_-]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FASTLY_API_KEY="TNEIabZ8KxLEdocKPl35MIPC2qL17kKQ"
positive: fastly:\n  token: BitZOp6CFh0IyMlOivgoQGwd82sHLY8H
negative: export FASTLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FASTLY_API_KEY="4JPHrLhmCFiGUnBFBXIJ3voflvApVx"
negative: export FASTLY_API_KEY="${FASTLY_API_KEY}"

id: feedier-api-key
title: Feedier API key
severity: high
keywords: feedier
pattern: (?i)(?:\b|_)(?:feedier)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FEEDIER_API_KEY="3wfaC4Gk5xC6QSZ6AwQ9tBMBZvBxfA4W"
positive: feedier:\n  token: KqCMP4y3BhxYk8QVvB74LpBZ5wRmJoVX
negative: export FEEDIER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FEEDIER_API_KEY="xnI6z9ILKlLmjGrXqHq1lz5tmHfvJq"
negative: export FEEDIER_API_KEY="${FEEDIER_API_KEY}"

id: fetchrss-api-key
title: FetchRSS API key
severity: high
keywords: fetchrss
pattern: (?i)(?:\b|_)(?:fetchrss)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FETCHRSS_API_KEY="yqnWCnlS37PcU0uQW0CDQBotXpllHjPYUJjfIqOi"
positive: fetchrss:\n  token: UWYpOuYU6Z9udRBc4ZUfW2jX69aZOvPy48BiE4WW
negative: export FETCHRSS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FETCHRSS_API_KEY="iWi4S5IS7tfT3nkySBN97v4qUJT5mfj7yov5zP"
negative: export FETCHRSS_API_KEY="${FETCHRSS_API_KEY}"

id: figma-personal-access-token
title: Figma personal access token
severity: high
keywords: figd_
pattern: \b(figd_[A-Za-z0-9_-]{38,44})(?![\w-])
entropy: 3.0
positive: FIGMA_TOKEN=figd_ZIC1DSRm8dDPmQbfUFLWLiK4qAPP1kAWTmsUSUn8
positive: headers = {"X-Figma-Token": "figd_Ef0bRcm7WLAXPHV2UEKEOQ4GrdDyvMjoSZrDgRTa"}
negative: figd_xxxx
negative: figd_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: figma-legacy-token
title: Figma personal access token (legacy)
severity: high
keywords: figma
pattern: (?i)figma[\w\s.:'"=-]{0,30}?\b([0-9]{4,6}-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})\b
entropy: 3.0
confidence: medium
positive: --header='X-Figma-Token: 4116-8780d02e-eb87-7598-8296-d1f5b2579b0c'
negative: X-Figma-Token: 0000-00000000-0000-0000-0000-000000000000

id: fileio-api-key
title: file.io API key
severity: high
keywords: fileio file.io
pattern: (?i)(?:\b|_)(?:fileio|file\.io)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FILEIO_API_KEY="SowvXQrZoV5wbf9799Ij1KA4862KcIAoKkWnOq7f"
positive: fileio:\n  token: Ozzbmtk0bfJUdWfsDKpWsQAPWELyx2Fo5X60FOap
negative: export FILEIO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FILEIO_API_KEY="iG3AUmNkS1YtHJdUNYRMnzaj98hd8MkBkfjbeH"
negative: export FILEIO_API_KEY="${FILEIO_API_KEY}"

id: finage-api-key
title: Finage API key
severity: high
keywords: finage
pattern: (?i)(?:\b|_)(?:finage)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINAGE_API_KEY="oxg5YG6gdyZ8MLhojQUivbBRczuasXEw"
positive: finage:\n  token: r8ZuGpBOnrckSeihcEaMu3PVo83KdEzu
negative: export FINAGE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FINAGE_API_KEY="i5oy8mE6rPfd0Kkk8oyZiNm9plae22"
negative: export FINAGE_API_KEY="${FINAGE_API_KEY}"

id: financialmodelingprep-api-key
title: Financial Modeling Prep API key
severity: high
keywords: financialmodelingprep
pattern: (?i)(?:\b|_)(?:financialmodelingprep)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINANCIALMODELINGPREP_API_KEY="IpmKFz9MWttwb3Vig3OhjhSw0DNxavXy"
positive: financialmodelingprep:\n  token: h1pxbwjbXv9NZLC4f0K1fCXGryTuNvRI
negative: export FINANCIALMODELINGPREP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FINANCIALMODELINGPREP_API_KEY="1wCzPr5VHSn7KGhFIw6t2QIL9jQj3Z"
negative: export FINANCIALMODELINGPREP_API_KEY="${FINANCIALMODELINGPREP_API_KEY}"

id: findl-api-key
title: Findl API key
severity: high
keywords: findl
pattern: (?i)(?:\b|_)(?:findl)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: findl=be7dce63-8acf-8c25-5d21-9965bcf04384
positive: FINDL 0b46b2f8-6cf3-eabc-dc7e-909fda15302c
negative: findl=xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
negative: findl=170be44d-8004-ccc9-d23c-db108c91e2
negative: findl=${FINDL_API_KEY}

id: finicity-api-token
title: Finicity app key
severity: high
keywords: finicity
pattern: (?i)(?:\b|_)(?:finicity)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINICITY_API_KEY="fzD6bUJaZTG4dByUhZi2jqhTMQtsyPay"
positive: finicity:\n  token: kYpe2XQT0fXjRUy5Gp1QUkFmKdqD2Mns
negative: export FINICITY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FINICITY_API_KEY="cYHSY1uELmffSaHT3zgZR4FcCV7CBe"
negative: export FINICITY_API_KEY="${FINICITY_API_KEY}"

id: finicity-client-secret
title: Finicity partner secret
severity: high
keywords: finicity
pattern: (?i)(?:\b|_)(?:finicity)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINICITY_API_KEY="mYlWXeeRV97tDQFf9WWC"
positive: finicity:\n  token: tmImKDJbVtWrr2cTlFD7
negative: export FINICITY_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export FINICITY_API_KEY="MxSafgpFHvzBCt8opY"
negative: export FINICITY_API_KEY="${FINICITY_API_KEY}"

id: finnhub-api-key
title: Finnhub API key
severity: high
keywords: finnhub
pattern: (?i)(?:\b|_)(?:finnhub)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINNHUB_API_KEY="9ILoreWfcTai9PrDxEU7"
positive: finnhub:\n  token: sY5Fz5NFDLvBiaL5PE7h
negative: export FINNHUB_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export FINNHUB_API_KEY="MpAhYuHKXfg2wuTUAk"
negative: export FINNHUB_API_KEY="${FINNHUB_API_KEY}"

id: fixerio-api-key
title: Fixer API key
severity: high
keywords: fixer fixerio fixer.io
pattern: (?i)(?:\b|_)(?:fixer|fixerio|fixer\.io)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FIXER_API_KEY="WvGltvfGAkczoS2S0rlQsPV8jQnmrFbG"
positive: fixer:\n  token: fBZ2krDk4gfy2AfbCfOo91gUp9q6l8b8
negative: export FIXER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FIXER_API_KEY="ntJIjti8CvGuQPJfUW5rnKAkiCvnZu"
negative: export FIXER_API_KEY="${FIXER_API_KEY}"

id: flatio-api-key
title: Flat.io API key
severity: high
keywords: flat flatio flat.io
pattern: (?i)(?:\b|_)(?:flat|flatio|flat\.io)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{128})(?![\w-])
entropy: 3.0
window: 512
confidence: medium
positive: export FLAT_API_KEY="NJU6VM5FDcXqbLQeBpXOznOrPkKQLclhpRemttboPhlmYQJuxnJtWDKqh0ceNnmgBLV46wqMh5B9iIb3hkOX18xqpUVnXQJvia0ZwA0Pp6Q6V4PEkTpVsJHBi1mUVduR"
positive: flat:\n  token: cFcrDi9iiL85EvthtB7i7hwSZT3HYRalje8Cgmzg3v2bYcy8Csf4ivi5J1GxVbCaj9pDBZw7pTSEUwsE9YKLD8wQC99ZdDrKBvXhnu1JUyjvucG7e4C4tXfa6OgSXo6g
negative: export FLAT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FLAT_API_KEY="upCO0b3hLrwwtWCUYnggoF6be1o7q5tCGnea7HBijgYvSPeSSRXly5hc6QDKtJLqCqxoEAhrFh6UFwZwZ9luAxvItmRkupIwzfeegPQIetp0NQ0ZkormU4rTmNYlt2"
negative: export FLAT_API_KEY="${FLAT_API_KEY}"

id: fleetbase-api-key
title: Fleetbase API key
severity: high
keywords: flb_live_ flb_test_
pattern: \b(flb_(?:live|test)_[A-Za-z0-9]{20,40})\b
entropy: 3.0
positive: FLEETBASE_API_KEY=flb_live_cn3oGcSky3lR3QwMj4U8
negative: flb_live_xxxx
negative: flb_prod_5r9VUpxfRATwBsCuj3NJ

id: flexport-api-key
title: Flexport API key
severity: high
keywords: shltm_
pattern: \b(shltm_[A-Za-z0-9_-]{40})(?![\w-])
entropy: 3.0
positive: FLEXPORT_API_KEY=shltm_thyMNRUPsm8X7iPcLGQT7CHYPgbAvsHI9MtJIFyc
negative: shltm_xxxx
negative: shltm_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: flickr-api-key
title: Flickr API key
severity: high
keywords: flickr
pattern: (?i)(?:\b|_)(?:flickr)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FLICKR_API_KEY="JXQIoxqL5wIxq82Zh0M1JWIL0WAfuAqN"
positive: flickr:\n  token: nQBVdiZqqCM0Q2j5uYAQTpOO90DbViGg
negative: export FLICKR_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FLICKR_API_KEY="KCxhS7wWbL4DMkShekaBB6uw8gCHef"
negative: export FLICKR_API_KEY="${FLICKR_API_KEY}"

id: flightapi-api-key
title: FlightAPI key
severity: high
keywords: flightapi
pattern: (?i)(?:\b|_)(?:flightapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FLIGHTAPI_API_KEY="GPOIT3NJHX188yGYnrbInoiy"
positive: flightapi:\n  token: WSGQVzEb8r3uXLMcvvC2dEpd
negative: export FLIGHTAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FLIGHTAPI_API_KEY="r92U18eWY8xNcuh18Euepq"
negative: export FLIGHTAPI_API_KEY="${FLIGHTAPI_API_KEY}"
"""#
}
