extension RuleCatalog {
    /// Provider rules, continued: providers from SS to SZ (split from ProvidersPtoS to keep files short).
    static let providersMorePtoZ = #"""
id: sslmate-api-key
title: SSLMate API key
severity: high
keywords: ssl-mate ssl.mate ssl_mate sslmate
pattern: (?i)(?:\b|_)(?:ssl[_\-.]?mate)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{36})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SSLMATE_API_KEY="cCBf7B2IbeuYdaHRLWDcfixKB0AqtV0AoqbF"
positive: {"sslmate_api_key": "gn9cdWFijNJXvfwvAlVQEwNP7rDYi4E6KGxm"}
negative: export SSLMATE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SSLMATE_API_KEY=${SSLMATE_API_KEY}
negative: sslmate_api_key: "cCBf7B2Ibe"

id: stackhawk-api-key
title: StackHawk API key
severity: high
keywords: hawk.
pattern: \b(hawk\.[A-Za-z0-9_\-]{20}\.[A-Za-z0-9_\-]{20})(?![\w\-])
entropy: 3.0
positive: HAWK_API_KEY=hawk.vBzYGXzhlUtv0OULXcsv.aPxLKu5OMDQ1zKrpj1jD
positive: hawk init --api-key hawk.gx0YqQ2t7EqdrtKThQJf.eNXboqV01SPwowDYUbz9
negative: HAWK_API_KEY=hawk.xxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxx
negative: hawk.scan.config

id: statuscake-api-key
title: StatusCake API key
severity: medium
keywords: status-cake status.cake status_cake statuscake
pattern: (?i)(?:\b|_)(?:status[_\-.]?cake)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{20})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export STATUSCAKE_API_KEY="bXVaDiOAG8qH9C8ucll0"
positive: {"statuscake_api_key": "pJZaQqmxnH7nZR7hlava"}
negative: export STATUSCAKE_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: STATUSCAKE_API_KEY=${STATUSCAKE_API_KEY}
negative: statuscake_api_key: "bXVaDiOAG8"

id: statuspage-api-key
title: Atlassian Statuspage API key
severity: high
keywords: status-page status.page status_page statuspage
pattern: (?i)(?:\b|_)(?:status[_\-.]?page)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b((?:[a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}|[a-f0-9]{32}))(?![\w\-])
entropy: 3.0
confidence: medium
positive: export STATUSPAGE_API_KEY="4277c5f9-a843-0466-1a26-5405e1ab6f62"
positive: {"statuspage_api_key": "21a5f66d-652a-6193-48be-64b9a39ce23b"}
negative: export STATUSPAGE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STATUSPAGE_API_KEY=${STATUSPAGE_API_KEY}
negative: statuspage_api_key: "4277c5f9-a"

id: statuspal-api-key
title: Statuspal API key
severity: medium
keywords: status-pal status.pal status_pal statuspal
pattern: (?i)(?:\b|_)(?:status[_\-.]?pal)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export STATUSPAL_API_KEY="2ee97da689f2095da5787adf271db4c0"
positive: {"statuspal_api_key": "4fb232de154c5fc047da9983765b8fb6"}
negative: export STATUSPAL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STATUSPAL_API_KEY=${STATUSPAL_API_KEY}
negative: statuspal_api_key: "2ee97da689"

id: stitchdata-api-token
title: Stitch (stitchdata) API token
severity: high
keywords: stitch-data stitch.data stitch_data stitchdata
pattern: (?i)(?:\b|_)(?:stitch[_\-.]?data)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{35,40})(?![\w\-])
entropy: 2.5
confidence: medium
positive: export STITCHDATA_API_TOKEN="v8ia8c43jskrq9hlscs4d9oylnl0u3cdn8ir"
positive: {"stitchdata_api_token": "n9a15j4ij0m8m1v1uaadz1xcxm4x88nrm96w"}
negative: export STITCHDATA_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STITCHDATA_API_TOKEN=${STITCHDATA_API_TOKEN}
negative: stitchdata_api_token: "v8ia8c43js"

id: stockdata-api-token
title: StockData API token
severity: medium
keywords: stock-data stock.data stock_data stockdata
pattern: (?i)(?:\b|_)(?:stock[_\-.]?data)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{40})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export STOCKDATA_API_TOKEN="K17jrdIlLp2MWKw6vkZRna3hzu8MQ3qlKLnFA8rX"
positive: {"stockdata_api_token": "tlOfUxYJw3LQQftcxeIf7MtcIFjupxG7rAO3r7FY"}
negative: export STOCKDATA_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STOCKDATA_API_TOKEN=${STOCKDATA_API_TOKEN}
negative: stockdata_api_token: "K17jrdIlLp"

