extension RuleCatalog {
    /// Provider rules L to P (context and prefix rules for SaaS API keys, from languagelayer to Privacy.com).
    static let providersLtoP = #"""
id: languagelayer-api-key
title: languagelayer access key
severity: high
keywords: languagelayer
pattern: (?i)\b(?:languagelayer)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LANGUAGELAYER_API_KEY="1550f974f5e7f790c8820abdad60418b"
positive: languagelayer_token: '985ad1c51dd612a5240fd4b441680eb9'
positive: {"languagelayer_secret": "0accd763dcae7a536520662a4bb196d2"}
negative: export LANGUAGELAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: languagelayer_token = os.environ["LANGUAGELAYER_TOKEN"]
negative: LANGUAGELAYER_SECRET=${LANGUAGELAYER_SECRET}

id: launchdarkly-access-token
title: LaunchDarkly API / SDK key
severity: high
keywords: launchdarkly launch_darkly ldclient
pattern: (?i)\b(?:launchdarkly|launch_darkly|ldclient)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b((?:(?:api|sdk|mob)-)?[a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LAUNCHDARKLY_API_KEY="sdk-d224ef2c-5953-1148-cc7f-808f4e403d44"
positive: launchdarkly_token: 'sdk-a65dcaa0-6278-d21f-8da5-351d980edca3'
positive: {"launchdarkly_secret": "sdk-ddb63e1d-31a1-6c15-5d72-69fccfb84a67"}
negative: export LAUNCHDARKLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: launchdarkly_token = os.environ["LAUNCHDARKLY_TOKEN"]
negative: LAUNCHDARKLY_SECRET=${LAUNCHDARKLY_SECRET}

id: leadfeeder-api-key
title: Leadfeeder API token
severity: high
keywords: leadfeeder
pattern: (?i)\b(?:leadfeeder)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{40,64})(?![\w-])
entropy: 3.5
confidence: medium
positive: export LEADFEEDER_API_KEY="HYQkAwwunruVObzcqs0wHiuQ7es4hzQFuXv3rwh0FdQrpyVt"
positive: leadfeeder_token: '5evEnPbiik1iiXWceRtDzZ9ZqmAogEm96TUXnMaF7dcm8xeX'
positive: {"leadfeeder_secret": "s8GjS-KpeoM21suXdM0KRO5qx6vnvwH0npeyFnKiKWfMrNwu"}
negative: export LEADFEEDER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: leadfeeder_token = os.environ["LEADFEEDER_TOKEN"]
negative: LEADFEEDER_SECRET=${LEADFEEDER_SECRET}

id: lemlist-api-key
title: lemlist API key
severity: high
keywords: lemlist
pattern: (?i)\b(?:lemlist)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LEMLIST_API_KEY="009f2a8048a4399e2f9a0f360ae0a421"
positive: lemlist_token: '51d0f1dade0f5152620360faa7b9145c'
positive: {"lemlist_secret": "3a4664bb48d0f79ff7228202d5a7084a"}
negative: export LEMLIST_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: lemlist_token = os.environ["LEMLIST_TOKEN"]
negative: LEMLIST_SECRET=${LEMLIST_SECRET}

id: lemonsqueezy-api-key
title: Lemon Squeezy API key (JWT)
severity: high
keywords: lemonsqueezy lemon_squeezy
pattern: (?i)\b(?:lemonsqueezy|lemon_squeezy)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b(eyJ[A-Za-z0-9_-]{10,600}\.[A-Za-z0-9_-]{10,2000}(?:\.[A-Za-z0-9_-]{5,600})?)(?![\w-])
entropy: 3.0
window: 2048
confidence: medium
positive: export LEMONSQUEEZY_API_KEY="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmUXlJRUExT1ZlZUtMTFpBRGdiZDZ5dzYiLCJpYXQiOjE3Mjg2MzQyNDR9.Fpd6wQHe-32z4N_G1pBCFwVIIAtp3fFw3Z1HfopifzA"
positive: lemonsqueezy_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJVUXFJOUN0V0d0Q3QzOEFhbkJiWFNNTU4iLCJpYXQiOjE2NTM3NTQ1NzN9.Bp6iMnpS1I-cdbm54gseA2bxYUHRi8e5i6Sf2sZPYUU'
positive: {"lemonsqueezy_secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0WHBQMlpINlhPNFgxVUo0ZWlhak1yVEQiLCJpYXQiOjE2NDg1OTE5NjB9.3AMwIyPKRFrTYW67-rFlH4-77g9mHQEOEX5pThTZYTN"}
negative: export LEMONSQUEEZY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: lemonsqueezy_token = os.environ["LEMONSQUEEZY_TOKEN"]
negative: LEMONSQUEEZY_SECRET=${LEMONSQUEEZY_SECRET}

id: lendflow-api-key
title: Lendflow API token
severity: high
keywords: lendflow
pattern: (?i)\b(?:lendflow)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9_-]{10,600}\.[A-Za-z0-9_-]{20,2000}\.[A-Za-z0-9_-]{10,1200})(?![\w-])
entropy: 3.5
window: 2048
confidence: medium
positive: export LENDFLOW_API_KEY="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJONDZzYlZyZXF1R0h2cVF3dFZpaUpRQ3QiLCJpYXQiOjE2OTk0NTg3NzZ9.VqjmWdMl-iPEF3fKb84ZbaHeEr8tQ4u5_Fd5YLctQlk"
positive: lendflow_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJnbnVUZDVteTY0WFQ1OFB6Wlp3cVUwTzUiLCJpYXQiOjE2NTc1NzgzMTZ9.l0pKz6esbkpg-CwZiFlNwgdVh91-JR2KtvbzJLKr2zt'
positive: {"lendflow_secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzUVlTUW4yTDZkTTNzTlN4NTdnck94SmwiLCJpYXQiOjE3MTAyMTQ3Mzh9.z1QmN9pSS8CPnWAymQJCem2SHwQj4XI8DrP5bJH-yMn"}
negative: export LENDFLOW_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: lendflow_token = os.environ["LENDFLOW_TOKEN"]
negative: LENDFLOW_SECRET=${LENDFLOW_SECRET}

id: lessannoyingcrm-api-key
title: Less Annoying CRM API key
severity: high
keywords: lessannoying lacrm less-secret less_secret less-api less_api
pattern: (?i)\b(?:lessannoying(?:crm)?|lacrm|less(?=[_-](?:secret|api)[_-]?key))[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9-]{40,80})(?![\w-])
entropy: 3.5
confidence: medium
positive: export LESSANNOYINGCRM_API_KEY="Z1JM2JJ-X4HEwIZWVaeGgr5p4qr5IQA4y8RZcHvznL5mT4Sg8IMl0fk5UO"
positive: lessannoyingcrm_token: 'KK9450C-6IWfK1rAGXRB6LI0HVoqy3NBrtssJXPJ2Y3dG3YbED5kldARwz'
positive: {"lessannoyingcrm_secret": "Y1JN9C2-4bvfmOK9BWrInPcEq9wVi2DQUlGLW5mLP5BjkwnKU7RfKd5Ik7"}
negative: export LESSANNOYINGCRM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: lessannoyingcrm_token = os.environ["LESSANNOYINGCRM_TOKEN"]
negative: LESSANNOYINGCRM_SECRET=${LESSANNOYINGCRM_SECRET}

id: lexigram-api-key
title: Lexigram API key
severity: high
keywords: lexigram
pattern: (?i)\b(?:lexigram)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9._-]{100,600})(?![\w-])
entropy: 3.5
window: 1024
confidence: medium
positive: export LEXIGRAM_API_KEY="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzd29EczRMbjQ1NjYzYUJ5eWVWTU5hQXYiLCJpYXQiOjE3OTgyMzM0Njd9._oIKDj9yr1RkUJUpY2zocqaRK4vmH4_ePXqQy-N7OiX"
positive: lexigram_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJVcm04dEpkM1pmS3VqQUwwQk9GT2FEa0ciLCJpYXQiOjE3NzQxMDQwNzJ9.CDE6_GXlWwAg84QYQmYyXGJpYxa9Eioleu0RhFMuW26'
positive: {"lexigram_secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtTGtVSlB1TnFzZGxzMndBZDBFbjB2dGgiLCJpYXQiOjE2MTEyNzE2ODB9.CQiZvV6zhGvLExvIa0GWMpMtT5VOeqErw41U1Tf_OBk"}
negative: export LEXIGRAM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: lexigram_token = os.environ["LEXIGRAM_TOKEN"]
negative: LEXIGRAM_SECRET=${LEXIGRAM_SECRET}

id: line-messaging-api-token
title: LINE Messaging API channel access token
severity: high
keywords: line_token line-token linetoken line_channel line-channel linechannel line_access line_bot linebot line_messaging channel_access_token channel-access-token channelaccesstoken
pattern: (?i)\b(?:line[_-]?(?:bot[_-]?)?(?:messaging[_-]?)?(?:channel[_-]?)?(?:access[_-]?)?(?:token|secret)|channel[_-]?access[_-]?token)[^\n\r]{0,20}?\b([A-Za-z0-9+/]{140,200}={0,2})(?![\w+/=-])
entropy: 4.0
confidence: medium
positive: export LINE_CHANNEL_ACCESS_TOKEN_API_KEY="E1xXAWbkForBmdWq6Vy9h4mWsalFiAqNPpgcce0qOEMtDaabGzS6Q0WUM2auDWANvfLgt2LWGJJZrNZnJago38ZaNiO/Mw0qZh4k13woCP7eeFd8dghCBu52diq97N+vZuBF74l5M+j80PsBzt26IT9BWtbgnv4/p9EmVzC8xVT="
positive: line_channel_access_token_token: 'jIYQD7+hNqADX3WcTnwK+dQJF8wKbNFhJ2c9pUfjkkChuK0E31L1MR216GptYnjXtrro4ukFVOMXO7h2q3i6ZTCbCjKyqjKj+0cuaJ4rNf4uCe69Qw1ibPBcDInKeGfCzL1I6UjDNGe77fTendLnEyk7TN7OQZ+BMUIVjFEWv+D='
positive: {"line_channel_access_token_secret": "ZSw6xBj23m6MD4oD8w2SmFAnKgGUTPU57nBbRCvc7MGqw9HZGqy4V/uj+FDuqbW3oIAH/w3d37cZl4sp5IdMwx1Bz9MajrxLyxgMUqQSKW4sgMuXc/jNaJmkRb8TxB168TEwWZSvpxIWf8BhAWnYsycR7YgitEJVrBxz7/2W2ux="}
negative: export LINE_CHANNEL_ACCESS_TOKEN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: line_channel_access_token_token = os.environ["LINE_CHANNEL_ACCESS_TOKEN_TOKEN"]
negative: LINE_CHANNEL_ACCESS_TOKEN_SECRET=${LINE_CHANNEL_ACCESS_TOKEN_SECRET}

id: linear-api-key
title: Linear personal API key
severity: high
keywords: lin_api_
pattern: \b(lin_api_[A-Za-z0-9]{40})\b
entropy: 3.5
positive: LINEAR_API_KEY=lin_api_B57wBlRMOa1Owit935s8p9KNRCG0shbT0yssUlSo
positive: apiKey: 'lin_api_SRAi2RtbUJwa4VvbMnKpb56wjDEIrqNiE44gg2r8'
negative: lin_api_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: lin_api_key = os.environ["LINEAR"]

id: linear-oauth-token
title: Linear OAuth access token
severity: high
keywords: lin_oauth_
pattern: \b(lin_oauth_[a-f0-9]{64})\b
entropy: 3.0
positive: Authorization: Bearer lin_oauth_8675b6cdc0c467757ba23bd493eafce134c1d1b5982273099a9f3ff533baebcb
negative: lin_oauth_token = None
negative: lin_oauth_0000000000000000000000000000000000000000000000000000000000000000

id: notify-line-notify-token
title: LINE Notify access token
severity: high
keywords: linenotify line_notify line-notify
pattern: (?i)\b(?:line[_-]?notify)[^\n\r]{0,30}?\b([A-Za-z0-9]{43,53})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LINENOTIFY_API_KEY="Lnw3xiUtiTBFCihXbL7cvdJTsG0R3IX6cFm464jUPoX"
positive: linenotify_token: '0zX4bc52t9dZO121vzaysI7mZWAmbQtJwlGi95cF9Td'
positive: {"linenotify_secret": "BVsJ12jFSe2DiuGEsFr8Cxk3AA4k54ijMEPHmS3LuZr"}
negative: export LINENOTIFY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: linenotify_token = os.environ["LINENOTIFY_TOKEN"]
negative: LINENOTIFY_SECRET=${LINENOTIFY_SECRET}

id: linkedin-client-id
title: LinkedIn OAuth client id
severity: low
keywords: linkedin linked_in
pattern: (?i)\b(?:linkedin|linked_in)[^\n\r]{0,15}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,15}?\b([a-z0-9]{12,14})(?![\w-])
entropy: 2.8
confidence: medium
positive: export LINKEDIN_API_KEY="izj6eil3zs6t1j"
positive: linkedin_token: 'ei1y0f2axvo20i'
positive: {"linkedin_secret": "wc1r1gfcj0jafz"}
negative: export LINKEDIN_API_KEY="xxxxxxxxxxxxxx"
negative: linkedin_token = os.environ["LINKEDIN_TOKEN"]
negative: LINKEDIN_SECRET=${LINKEDIN_SECRET}
negative: linkedin_profile_url = "https://linkedin.com/in/someone"

