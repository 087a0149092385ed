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
positive: export D7NETWORK_API_KEY="9VFkdfVyUqKOXRsbPGxCXjqPKvwp4L"
positive: d7network:\n  token: cCvTrVSjmONNOnGRjN086IVg
negative: export D7NETWORK_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export D7NETWORK_API_KEY="UQ0SvNyHBsHD64fKYC"
negative: export D7NETWORK_API_KEY="${D7NETWORK_API_KEY}"

id: dailyco-api-key
title: Daily.co API key
severity: high
keywords: daily dailyco daily.co
pattern: (?i)(?:\b|_)(?:daily|dailyco|daily\.co)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DAILY_API_KEY="eA9NZSMLwarqW2mSzcpgdHxDmkeVuyJ8q4HewyGj3MWx0oZwiN8ef8wvQZPGGJ0Q"
positive: daily:\n  token: TENYvQJUPUrDL1xrAK7sQzaIYhI9J3fdUHvgaR8GO8j0mQkCivrGQ4gXiA1RBbre
negative: export DAILY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DAILY_API_KEY="il7GhCpJaTrFX0jYlVULKf1A15JHy7JmGAsKVAVD9sdhfLa1E9aGV8tAjf6yUw"
negative: export DAILY_API_KEY="${DAILY_API_KEY}"

id: dandelion-api-token
title: Dandelion API token
severity: high
keywords: dandelion
pattern: (?i)(?:\b|_)(?:dandelion)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DANDELION_API_KEY="hS3Ac8RobbQHkNmvwfItvaSmpT3UwVMa"
positive: dandelion:\n  token: SPVQH8onyfbrXu22T4Sk2PZMqtCIHT0G
negative: export DANDELION_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DANDELION_API_KEY="wptH5twFrY5kSnpA9kPDY3OQv8ykgM"
negative: export DANDELION_API_KEY="${DANDELION_API_KEY}"

id: dareboost-api-key
title: Dareboost API key
severity: high
keywords: dareboost
pattern: (?i)(?:\b|_)(?:dareboost)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{55,65})(?![\w-])
entropy: 3.0
confidence: medium
positive: dareboost=lmSmhAdQaEP7hl3RoVQzu78v52BARskBHZPkalx1poPVkySL1AoOKhGlthTb
positive: DAREBOOST YJZjQQFsTbu6XdoS13hNSq9FjGhobJWlci8tlpAIqsQFNe2PBVBkw7Kag4
negative: dareboost=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: dareboost=WJD2GknY3AjdP2YH6hFGYqA4SnvpkPvhRc8H0ef6FoeS7e0TBXP9f
negative: dareboost=${DAREBOOST_API_KEY}

id: databox-api-token
title: Databox API token
severity: high
keywords: databox
pattern: (?i)(?:\b|_)(?:databox)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{21,22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DATABOX_API_KEY="9plns6ZwyMhRzKPZBBrCt"
positive: databox:\n  token: poEScb9gsUihrguQ0YEvf2
negative: export DATABOX_API_KEY="xxxxxxxxxxxxxxxxxxxxx"
negative: export DATABOX_API_KEY="aq3Mcwrh1kSVcZzghl3"
negative: export DATABOX_API_KEY="${DATABOX_API_KEY}"

id: databricks-api-token
title: Databricks personal access token
severity: high
keywords: dapi
pattern: \b(dapi[a-f0-9]{32}(?:-[0-9])?)\b
entropy: 3.0
positive: DATABRICKS_TOKEN=dapifc2fee0f31fe1e9b78e19a1ce5cacf51
positive: databricks configure --token dapi814aeb237c84fe0a38a55c4596b032b7-2
negative: dapixxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: dapi5c0f079c8160543e8b51

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
positive: DD_API_KEY=66c53ab9f4e6d8d1d32ece40ce518e17
positive: datadog:\n  api_key: "df85521333a3be88339cecff042dbb63"
negative: DD_API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: DATADOG_API_KEY=<your-api-key>

id: datadog-app-key
title: Datadog application key
severity: high
keywords: datadog dd_app dd-app dd_secret ddapp
pattern: (?i)(?:datadog|\bdd[_-]?(?:app|secret))[\w\s.:'"=/>,-]{0,25}?(?:key|token|secret)[\w\s.:'"=/>,-]{0,20}?\b([A-Za-z0-9]{40})\b
entropy: 3.0
confidence: medium
positive: DD_APP_KEY=a7e1e4af2c41ac5d2ed4e3805507bc7df5a17039
positive: datadog_application_key = "83048ed97fcba2760f9d25701d961b980600dbe0"
negative: DD_APP_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: DD_APP_KEY=4e2cbccbc4d4e733ecfb7764a95542a0

id: datagov-api-key
title: api.data.gov API key
severity: high
keywords: data.gov data_gov datagov
pattern: (?i)(?:\b|_)(?:data\.gov|data_gov|datagov)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DATA_GOV_API_KEY="BIrsVCBq7QpRCNbuEVwroqus8mn9FGbL5QzFwmMo"
positive: data.gov:\n  token: StRMUc3rgKGEcuZ7jlc8nJrAy1qfRSMjjpv9k8ES
negative: export DATA_GOV_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DATA_GOV_API_KEY="Dzu8Q3mMBH4sMWDiPHmAeqsAnxdiUElaKHaEQe"
negative: export DATA_GOV_API_KEY="${DATA_GOV_API_KEY}"

id: debounce-api-key
title: DeBounce API key
severity: high
keywords: debounce
pattern: (?i)(?:\b|_)(?:debounce)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{13})(?![\w-])
entropy: 2.5
confidence: medium
positive: export DEBOUNCE_API_KEY="DW6xrmzQWGGYY"
positive: debounce:\n  token: Lvz09QCCtIsaF
negative: export DEBOUNCE_API_KEY="xxxxxxxxxxxxx"
negative: export DEBOUNCE_API_KEY="f9in7YhEbKb"
negative: export DEBOUNCE_API_KEY="${DEBOUNCE_API_KEY}"

id: deepai-api-key
title: DeepAI API key
severity: high
keywords: deepai
pattern: (?i)(?:\b|_)(?:deepai)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12,14})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DEEPAI_API_KEY="6jtet32h-rxlq-ouu4-aiea-9b2t4s1psoz4"
positive: deepai:\n  token: w27aplqo-eao5-xg61-tsct-op93ixod32ftjp
negative: export DEEPAI_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
negative: export DEEPAI_API_KEY="qqa4xvbv-12md-vjy0-7ufr-zzece7c4b5"
negative: export DEEPAI_API_KEY="${DEEPAI_API_KEY}"

