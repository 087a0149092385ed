extension RuleCatalog {
    /// Provider rules F to K (context and prefix rules for SaaS API keys, from FlightLabs to Kylas).
    static let providersFtoK = #"""
id: flightlabs-api-key
title: FlightLabs API access key (JWT)
severity: high
keywords: flightlabs flight-labs goflightlabs
pattern: (?i)\b(?:flightlabs|flight-labs|goflightlabs)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b(eyJ[A-Za-z0-9_-]{10,600}\.[A-Za-z0-9_-]{10,2000}(?:\.[A-Za-z0-9_-]{5,600})?)(?![\w-])
entropy: 3.0
window: 2048
confidence: medium
positive: export FLIGHTLABS_API_KEY="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJIVlRIZ1FHMlhPd3l2S3JMbVlZTEJNU3IiLCJpYXQiOjE2MTAyMzgxMDd9.PuQe_dF6IG2uRTWe5YjE5-YLjqQwr7s-cuXBKyxmm-p"
positive: flightlabs:\n  api_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJSZGdTcDlLcWxyRVVhYUVFaE5ydjlKVlciLCJpYXQiOjE2NTg0NTY0NTB9.bmFqME7sGrB-zRcjyE1DaumRoqSAjZcTX9DJQImpnE1'
positive: {"flightlabs_secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJqdmRRWDNVYWNVNlBuWDVTNkVzanM3S2giLCJpYXQiOjE2OTU3MDY3Nzh9.1VA34uPm_ibHS-lJEpRdIbtG82IB49mY3Oygh13MbH-"}
negative: export FLIGHTLABS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: flightlabs_token = os.environ["FLIGHTLABS_TOKEN"]
negative: FLIGHTLABS_SECRET=${FLIGHTLABS_SECRET}
negative: flightlabs_api_key: "<your-flightlabs-api-key>"
negative: "resolved": "https://registry.npmjs.org/flightlabs-auth/-/flightlabs-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: float-api-key
title: Float API access token
severity: high
keywords: float_ float- float. floatapi floatkey floattoken floatsecret floataccess
pattern: (?i)\b(?:float(?=[_.-]|api|key|token|secret|access))[_.-]?(?:api[_.-]?)?(?:access[_.-]?|secret[_.-]?|private[_.-]?|auth[_.-]?)?(?:key|token|secret)[\w.-]{0,10}?["\']?\s{0,3}[:=]{1,2}\s{0,3}["\']?\b([A-Za-z0-9._-]{40,80}={0,2})(?![\w+/=-])
entropy: 3.5
confidence: medium
positive: export FLOAT_API_KEY="kXPV6Xn2rGvcvndWHoJfRWYfCo28_TbErCIqkAKOSzlS_jZd5BrNhSKj7OHk"
positive: float_token: '7I8-yGuy-FTWG6virDg86PXQ17yf191W_h-TXrze_7Fz8zYunQvsM9fmYrgM'
positive: {"float_secret": "k8SO__4GPODBhJDc9wjb8BUP1TXaxdWGK9bexwix0fxqeWj5wmd4BURcD3w8"}
negative: export FLOAT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: float_token = os.environ["FLOAT_TOKEN"]
negative: FLOAT_SECRET=${FLOAT_SECRET}
negative: float_api_key: "<your-float-api-key>"
negative: "resolved": "https://registry.npmjs.org/float-auth/-/float-auth-1.2.0.tgz#11554d49f103761c3f823a673f298798f856e83ee22fc75563ae972fc33e"

id: formbucket-api-key
title: FormBucket API key
severity: high
keywords: formbucket
pattern: (?i)\b(?:formbucket)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9_-]{6,300}\.[A-Za-z0-9_-]{6,600}\.[A-Za-z0-9_-]{3,300})(?![\w-])
entropy: 3.0
window: 1024
confidence: medium
positive: export FORMBUCKET_API_KEY="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkVFUxMnlQTUFSUTA4MzBMTEw3SXAxSmQiLCJpYXQiOjE3MTAyMzk5NjV9.poqTaJdrPGkqA2hLneybN7CaXihB8Bsu_K8dzoHof96"
positive: formbucket:\n  api_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI5dFdidjQyMG9xUlZpeGhMamUyNWxTaFIiLCJpYXQiOjE3OTAwNzcwMjZ9.A5HRfm_A0au_FtZ7dJTtP0nxJX4eUdIseo5BOh8JvcU'
positive: {"formbucket_secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhakVLRTZPTGpnZEFiZ2NnTWJDNmVNQlYiLCJpYXQiOjE2Mjc5OTU5NzB9.EY2Iyua3Iw6JUxAE7rMFzGdG61TqVz_Knt2wT3uyN8B"}
negative: export FORMBUCKET_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: formbucket_token = os.environ["FORMBUCKET_TOKEN"]
negative: FORMBUCKET_SECRET=${FORMBUCKET_SECRET}
negative: formbucket_api_key: "<your-formbucket-api-key>"
negative: "resolved": "https://registry.npmjs.org/formbucket-auth/-/formbucket-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: formcraft-api-key
title: FormCraft API key
severity: high
keywords: formcraft
pattern: (?i)\b(?:formcraft)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{16})(?![\w-])
entropy: 2.7
confidence: medium
positive: export FORMCRAFT_API_KEY="nXrRuJ8WjreifNCa"
positive: formcraft:\n  api_token: 'SX6NDyrPbbinr02a'
positive: {"formcraft_secret": "T6RoWQ8MQdZGcVGD"}
negative: export FORMCRAFT_API_KEY="xxxxxxxxxxxxxxxx"
negative: formcraft_token = os.environ["FORMCRAFT_TOKEN"]
negative: FORMCRAFT_SECRET=${FORMCRAFT_SECRET}
negative: formcraft_api_key: "<your-formcraft-api-key>"
negative: "resolved": "https://registry.npmjs.org/formcraft-auth/-/formcraft-auth-1.2.0.tgz#44b51a15f9de911b"

id: formio-api-key
title: Form.io API key or JWT
severity: high
keywords: formio form.io
pattern: (?i)\b(?:formio|form\.io)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b(eyJ[A-Za-z0-9_-]{10,600}\.[A-Za-z0-9_-]{10,2000}(?:\.[A-Za-z0-9_-]{5,600})?)(?![\w-])
entropy: 3.0
window: 2048
confidence: medium
positive: export FORMIO_API_KEY="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZks4bndybGpIZU11OGxHSW5zMnZNSWIiLCJpYXQiOjE2MzMyNjc1MzB9.lq1uFzUYRMXmhGtP6eE983e8WSmwPPgUOIPhGd6WdQa"
positive: formio:\n  api_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJTYWN3UTdXZHBNTkpCVG1xWjJCTkx5Wk0iLCJpYXQiOjE3OTQ2NTE2MjV9.Fb53ZNqts4RVBfZm0cV9co4Y9eAv47YQrkX5JeU1xjv'
positive: {"formio_secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0ekdOYUR3RXhVZlFGcXdnWkZVU0NGankiLCJpYXQiOjE3NDM5OTI0MzZ9.tLDuPl35B_huXB2DdeN7Rhwc3uoWbwONRjzVBIfWNbk"}
negative: export FORMIO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: formio_token = os.environ["FORMIO_TOKEN"]
negative: FORMIO_SECRET=${FORMIO_SECRET}
negative: formio_api_key: "<your-formio-api-key>"
negative: "resolved": "https://registry.npmjs.org/formio-auth/-/formio-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: foursquare-api-key
title: Foursquare client secret or API key
severity: high
keywords: foursquare 4sq
pattern: (?i)\b(?:foursquare|4sq)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{48})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FOURSQUARE_API_KEY="0KVEFUDPNTH81IE6BUVIVF8890JH0E5VPBD8SNO2EZXQGDZ9"
positive: foursquare:\n  api_token: 'SX7ICZ2865DMIXFILYFXU0BXHY2VEHXB4CZ7SMRSVNMSFRGL'
positive: {"foursquare_secret": "9D2TLYHLFGNTI22RNBISRQKTU3OVJ4RLZTL4RLCPUTEBID2X"}
negative: export FOURSQUARE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: foursquare_token = os.environ["FOURSQUARE_TOKEN"]
negative: FOURSQUARE_SECRET=${FOURSQUARE_SECRET}
negative: foursquare_api_key: "<your-foursquare-api-key>"
negative: "resolved": "https://registry.npmjs.org/foursquare-auth/-/foursquare-auth-1.2.0.tgz#5a758ca2766b2a026fb71059400356a36ec26ea9170dc46d"

id: frame-io-api-token
title: Frame.io developer token
severity: high
keywords: fio-u-
pattern: (fio-u-[A-Za-z0-9_=-]{60,80})(?![\w=-])
entropy: 3.5
positive: export FRAMEIO_TOKEN=fio-u-5yV5iFKzFqMKuv59cRsM1CLZfFaPEI0egD0aFFRofcsVCcYn8ySuyPb-yUf36NrN
positive: headers = {"Authorization": "Bearer fio-u-k2V7lvL0M3UPwIfgxiQiesXKMrMk5HAVIKl5BJVbG_8HURr-MwROWZhJ4tGRpDY0"}
negative: FRAMEIO_TOKEN=fio-u-xxxxxxxxxxxx
negative: fio-u-<your-developer-token>

