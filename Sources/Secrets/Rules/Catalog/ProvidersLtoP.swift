extension RuleCatalog {
    /// Provider rules L to N (context and prefix rules for SaaS API keys, from languagelayer to Nylas).
    static let providersLtoP = #"""
id: languagelayer-api-key
title: languagelayer access key
severity: high
keywords: languagelayer
pattern: (?i)\b(?:languagelayer)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LANGUAGELAYER_API_KEY="1550f974f5e7f790c8820abdad60418b"
positive: languagelayer:\n  api_token: '985ad1c51dd612a5240fd4b441680eb9'
positive: {"languagelayer_secret": "0accd763dcae7a536520662a4bb196d2"}
negative: export LANGUAGELAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: languagelayer_token = os.environ["LANGUAGELAYER_TOKEN"]
negative: LANGUAGELAYER_SECRET=${LANGUAGELAYER_SECRET}
negative: languagelayer_api_key: "<your-languagelayer-api-key>"
negative: "resolved": "https://registry.npmjs.org/languagelayer-auth/-/languagelayer-auth-1.2.0.tgz#7abacf6fe23568c21b2f2aec9e5149f1"

id: launchdarkly-access-token
title: LaunchDarkly API / SDK key
severity: high
keywords: launchdarkly launch_darkly ldclient
pattern: (?i)\b(?:launchdarkly|launch_darkly|ldclient)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?:(?:api|sdk|mob)-)?[a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LAUNCHDARKLY_API_KEY="sdk-d224ef2c-5953-1148-cc7f-808f4e403d44"
positive: launchdarkly:\n  api_token: 'sdk-a65dcaa0-6278-d21f-8da5-351d980edca3'
positive: {"launchdarkly_secret": "sdk-ddb63e1d-31a1-6c15-5d72-69fccfb84a67"}
negative: export LAUNCHDARKLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: launchdarkly_token = os.environ["LAUNCHDARKLY_TOKEN"]
negative: LAUNCHDARKLY_SECRET=${LAUNCHDARKLY_SECRET}
negative: launchdarkly_api_key: "<your-launchdarkly-api-key>"
negative: "resolved": "https://registry.npmjs.org/launchdarkly-auth/-/launchdarkly-auth-1.2.0.tgz#d93818982e925abc197438ce79b8012a052a097c"

id: leadfeeder-api-key
title: Leadfeeder API token
severity: high
keywords: leadfeeder
pattern: (?i)\b(?:leadfeeder)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{40,64})(?![\w-])
entropy: 3.5
confidence: medium
positive: export LEADFEEDER_API_KEY="HYQkAwwunruVObzcqs0wHiuQ7es4hzQFuXv3rwh0FdQrpyVt"
positive: leadfeeder:\n  api_token: '5evEnPbiik1iiXWceRtDzZ9ZqmAogEm96TUXnMaF7dcm8xeX'
positive: {"leadfeeder_secret": "s8GjS-KpeoM21suXdM0KRO5qx6vnvwH0npeyFnKiKWfMrNwu"}
negative: export LEADFEEDER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: leadfeeder_token = os.environ["LEADFEEDER_TOKEN"]
negative: LEADFEEDER_SECRET=${LEADFEEDER_SECRET}
negative: leadfeeder_api_key: "<your-leadfeeder-api-key>"
negative: "resolved": "https://registry.npmjs.org/leadfeeder-auth/-/leadfeeder-auth-1.2.0.tgz#6b7395750d6a078edfbde95256ea2588b893596965cb9aec"

id: lemlist-api-key
title: lemlist API key
severity: high
keywords: lemlist
pattern: (?i)\b(?:lemlist)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LEMLIST_API_KEY="009f2a8048a4399e2f9a0f360ae0a421"
positive: lemlist:\n  api_token: '51d0f1dade0f5152620360faa7b9145c'
positive: {"lemlist_secret": "3a4664bb48d0f79ff7228202d5a7084a"}
negative: export LEMLIST_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: lemlist_token = os.environ["LEMLIST_TOKEN"]
negative: LEMLIST_SECRET=${LEMLIST_SECRET}
negative: lemlist_api_key: "<your-lemlist-api-key>"
negative: "resolved": "https://registry.npmjs.org/lemlist-auth/-/lemlist-auth-1.2.0.tgz#892062d04e3eb828c715cf38df5dc7f5"

id: lemonsqueezy-api-key
title: Lemon Squeezy API key (JWT)
severity: high
keywords: lemonsqueezy lemon_squeezy
pattern: (?i)\b(?:lemonsqueezy|lemon_squeezy)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b(eyJ[A-Za-z0-9_-]{10,600}\.[A-Za-z0-9_-]{10,2000}(?:\.[A-Za-z0-9_-]{5,600})?)(?![\w-])
entropy: 3.0
window: 2048
confidence: medium
positive: export LEMONSQUEEZY_API_KEY="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmUXlJRUExT1ZlZUtMTFpBRGdiZDZ5dzYiLCJpYXQiOjE3Mjg2MzQyNDR9.Fpd6wQHe-32z4N_G1pBCFwVIIAtp3fFw3Z1HfopifzA"
positive: lemonsqueezy:\n  api_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJVUXFJOUN0V0d0Q3QzOEFhbkJiWFNNTU4iLCJpYXQiOjE2NTM3NTQ1NzN9.Bp6iMnpS1I-cdbm54gseA2bxYUHRi8e5i6Sf2sZPYUU'
positive: {"lemonsqueezy_secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0WHBQMlpINlhPNFgxVUo0ZWlhak1yVEQiLCJpYXQiOjE2NDg1OTE5NjB9.3AMwIyPKRFrTYW67-rFlH4-77g9mHQEOEX5pThTZYTN"}
negative: export LEMONSQUEEZY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: lemonsqueezy_token = os.environ["LEMONSQUEEZY_TOKEN"]
negative: LEMONSQUEEZY_SECRET=${LEMONSQUEEZY_SECRET}
negative: lemonsqueezy_api_key: "<your-lemonsqueezy-api-key>"
negative: "resolved": "https://registry.npmjs.org/lemonsqueezy-auth/-/lemonsqueezy-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: lendflow-api-key
title: Lendflow API token
severity: high
keywords: lendflow
pattern: (?i)\b(?:lendflow)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9_-]{10,600}\.[A-Za-z0-9_-]{20,2000}\.[A-Za-z0-9_-]{10,1200})(?![\w-])
entropy: 3.5
window: 2048
confidence: medium
positive: export LENDFLOW_API_KEY="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJONDZzYlZyZXF1R0h2cVF3dFZpaUpRQ3QiLCJpYXQiOjE2OTk0NTg3NzZ9.VqjmWdMl-iPEF3fKb84ZbaHeEr8tQ4u5_Fd5YLctQlk"
positive: lendflow:\n  api_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJnbnVUZDVteTY0WFQ1OFB6Wlp3cVUwTzUiLCJpYXQiOjE2NTc1NzgzMTZ9.l0pKz6esbkpg-CwZiFlNwgdVh91-JR2KtvbzJLKr2zt'
positive: {"lendflow_secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzUVlTUW4yTDZkTTNzTlN4NTdnck94SmwiLCJpYXQiOjE3MTAyMTQ3Mzh9.z1QmN9pSS8CPnWAymQJCem2SHwQj4XI8DrP5bJH-yMn"}
negative: export LENDFLOW_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: lendflow_token = os.environ["LENDFLOW_TOKEN"]
negative: LENDFLOW_SECRET=${LENDFLOW_SECRET}
negative: lendflow_api_key: "<your-lendflow-api-key>"
negative: "resolved": "https://registry.npmjs.org/lendflow-auth/-/lendflow-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: lessannoyingcrm-api-key
title: Less Annoying CRM API key
severity: high
keywords: lessannoying lacrm less-secret less_secret less-api less_api
pattern: (?i)\b(?:lessannoying(?:crm)?|lacrm|less(?=[_-](?:secret|api)[_-]?key))[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9-]{40,80})(?![\w-])
entropy: 3.5
confidence: medium
positive: export LESSANNOYINGCRM_API_KEY="Z1JM2JJ-X4HEwIZWVaeGgr5p4qr5IQA4y8RZcHvznL5mT4Sg8IMl0fk5UO"
positive: lessannoyingcrm:\n  api_token: 'KK9450C-6IWfK1rAGXRB6LI0HVoqy3NBrtssJXPJ2Y3dG3YbED5kldARwz'
positive: {"lessannoyingcrm_secret": "Y1JN9C2-4bvfmOK9BWrInPcEq9wVi2DQUlGLW5mLP5BjkwnKU7RfKd5Ik7"}
negative: export LESSANNOYINGCRM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: lessannoyingcrm_token = os.environ["LESSANNOYINGCRM_TOKEN"]
negative: LESSANNOYINGCRM_SECRET=${LESSANNOYINGCRM_SECRET}
negative: lessannoyingcrm_api_key: "<your-lessannoyingcrm-api-key>"
negative: "resolved": "https://registry.npmjs.org/lessannoyingcrm-auth/-/lessannoyingcrm-auth-1.2.0.tgz#88cfb569bc8f31637de3bd5f72216fbb974dec91db8aaf15f3a1b89a1c"

