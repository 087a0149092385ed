extension RuleCatalog {
    /// Provider rules O to P (context and prefix rules for SaaS API keys and private keys, from OANDA to Privacy.com).
    static let providersMoreFtoP = #"""
id: oanda-api-token
title: OANDA API access token
severity: high
keywords: oanda
pattern: (?i)\b(?:oanda)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-f0-9]{32}-[a-f0-9]{32}|[A-Za-z0-9]{24})(?![\w-])
entropy: 3.0
confidence: medium
positive: export OANDA_API_KEY="ea012726613be166c94318341f385a1f-4c765b978a2f7285d62b2b676ab0eceb"
positive: oanda:\n  api_token: '3698dd8e71dad048c0e6498b5f6f4fae-cf7d17b8089782c13fd485663b8af093'
positive: {"oanda_secret": "d54c656f6be63ae71124318c7da4c79b-8bd436a5b0051e68e0896739d01bb623"}
negative: export OANDA_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: oanda_token = os.environ["OANDA_TOKEN"]
negative: OANDA_SECRET=${OANDA_SECRET}
negative: oanda_api_key: "<your-oanda-api-key>"
negative: "resolved": "https://registry.npmjs.org/oanda-auth/-/oanda-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: okta-api-token
title: Okta API token
severity: high
keywords: okta ssws
pattern: (?i)\b(?:(?:[a-z0-9]{1,20}_)?okta|ssws)[^#]{0,40}?\b(00[A-Za-z0-9_-]{40})(?![\w-])
entropy: 3.5
confidence: medium
positive: export OKTA_API_KEY="00Qy1cqxK4AHeu_fiYQJZPiVMFEB1jT58Cd0dvjz_M"
positive: okta_token: '00G1QTXL88kB2531Exg8yfKM9dnjp5yEKhJj450Uj_'
positive: {"okta_secret": "00qS8KjW7yoQVXUpigTFrWxhke31TZVVJVtF5ra7Bp"}
positive: Authorization: SSWS 00FeejsbW2Wk2bmuNMvshGUqcwFKLVp0D8C-73emxr
negative: export OKTA_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: okta_token = os.environ["OKTA_TOKEN"]
negative: OKTA_SECRET=${OKTA_SECRET}
negative: okta_api_key: "<your-okta-api-key>"
negative: "resolved": "https://registry.npmjs.org/okta-auth/-/okta-auth-1.2.0.tgz#cb421d881d02e7f4a6d86b3c4b5701a94e9a428dfd"

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
pattern: (?i)\b(?:omnisend)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{60,80})(?![\w-])
entropy: 3.5
confidence: medium
positive: export OMNISEND_API_KEY="211729ed2f1de126421cf41c-t86X2py6Q5sypNRBY9uoCkztGbZkYQCPPDxGUM2n8jPO4Om6jj"
positive: omnisend:\n  api_token: 'db13a85ca06a1d31d4870f7d-kDRJ4Z7GZGaL1xmkQ7O6GS8KsMN8AJ63wjSxnN26AcYuQmGGcH'
positive: {"omnisend_secret": "fda37db9cbc715d28170093b-drQtX3FlMxXIhDVfrnxbohgFn6bF3efYosyAt6D7suQdlOxL6H"}
negative: export OMNISEND_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: omnisend_token = os.environ["OMNISEND_TOKEN"]
negative: OMNISEND_SECRET=${OMNISEND_SECRET}
negative: omnisend_api_key: "<your-omnisend-api-key>"
negative: "resolved": "https://registry.npmjs.org/omnisend-auth/-/omnisend-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: onesignal-api-key
title: OneSignal REST API key / app id
severity: high
keywords: onesignal one_signal
pattern: (?i)\b(?:onesignal|one_signal)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}|os_v2_(?:app|org)_[a-z0-9]{50,200})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ONESIGNAL_API_KEY="981140a6-02d7-77ae-f53e-f169d7001f44"
positive: onesignal:\n  api_token: '2a008237-9052-d2ce-68bb-ce04bcf29b87'
positive: {"onesignal_secret": "6a69b3f8-d820-9c1e-ce3d-dce3a0514905"}
negative: export ONESIGNAL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: onesignal_token = os.environ["ONESIGNAL_TOKEN"]
negative: ONESIGNAL_SECRET=${ONESIGNAL_SECRET}
negative: onesignal_api_key: "<your-onesignal-api-key>"
negative: "resolved": "https://registry.npmjs.org/onesignal-auth/-/onesignal-auth-1.2.0.tgz#22c99b367db0eba4bedcd2b3024b02f55a41"

id: onfleet-api-key
title: Onfleet API key
severity: high
keywords: onfleet
pattern: (?i)\b(?:onfleet)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export ONFLEET_API_KEY="87940eb98471516d68b0873cc0329719"
positive: onfleet:\n  api_token: '06fa62330c4b53dbd957466883419789'
positive: {"onfleet_secret": "6fd779390d9c3e8d1b377a7feca53c29"}
negative: export ONFLEET_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: onfleet_token = os.environ["ONFLEET_TOKEN"]
negative: ONFLEET_SECRET=${ONFLEET_SECRET}
negative: onfleet_api_key: "<your-onfleet-api-key>"
negative: "resolved": "https://registry.npmjs.org/onfleet-auth/-/onfleet-auth-1.2.0.tgz#1338bb64fc85d731ca667f2d38b8839d"

id: oopspam-api-key
title: OOPSpam API key
severity: high
keywords: oopspam
pattern: (?i)\b(?:oopspam)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export OOPSPAM_API_KEY="ufSotw1IFhDLkPcOFHF05YvM8f7GHlUjUZ1p480u"
positive: oopspam:\n  api_token: 'DsR7YG78HdsHD8XCafTlFgnsV8l3g24p8dyh7VRd'
positive: {"oopspam_secret": "ffBX66xRb1XWEdK8UGHPkr8v2moJNSzm7zzWLuQr"}
negative: export OOPSPAM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: oopspam_token = os.environ["OOPSPAM_TOKEN"]
negative: OOPSPAM_SECRET=${OOPSPAM_SECRET}
negative: oopspam_api_key: "<your-oopspam-api-key>"
negative: "resolved": "https://registry.npmjs.org/oopspam-auth/-/oopspam-auth-1.2.0.tgz#32f5f70e25fe653b8f36dc896809de9e73a23dc2"