id: front-api-token
title: Front API token
severity: high
keywords: front
pattern: (?i)\b(?:front(?:app)?)[^\n\r#]{0,12}?(?:\r?\n[^\n\r#]{0,12}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,12}?\b([A-Za-z0-9_-]{20,600}\.[A-Za-z0-9_-]{40,1500}(?:\.[A-Za-z0-9_.-]{10,600})?)(?![\w-])
entropy: 3.5
window: 2048
confidence: medium
positive: export FRONT_API_KEY="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJXam1KMlpnMENpNzJlbzQ0TWZBTkhtbGoiLCJpYXQiOjE2NzA1OTkwOTR9.pAux_elGIZx8BNCReqng7noQPVhb6Ix1Q6-GlVSGApg"
positive: front:\n  api_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJrNjVJRjE0eE9oTHd3RzhsRFhTNHhiTkoiLCJpYXQiOjE3OTE5OTI2NDl9.nZHzO40W1AAVBWCwvmXinrKamOF_pSjRYpmhJGQfip8'
positive: {"front_secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI3QlRBWnJxdWxVNEtCVnJKZWYwalYzejQiLCJpYXQiOjE3NzM4ODE4Mzd9.OinkStCPGr78kQvOhCQeWmrtQpZ7JDtzWHXWINDx8_7"}
negative: export FRONT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: front_token = os.environ["FRONT_TOKEN"]
negative: FRONT_SECRET=${FRONT_SECRET}
negative: front_api_key: "<your-front-api-key>"
negative: "resolved": "https://registry.npmjs.org/front-auth/-/front-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: ftp-url-password
title: Password in an FTP URL
severity: high
keywords: ftp:// ftps:// sftp://
pattern: (?i)\b(?:s?ftps?)://[^\s:@/\"'<>\{\}\$]{1,64}:([^\s:@/\"'<>\{\}\$*]{3,128})@[A-Za-z0-9][\w.-]{0,253}
confidence: medium
positive: urllib.request.urlopen("ftp://deploy:VELlZeWMpMhwIJ@files.internal.example.org/pub/build.tgz")
positive: MIRROR=sftp://backup:EKJ5i4rG2XlszoVwrM@10.0.4.12/srv
negative: ftp://ftp.example.com/pub/file.txt
negative: ftp://user:${FTP_PASSWORD}@ftp.example.com
negative: ftp://user:*****@host
negative: ftp://anonymous@ftp.gnu.org/

id: fulcrum-api-key
title: Fulcrum API token
severity: high
keywords: fulcrum
pattern: (?i)\b(?:fulcrum)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{80})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FULCRUM_API_KEY="8b23dec33e1c515260e8862e2ca19caebdb20f3c327553c2b591aef3bd0aadc5324be92ed342593c"
positive: fulcrum:\n  api_token: 'f55193ef071f4780825c29e1955db7d1b204511f2215a873486c853e4b821ccf7faaeda9149e7dcf'
positive: {"fulcrum_secret": "fdc1b82ae66b8fa3b9c5bb78603e25dbbe8f595bdde3e84d66435f0db6a804b72b0c4f1d424edb14"}
negative: export FULCRUM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: fulcrum_token = os.environ["FULCRUM_TOKEN"]
negative: FULCRUM_SECRET=${FULCRUM_SECRET}
negative: fulcrum_api_key: "<your-fulcrum-api-key>"
negative: "resolved": "https://registry.npmjs.org/fulcrum-auth/-/fulcrum-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: fullstory-api-key
title: FullStory API key
severity: high
keywords: fullstory full_story
pattern: (?i)\b(?:fullstory|full_story)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?:na1\.)?[A-Za-z0-9+/]{60,140}={0,2})(?![\w+/=-])
entropy: 3.0
confidence: medium
positive: export FULLSTORY_API_KEY="zYq3xBM17DGH9cc0EHlDXqcOBNwTfq9qjj/Ectga2Mt/I1glrBPsKoJ2Rw4prZ9ZnmVABB/2yGp3pVb39yN1vZ464YR4kf1y"
positive: fullstory:\n  api_token: 'iHc2Gz2qwEFEYUzcqbqNILBAhLYMAs2Qx+drx2MDhZJyNzuced/k123VcEDP0W+n60RrxgMMiYsRqYGx7tmzMF7yZYE6cRAs'
positive: {"fullstory_secret": "ydAYF+QokgTAwn0sE8W10ukhSJ07L1HaHaHkthCioM59eLtd6Y0CEGmMZDlqiajJ352KAtPzzxQCv9NEJKYIyasc0tQ1Az8S"}
negative: export FULLSTORY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: fullstory_token = os.environ["FULLSTORY_TOKEN"]
negative: FULLSTORY_SECRET=${FULLSTORY_SECRET}
negative: fullstory_api_key: "<your-fullstory-api-key>"
negative: "resolved": "https://registry.npmjs.org/fullstory-auth/-/fullstory-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: fullstory-api-key-na1
title: FullStory API key (na1. prefix)
severity: high
keywords: na1.
pattern: \b(na1\.[A-Za-z0-9+/]{80,140}={0,2})(?![\w+/=-])
entropy: 4.0
positive: FULLSTORY_API_KEY=na1.fiEtSKCYbZIvNMoc3ielN+DZwNpun74dCH4Cxsqf77ZoD8WRlhYxTkOHSJBk+LzcWW3y423BqU4HpmIuOSYPJKfcTNw7duqx7La+
positive: fs_key = "na1.pks8t8Ju+sKZbG/7+ZjgaVNYq5Bsck67/y6SDdbGsuG3pvCkbBom/TMbXyUhMLEgYhrz7BEr5Ef25kGlwBivn3EgIOsj5H6d=="
negative: na1.example.com
negative: na1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA

id: fxmarket-api-key
title: FXMarket API key
severity: high
keywords: fxmarket
pattern: (?i)\b(?:fxmarket)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export FXMARKET_API_KEY="YN7UotPZoksNqj1Z464Y"
positive: fxmarket:\n  api_token: 'BTBACxinFZuVC70CVzlJ'
positive: {"fxmarket_secret": "wIVVexrc33Up_BCL3UY3"}
negative: export FXMARKET_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: fxmarket_token = os.environ["FXMARKET_TOKEN"]
negative: FXMARKET_SECRET=${FXMARKET_SECRET}
negative: fxmarket_api_key: "<your-fxmarket-api-key>"
negative: "resolved": "https://registry.npmjs.org/fxmarket-auth/-/fxmarket-auth-1.2.0.tgz#ed7ca7ee6a5f2d868774"

id: geckoboard-api-key
title: Geckoboard API key
severity: high
keywords: geckoboard
pattern: (?i)\b(?:geckoboard)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9+/]{32,48}={0,2})(?![\w+/=-])
entropy: 3.0
confidence: medium
positive: export GECKOBOARD_API_KEY="AZbZT/WljDwWzb4/bgVQq+2VGwl4dDgyhGDBxjQkD/b4"
positive: geckoboard:\n  api_token: 'SqvDkEwUYMO/ymWEiFyEfkr7Nrp01LD5SBEwAynN3ueB'
positive: {"geckoboard_secret": "6bEmsOlSILHQ0zCU/2t3JVwoPBgHVaR5bQuPqqfNb6zA"}
negative: export GECKOBOARD_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: geckoboard_token = os.environ["GECKOBOARD_TOKEN"]
negative: GECKOBOARD_SECRET=${GECKOBOARD_SECRET}
negative: geckoboard_api_key: "<your-geckoboard-api-key>"
negative: "resolved": "https://registry.npmjs.org/geckoboard-auth/-/geckoboard-auth-1.2.0.tgz#8f2a1cba4f67c2cb23129501ba1f55ef2a8a4fc2b823"

id: geoapify-api-key
title: Geoapify API key
severity: high
keywords: geoapify
pattern: (?i)\b(?:geoapify)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export GEOAPIFY_API_KEY="938bf8eaa1892a054e3241684368222e"
positive: geoapify:\n  api_token: '97c2288a92debb2478355f305bae65be'
positive: {"geoapify_secret": "590439269c5ee9bd2db3cbe844f0df4e"}
negative: export GEOAPIFY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: geoapify_token = os.environ["GEOAPIFY_TOKEN"]
negative: GEOAPIFY_SECRET=${GEOAPIFY_SECRET}
negative: geoapify_api_key: "<your-geoapify-api-key>"
negative: "resolved": "https://registry.npmjs.org/geoapify-auth/-/geoapify-auth-1.2.0.tgz#5da5dc98246078c4faa5759dc1fe9b16"

id: geocode-api-key
title: Geocode (geocode.xyz / geocode.maps.co) API key
severity: high
keywords: geocode
pattern: (?i)\b(?:geocode(?!r)(?:xyz|_xyz|maps)?)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{28})(?![\w-])
entropy: 3.0
confidence: medium
positive: export GEOCODE_API_KEY="fhy07m69yne1t73f448bmrkgnlp8"
positive: geocode:\n  api_token: 'no9cntilielfo56tryfsrw98raxq'
positive: {"geocode_secret": "vh6rm4qju1iwzt9xvhfiwpu98y5e"}
negative: export GEOCODE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: geocode_token = os.environ["GEOCODE_TOKEN"]
negative: GEOCODE_SECRET=${GEOCODE_SECRET}
negative: geocode_api_key: "<your-geocode-api-key>"
negative: "resolved": "https://registry.npmjs.org/geocode-auth/-/geocode-auth-1.2.0.tgz#93089818a71bfc2fa047f90ec8e8"

id: geocodify-api-key
title: Geocodify API key
severity: high
keywords: geocodify
pattern: (?i)\b(?:geocodify)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export GEOCODIFY_API_KEY="bf7a3baaa588384f6d22653fc33735cc6cd15c66"
positive: geocodify:\n  api_token: 'ada82c32247d7afecbb44d0f8a238a6075db2970'
positive: {"geocodify_secret": "d0769286832d8636b42047dd8029caf0181a38fb"}
negative: export GEOCODIFY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: geocodify_token = os.environ["GEOCODIFY_TOKEN"]
negative: GEOCODIFY_SECRET=${GEOCODIFY_SECRET}
negative: geocodify_api_key: "<your-geocodify-api-key>"
negative: "resolved": "https://registry.npmjs.org/geocodify-auth/-/geocodify-auth-1.2.0.tgz#525eb6d498b69e39d3bedbff00478bad97f366bc"

id: geoipifi-api-key
title: GeoIPify (ipify) API key
severity: high
keywords: ipifi ipify
pattern: (?i)\b(?:(?:geo)?ipifi|(?:geo)?ipify)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?:at_)?[A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export IPIFI_API_KEY="AnYl748KJ5xVVicIrzN2i1rYThHe7yik"
positive: ipifi:\n  api_token: 'ranGwPeoW4vVwu6qgjiIhxY0FdISLiNc'
positive: {"ipifi_secret": "UbVMf2jplouyNpZcCUtlj604mDNpHHCv"}
negative: export IPIFI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: ipifi_token = os.environ["IPIFI_TOKEN"]
negative: IPIFI_SECRET=${IPIFI_SECRET}
negative: ipifi_api_key: "<your-ipifi-api-key>"
negative: "resolved": "https://registry.npmjs.org/ipifi-auth/-/ipifi-auth-1.2.0.tgz#94ee607b0f1e879cf405805007040723"

id: getemail-api-key
title: GetEmail.io API key
severity: high
keywords: getemail
pattern: (?i)\b(?:getemail)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export GETEMAIL_API_KEY="tvYZFrli41YJn9IACRxn"
positive: getemail:\n  api_token: 'n08rlw5l5aJZDE44DXh3'
positive: {"getemail_secret": "HO5kjcoACyrFy67VZp2H"}
negative: export GETEMAIL_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: getemail_token = os.environ["GETEMAIL_TOKEN"]
negative: GETEMAIL_SECRET=${GETEMAIL_SECRET}
negative: getemail_api_key: "<your-getemail-api-key>"
negative: "resolved": "https://registry.npmjs.org/getemail-auth/-/getemail-auth-1.2.0.tgz#512036be883fe3f90573"

id: getgeoapi-api-key
title: GetGeoAPI key
severity: high
keywords: getgeoapi
pattern: (?i)\b(?:getgeoapi)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export GETGEOAPI_API_KEY="15760d0baf4e0c15f07a0e5c21d599890eda905e"
positive: getgeoapi:\n  api_token: '2f47d9183829aa7584c1f3b2102f65621ff558fb'
positive: {"getgeoapi_secret": "0ac86961c573ed54c0302a39d02ed0485c7fa687"}
negative: export GETGEOAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: getgeoapi_token = os.environ["GETGEOAPI_TOKEN"]
negative: GETGEOAPI_SECRET=${GETGEOAPI_SECRET}
negative: getgeoapi_api_key: "<your-getgeoapi-api-key>"
negative: "resolved": "https://registry.npmjs.org/getgeoapi-auth/-/getgeoapi-auth-1.2.0.tgz#6d05972f508a51ff04e1d3e7bd2af7d5357d91e5"

id: getgist-api-key
title: Gist (getgist) API key
severity: high
keywords: getgist
pattern: (?i)\b(?:getgist)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9+/]{60,90}={0,2})(?![\w+/=-])
entropy: 3.0
confidence: medium
positive: export GETGIST_API_KEY="z6LpAjJCuI/3+0nF4G0UZo+ojT+myGnH0dKq9mZ65eA2cKqKH6fT+3XHaa4RdyGBICLV"
positive: getgist:\n  api_token: 'm8sVg2NvBQkTg7y5nJkPuC01WOxg2Yr3biHKxJ8AaS1H8p690XKMOZj2GGDQK0+gb48w'
positive: {"getgist_secret": "B5514ohufG+4UEPtasSIHn9b9BmUYKeHVHKgYEa9Bmc62bo5K7pXPCIykSwP5knzh6zd"}
negative: export GETGIST_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: getgist_token = os.environ["GETGIST_TOKEN"]
negative: GETGIST_SECRET=${GETGIST_SECRET}
negative: getgist_api_key: "<your-getgist-api-key>"
negative: "resolved": "https://registry.npmjs.org/getgist-auth/-/getgist-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: getresponse-api-key
title: GetResponse API key
severity: high
keywords: getresponse
pattern: (?i)\b(?:getresponse)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export GETRESPONSE_API_KEY="7s5tfcnh0arsrzwt2bcxnqfgllwkto0v"
positive: getresponse:\n  api_token: 'b43j4hmny7srfpycmkjohjkkg8i13qfh'
positive: {"getresponse_secret": "3d5ltqtjfxc2kiqi5r1lzc71k23bd3yb"}
negative: export GETRESPONSE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: getresponse_token = os.environ["GETRESPONSE_TOKEN"]
negative: GETRESPONSE_SECRET=${GETRESPONSE_SECRET}
negative: getresponse_api_key: "<your-getresponse-api-key>"
negative: "resolved": "https://registry.npmjs.org/getresponse-auth/-/getresponse-auth-1.2.0.tgz#ab8e560071286109817c2d3eb2bb5a91"