id: lexigram-api-key
title: Lexigram API key
severity: high
keywords: lexigram
pattern: (?i)\b(?:lexigram)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9._-]{100,600})(?![\w-])
entropy: 3.5
window: 1024
confidence: medium
positive: export LEXIGRAM_API_KEY="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzd29EczRMbjQ1NjYzYUJ5eWVWTU5hQXYiLCJpYXQiOjE3OTgyMzM0Njd9._oIKDj9yr1RkUJUpY2zocqaRK4vmH4_ePXqQy-N7OiX"
positive: lexigram:\n  api_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJVcm04dEpkM1pmS3VqQUwwQk9GT2FEa0ciLCJpYXQiOjE3NzQxMDQwNzJ9.CDE6_GXlWwAg84QYQmYyXGJpYxa9Eioleu0RhFMuW26'
positive: {"lexigram_secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtTGtVSlB1TnFzZGxzMndBZDBFbjB2dGgiLCJpYXQiOjE2MTEyNzE2ODB9.CQiZvV6zhGvLExvIa0GWMpMtT5VOeqErw41U1Tf_OBk"}
negative: export LEXIGRAM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: lexigram_token = os.environ["LEXIGRAM_TOKEN"]
negative: LEXIGRAM_SECRET=${LEXIGRAM_SECRET}
negative: lexigram_api_key: "<your-lexigram-api-key>"
negative: "resolved": "https://registry.npmjs.org/lexigram-auth/-/lexigram-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: line-messaging-api-token
title: LINE Messaging API channel access token
severity: high
keywords: line_token line-token linetoken line_channel line-channel linechannel line_access line_bot linebot line_messaging channel_access_token channel-access-token channelaccesstoken
pattern: (?i)\b(?:line[_-]?(?:bot[_-]?)?(?:messaging[_-]?)?(?:channel[_-]?)?(?:access[_-]?)?(?:token|secret)|channel[_-]?access[_-]?token)[^\n\r#]{0,20}?\b([A-Za-z0-9+/]{140,200}={0,2})(?![\w+/=-])
entropy: 4.0
confidence: medium
positive: export LINE_CHANNEL_ACCESS_TOKEN_API_KEY="E1xXAWbkForBmdWq6Vy9h4mWsalFiAqNPpgcce0qOEMtDaabGzS6Q0WUM2auDWANvfLgt2LWGJJZrNZnJago38ZaNiO/Mw0qZh4k13woCP7eeFd8dghCBu52diq97N+vZuBF74l5M+j80PsBzt26IT9BWtbgnv4/p9EmVzC8xVT="
positive: line_channel_access_token_token: 'jIYQD7+hNqADX3WcTnwK+dQJF8wKbNFhJ2c9pUfjkkChuK0E31L1MR216GptYnjXtrro4ukFVOMXO7h2q3i6ZTCbCjKyqjKj+0cuaJ4rNf4uCe69Qw1ibPBcDInKeGfCzL1I6UjDNGe77fTendLnEyk7TN7OQZ+BMUIVjFEWv+D='
positive: {"line_channel_access_token_secret": "ZSw6xBj23m6MD4oD8w2SmFAnKgGUTPU57nBbRCvc7MGqw9HZGqy4V/uj+FDuqbW3oIAH/w3d37cZl4sp5IdMwx1Bz9MajrxLyxgMUqQSKW4sgMuXc/jNaJmkRb8TxB168TEwWZSvpxIWf8BhAWnYsycR7YgitEJVrBxz7/2W2ux="}
negative: export LINE_CHANNEL_ACCESS_TOKEN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: line_channel_access_token_token = os.environ["LINE_CHANNEL_ACCESS_TOKEN_TOKEN"]
negative: LINE_CHANNEL_ACCESS_TOKEN_SECRET=${LINE_CHANNEL_ACCESS_TOKEN_SECRET}
negative: line_channel_access_token_api_key: "<your-line_channel_access_token-api-key>"
negative: "resolved": "https://registry.npmjs.org/line_channel_access_token-auth/-/line_channel_access_token-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

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
pattern: (?i)\b(?:line[_-]?notify)[^\n\r#]{0,30}?\b([A-Za-z0-9]{43,53})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LINENOTIFY_API_KEY="Lnw3xiUtiTBFCihXbL7cvdJTsG0R3IX6cFm464jUPoX"
positive: linenotify_token: '0zX4bc52t9dZO121vzaysI7mZWAmbQtJwlGi95cF9Td'
positive: {"linenotify_secret": "BVsJ12jFSe2DiuGEsFr8Cxk3AA4k54ijMEPHmS3LuZr"}
negative: export LINENOTIFY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: linenotify_token = os.environ["LINENOTIFY_TOKEN"]
negative: LINENOTIFY_SECRET=${LINENOTIFY_SECRET}
negative: linenotify_api_key: "<your-linenotify-api-key>"
negative: "resolved": "https://registry.npmjs.org/linenotify-auth/-/linenotify-auth-1.2.0.tgz#ddcde9bdb5120ab45371dff8e99ba2affe5da8b4fcc"

id: linkedin-client-id
title: LinkedIn OAuth client id
severity: low
keywords: linkedin linked_in
pattern: (?i)\b(?:linkedin|linked_in)[^\n\r#]{0,15}?(?:\r?\n[^\n\r#]{0,15}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,15}?\b([a-z0-9]{12,14})(?![\w-])
entropy: 2.8
confidence: medium
positive: export LINKEDIN_API_KEY="izj6eil3zs6t1j"
positive: linkedin:\n  api_token: 'ei1y0f2axvo20i'
positive: {"linkedin_secret": "wc1r1gfcj0jafz"}
negative: export LINKEDIN_API_KEY="xxxxxxxxxxxxxx"
negative: linkedin_token = os.environ["LINKEDIN_TOKEN"]
negative: LINKEDIN_SECRET=${LINKEDIN_SECRET}
negative: linkedin_api_key: "<your-linkedin-api-key>"
negative: "resolved": "https://registry.npmjs.org/linkedin-auth/-/linkedin-auth-1.2.0.tgz#43c086aa4da5c0"
negative: linkedin_profile_url = "https://linkedin.com/in/someone"

id: linkedin-client-secret
title: LinkedIn OAuth client secret
severity: high
keywords: linkedin linked_in
pattern: (?i)\b(?:linkedin|linked_in)[^\n\r#]{0,15}?(?:\r?\n[^\n\r#]{0,15}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,15}?\b([A-Za-z0-9]{16})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LINKEDIN_API_KEY="f5r44xLPOcs4Wprf"
positive: linkedin:\n  api_token: '7vq7ydwwmNfeKiaJ'
positive: {"linkedin_secret": "LdixdPE7j3wXaUZ4"}
negative: export LINKEDIN_API_KEY="xxxxxxxxxxxxxxxx"
negative: linkedin_token = os.environ["LINKEDIN_TOKEN"]
negative: LINKEDIN_SECRET=${LINKEDIN_SECRET}
negative: linkedin_api_key: "<your-linkedin-api-key>"
negative: "resolved": "https://registry.npmjs.org/linkedin-auth/-/linkedin-auth-1.2.0.tgz#a14df3142fe11814"

id: linkpreview-api-key
title: LinkPreview API key
severity: high
keywords: linkpreview
pattern: (?i)\b(?:linkpreview)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LINKPREVIEW_API_KEY="bb36cca4264babee520cd9c6d1ef66fc"
positive: linkpreview:\n  api_token: 'ba21e3b47e7701ed22a2f4e21c0e1c58'
positive: {"linkpreview_secret": "cd352dd4fa0cdc08df2adeb9966891cb"}
negative: export LINKPREVIEW_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: linkpreview_token = os.environ["LINKPREVIEW_TOKEN"]
negative: LINKPREVIEW_SECRET=${LINKPREVIEW_SECRET}
negative: linkpreview_api_key: "<your-linkpreview-api-key>"
negative: "resolved": "https://registry.npmjs.org/linkpreview-auth/-/linkpreview-auth-1.2.0.tgz#5000aacb454c19c3ecac20901d880e4c"

id: livestorm-api-key
title: Livestorm API token (JWT)
severity: high
keywords: livestorm
pattern: (?i)\b(?:livestorm)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b(eyJ[A-Za-z0-9_-]{10,600}\.[A-Za-z0-9_-]{10,2000}(?:\.[A-Za-z0-9_-]{5,600})?)(?![\w-])
entropy: 3.0
window: 2048
confidence: medium
positive: export LIVESTORM_API_KEY="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0eWZpcFViQUl5V3VKZWUzdUhQODIzVkYiLCJpYXQiOjE3NjY5MzMyMDd9.m8Tyh_ik6VPKr3ze-Athr6zEyymJfD9YI51aQgdZvws"
positive: livestorm:\n  api_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmZFAxNW1uOGlpbXhsaG9pbm9QVmlhc0wiLCJpYXQiOjE3ODczMzMwMzZ9.Th907ZU28tTqSWrOMXtKNVCi5XKI657WeAB5scZNDVA'
positive: {"livestorm_secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJLSDRKQ1c5d1V0SWQ4cGZtbGxPZ3VvMkQiLCJpYXQiOjE2NDAzODU1NjJ9.QTQ2sxw91oLrt4tAMBtFG9vhIIZrv8RXVAZrW9OYEIz"}
negative: export LIVESTORM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: livestorm_token = os.environ["LIVESTORM_TOKEN"]
negative: LIVESTORM_SECRET=${LIVESTORM_SECRET}
negative: livestorm_api_key: "<your-livestorm-api-key>"
negative: "resolved": "https://registry.npmjs.org/livestorm-auth/-/livestorm-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: loadmill-api-key
title: Loadmill API token
severity: high
keywords: loadmill
pattern: (?i)\b(?:loadmill)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LOADMILL_API_KEY="a40092bcf7749a5fff720f6a413205db6b9b33c0"
positive: loadmill:\n  api_token: 'e6f84c51c2043bf980bd6c391f6a40e253678394'
positive: {"loadmill_secret": "c468e714afad941995d980c0a80903f0683721fe"}
negative: export LOADMILL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: loadmill_token = os.environ["LOADMILL_TOKEN"]
negative: LOADMILL_SECRET=${LOADMILL_SECRET}
negative: loadmill_api_key: "<your-loadmill-api-key>"
negative: "resolved": "https://registry.npmjs.org/loadmill-auth/-/loadmill-auth-1.2.0.tgz#21c1374300f632cfe4cc30f2931bc449ede17a9c"

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
negative: lob_api_key: "<your-lob-api-key>"
negative: "resolved": "https://registry.npmjs.org/lob-auth/-/lob-auth-1.2.0.tgz#978789951ff1c132236cd9f27cd9e1af486c9f88"

id: loginradius-api-key
title: LoginRadius API key / secret
severity: high
keywords: loginradius login_radius
pattern: (?i)\b(?:loginradius|login_radius)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LOGINRADIUS_API_KEY="c4e0f01c-bf37-4cfe-7f14-6d7da763de34"
positive: loginradius:\n  api_token: '1bc996d8-5309-ba0c-3937-0847b7e7bf7f'
positive: {"loginradius_secret": "12c3924b-694e-c2e5-cd07-b763e44feb04"}
negative: export LOGINRADIUS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: loginradius_token = os.environ["LOGINRADIUS_TOKEN"]
negative: LOGINRADIUS_SECRET=${LOGINRADIUS_SECRET}
negative: loginradius_api_key: "<your-loginradius-api-key>"
negative: "resolved": "https://registry.npmjs.org/loginradius-auth/-/loginradius-auth-1.2.0.tgz#98801547d78cd79218114c470a274decbbd6"

id: logzio-api-token
title: Logz.io API / shipping token
severity: high
keywords: logz
pattern: (?i)\b(?:logz(?:io|\.io|_io)?)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}|[A-Za-z]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LOGZIO_API_KEY="cc51df70-7635-1a39-64d7-f029a8acd4ca"
positive: logzio:\n  api_token: '40f6c311-868c-2fba-18ce-37dd5f928b66'
positive: {"logzio_secret": "7c7c8c13-3349-3a34-0b93-f096fdd94dd9"}
negative: export LOGZIO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: logzio_token = os.environ["LOGZIO_TOKEN"]
negative: LOGZIO_SECRET=${LOGZIO_SECRET}
negative: logzio_api_key: "<your-logzio-api-key>"
negative: "resolved": "https://registry.npmjs.org/logzio-auth/-/logzio-auth-1.2.0.tgz#5d0993478606f397c077ae3277cec820d064"

id: lokalise-api-token
title: Lokalise API token
severity: high
keywords: lokalise
pattern: (?i)\b(?:lokalise)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LOKALISE_API_KEY="0f2482006ba07f46702610e0b8839d240cce9773"
positive: lokalise:\n  api_token: '80f184817c7c56ffd382c6d2a9ec84f40c556079'
positive: {"lokalise_secret": "bbb91d2bcf0a891a6fa6a134640de332739d0255"}
negative: export LOKALISE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: lokalise_token = os.environ["LOKALISE_TOKEN"]
negative: LOKALISE_SECRET=${LOKALISE_SECRET}
negative: lokalise_api_key: "<your-lokalise-api-key>"
negative: "resolved": "https://registry.npmjs.org/lokalise-auth/-/lokalise-auth-1.2.0.tgz#cf3ec845cd18f3f861e70e7d22d3121462d3a16f"

id: loyverse-api-key
title: Loyverse access token
severity: high
keywords: loyverse
pattern: (?i)\b(?:loyverse)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export LOYVERSE_API_KEY="99ea9c95e234b4e359c4ca5bbe9ac639"
positive: loyverse:\n  api_token: 'cf7f141c2db97a05c33cf9be65e42165'
positive: {"loyverse_secret": "b207b8f5524c80c5bc41567976f29026"}
negative: export LOYVERSE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: loyverse_token = os.environ["LOYVERSE_TOKEN"]
negative: LOYVERSE_SECRET=${LOYVERSE_SECRET}
negative: loyverse_api_key: "<your-loyverse-api-key>"
negative: "resolved": "https://registry.npmjs.org/loyverse-auth/-/loyverse-auth-1.2.0.tgz#4d586c75666197ae456a765bc0a5a467"

id: lunchmoney-api-key
title: Lunch Money access token
severity: high
keywords: lunchmoney lunch_money
pattern: (?i)\b(?:lunchmoney|lunch_money)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-f0-9]{50})(?![\w-])
entropy: 2.8
confidence: medium
positive: export LUNCHMONEY_API_KEY="3a0c087d6dc16764181cce0ca7267156b4bda3130f31631778"
positive: lunchmoney:\n  api_token: '05b434b43b78f40c30a8d9444e6b97eed5053474d1d6a35658'
positive: {"lunchmoney_secret": "cf51382a756497451cf4459bd5635d08b954def2634f8ce1fb"}
negative: export LUNCHMONEY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: lunchmoney_token = os.environ["LUNCHMONEY_TOKEN"]
negative: LUNCHMONEY_SECRET=${LUNCHMONEY_SECRET}
negative: lunchmoney_api_key: "<your-lunchmoney-api-key>"
negative: "resolved": "https://registry.npmjs.org/lunchmoney-auth/-/lunchmoney-auth-1.2.0.tgz#fe1115891dfe2a6b9d1638f98dbd539ab50f7b6387649fb1e2"

id: madkudu-api-key
title: MadKudu API key
severity: high
keywords: madkudu
pattern: (?i)\b(?:madkudu)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MADKUDU_API_KEY="20991ee797bdec85f68f721f7be10f66"
positive: madkudu:\n  api_token: 'b4f3295aa52b5f8ce0d051ccb398180b'
positive: {"madkudu_secret": "35e622b0436ce400d95b76274b7d7f2d"}
negative: export MADKUDU_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: madkudu_token = os.environ["MADKUDU_TOKEN"]
negative: MADKUDU_SECRET=${MADKUDU_SECRET}
negative: madkudu_api_key: "<your-madkudu-api-key>"
negative: "resolved": "https://registry.npmjs.org/madkudu-auth/-/madkudu-auth-1.2.0.tgz#a8bb823c3801d2aca2b4cd590f9cc61a"

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
negative: magnetic_api_key: "<your-magnetic-api-key>"
negative: "resolved": "https://registry.npmjs.org/magnetic-auth/-/magnetic-auth-1.2.0.tgz#ccfe0e956fecce66a1dbfe52da057867f00f"

id: mailboxlayer-api-key
title: mailboxlayer access key
severity: high
keywords: mailboxlayer
pattern: (?i)\b(?:mailboxlayer)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MAILBOXLAYER_API_KEY="6e28aebd7f4d2898fd4298d3a9f1c6ba"
positive: mailboxlayer:\n  api_token: 'fe552db9ca30583774bcc1a20393d6bc'
positive: {"mailboxlayer_secret": "6b16f88d768c7c5d8c77614bb479ec50"}
negative: export MAILBOXLAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mailboxlayer_token = os.environ["MAILBOXLAYER_TOKEN"]
negative: MAILBOXLAYER_SECRET=${MAILBOXLAYER_SECRET}
negative: mailboxlayer_api_key: "<your-mailboxlayer-api-key>"
negative: "resolved": "https://registry.npmjs.org/mailboxlayer-auth/-/mailboxlayer-auth-1.2.0.tgz#92946fd7c2649d868923f72d9acc5622"

id: mailerlite-api-key
title: MailerLite API key
severity: high
keywords: mailerlite
pattern: (?i)\b(?:mailerlite)[^\n\r#]{0,40}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MAILERLITE_API_KEY="4a930d9ccedf9d65dcc3f42528ac59e2"
positive: mailerlite_token: '0d4f55c97d8a06f0b2c691410bbd1a43'
positive: {"mailerlite_secret": "50a8219217e22c4952f7613fb3941f11"}
negative: export MAILERLITE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mailerlite_token = os.environ["MAILERLITE_TOKEN"]
negative: MAILERLITE_SECRET=${MAILERLITE_SECRET}
negative: mailerlite_api_key: "<your-mailerlite-api-key>"
negative: "resolved": "https://registry.npmjs.org/mailerlite-auth/-/mailerlite-auth-1.2.0.tgz#9bc6a65b7025e1ea64a1fb69ce6d4101"

id: mailjet-basic-auth
title: Mailjet Basic auth credentials (base64 key:secret)
severity: high
keywords: mailjet
pattern: (?i)\b(?:mailjet)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9+/]{80,90}={0,2})(?![\w+/=-])
entropy: 3.5
confidence: medium
positive: export MAILJET_API_KEY="Y2RiNmRkMWEzMzFmNjM4YWM5MzZmNTRmOTk0ZTlhMjY6ZWMxMWRkZWVlMWZlODBjZThiMmM4MGFhODE0OWFjMDI="
positive: mailjet:\n  api_token: 'MDg4NzYwZWU1YTNkNjc1MGYxMzA0OGUyMzc5OTczNTE6YWM1ZDY1YmM3OTA4MDczYjk2Mzc0YTBkNGY0YTA4ZDI='
positive: {"mailjet_secret": "YjE3MTIyMjcyODM4NDA1NzZhZjMzMTdlMjUwMDdkMTI6NWU1MTU4OWE3NDE1NmZlZGRjMmI2YTIwMWQ5NjIyN2Q="}
negative: export MAILJET_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mailjet_token = os.environ["MAILJET_TOKEN"]
negative: MAILJET_SECRET=${MAILJET_SECRET}
negative: mailjet_api_key: "<your-mailjet-api-key>"
negative: "resolved": "https://registry.npmjs.org/mailjet-auth/-/mailjet-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: mailjetsms-api-key
title: Mailjet API key, secret or SMS token
severity: high
keywords: mailjet
pattern: (?i)\b(?:mailjet)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MAILJET_API_KEY="86726aab677f8a334ad461cc6e71df60"
positive: mailjet_token: 'a5f0c3548f0979928fdbebb60c34bad7'
positive: {"mailjet_secret": "0e4c66f9ae705c6edae479b76780892a"}
negative: export MAILJET_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mailjet_token = os.environ["MAILJET_TOKEN"]
negative: MAILJET_SECRET=${MAILJET_SECRET}
negative: mailjet_api_key: "<your-mailjet-api-key>"
negative: "resolved": "https://registry.npmjs.org/mailjet-auth/-/mailjet-auth-1.2.0.tgz#5a9f979ee523d1fa6f29422147508b6a"

