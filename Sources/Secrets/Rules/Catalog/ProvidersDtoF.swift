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
positive: export D7NETWORK_API_KEY="yhfBXbtnbPDzTLKypEaRf0QjfSmvX"
positive: d7network:\n  token: mIcRe99d83l5cFlp7HumQz2Y2Dcvq0
negative: export D7NETWORK_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export D7NETWORK_API_KEY="HcEb0FRQPa4eLXCwLv"
negative: export D7NETWORK_API_KEY="${D7NETWORK_API_KEY}"

id: dailyco-api-key
title: Daily.co API key
severity: high
keywords: daily dailyco daily.co
pattern: (?i)(?:\b|_)(?:daily|dailyco|daily\.co)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DAILY_API_KEY="zPXitD5IUEGzzAlIwrvsWhyWf6teVuWRvhJxwEZzg8QIZSmUq2EZlaWMO3XsThqk"
positive: daily:\n  token: FPZ78N3WekE4H7lmxIBjZNP3yGEcdtDuUH7GpVNkbBmYP8nY9CJvIQtAFl9ygqtR
negative: export DAILY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DAILY_API_KEY="j5QWzZOCTDH5b7AHz1uxpboyWs1yBOO4QhH8Xfd5DppJqzbRw4J5Lq7TCrWOmJ"
negative: export DAILY_API_KEY="${DAILY_API_KEY}"

id: dandelion-api-token
title: Dandelion API token
severity: high
keywords: dandelion
pattern: (?i)(?:\b|_)(?:dandelion)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DANDELION_API_KEY="gCaP14qxbaMOuRUH1np46ZY6Ql9rYZhG"
positive: dandelion:\n  token: aRfD2UoelUQH7G1gEyk4kRbBAfZlTVHA
negative: export DANDELION_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DANDELION_API_KEY="idbYXaXaGq7hKzRFuJ65i34fdsdczy"
negative: export DANDELION_API_KEY="${DANDELION_API_KEY}"

id: dareboost-api-key
title: Dareboost API key
severity: high
keywords: dareboost
pattern: (?i)(?:\b|_)(?:dareboost)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{55,65})(?![\w-])
entropy: 3.0
confidence: medium
positive: dareboost=dSzfh68yDUPaif0OFg4PI06OdnyJlm7J6eanpXFbWU1ZHXtFIPX7P7qkp
positive: DAREBOOST efYkftDcKr9jWiA28ryA4CHJp1TcTGcWHLX9JJfFN7MEKE9Bnx27Qc3rMd
negative: dareboost=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: dareboost=5XD85x8tBCvHnQp56Kuj7uC7SL1WLOdcRUy6jqDx4D02nb2HLcCj8
negative: dareboost=${DAREBOOST_API_KEY}

id: databox-api-token
title: Databox API token
severity: high
keywords: databox
pattern: (?i)(?:\b|_)(?:databox)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{21,22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DATABOX_API_KEY="gF0qUcOy4f7NAzyanEEGBp"
positive: databox:\n  token: tz3LFFMnwiADdwNGT9QVkw
negative: export DATABOX_API_KEY="xxxxxxxxxxxxxxxxxxxxx"
negative: export DATABOX_API_KEY="PbC8tN7aKvnEx3TGLpN"
negative: export DATABOX_API_KEY="${DATABOX_API_KEY}"

id: databricks-api-token
title: Databricks personal access token
severity: high
keywords: dapi
pattern: \b(dapi[a-f0-9]{32}(?:-[0-9])?)\b
entropy: 3.0
positive: DATABRICKS_TOKEN=dapiae158adce29b14a3ba541dc945eedad1
positive: databricks configure --token dapi300f6367e7459f8622b551b20c57e58c-2
negative: dapixxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: dapia74bd25290c6b0d197b1

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
positive: DD_API_KEY=63b86458269b65937759a06176a43ab8
positive: datadog:\n  api_key: "cc1e4a6233e009502a1a8edea1905b31"
negative: DD_API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: DATADOG_API_KEY=<your-api-key>

id: datadog-app-key
title: Datadog application key
severity: high
keywords: datadog dd_app dd-app dd_secret ddapp
pattern: (?i)(?:datadog|\bdd[_-]?(?:app|secret))[\w\s.:'"=/>,-]{0,25}?(?:key|token|secret)[\w\s.:'"=/>,-]{0,20}?\b([A-Za-z0-9]{40})\b
entropy: 3.0
confidence: medium
positive: DD_APP_KEY=394a27bef77cc000399d3803d0fc6db193bf882f
positive: datadog_application_key = "723170418d227284e162e285f5d99230ccf0f819"
negative: DD_APP_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: DD_APP_KEY=e4417567369e98732dee2da0961b3191

id: datagov-api-key
title: api.data.gov API key
severity: high
keywords: data.gov data_gov datagov
pattern: (?i)(?:\b|_)(?:data\.gov|data_gov|datagov)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DATA_GOV_API_KEY="G5BiGcnuqZFaTLsmBSLV8pgKOzqxcEgwciDnGbYu"
positive: data.gov:\n  token: IIJD3d8ui1ZUUr44SdRlsM6roaLWC2PVM45GPFNk
negative: export DATA_GOV_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DATA_GOV_API_KEY="8TEznnMDShML4icLIznUatZINcA7QZZDf3PUtQ"
negative: export DATA_GOV_API_KEY="${DATA_GOV_API_KEY}"

id: debounce-api-key
title: DeBounce API key
severity: high
keywords: debounce
pattern: (?i)(?:\b|_)(?:debounce)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{13})(?![\w-])
entropy: 2.5
confidence: medium
positive: export DEBOUNCE_API_KEY="o69RjhbENki4C"
positive: debounce:\n  token: y8Hl1ZMKggTbK
negative: export DEBOUNCE_API_KEY="xxxxxxxxxxxxx"
negative: export DEBOUNCE_API_KEY="Ij52wimG6hT"
negative: export DEBOUNCE_API_KEY="${DEBOUNCE_API_KEY}"

id: deepai-api-key
title: DeepAI API key
severity: high
keywords: deepai
pattern: (?i)(?:\b|_)(?:deepai)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12,14})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DEEPAI_API_KEY="qsts6bz2-rw3p-vnux-49t9-kwkhsktksg7mj6"
positive: deepai:\n  token: rpizff0h-nf1q-afry-ljba-3gbsdk64vul4ha
negative: export DEEPAI_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export DEEPAI_API_KEY="azs0eq4s-dxrb-86l0-jcn1-o4j93s0xap"
negative: export DEEPAI_API_KEY="${DEEPAI_API_KEY}"