id: gitter-api-token
title: Gitter API token
severity: high
keywords: gitter
pattern: (?i)\b(?:gitter)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export GITTER_API_KEY="c2a1b31f3a837994bdcdb27fa40bfa2080ee907b"
positive: gitter:\n  api_token: '93a3647911e35644a7482b5f567b457223e61d2f'
positive: {"gitter_secret": "1a570b621545d6f2da111980f5c9d794bb245e54"}
negative: export GITTER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: gitter_token = os.environ["GITTER_TOKEN"]
negative: GITTER_SECRET=${GITTER_SECRET}
negative: gitter_api_key: "<your-gitter-api-key>"
negative: "resolved": "https://registry.npmjs.org/gitter-auth/-/gitter-auth-1.2.0.tgz#74232e9fc74e39e976382308a4c4983a0376ce8c"

id: glassnode-api-key
title: Glassnode API key
severity: high
keywords: glassnode
pattern: (?i)\b(?:glassnode)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{25,30})(?![\w-])
entropy: 3.0
confidence: medium
positive: export GLASSNODE_API_KEY="TRhMF2MmpGBo7dYBkCAcWISQiGj"
positive: glassnode:\n  api_token: 'Q84ndKS1lkwv8YBpzPcr3X8jCVQ'
positive: {"glassnode_secret": "fs2Gl59VGpw6bbbnUsm3KbVKWab"}
negative: export GLASSNODE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: glassnode_token = os.environ["GLASSNODE_TOKEN"]
negative: GLASSNODE_SECRET=${GLASSNODE_SECRET}
negative: glassnode_api_key: "<your-glassnode-api-key>"
negative: "resolved": "https://registry.npmjs.org/glassnode-auth/-/glassnode-auth-1.2.0.tgz#2fe3677f1a33257768de80f31e0"

id: gocardless-live-access-token
title: GoCardless live access token
severity: critical
keywords: gocardless go_cardless
pattern: (?i)\b(?:gocardless|go_cardless)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b(live_[A-Za-z0-9_=-]{38,44})(?![\w-])
entropy: 3.5
confidence: medium
positive: export GOCARDLESS_API_KEY="live_v5qB7w5A8Et==LHgFUTZFUiB3ajmlTFiaLH1RKc6"
positive: gocardless:\n  api_token: 'live_oHyMfhEYzW0HBTQ7oJTNpHJKztbNuf-6GqsR17-N'
positive: {"gocardless_secret": "live_HHa-iv3nrDHSBwZzqarb_rS1JFBcWj2l-oIv6bND"}
negative: export GOCARDLESS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: gocardless_token = os.environ["GOCARDLESS_TOKEN"]
negative: GOCARDLESS_SECRET=${GOCARDLESS_SECRET}
negative: gocardless_api_key: "<your-gocardless-api-key>"
negative: "resolved": "https://registry.npmjs.org/gocardless-auth/-/gocardless-auth-1.2.0.tgz#975afb312474f986998d8db0d089d2a69d16d66a2b687"

id: gocardless-sandbox-access-token
title: GoCardless sandbox access token
severity: medium
keywords: gocardless go_cardless
pattern: (?i)\b(?:gocardless|go_cardless)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b(sandbox_[A-Za-z0-9_=-]{38,44})(?![\w-])
entropy: 3.5
confidence: medium
positive: export GOCARDLESS_API_KEY="sandbox_VBYQtTkKXaJ6dNxBp9kbOen32IyLVyyiLGsv5Rrr"
positive: gocardless:\n  api_token: 'sandbox_erOvkFfZrFGTCYQwJHef-asTqJ_iTx1e4d0lob6s'
positive: {"gocardless_secret": "sandbox_CeRsM_MAYFKWBS1CHs6ltI8Hk-YvGNrySJFPuF39"}
negative: export GOCARDLESS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: gocardless_token = os.environ["GOCARDLESS_TOKEN"]
negative: GOCARDLESS_SECRET=${GOCARDLESS_SECRET}
negative: gocardless_api_key: "<your-gocardless-api-key>"
negative: "resolved": "https://registry.npmjs.org/gocardless-auth/-/gocardless-auth-1.2.0.tgz#f839e600d10906521433789942cd980877119d906421895c"

id: goodday-api-key
title: GoodDay API token
severity: high
keywords: goodday
pattern: (?i)\b(?:goodday)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export GOODDAY_API_KEY="9f46dae9f9853d949c020f078fd8b239"
positive: goodday:\n  api_token: 'ccfc9a90f2bec8898d814c95b79540e7'
positive: {"goodday_secret": "8939eedb5ac6b245b2d77fe219383206"}
negative: export GOODDAY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: goodday_token = os.environ["GOODDAY_TOKEN"]
negative: GOODDAY_SECRET=${GOODDAY_SECRET}
negative: goodday_api_key: "<your-goodday-api-key>"
negative: "resolved": "https://registry.npmjs.org/goodday-auth/-/goodday-auth-1.2.0.tgz#6fa8196960e55126648a3d8c1cef9478"

id: gradle-credentials-password
title: Hard-coded password in a Gradle credentials block
severity: high
keywords: credentials
pattern: credentials\s{0,10}\{(?:[^\}]{0,300}?)\busername\s{0,10}[=(]?\s{0,10}[\"'][^\"'\n]{1,100}[\"']\s{0,5}\)?\s{0,300}?\bpassword\s{0,10}[=(]?\s{0,10}[\"']([^\"'\$\n]{1,128})[\"']
window: 1024
confidence: medium
positive: repositories {\n  maven {\n    url 'https://nexus.corp.local/repository/releases'\n    credentials {\n      username 'ci-deployer'\n      password 'WRKFVMx1WVbkdAPJ'\n    }\n  }\n}
positive: credentials {\n    username = "deploy"\n    password = "yWh3GxRXnLroEcHhiTIt"\n}
negative: credentials {\n    username project.findProperty("repoUser")\n    password project.findProperty("repoPassword")\n}
negative: credentials {\n    username "$repoUser"\n    password "$repoPassword"\n}

id: grafana-api-key
title: Grafana API key (legacy, base64 JSON)
severity: high
keywords: eyJrIjoi
pattern: \b(eyJrIjoi[A-Za-z0-9]{40,120}={0,2})(?![\w+/=-])
entropy: 3.5
positive: GRAFANA_API_KEY=eyJrIjoiS0tiUVRVbnFHbWNJWHBsRnh3N290enhIVHM0enp1d3UiLCJuIjoiY2kiLCJpZCI6MX0
negative: eyJrIjoiAAAAAAAAAAAAAAAAAAAA

id: grafana-cloud-api-token
title: Grafana Cloud access policy token
severity: high
keywords: glc_
pattern: \b(glc_[A-Za-z0-9+/]{32,400}={0,2})(?![\w+/=-])
entropy: 3.5
positive:   "token": "glc_YcAqOmvP8lsc2kei3Cf8L6Riey1pwq52xYLe0C5Gyy4uIoXavFccEwCx9txJqmGIU3hdi6lh7K8rcrUn"
negative: glc_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: glc_example

id: grafana-service-account-token
title: Grafana service account token
severity: high
keywords: glsa_
pattern: \b(glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})\b
entropy: 3.5
positive: Authorization: Bearer glsa_2j8QHDa4RJhYMjQ8LN56yFZyBjSOeze1_66795fe5
negative: glsa_xxxxxxxx
negative: glsa_<token>

id: graphhopper-api-key
title: GraphHopper API key
severity: high
keywords: graphhopper
pattern: (?i)\b(?:graphhopper)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12,14})(?![\w-])
entropy: 3.0
confidence: medium
positive: export GRAPHHOPPER_API_KEY="40a71971-3ad5-ea8c-f63c-ea90c7b6a5f6"
positive: graphhopper:\n  api_token: '8438427e-9b2e-f46f-a635-8b80f6f58ae1'
positive: {"graphhopper_secret": "33b6a852-ee89-e50c-09b0-bc2c4ae6d854"}
negative: export GRAPHHOPPER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: graphhopper_token = os.environ["GRAPHHOPPER_TOKEN"]
negative: GRAPHHOPPER_SECRET=${GRAPHHOPPER_SECRET}
negative: graphhopper_api_key: "<your-graphhopper-api-key>"
negative: "resolved": "https://registry.npmjs.org/graphhopper-auth/-/graphhopper-auth-1.2.0.tgz#950da3178d8cf7d2eaaef44806f46dbfb35b"

id: groovehq-api-token
title: GrooveHQ API access token
severity: high
keywords: groove
pattern: (?i)\b(?:groovehq|groove)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-f0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export GROOVE_API_KEY="5a32c884ea960c727435a9c4a4d8d42f4482e1cf64b9d259d19c660e55219954"
positive: groove:\n  api_token: 'ab2df5132656866a616d8de6343567bce27aa11138a5b69c2989fa1644e6a292'
positive: {"groove_secret": "0f1fbc593e8f28a81660b3f756374946dec408414570c66b94f1ace52c282b8b"}
positive: curl "https://api.groovehq.com/v1/tickets?access_token=ff0c849950bcba9ce1200c1a4de0b46e071ecb7fee18d28d1e71358a99215abd"
negative: export GROOVE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: groove_token = os.environ["GROOVE_TOKEN"]
negative: GROOVE_SECRET=${GROOVE_SECRET}
negative: groove_api_key: "<your-groove-api-key>"
negative: "resolved": "https://registry.npmjs.org/groove-auth/-/groove-auth-1.2.0.tgz#5ef66d75877049f498badf3d5f59e101f013c296622abcc4394d37e3acdad89f"

id: gtmetrix-api-key
title: GTmetrix API key
severity: high
keywords: gtmetrix
pattern: (?i)\b(?:gtmetrix)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-f0-9]{32})(?![\w-])
entropy: 2.8
confidence: medium
positive: export GTMETRIX_API_KEY="c811a7a4a68265d28cdda5566c91e448"
positive: gtmetrix:\n  api_token: '9b72c62906b096cf64f16470b0213b8c'
positive: {"gtmetrix_secret": "51a3420c5c3132658159c962a7a20313"}
negative: export GTMETRIX_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: gtmetrix_token = os.environ["GTMETRIX_TOKEN"]
negative: GTMETRIX_SECRET=${GTMETRIX_SECRET}
negative: gtmetrix_api_key: "<your-gtmetrix-api-key>"
negative: "resolved": "https://registry.npmjs.org/gtmetrix-auth/-/gtmetrix-auth-1.2.0.tgz#71a911844298047ceaaf6dc9b489b085"