id: linkedin-client-secret
title: LinkedIn OAuth client secret
severity: high
keywords: linkedin linked_in
pattern: (?i)\b(?:linkedin|linked_in)[^\n\r]{0,15}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,15}?\b([A-Za-z0-9]{16})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LINKEDIN_API_KEY="f5r44xLPOcs4Wprf"
positive: linkedin_token: '7vq7ydwwmNfeKiaJ'
positive: {"linkedin_secret": "LdixdPE7j3wXaUZ4"}
negative: export LINKEDIN_API_KEY="xxxxxxxxxxxxxxxx"
negative: linkedin_token = os.environ["LINKEDIN_TOKEN"]
negative: LINKEDIN_SECRET=${LINKEDIN_SECRET}

id: linkpreview-api-key
title: LinkPreview API key
severity: high
keywords: linkpreview
pattern: (?i)\b(?:linkpreview)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LINKPREVIEW_API_KEY="bb36cca4264babee520cd9c6d1ef66fc"
positive: linkpreview_token: 'ba21e3b47e7701ed22a2f4e21c0e1c58'
positive: {"linkpreview_secret": "cd352dd4fa0cdc08df2adeb9966891cb"}
negative: export LINKPREVIEW_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: linkpreview_token = os.environ["LINKPREVIEW_TOKEN"]
negative: LINKPREVIEW_SECRET=${LINKPREVIEW_SECRET}

id: livestorm-api-key
title: Livestorm API token (JWT)
severity: high
keywords: livestorm
pattern: (?i)\b(?:livestorm)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b(eyJ[A-Za-z0-9_-]{10,600}\.[A-Za-z0-9_-]{10,2000}(?:\.[A-Za-z0-9_-]{5,600})?)(?![\w-])
entropy: 3.0
window: 2048
confidence: medium
positive: export LIVESTORM_API_KEY="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0eWZpcFViQUl5V3VKZWUzdUhQODIzVkYiLCJpYXQiOjE3NjY5MzMyMDd9.m8Tyh_ik6VPKr3ze-Athr6zEyymJfD9YI51aQgdZvws"
positive: livestorm_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmZFAxNW1uOGlpbXhsaG9pbm9QVmlhc0wiLCJpYXQiOjE3ODczMzMwMzZ9.Th907ZU28tTqSWrOMXtKNVCi5XKI657WeAB5scZNDVA'
positive: {"livestorm_secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJLSDRKQ1c5d1V0SWQ4cGZtbGxPZ3VvMkQiLCJpYXQiOjE2NDAzODU1NjJ9.QTQ2sxw91oLrt4tAMBtFG9vhIIZrv8RXVAZrW9OYEIz"}
negative: export LIVESTORM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: livestorm_token = os.environ["LIVESTORM_TOKEN"]
negative: LIVESTORM_SECRET=${LIVESTORM_SECRET}

id: loadmill-api-key
title: Loadmill API token
severity: high
keywords: loadmill
pattern: (?i)\b(?:loadmill)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LOADMILL_API_KEY="a40092bcf7749a5fff720f6a413205db6b9b33c0"
positive: loadmill_token: 'e6f84c51c2043bf980bd6c391f6a40e253678394'
positive: {"loadmill_secret": "c468e714afad941995d980c0a80903f0683721fe"}
negative: export LOADMILL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: loadmill_token = os.environ["LOADMILL_TOKEN"]
negative: LOADMILL_SECRET=${LOADMILL_SECRET}

id: lob-api-key
title: Lob API key
severity: high
keywords: lob_ lob- lobsecret lobapi lobkey lobtoken lob.
pattern: (?i)\b(?:lob)[_.-]?(?:api[_.-]?)?(?:access[_.-]?|secret[_.-]?|private[_.-]?|auth[_.-]?)?(?:key|token|secret)[\w.-]{0,10}?["\']?\s{0,3}[:=]{1,2}\s{0,3}["\']?\b((?:live|test)_(?:pub_)?[a-f0-9]{31,35}|[A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LOB_API_KEY="live_300e7d04a42f25bab8278fc646f77fd0ef7"
positive: lob_token: 'live_1a0f857f9784b2228b4018cc1bd306238c8'
positive: {"lob_secret": "live_2b740bd9b077bc1f518f65497d4e10f3d35"}
negative: export LOB_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: lob_token = os.environ["LOB_TOKEN"]
negative: LOB_SECRET=${LOB_SECRET}

id: loginradius-api-key
title: LoginRadius API key / secret
severity: high
keywords: loginradius login_radius
pattern: (?i)\b(?:loginradius|login_radius)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LOGINRADIUS_API_KEY="c4e0f01c-bf37-4cfe-7f14-6d7da763de34"
positive: loginradius_token: '1bc996d8-5309-ba0c-3937-0847b7e7bf7f'
positive: {"loginradius_secret": "12c3924b-694e-c2e5-cd07-b763e44feb04"}
negative: export LOGINRADIUS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: loginradius_token = os.environ["LOGINRADIUS_TOKEN"]
negative: LOGINRADIUS_SECRET=${LOGINRADIUS_SECRET}

id: logzio-api-token
title: Logz.io API / shipping token
severity: high
keywords: logz
pattern: (?i)\b(?:logz(?:io|\.io|_io)?)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}|[A-Za-z]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LOGZIO_API_KEY="cc51df70-7635-1a39-64d7-f029a8acd4ca"
positive: logzio_token: '40f6c311-868c-2fba-18ce-37dd5f928b66'
positive: {"logzio_secret": "7c7c8c13-3349-3a34-0b93-f096fdd94dd9"}
negative: export LOGZIO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: logzio_token = os.environ["LOGZIO_TOKEN"]
negative: LOGZIO_SECRET=${LOGZIO_SECRET}

id: lokalise-api-token
title: Lokalise API token
severity: high
keywords: lokalise
pattern: (?i)\b(?:lokalise)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LOKALISE_API_KEY="0f2482006ba07f46702610e0b8839d240cce9773"
positive: lokalise_token: '80f184817c7c56ffd382c6d2a9ec84f40c556079'
positive: {"lokalise_secret": "bbb91d2bcf0a891a6fa6a134640de332739d0255"}
negative: export LOKALISE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: lokalise_token = os.environ["LOKALISE_TOKEN"]
negative: LOKALISE_SECRET=${LOKALISE_SECRET}

id: loyverse-api-key
title: Loyverse access token
severity: high
keywords: loyverse
pattern: (?i)\b(?:loyverse)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LOYVERSE_API_KEY="99ea9c95e234b4e359c4ca5bbe9ac639"
positive: loyverse_token: 'cf7f141c2db97a05c33cf9be65e42165'
positive: {"loyverse_secret": "b207b8f5524c80c5bc41567976f29026"}
negative: export LOYVERSE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: loyverse_token = os.environ["LOYVERSE_TOKEN"]
negative: LOYVERSE_SECRET=${LOYVERSE_SECRET}

id: lunchmoney-api-key
title: Lunch Money access token
severity: high
keywords: lunchmoney lunch_money
pattern: (?i)\b(?:lunchmoney|lunch_money)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([a-f0-9]{50})(?![\w-])
entropy: 2.8
confidence: medium
positive: export LUNCHMONEY_API_KEY="3a0c087d6dc16764181cce0ca7267156b4bda3130f31631778"
positive: lunchmoney_token: '05b434b43b78f40c30a8d9444e6b97eed5053474d1d6a35658'
positive: {"lunchmoney_secret": "cf51382a756497451cf4459bd5635d08b954def2634f8ce1fb"}
negative: export LUNCHMONEY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: lunchmoney_token = os.environ["LUNCHMONEY_TOKEN"]
negative: LUNCHMONEY_SECRET=${LUNCHMONEY_SECRET}

id: madkudu-api-key
title: MadKudu API key
severity: high
keywords: madkudu
pattern: (?i)\b(?:madkudu)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MADKUDU_API_KEY="20991ee797bdec85f68f721f7be10f66"
positive: madkudu_token: 'b4f3295aa52b5f8ce0d051ccb398180b'
positive: {"madkudu_secret": "35e622b0436ce400d95b76274b7d7f2d"}
negative: export MADKUDU_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: madkudu_token = os.environ["MADKUDU_TOKEN"]
negative: MADKUDU_SECRET=${MADKUDU_SECRET}

id: magnetic-api-token
title: Magnetic API token
severity: high
keywords: magnetic
pattern: (?i)\b(?:magnetic)[_.-]?(?:api[_.-]?)?(?:access[_.-]?|secret[_.-]?|private[_.-]?|auth[_.-]?)?(?:key|token|secret)[\w.-]{0,10}?["\']?\s{0,3}[:=]{1,2}\s{0,3}["\']?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MAGNETIC_API_KEY="020c8ff6-a67c-9431-2d1e-6708df7e2d3d"
positive: magnetic_token: '4b932970-715a-904c-907b-b7df5c4b88dc'
positive: {"magnetic_secret": "caf43254-201a-dea5-020f-34d9d79502d3"}
negative: export MAGNETIC_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: magnetic_token = os.environ["MAGNETIC_TOKEN"]
negative: MAGNETIC_SECRET=${MAGNETIC_SECRET}

id: mailboxlayer-api-key
title: mailboxlayer access key
severity: high
keywords: mailboxlayer
pattern: (?i)\b(?:mailboxlayer)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MAILBOXLAYER_API_KEY="6e28aebd7f4d2898fd4298d3a9f1c6ba"
positive: mailboxlayer_token: 'fe552db9ca30583774bcc1a20393d6bc'
positive: {"mailboxlayer_secret": "6b16f88d768c7c5d8c77614bb479ec50"}
negative: export MAILBOXLAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mailboxlayer_token = os.environ["MAILBOXLAYER_TOKEN"]
negative: MAILBOXLAYER_SECRET=${MAILBOXLAYER_SECRET}

id: mailerlite-api-key
title: MailerLite API key
severity: high
keywords: mailerlite
pattern: (?i)\b(?:mailerlite)[^\n\r]{0,40}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MAILERLITE_API_KEY="4a930d9ccedf9d65dcc3f42528ac59e2"
positive: mailerlite_token: '0d4f55c97d8a06f0b2c691410bbd1a43'
positive: {"mailerlite_secret": "50a8219217e22c4952f7613fb3941f11"}
negative: export MAILERLITE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mailerlite_token = os.environ["MAILERLITE_TOKEN"]
negative: MAILERLITE_SECRET=${MAILERLITE_SECRET}

id: mailjet-basic-auth
title: Mailjet Basic auth credentials (base64 key:secret)
severity: high
keywords: mailjet
pattern: (?i)\b(?:mailjet)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9+/]{80,90}={0,2})(?![\w+/=-])
entropy: 3.5
confidence: medium
positive: export MAILJET_API_KEY="Y2RiNmRkMWEzMzFmNjM4YWM5MzZmNTRmOTk0ZTlhMjY6ZWMxMWRkZWVlMWZlODBjZThiMmM4MGFhODE0OWFjMDI="
positive: mailjet_token: 'MDg4NzYwZWU1YTNkNjc1MGYxMzA0OGUyMzc5OTczNTE6YWM1ZDY1YmM3OTA4MDczYjk2Mzc0YTBkNGY0YTA4ZDI='
positive: {"mailjet_secret": "YjE3MTIyMjcyODM4NDA1NzZhZjMzMTdlMjUwMDdkMTI6NWU1MTU4OWE3NDE1NmZlZGRjMmI2YTIwMWQ5NjIyN2Q="}
negative: export MAILJET_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mailjet_token = os.environ["MAILJET_TOKEN"]
negative: MAILJET_SECRET=${MAILJET_SECRET}

id: mailjetsms-api-key
title: Mailjet API key, secret or SMS token
severity: high
keywords: mailjet
pattern: (?i)\b(?:mailjet)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MAILJET_API_KEY="86726aab677f8a334ad461cc6e71df60"
positive: mailjet_token: 'a5f0c3548f0979928fdbebb60c34bad7'
positive: {"mailjet_secret": "0e4c66f9ae705c6edae479b76780892a"}
negative: export MAILJET_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mailjet_token = os.environ["MAILJET_TOKEN"]
negative: MAILJET_SECRET=${MAILJET_SECRET}

id: mailmodo-api-key
title: Mailmodo API key
severity: high
keywords: mailmodo
pattern: (?i)\b(?:mailmodo)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Z0-9]{7}-[A-Z0-9]{7}-[A-Z0-9]{7}-[A-Z0-9]{7})(?![\w-])
entropy: 2.8
confidence: medium
positive: export MAILMODO_API_KEY="EI13NYS-ZEHIW25-9EP4EGA-V2ZI1FF"
positive: mailmodo_token: '0AH29Z3-K6WITKM-VCWUWHP-Y3Z3UNP'
positive: {"mailmodo_secret": "UKMMYMM-2JW1158-WV4VDM2-Q89G3ZV"}
negative: export MAILMODO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mailmodo_token = os.environ["MAILMODO_TOKEN"]
negative: MAILMODO_SECRET=${MAILMODO_SECRET}

id: mailsac-api-key
title: Mailsac API key
severity: high
keywords: mailsac
pattern: (?i)\b(?:mailsac)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b(k_[A-Za-z0-9]{30,60})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MAILSAC_API_KEY="k_fEwqTkqy53nvwIrYcfTzNi6QH730ChK75kHnK1nJ"
positive: mailsac_token: 'k_ICPMkscI8A1pJl9mTftEppi92bDoRDxSGaoggng7'
positive: {"mailsac_secret": "k_Bd0qzyH2cWdJxX9V6FNjOctg7b9U432dkxLG53FV"}
negative: export MAILSAC_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mailsac_token = os.environ["MAILSAC_TOKEN"]
negative: MAILSAC_SECRET=${MAILSAC_SECRET}

