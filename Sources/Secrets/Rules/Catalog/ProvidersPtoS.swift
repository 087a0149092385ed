extension RuleCatalog {
    /// Provider rules P to S: API keys and tokens of SaaS providers whose name starts with P, Q, R or S.
    static let providersPtoS = #"""
id: prodpad-api-key
title: ProdPad API key
severity: high
keywords: prodpad
pattern: (?i)(?:\b|_)(?:prodpad)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{64})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export PRODPAD_API_KEY="8e2f8559f823cdef7f73edd77b6c29163d00d68df6db75d0c3f7eb9340051e46"
positive: {"prodpad_api_key": "7ab4a36ee0987b3544242b30e58d656ec4f3378c19cd5840f1aec544ad77bf39"}
negative: export PRODPAD_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: PRODPAD_API_KEY=${PRODPAD_API_KEY}
negative: prodpad_api_key: "8e2f8559f8"

id: prospectcrm-api-key
title: ProspectCRM API key
severity: high
keywords: prospect
pattern: (?i)(?:\b|_)(?:prospect(?:[_\-.]?crm)?)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export PROSPECTCRM_API_KEY="768915e2ed4a22437740af0dc481ee21"
positive: {"prospectcrm_api_key": "4e69886dd9078d3fe0a0887bee1afbfa"}
negative: export PROSPECTCRM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: PROSPECTCRM_API_KEY=${PROSPECTCRM_API_KEY}
negative: prospectcrm_api_key: "768915e2ed"

id: protocolsio-api-key
title: protocols.io API access token
severity: high
keywords: protocols
pattern: (?i)(?:\b|_)(?:protocols(?:[_\-.]?io)?)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{64})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export PROTOCOLS_IO_ACCESS_TOKEN="45289e0082c358452358902ff3177e7e8c92637e64b6ba0865ef5aa370e2e30b"
positive: {"protocols_io_access_token": "db0e7ab8d7e349effade2925fd81b34bf7e8df33809cd89bf6e31c021f6b75d2"}
negative: export PROTOCOLS_IO_ACCESS_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: PROTOCOLS_IO_ACCESS_TOKEN=${PROTOCOLS_IO_ACCESS_TOKEN}
negative: protocols_io_access_token: "45289e0082"

id: proxycrawl-api-token
title: ProxyCrawl / Crawlbase API token
severity: high
keywords: crawlbase proxycrawl
pattern: (?i)(?:\b|_)(?:proxycrawl|crawlbase)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9_]{22})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export PROXYCRAWL_TOKEN="p9ckwAq5HuSGfrEoGAdSgj"
positive: {"proxycrawl_token": "Nww6rrO2hcxlHw7AkvWbg7"}
negative: export PROXYCRAWL_TOKEN="xxxxxxxxxxxxxxxxxxxxxx"
negative: PROXYCRAWL_TOKEN=${PROXYCRAWL_TOKEN}
negative: proxycrawl_token: "p9ckwAq5Hu"

id: psexec-credentials
title: Password on a PsExec command line (-u user -p password)
severity: high
keywords: psexec
pattern: (?i)\bpsexec(?:64)?(?:\.exe)?\b[^\r\n]{0,200}?\s-u\s+(?:"[^"\r\n]{1,64}"|[^\s"]{1,64})\s+-p\s+"?([^\s"]{1,64})
confidence: medium
positive: psexec.exe \\\\10.1.2.3 -u CORP\\svc_backup -p RIiDT2hl8CQm cmd /c whoami
positive: PsExec64 \\\\srv01 -accepteula -u "Administrator" -p "zbDUfgSuLI" ipconfig
negative: psexec \\\\host -s cmd.exe
negative: psexec \\\\host -u admin cmd /c dir

id: pubnub-publish-key
title: PubNub publish key
severity: medium
keywords: pub-c-
pattern: \b(pub-c-[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12})\b
entropy: 3.0
positive: pubnub = PubNub(publish_key="pub-c-d043b9a4-e290-2b5a-d83a-cdb7609857fa")
positive: PUBNUB_PUBLISH_KEY=pub-c-82a8095f-3e42-0699-a2c6-150746cbe46a
negative: PUBNUB_PUBLISH_KEY=pub-c-xxxxxxxx-xxxx
negative: publish_key: "pub-c-<your-key>"

id: pubnub-secret-key
title: PubNub secret key
severity: high
keywords: sec-c-
pattern: \b(sec-c-[A-Za-z0-9]{48})\b
entropy: 3.5
positive: PUBNUB_SECRET_KEY=sec-c-Z0uWd8KfBo9PDK4QofJuN3y2VjyjTDRBeaKf7kXe9L1wMpUX
positive: secret_key: "sec-c-2Oryb3GVmJz6omezrSep3bafi3PSpLaQbIm4aRr9Kk0E0tzu"
negative: PUBNUB_SECRET_KEY=sec-c-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: secret_key: "sec-c-short"

id: pubnub-subscribe-key
title: PubNub subscribe key
severity: low
keywords: sub-c-
pattern: \b(sub-c-[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12})\b
entropy: 3.0
positive: subscribe_key="sub-c-9ed25ed3-d5d2-b901-8a94-7c60dcb82047"
positive: PUBNUB_SUBSCRIBE_KEY: sub-c-f9044913-b8f4-f7af-be31-0dfd7ac3ea2e
negative: subscribe_key="sub-c-00000000"
negative: subscribe_key: "sub-c-<your-key>"

id: pulumi-access-token
title: Pulumi access token
severity: critical
keywords: pul-
pattern: \b(pul-[a-f0-9]{40})\b
entropy: 3.0
positive: export PULUMI_ACCESS_TOKEN=pul-50f4d9f6f99e870c0c4266aee0604e87529a4c27
positive: pulumi_token: "pul-be2dc3fc25896b27965bf3994d9df4db1b95f812"
negative: PULUMI_ACCESS_TOKEN=pul-0000000000000000000000000000000000000000
negative: pul-22dff8ea2113ce5e61128a7b7c174a5a885823b

id: pushbullet-access-token
title: Pushbullet access token
severity: high
keywords: pushbullet
pattern: (?i)(?:\b|_)(?:pushbullet)(?:[\s"':=]{1,5}|[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?)\b((?:o\.[a-z0-9]{32}|[a-z0-9]{34}))(?![\w\-])
entropy: 3.2
confidence: medium
positive: export PUSHBULLET_ACCESS_TOKEN="o.WApVZnR6DqfETVd5j1N7eWPFlRX0c0KA"
positive: {"pushbullet_access_token": "o.dJ1L46zh3P9Zb9C2ITvrhqLksAv4FUzW"}
negative: export PUSHBULLET_ACCESS_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: PUSHBULLET_ACCESS_TOKEN=${PUSHBULLET_ACCESS_TOKEN}
negative: pushbullet_access_token: "your-pushbullet-token-here"

id: qase-api-token
title: Qase API token
severity: high
keywords: qase
pattern: (?i)(?:\b|_)(?:qase)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{40})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export QASE_API_TOKEN="1eb03300183873de573ecad06b0974afa7419330"
positive: {"qase_api_token": "4885ee914f149f83b5ae08e9df0b3f13052ba131"}
negative: export QASE_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: QASE_API_TOKEN=${QASE_API_TOKEN}
negative: qase_api_token: "1eb0330018"

id: qualaroo-api-key
title: Qualaroo API key
severity: high
keywords: qualaroo
pattern: (?i)(?:\b|_)(?:qualaroo)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{64})(?![\w\-])
entropy: 3.2
confidence: medium
positive: export QUALAROO_API_KEY="kelEufov57Q8nuwAYCY6U15Mg6scc7usQ9kIUKYSqtV7dFzSMu6SWoUnvNPsJZKD"
positive: {"qualaroo_api_key": "IerMwDz1KVBz8Q1wSNrO1e0bNhLYoOP2Hez8gcG6VO0T6aEa60jbXjIanttFaymb"}
negative: export QUALAROO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: QUALAROO_API_KEY=${QUALAROO_API_KEY}
negative: qualaroo_api_key: "kelEufov57"

id: qubole-api-token
title: Qubole API token
severity: high
keywords: qubole
pattern: (?i)(?:\b|_)(?:qubole)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{64})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export QUBOLE_API_TOKEN="d9df89af707b1de74f1f7144a6262a997702652f2b23a015da2219027c30d5c9"
positive: {"qubole_api_token": "84b859a94e7bbe96cc3e2ecff4615441050c5bf87362df09a5d7347a5a675c17"}
negative: export QUBOLE_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: QUBOLE_API_TOKEN=${QUBOLE_API_TOKEN}
negative: qubole_api_token: "d9df89af70"

id: rapidapi-key
title: RapidAPI key
severity: high
keywords: rapid-api rapid.api rapid_api rapidapi
pattern: (?i)(?:\b|_)(?:rapid[_\-.]?api)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9_\-]{50})(?![\w\-])
entropy: 3.5
confidence: medium
positive: export RAPIDAPI_KEY="wPv0TxnRvacr6srEtL15PpQHvyVW89NfoMVvqCwFJESFNdy81H"
positive: {"rapidapi_key": "4bgG4wLxJYjS51qMCHYu2YhIksviMjjlIaShrBT9cPqeXRW1qP"}
negative: export RAPIDAPI_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: RAPIDAPI_KEY=${RAPIDAPI_KEY}
negative: rapidapi_key: "wPv0TxnRva"

