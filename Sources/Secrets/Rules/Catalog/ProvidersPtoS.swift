extension RuleCatalog {
    /// Provider rules P to S: API keys and tokens of SaaS providers whose name starts with P, Q, R or S.
    static let providersPtoS = #"""
id: prodpad-api-key
title: ProdPad API key
severity: high
keywords: prodpad
pattern: (?i)(?:\b|_)(?:prodpad)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{64})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export PRODPAD_API_KEY="d40cca85f0f54f30445a3577e18a0a5abcca95bf8e2f8559f823cdef7f73edd7"
positive: {"prodpad_api_key": "7b6c29163d00d68df6db75d0c3f7eb9340051e467ab4a36ee0987b3544242b30"}
negative: export PRODPAD_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: PRODPAD_API_KEY=${PRODPAD_API_KEY}
negative: prodpad_api_key: "d40cca85f0"

id: prospectcrm-api-key
title: ProspectCRM API key
severity: high
keywords: prospect
pattern: (?i)(?:\b|_)(?:prospect(?:[_\-.]?crm)?)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export PROSPECTCRM_API_KEY="e58d656ec4f3378c19cd5840f1aec544"
positive: {"prospectcrm_api_key": "ad77bf39768915e2ed4a22437740af0d"}
negative: export PROSPECTCRM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: PROSPECTCRM_API_KEY=${PROSPECTCRM_API_KEY}
negative: prospectcrm_api_key: "e58d656ec4"

id: protocolsio-api-key
title: protocols.io API access token
severity: high
keywords: protocols
pattern: (?i)(?:\b|_)(?:protocols(?:[_\-.]?io)?)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{64})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export PROTOCOLS_IO_ACCESS_TOKEN="c481ee214e69886dd9078d3fe0a0887bee1afbfa45289e0082c358452358902f"
positive: {"protocols_io_access_token": "f3177e7e8c92637e64b6ba0865ef5aa370e2e30bdb0e7ab8d7e349effade2925"}
negative: export PROTOCOLS_IO_ACCESS_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: PROTOCOLS_IO_ACCESS_TOKEN=${PROTOCOLS_IO_ACCESS_TOKEN}
negative: protocols_io_access_token: "c481ee214e"

id: proxycrawl-api-token
title: ProxyCrawl / Crawlbase API token
severity: high
keywords: crawlbase proxycrawl
pattern: (?i)(?:\b|_)(?:proxycrawl|crawlbase)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9_]{22})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export PROXYCRAWL_TOKEN="77R9RFAP6VGYqLZdwMg4ix"
positive: {"proxycrawl_token": "YF0oXMCr5AFhMUgQSqbtIz"}
negative: export PROXYCRAWL_TOKEN="xxxxxxxxxxxxxxxxxxxxxx"
negative: PROXYCRAWL_TOKEN=${PROXYCRAWL_TOKEN}
negative: proxycrawl_token: "77R9RFAP6V"

id: psexec-credentials
title: Password on a PsExec command line (-u user -p password)
severity: high
keywords: psexec
pattern: (?i)\bpsexec(?:64)?(?:\.exe)?\b[^\r\n]{0,200}?\s-u\s+(?:"[^"\r\n]{1,64}"|[^\s"]{1,64})\s+-p\s+"?([^\s"]{1,64})
confidence: medium
positive: psexec.exe \\\\10.1.2.3 -u CORP\\svc_backup -p JH3tkMQzhOYM cmd /c whoami
positive: PsExec64 \\\\srv01 -accepteula -u "Administrator" -p "1SpwupXoLA" ipconfig
negative: psexec \\\\host -s cmd.exe
negative: psexec \\\\host -u admin cmd /c dir

id: pubnub-publish-key
title: PubNub publish key
severity: medium
keywords: pub-c-
pattern: \b(pub-c-[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12})\b
entropy: 3.0
positive: pubnub = PubNub(publish_key="pub-c-47f90449-13b8-f4f7-afbe-e20dfd7ac3ea")
positive: PUBNUB_PUBLISH_KEY=pub-c-2ea12d7e-72ac-4c4e-d202-085f9ca50f4d
negative: PUBNUB_PUBLISH_KEY=pub-c-xxxxxxxx-xxxx
negative: publish_key: "pub-c-<your-key>"

id: pubnub-secret-key
title: PubNub secret key
severity: high
keywords: sec-c-
pattern: \b(sec-c-[A-Za-z0-9]{48})\b
entropy: 3.5
positive: PUBNUB_SECRET_KEY=sec-c-IfGBNFOUPErQDJuH8fddgQyDkLRC787LmTdd1eZrvMM6oTH3
positive: secret_key: "sec-c-ZwoyYcpiv5RUK4NNOUlurrlSqeUgIw603EcYwPq7rbH9XeK2"
negative: PUBNUB_SECRET_KEY=sec-c-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: secret_key: "sec-c-short"

id: pubnub-subscribe-key
title: PubNub subscribe key
severity: low
keywords: sub-c-
pattern: \b(sub-c-[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12})\b
entropy: 3.0
positive: subscribe_key="sub-c-9f6f99e8-70c0-c426-6aee-0604e87529a4"
positive: PUBNUB_SUBSCRIBE_KEY: sub-c-c27be2dc-3fc2-5896-b279-4db1b95f8122
negative: subscribe_key="sub-c-00000000"
negative: subscribe_key: "sub-c-<your-key>"

id: pulumi-access-token
title: Pulumi access token
severity: critical
keywords: pul-
pattern: \b(pul-[a-f0-9]{40})\b
entropy: 3.0
positive: export PULUMI_ACCESS_TOKEN=pul-c228da8d6af8d39cdc63ae1c76148c8d8063829a
positive: pulumi_token: "pul-d01a14aa033f87a62fef448054f1bebe25a860bb"
negative: PULUMI_ACCESS_TOKEN=pul-0000000000000000000000000000000000000000
negative: pul-1bdefd4bf98ccd10c9ab3f08a48b4c05a4bb4d2

id: pushbullet-access-token
title: Pushbullet access token
severity: high
keywords: pushbullet
pattern: (?i)(?:\b|_)(?:pushbullet)[\w.\-\s"':=,\{\}]{0,40}?\b((?:o\.[a-z0-9]{32}|[a-z0-9]{34}))(?![\w\-])
entropy: 3.2
confidence: medium
positive: export PUSHBULLET_ACCESS_TOKEN="o.A9XrTPtx9HE0mVICYRV7g0XdzQZafTMc"
positive: {"pushbullet_access_token": "o.FTn4wokZ8BWep9ckwAq5HuSGfrEoGAdS"}
negative: export PUSHBULLET_ACCESS_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: PUSHBULLET_ACCESS_TOKEN=${PUSHBULLET_ACCESS_TOKEN}
negative: pushbullet_access_token: "your-pushbullet-token-here"

id: qase-api-token
title: Qase API token
severity: high
keywords: qase
pattern: (?i)(?:\b|_)(?:qase)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{40})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export QASE_API_TOKEN="34bb8831b5bd5a03d76e82f142f51d1c30ea8385"
positive: {"qase_api_token": "9dafc1eb03300183873de573ecad06b0974afa74"}
negative: export QASE_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: QASE_API_TOKEN=${QASE_API_TOKEN}
negative: qase_api_token: "34bb8831b5"

id: qualaroo-api-key
title: Qualaroo API key
severity: high
keywords: qualaroo
pattern: (?i)(?:\b|_)(?:qualaroo)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{64})(?![\w\-])
entropy: 3.2
confidence: medium
positive: export QUALAROO_API_KEY="csONUggbjrqkCCPsVdj8F0dY7UitOZEqThxXlvQLYDPbr7D1YtQHBEbxgXE1Jdhb"
positive: {"qualaroo_api_key": "k0L69XGewKvcgdkelEufov57Q8nuwAYCY6U15Mg6scc7usQ9kIUKYSqtV7dFzSMu"}
negative: export QUALAROO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: QUALAROO_API_KEY=${QUALAROO_API_KEY}
negative: qualaroo_api_key: "csONUggbjr"

id: qubole-api-token
title: Qubole API token
severity: high
keywords: qubole
pattern: (?i)(?:\b|_)(?:qubole)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{64})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export QUBOLE_API_TOKEN="76a9e28becdcb820372c310f04040699f0c60d9df89af707b1de74f1f7144a62"
positive: {"qubole_api_token": "62a997702652f2b23a015da2219027c30d5c984b859a94e7bbe96cc3e2ecff46"}
negative: export QUBOLE_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: QUBOLE_API_TOKEN=${QUBOLE_API_TOKEN}
negative: qubole_api_token: "76a9e28bec"