id: guardian-api-key
title: The Guardian open platform API key
severity: high
keywords: guardian
pattern: (?i)\b(?:guardian(?:api|_api|-api|apis)?)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export GUARDIAN_API_KEY="194fa992-6ce0-8141-1fa6-1fe94a064435"
positive: guardian:\n  api_token: '537ccd45-190c-98aa-0ea3-242522e9efea'
positive: {"guardian_secret": "95715814-c358-cf74-65e8-d9892e553d4a"}
negative: export GUARDIAN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: guardian_token = os.environ["GUARDIAN_TOKEN"]
negative: GUARDIAN_SECRET=${GUARDIAN_SECRET}
negative: guardian_api_key: "<your-guardian-api-key>"
negative: "resolved": "https://registry.npmjs.org/guardian-auth/-/guardian-auth-1.2.0.tgz#214b0c04efc3e09f17fb49560a645e1950c0"

id: gumroad-api-key
title: Gumroad access token
severity: high
keywords: gumroad
pattern: (?i)\b(?:gumroad)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{40,50})(?![\w-])
entropy: 3.0
confidence: medium
positive: export GUMROAD_API_KEY="1fFXXe6XmBk8sv1nuTqEdoGqhX8L7htrlnbH1Z44tnb"
positive: gumroad:\n  api_token: 'I0xYckBYhKElM8ndXN6eEBUaaLntk3TJw9dfthqdmbn'
positive: {"gumroad_secret": "5if-AfdKRGU3nHzxEybIfs2O39llbQkLxo-TYz-4u7v"}
negative: export GUMROAD_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: gumroad_token = os.environ["GUMROAD_TOKEN"]
negative: GUMROAD_SECRET=${GUMROAD_SECRET}
negative: gumroad_api_key: "<your-gumroad-api-key>"
negative: "resolved": "https://registry.npmjs.org/gumroad-auth/-/gumroad-auth-1.2.0.tgz#8e38365facbc0666f27a26198592807386cdec6d5db"

id: gyazo-api-token
title: Gyazo access token
severity: high
keywords: gyazo
pattern: (?i)\b(?:gyazo)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{43,51})(?![\w-])
entropy: 3.0
confidence: medium
positive: export GYAZO_API_KEY="ESwllwRdzA-erLSMIp7YKnodWjP2mrBZoO0j3_JsKYk"
positive: gyazo:\n  api_token: 'p4EFehiiOzK0Snu8x09MANHnXnyMxW16PyaKt7KZZnQ'
positive: {"gyazo_secret": "TO8ukS4Ig9i_nRO_NpqF_Ow4RmlywaaFVliiGIHtNt9"}
negative: export GYAZO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: gyazo_token = os.environ["GYAZO_TOKEN"]
negative: GYAZO_SECRET=${GYAZO_SECRET}
negative: gyazo_api_key: "<your-gyazo-api-key>"
negative: "resolved": "https://registry.npmjs.org/gyazo-auth/-/gyazo-auth-1.2.0.tgz#34a6e3c8efab030e3c0ba0bd0045f93f1fc7423bb4f"

id: happyscribe-api-key
title: Happy Scribe API key
severity: high
keywords: happyscribe happy_scribe
pattern: (?i)\b(?:happyscribe|happy_scribe)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{24,28})(?![\w-])
entropy: 3.0
confidence: medium
positive: export HAPPYSCRIBE_API_KEY="fnUClUdq7gwCN3YwfVeaqCbe"
positive: happyscribe:\n  api_token: 'io3tqgTpfe2lzIdPVH0l1M9m'
positive: {"happyscribe_secret": "Vpo73LymVql88TxIyqPavcmc"}
negative: export HAPPYSCRIBE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: happyscribe_token = os.environ["HAPPYSCRIBE_TOKEN"]
negative: HAPPYSCRIBE_SECRET=${HAPPYSCRIBE_SECRET}
negative: happyscribe_api_key: "<your-happyscribe-api-key>"
negative: "resolved": "https://registry.npmjs.org/happyscribe-auth/-/happyscribe-auth-1.2.0.tgz#8def6338bd15d6b563831ff4"

id: krb5-asrep-hash
title: Kerberos 5 AS-REP roastable hash (etype 23)
severity: high
keywords: $krb5asrep$
pattern: (\$krb5asrep\$(?:23|17|18)\$(?:[^\$\s:]{1,128}:)?[a-f0-9]{32}\$[a-f0-9]{64,8192})
window: 8192
positive: $krb5asrep$23$svc_sql@CORP.LOCAL:4e91bd64530989cd676fe01f28b6ad1a$a43f53733029ce351be08381167fe14d19aa7865965f16a58c001479e5dd7ed3264672759c00eb6e540b943cce78726f9d63d8b8d39f58e0112200303f80a88581ce5564380f358d8aa6aaf698a8ef64dd89d1187544a4415437c3a5d76f0edd571ddcf856c8e5f57a33d7271c0113036c8c15b838eeb0f5bcba338c122b0c868d378ad53c5d8ca20523a17f88a4a2d9f5d46f9fbc3d
negative: $krb5asrep$23$user@domain:hash
negative: hashcat -m 18200 hashes.txt

id: krb5-tgs-hash
title: Kerberos 5 TGS-REP (kerberoast) hash
severity: high
keywords: $krb5tgs$
pattern: (\$krb5tgs\$(?:23|17|18)\$\*[^*\s]{1,200}\*\$[a-f0-9]{24,32}\$[a-f0-9]{64,8192})
window: 8192
positive: $krb5tgs$23$*sqlsvc$CORP.LOCAL$MSSQLSvc/db01.corp.local:1433*$a1917aa3af09ffc0d945e7deed3327b4$0c91a8adbf5257b9ff674529b44224eba9b9212f42f2e2b47f0a851d7f69b06f396c5c2d259988e3081d246f7ca71ecc9fe0c8c8945e852351f14de9e3166b5ff6a329a82cf07a909df00213c1e2cbc4c3f4b45200b526568f6ffddef4b1317e9f2901756074f8ee0031a3bd5dbd789337855d13bf7b69e260ae4bf18df600886a2ba6a471409c2aa28b3a928b601afbdee5628f72900b73e9162013c0a46ae32dd576ceef6729a02bddc657f6fbcfb05465ba8c9b87a5fb36ddac1af2edb2fe1f59b2ed60e93aab
negative: $krb5tgs$23$*user$realm*$...
negative: mode 13100 is $krb5tgs$

id: hellosign-api-key
title: HelloSign / Dropbox Sign API key
severity: high
keywords: hellosign hello_sign dropboxsign
pattern: (?i)\b(?:hellosign|hello_sign|dropboxsign)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9+/_-]{40,100}={0,2})(?![\w+/=-])
entropy: 3.5
confidence: medium
positive: export HELLOSIGN_API_KEY="f9bec56c6501eb19a3f684971fde26a11c4d3d2ea8a5167bc89364eba961bad0"
positive: hellosign:\n  api_token: '879ebafc13c22deaf8e0a1add503c20fb9f8d3a66c5f48274999c2082d54a838'
positive: {"hellosign_secret": "f5739010c045f02a413bebb564104b63bf99ab0d8bfef632521d5846168cf101"}
negative: export HELLOSIGN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: hellosign_token = os.environ["HELLOSIGN_TOKEN"]
negative: HELLOSIGN_SECRET=${HELLOSIGN_SECRET}
negative: hellosign_api_key: "<your-hellosign-api-key>"
negative: "resolved": "https://registry.npmjs.org/hellosign-auth/-/hellosign-auth-1.2.0.tgz#e7b3e9b6b51a39a2f58a49b608a7ad62ba1f024c40ec60e5bef0c1fa2e203b7d"

id: helpcrunch-api-key
title: HelpCrunch API key
severity: high
keywords: helpcrunch
pattern: (?i)\b(?:helpcrunch)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9+/_.-]{200,2000}={0,2})(?![\w+/=-])
entropy: 2.5
window: 2048
confidence: medium
positive: export HELPCRUNCH_API_KEY="k0cEGoax4QMkotRi6CVMa7hM4v0xk/JMWXjV+HJ2nOFGz9ZO6Q1REsr85Fmhh3rQrFWl3vfjH3sn6AK1V63JEjDkdItFw4COC60uP+ILtYinmmAiZqkyNvBLQEFTk/dEsCJNAoUxaDcl1YJK12UG1KPGxFAw1WlXcCISWEtpECDpQtglPmwHvdroxc7Qpvn0cDBRXCQIIqt3ihJscuynPs+gRu0ZPOhhivz6Cj/6Cou4FeWA4Jq52rII5g3vBh6mdIQWXhHKFhntAwYPv1bYoMgt0k4MWL0MA180rYGNc+ExPLQn9uQrncaJTtzCbRtNhSdghisnoDVHkMFwBJAWeyTyYdXkFUWEtcQePjk7nqfLfwQdFX552vSJGfSsBVAOgOgAvV8WNqhm44YV"
positive: helpcrunch:\n  api_token: 'et9XmDAZ6kHph+5S8ZLOuUAf3P9A1D9lWVLGWWohHpRGQExm2z+OnCRF9oR6jHCMw5E6wpgbYhuH9vHlA0mRVDJEsYOE6bY/AakpUj3K0fm8J5UM1ng5rgwhuMjWPfcPFssYLRCztMy/9VTnw90GUkbvLIVaKEqzv5bntlYsTDxAaR24wCorhXjLMfC/h4hzhfVVuhJ/SbT9YTu+BlGebc8+hsblh1zNT1rvnzbn27znTemekd02xu+w4XdTgYAiC3jwMP1VdymxTDo6DKIX/V6bygwAGOH+iHREhgzYlKBmvpTcjX6hFimFQZqQCPZ4Wl7tv3QG9ohtJjePa7N+uDoed1YxTRVM8wZSgQhGE7xo+Yh0iUC4Qq3ViaxgVYdkoVw93M2jJ6BjFpjx'
positive: {"helpcrunch_secret": "cN6BWO/WeDFzLcHWy3f7PUEmj8llCs9l1CZXw9jwhh7YgSmUiuBZ5Y2mZylvad2mYmjhi/y11q43xDpS3Zixm0KtCF1NRsi+m1B7FF+ixczpaAvuYrJqcfnNu+ASFQ2I4MdN8bsChupEYSmjWE6pb2llLr/TkEPCL6JcfsooAKLq+YjCkY7DQdbdXkMgktYk0h6G29fvIRT3RybGOPS44Af8WA2kKp+YWhee7DVn5iiVFIqZpvie6anwpmwzHOknAI0a+Br28gLCJL2c+rPtXpN4ASIBDJ+/ofSvjHUJr4pggy8Ny5WZWHqlD0cxT3dkwGBDRw+ZUpy65aQktLA9kY9PF5jZYNzk2RirhOdcn3juz9mf3v1HHJwuqtw5Zn+/WBnegJBM1gSdMdC3"}
negative: export HELPCRUNCH_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: helpcrunch_token = os.environ["HELPCRUNCH_TOKEN"]
negative: HELPCRUNCH_SECRET=${HELPCRUNCH_SECRET}
negative: helpcrunch_api_key: "<your-helpcrunch-api-key>"
negative: "resolved": "https://registry.npmjs.org/helpcrunch-auth/-/helpcrunch-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: helpscout-api-key
title: Help Scout API key or app secret
severity: high
keywords: helpscout help_scout
pattern: (?i)\b(?:helpscout|help_scout)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32,40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export HELPSCOUT_API_KEY="b53bd0869cdce5f48db7b7fe79029431080b11df"
positive: helpscout:\n  api_token: '1c213b667dd1cfe7644724fce2878183ae5a867a'
positive: {"helpscout_secret": "5043e888f9e13fb6095d78c57c3df88736332311"}
negative: export HELPSCOUT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: helpscout_token = os.environ["HELPSCOUT_TOKEN"]
negative: HELPSCOUT_SECRET=${HELPSCOUT_SECRET}
negative: helpscout_api_key: "<your-helpscout-api-key>"
negative: "resolved": "https://registry.npmjs.org/helpscout-auth/-/helpscout-auth-1.2.0.tgz#74320be54aae7fa983c8e1e1278bfb0b6161cd3b"