id: deepgram-api-key
title: Deepgram API key
severity: high
keywords: deepgram
pattern: (?i)(?:\b|_)(?:deepgram)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DEEPGRAM_API_KEY="4eLXCwLvWQ6pzPXitD5IUEGzzAlIwrvsWhyWf6te"
positive: deepgram:\n  token: WRvhJxwEZzg8QIZSmUq2EZlaWMO3XsThqkeFPZ78
negative: export DEEPGRAM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DEEPGRAM_API_KEY="CJvIQtAFl9ygqtRolFYRCB5zL3SUac1DwdhD2A"
negative: export DEEPGRAM_API_KEY="${DEEPGRAM_API_KEY}"

id: delighted-api-key
title: Delighted API key
severity: high
keywords: delighted
pattern: (?i)(?:\b|_)(?:delighted)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DELIGHTED_API_KEY="rJR4Yp0PKGKGt4GNJb8aBeH5zQLorIXR"
positive: delighted:\n  token: yGDzijW3j5QWzZOCTDH5b7AHz1uxpboy
negative: export DELIGHTED_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DELIGHTED_API_KEY="WOmJrgCaP14qxbaMOuRUH1np46ZY6Q"
negative: export DELIGHTED_API_KEY="${DELIGHTED_API_KEY}"

id: dtrack-api-key
title: Dependency-Track API key
severity: high
keywords: odt_
pattern: \b(odt_[A-Za-z0-9]{32,40})\b
entropy: 3.0
positive: X-Api-Key: odt_D2UoelUQH7G1gEyk4kRbBAfZlTVHAiFv
positive: DTRACK_API_KEY=odt_xmeIxoTzHupypI1HdS7pEnQ0JXoYHidb
negative: odt_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: odt_9rYZhGTS0caR

id: detectify-api-key
title: Detectify API key
severity: high
keywords: detectify
pattern: (?i)(?:\b|_)(?:detectify)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DETECTIFY_API_KEY="FIPX7P7qkpnefYkftDcKr9jWiA28ryA4"
positive: detectify:\n  token: HJp1TcTGcWHLX9JJfFN7MEKE9Bnx27Qc
negative: export DETECTIFY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DETECTIFY_API_KEY="GaHr4VM2zwEpeJFNzNnscwjf9bgAXv"
negative: export DETECTIFY_API_KEY="${DETECTIFY_API_KEY}"

id: detectlanguage-api-key
title: Detect Language API key
severity: high
keywords: detectlanguage
pattern: (?i)(?:\b|_)(?:detectlanguage)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DETECTLANGUAGE_API_KEY="2Z5XD85x8tBCvHnQp56Kuj7uC7SL1WLO"
positive: detectlanguage:\n  token: cRUy6jqDx4D02nb2HLcCj8P3AgF0qUcO
negative: export DETECTLANGUAGE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DETECTLANGUAGE_API_KEY="NGT9QVkw3nqXSP6dzV7HHYKDAyhpDn"
negative: export DETECTLANGUAGE_API_KEY="${DETECTLANGUAGE_API_KEY}"

id: dfuse-api-key
title: dfuse API key
severity: high
keywords: web_
pattern: \b(web_[a-f0-9]{32})\b
entropy: 3.0
confidence: medium
positive: DFUSE_API_KEY=web_58adce29b14a3ba541dc945eedad1c30
negative: web_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: web_server_83a40951da74bd25290c6b0d197b13ae

id: diffbot-api-token
title: Diffbot API token
severity: high
keywords: diffbot
pattern: (?i)(?:\b|_)(?:diffbot)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DIFFBOT_API_KEY="z9xbKquoAZqTTWkzUweVqc2bQ3KOOC0o"
positive: diffbot:\n  token: IOJ7UcnYjAZHbgSEn77jyGAJV8L3GF7y
negative: export DIFFBOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DIFFBOT_API_KEY="L1zpBTyauYsbcHDK8hJfepi5uayLr2"
negative: export DIFFBOT_API_KEY="${DIFFBOT_API_KEY}"

id: diggernaut-api-key
title: Diggernaut API key
severity: high
keywords: diggernaut
pattern: (?i)(?:\b|_)(?:diggernaut)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DIGGERNAUT_API_KEY="NtiRmHm3Fx994YY6Gnqapb1DIKj0h9jbY1pVFnLw"
positive: diggernaut:\n  token: GtNos863KzCFvusUOhPAwMo2LJw8oEGBuXDZUB5i
negative: export DIGGERNAUT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DIGGERNAUT_API_KEY="BkY9jEsRrLePIKHTGDMFiOBhZZ7OsiBt3yr2cz"
negative: export DIGGERNAUT_API_KEY="${DIGGERNAUT_API_KEY}"

id: discord-webhook-url
title: Discord webhook URL
severity: high
keywords: discord.com/api/webhooks discordapp.com/api/webhooks
pattern: (?i)\b(https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,70})(?![\w-])
entropy: 3.0
positive: WEBHOOK = "https://discord.com/api/webhooks/352255365686994679/XTEDBtrgiiYqhNObmY4IEKMzodspM7E5o8GEsZFuHRaUJZPWrAcilAAfNZfmnHn4t3JF"
negative: https://discord.com/api/webhooks/123/abc
negative: https://discord.com/api/webhooks/{id}/{token}

