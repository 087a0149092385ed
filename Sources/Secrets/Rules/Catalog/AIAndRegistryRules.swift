extension RuleCatalog {
    /// AI provider keys (OpenAI, Anthropic, Hugging Face, Groq, xAI, Replicate and others) and package registry tokens (npm, PyPI, RubyGems, NuGet, Docker Hub).
    static let aiAndRegistries = #"""
id: openai-project-key
title: OpenAI project API key
severity: high
keywords: sk-proj-
pattern: \b(sk-proj-[A-Za-z0-9_-]{40,250})(?![A-Za-z0-9_-])
entropy: 4.0
window: 512
positive: OPENAI_API_KEY=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
positive: client = OpenAI(api_key="sk-proj-RjIutAusp8X2uWmK9QzXWLVxcsgRnPP2aLxDw2BMeyDAvYew")
negative: OPENAI_API_KEY=sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: OPENAI_API_KEY=sk-proj-...
negative: OPENAI_API_KEY=sk-proj-BHD4iamUDl9y

id: openai-service-account-key
title: OpenAI service account API key
severity: high
keywords: sk-svcacct-
pattern: \b(sk-svcacct-[A-Za-z0-9_-]{40,250})(?![A-Za-z0-9_-])
entropy: 4.0
window: 512
positive: OPENAI_API_KEY="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"
negative: sk-svcacct-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: sk-svcacct-52gjEXg5cU

id: openai-admin-key
title: OpenAI admin API key
severity: critical
keywords: sk-admin-
pattern: \b(sk-admin-[A-Za-z0-9_-]{40,250})(?![A-Za-z0-9_-])
entropy: 4.0
window: 512
positive: OPENAI_ADMIN_KEY=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
negative: OPENAI_ADMIN_KEY=sk-admin-...
negative: sk-admin-MfDawb8MCx

id: openai-api-key
title: OpenAI API key (legacy user key)
severity: high
keywords: blbkfj
pattern: \b(sk-[A-Za-z0-9]{20}T\dBlbkFJ[A-Za-z0-9]{20})\b
entropy: 3.5
positive: OPENAI_API_KEY=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
positive: curl https://api.openai.com/v1/models -H "Authorization: Bearer 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"
negative: sk-xxxxxxxxxxxxxxxxxxxxT3BlbkFJxxxxxxxxxxxxxxxxxxxx
negative: marker = "T3BlbkFJ"

id: anthropic-api-key
title: Anthropic API key
severity: high
keywords: sk-ant-api
pattern: \b(sk-ant-api\d{2,3}-[A-Za-z0-9_-]{80,120}AA)(?![A-Za-z0-9_-])
entropy: 3.5
positive: ANTHROPIC_API_KEY=sk-ant-api03-t7Dxu9ZorrC_RT8RGXDOV1Rn1LDPOR2z60drV4eARFfyRc8EHxS-HsBG_cbF--VoouKCqbmMOK3rppY25_E6_NRO2g7FtAA
positive: client = anthropic.Anthropic(api_key="sk-ant-api03-MvuOjagiwc7KTyHlX49Ae3KxBYX3qXgr6WFpw0-lgkGGu2vlmu-VyYAa3_lfXkaNEQ_n5p5BHanGTQATJiEtljEoBsKDCAA")
negative: ANTHROPIC_API_KEY=sk-ant-api03-...
negative: ANTHROPIC_API_KEY=sk-ant-api03-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxAA

id: anthropic-admin-key
title: Anthropic admin API key
severity: critical
keywords: sk-ant-admin
pattern: \b(sk-ant-admin\d{2}-[A-Za-z0-9_-]{80,120}AA)(?![A-Za-z0-9_-])
entropy: 3.5
positive: ANTHROPIC_ADMIN_KEY=sk-ant-admin01-3Hbu5EFZaQO9cJGglP-tgpe2Ddrf8eoOuW7hyjPsHbooqLwWWVUgFOA8zAZq4fSMMGd5wKwZCNh5XdPH2vhvGktOIX_qPAA
negative: sk-ant-admin01-xtyQ513PUQCTYnzruMwX

id: anthropic-oauth-token
title: Anthropic (Claude) OAuth access or refresh token
severity: high
keywords: sk-ant-oat sk-ant-ort
pattern: \b(sk-ant-o[ar]t\d{2}-[A-Za-z0-9_-]{80,120}AA)(?![A-Za-z0-9_-])
entropy: 3.5
positive: CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-GvSFmA2bs2Kr3SxdT7JBPpb_UzIPUA57_EJ3hfM5WQOiVMEOYN2TX47ExGuQbxbf_Qr4ZipJncLOquKlOWLl3uCZK3UGnAA
positive: "refreshToken": "sk-ant-ort01-xVu_AgVipsX2a5atj9QcJEscSmwWECMBiEsY2GDPS7u5xthvpbmY0qwCW2h6Xak100-r76qDl7lwKKNcQsw6oTaCJ67pfAA"
negative: sk-ant-oat01-<token>

id: huggingface-access-token
title: Hugging Face user access token
severity: high
keywords: hf_
pattern: \b(hf_[A-Za-z]{34})\b
entropy: 3.5
positive: HF_TOKEN=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
positive: login(token="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")
negative: HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: from huggingface_hub import hf_hub_download
negative: hf_bGqbvMuaFsyKtlVKftfD

id: huggingface-org-token
title: Hugging Face organization API token
severity: high
keywords: api_org_
pattern: \b(api_org_[A-Za-z]{34})\b
entropy: 3.5
positive: HUGGINGFACE_ORG_TOKEN=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
negative: api_org_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: groq-api-key
title: Groq API key
severity: high
keywords: gsk_
pattern: \b(gsk_[A-Za-z0-9]{52})\b
entropy: 3.5
positive: GROQ_API_KEY=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
negative: GROQ_API_KEY=gsk_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: gsk_4ggyGtBBoqcm03Yk9ckD

id: xai-api-key
title: xAI (Grok) API key
severity: high
keywords: xai-
pattern: \b(xai-[A-Za-z0-9_]{80})(?![A-Za-z0-9_-])
entropy: 3.5
positive: XAI_API_KEY=xai-gVkazst5gyWhr14eyKJ65GwgGqwCbvcLNoyPSAeLYzkfjvfzsWl7jw22g0pKtRA961j5SKwM6m0sfwyn
negative: XAI_API_KEY=xai-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: xai-5iko6CQnMjmBRQiv0lwh

id: replicate-api-token
title: Replicate API token
severity: high
keywords: r8_
pattern: \b(r8_[A-Za-z0-9]{37,45})\b
entropy: 3.5
positive: REPLICATE_API_TOKEN=r8_yrMdtfrAVMfw3zqoqACL1OynP8ZnS3LdyO9kD
negative: REPLICATE_API_TOKEN=r8_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: r8_am4f42Qcu4

id: perplexity-api-key
title: Perplexity API key
severity: high
keywords: pplx-
pattern: \b(pplx-[A-Za-z0-9]{48})\b
entropy: 3.5
positive: PERPLEXITY_API_KEY=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
negative: pplx-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: pplx-krNKxmYWHIDs2NLsJST5

id: openrouter-api-key
title: OpenRouter API key
severity: high
keywords: sk-or-v1-
pattern: \b(sk-or-v1-[a-f0-9]{64})\b
entropy: 3.0
positive: OPENROUTER_API_KEY=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
negative: sk-or-v1-2265242547fc90910f87
negative: sk-or-v1-0000000000000000000000000000000000000000000000000000000000000000

id: langsmith-api-key
title: LangSmith personal or service API key
severity: high
keywords: lsv2_pt_ lsv2_sk_
pattern: \b(lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10})\b
entropy: 3.0
positive: LANGCHAIN_API_KEY=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
positive: LANGSMITH_API_KEY="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"
negative: lsv2_pt_0a0e0f8912db5149313408f6aa77e0be
negative: lsv2_pt_00000000000000000000000000000000_0000000000

