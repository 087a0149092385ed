extension RuleCatalog {
    /// Provider rules, continued: providers from SS to SZ (split from ProvidersPtoS to keep files short).
    static let providersMorePtoZ = #"""
id: sslmate-api-key
title: SSLMate API key
severity: high
keywords: ssl-mate ssl.mate ssl_mate sslmate
pattern: (?i)(?:\b|_)(?:ssl[_\-.]?mate)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{36})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SSLMATE_API_KEY="h9fiGSDmIIPQAxnxjbG00qNXRXxM8ENAmH6k"
positive: {"sslmate_api_key": "deQvPBjBgnVoTkc7kwTQ1FhUddJSZsFhrDWd"}
negative: export SSLMATE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SSLMATE_API_KEY=${SSLMATE_API_KEY}
negative: sslmate_api_key: "h9fiGSDmII"

id: stackhawk-api-key
title: StackHawk API key
severity: high
keywords: hawk.
pattern: \b(hawk\.[A-Za-z0-9_\-]{20}\.[A-Za-z0-9_\-]{20})(?![\w\-])
entropy: 3.0
positive: HAWK_API_KEY=hawk.f2MA5wEvicGxxhaJhgE2.aSJgM5x7ZVi5qOU4KaFK
positive: hawk init --api-key hawk.FOtgR7nB4tr2D4JAqTRf.pbPGGMXDfxIwgHIAb43N
negative: HAWK_API_KEY=hawk.xxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxx
negative: hawk.scan.config

id: statuscake-api-key
title: StatusCake API key
severity: medium
keywords: status-cake status.cake status_cake statuscake
pattern: (?i)(?:\b|_)(?:status[_\-.]?cake)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{20})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export STATUSCAKE_API_KEY="K6sUoZQvt704EBQhBcl9"
positive: {"statuscake_api_key": "T0tediEu3WI4WaHgoFcC"}
negative: export STATUSCAKE_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: STATUSCAKE_API_KEY=${STATUSCAKE_API_KEY}
negative: statuscake_api_key: "K6sUoZQvt7"

id: statuspage-api-key
title: Atlassian Statuspage API key
severity: high
keywords: status-page status.page status_page statuspage
pattern: (?i)(?:\b|_)(?:status[_\-.]?page)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b((?:[a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}|[a-f0-9]{32}))(?![\w\-])
entropy: 3.0
confidence: medium
positive: export STATUSPAGE_API_KEY="d2d02a10-e124-bdd8-9d78-0f3611f44a2b"
positive: {"statuspage_api_key": "ad5fb8e4-fb60-0e4d-8ea1-a04277c5f9a8"}
negative: export STATUSPAGE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STATUSPAGE_API_KEY=${STATUSPAGE_API_KEY}
negative: statuspage_api_key: "d2d02a10-e"

id: statuspal-api-key
title: Statuspal API key
severity: medium
keywords: status-pal status.pal status_pal statuspal
pattern: (?i)(?:\b|_)(?:status[_\-.]?pal)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export STATUSPAL_API_KEY="4304661a265405e1ab6f6221a5f66d65"
positive: {"statuspal_api_key": "2a619348bea359397c1ae9ab217319b3"}
negative: export STATUSPAL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STATUSPAL_API_KEY=${STATUSPAL_API_KEY}
negative: statuspal_api_key: "4304661a26"

id: stitchdata-api-token
title: Stitch (stitchdata) API token
severity: high
keywords: stitch-data stitch.data stitch_data stitchdata
pattern: (?i)(?:\b|_)(?:stitch[_\-.]?data)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{35,40})(?![\w\-])
entropy: 2.5
confidence: medium
positive: export STITCHDATA_API_TOKEN="cg8h9nnezkpnp4gig6udsvqmqhvsq94544t9"
positive: {"stitchdata_api_token": "ldtwaiwxuqcoevk67dnov7mjx9tvgty2egwe"}
negative: export STITCHDATA_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STITCHDATA_API_TOKEN=${STITCHDATA_API_TOKEN}
negative: stitchdata_api_token: "cg8h9nnezk"

id: stockdata-api-token
title: StockData API token
severity: medium
keywords: stock-data stock.data stock_data stockdata
pattern: (?i)(?:\b|_)(?:stock[_\-.]?data)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{40})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export STOCKDATA_API_TOKEN="DLD0tLpBvQnrYsFeasOJl4AvTX1lGoqo3vAFSeoc"
positive: {"stockdata_api_token": "B9wizbMjEQRxfhf7A9MMNDdU3lWiyZ6W8lF8ZZ8y"}
negative: export STOCKDATA_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STOCKDATA_API_TOKEN=${STOCKDATA_API_TOKEN}
negative: stockdata_api_token: "DLD0tLpBvQ"

