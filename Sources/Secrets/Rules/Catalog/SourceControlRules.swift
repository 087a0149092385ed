extension RuleCatalog {
    /// Source control and CI/CD credentials: GitHub, GitLab, Bitbucket, CircleCI, Travis CI, Jenkins, Buildkite, Drone, Gitea.
    static let sourceControl = #"""
id: github-personal-access-token
title: GitHub personal access token (classic)
severity: critical
keywords: ghp_
pattern: \b(ghp_[A-Za-z0-9]{36})\b
entropy: 3.5
positive: GITHUB_ghp_cP73xNk1blTqs2RpJXC5xdRxXcKWfLjXmrd8EN=ghp_xkhxEwAELXnsZhll4Qc3ePaPUdcjuJqaPdGx
positive: let g:gh_token='ghp_8cnGeRgAMJY6iwPts7jfCONkZQrOSHOM0ZKI'
positive: git clone https://ghp_Kl73jeVEXTOLFpouQccikHO79ARJEbKzwn4N@github.com/acme/infra.git
negative: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: ghp_8r7fu0cvffTjnGfKjrU4
negative: TOKEN_PREFIX = "ghp_"

id: github-oauth-token
title: GitHub OAuth access token
severity: high
keywords: gho_
pattern: \b(gho_[A-Za-z0-9]{36})\b
entropy: 3.5
positive: oauth_token: gho_aeWND4LdJr9TUjdlPsAo98XGGSXs0Hw9vwOo
positive: "url": "git+https://dev:gho_zPWsPcVOdzEtQe0VUQxHVxvo5MHM8DQtkTCu@github.com/acme/site.git"
negative: gho_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: gho_Z9n0q2zlzYa7ROqkBJVA
negative: TOKEN_PREFIX = "gho_"

id: github-user-to-server-token
title: GitHub App user-to-server token
severity: high
keywords: ghu_
pattern: \b(ghu_[A-Za-z0-9]{36})\b
entropy: 3.5
positive: "token": "ghu_SCMlYofSCkfTt8smDSloJ8tskd2AJfPAr6c5",
negative: ghu_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: ghu_HLGqVg1ho4EQ06bImxXN
negative: TOKEN_PREFIX = "ghu_"

id: github-server-to-server-token
title: GitHub App installation (server-to-server) token
severity: high
keywords: ghs_
pattern: \b(ghs_[A-Za-z0-9]{36})\b
entropy: 3.5
positive: git clone http://x-access-token:ghs_gAPo7af2YhIZ8TzB2XRp5F1RSLJmx9mDFAV3@github.com/acme/repo.git
negative: ghs_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: ghs_BOPjsJOjpu7DqLrAsXwp
negative: TOKEN_PREFIX = "ghs_"

id: github-refresh-token
title: GitHub App refresh token
severity: high
keywords: ghr_
pattern: \b(ghr_[A-Za-z0-9]{76})\b
entropy: 3.5
positive: "refresh_token": "ghr_rFoxPARfjQZ4lfApmqTy3VW0ZGUdjQuPRBOpZsZKy8uvSAXg52GqCDNmOiqEMPrZPGdIdbS0tVKK",
negative: ghr_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: ghr_vWDjMjKAaS7PuvQMMRIn
negative: TOKEN_PREFIX = "ghr_"

id: github-fine-grained-pat
title: GitHub fine-grained personal access token
severity: critical
keywords: github_pat_
pattern: \b(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b
entropy: 3.5
positive: GH_TOKEN=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
positive: token: "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"
negative: GH_TOKEN=github_pat_4DQjHeHGK0unSLtdchneaV_B2AtolW1TYIyN0MoFNYpBsYECXCeUE
negative: github_pat_xxxxxxxxxxxxxxxxxxxxxx_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: github-oauth-app-secret
title: GitHub OAuth app client secret or legacy 40-hex token (context)
severity: high
keywords: github gh_
pattern: (?i)(?:github|\bgh_)[\w.-]{0,25}?(?:secret|token|pat(?![a-z])|key|passw\w{0,4})[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([a-f0-9]{40})\b
entropy: 3.0
confidence: medium
positive: GITHUB_CLIENT_SECRET=537fb12dcee854d64c45170fa3caca6c5d250422
positive: github_token: "ac0edd840fa3290bda1bf4c577aba5fbaa3b6711"
positive: GITHUB_SECRET=5e808fc45f6676d08258ae2529ae14493f9d472f
positive: export GH_TOKEN=b5704cd27a97f21ae5aa270e49718ba2340a2e39
negative: GITHUB_SHA=d3bf96b13afa12ec4f755497542a882db74804db
negative: github_token: "0000000000000000000000000000000000000000"
negative: GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}

id: github-oauth-client-id
title: GitHub OAuth / App client ID (context)
severity: low
keywords: github
pattern: (?i)github[\w.-]{0,25}?client[_.-]?id[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}(Iv1\.[a-f0-9]{16}|Iv23[A-Za-z0-9]{16}|[a-f0-9]{20})\b
entropy: 2.8
confidence: medium
positive: GITHUB_CLIENT_ID=3a9f2c56397b52a2df67
positive: github.client-id: Iv1.513b6f3d764c36a9
positive: GITHUB_APP_CLIENT_ID="Iv23BMpMnvoDVNW5nG1j"
negative: GITHUB_CLIENT_ID=your-client-id
negative: GITHUB_CLIENT_ID=9e992ae9b74b

id: git-credential-url
title: Password or token in a GitHub / GitLab / Bitbucket remote URL
severity: high
keywords: @github.com @gitlab.com @bitbucket.org
pattern: (?i)https?://[\w.%-]{1,60}:((?![$%\{<*\[]|(?:password|passwd|pass|token|x-oauth-basic|\*+)@)[^@\s:/'"]{6,100})@(?:github\.com|gitlab\.com|bitbucket\.org)
entropy: 2.5
confidence: medium
positive: git clone https://deploy:e14vzB!V4tTi9nn0w@gitlab.com/acme/infra.git
positive: url = https://jdoe:VKXOX7gYOMoRMKRsQweg9pHv@bitbucket.org/acme/app.git
negative: git clone https://user:password@github.com/acme/app.git
negative: https://${USER}:${TOKEN}@github.com/acme/app.git
negative: https://<user>:<token>@gitlab.com/group/project.git
negative: https://git@github.com/acme/app.git

id: gitlab-personal-access-token
title: GitLab personal, project or group access token
severity: critical
keywords: glpat-
pattern: \b(glpat-[A-Za-z0-9_-]{20,64}(?:\.[A-Za-z0-9]{2}\.[A-Za-z0-9]{9})?)(?![A-Za-z0-9_-])
entropy: 3.0
positive: GITLAB_TOKEN=glpat-itQtAM5FzexKSy3sABnW
positive: --build-arg 'GO_REPO_TOKEN=glpat-NkpVxXEpnqRR1vu48qSl'
positive: PRIVATE-TOKEN: glpat-u1mdpPl9in22LnVvU90yuqdPOx6z5TAvMlyZ.01.j9e6f3685
negative: glpat-xxxxxxxxxxxxxxxxxxxx
negative: glpat-<token>

id: gitlab-deploy-token
title: GitLab deploy token
severity: high
keywords: gldt-
pattern: \b(gldt-[A-Za-z0-9_-]{20,64})(?![A-Za-z0-9_-])
entropy: 3.0
positive: CI_DEPLOY_PASSWORD=gldt-VGN2eKZ7-3yTdJCq6gZd
negative: gldt-xxxxxxxxxxxxxxxxxxxx
negative: gldt-<token>

id: gitlab-pipeline-trigger-token
title: GitLab pipeline trigger token
severity: high
keywords: glptt-
pattern: \b(glptt-[A-Za-z0-9_-]{20,64})(?![A-Za-z0-9_-])
entropy: 3.0
positive: curl -X POST -F token=glptt-f817fbabe0209dfdd404cccf0ac21f66e2861e26 -F ref=main https://gitlab.example.com/api/v4/projects/9/trigger/pipeline
negative: glptt-xxxxxxxxxxxxxxxxxxxx
negative: glptt-<token>

id: gitlab-runner-authentication-token
title: GitLab runner authentication token
severity: high
keywords: glrt-
pattern: \b(glrt-(?:t\d_)?[A-Za-z0-9_-]{20,64})(?![A-Za-z0-9_-])
entropy: 3.0
positive: token = "glrt-2e4GTAA70hcUZ48YxnJx"
positive: token = "glrt-t1_C_GszC_HZFFV5mW44IRz3yDgZ2b"
negative: glrt-xxxxxxxxxxxxxxxxxxxx
negative: glrt-<token>

id: gitlab-runner-registration-token
title: GitLab runner registration token
severity: high
keywords: gr1348941
pattern: \b(GR1348941[A-Za-z0-9_-]{20,40})(?![A-Za-z0-9_-])
entropy: 3.0
positive: gitlab-runner register --registration-token "GR13489413WB1mSqU5Ew7ACy5aZOe" --executor docker
negative: GR1348941xxxxxxxxxxxxxxxxxxxx
negative: REGISTRATION_TOKEN=GR1348941

id: gitlab-ci-job-token
title: GitLab CI/CD job token
severity: high
keywords: glcbt-
pattern: \b(glcbt-[0-9a-fA-F]{1,5}_[A-Za-z0-9_-]{20,64})(?![A-Za-z0-9_-])
entropy: 3.0
positive: JOB_TOKEN=glcbt-ff_hauPAmq1P32DLY8dXJ97
negative: glcbt-xxxxxxxxxxxxxxxxxxxx
negative: glcbt-<token>

id: gitlab-scim-token
title: GitLab SCIM OAuth token
severity: high
keywords: glsoat-
pattern: \b(glsoat-[A-Za-z0-9_-]{20,64})(?![A-Za-z0-9_-])
entropy: 3.0
positive: SCIM_TOKEN=glsoat-mozqBMIh8ibB7XWNHS7D
negative: glsoat-xxxxxxxxxxxxxxxxxxxx
negative: glsoat-<token>

id: gitlab-feature-flag-client-token
title: GitLab feature flags client token
severity: medium
keywords: glffct-
pattern: \b(glffct-[A-Za-z0-9_-]{20,64})(?![A-Za-z0-9_-])
entropy: 3.0
positive: UNLEASH_INSTANCE_ID=glffct-dwgqMMxGl-KblwfH4dBx
negative: glffct-xxxxxxxxxxxxxxxxxxxx
negative: glffct-<token>

id: gitlab-oauth-app-secret
title: GitLab OAuth application secret
severity: high
keywords: gloas-
pattern: \b(gloas-[A-Za-z0-9_-]{64})(?![A-Za-z0-9_-])
entropy: 3.0
positive: GITLAB_APP_SECRET=gloas-615098e174b207be9354ac019d9da87a439a1cdddfae062867dbb5fe6d6aaa96
negative: gloas-xxxxxxxxxxxxxxxxxxxx
negative: gloas-<token>

id: gitlab-incoming-mail-token
title: GitLab incoming mail token
severity: medium
keywords: glimt-
pattern: \b(glimt-[A-Za-z0-9_-]{25})(?![A-Za-z0-9_-])
entropy: 3.0
positive: glimt-8LHqFYMuY3qOjAMyVarskYCUk
negative: glimt-xxxxxxxxxxxxxxxxxxxx
negative: glimt-<token>

id: gitlab-agent-token
title: GitLab agent for Kubernetes token
severity: high
keywords: glagent-
pattern: \b(glagent-[A-Za-z0-9_-]{50})(?![A-Za-z0-9_-])
entropy: 3.0
positive: --set config.token=glagent-o5IvV3TcHypWAvmUENOrIjizocPae6tDJZ2oyGWDExG8JP8pYX
negative: glagent-xxxxxxxxxxxxxxxxxxxx
negative: glagent-<token>

id: gitlab-feed-token
title: GitLab feed token
severity: medium
keywords: glft-
pattern: \b(glft-[A-Za-z0-9_-]{20})(?![A-Za-z0-9_-])
entropy: 3.0
positive: https://gitlab.com/dashboard/issues.atom?feed_token=glft-QjnF0Pngu-u2st8ZXqgd
negative: glft-xxxxxxxxxxxxxxxxxxxx
negative: glft-<token>

id: bitbucket-app-password
title: Bitbucket / Atlassian app password
severity: high
keywords: atbb
pattern: \b(ATBB[A-Za-z0-9_=.-]{32}[A-Fa-f0-9]{8})\b
entropy: 3.5
positive: BITBUCKET_APP_PASSWORD=ATBBueezFNjomIqVEcUKMwWP2lkgsKcqDlF06367A58E
negative: BITBUCKET_APP_PASSWORD=ATBBYn89hfGCOX
negative: ATBBxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx00000000

id: bitbucket-client-secret
title: Bitbucket OAuth consumer secret or app password (context)
severity: high
keywords: bitbucket
pattern: (?i)bitbucket[\w.-]{0,25}?(?:secret|key|token|passw\w{0,4})[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([A-Za-z0-9_=-]{20,64})(?![\w=-])
entropy: 3.5
confidence: medium
positive: bitbucket_secret=EyqkiQLFw55Qj9jBgdq600XBKc7cVKt9
positive: BITBUCKET_APP_PASSWORD: "T0pmR4wucsDTMaTrXvnI"
positive: bitbucket.oauth.key=OeF0D3nTKpYcpVSDEPc_f-tgZMEA39CfRbshGJAHZhCX
negative: BITBUCKET_APP_PASSWORD: "${BB_PASS}"
negative: bitbucket_secret=changeme
negative: bitbucket_key=xxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: bitbucket-client-id
title: Bitbucket OAuth consumer key (context)
severity: low
keywords: bitbucket
pattern: (?i)bitbucket[\w.-]{0,25}?(?:client[_.-]?id|consumer[_.-]?key|_id|\.id)[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([A-Za-z0-9]{18,32})\b
entropy: 3.0
confidence: medium
positive: BITBUCKET_CLIENT_ID=XHwN2QOumV2sIj7uar
positive: bitbucket.consumer.key=Dv3N8NBm6e8tWgYsBqoyJUz78MFf2PGU
negative: BITBUCKET_CLIENT_ID=${BITBUCKET_CLIENT_ID}
negative: bitbucket_id=aaaaaaaaaaaaaaaaaaaaaaaa

id: circleci-personal-token
title: CircleCI personal API token
severity: high
keywords: ccipat_
pattern: \b(CCIPAT_[A-Za-z0-9]{20,30}_[A-Za-z0-9]{40})\b
entropy: 3.5
positive: export CIRCLECI_TOKEN=CCIPAT_iEQPYGFIWGDI27xI6pIlaR_dlkmo8jx3ski44h9izmps2dr2smq4ks0o5srikx4
negative: CIRCLECI_TOKEN=CCIPAT_LoeGfKQaTlRyZsElsbxhbj
negative: CCIPAT_xxxxxxxxxxxxxxxxxxxxxx_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: circleci-project-token
title: CircleCI project API token
severity: high
keywords: cciprj_
pattern: \b(CCIPRJ_[A-Za-z0-9]{20,30}_[A-Za-z0-9]{40})\b
entropy: 3.5
positive: CIRCLE_PROJECT_TOKEN=CCIPRJ_hy8BPmaVdZVPflyYCezkFX_3x3hx7eglxr0sh2utuwi7oi73wl1erazanygyhjy
negative: CCIPRJ_1CcfVtZAf6OZkz3aB3JJMN

id: circleci-token-context
title: CircleCI API token (legacy 40-hex, context)
severity: high
keywords: circle
pattern: (?i)circle[\w.-]{0,25}?(?:token|secret|key)[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([a-f0-9]{40})\b
entropy: 3.0
confidence: medium
positive: CIRCLECI_API_TOKEN: 72056746adf2a86aaf323bd9e8e5d0dd3a263a3f
positive: circleci_project_secret = 'BFFB1D6DAAAF6AD18924da533781c63d3b2a85a7'
negative: CIRCLE_SHA1=e4e1c69b54b952452813ac422c933ca15cb365b2
negative: CIRCLECI_API_TOKEN: ${CIRCLE_TOKEN}
negative: CIRCLECI_TOKEN=0000000000000000000000000000000000000000

id: travisci-token
title: Travis CI API token (context)
severity: high
keywords: travis
pattern: (?i)travis[\w.-]{0,20}?(?:token|key|secret)[\w.-]{0,10}?(?:[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}|\s{1,3}[\\"']{0,1})([A-Za-z0-9_-]{22,40})(?![\w-])
entropy: 3.5
confidence: medium
positive: TRAVIS_TOKEN=OQHEu2YweLzHIsVCtTMNRz
positive: travis_api_token: "m9dJ6gdGaNz1JzK3NN9g1R"
negative: TRAVIS_TOKEN=${TRAVIS_TOKEN}
negative: travis token is stored_in_the_settings_page
negative: TRAVIS_API_TOKEN=xxxxxxxxxxxxxxxxxxxxxx

id: jenkins-api-token
title: Jenkins API token (context)
severity: high
keywords: jenkins
pattern: (?i)jenkins[\w.-]{0,25}?(?:token|passw\w{0,4}|pwd|key|secret|auth|pass)[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}(11[a-f0-9]{32})\b
entropy: 3.0
confidence: medium
positive: export JENKINS_TOKEN=116ac05aa5870fb67a8e8aab09e7c056ba
positive: jenkins_passwd = '11558b07f23a7ae3c41aba4428021bb8dc'
positive: jenkins.api.key: 11655b5e1c2320c3ef6a5facfb2b1e9b3c
negative: JENKINS_TOKEN=${JENKINS_TOKEN}
negative: jenkins_token = "1122b6f713bbb421541377"
negative: jenkins_token = "1100000000000000000000000000000000"

id: jenkins-url-credential
title: Jenkins API token in a URL
severity: high
keywords: jenkins
pattern: (?i)://[\w.%-]{1,60}:(11[a-f0-9]{32})@[\w.-]{0,60}jenkins
entropy: 3.0
positive: curl -X POST https://deploy:112897edc08d6151c2b5b81f5a433d680e@jenkins.internal.example/job/app/build
negative: https://deploy:${TOKEN}@jenkins.internal.example/job/app/build

id: jenkins-crumb
title: Jenkins crumb (CSRF token)
severity: low
keywords: jenkins-crumb
pattern: (?i)Jenkins-Crumb[\\"']{0,3}\s{0,3}[:=]\s{0,3}([a-f0-9]{32,64})\b
entropy: 3.0
confidence: medium
positive: curl -X POST -H 'Jenkins-Crumb:1fe86233349ef08029af474c74741c84' https://ci.example/job/x/build
negative: -H "Jenkins-Crumb:$CRUMB"

id: buildkite-api-token
title: Buildkite API access token
severity: high
keywords: bkua_
pattern: \b(bkua_[a-z0-9]{40})\b
entropy: 3.5
positive: BUILDKITE_API_TOKEN=bkua_b11sqb8o74fqdmx0cmqbwod5ka7totv1m2betyh6
negative: BUILDKITE_API_TOKEN=bkua_1h55uosy8srra8zlixoh
negative: bkua_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: buildkite-agent-token
title: Buildkite agent token (context)
severity: high
keywords: buildkite
pattern: (?i)buildkite[\w.-]{0,20}?agent[\w.-]{0,10}?token[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([a-f0-9]{50}|[A-Za-z0-9]{40,64})\b
entropy: 3.0
confidence: medium
positive: BUILDKITE_AGENT_TOKEN=463adc40b537b1a07d7549e11517d532035bba78ac7ff75369
positive: buildkite_agent_token: "yUMQnRTcACdEBeAqR1XjcBsmbztBvbo0JUbT8si9lDrpKyPZ"
negative: BUILDKITE_AGENT_TOKEN=${AGENT_TOKEN}
negative: BUILDKITE_AGENT_TOKEN=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: buildkite-cluster-agent-token
title: Buildkite cluster agent token
severity: high
keywords: bkct_
pattern: \b(bkct_[A-Za-z0-9]{40,64})\b
entropy: 3.5
positive: token="bkct_MkdRvnsWBXkwO2fLNQYdxIUNhSdtxxb6wsjvjDlCCib"
negative: bkct_tx5dAcDD9V
negative: bkct_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: drone-ci-token
title: Drone CI access token (context)
severity: high
keywords: drone
pattern: (?i)drone[\w.-]{0,20}?(?:token|secret|key)[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([A-Za-z0-9]{32})\b
entropy: 3.3
confidence: medium
positive: export DRONE_TOKEN=Nsf77qVHlXIax19LZ48pOq0zMbThBEW4
positive: DRONE_RPC_SECRET: "jKiLsGCAdh5gJskABNw7liiahzZvs8ii"
negative: DRONE_TOKEN=${DRONE_TOKEN}
negative: DRONE_RPC_SECRET: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: gitea-access-token
title: Gitea / Forgejo access token (context)
severity: high
keywords: gitea forgejo
pattern: (?i)(?:gitea|forgejo)[\w.-]{0,20}?(?:token|secret|key)[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([a-f0-9]{40})\b
entropy: 3.0
confidence: medium
positive: GITEA_TOKEN=026beb9b80e95fcbd3ae75ecfcc7aad60827761a
negative: GITEA_TOKEN=<token>

id: gitlab-session-cookie
title: GitLab session cookie
severity: medium
keywords: _gitlab_session
pattern: \b_gitlab_session=([0-9a-f]{32})\b
entropy: 3.0
positive: curl -H "Cookie: _gitlab_session=d25c0702b8cfd970d1a51652c3f0a341" https://gitlab.acme.io/api/v4/user
negative: Cookie: _gitlab_session=<session>

id: composer-github-oauth
title: GitHub token in Composer auth.json
severity: high
keywords: github-oauth
pattern: "github-oauth"\s{0,3}:\s{0,3}\{\s{0,20}"github\.com"\s{0,3}:\s{0,3}"([a-f0-9]{40}|gh[pousr]_[A-Za-z0-9]{36})"
entropy: 3.0
positive: {\n    "github-oauth": {\n        "github.com": "a137a344ddb301e22e2caa1f37fb40663d32ae07"\n    }\n}
negative: {"github-oauth": {"github.com": "<token>"}}
negative: {"github-oauth": {"github.com": "0000000000000000000000000000000000000000"}}
"""#
}