id: raven-api-key
title: Raven Tools API key
severity: medium
keywords: raven
pattern: (?i)(?:\b|_)(?:raven(?:[_\-.]?tools)?)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{8}-?[a-z0-9]{8})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export RAVEN_API_KEY="QU29F6FZ-3PZ8VZXB"
positive: {"raven_api_key": "CGWEE1K5-MGQQ7EMR"}
negative: export RAVEN_API_KEY="xxxxxxxxxxxxxxxxx"
negative: RAVEN_API_KEY=${RAVEN_API_KEY}
negative: raven_api_key: "QU29F6FZ"

id: rawg-api-key
title: RAWG video games API key
severity: medium
keywords: rawg
pattern: (?i)(?:\b|_)(?:rawg)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{32}(?:[a-f0-9]{2})?)(?![\w\-])
entropy: 3.0
confidence: medium
positive: export RAWG_API_KEY="acb850c813fd521dd77cdcf02347c1f5"
positive: {"rawg_api_key": "9ff479045dc1ca731e44dd703db3280e"}
negative: export RAWG_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: RAWG_API_KEY=${RAWG_API_KEY}
negative: rawg_api_key: "acb850c813"

id: reachmail-api-token
title: ReachMail API token
severity: high
keywords: reach-mail reach.mail reach_mail reachmail
pattern: (?i)(?:\b|_)(?:reach[_\-.]?mail)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9+/]{40,200}={0,2})(?![\w\-])
entropy: 3.5
confidence: medium
positive: export REACHMAIL_API_TOKEN="lStSEoOffPj6Z4tVgoMiKdD6m2tCT89z90XlyHFiF2t4Hm7yOIB1zVgb0L4PZSrCPuBtaqA0yly77K4o1AlAFbn31g16h1KS"
positive: {"reachmail_api_token": "RtmEeRg8MVMUNCbngQl3nojGcvlZGxKJEROAZn2AHijqRD2gSO6jDmOEKNUFTjW1aiBulkiUgRPXcuKmsfvwkyaa7ppCzG96"}
negative: export REACHMAIL_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: REACHMAIL_API_TOKEN=${REACHMAIL_API_TOKEN}
negative: reachmail_api_token: "lStSEoOffP"

id: reactapp-password
title: Password in a React app environment variable (REACT_APP_*PASS*)
severity: high
keywords: react_app_
pattern: \bREACT_APP_(?:[A-Z0-9]+_){0,6}?(?:PASS|PASSWORD|PASSWD|PWD)\s{0,3}=\s{0,3}["']?(?![\$%<\{])([^\s"'#\$]{3,64})
confidence: medium
positive: REACT_APP_ADMIN_PASSWORD=YxSzucEB7jE7
positive: # REACT_APP_DB_PASS="dc8PVjZq69"
negative: REACT_APP_ADMIN_PASSWORD=$ADMIN_PASSWORD
negative: const p = process.env.REACT_APP_ADMIN_PASSWORD || "not-set"
negative: REACT_APP_ADMIN_PASSWORD=${ADMIN_PASSWORD}

id: reactapp-username
title: Username in a React app environment variable (REACT_APP_*USER*)
severity: low
keywords: react_app_
pattern: \bREACT_APP_(?:[A-Z0-9]+_){0,6}?(?:USER|USERNAME|USER_NAME)\s{0,3}=\s{0,3}["']?(?![\$%<\{])([^\s"'#\$]{2,64})
confidence: medium
positive: REACT_APP_ADMIN_USERNAME=lieduuev
positive: REACT_APP_DB_USER="atoghg"
negative: REACT_APP_ADMIN_USERNAME=$ADMIN_USER
negative: REACT_APP_ADMIN_USERNAME=${ADMIN_USER}
negative: const u = process.env.REACT_APP_ADMIN_USERNAME

id: readme-api-key
title: ReadMe API key
severity: high
keywords: rdme_
pattern: \b(rdme_[a-z0-9]{70})\b
entropy: 3.5
positive: README_API_KEY=rdme_4cwqrb7ezffq0ur0m9v4q1ht6z0ymhv2cz9pmd6jryr1r7an9gr6etv0acvdiv7vag9h5q
positive: rdme login --key rdme_7pumf425ji99rali46cw2x2flurnb8wwdw0250ix94sqzy0cbztuwg5bruiqxi8zb8kv9j
negative: README_API_KEY=rdme_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: rdme_wxi1fos8gwafy0o9kmrc

id: rebrandly-api-key
title: Rebrandly API key
severity: medium
keywords: rebrandly
pattern: (?i)(?:\b|_)(?:rebrandly)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9_]{32,40})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export REBRANDLY_API_KEY="eda213f8f53539f4911a52d1c6e746ac"
positive: {"rebrandly_api_key": "360d6eeeec4ab0a2d6a5397f597b9386"}
negative: export REBRANDLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: REBRANDLY_API_KEY=${REBRANDLY_API_KEY}
negative: rebrandly_api_key: "eda213f8f5"

id: recaptcha-secret-key
title: Google reCAPTCHA secret key
severity: medium
keywords: re-captcha re.captcha re_captcha recaptcha
pattern: (?i)(?:\b|_)(?:re[_\-.]?captcha)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b(6L[a-z0-9_\-]{38})(?![\w\-])
entropy: 1.5
confidence: medium
positive: export RECAPTCHA_SECRET_KEY="6LXo-bdQASar24clMzFx-6M2H5wOH-Ta0utBbiVS"
positive: {"recaptcha_secret_key": "6LI0DZLlu-tE-P6osypQSH27dz6UY_3EQs021cyL"}
negative: export RECAPTCHA_SECRET_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: RECAPTCHA_SECRET_KEY=${RECAPTCHA_SECRET_KEY}
negative: recaptcha_secret_key: "6LXo-bdQAS"

id: refiner-api-key
title: Refiner API key
severity: high
keywords: refiner
pattern: (?i)(?:\b|_)refiner(?:-|[\w.\-]{0,20}?(?:key|token|secret)[\w.\-\s"':=]{0,20}?\b)([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w\-])
entropy: 3.0
confidence: medium
positive: REFINER_API_KEY="0d4faa51-812e-4a36-753e-68f891950dcf"
positive: refiner_secret: 75a2f4c3-be9a-201d-89dc-611b145a90ee
negative: REFINER_API_KEY=${REFINER_API_KEY}
negative: {"refiner": "a78b9a44-064a-848a-9940-b202b375dd6c", "steps": 20}
negative: REFINER_API_KEY="00000000-0000-0000-0000-000000000000"

id: rentman-api-token
title: Rentman API token (JWT)
severity: high
keywords: rentman
pattern: (?i)(?:\b|_)(?:rentman)[\w.\-\s"':=,\{\}]{0,40}?\b(eyJ[a-z0-9_\-]{10,1000}\.[a-z0-9_\-]{10,4000}(?:\.[a-z0-9_\-]{10,1000})?)(?![\w\-])
entropy: 3.5
window: 4096
confidence: medium
positive: export RENTMAN_API_TOKEN="eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAieGJxemF0OWpvMXZ6IiwgImlhdCI6IDE3OTk2ODUwNzB9.UbUJ4TcfCWNkgkOVhJBg8a3X_KlVlWx4acLp5hQNK0w"
positive: {"rentman_api_token": "eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAiajRpaTFsM3hweDJsIiwgImlhdCI6IDE3MTQwNDEzODh9.hEV_Xq9B6FwTYXavV9huMQD52BHxnAAITbO4Pqg8xW7"}
negative: export RENTMAN_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: RENTMAN_API_TOKEN=${RENTMAN_API_TOKEN}
negative: rentman_api_token: "your-rentman-token-here"

id: replyio-api-key
title: Reply.io API key
severity: high
keywords: reply-io reply.io reply_io replyio
pattern: (?i)(?:\b|_)(?:reply[_\-.]?io)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{24})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export REPLYIO_API_KEY="uZ4vkmpiw8cdLMdj6qjdQiVA"
positive: {"replyio_api_key": "WZ6Yr9zuErTWy42Y9xnD42IK"}
negative: export REPLYIO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: REPLYIO_API_KEY=${REPLYIO_API_KEY}
negative: replyio_api_key: "uZ4vkmpiw8"

id: requestfinance-api-key
title: Request Finance API key
severity: high
keywords: request-finance request.finance request_finance requestfinance
pattern: (?i)(?:\b|_)(?:request[_\-.]?finance)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{7}-[a-z0-9]{7}-[a-z0-9]{7}-[a-z0-9]{7})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export REQUESTFINANCE_API_KEY="QC5GLBU-JX6YJKP-YX8XJOX-RIPG5QQ"
positive: {"requestfinance_api_key": "9X026KG-QHELZ6I-LMUTSEB-KSO2Y43"}
negative: export REQUESTFINANCE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: REQUESTFINANCE_API_KEY=${REQUESTFINANCE_API_KEY}
negative: requestfinance_api_key: "QC5GLBU-JX"

id: restpack-api-token
title: Restpack API token
severity: high
keywords: restpack
pattern: (?i)(?:\b|_)(?:restpack)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{48,50})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export RESTPACK_API_TOKEN="lcepCzdZvbsGRsRfakk6oXiVvAJmbzuQqOgXRI0arEHhS7QR"
positive: {"restpack_api_token": "vX5e4IANl1x7pI8UWsBVith3aDWscr6V6vZudqCPFhZ9QQYr"}
negative: export RESTPACK_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: RESTPACK_API_TOKEN=${RESTPACK_API_TOKEN}
negative: restpack_api_token: "lcepCzdZvb"