id: storecove-api-key
title: Storecove API key
severity: high
keywords: storecove
pattern: (?i)(?:\b|_)(?:storecove)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b((?:storecove_)?[a-z0-9]{30,50})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export STORECOVE_API_KEY="CC0JhrHFejqASEEpTnAiIR7JuWVWZQQMGD8SiK9V"
positive: {"storecove_api_key": "bfTRbaNZOmJ8YpX3p5KeLjuAjQJAayVInezfxgE4"}
negative: export STORECOVE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STORECOVE_API_KEY=${STORECOVE_API_KEY}
negative: storecove_api_key: "CC0JhrHFej"

id: stormboard-api-key
title: Stormboard API key
severity: medium
keywords: stormboard
pattern: (?i)(?:\b|_)(?:stormboard)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{40})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export STORMBOARD_API_KEY="787a0dc09d86f2f713e88fbcf2473109784d9be4"
positive: {"stormboard_api_key": "c8b079f63655990ea3799b1cf68e96cde50dedfa"}
negative: export STORMBOARD_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STORMBOARD_API_KEY=${STORMBOARD_API_KEY}
negative: stormboard_api_key: "787a0dc09d"

id: stormglass-api-key
title: Stormglass API key
severity: medium
keywords: storm-glass storm.glass storm_glass stormglass
pattern: (?i)(?:\b|_)(?:storm[_\-.]?glass)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{8}(?:-[a-z0-9]{4}){3}-[a-z0-9]{12}(?:-?(?:[a-z0-9]{8}(?:-[a-z0-9]{4}){3}-[a-z0-9]{12}|[a-z0-9]{8,60}))?)(?![\w\-])
entropy: 3.0
confidence: medium
positive: export STORMGLASS_API_KEY="b373ff69-794a-8b4b-9600-6b75f328b3c6-0dc739f9-3c00-6369-6b84-1c83d2297dac"
positive: {"stormglass_api_key": "52d387c2-1743-02fb-6a5d-7f4250a5238a-f5e1ef0d-ad38-08fa-cdb9-d05ce98fa3c8"}
negative: export STORMGLASS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STORMGLASS_API_KEY=${STORMGLASS_API_KEY}
negative: stormglass_api_key: "b373ff69-7"

id: storyblok-access-token
title: Storyblok access token
severity: high
keywords: storyblok
pattern: (?i)(?:\b|_)(?:storyblok)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{22}tt)(?![\w\-])
entropy: 3.0
confidence: medium
positive: export STORYBLOK_ACCESS_TOKEN="2kVmUnRnua3HEVcJuKURWTtt"
positive: {"storyblok_access_token": "2MsSE3GuCi7O2m88lyRPwStt"}
negative: export STORYBLOK_ACCESS_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: STORYBLOK_ACCESS_TOKEN=${STORYBLOK_ACCESS_TOKEN}
negative: storyblok_access_token: "2kVmUnRnua"