id: hereapi-api-key
title: HERE API key
severity: high
keywords: hereapi here_api here.com
pattern: (?i)\b(?:hereapi|here_api|here\.com)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{42,46})(?![\w-])
entropy: 3.0
confidence: medium
positive: export HEREAPI_API_KEY="AsU8s9VEsxex8v_RPZCt89N24VkfJw81mjAKH-a8KvQ"
positive: hereapi:\n  api_token: 'gCBzVxdpU4j-AEiqHbzg_KtGtU8wiIgZ9xc6A3guM8Q'
positive: {"hereapi_secret": "aRNmC0F_9Onpk-3iPZzNrrCpbKTvGewzu_-ghlyqapN"}
negative: export HEREAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: hereapi_token = os.environ["HEREAPI_TOKEN"]
negative: HEREAPI_SECRET=${HEREAPI_SECRET}
negative: hereapi_api_key: "<your-hereapi-api-key>"
negative: "resolved": "https://registry.npmjs.org/hereapi-auth/-/hereapi-auth-1.2.0.tgz#33b2f857db589d6b2d15bb26cdac82b7ca9f6507ab3"

id: hiveage-api-key
title: Hiveage API key
severity: high
keywords: hiveage
pattern: (?i)\b(?:hiveage)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{20,24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export HIVEAGE_API_KEY="6RL8HUy5HWRc7iuALqNl"
positive: hiveage:\n  api_token: 'OediGxUQXaIZryu1gDYV'
positive: {"hiveage_secret": "JJwNn0iwurFoLv529ZuZ"}
negative: export HIVEAGE_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: hiveage_token = os.environ["HIVEAGE_TOKEN"]
negative: HIVEAGE_SECRET=${HIVEAGE_SECRET}
negative: hiveage_api_key: "<your-hiveage-api-key>"
negative: "resolved": "https://registry.npmjs.org/hiveage-auth/-/hiveage-auth-1.2.0.tgz#5f09d1c6de8dd2317489"

id: holidayapi-api-key
title: Holiday API key
severity: high
keywords: holidayapi holiday_api
pattern: (?i)\b(?:holidayapi|holiday_api)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export HOLIDAYAPI_API_KEY="6820b8d2-0478-ad94-7e7e-a4d2f59608b9"
positive: holidayapi:\n  api_token: '39fb945a-835e-f8ab-f569-b8da43a63754'
positive: {"holidayapi_secret": "561eda49-6f4f-a021-723f-868b98fa6b2a"}
negative: export HOLIDAYAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: holidayapi_token = os.environ["HOLIDAYAPI_TOKEN"]
negative: HOLIDAYAPI_SECRET=${HOLIDAYAPI_SECRET}
negative: holidayapi_api_key: "<your-holidayapi-api-key>"
negative: "resolved": "https://registry.npmjs.org/holidayapi-auth/-/holidayapi-auth-1.2.0.tgz#8d1015aaaf1dcd51208543c97d78c61bd59b"

id: holistic-api-key
title: Holistic API key
severity: high
keywords: holistic
pattern: (?i)\b(?:holistic)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{64,84})(?![\w-])
entropy: 2.5
confidence: medium
positive: export HOLISTIC_API_KEY="098a6f0a00804a52d040950c28a12cb7662f1af6398d552ac0592edcc4519986"
positive: holistic:\n  api_token: 'd62fd58ecd5149d466d5845c9d11ca2529b3617e895cd51a356fd27fecd1b945'
positive: {"holistic_secret": "db4064ed8e3cd9f1c7d2de7e4d2402cbc1147f0fbd911183029bf23fd971d473"}
negative: export HOLISTIC_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: holistic_token = os.environ["HOLISTIC_TOKEN"]
negative: HOLISTIC_SECRET=${HOLISTIC_SECRET}
negative: holistic_api_key: "<your-holistic-api-key>"
negative: "resolved": "https://registry.npmjs.org/holistic-auth/-/holistic-auth-1.2.0.tgz#4ed78b5b1d79e3dd142e8754bf210f2a5c4479cc897a90bb1b5bbfd21e20c0e8"

id: honeycomb-api-key
title: Honeycomb API / ingest key
severity: high
keywords: honeycomb
pattern: (?i)\b(?:honeycomb)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-f0-9]{32}|[A-Za-z0-9]{22})(?![\w-])
entropy: 3.0
confidence: medium
positive: export HONEYCOMB_API_KEY="vFUJrHtZZP0a6fVG71ockR"
positive: honeycomb:\n  api_token: 'JUlXtiSQX3R7PhtwRi2mjy'
positive: {"honeycomb_secret": "TpoX0MASaYpz1ceqDq3ErP"}
negative: export HONEYCOMB_API_KEY="xxxxxxxxxxxxxxxxxxxxxx"
negative: honeycomb_token = os.environ["HONEYCOMB_TOKEN"]
negative: HONEYCOMB_SECRET=${HONEYCOMB_SECRET}
negative: honeycomb_api_key: "<your-honeycomb-api-key>"
negative: "resolved": "https://registry.npmjs.org/honeycomb-auth/-/honeycomb-auth-1.2.0.tgz#3d5e30610f09fc049f5559"

id: honeycomb-ingest-key
title: Honeycomb ingest / management key (hcaik_, hcxik_ prefixes)
severity: high
keywords: hcaik_ hcxik_ hcamk_ hcxmk_
pattern: \b(hc[ax][im]k_[a-z0-9]{50,64})\b
entropy: 3.5
positive: HONEYCOMB_API_KEY=hcaik_01sv3osgwehmvjqv00iyzfz5u4qctrlryeu805568usdqb3qp9rnidxuw5
negative: hcaik_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: hcaik_<ingest key>

id: html2pdf-api-key
title: html2pdf.app API key
severity: high
keywords: html2pdf
pattern: (?i)\b(?:html2pdf)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export HTML2PDF_API_KEY="Cd6QMfjeP4HRACA6SDxYJW9EUFV9Ee9mbCRrWkewtilXhHUWptl4X0Bfd1z6zedm"
positive: html2pdf:\n  api_token: 'cq8YN4daRCt6aqiyJmrP61OE3igRpy4tPSefvRFY7puxTXKaEzHkNFTThfogFRyS'
positive: {"html2pdf_secret": "3zCtU7kaNDzlVjkvLbBly9KQHa2WCTYgAs9cqeBlECZ1VoJsmGDAvpWp2oLnHj4D"}
negative: export HTML2PDF_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: html2pdf_token = os.environ["HTML2PDF_TOKEN"]
negative: HTML2PDF_SECRET=${HTML2PDF_SECRET}
negative: html2pdf_api_key: "<your-html2pdf-api-key>"
negative: "resolved": "https://registry.npmjs.org/html2pdf-auth/-/html2pdf-auth-1.2.0.tgz#f91c0cfecc2e03f50f3a35265ff51b35c9323d74fe1e6fa35dd162f41646d1c1"

id: hubspot-private-app-token
title: HubSpot private app access token
severity: high
keywords: pat-na1- pat-na2- pat-eu1- pat-ap1-
pattern: \b(pat-(?:na|eu|ap)[12]-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})\b
positive: HUBSPOT_ACCESS_TOKEN=pat-na1-071e9b5e-761c-23ad-db87-1355b5636584
positive: token: "pat-eu1-4e35fe83-1464-e486-91e1-dcc38939b269"
negative: pat-na1-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
negative: pat-na1-<your token>