id: mailmodo-api-key
title: Mailmodo API key
severity: high
keywords: mailmodo
pattern: (?i)\b(?:mailmodo)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Z0-9]{7}-[A-Z0-9]{7}-[A-Z0-9]{7}-[A-Z0-9]{7})(?![\w-])
entropy: 2.8
confidence: medium
positive: export MAILMODO_API_KEY="EI13NYS-ZEHIW25-9EP4EGA-V2ZI1FF"
positive: mailmodo:\n  api_token: '0AH29Z3-K6WITKM-VCWUWHP-Y3Z3UNP'
positive: {"mailmodo_secret": "UKMMYMM-2JW1158-WV4VDM2-Q89G3ZV"}
negative: export MAILMODO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mailmodo_token = os.environ["MAILMODO_TOKEN"]
negative: MAILMODO_SECRET=${MAILMODO_SECRET}
negative: mailmodo_api_key: "<your-mailmodo-api-key>"
negative: "resolved": "https://registry.npmjs.org/mailmodo-auth/-/mailmodo-auth-1.2.0.tgz#513148bb4b95a2c7faecd4fe4e91320"

id: mailsac-api-key
title: Mailsac API key
severity: high
keywords: mailsac
pattern: (?i)\b(?:mailsac)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b(k_[A-Za-z0-9]{30,60})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MAILSAC_API_KEY="k_fEwqTkqy53nvwIrYcfTzNi6QH730ChK75kHnK1nJ"
positive: mailsac:\n  api_token: 'k_ICPMkscI8A1pJl9mTftEppi92bDoRDxSGaoggng7'
positive: {"mailsac_secret": "k_Bd0qzyH2cWdJxX9V6FNjOctg7b9U432dkxLG53FV"}
negative: export MAILSAC_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mailsac_token = os.environ["MAILSAC_TOKEN"]
negative: MAILSAC_SECRET=${MAILSAC_SECRET}
negative: mailsac_api_key: "<your-mailsac-api-key>"
negative: "resolved": "https://registry.npmjs.org/mailsac-auth/-/mailsac-auth-1.2.0.tgz#0110c6effeeec27a804ce60f3a27495957755a02a7"