id: mandrill-api-key
title: Mandrill (Mailchimp Transactional) API key
severity: high
keywords: mandrill
pattern: (?i)\b(?:mandrill)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b((?:md-)?[A-Za-z0-9_-]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MANDRILL_API_KEY="0uFrUV2kWSsI5lGMLPGvOR"
positive: mandrill_token: '2YDghRRjsv8bT7nRPI2uRx'
positive: {"mandrill_secret": "0SOCww6mqGNyZE_nrFV0L5"}
negative: export MANDRILL_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: mandrill_token = os.environ["MANDRILL_TOKEN"]
negative: MANDRILL_SECRET=${MANDRILL_SECRET}

id: mapbox-public-token
title: Mapbox public access token
severity: low
keywords: pk.eyJ
pattern: \b(pk\.eyJ[A-Za-z0-9_-]{20,300}\.[A-Za-z0-9_-]{20,100})
entropy: 3.5
positive: mapboxgl.accessToken = 'pk.eyJ1IjoiYWNtZS1tYXBzIiwiYSI6InV5TGdIZjF4VjUzcm9zMW16Rlhtd0dYUmQifQ.XLSDIAiZkIgBlW-SYqYkiv'
negative: pk.eyJ...
negative: accessToken: 'pk.<your token>'

id: mapbox-secret-token
title: Mapbox secret access token
severity: high
keywords: sk.eyJ
pattern: \b(sk\.eyJ[A-Za-z0-9_-]{20,300}\.[A-Za-z0-9_-]{20,100})
entropy: 3.5
positive: export MAPBOX_DOWNLOADS_TOKEN=sk.eyJ1IjoiYWNtZS1tYXBzIiwiYSI6IkQwalNsUm5kRmZia2VMVDNSV0l4T3JoTXgifQ.jTpfdev52qxVb8qADMyKmM
negative: sk.eyJ...
negative: MAPBOX_DOWNLOADS_TOKEN=sk.<secret>

id: mapbox-temporary-token
title: Mapbox temporary access token
severity: medium
keywords: tk.eyJ
pattern: \b(tk\.eyJ[A-Za-z0-9_-]{20,300}\.[A-Za-z0-9_-]{20,100})
entropy: 3.5
positive: token = "tk.eyJ1IjoiYWNtZS1tYXBzIiwiZXhwIjoxNzAwMDAwMDAwLCJhIjoiTFJyMTRId2VVRm1QcXpwRVgxNldtam1tcSJ9.0CDs5dbaga2aI8EvoGlWSz"
negative: tk.eyJ...
negative: tk.example

id: mapquest-api-key
title: MapQuest API key
severity: high
keywords: mapquest
pattern: (?i)\b(?:mapquest)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MAPQUEST_API_KEY="AXwDq7m9HdVPqevaGZzt17FnRYEvdon2"
positive: mapquest_token: 'RkJHWW5a2qRjjyivab2ksksKLpaNXDEF'
positive: {"mapquest_secret": "QUaOjxC2bgQvEgADe3n8l4dHjV8EXiOp"}
negative: export MAPQUEST_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mapquest_token = os.environ["MAPQUEST_TOKEN"]
negative: MAPQUEST_SECRET=${MAPQUEST_SECRET}

id: marketstack-api-key
title: marketstack access key
severity: high
keywords: marketstack
pattern: (?i)\b(?:marketstack)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MARKETSTACK_API_KEY="7583cb3930afc9545541ff22cc4ad425"
positive: marketstack_token: '2005dba4fd84735c5a7ec6337b66cb43'
positive: {"marketstack_secret": "2e2032f34dec12dbd2305ade0c8cb5a2"}
negative: export MARKETSTACK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: marketstack_token = os.environ["MARKETSTACK_TOKEN"]
negative: MARKETSTACK_SECRET=${MARKETSTACK_SECRET}

id: mavenlink-api-token
title: Mavenlink (Kantata) API token
severity: high
keywords: mavenlink kantata
pattern: (?i)\b(?:mavenlink|kantata)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MAVENLINK_API_KEY="f766ac52575149c31a8dc73ce712f9f1cf0809559f0e52c8a1b0d9ba821225b1"
positive: mavenlink_token: '420aa8fcbc11484d76a6ac4490b5a9210371d441d7a940d69e1696ed5c85a382'
positive: {"mavenlink_secret": "a887c91d1add57ffee11715fbdc18a6986bd03f40699c84d10e17ee0d3ced44a"}
negative: export MAVENLINK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mavenlink_token = os.environ["MAVENLINK_TOKEN"]
negative: MAVENLINK_SECRET=${MAVENLINK_SECRET}

id: maxmind-license-key
title: MaxMind license key
severity: high
keywords: _mmk
pattern: \b([A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk)\b
entropy: 3.0
positive: MAXMIND_LICENSE_KEY=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
positive: LicenseKey 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
negative: LicenseKey YOUR_LICENSE_KEY_mmk
negative: xxxxxx_xxxxxxxxxxxxxxxxxxxxxxxxxxxxx_mmk

id: maxmind-license-key-legacy
title: MaxMind legacy license key
severity: medium
keywords: maxmind geoip geoipupdate
pattern: (?i)\b(?:maxmind|geoip_?license|geoipupdate)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{12,16})(?![\w-])
entropy: 2.7
confidence: medium
positive: export MAXMIND_API_KEY="vdzFR8T04zoNEvq7"
positive: maxmind_token: '84WZ6iKjCXp7x6AQ'
positive: {"maxmind_secret": "y4EycAwgFIWiuXVW"}
negative: export MAXMIND_API_KEY="xxxxxxxxxxxxxxxx"
negative: maxmind_token = os.environ["MAXMIND_TOKEN"]
negative: MAXMIND_SECRET=${MAXMIND_SECRET}

id: mediastack-api-key
title: mediastack access key
severity: high
keywords: mediastack
pattern: (?i)\b(?:mediastack)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MEDIASTACK_API_KEY="2ff6f779064a5cc2d13ba7dfffa47898"
positive: mediastack_token: '1a7682e6872510e3c8c51e1571c81ad9'
positive: {"mediastack_secret": "daa321fa58f93cef453fd82372520842"}
negative: export MEDIASTACK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mediastack_token = os.environ["MEDIASTACK_TOKEN"]
negative: MEDIASTACK_SECRET=${MEDIASTACK_SECRET}

id: meistertask-api-key
title: MeisterTask API token
severity: high
keywords: meistertask meister_task
pattern: (?i)\b(?:meistertask|meister_task)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{43})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MEISTERTASK_API_KEY="0G16lxZ0GlWo9fBtBNhmH1poriYnjrDnzjqvZ6mwfHs"
positive: meistertask_token: '1M0JWzY40BHVIyvCXfrM30NxHNjM9HQsRFBq1ew0znj'
positive: {"meistertask_secret": "hP3gusML8ElpDgiZSAWlyp06DcUWD1XnteLRVlPgz76"}
negative: export MEISTERTASK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: meistertask_token = os.environ["MEISTERTASK_TOKEN"]
negative: MEISTERTASK_SECRET=${MEISTERTASK_SECRET}

id: mesibo-api-key
title: Mesibo app token
severity: high
keywords: mesibo
pattern: (?i)\b(?:mesibo)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MESIBO_API_KEY="65ukzu9tyc6v6dhcy4ffs1dn375vjar7y2qzrwed37j3ks9ekoi6vlt7wrkcjyq9"
positive: mesibo_token: 'r03c2loeff4qfhnn6gwkcgzcrvdsppnor3y3kz28fs9sosstzfttn46gk3sxanxh'
positive: {"mesibo_secret": "5dshlih528crvh4cem76o6s9opb98cl9vxfkr4akn4wle6dklhalmdmn2z4w67m8"}
negative: export MESIBO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mesibo_token = os.environ["MESIBO_TOKEN"]
negative: MESIBO_SECRET=${MESIBO_SECRET}

id: messagebird-api-key
title: MessageBird (Bird) API key
severity: high
keywords: messagebird message_bird
pattern: (?i)\b(?:messagebird|message_bird)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{25})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MESSAGEBIRD_API_KEY="ZxGOhQ4LW9fSLphPqGnf5NHtX"
positive: messagebird_token: '0c8FMoYxRxMLQwgV4qAcv0VL7'
positive: {"messagebird_secret": "QxVpMKXq2fPoJP2KgZcx2TjTf"}
negative: export MESSAGEBIRD_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxx"
negative: messagebird_token = os.environ["MESSAGEBIRD_TOKEN"]
negative: MESSAGEBIRD_SECRET=${MESSAGEBIRD_SECRET}

id: metrilo-api-key
title: Metrilo API token
severity: high
keywords: metrilo
pattern: (?i)\b(?:metrilo)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{16})(?![\w-])
entropy: 2.5
confidence: medium
positive: export METRILO_API_KEY="9f984ced0e6769f7"
positive: metrilo_token: '2b8f99d2f57e6371'
positive: {"metrilo_secret": "5c4dc03e9ff50890"}
negative: export METRILO_API_KEY="xxxxxxxxxxxxxxxx"
negative: metrilo_token = os.environ["METRILO_TOKEN"]
negative: METRILO_SECRET=${METRILO_SECRET}

id: msteams-incoming-webhook
title: Microsoft Teams incoming webhook URL (outlook.office.com)
severity: medium
keywords: incomingwebhook
pattern: (?i)(https://(?:outlook\.office(?:365)?\.com|[a-z0-9-]{1,60}\.webhook\.office\.com)/webhook(?:b2)?/[a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}@[a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}/IncomingWebhook/[a-z0-9]{32}/[a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}(?:/[A-Za-z0-9_-]{10,60})?)
positive: TEAMS_WEBHOOK="https://outlook.office.com/webhook/b583762a-a939-9b22-2296-9ca612b58c9e@19820197-dfc8-f247-8e5a-27aec532d209/IncomingWebhook/17630a3b58d75d273215fa56c81f51ea/fbcc36c8-c7f5-c6ef-e180-32ac3257d43a"
positive: url: https://fabrikam.webhook.office.com/webhookb2/c7ea5561-c1d4-d881-c857-02247dab3324@c9fe896a-ec28-a40a-4c7c-a96261a79377/IncomingWebhook/a9e164c7be77dea038ccc75a9f213a10/721b2b6a-e5ce-8ec6-b0ec-20a9b51bd831
negative: https://outlook.office.com/webhook/<group-id>@<tenant-id>/IncomingWebhook/<id>/<owner>
negative: https://example.webhook.office.com/webhookb2/...

id: mindmeister-api-key
title: MindMeister API token
severity: high
keywords: mindmeister
pattern: (?i)\b(?:mindmeister)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{43})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MINDMEISTER_API_KEY="64i1gaEetZ0pAql6OXoU7rzaTe59Ib10DVMx3SCEVlc"
positive: mindmeister_token: 'S5pSE7FvXPn3RvvHWreqn9SmlhDRV11foeu3KCJSa2B'
positive: {"mindmeister_secret": "uU485gaUG7O6rJ4sDgUaxzlR02G5Gub0YW0a9QyOdrY"}
negative: export MINDMEISTER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mindmeister_token = os.environ["MINDMEISTER_TOKEN"]
negative: MINDMEISTER_SECRET=${MINDMEISTER_SECRET}

id: miro-api-token
title: Miro access token
severity: high
keywords: miro
pattern: (?i)\b(?:miro(?=[_.\s-]|secret|access|token|key|api|private|auth|app))[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{26,40})(?![\w-])
entropy: 3.2
confidence: medium
positive: export MIRO_API_KEY="MxEWR7VtbyqLKHfJY1Fzdxw1mdtgr3ar"
positive: miro_token: 'IqDcSXA1Xm9zB7wGMZRcI9Cuifmf_NQS'
positive: {"miro_secret": "Q3F0uhJz_QXgOwmpuI89tvfTFENP6Laf"}
negative: export MIRO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: miro_token = os.environ["MIRO_TOKEN"]
negative: MIRO_SECRET=${MIRO_SECRET}

id: mixmax-api-key
title: Mixmax API token
severity: high
keywords: mixmax
pattern: (?i)\b(?:mixmax)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9-]{36})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MIXMAX_API_KEY="11e53093-8001-b086-8c13-088778383fe5"
positive: mixmax_token: 'db8162b4-16ae-d7c6-44b8-7ecc021d5485'
positive: {"mixmax_secret": "e411736b-257e-f21c-5561-56965489cc62"}
negative: export MIXMAX_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mixmax_token = os.environ["MIXMAX_TOKEN"]
negative: MIXMAX_SECRET=${MIXMAX_SECRET}

id: mockaroo-api-key
title: Mockaroo API key
severity: high
keywords: mockaroo
pattern: (?i)\b(?:mockaroo)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([a-f0-9]{8})(?![\w-])
entropy: 2.4
confidence: medium
positive: export MOCKAROO_API_KEY="d55582cf"
positive: mockaroo_token: '07c1f5d9'
positive: {"mockaroo_secret": "f1753beb"}
negative: export MOCKAROO_API_KEY="xxxxxxxx"
negative: mockaroo_token = os.environ["MOCKAROO_TOKEN"]
negative: MOCKAROO_SECRET=${MOCKAROO_SECRET}