id: rapidapi-key
title: RapidAPI key
severity: high
keywords: rapid-api rapid.api rapid_api rapidapi
pattern: (?i)(?:\b|_)(?:rapid[_\-.]?api)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9_\-]{50})(?![\w\-])
entropy: 3.5
confidence: medium
positive: export RAPIDAPI_KEY="SVdNl2NKGi4idaYZk2aLzkxEqIpPhnJeAE7bItukAGoXgjpHvU"
positive: {"rapidapi_key": "Y5ku9molUzLcLpwPv0TxnRvacr6srEtL15PpQHvyVW89NfoMVv"}
negative: export RAPIDAPI_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: RAPIDAPI_KEY=${RAPIDAPI_KEY}
negative: rapidapi_key: "SVdNl2NKGi"

id: raven-api-key
title: Raven Tools API key
severity: medium
keywords: raven
pattern: (?i)(?:\b|_)(?:raven(?:[_\-.]?tools)?)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{8}-?[a-z0-9]{8})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export RAVEN_API_KEY="Q2W5945D-Y7BG6WX9"
positive: {"raven_api_key": "JQ27UH8K-SVIJJL8A"}
negative: export RAVEN_API_KEY="xxxxxxxxxxxxxxxxx"
negative: RAVEN_API_KEY=${RAVEN_API_KEY}
negative: raven_api_key: "Q2W5945D"

id: rawg-api-key
title: RAWG video games API key
severity: medium
keywords: rawg
pattern: (?i)(?:\b|_)(?:rawg)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{32}(?:[a-f0-9]{2})?)(?![\w\-])
entropy: 3.0
confidence: medium
positive: export RAWG_API_KEY="38d18288ae22ce7cacb013b22d5f6388"
positive: {"rawg_api_key": "268acb850c813fd521dd77cdcf02347c"}
negative: export RAWG_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: RAWG_API_KEY=${RAWG_API_KEY}
negative: rawg_api_key: "38d18288ae"

id: reachmail-api-token
title: ReachMail API token
severity: high
keywords: reach-mail reach.mail reach_mail reachmail
pattern: (?i)(?:\b|_)(?:reach[_\-.]?mail)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9+/]{40,200}={0,2})(?![\w\-])
entropy: 3.5
confidence: medium
positive: export REACHMAIL_API_TOKEN="dFltEEWKipsbjQlBIz6OdyvSphM1SXUS2HdCPjj4IBIIBWo2aTgALwg1fRqWU4UIQb872WClStSEoOffPj6Z4tVgoMiKdD6m"
positive: {"reachmail_api_token": "2tCT89z90XlyHFiF2t4Hm7yOIB1zVgb0L4PZSrCPuBtaqA0yly77K4o1AlAFbn31g16h1KSRtmEeRg8MVMUNCbngQl3nojGc"}
negative: export REACHMAIL_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: REACHMAIL_API_TOKEN=${REACHMAIL_API_TOKEN}
negative: reachmail_api_token: "dFltEEWKip"

id: reactapp-password
title: Password in a React app environment variable (REACT_APP_*PASS*)
severity: high
keywords: react_app_
pattern: \bREACT_APP_(?:[A-Z0-9]+_){0,6}?(?:PASS|PASSWORD|PASSWD|PWD)\s{0,3}=\s{0,3}["']?(?![\$%<\{])([^\s"'#\$]{3,64})
confidence: medium
positive: REACT_APP_ADMIN_PASSWORD=KYVyyC174ymK
positive: # REACT_APP_DB_PASS="FFXWzc0btR"
negative: REACT_APP_ADMIN_PASSWORD=$ADMIN_PASSWORD
negative: const p = process.env.REACT_APP_ADMIN_PASSWORD || "not-set"
negative: REACT_APP_ADMIN_PASSWORD=${ADMIN_PASSWORD}

id: reactapp-username
title: Username in a React app environment variable (REACT_APP_*USER*)
severity: low
keywords: react_app_
pattern: \bREACT_APP_(?:[A-Z0-9]+_){0,6}?(?:USER|USERNAME|USER_NAME)\s{0,3}=\s{0,3}["']?(?![\$%<\{])([^\s"'#\$]{2,64})
confidence: medium
positive: REACT_APP_ADMIN_USERNAME=uuertrcs
positive: REACT_APP_DB_USER="rqsuab"
negative: REACT_APP_ADMIN_USERNAME=$ADMIN_USER
negative: REACT_APP_ADMIN_USERNAME=${ADMIN_USER}
negative: const u = process.env.REACT_APP_ADMIN_USERNAME

id: readme-api-key
title: ReadMe API key
severity: high
keywords: rdme_
pattern: \b(rdme_[a-z0-9]{70})\b
entropy: 3.5
positive: README_API_KEY=rdme_os8gwafy0o9kmrc67hrsfd7ppa7fzptf8qwoaqo42k0waf5tsc06531qet3ibr4jh5zqku
positive: rdme login --key rdme_zrswm2pwy934rlzjynfw6i8fstk2wzdhopkx1jdol1grekrnxi8v3diyz4at3frf10pxlu
negative: README_API_KEY=rdme_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: rdme_z52anbup5muq28gvas1k

id: rebrandly-api-key
title: Rebrandly API key
severity: medium
keywords: rebrandly
pattern: (?i)(?:\b|_)(?:rebrandly)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9_]{32,40})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export REBRANDLY_API_KEY="a5bfd6d448e34e6ff404da55431a692a"
positive: {"rebrandly_api_key": "b5c0077eceda213f8f53539f4911a52d"}
negative: export REBRANDLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: REBRANDLY_API_KEY=${REBRANDLY_API_KEY}
negative: rebrandly_api_key: "a5bfd6d448"

id: recaptcha-secret-key
title: Google reCAPTCHA secret key
severity: medium
keywords: re-captcha re.captcha re_captcha recaptcha
pattern: (?i)(?:\b|_)(?:re[_\-.]?captcha)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b(6L[a-z0-9_\-]{38})(?![\w\-])
entropy: 1.5
confidence: medium
positive: export RECAPTCHA_SECRET_KEY="6LhYy5FtBRYoBd3B5574YrPVbPk0zRxoLF-uKCTM"
positive: {"recaptcha_secret_key": "6LnHzXo-bdQASar24clMzFx-6M2H5wOH-Ta0utBb"}
negative: export RECAPTCHA_SECRET_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: RECAPTCHA_SECRET_KEY=${RECAPTCHA_SECRET_KEY}
negative: recaptcha_secret_key: "6LhYy5FtBR"

id: refiner-api-key
title: Refiner API key
severity: high
keywords: refiner
pattern: (?i)(?:\b|_)(?:refiner)[\w.\-\s"':=,\{\}]{0,40}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export REFINER_API_KEY="2bb8d7c9-25f4-7fae-3463-ab8de06ebcfd"
positive: {"refiner_api_key": "7a4ddd06-9b08-c094-7dac-b0b8eb017c92"}
negative: export REFINER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: REFINER_API_KEY=${REFINER_API_KEY}
negative: refiner_api_key: "2bb8d7c9-2"

id: rentman-api-token
title: Rentman API token (JWT)
severity: high
keywords: rentman
pattern: (?i)(?:\b|_)(?:rentman)[\w.\-\s"':=,\{\}]{0,40}?\b(eyJ[a-z0-9_\-]{10,1000}\.[a-z0-9_\-]{10,4000}(?:\.[a-z0-9_\-]{10,1000})?)(?![\w\-])
entropy: 3.5
window: 4096
confidence: medium
positive: export RENTMAN_API_TOKEN="eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAiZGZ1eGRyN25kNDhhIiwgImlhdCI6IDE3MTU2OTcwNzl9.X_KlVlWx4acLp5hQNK0wt8rr2x7UFU5x2hEV_Xq9B6F"
positive: {"rentman_api_token": "eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAibHd6eWFreDRka3R2IiwgImlhdCI6IDE2NjE3NDQ4MTV9.52BHxnAAITbO4Pqg8xW7PQvyFqSeghsGthq1IYP9JWV"}
negative: export RENTMAN_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: RENTMAN_API_TOKEN=${RENTMAN_API_TOKEN}
negative: rentman_api_token: "your-rentman-token-here"

id: replyio-api-key
title: Reply.io API key
severity: high
keywords: reply-io reply.io reply_io replyio
pattern: (?i)(?:\b|_)(?:reply[_\-.]?io)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{24})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export REPLYIO_API_KEY="nD42IKqPMcFgVlbu3jx6G9Ty"
positive: {"replyio_api_key": "jkKpOZ0RyxI9xjo280W1xYri"}
negative: export REPLYIO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxx"
negative: REPLYIO_API_KEY=${REPLYIO_API_KEY}
negative: replyio_api_key: "nD42IKqPMc"

id: requestfinance-api-key
title: Request Finance API key
severity: high
keywords: request-finance request.finance request_finance requestfinance
pattern: (?i)(?:\b|_)(?:request[_\-.]?finance)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{7}-[a-z0-9]{7}-[a-z0-9]{7}-[a-z0-9]{7})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export REQUESTFINANCE_API_KEY="PG5QQ9X-026KGQH-ELZ6ILM-UTSEBKS"
positive: {"requestfinance_api_key": "O2Y43LC-EP2ZDVB-S6SFAKK-OIV09MB"}
negative: export REQUESTFINANCE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: REQUESTFINANCE_API_KEY=${REQUESTFINANCE_API_KEY}
negative: requestfinance_api_key: "PG5QQ9X-02"