id: hubspot-api-key
title: HubSpot legacy API key (hapikey)
severity: high
keywords: hubspot hapikey
pattern: (?i)\b(?:hubspot|hapi(?=key))[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export HUBSPOT_API_KEY="87b9413b-740f-78f1-478a-f58316451b29"
positive: hubspot:\n  api_token: 'd35714ed-752f-33e0-7f7f-337613c62ad5'
positive: {"hubspot_secret": "8c67eca0-a304-77b9-000c-1db5683bdc70"}
positive: requests.get(url, params={"hapikey": "8bf3951c-b344-9e71-8bf7-d87dfc4431b2"})
negative: export HUBSPOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: hubspot_token = os.environ["HUBSPOT_TOKEN"]
negative: HUBSPOT_SECRET=${HUBSPOT_SECRET}
negative: hubspot_api_key: "<your-hubspot-api-key>"
negative: "resolved": "https://registry.npmjs.org/hubspot-auth/-/hubspot-auth-1.2.0.tgz#741ddd2d3d4e00aa5da16aaebc690046809e"
negative: hubspot_portal = "how-to-set-up-hubspot"

id: humanity-api-key
title: Humanity API key
severity: high
keywords: humanity
pattern: (?i)\b(?:humanity)[_.-]?(?:api[_.-]?)?(?:access[_.-]?|secret[_.-]?|private[_.-]?|auth[_.-]?)?(?:key|token|secret)[\w.-]{0,10}?["\']?\s{0,3}[:=]{1,2}\s{0,3}["\']?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export HUMANITY_API_KEY="3be1fb90fe3d0aa0d2e523845725d333229b7936"
positive: humanity_token: '32d387ac56bc5e2d514e116ca3158277696ff2bc'
positive: {"humanity_secret": "7942fe7844ad7ffc437c625d92de9df9d63864fb"}
negative: export HUMANITY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: humanity_token = os.environ["HUMANITY_TOKEN"]
negative: HUMANITY_SECRET=${HUMANITY_SECRET}
negative: humanity_api_key: "<your-humanity-api-key>"
negative: "resolved": "https://registry.npmjs.org/humanity-auth/-/humanity-auth-1.2.0.tgz#54f99135cbe4272de7284fa12d1b815bac638c68"

id: hunter-api-key
title: Hunter.io API key
severity: high
keywords: hunter
pattern: (?i)\b(?:hunter(?:io|\.io)?)[_.-]?(?:api[_.-]?)?(?:access[_.-]?|secret[_.-]?|private[_.-]?|auth[_.-]?)?(?:key|token|secret)[\w.-]{0,10}?["\']?\s{0,3}[:=]{1,2}\s{0,3}["\']?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export HUNTER_API_KEY="a01886d3198a24d139596f9d8c39a9d75a927c04"
positive: hunter_token: '87109568e510d89ac300c936f0c3bc80ec053322'
positive: {"hunter_secret": "7fff0cb0989ebe466207ab00efbe4bf867495662"}
negative: export HUNTER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: hunter_token = os.environ["HUNTER_TOKEN"]
negative: HUNTER_SECRET=${HUNTER_SECRET}
negative: hunter_api_key: "<your-hunter-api-key>"
negative: "resolved": "https://registry.npmjs.org/hunter-auth/-/hunter-auth-1.2.0.tgz#2bf33cb2458e06705c8dbe57d2f4b7335cca7fad"

id: hybiscus-api-key
title: Hybiscus API key
severity: high
keywords: hybiscus
pattern: (?i)\b(?:hybiscus)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{40,60})(?![\w-])
entropy: 3.0
confidence: medium
positive: export HYBISCUS_API_KEY="4yxT4zZBgOOlt7hcmaE8QSTggOkU82tey8vHs74WDnWvrHqF"
positive: hybiscus:\n  api_token: 'xCEys1kgu0Pf1DGZtPKZKFdQ4XahJMzxFZ4CIlMK1I3rhFlS'
positive: {"hybiscus_secret": "2qLBG5Gcw6YNrSTyCr9afb5q57NbL6yxRGnfXQWOic6knBIi"}
negative: export HYBISCUS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: hybiscus_token = os.environ["HYBISCUS_TOKEN"]
negative: HYBISCUS_SECRET=${HYBISCUS_SECRET}
negative: hybiscus_api_key: "<your-hybiscus-api-key>"
negative: "resolved": "https://registry.npmjs.org/hybiscus-auth/-/hybiscus-auth-1.2.0.tgz#94ffd5c7cbbd132cd7e87b50624c9a249b072d497e6035ba"

id: ibm-cloud-api-key
title: IBM Cloud API key
severity: high
keywords: ibm
pattern: (?i)\b(?:ibm(?:cloud|_cloud|-cloud)?)[^\n\r#]{0,20}?(?:\r?\n[^\n\r#]{0,20}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,20}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{43,44})(?![\w-])
entropy: 3.0
confidence: medium
positive: export IBM_API_KEY="oRUtcYZs9jH29Od9XR0rJF23hVU5QX8u5FeldcjIEcS7"
positive: ibm:\n  api_token: 'kA0e3a9k8Mh_e51hbfjNavuh3MLgaqB2e-cSC_PFzzBw'
positive: {"ibm_secret": "DH96l60IrHbKMYvv_6yRKh52sbmL0tOooVku754Y6IFZ"}
positive: ibmcloud_apikey = "P1H-Y1pXoaxBlSMxoS71yg-dwwpDnVLKeuRvXPyRlCoi"
positive: ibm_platform_key= 2zCr2i4nfkwpKhrbL9lRvY1QnAl3vTD9x2I4sL4JjEYf
negative: export IBM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: ibm_token = os.environ["IBM_TOKEN"]
negative: IBM_SECRET=${IBM_SECRET}
negative: ibm_api_key: "<your-ibm-api-key>"
negative: "resolved": "https://registry.npmjs.org/ibm-auth/-/ibm-auth-1.2.0.tgz#9c3c74933aae000c9103939d486d5c78ffdcb5e763c7"

id: iconfinder-api-key
title: Iconfinder API key
severity: high
keywords: iconfinder
pattern: (?i)\b(?:iconfinder)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ICONFINDER_API_KEY="mKzuq9OJIIboTaatv6DOEffDOPtDMUQ60LHmYQnyGMhvs1oXmh8TwisYsDviVCxE"
positive: iconfinder:\n  api_token: 'gKXtOFWSdkxlJeb929Xc1LutHaeaa0SlLDLjTjABF9kkN8UEPWszl2lU2rAi7YTe'
positive: {"iconfinder_secret": "Ej9ynJw77heQIDSItrDcqTVXBM72Kx0LiR8h4i4b2WLUlEvB5VwAEnsZ9u438ffW"}
negative: export ICONFINDER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: iconfinder_token = os.environ["ICONFINDER_TOKEN"]
negative: ICONFINDER_SECRET=${ICONFINDER_SECRET}
negative: iconfinder_api_key: "<your-iconfinder-api-key>"
negative: "resolved": "https://registry.npmjs.org/iconfinder-auth/-/iconfinder-auth-1.2.0.tgz#6521636d06bd0f72a50e2f8697ae4c1f1e3be478197dc7377385810cf9598c1c"

id: iexcloud-api-token
title: IEX Cloud API token
severity: high
keywords: iexcloud iexapis iex_cloud iex_api
pattern: (?i)\b(?:iexcloud|iexapis|iex_cloud|iex_api)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?:[ST]?[sp]k_[A-Za-z0-9]{32}|[A-Za-z0-9]{35}))(?![\w-])
entropy: 3.0
confidence: medium
positive: export IEXCLOUD_API_KEY="sk_290ab7a9fcea73b89b7c14f84a56cc01"
positive: iexcloud:\n  api_token: 'sk_1e73026ffb9c7188f78ec84bef37352c'
positive: {"iexcloud_secret": "sk_dfa5870bb442c143ee167e8202d065f0"}
negative: export IEXCLOUD_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: iexcloud_token = os.environ["IEXCLOUD_TOKEN"]
negative: IEXCLOUD_SECRET=${IEXCLOUD_SECRET}
negative: iexcloud_api_key: "<your-iexcloud-api-key>"
negative: "resolved": "https://registry.npmjs.org/iexcloud-auth/-/iexcloud-auth-1.2.0.tgz#4e4c24f8eeb3c292777903e8217e25765fd"

id: imagekit-private-key
title: ImageKit private API key
severity: high
keywords: imagekit
pattern: (?i)\b(?:imagekit)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?:private_)?[A-Za-z0-9+/]{28,40}={0,2})(?![\w+/=-])
entropy: 3.0
confidence: medium
positive: export IMAGEKIT_API_KEY="private_JsqCW2P8L3fOVScnUoabttQtkLho="
positive: imagekit:\n  api_token: 'private_fJlcHaIgHaiorOFO1Qpo17r7EBg/='
positive: {"imagekit_secret": "private_4ZyX38v7a0T1E//Lfu+Rgf7EaY19="}
negative: export IMAGEKIT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: imagekit_token = os.environ["IMAGEKIT_TOKEN"]
negative: IMAGEKIT_SECRET=${IMAGEKIT_SECRET}
negative: imagekit_api_key: "<your-imagekit-api-key>"
negative: "resolved": "https://registry.npmjs.org/imagekit-auth/-/imagekit-auth-1.2.0.tgz#80a5dd868e6cf4c111fdc433297099d890adc"

id: imagga-api-key
title: Imagga API key / secret
severity: high
keywords: imagga
pattern: (?i)\b(?:imagga)[^\n\r#]{0,40}?\b([A-Za-z0-9+/=]{60,100}|acc_[a-f0-9]{15}|[a-f0-9]{32})(?![\w+/=-])
entropy: 3.0
confidence: medium
positive: export IMAGGA_API_KEY="z8KILkQA556kWgOji0XY/DNxiULJeQ5qJ0z3GWAAITZGc8VE6ZYpPk4z0UaCXjEKriFotKkxyeE5"
positive: imagga_token: 'EucNeODro/FfQ1J/RLRsJV3HkpudFQD/X4Ew/oHK5Uz+kkgVaP8afs0hZTfwmyV23f6OeJogZnQw'
positive: {"imagga_secret": "1NXZAn4pUIrA0hjyt6QI7Xe4AwQPF+hB/nHgevBssTYOoi/+vS3lD+zhfh7mDng5YcJDlG0j7qSI"}
negative: export IMAGGA_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: imagga_token = os.environ["IMAGGA_TOKEN"]
negative: IMAGGA_SECRET=${IMAGGA_SECRET}
negative: imagga_api_key: "<your-imagga-api-key>"
negative: "resolved": "https://registry.npmjs.org/imagga-auth/-/imagga-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: impala-api-key
title: Impala API key
severity: high
keywords: impala
pattern: (?i)\b(?:impala)[_.-]?(?:api[_.-]?)?(?:access[_.-]?|secret[_.-]?|private[_.-]?|auth[_.-]?)?(?:key|token|secret)[\w.-]{0,10}?["\']?\s{0,3}[:=]{1,2}\s{0,3}["\']?\b([A-Za-z0-9]{48})(?![\w-])
entropy: 3.0
confidence: medium
positive: export IMPALA_API_KEY="UROzHZ2Zab4eTTAVXD1KAqQMsPlTsehs4jvsgYlT3meaAfP3"
positive: impala_token: 'JxC46a0CaW9wXIpmxRXjM9R2p0RvV8pXHgYDk3kGTXVi2mX3'
positive: {"impala_secret": "qlYZNozTzoVuN8VDUCVLhYV634UZlg33Zbfkm0GvuBNl3S4E"}
negative: export IMPALA_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: impala_token = os.environ["IMPALA_TOKEN"]
negative: IMPALA_SECRET=${IMPALA_SECRET}
negative: impala_api_key: "<your-impala-api-key>"
negative: "resolved": "https://registry.npmjs.org/impala-auth/-/impala-auth-1.2.0.tgz#e86ede5a784698fffb307635df3ce2b194992dd1bc6f685a"

id: infura-api-key
title: Infura project id / secret
severity: high
keywords: infura
pattern: (?i)\b(?:infura)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-f0-9]{32})(?![\w-])
entropy: 2.8
confidence: medium
positive: export INFURA_API_KEY="9089a5d0148cd42edc42afc88e8a9dee"
positive: infura:\n  api_token: '8a019c703eaca0e3e3a39fd9d2fffe62'
positive: {"infura_secret": "d39ec889b6607092163bb01af1158193"}
negative: export INFURA_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: infura_token = os.environ["INFURA_TOKEN"]
negative: INFURA_SECRET=${INFURA_SECRET}
negative: infura_api_key: "<your-infura-api-key>"
negative: "resolved": "https://registry.npmjs.org/infura-auth/-/infura-auth-1.2.0.tgz#334f035369ced09cbb0493f10b83a16f"

id: insightly-api-key
title: Insightly API key
severity: high
keywords: insightly
pattern: (?i)\b(?:insightly)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export INSIGHTLY_API_KEY="213dc360-59bc-d7bd-8a43-350ee5a68c57"
positive: insightly:\n  api_token: '1d2f5187-24bf-ad47-f31a-20351fa9e43b'
positive: {"insightly_secret": "85576a26-aac8-ad8a-77c3-612cd09d7f28"}
negative: export INSIGHTLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: insightly_token = os.environ["INSIGHTLY_TOKEN"]
negative: INSIGHTLY_SECRET=${INSIGHTLY_SECRET}
negative: insightly_api_key: "<your-insightly-api-key>"
negative: "resolved": "https://registry.npmjs.org/insightly-auth/-/insightly-auth-1.2.0.tgz#a988cf51b38ce7bd3249e0ff553105b5073a"

id: instabot-api-key
title: Instabot API key
severity: high
keywords: instabot
pattern: (?i)\b(?:instabot)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9+/]{32,64}={0,2})(?![\w+/=-])
entropy: 3.0
confidence: medium
positive: export INSTABOT_API_KEY="vQ+w5ssqmT8Wvjplm8p4cf7+aVBEIokQy6aqKfx48SL4"
positive: instabot:\n  api_token: 'snWrf8pad4ciE3Qw2lZsTiXele7JmEFNw1kpAX/1Cmnc'
positive: {"instabot_secret": "Q8JpT9ic65BaJk/pYbReyVxZuKdTlM/mhbKhdQ1fBS+a"}
negative: export INSTABOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: instabot_token = os.environ["INSTABOT_TOKEN"]
negative: INSTABOT_SECRET=${INSTABOT_SECRET}
negative: instabot_api_key: "<your-instabot-api-key>"
negative: "resolved": "https://registry.npmjs.org/instabot-auth/-/instabot-auth-1.2.0.tgz#4bc798d0bf9e743229c4161ce0d02bd164e54cc26c2f"