id: mandrill-api-key-nearby
title: Mandrill (Mailchimp Transactional) API key
severity: high
keywords: mandrill
pattern: (?i)\b(?:mandrill)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?:md-)?[A-Za-z0-9_-]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MANDRILL_API_KEY="0uFrUV2kWSsI5lGMLPGvOR"
positive: mandrill:\n  api_token: '2YDghRRjsv8bT7nRPI2uRx'
positive: {"mandrill_secret": "0SOCww6mqGNyZE_nrFV0L5"}
negative: export MANDRILL_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: mandrill_token = os.environ["MANDRILL_TOKEN"]
negative: MANDRILL_SECRET=${MANDRILL_SECRET}
negative: mandrill_api_key: "<your-mandrill-api-key>"
negative: "resolved": "https://registry.npmjs.org/mandrill-auth/-/mandrill-auth-1.2.0.tgz#1b92f87acdb2458efc6831"

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
pattern: (?i)\b(?:mapquest)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MAPQUEST_API_KEY="AXwDq7m9HdVPqevaGZzt17FnRYEvdon2"
positive: mapquest:\n  api_token: 'RkJHWW5a2qRjjyivab2ksksKLpaNXDEF'
positive: {"mapquest_secret": "QUaOjxC2bgQvEgADe3n8l4dHjV8EXiOp"}
negative: export MAPQUEST_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mapquest_token = os.environ["MAPQUEST_TOKEN"]
negative: MAPQUEST_SECRET=${MAPQUEST_SECRET}
negative: mapquest_api_key: "<your-mapquest-api-key>"
negative: "resolved": "https://registry.npmjs.org/mapquest-auth/-/mapquest-auth-1.2.0.tgz#1b7534c8b9345e654a43fd53e668c3a6"