id: moderation-api-key
title: Moderation API token
severity: high
keywords: moderation
pattern: (?i)\b(?:moderation(?:api|_api|-api)?)[_.-]?(?:api[_.-]?)?(?:access[_.-]?|secret[_.-]?|private[_.-]?|auth[_.-]?)?(?:key|token|secret)[\w.-]{0,10}?["\']?\s{0,3}[:=]{1,2}\s{0,3}["\']?\b([A-Za-z0-9_-]{10,600}\.[A-Za-z0-9_-]{20,2000}\.[A-Za-z0-9_-]{10,1200})(?![\w-])
entropy: 3.5
window: 1024
confidence: medium
positive: export MODERATION_API_KEY="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI4M0FlQjZzV2dZaXQ4UVB4YUN0NlREN3QiLCJpYXQiOjE2NjIwMjUwODl9.1JEqw-ZQWTQMeqSleriCqvhStY4P7lJZiae7CgE3cQO"
positive: moderation_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI5cHNIZjh6d1pVaFR4a3ZOQ2JnT3NRT1YiLCJpYXQiOjE3MDMwMzYxODh9.KuG8AzG7HrEqhikKYLrEfQ-mma3zE6grhyBnz-F2mdO'
positive: {"moderation_secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJPRXlQeDUwVVNtNmRTMnllV2t4ZWpFeVMiLCJpYXQiOjE2NjAxNDQxOTB9.3VSRXV_DwvG_TZz-KGhCVoW-shHYFThBr8XsWMjAi0y"}
negative: export MODERATION_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: moderation_token = os.environ["MODERATION_TOKEN"]
negative: MODERATION_SECRET=${MODERATION_SECRET}

id: monday-api-token
title: monday.com API token (JWT)
severity: high
keywords: monday
pattern: (?i)\b(?:monday(?:\.com|_com)?)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b(eyJ[A-Za-z0-9_-]{10,600}\.[A-Za-z0-9_-]{10,2000}(?:\.[A-Za-z0-9_-]{5,600})?)(?![\w-])
entropy: 3.0
window: 1024
confidence: medium
positive: export MONDAY_API_KEY="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJlNWcyblhka2Vqamdsb1lXenhwUDhhaW0iLCJpYXQiOjE2ODg1MDUxOTN9.LxwyPMpB-b7Wzfqv29-DNYB1aAHhWqiVGA4u33WrvjB"
positive: monday_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJLTDhmMUJsRktBeTdGeURtU1RlTEZWY1IiLCJpYXQiOjE3NzU0Njk3NDZ9.VlpeTwSo3UI6FwNolGkFilLFtGCTN5Muoc6zLPzDB14'
positive: {"monday_secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJXakdrWG54a0FhOTNvZ1Q4M0w0WFJqaVoiLCJpYXQiOjE2NTY4MTU0Njd9.IbHE4msgMM-vBPcAi3aaVmoWNoEBbMZF0h3CKjRuUTx"}
negative: export MONDAY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: monday_token = os.environ["MONDAY_TOKEN"]
negative: MONDAY_SECRET=${MONDAY_SECRET}

id: monkeylearn-api-key
title: MonkeyLearn API key
severity: high
keywords: monkeylearn
pattern: (?i)\b(?:monkeylearn)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MONKEYLEARN_API_KEY="aa0823170b5d13ca47ab8edc2875eae19fa8f5e2"
positive: monkeylearn_token: '745e1e8b247f12963414d469c8f008b22cbe5227'
positive: {"monkeylearn_secret": "9fb48227ac6b3e1aca6329d4870833b09bda8559"}
negative: export MONKEYLEARN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: monkeylearn_token = os.environ["MONKEYLEARN_TOKEN"]
negative: MONKEYLEARN_SECRET=${MONKEYLEARN_SECRET}

id: moonclerk-api-key
title: MoonClerk API key
severity: high
keywords: moonclerk
pattern: (?i)\b(?:moonclerk)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MOONCLERK_API_KEY="65e47b1db8e87b1e60f51bb9772d9360"
positive: moonclerk_token: '909d4678e7042d16da9e9cf35db2359f'
positive: {"moonclerk_secret": "115cf6f0a7e8ed090b7cfbd4d89a0d8c"}
negative: export MOONCLERK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: moonclerk_token = os.environ["MOONCLERK_TOKEN"]
negative: MOONCLERK_SECRET=${MOONCLERK_SECRET}

id: moosend-api-key
title: Moosend API key
severity: high
keywords: moosend
pattern: (?i)\b(?:moosend)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MOOSEND_API_KEY="5abf36dd-191a-8ac9-4d34-f50dbe74e9e8"
positive: moosend_token: '247c8c99-095e-f2fd-ae38-f02190d6d4b7'
positive: {"moosend_secret": "2baf63f1-98de-60ce-524f-c8b57d9c6c38"}
negative: export MOOSEND_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: moosend_token = os.environ["MOOSEND_TOKEN"]
negative: MOOSEND_SECRET=${MOOSEND_SECRET}

id: moralis-api-key
title: Moralis API key
severity: high
keywords: moralis
pattern: (?i)\b(?:moralis)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MORALIS_API_KEY="fX86G0jGSguYHtpXj4DngykEzs1bB8YjWrIrvJhqpSuSnBMID94V37A7MeWipuNM"
positive: moralis_token: '7ZROzgoa6NUQHWC0Jnai4WTJF8sYczyHm0TD8MlVHjXkWeQLdMqQplkbXdg7MAWh'
positive: {"moralis_secret": "AgJO0PcvBe95HINymRzo2BoHmryEwDeQHXvIJEqH9HO7erY4NtkRzaUYDmIjPLcY"}
negative: export MORALIS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: moralis_token = os.environ["MORALIS_TOKEN"]
negative: MORALIS_SECRET=${MORALIS_SECRET}

id: myintervals-api-key
title: MyIntervals API key
severity: high
keywords: myintervals my_intervals
pattern: (?i)\b(?:myintervals|my_intervals)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{11})(?![\w-])
entropy: 2.8
confidence: medium
positive: export MYINTERVALS_API_KEY="6most8q60to"
positive: myintervals_token: 'mc22pt6z9m9'
positive: {"myintervals_secret": "a8sazuxhwxs"}
negative: export MYINTERVALS_API_KEY="xxxxxxxxxxx"
negative: myintervals_token = os.environ["MYINTERVALS_TOKEN"]
negative: MYINTERVALS_SECRET=${MYINTERVALS_SECRET}

id: nasdaqdatalink-api-key
title: Nasdaq Data Link (Quandl) API key
severity: high
keywords: nasdaq quandl
pattern: (?i)\b(?:nasdaq(?:datalink|_data_link)?|quandl)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NASDAQDATALINK_API_KEY="VJe9Ggm3gYpcJnBE93dx"
positive: nasdaqdatalink_token: 'IevmCJrFMYKS2coots3I'
positive: {"nasdaqdatalink_secret": "0e4m87n69o-E9rvcqljC"}
negative: export NASDAQDATALINK_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: nasdaqdatalink_token = os.environ["NASDAQDATALINK_TOKEN"]
negative: NASDAQDATALINK_SECRET=${NASDAQDATALINK_SECRET}

id: netlify-access-token
title: Netlify personal access token
severity: high
keywords: netlify
pattern: (?i)\b(?:netlify)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9_-]{43,45}|[a-f0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NETLIFY_API_KEY="gp2KDW9MyHRkNp6jnNqSiJc1S_hX3jKeC-Lwh2UBdWb"
positive: netlify_token: 'Y-6yRrJyd4n6qEc17EQL8btnmbNBgPj1HM_H6krwd8U'
positive: {"netlify_secret": "9TWxtwXFzkmqbbYSSAAyGmKtZ5-AOtP-4AgaXO_Sg-R"}
negative: export NETLIFY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: netlify_token = os.environ["NETLIFY_TOKEN"]
negative: NETLIFY_SECRET=${NETLIFY_SECRET}

id: netlify-access-token-prefixed
title: Netlify access token (nfp_/nfc_/nfo_ prefix)
severity: high
keywords: nfp_ nfc_ nfo_ nfu_ nfb_
pattern: \b(nf[pcoub]_[A-Za-z0-9]{36})\b
entropy: 3.5
positive: NETLIFY_AUTH_TOKEN=nfp_8Uq0aTNNdPXLsHY8mYwUQ4wh0fQlmitXVSDh
negative: nfp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: nfp_token

id: netrc-credentials
title: Password in a .netrc machine entry
severity: high
keywords: machine
pattern: (?i)\bmachine\s{1,10}[A-Za-z0-9][\w.-]{1,100}\s{1,40}login\s{1,10}\S{1,100}\s{1,40}password\s{1,10}(?![$<{*])(\S{3,200})
confidence: medium
positive: machine api.heroku.com\n  login ops@example.org\n  password ccf58631c7cf7b78666307c882e2db5579bc
positive: machine nexus.corp.local login deploy password wRH5CwiNNiY2HWm77pNe
negative: machine example.com login USER password $NETRC_PASSWORD
negative: machine <host> login <user> password <pass>
negative: the machine login screen asks for a password

id: newrelic-user-api-key
title: New Relic user API key
severity: high
keywords: nrak-
pattern: \b(NRAK-[A-Z0-9]{27})\b
entropy: 3.0
positive: NEW_RELIC_API_KEY=NRAK-5HD01XHJNNG8L3PS6FAG8GZ3BU2
negative: NRAK-XXXXXXXXXXXXXXXXXXXXXXXXXXX
negative: NRAK-<your key>

id: newrelic-insights-key
title: New Relic Insights insert/query key
severity: high
keywords: nrii- nriq-
pattern: \b(NRI[IQ]-[A-Za-z0-9_-]{32})(?![\w-])
entropy: 3.0
positive: insert_key: NRII-pISUt2nSBiz5ST93qk5aGbh16ZU0It7d
negative: NRII-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: newrelic-license-key
title: New Relic ingest license key
severity: high
keywords: nral
pattern: \b([a-f0-9]{36}NRAL)\b
entropy: 3.0
positive: NEW_RELIC_LICENSE_KEY=c5a939be3a02816a1f39a905ee2e1b41c1b9NRAL
positive: license_key: "47cf62476df6a730909c171c0324ea09601eNRAL"
negative: license_key: "<your-license-key>NRAL"
negative: 000000000000000000000000000000000000NRAL

id: newrelic-browser-key
title: New Relic browser API key
severity: medium
keywords: nrjs-
pattern: \b(NRJS-[a-f0-9]{19})\b
entropy: 3.0
positive: licenseKey:"NRJS-d3125ef94b30bb18199"
negative: NRJS-xxxxxxxxxxxxxxxxxxx

id: newrelic-api-key
title: New Relic API key (context)
severity: high
keywords: newrelic new_relic nr_api
pattern: (?i)\b(?:new_?relic|nr_api)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{4}-[A-Za-z0-9]{27,47})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NEWRELIC_API_KEY="NRAK-87T9RXFE3NZC1S5FMAVLJ9ZR4IG"
positive: newrelic_token: 'NRAK-B65JI7OVBT01Q5M9OMDXJJVRD2F'
positive: {"newrelic_secret": "NRAK-N9RIVHEE1HQXL9QZA9X2P347T20"}
negative: export NEWRELIC_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: newrelic_token = os.environ["NEWRELIC_TOKEN"]
negative: NEWRELIC_SECRET=${NEWRELIC_SECRET}

id: newsapi-api-key
title: NewsAPI key
severity: high
keywords: newsapi news_api
pattern: (?i)\b(?:newsapi|news_api)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NEWSAPI_API_KEY="addd2156404ef439007d46a3dad43930"
positive: newsapi_token: '7f90a691b49718ed88c4cf28abc992a4'
positive: {"newsapi_secret": "f322b1fc4724f661401f1fb59b33e31b"}
negative: export NEWSAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: newsapi_token = os.environ["NEWSAPI_TOKEN"]
negative: NEWSAPI_SECRET=${NEWSAPI_SECRET}

id: newscatcher-api-key
title: NewsCatcher API key
severity: high
keywords: newscatcher
pattern: (?i)\b(?:newscatcher)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{43})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NEWSCATCHER_API_KEY="68i7ttMOsJzDQGkhwZK-Cdd6r9ySVRUKzMLzay_ZBNn"
positive: newscatcher_token: 'ureQX_j6WA6QIY1KfRQ0ptCpUSEPjOFFFfbDbRYwER9'
positive: {"newscatcher_secret": "RiLjQ9EGQMTlx3ZlJczRrsFghq1CdGaXQVNTCgi3Wc4"}
negative: export NEWSCATCHER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: newscatcher_token = os.environ["NEWSCATCHER_TOKEN"]
negative: NEWSCATCHER_SECRET=${NEWSCATCHER_SECRET}

id: nftport-api-key
title: NFTPort API key
severity: high
keywords: nftport
pattern: (?i)\b(?:nftport)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NFTPORT_API_KEY="239c88d5-844a-3717-c4d7-ac44ea7832e8"
positive: nftport_token: '1fbbfc3b-bac8-e723-1492-daad0b145d8b'
positive: {"nftport_secret": "85c3c771-bee3-bc69-695b-a24ad60111c6"}
negative: export NFTPORT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: nftport_token = os.environ["NFTPORT_TOKEN"]
negative: NFTPORT_SECRET=${NFTPORT_SECRET}