id: storychief-api-key
title: StoryChief API key (JWT)
severity: high
keywords: story-chief story.chief story_chief storychief
pattern: (?i)(?:\b|_)(?:story[_\-.]?chief)[\w.\-\s"':=,\{\}]{0,40}?\b(eyJ[a-z0-9_\-]{10,1000}\.[a-z0-9_\-]{10,4000}(?:\.[a-z0-9_\-]{10,1000})?)(?![\w\-])
entropy: 3.5
window: 4096
confidence: medium
positive: export STORYCHIEF_API_KEY="eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAiYzlqamNtZTR0OXVyIiwgImlhdCI6IDE2Nzc3MDIyOTZ9.Iie0hJTi86npd1xWb2BzhZ8sxpfD83awIu2fDqTczh_"
positive: {"storychief_api_key": "eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAiaTZpZThicDBnMHo5IiwgImlhdCI6IDE3NzU3MDI0OTd9.VNqh63EzIDE_SkGVngoeDi-b91LA5fM6m-Cv3Nl4Ta5"}
negative: export STORYCHIEF_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STORYCHIEF_API_KEY=${STORYCHIEF_API_KEY}
negative: storychief_api_key: "your-storychief-token-here"

id: streak-api-key
title: Streak CRM API key
severity: high
keywords: streak
pattern: (?i)(?:\b|_)(?:streak)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export STREAK_API_KEY="29ff7f946bde9b965c76e41c963a33e5"
positive: {"streak_api_key": "01e6c7262737ce02623bf0babacfaa52"}
negative: export STREAK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STREAK_API_KEY=${STREAK_API_KEY}
negative: streak_api_key: "29ff7f946b"

id: stripo-api-token
title: Stripo API token (JWT)
severity: high
keywords: stripo
pattern: (?i)(?:\b|_)(?:stripo)[\w.\-\s"':=,\{\}]{0,40}?\b(eyJ[a-z0-9_\-]{10,1000}\.[a-z0-9_\-]{10,4000}(?:\.[a-z0-9_\-]{10,1000})?)(?![\w\-])
entropy: 3.5
window: 4096
confidence: medium
positive: export STRIPO_AUTH_TOKEN="eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAiMTFhMHdnbzIycXRwIiwgImlhdCI6IDE3MTg5MjY0NDF9.vJvl8wJrI33G1IEpq9cd1sxGl4kJagKpfDwF7TEWj2H"
positive: {"stripo_auth_token": "eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAiYXgxaHdhNGF6bHU1IiwgImlhdCI6IDE2NDQ2NzAzMjN9.rq3iVfkEo5pIT853UjWAHp_lTdwmkkVdQ99sfkFO-pu"}
negative: export STRIPO_AUTH_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STRIPO_AUTH_TOKEN=${STRIPO_AUTH_TOKEN}
negative: stripo_auth_token: "your-stripo-token-here"

id: supabase-access-token
title: Supabase personal access token
severity: critical
keywords: sbp_
pattern: \b(sbp_[a-z0-9]{40})\b
entropy: 3.0
positive: SUPABASE_ACCESS_TOKEN=sbp_0f0a0154c68294090f70cf0b286e1990b34dcb15
positive: supabase login --token sbp_040b51be99fc66e29bdda4765a3abf6a9b73935f
negative: SUPABASE_ACCESS_TOKEN=sbp_0000000000000000000000000000000000000000
negative: sbp_bc6f76e2e0e7db928eb0

id: supernotes-api-key
title: Supernotes API key
severity: high
keywords: super-notes super.notes super_notes supernotes
pattern: (?i)(?:\b|_)(?:super[_\-.]?notes)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b((?:supernotes_sk-)?[a-z0-9]{40,45})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SUPERNOTES_API_KEY="supernotes_sk-WwUbdtUt6RPQLBxbxF0lU3puBWMriI3lCHeqOngFntX"
positive: {"supernotes_api_key": "supernotes_sk-QiJiFzWjlSz2ZWqEoiM8jceuWJMt3a8qRb6uaIToSPO"}
negative: export SUPERNOTES_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SUPERNOTES_API_KEY=${SUPERNOTES_API_KEY}
negative: supernotes_api_key: "supernotes"

id: surveybot-api-key
title: SurveyBot API key
severity: medium
keywords: survey-bot survey.bot survey_bot surveybot
pattern: (?i)(?:\b|_)(?:survey[_\-.]?bot)(?:[\s"':=]{1,5}|[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?)\b([a-z0-9]{80})(?![\w\-])
entropy: 3.2
confidence: medium
positive: export SURVEYBOT_API_KEY="iP5tzVFtXQNEvkkpanfkZkUmFuj0RQ6Dpgy2PGRaqCFodMD3bIeEZE4Zpc8n3XU3C29pSL4EPqSdmuBY"
positive: {"surveybot_api_key": "AlHnzDWnnhTZ3HtXGV4mwn78PAdikoccWEwr26nhBKJ5pUdmHoSoOv9lyjGZ1qcnsUSvooPIanNP22pI"}
negative: export SURVEYBOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SURVEYBOT_API_KEY=${SURVEYBOT_API_KEY}
negative: surveybot_api_key: "iP5tzVFtXQ"

id: surveysparrow-api-token
title: SurveySparrow API token
severity: high
keywords: survey-sparrow survey.sparrow survey_sparrow surveysparrow
pattern: (?i)(?:\b|_)(?:survey[_\-.]?sparrow)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9_\-]{40,120})(?![\w\-])
entropy: 3.5
confidence: medium
positive: export SURVEYSPARROW_API_TOKEN="u6l2JWHQ214WANU81KyFNax6k8vg9mY2wpbUuKF6TaIdJy1WMEMQnfFzrxPnZUiv"
positive: {"surveysparrow_api_token": "GgNmMyiAriMH4FUtvUnmtutwshxnoj8QEdp1R38IrgQlrIzbl64JkrTvoVJUXiCX"}
negative: export SURVEYSPARROW_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SURVEYSPARROW_API_TOKEN=${SURVEYSPARROW_API_TOKEN}
negative: surveysparrow_api_token: "u6l2JWHQ21"

id: survicate-api-key
title: Survicate API key
severity: medium
keywords: survicate
pattern: (?i)(?:\b|_)(?:survicate)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SURVICATE_API_KEY="75934764bea4a6283b0d1a910b29f19f"
positive: {"survicate_api_key": "52a808f833433eac3b424a9872471266"}
negative: export SURVICATE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SURVICATE_API_KEY=${SURVICATE_API_KEY}
negative: survicate_api_key: "75934764be"

id: swiftype-api-key
title: Swiftype API key
severity: high
keywords: swiftype
pattern: (?i)(?:\b|_)(?:swiftype)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9_\-]{20})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SWIFTYPE_API_KEY="tPxCClzzhxj2Vfg0VX_H"
positive: {"swiftype_api_key": "SVlQ3gfkjZxkqIe2slis"}
negative: export SWIFTYPE_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: SWIFTYPE_API_KEY=${SWIFTYPE_API_KEY}
negative: swiftype_api_key: "tPxCClzzhx"
"""#
}