id: marketstack-api-key
title: marketstack access key
severity: high
keywords: marketstack
pattern: (?i)\b(?:marketstack)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MARKETSTACK_API_KEY="7583cb3930afc9545541ff22cc4ad425"
positive: marketstack:\n  api_token: '2005dba4fd84735c5a7ec6337b66cb43'
positive: {"marketstack_secret": "2e2032f34dec12dbd2305ade0c8cb5a2"}
negative: export MARKETSTACK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: marketstack_token = os.environ["MARKETSTACK_TOKEN"]
negative: MARKETSTACK_SECRET=${MARKETSTACK_SECRET}
negative: marketstack_api_key: "<your-marketstack-api-key>"
negative: "resolved": "https://registry.npmjs.org/marketstack-auth/-/marketstack-auth-1.2.0.tgz#85ffe2965ea8b1473899a15aef53e3ee"

id: mavenlink-api-token
title: Mavenlink (Kantata) API token
severity: high
keywords: mavenlink kantata
pattern: (?i)\b(?:mavenlink|kantata)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MAVENLINK_API_KEY="f766ac52575149c31a8dc73ce712f9f1cf0809559f0e52c8a1b0d9ba821225b1"
positive: mavenlink:\n  api_token: '420aa8fcbc11484d76a6ac4490b5a9210371d441d7a940d69e1696ed5c85a382'
positive: {"mavenlink_secret": "a887c91d1add57ffee11715fbdc18a6986bd03f40699c84d10e17ee0d3ced44a"}
negative: export MAVENLINK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mavenlink_token = os.environ["MAVENLINK_TOKEN"]
negative: MAVENLINK_SECRET=${MAVENLINK_SECRET}
negative: mavenlink_api_key: "<your-mavenlink-api-key>"
negative: "resolved": "https://registry.npmjs.org/mavenlink-auth/-/mavenlink-auth-1.2.0.tgz#163f3b7c7a4e13216861f9d7a2eca38a2e0ac0e970c9a01a038b7cdd93689b64"

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
pattern: (?i)\b(?:maxmind|geoip_?license|geoipupdate)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{12,16})(?![\w-])
entropy: 2.7
confidence: medium
positive: export MAXMIND_API_KEY="vdzFR8T04zoNEvq7"
positive: maxmind:\n  api_token: '84WZ6iKjCXp7x6AQ'
positive: {"maxmind_secret": "y4EycAwgFIWiuXVW"}
negative: export MAXMIND_API_KEY="xxxxxxxxxxxxxxxx"
negative: maxmind_token = os.environ["MAXMIND_TOKEN"]
negative: MAXMIND_SECRET=${MAXMIND_SECRET}
negative: maxmind_api_key: "<your-maxmind-api-key>"
negative: "resolved": "https://registry.npmjs.org/maxmind-auth/-/maxmind-auth-1.2.0.tgz#9a51f15be2150117"

id: mediastack-api-key
title: mediastack access key
severity: high
keywords: mediastack
pattern: (?i)\b(?:mediastack)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MEDIASTACK_API_KEY="2ff6f779064a5cc2d13ba7dfffa47898"
positive: mediastack:\n  api_token: '1a7682e6872510e3c8c51e1571c81ad9'
positive: {"mediastack_secret": "daa321fa58f93cef453fd82372520842"}
negative: export MEDIASTACK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mediastack_token = os.environ["MEDIASTACK_TOKEN"]
negative: MEDIASTACK_SECRET=${MEDIASTACK_SECRET}
negative: mediastack_api_key: "<your-mediastack-api-key>"
negative: "resolved": "https://registry.npmjs.org/mediastack-auth/-/mediastack-auth-1.2.0.tgz#de9b9c5e6a41dfe97c283f0d7b945b4a"

id: meistertask-api-key
title: MeisterTask API token
severity: high
keywords: meistertask meister_task
pattern: (?i)\b(?:meistertask|meister_task)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{43})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MEISTERTASK_API_KEY="0G16lxZ0GlWo9fBtBNhmH1poriYnjrDnzjqvZ6mwfHs"
positive: meistertask:\n  api_token: '1M0JWzY40BHVIyvCXfrM30NxHNjM9HQsRFBq1ew0znj'
positive: {"meistertask_secret": "hP3gusML8ElpDgiZSAWlyp06DcUWD1XnteLRVlPgz76"}
negative: export MEISTERTASK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: meistertask_token = os.environ["MEISTERTASK_TOKEN"]
negative: MEISTERTASK_SECRET=${MEISTERTASK_SECRET}
negative: meistertask_api_key: "<your-meistertask-api-key>"
negative: "resolved": "https://registry.npmjs.org/meistertask-auth/-/meistertask-auth-1.2.0.tgz#25c734d38f73e29dcd2f690e2f01271a6d9b26ba11b"

id: mesibo-api-key
title: Mesibo app token
severity: high
keywords: mesibo
pattern: (?i)\b(?:mesibo)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MESIBO_API_KEY="65ukzu9tyc6v6dhcy4ffs1dn375vjar7y2qzrwed37j3ks9ekoi6vlt7wrkcjyq9"
positive: mesibo:\n  api_token: 'r03c2loeff4qfhnn6gwkcgzcrvdsppnor3y3kz28fs9sosstzfttn46gk3sxanxh'
positive: {"mesibo_secret": "5dshlih528crvh4cem76o6s9opb98cl9vxfkr4akn4wle6dklhalmdmn2z4w67m8"}
negative: export MESIBO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mesibo_token = os.environ["MESIBO_TOKEN"]
negative: MESIBO_SECRET=${MESIBO_SECRET}
negative: mesibo_api_key: "<your-mesibo-api-key>"
negative: "resolved": "https://registry.npmjs.org/mesibo-auth/-/mesibo-auth-1.2.0.tgz#7842e596f15107d8474ad0334e63c942fdf70ccdb2d4088128b9b885fbcd2a27"

id: messagebird-api-key
title: MessageBird (Bird) API key
severity: high
keywords: messagebird message_bird
pattern: (?i)\b(?:messagebird|message_bird)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{25})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MESSAGEBIRD_API_KEY="ZxGOhQ4LW9fSLphPqGnf5NHtX"
positive: messagebird:\n  api_token: '0c8FMoYxRxMLQwgV4qAcv0VL7'
positive: {"messagebird_secret": "QxVpMKXq2fPoJP2KgZcx2TjTf"}
negative: export MESSAGEBIRD_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxx"
negative: messagebird_token = os.environ["MESSAGEBIRD_TOKEN"]
negative: MESSAGEBIRD_SECRET=${MESSAGEBIRD_SECRET}
negative: messagebird_api_key: "<your-messagebird-api-key>"
negative: "resolved": "https://registry.npmjs.org/messagebird-auth/-/messagebird-auth-1.2.0.tgz#dc6b7fbe54ad10abcc2d41e1d"