id: deepgram-api-key
title: Deepgram API key
severity: high
keywords: deepgram
pattern: (?i)(?:\b|_)(?:deepgram)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DEEPGRAM_API_KEY="dBoenDtIOBcI9cSBbp38CeQV9nGcwMXsN8PGVeUv"
positive: deepgram:\n  token: O1H0jbN2O9T137vbwFWaShCUULBM4e0C4cQnqOYU
negative: export DEEPGRAM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DEEPGRAM_API_KEY="91r14wSZqrzJlDVxNJHN1aIj0QSDwjdTHYoSBy"
negative: export DEEPGRAM_API_KEY="${DEEPGRAM_API_KEY}"

id: delighted-api-key
title: Delighted API key
severity: high
keywords: delighted
pattern: (?i)(?:\b|_)(?:delighted)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DELIGHTED_API_KEY="mV0SXrqwUt4rHKXk6OnibnNjLOn6SsIs"
positive: delighted:\n  token: lVfco69aYzpB5VresuGKsqop4y9OS4uF
negative: export DELIGHTED_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DELIGHTED_API_KEY="jgTpOKP0dJ1xaeEYaRF7zexq7VIeqY"
negative: export DELIGHTED_API_KEY="${DELIGHTED_API_KEY}"

id: dtrack-api-key
title: Dependency-Track API key
severity: high
keywords: odt_
pattern: \b(odt_[A-Za-z0-9]{32,40})\b
entropy: 3.0
positive: X-Api-Key: odt_2ViRXCtrAqufphUSqXYgCR9cPVqE5hog
positive: DTRACK_API_KEY=odt_HyfT75U1Cb2xswGXk4UmWXXLKjxBtXVu
negative: odt_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: odt_j6u2qCgfoBsP

id: detectify-api-key
title: Detectify API key
severity: high
keywords: detectify
pattern: (?i)(?:\b|_)(?:detectify)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DETECTIFY_API_KEY="17fARMhe4Ehbnjxy8Lg8H7ZVFTg2pVLJ"
positive: detectify:\n  token: F23EFgeKIsGA9JjjcEGeKYE9Bxkz8Jc7
negative: export DETECTIFY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DETECTIFY_API_KEY="4HoLhe4TgIJny6USXwUyAeRshSn7vw"
negative: export DETECTIFY_API_KEY="${DETECTIFY_API_KEY}"

id: detectlanguage-api-key
title: Detect Language API key
severity: high
keywords: detectlanguage
pattern: (?i)(?:\b|_)(?:detectlanguage)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DETECTLANGUAGE_API_KEY="nhP821G8upRia4ztlBGVVhyxDBmdFstY"
positive: detectlanguage:\n  token: uWmePNCDR22qdOuTy3Oq6f8FpBOaZNNY
negative: export DETECTLANGUAGE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DETECTLANGUAGE_API_KEY="OeYFGkXEfMt4T5taSWk8lCkEXGIAyk"
negative: export DETECTLANGUAGE_API_KEY="${DETECTLANGUAGE_API_KEY}"

id: dfuse-api-key
title: dfuse API key
severity: high
keywords: web_
pattern: \b(web_[a-f0-9]{32})\b
entropy: 3.0
confidence: medium
positive: DFUSE_API_KEY=web_1871c0f1db920c25939fb842794a2041
negative: web_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: web_server_56f56b9addeb4618e9782e515d21197e

id: diffbot-api-token
title: Diffbot API token
severity: high
keywords: diffbot
pattern: (?i)(?:\b|_)(?:diffbot)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DIFFBOT_API_KEY="WhQISuRbKuRxCRZxlLpQRIPbiw99KhOI"
positive: diffbot:\n  token: GAVVXTlxWbazFTHnJkiwYGUKfS8hMYtE
negative: export DIFFBOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DIFFBOT_API_KEY="tSpdg2x4pUBpp4cJnQZzOurOrLFMgV"
negative: export DIFFBOT_API_KEY="${DIFFBOT_API_KEY}"

id: diggernaut-api-key
title: Diggernaut API key
severity: high
keywords: diggernaut
pattern: (?i)(?:\b|_)(?:diggernaut)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DIGGERNAUT_API_KEY="9apGFYgGvsPR83ucMJfOgwtkBjpP7Sw15tX1R7ot"
positive: diggernaut:\n  token: mFlNqaxq8AbFqrrjddG0Nx61aC3odnPtiFmO5OTO
negative: export DIGGERNAUT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DIGGERNAUT_API_KEY="sBLIkouu2VyHnroYreXyIaoZGGCv0EdDNhREdF"
negative: export DIGGERNAUT_API_KEY="${DIGGERNAUT_API_KEY}"

id: discord-webhook-url
title: Discord webhook URL
severity: high
keywords: discord.com/api/webhooks discordapp.com/api/webhooks
pattern: (?i)\b(https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,70})(?![\w-])
entropy: 3.0
positive: WEBHOOK = "https://discord.com/api/webhooks/779233317573962434/qPcupT8krjkOztorH2oqUghkEN6ymoIp1sgnjbMI3FYJvbPmSYLAit2WeUB5ZIIeUp7g"
negative: https://discord.com/api/webhooks/123/abc
negative: https://discord.com/api/webhooks/{id}/{token}