id: opencagedata-api-key
title: OpenCage geocoder API key
severity: high
keywords: opencage
pattern: (?i)\b(?:opencage(?:data)?)[^\n\r#]{0,40}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export OPENCAGEDATA_API_KEY="fdf0bc6dbc60bdaf86210a74ef5e4a82"
positive: opencagedata_token: '5e7bd7aa6ff73d5314e8691fcccabaf3'
positive: {"opencagedata_secret": "197451ab58f24deacfbf1f3c12bc555d"}
negative: export OPENCAGEDATA_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: opencagedata_token = os.environ["OPENCAGEDATA_TOKEN"]
negative: OPENCAGEDATA_SECRET=${OPENCAGEDATA_SECRET}
negative: opencagedata_api_key: "<your-opencagedata-api-key>"
negative: "resolved": "https://registry.npmjs.org/opencagedata-auth/-/opencagedata-auth-1.2.0.tgz#1e1dd912ec06fd52c28d35e07f0fa918"

id: openuv-api-key
title: OpenUV API key
severity: high
keywords: openuv
pattern: (?i)\b(?:openuv)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export OPENUV_API_KEY="AhctFV8FKrS3JKfMUy3kchmhkbun1X8k"
positive: openuv:\n  api_token: 'pFKhVgjGd58xyJDLuwrErcm7vjzzhyhq'
positive: {"openuv_secret": "fBDWn8cbcj1CEBMjBH7DswhK4lKanA90"}
negative: export OPENUV_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: openuv_token = os.environ["OPENUV_TOKEN"]
negative: OPENUV_SECRET=${OPENUV_SECRET}
negative: openuv_api_key: "<your-openuv-api-key>"
negative: "resolved": "https://registry.npmjs.org/openuv-auth/-/openuv-auth-1.2.0.tgz#1b539a868a0db8c1d7777a1369207b53"

id: openweather-api-key
title: OpenWeatherMap API key
severity: high
keywords: openweather open_weather pyowm owm
pattern: (?i)\b(?:openweather(?:map)?|open_weather(?:_map)?|(?:py)?owm(?:_api)?)[^\n\r#]{0,35}?\b([A-Za-z0-9]{32})(?![\w-])
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
negative: openweather_api_key: "<your-openweather-api-key>"
negative: "resolved": "https://registry.npmjs.org/openweather-auth/-/openweather-auth-1.2.0.tgz#6af7045891d00d890ddd5b72b66eef23"

id: opsgenie-api-key
title: Opsgenie API key
severity: high
keywords: opsgenie ops_genie
pattern: (?i)\b(?:opsgenie|ops_genie)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export OPSGENIE_API_KEY="66af7199-4894-86ef-8ecf-cc8154a508d7"
positive: opsgenie:\n  api_token: 'ecd2138d-c39e-653d-42fd-734996063ac4'
positive: {"opsgenie_secret": "150c6966-7e6e-72a9-efdc-3e8ae62d0905"}
negative: export OPSGENIE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: opsgenie_token = os.environ["OPSGENIE_TOKEN"]
negative: OPSGENIE_SECRET=${OPSGENIE_SECRET}
negative: opsgenie_api_key: "<your-opsgenie-api-key>"
negative: "resolved": "https://registry.npmjs.org/opsgenie-auth/-/opsgenie-auth-1.2.0.tgz#ac19279a8334414271c72a1e4d01917478ae"

id: optimizely-api-token
title: Optimizely API token
severity: high
keywords: optimizely
pattern: (?i)\b(?:optimizely)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9][A-Za-z0-9:_-]{30,80})(?![\w-])
entropy: 3.0
confidence: medium
positive: export OPTIMIZELY_API_KEY="2:SydrMTpZnJi_yuvHjk74cAAOl40vnumc3RlYRKVJJbq-j1"
positive: optimizely:\n  api_token: '2:6xj3Xj_Q-FsC7axiRFZ3dtLS5K3CEfmuLf-QErByqjrFcW'
positive: {"optimizely_secret": "2:u_iwGd17RTU8AtiDl1Rc6MCk0D0UXgioC1trOIhKWPhk4Z"}
negative: export OPTIMIZELY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: optimizely_token = os.environ["OPTIMIZELY_TOKEN"]
negative: OPTIMIZELY_SECRET=${OPTIMIZELY_SECRET}
negative: optimizely_api_key: "<your-optimizely-api-key>"
negative: "resolved": "https://registry.npmjs.org/optimizely-auth/-/optimizely-auth-1.2.0.tgz#1b62c56236951e274e15512cd0fb6bbcc392fd05097a5bf1"

id: overloop-api-key
title: Overloop API key
severity: high
keywords: overloop
pattern: (?i)\b(?:overloop)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{50,60})(?![\w-])
entropy: 3.0
confidence: medium
positive: export OVERLOOP_API_KEY="4TXDbfT6Y0Goeu4nOI2FrUTXnv5Q9mEAkQXLEWl_0aZfodfsS9pd5j"
positive: overloop:\n  api_token: 'GMaVgauFenMUdwrv9pKgk-sPtMQDmTSoOrm5eaprvBr5sQvYKV2Rsh'
positive: {"overloop_secret": "Ugew-cq8WEEdE_gWdPKltjaWCkIBATR2Cp7bBKFIBH49GjfiONiE8s"}
negative: export OVERLOOP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: overloop_token = os.environ["OVERLOOP_TOKEN"]
negative: OVERLOOP_SECRET=${OVERLOOP_SECRET}
negative: overloop_api_key: "<your-overloop-api-key>"
negative: "resolved": "https://registry.npmjs.org/overloop-auth/-/overloop-auth-1.2.0.tgz#7f14e0abad73a7e2ec82c8d08b4c8998ab80b691ed74cc46892ac2"

id: owlbot-api-key
title: Owlbot API token
severity: high
keywords: owlbot
pattern: (?i)\b(?:owlbot)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export OWLBOT_API_KEY="6bcc8a9ec3a1633da3e8e7d1b20764c4138f64fc"
positive: owlbot:\n  api_token: '5564bb089b7b7aee6ac587d7ced34ef6afcd4313'
positive: {"owlbot_secret": "8aef6080c432f94b6de85d4a41bf32ab5d36ba89"}
negative: export OWLBOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: owlbot_token = os.environ["OWLBOT_TOKEN"]
negative: OWLBOT_SECRET=${OWLBOT_SECRET}
negative: owlbot_api_key: "<your-owlbot-api-key>"
negative: "resolved": "https://registry.npmjs.org/owlbot-auth/-/owlbot-auth-1.2.0.tgz#8ba896f7c83b56e2d6cd5c60047b9f1eabdd07a2"