id: metrilo-api-key
title: Metrilo API token
severity: high
keywords: metrilo
pattern: (?i)\b(?:metrilo)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{16})(?![\w-])
entropy: 2.5
confidence: medium
positive: export METRILO_API_KEY="9f984ced0e6769f7"
positive: metrilo:\n  api_token: '2b8f99d2f57e6371'
positive: {"metrilo_secret": "5c4dc03e9ff50890"}
negative: export METRILO_API_KEY="xxxxxxxxxxxxxxxx"
negative: metrilo_token = os.environ["METRILO_TOKEN"]
negative: METRILO_SECRET=${METRILO_SECRET}
negative: metrilo_api_key: "<your-metrilo-api-key>"
negative: "resolved": "https://registry.npmjs.org/metrilo-auth/-/metrilo-auth-1.2.0.tgz#461f59d3c18e76ab"

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
pattern: (?i)\b(?:mindmeister)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{43})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MINDMEISTER_API_KEY="64i1gaEetZ0pAql6OXoU7rzaTe59Ib10DVMx3SCEVlc"
positive: mindmeister:\n  api_token: 'S5pSE7FvXPn3RvvHWreqn9SmlhDRV11foeu3KCJSa2B'
positive: {"mindmeister_secret": "uU485gaUG7O6rJ4sDgUaxzlR02G5Gub0YW0a9QyOdrY"}
negative: export MINDMEISTER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mindmeister_token = os.environ["MINDMEISTER_TOKEN"]
negative: MINDMEISTER_SECRET=${MINDMEISTER_SECRET}
negative: mindmeister_api_key: "<your-mindmeister-api-key>"
negative: "resolved": "https://registry.npmjs.org/mindmeister-auth/-/mindmeister-auth-1.2.0.tgz#89f5e91addeda22f343d6405eb12183fc6b42768f3d"

id: miro-api-token
title: Miro access token
severity: high
keywords: miro
pattern: (?i)\b(?:miro(?=[_.\s:="\'-]|secret|access|token|key|api|private|auth|app))[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{26,40})(?![\w-])
entropy: 3.2
confidence: medium
positive: export MIRO_API_KEY="MxEWR7VtbyqLKHfJY1Fzdxw1mdtgr3ar"
positive: miro:\n  api_token: 'IqDcSXA1Xm9zB7wGMZRcI9Cuifmf_NQS'
positive: {"miro_secret": "Q3F0uhJz_QXgOwmpuI89tvfTFENP6Laf"}
negative: export MIRO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: miro_token = os.environ["MIRO_TOKEN"]
negative: MIRO_SECRET=${MIRO_SECRET}
negative: miro_api_key: "<your-miro-api-key>"
negative: "resolved": "https://registry.npmjs.org/miro-auth/-/miro-auth-1.2.0.tgz#b35bc7cfa75d5d9a7d01fbd71e7b70ff"

id: mixmax-api-key
title: Mixmax API token
severity: high
keywords: mixmax
pattern: (?i)\b(?:mixmax)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9-]{36})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MIXMAX_API_KEY="11e53093-8001-b086-8c13-088778383fe5"
positive: mixmax:\n  api_token: 'db8162b4-16ae-d7c6-44b8-7ecc021d5485'
positive: {"mixmax_secret": "e411736b-257e-f21c-5561-56965489cc62"}
negative: export MIXMAX_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: mixmax_token = os.environ["MIXMAX_TOKEN"]
negative: MIXMAX_SECRET=${MIXMAX_SECRET}
negative: mixmax_api_key: "<your-mixmax-api-key>"
negative: "resolved": "https://registry.npmjs.org/mixmax-auth/-/mixmax-auth-1.2.0.tgz#a47b08b72978331ac645c2a84e72ea3ec8c6"

id: mockaroo-api-key
title: Mockaroo API key
severity: high
keywords: mockaroo
pattern: (?i)\b(?:mockaroo)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-f0-9]{8})(?![\w-])
entropy: 2.4
confidence: medium
positive: export MOCKAROO_API_KEY="d55582cf"
positive: mockaroo:\n  api_token: '07c1f5d9'
positive: {"mockaroo_secret": "f1753beb"}
negative: export MOCKAROO_API_KEY="xxxxxxxx"
negative: mockaroo_token = os.environ["MOCKAROO_TOKEN"]
negative: MOCKAROO_SECRET=${MOCKAROO_SECRET}
negative: mockaroo_api_key: "<your-mockaroo-api-key>"
negative: "resolved": "https://registry.npmjs.org/mockaroo-auth/-/mockaroo-auth-1.2.0.tgz#4e4eeb56"

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
negative: moderation_api_key: "<your-moderation-api-key>"
negative: "resolved": "https://registry.npmjs.org/moderation-auth/-/moderation-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: monday-api-token
title: monday.com API token (JWT)
severity: high
keywords: monday
pattern: (?i)\b(?:monday(?:\.com|_com)?)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b(eyJ[A-Za-z0-9_-]{10,600}\.[A-Za-z0-9_-]{10,2000}(?:\.[A-Za-z0-9_-]{5,600})?)(?![\w-])
entropy: 3.0
window: 1024
confidence: medium
positive: export MONDAY_API_KEY="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJlNWcyblhka2Vqamdsb1lXenhwUDhhaW0iLCJpYXQiOjE2ODg1MDUxOTN9.LxwyPMpB-b7Wzfqv29-DNYB1aAHhWqiVGA4u33WrvjB"
positive: monday:\n  api_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJLTDhmMUJsRktBeTdGeURtU1RlTEZWY1IiLCJpYXQiOjE3NzU0Njk3NDZ9.VlpeTwSo3UI6FwNolGkFilLFtGCTN5Muoc6zLPzDB14'
positive: {"monday_secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJXakdrWG54a0FhOTNvZ1Q4M0w0WFJqaVoiLCJpYXQiOjE2NTY4MTU0Njd9.IbHE4msgMM-vBPcAi3aaVmoWNoEBbMZF0h3CKjRuUTx"}
negative: export MONDAY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: monday_token = os.environ["MONDAY_TOKEN"]
negative: MONDAY_SECRET=${MONDAY_SECRET}
negative: monday_api_key: "<your-monday-api-key>"
negative: "resolved": "https://registry.npmjs.org/monday-auth/-/monday-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: monkeylearn-api-key
title: MonkeyLearn API key
severity: high
keywords: monkeylearn
pattern: (?i)\b(?:monkeylearn)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MONKEYLEARN_API_KEY="aa0823170b5d13ca47ab8edc2875eae19fa8f5e2"
positive: monkeylearn:\n  api_token: '745e1e8b247f12963414d469c8f008b22cbe5227'
positive: {"monkeylearn_secret": "9fb48227ac6b3e1aca6329d4870833b09bda8559"}
negative: export MONKEYLEARN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: monkeylearn_token = os.environ["MONKEYLEARN_TOKEN"]
negative: MONKEYLEARN_SECRET=${MONKEYLEARN_SECRET}
negative: monkeylearn_api_key: "<your-monkeylearn-api-key>"
negative: "resolved": "https://registry.npmjs.org/monkeylearn-auth/-/monkeylearn-auth-1.2.0.tgz#edc2073c2971f79244e18d19c9c001cd6ded13bc"

id: moonclerk-api-key
title: MoonClerk API key
severity: high
keywords: moonclerk
pattern: (?i)\b(?:moonclerk)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MOONCLERK_API_KEY="65e47b1db8e87b1e60f51bb9772d9360"
positive: moonclerk:\n  api_token: '909d4678e7042d16da9e9cf35db2359f'
positive: {"moonclerk_secret": "115cf6f0a7e8ed090b7cfbd4d89a0d8c"}
negative: export MOONCLERK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: moonclerk_token = os.environ["MOONCLERK_TOKEN"]
negative: MOONCLERK_SECRET=${MOONCLERK_SECRET}
negative: moonclerk_api_key: "<your-moonclerk-api-key>"
negative: "resolved": "https://registry.npmjs.org/moonclerk-auth/-/moonclerk-auth-1.2.0.tgz#af92c7ee81ec86de9e466ace2cf131ba"