id: intercom-access-token
title: Intercom access token
severity: high
keywords: dG9rO
pattern: \b(dG9rO[A-Za-z0-9+/]{50,60}={0,2})(?![\w+/=-])
entropy: 3.5
positive: INTERCOM_ACCESS_TOKEN=dG9rOmI4YjA0YzRmXzI1OTBfYWQzN19kYTkzX2EyYjY0NjZhMGY1MzoxOjA=
negative: dG9rOg==
negative: dG9rOxxxxxxxx

id: intercom-api-key
title: Intercom API key (context)
severity: high
keywords: intercom
pattern: (?i)\b(?:intercom)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9+/]{56,64}={0,2})(?![\w+/=-])
entropy: 3.0
confidence: medium
positive: export INTERCOM_API_KEY="Ho5gu5kDLDqahrA57dQSuiSxUzej2kG5cNFibHXOTvt0NkNmzbRDaUKY4R6R"
positive: intercom:\n  api_token: 'mqA8YUZsZfM1jcbeco/OHlunURRzV7IprZC98qMYwcgPUtX68ROrFshpHL0U'
positive: {"intercom_secret": "BBo2DggAFUl+XRRrwoWsibjWCxj7HOjvybqGVRyzJpqwtMsPTwSfm36WSYAM"}
negative: export INTERCOM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: intercom_token = os.environ["INTERCOM_TOKEN"]
negative: INTERCOM_SECRET=${INTERCOM_SECRET}
negative: intercom_api_key: "<your-intercom-api-key>"
negative: "resolved": "https://registry.npmjs.org/intercom-auth/-/intercom-auth-1.2.0.tgz#73180177e21d19a6b004152c9be1f2fd716bb34ad6e40581995361d49e0f"

id: interseller-api-key
title: Interseller API key
severity: high
keywords: interseller
pattern: (?i)\b(?:interseller)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export INTERSELLER_API_KEY="386ac3c8-b4e4-d6a6-7d78-8b3f81a926c5"
positive: interseller:\n  api_token: '90b1ead3-036c-6a83-6e08-43ffeb3b7e5a'
positive: {"interseller_secret": "cda6f7a3-30d7-21cb-c9d6-6da6e267dbd8"}
negative: export INTERSELLER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: interseller_token = os.environ["INTERSELLER_TOKEN"]
negative: INTERSELLER_SECRET=${INTERSELLER_SECRET}
negative: interseller_api_key: "<your-interseller-api-key>"
negative: "resolved": "https://registry.npmjs.org/interseller-auth/-/interseller-auth-1.2.0.tgz#29abadf53b5de60cb5d57ce2dc88238607e8"

id: intrinio-api-key
title: Intrinio API key
severity: high
keywords: intrinio
pattern: (?i)\b(?:intrinio)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{44})(?![\w-])
entropy: 3.0
confidence: medium
positive: export INTRINIO_API_KEY="eQZlXFzxjpqf7jDUhreNfrZVIL2WDHg2V6SKnTbFfnAQ"
positive: intrinio:\n  api_token: 'sMesBUzet1gcbFLrQ0xSCn5zKaonOrJb9PkAeMgyI22c'
positive: {"intrinio_secret": "3VqrJh5nLexjJxsIe2rzaXuTgKk1WLBPemPNDS6s8qHM"}
negative: export INTRINIO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: intrinio_token = os.environ["INTRINIO_TOKEN"]
negative: INTRINIO_SECRET=${INTRINIO_SECRET}
negative: intrinio_api_key: "<your-intrinio-api-key>"
negative: "resolved": "https://registry.npmjs.org/intrinio-auth/-/intrinio-auth-1.2.0.tgz#e52fffa400d3384330943098b488efcdc50c45053f47"

id: ionic-api-token
title: Ionic Appflow personal access token
severity: high
keywords: ion_
pattern: \b(ion_[A-Za-z0-9]{42})\b
entropy: 3.5
positive: IONIC_TOKEN=ion_nCmcc5c0ckYkkWjpXQobmpoKcSwXBiPJvFGjTpNK7q
negative: ion_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: ion_channel_state

id: ip2location-api-key
title: IP2Location API key
severity: high
keywords: ip2location
pattern: (?i)\b(?:ip2location)[^\n\r#]{0,40}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export IP2LOCATION_API_KEY="ZATMZLRH3YSQG69TBXL9AWD9OS7F09U3"
positive: ip2location_token: 'FNY56E9KRY3KSIKG3BZP2V69IJQLT9YG'
positive: {"ip2location_secret": "ELVK179TXRFSXO8S9S021Z86051JUVO9"}
negative: export IP2LOCATION_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: ip2location_token = os.environ["IP2LOCATION_TOKEN"]
negative: IP2LOCATION_SECRET=${IP2LOCATION_SECRET}
negative: ip2location_api_key: "<your-ip2location-api-key>"
negative: "resolved": "https://registry.npmjs.org/ip2location-auth/-/ip2location-auth-1.2.0.tgz#3af71d7a20b6a3af2da66d26f5a33bc1"

id: ipapi-api-key
title: ipapi access key
severity: high
keywords: ipapi
pattern: (?i)\b(?:ipapi(?!fy)|ipapi_com)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export IPAPI_API_KEY="16daecdf71832d7348ade11c1df26ec6"
positive: ipapi:\n  api_token: '5be05ac526e7111cb48c86ebe1eaca83'
positive: {"ipapi_secret": "b14e4341ceadbe01e2cae8616529814b"}
negative: export IPAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: ipapi_token = os.environ["IPAPI_TOKEN"]
negative: IPAPI_SECRET=${IPAPI_SECRET}
negative: ipapi_api_key: "<your-ipapi-api-key>"
negative: "resolved": "https://registry.npmjs.org/ipapi-auth/-/ipapi-auth-1.2.0.tgz#9809bed77ca5e5416fba77226fad4585"

id: ipgeolocation-api-key
title: IPGeolocation API key
severity: high
keywords: ipgeolocation
pattern: (?i)\b(?:ipgeolocation)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export IPGEOLOCATION_API_KEY="a894e44c4ce8382a3b418b35ecd60c01"
positive: ipgeolocation:\n  api_token: '9a8d7608ef6d0672fc4fb63f7b3711ee'
positive: {"ipgeolocation_secret": "2325d6509233ff4c5b676b97c2ac852a"}
negative: export IPGEOLOCATION_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: ipgeolocation_token = os.environ["IPGEOLOCATION_TOKEN"]
negative: IPGEOLOCATION_SECRET=${IPGEOLOCATION_SECRET}
negative: ipgeolocation_api_key: "<your-ipgeolocation-api-key>"
negative: "resolved": "https://registry.npmjs.org/ipgeolocation-auth/-/ipgeolocation-auth-1.2.0.tgz#6f1b86cca6bfdf3c0c5d2b5b03413948"

id: ipinfo-api-token
title: IPinfo access token
severity: high
keywords: ipinfo
pattern: (?i)\b(?:ipinfo(?!db)(?:\.io)?)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-f0-9]{14})(?![\w-])
entropy: 2.7
confidence: medium
positive: export IPINFO_API_KEY="3eabc546861648"
positive: ipinfo:\n  api_token: '0f24ccb75b7618'
positive: {"ipinfo_secret": "d9f0288f076558"}
negative: export IPINFO_API_KEY="xxxxxxxxxxxxxx"
negative: ipinfo_token = os.environ["IPINFO_TOKEN"]
negative: IPINFO_SECRET=${IPINFO_SECRET}
negative: ipinfo_api_key: "<your-ipinfo-api-key>"
negative: "resolved": "https://registry.npmjs.org/ipinfo-auth/-/ipinfo-auth-1.2.0.tgz#a720b15dace697"

id: ipinfodb-api-key
title: IPInfoDB API key
severity: high
keywords: ipinfodb
pattern: (?i)\b(?:ipinfodb)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-f0-9]{64})(?![\w-])
entropy: 2.8
confidence: medium
positive: export IPINFODB_API_KEY="ae00a315cb27867040bde91e70b9a18467c9172e9159ca36b38fc0580bc30cd1"
positive: ipinfodb:\n  api_token: '3d50f257b1454d7fe3747827f05d549c9f0cfd21fdfe74f43b4d6a9e4516de06'
positive: {"ipinfodb_secret": "75ace94623f8ab6a316b366acf381aaa2ed9ba4f443259e1f8bd6964b47f761d"}
negative: export IPINFODB_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: ipinfodb_token = os.environ["IPINFODB_TOKEN"]
negative: IPINFODB_SECRET=${IPINFODB_SECRET}
negative: ipinfodb_api_key: "<your-ipinfodb-api-key>"
negative: "resolved": "https://registry.npmjs.org/ipinfodb-auth/-/ipinfodb-auth-1.2.0.tgz#931069308878e7950092e92426bd0c86fadea71522d1e9262633435b5b0ef642"

id: ipqualityscore-api-key
title: IPQualityScore API key
severity: high
keywords: ipquality ipqs
pattern: (?i)\b(?:ipqualityscore|ipquality|ipqs)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export IPQUALITY_API_KEY="B6oPSsJydkNqzsLeDzbs1YgXlpOg37co"
positive: ipquality:\n  api_token: '3r1QOBV9bIbKsUxaNwgfSDC6PtBhTmdc'
positive: {"ipquality_secret": "jZDhSzuM2WZeHbzOAp6aCjb25tJNEplC"}
negative: export IPQUALITY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: ipquality_token = os.environ["IPQUALITY_TOKEN"]
negative: IPQUALITY_SECRET=${IPQUALITY_SECRET}
negative: ipquality_api_key: "<your-ipquality-api-key>"
negative: "resolved": "https://registry.npmjs.org/ipquality-auth/-/ipquality-auth-1.2.0.tgz#bed50eccfbfdfb4749a2285fb6e3f5e9"

id: ipstack-api-key
title: ipstack access key
severity: high
keywords: ipstack
pattern: (?i)\b(?:ipstack)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export IPSTACK_API_KEY="b187d04a99a7d18e97ffa0895f0866af"
positive: ipstack:\n  api_token: '696a737afbf98f8361ed366ac6999c16'
positive: {"ipstack_secret": "8b80366dee0af293539f24e35c621059"}
negative: export IPSTACK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: ipstack_token = os.environ["IPSTACK_TOKEN"]
negative: IPSTACK_SECRET=${IPSTACK_SECRET}
negative: ipstack_api_key: "<your-ipstack-api-key>"
negative: "resolved": "https://registry.npmjs.org/ipstack-auth/-/ipstack-auth-1.2.0.tgz#64e276d968ae31c334d78665a0614eb3"

id: jira-cloud-domain
title: Jira / Atlassian Cloud site domain
severity: low
keywords: atlassian.net
pattern: (?:^|[^\w.-])(?!(?:www|developer|developers|status|community|support|your-?domain|your-?site|your-?company|example|yourcompany|mycompany)\.)([a-z0-9][a-z0-9-]{1,60}\.atlassian\.net)\b
confidence: low
positive: JIRA_URL=https://acme-eng.atlassian.net/rest/api/3
positive: jira.baseUrl = "https://globex-corp.atlassian.net"
negative: https://www.atlassian.com/software/jira
negative: api.atlassian.com
negative: https://your-domain.atlassian.net/wiki