id: packagecloud-api-token
title: packagecloud API token
severity: high
keywords: packagecloud
pattern: (?i)\b(?:packagecloud)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{48})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PACKAGECLOUD_API_KEY="6ff5a562df80b380b18ff51cd10e49e6fd1d575c1589203f"
positive: packagecloud:\n  api_token: '92b2366f61d1542437043203617b357878ab3ccd463d46e4'
positive: {"packagecloud_secret": "fb400be7e43f60f40eacae8f5969da3ef9a6ebac238d7294"}
negative: export PACKAGECLOUD_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: packagecloud_token = os.environ["PACKAGECLOUD_TOKEN"]
negative: PACKAGECLOUD_SECRET=${PACKAGECLOUD_SECRET}
negative: packagecloud_api_key: "<your-packagecloud-api-key>"
negative: "resolved": "https://registry.npmjs.org/packagecloud-auth/-/packagecloud-auth-1.2.0.tgz#5d7e2d22629bf0542d51f0f0535054cbed764fbfe0906c0f"

id: pagarme-api-key-live
title: Pagar.me live API key
severity: critical
keywords: ak_live_
pattern: \b(ak_live_[A-Za-z0-9]{30})\b
entropy: 3.0
positive: PAGARME_API_KEY=ak_live_aLpJJfOVmUJYopVtQIJW6vUDSohBFG
positive: api_key: 'ak_live_JNdJqBfMaLwoZeR1LSg6EWd5wyF3fz'
negative: ak_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: ak_live_<key>
negative: ak_test_4aCmD23Kt0UlYUVoD38r5bEuGChJMX

id: pagarme-api-key-test
title: Pagar.me test API key
severity: medium
keywords: ak_test_
pattern: \b(ak_test_[A-Za-z0-9]{30})\b
entropy: 3.0
positive: api_key: 'ak_test_KqoqVVVXTEQLEWKZ4V0gaWagvAPwCW'
negative: ak_test_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: ak_test_<key>

id: pagerduty-api-key
title: PagerDuty API / user token
severity: high
keywords: pagerduty pager_duty pd_api pd_key pd_token pd_user
pattern: (?i)\b(?:pagerduty|pager_duty|pd(?=_(?:api|key|token|user)))[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_+-]{20})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PAGERDUTY_API_KEY="u+AUClh5boSUycgjJmK8"
positive: pagerduty:\n  api_token: 'u+jT2QCIozczHQvJQI_l'
positive: {"pagerduty_secret": "u+6_n65eHI6ftc5kJUPz"}
negative: export PAGERDUTY_API_KEY="xxxxxxxxxxxxxxxxxxxx"
negative: pagerduty_token = os.environ["PAGERDUTY_TOKEN"]
negative: PAGERDUTY_SECRET=${PAGERDUTY_SECRET}
negative: pagerduty_api_key: "<your-pagerduty-api-key>"
negative: "resolved": "https://registry.npmjs.org/pagerduty-auth/-/pagerduty-auth-1.2.0.tgz#dbbeb3994a6cae717d90"

id: pandadoc-api-key
title: PandaDoc API key
severity: high
keywords: pandadoc
pattern: (?i)\b(?:pandadoc)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PANDADOC_API_KEY="f16951bc7867cbf8a4b4f5c84556c9bfc30e8a20"
positive: pandadoc:\n  api_token: '1619196ab346f4742a391778e7e94d573957e62e'
positive: {"pandadoc_secret": "fff87088832b21312bb54144c4a3af1d57c2969f"}
negative: export PANDADOC_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pandadoc_token = os.environ["PANDADOC_TOKEN"]
negative: PANDADOC_SECRET=${PANDADOC_SECRET}
negative: pandadoc_api_key: "<your-pandadoc-api-key>"
negative: "resolved": "https://registry.npmjs.org/pandadoc-auth/-/pandadoc-auth-1.2.0.tgz#836f0311d9b24375094aaf54ae4de3d8e74966a6"

id: pandascore-api-token
title: PandaScore API token
severity: high
keywords: pandascore
pattern: (?i)\b(?:pandascore)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{40,70})(?![\w-])
entropy: 3.5
confidence: medium
positive: export PANDASCORE_API_KEY="p2yAmazD3EroPSR-qnG-9FGdW_qF2bf7noX-0Csz_DUYa2Ockq"
positive: pandascore:\n  api_token: '3cZ1dqj5Be0iTLN9ty4UOy9hnki0H1XXwMu6uyzfsRIWK2ykTJ'
positive: {"pandascore_secret": "uy_ZT0kTRr7sxcBqT9HJ-4yIpTih1yO0kp-WcLgbfGIKpFie_E"}
negative: export PANDASCORE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pandascore_token = os.environ["PANDASCORE_TOKEN"]
negative: PANDASCORE_SECRET=${PANDASCORE_SECRET}
negative: pandascore_api_key: "<your-pandascore-api-key>"
negative: "resolved": "https://registry.npmjs.org/pandascore-auth/-/pandascore-auth-1.2.0.tgz#eb64337e3cd492c96328b2a6fa127688199d4a38f1e3381571"

id: paperform-api-key
title: Paperform API key
severity: high
keywords: paperform
pattern: (?i)\b(?:paperform)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9._-]{200,1500})(?![\w-])
entropy: 3.5
window: 2048
confidence: medium
positive: export PAPERFORM_API_KEY="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJxZVozSjM0SXNORW1PRWtMaVZTVkFZMloiLCJpYXQiOjE3ODQzMzQwNzJ9.FH957b4Yykita83DFA4vHwWfaSLkSLQB8NK2ydgcJYpDVrZtwdUhAu1MEr8cmweDSd39Ry3goOkemdcyl2-4g31PBV7sDdrL8-FGhsdb-40oJAJwWVdO0TkStE0kzqLwq2LwIyQyyY25Qy-"
positive: paperform:\n  api_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJWZlUzeUE1NFc5OTJreHBKM2U2OXNwbG8iLCJpYXQiOjE3NjQwOTM2NTl9.Cz6EQc_-WLC-rEckiNkc4kw4s5n-y1SlwRNJmgS-5qbwxLsiPEjQcSCVnrsF-d7fnIIiQn2WRdyLhj-UMsIMxLzFY2oXuBjZ57k9i8yAWHPLHD5nPXBRD1fFc4iQ6bssFDF0qsf-3rp9cn3'
positive: {"paperform_secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI2azE2QWtZQUxqQllEc2l0and1VzV4aXAiLCJpYXQiOjE3NTI5MTEzNTN9.SbFxOZ2IsJ0fp7hBJkAhu9TXLEdeEwWCCuisNOBgWEz0b9BB1HIsWK2aRdDBEg_8XqDMFQODdfDmMJ_0YR4ErrtAtn60Jl0-dW9t6LnC7Gpubgiu-OwU9I8CmpJnytoLHRnmuQiGqUBb_rK"}
negative: export PAPERFORM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: paperform_token = os.environ["PAPERFORM_TOKEN"]
negative: PAPERFORM_SECRET=${PAPERFORM_SECRET}
negative: paperform_api_key: "<your-paperform-api-key>"
negative: "resolved": "https://registry.npmjs.org/paperform-auth/-/paperform-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: paralleldots-api-key
title: ParallelDots API key
severity: high
keywords: paralleldots
pattern: (?i)\b(?:paralleldots)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{43})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PARALLELDOTS_API_KEY="xIrpkPXnZYCLc38jvyQBraFvacopxSd5sAtovCJmqZx"
positive: paralleldots:\n  api_token: '8kgek7SoxHHsRnQj1A4KTWYhJbcvcPAMz5e97h0FTkT'
positive: {"paralleldots_secret": "G6HcndRAkDJ8U8V2RyhQOh6szsIyaKo3HrbVAqB6K9z"}
negative: export PARALLELDOTS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: paralleldots_token = os.environ["PARALLELDOTS_TOKEN"]
negative: PARALLELDOTS_SECRET=${PARALLELDOTS_SECRET}
negative: paralleldots_api_key: "<your-paralleldots-api-key>"
negative: "resolved": "https://registry.npmjs.org/paralleldots-auth/-/paralleldots-auth-1.2.0.tgz#8eb2b5f864eda9b49352b67195232f2ffdac21cb874"