id: storecove-api-key
title: Storecove API key
severity: high
keywords: storecove
pattern: (?i)(?:\b|_)(?:storecove)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b((?:storecove_)?[a-z0-9]{30,50})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export STORECOVE_API_KEY="Sbj3V40o75BustqhQpmMQl4Sxr47IFxmZvIiPaIc"
positive: {"storecove_api_key": "EDST3jXLSs7krqJhRlscsEZ5U7dJo8y9VKlnlVZA"}
negative: export STORECOVE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STORECOVE_API_KEY=${STORECOVE_API_KEY}
negative: storecove_api_key: "Sbj3V40o75"

id: stormboard-api-key
title: Stormboard API key
severity: medium
keywords: stormboard
pattern: (?i)(?:\b|_)(?:stormboard)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{40})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export STORMBOARD_API_KEY="ae1164860df4f44d66dada001cdb1b6fb686b481"
positive: {"stormboard_api_key": "57ba5603ca856fd8952bb291b2291f4a7b8d8fee"}
negative: export STORMBOARD_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STORMBOARD_API_KEY=${STORMBOARD_API_KEY}
negative: stormboard_api_key: "ae1164860d"

id: stormglass-api-key
title: Stormglass API key
severity: medium
keywords: storm-glass storm.glass storm_glass stormglass
pattern: (?i)(?:\b|_)(?:storm[_\-.]?glass)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{8}(?:-[a-z0-9]{4}){3}-[a-z0-9]{12}(?:-?(?:[a-z0-9]{8}(?:-[a-z0-9]{4}){3}-[a-z0-9]{12}|[a-z0-9]{8,60}))?)(?![\w\-])
entropy: 3.0
confidence: medium
positive: export STORMGLASS_API_KEY="38f248df-f76d-4ae4-0200-2c2b3f787a0d-c09d86f2-f713-e88f-bcf2-473109784d9b"
positive: {"stormglass_api_key": "e4c8b079-f636-5599-0ea3-799b1cf68e96-cde50ded-fab3-73ff-6979-75f328b3c60d"}
negative: export STORMGLASS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STORMGLASS_API_KEY=${STORMGLASS_API_KEY}
negative: stormglass_api_key: "38f248df-f"

id: storyblok-access-token
title: Storyblok access token
severity: high
keywords: storyblok
pattern: (?i)(?:\b|_)(?:storyblok)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{22}tt)(?![\w\-])
entropy: 3.0
confidence: medium
positive: export STORYBLOK_ACCESS_TOKEN="ZQyogtFshHHNz3abnKhnRttt"
positive: {"storyblok_access_token": "3n6xriJdXzrUKgA96f1XKPtt"}
negative: export STORYBLOK_ACCESS_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: STORYBLOK_ACCESS_TOKEN=${STORYBLOK_ACCESS_TOKEN}
negative: storyblok_access_token: "ZQyogtFshH"

