extension RuleCatalog {
    /// Provider rules D to F (providers d7network .. flightapi): prefixed tokens and API keys named near their provider.
    static let providersDtoF = #"""
id: d7network-api-key
title: D7 Networks API key
severity: high
keywords: d7network d7networks d7sms
pattern: (?i)(?:\b|_)(?:d7network|d7networks|d7sms)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9+/_=-]{20,30})(?![\w+/=-])
entropy: 3.0
confidence: medium
positive: export D7NETWORK_API_KEY="JYGOPKCozmxvti3DcSxop"
positive: d7network:\n  token: fqkiinlMt2oQ4l3GYGUipi
negative: export D7NETWORK_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export D7NETWORK_API_KEY="2ebSekXRVwoASCovHN"
negative: export D7NETWORK_API_KEY="${D7NETWORK_API_KEY}"

id: dailyco-api-key
title: Daily.co API key
severity: high
keywords: daily dailyco daily.co
pattern: (?i)(?:\b|_)(?:daily|dailyco|daily\.co)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DAILY_API_KEY="i6M8c8r58tBZeC1uMkjnbsYCawLJ59xLJfuxF7YzdKnsLqdAufDbRKlRh6SYv8yv"
positive: daily:\n  token: I0m3bcAjblviwUr62eDnsseet6rSo7HW41ubJOVk4x4XdpDOAPnBjvtAWNF1sTR2
negative: export DAILY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DAILY_API_KEY="9iyhDYhohW8LtqZJMiGSURfjv9nTOJejwJp2ICioA6KXs8gYkDYU9w4LxVqVps"
negative: export DAILY_API_KEY="${DAILY_API_KEY}"

id: dandelion-api-token
title: Dandelion API token
severity: high
keywords: dandelion
pattern: (?i)(?:\b|_)(?:dandelion)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DANDELION_API_KEY="NsIbtcjICCZ69tsFe6LY9ifkkmvW9Mq3"
positive: dandelion:\n  token: 5R19UGcIcztaPH0NZlREVtQN7GAHU7zc
negative: export DANDELION_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DANDELION_API_KEY="Rz5zfqGreBcWxTN1wSQptvANCF3dwV"
negative: export DANDELION_API_KEY="${DANDELION_API_KEY}"

id: dareboost-api-key
title: Dareboost API key
severity: high
keywords: dareboost
pattern: (?i)(?:\b|_)(?:dareboost)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{55,65})(?![\w-])
entropy: 3.0
confidence: medium
positive: dareboost=TAMyc61pIsmVgAtSEp7Z42L5RJtq9JsE21IbxuFScSpoYWsABwujrfdRN71ff8
positive: DAREBOOST euPZhvZKjBtsiGfkcTXBAyu1aFYwwL7uWW2rKbmCRaMUAjojvJbHk3V
negative: dareboost=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: dareboost=9tMFkDMXtmv5CM35QNNjhQF5LAlfQ0dbqBymSlFgrKx1N6VBmpgFz
negative: dareboost=${DAREBOOST_API_KEY}

id: databox-api-token
title: Databox API token
severity: high
keywords: databox
pattern: (?i)(?:\b|_)(?:databox)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{21,22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DATABOX_API_KEY="N6P38JcEDRnzLmmTXgdjm"
positive: databox:\n  token: KQuVOgekvYdziSw4ytyDGM
negative: export DATABOX_API_KEY="xxxxxxxxxxxxxxxxxxxxx"
negative: export DATABOX_API_KEY="9w989rd0EWwNcJ9npXF"
negative: export DATABOX_API_KEY="${DATABOX_API_KEY}"

id: databricks-api-token
title: Databricks personal access token
severity: high
keywords: dapi
pattern: \b(dapi[a-f0-9]{32}(?:-[0-9])?)\b
entropy: 3.0
positive: DATABRICKS_TOKEN=dapiea9316d1d1fe6cf7e0dd2b7f72387218
positive: databricks configure --token dapi49521243009a6950143b2d9b4efb0276-2
negative: dapixxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: dapif2ddecc53ba05513e318

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
pattern: (?i)(?:datadog|\bdd[_-]?api)[\w\s.:'"=/>,-]{0,25}?(?:api|key|token|secret)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([a-f0-9]{32})\b
entropy: 3.0
confidence: medium
positive: DD_API_KEY=8833a9c5f006b2ce0d9aa6e3c388d525
positive: datadog:\n  api_key: "2214497aeca1a8393713169058a1f217"
negative: DD_API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: DATADOG_API_KEY=<your-api-key>

id: datadog-app-key
title: Datadog application key
severity: high
keywords: datadog dd_app dd-app dd_secret ddapp
pattern: (?i)(?:datadog|\bdd[_-]?(?:app|secret))[\w\s.:'"=/>,-]{0,25}?(?:key|token|secret)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})\b
entropy: 3.0
confidence: medium
positive: DD_APP_KEY=9667f5243d6c3c44d5596d029fa3d2fc9cf9f057
positive: datadog_application_key = "69bb3841fa70084379f6d231f9876ab85bd87221"
negative: DD_APP_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: DD_APP_KEY=4a4780b4e674c266cbcb9a9ac85416e3

id: datagov-api-key
title: api.data.gov API key
severity: medium
keywords: data.gov data_gov datagov
pattern: (?i)(?:\b|_)(?:data\.gov|data_gov|datagov)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DATA_GOV_API_KEY="IxoTzHupypI1HdS7pEnQ0JXoYHidbYXaXaGq7hKz"
positive: data.gov:\n  token: uJ65i34fdsdczykdSzfh68yDUPaif0OFg4PI06Od
negative: export DATA_GOV_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DATA_GOV_API_KEY="Kr9jWiA28ryA4CHJp1TcTGcWHLX9JJfFN7MEKE"
negative: export DATA_GOV_API_KEY="${DATA_GOV_API_KEY}"

id: debounce-api-key
title: DeBounce API key
severity: high
keywords: debounce
pattern: (?i)(?:\b|_)(?:debounce)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{13})(?![\w-])
entropy: 2.5
confidence: medium
positive: export DEBOUNCE_API_KEY="nx27Qc3rMd0Uv"
positive: debounce:\n  token: jcwK4k64zcRkB
negative: export DEBOUNCE_API_KEY="xxxxxxxxxxxxx"
negative: export DEBOUNCE_API_KEY="4VM2zwEpeJF"
negative: export DEBOUNCE_API_KEY="${DEBOUNCE_API_KEY}"

id: deepai-api-key
title: DeepAI API key
severity: high
keywords: deepai
pattern: (?i)(?:\b|_)(?:deepai)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12,14})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DEEPAI_API_KEY="0vq3xt12-7npu-u2dc-jq3x-nb7c2j0g5qcyf"
positive: deepai:\n  token: zyan4461-8qtz-5nwi-3dw6-kwnqdz7730yhp3
negative: export DEEPAI_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export DEEPAI_API_KEY="7gfir5cp-89ua-sda6-wuog-f5uwjigbhp"
negative: export DEEPAI_API_KEY="${DEEPAI_API_KEY}"