id: ritekit-api-key
title: RiteKit API key
severity: high
keywords: ritekit
pattern: (?i)(?:\b|_)(?:ritekit)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{44})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export RITEKIT_CLIENT_SECRET="d56d69ff64084c99e01ee8cefe06785df9b925437f3d"
positive: {"ritekit_client_secret": "08a74a6aabd1a338fe97f8b9f8dea2ee5503674e4931"}
negative: export RITEKIT_CLIENT_SECRET="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: RITEKIT_CLIENT_SECRET=${RITEKIT_CLIENT_SECRET}
negative: ritekit_client_secret: "d56d69ff64"

id: rocketreach-api-key
title: RocketReach API key
severity: high
keywords: rocket-reach rocket.reach rocket_reach rocketreach
pattern: (?i)(?:\b|_)(?:rocket[_\-.]?reach)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b((?:[a-z0-9]{8}(?:-[a-z0-9]{4}){3,7}|[a-f0-9]{36,42}))(?![\w\-])
entropy: 3.0
confidence: medium
positive: export ROCKETREACH_API_KEY="753791d269074d9451ccd1dba7041ae33aaff71"
positive: {"rocketreach_api_key": "1271961e13e801d340acc2f0be207cf56c634be"}
negative: export ROCKETREACH_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: ROCKETREACH_API_KEY=${ROCKETREACH_API_KEY}
negative: rocketreach_api_key: "753791d269"

id: rockset-api-key
title: Rockset API key
severity: high
keywords: rockset
pattern: (?i)(?:\b|_)(?:rockset)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{64})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export ROCKSET_API_KEY="dMnxhTBA3dvvIS81bMIkvobKsj1iF16CUXtYmjyf0odVmMKQ5NAKIVEp6lfFrE7n"
positive: {"rockset_api_key": "Hqyb1dqq8JdnL6PEYaxTIMb6yQ21hMeATGy0G6EU3ladETwfwc1AJVlf0MvjbB6i"}
negative: export ROCKSET_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: ROCKSET_API_KEY=${ROCKSET_API_KEY}
negative: rockset_api_key: "dMnxhTBA3d"

id: route4me-api-key
title: Route4Me API key
severity: high
keywords: route4me
pattern: (?i)(?:\b|_)(?:route4me)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export ROUTE4ME_API_KEY="KT0HQF4WTIPTAIDU82TKQR98129QMP4K"
positive: {"route4me_api_key": "OFDBRS01UFKKAKU46VOGLE5EFZFQGMQV"}
negative: export ROUTE4ME_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: ROUTE4ME_API_KEY=${ROUTE4ME_API_KEY}
negative: route4me_api_key: "KT0HQF4WTI"

id: salesblink-api-key
title: SalesBlink API key
severity: high
keywords: sales-blink sales.blink sales_blink salesblink
pattern: (?i)(?:\b|_)(?:sales[_\-.]?blink)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b((?:key-)?[a-f0-9]{64})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SALESBLINK_API_KEY="key-24b8b858c6bf05b1ecd86ec75da34e62dfdce6db4920bed4277eda4e10e35a77"
positive: {"salesblink_api_key": "key-65bca964e1026440ef9d07967e0bb661a83014e878bd873358666e3fef450a2e"}
negative: export SALESBLINK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SALESBLINK_API_KEY=${SALESBLINK_API_KEY}
negative: salesblink_api_key: "key-24b8b8"

id: salescookie-api-key
title: Salescookie API key
severity: high
keywords: sales-cookie sales.cookie sales_cookie salescookie
pattern: (?i)(?:\b|_)(?:sales[_\-.]?cookie)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SALESCOOKIE_API_KEY="L3fyX10EAay2IrxfAAw27xc8s4KfaTg7"
positive: {"salescookie_api_key": "n0QPyKYZLPdYUXPhAsfoczDXfZzQPmm4"}
negative: export SALESCOOKIE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SALESCOOKIE_API_KEY=${SALESCOOKIE_API_KEY}
negative: salescookie_api_key: "L3fyX10EAa"

id: salesflare-api-key
title: Salesflare API key
severity: high
keywords: sales-flare sales.flare sales_flare salesflare
pattern: (?i)(?:\b|_)(?:sales[_\-.]?flare)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{45})(?![\w\-])
entropy: 3.2
confidence: medium
positive: export SALESFLARE_API_KEY="3rkRpMWlamPIZhytOi2EBc9yALv4RSfFrTTnszAfKBcf5"
positive: {"salesflare_api_key": "HYsKVFx0z1fgKuyF8V0V0oiA6OcX50e2vex4mvldBG8vv"}
negative: export SALESFLARE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SALESFLARE_API_KEY=${SALESFLARE_API_KEY}
negative: salesflare_api_key: "3rkRpMWlam"

id: salesforce-access-token
title: Salesforce access or refresh token
severity: critical
keywords: 00d
pattern: \b(00D[A-Za-z0-9]{12,15}![A-Za-z0-9_.]{80,140})(?![\w.])
entropy: 3.5
positive: SF_ACCESS_TOKEN="00D5g000004Xk2L!ARoIKkgEFakYEMkGSDbGC84u1Tbl.MKe0.73GjM7qcJ8to_YHuPZILTy5FTX79IwZtWBlTqlKMu5SZgoCEvU2shCx2nIjvIB"
positive: Authorization: Bearer 00DE0000000cXbR!ARUrR6hrWY9bN7kIl31FUwOY_4aAdOF.zPH5nQaK2uuVYd.WKeqzrhaNPGGADuk3B9S04_8SDOE10qyFxkb67KoMdZJwl_.c
negative: SF_ACCESS_TOKEN="00D5g000004Xk2L!<token>"
negative: org id 00D5g000004Xk2LEAS only

id: salesforce-instance-url
title: Salesforce My Domain instance URL
severity: low
keywords: my.salesforce.com
pattern: (?i)\b(https://[a-z0-9][a-z0-9\-]{1,60}(?:\.[a-z0-9\-]{2,40})?\.my\.salesforce\.com)\b
confidence: medium
positive: SF_INSTANCE_URL=https://acme-y7xer1.my.salesforce.com
positive: "instance_url": "https://v9tt2r4e6f.my.salesforce.com"
negative: see https://help.salesforce.com/s/articleView
negative: login.salesforce.com

id: scaleway-access-key
title: Scaleway access key ID
severity: medium
keywords: scw
pattern: \b(SCW[A-Z0-9]{17})\b
entropy: 3.0
positive: SCW_ACCESS_KEY=SCWFJVNN64ADD7MR3AII
positive: access_key: "SCW3788VEZTDZ2T5Q4C5"
negative: SCW_ACCESS_KEY=SCWXXXXXXXXXXXXXXXXX
negative: SCW_DEFAULT_REGION=fr-par

id: scaleway-secret-key
title: Scaleway secret key
severity: critical
keywords: scaleway scw
pattern: (?i)(?:\b|_)(?:scaleway|scw)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCW_SECRET_KEY="1ff8f74a-bfea-158e-5015-95234ac084a8"
positive: {"scw_secret_key": "5c6badad-19f7-d233-3814-f430ae90a8df"}
negative: export SCW_SECRET_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCW_SECRET_KEY=${SCW_SECRET_KEY}
negative: scw_secret_key: "1ff8f74a-b"

id: scrapeowl-api-key
title: ScrapeOwl API key
severity: medium
keywords: scrape-owl scrape.owl scrape_owl scrapeowl
pattern: (?i)(?:\b|_)(?:scrape[_\-.]?owl)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{30})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCRAPEOWL_API_KEY="6zhtu8q6xdu9s5w93s1g9cns9z6ito"
positive: {"scrapeowl_api_key": "o2b476qjjkqst4jus2de1xj8g0dayy"}
negative: export SCRAPEOWL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCRAPEOWL_API_KEY=${SCRAPEOWL_API_KEY}
negative: scrapeowl_api_key: "6zhtu8q6xd"

id: scraperapi-api-key
title: ScraperAPI key
severity: medium
keywords: scraper-api scraper.api scraper_api scraperapi
pattern: (?i)(?:\b|_)(?:scraper[_\-.]?api)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCRAPERAPI_KEY="dddeeab5d802f065ba06a390818b7020"
positive: {"scraperapi_key": "0d0fce0a8d231af4b2533201be204ef8"}
negative: export SCRAPERAPI_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCRAPERAPI_KEY=${SCRAPERAPI_KEY}
negative: scraperapi_key: "dddeeab5d8"