id: storychief-api-key
title: StoryChief API key (JWT)
severity: high
keywords: story-chief story.chief story_chief storychief
pattern: (?i)(?:\b|_)(?:story[_\-.]?chief)[\w.\-\s"':=,\{\}]{0,40}?\b(eyJ[a-z0-9_\-]{10,1000}\.[a-z0-9_\-]{10,4000}(?:\.[a-z0-9_\-]{10,1000})?)(?![\w\-])
entropy: 3.5
window: 4096
confidence: medium
positive: export STORYCHIEF_API_KEY="eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAiZXRvMHV5bGYxaHFwIiwgImlhdCI6IDE3MDc3NjE5Njd9.kfCqmbl8TyQx0F-skucQujoIP9u6e78b3P1nGbJ_QW1"
positive: {"storychief_api_key": "eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAid3QwYjdrejJzN3E1IiwgImlhdCI6IDE2ODgxNTUzODZ9.pYGuyAAPb8eOL8P5qzwWTftsfyj9NOILIie0hJTi86n"}
negative: export STORYCHIEF_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STORYCHIEF_API_KEY=${STORYCHIEF_API_KEY}
negative: storychief_api_key: "your-storychief-token-here"

id: streak-api-key
title: Streak CRM API key
severity: high
keywords: streak
pattern: (?i)(?:\b|_)(?:streak)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export STREAK_API_KEY="30d5c0d661cf45317fd0585d174b061f"
positive: {"streak_api_key": "44207d3dcb941ed76877fb28b313172f"}
negative: export STREAK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STREAK_API_KEY=${STREAK_API_KEY}
negative: streak_api_key: "30d5c0d661"

id: stripo-api-token
title: Stripo API token (JWT)
severity: high
keywords: stripo
pattern: (?i)(?:\b|_)(?:stripo)[\w.\-\s"':=,\{\}]{0,40}?\b(eyJ[a-z0-9_\-]{10,1000}\.[a-z0-9_\-]{10,4000}(?:\.[a-z0-9_\-]{10,1000})?)(?![\w\-])
entropy: 3.5
window: 4096
confidence: medium
positive: export STRIPO_AUTH_TOKEN="eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAiYTQwc24yY3QzZzVvIiwgImlhdCI6IDE2NDU4ODE4MDl9.3Nl4Ta5iM9_D8LsBV36KULBxXEz7thXMBnOmm5wdf6B"
positive: {"stripo_auth_token": "eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAieW9mbmVvaG83eTNhIiwgImlhdCI6IDE2MTY5MTM2NzN9.AlmT-bUPTRX_RQvj22b0SmC45HME4vJvl8wJrI33G1I"}
negative: export STRIPO_AUTH_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: STRIPO_AUTH_TOKEN=${STRIPO_AUTH_TOKEN}
negative: stripo_auth_token: "your-stripo-token-here"

id: supabase-access-token
title: Supabase personal access token
severity: critical
keywords: sbp_
pattern: \b(sbp_[a-z0-9]{40})\b
entropy: 3.0
positive: SUPABASE_ACCESS_TOKEN=sbp_ea44f994cf2508d3f8021f1742652407062eb0bf
positive: supabase login --token sbp_a0e5ada2a2118c63b18408dd16dc316fd4931b6e
negative: SUPABASE_ACCESS_TOKEN=sbp_0000000000000000000000000000000000000000
negative: sbp_b14dd1ddbfe61dd249a9

id: supernotes-api-key
title: Supernotes API key
severity: high
keywords: super-notes super.notes super_notes supernotes
pattern: (?i)(?:\b|_)(?:super[_\-.]?notes)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b((?:supernotes_sk-)?[a-z0-9]{40,45})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SUPERNOTES_API_KEY="supernotes_sk-phiEOIYbbAjlqfCLfrQa7dshKUOcSolpDwpyeB7qaxB"
positive: {"supernotes_api_key": "supernotes_sk-ZhK2waZE4Razl9PuFki7T7iTBeMWxLcGfph2Chr9Z9w"}
negative: export SUPERNOTES_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SUPERNOTES_API_KEY=${SUPERNOTES_API_KEY}
negative: supernotes_api_key: "supernotes"

id: surveybot-api-key
title: SurveyBot API key
severity: medium
keywords: survey-bot survey.bot survey_bot surveybot
pattern: (?i)(?:\b|_)(?:survey[_\-.]?bot)[\w.\-\s"':=,\{\}]{0,40}?\b([a-z0-9]{80})(?![\w\-])
entropy: 3.2
confidence: medium
positive: export SURVEYBOT_API_KEY="ECMBxZO7MeyVnIVqhM5QPHNXX2Q35TR3JNFfwIbYW6UZQlgffxbvYEEjcfpIY4uPUTFQKhkWwUbdtUt6"
positive: {"surveybot_api_key": "RPQLBxbxF0lU3puBWMriI3lCHeqOngFntXQiJiFzWjlSz2ZWqEoiM8jceuWJMt3a8qRb6uaIToSPOiP5"}
negative: export SURVEYBOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SURVEYBOT_API_KEY=${SURVEYBOT_API_KEY}
negative: surveybot_api_key: "ECMBxZO7Me"

id: surveysparrow-api-token
title: SurveySparrow API token
severity: high
keywords: survey-sparrow survey.sparrow survey_sparrow surveysparrow
pattern: (?i)(?:\b|_)(?:survey[_\-.]?sparrow)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9_\-]{40,120})(?![\w\-])
entropy: 3.5
confidence: medium
positive: export SURVEYSPARROW_API_TOKEN="tzVFtXQNEvkkpanfkZkUmFuj0RQ6Dpgy2PGRaqCFodMD3bIeEZE4Zpc8n3XU3C29"
positive: {"surveysparrow_api_token": "pSL4EPqSdmuBYAlHnzDWnnhTZ3HtXGV4mwn78PAdikoccWEwr26nhBKJ5pUdmHoS"}
negative: export SURVEYSPARROW_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SURVEYSPARROW_API_TOKEN=${SURVEYSPARROW_API_TOKEN}
negative: surveysparrow_api_token: "tzVFtXQNEv"

id: survicate-api-key
title: Survicate API key
severity: medium
keywords: survicate
pattern: (?i)(?:\b|_)(?:survicate)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SURVICATE_API_KEY="7a5c48169a77067a5dcf0b5a36b70af0"
positive: {"survicate_api_key": "1cf62fc8b64a36c4d84f9a669a9b93b6"}
negative: export SURVICATE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SURVICATE_API_KEY=${SURVICATE_API_KEY}
negative: survicate_api_key: "7a5c48169a"

id: swiftype-api-key
title: Swiftype API key
severity: high
keywords: swiftype
pattern: (?i)(?:\b|_)(?:swiftype)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9_\-]{20})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SWIFTYPE_API_KEY="Ct9gFInxIZcwvIQDr5Ew"
positive: {"swiftype_api_key": "NmtFzqT4PtPzlJpVa0eR"}
negative: export SWIFTYPE_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: SWIFTYPE_API_KEY=${SWIFTYPE_API_KEY}
negative: swiftype_api_key: "Ct9gFInxIZ"
"""#
}