id: restpack-api-token
title: Restpack API token
severity: high
keywords: restpack
pattern: (?i)(?:\b|_)(?:restpack)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{48,50})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export RESTPACK_API_TOKEN="zuQqOgXRI0arEHhS7QRvX5e4IANl1x7pI8UWsBVith3aDWsc"
positive: {"restpack_api_token": "r6V6vZudqCPFhZ9QQYrA3kKmOU1SAmG7sF1F7mLHibINrjTz"}
negative: export RESTPACK_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: RESTPACK_API_TOKEN=${RESTPACK_API_TOKEN}
negative: restpack_api_token: "zuQqOgXRI0"

id: ritekit-api-key
title: RiteKit API key
severity: high
keywords: ritekit
pattern: (?i)(?:\b|_)(?:ritekit)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{44})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export RITEKIT_CLIENT_SECRET="99e01ee8cefe06785df9b925437f3d08a74a6aabd1a3"
positive: {"ritekit_client_secret": "38fe97f8b9f8dea2ee5503674e4931753791d269074d"}
negative: export RITEKIT_CLIENT_SECRET="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: RITEKIT_CLIENT_SECRET=${RITEKIT_CLIENT_SECRET}
negative: ritekit_client_secret: "99e01ee8ce"

id: rocketreach-api-key
title: RocketReach API key
severity: high
keywords: rocket-reach rocket.reach rocket_reach rocketreach
pattern: (?i)(?:\b|_)(?:rocket[_\-.]?reach)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b((?:[a-z0-9]{8}(?:-[a-z0-9]{4}){3,7}|[a-f0-9]{36,42}))(?![\w\-])
entropy: 3.0
confidence: medium
positive: export ROCKETREACH_API_KEY="9451ccd1dba7041ae33aaff711271961e13e801"
positive: {"rocketreach_api_key": "d340acc2f0be207cf56c634be16b3dd1aa05a70"}
negative: export ROCKETREACH_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: ROCKETREACH_API_KEY=${ROCKETREACH_API_KEY}
negative: rocketreach_api_key: "9451ccd1db"

id: rockset-api-key
title: Rockset API key
severity: high
keywords: rockset
pattern: (?i)(?:\b|_)(?:rockset)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{64})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export ROCKSET_API_KEY="Ksj1iF16CUXtYmjyf0odVmMKQ5NAKIVEp6lfFrE7nHqyb1dqq8JdnL6PEYaxTIMb"
positive: {"rockset_api_key": "6yQ21hMeATGy0G6EU3ladETwfwc1AJVlf0MvjbB6iktAhVqLfU68EwtKipt0a7O9"}
negative: export ROCKSET_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: ROCKSET_API_KEY=${ROCKSET_API_KEY}
negative: rockset_api_key: "Ksj1iF16CU"

id: route4me-api-key
title: Route4Me API key
severity: high
keywords: route4me
pattern: (?i)(?:\b|_)(?:route4me)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export ROUTE4ME_API_KEY="IDU82TKQR98129QMP4KOFDBRS01UFKKA"
positive: {"route4me_api_key": "KU46VOGLE5EFZFQGMQVEIW9RWRKQZ7MW"}
negative: export ROUTE4ME_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: ROUTE4ME_API_KEY=${ROUTE4ME_API_KEY}
negative: route4me_api_key: "IDU82TKQR9"

id: salesblink-api-key
title: SalesBlink API key
severity: high
keywords: sales-blink sales.blink sales_blink salesblink
pattern: (?i)(?:\b|_)(?:sales[_\-.]?blink)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b((?:key-)?[a-f0-9]{64})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SALESBLINK_API_KEY="key-f05b1ecd86ec75da34e62dfdce6db4920bed4277eda4e10e35a7765bca964e10"
positive: {"salesblink_api_key": "key-26440ef9d07967e0bb661a83014e878bd873358666e3fef450a2e2cfd0c8b2dd"}
negative: export SALESBLINK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SALESBLINK_API_KEY=${SALESBLINK_API_KEY}
negative: salesblink_api_key: "key-f05b1e"

id: salescookie-api-key
title: Salescookie API key
severity: high
keywords: sales-cookie sales.cookie sales_cookie salescookie
pattern: (?i)(?:\b|_)(?:sales[_\-.]?cookie)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SALESCOOKIE_API_KEY="w27xc8s4KfaTg7n0QPyKYZLPdYUXPhAs"
positive: {"salescookie_api_key": "foczDXfZzQPmm43rkRpMWlamPIZhytOi"}
negative: export SALESCOOKIE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SALESCOOKIE_API_KEY=${SALESCOOKIE_API_KEY}
negative: salescookie_api_key: "w27xc8s4Kf"

id: salesflare-api-key
title: Salesflare API key
severity: high
keywords: sales-flare sales.flare sales_flare salesflare
pattern: (?i)(?:\b|_)(?:sales[_\-.]?flare)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{45})(?![\w\-])
entropy: 3.2
confidence: medium
positive: export SALESFLARE_API_KEY="2EBc9yALv4RSfFrTTnszAfKBcf5HYsKVFx0z1fgKuyF8V"
positive: {"salesflare_api_key": "0V0oiA6OcX50e2vex4mvldBG8vvHcE9EQqEMS6piXvwFD"}
negative: export SALESFLARE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SALESFLARE_API_KEY=${SALESFLARE_API_KEY}
negative: salesflare_api_key: "2EBc9yALv4"

id: salesforce-access-token
title: Salesforce access or refresh token
severity: critical
keywords: 00d
pattern: \b(00D[A-Za-z0-9]{12,15}![A-Za-z0-9_.]{80,140})(?![\w.])
entropy: 3.5
positive: SF_ACCESS_TOKEN="00D5g000004Xk2L!ARuVYd.WKeqzrhaNPGGADuk3B9S04_8SDOE10qyFxkb67KoMdZJwl_.cWViI2QNN4J9jlksRBB9bhhzJ7brq7QiZMhY4M.H8"
positive: Authorization: Bearer 00DE0000000cXbR!ARe_Yvh_kXxFKVbjWSWvTZVGNCUpfM4qco3YpDAe93SbE3e1fSVpXGfjfb0KVkUGSi7Ivg3Q_OVn2xyYUo4pXQYVdc7T7o73
negative: SF_ACCESS_TOKEN="00D5g000004Xk2L!<token>"
negative: org id 00D5g000004Xk2LEAS only

id: salesforce-instance-url
title: Salesforce My Domain instance URL
severity: low
keywords: my.salesforce.com
pattern: (?i)\b(https://[a-z0-9][a-z0-9\-]{1,60}(?:\.[a-z0-9\-]{2,40})?\.my\.salesforce\.com)\b
confidence: medium
positive: SF_INSTANCE_URL=https://acme-sbx4v1.my.salesforce.com
positive: "instance_url": "https://b8uhqt77l6.my.salesforce.com"
negative: see https://help.salesforce.com/s/articleView
negative: login.salesforce.com

id: scaleway-access-key
title: Scaleway access key ID
severity: medium
keywords: scw
pattern: \b(SCW[A-Z0-9]{17})\b
entropy: 3.0
positive: SCW_ACCESS_KEY=SCWQI3UUZ4RPSGBJZ4G4
positive: access_key: "SCWDM3TCJ4X85XLYVJPT"
negative: SCW_ACCESS_KEY=SCWXXXXXXXXXXXXXXXXX
negative: SCW_DEFAULT_REGION=fr-par

id: scaleway-secret-key
title: Scaleway secret key
severity: critical
keywords: scaleway scw
pattern: (?i)(?:\b|_)(?:scaleway|scw)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCW_SECRET_KEY="a158e501-5952-34ac-084a-85c6badad19f"
positive: {"scw_secret_key": "7d233381-41b5-e8fb-d78d-49cf1712ac16"}
negative: export SCW_SECRET_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCW_SECRET_KEY=${SCW_SECRET_KEY}
negative: scw_secret_key: "a158e501-5"

id: scrapeowl-api-key
title: ScrapeOwl API key
severity: medium
keywords: scrape-owl scrape.owl scrape_owl scrapeowl
pattern: (?i)(?:\b|_)(?:scrape[_\-.]?owl)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{30})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCRAPEOWL_API_KEY="54ihau2tauq156zhtu8q6xdu9s5w93"
positive: {"scrapeowl_api_key": "s1g9cns9z6itoo2b476qjjkqst4jus"}
negative: export SCRAPEOWL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCRAPEOWL_API_KEY=${SCRAPEOWL_API_KEY}
negative: scrapeowl_api_key: "54ihau2tau"