id: discord-bot-token
title: Discord bot token
severity: high
keywords: discord bot_token bottoken apikey api_key token
pattern: (?i)(?:discord|bot|token|api_?key)[\w.-]{0,25}?["']?\s{0,3}[:=]{1,2}\s{0,3}["']?([MNO][\w-]{23,27}\.[\w-]{6}\.[\w-]{27,40})(?![\w-])
entropy: 3.5
positive: DISCORD_BOT_TOKEN=MTY35VwnBdJysTVtMYAA52s2J.slY2wF.8qsSWMKlqZ4cQAsluxhWPLiqnPiGomLWs7UhGi
positive: bot.run(token="MTc4bNg0oSTpiNpdFzd4SZHaQ.m8VR6s.FVcR9CVDGxKFaiI8MSMizpFwTtHfcaRjd6QX9t")
negative: DISCORD_BOT_TOKEN=MTIz.abc.def
negative: token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijklmnopqrstuvwxyz0123"

id: discord-bot-id
title: Discord bot / application id
severity: low
keywords: discord bot_id botid
pattern: (?i)(?:discord[\w.-]{0,20}?|\bbot_?id)["']?\s{0,3}[:=]{1,2}\s{0,3}["']?\b([0-9]{17,19})\b
entropy: 2.5
confidence: medium
positive: DISCORD_CLIENT_ID=135517848252142492
positive: bot_id: "210792270682991109"
negative: DISCORD_CLIENT_ID=123
negative: discord = 00000000000000000

id: disqus-api-key
title: Disqus API key
severity: high
keywords: disqus
pattern: (?i)(?:\b|_)(?:disqus)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DISQUS_API_KEY="g8HmjV0GAr17piKz9fLfUAhwUn6fPWBMYqOeaf2ryrOljWbaHDgbYsdkGZEvO6uP"
positive: disqus:\n  token: EOhM6S5a1ep4oiiUQ90z0XDxnwuSthaHNc49xs3ouUNrsxql7z26amF0IiafuizB
negative: export DISQUS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DISQUS_API_KEY="BcI9cSBbp38CeQV9nGcwMXsN8PGVeUvaO1H0jbN2O9T137vbwFWaShCUULBM4e"
negative: export DISQUS_API_KEY="${DISQUS_API_KEY}"

id: ditto-api-key
title: Ditto API key
severity: high
keywords: ditto
pattern: (?i)(?:\b|_)(?:ditto)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}\.[A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DITTO_API_KEY="b025a7d5-abbe-cc63-a1fa-25226f85ae85.dTHYoSByumV0SXrqwUt4rHKXk6OnibnNjLOn6SsI"
positive: ditto:\n  token: efcb1a61-2c34-2116-97cb-c5d1830a9001.syjgTpOKP0dJ1xaeEYaRF7zexq7VIeqYLrj6u2qC
negative: export DITTO_API_KEY="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DITTO_API_KEY="caf08393-d5aa-4abf-83c7-dc9da0e56d9d.2pVLJXBF23EFgeKIsGA9JjjcEGeKYE9Bxkz8Jc"
negative: export DITTO_API_KEY="${DITTO_API_KEY}"

id: django-secret-key
title: Django SECRET_KEY
severity: high
keywords: django
pattern: (?i)(?:\b|_)django[\w.-]{0,10}?secret[_-]?key["']?\s{0,3}[:=,]{1,2}\s{0,3}["']([^\s'"]{40,80})["']
entropy: 3.5
confidence: medium
positive: os.environ.get('DJANGO_SECRET_KEY', 'q7#vn!2k$e9f@x0p*h6w&z3m^r8t(a1s)d5g%j4l+b_c-y=u')
positive: DJANGO_SECRET_KEY = "AeRshSn7vw3QsnhP821G8upRia4ztlBGVVhyxDBmdFstYKH5uu"
negative: DJANGO_SECRET_KEY = "changeme"
negative: DJANGO_SECRET_KEY = os.environ['DJANGO_SECRET_KEY']

id: django-insecure-secret-key
title: Django generated insecure SECRET_KEY
severity: medium
keywords: django-insecure-
pattern: \b(django-insecure-[^\s'"]{40,70})
entropy: 3.5
positive: SECRET_KEY = 'django-insecure-N3cFaTg72hiduTz6oC52iX4FBC5riQx1LMURWpwGhXQqopMPEB'
negative: SECRET_KEY = 'django-insecure-xxxxxxxx'

id: docparser-api-key
title: Docparser API key
severity: high
keywords: docparser
pattern: (?i)(?:\b|_)(?:docparser)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DOCPARSER_API_KEY="EubGqYmupq0FoquWcuQvf1eruBIg0zsVr3a1tUBI"
positive: docparser:\n  token: i9aOQtV4qxanE2bRI5GdjpTRR4mki5D5NlsGjRR0
negative: export DOCPARSER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DOCPARSER_API_KEY="SuRbKuRxCRZxlLpQRIPbiw99KhOI2RgGAVVXTl"
negative: export DOCPARSER_API_KEY="${DOCPARSER_API_KEY}"

id: doppler-cli-token
title: Doppler CLI token
severity: high
keywords: dp.ct.
pattern: \b(dp\.ct\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.ct.WbazFTHnJkiwYGUKfS8hMYtEMGNPVdFECIjA2JAsrul
negative: DOPPLER_TOKEN=dp.ct.xxxx
negative: DOPPLER_TOKEN=dp.ct.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-personal-token
title: Doppler personal token
severity: high
keywords: dp.pt.
pattern: \b(dp\.pt\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.pt.MT0smFlNqaxq8AbFqrrjddG0Nx61aC3odnPtiFmO5OT
negative: DOPPLER_TOKEN=dp.pt.xxxx
negative: DOPPLER_TOKEN=dp.pt.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-service-account-token
title: Doppler service account token
severity: high
keywords: dp.sa.
pattern: \b(dp\.sa\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.sa.6gTEQu3D7pKyi0ro1rwqPcupT8krjkOztorH2oqUghk
negative: DOPPLER_TOKEN=dp.sa.xxxx
negative: DOPPLER_TOKEN=dp.sa.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-scim-token
title: Doppler SCIM token
severity: high
keywords: dp.scim.
pattern: \b(dp\.scim\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.scim.c3lduClt41lxb6pWpisARbUXAZRoZdrwuTHSgJj80gU
negative: DOPPLER_TOKEN=dp.scim.xxxx
negative: DOPPLER_TOKEN=dp.scim.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-audit-token
title: Doppler audit token
severity: high
keywords: dp.audit.
pattern: \b(dp\.audit\.[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.audit.NGoIeWlrrst0yY4FoGCDOFfLQWKmAfLlCMvhC5uqhai
negative: DOPPLER_TOKEN=dp.audit.xxxx
negative: DOPPLER_TOKEN=dp.audit.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: doppler-service-token
title: Doppler service token
severity: high
keywords: dp.st.
pattern: \b(dp\.st\.(?:[a-z0-9_-]{2,35}\.)?[A-Za-z0-9]{40,44})\b
entropy: 3.0
positive: DOPPLER_TOKEN=dp.st.prd.4oBNgFxWeqOEAD9tCSNjAFe7bAZ6ixvq1Bs4Tts5zVS
positive: DOPPLER_TOKEN=dp.st.IKV87Wi5EEPHoUFuIa5zvz6UL9z17JDluXqIvX1mvQw
negative: DOPPLER_TOKEN=dp.st.prd.xxxx

id: dronahq-api-key
title: DronaHQ API key
severity: high
keywords: dronahq
pattern: (?i)(?:\b|_)(?:dronahq)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{50})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DRONAHQ_API_KEY="CGiEaQdg2LQOSa1Lsd50NiqIVz62gcpyHWGYuuysxcrCPhoix3"
positive: dronahq:\n  token: O3vTRv9H6mIhdt7tCMjolsOz5h2lRf0uALS5zZuqS4m2mf9JvD
negative: export DRONAHQ_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DRONAHQ_API_KEY="eBCoTTg8XMeegvEn4EgkGd9Xtf1q9NZbgB8erHv5AOfpJiwg"
negative: export DRONAHQ_API_KEY="${DRONAHQ_API_KEY}"

id: droneci-access-token
title: Drone CI access token
severity: high
keywords: droneci drone_token drone-token
pattern: (?i)(?:\b|_)(?:droneci|drone_token|drone-token)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DRONECI_API_KEY="CfOde6RuLReLMPi5zSoSW1Gfr8jYcIwl"
positive: droneci:\n  token: G8alJ82jRroB7GQf0XzqBafuauOlvFzM
negative: export DRONECI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DRONECI_API_KEY="z9d1cUgAgcrO6yMj3P90G1v90KdBej"
negative: export DRONECI_API_KEY="${DRONECI_API_KEY}"

id: dropbox-access-token
title: Dropbox short-lived access token
severity: high
keywords: sl.
pattern: \b(sl\.(?:u\.)?[A-Za-z0-9_-]{130,1400})(?![\w-])
entropy: 3.5
window: 2048
positive: curl -H "Authorization: Bearer sl.zl1M2b8534vuM4mgOZqHeuZffpyjpBRGZ9tSpUuOuJ7AOZ2EMdv11oj8iN14Q9g5GyLRrFucBi7hwZf9XJYgXHLOvIzvMr1tt28fzYoquqlg5iShydOuw0pXl7LwHDCSEpBN2OOb5z" https://api.dropboxapi.com/2/users/get_current_account
negative: sl.xxxxxxxxxx
negative: ssl.yvxJwvklZ1AKtZNIUKYYwe0DbVKRZboVWocIFNAAe8N0Ncj6vH0JWOQRQUfoxttdWV8U3GFg57P2InY840Pe888ti87tGxkf53ySJWrphFBXx7uCfFkUavkS4LmRta4r7YqzAw9yfgeb

id: dynalist-api-token
title: Dynalist API token
severity: high
keywords: dynalist
pattern: (?i)(?:\b|_)(?:dynalist)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{128})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DYNALIST_API_KEY="cSc0JB8CGZfc4BPXHTPELAh34A30d4pr0IHdzu0MrBIWXw7UCSK2LQPwAUUIF9nRhiL4FHbE4EcldeE3ay8Zv9LzyD5tzq8rQYyP3wwMt98aCzK55yNYcmqLncrkDsnY"
positive: dynalist:\n  token: 0yGnvXhKm2pKvfnZYV368qz9zd2SEZCQiR75FyRbz85aeq0kQqEWa842IVLZBoxsjVIwHC36rGQmzVULg90wRvx17f7SGHhBINFWtjsxFlYmRNd4mRjRaG5St4uoakQv
negative: export DYNALIST_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DYNALIST_API_KEY="qAIls8GAVnqj6pM6xvNwTna0d44f6cWxCG7DSFVTORvruMhaz0qQ1kbs3HAKk2z11S95Dc6J9eWW6Lhw6OHxifRsOCYS8L12IpH1LCSagrBhtPA4FaKkB4InF1GXov"
negative: export DYNALIST_API_KEY="${DYNALIST_API_KEY}"

id: dynatrace-api-token
title: Dynatrace API token
severity: high
keywords: dt0c0 dt0s0
pattern: \b(dt0[cs]0[0-9]\.[A-Z0-9]{24}\.[A-Z0-9]{64})\b
entropy: 3.0
positive: apiToken: dt0c01.DAM0DW8Z2F98F3UCNSUBK9JW.U02R1WTHNBGSHOPZ3VIENCO3SW7T85U125ILERPVO4Y5RLM01IQDXXP19BODQJRX
negative: apiToken: dt0c01.XXXX
negative: dt0c01.AAAAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBB

id: dyspatch-api-key
title: Dyspatch API key
severity: high
keywords: dyspatch
pattern: (?i)(?:\b|_)(?:dyspatch)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{52})(?![\w-])
entropy: 3.0
confidence: medium
positive: export DYSPATCH_API_KEY="BSNPjQ1rHMlI0DvHirNwLQb9Ewk5PgzGdyt4jqsUmlTuQoKq5VtY"
positive: dyspatch:\n  token: gLelO1jCEG2bt2c1foU3r7vmjrbf5KR8G84yOfobFvdITEfStWja
negative: export DYSPATCH_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export DYSPATCH_API_KEY="RcIYxe68q3RBtPKKRPH9YY6xZ1zyhh5uvfDcPKnilSwmxqscE7"
negative: export DYSPATCH_API_KEY="${DYSPATCH_API_KEY}"

id: eagleeyenetworks-api-key
title: Eagle Eye Networks API key
severity: high
keywords: eagleeyenetworks eagleeye
pattern: (?i)(?:\b|_)(?:eagleeyenetworks|eagleeye)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{15})(?![\w-])
entropy: 2.5
confidence: medium
positive: export EAGLEEYENETWORKS_API_KEY="X80lPYNYjQ77hzF"
positive: eagleeyenetworks:\n  token: mTIiBX79G2Ne6Az
negative: export EAGLEEYENETWORKS_API_KEY="xxxxxxxxxxxxxxx"
negative: export EAGLEEYENETWORKS_API_KEY="zt5dA4dft055q"
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
positive: EASYPOST_API_KEY=EZAKFwN7f6PqJ8gtnDS4rMdLOnKeSj3Qk1tBm3IyF8CGZa7uGhYFeqcrEa
negative: EZAKxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: EZAKxla0UKbCyHwGD3qPGwFs

id: ecostruxureit-api-key
title: EcoStruxure IT API key
severity: high
keywords: ecostruxureit ecostruxure
pattern: (?i)(?:\b|_)(?:ecostruxureit|ecostruxure)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b(AK1[A-Za-z0-9]{45,55})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ECOSTRUXUREIT_API_KEY="AK179eLa6xemQAAY2C0MKz9AEsYbpy5ZSAR5CCR2by7meAG2Oe"
positive: ecostruxureit:\n  token: AK1GjeyfVOBnMVvXR7gslfovtcHxwM2O2fWy5kwgveLvloEAAt
negative: export ECOSTRUXUREIT_API_KEY="AK1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ECOSTRUXUREIT_API_KEY="AK1bT6yIX1nYVW85CyGgIPSCrNDIT32tpDd2i7jBnjtYCE"
negative: export ECOSTRUXUREIT_API_KEY="${ECOSTRUXUREIT_API_KEY}"

id: edenai-api-key
title: Eden AI API key
severity: high
keywords: edenai eden_ai
pattern: (?i)(?:\b|_)(?:edenai|eden_ai)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_.-]{100,600})(?![\w.-])
entropy: 3.0
window: 1024
confidence: medium
positive: export EDENAI_API_KEY="6MvQZeTRfhdlrSp2roRlK8yFyiRzC0C4LpA1PnjMwYR1vReZAilwjxG6pQlIHT6wy6GwGNII5EOA06cWpNrZzx4nLwnaTl0ocbr4bCANbTVKAs6iySE9Erv9VTxE7kjHRurSpaRWyR3snjlRioFB7vJVy0bmellIW5TgCvt82HTeGW6ac0RHFPKAPvEnbibhWSnXEBDZZcpTAPDpQsvREKJwr28TgkesPSU2UE9xg9Fs0kdb51Sqogm9DOjiEhKBdSuEDK9ocWOnwgg8OMMTpUGOLe7AEkyBqzmsnu9rrj1PZlES5LUb4B7gaclwhK6AVJ17tofwNaVLS2I9D2QS8BH3gb6p8DLPeLcAB8cmeN1K2KPm51UbjoqQdPvT0o1yuuPakTSEDsbGdgM8"
positive: edenai:\n  token: 5BUXCfTFmIxjoqYM1hq6tHL3Rdth444tMI0qMxmMbiMoQyeqtI5d2VjejbKhyKJSK87EXMm0ADzj7zshUXlGC7pOJCXXXWNxv3we3g0xXvXCqtj54X7MSgxE9Azpa4HJNyIF1MPg51Aajq9H126ZnEAu4Zbu5tl8NtR60b3c9zqLmyPmXhw1jZ4c2Zbes8pge9QBUTyqsgOuxeeBcL64KGkl5mrwwVo2cPgjvVlbkxP0gZRnI30P6xFgWeP4LjZp8FGoYGjpdMeGsironHt39ZcaqpErWs670lWTslhaX5EbhGgUGRY4M2kO5PJZOgST26xzxQXGFQzCIarCJI0xbj8MtgfLJNptN3AjKeAlN1NMxZwFqL14ViivlIX8VfUofYqtt6
negative: export EDENAI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EDENAI_API_KEY="4LD6qnGjUuqu6I6Jn7L9vqQlFHJJ1tmdcYb1Drxxg4wFlGNW2B5zTSG1IYYZi73j9BATihdsPXtwjM2G3EZ0ccXpu8vm20q954"
negative: export EDENAI_API_KEY="${EDENAI_API_KEY}"

id: elasticemail-api-key
title: Elastic Email API key
severity: high
keywords: elasticemail elastic_email elastic
pattern: (?i)(?:\b|_)(?:elasticemail|elastic_email|elastic)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_]{90,100})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ELASTICEMAIL_API_KEY="uscOehL9VUhhKQTnIfElrv2kq4wS90CCv7oDYfHPtgqzPpGwOQYNC0fTRFoGRcHPwp6LgEjZuG1MkcdLeYITzFNFGYAN6"
positive: elasticemail:\n  token: JQ4igvNecPgcZGdwbIFNbwZGQh6tI89CTejo05miAWTOwvP3bKoUlngIt36FceR4b4xu55C81LxhL07qce962DY3hfOtd69
negative: export ELASTICEMAIL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ELASTICEMAIL_API_KEY="EgHO3XOZr4SNeLcAfJSBGnTgcz74C4NWmfXDffeOE0ZSDs5OEL0T5Fr7ZoC0WIQVPnMQJTQPIdeDj3NetW0IoTdi"
negative: export ELASTICEMAIL_API_KEY="${ELASTICEMAIL_API_KEY}"

id: elevenlabs-api-key
title: ElevenLabs API key
severity: high
keywords: sk_
pattern: \b(sk_[a-f0-9]{48})\b
entropy: 3.0
positive: ELEVENLABS_API_KEY=sk_8549de471fa022018aeba49cdd42268591704d0700aef458
positive: client = ElevenLabs(api_key="sk_9a1f95de79488567080f31a8235ebb9f8e444ecd995046d3")
negative: sk_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: task_8d431f54fbbc02d300da688b61e5f5b78bcd0cc334826663

id: enigma-api-key
title: Enigma API key
severity: high
keywords: enigma
pattern: (?i)(?:\b|_)(?:enigma)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: enigma=9FysvU9m7PESSRVFgJOpIaFEccXSFoZ2Yy0awg8Z
positive: ENIGMA axGzMXyCkNG3bVZMnib3HkiTEhOVvg0uUu4yWPRG
negative: enigma=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: enigma=HAK3QuV2iJRdI4IWspoS6uhEzaHbX198YCdLjm
negative: enigma=${ENIGMA_API_KEY}

id: envoy-api-key
title: Envoy API key
severity: high
keywords: envoy
pattern: (?i)(?:\b|_)(?:envoy)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{150,260})(?![\w-])
entropy: 3.0
window: 1024
confidence: medium
positive: export ENVOY_API_KEY="lnIxeQqMJ9ylkDTfK444a20Cf0jNpEpk5vc4atsr4WKWehQbEAVEyL1PqqQNJF2xUMoq9ed3eHzja8h2FvQz8TxmVC94FAqQTvpMtZz2mY04KBcq3BrUfwmeThhF3vRXdntEs4fvsJhe3U0Rx8blRIhmEgY4agwAZERtHMNEestGWghtFFdyZUOt09w5XvM5B0qNoUWQdYRL9zvtZng4Dyg8GJFrg7QE6xZxWYAZQXCUD3gFjVYcrjodMwJi40df7JJi"
positive: envoy:\n  token: WDKh91RUxMv9LgMU6zWPkc9NsKqDx39cL5q6CWnRtQvl2HPbhYQqqD2G45t8cjtUwJrOXPi7IbMOKpaAgNlxBAx5wpLUyd0WwfhjwgBLk965UauvPBQoTyZZYzn2U414CPTf6y98W0XZJ7KP3OJKBfKe0aSDAM1Ve1FzzUbvPsEyPRv1VJvHu1XjFnLf7JF4RVOAi8nD
negative: export ENVOY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ENVOY_API_KEY="JvB29j71fUtF9Nbszz0n2WAY3AqMMqePwTT0kjJbKOzbA5RKaeHWLFH5me3cmg9Oo3C4qjtXxQijvv6uyKZWdSfvI9k41cOOfIF1CLbdKixqY2S9LW2AYsg51u0lI2NqN0riZkw6sNJawRYkLhDE"
negative: export ENVOY_API_KEY="${ENVOY_API_KEY}"

id: eraser-api-token
title: Eraser API token
severity: high
keywords: eraser
pattern: (?i)(?:\b|_)(?:eraser)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ERASER_API_KEY="NLrtZGAlaojankAm60YpIn"
positive: eraser:\n  token: L9PbPA5Khy9p81Bq1AxdrR
negative: export ERASER_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: export ERASER_API_KEY="Bnrl2UzFT1WuK1gZH3Qj"
negative: export ERASER_API_KEY="${ERASER_API_KEY}"

id: etherscan-api-key
title: Etherscan API key
severity: high
keywords: etherscan
pattern: (?i)(?:\b|_)(?:etherscan)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{34})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ETHERSCAN_API_KEY="eaEvFxnGemGz3iHqgzX400VI4BvpWFfSuG"
positive: etherscan:\n  token: GqbrCy5ro821JjPMrlP0IJmYDZAbJFt2vy
negative: export ETHERSCAN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export ETHERSCAN_API_KEY="ZiKGfxHJRyVkTyWHxODWGsMKtCZ0wNo5"
negative: export ETHERSCAN_API_KEY="${ETHERSCAN_API_KEY}"

id: ethplorer-api-key
title: Ethplorer API key
severity: high
keywords: ethplorer
pattern: (?i)(?:\b|_)(?:ethplorer)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ETHPLORER_API_KEY="OsFRgXaNsyiEfZ2ASddfaI"
positive: ethplorer:\n  token: b52zh0iRV7fDtYkCT88Wpy
negative: export ETHPLORER_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: export ETHPLORER_API_KEY="Frv5WLxsOw7gQQqwnZtp"
negative: export ETHPLORER_API_KEY="${ETHPLORER_API_KEY}"

id: eventbrite-api-token
title: Eventbrite private token
severity: high
keywords: eventbrite
pattern: (?i)(?:\b|_)(?:eventbrite)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EVENTBRITE_API_KEY="BBU8A5M9Y2G6UWQSUTWA"
positive: eventbrite:\n  token: WB6ZVZE44MF8BF4GSH9L
negative: export EVENTBRITE_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export EVENTBRITE_API_KEY="1GPU90BMWSZ3SSM1EF"
negative: export EVENTBRITE_API_KEY="${EVENTBRITE_API_KEY}"

id: everhour-api-key
title: Everhour API key
severity: high
keywords: everhour
pattern: (?i)(?:\b|_)(?:everhour)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{6}-[A-Za-z0-9]{6}-[A-Za-z0-9]{8})(?![\w-])
entropy: 3.0
confidence: medium
positive: everhour=gBLO-lrAH-My1Ebl-X9iEVU-7dOh0zpe
positive: EVERHOUR qqWW-mBxe-5kjXRL-GIF1bB-nNZhBk1k
negative: everhour=xxxx-xxxx-xxxxxx-xxxxxx-xxxxxxxx
negative: everhour=qzYS-8BlP-CkQydp-Gp4yQA-MwWOP9
negative: everhour=${EVERHOUR_API_KEY}