id: parseur-api-key
title: Parseur API key
severity: high
keywords: parseur
pattern: (?i)\b(?:parseur)[^\n\r#]{0,40}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PARSEUR_API_KEY="e1692f3122b7ff74617f72314eb529467d8c57f2"
positive: parseur_token: 'efa3262b3bd5c74a6fd2cb8188b687309a8f049a'
positive: {"parseur_secret": "9bc0d85c7a12c0bb79e585c2fa5772c6526ffc33"}
negative: export PARSEUR_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: parseur_token = os.environ["PARSEUR_TOKEN"]
negative: PARSEUR_SECRET=${PARSEUR_SECRET}
negative: parseur_api_key: "<your-parseur-api-key>"
negative: "resolved": "https://registry.npmjs.org/parseur-auth/-/parseur-auth-1.2.0.tgz#90dc0615dee95160536fdfc07b1ff78816e516bc"

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
pattern: (?i)\b(?:partnerstack)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PARTNERSTACK_API_KEY="UnKAyxZYn8FZMnF0qlkIZ9Hq1NB9gthBXoQMaXPWZpv3N5HJ8ShtfwGMIaNfisXM"
positive: partnerstack:\n  api_token: 'ajOthD4gwzlxYQ7XtkN5wCBxzHjCaonAIdadpY23PhzzfHqnfD00JKNhOzVPKGYs'
positive: {"partnerstack_secret": "Irs4e4RhsqlDe0IpxtI0pO5Z5EidzTrf93RrHsiM1m8Blps3JeXLwz2gDBeARr4w"}
negative: export PARTNERSTACK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: partnerstack_token = os.environ["PARTNERSTACK_TOKEN"]
negative: PARTNERSTACK_SECRET=${PARTNERSTACK_SECRET}
negative: partnerstack_api_key: "<your-partnerstack-api-key>"
negative: "resolved": "https://registry.npmjs.org/partnerstack-auth/-/partnerstack-auth-1.2.0.tgz#2442062ad2b4b525a7af29ccb8ecfce6432dd9e0d51427122b7d58f124babfe3"

id: pastebin-api-key
title: Pastebin developer API key
severity: high
keywords: pastebin
pattern: (?i)\b(?:pastebin)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?=[A-Za-z_.+/=-]{0,300}\d)[A-Za-z0-9_-]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PASTEBIN_API_KEY="B7h2UliD0U2D46cntLs0WupwHiiWRZ4b"
positive: pastebin:\n  api_token: 'OnKStDIOEfpIBDo0LOu-B4XuDpEqjDec'
positive: {"pastebin_secret": "fNd_EU5-6jgZBGRoNhkungC6oaNeGAsa"}
negative: export PASTEBIN_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pastebin_token = os.environ["PASTEBIN_TOKEN"]
negative: PASTEBIN_SECRET=${PASTEBIN_SECRET}
negative: pastebin_api_key: "<your-pastebin-api-key>"
negative: "resolved": "https://registry.npmjs.org/pastebin-auth/-/pastebin-auth-1.2.0.tgz#ffd1eb9a187429cc561d104dfc5cf125"

id: paydirtapp-api-key
title: PayDirt API key
severity: high
keywords: paydirt
pattern: (?i)\b(?:paydirt(?:app)?)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PAYDIRTAPP_API_KEY="832edd7cb4456c960f1756e7c72ae9fb"
positive: paydirtapp:\n  api_token: '54f6c59d3ed7bc897a720d5dbae87b54'
positive: {"paydirtapp_secret": "40522ef9c15271e6fdc471983d438211"}
negative: export PAYDIRTAPP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: paydirtapp_token = os.environ["PAYDIRTAPP_TOKEN"]
negative: PAYDIRTAPP_SECRET=${PAYDIRTAPP_SECRET}
negative: paydirtapp_api_key: "<your-paydirtapp-api-key>"
negative: "resolved": "https://registry.npmjs.org/paydirtapp-auth/-/paydirtapp-auth-1.2.0.tgz#5079d394c24c3b79774dbe649f5d8b4a"

id: paymoapp-api-key
title: Paymo API key
severity: high
keywords: paymo
pattern: (?i)\b(?:paymo(?:app)?)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{44})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PAYMOAPP_API_KEY="BIPmJt06KFyuW1a8utY5KamHupcmxck5ivJqLimh5BLO"
positive: paymoapp:\n  api_token: 'eE7hmaKIRt7mqZt3LJwClt10S09SVZSFGGacxOQl1NRs'
positive: {"paymoapp_secret": "w8kS7xlLAGQGlyGLbjbjmPPGO94P5OhDtBYcnxqlvMkV"}
negative: export PAYMOAPP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: paymoapp_token = os.environ["PAYMOAPP_TOKEN"]
negative: PAYMOAPP_SECRET=${PAYMOAPP_SECRET}
negative: paymoapp_api_key: "<your-paymoapp-api-key>"
negative: "resolved": "https://registry.npmjs.org/paymoapp-auth/-/paymoapp-auth-1.2.0.tgz#d8c510716fc6488e52f645df83e350bbcdd48d6aecf3"

