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
keywords: discord bot_token bottoken apikey api_key bot.run client.run
pattern: (?i)(?:discord|bot|token|api_?key|client\.run)[\w.-]{0,25}?["']?\s{0,3}[:=(]{1,2}\s{0,3}["']?([MNO][\w-]{23,27}\.[\w-]{6}\.[\w-]{27,40})(?![\w-])
entropy: 3.5
confidence: medium
positive: DISCORD_BOT_TOKEN=MTLOn6SsIsjlVfco69aYzpB5V.esuGKs.op4y9OS4uFZPBfccSe4xhPoCVTOWtMm9aZMEmm
positive: bot_token = "MT1QLAsyjgTpOKP0dJ1xaeEYa.7zexq7.qYLrj6u2qCgfoBsPy2ViRXCtrAqufphUSqXYgC"
positive: client.run('MTPVqE5hogTNpHyfT75U1Cb2x.wGXk4U.WXXLKjxBtXVulBf8Sjd3vKRqEiA1pxxUv4INuT')
negative: DISCORD_BOT_TOKEN=MTIz.abc.def
negative: token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijklmnopqrstuvwxyz0123"

id: discord-bot-id
title: Discord bot / application id
severity: low
keywords: discord bot_id botid
pattern: (?i)(?:discord[\w.-]{0,20}?|\bbot_?id)["']?\s{0,3}[:=]{1,2}\s{0,3}["']?\b([0-9]{17,19})\b
entropy: 2.5
confidence: medium
positive: DISCORD_CLIENT_ID=137589178271944022
positive: bot_id: "206426816576307449"
negative: DISCORD_CLIENT_ID=123
negative: discord = 00000000000000000

id: disqus-api-key
title: Disqus API key
severity: high
keywords: disqus
pattern: (?i)(?:\b|_)(?:disqus)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DISQUS_API_KEY="kEXGIAyk5v7xylwH2GzN3cFaTg72hiduTz6oC52iX4FBC5riQx1LMURWpwGhXQqo"
positive: disqus:\n  token: MPEB1i3moDBoHfnI71k3Kohc9WE8q7NnfZUIIqPxFK5sElQ13cCuWMYqAEubGqYm
negative: export DISQUS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DISQUS_API_KEY="5D5NlsGjRR0FYgqV0AucAuZdfZkKkbxjlGjggNS5eBFbCxEBWhQISuRbKuRxCR"
negative: export DISQUS_API_KEY="${DISQUS_API_KEY}"

id: ditto-api-key
title: Ditto API key
severity: high
keywords: ditto
pattern: (?i)(?:\b|_)(?:ditto)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}\.[A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DITTO_API_KEY="f1ae5dd7-5aa6-0fe5-d39b-98e77324fe62.JB4IX8oaINY0tSpdg2x4pUBpp4cJnQZzOurOrLFM"
positive: ditto:\n  token: 8a19d434-cd53-7e15-1330-f2a527a9222e.dG0Nx61aC3odnPtiFmO5OTOfgFuHqJoNUW1tiZkR
negative: export DITTO_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DITTO_API_KEY="12ddf960-113d-0ea9-4a07-e3c7c1d75cdc.38AJAXL6yRpF83ZQgvGieVhrtKYT1vuzbFc3ld"
negative: export DITTO_API_KEY="${DITTO_API_KEY}"

id: django-secret-key
title: Django SECRET_KEY
severity: high
keywords: django
pattern: (?i)(?:\b|_)django[\w.-]{0,10}?secret[_-]?key["']?\s{0,3}[:=,]{1,2}\s{0,3}["']([^\s'"]{40,80})["']
entropy: 3.5
confidence: medium
positive: os.environ.get('DJANGO_SECRET_KEY', 'q7#vn!2k$e9f@x0p*h6w&z3m^r8t(a1s)d5g%j4l+b_c-y=u')
positive: DJANGO_SECRET_KEY = "XiPmq7Nrcmrm23xJ9tMzFFOmjnF7fDULA7ITjeOrP1TvXkXzo6"
negative: DJANGO_SECRET_KEY = "changeme"
negative: DJANGO_SECRET_KEY = os.environ['DJANGO_SECRET_KEY']

id: django-insecure-secret-key
title: Django generated insecure SECRET_KEY
severity: medium
keywords: django-insecure-
pattern: \b(django-insecure-[^\s'"]{40,70})
entropy: 3.5
positive: SECRET_KEY = 'django-insecure-YIN4BG0rP7ruPygRORL0UAPdEw5fOXOobvP0cwIdB2BXrwy44K'
negative: SECRET_KEY = 'django-insecure-xxxxxxxx'

id: docparser-api-key
title: Docparser API key
severity: high
keywords: docparser
pattern: (?i)(?:\b|_)(?:docparser)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DOCPARSER_API_KEY="BNgFxWeqOEAD9tCSNjAFe7bAZ6ixvq1Bs4Tts5zV"
positive: docparser:\n  token: tBWGcB46M8QZYIWF97kMAUavr7fz0CUu4BJlEtXD
negative: export DOCPARSER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DOCPARSER_API_KEY="8xoXARNMSACGiEaQdg2LQOSa1Lsd50NiqIVz62"
negative: export DOCPARSER_API_KEY="${DOCPARSER_API_KEY}"

id: doppler-cli-token
title: Doppler CLI token
severity: high
keywords: dp.ct.
pattern: \b(dp\.ct\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.ct.cpyHWGYuuysxcrCPhoix3xO3vTRv9H6mIhdt7tCMjol
negative: DOPPLER_TOKEN=dp.ct.xxxx
negative: DOPPLER_TOKEN=dp.ct.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-personal-token
title: Doppler personal token
severity: high
keywords: dp.pt.
pattern: \b(dp\.pt\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.pt.8XMeegvEn4EgkGd9Xtf1q9NZbgB8erHv5AOfpJiwgiC
negative: DOPPLER_TOKEN=dp.pt.xxxx
negative: DOPPLER_TOKEN=dp.pt.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-service-account-token
title: Doppler service account token
severity: high
keywords: dp.sa.
pattern: \b(dp\.sa\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.sa.5GgUTIUz9d1cUgAgcrO6yMj3P90G1v90KdBejVryvxJ
negative: DOPPLER_TOKEN=dp.sa.xxxx
negative: DOPPLER_TOKEN=dp.sa.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-scim-token
title: Doppler SCIM token
severity: high
keywords: dp.scim.
pattern: \b(dp\.scim\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.scim.kf53ySJWrphFBXx7uCfFkUavkS4LmRta4r7YqzAw9yf
negative: DOPPLER_TOKEN=dp.scim.xxxx
negative: DOPPLER_TOKEN=dp.scim.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-audit-token
title: Doppler audit token
severity: high
keywords: dp.audit.
pattern: \b(dp\.audit\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.audit.IzvMr1tt28fzYoquqlg5iShydOuw0pXl7LwHDCSEpBN
negative: DOPPLER_TOKEN=dp.audit.xxxx
negative: DOPPLER_TOKEN=dp.audit.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-service-token
title: Doppler service token
severity: high
keywords: dp.st.
pattern: \b(dp\.st\.(?:[a-z0-9_-]{2,35}\.)?[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.st.prd.s8cak9c7hlgGKRmZcV9oPdeiHPEVNZuPkKYCqzYFQDr
positive: DOPPLER_TOKEN=dp.st.jRhsPIgCgHPEPESqoN9c0NPoMpWqLhfS9Zo3CwVfmgU
negative: DOPPLER_TOKEN=dp.st.prd.xxxx

id: dronahq-api-key
title: DronaHQ API key
severity: high
keywords: dronahq
pattern: (?i)(?:\b|_)(?:dronahq)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{50})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DRONAHQ_API_KEY="S5byQPgEAbcSc0JB8CGZfc4BPXHTPELAh34A30d4pr0IHdzu0M"
positive: dronahq:\n  token: BIWXw7UCSK2LQPwAUUIF9nRhiL4FHbE4EcldeE3ay8Zv9LzyD5
negative: export DRONAHQ_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DRONAHQ_API_KEY="fnZYV368qz9zd2SEZCQiR75FyRbz85aeq0kQqEWa842IVLZB"
negative: export DRONAHQ_API_KEY="${DRONAHQ_API_KEY}"

id: droneci-access-token
title: Drone CI access token
severity: high
keywords: droneci drone_token drone-token
pattern: (?i)(?:\b|_)(?:droneci|drone_token|drone-token)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DRONECI_API_KEY="xsjVIwHC36rGQmzVULg90wRvx17f7SGH"
positive: droneci:\n  token: BINFWtjsxFlYmRNd4mRjRaG5St4uoakQ
negative: export DRONECI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DRONECI_API_KEY="maLLBwxoJexQC5HTuei8DBIaCAXOgv"
negative: export DRONECI_API_KEY="${DRONECI_API_KEY}"

id: dropbox-access-token
title: Dropbox short-lived access token
severity: high
keywords: sl.
pattern: \b(sl\.(?:u\.)?[A-Za-z0-9_-]{130,1400})(?![\w-])
entropy: 3.5
window: 2048
positive: curl -H "Authorization: Bearer sl.w6OHxifRsOCYS8L12IpH1LCSagrBhtPA4FaKkB4InF1GXovAdVamAXdwIzCfJIXfUDZu5cnQs8uZb6k6MJ501RjOwMC83YuL5ACPr9KBMKQwTtY2hnQ2bgsNUhoSp0zDviYUe81XnN" https://api.dropboxapi.com/2/users/get_current_account
negative: sl.xxxxxxxxxx
negative: ssl.v2ijfNrNKw3OVblXRKG4xEnqoNkisYUOyksh2kVWkXumrTIYX0GLmLMKBOqUE9oSoqAIls8GAVnqj6pM6xvNwTna0d44f6cWxCG7DSFVTORvruMhaz0qQ1kbs3HAKk2z11S95Dc6J9eW

id: dynalist-api-token
title: Dynalist API token
severity: high
keywords: dynalist
pattern: (?i)(?:\b|_)(?:dynalist)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{128})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DYNALIST_API_KEY="GZY0HIyGa7AbidZbvF6LiPVWYm6fiNCwU0eMb6VA9JPffyl2GEVK0vHzi3l3jUjFwCMsWDDHUbFhqzYNGUqejKBURKbH5FuH3BdoIKMlKHml7ErMjBSNPjQ1rHMlI0Dv"
positive: dynalist:\n  token: rNwLQb9Ewk5PgzGdyt4jqsUmlTuQoKq5VtYxgLelO1jCEG2bt2c1foU3r7vmjrbf5KR8G84yOfobFvdITEfStWjaNML2NQuBzwfrRpDLheYehrLskp75LLot9EwBeFAg
negative: export DYNALIST_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DYNALIST_API_KEY="fZzt5dA4dft055qKR3Ubxla0UKbCyHwGD3qPGwFsbFwN7f6PqJ8gtnDS4rMdLOnKeSj3Qk1tBm3IyF8CGZa7uGhYFeqcrEaeZwnpaAJV72QRVqvhSk7onL5AgDqXTl"
negative: export DYNALIST_API_KEY="${DYNALIST_API_KEY}"

id: dynatrace-api-token
title: Dynatrace API token
severity: high
keywords: dt0c0 dt0s0
pattern: \b(dt0[cs]0[0-9]\.[A-Z0-9]{24}\.[A-Z0-9]{64})\b
entropy: 3.0
positive: apiToken: dt0c01.FMD7S3WWAU26S6GMYSYSXBK4.G4JKHZLZKP0IDLXLS1NQ0JGLEAXEM002Z04SBPY022BYME06EJ6JEYF1NVGSLFOV
negative: apiToken: dt0c01.XXXX
negative: dt0c01.AAAAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBB

id: dyspatch-api-key
title: Dyspatch API key
severity: high
keywords: dyspatch
pattern: (?i)(?:\b|_)(?:dyspatch)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{52})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DYSPATCH_API_KEY="82HTeGW6ac0RHFPKAPvEnbibhWSnXEBDZZcpTAPDpQsvREKJwr28"
positive: dyspatch:\n  token: kesPSU2UE9xg9Fs0kdb51Sqogm9DOjiEhKBdSuEDK9ocWOnwgg8O
negative: export DYSPATCH_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DYSPATCH_API_KEY="aVLS2I9D2QS8BH3gb6p8DLPeLcAB8cmeN1K2KPm51UbjoqQdPv"
negative: export DYSPATCH_API_KEY="${DYSPATCH_API_KEY}"

id: eagleeyenetworks-api-key
title: Eagle Eye Networks API key
severity: high
keywords: eagleeyenetworks eagleeye
pattern: (?i)(?:\b|_)(?:eagleeyenetworks|eagleeye)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{15})(?![\w-])
entropy: 2.5
confidence: medium
positive: export EAGLEEYENETWORKS_API_KEY="1yuuPakTSEDsbGd"
positive: eagleeyenetworks:\n  token: M8K5BUXCfTFmIxj
negative: export EAGLEEYENETWORKS_API_KEY="xxxxxxxxxxxxxxx"
negative: export EAGLEEYENETWORKS_API_KEY="444tMI0qMxmMb"
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
positive: EASYPOST_API_KEY=EZAKXMm0ADzj7zshUXlGC7pOJCXXXWNxv3we3g0xXvXCqtj54X7MSgxE9A
negative: EZAKxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: EZAKMoQyeqtI5d2VjejbKhyK

id: ecostruxureit-api-key
title: EcoStruxure IT API key
severity: high
keywords: ecostruxureit ecostruxure
pattern: (?i)(?:\b|_)(?:ecostruxureit|ecostruxure)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b(AK1[A-Za-z0-9]{45,55})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ECOSTRUXUREIT_API_KEY="AK1xP0gZRnI30P6xFgWeP4LjZp8FGoYGjpdMeGsironHt39Zca"
positive: ecostruxureit:\n  token: AK1pErWs670lWTslhaX5EbhGgUGRY4M2kO5PJZOgST26xzxQXGFQ
negative: export ECOSTRUXUREIT_API_KEY="AK1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ECOSTRUXUREIT_API_KEY="AK1UofYqtt6g8SL68puGbedOl54RLGZiDKvEcgG6PAugfa"
negative: export ECOSTRUXUREIT_API_KEY="${ECOSTRUXUREIT_API_KEY}"

id: edenai-api-key
title: Eden AI API key
severity: high
keywords: edenai eden_ai
pattern: (?i)(?:\b|_)(?:edenai|eden_ai)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9_.-]{100,600})(?![\w.-])
entropy: 3.0
window: 1024
confidence: medium
positive: export EDENAI_API_KEY="jFt0uUq83RrJKZLLQeXItaEOueD733dnEpg3jUeVAPUOWLgHuYbg42ZnuSsbwUAdYrKkY7mJBu81jCoCrtJ3B3EpGgvfThtKZBVQyKmF5GDESLYN2qO4LD6qnGjUuqu6I6Jn7L9vqQlFHJJ1tmdcYb1Drxxg4wFlGNW2B5zTS"
positive: edenai:\n  token: 1IYYZi73j9BATihdsPXtwjM2G3EZ0ccXpu8vm20q954ouscOehL9VUhhKQTnIfElrv2kq4wS90CCv7oDYfHPtgqzPpGwOQYNC0fTRFoGRcHPwp6LgEjZuG1MkcdLeYITzFNFGYAN61wJQ4igvNecPgcZGdwbIFNbwZGQh6tI89CTejo05miAWTOwvP3bKoUlngIt36FceR4b4xu55C81LxhL07qce962DY3hfOtd69MqhJ7NkDV4t8yaoug84TqHL4zcjchyrsvSfXPM55b9hu3pVMoYkEVcSFFKhQJKxxewENZg016gpbDWfHfMvOrV9EAEskN5NYPoiBEgHO3XOZr4SNeLcAfJSBGnTgc
negative: export EDENAI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EDENAI_API_KEY="k9CivHuYviWegFFwnuygsxcha256zNrj3bBIi4yWV04Ym1zzvWCrdJzpCGcadc1yhalDaYD0StzWpJSoAbkSbToYL3lk4qdgMo"
negative: export EDENAI_API_KEY="${EDENAI_API_KEY}"

id: elasticemail-api-key
title: Elastic Email API key
severity: high
keywords: elasticemail elastic_email elastic
pattern: (?i)(?:\b|_)(?:elasticemail|elastic_email|elastic)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9_]{90,100})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ELASTICEMAIL_API_KEY="z8gOWQBGx63qyFlqdcvofHBqQJrzjzN8ObceG0uv5RkTvmPzzIPBO4Ab3AQTCdB2QfvZYQa6aUPj6otLfoU5wS5VvcMUP"
positive: elasticemail:\n  token: Rp9FysvU9m7PESSRVFgJOpIaFEccXSFoZ2Yy0awg8ZEaxGzMXyCkNG3bVZMnib3HkiTEhOVvg0uUu4yWPRGk30c99GUg9hvDy
negative: export ELASTICEMAIL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ELASTICEMAIL_API_KEY="5vc4atsr4WKWehQbEAVEyL1PqqQNJF2xUMoq9ed3eHzja8h2FvQz8TxmVC94FAqQTvpMtZz2mY04KBcq3BrUfwme"
negative: export ELASTICEMAIL_API_KEY="${ELASTICEMAIL_API_KEY}"

id: elevenlabs-api-key
title: ElevenLabs API key
severity: high
keywords: sk_
pattern: \b(sk_[a-f0-9]{48})\b
entropy: 3.0
positive: ELEVENLABS_API_KEY=sk_86d92d955788d9eb2e1b5ebce68d54d6fb3285b28034fad2
positive: client = ElevenLabs(api_key="sk_83be352ea1a7df5775516b5cde5d7fa44716608c67cca87c")
negative: sk_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: task_d94b0393c43dc5afd09dad57939c33dd399b6354721b6430

id: enigma-api-key
title: Enigma API key
severity: high
keywords: enigma
pattern: (?i)(?:\b|_)(?:enigma)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: enigma=LvMxEPOwaU22rGga40p7KSiWrBaDySZ35SnhdeAa
positive: ENIGMA oRECCBrm5TfZsfmDF0cyoFWtPaVmXSiTU2UJvB29
negative: enigma=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: enigma=RKaeHWLFH5me3cmg9Oo3C4qjtXxQijvv6uyKZW
negative: enigma=${ENIGMA_API_KEY}

id: envoy-api-key
title: Envoy API key
severity: high
keywords: envoy
pattern: (?i)(?:\b|_)(?:envoy)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{150,260})(?![\w-])
entropy: 3.0
window: 1024
confidence: medium
positive: export ENVOY_API_KEY="SfvI9k41cOOfIF1CLbdKixqY2S9LW2AYsg51u0lI2NqN0riZkw6sNJawRYkLhDEW30cNLrtZGAlaojankAm60YpInjL9PbPA5Khy9p81Bq1AxdrRXV9Xh06pbAjZpOMKShy8N2sR6w1Bnrl2UzFT1WuK1gZH3"
positive: envoy:\n  token: jceaEvFxnGemGz3iHqgzX400VI4BvpWFfSuGxGqbrCy5ro821JjPMrlP0IJmYDZAbJFt2vyOPTEg5hdnSo9WIa8KWfpgz1BjGNNZ7yzYXTTiIZiKGfxHJRyVkTyWHxODWGsMKtCZ0wNo5SDOsFRgXaNsyiEfZ2ASddfaIsb52zh0iRV7fDtYkCT88Wpy6Pd49QgUzT8A2N0QBhwxEeYYswHmLsOgMYHflDcVFCZBRF
negative: export ENVOY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ENVOY_API_KEY="eqqWWqmBxeWq5kjXRLgGIF1bBgnNZhBk1kHCHbaDp4H8lJkmEMEnMBnr8LeLHn15eckBAZqzYS8BlPCkQydpGp4yQAMwWOP9UCTgrS1cIFdwDxQnlVWZbwKUgJI6B0yfeSbdsVyg2Nus0Tu0tO5I"
negative: export ENVOY_API_KEY="${ENVOY_API_KEY}"

id: eraser-api-token
title: Eraser API token
severity: high
keywords: eraser
pattern: (?i)(?:\b|_)(?:eraser)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ERASER_API_KEY="uaqWnYLDyEhgKBtQqdJ1sL"
positive: eraser:\n  token: HeWx8bwJOvk1qlL1iEIe8O
negative: export ERASER_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: export ERASER_API_KEY="CiCB2eAY13D5u1g5yuAL"
negative: export ERASER_API_KEY="${ERASER_API_KEY}"

id: etherscan-api-key
title: Etherscan API key
severity: medium
keywords: etherscan
pattern: (?i)(?:\b|_)(?:etherscan)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{34})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ETHERSCAN_API_KEY="wkgBCjkWU82kEcUdefGhJmMSQKCUDEriBM"
positive: etherscan:\n  token: x0UdpFCb8QQBhYe680Ow9xFfAJi7j0GLMJ
negative: export ETHERSCAN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ETHERSCAN_API_KEY="qfFLtqzJEMAuRW5S5mpZCq65km2nNtom"
negative: export ETHERSCAN_API_KEY="${ETHERSCAN_API_KEY}"

id: ethplorer-api-key
title: Ethplorer API key
severity: medium
keywords: ethplorer
pattern: (?i)(?:\b|_)(?:ethplorer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ETHPLORER_API_KEY="jxNZYXiByUW4wOqAHIy3fJ"
positive: ethplorer:\n  token: OXfCQjf56Ig0Ui1UuPpJAH
negative: export ETHPLORER_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: export ETHPLORER_API_KEY="qn3IKIdbHec8hHCHVoCA"
negative: export ETHPLORER_API_KEY="${ETHPLORER_API_KEY}"

id: eventbrite-api-token
title: Eventbrite private token
severity: high
keywords: eventbrite
pattern: (?i)(?:\b|_)(?:eventbrite)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EVENTBRITE_API_KEY="CI2LVZWCE4XFKHEYD6CG"
positive: eventbrite:\n  token: 51X5XXO5IIF21DNIRE7O
negative: export EVENTBRITE_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export EVENTBRITE_API_KEY="TWTMET1MHLSA8AAWF4"
negative: export EVENTBRITE_API_KEY="${EVENTBRITE_API_KEY}"

id: everhour-api-key
title: Everhour API key
severity: high
keywords: everhour
pattern: (?i)(?:\b|_)(?:everhour)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{6}-[A-Za-z0-9]{6}-[A-Za-z0-9]{8})(?![\w-])
entropy: 3.0
confidence: medium
positive: everhour=rAaV-X6od-g3TBkb-IezK3F-gHC2zHhe
positive: EVERHOUR GJda-wpqb-0dCBnm-U7RDSc-cQv0DvW1
negative: everhour=xxxx-xxxx-xxxxxx-xxxxxx-xxxxxxxx
negative: everhour=Q9Tz-18GC-gTGcDB-ZRstqA-JCnthZ
negative: everhour=${EVERHOUR_API_KEY}

id: exchangerateapi-api-key
title: ExchangeRate-API key
severity: medium
keywords: exchangerate exchangerate-api exchangerateapi
pattern: (?i)(?:\b|_)(?:exchangerate|exchangerate-api|exchangerateapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EXCHANGERATE_API_KEY="MlQ3FH9ScWd6C7CAFlME1ax3"
positive: exchangerate:\n  token: HletZauSdy57DuOva1lcThjS
negative: export EXCHANGERATE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EXCHANGERATE_API_KEY="atmvSxnhTJEvki9wMWP2eb"
negative: export EXCHANGERATE_API_KEY="${EXCHANGERATE_API_KEY}"

id: exchangeratesapi-api-key
title: Exchangerates API key
severity: medium
keywords: exchangerates exchangeratesapi
pattern: (?i)(?:\b|_)(?:exchangerates|exchangeratesapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EXCHANGERATES_API_KEY="AccTPPIKbUlS6lI40vX8VpyjkrZNJ0nK"
positive: exchangerates:\n  token: o0MYfsfSHJBRj2XDY5urFK5LgBEapLph
negative: export EXCHANGERATES_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EXCHANGERATES_API_KEY="USAwvGGaavW5OsbPMZoL21K4L4avas"
negative: export EXCHANGERATES_API_KEY="${EXCHANGERATES_API_KEY}"

id: extractorapi-api-key
title: ExtractorAPI key
severity: high
keywords: extractorapi
pattern: (?i)(?:\b|_)(?:extractorapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EXTRACTORAPI_API_KEY="LpJyIf3lwzgCEc0pzgWyt8HAAltEW3EsNToKjQI9"
positive: extractorapi:\n  token: EE9u4BflGjhUhn7a1ExJOSB1YI5O1Eg2buwOlNNA
negative: export EXTRACTORAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EXTRACTORAPI_API_KEY="5tH9eTjAlmZco1H5fG5XWFLaDQGRU7ynKiXOvq"
negative: export EXTRACTORAPI_API_KEY="${EXTRACTORAPI_API_KEY}"

id: facebook-app-id
title: Facebook app id
severity: low
keywords: facebook fb_app fbapp fb-app
pattern: (?i)(?:facebook|\bfb[_-]?app)[\w\s.:'"=-]{0,25}?(?:app(?:lication)?[_-]?)?id["']?\s{0,3}[:=]{1,2}\s{0,3}["']?\b([0-9]{15,16})\b
entropy: 2.5
confidence: medium
positive: FACEBOOK_APP_ID=223093471329837
positive: fb_app_id: "1629579346319496"
negative: FACEBOOK_APP_ID=123
negative: FACEBOOK_APP_ID=000000000000000

id: facebook-app-secret
title: Facebook app secret
severity: high
keywords: facebook fbapi fb_api fb_app fbapp fb_secret fbsecret fb-app
pattern: (?i)(?:facebook|\bfb[_-]?(?:api|app|secret))[\w\s.:'"=-]{0,25}?(?:secret|key)["']?\s{0,20}[:=]{1,2}\s{0,20}["']?\b([a-f0-9]{32})\b
entropy: 3.0
confidence: medium
positive: FACEBOOK_APP_SECRET=11a2d475a3386a3775f6c71dbd49b30a
positive: var fbApiKey = 'bf4f2dfed1cf1e148ac86bd55dad3195';
negative: FACEBOOK_APP_SECRET=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: FACEBOOK_APP_SECRET=ffffffffffffffffffffffffffffffff

id: facebook-access-token
title: Facebook (Meta) access token
severity: high
keywords: eaa
pattern: (?:^|[^A-Za-z0-9+/_-])(EAA[A-Za-z0-9]{30,300})(?![A-Za-z0-9+/=_-])
entropy: 4.2
positive: FB_ACCESS_TOKEN=EAAC5PQ2Lqsah2Uxt43FQf3UinmFDRcpQmQghEeCj4alYV1Tv4uvwBISQB5KwZhN5qU1lsfzgGKlEPpoBnqphwwTC3nD3V8g7HP2WM0q3euv9cKoK8GEh2dJVWPe
positive: https://graph.facebook.com/me?access_token=EAACa92tY8BOgLbdjvTADEq4gzI8i53vLHykppO7iiVlwhu0EdBzzFrCmlOe7RqARkWEGawZ1r5jEHtHgFPJwhVPFiRyQy5MjsXIA4RGzifgdRWZp0ABeyTIZCxX
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
positive: fastforex=TSs6Kc78188kQstSFU3RJyy87zdj
positive: FASTFOREX PjCUtHD1VLFxpgawqlyKKxbnZRe3
negative: fastforex=xxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: fastforex=wj0A2b7Ruh7bMXbA3iBi31ubL7
negative: fastforex=${FASTFOREX_API_KEY}

id: fastly-api-token
title: Fastly API token
severity: high
keywords: fastly
pattern: (?i)(?:\b|_)(?:fastly)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9_-]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FASTLY_API_KEY="qRSM3DDkSHj7dxZEbnF7x3bAu0VoKhNt"
positive: fastly:\n  token: 0lP41Am3s7bewTBOkSiUvFu0M3MOX26l
negative: export FASTLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FASTLY_API_KEY="9VLJv6gdhzhlktUMcHPx9usar8PwY5"
negative: export FASTLY_API_KEY="${FASTLY_API_KEY}"

id: feedier-api-key
title: Feedier API key
severity: high
keywords: feedier
pattern: (?i)(?:\b|_)(?:feedier)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FEEDIER_API_KEY="7UFrAwdV1xR7BAbtA3e6GxG7ZVuJ5WaD"
positive: feedier:\n  token: xtcLSOuNWTOsKUFduqk8HFFf7pn69Gkx
negative: export FEEDIER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FEEDIER_API_KEY="3H6MBC3OSTFojozaOSW2hSSUWpWOis"
negative: export FEEDIER_API_KEY="${FEEDIER_API_KEY}"

id: fetchrss-api-key
title: FetchRSS API key
severity: high
keywords: fetchrss
pattern: (?i)(?:\b|_)(?:fetchrss)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FETCHRSS_API_KEY="zB82dlvsPqAFz5BHPtGv34JaoxqH2ymwOQBNSYwb"
positive: fetchrss:\n  token: wuUK2vVi1EXnpxrjj3nEqiBEAuG6bHola9LsxyBi
negative: export FETCHRSS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FETCHRSS_API_KEY="Mrg9sjTk0BYIouprYnFJuJqkD8q6FMjpjQjEiS"
negative: export FETCHRSS_API_KEY="${FETCHRSS_API_KEY}"

id: figma-personal-access-token
title: Figma personal access token
severity: high
keywords: figd_
pattern: \b(figd_[A-Za-z0-9_-]{38,44})(?![\w-])
entropy: 3.0
positive: FIGMA_TOKEN=figd_tzi8TBTNEIabZ8KxLEdocKPl35MIPC2qL17kKQXN
positive: headers = {"X-Figma-Token": "figd_BitZOp6CFh0IyMlOivgoQGwd82sHLY8Hg381NV2j"}
negative: figd_xxxx
negative: figd_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: figma-legacy-token
title: Figma personal access token (legacy)
severity: high
keywords: figma
pattern: (?i)figma[\w\s.:'"=-]{0,30}?\b([0-9]{4,6}-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})\b
entropy: 3.0
confidence: medium
positive: --header='X-Figma-Token: 9479-7d5f4717-01f6-89f0-741e-a506f0e222f6'
negative: X-Figma-Token: 0000-00000000-0000-0000-0000-000000000000

id: fileio-api-key
title: file.io API key
severity: high
keywords: fileio file.io
pattern: (?i)(?:\b|_)(?:fileio|file\.io)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FILEIO_API_KEY="4WWFrR7v9xVlrcLhuM0HGKeCPT02qyaezglat5fB"
positive: fileio:\n  token: bLeiWi4S5IS7tfT3nkySBN97v4qUJT5mfj7yov5z
negative: export FILEIO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FILEIO_API_KEY="2FEf0bRcm7WLAXPHV2UEKEOQ4GrdDyvMjoSZrD"
negative: export FILEIO_API_KEY="${FILEIO_API_KEY}"

id: finage-api-key
title: Finage API key
severity: medium
keywords: finage
pattern: (?i)(?:\b|_)(?:finage)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINAGE_API_KEY="RTaOFSOOD8BorN7Mt6daguzDslMiiGe1"
positive: finage:\n  token: pKN00ibLHT9RYy5dbaW5t0CEZC7YH8XP
negative: export FINAGE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FINAGE_API_KEY="8CACmh99S1mqisj19I24cC2B5bOAwH"
negative: export FINAGE_API_KEY="${FINAGE_API_KEY}"

id: financialmodelingprep-api-key
title: Financial Modeling Prep API key
severity: medium
keywords: financialmodelingprep
pattern: (?i)(?:\b|_)(?:financialmodelingprep)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINANCIALMODELINGPREP_API_KEY="CpLCqGFz1CgOplw5cWLrMxB0E9S8cneE"
positive: financialmodelingprep:\n  token: 3u77aBL3ismjtrHyEuWCfd3AUhXnYL9Q
negative: export FINANCIALMODELINGPREP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FINANCIALMODELINGPREP_API_KEY="LUADtMvzH5ftSowvXQrZoV5wbf9799"
negative: export FINANCIALMODELINGPREP_API_KEY="${FINANCIALMODELINGPREP_API_KEY}"

id: findl-api-key
title: Findl API key
severity: high
keywords: findl
pattern: (?i)(?:\b|_)(?:findl)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: findl=7b71f02c-66a0-facb-3813-965919a16644
positive: FINDL f0eee298-f39f-e70f-b06a-dbf7fceac615
negative: findl=xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
negative: findl=649341bf-0e9c-907f-c63e-e16092cbff
negative: findl=${FINDL_API_KEY}

id: finicity-api-token
title: Finicity app key
severity: high
keywords: finicity
pattern: (?i)(?:\b|_)(?:finicity)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINICITY_API_KEY="yZiNm9plae22DIpmKFz9MWttwb3Vig3O"
positive: finicity:\n  token: jhSw0DNxavXych1pxbwjbXv9NZLC4f0K
negative: export FINICITY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FINICITY_API_KEY="PgOn70OVWUDLtu1wCzPr5VHSn7KGhF"
negative: export FINICITY_API_KEY="${FINICITY_API_KEY}"

id: finicity-client-secret
title: Finicity partner secret
severity: high
keywords: finicity
pattern: (?i)(?:\b|_)(?:finicity)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINICITY_API_KEY="6t2QIL9jQj3Zucj3UQBg"
positive: finicity:\n  token: 3iKWyt38pLOGVDXSafk4
negative: export FINICITY_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export FINICITY_API_KEY="xh2r4Qo5KAFFz0RwQR"
negative: export FINICITY_API_KEY="${FINICITY_API_KEY}"

id: finnhub-api-key
title: Finnhub API key
severity: medium
keywords: finnhub
pattern: (?i)(?:\b|_)(?:finnhub)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINNHUB_API_KEY="88Q56fkn6uTtC7vMVvXm"
positive: finnhub:\n  token: 1NuydqPKk50ZDLfzL5fW
negative: export FINNHUB_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export FINNHUB_API_KEY="Q7jF3nEkhaNo0x0smq"
negative: export FINNHUB_API_KEY="${FINNHUB_API_KEY}"

id: fixerio-api-key
title: Fixer API key
severity: medium
keywords: fixer fixerio fixer.io
pattern: (?i)(?:\b|_)(?:fixer|fixerio|fixer\.io)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FIXER_API_KEY="51PYGC9pmaXHuhF3Y9h7eikb5HFqZtvI"
positive: fixer:\n  token: c1nzisJezRbarTc1v6qNXw8qrUTg2oG4
negative: export FIXER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FIXER_API_KEY="sTIehKNIRd8oVmCfIFGoUirRHWnfzD"
negative: export FIXER_API_KEY="${FIXER_API_KEY}"

id: flatio-api-key
title: Flat.io API key
severity: high
keywords: flat flatio flat.io
pattern: (?i)(?:\b|_)(?:flat|flatio|flat\.io)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{128})(?![\w-])
entropy: 3.0
window: 512
confidence: medium
positive: export FLAT_API_KEY="UJaZTG4dByUhZi2jqhTMQtsyPay79QBkYpe2XQT0fXjRUy5Gp1QUkFmKdqD2Mns3Jc35455WNHGta29p7OYT7Q0ZQ67pORxyNRcYHSY1uELmffSaHT3zgZR4FcCV7CBe"
positive: flat:\n  token: mYlWXeeRV97tDQFf9WWCQPGIgtmImKDJbVtWrr2cTlFD7G36taaJD1aK0SdzqjNh6eEmxMxSafgpFHvzBCt8opYD9ILoreWfcTai9PrDxEU7MnsY5Fz5NFDLvBiaL5PE
negative: export FLAT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FLAT_API_KEY="v9ftPf5Y9ehMCxntJIjti8CvGuQPJfUW5rnKAkiCvnZuT5jNJU6VM5FDcXqbLQeBpXOznOrPkKQLclhpRemttboPhlmYQJuxnJtWDKqh0ceNnmgBLV46wqMh5B9iIb"
negative: export FLAT_API_KEY="${FLAT_API_KEY}"

id: fleetbase-api-key
title: Fleetbase API key
severity: high
keywords: flb_live_ flb_test_
pattern: \b(flb_(?:live|test)_[A-Za-z0-9]{20,40})\b
entropy: 3.0
positive: FLEETBASE_API_KEY=flb_live_0Pp6Q6V4PEkTpVsJHBi1
negative: flb_live_xxxx
negative: flb_prod_kOX18xqpUVnXQJvia0Zw

id: flexport-api-key
title: Flexport API key
severity: high
keywords: shltm_
pattern: \b(shltm_[A-Za-z0-9_-]{40})(?![\w-])
entropy: 3.0
positive: FLEXPORT_API_KEY=shltm_8Cgmzg3v2bYcy8Csf4ivi5J1GxVbCaj9pDBZw7pT
negative: shltm_xxxx
negative: shltm_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: flickr-api-key
title: Flickr API key
severity: high
keywords: flickr
pattern: (?i)(?:\b|_)(?:flickr)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FLICKR_API_KEY="2cGxZSj1i5L5DwYjh8YadMjpzSprERj9"
positive: flickr:\n  token: Gftird2iBUrKKIvmOjLKweL1qh0Jdm0j
negative: export FLICKR_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FLICKR_API_KEY="3hLrwwtWCUYnggoF6be1o7q5tCGnea"
negative: export FLICKR_API_KEY="${FLICKR_API_KEY}"

id: flightapi-api-key
title: FlightAPI key
severity: medium
keywords: flightapi
pattern: (?i)(?:\b|_)(?:flightapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w.-]{0,25}?[\s"':=>,-]{1,8}\b([A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FLIGHTAPI_API_KEY="ijgYvSPeSSRXly5hc6QDKtJL"
positive: flightapi:\n  token: CqxoEAhrFh6UFwZwZ9luAxvI
negative: export FLIGHTAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FLIGHTAPI_API_KEY="ormU4rTmNYlt2GXy5r9VUp"
negative: export FLIGHTAPI_API_KEY="${FLIGHTAPI_API_KEY}"
"""#
}