id: moosend-api-key
title: Moosend API key
severity: high
keywords: moosend
pattern: (?i)\b(?:moosend)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MOOSEND_API_KEY="5abf36dd-191a-8ac9-4d34-f50dbe74e9e8"
positive: moosend:\n  api_token: '247c8c99-095e-f2fd-ae38-f02190d6d4b7'
positive: {"moosend_secret": "2baf63f1-98de-60ce-524f-c8b57d9c6c38"}
negative: export MOOSEND_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: moosend_token = os.environ["MOOSEND_TOKEN"]
negative: MOOSEND_SECRET=${MOOSEND_SECRET}
negative: moosend_api_key: "<your-moosend-api-key>"
negative: "resolved": "https://registry.npmjs.org/moosend-auth/-/moosend-auth-1.2.0.tgz#6904962d91b7c9034ac6971335f60da99b6b"

id: moralis-api-key
title: Moralis API key
severity: high
keywords: moralis
pattern: (?i)\b(?:moralis)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export MORALIS_API_KEY="fX86G0jGSguYHtpXj4DngykEzs1bB8YjWrIrvJhqpSuSnBMID94V37A7MeWipuNM"
positive: moralis:\n  api_token: '7ZROzgoa6NUQHWC0Jnai4WTJF8sYczyHm0TD8MlVHjXkWeQLdMqQplkbXdg7MAWh'
positive: {"moralis_secret": "AgJO0PcvBe95HINymRzo2BoHmryEwDeQHXvIJEqH9HO7erY4NtkRzaUYDmIjPLcY"}
negative: export MORALIS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: moralis_token = os.environ["MORALIS_TOKEN"]
negative: MORALIS_SECRET=${MORALIS_SECRET}
negative: moralis_api_key: "<your-moralis-api-key>"
negative: "resolved": "https://registry.npmjs.org/moralis-auth/-/moralis-auth-1.2.0.tgz#d685011c920a7672a4fec50f38f2ee3d146db684682b35be94796fa86ec7b0f5"

id: myintervals-api-key
title: MyIntervals API key
severity: high
keywords: myintervals my_intervals
pattern: (?i)\b(?:myintervals|my_intervals)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{11})(?![\w-])
entropy: 2.8
confidence: medium
positive: export MYINTERVALS_API_KEY="6most8q60to"
positive: myintervals:\n  api_token: 'mc22pt6z9m9'
positive: {"myintervals_secret": "a8sazuxhwxs"}
negative: export MYINTERVALS_API_KEY="xxxxxxxxxxx"
negative: myintervals_token = os.environ["MYINTERVALS_TOKEN"]
negative: MYINTERVALS_SECRET=${MYINTERVALS_SECRET}
negative: myintervals_api_key: "<your-myintervals-api-key>"
negative: "resolved": "https://registry.npmjs.org/myintervals-auth/-/myintervals-auth-1.2.0.tgz#389a3364fba"

id: nasdaqdatalink-api-key
title: Nasdaq Data Link (Quandl) API key
severity: high
keywords: nasdaq quandl
pattern: (?i)\b(?:nasdaq(?:datalink|_data_link)?|quandl)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NASDAQDATALINK_API_KEY="VJe9Ggm3gYpcJnBE93dx"
positive: nasdaqdatalink:\n  api_token: 'IevmCJrFMYKS2coots3I'
positive: {"nasdaqdatalink_secret": "0e4m87n69o-E9rvcqljC"}
negative: export NASDAQDATALINK_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: nasdaqdatalink_token = os.environ["NASDAQDATALINK_TOKEN"]
negative: NASDAQDATALINK_SECRET=${NASDAQDATALINK_SECRET}
negative: nasdaqdatalink_api_key: "<your-nasdaqdatalink-api-key>"
negative: "resolved": "https://registry.npmjs.org/nasdaqdatalink-auth/-/nasdaqdatalink-auth-1.2.0.tgz#fecd2a4b1040f70236ab"

id: netlify-access-token
title: Netlify personal access token
severity: high
keywords: netlify
pattern: (?i)\b(?:netlify)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9_-]{43,45}|[a-f0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NETLIFY_API_KEY="gp2KDW9MyHRkNp6jnNqSiJc1S_hX3jKeC-Lwh2UBdWb"
positive: netlify:\n  api_token: 'Y-6yRrJyd4n6qEc17EQL8btnmbNBgPj1HM_H6krwd8U'
positive: {"netlify_secret": "9TWxtwXFzkmqbbYSSAAyGmKtZ5-AOtP-4AgaXO_Sg-R"}
negative: export NETLIFY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: netlify_token = os.environ["NETLIFY_TOKEN"]
negative: NETLIFY_SECRET=${NETLIFY_SECRET}
negative: netlify_api_key: "<your-netlify-api-key>"
negative: "resolved": "https://registry.npmjs.org/netlify-auth/-/netlify-auth-1.2.0.tgz#0d5215dd9c626394791108c22349f4146016f7e6b45"

id: netlify-access-token-prefixed
title: Netlify access token (nfp_/nfc_/nfo_ prefix)
severity: high
keywords: nfp_ nfc_
pattern: \b(nf[pc]_[A-Za-z0-9]{36})\b
entropy: 3.5
positive: NETLIFY_AUTH_TOKEN=nfp_8Uq0aTNNdPXLsHY8mYwUQ4wh0fQlmitXVSDh
negative: nfp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: nfp_token

id: netrc-credentials
title: Password in a .netrc machine entry
severity: high
keywords: machine
pattern: (?i)\bmachine\s{1,10}[A-Za-z0-9][\w.-]{1,100}\s{1,40}login\s{1,10}\S{1,100}\s{1,40}password\s{1,10}(?![\$<\{*])(?!(?:password|passwd|secret|changeme|xxx+)\s)(\S{3,200})
confidence: medium
positive: machine api.heroku.com\n  login ops@example.org\n  password ccf58631c7cf7b78666307c882e2db5579bc
positive: machine nexus.corp.local login deploy password wRH5CwiNNiY2HWm77pNe
negative: machine example.com login USER password $NETRC_PASSWORD
negative: machine git.example login username password password\n
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
pattern: (?i)\b(?:new_?relic|nr_api)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{4}-[A-Za-z0-9]{27,47})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NEWRELIC_API_KEY="NRAK-87T9RXFE3NZC1S5FMAVLJ9ZR4IG"
positive: newrelic:\n  api_token: 'NRAK-B65JI7OVBT01Q5M9OMDXJJVRD2F'
positive: {"newrelic_secret": "NRAK-N9RIVHEE1HQXL9QZA9X2P347T20"}
negative: export NEWRELIC_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: newrelic_token = os.environ["NEWRELIC_TOKEN"]
negative: NEWRELIC_SECRET=${NEWRELIC_SECRET}
negative: newrelic_api_key: "<your-newrelic-api-key>"
negative: "resolved": "https://registry.npmjs.org/newrelic-auth/-/newrelic-auth-1.2.0.tgz#03851c0885deebfaca91af2372e52049"

id: newsapi-api-key
title: NewsAPI key
severity: high
keywords: newsapi news_api
pattern: (?i)\b(?:newsapi|news_api)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NEWSAPI_API_KEY="addd2156404ef439007d46a3dad43930"
positive: newsapi:\n  api_token: '7f90a691b49718ed88c4cf28abc992a4'
positive: {"newsapi_secret": "f322b1fc4724f661401f1fb59b33e31b"}
negative: export NEWSAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: newsapi_token = os.environ["NEWSAPI_TOKEN"]
negative: NEWSAPI_SECRET=${NEWSAPI_SECRET}
negative: newsapi_api_key: "<your-newsapi-api-key>"
negative: "resolved": "https://registry.npmjs.org/newsapi-auth/-/newsapi-auth-1.2.0.tgz#bd9f8eccfa66a2ecd7ef2f111b0596e9"

id: newscatcher-api-key
title: NewsCatcher API key
severity: high
keywords: newscatcher
pattern: (?i)\b(?:newscatcher)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{43})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NEWSCATCHER_API_KEY="68i7ttMOsJzDQGkhwZK-Cdd6r9ySVRUKzMLzay_ZBNn"
positive: newscatcher:\n  api_token: 'ureQX_j6WA6QIY1KfRQ0ptCpUSEPjOFFFfbDbRYwER9'
positive: {"newscatcher_secret": "RiLjQ9EGQMTlx3ZlJczRrsFghq1CdGaXQVNTCgi3Wc4"}
negative: export NEWSCATCHER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: newscatcher_token = os.environ["NEWSCATCHER_TOKEN"]
negative: NEWSCATCHER_SECRET=${NEWSCATCHER_SECRET}
negative: newscatcher_api_key: "<your-newscatcher-api-key>"
negative: "resolved": "https://registry.npmjs.org/newscatcher-auth/-/newscatcher-auth-1.2.0.tgz#fd1c288bb2522af2eadb800753bb47476eabb4e46fb"