id: deepgram-api-key
title: Deepgram API key
severity: high
keywords: deepgram
pattern: (?i)(?:\b|_)(?:deepgram)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DEEPGRAM_API_KEY="sUYmnZlU40zt671zBQRi66JP6B6ux6E4lP4UCyUL"
positive: deepgram:\n  token: qcwHxpcrS1ne3wA8STNj7ZwCfgIIWPiiYRU7XfBz
negative: export DEEPGRAM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DEEPGRAM_API_KEY="h0paKjt3HphYtINMiz9xbKquoAZqTTWkzUweVq"
negative: export DEEPGRAM_API_KEY="${DEEPGRAM_API_KEY}"

id: delighted-api-key
title: Delighted API key
severity: high
keywords: delighted
pattern: (?i)(?:\b|_)(?:delighted)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DELIGHTED_API_KEY="2bQ3KOOC0oOxIOJ7UcnYjAZHbgSEn77j"
positive: delighted:\n  token: GAJV8L3GF7yscJCzvIIxCry2EcywFsZY
negative: export DELIGHTED_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DELIGHTED_API_KEY="5uayLr2KtNtiRmHm3Fx994YY6Gnqap"
negative: export DELIGHTED_API_KEY="${DELIGHTED_API_KEY}"

id: dtrack-api-key
title: Dependency-Track API key
severity: high
keywords: odt_
pattern: \b(odt_[A-Za-z0-9]{32,40})\b
entropy: 3.0
positive: X-Api-Key: odt_VFnLwHXY3dGtNos863KzCFvusUOhPAwM
positive: DTRACK_API_KEY=odt_2LJw8oEGBuXDZUB5iOLud9lPKltMiaoE
negative: odt_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: odt_1DIKj0h9jbY1

id: detectify-api-key
title: Detectify API key
severity: high
keywords: detectify
pattern: (?i)(?:\b|_)(?:detectify)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DETECTIFY_API_KEY="UmUxOjjuuYWpA46x8zHSAKM0O1O1s6zE"
positive: detectify:\n  token: XTEDBtrgiiYqhNObmY4IEKMzodspM7E5
negative: export DETECTIFY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DETECTIFY_API_KEY="3JFEgtTL96NDRmsKGRKQgnk4IfzXhc"
negative: export DETECTIFY_API_KEY="${DETECTIFY_API_KEY}"

id: detectlanguage-api-key
title: Detect Language API key
severity: medium
keywords: detectlanguage
pattern: (?i)(?:\b|_)(?:detectlanguage)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DETECTLANGUAGE_API_KEY="3ET1OtdkCDY5GrkBHBrYspBVnvoCgHr6"
positive: detectlanguage:\n  token: B1qOL420JCvjXoXyqIir5S4CX1xNlHwh
negative: export DETECTLANGUAGE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DETECTLANGUAGE_API_KEY="4VNRpEJJfZQcpY35VwnBdJysTVtMYA"
negative: export DETECTLANGUAGE_API_KEY="${DETECTLANGUAGE_API_KEY}"

id: dfuse-api-key
title: dfuse API key
severity: high
keywords: web_
pattern: \b(web_[a-f0-9]{32})\b
entropy: 3.0
confidence: medium
positive: DFUSE_API_KEY=web_e1b96baf0359b8859aee61953cbaeb39
negative: web_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: web_server_3e3f59723f2b73f45de20e103de0bad1

id: diffbot-api-token
title: Diffbot API token
severity: high
keywords: diffbot
pattern: (?i)(?:\b|_)(?:diffbot)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DIFFBOT_API_KEY="8TEznnMDShML4icLIznUatZINcA7QZZD"
positive: diffbot:\n  token: 3PUtQYFo69RjhbENki4Cay8Hl1ZMKggT
negative: export DIFFBOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DIFFBOT_API_KEY="BIj52wimG6hToqstsT0GbQzCGkP5rw"
negative: export DIFFBOT_API_KEY="${DIFFBOT_API_KEY}"

id: diggernaut-api-key
title: Diggernaut API key
severity: high
keywords: diggernaut
pattern: (?i)(?:\b|_)(?:diggernaut)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DIGGERNAUT_API_KEY="pjvnuSxhE1Jt64JPkwkhs4kOtNk48sg8HmjV0GAr"
positive: diggernaut:\n  token: iKz9fLfUAhwUn6fPWBMYqOeaf2ryrOljWbaHDgbY
negative: export DIGGERNAUT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DIGGERNAUT_API_KEY="haHNc49xs3ouUNrsxql7z26amF0IiafuizBVuH"
negative: export DIGGERNAUT_API_KEY="${DIGGERNAUT_API_KEY}"

id: discord-webhook-url
title: Discord webhook URL
severity: high
keywords: discord.com/api/webhooks discordapp.com/api/webhooks
pattern: (?i)\b(https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,70})(?![\w-])
entropy: 3.0
positive: WEBHOOK = "https://discord.com/api/webhooks/646149740540882629/nBoVERPjUY97LQXJD8sA2xaQ7pcdBoenDtIOBcI9cSBbp38CeQV9nGcwMXsN8PGVeUva"
negative: https://discord.com/api/webhooks/123/abc
negative: https://discord.com/api/webhooks/{id}/{token}