id: scraperbox-api-token
title: ScraperBox API token
severity: medium
keywords: scraper-box scraper.box scraper_box scraperbox
pattern: (?i)(?:\b|_)(?:scraper[_\-.]?box)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCRAPERBOX_API_TOKEN="8BR03M6Q1LLSB1W49543SALLCG07EYLL"
positive: {"scraperbox_api_token": "J05NI1OXTGS105HHWWQVLEX9N7DC6S1K"}
negative: export SCRAPERBOX_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCRAPERBOX_API_TOKEN=${SCRAPERBOX_API_TOKEN}
negative: scraperbox_api_token: "8BR03M6Q1L"

id: scrapestack-access-key
title: scrapestack access key
severity: medium
keywords: scrape-stack scrape.stack scrape_stack scrapestack
pattern: (?i)(?:\b|_)(?:scrape[_\-.]?stack)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCRAPESTACK_ACCESS_KEY="386822dafea9d69475fa02e28c7defe7"
positive: {"scrapestack_access_key": "088cdcdb2dec748b560dc702602f5513"}
negative: export SCRAPESTACK_ACCESS_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCRAPESTACK_ACCESS_KEY=${SCRAPESTACK_ACCESS_KEY}
negative: scrapestack_access_key: "386822dafe"

id: scrapfly-api-key
title: Scrapfly API key
severity: medium
keywords: scrap-fly scrap.fly scrap_fly scrapfly
pattern: (?i)(?:\b|_)(?:scrap[_\-.]?fly)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b((?:scp-(?:live|test)-)?[a-f0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCRAPFLY_KEY="5780cace112e4789769fe774589f34b8"
positive: {"scrapfly_key": "760afa02aba08eba3b53f76741bf54cd"}
negative: export SCRAPFLY_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCRAPFLY_KEY=${SCRAPFLY_KEY}
negative: scrapfly_key: "5780cace11"

id: scrapfly-live-key
title: Scrapfly live API key
severity: medium
keywords: scp-live-
pattern: \b(scp-live-[a-f0-9]{32})\b
entropy: 3.0
positive: SCRAPFLY_KEY=scp-live-c51f2c579b02cbc5bcb897b319e403dc
positive: ScrapflyClient(key="scp-live-3761fdb07d1d1bb3c81210d9b2b8b2e8")
negative: SCRAPFLY_KEY=scp-live-00000000000000000000000000000000
negative: key="scp-live-<your key>"

id: scrapingant-api-key
title: ScrapingAnt API key
severity: medium
keywords: scraping-ant scraping.ant scraping_ant scrapingant
pattern: (?i)(?:\b|_)(?:scraping[_\-.]?ant)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCRAPINGANT_API_KEY="e455eb960853ddf9cc633ba2a1927e47"
positive: {"scrapingant_api_key": "d614c342171dd6ea5bdbb08f2197cd72"}
negative: export SCRAPINGANT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCRAPINGANT_API_KEY=${SCRAPINGANT_API_KEY}
negative: scrapingant_api_key: "e455eb9608"

id: scrapingbee-api-key
title: ScrapingBee API key
severity: medium
keywords: scraping-bee scraping.bee scraping_bee scrapingbee
pattern: (?i)(?:\b|_)(?:scraping[_\-.]?bee)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{80})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCRAPINGBEE_API_KEY="X9KF0S2LR0HD0AOYMRHCTJ1OCG22RPUG4FP7L9ENNZUDP75SH28VXJG93UKDOC4ZIWMW20F7EURMBWTD"
positive: {"scrapingbee_api_key": "P2E9PFGG5KFX07L6HLL9OFLLPDL9W7355YZJMQFSM0O5R888K4HAQBPRXP2FDOY49JN573FON7H4N8J5"}
negative: export SCRAPINGBEE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCRAPINGBEE_API_KEY=${SCRAPINGBEE_API_KEY}
negative: scrapingbee_api_key: "X9KF0S2LR0"

id: screenshotapi-api-key
title: ScreenshotAPI key
severity: medium
keywords: screenshot-api screenshot.api screenshot_api screenshotapi
pattern: (?i)(?:\b|_)(?:screenshot[_\-.]?api)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{7}-[a-z0-9]{7}-[a-z0-9]{7}-[a-z0-9]{7})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCREENSHOTAPI_KEY="XH1F2MP-A54KH14-J9AC2JI-XCUNELY"
positive: {"screenshotapi_key": "OA3NY5H-3PHCOUU-S2EO6LS-O3WM0O0"}
negative: export SCREENSHOTAPI_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCREENSHOTAPI_KEY=${SCREENSHOTAPI_KEY}
negative: screenshotapi_key: "XH1F2MP-A5"

id: screenshotlayer-access-key
title: screenshotlayer access key
severity: medium
keywords: screenshot-layer screenshot.layer screenshot_layer screenshotlayer
pattern: (?i)(?:\b|_)(?:screenshot[_\-.]?layer)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32,34})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCREENSHOTLAYER_ACCESS_KEY="ef58cc4ae39094d0f9d38a83937ecd9e"
positive: {"screenshotlayer_access_key": "65a274de650525b473a96770fbe938c7"}
negative: export SCREENSHOTLAYER_ACCESS_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCREENSHOTLAYER_ACCESS_KEY=${SCREENSHOTLAYER_ACCESS_KEY}
negative: screenshotlayer_access_key: "ef58cc4ae3"

id: scrutinizerci-access-token
title: Scrutinizer CI access token
severity: high
keywords: scrutinizer
pattern: (?i)(?:\b|_)(?:scrutinizer(?:[_\-.]?ci)?)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{64})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCRUTINIZER_ACCESS_TOKEN="928f2c4f571d1da14ddddb9f0575d8ea31062579639d33a98497f02713fdfdb7"
positive: {"scrutinizer_access_token": "0485623664b588d2bda869f1bf5bbe8de00f8742e592dc5f7f810811b14815c3"}
negative: export SCRUTINIZER_ACCESS_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCRUTINIZER_ACCESS_TOKEN=${SCRUTINIZER_ACCESS_TOKEN}
negative: scrutinizer_access_token: "928f2c4f57"

id: securitytrails-api-key
title: SecurityTrails API key
severity: high
keywords: security-trails security.trails security_trails securitytrails
pattern: (?i)(?:\b|_)(?:security[_\-.]?trails)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SECURITYTRAILS_API_KEY="gJElPz2LgO8juPtkw26prMcssND0k56F"
positive: {"securitytrails_api_key": "w4QIhISWbzPsw28deWzupDRS5xvX8jtV"}
negative: export SECURITYTRAILS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SECURITYTRAILS_API_KEY=${SECURITYTRAILS_API_KEY}
negative: securitytrails_api_key: "gJElPz2LgO"

id: segment-api-token
title: Segment (Twilio) API token
severity: high
keywords: segment
pattern: (?i)(?:\b|_)(?:segment)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9_\-]{43}\.[a-z0-9_\-]{43})(?![\w\-])
entropy: 3.5
confidence: medium
positive: export SEGMENT_API_TOKEN="inh0v66-uJ1X5ZQHUtnF6w7jmNRGbyFtZasIiEL_iMl.8_sH5T-T7aUguJvaS47_XMQskTix-DmJ7YrwRvQFo-B"
positive: {"segment_api_token": "_fMcgpAPfg9VZDweG88FcY7O9AqyY7rs6xzl3-MOwu-.AuT4O-ziAJuxzEkFMYfQCL9lLZwNiMwEsoQEvbtEfNN"}
negative: export SEGMENT_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SEGMENT_API_TOKEN=${SEGMENT_API_TOKEN}
negative: segment_api_token: "your-segment-token-here"

id: segment-public-api-token
title: Segment public API token
severity: high
keywords: sgp_
pattern: \b(sgp_[A-Za-z0-9]{64})\b
entropy: 3.5
positive: SEGMENT_PUBLIC_API_TOKEN=sgp_kHOOVX1OdBVvFNTuxQYgBlmzxhC9hyvN1z5MMxbbLPD0wDhDXQBs4OO5QbY1PxEv
positive: Authorization: Bearer sgp_BbIPu4USh8OqtUMHHlGqiVDuuRzELS3rNpsW41gbY5jOzZEgEdmD2tcjYESx2IFU
negative: SEGMENT_PUBLIC_API_TOKEN=sgp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: sgp_xlyvjpStmeHyZgGnS6cemcSU63OF5q