id: scraperapi-api-key
title: ScraperAPI key
severity: medium
keywords: scraper-api scraper.api scraper_api scraperapi
pattern: (?i)(?:\b|_)(?:scraper[_\-.]?api)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCRAPERAPI_KEY="e12db43d10ccdddeeab5d802f065ba06"
positive: {"scraperapi_key": "a390818b70200d0fce0a8d231af4b253"}
negative: export SCRAPERAPI_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCRAPERAPI_KEY=${SCRAPERAPI_KEY}
negative: scraperapi_key: "e12db43d10"

id: scraperbox-api-token
title: ScraperBox API token
severity: medium
keywords: scraper-box scraper.box scraper_box scraperbox
pattern: (?i)(?:\b|_)(?:scraper[_\-.]?box)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCRAPERBOX_API_TOKEN="6HE6ACX2FAI6385Q8BR03M6Q1LLSB1W4"
positive: {"scraperbox_api_token": "9543SALLCG07EYLLJ05NI1OXTGS105HH"}
negative: export SCRAPERBOX_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCRAPERBOX_API_TOKEN=${SCRAPERBOX_API_TOKEN}
negative: scraperbox_api_token: "6HE6ACX2FA"

id: scrapestack-access-key
title: scrapestack access key
severity: medium
keywords: scrape-stack scrape.stack scrape_stack scrapestack
pattern: (?i)(?:\b|_)(?:scrape[_\-.]?stack)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCRAPESTACK_ACCESS_KEY="bb8a52b6119d5386822dafea9d69475f"
positive: {"scrapestack_access_key": "a02e28c7defe7088cdcdb2dec748b560"}
negative: export SCRAPESTACK_ACCESS_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCRAPESTACK_ACCESS_KEY=${SCRAPESTACK_ACCESS_KEY}
negative: scrapestack_access_key: "bb8a52b611"

id: scrapfly-api-key
title: Scrapfly API key
severity: medium
keywords: scrap-fly scrap.fly scrap_fly scrapfly
pattern: (?i)(?:\b|_)(?:scrap[_\-.]?fly)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b((?:scp-(?:live|test)-)?[a-f0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCRAPFLY_KEY="dc702602f55135780cace112e4789769"
positive: {"scrapfly_key": "fe774589f34b8760afa02aba08eba3b5"}
negative: export SCRAPFLY_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCRAPFLY_KEY=${SCRAPFLY_KEY}
negative: scrapfly_key: "dc702602f5"

id: scrapfly-live-key
title: Scrapfly live API key
severity: medium
keywords: scp-live-
pattern: \b(scp-live-[a-f0-9]{32})\b
entropy: 3.0
positive: SCRAPFLY_KEY=scp-live-62c361261f853d7efb86537af4fa2b4c
positive: ScrapflyClient(key="scp-live-ea49e9b2c1c39b39c28e0de7c149bbe9")
negative: SCRAPFLY_KEY=scp-live-00000000000000000000000000000000
negative: key="scp-live-<your key>"

id: scrapingant-api-key
title: ScrapingAnt API key
severity: medium
keywords: scraping-ant scraping.ant scraping_ant scrapingant
pattern: (?i)(?:\b|_)(?:scraping[_\-.]?ant)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCRAPINGANT_API_KEY="3f76741bf54cde455eb960853ddf9cc6"
positive: {"scrapingant_api_key": "33ba2a1927e47d614c342171dd6ea5bd"}
negative: export SCRAPINGANT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCRAPINGANT_API_KEY=${SCRAPINGANT_API_KEY}
negative: scrapingant_api_key: "3f76741bf5"

id: scrapingbee-api-key
title: ScrapingBee API key
severity: medium
keywords: scraping-bee scraping.bee scraping_bee scrapingbee
pattern: (?i)(?:\b|_)(?:scraping[_\-.]?bee)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{80})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCRAPINGBEE_API_KEY="XX8AQ5F6CT6O8Y781PFX9KF0S2LR0HD0AOYMRHCTJ1OCG22RPUG4FP7L9ENNZUDP75SH28VXJG93UKDO"
positive: {"scrapingbee_api_key": "C4ZIWMW20F7EURMBWTDP2E9PFGG5KFX07L6HLL9OFLLPDL9W7355YZJMQFSM0O5R888K4HAQBPRXP2FD"}
negative: export SCRAPINGBEE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCRAPINGBEE_API_KEY=${SCRAPINGBEE_API_KEY}
negative: scrapingbee_api_key: "XX8AQ5F6CT"

id: screenshotapi-api-key
title: ScreenshotAPI key
severity: medium
keywords: screenshot-api screenshot.api screenshot_api screenshotapi
pattern: (?i)(?:\b|_)(?:screenshot[_\-.]?api)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{7}-[a-z0-9]{7}-[a-z0-9]{7}-[a-z0-9]{7})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCREENSHOTAPI_KEY="OY49JN5-73FON7H-4N8J5XH-1F2MPA5"
positive: {"screenshotapi_key": "4KH14J9-AC2JIXC-UNELYOA-3NY5H3P"}
negative: export SCREENSHOTAPI_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCREENSHOTAPI_KEY=${SCREENSHOTAPI_KEY}
negative: screenshotapi_key: "OY49JN5-73"

id: screenshotlayer-access-key
title: screenshotlayer access key
severity: medium
keywords: screenshot-layer screenshot.layer screenshot_layer screenshotlayer
pattern: (?i)(?:\b|_)(?:screenshot[_\-.]?layer)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32,34})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCREENSHOTLAYER_ACCESS_KEY="317aa9e27597eb6d7def58cc4ae39094"
positive: {"screenshotlayer_access_key": "d0f9d38a83937ecd9e65a274de650525"}
negative: export SCREENSHOTLAYER_ACCESS_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCREENSHOTLAYER_ACCESS_KEY=${SCREENSHOTLAYER_ACCESS_KEY}
negative: screenshotlayer_access_key: "317aa9e275"

id: scrutinizerci-access-token
title: Scrutinizer CI access token
severity: high
keywords: scrutinizer
pattern: (?i)(?:\b|_)(?:scrutinizer(?:[_\-.]?ci)?)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{64})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SCRUTINIZER_ACCESS_TOKEN="b473a96770fbe938c7928f2c4f571d1da14ddddb9f0575d8ea31062579639d33"
positive: {"scrutinizer_access_token": "a98497f02713fdfdb70485623664b588d2bda869f1bf5bbe8de00f8742e592dc"}
negative: export SCRUTINIZER_ACCESS_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SCRUTINIZER_ACCESS_TOKEN=${SCRUTINIZER_ACCESS_TOKEN}
negative: scrutinizer_access_token: "b473a96770"

id: securitytrails-api-key
title: SecurityTrails API key
severity: high
keywords: security-trails security.trails security_trails securitytrails
pattern: (?i)(?:\b|_)(?:security[_\-.]?trails)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SECURITYTRAILS_API_KEY="kPZEoFqcYU8b4rGHHVcJc21xdPirNUcl"
positive: {"securitytrails_api_key": "SyQhgJElPz2LgO8juPtkw26prMcssND0"}
negative: export SECURITYTRAILS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SECURITYTRAILS_API_KEY=${SECURITYTRAILS_API_KEY}
negative: securitytrails_api_key: "kPZEoFqcYU"

id: segment-api-token
title: Segment (Twilio) API token
severity: high
keywords: segment
pattern: (?i)(?:\b|_)(?:segment)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9_\-]{43}\.[a-z0-9_\-]{43})(?![\w\-])
entropy: 3.5
confidence: medium
positive: export SEGMENT_API_TOKEN="v_TpcZLSgiYPE6VQsNinh0v66-uJ1X5ZQHUtnF6w7jm.NRGbyFtZasIiEL_iMl8_sH5T-T7aUguJvaS47_XMQsk"
positive: {"segment_api_token": "Tix-DmJ7YrwRvQFo-B_fMcgpAPfg9VZDweG88FcY7O9.AqyY7rs6xzl3-MOwu-AuT4O-ziAJuxzEkFMYfQCL9lL"}
negative: export SEGMENT_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SEGMENT_API_TOKEN=${SEGMENT_API_TOKEN}
negative: segment_api_token: "your-segment-token-here"

id: segment-public-api-token
title: Segment public API token
severity: high
keywords: sgp_
pattern: \b(sgp_[A-Za-z0-9]{64})\b
entropy: 3.5
positive: SEGMENT_PUBLIC_API_TOKEN=sgp_gkypQr2fxTpmIReCxz0lwj6DGLvCquE00mtQssv9pZVGSf4uY5GYfyBD7H5CVJJt
positive: Authorization: Bearer sgp_MqKOwuj9fNGRXLiELiyEggdPhkw5qseXmi6VG4zQbBly9xGeZt0WrcMm2noSglUZ
negative: SEGMENT_PUBLIC_API_TOKEN=sgp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: sgp_LPUraheOvbJdlbLNhNsgei9f9LB32P