id: ngrok-auth-token
title: ngrok authtoken / API key
severity: high
keywords: ngrok
pattern: (?i)\b(?:ngrok)[^\n\r]{0,40}?\b([1-9][A-Za-z0-9]{25,27}_[1-9A-Za-z][A-Za-z0-9]{19,21})(?![\w-])
entropy: 3.5
confidence: medium
positive: export NGROK_API_KEY="2niIZRKGamg29PoSmeVIgkbRZ1P_wAIPjWpn8VXwtzsAw314p"
positive: ngrok_token: '2b67UslfNBUn2e86qNWxNEh7Ei9_ipnxSIm778cHaqqeVhcTo'
positive: {"ngrok_secret": "29ObUxMr2YmGERQ6l0PN6W35y2M_qQBv4pQnGn5meUDbHbORT"}
negative: export NGROK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: ngrok_token = os.environ["NGROK_TOKEN"]
negative: NGROK_SECRET=${NGROK_SECRET}

id: nicereply-api-key
title: Nicereply API key
severity: high
keywords: nicereply
pattern: (?i)\b(?:nicereply)[^\n\r]{0,40}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NICEREPLY_API_KEY="f17c711f9e9e6af4c73ae910342766c69ec8fb8e"
positive: nicereply_token: '5d26d259dc2a606178d168e0cc48fc0611d950b6'
positive: {"nicereply_secret": "e32c656ec10cf746f77f059904581c70738b0b43"}
negative: export NICEREPLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: nicereply_token = os.environ["NICEREPLY_TOKEN"]
negative: NICEREPLY_SECRET=${NICEREPLY_SECRET}

id: nightfall-api-key
title: Nightfall API key
severity: high
keywords: nf-
pattern: \b(NF-[A-Za-z0-9]{32})\b
entropy: 3.0
positive: NIGHTFALL_API_KEY=NF-OjyV6GGgvglf40dfO154No6zUDEUdvwA
negative: NF-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: CONF-d39KBcux3svC9W3i9IZDPphtnED4Ctfz

id: nimble-api-key
title: Nimble CRM API key
severity: high
keywords: nimble
pattern: (?i)\b(?:nimble)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{30})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NIMBLE_API_KEY="gn7wzoFSq4Oe9VsO8NKQLxl0TFZ2im"
positive: nimble_token: 'dwoEB6UNtV3Fm6r0IcSZbRqOVYkn1O'
positive: {"nimble_secret": "z1gn6eugWB3iSGK4qmxjvX6tZkkTgc"}
negative: export NIMBLE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: nimble_token = os.environ["NIMBLE_TOKEN"]
negative: NIMBLE_SECRET=${NIMBLE_SECRET}

id: noticeable-api-key
title: Noticeable API key
severity: high
keywords: noticeable
pattern: (?i)\b(?:noticeable)[^\n\r]{0,30}?\b((?=[a-z]{0,19}\d)(?=\d{0,19}[a-z])[a-z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NOTICEABLE_API_KEY="JB840GcmcOlS6kH8W8YY"
positive: noticeable_token: 'yfKPZEUpGmbbnVg9Xubl'
positive: {"noticeable_secret": "B91Ta03Va5NE6AruWJSo"}
negative: export NOTICEABLE_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: noticeable_token = os.environ["NOTICEABLE_TOKEN"]
negative: NOTICEABLE_SECRET=${NOTICEABLE_SECRET}
negative: There was a noticeable improvementsinperformance today

id: notion-integration-token
title: Notion internal integration token
severity: high
keywords: secret_
pattern: \b(secret_[A-Za-z0-9]{43})\b
entropy: 3.5
positive: NOTION_TOKEN=secret_HV9g5Tu6iDyHj7OctE3RRV8XUVlRu31MxuNFPQpzV0r
negative: secret_key = "xxxx"
negative: secret_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: notion-integration-token-ntn
title: Notion integration token (ntn_ prefix)
severity: high
keywords: ntn_
pattern: \b(ntn_[0-9]{11}[A-Za-z0-9]{35})\b
entropy: 3.5
positive: notion = Client(auth="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")
negative: ntn_xxxxxxxx

id: nozbe-api-key
title: Nozbe Teams API token
severity: high
keywords: nozbe
pattern: (?i)\b(?:nozbe(?:teams|_teams)?)[^\n\r]{0,40}?\b([A-Za-z0-9]{16}_[A-Za-z0-9_=-]{40,90})(?![\w-])
entropy: 3.5
confidence: medium
positive: export NOZBE_API_KEY="87j5r5vAFVwPZBJu_8_BmGq2mjQPa9Ej5ZgeXQYiHMoJBssYHSrtHQjnG0_miKjGQLnrLRh97iWs57MmW"
positive: nozbe_token: 'lLRUALPhZW1sAW6f_S87G-_Iw218YXV4C6oPiZTYe8Z6SKyQOZD4XCbGzqsDeC9y0rCV3nYO9tm62dc26'
positive: {"nozbe_secret": "Txjq9DzO2Q8rVkSX_zIDPa09zx2Uz0fW-0fMnneWyAMB163NgXiwsSwKMCz_OrD1aCJ_t5EoH7KiOm8n9"}
negative: export NOZBE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: nozbe_token = os.environ["NOZBE_TOKEN"]
negative: NOZBE_SECRET=${NOZBE_SECRET}

id: numverify-api-key
title: numverify access key
severity: high
keywords: numverify
pattern: (?i)\b(?:numverify)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NUMVERIFY_API_KEY="c5467e574ef0bee4440baf58678d8b32"
positive: numverify_token: '7cdb6872cb7181f511f0f71055c8133b'
positive: {"numverify_secret": "7f64cd2639da293986ece790b1f44f91"}
negative: export NUMVERIFY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: numverify_token = os.environ["NUMVERIFY_TOKEN"]
negative: NUMVERIFY_SECRET=${NUMVERIFY_SECRET}

id: nvapi-api-key
title: NVIDIA API key (nvapi-)
severity: high
keywords: nvapi-
pattern: \b(nvapi-[A-Za-z0-9_-]{64})(?![\w-])
entropy: 3.5
positive: NVIDIA_API_KEY=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
negative: nvapi-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: nvapi-<key>

id: nylas-api-key
title: Nylas API key / access token
severity: high
keywords: nylas
pattern: (?i)\b(?:nylas)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{30}|nyk_v0_[A-Za-z0-9_]{40,80})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NYLAS_API_KEY="8mzp7v0jie961wco0o3ysgz8wlxlgb"
positive: nylas_token: 'f3vb5l3jqipq0rq75exm1qn71dvshi'
positive: {"nylas_secret": "2j8mob5i1r3255ihfmnlhm1zhwcjg0"}
negative: export NYLAS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: nylas_token = os.environ["NYLAS_TOKEN"]
negative: NYLAS_SECRET=${NYLAS_SECRET}

id: oanda-api-token
title: OANDA API access token
severity: high
keywords: oanda
pattern: (?i)\b(?:oanda)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([a-f0-9]{32}-[a-f0-9]{32}|[A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export OANDA_API_KEY="ea012726613be166c94318341f385a1f-4c765b978a2f7285d62b2b676ab0eceb"
positive: oanda_token: '3698dd8e71dad048c0e6498b5f6f4fae-cf7d17b8089782c13fd485663b8af093'
positive: {"oanda_secret": "d54c656f6be63ae71124318c7da4c79b-8bd436a5b0051e68e0896739d01bb623"}
negative: export OANDA_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: oanda_token = os.environ["OANDA_TOKEN"]
negative: OANDA_SECRET=${OANDA_SECRET}

id: okta-api-token
title: Okta API token
severity: high
keywords: okta ssws
pattern: (?i)\b(?:(?:[a-z0-9]{1,20}_)?okta|ssws)[\s\S]{0,40}?\b(00[A-Za-z0-9_-]{40})(?![\w-])
entropy: 3.5
confidence: medium
positive: export OKTA_API_KEY="00Qy1cqxK4AHeu_fiYQJZPiVMFEB1jT58Cd0dvjz_M"
positive: okta_token: '00G1QTXL88kB2531Exg8yfKM9dnjp5yEKhJj450Uj_'
positive: {"okta_secret": "00qS8KjW7yoQVXUpigTFrWxhke31TZVVJVtF5ra7Bp"}
positive: Authorization: SSWS 00FeejsbW2Wk2bmuNMvshGUqcwFKLVp0D8C-73emxr
negative: export OKTA_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: okta_token = os.environ["OKTA_TOKEN"]
negative: OKTA_SECRET=${OKTA_SECRET}

id: okta-domain
title: Okta organization domain
severity: low
keywords: .okta.com .oktapreview.com .okta-emea.com
pattern: (?:^|[^\w.-])(?!(?:www|developer|developers|help|support|login|status|trust|docs|community|auth0|example|your-?org|your-?domain|dev-123456)\.)([a-z0-9][a-z0-9-]{1,62}\.(?:okta|oktapreview|okta-emea)\.com)\b
confidence: low
positive: OKTA_ORG_URL=https://acme-corp.okta.com
positive: issuer: "https://globex-dev.oktapreview.com/oauth2/default"
negative: https://www.okta.com/pricing
negative: developer.okta.com

id: omnisend-api-key
title: Omnisend API key
severity: high
keywords: omnisend
pattern: (?i)\b(?:omnisend)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{60,80})(?![\w-])
entropy: 3.5
confidence: medium
positive: export OMNISEND_API_KEY="211729ed2f1de126421cf41c-t86X2py6Q5sypNRBY9uoCkztGbZkYQCPPDxGUM2n8jPO4Om6jj"
positive: omnisend_token: 'db13a85ca06a1d31d4870f7d-kDRJ4Z7GZGaL1xmkQ7O6GS8KsMN8AJ63wjSxnN26AcYuQmGGcH'
positive: {"omnisend_secret": "fda37db9cbc715d28170093b-drQtX3FlMxXIhDVfrnxbohgFn6bF3efYosyAt6D7suQdlOxL6H"}
negative: export OMNISEND_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: omnisend_token = os.environ["OMNISEND_TOKEN"]
negative: OMNISEND_SECRET=${OMNISEND_SECRET}

id: onesignal-api-key
title: OneSignal REST API key / app id
severity: high
keywords: onesignal one_signal
pattern: (?i)\b(?:onesignal|one_signal)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}|os_v2_(?:app|org)_[a-z0-9]{50,200})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ONESIGNAL_API_KEY="981140a6-02d7-77ae-f53e-f169d7001f44"
positive: onesignal_token: '2a008237-9052-d2ce-68bb-ce04bcf29b87'
positive: {"onesignal_secret": "6a69b3f8-d820-9c1e-ce3d-dce3a0514905"}
negative: export ONESIGNAL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: onesignal_token = os.environ["ONESIGNAL_TOKEN"]
negative: ONESIGNAL_SECRET=${ONESIGNAL_SECRET}

id: onfleet-api-key
title: Onfleet API key
severity: high
keywords: onfleet
pattern: (?i)\b(?:onfleet)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ONFLEET_API_KEY="87940eb98471516d68b0873cc0329719"
positive: onfleet_token: '06fa62330c4b53dbd957466883419789'
positive: {"onfleet_secret": "6fd779390d9c3e8d1b377a7feca53c29"}
negative: export ONFLEET_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: onfleet_token = os.environ["ONFLEET_TOKEN"]
negative: ONFLEET_SECRET=${ONFLEET_SECRET}

id: oopspam-api-key
title: OOPSpam API key
severity: high
keywords: oopspam
pattern: (?i)\b(?:oopspam)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export OOPSPAM_API_KEY="ufSotw1IFhDLkPcOFHF05YvM8f7GHlUjUZ1p480u"
positive: oopspam_token: 'DsR7YG78HdsHD8XCafTlFgnsV8l3g24p8dyh7VRd'
positive: {"oopspam_secret": "ffBX66xRb1XWEdK8UGHPkr8v2moJNSzm7zzWLuQr"}
negative: export OOPSPAM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: oopspam_token = os.environ["OOPSPAM_TOKEN"]
negative: OOPSPAM_SECRET=${OOPSPAM_SECRET}

id: opencagedata-api-key
title: OpenCage geocoder API key
severity: high
keywords: opencage
pattern: (?i)\b(?:opencage(?:data)?)[^\n\r]{0,40}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export OPENCAGEDATA_API_KEY="fdf0bc6dbc60bdaf86210a74ef5e4a82"
positive: opencagedata_token: '5e7bd7aa6ff73d5314e8691fcccabaf3'
positive: {"opencagedata_secret": "197451ab58f24deacfbf1f3c12bc555d"}
negative: export OPENCAGEDATA_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: opencagedata_token = os.environ["OPENCAGEDATA_TOKEN"]
negative: OPENCAGEDATA_SECRET=${OPENCAGEDATA_SECRET}

id: openuv-api-key
title: OpenUV API key
severity: high
keywords: openuv
pattern: (?i)\b(?:openuv)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export OPENUV_API_KEY="AhctFV8FKrS3JKfMUy3kchmhkbun1X8k"
positive: openuv_token: 'pFKhVgjGd58xyJDLuwrErcm7vjzzhyhq'
positive: {"openuv_secret": "fBDWn8cbcj1CEBMjBH7DswhK4lKanA90"}
negative: export OPENUV_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: openuv_token = os.environ["OPENUV_TOKEN"]
negative: OPENUV_SECRET=${OPENUV_SECRET}