id: segment-write-key
title: Segment source write key
severity: medium
keywords: segment
pattern: (?i)(?:\b|_)(?:segment)[\w.\-\s"':=,\{\}]{0,30}?write[_\-.]?key[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SEGMENT_WRITE_KEY="2qn4h6u5IwuJkfrkvoLieNbNQbFpArIc"
positive: {"segment_write_key": "BQnbd2uPbuQrTHEeNSIxfmbSEWYqPKHZ"}
negative: export SEGMENT_WRITE_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SEGMENT_WRITE_KEY=${SEGMENT_WRITE_KEY}
negative: segment_write_key: "2qn4h6u5Iw"

id: selectpdf-api-key
title: SelectPdf API key
severity: medium
keywords: select-pdf select.pdf select_pdf selectpdf
pattern: (?i)(?:\b|_)(?:select[_\-.]?pdf)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}(?:-[a-z0-9]{4})?-[a-z0-9]{12})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SELECTPDF_API_KEY="e36c43bf-642e-2d1b-c499-b37f0a53a1ef"
positive: {"selectpdf_api_key": "99d89d1c-541f-9ff7-69a8-1e0b2f51ae78"}
negative: export SELECTPDF_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SELECTPDF_API_KEY=${SELECTPDF_API_KEY}
negative: selectpdf_api_key: "e36c43bf-6"

id: semaphore-api-token
title: Semaphore CI API token
severity: high
keywords: semaphore
pattern: (?i)(?:\b|_)(?:semaphore(?:[_\-.]?ci)?)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SEMAPHORE_API_TOKEN="7448ea77efe9be4e2e2ffa2b361dfb99"
positive: {"semaphore_api_token": "943c0a208adbcdb341999a1ec795fde4"}
negative: export SEMAPHORE_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SEMAPHORE_API_TOKEN=${SEMAPHORE_API_TOKEN}
negative: semaphore_api_token: "7448ea77ef"

id: sendbird-api-token
title: Sendbird API token
severity: high
keywords: sendbird
pattern: (?i)(?:\b|_)(?:sendbird)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{24}(?:[a-f0-9]{16})?)(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SENDBIRD_API_TOKEN="ad53ffb1db4436b2ce8c3f794282b5a7dfb590da"
positive: {"sendbird_api_token": "3ce90ebaea755624025a4ea09b80722fab5a938a"}
negative: export SENDBIRD_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SENDBIRD_API_TOKEN=${SENDBIRD_API_TOKEN}
negative: sendbird_api_token: "ad53ffb1db"

id: sendinblue-api-key
title: Sendinblue (Brevo) API v3 key
severity: high
keywords: xkeysib-
pattern: \b(xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16})\b
entropy: 3.0
positive: BREVO_API_KEY=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
positive: configuration.api_key['api-key'] = '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'
negative: BREVO_API_KEY=xkeysib-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-xxxxxxxxxxxxxxxx
negative: api-key: xkeysib-YOUR_API_KEY

id: sendinblue-smtp-key
title: Sendinblue (Brevo) SMTP key
severity: high
keywords: xsmtpsib-
pattern: \b(xsmtpsib-[a-f0-9]{64}-[A-Za-z0-9]{16})\b
entropy: 3.0
positive: SMTP_PASSWORD=xsmtpsib-d6110f88b85c7d40d4684e94b6c202a466b7dc7ae157a982b06bc18429354623-3SbUxEQWnFFac2Sx
positive: smtp_pass: "xsmtpsib-1e6db45fe6811e1b499bc35933ab5627a6d99410311d071d5d29c3ecdcc34062-51PaP7sm7fcRPp4K"
negative: SMTP_PASSWORD=xsmtpsib-0000000000000000000000000000000000000000000000000000000000000000-0000000000000000
negative: smtp_pass: xsmtpsib-your-key

id: sentry-auth-token
title: Sentry auth token (legacy hex)
severity: high
keywords: sentry
pattern: (?i)(?:\b|_)(?:sentry)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{64})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SENTRY_AUTH_TOKEN="e06e1b568d845b462b6d7efb3ededab7d5719e6a5e2ab89126b48e462b7b6d97"
positive: {"sentry_auth_token": "1532c8b27383bb10f807e4243cdbf9ef4a0f044fdc2359a0541ebd2f09af9551"}
negative: export SENTRY_AUTH_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SENTRY_AUTH_TOKEN=${SENTRY_AUTH_TOKEN}
negative: sentry_auth_token: "e06e1b568d"

id: sentry-org-auth-token
title: Sentry organization auth token
severity: high
keywords: sntrys_
pattern: \b(sntrys_eyJ[A-Za-z0-9+/=_\-]{60,800})
entropy: 4.0
positive: SENTRY_AUTH_TOKEN=sntrys_eyJpYXQiOjE3MDAwMDAwMDAsInVybCI6Imh0dHBzOi8vc2VudHJ5LmlvIiwib3JnIjoiYWNtZSJ9_gvQC8sBmlp+I7EBfUg/0utLbMYLaVGjUiADSKGhApKr
positive: token: sntrys_eyJpYXQiOjE3MDAwMDAwMDAsInVybCI6Imh0dHBzOi8vc2VudHJ5LmlvIiwib3JnIjoiYWNtZSJ9_i5zfyOfmKlOKLNU5+d/6FO+xJo2EHqtNLABF93cDW6L
negative: SENTRY_AUTH_TOKEN=sntrys_YOUR_TOKEN_HERE
negative: sntrys_eyJAAAAAAAAAAAAAAAAAAAA

id: sentry-user-auth-token
title: Sentry user auth token
severity: high
keywords: sntryu_
pattern: \b(sntryu_[a-f0-9]{64})\b
entropy: 3.0
positive: SENTRY_AUTH_TOKEN=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
positive: auth.token=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
negative: SENTRY_AUTH_TOKEN=sntryu_0000000000000000000000000000000000000000000000000000000000000000
negative: sntryu_30c20ab9bf853f559bd1

id: serphouse-api-key
title: SERPHouse API key
severity: medium
keywords: serp-house serp.house serp_house serphouse
pattern: (?i)(?:\b|_)(?:serp[_\-.]?house)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{60,64})(?![\w\-])
entropy: 3.2
confidence: medium
positive: export SERPHOUSE_API_KEY="ALibQhD6BpZJ5j7ve760U1joOsdAoPZBuNzP0PnTCFKuUDghDtPaoh3xcpStjC"
positive: {"serphouse_api_key": "7gVfEdB8iyDAhWNwHvdHeR2VJ1nwkE1PYpWEmcTpLTH0Yv9rAlPP6TGOJ3c8sU"}
negative: export SERPHOUSE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SERPHOUSE_API_KEY=${SERPHOUSE_API_KEY}
negative: serphouse_api_key: "ALibQhD6Bp"

id: serpstack-access-key
title: serpstack access key
severity: medium
keywords: serp-stack serp.stack serp_stack serpstack
pattern: (?i)(?:\b|_)(?:serp[_\-.]?stack)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SERPSTACK_ACCESS_KEY="4b27060591d5d9fca8e56186ab7381b8"
positive: {"serpstack_access_key": "8de9cf4727bc43d16c8ea63fb807f1d1"}
negative: export SERPSTACK_ACCESS_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SERPSTACK_ACCESS_KEY=${SERPSTACK_ACCESS_KEY}
negative: serpstack_access_key: "4b27060591"

id: sherpadesk-api-key
title: SherpaDesk API key
severity: high
keywords: sherpa-desk sherpa.desk sherpa_desk sherpadesk
pattern: (?i)(?:\b|_)(?:sherpa[_\-.]?desk)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SHERPADESK_API_KEY="oex0ng2u6d1sjqd4u6msadk4c2ekhfq8"
positive: {"sherpadesk_api_key": "exvdg0p45qcfzzj1qjq6t3321s0qn2x7"}
negative: export SHERPADESK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SHERPADESK_API_KEY=${SHERPADESK_API_KEY}
negative: sherpadesk_api_key: "oex0ng2u6d"

id: shipday-api-key
title: Shipday API key
severity: high
keywords: ship-day ship.day ship_day shipday
pattern: (?i)(?:\b|_)(?:ship[_\-.]?day)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b((?=[a-z0-9.]{25,60}(?![\w.]))[a-z0-9]{3,20}(?:\.[a-z0-9]{3,40}){1,2})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SHIPDAY_API_KEY="Xipo0iyA52.jvXb5GqygRzl2XwyxBty"
positive: {"shipday_api_key": "D4SnfBYgMS.EHWfLKuIzRyJWGy7NQXK"}
negative: export SHIPDAY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SHIPDAY_API_KEY=${SHIPDAY_API_KEY}
negative: shipday_api_key: "your-shipday-token-here"

id: shippo-api-token
title: Shippo API token
severity: high
keywords: shippo_live_ shippo_test_
pattern: \b(shippo_(?:live|test)_[a-fA-F0-9]{40})\b
entropy: 3.0
positive: SHIPPO_API_KEY=shippo_live_0a028de57f3b89ef751e1a5fea0167e4233e9021
positive: shippo.config.api_key = "shippo_test_57e4116258b38a216b58e2a88f9babd4e3b20cf1"
negative: SHIPPO_API_KEY=shippo_live_<your-key>
negative: shippo_test_0000000000000000000000000000000000000000

id: shodan-api-key
title: Shodan API key
severity: high
keywords: shodan
pattern: (?i)(?:\b|_)(?:shodan)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SHODAN_API_KEY="eLTurWa6aInJdXdjqbsSIBb8IAyEtQi2"
positive: {"shodan_api_key": "z6LJLFuyAWzq8RGt25XvWgY7QZsgNeCe"}
negative: export SHODAN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SHODAN_API_KEY=${SHODAN_API_KEY}
negative: shodan_api_key: "eLTurWa6aI"