id: segment-write-key
title: Segment source write key
severity: medium
keywords: segment
pattern: (?i)(?:\b|_)(?:segment)[\w.\-\s"':=,\{\}]{0,30}?write[_\-.]?key[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SEGMENT_WRITE_KEY="w02zKur20ryhBOnAK6ed15dBSvljIYgT"
positive: {"segment_write_key": "tX0vHWlbvqo11QL70Vm6N6AnPF7q5GWK"}
negative: export SEGMENT_WRITE_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SEGMENT_WRITE_KEY=${SEGMENT_WRITE_KEY}
negative: segment_write_key: "w02zKur20r"

id: selectpdf-api-key
title: SelectPdf API key
severity: medium
keywords: select-pdf select.pdf select_pdf selectpdf
pattern: (?i)(?:\b|_)(?:select[_\-.]?pdf)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}(?:-[a-z0-9]{4})?-[a-z0-9]{12})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SELECTPDF_API_KEY="c5929574-3a75-0471-99e3-6c43bf642e2d"
positive: {"selectpdf_api_key": "1bc499b8-4688-400c-3a7d-7f0a53a1ef99"}
negative: export SELECTPDF_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SELECTPDF_API_KEY=${SELECTPDF_API_KEY}
negative: selectpdf_api_key: "c5929574-3"

id: semaphore-api-token
title: Semaphore CI API token
severity: high
keywords: semaphore
pattern: (?i)(?:\b|_)(?:semaphore(?:[_\-.]?ci)?)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SEMAPHORE_API_TOKEN="d89d1c541f9ff769a81e0b2f51ae7874"
positive: {"semaphore_api_token": "48ea77efe9be4e2e2ffa2b361dfb9994"}
negative: export SEMAPHORE_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SEMAPHORE_API_TOKEN=${SEMAPHORE_API_TOKEN}
negative: semaphore_api_token: "d89d1c541f"

id: sendbird-api-token
title: Sendbird API token
severity: high
keywords: sendbird
pattern: (?i)(?:\b|_)(?:sendbird)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{24}(?:[a-f0-9]{16})?)(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SENDBIRD_API_TOKEN="3c0a208adbcdb341999a1ec795fde4ad53ffb1db"
positive: {"sendbird_api_token": "4436b2ce8c3f794282b5a7dfb590da3ce90ebaea"}
negative: export SENDBIRD_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SENDBIRD_API_TOKEN=${SENDBIRD_API_TOKEN}
negative: sendbird_api_token: "3c0a208adb"

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
positive: SMTP_PASSWORD=xsmtpsib-778e3f0f6ea6312e6369176b230accb3e76cb7e63fb4b6f6b3056b4467dc75cc-GjsG6fmxgXvGyRYU
positive: smtp_pass: "xsmtpsib-009f7044fd4332bbd1f9206abcd7e1d570b2b20a1cf20649a721bfa1c30c20ab-0twEr1S0Mkh5FklH"
negative: SMTP_PASSWORD=xsmtpsib-0000000000000000000000000000000000000000000000000000000000000000-0000000000000000
negative: smtp_pass: xsmtpsib-your-key

id: sentry-auth-token
title: Sentry auth token (legacy hex)
severity: high
keywords: sentry
pattern: (?i)(?:\b|_)(?:sentry)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{64})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SENTRY_AUTH_TOKEN="755624025a4ea09b80722fab5a938ae06e1b568d845b462b6d7efb3ededab7d5"
positive: {"sentry_auth_token": "719e6a5e2ab89126b48e462b7b6d971532c8b27383bb10f807e4243cdbf9ef4a"}
negative: export SENTRY_AUTH_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SENTRY_AUTH_TOKEN=${SENTRY_AUTH_TOKEN}
negative: sentry_auth_token: "755624025a"

id: sentry-org-auth-token
title: Sentry organization auth token
severity: high
keywords: sntrys_
pattern: \b(sntrys_eyJ[A-Za-z0-9+/=_\-]{60,800})
entropy: 4.0
positive: SENTRY_AUTH_TOKEN=sntrys_eyJpYXQiOjE3MDAwMDAwMDAsInVybCI6Imh0dHBzOi8vc2VudHJ5LmlvIiwib3JnIjoiYWNtZSJ9_wI5kRHJ9NVPS3s7pViaX+fmRGYhHIuyGrXU0xujdQ5R
positive: token: sntrys_eyJpYXQiOjE3MDAwMDAwMDAsInVybCI6Imh0dHBzOi8vc2VudHJ5LmlvIiwib3JnIjoiYWNtZSJ9_RDghLOnq3OLqzplfJfq63p1AO7sVmtgU5OJtjOHsDyQ
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
negative: sntryu_2157e4116258b38a216b

id: serphouse-api-key
title: SERPHouse API key
severity: medium
keywords: serp-house serp.house serp_house serphouse
pattern: (?i)(?:\b|_)(?:serp[_\-.]?house)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{60,64})(?![\w\-])
entropy: 3.2
confidence: medium
positive: export SERPHOUSE_API_KEY="ZbEaiSjEBTNyQe8hls4ubk013Ti1dC84wAfFaLHtNuRFWTtIkNWldALibQhD6B"
positive: {"serphouse_api_key": "pZJ5j7ve760U1joOsdAoPZBuNzP0PnTCFKuUDghDtPaoh3xcpStjC7gVfEdB8i"}
negative: export SERPHOUSE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SERPHOUSE_API_KEY=${SERPHOUSE_API_KEY}
negative: serphouse_api_key: "ZbEaiSjEBT"

id: serpstack-access-key
title: serpstack access key
severity: medium
keywords: serp-stack serp.stack serp_stack serpstack
pattern: (?i)(?:\b|_)(?:serp[_\-.]?stack)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SERPSTACK_ACCESS_KEY="ced3ba126b5f7f617a8d5194b2706059"
positive: {"serpstack_access_key": "1d5d9fca8e56186ab7381b88de9cf472"}
negative: export SERPSTACK_ACCESS_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SERPSTACK_ACCESS_KEY=${SERPSTACK_ACCESS_KEY}
negative: serpstack_access_key: "ced3ba126b"

id: sherpadesk-api-key
title: SherpaDesk API key
severity: high
keywords: sherpa-desk sherpa.desk sherpa_desk sherpadesk
pattern: (?i)(?:\b|_)(?:sherpa[_\-.]?desk)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SHERPADESK_API_KEY="oxyjh0dnyr2vmg964wrbp57c1doex0ng"
positive: {"sherpadesk_api_key": "2u6d1sjqd4u6msadk4c2ekhfq8exvdg0"}
negative: export SHERPADESK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SHERPADESK_API_KEY=${SHERPADESK_API_KEY}
negative: sherpadesk_api_key: "oxyjh0dnyr"

id: shipday-api-key
title: Shipday API key
severity: high
keywords: ship-day ship.day ship_day shipday
pattern: (?i)(?:\b|_)(?:ship[_\-.]?day)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b((?=[a-z0-9.]{25,60}(?![\w.]))[a-z0-9]{3,20}(?:\.[a-z0-9]{3,40}){1,2})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SHIPDAY_API_KEY="6p7EFqcfz4.KzjBq4jq5GtK2QDDC6Bs"
positive: {"shipday_api_key": "NAq9nCxYHX.ipo0iyA52jvXb5GqygRz"}
negative: export SHIPDAY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SHIPDAY_API_KEY=${SHIPDAY_API_KEY}
negative: shipday_api_key: "your-shipday-token-here"

id: shippo-api-token
title: Shippo API token
severity: high
keywords: shippo_live_ shippo_test_
pattern: \b(shippo_(?:live|test)_[a-fA-F0-9]{40})\b
entropy: 3.0
positive: SHIPPO_API_KEY=shippo_live_83cf3d47887cf8872c00a07a6c3e2b4c3253f25a
positive: shippo.config.api_key = "shippo_test_a109b67eb55ffc5b1d24621f794426c996e8267f"
negative: SHIPPO_API_KEY=shippo_live_<your-key>
negative: shippo_test_0000000000000000000000000000000000000000

id: shodan-api-key
title: Shodan API key
severity: high
keywords: shodan
pattern: (?i)(?:\b|_)(?:shodan)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SHODAN_API_KEY="l2XwyxBtyD4SnfBYgMSEHWfLKuIzRyJW"
positive: {"shodan_api_key": "Gy7NQXKeLTurWa6aInJdXdjqbsSIBb8I"}
negative: export SHODAN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SHODAN_API_KEY=${SHODAN_API_KEY}
negative: shodan_api_key: "l2XwyxBtyD"

id: shortcut-api-token
title: Shortcut (Clubhouse) API token
severity: high
keywords: clubhouse shortcut
pattern: (?i)(?:\b|_)(?:shortcut|clubhouse)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SHORTCUT_API_TOKEN="dcf94cfa-cdc8-9a39-32e2-25c437929760"
positive: {"shortcut_api_token": "52c781d9-b01c-b7b3-870b-696eae275dc2"}
negative: export SHORTCUT_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SHORTCUT_API_TOKEN=${SHORTCUT_API_TOKEN}
negative: shortcut_api_token: "dcf94cfa-c"