id: discord-bot-token
title: Discord bot token
severity: high
keywords: discord bot_token bottoken apikey api_key token
pattern: (?i)(?:discord|bot|token|api_?key)[\w.-]{0,25}?["']?\s{0,3}[:=]{1,2}\s{0,3}["']?([MNO][\w-]{23,27}\.[\w-]{6}\.[\w-]{27,40})(?![\w-])
entropy: 3.5
positive: DISCORD_BOT_TOKEN=MTLOn6SsIsjlVfco69aYzpB5V.esuGKs.op4y9OS4uFZPBfccSe4xhPoCVTOWtMm9aZMEmm
positive: bot.run(token="MT1QLAsyjgTpOKP0dJ1xaeEYa.7zexq7.qYLrj6u2qCgfoBsPy2ViRXCtrAqufphUSqXYgC")
negative: DISCORD_BOT_TOKEN=MTIz.abc.def
negative: token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijklmnopqrstuvwxyz0123"

id: discord-bot-id
title: Discord bot / application id
severity: low
keywords: discord bot_id botid
pattern: (?i)(?:discord[\w.-]{0,20}?|\bbot_?id)["']?\s{0,3}[:=]{1,2}\s{0,3}["']?\b([0-9]{17,19})\b
entropy: 2.5
confidence: medium
positive: DISCORD_CLIENT_ID=132064268165763074
positive: bot_id: "652680823753706672"
negative: DISCORD_CLIENT_ID=123
negative: discord = 00000000000000000

id: disqus-api-key
title: Disqus API key
severity: high
keywords: disqus
pattern: (?i)(?:\b|_)(?:disqus)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DISQUS_API_KEY="YKH5uuWmePNCDR22qdOuTy3Oq6f8FpBOaZNNYlnNenCQ2RfuDklW3KdF6kHnDL4k"
positive: disqus:\n  token: DxIM2OeYFGkXEfMt4T5taSWk8lCkEXGIAyk5v7xylwH2GzN3cFaTg72hiduTz6oC
negative: export DISQUS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DISQUS_API_KEY="xFK5sElQ13cCuWMYqAEubGqYmupq0FoquWcuQvf1eruBIg0zsVr3a1tUBIHOdi"
negative: export DISQUS_API_KEY="${DISQUS_API_KEY}"

id: ditto-api-key
title: Ditto API key
severity: high
keywords: ditto
pattern: (?i)(?:\b|_)(?:ditto)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}\.[A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DITTO_API_KEY="325a09ab-10fe-f3e9-274b-4bcffa5efedd.BFbCxEBWhQISuRbKuRxCRZxlLpQRIPbiw99KhOI2"
positive: ditto:\n  token: 7f5aa690-e5cd-9b99-e773-4fe62e71a31b.2x4pUBpp4cJnQZzOurOrLFMgVD9apGFYgGvsPR83
negative: export DITTO_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DITTO_API_KEY="660c037f-1446-0212-c6a1-849b8d9b9b88.Kkmoo6gTEQu3D7pKyi0ro1rwqPcupT8krjkOzt"
negative: export DITTO_API_KEY="${DITTO_API_KEY}"

id: django-secret-key
title: Django SECRET_KEY
severity: high
keywords: django
pattern: (?i)(?:\b|_)django[\w.-]{0,10}?secret[_-]?key["']?\s{0,3}[:=,]{1,2}\s{0,3}["']([^\s'"]{40,80})["']
entropy: 3.5
confidence: medium
positive: os.environ.get('DJANGO_SECRET_KEY', 'q7#vn!2k$e9f@x0p*h6w&z3m^r8t(a1s)d5g%j4l+b_c-y=u')
positive: DJANGO_SECRET_KEY = "7gLBwU6f89K4hf38AJAXL6yRpF83ZQgvGieVhrtKYT1vuzbFc3"
negative: DJANGO_SECRET_KEY = "changeme"
negative: DJANGO_SECRET_KEY = os.environ['DJANGO_SECRET_KEY']

id: django-insecure-secret-key
title: Django generated insecure SECRET_KEY
severity: medium
keywords: django-insecure-
pattern: \b(django-insecure-[^\s'"]{40,70})
entropy: 3.5
positive: SECRET_KEY = 'django-insecure-67koG2shdwAxGEz7T5s7fy5tZnUGGdhBNGoIeWlrrst0yY4FoG'
negative: SECRET_KEY = 'django-insecure-xxxxxxxx'

id: docparser-api-key
title: Docparser API key
severity: high
keywords: docparser
pattern: (?i)(?:\b|_)(?:docparser)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DOCPARSER_API_KEY="B4SQLnYIN4BG0rP7ruPygRORL0UAPdEw5fOXOobv"
positive: docparser:\n  token: wIdB2BXrwy44K4g6a9MmvIKV87Wi5EEPHoUFuIa5
negative: export DOCPARSER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DOCPARSER_API_KEY="CSNjAFe7bAZ6ixvq1Bs4Tts5zVSQetBWGcB46M"
negative: export DOCPARSER_API_KEY="${DOCPARSER_API_KEY}"

id: doppler-cli-token
title: Doppler CLI token
severity: high
keywords: dp.ct.
pattern: \b(dp\.ct\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.ct.97kMAUavr7fz0CUu4BJlEtXDeiCJgBfz1wbB6dhnHAS
negative: DOPPLER_TOKEN=dp.ct.xxxx
negative: DOPPLER_TOKEN=dp.ct.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-personal-token
title: Doppler personal token
severity: high
keywords: dp.pt.
pattern: \b(dp\.pt\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.pt.Ihdt7tCMjolsOz5h2lRf0uALS5zZuqS4m2mf9JvD9Oi
negative: DOPPLER_TOKEN=dp.pt.xxxx
negative: DOPPLER_TOKEN=dp.pt.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-service-account-token
title: Doppler service account token
severity: high
keywords: dp.sa.
pattern: \b(dp\.sa\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.sa.wgiCfOde6RuLReLMPi5zSoSW1Gfr8jYcIwl6qG8alJ8
negative: DOPPLER_TOKEN=dp.sa.xxxx
negative: DOPPLER_TOKEN=dp.sa.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-scim-token
title: Doppler SCIM token
severity: high
keywords: dp.scim.
pattern: \b(dp\.scim\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.scim.yvxJwvklZ1AKtZNIUKYYwe0DbVKRZboVWocIFNAAe8N
negative: DOPPLER_TOKEN=dp.scim.xxxx
negative: DOPPLER_TOKEN=dp.scim.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-audit-token
title: Doppler audit token
severity: high
keywords: dp.audit.
pattern: \b(dp\.audit\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.audit.fgebdzl1M2b8534vuM4mgOZqHeuZffpyjpBRGZ9tSpU
negative: DOPPLER_TOKEN=dp.audit.xxxx
negative: DOPPLER_TOKEN=dp.audit.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-service-token
title: Doppler service token
severity: high
keywords: dp.st.
pattern: \b(dp\.st\.(?:[a-z0-9_-]{2,35}\.)?[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.st.prd.lsvpWSbRNnpMi4mYZnhtNwHib7LeleH3jklfvTd9F2P
positive: DOPPLER_TOKEN=dp.st.pBN2OOb5zumro70bxezjWxhbABIHwgQPA4YShquuDkp
negative: DOPPLER_TOKEN=dp.st.prd.xxxx

id: dronahq-api-key
title: DronaHQ API key
severity: high
keywords: dronahq
pattern: (?i)(?:\b|_)(?:dronahq)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{50})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DRONAHQ_API_KEY="zYFQDrklT51b2nH73Jcm63KWgD7VsQV1p7qPolSX7NgXxRKzVY"
positive: dronahq:\n  token: LuJzrMRGJi5Wam1Wp8ivQoVmaTtLar1641MOMlHoFTEU9DS5by
negative: export DRONAHQ_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DRONAHQ_API_KEY="UCSK2LQPwAUUIF9nRhiL4FHbE4EcldeE3ay8Zv9LzyD5tzq8"
negative: export DRONAHQ_API_KEY="${DRONAHQ_API_KEY}"

id: droneci-access-token
title: Drone CI access token
severity: high
keywords: droneci drone_token drone-token
pattern: (?i)(?:\b|_)(?:droneci|drone_token|drone-token)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DRONECI_API_KEY="QYyP3wwMt98aCzK55yNYcmqLncrkDsnY"
positive: droneci:\n  token: 0yGnvXhKm2pKvfnZYV368qz9zd2SEZCQ
negative: export DRONECI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DRONECI_API_KEY="VIwHC36rGQmzVULg90wRvx17f7SGHh"
negative: export DRONECI_API_KEY="${DRONECI_API_KEY}"

id: dropbox-access-token
title: Dropbox short-lived access token
severity: high
keywords: sl.
pattern: \b(sl\.(?:u\.)?[A-Za-z0-9_-]{130,1400})(?![\w-])
entropy: 3.5
window: 2048
positive: curl -H "Authorization: Bearer sl.TIYX0GLmLMKBOqUE9oSoqAIls8GAVnqj6pM6xvNwTna0d44f6cWxCG7DSFVTORvruMhaz0qQ1kbs3HAKk2z11S95Dc6J9eWW6Lhw6OHxifRsOCYS8L12IpH1LCSagrBhtPA4FaKkB4" https://api.dropboxapi.com/2/users/get_current_account
negative: sl.xxxxxxxxxx
negative: ssl.INFWtjsxFlYmRNd4mRjRaG5St4uoakQvxsrZW418BeWydRuuY850irxMd0fEHgASmaLLBwxoJexQC5HTuei8DBIaCAXOgvJgv2ijfNrNKw3OVblXRKG4xEnqoNkisYUOyksh2kVWkXum

id: dynalist-api-token
title: Dynalist API token
severity: high
keywords: dynalist
pattern: (?i)(?:\b|_)(?:dynalist)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{128})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DYNALIST_API_KEY="AUlRKjt1vjcYWkkqWYFMldDNgc6oKjCAdYjkKWtqNFopRWYDT0U5VSa9YQzDv9g8hp471cwnN4Kd5YttLBCx3YEJRhU3cRzrHXXtGZY0HIyGa7AbidZbvF6LiPVWYm6f"
positive: dynalist:\n  token: NCwU0eMb6VA9JPffyl2GEVK0vHzi3l3jUjFwCMsWDDHUbFhqzYNGUqejKBURKbH5FuH3BdoIKMlKHml7ErMjBSNPjQ1rHMlI0DvHirNwLQb9Ewk5PgzGdyt4jqsUmlTu
negative: export DYNALIST_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DYNALIST_API_KEY="RBtPKKRPH9YY6xZ1zyhh5uvfDcPKnilSwmxqscE76lX80lPYNYjQ77hzFtmTIiBX79G2Ne6AzmD1Qpvl5lWVDjwuuCpglZWBJkVFfZzt5dA4dft055qKR3Ubxla0UK"
negative: export DYNALIST_API_KEY="${DYNALIST_API_KEY}"

id: dynatrace-api-token
title: Dynatrace API token
severity: high
keywords: dt0c0 dt0s0
pattern: \b(dt0[cs]0[0-9]\.[A-Z0-9]{24}\.[A-Z0-9]{64})\b
entropy: 3.0
positive: apiToken: dt0c01.2Y7W63Q6W5SB5WFQ9GTN3RDN.JKT1M8Y526AU6H5EQCR4AEWNPA09QVHKON0G3QLEFMD7S3WWAU26S6GMYSYSXBK4
negative: apiToken: dt0c01.XXXX
negative: dt0c01.AAAAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBB

id: dyspatch-api-key
title: Dyspatch API key
severity: high
keywords: dyspatch
pattern: (?i)(?:\b|_)(?:dyspatch)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{52})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DYSPATCH_API_KEY="y6GwGNII5EOA06cWpNrZzx4nLwnaTl0ocbr4bCANbTVKAs6iySE9"
positive: dyspatch:\n  token: rv9VTxE7kjHRurSpaRWyR3snjlRioFB7vJVy0bmellIW5TgCvt82
negative: export DYSPATCH_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DYSPATCH_API_KEY="PSU2UE9xg9Fs0kdb51Sqogm9DOjiEhKBdSuEDK9ocWOnwgg8OM"
negative: export DYSPATCH_API_KEY="${DYSPATCH_API_KEY}"

id: eagleeyenetworks-api-key
title: Eagle Eye Networks API key
severity: high
keywords: eagleeyenetworks eagleeye
pattern: (?i)(?:\b|_)(?:eagleeyenetworks|eagleeye)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{15})(?![\w-])
entropy: 2.5
confidence: medium
positive: export EAGLEEYENETWORKS_API_KEY="UGOLe7AEkyBqzms"
positive: eagleeyenetworks:\n  token: u9rrj1PZlES5LUb
negative: export EAGLEEYENETWORKS_API_KEY="xxxxxxxxxxxxxxx"
negative: export EAGLEEYENETWORKS_API_KEY="ofwNaVLS2I9D2"
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
positive: EASYPOST_API_KEY=EZAK51UbjoqQdPvT0o1yuuPakTSEDsbGdgM8K5BUXCfTFmIxjoqYM1hq6t
negative: EZAKxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: EZAKH3gb6p8DLPeLcAB8cmeN

id: ecostruxureit-api-key
title: EcoStruxure IT API key
severity: high
keywords: ecostruxureit ecostruxure
pattern: (?i)(?:\b|_)(?:ecostruxureit|ecostruxure)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b(AK1[A-Za-z0-9]{45,55})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ECOSTRUXUREIT_API_KEY="AK1ajq9H126ZnEAu4Zbu5tl8NtR60b3c9zqLmyPmXhw1jZ4c2Zbes8"
positive: ecostruxureit:\n  token: AK1ge9QBUTyqsgOuxeeBcL64KGkl5mrwwVo2cPgjvVlbkxP0gZR
negative: export ECOSTRUXUREIT_API_KEY="AK1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ECOSTRUXUREIT_API_KEY="AK10lWTslhaX5EbhGgUGRY4M2kO5PJZOgST26xzxQXGFQz"
negative: export ECOSTRUXUREIT_API_KEY="${ECOSTRUXUREIT_API_KEY}"

id: edenai-api-key
title: Eden AI API key
severity: high
keywords: edenai eden_ai
pattern: (?i)(?:\b|_)(?:edenai|eden_ai)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9_.-]{100,600})(?![\w.-])
entropy: 3.0
window: 1024
confidence: medium
positive: export EDENAI_API_KEY="IarCJI0xbj8MtgfLJNptN3AjKeAlN1NMxZwFqL14ViivlIX8VfUofYqtt6g8SL68puGbedOl54RLGZiDKvEcgG6PAugfaijFt0uUq83RrJKZLLQeXItaEOueD733dnEpg3jUeVAPUOWLgHuYbg42ZnuSsbwUAdYrKkY7mJBu81jCoCrtJ3B3EpGgvfThtKZBVQyKmF5GDESLYN2qO4LD6qnGjUuqu6I6Jn7L9vqQlFHJJ1tmdcYb1Drxxg4wFlGNW2B5zTSG1IYYZi73j9BATihdsPXtwjM2G3EZ0ccXpu8vm20q954ouscOehL9VUhhKQTnIf"
positive: edenai:\n  token: lrv2kq4wS90CCv7oDYfHPtgqzPpGwOQYNC0fTRFoGRcHPwp6LgEjZuG1MkcdLeYITzFNFGYAN61wJQ4igvNecPgcZGdwbIFNbwZGQh6tI89CTejo05miAWTOwvP3bKoUlngIt36FceR4b4xu55C81LxhL07qce962DY3hfOtd69MqhJ7NkDV4t8yaoug84TqHL4zcjchyrsvSfXPM55b9hu3pVMoYkEVcSFFKhQJKxxewENZg016gpbDWfHfMvOrV9EAEskN5NYPoiBEgHO3XOZr4SNeLcAfJSBGnTgcz74C4NWmfXDffeOE0ZSDs5OEL0T5Fr7ZoC0WIQVPnMQJT
negative: export EDENAI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EDENAI_API_KEY="foU5wS5VvcMUPZFRp9FysvU9m7PESSRVFgJOpIaFEccXSFoZ2Yy0awg8ZEaxGzMXyCkNG3bVZMnib3HkiTEhOVvg0uUu4yWPRG"
negative: export EDENAI_API_KEY="${EDENAI_API_KEY}"

id: elasticemail-api-key
title: Elastic Email API key
severity: high
keywords: elasticemail elastic_email elastic
pattern: (?i)(?:\b|_)(?:elasticemail|elastic_email|elastic)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9_]{90,100})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ELASTICEMAIL_API_KEY="30c99GUg9hvDyEMIRfJD5LnpRTt3qIVmmUi6CONXHAK3QuV2iJRdI4IWspoS6uhEzaHbX198YCdLjm3lnIxeQqMJ9ylk"
positive: elasticemail:\n  token: TfK444a20Cf0jNpEpk5vc4atsr4WKWehQbEAVEyL1PqqQNJF2xUMoq9ed3eHzja8h2FvQz8TxmVC94FAqQTvpMtZz2mY04KBc
negative: export ELASTICEMAIL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ELASTICEMAIL_API_KEY="vtZng4Dyg8GJFrg7QE6xZxWYAZQXCUD3gFjVYcrjodMwJi40df7JJizWDKh91RUxMv9LgMU6zWPkc9NsKqDx39cL"
negative: export ELASTICEMAIL_API_KEY="${ELASTICEMAIL_API_KEY}"

id: elevenlabs-api-key
title: ElevenLabs API key
severity: high
keywords: sk_
pattern: \b(sk_[a-f0-9]{48})\b
entropy: 3.0
positive: ELEVENLABS_API_KEY=sk_67cca87c966a4396444e90c97e08d2034a102c4cb3526ba2
positive: client = ElevenLabs(api_key="sk_b1eda5b449197ef2aa95be38663c6472d968b8f197a0ddbc")
negative: sk_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: task_8034fad2283be352ea1a7df5775516b5cde5d7fa44716608

id: enigma-api-key
title: Enigma API key
severity: high
keywords: enigma
pattern: (?i)(?:\b|_)(?:enigma)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: enigma=I9k41cOOfIF1CLbdKixqY2S9LW2AYsg51u0lI2Nq
positive: ENIGMA iZkw6sNJawRYkLhDEW30cNLrtZGAlaojankAm60Y
negative: enigma=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: enigma=KShy8N2sR6w1Bnrl2UzFT1WuK1gZH3QjceaEvF
negative: enigma=${ENIGMA_API_KEY}

id: envoy-api-key
title: Envoy API key
severity: high
keywords: envoy
pattern: (?i)(?:\b|_)(?:envoy)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{150,260})(?![\w-])
entropy: 3.0
window: 1024
confidence: medium
positive: export ENVOY_API_KEY="nGemGz3iHqgzX400VI4BvpWFfSuGxGqbrCy5ro821JjPMrlP0IJmYDZAbJFt2vyOPTEg5hdnSo9WIa8KWfpgz1BjGNNZ7yzYXTTiIZiKGfxHJRyVkTyWHxODWGsMKtCZ0wNo5SDOsFRgXaNsyiEfZ2ASddfaIsb52zh0iRV7fDtYkCT88Wpy6Pd49QgUzT8A2N0Q"
positive: envoy:\n  token: hwxEeYYswHmLsOgMYHflDcVFCZBRFrv5WLxsOw7gQQqwnZtp275bbbRuIaFLmWJYLyCgGuwqsut3wS684a4fw45bSGzv4zVWeE6EmTfIbfEg0sh6JKltEZyG7MDWFEHdlNfYpxpfdowqJoZ8YBTgpuJMKAXbmwR1KszDUOYsKZsmLBeKfEgBLODlrAHKRQ5oMy1Ebl0nX9iEV
negative: export ENVOY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ENVOY_API_KEY="1g5yuALNvwkgBCjkWU82kEcUdefGhJmMSQKCUDEriBMux0UdpFCb8QQBhYe680Ow9xFfAJi7j0GLMJJaRS0TO5FA0ctC3oTUqgwY4BAtHQNMPKv577qfFLtqzJEMAuRW5S5mpZCq65km2nNtomxj"
negative: export ENVOY_API_KEY="${ENVOY_API_KEY}"

id: eraser-api-token
title: Eraser API token
severity: high
keywords: eraser
pattern: (?i)(?:\b|_)(?:eraser)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ERASER_API_KEY="NZYXiByUW4wOqAHIy3fJZU"
positive: eraser:\n  token: OXfCQjf56Ig0Ui1UuPpJAH
negative: export ERASER_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: export ERASER_API_KEY="qn3IKIdbHec8hHCHVoCA"
negative: export ERASER_API_KEY="${ERASER_API_KEY}"

id: etherscan-api-key
title: Etherscan API key
severity: medium
keywords: etherscan
pattern: (?i)(?:\b|_)(?:etherscan)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{34})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ETHERSCAN_API_KEY="ciCl4vz6wQOceExfY8KLYkPPSheyZ2Y4YL"
positive: etherscan:\n  token: PLZGSORWc1Xg6jFB8RxFxxo1O0FiifCBdn
negative: export ETHERSCAN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ETHERSCAN_API_KEY="DGPS30O7jztwSZW45tmetWB9mh5Nlsa6"
negative: export ETHERSCAN_API_KEY="${ETHERSCAN_API_KEY}"

id: ethplorer-api-key
title: Ethplorer API key
severity: medium
keywords: ethplorer
pattern: (?i)(?:\b|_)(?:ethplorer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ETHPLORER_API_KEY="TaSw7fK94EFrAaVhX6odLR"
positive: ethplorer:\n  token: g3TBkblIezK3F6ngHC2zHh
negative: export ETHPLORER_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: export ETHPLORER_API_KEY="EU7RDScycQv0DvW1qqii"
negative: export ETHPLORER_API_KEY="${ETHPLORER_API_KEY}"

id: eventbrite-api-token
title: Eventbrite private token
severity: high
keywords: eventbrite
pattern: (?i)(?:\b|_)(?:eventbrite)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EVENTBRITE_API_KEY="J6T1XD97VYXPM4ZJGZ62"
positive: eventbrite:\n  token: 6C31STQ092NTHBL57CD2
negative: export EVENTBRITE_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export EVENTBRITE_API_KEY="CHJQHVEY3YF2R2EBGS"
negative: export EVENTBRITE_API_KEY="${EVENTBRITE_API_KEY}"

id: everhour-api-key
title: Everhour API key
severity: high
keywords: everhour
pattern: (?i)(?:\b|_)(?:everhour)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{6}-[A-Za-z0-9]{6}-[A-Za-z0-9]{8})(?![\w-])
entropy: 3.0
confidence: medium
positive: everhour=wADx-tmvS-nhTJEv-i9wMWP-bKUV29zA
positive: EVERHOUR cTPP-UlS6-I40vX8-yjkrZN-KAo0MYfs
negative: everhour=xxxx-xxxx-xxxxxx-xxxxxx-xxxxxxxx
negative: everhour=Cek7-4N6g-jrzFpU-nVHoDC-3jkgUS
negative: everhour=${EVERHOUR_API_KEY}

id: exchangerateapi-api-key
title: ExchangeRate-API key
severity: medium
keywords: exchangerate exchangerate-api exchangerateapi
pattern: (?i)(?:\b|_)(?:exchangerate|exchangerate-api|exchangerateapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EXCHANGERATE_API_KEY="wvGGaavW5OsbPMZoL21K4L4a"
positive: exchangerate:\n  token: asaLpJyIf3lwzgCEc0pzgWyt
negative: export EXCHANGERATE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EXCHANGERATE_API_KEY="lGjhUhn7a1ExJOSB1YI5O1"
negative: export EXCHANGERATE_API_KEY="${EXCHANGERATE_API_KEY}"

id: exchangeratesapi-api-key
title: Exchangerates API key
severity: medium
keywords: exchangerates exchangeratesapi
pattern: (?i)(?:\b|_)(?:exchangerates|exchangeratesapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EXCHANGERATES_API_KEY="g2buwOlNNA3yjeATE862lJcU5BKSl5nR"
positive: exchangerates:\n  token: 8ViDHkz6mx6IkHlLji5tH9eTjAlmZco1
negative: export EXCHANGERATES_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EXCHANGERATES_API_KEY="CpW30KNdcTgUaPDimGCZKv4TI5Q1DI"
negative: export EXCHANGERATES_API_KEY="${EXCHANGERATES_API_KEY}"

id: extractorapi-api-key
title: ExtractorAPI key
severity: high
keywords: extractorapi
pattern: (?i)(?:\b|_)(?:extractorapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EXTRACTORAPI_API_KEY="wdHQPS1Cmy2gonrpD2Uuo3XWlmZ42dIwMR6rGLhW"
positive: extractorapi:\n  token: w2G35s5bgOHJ15SNvRSWLuyk5o7dKntEgpkNRGnF
negative: export EXTRACTORAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EXTRACTORAPI_API_KEY="bVsABxkJzfHT9YAoTRKYTShc8hv2FcsnbWsd5l"
negative: export EXTRACTORAPI_API_KEY="${EXTRACTORAPI_API_KEY}"

id: facebook-app-id
title: Facebook app id
severity: low
keywords: facebook fb_app fbapp fb-app
pattern: (?i)(?:facebook|\bfb[_-]?app)[\w\s.:'"=-]{0,25}?(?:app(?:lication)?[_-]?)?id["']?\s{0,3}[:=]{1,2}\s{0,3}["']?\b([0-9]{15,16})\b
entropy: 2.5
confidence: medium
positive: FACEBOOK_APP_ID=241140936512460
positive: fb_app_id: "1086304774555366"
negative: FACEBOOK_APP_ID=123
negative: FACEBOOK_APP_ID=000000000000000

id: facebook-app-secret
title: Facebook app secret
severity: high
keywords: facebook fbapi fb_api fb_app fbapp fb_secret fbsecret fb-app
pattern: (?i)(?:facebook|\bfb[_-]?(?:api|app|secret))[\w\s.:'"=-]{0,25}?(?:secret|key)["']?\s{0,20}[:=]{1,2}\s{0,20}["']?\b([a-f0-9]{32})\b
entropy: 3.0
confidence: medium
positive: FACEBOOK_APP_SECRET=a804e58e5f77823ad539ce0098b10dd9
positive: var fbApiKey = '8eaf4445775d2f3c6df9117021d55808';
negative: FACEBOOK_APP_SECRET=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: FACEBOOK_APP_SECRET=ffffffffffffffffffffffffffffffff

id: facebook-access-token
title: Facebook (Meta) access token
severity: high
keywords: eaa
pattern: (?:^|[^A-Za-z0-9+/_-])(EAA[A-Za-z0-9]{30,300})(?![A-Za-z0-9+/=_-])
entropy: 4.2
positive: FB_ACCESS_TOKEN=EAAC5MjsXIA4RGzifgdRWZp0ABeyTIZCxXNRQ2ZnqdeJs3NZl9m5Gw1UMxwDRi6cHsoG1Yw25aWsUFF3dQf1RXkx7GY1khK346cLwyEO37hkLCwqfyoMZLMOQ5tu
positive: https://graph.facebook.com/me?access_token=EAACnMBqejPQhWJMiYdH9KidBdaaNbR4gYGVxV92rZtnjUgmnYmu9BoWtjq9qaTxfOt9W2uoUdpW9SkwAJKPF7lMQB6Ysqmd4oVzO5LKatYZyyYpwJqArRQtPAlx
negative: EAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
negative: EAABxxxxxxxxxx
negative: data = "EAAAoBUAACMUAACJEgAAixQAAE0VAADUEQAAzxQAABAYAADJFgAA3BYAAMERAADgFwAAuxQAAHQUAAB8FQAA5RQAAAgXAAAfEAAA"

id: fastforex-api-key
title: fastFOREX API key
severity: medium
keywords: fastforex
pattern: (?i)(?:\b|_)(?:fastforex)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{28})(?![\w-])
entropy: 3.0
confidence: medium
positive: fastforex=N1dxJTR9VLJv6gdhzhlktUMcHPx9
positive: FASTFOREX sar8PwY5Vt7UFrAwdV1xR7BAbtA3
negative: fastforex=xxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: fastforex=UFduqk8HFFf7pn69GkxRNfWywr
negative: fastforex=${FASTFOREX_API_KEY}

id: fastly-api-token
title: Fastly API token
severity: high
keywords: fastly
pattern: (?i)(?:\b|_)(?:fastly)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9_-]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FASTLY_API_KEY="qrvRwxCXyIA1jKK9uUESQ1D3H6MBC3OS"
positive: fastly:\n  token: ojozaOSW2hSSUWpWOis2nzB82dlvsPqA
negative: export FASTLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FASTLY_API_KEY="UK2vVi1EXnpxrjj3nEqiBEAuG6bHol"
negative: export FASTLY_API_KEY="${FASTLY_API_KEY}"

id: feedier-api-key
title: Feedier API key
severity: high
keywords: feedier
pattern: (?i)(?:\b|_)(?:feedier)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FEEDIER_API_KEY="9LsxyBiJ9SrsHovunzOjfcnhbVco5lyj"
positive: feedier:\n  token: lCevN6Ia7N2hYDn1cMrg9sjTk0BYIoup
negative: export FEEDIER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FEEDIER_API_KEY="TNEIabZ8KxLEdocKPl35MIPC2qL17k"
negative: export FEEDIER_API_KEY="${FEEDIER_API_KEY}"

id: fetchrss-api-key
title: FetchRSS API key
severity: high
keywords: fetchrss
pattern: (?i)(?:\b|_)(?:fetchrss)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FETCHRSS_API_KEY="BitZOp6CFh0IyMlOivgoQGwd82sHLY8Hg381NV2j"
positive: fetchrss:\n  token: 5D6VlpbEbglUWyNkYqJ49k4JPHrLhmCFiGUnBFBX
negative: export FETCHRSS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FETCHRSS_API_KEY="4WkKqCMP4y3BhxYk8QVvB74LpBZ5wRmJoVXOly"
negative: export FETCHRSS_API_KEY="${FETCHRSS_API_KEY}"

id: figma-personal-access-token
title: Figma personal access token
severity: high
keywords: figd_
pattern: \b(figd_[A-Za-z0-9_-]{38,44})(?![\w-])
entropy: 3.0
positive: FIGMA_TOKEN=figd_CEHZ1lUQnNoBvo3SiLGlG2GKJIb6RxnI6z9ILKlL
positive: headers = {"X-Figma-Token": "figd_jGrXqHq1lz5tmHfvJqeyqnWCnlS37PcU0uQW0CDQ"}
negative: figd_xxxx
negative: figd_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: figma-legacy-token
title: Figma personal access token (legacy)
severity: high
keywords: figma
pattern: (?i)figma[\w\s.:'"=-]{0,30}?\b([0-9]{4,6}-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})\b
entropy: 3.0
confidence: medium
positive: --header='X-Figma-Token: 6016-fa3c73ac-e3c0-6742-ce61-65880b80ac9e'
negative: X-Figma-Token: 0000-00000000-0000-0000-0000-000000000000

id: fileio-api-key
title: file.io API key
severity: high
keywords: fileio file.io
pattern: (?i)(?:\b|_)(?:fileio|file\.io)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FILEIO_API_KEY="Ge1kpKN00ibLHT9RYy5dbaW5t0CEZC7YH8XPEHqe"
positive: fileio:\n  token: EGez7AClivMPWn4bP3bOrh0VfAm58CACmh99S1mq
negative: export FILEIO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FILEIO_API_KEY="LrMxB0E9S8cneEq3u77aBL3ismjtrHyEuWCfd3"
negative: export FILEIO_API_KEY="${FILEIO_API_KEY}"

id: finage-api-key
title: Finage API key
severity: medium
keywords: finage
pattern: (?i)(?:\b|_)(?:finage)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINAGE_API_KEY="UhXnYL9QTWvxoY1MjKUTTSGjB6nkBVDv"
positive: finage:\n  token: Fe3I46k7oSLUADtMvzH5ftSowvXQrZoV
negative: export FINAGE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FINAGE_API_KEY="bmtk0bfJUdWfsDKpWsQAPWELyx2Fo5"
negative: export FINAGE_API_KEY="${FINAGE_API_KEY}"

id: financialmodelingprep-api-key
title: Financial Modeling Prep API key
severity: medium
keywords: financialmodelingprep
pattern: (?i)(?:\b|_)(?:financialmodelingprep)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINANCIALMODELINGPREP_API_KEY="Oapzyvvskn6j3JMj8IjJGqFDHVePZUWk"
positive: financialmodelingprep:\n  token: EIlWOd3NJiG3AUmNkS1YtHJdUNYRMnza
negative: export FINANCIALMODELINGPREP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FINANCIALMODELINGPREP_API_KEY="QUivbBRczuasXEw80Ar8ZuGpBOnrck"
negative: export FINANCIALMODELINGPREP_API_KEY="${FINANCIALMODELINGPREP_API_KEY}"

id: findl-api-key
title: Findl API key
severity: high
keywords: findl
pattern: (?i)(?:\b|_)(?:findl)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: findl=edb9a41b-6493-1bf0-9c90-fc63ee16092c
positive: FINDL ff16e01f-c810-6335-edde-585a46bd15a5
negative: findl=xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
negative: findl=d953ee4b-e7dc-e631-8acf-c8c2575d21
negative: findl=${FINDL_API_KEY}

id: finicity-api-token
title: Finicity app key
severity: high
keywords: finicity
pattern: (?i)(?:\b|_)(?:finicity)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINICITY_API_KEY="FFz0RwQRJd88Q56fkn6uTtC7vMVvXm36"
positive: finicity:\n  token: 1NuydqPKk50ZDLfzL5fWl9sIJfjbKdGf
negative: export FINICITY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FINICITY_API_KEY="YGC9pmaXHuhF3Y9h7eikb5HFqZtvIl"
negative: export FINICITY_API_KEY="${FINICITY_API_KEY}"

id: finicity-client-secret
title: Finicity partner secret
severity: high
keywords: finicity
pattern: (?i)(?:\b|_)(?:finicity)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINICITY_API_KEY="1nzisJezRbarTc1v6qNX"
positive: finicity:\n  token: 8qrUTg2oG4AqpBXnciPu
negative: export FINICITY_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export FINICITY_API_KEY="hrsTIehKNIRd8oVmCf"
negative: export FINICITY_API_KEY="${FINICITY_API_KEY}"

id: finnhub-api-key
title: Finnhub API key
severity: medium
keywords: finnhub
pattern: (?i)(?:\b|_)(?:finnhub)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINNHUB_API_KEY="GoUirRHWnfzD6bUJaZTG"
positive: finnhub:\n  token: ByUhZi2jqhTMQtsyPay7
negative: export FINNHUB_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export FINNHUB_API_KEY="UkFmKdqD2Mns3Jc354"
negative: export FINNHUB_API_KEY="${FINNHUB_API_KEY}"

id: fixerio-api-key
title: Fixer API key
severity: medium
keywords: fixer fixerio fixer.io
pattern: (?i)(?:\b|_)(?:fixer|fixerio|fixer\.io)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FIXER_API_KEY="a29p7OYT7Q0ZQ67pORxyNRcYHSY1uELm"
positive: fixer:\n  token: fSaHT3zgZR4FcCV7CBeOamYlWXeeRV97
negative: export FIXER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FIXER_API_KEY="7G36taaJD1aK0SdzqjNh6eEmxMxSaf"
negative: export FIXER_API_KEY="${FIXER_API_KEY}"

id: flatio-api-key
title: Flat.io API key
severity: high
keywords: flat flatio flat.io
pattern: (?i)(?:\b|_)(?:flat|flatio|flat\.io)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{128})(?![\w-])
entropy: 3.0
window: 512
confidence: medium
positive: export FLAT_API_KEY="pFHvzBCt8opYD9ILoreWfcTai9PrDxEU7MnsY5Fz5NFDLvBiaL5PE7huDRdXBa09l8wVPVIzvMviMpAhYuHKXfg2wuTUAk5aWvGltvfGAkczoS2S0rlQsPV8jQnmrFbG"
positive: flat:\n  token: fBZ2krDk4gfy2AfbCfOo91gUp9q6l8b8SSQB4HYxW0xtCy58WoNN5rv9ftPf5Y9ehMCxntJIjti8CvGuQPJfUW5rnKAkiCvnZuT5jNJU6VM5FDcXqbLQeBpXOznOrPkK
negative: export FLAT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FLAT_API_KEY="HYRalje8Cgmzg3v2bYcy8Csf4ivi5J1GxVbCaj9pDBZw7pTSEUwsE9YKLD8wQC99ZdDrKBvXhnu1JUyjvucG7e4C4tXfa6OgSXo6guGAQVUqJZKmeL0jnDsXuFWtQv"
negative: export FLAT_API_KEY="${FLAT_API_KEY}"

id: fleetbase-api-key
title: Fleetbase API key
severity: high
keywords: flb_live_ flb_test_
pattern: \b(flb_(?:live|test)_[A-Za-z0-9]{20,40})\b
entropy: 3.0
positive: FLEETBASE_API_KEY=flb_live_h8YadMjpzSprERj9LH4r
negative: flb_live_xxxx
negative: flb_prod_RgW4h2cGxZSj1i5L5DwY

id: flexport-api-key
title: Flexport API key
severity: high
keywords: shltm_
pattern: \b(shltm_[A-Za-z0-9_-]{40})(?![\w-])
entropy: 3.0
positive: FLEXPORT_API_KEY=shltm_WiVIRpgQDNeGtzpupCO0b3hLrwwtWCUYnggoF6be
negative: shltm_xxxx
negative: shltm_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: flickr-api-key
title: Flickr API key
severity: high
keywords: flickr
pattern: (?i)(?:\b|_)(?:flickr)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FLICKR_API_KEY="ormU4rTmNYlt2GXy5r9VUpxfRATwBsCu"
positive: flickr:\n  token: 3NJXccn3oGcSky3lR3QwMj4U8qcg0ytf
negative: export FLICKR_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FLICKR_API_KEY="H5uthyMNRUPsm8X7iPcLGQT7CHYPgb"
negative: export FLICKR_API_KEY="${FLICKR_API_KEY}"

id: flightapi-api-key
title: FlightAPI key
severity: medium
keywords: flightapi
pattern: (?i)(?:\b|_)(?:flightapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FLIGHTAPI_API_KEY="vsHI9MtJIFycRmf4TPvqKarL"
positive: flightapi:\n  token: Z8NmFTo1Z5SImUrORsJLs55W
negative: export FLIGHTAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FLIGHTAPI_API_KEY="X8d4aukcgGLPpeJcI7zeJX"
negative: export FLIGHTAPI_API_KEY="${FLIGHTAPI_API_KEY}"
"""#
}