id: shortcut-api-token
title: Shortcut (Clubhouse) API token
severity: high
keywords: clubhouse shortcut
pattern: (?i)(?:\b|_)(?:shortcut|clubhouse)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SHORTCUT_API_TOKEN="25c43792-9760-52c7-81d9-696eae275dc2"
positive: {"shortcut_api_token": "54bda030-2a0e-4e69-7b77-79966a18a05d"}
negative: export SHORTCUT_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SHORTCUT_API_TOKEN=${SHORTCUT_API_TOKEN}
negative: shortcut_api_token: "25c43792-9"

id: shotstack-api-key
title: Shotstack API key
severity: high
keywords: shot-stack shot.stack shot_stack shotstack
pattern: (?i)(?:\b|_)(?:shot[_\-.]?stack)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{40})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SHOTSTACK_API_KEY="h2GKubvwocmqUrrmFA4vIPKSU8kAgETuWGEln9Pg"
positive: {"shotstack_api_key": "oP31TAsdIRec2HZ8QBpKZ7WAGEX8tEzTfOguyTIz"}
negative: export SHOTSTACK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SHOTSTACK_API_KEY=${SHOTSTACK_API_KEY}
negative: shotstack_api_key: "h2GKubvwoc"

id: shutterstock-oauth-token
title: Shutterstock OAuth access token
severity: high
keywords: shutterstock
pattern: (?i)(?:\b|_)(?:shutterstock)[\w.\-\s"':=,\{\}]{0,40}?\b(v2/[a-z0-9_\-+/]{100,1000}={0,2})(?![\w\-])
entropy: 3.5
window: 4096
confidence: medium
positive: export SHUTTERSTOCK_API_TOKEN="v2/uL3DVSVHRJyJfjbH8EC3piSoDc5ppYlyWzXe7AcWYjDzM6uHI1VjY8YgVngVhr5avLkXR8ToWHr0UQdpXjXTAroMS7nBlgXn767yIrhXITYWPyZVXgMwNHfTDRo44sj8x80LP0vMYdoKv7N0luqyJAEVxejz1AtGHKZIzzlm1MVwyPmggtLX1gBFH0wpRPlYKYyFzAyNbaNGrj1XfmnzCygH33ydugC0hGAxuoWRFjeVDjBNzF9DY5aiGA11j0WaWDuiBsFJ4QKOdi2POreKg2grbkdgTT7BwE5h3tidanUX"
positive: {"shutterstock_api_token": "v2/MEdzxLNnEPeDX3aYq0rbS8d9Tgj4HG9hbOzK98VCxrxruXhaak37Gf3ttKmWfBabmocQk2DB3LHySnhnh5lzpuZ7aU2OhbSUAJxJA5ynxLWXE1yL0k9G6KMJc5uxVrBqDGy3grMpt6cKecLSnH7HjAmWV5qi8kAiM81PDgia7DL1HNRxZ9flpcSNFoOwMnNMe5QEHk3pmJQOlSPc4J1FMbOa0yemYCQwVePkQ2oA0dkjPatNdPgOQW9b0IErK18etqFot3nLdmH76zggyZmbRveBiRVjJNSmDPYleMRVMV14"}
negative: export SHUTTERSTOCK_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SHUTTERSTOCK_API_TOKEN=${SHUTTERSTOCK_API_TOKEN}
negative: shutterstock_api_token: "v2/uL3DVSV"

id: signaturit-access-token
title: Signaturit access token
severity: high
keywords: signaturit
pattern: (?i)(?:\b|_)(?:signaturit)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{86})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SIGNATURIT_ACCESS_TOKEN="1EF0lJ1SI2DOcKJQNVDnBetvkxBbIZaNUPevKtUR9X8401RbDQXPUd8GIdn9iBVq2ICtVez9bjFG6y6xfGWP4V"
positive: {"signaturit_access_token": "x1GzSxgicJCGawoo39iMswL21izWK3mEdRqTYbIWeVpCSiaI08dN6O5XNJVqrbEJ6QdOVraX0FT0eDlCAhXzdw"}
negative: export SIGNATURIT_ACCESS_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SIGNATURIT_ACCESS_TOKEN=${SIGNATURIT_ACCESS_TOKEN}
negative: signaturit_access_token: "1EF0lJ1SI2"

id: signupgenius-api-key
title: SignUpGenius API key
severity: high
keywords: sign-up-genius sign-up.genius sign-up_genius sign-upgenius sign.up-genius sign.up.genius sign.up_genius sign.upgenius sign_up-genius sign_up.genius sign_up_genius sign_upgenius signup-genius signup.genius signup_genius signupgenius
pattern: (?i)(?:\b|_)(?:sign[_\-.]?up[_\-.]?genius)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SIGNUPGENIUS_API_KEY="97921b6a7844a7c571b83b4859770fbe"
positive: {"signupgenius_api_key": "579bc7dd0c76731ece1881d38f555e1e"}
negative: export SIGNUPGENIUS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SIGNUPGENIUS_API_KEY=${SIGNUPGENIUS_API_KEY}
negative: signupgenius_api_key: "97921b6a78"

id: sigopt-api-token
title: SigOpt API token
severity: high
keywords: sigopt
pattern: (?i)(?:\b|_)(?:sigopt)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{48})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SIGOPT_API_TOKEN="SVJDJQ5EKGWHHQGTFMNJJ73JPKK0O4OWITOORXHECLBRC4IL"
positive: {"sigopt_api_token": "HV6ASF8O2QPLONRRMTA8AQJD08J0QHRIGMQG3DXTB5X6OF6M"}
negative: export SIGOPT_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SIGOPT_API_TOKEN=${SIGOPT_API_TOKEN}
negative: sigopt_api_token: "SVJDJQ5EKG"

id: simfin-api-key
title: SimFin API key
severity: medium
keywords: simfin
pattern: (?i)(?:\b|_)(?:simfin)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SIMFIN_API_KEY="PDVtCF3fyISbBT4IH7g0cSs0K9gzrSrQ"
positive: {"simfin_api_key": "CBaKArQiveETvm1LCmeTaffq0iQQsp9n"}
negative: export SIMFIN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SIMFIN_API_KEY=${SIMFIN_API_KEY}
negative: simfin_api_key: "PDVtCF3fyI"

id: simplesat-api-key
title: Simplesat API key
severity: high
keywords: simple-sat simple.sat simple_sat simplesat
pattern: (?i)(?:\b|_)(?:simple[_\-.]?sat)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{40})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SIMPLESAT_API_KEY="a8f36b2b040752bc4952b146d60f5a452f0ffd48"
positive: {"simplesat_api_key": "166d0280b85af50dc9794a1095f5998d5f7e1d0c"}
negative: export SIMPLESAT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SIMPLESAT_API_KEY=${SIMPLESAT_API_KEY}
negative: simplesat_api_key: "a8f36b2b04"

id: simplynoted-api-key
title: SimplyNoted API key
severity: high
keywords: simply-noted simply.noted simply_noted simplynoted
pattern: (?i)(?:\b|_)(?:simply[_\-.]?noted)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9_\-]{30,2000}(?:\.[a-z0-9_\-]{10,2000}){0,3})(?![\w\-])
entropy: 4.0
window: 4096
confidence: medium
positive: export SIMPLYNOTED_API_KEY="Sl88HDAI0yk6YkelpVlT3wtunLstkiSPIEE1U4QmyTxI77DfnOgcZN3zqk0ALCFtbv3CJxJEZCJuUWPBKt5yGs8pnpiT8axChYzwrqMV2jUaAgpjiNO5KJKR.MWLQvR63ycXzC-qVx4ewLUSLmmfZlyEJT2blOXJlSWIDyB_Na0aHZEN21n85LO3cAVEFqrRuR1DvXvVLESlMbbTNYZ.uve4FJsCZmTxjlboza2ykGUos3Vy6fYwYSTX4cio6wAepUxB3toWDToWyqhr"
positive: {"simplynoted_api_key": "N374EbxCpBTVSw9PeJlWIgorHxJeftDteytg3g5cxQ6zhLm9RMFFl3zIuo1h8h6NujhTC44YecM2d1KkXhG53hT5FYcDwBQBI03bLj5vOdxs18zRq8g6mBxa.ho_outCBxMeYXvcoWs2MJrQZunbvLAH-FmjBBAqD96i-8-VTgh_rI40wMSernboK0D8Kf2vzNAv_0YEz9vbS17wkg2.gDjPusneNP15hyEufU7EXPujw0UbaAlOBQXNEsYMnWzfygVXZQrBv6iNADWw"}
negative: export SIMPLYNOTED_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SIMPLYNOTED_API_KEY=${SIMPLYNOTED_API_KEY}
negative: simplynoted_api_key: "your-simplynoted-token-here"