id: exchangerateapi-api-key
title: ExchangeRate-API key
severity: high
keywords: exchangerate exchangerate-api exchangerateapi
pattern: (?i)(?:\b|_)(?:exchangerate|exchangerate-api|exchangerateapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EXCHANGERATE_API_KEY="TgrS1cIFdwDxQnlVWZbwKUgJ"
positive: exchangerate:\n  token: 0yfeSbdsVyg2Nus0Tu0tO5I0
negative: export EXCHANGERATE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EXCHANGERATE_API_KEY="HeWx8bwJOvk1qlL1iEIe8O"
negative: export EXCHANGERATE_API_KEY="${EXCHANGERATE_API_KEY}"

id: exchangeratesapi-api-key
title: Exchangerates API key
severity: high
keywords: exchangerates exchangeratesapi
pattern: (?i)(?:\b|_)(?:exchangerates|exchangeratesapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EXCHANGERATES_API_KEY="IWBJXRwnRHazJa3HjnOjaUCiCB2eAY13"
positive: exchangerates:\n  token: 5u1g5yuALNvwkgBCjkWU82kEcUdefGhJ
negative: export EXCHANGERATES_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EXCHANGERATES_API_KEY="w9xFfAJi7j0GLMJJaRS0TO5FA0ctC3"
negative: export EXCHANGERATES_API_KEY="${EXCHANGERATES_API_KEY}"

id: extractorapi-api-key
title: ExtractorAPI key
severity: high
keywords: extractorapi
pattern: (?i)(?:\b|_)(?:extractorapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export EXTRACTORAPI_API_KEY="TUqgwY4BAtHQNMPKv577qfFLtqzJEMAuRW5S5mpZ"
positive: extractorapi:\n  token: q65km2nNtomxjxNZYXiByUW4wOqAHIy3fJZUIuOX
negative: export EXTRACTORAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export EXTRACTORAPI_API_KEY="Bmqn3IKIdbHec8hHCHVoCAaciCl4vz6wQOceEx"
negative: export EXTRACTORAPI_API_KEY="${EXTRACTORAPI_API_KEY}"

id: facebook-app-id
title: Facebook app id
severity: low
keywords: facebook fb_app fbapp fb-app
pattern: (?i)(?:facebook|\bfb[_-]?app)[\w\s.:'"=-]{0,25}?(?:app(?:lication)?[_-]?)?id["']?\s{0,3}[:=]{1,2}\s{0,3}["']?\b([0-9]{15,16})\b
entropy: 2.5
confidence: medium
positive: FACEBOOK_APP_ID=292408005197746
positive: fb_app_id: "1130951620281697"
negative: FACEBOOK_APP_ID=123
negative: FACEBOOK_APP_ID=000000000000000

id: facebook-app-secret
title: Facebook app secret
severity: high
keywords: facebook fbapi fb_api fb_app fbapp fb_secret fbsecret fb-app
pattern: (?i)(?:facebook|\bfb[_-]?(?:api|app|secret))[\w\s.:'"=-]{0,25}?(?:secret|key)["']?\s{0,20}[:=]{1,2}\s{0,20}["']?\b([a-f0-9]{32})\b
entropy: 3.0
confidence: medium
positive: FACEBOOK_APP_SECRET=d86dcabad512a6b870098b6b48422eeb
positive: var fbApiKey = '375b4651096ed68db873327803daf9bb';
negative: FACEBOOK_APP_SECRET=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: FACEBOOK_APP_SECRET=ffffffffffffffffffffffffffffffff

id: facebook-access-token
title: Facebook (Meta) access token
severity: high
keywords: eaa
pattern: (?:^|[^A-Za-z0-9+/_-])(EAA[A-Za-z0-9]{30,300})(?![A-Za-z0-9+/=_-])
entropy: 4.2
positive: FB_ACCESS_TOKEN=EAACyjkrZNJ0nKAo0MYfsfSHJBRj2XDY5urFK5LgBEapLphbwVxk8gKKCek74N6gjrzFpUnVHoDC3jkgUSAwvGGaavW5OsbPMZoL21K4L4avasaLpJyIf3lwzgCE
positive: https://graph.facebook.com/me?access_token=EAAC0pzgWyt8HAAltEW3EsNToKjQI9jEE9u4BflGjhUhn7a1ExJOSB1YI5O1Eg2buwOlNNA3yjeATE862lJcU5BKSl5nRKl8ViDHkz6mx6IkHlLji5tH9eTjAlmZ
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
positive: fastforex=Gy9oatDCrXuuQupAzibMCm1uVjwC
positive: FASTFOREX w6Tk78G2ABD5PQ2Lqsah2Uxt43FQ
negative: fastforex=xxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: fastforex=uvwBISQB5KwZhN5qU1lsfzgGKl
negative: fastforex=${FASTFOREX_API_KEY}

id: fastly-api-token
title: Fastly API token
severity: high
keywords: fastly
pattern: (?i)(?:\b|_)(?:fastly)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9_-]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FASTLY_API_KEY="PpoBnqphwwTC3nD3V8g7HP2WM0q3euv9"
positive: fastly:\n  token: KoK8GEh2dJVWPeha92tY8BOgLbdjvTAD
negative: export FASTLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FASTLY_API_KEY="rCmlOe7RqARkWEGawZ1r5jEHtHgFPJ"
negative: export FASTLY_API_KEY="${FASTLY_API_KEY}"

id: feedier-api-key
title: Feedier API key
severity: high
keywords: feedier
pattern: (?i)(?:\b|_)(?:feedier)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FEEDIER_API_KEY="hVPFiRyQy5MjsXIA4RGzifgdRWZp0ABe"
positive: feedier:\n  token: TIZCxXNRQ2ZnqdeJs3NZl9m5Gw1UMxwD
negative: export FEEDIER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FEEDIER_API_KEY="K346cLwyEO37hkLCwqfyoMZLMOQ5tu"
negative: export FEEDIER_API_KEY="${FEEDIER_API_KEY}"

id: fetchrss-api-key
title: FetchRSS API key
severity: high
keywords: fetchrss
pattern: (?i)(?:\b|_)(?:fetchrss)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FETCHRSS_API_KEY="nMBqejPQhWJMiYdH9KidBdaaNbR4gYGVxV92rZtn"
positive: fetchrss:\n  token: UgmnYmu9BoWtjq9qaTxfOt9W2uoUdpW9SkwAJKPF
negative: export FETCHRSS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FETCHRSS_API_KEY="DKQd83IAM6SAANk8xLndgDHsFIhucvG34Su8nb"
negative: export FETCHRSS_API_KEY="${FETCHRSS_API_KEY}"

id: figma-personal-access-token
title: Figma personal access token
severity: high
keywords: figd_
pattern: \b(figd_[A-Za-z0-9_-]{38,44})(?![\w-])
entropy: 3.0
positive: FIGMA_TOKEN=figd_ZT8xt18ZaYpJBKGpKG9T4rgHMqlKGGij8LTt8uUf
positive: headers = {"X-Figma-Token": "figd_dfa6KxlgxXTZBbVn6L6fmtYTjW8qUFmvvqSlNRTK"}
negative: figd_xxxx
negative: figd_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: figma-legacy-token
title: Figma personal access token (legacy)
severity: high
keywords: figma
pattern: (?i)figma[\w\s.:'"=-]{0,30}?\b([0-9]{4,6}-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})\b
entropy: 3.0
confidence: medium
positive: --header='X-Figma-Token: 1364-f1ca8a5e-a4da-7e7e-a728-feb59a095a74'
negative: X-Figma-Token: 0000-00000000-0000-0000-0000-000000000000

id: fileio-api-key
title: file.io API key
severity: high
keywords: fileio file.io
pattern: (?i)(?:\b|_)(?:fileio|file\.io)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FILEIO_API_KEY="UMcHPx9usar8PwY5Vt7UFrAwdV1xR7BAbtA3e6Gx"
positive: fileio:\n  token: J5WaDXFxtcLSOuNWTOsKUFduqk8HFFf7pn69GkxR
negative: export FILEIO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FILEIO_API_KEY="STFojozaOSW2hSSUWpWOis2nzB82dlvsPqAFz5"
negative: export FILEIO_API_KEY="${FILEIO_API_KEY}"

id: finage-api-key
title: Finage API key
severity: high
keywords: finage
pattern: (?i)(?:\b|_)(?:finage)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINAGE_API_KEY="HPtGv34JaoxqH2ymwOQBNSYwb9swuUK2"
positive: finage:\n  token: Vi1EXnpxrjj3nEqiBEAuG6bHola9Lsxy
negative: export FINAGE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FINAGE_API_KEY="N6Ia7N2hYDn1cMrg9sjTk0BYIouprY"
negative: export FINAGE_API_KEY="${FINAGE_API_KEY}"

id: financialmodelingprep-api-key
title: Financial Modeling Prep API key
severity: high
keywords: financialmodelingprep
pattern: (?i)(?:\b|_)(?:financialmodelingprep)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINANCIALMODELINGPREP_API_KEY="FJuJqkD8q6FMjpjQjEiSPS0ftzi8TBTN"
positive: financialmodelingprep:\n  token: IabZ8KxLEdocKPl35MIPC2qL17kKQXNS
negative: export FINANCIALMODELINGPREP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FINANCIALMODELINGPREP_API_KEY="g381NV2j4LD5D6VlpbEbglUWyNkYqJ"
negative: export FINANCIALMODELINGPREP_API_KEY="${FINANCIALMODELINGPREP_API_KEY}"

id: findl-api-key
title: Findl API key
severity: high
keywords: findl
pattern: (?i)(?:\b|_)(?:findl)[\w.-]{0,20}?[\s:'"=>,-]{1,6}\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: findl=2d089e07-741c-4715-5ca8-5875377475c7
positive: FINDL 2867d5f4-1750-f6a8-f017-1efa506f0e22
negative: findl=xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
negative: findl=cea467e9-9245-f2bd-4c82-6ac6dfa3c7
negative: findl=${FINDL_API_KEY}

id: finicity-api-token
title: Finicity app key
severity: high
keywords: finicity
pattern: (?i)(?:\b|_)(?:finicity)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINICITY_API_KEY="bLeiWi4S5IS7tfT3nkySBN97v4qUJT5m"
positive: finicity:\n  token: j7yov5zPZUxZIC1DSRm8dDPmQbfUFLWL
negative: export FINICITY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FINICITY_API_KEY="PHV2UEKEOQ4GrdDyvMjoSZrDgRTaOF"
negative: export FINICITY_API_KEY="${FINICITY_API_KEY}"

id: finicity-client-secret
title: Finicity partner secret
severity: high
keywords: finicity
pattern: (?i)(?:\b|_)(?:finicity)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINICITY_API_KEY="8BorN7Mt6daguzDslMii"
positive: finicity:\n  token: 1kpKN00ibLHT9RYy5dba
negative: export FINICITY_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export FINICITY_API_KEY="7AClivMPWn4bP3bOrh"
negative: export FINICITY_API_KEY="${FINICITY_API_KEY}"

id: finnhub-api-key
title: Finnhub API key
severity: high
keywords: finnhub
pattern: (?i)(?:\b|_)(?:finnhub)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FINNHUB_API_KEY="Am58CACmh99S1mqisj19"
positive: finnhub:\n  token: C2B5bOAwHXG8VFCpLCqG
negative: export FINNHUB_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: export FINNHUB_API_KEY="8cneEq3u77aBL3ismj"
negative: export FINNHUB_API_KEY="${FINNHUB_API_KEY}"

id: fixerio-api-key
title: Fixer API key
severity: high
keywords: fixer fixerio fixer.io
pattern: (?i)(?:\b|_)(?:fixer|fixerio|fixer\.io)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FIXER_API_KEY="rHyEuWCfd3AUhXnYL9QTWvxoY1MjKUTT"
positive: fixer:\n  token: B6nkBVDvCFe3I46k7oSLUADtMvzH5ftS
negative: export FIXER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FIXER_API_KEY="WnOq7fAOzzbmtk0bfJUdWfsDKpWsQA"
negative: export FIXER_API_KEY="${FIXER_API_KEY}"

id: flatio-api-key
title: Flat.io API key
severity: high
keywords: flat flatio flat.io
pattern: (?i)(?:\b|_)(?:flat|flatio|flat\.io)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{128})(?![\w-])
entropy: 3.0
window: 512
confidence: medium
positive: export FLAT_API_KEY="Lyx2Fo5X60FOapzyvvskn6j3JMj8IjJGqFDHVePZUWk5VsEIlWOd3NJiG3AUmNkS1YtHJdUNYRMnzaj98hd8MkBkfjbeHyoxg5YG6gdyZ8MLhojQUivbBRczuasXEw80"
positive: flat:\n  token: r8ZuGpBOnrckSeihcEaMu3PVo83KdEzuLXFHt4Svo7PR5clnT0jFfKE2J73nARlezsii5oy8mE6rPfd0Kkk8oyZiNm9plae22DIpmKFz9MWttwb3Vig3OhjhSw0DNxav
negative: export FLAT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FLAT_API_KEY="8JfC05e1ITLYr64GXwWIAS2xh2r4Qo5KAFFz0RwQRJd88Q56fkn6uTtC7vMVvXm36Qd1NuydqPKk50ZDLfzL5fWl9sIJfjbKdGfxhIMf4IBjQ7jF3nEkhaNo0x0smq"
negative: export FLAT_API_KEY="${FLAT_API_KEY}"

id: fleetbase-api-key
title: Fleetbase API key
severity: high
keywords: flb_live_ flb_test_
pattern: \b(flb_(?:live|test)_[A-Za-z0-9]{20,40})\b
entropy: 3.0
positive: FLEETBASE_API_KEY=flb_live_ikb5HFqZtvIlc1nzisJe
negative: flb_live_xxxx
negative: flb_prod_51PYGC9pmaXHuhF3Y9h7

id: flexport-api-key
title: Flexport API key
severity: high
keywords: shltm_
pattern: \b(shltm_[A-Za-z0-9_-]{40})(?![\w-])
entropy: 3.0
positive: FLEXPORT_API_KEY=shltm_3KKeefPVUZFNhrsTIehKNIRd8oVmCfIFGoUirRHW
negative: shltm_xxxx
negative: shltm_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: flickr-api-key
title: Flickr API key
severity: high
keywords: flickr
pattern: (?i)(?:\b|_)(?:flickr)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FLICKR_API_KEY="ORxyNRcYHSY1uELmffSaHT3zgZR4FcCV"
positive: flickr:\n  token: BeOamYlWXeeRV97tDQFf9WWCQPGIgtmI
negative: export FLICKR_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FLICKR_API_KEY="jNh6eEmxMxSafgpFHvzBCt8opYD9IL"
negative: export FLICKR_API_KEY="${FLICKR_API_KEY}"

id: flightapi-api-key
title: FlightAPI key
severity: high
keywords: flightapi
pattern: (?i)(?:\b|_)(?:flightapi)[\w\s.:'"=/>,-]{0,30}?(?:key|token|secret|private|access|auth|pat|pass|pwd|credential|client|bearer)[\w\s.:'"=/>,-]{0,30}?\b([A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FLIGHTAPI_API_KEY="reWfcTai9PrDxEU7MnsY5Fz5"
positive: flightapi:\n  token: DLvBiaL5PE7huDRdXBa09l8w
negative: export FLIGHTAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: export FLIGHTAPI_API_KEY="WvGltvfGAkczoS2S0rlQsP"
negative: export FLIGHTAPI_API_KEY="${FLIGHTAPI_API_KEY}"
"""#
}
