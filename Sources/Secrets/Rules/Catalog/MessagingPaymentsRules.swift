extension RuleCatalog {
    /// Messaging, e-mail and payment credentials: Slack, Stripe, Twilio, SendGrid, Mailgun, Mailchimp, Shopify.
    static let messagingPayments = #"""
id: slack-bot-token
title: Slack bot token
severity: high
keywords: xoxb-
pattern: \b(xoxb-[0-9A-Za-z]{6,15}-(?:[0-9A-Za-z]{6,15}-)?[A-Za-z0-9]{24,34})\b
entropy: 3.0
positive: SLACK_BOT_TOKEN=xoxb-862013869838-1685843641801-2QrUxgigO6GGE34o1Cz96ka5
positive: slack_token: "xoxb-66858449381-POWjwJj8dqd2XL7Axjc4EtDd"
negative: SLACK_BOT_TOKEN=xoxb-your-bot-token
negative: xoxb-000000000000-0000000000000-xxxxxxxxxxxxxxxxxxxxxxxx
negative: xoxb-565189063446-5031656742526

id: slack-user-token
title: Slack user token
severity: high
keywords: xoxp-
pattern: \b(xoxp-[0-9A-Za-z]{6,15}(?:-[0-9A-Za-z]{6,15}){1,3}-[A-Za-z0-9]{24,40})\b
entropy: 3.0
positive: SLACK_USER_TOKEN=xoxp-277581723604-268419397709-4185530703069-b7677bc50f7a7d6d1a7632f91c58b285
negative: token = "xoxp-XXXXXXXX-XXXXXXXX-XXXXX"
negative: xoxp-000000000000-000000000000-0000000000000-00000000000000000000000000000000

id: slack-workspace-token
title: Slack workspace or legacy token (xoxa, xoxo, xoxs, xoxr)
severity: high
keywords: xoxa- xoxo- xoxs- xoxr-
pattern: \b(xox[aosr]-(?:\d-)?[0-9A-Za-z]{6,15}(?:-[0-9A-Za-z]{6,15}){0,3}-[A-Za-z0-9]{24,72})\b
entropy: 3.0
positive: SLACK_TOKEN=xoxa-2-784944784326-916592741700-759142548382-0c26c13d41364f6d8a56242b5e98551d78f8a54c88a1309612c8f16d5772ff56
positive: "refresh_token": "xoxr-319773814859-4839475915490-sgwfjrRlvLpkKPq2VQt0e3JKTx6La6cl"
positive: xoxs-5995437711-75446106020-361952417738-1e8bf3244204c9a581310403f6b24df61479386c123fc90fda0bffd553c3ed59
negative: xoxa-2-xxxxxxxx-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: xoxr-token

id: slack-configuration-token
title: Slack app configuration access token
severity: high
keywords: xoxe.xox
pattern: \b(xoxe\.xox[bp]-\d-[A-Za-z0-9]{140,180})\b
entropy: 3.5
positive: SLACK_CONFIG_TOKEN=xoxe.xoxp-1-kL4QFGiuUfJKB12UyJEzsxmmtlnRr272nIVEWjrkpmew8HLXLBxNGJCkMsYGldgjXhoTFBq263RzBfmdUWX96b4ldgTJ9asCHjKpYmXI2MJEnEq4vBRHC82qTj5QcDzmUgdPhcdtPHd81LvHw4hjVFnRAerqWAZcY7v
negative: xoxe.xoxp-1-g5pWHDkE1ob3jp8ngqiAdiO51qvKBfUDINbc1E7I

id: slack-configuration-refresh-token
title: Slack app configuration refresh token
severity: high
keywords: xoxe-
pattern: \b(xoxe-\d-[A-Za-z0-9]{130,170})\b
entropy: 3.5
positive: SLACK_CONFIG_REFRESH_TOKEN=xoxe-1-fa2pijmPzbBrVmFMaaBCR5UxrPEI8YW50iobgAwDPHjB9YTmVyfGtMnPfdzK69C6QSYQJqBUbXGeR5qJLySMkrUVLYcRewydeOd6RPmurJmK9klwDTmifeGeUUGXwHR67hU536s23ducrhP3wt
negative: xoxe-1-gBziBgik9KHaWwJd7PhPw9hMmoFCTYYNJkT8xxbL

id: slack-app-token
title: Slack app-level token
severity: high
keywords: xapp-
pattern: \b(xapp-\d-[A-Z0-9]{9,12}-\d{10,14}-[a-f0-9]{64})\b
entropy: 3.0
positive: SLACK_APP_TOKEN=xapp-1-AGFGC4J1BQB-5901562508285-2cc9a35523e7ce8df7e69afd4aa9916c1fdf2393f8419b8bbf53ea2ceefa8c21
negative: SLACK_APP_TOKEN=xapp-1-A0000000000-0000000000000-your-token

id: slack-webhook-url
title: Slack incoming webhook URL
severity: high
keywords: hooks.slack.com hooks.slack-gov.com
pattern: (https://hooks\.slack(?:-gov)?\.com/services/T(?!0{8,}/)[A-Za-z0-9_]{8,12}/B[A-Za-z0-9_]{8,12}/(?!X{8})[A-Za-z0-9_]{23,24})\b
entropy: 3.0
positive: SLACK_WEBHOOK_URL=https://hooks.slack.com/services/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
positive: webhook: "https://hooks.slack.com/services/TFAOwWl2ncD/Bpa0zwcmvXr/Nw2j9V5iAjDLcZR2Y9xmZ21R"
negative: https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX
negative: https://hooks.slack.com/services/TXXXXXXXX/BXXXXXXXX/XXXXXXXXXXXXXXXXXXXXXXXX
negative: https://hooks.slack.com/services/T123/B456/abc

id: slack-workflow-webhook-url
title: Slack workflow webhook URL
severity: high
keywords: hooks.slack.com
pattern: (https://hooks\.slack\.com/(?:workflows|triggers)/T[A-Za-z0-9]{8,12}/A[A-Za-z0-9]{8,12}/[0-9]{10,20}/[A-Za-z0-9]{32})\b
entropy: 3.0
positive: SLACK_WORKFLOW=https://hooks.slack.com/workflows/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
positive: url = "https://hooks.slack.com/triggers/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"
negative: https://hooks.slack.com/workflows/TXXXXXXXX/AXXXXXXXX/123/abc

id: slack-signing-secret
title: Slack signing secret or client secret (context)
severity: high
keywords: slack
pattern: (?i)slack[\w.-]{0,20}?(?:signing|client|verification)[_.-]?(?:secret|token)[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([a-f0-9]{32}|[A-Za-z0-9]{24})\b
entropy: 3.0
confidence: medium
positive: SLACK_SIGNING_SECRET=a87399f3797976865595106a0819a2ca
positive: slack_client_secret: "e33bc42798f967625d562f5d73339fee"
positive: SLACK_VERIFICATION_TOKEN=AC45JG3O1EbjxLLUINe6xxlA
negative: SLACK_SIGNING_SECRET=${SLACK_SIGNING_SECRET}
negative: SLACK_SIGNING_SECRET=00000000000000000000000000000000

id: stripe-live-secret-key
title: Stripe live secret key
severity: critical
keywords: sk_live_
pattern: \b(sk_live_(?![A-Za-z0-9]{0,240}(?:[Xx]{5}|YOUR|[Yy]our|HERE|[Hh]ere|EXAMPLE|[Ee]xample))[A-Za-z0-9]{10,247})\b
entropy: 3.0
window: 512
positive: STRIPE_SECRET_KEY=sk_live_7dwJHAbO6DytoU8OvlMiQbS1
positive: Stripe.api_key = "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"
negative: STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx
negative: stripe_key = "sk_live_YOUR_SECRET_KEY"
negative: sk_live_yourstripekeyhere
negative: sk_live_riBnd

id: stripe-live-restricted-key
title: Stripe live restricted key
severity: critical
keywords: rk_live_
pattern: \b(rk_live_(?![A-Za-z0-9]{0,240}(?:[Xx]{5}|YOUR|[Yy]our|HERE|[Hh]ere|EXAMPLE|[Ee]xample))[A-Za-z0-9]{20,247})\b
entropy: 3.0
window: 512
positive: STRIPE_RESTRICTED_KEY=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
negative: rk_live_xxxxxxxxxxxxxxxxxxxxxxxx
negative: rk_live_...

id: stripe-test-secret-key
title: Stripe test secret or restricted key
severity: medium
keywords: sk_test_ rk_test_
pattern: \b([rs]k_test_(?![A-Za-z0-9]{0,240}(?:[Xx]{5}|YOUR|[Yy]our|HERE|[Hh]ere|EXAMPLE|[Ee]xample))(?!4eC39HqLyjWDarjtT1zdp7dc)[A-Za-z0-9]{20,247})\b
entropy: 3.0
window: 512
positive: STRIPE_SECRET_KEY=sk_test_51my76yYc5y7HX4h0Zpxbxrc0tnNItJszBfQjelN6w6wNhYjNQ5AUEnpkDVCaGQNwrvuwbBYltDKQRELNQkmJ8iQOrpZmvoWXwH
positive: stripe.api_key = 'rk_test_C3Q3ilqQbS6z08hrw7Y5kiXr'
negative: sk_test_xxxxxxxxxxxxxxxxxxxxxxxx
negative: Stripe.api_key = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
negative: sk_test_...

id: stripe-live-publishable-key
title: Stripe live publishable key
severity: low
keywords: pk_live_
pattern: \b(pk_live_(?![A-Za-z0-9]{0,240}(?:[Xx]{5}|YOUR|[Yy]our|HERE|[Hh]ere|EXAMPLE|[Ee]xample))[A-Za-z0-9]{20,247})\b
entropy: 3.0
window: 512
confidence: high
positive: const stripe = Stripe("pk_live_51nptPpug58tQG2EnlBizDTaoMfJ8EYKQInwNl5D6wbmICAUNNipnDFrwddKJyynj4f0j1Rxt9WkCt09SPNsU7rRNzgfNj4MN7r");
negative: pk_live_xxxxxxxxxxxxxxxxxxxxxxxx
negative: pk_live_...

id: stripe-webhook-secret
title: Stripe webhook signing secret
severity: high
keywords: whsec_
pattern: \b(whsec_(?![A-Za-z0-9]{0,240}(?:[Xx]{5}|YOUR|[Yy]our|HERE|[Hh]ere|EXAMPLE|[Ee]xample))[A-Za-z0-9+/]{32,64}={0,2})(?![A-Za-z0-9+/=])
entropy: 3.5
positive: STRIPE_WEBHOOK_SECRET=whsec_5lvLpC62UFGjbov4FuAkg3WCtXgAFkjX
negative: STRIPE_WEBHOOK_SECRET=whsec_...
negative: whsec_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: twilio-api-key-sid
title: Twilio API key SID (context)
severity: medium
keywords: twilio
pattern: (?i)twilio[\w.-]{0,30}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>|,)\s{0,3}[\\"']{0,3}(SK[0-9a-f]{32})\b
entropy: 3.0
confidence: medium
positive: const twilioApiKeySid = 'SKee50cb50e39d5338390484e28476852a'
positive: 'API' => env('TWILIO_API','SKae8e85a2c5061f7ad393d2b84376a584'),
negative: TWILIO_API_KEY_SID='SKxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'
negative: TWILIO_API_KEY_SID=SK00000000000000000000000000000000

id: twilio-account-sid
title: Twilio account SID (context)
severity: low
keywords: twilio
pattern: (?i)twilio[\w.-]{0,30}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>|,)\s{0,3}[\\"']{0,3}(AC[0-9a-f]{32})\b
entropy: 3.0
confidence: medium
positive: TWILIO_ACCOUNT_SID=ACc8a53273e2e7892d9015a86f79504201
negative: TWILIO_ACCOUNT_SID=ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX

id: twilio-auth-token
title: Twilio auth token or API key secret (context)
severity: high
keywords: twilio
pattern: (?i)twilio[\w.-]{0,30}?(?:auth[_-]?token|secret|token|key)[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>|,)\s{0,3}[\\"']{0,3}([A-Za-z0-9]{32})\b
entropy: 3.3
confidence: medium
positive: TWILIO_AUTH_TOKEN=9706188a37e77d0fd55cfa1d5ba7a7fa
positive: const twilioApiKeySecret = 'OZaC72KfoEUrr3YfjjhdgEnzbxyNLZDU'
positive: 'API_KEY' => env('TWILIO_API_KEY', 'c2iDKwKujPPdCLoxhOdO36QS3BtrpDva')
negative: TWILIO_AUTH_TOKEN=your_auth_token
negative: TWILIO_AUTH_TOKEN=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: TWILIO_AUTH_TOKEN=${TWILIO_AUTH_TOKEN}

id: sendgrid-api-key
title: SendGrid API key
severity: high
keywords: sg.
pattern: \b(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])
entropy: 3.5
positive: SENDGRID_API_KEY=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
positive: sgMail.setApiKey('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');
negative: SENDGRID_API_KEY=SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: msg.qHT49dyOKzbzUZac0SL6b3.ibnuCg3NGRk5JXEdcX5hJuq4HglIDigEHABzpIlOnoo
negative: SG.PqqVT0e6o-XNSkqmo1d1rj

id: mailgun-api-key
title: Mailgun API key (context)
severity: high
keywords: mailgun
pattern: (?i)mailgun[\w.-]{0,25}?(?:key|token|secret|passw\w{0,4})[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}(key-[a-z0-9]{32}|[a-f0-9]{32}-[a-f0-9]{8}-[a-f0-9]{8}|[a-f0-9]{32,72})\b
entropy: 3.0
confidence: medium
positive: MAILGUN_API_KEY=a5bcbc57b4e85f7120961af9a152db50-1530b53b-0477456f
positive: mailgun_api_key: key-mjio7pksq8fgfhx3r2h3hczcnrkrvlex
positive: MAILGUN_SECRET=da30b6d86cdc41f42f870275b7fc23a0
negative: MAILGUN_API_KEY=key-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: MAILGUN_API_KEY=${MAILGUN_API_KEY}

id: mailgun-private-key
title: Mailgun private API key (key- prefix)
severity: high
keywords: key-
pattern: \b(key-(?=[a-z0-9]{0,31}[g-z])(?=[a-z0-9]{0,31}[0-9][a-z0-9]{0,30}[0-9])[a-z0-9]{32})\b
entropy: 3.5
confidence: medium
positive: api_key = "key-ssxa9uqklx8vbskusm2oo18btls4idjn"
negative: cache = "key-edc983e174bd1008709cc922879af061"
negative: key-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: primary-key-constraint-violation-on-insert-statement

id: mailgun-public-key
title: Mailgun public validation key
severity: low
keywords: pubkey-
pattern: \b(pubkey-[a-z0-9]{32})\b
entropy: 3.0
positive: MAILGUN_PUBLIC_KEY=pubkey-o138qxke1pijlsddbsala7wzrgq5amjm
negative: pubkey-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: mailchimp-api-key
title: Mailchimp API key
severity: high
keywords: -us
pattern: \b([a-f0-9]{32}-us[0-9]{1,2})\b
entropy: 3.0
positive: MAILCHIMP_API_KEY=fbe3eeeba814e1482f5730b5ed657843-us21
positive: mailchimp_key = '70a0c22fd3cd1881a13e557e99902422-us6'
negative: MAILCHIMP_API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-us1
negative: locale = en-us
negative: 00000000000000000000000000000000-us1

id: mandrill-api-key
title: Mailchimp Transactional (Mandrill) API key (context)
severity: high
keywords: mandrill
pattern: (?i)mandrill[\w.-]{0,25}?(?:key|token|secret|passw\w{0,4})[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}((?:md-)?[A-Za-z0-9_-]{22})(?![\w-])
entropy: 3.3
confidence: medium
positive: MANDRILL_API_KEY=md-S_taaXyIfBb1224U09wh1_
positive: mandrill_key: "c3czjdM6aoRHQAb6myarBj"
negative: MANDRILL_API_KEY=${MANDRILL_KEY}
negative: MANDRILL_API_KEY=xxxxxxxxxxxxxxxxxxxxxx

id: shopify-access-token
title: Shopify Admin API access token
severity: critical
keywords: shpat_
pattern: \b(shpat_[a-fA-F0-9]{32})\b
entropy: 3.0
positive: SHOPIFY_TOKEN=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
positive: shopify_app_secret: "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"
negative: shpat_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: shpat_441429332576c41f
negative: shpat_00000000000000000000000000000000

id: shopify-custom-app-token
title: Shopify custom app access token
severity: high
keywords: shpca_
pattern: \b(shpca_[a-fA-F0-9]{32})\b
entropy: 3.0
positive: SHOPIFY_TOKEN=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
positive: shopify_app_secret: "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"
negative: shpca_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: shpca_b54006e1bbae94c7
negative: shpca_00000000000000000000000000000000

id: shopify-private-app-token
title: Shopify private app access token
severity: high
keywords: shppa_
pattern: \b(shppa_[a-fA-F0-9]{32})\b
entropy: 3.0
positive: SHOPIFY_TOKEN=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
positive: shopify_app_secret: "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"
negative: shppa_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: shppa_8d7c6ba14408e75c
negative: shppa_00000000000000000000000000000000

id: shopify-shared-secret
title: Shopify app shared secret
severity: high
keywords: shpss_
pattern: \b(shpss_[a-fA-F0-9]{32})\b
entropy: 3.0
positive: SHOPIFY_TOKEN=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
positive: shopify_app_secret: "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"
negative: shpss_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: shpss_02fe340d8c9cd196
negative: shpss_00000000000000000000000000000000

id: slack-session-token
title: Slack browser session token or cookie (xoxc, xoxd)
severity: high
keywords: xoxc- xoxd-
pattern: \b(xox[cd]-[A-Za-z0-9%/+=_-]{30,400})(?![A-Za-z0-9%/+=_-])
entropy: 3.5
positive: SLACK_XOXC=xoxc-327821530181-801360371921-3573765972825-ddb0e6cbbba9c0f99238535dbb04cd94ac5a82cb9fd322f1a31488ee8cdf2d23
positive: Cookie: d=xoxd-BSWYXCd6uHvUUqAbRz9NkY2YynNTFCwcVSKeScTR%2FaCqIhQ6Mi8vK3RL36vVgn74EcaQnCI%3D%3D
negative: token = "xoxc-..."
negative: xoxd-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
"""#
}