id: simvoly-api-key
title: Simvoly API key
severity: high
keywords: simvoly
pattern: (?i)(?:\b|_)(?:simvoly)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{33})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SIMVOLY_API_KEY="pimjuumzeqg9qjij93y5zizkm6zy1l4ju"
positive: {"simvoly_api_key": "34uxd7fiwqzk154r99fvofip5ur6d9tah"}
negative: export SIMVOLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SIMVOLY_API_KEY=${SIMVOLY_API_KEY}
negative: simvoly_api_key: "pimjuumzeq"

id: skrappio-api-key
title: Skrapp.io API key
severity: high
keywords: skrapp
pattern: (?i)(?:\b|_)(?:skrapp(?:[_\-.]?io)?)(?:[\s"':=]{1,5}|[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?)\b([a-z0-9]{42})(?![\w\-])
entropy: 3.5
confidence: medium
positive: export SKRAPP_API_KEY="NEg6Kx6MXSjnmcXWf9eaoR4UhwZvbrLFsuxbwVsFYQ"
positive: {"skrapp_api_key": "Mo44SAQJepnW9AsuN2uIHlc0RyWTPW2NXjsXd0PmLN"}
negative: export SKRAPP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SKRAPP_API_KEY=${SKRAPP_API_KEY}
negative: skrapp_api_key: "NEg6Kx6MXS"

id: smartsheets-api-token
title: Smartsheet API access token
severity: high
keywords: smartsheet
pattern: (?i)(?:\b|_)(?:smartsheets?)(?:[\s"':=]{1,5}|[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?)\b((?:[a-z0-9]{37}|[a-z0-9]{26}))(?![\w\-])
entropy: 3.2
confidence: medium
positive: export SMARTSHEET_ACCESS_TOKEN="ZEz2Va2QAzEFhTWKuR1lpRU25vjZy2468ssLm"
positive: {"smartsheet_access_token": "GbsAFoaRpOT0TL8n5jC5FKZz4kUNORPn3g7fO"}
negative: export SMARTSHEET_ACCESS_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SMARTSHEET_ACCESS_TOKEN=${SMARTSHEET_ACCESS_TOKEN}
negative: smartsheet_access_token: "ZEz2Va2QAz"

id: snipcart-api-key
title: Snipcart secret API key
severity: high
keywords: snipcart
pattern: (?i)(?:\b|_)(?:snipcart)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9_\-]{60,100})(?![\w\-])
entropy: 3.5
confidence: medium
positive: export SNIPCART_SECRET_API_KEY="Oklywv6htqbXUMvVjwo1b6d5Q7B4dIlD1HETunPEAmVCaUP4fcDTlhzCqsH7A2aN7Wwxy601tww"
positive: {"snipcart_secret_api_key": "G123pcZt4nLnbtcYcSRPZh8ShL5gucpbgrfCLmmDGrxqH0SemjhR8LhAgwbmmUJfdomJYtjicUf"}
negative: export SNIPCART_SECRET_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SNIPCART_SECRET_API_KEY=${SNIPCART_SECRET_API_KEY}
negative: snipcart_secret_api_key: "Oklywv6htq"

id: snowflake-account-identifier
title: Snowflake account identifier
severity: low
keywords: snowflake
pattern: (?i)(?:\b|_)snowflake[_.\-\s]?account(?:[_.\-]?(?:id|name|identifier|locator))?["']?\s{0,3}[=:]\s{0,3}["']?([a-z0-9]{3,20}-[a-z0-9_]{3,40}|[a-z]{2}\d{5}(?:\.[a-z0-9\-]{2,20}){0,2})(?![\w.\-])
confidence: medium
positive: SNOWFLAKE_ACCOUNT=acmecorp-gvqzdqr
positive: snowflake_account: "xy31498.us-east-1"
negative: SNOWFLAKE_ACCOUNT=${SNOWFLAKE_ACCOUNT}
negative: snowflake_account = os.environ["SNOWFLAKE_ACCOUNT"]

id: snowflake-password
title: Snowflake password
severity: high
keywords: snowflake
pattern: (?i)(?:\b|_)snowflake[_.\-\s]?(?:password|passwd|pass|pwd)["']?\s{0,3}[=:]\s{0,3}["']?(?![\$%<\{*]|os\.|env|self\.|config|settings|getenv|none\b|null\b)([^\s"'`\(\)\[\],;]{6,64})(?![^\s"'`,;])
entropy: 2.5
confidence: medium
positive: SNOWFLAKE_PASSWORD="RRDghLOnq3OLqzpl"
positive: snowflake_password: c8GSS0Trc2iGSD
negative: SNOWFLAKE_PASSWORD=${SNOWFLAKE_PASSWORD}
negative: snowflake_password = os.environ["SNOWFLAKE_PASSWORD"]
negative: snowflake_password: "<password>"

id: snowflake-username
title: Snowflake username
severity: low
keywords: snowflake
pattern: (?i)(?:\b|_)snowflake[_.\-\s]?(?:user|username|user_name|login)["']?\s{0,3}[=:]\s{0,3}["']?(?![\$%<\{*]|os\.|env)([a-z0-9_.@\-]{3,64})["']?(?![\w\(\[])
confidence: medium
positive: SNOWFLAKE_USER="svc_mqiyx0lk"
positive: snowflake_username: etl_eb7v82
negative: SNOWFLAKE_USER=${SNOWFLAKE_USER}
negative: snowflake_user = os.getenv("SNOWFLAKE_USER")

id: snyk-api-token
title: Snyk API token
severity: high
keywords: snyk
pattern: (?i)(?:\b|_)(?:snyk)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SNYK_TOKEN="270c53db-39cc-bccd-acf3-6750bad14caa"
positive: {"snyk_token": "6321fe0a-a670-0ea8-e1ee-7f73cec62d0d"}
negative: export SNYK_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SNYK_TOKEN=${SNYK_TOKEN}
negative: snyk_token: "270c53db-3"

id: sonarcloud-api-token
title: SonarCloud API token
severity: high
keywords: sonar
pattern: (?i)(?:\b|_)sonar(?:cloud)?[_.\-]?(?:api[_.\-]?)?token["']?\s{0,3}[,:=]\s{0,3}["']?([a-f0-9]{40})\b
entropy: 3.0
confidence: medium
positive: SONAR_TOKEN=8cb37db8c4636f59b197b5628ae70b89b9344e0a
positive: sonarcloud_token: "be16a37c031cb4f9e754e804f3b13ebd80f9af5c"
negative: SONAR_TOKEN=${{ secrets.SONAR_TOKEN }}
negative: sonarqube-reporter-1.4.0.tgz#d762f8d502228396e82df32aad5060909057a186

id: sonarqube-host-url
title: SonarQube server URL (sonar.host)
severity: low
keywords: sonar
pattern: (?i)(?:\b|_)sonar[_.\-]?host(?:[_.\-]?url)?["']?\s{0,3}[=:]\s{0,3}["']?(https?://[a-z0-9][a-z0-9.\-]{2,100}(?::\d{2,5})?)
confidence: medium
positive: sonar.host.url=https://sonar.j9mnoo.internal:9000
positive: SONAR_HOST_URL: "https://sonarqube.n62er0pp.com"
negative: /d:sonar.host.url=$(SONAR_HOST)
negative: sonar.host.url=${SONAR_HOST_URL}

id: sonarqube-login-token
title: SonarQube legacy login token (sonar.login)
severity: high
keywords: sonar
pattern: (?i)sonar(?:qube)?[_.\-]?login["']?\s{0,3}[,:=]\s{0,3}["']?([a-f0-9]{40})\b
entropy: 3.0
confidence: medium
positive: mvn sonar:sonar -Dsonar.login=67f96ab2870eee1d1ddba7a56342f13aa96f1572
positive: sonarLogin = "b7ba6e3a81be10af1aaf544479e75268b0466d2f"
negative: -Dsonar.login=$(SONAR_LOGIN)
negative: sonar-scanner-2.5.0.tgz#bf3d33467c39716e4022cb8a1d34cae3f539d7c1

id: sonarqube-token
title: SonarQube / SonarCloud token (prefixed)
severity: high
keywords: sqp_ squ_ sqa_
pattern: \b(sq[apu]_[a-f0-9]{40})\b
entropy: 3.0
positive: SONAR_TOKEN=squ_d3d6ae4b341bea842a8476a83cf3d47887cf8872
positive: -Dsonar.token=sqp_c00a07a6c3e2b4c3253f25aa109b67eb55ffc5b1
negative: SONAR_TOKEN=squ_0000000000000000000000000000000000000000
negative: sqa_d24621f794426c996e82

id: sourcegraph-access-token
title: Sourcegraph access token
severity: high
keywords: sgp_
pattern: \b(sgp_(?:(?:[a-fA-F0-9]{16}|local)_){0,2}[a-fA-F0-9]{40})\b
entropy: 3.0
positive: SRC_ACCESS_TOKEN=sgp_9d55a9a5820333259695a5d14147490930b5df54
positive: src login --token sgp_cfb0fee63a9c291f_7831a0b0d10c68351c7845bc963363fe3fd5b61d
negative: SRC_ACCESS_TOKEN=sgp_0000000000000000000000000000000000000000
negative: sgp_3a3c2ace6be614e313f7fa8a5a4269

id: sourcegraph-cody-key
title: Sourcegraph Cody gateway key
severity: high
keywords: slk_
pattern: \b(slk_[a-f0-9]{64})\b
entropy: 3.0
positive: CODY_GATEWAY_KEY=slk_78a08f273c12ba0df825e08697cf27b56fc737ce997e3e575e19581a8c01888e
positive: "accessToken": "slk_a2adc98d9835253315436711ea9335525d1a83fcec4761793b5aa4308a4f8138"
negative: CODY_GATEWAY_KEY=slk_0000000000000000000000000000000000000000000000000000000000000000
negative: slk_29a2c2f3f57fb3cde388a8470a742a5ec78a2130

id: sparkpost-api-key
title: SparkPost API key
severity: high
keywords: spark-post spark.post spark_post sparkpost
pattern: (?i)(?:\b|_)(?:spark[_\-.]?post)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{40})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SPARKPOST_API_KEY="3c157ac4149e27e59fab42c62655475202409d9d"
positive: {"sparkpost_api_key": "5c70835a4fafad7e671eea3b42f0d236e672b5af"}
negative: export SPARKPOST_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SPARKPOST_API_KEY=${SPARKPOST_API_KEY}
negative: sparkpost_api_key: "3c157ac414"

id: speechtextai-api-key
title: SpeechText.AI API key
severity: medium
keywords: speech-text speech.text speech_text speechtext
pattern: (?i)(?:\b|_)(?:speech[_\-.]?text(?:[_\-.]?ai)?)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SPEECHTEXT_API_KEY="32c6419baa93039a58ff6f8318a927c9"
positive: {"speechtext_api_key": "019e1c6a76691bb4061ab3ae2f1af925"}
negative: export SPEECHTEXT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SPEECHTEXT_API_KEY=${SPEECHTEXT_API_KEY}
negative: speechtext_api_key: "32c6419baa"

id: splunk-hec-token
title: Splunk HTTP Event Collector token
severity: high
keywords: splunk
pattern: (?i)(?:\bsplunk\s+|(?:\b|_)splunk[\w.\-]{0,20}?(?:hec|token)[\w.\-]{0,20}?["']?\s{0,3}[=:]\s{0,3}["']?)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b
entropy: 3.0
confidence: medium
positive: curl -k https://splunk.local:8088/services/collector -H "Authorization: Splunk 8e2fc4fc-a298-9290-4cef-f7345a8035b9"
positive: SPLUNK_HEC_TOKEN="da16eab7-8295-c080-6b05-b1f79242552c"
negative: Authorization: Splunk ${HEC_TOKEN}
negative: SPLUNK_HEC_TOKEN="00000000-0000-0000-0000-000000000000"

id: splunk-observability-token
title: Splunk Observability access token
severity: high
keywords: splunk
pattern: (?i)(?:\b|_)(?:splunk)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{22})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SPLUNK_ACCESS_TOKEN="Fo287oCXbxJQ2HwgFVh7DE"
positive: {"splunk_access_token": "arrIUamfvWum9aAfBBV4oR"}
negative: export SPLUNK_ACCESS_TOKEN="xxxxxxxxxxxxxxxxxxxxxx"
negative: SPLUNK_ACCESS_TOKEN=${SPLUNK_ACCESS_TOKEN}
negative: splunk_access_token: "Fo287oCXbx"

id: spoonacular-api-key
title: Spoonacular API key
severity: medium
keywords: spoonacular
pattern: (?i)(?:\b|_)(?:spoonacular)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SPOONACULAR_API_KEY="cac0ad312a60eab2615d2500e371ed1d"
positive: {"spoonacular_api_key": "4a2cdeb17c8c588256085dd91b5ba635"}
negative: export SPOONACULAR_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SPOONACULAR_API_KEY=${SPOONACULAR_API_KEY}
negative: spoonacular_api_key: "cac0ad312a"

id: sportsmonk-api-token
title: Sportmonks API token
severity: medium
keywords: sportmonk sportsmonk
pattern: (?i)(?:\b|_)(?:sports?monks?)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{60,64})(?![\w\-])
entropy: 3.2
confidence: medium
positive: export SPORTMONKS_API_TOKEN="rCpP9HVyipJWhiwJ1TGnH5PzXG59E7sY3hx3ad4AgU8OYDqdZAvqsp5dyHM8"
positive: {"sportmonks_api_token": "pksoIAmPMa9N9a42qKDxFZxvjQE2g9oGOocoEXOUxnMaRXiA24np27cyElt3"}
negative: export SPORTMONKS_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SPORTMONKS_API_TOKEN=${SPORTMONKS_API_TOKEN}
negative: sportmonks_api_token: "rCpP9HVyip"

id: spotify-client-id
title: Spotify client ID
severity: low
keywords: spotify
pattern: (?i)(?:\b|_)(?:spotify)[\w.\-\s"':=,\{\}]{0,30}?(?:client[_\-.]?id|app[_\-.]?id)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SPOTIFY_CLIENT_ID="93ff5a12467b0b91efc933ec2c5f8621"
positive: {"spotify_client_id": "12c5ad4a73f311ec53a107f41cc466ca"}
negative: export SPOTIFY_CLIENT_ID="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SPOTIFY_CLIENT_ID=${SPOTIFY_CLIENT_ID}
negative: spotify_client_id: "93ff5a1246"

id: spotify-client-secret
title: Spotify client secret
severity: high
keywords: spotify
pattern: (?i)(?:\b|_)(?:spotify)[\w.\-\s"':=,\{\}]{0,30}?(?:secret|key|token)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SPOTIFY_CLIENT_SECRET="0192a9e4ff929f59f380ac58266b83ea"
positive: {"spotify_client_secret": "fddb0a412ac1226170a54907dec704e4"}
negative: export SPOTIFY_CLIENT_SECRET="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SPOTIFY_CLIENT_SECRET=${SPOTIFY_CLIENT_SECRET}
negative: spotify_client_secret: "0192a9e4ff"

id: square-access-token
title: Square access token
severity: critical
keywords: eaaa
pattern: \b(EAAA[A-Za-z0-9_\-]{60,80})(?![\w\-])
entropy: 3.5
positive: SQUARE_ACCESS_TOKEN=EAAASG_lN6Dpesd5jvtY__OJENjlHut3E0X95mXfxhguLFLDi3UPxAUolMW-gRLi
positive: client = Client(access_token="EAAA2Jiol0cYogKAEPirRFxeHi5uOSTYvxrwAjTYlqeGK1WJUpq73XhzjQ8LbQJO")
negative: SQUARE_ACCESS_TOKEN=EAAAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: EAAA8ugS6bfZmeyyceLVvk20YEChhht76U

id: square-oauth-access-token
title: Square OAuth access token (sq0atp)
severity: critical
keywords: sq0atp-
pattern: \b(sq0atp-[A-Za-z0-9_\-]{22})(?![\w\-])
entropy: 3.0
positive: SQUARE_TOKEN=sq0atp-Dprp8VgPdZxlAzj9e-PUo-
positive: token: 'sq0atp-Qg_crSjUWtxN67DBjH61MA'
negative: SQUARE_TOKEN=sq0atp-XXXXXXXXXXXXXXXXXXXXXX
negative: sq0atp-short

id: square-oauth-secret
title: Square OAuth application secret (sq0csp)
severity: critical
keywords: sq0csp-
pattern: \b(sq0csp-[A-Za-z0-9_\-]{43})(?![\w\-])
entropy: 3.0
positive: SQUARE_APP_SECRET=sq0csp-5STDXVogtZHq1ge4LOIHFHjns4Lrdp9nsd3-FO6wmU6
positive: "client_secret": "sq0csp-oC0a8lcuFJAmPSm3I_SntoTQ2uFEDGYzeB6lUOgwIxI"
negative: SQUARE_APP_SECRET=sq0csp-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: sq0csp-DeSxRnGHraagGjk7z7A6

id: squarespace-api-key
title: Squarespace API key
severity: high
keywords: square-space square.space square_space squarespace
pattern: (?i)(?:\b|_)(?:square[_\-.]?space)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SQUARESPACE_API_KEY="5974324e-6db6-b408-bfd6-512ad4d36751"
positive: {"squarespace_api_key": "5bf3119f-38e1-97a9-fd3d-159214fa037f"}
negative: export SQUARESPACE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SQUARESPACE_API_KEY=${SQUARESPACE_API_KEY}
negative: squarespace_api_key: "5974324e-6"

id: squareup-application-id
title: Square application ID (sq0idp)
severity: low
keywords: sq0idp-
pattern: \b(sq0idp-[A-Za-z0-9_\-]{22})(?![\w\-])
entropy: 3.0
positive: SQUARE_APPLICATION_ID=sq0idp-hdDwhfO_wrOOYHdL2UkAqn
positive: applicationId: 'sq0idp-2zXOPeV8VkGLFBv3hE0fpg'
negative: SQUARE_APPLICATION_ID=sq0idp-XXXXXXXXXXXXXXXXXXXXXX
negative: sq0idp-short
"""#
}