id: discord-bot-token
title: Discord bot token
severity: high
keywords: discord bot_token bottoken apikey api_key token
pattern: (?i)(?:discord|bot|token|api_?key)[\w.-]{0,25}?["']?\s{0,3}[:=]{1,2}\s{0,3}["']?([MNO][\w-]{23,27}\.[\w-]{6}\.[\w-]{27,40})(?![\w-])
entropy: 3.5
positive: DISCORD_BOT_TOKEN=MTOrP1TvXkXzo67koG2shdwAx.z7T5s7.y5tZnUGGdhBNGoIeWlrrst0yY4FoGCDOFfLQWK
positive: bot.run(token="MTAfLlCMvhC5uqhaiYg6tugwJ.vvzp4I.BfUjonOzlB4SQLnYIN4BG0rP7ruPygRORL0UAP")
negative: DISCORD_BOT_TOKEN=MTIz.abc.def
negative: token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijklmnopqrstuvwxyz0123"

id: discord-bot-id
title: Discord bot / application id
severity: low
keywords: discord bot_id botid
pattern: (?i)(?:discord[\w.-]{0,20}?|\bbot_?id)["']?\s{0,3}[:=]{1,2}\s{0,3}["']?\b([0-9]{17,19})\b
entropy: 2.5
confidence: medium
positive: DISCORD_CLIENT_ID=155838104479232461
positive: bot_id: "013865359437491053"
negative: DISCORD_CLIENT_ID=123
negative: discord = 00000000000000000

id: disqus-api-key
title: Disqus API key
severity: high
keywords: disqus
pattern: (?i)(?:\b|_)(?:disqus)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DISQUS_API_KEY="Rf0uALS5zZuqS4m2mf9JvD9Oi3NUYV9PbbiDjCnz9WBndW2I7OlTFg5mAMz3SCu0"
positive: disqus:\n  token: gRYjLtf72eBCoTTg8XMeegvEn4EgkGd9Xtf1q9NZbgB8erHv5AOfpJiwgiCfOde6
negative: export DISQUS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DISQUS_API_KEY="vBMUVZgqUibxKBeCz4YE5GgUTIUz9d1cUgAgcrO6yMj3P90G1v90KdBejVryvx"
negative: export DISQUS_API_KEY="${DISQUS_API_KEY}"

id: ditto-api-key
title: Ditto API key
severity: high
keywords: ditto
pattern: (?i)(?:\b|_)(?:ditto)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}\.[A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DITTO_API_KEY="4ff735c8-a11b-77cb-4c15-3b9d0c3e35fc.SJWrphFBXx7uCfFkUavkS4LmRta4r7YqzAw9yfge"
positive: ditto:\n  token: b6fa440d-c4cc-6e17-1447-b41eed6294b7.7hwZf9XJYgXHLOvIzvMr1tt28fzYoquqlg5iShyd
negative: export DITTO_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DITTO_API_KEY="5c1e6ed3-d8d9-921b-112d-c185c0d93baf.9c7hlgGKRmZcV9oPdeiHPEVNZuPkKYCqzYFQDr"
negative: export DITTO_API_KEY="${DITTO_API_KEY}"

id: django-secret-key
title: Django SECRET_KEY
severity: high
keywords: django
pattern: (?i)(?:\b|_)django[\w.-]{0,10}?secret[_-]?key["']?\s{0,3}[:=,]{1,2}\s{0,3}["']([^\s'"]{40,80})["']
entropy: 3.5
confidence: medium
positive: os.environ.get('DJANGO_SECRET_KEY', 'q7#vn!2k$e9f@x0p*h6w&z3m^r8t(a1s)d5g%j4l+b_c-y=u')
positive: DJANGO_SECRET_KEY = "MRGJi5Wam1Wp8ivQoVmaTtLar1641MOMlHoFTEU9DS5byQPgEA"
negative: DJANGO_SECRET_KEY = "changeme"
negative: DJANGO_SECRET_KEY = os.environ['DJANGO_SECRET_KEY']

id: django-insecure-secret-key
title: Django generated insecure SECRET_KEY
severity: medium
keywords: django-insecure-
pattern: \b(django-insecure-[^\s'"]{40,70})
entropy: 3.5
positive: SECRET_KEY = 'django-insecure-CzK55yNYcmqLncrkDsnYw0yGnvXhKm2pKvfnZYV368qz9zd2SE'
negative: SECRET_KEY = 'django-insecure-xxxxxxxx'

id: docparser-api-key
title: Docparser API key
severity: high
keywords: docparser
pattern: (?i)(?:\b|_)(?:docparser)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DOCPARSER_API_KEY="Rvx17f7SGHhBINFWtjsxFlYmRNd4mRjRaG5St4uo"
positive: docparser:\n  token: kQvxsrZW418BeWydRuuY850irxMd0fEHgASmaLLB
negative: export DOCPARSER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DOCPARSER_API_KEY="lXRKG4xEnqoNkisYUOyksh2kVWkXumrTIYX0GL"
negative: export DOCPARSER_API_KEY="${DOCPARSER_API_KEY}"

id: doppler-cli-token
title: Doppler CLI token
severity: high
keywords: dp.ct.
pattern: \b(dp\.ct\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.ct.LMKBOqUE9oSoqAIls8GAVnqj6pM6xvNwTna0d44f6cW
negative: DOPPLER_TOKEN=dp.ct.xxxx
negative: DOPPLER_TOKEN=dp.ct.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-personal-token
title: Doppler personal token
severity: high
keywords: dp.pt.
pattern: \b(dp\.pt\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.pt.vAdVamAXdwIzCfJIXfUDZu5cnQs8uZb6k6MJ501RjOw
negative: DOPPLER_TOKEN=dp.pt.xxxx
negative: DOPPLER_TOKEN=dp.pt.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-service-account-token
title: Doppler service account token
severity: high
keywords: dp.sa.
pattern: \b(dp\.sa\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.sa.Fr8lmAMBi4qdxKx54p185BJbQo26dqjrxglZDzx1kSd
negative: DOPPLER_TOKEN=dp.sa.xxxx
negative: DOPPLER_TOKEN=dp.sa.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-scim-token
title: Doppler SCIM token
severity: high
keywords: dp.scim.
pattern: \b(dp\.scim\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.scim.BxGdAUlRKjt1vjcYWkkqWYFMldDNgc6oKjCAdYjkKWt
negative: DOPPLER_TOKEN=dp.scim.xxxx
negative: DOPPLER_TOKEN=dp.scim.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-audit-token
title: Doppler audit token
severity: high
keywords: dp.audit.
pattern: \b(dp\.audit\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.audit.iNCwU0eMb6VA9JPffyl2GEVK0vHzi3l3jUjFwCMsWDD
negative: DOPPLER_TOKEN=dp.audit.xxxx
negative: DOPPLER_TOKEN=dp.audit.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-service-token
title: Doppler service token
severity: high
keywords: dp.st.
pattern: \b(dp\.st\.(?:[a-z0-9_-]{2,35}\.)?[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.st.prd.dITEfStWjaNML2NQuBzwfrRpDLheYehrLskp75LLot9
positive: DOPPLER_TOKEN=dp.st.YxgLelO1jCEG2bt2c1foU3r7vmjrbf5KR8G84yOfobF
negative: DOPPLER_TOKEN=dp.st.prd.xxxx

id: dronahq-api-key
title: DronaHQ API key
severity: high
keywords: dronahq
pattern: (?i)(?:\b|_)(?:dronahq)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{50})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DRONAHQ_API_KEY="mTIiBX79G2Ne6AzmD1Qpvl5lWVDjwuuCpglZWBJkVFfZzt5dA4"
positive: dronahq:\n  token: ft055qKR3Ubxla0UKbCyHwGD3qPGwFsbFwN7f6PqJ8gtnDS4rM
negative: export DRONAHQ_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DRONAHQ_API_KEY="vhSk7onL5AgDqXTlOMefRm8SdYH0sDwRwauQUUCRGsGTgmys"
negative: export DRONAHQ_API_KEY="${DRONAHQ_API_KEY}"

id: droneci-access-token
title: Drone CI access token
severity: high
keywords: droneci drone_token drone-token
pattern: (?i)(?:\b|_)(?:droneci|drone_token|drone-token)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DRONECI_API_KEY="sNxbkQESC2g7W1KEY4j48QkhzlzkpR4A"
positive: droneci:\n  token: dQlxUlsBnqAj0g7l79eLa6xemQAAY2C0
negative: export DRONECI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DRONECI_API_KEY="yfVOBnMVvXR7gslfovtcHxwM2O2fWy"
negative: export DRONECI_API_KEY="${DRONECI_API_KEY}"

id: dropbox-access-token
title: Dropbox short-lived access token
severity: high
keywords: sl.
pattern: \b(sl\.(?:u\.)?[A-Za-z0-9_-]{130,1400})(?![\w-])
entropy: 3.5
window: 2048
positive: curl -H "Authorization: Bearer sl.jMwYR1vReZAilwjxG6pQlIHT6wy6GwGNII5EOA06cWpNrZzx4nLwnaTl0ocbr4bCANbTVKAs6iySE9Erv9VTxE7kjHRurSpaRWyR3snjlRioFB7vJVy0bmellIW5TgCvt82HTeGW6a" https://api.dropboxapi.com/2/users/get_current_account
negative: sl.xxxxxxxxxx
negative: ssl.wgveLvloEAAtllpZCXXFEN2onJD4xEDqUJmmcSHlsDBoyo8Anv7uwaAap1qrbT6yIX1nYVW85CyGgIPSCrNDIT32tpDd2i7jBnjtYCEL6MvQZeTRfhdlrSp2roRlK8yFyiRzC0C4LpA1

id: dynalist-api-token
title: Dynalist API token
severity: high
keywords: dynalist
pattern: (?i)(?:\b|_)(?:dynalist)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{128})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DYNALIST_API_KEY="ejbKhyKJSK87EXMm0ADzj7zshUXlGC7pOJCXXXWNxv3we3g0xXvXCqtj54X7MSgxE9Azpa4HJNyIF1MPg51Aajq9H126ZnEAu4Zbu5tl8NtR60b3c9zqLmyPmXhw1jZ4"
positive: dynalist:\n  token: 2Zbes8pge9QBUTyqsgOuxeeBcL64KGkl5mrwwVo2cPgjvVlbkxP0gZRnI30P6xFgWeP4LjZp8FGoYGjpdMeGsironHt39ZcaqpErWs670lWTslhaX5EbhGgUGRY4M2kO
negative: export DYNALIST_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DYNALIST_API_KEY="taEOueD733dnEpg3jUeVAPUOWLgHuYbg42ZnuSsbwUAdYrKkY7mJBu81jCoCrtJ3B3EpGgvfThtKZBVQyKmF5GDESLYN2qO4LD6qnGjUuqu6I6Jn7L9vqQlFHJJ1tm"
negative: export DYNALIST_API_KEY="${DYNALIST_API_KEY}"

id: dynatrace-api-token
title: Dynatrace API token
severity: high
keywords: dt0c0 dt0s0
pattern: \b(dt0[cs]0[0-9]\.[A-Z0-9]{24}\.[A-Z0-9]{64})\b
entropy: 3.0
positive: apiToken: dt0c01.CB3RXXGW5L61Z68IJ10IHDST.J64CCPUVMQOUSCEHHHN8F4LRVKQW22VO3F7TGQZP6W2F5O6C7WPG4JU6KCDE8Z55
negative: apiToken: dt0c01.XXXX
negative: dt0c01.AAAAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBB

id: dyspatch-api-key
title: Dyspatch API key
severity: high
keywords: dyspatch
pattern: (?i)(?:\b|_)(?:dyspatch)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{52})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DYSPATCH_API_KEY="CdMypI691jwlJOxdZL8B9RCce71gQmfGJ7eSssNuQD45qX766zyy"
positive: dyspatch:\n  token: uWCGNxuFNhGjvBo1ka5n1XqrTmpV6Caj4GdJaSuEfgLYguqRVrzD
negative: export DYSPATCH_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DYSPATCH_API_KEY="XFORSZuDDxz8SA40YNmCmQltoNbDKNrYsxN8i1d3dF1k9CivHu"
negative: export DYSPATCH_API_KEY="${DYSPATCH_API_KEY}"

id: eagleeyenetworks-api-key
title: Eagle Eye Networks API key
severity: high
keywords: eagleeyenetworks eagleeye
pattern: (?i)(?:\b|_)(?:eagleeyenetworks|eagleeye)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{15})(?![\w-])
entropy: 2.5
confidence: medium
positive: export EAGLEEYENETWORKS_API_KEY="a256zNrj3bBIi4y"
positive: eagleeyenetworks:\n  token: 1zzvWCrdJzpCGca
negative: export EAGLEEYENETWORKS_API_KEY="xxxxxxxxxxxxxxx"
negative: export EAGLEEYENETWORKS_API_KEY="3lk4qdgMonz8g"
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
pattern: \b(EZ[AT]K[A-Za-z0-9]{54})\b
entropy: 3.0
positive: EASYPOST_API_KEY=EZAKjzN8ObceG0uv5RkTvmPzzIPBO4Ab3AQTCdB2QfvZYQa6aUPj6otLfo
negative: EZAKxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: EZAKGx63qyFlqdcvofHBqQJr

id: ecostruxureit-api-key
title: EcoStruxure IT API key
severity: high
keywords: ecostruxureit ecostruxure
pattern: (?i)(?:\b|_)(?:ecostruxureit|ecostruxure)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b(AK1[A-Za-z0-9]{45,55})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ECOSTRUXUREIT_API_KEY="AK1RfJD5LnpRTt3qIVmmUi6CONXHAK3QuV2iJRdI4IWspoS6uhEzaHbX"
positive: ecostruxureit:\n  token: AK1dLjm3lnIxeQqMJ9ylkDTfK444a20Cf0jNpEpk5vc4atsr4WKWehQ
negative: export ECOSTRUXUREIT_API_KEY="AK1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ECOSTRUXUREIT_API_KEY="AK1AqQTvpMtZz2mY04KBcq3BrUfwmeThhF3vRXdntEs4fv"
negative: export ECOSTRUXUREIT_API_KEY="${ECOSTRUXUREIT_API_KEY}"

id: edenai-api-key
title: Eden AI API key
severity: high
keywords: edenai eden_ai
pattern: (?i)(?:\b|_)(?:edenai|eden_ai)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_.-]{100,600})(?![\w.-])
entropy: 3.0
window: 1024
confidence: medium
positive: export EDENAI_API_KEY="Jhe3U0Rx8blRIhmEgY4agwAZERtHMNEestGWghtFFdyZUOt09w5XvM5B0qNoUWQdYRL9zvtZng4Dyg8GJFrg7QE6xZxWYAZQXCUD3gFjVYcrjodMwJi40df7JJizWDKh91RUxMv9LgMU6zWPkc9NsKqDx39cL5q6CWnRtQvl2HPbhYQqqD2G45t8cjtUwJrOXPi7IbMOKpaAgNlxBAx5wpLUyd0WwfhjwgBLk965UauvPBQoTyZZYzn2U"
positive: edenai:\n  token: 14CPTf6y98W0XZJ7KP3OJKBfKe0aSDAM1Ve1FzzUbvPsEyPRv1VJvHu1XjFnLf7JF4RVOAi8nDG468g7WRrn6svGaK3pOmrfvfcsXwq8zG4da1Ir2i2TcpjHgMa6wJcM7uKuZFToEAjkqaQbExHdit7TLDzyseX1zvOBqgEyMCHKcHC8U9lpSYYTEBKamNghLdXSOZeBpjUlrqFQZe5AqLvMxEPOwaU22rGga40p7KSiWrBaDySZ35SnhdeAacoRECCBrm5TfZsfmDF0cyoFWtPaVmXSiTU2UJvB29j71fUtF9Nbszz0n2WAY3AqMMqePwTT0kjJbKOzbA5RKaeHWLFH5me3cmg9Oo3C4qjtXxQijvv6uyKZWdSfvI9k41cOOfIF1CLbdKixqY2S9LW2AYsg51u0lI2NqN0riZkw6sNJawRYkLhDEW30cNLrtZGAlaojankAm60YpInjL9PbPA5Khy9p81Bq1AxdrRXV9Xh06pbAjZpOMKShy8N2sR6w1Bnrl2UzFT1WuK1gZH3QjceaEvFxnGemGz3iHqg
negative: export EDENAI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EDENAI_API_KEY="G7MDWFEHdlNfYpxpfdowqJoZ8YBTgpuJMKAXbmwR1KszDUOYsKZsmLBeKfEgBLODlrAHKRQ5oMy1Ebl0nX9iEVUa7dOh0zpeeq"
negative: export EDENAI_API_KEY="${EDENAI_API_KEY}"

id: elasticemail-api-key
title: Elastic Email API key
severity: high
keywords: elasticemail elastic_email elastic
pattern: (?i)(?:\b|_)(?:elasticemail|elastic_email|elastic)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_]{90,100})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ELASTICEMAIL_API_KEY="WWqmBxeWq5kjXRLgGIF1bBgnNZhBk1kHCHbaDp4H8lJkmEMEnMBnr8LeLHn15eckBAZqzYS8BlPCkQydpGp4yQAMwWOP9U"
positive: elasticemail:\n  token: TgrS1cIFdwDxQnlVWZbwKUgJI6B0yfeSbdsVyg2Nus0Tu0tO5I0suaqWnYLDyEhgKBtQqdJ1sLIpHeWx8bwJOvk1qlL1iEIe8
negative: export ELASTICEMAIL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ELASTICEMAIL_API_KEY="w9xFfAJi7j0GLMJJaRS0TO5FA0ctC3oTUqgwY4BAtHQNMPKv577qfFLtqzJEMAuRW5S5mpZCq65km2nNtomxjxNZ"
negative: export ELASTICEMAIL_API_KEY="${ELASTICEMAIL_API_KEY}"

id: elevenlabs-api-key
title: ElevenLabs API key
severity: high
keywords: sk_
pattern: \b(sk_[a-f0-9]{48})\b
entropy: 3.0
positive: ELEVENLABS_API_KEY=sk_5bc95cfdc6bbde97595519eec87b0e2c1ef19fff88d016a6
positive: client = ElevenLabs(api_key="sk_e63530c370df3aaa5c9927ad1b4d7fafc690d86dcabad512")
negative: sk_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: task_765276c4c8ecde417380ab7225b687020bacbd8187abe8f4

id: enigma-api-key
title: Enigma API key
severity: high
keywords: enigma
pattern: (?i)(?:\b|_)(?:enigma)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: enigma=mvSxnhTJEvki9wMWP2ebKUV29zAccTPPIKbUlS6l
positive: ENIGMA X8VpyjkrZNJ0nKAo0MYfsfSHJBRj2XDY5urFK5Lg
negative: enigma=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: enigma=SAwvGGaavW5OsbPMZoL21K4L4avasaLpJyIf3l
negative: enigma=${ENIGMA_API_KEY}

id: envoy-api-key
title: Envoy API key
severity: high
keywords: envoy
pattern: (?i)(?:\b|_)(?:envoy)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{150,260})(?![\w-])
entropy: 3.0
window: 1024
confidence: medium
positive: export ENVOY_API_KEY="zgCEc0pzgWyt8HAAltEW3EsNToKjQI9jEE9u4BflGjhUhn7a1ExJOSB1YI5O1Eg2buwOlNNA3yjeATE862lJcU5BKSl5nRKl8ViDHkz6mx6IkHlLji5tH9eTjAlmZco1H5fG5XWFLaDQGRU7ynKiXOvqgGccEq7cG8eCpW30KNdcTgUaPDimGCZKv4TI5Q1DI7"
positive: envoy:\n  token: wdHQPS1Cmy2gonrpD2Uuo3XWlmZ42dIwMR6rGLhWsw2G35s5bgOHJ15SNvRSWLuyk5o7dKntEgpkNRGnFMoA0kMxFN7msypgLqKBFWo5pKLVaqhuAxWaGtVsDzHbVsABxkJzfHT9YAoTRKYTShc8hv2FcsnbWsd5luXMkqh0Hljg2U9NO
negative: export ENVOY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ENVOY_API_KEY="3FQf3UinmFDRcpQmQghEeCj4alYV1Tv4uvwBISQB5KwZhN5qU1lsfzgGKlEPpoBnqphwwTC3nD3V8g7HP2WM0q3euv9cKoK8GEh2dJVWPeha92tY8BOgLbdjvTADEq4gzI8i53vLHykppO7iiVlw"
negative: export ENVOY_API_KEY="${ENVOY_API_KEY}"

id: eraser-api-token
title: Eraser API token
severity: high
keywords: eraser
pattern: (?i)(?:\b|_)(?:eraser)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ERASER_API_KEY="u0EdBzzFrCmlOe7RqARkWE"
positive: eraser:\n  token: wZ1r5jEHtHgFPJwhVPFiRy
negative: export ERASER_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: export ERASER_API_KEY="eyTIZCxXNRQ2ZnqdeJs3"
negative: export ERASER_API_KEY="${ERASER_API_KEY}"

id: etherscan-api-key
title: Etherscan API key
severity: high
keywords: etherscan
pattern: (?i)(?:\b|_)(?:etherscan)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{34})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ETHERSCAN_API_KEY="9m5Gw1UMxwDRi6cHsoG1Yw25aWsUFF3dQf"
positive: etherscan:\n  token: x7GY1khK346cLwyEO37hkLCwqfyoMZLMOQ
negative: export ETHERSCAN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ETHERSCAN_API_KEY="R4gYGVxV92rZtnjUgmnYmu9BoWtjq9qa"
negative: export ETHERSCAN_API_KEY="${ETHERSCAN_API_KEY}"

id: ethplorer-api-key
title: Ethplorer API key
severity: high
keywords: ethplorer
pattern: (?i)(?:\b|_)(?:ethplorer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ETHPLORER_API_KEY="fOt9W2uoUdpW9SkwAJKPF7"
positive: ethplorer:\n  token: MQB6Ysqmd4oVzO5LKatYZy
negative: export ETHPLORER_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: export ETHPLORER_API_KEY="3IAM6SAANk8xLndgDHsF"
negative: export ETHPLORER_API_KEY="${ETHPLORER_API_KEY}"

id: eventbrite-api-token
title: Eventbrite private token
severity: high
keywords: eventbrite
pattern: (?i)(?:\b|_)(?:eventbrite)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EVENTBRITE_API_KEY="UCV6UNB3XTAP916P6RG7"
positive: eventbrite:\n  token: L66IJTUFZDFAXLGX1BNF
negative: export EVENTBRITE_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export EVENTBRITE_API_KEY="KBDQ79JOSCKST59YYZ"
negative: export EVENTBRITE_API_KEY="${EVENTBRITE_API_KEY}"

id: everhour-api-key
title: Everhour API key
severity: high
keywords: everhour
pattern: (?i)(?:\b|_)(?:everhour)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{6}-[A-Za-z0-9]{6}-[A-Za-z0-9]{8})(?![\w-])
entropy: 3.0
confidence: medium
positive: everhour=jzPj-UtHD-xpgawq-yKKxbn-3oyrJMtX
positive: EVERHOUR 6LoN-31bX-Wawj0A-7Ruh7b-A3iBi31u
negative: everhour=xxxx-xxxx-xxxxxx-xxxxxx-xxxxxxxx
negative: everhour=Ns0l-P41A-m3s7be-wTBOkS-iUvFu0
negative: everhour=${EVERHOUR_API_KEY}

id: exchangerateapi-api-key
title: ExchangeRate-API key
severity: high
keywords: exchangerate exchangerate-api exchangerateapi
pattern: (?i)(?:\b|_)(?:exchangerate|exchangerate-api|exchangerateapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EXCHANGERATE_API_KEY="jRtV9rxUUCzKzPNKMq0rF1Yg"
positive: exchangerate:\n  token: N1dxJTR9VLJv6gdhzhlktUMc
negative: export EXCHANGERATE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EXCHANGERATE_API_KEY="BAbtA3e6GxG7ZVuJ5WaDXF"
negative: export EXCHANGERATE_API_KEY="${EXCHANGERATE_API_KEY}"

id: exchangeratesapi-api-key
title: Exchangerates API key
severity: high
keywords: exchangerates exchangeratesapi
pattern: (?i)(?:\b|_)(?:exchangerates|exchangeratesapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EXCHANGERATES_API_KEY="tcLSOuNWTOsKUFduqk8HFFf7pn69GkxR"
positive: exchangerates:\n  token: WywrU215cqrvRwxCXyIA1jKK9uUESQ1D
negative: export EXCHANGERATES_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EXCHANGERATES_API_KEY="lvsPqAFz5BHPtGv34JaoxqH2ymwOQB"
negative: export EXCHANGERATES_API_KEY="${EXCHANGERATES_API_KEY}"

id: extractorapi-api-key
title: ExtractorAPI key
severity: high
keywords: extractorapi
pattern: (?i)(?:\b|_)(?:extractorapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EXTRACTORAPI_API_KEY="b9swuUK2vVi1EXnpxrjj3nEqiBEAuG6bHola9Lsx"
positive: extractorapi:\n  token: BiJ9SrsHovunzOjfcnhbVco5lyj1alCevN6Ia7N2
negative: export EXTRACTORAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EXTRACTORAPI_API_KEY="EiSPS0ftzi8TBTNEIabZ8KxLEdocKPl35MIPC2"
negative: export EXTRACTORAPI_API_KEY="${EXTRACTORAPI_API_KEY}"

id: facebook-app-id
title: Facebook app id
severity: low
keywords: facebook fb_app fbapp fb-app
pattern: (?i)(?:facebook|\bfb[_-]?app)[\w\s.:'"=-]{0,25}?(?:app(?:lication)?[_-]?)?id["']?\s{0,3}[:=]{1,2}\s{0,3}["']?\b([0-9]{15,16})\b
entropy: 2.5
confidence: medium
positive: FACEBOOK_APP_ID=225635815107825
positive: fb_app_id: "1654696565162947"
negative: FACEBOOK_APP_ID=123
negative: FACEBOOK_APP_ID=000000000000000

id: facebook-app-secret
title: Facebook app secret
severity: high
keywords: facebook fbapi fb_api fb_app fbapp fb_secret fbsecret fb-app
pattern: (?i)(?:facebook|\bfb[_-]?(?:api|app|secret))[\w\s.:'"=-]{0,25}?(?:secret|key)["']?\s{0,20}[:=]{1,2}\s{0,20}["']?\b([a-f0-9]{32})\b
entropy: 3.0
confidence: medium
positive: FACEBOOK_APP_SECRET=7d5f4717501f6a89f01741efa506f0e2
positive: var fbApiKey = '2f630c42c62080fb4887131ffeec2ed1';
negative: FACEBOOK_APP_SECRET=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: FACEBOOK_APP_SECRET=ffffffffffffffffffffffffffffffff

id: facebook-access-token
title: Facebook (Meta) access token
severity: high
keywords: eaa
pattern: \b(EAA[A-Za-z0-9]{30,300})\b
entropy: 3.5
positive: FB_ACCESS_TOKEN=EAACAPP1kAWTmsUSUn82FEf0bRcm7WLAXPHV2UEKEOQ4GrdDyvMjoSZrDgRTaOFSOOD8BorN7Mt6daguzDslMiiGe1kpKN00ibLHT9RYy5dbaW5t0CEZC7YH8XPE
positive: https://graph.facebook.com/me?access_token=EAACeFEGez7AClivMPWn4bP3bOrh0VfAm58CACmh99S1mqisj19I24cC2B5bOAwHXG8VFCpLCqGFz1CgOplw5cWLrMxB0E9S8cneEq3u77aBL3ismjtrHyEuWCfd
negative: EAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
negative: EAABxxxxxxxxxx

id: fastforex-api-key
title: fastFOREX API key
severity: high
keywords: fastforex
pattern: (?i)(?:\b|_)(?:fastforex)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{28})(?![\w-])
entropy: 3.0
confidence: medium
positive: fastforex=asXEw80Ar8ZuGpBOnrckSeihcEaM
positive: FASTFOREX 3PVo83KdEzuLXFHt4Svo7PR5clnT
negative: fastforex=xxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: fastforex=0Kkk8oyZiNm9plae22DIpmKFz9
negative: fastforex=${FASTFOREX_API_KEY}

id: fastly-api-token
title: Fastly API token
severity: high
keywords: fastly
pattern: (?i)(?:\b|_)(?:fastly)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_-]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FASTLY_API_KEY="twb3Vig3OhjhSw0DNxavXych1pxbwjbX"
positive: fastly:\n  token: 9NZLC4f0K1fCXGryTuNvRIYItsqtJyBy
negative: export FASTLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FASTLY_API_KEY="HSn7KGhFIw6t2QIL9jQj3Zucj3UQBg"
negative: export FASTLY_API_KEY="${FASTLY_API_KEY}"

id: feedier-api-key
title: Feedier API key
severity: high
keywords: feedier
pattern: (?i)(?:\b|_)(?:feedier)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FEEDIER_API_KEY="3iKWyt38pLOGVDXSafk48JfC05e1ITLY"
positive: feedier:\n  token: 64GXwWIAS2xh2r4Qo5KAFFz0RwQRJd88
negative: export FEEDIER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FEEDIER_API_KEY="fzL5fWl9sIJfjbKdGfxhIMf4IBjQ7j"
negative: export FEEDIER_API_KEY="${FEEDIER_API_KEY}"

id: fetchrss-api-key
title: FetchRSS API key
severity: high
keywords: fetchrss
pattern: (?i)(?:\b|_)(?:fetchrss)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FETCHRSS_API_KEY="3nEkhaNo0x0smqSYf51PYGC9pmaXHuhF3Y9h7eik"
positive: fetchrss:\n  token: 5HFqZtvIlc1nzisJezRbarTc1v6qNXw8qrUTg2oG
negative: export FETCHRSS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FETCHRSS_API_KEY="Rd8oVmCfIFGoUirRHWnfzD6bUJaZTG4dByUhZi"
negative: export FETCHRSS_API_KEY="${FETCHRSS_API_KEY}"

id: figma-personal-access-token
title: Figma personal access token
severity: high
keywords: figd_
pattern: \b(figd_[A-Za-z0-9_-]{38,44})(?![\w-])
entropy: 3.0
positive: FIGMA_TOKEN=figd_qhTMQtsyPay79QBkYpe2XQT0fXjRUy5Gp1QUkFmK
positive: headers = {"X-Figma-Token": "figd_qD2Mns3Jc35455WNHGta29p7OYT7Q0ZQ67pORxyN"}
negative: figd_xxxx
negative: figd_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: figma-legacy-token
title: Figma personal access token (legacy)
severity: high
keywords: figma
pattern: (?i)figma[\w\s.:'"=-]{0,30}?\b([0-9]{4,6}-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})\b
entropy: 3.0
confidence: medium
positive: --header='X-Figma-Token: 0906-edc9055a-d194-7831-812c-bae285903969'
negative: X-Figma-Token: 0000-00000000-0000-0000-0000-000000000000

id: fileio-api-key
title: file.io API key
severity: high
keywords: fileio file.io
pattern: (?i)(?:\b|_)(?:fileio|file\.io)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FILEIO_API_KEY="PV8jQnmrFbGnfBZ2krDk4gfy2AfbCfOo91gUp9q6"
positive: fileio:\n  token: 8b8SSQB4HYxW0xtCy58WoNN5rv9ftPf5Y9ehMCxn
negative: export FILEIO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FILEIO_API_KEY="uxnJtWDKqh0ceNnmgBLV46wqMh5B9iIb3hkOX1"
negative: export FILEIO_API_KEY="${FILEIO_API_KEY}"

id: finage-api-key
title: Finage API key
severity: high
keywords: finage
pattern: (?i)(?:\b|_)(?:finage)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINAGE_API_KEY="qpUVnXQJvia0ZwA0Pp6Q6V4PEkTpVsJH"
positive: finage:\n  token: i1mUVduR3UncFcrDi9iiL85EvthtB7i7
negative: export FINAGE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FINAGE_API_KEY="i5J1GxVbCaj9pDBZw7pTSEUwsE9YKL"
negative: export FINAGE_API_KEY="${FINAGE_API_KEY}"

id: financialmodelingprep-api-key
title: Financial Modeling Prep API key
severity: high
keywords: financialmodelingprep
pattern: (?i)(?:\b|_)(?:financialmodelingprep)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINANCIALMODELINGPREP_API_KEY="8wQC99ZdDrKBvXhnu1JUyjvucG7e4C4t"
positive: financialmodelingprep:\n  token: a6OgSXo6guGAQVUqJZKmeL0jnDsXuFWt
negative: export FINANCIALMODELINGPREP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FINANCIALMODELINGPREP_API_KEY="SprERj9LH4rGftird2iBUrKKIvmOjL"
negative: export FINANCIALMODELINGPREP_API_KEY="${FINANCIALMODELINGPREP_API_KEY}"

id: findl-api-key
title: Findl API key
severity: high
keywords: findl
pattern: (?i)(?:\b|_)(?:findl)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: findl=c2db0e04-9c61-5e1d-c361-18ad255380dd
positive: FINDL 9ac12380-a7ee-4cf6-b832-25197d29d955
negative: findl=xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
negative: findl=4ebb01bf-6f5e-2bd6-3c4f-14f6fdd1e9
negative: findl=${FINDL_API_KEY}

id: finicity-api-token
title: Finicity app key
severity: high
keywords: finicity
pattern: (?i)(?:\b|_)(?:finicity)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINICITY_API_KEY="6ljQqz9pvg6vbzH5uthyMNRUPsm8X7iP"
positive: finicity:\n  token: LGQT7CHYPgbAvsHI9MtJIFycRmf4TPvq
negative: export FINICITY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FINICITY_API_KEY="r4J0vKSImswAaaf7nxEk3zX8d4aukc"
negative: export FINICITY_API_KEY="${FINICITY_API_KEY}"

id: finicity-client-secret
title: Finicity partner secret
severity: high
keywords: finicity
pattern: (?i)(?:\b|_)(?:finicity)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINICITY_API_KEY="GLPpeJcI7zeJXQIoxqL5"
positive: finicity:\n  token: Ixq82Zh0M1JWIL0WAfuA
negative: export FINICITY_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export FINICITY_API_KEY="YAQTpOO90DbViGgvsS"
negative: export FINICITY_API_KEY="${FINICITY_API_KEY}"

id: finnhub-api-key
title: Finnhub API key
severity: high
keywords: finnhub
pattern: (?i)(?:\b|_)(?:finnhub)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINNHUB_API_KEY="qVK6tNURE2JPxNuimfo3"
positive: finnhub:\n  token: GDY7LQKCxhS7wWbL4DMk
negative: export FINNHUB_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export FINNHUB_API_KEY="3NJHX188yGYnrbInoi"
negative: export FINNHUB_API_KEY="${FINNHUB_API_KEY}"

id: fixerio-api-key
title: Fixer API key
severity: high
keywords: fixer fixerio fixer.io
pattern: (?i)(?:\b|_)(?:fixer|fixerio|fixer\.io)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FIXER_API_KEY="YSlWSGQVzEb8r3uXLMcvvC2dEpd6zA2y"
positive: fixer:\n  token: UMzxGLE3Qhh9HHcugwtr92U18eWY8xNc
negative: export FIXER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FIXER_API_KEY="XRrcJf7AgJTa1U4PPGuqzcUOIpw0x7"
negative: export FIXER_API_KEY="${FIXER_API_KEY}"

id: flatio-api-key
title: Flat.io API key
severity: high
keywords: flat flatio flat.io
pattern: (?i)(?:\b|_)(?:flat|flatio|flat\.io)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{128})(?![\w-])
entropy: 3.0
window: 512
confidence: medium
positive: export FLAT_API_KEY="Ov0ipsJmiIG8e96W8QxURCiNGoGvBzD2WghdiWN6lXZ0Fu212CS0uuWe64kVoOOERaFIi2m7POPDnw6MI9z1ce55nXQklE0PgWkE1XMSO214aZOT9N8d3e9KAEXUQxo1"
positive: flat:\n  token: crJZNaETbUCSNaln59dwZeRPxBytmTY5jd8n05M9Vnio2tcGkzoUP7Vpbx3f0Nw54xS2v37WLVZSLbVY9Kt2uKoaKwapnFB4XyukM6OJy9jYmjAtVNLnn3PH71kf2CKe
negative: export FLAT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FLAT_API_KEY="c19V9P5e0OFSAShdPACV4mC8haEipoo3bAb16RP6METtlE2P8fbRN5EVwCnV5i2hXQoKfHGKohZX4UsKbk1OyGxZMbVzBTF5hiNcD8GtBcV5j4kmi8u7T4S8GosBN5"
negative: export FLAT_API_KEY="${FLAT_API_KEY}"

id: fleetbase-api-key
title: Fleetbase API key
severity: high
keywords: flb_live_ flb_test_
pattern: \b(flb_(?:live|test)_[A-Za-z0-9]{20,40})\b
entropy: 3.0
positive: FLEETBASE_API_KEY=flb_live_IHeb6at7EYrX0TSQ6FLM
negative: flb_live_xxxx
negative: flb_prod_MOOTIuhPQYwiKNA6WfBB

id: flexport-api-key
title: Flexport API key
severity: high
keywords: shltm_
pattern: \b(shltm_[A-Za-z0-9_-]{40})(?![\w-])
entropy: 3.0
positive: FLEXPORT_API_KEY=shltm_f8jLRw524meJsXT1t1G2Az4PSDFH2aRLKx9yJfCX
negative: shltm_xxxx
negative: shltm_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: flickr-api-key
title: Flickr API key
severity: high
keywords: flickr
pattern: (?i)(?:\b|_)(?:flickr)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FLICKR_API_KEY="pqhHJ1jhX2QOSr1ObuYlXDzfNKPsT8GN"
positive: flickr:\n  token: QCh9cuLUZhEjb3sVTFSnJegL5GoekpCG
negative: export FLICKR_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FLICKR_API_KEY="ubvhJkHV0gJUR9u0NXQZzx15yfFg7Z"
negative: export FLICKR_API_KEY="${FLICKR_API_KEY}"

id: flightapi-api-key
title: FlightAPI key
severity: high
keywords: flightapi
pattern: (?i)(?:\b|_)(?:flightapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FLIGHTAPI_API_KEY="0jhrNRGEUnL7gcQHpQfQga3E"
positive: flightapi:\n  token: L3RTP3e6TAoljEPPiuSdVB5J
negative: export FLIGHTAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FLIGHTAPI_API_KEY="Q42uQJ56AYFYqGR8bzugr6"
negative: export FLIGHTAPI_API_KEY="${FLIGHTAPI_API_KEY}"
"""#
}