id: langfuse-secret-key
title: Langfuse secret key
severity: high
keywords: sk-lf-
pattern: \b(sk-lf-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b
entropy: 3.0
positive: LANGFUSE_SECRET_KEY=sk-lf-80241d83-e6bb-4659-b19d-7cebc389b63d
negative: LANGFUSE_SECRET_KEY=sk-lf-...
negative: sk-lf-00000000-0000-0000-0000-000000000000

id: pinecone-api-key
title: Pinecone API key
severity: high
keywords: pcsk_
pattern: \b(pcsk_[A-Za-z0-9]{4,8}_[A-Za-z0-9]{50,80})\b
entropy: 3.5
positive: PINECONE_API_KEY=pcsk_2nCo3T_qQ1xS7BjhwBB9jLKmw6w7XMdDXC5mvHNutcDGYIilVUCxrf80tZv220d7oJHXIl
negative: PINECONE_API_KEY=pcsk_xxxxx_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: pcsk_9riImj_y8hCUs8mAZ

id: pinecone-api-key-legacy
title: Pinecone API key (legacy UUID, context)
severity: high
keywords: pinecone
pattern: (?i)pinecone[\w.-]{0,20}?(?:key|token|secret)[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b
entropy: 3.0
confidence: medium
positive: PINECONE_API_KEY=037726dc-17ff-44ce-a0d5-b1f93cfb7ea7
negative: PINECONE_API_KEY=00000000-0000-0000-0000-000000000000
negative: PINECONE_API_KEY=<your-key>

id: fireworks-api-key
title: Fireworks AI API key
severity: high
keywords: fw_
pattern: \b(fw_(?=[A-Za-z0-9]{0,23}[0-9])(?=[A-Za-z0-9]{0,23}[A-Z])(?=[A-Za-z0-9]{0,23}[a-z])[A-Za-z0-9]{24})\b
entropy: 3.8
confidence: medium
positive: FIREWORKS_API_KEY=fw_latRrpwkJ0HMX1UOsyZtA1b2
negative: fw_versionnumbercomparison
negative: fw_xxxxxxxxxxxxxxxxxxxxxxxx
negative: fw_qvez25UjfY

id: together-api-key
title: Together AI API key
severity: high
keywords: tgp_v1_
pattern: \b(tgp_v1_[A-Za-z0-9_-]{40,50})(?![A-Za-z0-9_-])
entropy: 3.5
positive: TOGETHER_API_KEY=tgp_v1_Ozn7wlH7IekkxCFC2bhvROO41YnRxfE-RBuZRQf9I5w
negative: TOGETHER_API_KEY=tgp_v1_...
negative: tgp_v1_hyq6IttwlU

id: together-api-key-legacy
title: Together AI API key (64-hex, context)
severity: high
keywords: together
pattern: (?i)together[\w.-]{0,20}?(?:key|token|secret)[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([a-f0-9]{64})\b
entropy: 3.0
confidence: medium
positive: TOGETHER_API_KEY=88c98698951658d4ca40c3bdeaca2709ad14f7306deecfdccfa159b90ae46c55
negative: TOGETHER_API_KEY=${TOGETHER_API_KEY}
negative: together_key = "0000000000000000000000000000000000000000000000000000000000000000"

id: cohere-api-key
title: Cohere API key (context)
severity: high
keywords: cohere co_api_key
pattern: (?i)(?:cohere|\bco_api)[\w.-]{0,20}?(?:key|token|secret)[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([A-Za-z0-9]{40})\b
entropy: 3.5
confidence: medium
positive: COHERE_API_KEY=mZ7xWX3SK5vgZwxWZ5PJICmNjxI8FOnf1N7oM3EY
positive: co = cohere_api_key="K9gVOmsPX668WaynznXesXcEkvkseFhVTW10YV9M")
negative: COHERE_API_KEY=<your-api-key>
negative: COHERE_API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: mistral-api-key
title: Mistral AI API key (context)
severity: high
keywords: mistral
pattern: (?i)mistral[\w.-]{0,20}?(?:key|token|secret)[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([A-Za-z0-9]{32})\b
entropy: 3.5
confidence: medium
positive: MISTRAL_API_KEY=cPBVFadmLzfwkcD0JoYyx9xo3CCrt3wS
negative: MISTRAL_API_KEY=your_api_key_here_please_1234567
negative: MISTRAL_API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: deepseek-api-key
title: DeepSeek API key (context)
severity: high
keywords: deepseek
pattern: (?i)deepseek[\w.-]{0,20}?(?:key|token|secret)[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}(sk-[a-f0-9]{32})\b
entropy: 3.0
confidence: medium
positive: DEEPSEEK_API_KEY=sk-4314f6573c4aaf46bcd4cfe30e987a76
negative: DEEPSEEK_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: DEEPSEEK_API_KEY=<key>

id: nvidia-api-key
title: NVIDIA API catalog (NIM) key
severity: high
keywords: nvapi-
pattern: \b(nvapi-[A-Za-z0-9_-]{64})(?![A-Za-z0-9_-])
entropy: 3.5
positive: NVIDIA_API_KEY=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
negative: NVIDIA_API_KEY=nvapi-gvXNi7be8GEu8CIWbcxR
negative: nvapi-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: wandb-api-key
title: Weights & Biases API key
severity: high
keywords: wandb
pattern: (?i)(?:wandb[\w.-]{0,20}?(?:key|token)[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}|api\.wandb\.ai\s{1,5}login\s{1,5}\S{1,60}\s{1,5}password\s{1,5})([a-f0-9]{40})\b
entropy: 3.0
confidence: medium
positive: WANDB_API_KEY=0a65a49abb304102f9d6937a0e9d14b0dda31b54
positive: machine api.wandb.ai\n  login user\n  password df8ada9402f57e8d6fce15976a31e11ae40b70d3
negative: WANDB_API_KEY=$WANDB_API_KEY
negative: WANDB_API_KEY=0000000000000000000000000000000000000000

id: provenant-server-token
title: Provenant fleet server token
severity: critical
keywords: pvt_
pattern: (?<![A-Za-z0-9_-])(pvt_[A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])
entropy: 3.5
positive: PROVENANT_SERVER_TOKEN=pvt_NypixG063lZp_zu35aWGmayPuLNVVaY71D601Hnaeb0
positive: Authorization: Bearer pvt_ao2g5LZnILT_91zZoF4u7zfwqYvIgA6TUt8o8FswS20
negative: PROVENANT_SERVER_TOKEN=pvt_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: pvt_key_rotation_schedule

id: npm-access-token
title: npm access token
severity: critical
keywords: npm_
pattern: \b(npm_[A-Za-z0-9]{36})\b
entropy: 3.5
positive: //registry.npmjs.org/:_authToken=npm_puVWVfbkaUcHC2TmhCzl39bZ9RaClvA6IcVN
positive: NPM_TOKEN=npm_YIlWM2T1UtDnl6URsg0iohT1S5qRfS9H7vzz
negative: NPM_TOKEN=npm_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: npm_config_registry
negative: npm_vTI1o5J1iGGp0PlEy9uV

id: npm-legacy-token
title: npm access token (legacy UUID format, context)
severity: high
keywords: _authtoken npm_token npmtoken npm-token npm_auth_token npmauthtoken
pattern: (?i)(?:_authToken|npm[_-]?(?:auth[_-]?)?token|npmAuthToken)[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b
entropy: 3.0
confidence: medium
positive: //registry.npmjs.org/:_authToken=b5302101-8e37-4eb0-89c6-4594b51d17cf
positive: "_authToken": "2bf31b3c-0c10-40ec-88c5-60e6805ccd53"
positive: export NPM_TOKEN="1bc083f9-e106-431b-9228-43042f9d0956"
positive: npmAuthToken: "04d031b2-df61-4106-a549-8aeadf4fc88f"
negative: //registry.npmjs.org/:_authToken=${NPM_TOKEN}
negative: NPM_TOKEN=00000000-0000-0000-0000-000000000000

id: npmrc-basic-auth
title: npm registry basic auth (_auth in .npmrc)
severity: high
keywords: _auth
pattern: (?:^|\n)\s{0,4}(?://[\w.:/-]{1,100}:)?_auth[ \t]{0,4}=[ \t]{0,4}["']?([A-Za-z0-9+/]{12,300}={0,2})["']?\s{0,3}(?:\r?\n|$)
entropy: 3.5
confidence: medium
positive: registry=https://npm.acme.internal/\n_auth=Cq8KerUD/R81HioROzhFUKs/EoLf0a8gdG1f7Ffw\nalways-auth=true
positive: //npm.acme.internal/:_auth=i9YJDY/ry/RFn+AxVnsawkCQSXnVC0BS==
positive: //npm.acme.internal/:_auth = i9YJDY/ry/RFn+AxVnsawkCQSXnVC0BS==
negative: self._auth = auth\n
negative: _auth=${NPM_AUTH}\n
negative: _auth = HTTPBasicAuth(user, pw)\n

id: pypi-upload-token
title: PyPI upload token
severity: critical
keywords: pypi-ageichlwas5vcmc
pattern: \b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,500})(?![A-Za-z0-9_-])
entropy: 3.5
window: 1024
positive: [pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmcCJg5_017ZjARAq4GQk1pqowjJo3iduyEX2TtVuJ0A_nynxW8_ghZiDrXTcdguO6HvGADHGsdwxyLHyEaRHF0pPhWo6LwKwl7hYQUBw7JFj6jsFZC3O0n8EfgbDyW4LZUV6g5AMbBE-37oyGJFKAiG9i7
negative: password = pypi-AgEIcHlwaS5vcmc1d5MOWwwuA
negative: password = pypi-AgEIcHlwaS5vcmcxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: test-pypi-upload-token
title: TestPyPI upload token
severity: medium
keywords: pypi-agendgvzdc5wexbplm9yzw
pattern: \b(pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9_-]{50,500})(?![A-Za-z0-9_-])
entropy: 3.5
window: 1024
positive: TEST_PYPI_TOKEN=pypi-AgENdGVzdC5weXBpLm9yZwIk-WTz0TTkbq-_d91r2DqREUw2pzC0tau_rk3uU-apayuslQSjhk1CV2nR0ljAf8bf0DnmT8u9_v3ViWbLNcQLCucJnN3H09R-wKazG2i9Mmb5WaBUZkJ1veSVxenpS1gJ6DZaxIQI00OVnyGUgtWpmg
negative: pypi-AgENdGVzdC5weXBpLm9yZwkkfDaWn7X-

id: rubygems-api-key
title: RubyGems API key
severity: critical
keywords: rubygems_
pattern: \b(rubygems_[a-f0-9]{48})\b
entropy: 3.0
positive: GEM_HOST_API_KEY=rubygems_b7126dda86c3080940859ac59cfe02bef3a60de1b71ca352
positive: :rubygems_api_key: rubygems_505bbb0fe83c1a769beb367e33827dba39872e610156d8c7
negative: rubygems_4f4a8093c9057bfadee3
negative: rubygems_000000000000000000000000000000000000000000000000
negative: rubygems_api_key

id: nuget-api-key
title: NuGet API key
severity: high
keywords: oy2
pattern: \b(oy2[a-z0-9]{43})\b
entropy: 3.5
positive: dotnet nuget push pkg.nupkg --api-key oy26shu5hg2k6dsrx76kgr57insa5tsn00xy4tecfuhqi9 --source https://api.nuget.org/v3/index.json
negative: --api-key oy2xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: oy248nyblypaqr79g1c7dvl

id: nuget-api-key-context
title: NuGet API key (context)
severity: high
keywords: nuget
pattern: (?i)nuget[\w. -]{0,25}?(?:api[_-]?key|key|secret|token)[\\"']{0,3}(?:\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}|\s{1,3})[\\"']{0,3}([a-z0-9]{46})\b
entropy: 3.5
confidence: medium
positive: NUGET_API_KEY=spozcbnuikcryvsgtx6op3zih3u4299utt8vljvx1hn2te
positive: nuget secret 1ho53yngsc3un1bzw2kepuyirzqu7jo8bweh3enwz5gepr
negative: NUGET_API_KEY=$(NUGET_KEY)
negative: nuget key = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: nuget-config-password
title: Cleartext password in NuGet.config
severity: high
keywords: cleartextpassword
pattern: (?i)key\s{0,2}=\s{0,2}"ClearTextPassword"\s{1,5}value\s{0,2}=\s{0,2}"((?![$%\{]|password")[^"]{4,200})"
positive: <packageSourceCredentials><acme><add key="Username" value="ci" /><add key="ClearTextPassword" value="esUbIc0Qbun5Myarxtdf" /></acme></packageSourceCredentials>
negative: <add key="ClearTextPassword" value="%FEED_PASSWORD%" />
negative: <add key="ClearTextPassword" value="$(FeedPassword)" />

id: dockerhub-personal-access-token
title: Docker Hub personal access token
severity: high
keywords: dckr_pat_
pattern: \b(dckr_pat_[A-Za-z0-9_-]{27})(?![A-Za-z0-9_-])
entropy: 3.5
positive: docker login -u ci -p dckr_pat__IbsHWJhp2QYCgX0zVFAEVBx4j2
positive: DOCKERHUB_TOKEN=dckr_pat_gYgNL88OJDNVAd6ta2AtEOQLRc-
negative: DOCKERHUB_TOKEN=dckr_pat_xxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: dckr_pat_Sef7fs4TEg

id: dockerhub-org-access-token
title: Docker Hub organization access token
severity: high
keywords: dckr_oat_
pattern: \b(dckr_oat_[A-Za-z0-9_-]{32})(?![A-Za-z0-9_-])
entropy: 3.5
positive: DOCKER_ORG_TOKEN=dckr_oat_5TgbE1f0Gt43STvM6ofdo6zLiFU3ugxR
negative: dckr_oat_UVCAgQE8J1

id: docker-config-auth
title: Registry credentials in a Docker config.json
severity: high
keywords: "auths"
pattern: (?i)"auths"\s{0,3}:\s{0,3}\{[\s\S]{0,300}?"auth"\s{0,3}:\s{0,3}"([A-Za-z0-9+/]{8,400}={0,2})"
entropy: 3.0
window: 1024
positive: {\n  "auths": {\n    "https://index.docker.io/v1/": {\n      "auth": "k3sPz05ijv+hCCaJWOVJLdh/55UuxtPm617WtZzq"\n    }\n  }\n}
negative: {"auths": {"https://index.docker.io/v1/": {}}, "credsStore": "desktop"}
negative: {"auths": {"ghcr.io": {"auth": ""}}}

id: docker-login-password
title: Password passed to docker login on the command line
severity: high
keywords: docker
pattern: (?i)docker\s{1,3}login\b[^\n]{0,160}?\s(?:-p|--password)[ =]\s{0,2}["']?((?![$%\{<*])(?!(?:my|your)?[_-]?(?:password|passwd|pass|token)["'\s])[^\s"']{6,200})
entropy: 3.0
window: 512
confidence: medium
positive: docker login -u deploy -p QWoKhiT3qnW14aZ1 registry.acme.io
positive: docker login --username ci --password "aJlx38l9ab6fjTtaIzBj" ghcr.io
negative: docker login -u "$DOCKER_USER" -p "$DOCKER_PASS"
negative: docker login --password-stdin -u ci
negative: docker login -u ci -p ${{ secrets.DOCKERHUB_TOKEN }}
negative: docker login -u myuser -p mypassword registry.example.com

id: rubygems-legacy-api-key
title: RubyGems API key (legacy 32-hex, credentials file)
severity: high
keywords: rubygems_api_key
pattern: (?i):?rubygems_api_key:?\s{0,3}[\\"']?([a-f0-9]{32})\b
entropy: 3.0
confidence: medium
positive: ---\n:rubygems_api_key: 33fc7ddb9749d9b37814d5d4888610f9\n
negative: ---\n:rubygems_api_key: rubygems_d9fe5576e4f6600e682cc6210c430e3515bc18bfe8c0feec\n
negative: :rubygems_api_key: 00000000000000000000000000000000
"""#
}
