extension RuleCatalog {
    static let cloud = ""
    static let sourceControl = ""
    static let messagingPayments = ""
    static let aiAndRegistries = ""
    static let keysAndConnections = #"""
id: github-pat-classic
title: GitHub personal access token (classic)
severity: critical
keywords: ghp_
pattern: \b(ghp_[A-Za-z0-9]{36})\b
positive: token = "ghp_R7wQ2bX9kLm4Np8sT1vY6zC3dF5gH0jK2mQe"
negative: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: aws-access-key-id
title: AWS access key ID
severity: high
keywords: akia asia
pattern: \b((?:AKIA|ASIA)[A-Z2-7]{16})\b
positive: AKIAZ4X7Q2MN5PLR3KW6
negative: AKIAIOSFODNN7EXAMPLE
"""#
    static let providersAtoC = ""
    static let providersDtoF = ""
    static let providersFtoK = ""
    static let providersLtoP = ""
    static let providersPtoS = ""
    static let providersTtoZ = ""
}