id: shotstack-api-key
title: Shotstack API key
severity: high
keywords: shot-stack shot.stack shot_stack shotstack
pattern: (?i)(?:\b|_)(?:shot[_\-.]?stack)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{40})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SHOTSTACK_API_KEY="kixKH20QXAv9a0VJh5aGev9a6C8iDmMXtToJTwpo"
positive: {"shotstack_api_key": "NXoYsNsmOZG9010nvRdrMuaJ6kBh2GKubvwocmqU"}
negative: export SHOTSTACK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SHOTSTACK_API_KEY=${SHOTSTACK_API_KEY}
negative: shotstack_api_key: "kixKH20QXA"

id: shutterstock-oauth-token
title: Shutterstock OAuth access token
severity: high
keywords: shutterstock
pattern: (?i)(?:\b|_)(?:shutterstock)[\w.\-\s"':=,\{\}]{0,40}?\b(v2/[a-z0-9_\-+/]{100,1000}={0,2})(?![\w\-])
entropy: 3.5
window: 4096
confidence: medium
positive: export SHUTTERSTOCK_API_TOKEN="v2/rrmFA4vIPKSU8kAgETuWGEln9PgoP31TAsdIRec2HZ8QBpKZ7WAGEX8tEzTfOguyTIzuL3DVSVHRJyJfjbH8EC3piSoDc5ppYlyWzXe7AcWYjDzM6uHI1VjY8YgVngVhr5avLkXR8ToWHr0UQdpXjXTAroMS7nBlgXn767yIrhXITYWPyZVXgMwNHfTDRo44sj8x80LP0vMYdoKv7N0luqyJAEVxejz1AtGHKZIzzlm1MVwyPmggtLX1gBFH0wpRPlYKYyFzAyNbaNGrj1XfmnzCygH33ydugC0hGAxuoWRF"
positive: {"shutterstock_api_token": "v2/jeVDjBNzF9DY5aiGA11j0WaWDuiBsFJ4QKOdi2POreKg2grbkdgTT7BwE5h3tidanUXMEdzxLNnEPeDX3aYq0rbS8d9Tgj4HG9hbOzK98VCxrxruXhaak37Gf3ttKmWfBabmocQk2DB3LHySnhnh5lzpuZ7aU2OhbSUAJxJA5ynxLWXE1yL0k9G6KMJc5uxVrBqDGy3grMpt6cKecLSnH7HjAmWV5qi8kAiM81PDgia7DL1HNRxZ9flpcSNFoOwMnNMe5QEHk3pmJQOlSPc4J1FMbOa0yemYCQwVePkQ2oA0"}
negative: export SHUTTERSTOCK_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SHUTTERSTOCK_API_TOKEN=${SHUTTERSTOCK_API_TOKEN}
negative: shutterstock_api_token: "v2/rrmFA4v"

id: signaturit-access-token
title: Signaturit access token
severity: high
keywords: signaturit
pattern: (?i)(?:\b|_)(?:signaturit)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{86})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SIGNATURIT_ACCESS_TOKEN="dkjPatNdPgOQW9b0IErK18etqFot3nLdmH76zggyZmbRveBiRVjJNSmDPYleMRVMV141EF0lJ1SI2DOcKJQNVD"
positive: {"signaturit_access_token": "nBetvkxBbIZaNUPevKtUR9X8401RbDQXPUd8GIdn9iBVq2ICtVez9bjFG6y6xfGWP4Vx1GzSxgicJCGawoo39i"}
negative: export SIGNATURIT_ACCESS_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SIGNATURIT_ACCESS_TOKEN=${SIGNATURIT_ACCESS_TOKEN}
negative: signaturit_access_token: "dkjPatNdPg"

id: signupgenius-api-key
title: SignUpGenius API key
severity: high
keywords: sign-up-genius sign-up.genius sign-up_genius sign-upgenius sign.up-genius sign.up.genius sign.up_genius sign.upgenius sign_up-genius sign_up.genius sign_up_genius sign_upgenius signup-genius signup.genius signup_genius signupgenius
pattern: (?i)(?:\b|_)(?:sign[_\-.]?up[_\-.]?genius)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SIGNUPGENIUS_API_KEY="9b4c6f18027e401880f180f2e5ed3c1b"
positive: {"signupgenius_api_key": "97921b6a7844a7c571b83b4859770fbe"}
negative: export SIGNUPGENIUS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SIGNUPGENIUS_API_KEY=${SIGNUPGENIUS_API_KEY}
negative: signupgenius_api_key: "9b4c6f1802"

id: sigopt-api-token
title: SigOpt API token
severity: high
keywords: sigopt
pattern: (?i)(?:\b|_)(?:sigopt)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{48})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SIGOPT_API_TOKEN="LPSXZP008AZO9MOHD92Y2CRQC1HR5KKL3C3SVJDJQ5EKGWHH"
positive: {"sigopt_api_token": "QGTFMNJJ73JPKK0O4OWITOORXHECLBRC4ILHV6ASF8O2QPLO"}
negative: export SIGOPT_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SIGOPT_API_TOKEN=${SIGOPT_API_TOKEN}
negative: sigopt_api_token: "LPSXZP008A"

id: simfin-api-key
title: SimFin API key
severity: medium
keywords: simfin
pattern: (?i)(?:\b|_)(?:simfin)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SIMFIN_API_KEY="n676rrmtMaIaPqjR7dAPIR5jAKqUh2rM"
positive: {"simfin_api_key": "U2NigR9mq8g16DdV1xKtbF7xGofGmPDV"}
negative: export SIMFIN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SIMFIN_API_KEY=${SIMFIN_API_KEY}
negative: simfin_api_key: "n676rrmtMa"

id: simplesat-api-key
title: Simplesat API key
severity: high
keywords: simple-sat simple.sat simple_sat simplesat
pattern: (?i)(?:\b|_)(?:simple[_\-.]?sat)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{40})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SIMPLESAT_API_KEY="9ef2c0d3193c88ed0d84a2fa6e6202284976a8f3"
positive: {"simplesat_api_key": "6b2b040752bc4952b146d60f5a452f0ffd48166d"}
negative: export SIMPLESAT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SIMPLESAT_API_KEY=${SIMPLESAT_API_KEY}
negative: simplesat_api_key: "9ef2c0d319"

id: simplynoted-api-key
title: SimplyNoted API key
severity: high
keywords: simply-noted simply.noted simply_noted simplynoted
pattern: (?i)(?:\b|_)(?:simply[_\-.]?noted)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9_\-]{30,2000}(?:\.[a-z0-9_\-]{10,2000}){0,3})(?![\w\-])
entropy: 4.0
window: 4096
confidence: medium
positive: export SIMPLYNOTED_API_KEY="SafZr3X94MHYVYKbxrPkvUFka81QRBJz80MY3sosi2ucask7KF804ksINtqHBkF7oC2YXd0A1OazSl88HDAI0yk6YkelpVlT3wtunLstkiSPIEE1U4QmyTxI.7lAmfYHu14_McQ5U84O2MWKEBFqaU4oZSIHtb0mFtqMWLQvR63ycXzC-qVx4ewLUSLmmfZlyEJT2blOXJlSWIDyB_N.aHMXAaqz2pXtVBA7gECG2IsuNBbn90xYp3TpTXOiIiHvkvA1oRky3Lk3xsNS"
positive: {"simplynoted_api_key": "p1Nw5fJtRO5aa5wtQzzuve4FJsCZmTxjlboza2ykGUos3Vy6fYwYSTX4cio6wAepUxB3toWDToWyqhrN374EbxCpBTVSw9PeJlWIgorHxJeftDteytg3g5cx.Ypy-_wYODopOso4ifhvop-e6S33dsQgVKZHnz2Vaho_outCBxMeYXvcoWs2MJrQZunbvLAH-FmjBBAqD96i-8-VTgh.Z39FirCIAlPT5U3QtwcOigLaGR0hsAQOoETsYcB41kZXmStnkFVAJz5pmEk5"}
negative: export SIMPLYNOTED_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SIMPLYNOTED_API_KEY=${SIMPLYNOTED_API_KEY}
negative: simplynoted_api_key: "your-simplynoted-token-here"

id: simvoly-api-key
title: Simvoly API key
severity: high
keywords: simvoly
pattern: (?i)(?:\b|_)(?:simvoly)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{33})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SIMVOLY_API_KEY="aw03lfd1g3jusnehy4uf4ujwba0l14snz"
positive: {"simvoly_api_key": "fygr1vi03wpimjuumzeqg9qjij93y5ziz"}
negative: export SIMVOLY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SIMVOLY_API_KEY=${SIMVOLY_API_KEY}
negative: simvoly_api_key: "aw03lfd1g3"