id: jira-api-token
title: Jira / Atlassian API token
severity: high
keywords: jira atlassian
pattern: (?i)\b(?:jira|atlassian)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b(ATATT3[A-Za-z0-9_=-]{150,250}|[A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export JIRA_API_KEY="elBVoAIg4fuDo2ncXw8PN8je"
positive: jira:\n  api_token: 'GYL6ypDPL7W1rUOygWFl2RM6'
positive: {"jira_secret": "w06wGMXeRUkWi4vp3KKfpgQc"}
positive: Here is my Jira token: qTcZIDsGavEigqgfyPjjr5pe
negative: export JIRA_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: jira_token = os.environ["JIRA_TOKEN"]
negative: JIRA_SECRET=${JIRA_SECRET}
negative: jira_api_key: "<your-jira-api-key>"
negative: "resolved": "https://registry.npmjs.org/jira-auth/-/jira-auth-1.2.0.tgz#a97c2ac2697468456be37b1f"

id: jotform-api-key
title: JotForm API key
severity: high
keywords: jotform
pattern: (?i)\b(?:jotform)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export JOTFORM_API_KEY="7445bdd0ab500460a4c7cd09590025ac"
positive: jotform:\n  api_token: '298ae470a0af0a569722bc0c62decdda'
positive: {"jotform_secret": "17852a0f904bb9153b413f70c13ff535"}
negative: export JOTFORM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: jotform_token = os.environ["JOTFORM_TOKEN"]
negative: JOTFORM_SECRET=${JOTFORM_SECRET}
negative: jotform_api_key: "<your-jotform-api-key>"
negative: "resolved": "https://registry.npmjs.org/jotform-auth/-/jotform-auth-1.2.0.tgz#183389dfaf5ca3cbb072b4b337886ac5"

id: jumpcloud-api-key
title: JumpCloud API key
severity: high
keywords: jumpcloud
pattern: (?i)\b(?:jumpcloud)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export JUMPCLOUD_API_KEY="e167c3ecf33c0f4962308a16e203c8a35d2b6aa4"
positive: jumpcloud:\n  api_token: 'fb495ca3c8d574ec8eebd68562991ef95e52a196'
positive: {"jumpcloud_secret": "cc1f690675d52c789790ceea899946bec34f7c8a"}
negative: export JUMPCLOUD_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: jumpcloud_token = os.environ["JUMPCLOUD_TOKEN"]
negative: JUMPCLOUD_SECRET=${JUMPCLOUD_SECRET}
negative: jumpcloud_api_key: "<your-jumpcloud-api-key>"
negative: "resolved": "https://registry.npmjs.org/jumpcloud-auth/-/jumpcloud-auth-1.2.0.tgz#4e733b664d479d82abb1ee12abb6f6787bd4ffd9"

id: jupiterone-api-key
title: JupiterOne API key
severity: high
keywords: jupiterone jupiter_one
pattern: (?i)\b(?:jupiterone|jupiter_one)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{76,80})(?![\w-])
entropy: 3.0
confidence: medium
positive: export JUPITERONE_API_KEY="ZSrWlsqxtrkVxvIWgbyleyNTErDwi8S3Yj28I0X4v9p01D3W8bYCLQvfiWm74cZTFJdxJPTwQZOA"
positive: jupiterone:\n  api_token: 'eZTv0twJOXBwDraWQHLUEe7VcCqiQFBvzKp9DKW3uhJN5bkJeDicZGwjhyZipc2fCO2IwbMCFopq'
positive: {"jupiterone_secret": "Xg5gZZ5ek0UVgs4XNF2xGPbgzzovcLbcvwxVT7FpMKIRN9CtSw2sBfbouEBKtYMdQZLOmj64bPbX"}
negative: export JUPITERONE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: jupiterone_token = os.environ["JUPITERONE_TOKEN"]
negative: JUPITERONE_SECRET=${JUPITERONE_SECRET}
negative: jupiterone_api_key: "<your-jupiterone-api-key>"
negative: "resolved": "https://registry.npmjs.org/jupiterone-auth/-/jupiterone-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: juro-api-key
title: Juro API key
severity: high
keywords: juro
pattern: (?i)\b(?:juro)[_.-]?(?:api[_.-]?)?(?:access[_.-]?|secret[_.-]?|private[_.-]?|auth[_.-]?)?(?:key|token|secret)[\w.-]{0,10}?["\']?\s{0,3}[:=]{1,2}\s{0,3}["\']?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export JURO_API_KEY="pOH1KfiCkzRkdXXsfIykncjLH3jdWAm3QDQebsRC"
positive: juro_token: 'KsmJUTWIqmWlUYr15gVeWgJl7hys48RrhoKHGZYC'
positive: {"juro_secret": "TP3tV1qFLui1yQ2b9QvtBub97uEHjkzFGIJEOZ2w"}
negative: export JURO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: juro_token = os.environ["JURO_TOKEN"]
negative: JURO_SECRET=${JURO_SECRET}
negative: juro_api_key: "<your-juro-api-key>"
negative: "resolved": "https://registry.npmjs.org/juro-auth/-/juro-auth-1.2.0.tgz#59e05b07ee34698a0db2d15dd4dafa6fab12eb39"

id: karmacrm-api-key
title: KarmaCRM API key
severity: high
keywords: karma
pattern: (?i)\b(?:karmacrm|karma_crm|karma)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export KARMA_API_KEY="FzXsNo3LWGZ8YxyKabpP"
positive: karma:\n  api_token: '8U7BAUwODIuuuq6oqeYm'
positive: {"karma_secret": "HGzTsjOlSOeiJYjqnEFR"}
negative: export KARMA_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: karma_token = os.environ["KARMA_TOKEN"]
negative: KARMA_SECRET=${KARMA_SECRET}
negative: karma_api_key: "<your-karma-api-key>"
negative: "resolved": "https://registry.npmjs.org/karma-auth/-/karma-auth-1.2.0.tgz#0188ac5fd717bfc778ae"

id: kickbox-api-key
title: Kickbox API key
severity: high
keywords: kickbox
pattern: (?i)\b(?:kickbox)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?:test|live)_[A-Za-z0-9]{60,70})(?![\w-])
entropy: 3.0
confidence: medium
positive: export KICKBOX_API_KEY="live_8dfa84167bafd7bbda2802496677a354b79985ff7bea5f0c3d0694d844c6052b"
positive: kickbox:\n  api_token: 'live_5ac7ff721f4f9612b8c58af6787224edebd8f49d020547ec3dd65a7eb37267e1'
positive: {"kickbox_secret": "live_a0d4f1adf8ad99666c32de6d42d67a0c947ae34a5265885ebd2dcd98e4dc4683"}
negative: export KICKBOX_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: kickbox_token = os.environ["KICKBOX_TOKEN"]
negative: KICKBOX_SECRET=${KICKBOX_SECRET}
negative: kickbox_api_key: "<your-kickbox-api-key>"
negative: "resolved": "https://registry.npmjs.org/kickbox-auth/-/kickbox-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: klaviyo-private-api-key
title: Klaviyo private API key
severity: high
keywords: klaviyo
pattern: (?i)\b(?:klaviyo)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b(pk_[A-Za-z0-9]{34})(?![\w-])
entropy: 3.0
confidence: medium
positive: export KLAVIYO_API_KEY="pk_5f5eab42bdb232dc38fa08f5468f2f9067"
positive: klaviyo:\n  api_token: 'pk_df8ac4904a3e1b823e8238b7c51dc60e56'
positive: {"klaviyo_secret": "pk_c9fc77316e7dff6e9f56493397fa5b804e"}
negative: export KLAVIYO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: klaviyo_token = os.environ["KLAVIYO_TOKEN"]
negative: KLAVIYO_SECRET=${KLAVIYO_SECRET}
negative: klaviyo_api_key: "<your-klaviyo-api-key>"
negative: "resolved": "https://registry.npmjs.org/klaviyo-auth/-/klaviyo-auth-1.2.0.tgz#121ae479d55173f6d2e84b2d145c702183fbb"

id: klipfolio-api-key
title: Klipfolio API key
severity: high
keywords: klipfolio
pattern: (?i)\b(?:klipfolio)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export KLIPFOLIO_API_KEY="43b2b878e264624b752b3bba94b7a6c2b917261d"
positive: klipfolio:\n  api_token: 'e8a11980060ce32296f5b88cbe0e0ece7b7b63b5'
positive: {"klipfolio_secret": "e179e0e0c6a026d8e2482f12cd0b22f498071c30"}
negative: export KLIPFOLIO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: klipfolio_token = os.environ["KLIPFOLIO_TOKEN"]
negative: KLIPFOLIO_SECRET=${KLIPFOLIO_SECRET}
negative: klipfolio_api_key: "<your-klipfolio-api-key>"
negative: "resolved": "https://registry.npmjs.org/klipfolio-auth/-/klipfolio-auth-1.2.0.tgz#ef2ed3dbc624bff9b7bc65738084b02e93316f4c"

id: knapsackpro-api-token
title: Knapsack Pro API token
severity: high
keywords: knapsack
pattern: (?i)\b(?:knapsack_?pro)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export KNAPSACKPRO_API_KEY="a4d6b38be81dd34b9bc284d0446d223c"
positive: knapsackpro:\n  api_token: 'e9bd0883b2f889c3eee34cc01fc141f4'
positive: {"knapsackpro_secret": "39879782571c9e8a7dd04ac6b95981ba"}
negative: export KNAPSACKPRO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: knapsackpro_token = os.environ["KNAPSACKPRO_TOKEN"]
negative: KNAPSACKPRO_SECRET=${KNAPSACKPRO_SECRET}
negative: knapsackpro_api_key: "<your-knapsackpro-api-key>"
negative: "resolved": "https://registry.npmjs.org/knapsackpro-auth/-/knapsackpro-auth-1.2.0.tgz#24c2a08ac6c7824701cd35d5cf5884f4"

id: kontent-api-key
title: Kontent.ai API key / project id
severity: high
keywords: kontent kentico
pattern: (?i)\b(?:kontent|kentico)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export KONTENT_API_KEY="556c6e18-f52a-236c-6d80-08a82eaa9202"
positive: kontent:\n  api_token: '6b9d24e0-b217-9740-dd29-cdb18fbb71d4'
positive: {"kontent_secret": "6ad8c73f-40c7-d357-4d8b-8b9bf8343378"}
negative: export KONTENT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: kontent_token = os.environ["KONTENT_TOKEN"]
negative: KONTENT_SECRET=${KONTENT_SECRET}
negative: kontent_api_key: "<your-kontent-api-key>"
negative: "resolved": "https://registry.npmjs.org/kontent-auth/-/kontent-auth-1.2.0.tgz#82a1c28f291a1c145a93f8f4b56ab3feb7fb"

id: kylas-api-key
title: Kylas API key
severity: high
keywords: kylas
pattern: (?i)\b(?:kylas)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export KYLAS_API_KEY="8e04bdd0-4d5f-880a-be7e-6300b87fe9c0"
positive: kylas:\n  api_token: '0eec53e7-a476-604b-0a5e-bce0e7315099'
positive: {"kylas_secret": "8a812e79-f002-b0d2-a398-eae87648af7c"}
negative: export KYLAS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: kylas_token = os.environ["KYLAS_TOKEN"]
negative: KYLAS_SECRET=${KYLAS_SECRET}
negative: kylas_api_key: "<your-kylas-api-key>"
negative: "resolved": "https://registry.npmjs.org/kylas-auth/-/kylas-auth-1.2.0.tgz#509583c81b2321fe9183e117673535bbf9dd"
"""#
}