id: openweather-api-key
title: OpenWeatherMap API key
severity: high
keywords: openweather open_weather pyowm owm
pattern: (?i)\b(?:openweather(?:map)?|open_weather(?:_map)?|(?:py)?owm(?:_api)?)[^\n\r]{0,35}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export OPENWEATHER_API_KEY="1414232be3f110794d8cb2605a6a92c3"
positive: openweather_token: '28e4154308083516ec8968043c94d67d'
positive: {"openweather_secret": "9bc5a78dd2cc049cf9365ca93b9dd541"}
positive: owm = pyowm.OWM('9c2ad5aae558f74351a60828652c2a0f')
positive: apikey=openweather:148e801fe5c80a6044deaa8d2856127b
negative: export OPENWEATHER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: openweather_token = os.environ["OPENWEATHER_TOKEN"]
negative: OPENWEATHER_SECRET=${OPENWEATHER_SECRET}

id: opsgenie-api-key
title: Opsgenie API key
severity: high
keywords: opsgenie ops_genie
pattern: (?i)\b(?:opsgenie|ops_genie)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export OPSGENIE_API_KEY="66af7199-4894-86ef-8ecf-cc8154a508d7"
positive: opsgenie_token: 'ecd2138d-c39e-653d-42fd-734996063ac4'
positive: {"opsgenie_secret": "150c6966-7e6e-72a9-efdc-3e8ae62d0905"}
negative: export OPSGENIE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: opsgenie_token = os.environ["OPSGENIE_TOKEN"]
negative: OPSGENIE_SECRET=${OPSGENIE_SECRET}

id: optimizely-api-token
title: Optimizely API token
severity: high
keywords: optimizely
pattern: (?i)\b(?:optimizely)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9][A-Za-z0-9:_-]{30,80})(?![\w-])
entropy: 3.0
confidence: medium
positive: export OPTIMIZELY_API_KEY="2:SydrMTpZnJi_yuvHjk74cAAOl40vnumc3RlYRKVJJbq-j1"
positive: optimizely_token: '2:6xj3Xj_Q-FsC7axiRFZ3dtLS5K3CEfmuLf-QErByqjrFcW'
positive: {"optimizely_secret": "2:u_iwGd17RTU8AtiDl1Rc6MCk0D0UXgioC1trOIhKWPhk4Z"}
negative: export OPTIMIZELY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: optimizely_token = os.environ["OPTIMIZELY_TOKEN"]
negative: OPTIMIZELY_SECRET=${OPTIMIZELY_SECRET}

id: overloop-api-key
title: Overloop API key
severity: high
keywords: overloop
pattern: (?i)\b(?:overloop)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{50,60})(?![\w-])
entropy: 3.0
confidence: medium
positive: export OVERLOOP_API_KEY="4TXDbfT6Y0Goeu4nOI2FrUTXnv5Q9mEAkQXLEWl_0aZfodfsS9pd5j"
positive: overloop_token: 'GMaVgauFenMUdwrv9pKgk-sPtMQDmTSoOrm5eaprvBr5sQvYKV2Rsh'
positive: {"overloop_secret": "Ugew-cq8WEEdE_gWdPKltjaWCkIBATR2Cp7bBKFIBH49GjfiONiE8s"}
negative: export OVERLOOP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: overloop_token = os.environ["OVERLOOP_TOKEN"]
negative: OVERLOOP_SECRET=${OVERLOOP_SECRET}

id: owlbot-api-key
title: Owlbot API token
severity: high
keywords: owlbot
pattern: (?i)\b(?:owlbot)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export OWLBOT_API_KEY="6bcc8a9ec3a1633da3e8e7d1b20764c4138f64fc"
positive: owlbot_token: '5564bb089b7b7aee6ac587d7ced34ef6afcd4313'
positive: {"owlbot_secret": "8aef6080c432f94b6de85d4a41bf32ab5d36ba89"}
negative: export OWLBOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: owlbot_token = os.environ["OWLBOT_TOKEN"]
negative: OWLBOT_SECRET=${OWLBOT_SECRET}

id: packagecloud-api-token
title: packagecloud API token
severity: high
keywords: packagecloud
pattern: (?i)\b(?:packagecloud)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{48})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PACKAGECLOUD_API_KEY="6ff5a562df80b380b18ff51cd10e49e6fd1d575c1589203f"
positive: packagecloud_token: '92b2366f61d1542437043203617b357878ab3ccd463d46e4'
positive: {"packagecloud_secret": "fb400be7e43f60f40eacae8f5969da3ef9a6ebac238d7294"}
negative: export PACKAGECLOUD_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: packagecloud_token = os.environ["PACKAGECLOUD_TOKEN"]
negative: PACKAGECLOUD_SECRET=${PACKAGECLOUD_SECRET}

id: pagarme-api-key
title: Pagar.me API key
severity: critical
keywords: ak_live_ ak_test_
pattern: \b(ak_(?:live|test)_[A-Za-z0-9]{30})\b
entropy: 3.0
positive: PAGARME_API_KEY=ak_live_aLpJJfOVmUJYopVtQIJW6vUDSohBFG
positive: api_key: 'ak_test_KqoqVVVXTEQLEWKZ4V0gaWagvAPwCW'
negative: ak_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: ak_live_<key>

id: pagerduty-api-key
title: PagerDuty API / user token
severity: high
keywords: pagerduty pager_duty pd_api pd_key pd_token pd_user
pattern: (?i)\b(?:pagerduty|pager_duty|pd(?=_(?:api|key|token|user)))[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_+-]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PAGERDUTY_API_KEY="u+AUClh5boSUycgjJmK8"
positive: pagerduty_token: 'u+jT2QCIozczHQvJQI_l'
positive: {"pagerduty_secret": "u+6_n65eHI6ftc5kJUPz"}
negative: export PAGERDUTY_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: pagerduty_token = os.environ["PAGERDUTY_TOKEN"]
negative: PAGERDUTY_SECRET=${PAGERDUTY_SECRET}

id: pandadoc-api-key
title: PandaDoc API key
severity: high
keywords: pandadoc
pattern: (?i)\b(?:pandadoc)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PANDADOC_API_KEY="f16951bc7867cbf8a4b4f5c84556c9bfc30e8a20"
positive: pandadoc_token: '1619196ab346f4742a391778e7e94d573957e62e'
positive: {"pandadoc_secret": "fff87088832b21312bb54144c4a3af1d57c2969f"}
negative: export PANDADOC_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pandadoc_token = os.environ["PANDADOC_TOKEN"]
negative: PANDADOC_SECRET=${PANDADOC_SECRET}

id: pandascore-api-token
title: PandaScore API token
severity: high
keywords: pandascore
pattern: (?i)\b(?:pandascore)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{40,70})(?![\w-])
entropy: 3.5
confidence: medium
positive: export PANDASCORE_API_KEY="p2yAmazD3EroPSR-qnG-9FGdW_qF2bf7noX-0Csz_DUYa2Ockq"
positive: pandascore_token: '3cZ1dqj5Be0iTLN9ty4UOy9hnki0H1XXwMu6uyzfsRIWK2ykTJ'
positive: {"pandascore_secret": "uy_ZT0kTRr7sxcBqT9HJ-4yIpTih1yO0kp-WcLgbfGIKpFie_E"}
negative: export PANDASCORE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pandascore_token = os.environ["PANDASCORE_TOKEN"]
negative: PANDASCORE_SECRET=${PANDASCORE_SECRET}

id: paperform-api-key
title: Paperform API key
severity: high
keywords: paperform
pattern: (?i)\b(?:paperform)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9._-]{200,1500})(?![\w-])
entropy: 3.5
window: 2048
confidence: medium
positive: export PAPERFORM_API_KEY="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJxZVozSjM0SXNORW1PRWtMaVZTVkFZMloiLCJpYXQiOjE3ODQzMzQwNzJ9.FH957b4Yykita83DFA4vHwWfaSLkSLQB8NK2ydgcJYpDVrZtwdUhAu1MEr8cmweDSd39Ry3goOkemdcyl2-4g31PBV7sDdrL8-FGhsdb-40oJAJwWVdO0TkStE0kzqLwq2LwIyQyyY25Qy-"
positive: paperform_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJWZlUzeUE1NFc5OTJreHBKM2U2OXNwbG8iLCJpYXQiOjE3NjQwOTM2NTl9.Cz6EQc_-WLC-rEckiNkc4kw4s5n-y1SlwRNJmgS-5qbwxLsiPEjQcSCVnrsF-d7fnIIiQn2WRdyLhj-UMsIMxLzFY2oXuBjZ57k9i8yAWHPLHD5nPXBRD1fFc4iQ6bssFDF0qsf-3rp9cn3'
positive: {"paperform_secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI2azE2QWtZQUxqQllEc2l0and1VzV4aXAiLCJpYXQiOjE3NTI5MTEzNTN9.SbFxOZ2IsJ0fp7hBJkAhu9TXLEdeEwWCCuisNOBgWEz0b9BB1HIsWK2aRdDBEg_8XqDMFQODdfDmMJ_0YR4ErrtAtn60Jl0-dW9t6LnC7Gpubgiu-OwU9I8CmpJnytoLHRnmuQiGqUBb_rK"}
negative: export PAPERFORM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: paperform_token = os.environ["PAPERFORM_TOKEN"]
negative: PAPERFORM_SECRET=${PAPERFORM_SECRET}

id: paralleldots-api-key
title: ParallelDots API key
severity: high
keywords: paralleldots
pattern: (?i)\b(?:paralleldots)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{43})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PARALLELDOTS_API_KEY="xIrpkPXnZYCLc38jvyQBraFvacopxSd5sAtovCJmqZx"
positive: paralleldots_token: '8kgek7SoxHHsRnQj1A4KTWYhJbcvcPAMz5e97h0FTkT'
positive: {"paralleldots_secret": "G6HcndRAkDJ8U8V2RyhQOh6szsIyaKo3HrbVAqB6K9z"}
negative: export PARALLELDOTS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: paralleldots_token = os.environ["PARALLELDOTS_TOKEN"]
negative: PARALLELDOTS_SECRET=${PARALLELDOTS_SECRET}

id: parseur-api-key
title: Parseur API key
severity: high
keywords: parseur
pattern: (?i)\b(?:parseur)[^\n\r]{0,40}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PARSEUR_API_KEY="e1692f3122b7ff74617f72314eb529467d8c57f2"
positive: parseur_token: 'efa3262b3bd5c74a6fd2cb8188b687309a8f049a'
positive: {"parseur_secret": "9bc0d85c7a12c0bb79e585c2fa5772c6526ffc33"}
negative: export PARSEUR_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: parseur_token = os.environ["PARSEUR_TOKEN"]
negative: PARSEUR_SECRET=${PARSEUR_SECRET}

id: particleio-access-token
title: Particle.io access token
severity: high
keywords: particle.io
pattern: (?i)particle\.io[\s\S]{0,200}?(?:access_token=|bearer\s{1,5})([a-f0-9]{40})\b
entropy: 3.0
positive: curl "https://api.particle.io/v1/devices?access_token=ca8190a9474db9c6193bd4ab9bea0043e64921f7"
negative: curl https://api.particle.io/v1/devices?access_token=$PARTICLE_TOKEN

id: particleio-access-token-header
title: Particle.io access token (before the URL)
severity: high
keywords: particle.io
pattern: (?i)(?:access_token=|bearer\s{1,5})([a-f0-9]{40})\b[^\n]{0,40}(?:\\\s{0,4})?\s{0,10}https://api\.particle\.io
entropy: 3.0
positive: curl -H "Authorization: Bearer 23a4e174e57911a8f68bd25d8044a6e3e464ce54" https://api.particle.io/v1/devices
negative: curl -H "Authorization: Bearer $TOKEN" https://api.particle.io/v1/devices

id: partnerstack-api-key
title: PartnerStack API key
severity: high
keywords: partnerstack
pattern: (?i)\b(?:partnerstack)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PARTNERSTACK_API_KEY="UnKAyxZYn8FZMnF0qlkIZ9Hq1NB9gthBXoQMaXPWZpv3N5HJ8ShtfwGMIaNfisXM"
positive: partnerstack_token: 'ajOthD4gwzlxYQ7XtkN5wCBxzHjCaonAIdadpY23PhzzfHqnfD00JKNhOzVPKGYs'
positive: {"partnerstack_secret": "Irs4e4RhsqlDe0IpxtI0pO5Z5EidzTrf93RrHsiM1m8Blps3JeXLwz2gDBeARr4w"}
negative: export PARTNERSTACK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: partnerstack_token = os.environ["PARTNERSTACK_TOKEN"]
negative: PARTNERSTACK_SECRET=${PARTNERSTACK_SECRET}

id: pastebin-api-key
title: Pastebin developer API key
severity: high
keywords: pastebin
pattern: (?i)\b(?:pastebin)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PASTEBIN_API_KEY="B7h2UliD0U2D46cntLs0WupwHiiWRZ4b"
positive: pastebin_token: 'OnKStDIOEfpIBDo0LOu-B4XuDpEqjDec'
positive: {"pastebin_secret": "fNd_EU5-6jgZBGRoNhkungC6oaNeGAsa"}
negative: export PASTEBIN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pastebin_token = os.environ["PASTEBIN_TOKEN"]
negative: PASTEBIN_SECRET=${PASTEBIN_SECRET}