id: paymongo-api-key
title: PayMongo secret key
severity: critical
keywords: paymongo
pattern: (?i)\b(?:paymongo)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b((?:sk|pk)_(?:live|test)_[A-Za-z0-9]{24}|[A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PAYMONGO_API_KEY="sk_live_pWMfTJLIvoqA5xMSd1Yz41o9"
positive: paymongo:\n  api_token: 'sk_live_1R2E2o0ZsfKkUgCWrQgsCKVT'
positive: {"paymongo_secret": "sk_live_jYYvmWG2hvQ5cuEM2EDQjBiD"}
negative: export PAYMONGO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: paymongo_token = os.environ["PAYMONGO_TOKEN"]
negative: PAYMONGO_SECRET=${PAYMONGO_SECRET}
negative: paymongo_api_key: "<your-paymongo-api-key>"
negative: "resolved": "https://registry.npmjs.org/paymongo-auth/-/paymongo-auth-1.2.0.tgz#eace637a4ef5ce40ee71e57581d4216e"

id: paypal-client-id
title: PayPal OAuth client id
severity: medium
keywords: paypal
pattern: (?i)\b(?:paypal)[^\n\r#]{0,30}?\b(A[A-Za-z0-9_-]{55,85})(?![\w-])
entropy: 3.5
confidence: medium
positive: export PAYPAL_API_KEY="AomEVkWX1dwxBukwOJ2HOq-o1hgOj9H6swm_PmqhtZKAQBBqhs9Rxu_WTvN5zr57kYTtNUYajRUzRmS7"
positive: paypal_token: 'AJ1aoO6YeHDxpbhr3dgLyywAj_fJ-C0k0nhyZ2g8KJcSrOcd0d48e8GgBzeqaHE7u_1qmDC08pq_NWdA'
positive: {"paypal_secret": "Ak_gJEvqPyigepca1SByuCOz-_c9xvCY2VxFL_Q97n9H4MSMYmCo0nkm_5MtIzz88MlbgdoguYxmaPpP"}
negative: export PAYPAL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: paypal_token = os.environ["PAYPAL_TOKEN"]
negative: PAYPAL_SECRET=${PAYPAL_SECRET}
negative: paypal_api_key: "<your-paypal-api-key>"
negative: "resolved": "https://registry.npmjs.org/paypal-auth/-/paypal-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: paypal-client-secret
title: PayPal OAuth client secret
severity: critical
keywords: paypal
pattern: (?i)\b(?:paypal)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b(E[A-Za-z0-9_-]{55,85})(?![\w-])
entropy: 3.5
confidence: medium
positive: export PAYPAL_API_KEY="EG7yXFYVAoHpfF6RmieTNfARyk0oLYjHtz1fZVgSNd26Tt3aXo8VfLQ89uqay--e8qMYaKbw6j5Dgn2R"
positive: paypal:\n  api_token: 'EpMenROKnjxAkZNbjXVHHiWPgWzT0btq-V8T3GZ9U-gyAXxmVRnemV6XkKP1xY_vKT1baqYxKA1rPQkp'
positive: {"paypal_secret": "EON2-WyAlh2PG6Y3JL-yuC2i_L9BiX6cgZECQfdv0u51LtvbVHVRMl7ryQvBHYM-Etl07DeoAYshUzEP"}
negative: export PAYPAL_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: paypal_token = os.environ["PAYPAL_TOKEN"]
negative: PAYPAL_SECRET=${PAYPAL_SECRET}
negative: paypal_api_key: "<your-paypal-api-key>"
negative: "resolved": "https://registry.npmjs.org/paypal-auth/-/paypal-auth-1.2.0.tgz#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

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
pattern: (?i)\b(?:pdflayer)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PDFLAYER_API_KEY="b961fd7d19926fa497732f54a7db2025"
positive: pdflayer:\n  api_token: 'b627c50ba3ac408f34ffc73c24242e84'
positive: {"pdflayer_secret": "72ebaa4ff4aaa9daa0878240112474cf"}
negative: export PDFLAYER_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pdflayer_token = os.environ["PDFLAYER_TOKEN"]
negative: PDFLAYER_SECRET=${PDFLAYER_SECRET}
negative: pdflayer_api_key: "<your-pdflayer-api-key>"
negative: "resolved": "https://registry.npmjs.org/pdflayer-auth/-/pdflayer-auth-1.2.0.tgz#2daf97cdadfb99f35bbd66eeb544ab9f"

id: pdfshift-api-key
title: PDFShift API key
severity: high
keywords: pdfshift
pattern: (?i)\b(?:pdfshift)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PDFSHIFT_API_KEY="ba7def1d13ce7fc2c5021a2165ba3a1b"
positive: pdfshift_token: '09dc5f2aafba708a8bf0eed2004d3e96'
positive: {"pdfshift_secret": "141f85102f3afaa17825c35df948bfb8"}
negative: export PDFSHIFT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pdfshift_token = os.environ["PDFSHIFT_TOKEN"]
negative: PDFSHIFT_SECRET=${PDFSHIFT_SECRET}
negative: pdfshift_api_key: "<your-pdfshift-api-key>"
negative: "resolved": "https://registry.npmjs.org/pdfshift-auth/-/pdfshift-auth-1.2.0.tgz#5eed1b84fd0f875768d153deb8dc1adf"

id: pem-private-key
title: PEM-encoded private key
severity: critical
keywords: -----BEGIN
pattern: (-----BEGIN[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,300}?[A-Za-z0-9+/]{60}[\s\S]{0,16000}?-----END[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----)
near: -----END
window: 16384
positive: -----BEGIN RSA PRIVATE KEY-----\nR7N+qLuPXtUAOx+8/IvlMDUMOedSAzV1Q/lK0cvA08WMWQzg8O5dVb7hCXAPnqNr\nZxAQ/Sy3NtOHvlQnxQUUl2WoFY+VHN2lS2nyQOcFZ6ju91s2OgSHJL5XQ1X2kcGo\nPiPMmDmC3ChGnrNITnH+0RlGK0PVX4BcFNB+EaqXR//S67MWLDbnygs0faGuU1ag\n+pjRH5UMAz9xt1U37jjJK6rgSd3wg7zNcamS5vGcxdN9bzMB9i4hYUnebBrnrCNR\ny+tBKn3CybFGLkQS5qKelb+RWaUNLPdH4yZoRzh6dfrOzbIV9PbHWa7NmDmMVKzR\nXokwbSN+ZYD6/sCDamNWi1mAXMItUvyaylJom+eharbd5ho+c28SE3CwYEVM7yPl\nraGOXw+PXOZToJaK1UPKOjOTHPMwDE7I0lXD3RVuz6fm1ksnvs1s+JwnBkZK4DNU\nytxfeyE4dI3cZ+KjivpeDK9Ofyzro0r9dTtBli8QF2+zWZXKnYyZrwym3RM9otn6\nt6p66z3EX5VnT6kca+j4ch575HCswrCV1kwY3mdR5679FGH0UYiDs4UrVkoXLHwk\niN5npoErHZisRbsGtjJcUTJSoz/LDfDgbDXHBFdhpHOzIKAtzsNDq+cgwPT65d17\n8ph/K+h5J6RApgdTyRr8CCGX8SgRhpE7EC+FpjVFaCaUcg6MyioDz1hYEe1rj+wt\nvTu0uSRVOP3d51B7prFcTWNwfpDjRsSMH9M5RBUIZdsxvL6nEdhUaMaGhLowPaOv\n-----END RSA PRIVATE KEY-----\n
positive: key = """-----BEGIN PRIVATE KEY-----\nEMjrtkVSfM+OWUEcfUQcgkbEeCZoPKpmigpeeB/n6wxp3dAr/xD2rxKy8+G8nUT4\n59VATbeAAkP6qVMxOIs+mvzvSMb+zpVsniv1O1R8lT9ieVZysBnBFApUpobLvIEy\nTfcvvjnxJvQHMuCWYZ0gzyfqevQKDMM31epgpSgef7eOLssH30di9Um0re7GtUc2\n+IvV7yq8vAMZtRs+jBrp808y+M80EI3elu6R5U5q52Z9NEvPEqlzImlg4WvmJDT3\n7qpkX2vI2SBIgW37E8CjJWpWKQcLO8exfBun2u7QRUKJRi3bgTSW04wHvxFQIfs+\nhI3vsB48qMaB0rm574/CVkQfDF2OKIxYuUW7CdQrbRwsYLfNhHMRayEzdx+cosCU\nUolDywOalO3hzpuQJJHm3pn746AFiXItrXQ+H7FwZlU81FqfieKyX0HbhFlEP2C7\n+TsrmNWrIRMOCt3gXpfwefxqJxxoy+R9XMhMe035HM7ymmMXQJrb+JcXZBtvmJV1\n-----END PRIVATE KEY-----"""
negative: -----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----
negative: -----BEGIN PUBLIC KEY-----\nlPUpyzxjwTwZF9VKO/RGX6US8gwiQqRvyAIk3TOPVVVyLAYdhbtD0cREdjgf6xuh\njPZ8M9Es2SegL+a/y333Hb7NfXZtfgzREYdblLzpxPCdztMUpCqzsvDW5Z/tOT6/\nwA0KVFivCxOC7rd82kDrmMFpYE5TsxShyys2CxjVl6LTQSvPkmz3+JFAJlqZLhZh\nixc4nYifuyX0/Zx80xqkRfBwJxmMBlD6AtN8kgfuT68v29yS4AuPwoZhyu/FfcYA\n-----END PUBLIC KEY-----

id: pem-private-key-base64
title: Base64-encoded PEM private key
severity: critical
keywords: LS0tLS1CRUdJTi
pattern: \b((?:LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0t|LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t|LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0t|LS0tLS1CRUdJTiBPUEVOU1NIIFBSSVZBVEUgS0VZLS0t|LS0tLS1CRUdJTiBEU0EgUFJJVkFURSBLRVktLS0t|LS0tLS1CRUdJTiBFTkNSWVBURUQgUFJJVkFURSBLRVktLS0t|LS0tLS1CRUdJTiBQR1AgUFJJVkFURSBLRVkgQkxPQ0stLS0t)[A-Za-z0-9+/]{200,20000}={0,2})(?![\w+/=-])
window: 20480
positive: PRIVATE_KEY_B64=LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCnZwb0ZZSlZxbDVVbXF1RExveUFIbzNrK01renlGWHFVd0NrdDNla3BQTFByR2VleFlvUE5nT2pIRDhlYkdieTEKbHZ1TUE1aFV0eWloa3luMVlHL0Q1Wlh5Nmx3TVFkVU9JSFZPRzlRUmRrbXIrVyt6d3Vmc3pUbWFPcVRRQ1A2Nwo1em0rYzk3dDFvZUs0S2dobjExN3JzdE5lWGRtT3EydUd0OGlobVpxcGlkYzkxTkFVUStSYk02ZEdjU3dHME9HCmZuaU1HT0oxdWRKQUg4aFMvZklpZGo4T0dFUnFXVjBENDFyekNnZGpocVJrZjdDL3pvYTRuZU12c3VqV1NGV3oKWWY0TnBzZ2ZzWlhoNzZxT2FybDdLU1ZmM3BTL0k1azNReCtnOXZITFlyOTlzbEEva0JwdWlKaWdUSko5V2Z1cAppalZrZWNrM1hXdmpPdlpDVnA2TG5RRE9PZUxMQjBlTE8rT2Jxd1hYS09xZ1pJQ3Q3ancwK29PR1diTjhqNXdjCi0tLS0tRU5EIFBSSVZBVEUgS0VZLS0tLS0K
negative: LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KL2h4aXlOVDNvV25qVFErQUg1RFVnRDE1SUlkRng4a0ZxU3NpUjJxWE40dDUvcGdNdnpQcTlIK1RpdFg3azIyagpMRzZ2TGZQcFFiK1llZTJSczZFVk9ZUXBGYWwxbmQxcWtPRXRROU9mMUVVZ1ZuUHpwcTRnZGhhOGs4Tnp5YUg5Cnc1bm13MXNsSzJiOXFROXJlODVwVGtVVkx6WERnbCtacEFXZmYzaGdFeFBKTUsrWWhPNTZCRnNPZzY4SHVCR1kKQkE2RXhGQjJCelYwaWZ6MFV0SWp1VVgzNW8yQ2VQcnFqakVBNEZJNVQwM3h0dmY2UVhhY01JZ2duK2k0QytEeQ==

id: peopledatalabs-api-key
title: People Data Labs API key
severity: high
keywords: peopledatalabs people_data_labs pdl_api
pattern: (?i)\b(?:peopledatalabs|people_data_labs|pdl_api)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PEOPLEDATALABS_API_KEY="818e3c7b659d740c96afbfd1b68fddc1067c674b3c134b5898b320d75d5dd275"
positive: peopledatalabs:\n  api_token: '5fa2c9f5d9d9b6c890859fe88586a1272177223c7484fb5f820c1b9b3fe25131'
positive: {"peopledatalabs_secret": "a3437911ca40bbd912ee48c15b63845ef0841b73bd22a5fcfa9a22424826f649"}
negative: export PEOPLEDATALABS_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: peopledatalabs_token = os.environ["PEOPLEDATALABS_TOKEN"]
negative: PEOPLEDATALABS_SECRET=${PEOPLEDATALABS_SECRET}
negative: peopledatalabs_api_key: "<your-peopledatalabs-api-key>"
negative: "resolved": "https://registry.npmjs.org/peopledatalabs-auth/-/peopledatalabs-auth-1.2.0.tgz#922489242216dfda811278ad9a159908ef6677d972dff0057db6ac68341b5858"

id: pepipost-api-key
title: Pepipost (Netcore Email) API key
severity: high
keywords: pepipost netcore
pattern: (?i)\b(?:pepipost|netcore(?=[_-]?(?:api|email|mail|smtp|pepipost)))[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PEPIPOST_API_KEY="cffff06ba8ee248b1c6476b53576649f"
positive: pepipost_token: 'fc4ad8d7f203b04890feb10a9ec01ff5'
positive: {"pepipost_secret": "a3fa076e87510970910326140b40df3a"}
negative: export PEPIPOST_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pepipost_token = os.environ["PEPIPOST_TOKEN"]
negative: PEPIPOST_SECRET=${PEPIPOST_SECRET}
negative: pepipost_api_key: "<your-pepipost-api-key>"
negative: "resolved": "https://registry.npmjs.org/pepipost-auth/-/pepipost-auth-1.2.0.tgz#116abcdfdc8f30f53425b03eec9c0e8c"
negative: <TargetFramework>netcoreapp3.1</TargetFramework> <!-- a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6 -->

id: pipedream-api-key
title: Pipedream API key
severity: high
keywords: pipedream
pattern: (?i)\b(?:pipedream)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PIPEDREAM_API_KEY="daf76d92a71ba29bbec3cad4f05619b5"
positive: pipedream:\n  api_token: '06dddc59c49ab472da85f7bafb82eb43'
positive: {"pipedream_secret": "9bc1448e845507d4abccd91efa99c5d4"}
negative: export PIPEDREAM_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pipedream_token = os.environ["PIPEDREAM_TOKEN"]
negative: PIPEDREAM_SECRET=${PIPEDREAM_SECRET}
negative: pipedream_api_key: "<your-pipedream-api-key>"
negative: "resolved": "https://registry.npmjs.org/pipedream-auth/-/pipedream-auth-1.2.0.tgz#8aca3895c404a5d17b85c89cb56d5cd5"

id: pipedrive-api-token
title: Pipedrive API token
severity: high
keywords: pipedrive
pattern: (?i)\b(?:pipedrive)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PIPEDRIVE_API_KEY="68d326a9c3755378266445171b5db106a0cabea1"
positive: pipedrive:\n  api_token: 'bb2f85edbcf030531670a849fcd8c2977fdda257'
positive: {"pipedrive_secret": "705611c5bf0bc5da80d9cc4c8058b732a59700c6"}
negative: export PIPEDRIVE_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pipedrive_token = os.environ["PIPEDRIVE_TOKEN"]
negative: PIPEDRIVE_SECRET=${PIPEDRIVE_SECRET}
negative: pipedrive_api_key: "<your-pipedrive-api-key>"
negative: "resolved": "https://registry.npmjs.org/pipedrive-auth/-/pipedrive-auth-1.2.0.tgz#bd081091d042edc3e51bc084cecb0ebcf742a09b"

id: pixabay-api-key
title: Pixabay API key
severity: high
keywords: pixabay
pattern: (?i)\b(?:pixabay)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b(\d{7,9}-[a-f0-9]{25}|[A-Za-z0-9]{40})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PIXABAY_API_KEY="09770889-387b9ec192daf2ffebfd8be9f"
positive: pixabay:\n  api_token: '25224922-de59dc18c41fe028c55f055fa'
positive: {"pixabay_secret": "82218892-22499ef48307e892c2c109391"}
negative: export PIXABAY_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pixabay_token = os.environ["PIXABAY_TOKEN"]
negative: PIXABAY_SECRET=${PIXABAY_SECRET}
negative: pixabay_api_key: "<your-pixabay-api-key>"
negative: "resolved": "https://registry.npmjs.org/pixabay-auth/-/pixabay-auth-1.2.0.tgz#9d819b10f127051b69b3045ea3ddc87d15"

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
pattern: (?i)\b(?:pscale|planetscale|planet_scale)[^\n\r#]{0,30}?\b([a-z0-9]{12})(?![\w-])
entropy: 2.8
confidence: medium
positive: export PLANETSCALE_API_KEY="w6cxel1vtdih"
positive: planetscale_token: '14h9rvqj7c1b'
positive: {"planetscale_secret": "zf31yz147tpp"}
negative: export PLANETSCALE_API_KEY="xxxxxxxxxxxx"
negative: planetscale_token = os.environ["PLANETSCALE_TOKEN"]
negative: PLANETSCALE_SECRET=${PLANETSCALE_SECRET}
negative: planetscale_api_key: "<your-planetscale-api-key>"
negative: "resolved": "https://registry.npmjs.org/planetscale-auth/-/planetscale-auth-1.2.0.tgz#25a6e8bfcc3f"

id: planyo-api-key
title: Planyo API key
severity: high
keywords: planyo
pattern: (?i)\b(?:planyo)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{60,64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PLANYO_API_KEY="JpwoRxVchM89hSDeyZItiHYHagPLIdhui5dVKPnm1yENl7BXKadXXTNrxYzAto"
positive: planyo:\n  api_token: 'rSLmzF8leRlngf1Vd325GftDiwOwIF8Mjva24aFXdIqx5rC21RVme62yqvsXui'
positive: {"planyo_secret": "7FnquCoWZLXEG4XVxD9PVjiruglBeZAHrAF8VjWekdmymFEhW5SH0abL8xMj4h"}
negative: export PLANYO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: planyo_token = os.environ["PLANYO_TOKEN"]
negative: PLANYO_SECRET=${PLANYO_SECRET}
negative: planyo_api_key: "<your-planyo-api-key>"
negative: "resolved": "https://registry.npmjs.org/planyo-auth/-/planyo-auth-1.2.0.tgz#8a7e520d66f511648d066057a7e7c809b94e4f37e01c0bb3155cac3f75c817"

id: podio-api-key
title: Podio client secret / token
severity: high
keywords: podio
pattern: (?i)\b(?:podio)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32}|[A-Za-z0-9]{64})(?![\w-])
entropy: 3.0
confidence: medium
positive: export PODIO_API_KEY="o2A4esUS8a3cHZudqyQKxdZX1bQmdUY9"
positive: podio:\n  api_token: 'fcqJ1ZNQVqgxfei1rKMQw7bsbdeeIWX3'
positive: {"podio_secret": "X2cNoVHWow6f8pMuVKVjZqm6XoAXfCXR"}
negative: export PODIO_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: podio_token = os.environ["PODIO_TOKEN"]
negative: PODIO_SECRET=${PODIO_SECRET}
negative: podio_api_key: "<your-podio-api-key>"
negative: "resolved": "https://registry.npmjs.org/podio-auth/-/podio-auth-1.2.0.tgz#a6708a643f0baa7c53190cdbbb486ce4"

id: pollsapi-api-key
title: PollsAPI key
severity: high
keywords: pollsapi polls_api
pattern: (?i)\b(?:pollsapi|polls_api)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{28})(?![\w-])
entropy: 3.0
confidence: medium
positive: export POLLSAPI_API_KEY="CN5ZYR2VEK35021844C2QL5FNLLA"
positive: pollsapi:\n  api_token: '5AZ5ULG3D6DUILIOAPPTIXRIB25B'
positive: {"pollsapi_secret": "YK8N61X62Z8TCLOHBZZZI6SGN5G1"}
negative: export POLLSAPI_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: pollsapi_token = os.environ["POLLSAPI_TOKEN"]
negative: POLLSAPI_SECRET=${POLLSAPI_SECRET}
negative: pollsapi_api_key: "<your-pollsapi-api-key>"
negative: "resolved": "https://registry.npmjs.org/pollsapi-auth/-/pollsapi-auth-1.2.0.tgz#61d4f16b5632a8f7dd6971bf841b"

id: polygon-api-key
title: Polygon.io API key
severity: high
keywords: polygon
pattern: (?i)\b(?:polygon(?:io|_io|\.io)?)[^\n\r#]{0,20}?(?:\r?\n[^\n\r#]{0,20}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,20}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.5
confidence: medium
positive: export POLYGON_API_KEY="muurtHHlPxIf2ySKCEgVjzNromhJdDij"
positive: polygon:\n  api_token: 'Uhikjhrs7bJx1sQsKioh8BcJRv1rIMlU'
positive: {"polygon_secret": "w5UCm4Xj5mAwO76y4zp0bbyjGU20tLSa"}
negative: export POLYGON_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: polygon_token = os.environ["POLYGON_TOKEN"]
negative: POLYGON_SECRET=${POLYGON_SECRET}
negative: polygon_api_key: "<your-polygon-api-key>"
negative: "resolved": "https://registry.npmjs.org/polygon-auth/-/polygon-auth-1.2.0.tgz#299696e0cc3be044a89d829bace4ba01"

id: positionstack-api-key
title: positionstack access key
severity: high
keywords: positionstack
pattern: (?i)\b(?:positionstack)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export POSITIONSTACK_API_KEY="a67d58bfad1347936a224e969ed56ac2"
positive: positionstack:\n  api_token: 'fccb77199f9f77cb3d147c209af8f701'
positive: {"positionstack_secret": "fba230cefcbde50c4e7598ec9612d5f6"}
negative: export POSITIONSTACK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: positionstack_token = os.environ["POSITIONSTACK_TOKEN"]
negative: POSITIONSTACK_SECRET=${POSITIONSTACK_SECRET}
negative: positionstack_api_key: "<your-positionstack-api-key>"
negative: "resolved": "https://registry.npmjs.org/positionstack-auth/-/positionstack-auth-1.2.0.tgz#05c60eae7dc393f85d9184fc7cb1b0a8"

id: postageapp-api-key
title: PostageApp API key
severity: high
keywords: postageapp postage_app
pattern: (?i)\b(?:postageapp|postage_app)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{32})(?![\w-])
entropy: 3.0
confidence: medium
positive: export POSTAGEAPP_API_KEY="1JCNkqoDxqq9xPrrTpaeqPugKyqgbhwe"
positive: postageapp:\n  api_token: 'BKFHgNhaSVv8GDNgsL7RgAAs2zfoT89M'
positive: {"postageapp_secret": "N5eB1FKSeGkHobr6CIPGoyvDGUyuBsty"}
negative: export POSTAGEAPP_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: postageapp_token = os.environ["POSTAGEAPP_TOKEN"]
negative: POSTAGEAPP_SECRET=${POSTAGEAPP_SECRET}
negative: postageapp_api_key: "<your-postageapp-api-key>"
negative: "resolved": "https://registry.npmjs.org/postageapp-auth/-/postageapp-auth-1.2.0.tgz#46309ce1987080c268136ea3995dc838"

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
pattern: (?i)\b(?:postmark)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12})(?![\w-])
entropy: 3.0
confidence: medium
positive: export POSTMARK_API_KEY="8c60db21-a612-3cb1-a7e0-fa2b7c9b45fd"
positive: postmark:\n  api_token: '4da681a7-a782-a5c4-0e65-56cc58e95c46'
positive: {"postmark_secret": "561149a1-93cb-db14-47c7-7217cfd52a32"}
negative: export POSTMARK_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: postmark_token = os.environ["POSTMARK_TOKEN"]
negative: POSTMARK_SECRET=${POSTMARK_SECRET}
negative: postmark_api_key: "<your-postmark-api-key>"
negative: "resolved": "https://registry.npmjs.org/postmark-auth/-/postmark-auth-1.2.0.tgz#bd3e64ad57e6939f955d64b5de7392335cc3"

id: powrbot-api-key
title: PowrBot API key
severity: high
keywords: powrbot
pattern: (?i)\b(?:powrbot)[^\n\r#]{0,30}?(?:\r?\n[^\n\r#]{0,30}?)?(?:key|token|tkn|secret|access|private|auth|pass(?:word)?|pwd|credential|apikey|bearer)[^\n\r#]{0,30}?\b([A-Za-z0-9]{50})(?![\w-])
entropy: 3.0
confidence: medium
positive: export POWRBOT_API_KEY="5iIrwgzpcyZCPsZcYiRZrvXStT0w7YtaP5i8AU4w3kqIDKfRXG"
positive: powrbot:\n  api_token: 'BjOR3fTm7cHUlN2Xs9niHdkXAHwK5FEN0mYXYHtTqjXp7qBN0e'
positive: {"powrbot_secret": "XN9eKpSUFLruA0yFsrdbkQLjEzKD00YJQJeeGhbfl5anboC6FV"}
negative: export POWRBOT_API_KEY="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: powrbot_token = os.environ["POWRBOT_TOKEN"]
negative: POWRBOT_SECRET=${POWRBOT_SECRET}
negative: powrbot_api_key: "<your-powrbot-api-key>"
negative: "resolved": "https://registry.npmjs.org/powrbot-auth/-/powrbot-auth-1.2.0.tgz#e56d14899f53f7d52f5eaa84cbfe217b424bc253e5dc3543db"

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
negative: privacy_api_key: "<your-privacy-api-key>"
negative: "resolved": "https://registry.npmjs.org/privacy-auth/-/privacy-auth-1.2.0.tgz#fc4f1b549744899c8d4216f777ea613a3aa7"
"""#
}