id: skrappio-api-key
title: Skrapp.io API key
severity: high
keywords: skrapp
pattern: (?i)(?:\b|_)(?:skrapp(?:[_\-.]?io)?)[\w.\-\s"':=,\{\}]{0,40}?\b([a-z0-9]{42})(?![\w\-])
entropy: 3.5
confidence: medium
positive: export SKRAPP_API_KEY="kU25RmVGzyBl15EjuMDEuXKMxd6H1fiSwqzkQBLS0F"
positive: {"skrapp_api_key": "OErZ0JJfvoLfiT9099pF3RuMrXGdJSta8hNEg6Kx6M"}
negative: export SKRAPP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SKRAPP_API_KEY=${SKRAPP_API_KEY}
negative: skrapp_api_key: "kU25RmVGzy"

id: smartsheets-api-token
title: Smartsheet API access token
severity: high
keywords: smartsheet
pattern: (?i)(?:\b|_)(?:smartsheets?)[\w.\-\s"':=,\{\}]{0,40}?\b((?:[a-z0-9]{37}|[a-z0-9]{26}))(?![\w\-])
entropy: 3.2
confidence: medium
positive: export SMARTSHEET_ACCESS_TOKEN="XSjnmcXWf9eaoR4UhwZvbrLFsuxbwVsFYQMo4"
positive: {"smartsheet_access_token": "4SAQJepnW9AsuN2uIHlc0RyWTPW2NXjsXd0Pm"}
negative: export SMARTSHEET_ACCESS_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SMARTSHEET_ACCESS_TOKEN=${SMARTSHEET_ACCESS_TOKEN}
negative: smartsheet_access_token: "XSjnmcXWf9"

id: snipcart-api-key
title: Snipcart secret API key
severity: high
keywords: snipcart
pattern: (?i)(?:\b|_)(?:snipcart)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9_\-]{60,100})(?![\w\-])
entropy: 3.5
confidence: medium
positive: export SNIPCART_SECRET_API_KEY="LNZEz2Va2QAzEFhTWKuR1lpRU25vjZy2468ssLmGbsAFoaRpOT0TL8n5jC5FKZz4kUNORPn3g7f"
positive: {"snipcart_secret_api_key": "OOklywv6htqbXUMvVjwo1b6d5Q7B4dIlD1HETunPEAmVCaUP4fcDTlhzCqsH7A2aN7Wwxy601tw"}
negative: export SNIPCART_SECRET_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SNIPCART_SECRET_API_KEY=${SNIPCART_SECRET_API_KEY}
negative: snipcart_secret_api_key: "LNZEz2Va2Q"

id: snowflake-account-identifier
title: Snowflake account identifier
severity: low
keywords: snowflake
pattern: (?i)(?:\b|_)snowflake[_.\-\s]?account(?:[_.\-]?(?:id|name|identifier|locator))?["']?\s{0,3}[=:]\s{0,3}["']?([a-z0-9]{3,20}-[a-z0-9_]{3,40}|[a-z]{2}\d{5}(?:\.[a-z0-9\-]{2,20}){0,2})(?![\w.\-])
confidence: medium
positive: SNOWFLAKE_ACCOUNT=acmecorp-snvwfro
positive: snowflake_account: "xy84747.us-east-1"
negative: SNOWFLAKE_ACCOUNT=${SNOWFLAKE_ACCOUNT}
negative: snowflake_account = os.environ["SNOWFLAKE_ACCOUNT"]

id: snowflake-password
title: Snowflake password
severity: high
keywords: snowflake
pattern: (?i)(?:\b|_)snowflake[_.\-\s]?(?:password|passwd|pass|pwd)["']?\s{0,3}[=:]\s{0,3}["']?(?![\$%<\{*]|os\.|env|self\.|config|settings|getenv|none\b|null\b)([^\s"'`\(\)\[\],;]{6,64})(?![^\s"'`,;])
entropy: 2.5
confidence: medium
positive: SNOWFLAKE_PASSWORD="Ouzmtl#9epOQMA@#"
positive: snowflake_password: cHloUexp8WwvV9
negative: SNOWFLAKE_PASSWORD=${SNOWFLAKE_PASSWORD}
negative: snowflake_password = os.environ["SNOWFLAKE_PASSWORD"]
negative: snowflake_password: "<password>"