id: paydirtapp-api-key
title: PayDirt API key
severity: high
keywords: paydirt
pattern: (?i)\b(?:paydirt(?:app)?)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PAYDIRTAPP_API_KEY="832edd7cb4456c960f1756e7c72ae9fb"
positive: paydirtapp_token: '54f6c59d3ed7bc897a720d5dbae87b54'
positive: {"paydirtapp_secret": "40522ef9c15271e6fdc471983d438211"}
negative: export PAYDIRTAPP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: paydirtapp_token = os.environ["PAYDIRTAPP_TOKEN"]
negative: PAYDIRTAPP_SECRET=${PAYDIRTAPP_SECRET}

id: paymoapp-api-key
title: Paymo API key
severity: high
keywords: paymo
pattern: (?i)\b(?:paymo(?:app)?)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{44})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PAYMOAPP_API_KEY="BIPmJt06KFyuW1a8utY5KamHupcmxck5ivJqLimh5BLO"
positive: paymoapp_token: 'eE7hmaKIRt7mqZt3LJwClt10S09SVZSFGGacxOQl1NRs'
positive: {"paymoapp_secret": "w8kS7xlLAGQGlyGLbjbjmPPGO94P5OhDtBYcnxqlvMkV"}
negative: export PAYMOAPP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: paymoapp_token = os.environ["PAYMOAPP_TOKEN"]
negative: PAYMOAPP_SECRET=${PAYMOAPP_SECRET}