id: nftport-api-key
title: NFTPort API key
severity: high
keywords: nftport
pattern: (?i)\b(?:nftport)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NFTPORT_API_KEY="239c88d5-844a-3717-c4d7-ac44ea7832e8"
positive: nftport:\n  api_token: '1fbbfc3b-bac8-e723-1492-daad0b145d8b'
positive: {"nftport_secret": "85c3c771-bee3-bc69-695b-a24ad60111c6"}
negative: export NFTPORT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: nftport_token = os.environ["NFTPORT_TOKEN"]
negative: NFTPORT_SECRET=${NFTPORT_SECRET}
negative: nftport_api_key: "<your-nftport-api-key>"
negative: "resolved": "https://registry.npmjs.org/nftport-auth/-/nftport-auth-1.2.0.tgz#cc36c41a2c7401df9cad99fb7ba2e27f89b6"

id: ngrok-auth-token
title: ngrok authtoken / API key
severity: high
keywords: ngrok
pattern: (?i)\b(?:ngrok)[^\n\r#]{0,40}?\b([1-9][A-Za-z0-9]{25,27}_[1-9A-Za-z][A-Za-z0-9]{19,21})(?![\w-])
entropy: 3.5
confidence: medium
positive: export NGROK_API_KEY="2niIZRKGamg29PoSmeVIgkbRZ1P_wAIPjWpn8VXwtzsAw314p"
positive: ngrok_token: '2b67UslfNBUn2e86qNWxNEh7Ei9_ipnxSIm778cHaqqeVhcTo'
positive: {"ngrok_secret": "29ObUxMr2YmGERQ6l0PN6W35y2M_qQBv4pQnGn5meUDbHbORT"}
negative: export NGROK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: ngrok_token = os.environ["NGROK_TOKEN"]
negative: NGROK_SECRET=${NGROK_SECRET}
negative: ngrok_api_key: "<your-ngrok-api-key>"
negative: "resolved": "https://registry.npmjs.org/ngrok-auth/-/ngrok-auth-1.2.0.tgz#8539b045f2890f4f177b9585921942aadaef058833266e6ee"

id: nicereply-api-key
title: Nicereply API key
severity: high
keywords: nicereply
pattern: (?i)\b(?:nicereply)[^\n\r#]{0,40}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NICEREPLY_API_KEY="f17c711f9e9e6af4c73ae910342766c69ec8fb8e"
positive: nicereply_token: '5d26d259dc2a606178d168e0cc48fc0611d950b6'
positive: {"nicereply_secret": "e32c656ec10cf746f77f059904581c70738b0b43"}
negative: export NICEREPLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: nicereply_token = os.environ["NICEREPLY_TOKEN"]
negative: NICEREPLY_SECRET=${NICEREPLY_SECRET}
negative: nicereply_api_key: "<your-nicereply-api-key>"
negative: "resolved": "https://registry.npmjs.org/nicereply-auth/-/nicereply-auth-1.2.0.tgz#51bcde99c76e851856d02b737cbdd3da81e9eca9"

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
pattern: (?i)\b(?:nimble)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{30})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NIMBLE_API_KEY="gn7wzoFSq4Oe9VsO8NKQLxl0TFZ2im"
positive: nimble:\n  api_token: 'dwoEB6UNtV3Fm6r0IcSZbRqOVYkn1O'
positive: {"nimble_secret": "z1gn6eugWB3iSGK4qmxjvX6tZkkTgc"}
negative: export NIMBLE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: nimble_token = os.environ["NIMBLE_TOKEN"]
negative: NIMBLE_SECRET=${NIMBLE_SECRET}
negative: nimble_api_key: "<your-nimble-api-key>"
negative: "resolved": "https://registry.npmjs.org/nimble-auth/-/nimble-auth-1.2.0.tgz#8984addd90f0299b7be17ee716d016"

id: noticeable-api-key
title: Noticeable API key
severity: high
keywords: noticeable
pattern: (?i)\b(?:noticeable)[^\n\r#]{0,30}?\b((?=[a-z]{0,19}\d)(?=\d{0,19}[a-z])[a-z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NOTICEABLE_API_KEY="JB840GcmcOlS6kH8W8YY"
positive: noticeable_token: 'yfKPZEUpGmbbnVg9Xubl'
positive: {"noticeable_secret": "B91Ta03Va5NE6AruWJSo"}
negative: export NOTICEABLE_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: noticeable_token = os.environ["NOTICEABLE_TOKEN"]
negative: NOTICEABLE_SECRET=${NOTICEABLE_SECRET}
negative: noticeable_api_key: "<your-noticeable-api-key>"
negative: "resolved": "https://registry.npmjs.org/noticeable-auth/-/noticeable-auth-1.2.0.tgz#f4cf8fe50224323d4543"
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
pattern: (?i)\b(?:nozbe(?:teams|_teams)?)[^\n\r#]{0,40}?\b([A-Za-z0-9]{16}_[A-Za-z0-9_=-]{40,90})(?![\w-])
entropy: 3.5
confidence: medium
positive: export NOZBE_API_KEY="87j5r5vAFVwPZBJu_8_BmGq2mjQPa9Ej5ZgeXQYiHMoJBssYHSrtHQjnG0_miKjGQLnrLRh97iWs57MmW"
positive: nozbe_token: 'lLRUALPhZW1sAW6f_S87G-_Iw218YXV4C6oPiZTYe8Z6SKyQOZD4XCbGzqsDeC9y0rCV3nYO9tm62dc26'
positive: {"nozbe_secret": "Txjq9DzO2Q8rVkSX_zIDPa09zx2Uz0fW-0fMnneWyAMB163NgXiwsSwKMCz_OrD1aCJ_t5EoH7KiOm8n9"}
negative: export NOZBE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: nozbe_token = os.environ["NOZBE_TOKEN"]
negative: NOZBE_SECRET=${NOZBE_SECRET}
negative: nozbe_api_key: "<your-nozbe-api-key>"
negative: "resolved": "https://registry.npmjs.org/nozbe-auth/-/nozbe-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: numverify-api-key
title: numverify access key
severity: high
keywords: numverify
pattern: (?i)\b(?:numverify)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NUMVERIFY_API_KEY="c5467e574ef0bee4440baf58678d8b32"
positive: numverify:\n  api_token: '7cdb6872cb7181f511f0f71055c8133b'
positive: {"numverify_secret": "7f64cd2639da293986ece790b1f44f91"}
negative: export NUMVERIFY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: numverify_token = os.environ["NUMVERIFY_TOKEN"]
negative: NUMVERIFY_SECRET=${NUMVERIFY_SECRET}
negative: numverify_api_key: "<your-numverify-api-key>"
negative: "resolved": "https://registry.npmjs.org/numverify-auth/-/numverify-auth-1.2.0.tgz#200c37e041f2ba2c342fae325c098db3"

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
pattern: (?i)\b(?:nylas)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{30}|nyk_v0_[A-Za-z0-9_]{40,80})(?![\w-])
entropy: 3.0
confidence: medium
positive: export NYLAS_API_KEY="8mzp7v0jie961wco0o3ysgz8wlxlgb"
positive: nylas:\n  api_token: 'f3vb5l3jqipq0rq75exm1qn71dvshi'
positive: {"nylas_secret": "2j8mob5i1r3255ihfmnlhm1zhwcjg0"}
negative: export NYLAS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: nylas_token = os.environ["NYLAS_TOKEN"]
negative: NYLAS_SECRET=${NYLAS_SECRET}
negative: nylas_api_key: "<your-nylas-api-key>"
negative: "resolved": "https://registry.npmjs.org/nylas-auth/-/nylas-auth-1.2.0.tgz#4c728b2aafb7f1a8a77b2644cf75e4"
"""#
}