id: snowflake-username
title: Snowflake username
severity: low
keywords: snowflake
pattern: (?i)(?:\b|_)snowflake[_.\-\s]?(?:user|username|user_name|login)["']?\s{0,3}[=:]\s{0,3}["']?(?![\$%<\{*]|os\.|env)([a-z0-9_.@\-]{3,64})["']?(?![\w\(\[])
confidence: medium
positive: SNOWFLAKE_USER="svc_b6322c0d"
positive: snowflake_username: etl_108xvo
negative: SNOWFLAKE_USER=${SNOWFLAKE_USER}
negative: snowflake_user = os.getenv("SNOWFLAKE_USER")

id: snyk-api-token
title: Snyk API token
severity: high
keywords: snyk
pattern: (?i)(?:\b|_)(?:snyk)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SNYK_TOKEN="b7196609-1133-3a17-0382-d3b066217694"
positive: {"snyk_token": "412270c5-3db3-9ccb-ccda-cf36750bad14"}
negative: export SNYK_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SNYK_TOKEN=${SNYK_TOKEN}
negative: snyk_token: "b7196609-1"

id: sonarcloud-api-token
title: SonarCloud API token
severity: high
keywords: sonar
pattern: (?i)(?:\b|_)sonar(?:cloud)?[_.\-]?(?:api[_.\-]?)?token["']?\s{0,3}[,:=]\s{0,3}["']?([a-f0-9]{40})\b
entropy: 3.0
confidence: medium
positive: SONAR_TOKEN=33259695a5d14147490930b5df54cfb0fee63a9c
positive: sonarcloud_token: "291f7831a0b0d10c68351c7845bc963363fe3fd5"
negative: SONAR_TOKEN=${{ secrets.SONAR_TOKEN }}
negative: sonarqube-reporter-1.4.0.tgz#b61d3a3c2ace6be614e313f7fa8a5a426978a08f

id: sonarqube-host-url
title: SonarQube server URL (sonar.host)
severity: low
keywords: sonar
pattern: (?i)(?:\b|_)sonar[_.\-]?host(?:[_.\-]?url)?["']?\s{0,3}[=:]\s{0,3}["']?(https?://[a-z0-9][a-z0-9.\-]{2,100}(?::\d{2,5})?)
confidence: medium
positive: sonar.host.url=https://sonar.fphzcf.internal:9000
positive: SONAR_HOST_URL: "https://sonarqube.xub04qfk.com"
negative: /d:sonar.host.url=$(SONAR_HOST)
negative: sonar.host.url=${SONAR_HOST_URL}

id: sonarqube-login-token
title: SonarQube legacy login token (sonar.login)
severity: high
keywords: sonar
pattern: (?i)sonar(?:qube)?[_.\-]?login["']?\s{0,3}[,:=]\s{0,3}["']?([a-f0-9]{40})\b
entropy: 3.0
confidence: medium
positive: mvn sonar:sonar -Dsonar.login=8ae70b89b9344e0abe16a37c031cb4f9e754e804
positive: sonarLogin = "f3b13ebd80f9af5cd762f8d502228396e82df32a"
negative: -Dsonar.login=$(SONAR_LOGIN)
negative: sonar-scanner-2.5.0.tgz#ad5060909057a186466776e28d779d55a9a58203

id: sonarqube-token
title: SonarQube / SonarCloud token (prefixed)
severity: high
keywords: sqp_ squ_ sqa_
pattern: \b(sq[apu]_[a-f0-9]{40})\b
entropy: 3.0
positive: SONAR_TOKEN=squ_6e3a81be10af1aaf544479e75268b0466d2fbf3d
positive: -Dsonar.token=sqp_33467c39716e4022cb8a1d34cae3f539d7c18cb3
negative: SONAR_TOKEN=squ_0000000000000000000000000000000000000000
negative: sqa_7db8c4636f59b197b562

id: sourcegraph-access-token
title: Sourcegraph access token
severity: high
keywords: sgp_
pattern: \b(sgp_(?:(?:[a-fA-F0-9]{16}|local)_){0,2}[a-fA-F0-9]{40})\b
entropy: 3.0
positive: SRC_ACCESS_TOKEN=sgp_e08697cf27b56fc737ce997e3e575e19581a8c01
positive: src login --token sgp_253315436711ea93_35525d1a83fcec4761793b5aa4308a4f813829a2
negative: SRC_ACCESS_TOKEN=sgp_0000000000000000000000000000000000000000
negative: sgp_c2f3f57fb3cde388a8470a742a5ec7

id: sourcegraph-cody-key
title: Sourcegraph Cody gateway key
severity: high
keywords: slk_
pattern: \b(slk_[a-f0-9]{64})\b
entropy: 3.0
positive: CODY_GATEWAY_KEY=slk_8a2130b8f29e73140e254cffa87922854d7dcfe3c1511597972dba56b329cf1a
positive: "accessToken": "slk_92d8232d0c31967a24a75182e5abbc554562bc24189dc8b34edc162af90a8aa3"
negative: CODY_GATEWAY_KEY=slk_0000000000000000000000000000000000000000000000000000000000000000
negative: slk_0262cc12a5fe33397343fb1a0c52662f1fab3fa1

id: sparkpost-api-key
title: SparkPost API key
severity: high
keywords: spark-post spark.post spark_post sparkpost
pattern: (?i)(?:\b|_)(?:spark[_\-.]?post)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{40})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SPARKPOST_API_KEY="caa6321fe0aa6700ea8e1ee577bba873ca8697f5"
positive: {"sparkpost_api_key": "fc5c8fd7f73cec62d0d3c157ac4149e27e59fab4"}
negative: export SPARKPOST_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SPARKPOST_API_KEY=${SPARKPOST_API_KEY}
negative: sparkpost_api_key: "caa6321fe0"

id: speechtextai-api-key
title: SpeechText.AI API key
severity: medium
keywords: speech-text speech.text speech_text speechtext
pattern: (?i)(?:\b|_)(?:speech[_\-.]?text(?:[_\-.]?ai)?)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SPEECHTEXT_API_KEY="2c62655475202409d9d5c70835a4fafa"
positive: {"speechtext_api_key": "d7e671eea3b42f0d236e672b5af32c64"}
negative: export SPEECHTEXT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SPEECHTEXT_API_KEY=${SPEECHTEXT_API_KEY}
negative: speechtext_api_key: "2c62655475"

id: splunk-hec-token
title: Splunk HTTP Event Collector token
severity: high
keywords: splunk
pattern: (?i)(?:\bsplunk\s+|(?:\b|_)splunk[\w.\-]{0,20}?(?:hec|token)[\w.\-]{0,20}?["']?\s{0,3}[=:]\s{0,3}["']?)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b
entropy: 3.0
confidence: medium
positive: curl -k https://splunk.local:8088/services/collector -H "Authorization: Splunk 1efc933e-c2c5-f862-112c-5ad4a73f311e"
positive: SPLUNK_HEC_TOKEN="c53a107f-41cc-466c-a863-9d0c67b97318"
negative: Authorization: Splunk ${HEC_TOKEN}
negative: SPLUNK_HEC_TOKEN="00000000-0000-0000-0000-000000000000"

id: splunk-observability-token
title: Splunk Observability access token
severity: high
keywords: splunk
pattern: (?i)(?:\b|_)(?:splunk)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{22})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SPLUNK_ACCESS_TOKEN="M2M04d6sxu1u8t74KhXMah"
positive: {"splunk_access_token": "UtulrJFZEX8IGmEJUrhdRr"}
negative: export SPLUNK_ACCESS_TOKEN="xxxxxxxxxxxxxxxxxxxxxx"
negative: SPLUNK_ACCESS_TOKEN=${SPLUNK_ACCESS_TOKEN}
negative: splunk_access_token: "M2M04d6sxu"

id: spoonacular-api-key
title: Spoonacular API key
severity: medium
keywords: spoonacular
pattern: (?i)(?:\b|_)(?:spoonacular)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-f0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SPOONACULAR_API_KEY="a927c9019e1c6a76691bb4061ab3ae2f"
positive: {"spoonacular_api_key": "1af925f77e0bb3f3ef088062aa60d2dd"}
negative: export SPOONACULAR_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SPOONACULAR_API_KEY=${SPOONACULAR_API_KEY}
negative: spoonacular_api_key: "a927c9019e"

id: sportsmonk-api-token
title: Sportmonks API token
severity: medium
keywords: sportmonk sportsmonk
pattern: (?i)(?:\b|_)(?:sports?monks?)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{60,64})(?![\w\-])
entropy: 3.2
confidence: medium
positive: export SPORTMONKS_API_TOKEN="V4oRyvzavAhdZ9euMnbRDKO05vwKfndlBfk9NWQaJbKCgNoO4YcJCLRUBdBj"
positive: {"sportmonks_api_token": "7QRuWf6yBZC0Wwc0p9y7qzUkqMrfknY1bT5Z63rkQBXAsIdxl5xvnh96krCp"}
negative: export SPORTMONKS_API_TOKEN="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SPORTMONKS_API_TOKEN=${SPORTMONKS_API_TOKEN}
negative: sportmonks_api_token: "V4oRyvzavA"

id: spotify-client-id
title: Spotify client ID
severity: low
keywords: spotify
pattern: (?i)(?:\b|_)(?:spotify)[\w.\-\s"':=,\{\}]{0,30}?(?:client[_\-.]?id|app[_\-.]?id)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SPOTIFY_CLIENT_ID="b3d9d5f917d52e38e5b38f2e591efe27"
positive: {"spotify_client_id": "829124b9ab9df5ca710b3424287920bd"}
negative: export SPOTIFY_CLIENT_ID="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SPOTIFY_CLIENT_ID=${SPOTIFY_CLIENT_ID}
negative: spotify_client_id: "b3d9d5f917"

id: spotify-client-secret
title: Spotify client secret
severity: high
keywords: spotify
pattern: (?i)(?:\b|_)(?:spotify)[\w.\-\s"':=,\{\}]{0,30}?(?:secret|key|token)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{32})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SPOTIFY_CLIENT_SECRET="be52259edefd5b8d95066c9554c84c8e"
positive: {"spotify_client_secret": "cfa309220dcaf4d7fe2a7de8640934e3"}
negative: export SPOTIFY_CLIENT_SECRET="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SPOTIFY_CLIENT_SECRET=${SPOTIFY_CLIENT_SECRET}
negative: spotify_client_secret: "be52259ede"

id: square-access-token
title: Square access token
severity: critical
keywords: eaaa
pattern: \b(EAAA[A-Za-z0-9_\-]{60,80})(?![\w\-])
entropy: 3.5
positive: SQUARE_ACCESS_TOKEN=EAAA_crSjUWtxN67DBjH61MA5STDXVogtZHq1ge4LOIHFHjns4Lrdp9nsd3-FO6w
positive: client = Client(access_token="EAAAmU6oC0a8lcuFJAmPSm3I_SntoTQ2uFEDGYzeB6lUOgwIxI6iVAJaansvY0hd")
negative: SQUARE_ACCESS_TOKEN=EAAAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: EAAAo5NM428lJdcuFliuuzT9qb3sBxfRni

id: square-oauth-access-token
title: Square OAuth access token (sq0atp)
severity: critical
keywords: sq0atp-
pattern: \b(sq0atp-[A-Za-z0-9_\-]{22})(?![\w\-])
entropy: 3.0
positive: SQUARE_TOKEN=sq0atp-n2zXOPeV8VkGLFBv3hE0fp
positive: token: 'sq0atp-gQ3YZpxMRfLQaUP6ZIEtt7'
negative: SQUARE_TOKEN=sq0atp-XXXXXXXXXXXXXXXXXXXXXX
negative: sq0atp-short

id: square-oauth-secret
title: Square OAuth application secret (sq0csp)
severity: critical
keywords: sq0csp-
pattern: \b(sq0csp-[A-Za-z0-9_\-]{43})(?![\w\-])
entropy: 3.0
positive: SQUARE_APP_SECRET=sq0csp-nVGN9GhINplidDGTDT6cZb9dOafwtZyJlMtbMc8EaZ-
positive: "client_secret": "sq0csp-bSlGB6eLMcUnt2YSeudqdVweU4LN_Xzz6jMT31QtFBv"
negative: SQUARE_APP_SECRET=sq0csp-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: sq0csp-vhZ4uxFGmuLWtGxJphtL

id: squarespace-api-key
title: Squarespace API key
severity: high
keywords: square-space square.space square_space squarespace
pattern: (?i)(?:\b|_)(?:square[_\-.]?space)[\w.\-\s"':=,\{\}]{0,30}?(?:key|token|secret|access|private|auth|api|pass|credential|tkn|bearer)[\w.\-\s"':=,\{\}]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w\-])
entropy: 3.0
confidence: medium
positive: export SQUARESPACE_API_KEY="c4734b6c-f93b-01d3-e81d-a8971c7597d6"
positive: {"squarespace_api_key": "008ebfba-4f37-717f-b604-d671cf595974"}
negative: export SQUARESPACE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: SQUARESPACE_API_KEY=${SQUARESPACE_API_KEY}
negative: squarespace_api_key: "c4734b6c-f"

id: squareup-application-id
title: Square application ID (sq0idp)
severity: low
keywords: sq0idp-
pattern: \b(sq0idp-[A-Za-z0-9_\-]{22})(?![\w\-])
entropy: 3.0
positive: SQUARE_APPLICATION_ID=sq0idp-px8VYz_EB4j5a5C2UNkJ4V
positive: applicationId: 'sq0idp-bAZPSnqx6o4eNDNVIsrkpQ'
negative: SQUARE_APPLICATION_ID=sq0idp-XXXXXXXXXXXXXXXXXXXXXX
negative: sq0idp-short
"""#
}