id: paymongo-api-key
title: PayMongo secret key
severity: critical
keywords: paymongo
pattern: (?i)\b(?:paymongo)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b((?:sk|pk)_(?:live|test)_[A-Za-z0-9]{24}|[A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PAYMONGO_API_KEY="sk_live_pWMfTJLIvoqA5xMSd1Yz41o9"
positive: paymongo_token: 'sk_live_1R2E2o0ZsfKkUgCWrQgsCKVT'
positive: {"paymongo_secret": "sk_live_jYYvmWG2hvQ5cuEM2EDQjBiD"}
negative: export PAYMONGO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: paymongo_token = os.environ["PAYMONGO_TOKEN"]
negative: PAYMONGO_SECRET=${PAYMONGO_SECRET}

id: paypal-client-id
title: PayPal OAuth client id
severity: medium
keywords: paypal
pattern: (?i)\b(?:paypal)[^\n\r]{0,30}?\b(A[A-Za-z0-9_-]{55,85})(?![\w-])
entropy: 3.5
confidence: medium
positive: export PAYPAL_API_KEY="AomEVkWX1dwxBukwOJ2HOq-o1hgOj9H6swm_PmqhtZKAQBBqhs9Rxu_WTvN5zr57kYTtNUYajRUzRmS7"
positive: paypal_token: 'AJ1aoO6YeHDxpbhr3dgLyywAj_fJ-C0k0nhyZ2g8KJcSrOcd0d48e8GgBzeqaHE7u_1qmDC08pq_NWdA'
positive: {"paypal_secret": "Ak_gJEvqPyigepca1SByuCOz-_c9xvCY2VxFL_Q97n9H4MSMYmCo0nkm_5MtIzz88MlbgdoguYxmaPpP"}
negative: export PAYPAL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: paypal_token = os.environ["PAYPAL_TOKEN"]
negative: PAYPAL_SECRET=${PAYPAL_SECRET}

id: paypal-client-secret
title: PayPal OAuth client secret
severity: critical
keywords: paypal
pattern: (?i)\b(?:paypal)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b(E[A-Za-z0-9_-]{55,85})(?![\w-])
entropy: 3.5
confidence: medium
positive: export PAYPAL_API_KEY="EG7yXFYVAoHpfF6RmieTNfARyk0oLYjHtz1fZVgSNd26Tt3aXo8VfLQ89uqay--e8qMYaKbw6j5Dgn2R"
positive: paypal_token: 'EpMenROKnjxAkZNbjXVHHiWPgWzT0btq-V8T3GZ9U-gyAXxmVRnemV6XkKP1xY_vKT1baqYxKA1rPQkp'
positive: {"paypal_secret": "EON2-WyAlh2PG6Y3JL-yuC2i_L9BiX6cgZECQfdv0u51LtvbVHVRMl7ryQvBHYM-Etl07DeoAYshUzEP"}
negative: export PAYPAL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: paypal_token = os.environ["PAYPAL_TOKEN"]
negative: PAYPAL_SECRET=${PAYPAL_SECRET}

id: paypal-braintree-access-token
title: PayPal Braintree access token
severity: critical
keywords: access_token$production$ access_token$sandbox$
pattern: \b(access_token\$(?:production|sandbox)\$[a-z0-9]{16}\$[a-f0-9]{32})\b
entropy: 3.0
positive: BRAINTREE_TOKEN=access_token$production$46p3gwf458f8dnfg$8223f98466aa545a09605826afb8b799
negative: access_token$production$<merchant>$<token>

id: paystack-secret-key-live
title: Paystack live secret key
severity: critical
keywords: sk_live_
pattern: \b(sk_live_[A-Za-z0-9]{40})\b
entropy: 3.0
positive: PAYSTACK_SECRET_KEY=sk_live_674d6e6fd1fd3c5d6d11bad6ab68807442d12b31
negative: sk_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: sk_live_dHReQiuW4EJL036crikcKTJd

id: paystack-secret-key-test
title: Paystack test secret key
severity: medium
keywords: sk_test_
pattern: \b(sk_test_[A-Za-z0-9]{40})\b
entropy: 3.0
positive: paystack = Paystack(secret_key="sk_test_301baf2089708e340552bcb42e68b4426c7a7cd5")
negative: sk_test_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: pdflayer-api-key
title: pdflayer access key
severity: high
keywords: pdflayer
pattern: (?i)\b(?:pdflayer)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PDFLAYER_API_KEY="b961fd7d19926fa497732f54a7db2025"
positive: pdflayer_token: 'b627c50ba3ac408f34ffc73c24242e84'
positive: {"pdflayer_secret": "72ebaa4ff4aaa9daa0878240112474cf"}
negative: export PDFLAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pdflayer_token = os.environ["PDFLAYER_TOKEN"]
negative: PDFLAYER_SECRET=${PDFLAYER_SECRET}

id: pdfshift-api-key
title: PDFShift API key
severity: high
keywords: pdfshift
pattern: (?i)\b(?:pdfshift)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PDFSHIFT_API_KEY="ba7def1d13ce7fc2c5021a2165ba3a1b"
positive: pdfshift_token: '09dc5f2aafba708a8bf0eed2004d3e96'
positive: {"pdfshift_secret": "141f85102f3afaa17825c35df948bfb8"}
negative: export PDFSHIFT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pdfshift_token = os.environ["PDFSHIFT_TOKEN"]
negative: PDFSHIFT_SECRET=${PDFSHIFT_SECRET}

id: pem-private-key
title: PEM-encoded private key
severity: critical
keywords: -----BEGIN
pattern: (-----BEGIN[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,300}?[A-Za-z0-9+/]{60}[\s\S]{0,8000}?-----END[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----)
window: 8192
positive: -----BEGIN RSA PRIVATE KEY-----\nR7N+qLuPXtUAOx+8/IvlMDUMOedSAzV1Q/lK0cvA08WMWQzg8O5dVb7hCXAPnqNr\nZxAQ/Sy3NtOHvlQnxQUUl2WoFY+VHN2lS2nyQOcFZ6ju91s2OgSHJL5XQ1X2kcGo\nPiPMmDmC3ChGnrNITnH+0RlGK0PVX4BcFNB+EaqXR//S67MWLDbnygs0faGuU1ag\n+pjRH5UMAz9xt1U37jjJK6rgSd3wg7zNcamS5vGcxdN9bzMB9i4hYUnebBrnrCNR\ny+tBKn3CybFGLkQS5qKelb+RWaUNLPdH4yZoRzh6dfrOzbIV9PbHWa7NmDmMVKzR\nXokwbSN+ZYD6/sCDamNWi1mAXMItUvyaylJom+eharbd5ho+c28SE3CwYEVM7yPl\nraGOXw+PXOZToJaK1UPKOjOTHPMwDE7I0lXD3RVuz6fm1ksnvs1s+JwnBkZK4DNU\nytxfeyE4dI3cZ+KjivpeDK9Ofyzro0r9dTtBli8QF2+zWZXKnYyZrwym3RM9otn6\nt6p66z3EX5VnT6kca+j4ch575HCswrCV1kwY3mdR5679FGH0UYiDs4UrVkoXLHwk\niN5npoErHZisRbsGtjJcUTJSoz/LDfDgbDXHBFdhpHOzIKAtzsNDq+cgwPT65d17\n8ph/K+h5J6RApgdTyRr8CCGX8SgRhpE7EC+FpjVFaCaUcg6MyioDz1hYEe1rj+wt\nvTu0uSRVOP3d51B7prFcTWNwfpDjRsSMH9M5RBUIZdsxvL6nEdhUaMaGhLowPaOv\n-----END RSA PRIVATE KEY-----\n
positive: key = """-----BEGIN PRIVATE KEY-----\nEMjrtkVSfM+OWUEcfUQcgkbEeCZoPKpmigpeeB/n6wxp3dAr/xD2rxKy8+G8nUT4\n59VATbeAAkP6qVMxOIs+mvzvSMb+zpVsniv1O1R8lT9ieVZysBnBFApUpobLvIEy\nTfcvvjnxJvQHMuCWYZ0gzyfqevQKDMM31epgpSgef7eOLssH30di9Um0re7GtUc2\n+IvV7yq8vAMZtRs+jBrp808y+M80EI3elu6R5U5q52Z9NEvPEqlzImlg4WvmJDT3\n7qpkX2vI2SBIgW37E8CjJWpWKQcLO8exfBun2u7QRUKJRi3bgTSW04wHvxFQIfs+\nhI3vsB48qMaB0rm574/CVkQfDF2OKIxYuUW7CdQrbRwsYLfNhHMRayEzdx+cosCU\nUolDywOalO3hzpuQJJHm3pn746AFiXItrXQ+H7FwZlU81FqfieKyX0HbhFlEP2C7\n+TsrmNWrIRMOCt3gXpfwefxqJxxoy+R9XMhMe035HM7ymmMXQJrb+JcXZBtvmJV1\n-----END PRIVATE KEY-----"""
negative: -----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----
negative: -----BEGIN PUBLIC KEY-----\nlPUpyzxjwTwZF9VKO/RGX6US8gwiQqRvyAIk3TOPVVVyLAYdhbtD0cREdjgf6xuh\njPZ8M9Es2SegL+a/y333Hb7NfXZtfgzREYdblLzpxPCdztMUpCqzsvDW5Z/tOT6/\nwA0KVFivCxOC7rd82kDrmMFpYE5TsxShyys2CxjVl6LTQSvPkmz3+JFAJlqZLhZh\nixc4nYifuyX0/Zx80xqkRfBwJxmMBlD6AtN8kgfuT68v29yS4AuPwoZhyu/FfcYA\n-----END PUBLIC KEY-----

id: pem-private-key-base64
title: Base64-encoded PEM private key
severity: critical
keywords: LS0tLS1CRUdJTi
pattern: \b((?:LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0t|LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t|LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0t|LS0tLS1CRUdJTiBPUEVOU1NIIFBSSVZBVEUgS0VZLS0t|LS0tLS1CRUdJTiBEU0EgUFJJVkFURSBLRVktLS0t|LS0tLS1CRUdJTiBFTkNSWVBURUQgUFJJVkFURSBLRVktLS0t|LS0tLS1CRUdJTiBQR1AgUFJJVkFURSBLRVkgQkxPQ0stLS0t)[A-Za-z0-9+/]{200,8000}={0,2})(?![\w+/=-])
window: 8192
positive: PRIVATE_KEY_B64=LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCnZwb0ZZSlZxbDVVbXF1RExveUFIbzNrK01renlGWHFVd0NrdDNla3BQTFByR2VleFlvUE5nT2pIRDhlYkdieTEKbHZ1TUE1aFV0eWloa3luMVlHL0Q1Wlh5Nmx3TVFkVU9JSFZPRzlRUmRrbXIrVyt6d3Vmc3pUbWFPcVRRQ1A2Nwo1em0rYzk3dDFvZUs0S2dobjExN3JzdE5lWGRtT3EydUd0OGlobVpxcGlkYzkxTkFVUStSYk02ZEdjU3dHME9HCmZuaU1HT0oxdWRKQUg4aFMvZklpZGo4T0dFUnFXVjBENDFyekNnZGpocVJrZjdDL3pvYTRuZU12c3VqV1NGV3oKWWY0TnBzZ2ZzWlhoNzZxT2FybDdLU1ZmM3BTL0k1azNReCtnOXZITFlyOTlzbEEva0JwdWlKaWdUSko5V2Z1cAppalZrZWNrM1hXdmpPdlpDVnA2TG5RRE9PZUxMQjBlTE8rT2Jxd1hYS09xZ1pJQ3Q3ancwK29PR1diTjhqNXdjCi0tLS0tRU5EIFBSSVZBVEUgS0VZLS0tLS0K
negative: LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KL2h4aXlOVDNvV25qVFErQUg1RFVnRDE1SUlkRng4a0ZxU3NpUjJxWE40dDUvcGdNdnpQcTlIK1RpdFg3azIyagpMRzZ2TGZQcFFiK1llZTJSczZFVk9ZUXBGYWwxbmQxcWtPRXRROU9mMUVVZ1ZuUHpwcTRnZGhhOGs4Tnp5YUg5Cnc1bm13MXNsSzJiOXFROXJlODVwVGtVVkx6WERnbCtacEFXZmYzaGdFeFBKTUsrWWhPNTZCRnNPZzY4SHVCR1kKQkE2RXhGQjJCelYwaWZ6MFV0SWp1VVgzNW8yQ2VQcnFqakVBNEZJNVQwM3h0dmY2UVhhY01JZ2duK2k0QytEeQ==

id: peopledatalabs-api-key
title: People Data Labs API key
severity: high
keywords: peopledatalabs people_data_labs pdl_api
pattern: (?i)\b(?:peopledatalabs|people_data_labs|pdl_api)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PEOPLEDATALABS_API_KEY="818e3c7b659d740c96afbfd1b68fddc1067c674b3c134b5898b320d75d5dd275"
positive: peopledatalabs_token: '5fa2c9f5d9d9b6c890859fe88586a1272177223c7484fb5f820c1b9b3fe25131'
positive: {"peopledatalabs_secret": "a3437911ca40bbd912ee48c15b63845ef0841b73bd22a5fcfa9a22424826f649"}
negative: export PEOPLEDATALABS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: peopledatalabs_token = os.environ["PEOPLEDATALABS_TOKEN"]
negative: PEOPLEDATALABS_SECRET=${PEOPLEDATALABS_SECRET}

id: pepipost-api-key
title: Pepipost (Netcore Email) API key
severity: high
keywords: pepipost netcore
pattern: (?i)\b(?:pepipost|netcore)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PEPIPOST_API_KEY="cffff06ba8ee248b1c6476b53576649f"
positive: pepipost_token: 'fc4ad8d7f203b04890feb10a9ec01ff5'
positive: {"pepipost_secret": "a3fa076e87510970910326140b40df3a"}
negative: export PEPIPOST_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pepipost_token = os.environ["PEPIPOST_TOKEN"]
negative: PEPIPOST_SECRET=${PEPIPOST_SECRET}

id: pipedream-api-key
title: Pipedream API key
severity: high
keywords: pipedream
pattern: (?i)\b(?:pipedream)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PIPEDREAM_API_KEY="daf76d92a71ba29bbec3cad4f05619b5"
positive: pipedream_token: '06dddc59c49ab472da85f7bafb82eb43'
positive: {"pipedream_secret": "9bc1448e845507d4abccd91efa99c5d4"}
negative: export PIPEDREAM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pipedream_token = os.environ["PIPEDREAM_TOKEN"]
negative: PIPEDREAM_SECRET=${PIPEDREAM_SECRET}

id: pipedrive-api-token
title: Pipedrive API token
severity: high
keywords: pipedrive
pattern: (?i)\b(?:pipedrive)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PIPEDRIVE_API_KEY="68d326a9c3755378266445171b5db106a0cabea1"
positive: pipedrive_token: 'bb2f85edbcf030531670a849fcd8c2977fdda257'
positive: {"pipedrive_secret": "705611c5bf0bc5da80d9cc4c8058b732a59700c6"}
negative: export PIPEDRIVE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pipedrive_token = os.environ["PIPEDRIVE_TOKEN"]
negative: PIPEDRIVE_SECRET=${PIPEDRIVE_SECRET}

id: pixabay-api-key
title: Pixabay API key
severity: high
keywords: pixabay
pattern: (?i)\b(?:pixabay)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b(\d{7,9}-[a-f0-9]{25}|[A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PIXABAY_API_KEY="09770889-387b9ec192daf2ffebfd8be9f"
positive: pixabay_token: '25224922-de59dc18c41fe028c55f055fa'
positive: {"pixabay_secret": "82218892-22499ef48307e892c2c109391"}
negative: export PIXABAY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pixabay_token = os.environ["PIXABAY_TOKEN"]
negative: PIXABAY_SECRET=${PIXABAY_SECRET}

id: planetscale-api-token
title: PlanetScale service token
severity: high
keywords: pscale_tkn_ pscale_oauth_
pattern: \b(pscale_(?:tkn|oauth)_[A-Za-z0-9_.=-]{32,64})(?![\w.=-])
entropy: 3.5
positive: PLANETSCALE_SERVICE_TOKEN=pscale_tkn_vprtsepN9pmQ1dt8QcyTXc-Z4c5sbe8wB5dBz6UsWtS
negative: pscale_tkn_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: planetscale-password
title: PlanetScale database password
severity: critical
keywords: pscale_pw_
pattern: \b(pscale_pw_[A-Za-z0-9_.=-]{32,64})(?![\w.=-])
entropy: 3.5
positive: DATABASE_URL=mysql://u1a2b3c4:pscale_pw_aRq0sUM19n0NgsXU_Jkbl0lD0EBAkf2EZ6Zkfp95Bme@aws.connect.psdb.cloud/app
negative: pscale_pw_<password>

id: planetscale-username
title: PlanetScale database username / service token id
severity: low
keywords: pscale planetscale planet_scale
pattern: (?i)\b(?:pscale|planetscale|planet_scale)[^\n\r]{0,30}?\b([a-z0-9]{12})(?![\w-])
entropy: 2.8
confidence: medium
positive: export PLANETSCALE_API_KEY="w6cxel1vtdih"
positive: planetscale_token: '14h9rvqj7c1b'
positive: {"planetscale_secret": "zf31yz147tpp"}
negative: export PLANETSCALE_API_KEY="xxxxxxxxxxxx"
negative: planetscale_token = os.environ["PLANETSCALE_TOKEN"]
negative: PLANETSCALE_SECRET=${PLANETSCALE_SECRET}

id: planyo-api-key
title: Planyo API key
severity: high
keywords: planyo
pattern: (?i)\b(?:planyo)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{60,64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PLANYO_API_KEY="JpwoRxVchM89hSDeyZItiHYHagPLIdhui5dVKPnm1yENl7BXKadXXTNrxYzAto"
positive: planyo_token: 'rSLmzF8leRlngf1Vd325GftDiwOwIF8Mjva24aFXdIqx5rC21RVme62yqvsXui'
positive: {"planyo_secret": "7FnquCoWZLXEG4XVxD9PVjiruglBeZAHrAF8VjWekdmymFEhW5SH0abL8xMj4h"}
negative: export PLANYO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: planyo_token = os.environ["PLANYO_TOKEN"]
negative: PLANYO_SECRET=${PLANYO_SECRET}

id: podio-api-key
title: Podio client secret / token
severity: high
keywords: podio
pattern: (?i)\b(?:podio)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32}|[A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PODIO_API_KEY="o2A4esUS8a3cHZudqyQKxdZX1bQmdUY9"
positive: podio_token: 'fcqJ1ZNQVqgxfei1rKMQw7bsbdeeIWX3'
positive: {"podio_secret": "X2cNoVHWow6f8pMuVKVjZqm6XoAXfCXR"}
negative: export PODIO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: podio_token = os.environ["PODIO_TOKEN"]
negative: PODIO_SECRET=${PODIO_SECRET}

id: pollsapi-api-key
title: PollsAPI key
severity: high
keywords: pollsapi polls_api
pattern: (?i)\b(?:pollsapi|polls_api)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{28})(?![\w-])
entropy: 3.0
confidence: medium
positive: export POLLSAPI_API_KEY="CN5ZYR2VEK35021844C2QL5FNLLA"
positive: pollsapi_token: '5AZ5ULG3D6DUILIOAPPTIXRIB25B'
positive: {"pollsapi_secret": "YK8N61X62Z8TCLOHBZZZI6SGN5G1"}
negative: export POLLSAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pollsapi_token = os.environ["POLLSAPI_TOKEN"]
negative: POLLSAPI_SECRET=${POLLSAPI_SECRET}

id: polygon-api-key
title: Polygon.io API key
severity: high
keywords: polygon
pattern: (?i)\b(?:polygon(?:io|_io|\.io)?)[^\n\r]{0,20}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,20}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.5
confidence: medium
positive: export POLYGON_API_KEY="muurtHHlPxIf2ySKCEgVjzNromhJdDij"
positive: polygon_token: 'Uhikjhrs7bJx1sQsKioh8BcJRv1rIMlU'
positive: {"polygon_secret": "w5UCm4Xj5mAwO76y4zp0bbyjGU20tLSa"}
negative: export POLYGON_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: polygon_token = os.environ["POLYGON_TOKEN"]
negative: POLYGON_SECRET=${POLYGON_SECRET}

id: positionstack-api-key
title: positionstack access key
severity: high
keywords: positionstack
pattern: (?i)\b(?:positionstack)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export POSITIONSTACK_API_KEY="a67d58bfad1347936a224e969ed56ac2"
positive: positionstack_token: 'fccb77199f9f77cb3d147c209af8f701'
positive: {"positionstack_secret": "fba230cefcbde50c4e7598ec9612d5f6"}
negative: export POSITIONSTACK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: positionstack_token = os.environ["POSITIONSTACK_TOKEN"]
negative: POSITIONSTACK_SECRET=${POSITIONSTACK_SECRET}

id: postageapp-api-key
title: PostageApp API key
severity: high
keywords: postageapp postage_app
pattern: (?i)\b(?:postageapp|postage_app)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export POSTAGEAPP_API_KEY="1JCNkqoDxqq9xPrrTpaeqPugKyqgbhwe"
positive: postageapp_token: 'BKFHgNhaSVv8GDNgsL7RgAAs2zfoT89M'
positive: {"postageapp_secret": "N5eB1FKSeGkHobr6CIPGoyvDGUyuBsty"}
negative: export POSTAGEAPP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: postageapp_token = os.environ["POSTAGEAPP_TOKEN"]
negative: POSTAGEAPP_SECRET=${POSTAGEAPP_SECRET}

id: posthog-personal-api-key
title: PostHog personal API key
severity: high
keywords: phx_
pattern: \b(phx_[A-Za-z0-9_]{43})\b
entropy: 3.5
positive: POSTHOG_PERSONAL_API_KEY=phx_v1ZFu8mPdR3TAJJIkYVrfb1jA_a6CSNqEVIfptyuHoW
negative: phx_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: posthog-project-api-key
title: PostHog project API key (public, identifies the project)
severity: low
keywords: phc_
pattern: \b(phc_[A-Za-z0-9_]{43})\b
entropy: 3.5
positive: posthog.init('phc_5GUFDgXlL0Ikwnc4e8eQcW0wgApYiGDp42G2M8UwHYV')
negative: phc_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: postman-api-key
title: Postman API key
severity: high
keywords: pmak-
pattern: \b(PMAK-[a-f0-9]{24}-[a-f0-9]{34})\b
entropy: 3.0
positive: POSTMAN_API_KEY=PMAK-be6df4e2a6cae531219f37eb-72fc076ab6945bf1b29e945b59ed0cb7d3
negative: PMAK-xxxxxxxxxxxxxxxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: PMAK-<key>

id: postmark-server-token
title: Postmark server / account token
severity: high
keywords: postmark
pattern: (?i)\b(?:postmark)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export POSTMARK_API_KEY="8c60db21-a612-3cb1-a7e0-fa2b7c9b45fd"
positive: postmark_token: '4da681a7-a782-a5c4-0e65-56cc58e95c46'
positive: {"postmark_secret": "561149a1-93cb-db14-47c7-7217cfd52a32"}
negative: export POSTMARK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: postmark_token = os.environ["POSTMARK_TOKEN"]
negative: POSTMARK_SECRET=${POSTMARK_SECRET}

id: powrbot-api-key
title: PowrBot API key
severity: high
keywords: powrbot
pattern: (?i)\b(?:powrbot)[^\n\r]{0,30}?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r]{0,30}?\b([A-Za-z0-9]{50})(?![\w-])
entropy: 3.0
confidence: medium
positive: export POWRBOT_API_KEY="5iIrwgzpcyZCPsZcYiRZrvXStT0w7YtaP5i8AU4w3kqIDKfRXG"
positive: powrbot_token: 'BjOR3fTm7cHUlN2Xs9niHdkXAHwK5FEN0mYXYHtTqjXp7qBN0e'
positive: {"powrbot_secret": "XN9eKpSUFLruA0yFsrdbkQLjEzKD00YJQJeeGhbfl5anboC6FV"}
negative: export POWRBOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: powrbot_token = os.environ["POWRBOT_TOKEN"]
negative: POWRBOT_SECRET=${POWRBOT_SECRET}

id: prefect-api-key
title: Prefect Cloud API key
severity: high
keywords: pnu_ pnb_
pattern: \b(pn[ub]_[A-Za-z0-9]{36})\b
entropy: 3.5
positive: PREFECT_API_KEY=pnu_XdflGGvYhrLxI53b7RTOa5CUbUospQHlxvV7
negative: pnu_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: pnu_<key>

id: privacy-api-key
title: Privacy.com API key
severity: high
keywords: privacy
pattern: (?i)\b(?:privacy(?:com|_com|\.com)?)[_.-]?(?:api[_.-]?)?(?:access[_.-]?|secret[_.-]?|private[_.-]?|auth[_.-]?)?(?:key|token|secret)[\w.-]{0,10}?["\']?\s{0,3}[:=]{1,2}\s{0,3}["\']?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PRIVACY_API_KEY="710844cd-0659-1ead-5de8-96947265926e"
positive: privacy_token: '24d64f9d-e1f0-ab9a-fe74-0913096e7e95'
positive: {"privacy_secret": "3bb84b52-a4fe-7135-ae80-dd7ab58b8f8f"}
negative: export PRIVACY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: privacy_token = os.environ["PRIVACY_TOKEN"]
negative: PRIVACY_SECRET=${PRIVACY_SECRET}
"""#
}
