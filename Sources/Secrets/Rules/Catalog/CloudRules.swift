extension RuleCatalog {
    /// Cloud provider credentials: AWS, Google Cloud and Google APIs, Azure, DigitalOcean, Heroku.
    static let cloud = #"""
id: aws-access-key-id
title: AWS access key ID
severity: high
keywords: akia asia abia acca
pattern: \b((?:AKIA|ASIA|ABIA|ACCA)(?![A-Z2-7]{9}EXAMPLE)[A-Z2-7]{16})\b
entropy: 3.0
positive: aws_access_key_id = AKIANDIBHUAPMDGOH542
positive: export AWS_ACCESS_KEY_ID="ASIALFN7UDGNJX36VG7P"
positive: {"AccessKeyId": "AKIASVX2WNLDF4RODEEJ", "Status": "Active"}
negative: aws_access_key_id = AKIAIOSFODNN7EXAMPLE
negative: key = "AKIAXXXXXXXXXXXXXXX"
negative: prefix = "AKIA"  # long-term keys start with AKIA
negative: ASIAPACIFIC region list

id: aws-secret-access-key
title: AWS secret access key
severity: critical
keywords: secret secretaccesskey
pattern: (?i)(?:aws[\w.-]{0,20}?secret|secret_?-?access_?-?key)[\w.-]{0,20}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}(?![A-Za-z0-9/+]{30}EXAMPLEKEY)([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])
entropy: 4.0
confidence: medium
pair: aws-access-key-id
positive: aws_secret_access_key = BusPpuH+An0p2ALquUn17jkWJ+ceSQUTtWk3dR87
positive: export AWS_SECRET_ACCESS_KEY="uZfASoikpD7HXpKgIimcPI4hWMniGyXqRvxISs+Y"
positive: "SecretAccessKey": "TKZ603OGnYkh1YaCNgRSDeSRpdpsdeqpWi4zyjjQ",
positive: spring.cloud.aws.credentials.secretKey=WLRTLuAeL7lsY9e3X9vSW75tjQOctRd9NRM9y4HH
positive: {"type": "s3", "accessKeyId": "AKIAYAE4BUY3JXTTIPDR", "secretAccessKey": "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"}
negative: aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
negative: aws_secret_access_key = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: aws_secret_access_key = os.environ["AWS_SECRET_ACCESS_KEY"]
negative: aws_secret_access_key = gruTssWRD90oKzZAIr1oyLXWOmF1/0/njbOJp9s9ZmJDEkfnoe

id: aws-secret-access-key-near-id
title: AWS secret access key next to its access key ID
severity: critical
keywords: akia asia
pattern: \b(?:AKIA|ASIA)[A-Z2-7]{16}\b(?:["']\s{0,3},\s{0,3}["']|[\s\S]{0,200}?secret[\w.-]{0,20}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3})(?![A-Za-z0-9/+]{30}EXAMPLEKEY)([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])
entropy: 4.0
window: 512
pair: aws-access-key-id
positive: provider "aws" {\n  access_key = "AKIAE7C4PJ44YLSUTTSU"\n  secret_key = "U5dpIPLODGjKmGBYT9HR1abdt6giCv4mJ0A7CIqq"\n}
positive: AWSCredentials creds = new BasicAWSCredentials("AKIAWAQ2B7SLC6BAJAWS", "g2NYKs6WOJU4oSItOSYychnTT31DjLMhHRP2MKM0");
negative: access_key = "AKIAIOSFODNN7EXAMPLE"\nsecret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
negative: access_key = "AKIAH2GYVCAAX6I7IH6E"\nsecret_key = var.secret_key

id: aws-session-token
title: AWS temporary session token
severity: high
keywords: iqojb3jpz2lu fwogzxivyxdz fqogzxivyxdz aqodyxdz agojb3jpz2lu
pattern: \b((?:IQoJb3JpZ2lu|AgoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz|AQoDYXdz)[A-Za-z0-9/+=]{100,3000})
window: 4096
positive: aws_session_token = IQoJb3JpZ2luX2VjE/T0B3+ipo1CiL6s6Guv2nhQ1RYDiCo6YV6aXBNv8VvAaBas4sNK/JsNAKNwgieDPSShBkcXRJbbI/6itpEMo9ISIqfo0VvYgxXHpkimJoiddX0sejiTXAM0tKYdmb3MZv2kJDRCzHO4TdivZlVERQjK1TrzNwBo164KH3scLLhnQ/ldBnmkBGfvHB17e5RAfAZtBjsHvKVHbUhQrMNW5ZDwq4GTrYhgT/oBT3wD85UFYDN3/oU6DoZD3rhoBP+zyoJ2lOkaE6x7tmr/vai5NTssCUhMP54HwWuhpwt8ZEjqx
positive: "SessionToken": "FwoGZXIvYXdzEsVTnDUjH1+pABapY4l2EI29KELgwzGHwJgZ/l2lhjVAVWUoQ7pm5ELly2e5B90ZqoJK0y/ZK2dXaBaHbZFsWiNHiFWGvNngh77owEyiAmwhAudufoPvuqH6vBCwRuKKfkHY2jyf239kMenEHsyb7eIDHiKseBMoFiUDH3dx34ASlCpUQc5+rAuvqGeljwcsdC/2lbBn2awPKyKTZ4QH+O3uggB0qfZ/UjF3A99IlDjScHZ7sSFR6FL4zSd"
negative: aws_session_token = IQoJb3JpZ2luX2VjE
negative: token = "FwoGZXIvYXdz..."

id: aws-session-token-assignment
title: AWS session token assignment
severity: high
keywords: aws_session_token aws-session-token awssessiontoken aws_security_token
pattern: (?i)aws[_.-]?(?:session|security)[_.-]?token[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([A-Za-z0-9/+=._-]{100,3000})
entropy: 4.0
window: 4096
confidence: medium
positive: export AWS_SESSION_TOKEN="Jo+yhCxeTzmyjHiuRCy0CvcJD/uE9WNEGm0iaWDSMzKYWhoI/uMyTTkNnvdfea2G8KlFfMKk4UnwqnQO3VTWEkZ9thUrbjEF95DfKcCBF5/fkftsFdMkEuhjsXherKRGX7o7Dz7U6BvC18oSeqPBMJjh0Y8KiM/li4IgXIubx6rZPwbYUNVYaie8djUbUAP5hVPUhHS+/flUJQj+BqavLAOpV/toKT3Py9uiAj3xGVY2V2uxNWnDsPlJ+ex52z6JO82z9G3LCfxZMaU3dR/UwQLVxm6HFrAC6SpZypRtPg1x3oosLr0Nxzqub7n8Z63U"
positive: aws_session_token=eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.jSB85za72JZdJgCbtgprUEoT-TAyYuIORFP1QjWL9T9672R2ds64Jprmd53reQf4Oga2dicanVpHme_VeVP7mR7q3yI9cRHeBQf1PtlEsknRSDFXfVjQq6SAlMw6qBmOAADIY1Qa7dC_dhuvsa9yAWgJxHqGXJuDJ0lS94yx4K9--EWOXaAmV2j1hFarmVD88fXU9pEDG65jyIxZRq8L_NrahOj9TZg653VtjQJT6-ccjEkrbn-5fi3XIqEvqzHYsKgUTjxmmHpW-xF5BrPrdwFmQAxcShYILSydLd7YWxs9D5TJjXFoLV8pxsRvqJfPMBX2h8uVwNjC2dqKs5zyG3e0LFJ9D5Ooj2o7Szo0-qrypzrh4zsV3RvlPR-Hg9U0Jet2l-WYo4eDnA2x.PNAh09Ieie66joEe4XLJT3Ethv6uVwHy-Fuq6oVDdWLiCK1SfoeghO3b_cG9rD6XB1nM2RZ2Fyyzd5Xc19lHHH
negative: export AWS_SESSION_TOKEN="${AWS_SESSION_TOKEN}"
negative: aws_session_token = None
negative: AWS_SESSION_TOKEN = os.getenv("AWS_SESSION_TOKEN")

id: aws-mws-auth-token
title: Amazon MWS auth token
severity: high
keywords: amzn.mws.
pattern: \b(amzn\.mws\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b
positive: MWS_AUTH_TOKEN=amzn.mws.a9338f83-94f5-4db8-9942-e486b08e439e
negative: MWS_AUTH_TOKEN=amzn.mws.your-token-here

id: aws-bedrock-api-key
title: Amazon Bedrock long-term API key
severity: high
keywords: absk
pattern: \b(ABSKQmVkcm9ja0FQSUtleS[A-Za-z0-9+/]{60,300}={0,2})
window: 512
positive: AWS_BEARER_TOKEN_BEDROCK=ABSKQmVkcm9ja0FQSUtleS++ku1CdhuoIa3vBXR0EHnr8Cykr4Pv3Wu44vSNpTouilKLBPJI1gNTrPzsgCnP6lE+9n1Vk4d06XeFb8xXs7CmEEaMG8YsJ2K+qInFaq4odi
negative: AWS_BEARER_TOKEN_BEDROCK=ABSKQmVkcm9ja0FQSUtleS

id: aws-bedrock-short-term-key
title: Amazon Bedrock short-term API key
severity: high
keywords: bedrock-api-key-
pattern: \b(bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t[A-Za-z0-9+/=%]{100,3000})
window: 4096
positive: AWS_BEARER_TOKEN_BEDROCK=bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t3uB+ZDfUhUZUuDgBhVfQkAoAK+bxgibyrDjOp64DrholsXtcvH5JIpRDhfKldjBo+06O3p0UXgfjFAknW6sef+4dbOphQt/a3Dhi20umUfAMpZXyw97hLEIWLGoGxDdQrWEZ/k5zsJLh6/rTK9gEeREQMEE+zsTGaVSOruq+OCWNAqGWCVf5RAQkS5aJNFbxKnBciOufZFUxc3/t3zjkH3fFSWF2JyzNNR7curRNd7R/pb78uBapDCJjTG0TaWwKyx+I8zYqgKnZ6Xisctvnzgfp8me2hKLtDaDyUN8/OOQ+8ljsd/Esdm+rNegDf6ybtETcd6dee5BQiAYD90dZEZih7ZZwA8RjGQcquD8Y82DOpXEXtvkcF6mskvS6JahEv4exUrnmGvsO+C5n
negative: name: bedrock-api-key-rotation

id: gcp-service-account-key
title: Google Cloud service account key file
severity: critical
keywords: service_account
pattern: "type"\s{0,3}:\s{0,3}"service_account"[\s\S]{0,400}?"private_key"\s{0,3}:\s{0,3}"(-----BEGIN (?:RSA )?PRIVATE KEY-----(?:\\n|[A-Za-z0-9+/=\s]){64,6000}?-----END (?:RSA )?PRIVATE KEY-----(?:\\n)?)"
window: 8192
positive: {\n  "type": "service_account",\n  "project_id": "billing-prod-9762",\n  "private_key_id": "ef91cd632e7702d888dcdb3a2d15bae465f09137",\n  "private_key": "-----BEGIN PRIVATE KEY-----\\ngFQf3jFsky36cDjmF8yM7kA/H9P+xt02+am/slhlbsOrOJc16wkVvYk7UbvqG/Xl\\nLwUMBQF+xHDY/6snm7LuSVCybVsEu5MegMRsN1F5FWVNC0Tnh+Px/mTiA5PHYBb/\\nphiKci3ERUnuudlUdd6E2733dBULdR2wLggFnm5nWo1loQ12JSxaGrDgCyFa6IlG\\n0ni5SKAVtfmNntsveM0TNe7x4Ifr/v73xBQ9APpmIe2S894jwyXW24VlHsdeCIYN\\nL3qqQWDza6WGfhyAxG8uvrJ6z9XNNQNfOeFjGwgCkCLgtEzM1o/0uAmrqkdrU2OT\\nFg8LmsO9HM3AL3ndqwmT03eaaAbU9xOw2C+D/0TOv7snJ62xZ1JeGTOtVrh4RF5z\\nylFDUwzYzQkNCW40sWssZNXUIyTNb7DTWJBgvwd6qWdWn/SKbe0E4L6JNUJC6JzU\\nuNajKzrvxVXwKiRCiziRIF71Y+dsR+kFAoI3p8XTo60hQPh4Xp7MH5UiyGsvnm+N\\n-----END PRIVATE KEY-----\\n",\n  "client_email": "deployer@billing-prod.iam.gserviceaccount.com"\n}
negative: {"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----\\n"}
negative: if info["type"] == "service_account":

id: gcp-service-account-key-id
title: Google Cloud service account private key ID
severity: high
keywords: service_account
pattern: "type"\s{0,3}:\s{0,3}"service_account"[\s\S]{0,300}?"private_key_id"\s{0,3}:\s{0,3}"([0-9a-f]{40})"
entropy: 3.0
window: 512
positive: {"type": "service_account", "project_id": "etl-04403", "private_key_id": "3416b024270143444112976804aababecc63fa33", "private_key": "<redacted>"}
negative: {"type": "service_account", "private_key_id": "0000000000000000000000000000000000000000"}
negative: {"type": "service_account", "private_key_id": "<key-id>"}

id: gcp-credential-context
title: Google Cloud credential (context)
severity: high
keywords: gcp gcloud google_cloud google-cloud
pattern: (?i)\b(?:gcp|gcloud|google[_-]cloud)[\w.-]{0,20}?(?:secret|private[_-]?key[_-]?id|key|token)[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([A-Za-z0-9]{39,40})\b
entropy: 3.3
confidence: medium
positive: GCP_SECRET = "3rOCHkCjRAqLCunVd84wxRhmL4gDMTeUy8vejjal"
positive: gcloud_private_key_id: c27632a81227ca7e9f0d22d4b5d87b68c14e80f3
negative: GCP_SECRET = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: gcp_key = "shortWvsmilSsSg"

id: gcp-service-account-email
title: Google Cloud service account identity in a credentials file
severity: low
keywords: iam.gserviceaccount.com
pattern: "client_email"\s{0,3}:\s{0,3}"([\w.-]{1,80}@[\w-]{1,80}\.iam\.gserviceaccount\.com)"
confidence: medium
positive: {"client_email": "ci-runner@proj-445997.iam.gserviceaccount.com", "client_id": "644706031147897333478"}
negative: Grant the role to ci-runner@proj.iam.gserviceaccount.com in the console.

id: google-api-key
title: Google API key
severity: high
keywords: aiza
pattern: \b(AIza[0-9A-Za-z_-]{35})(?![0-9A-Za-z_-])
entropy: 3.5
positive: GOOGLE_MAPS_API_KEY=AIzaGeNzNZ2LypQKvMDB7N0bw8ShDypJdn9UPBm
positive: <meta name="google-key" content="AIzajdnxAf5pSK5n9nqVwy9e1Wj7WDTdDE9ksql">
negative: apiKey: "AIzaXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
negative: key=AIzaDRsEuj0d0WyDpJW2Otu4

id: google-oauth-client-secret
title: Google OAuth client secret
severity: high
keywords: gocspx-
pattern: \b(GOCSPX-[A-Za-z0-9_-]{28})(?![A-Za-z0-9_-])
entropy: 3.5
positive: "client_secret": "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"
positive: GOOGLE_CLIENT_SECRET=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
negative: client_secret: GOCSPX-xxxxxxxxxxxxxxxxxxxxxxxxxxxx
negative: GOCSPX-rLqMnpADbxRN

id: google-oauth-client-secret-legacy
title: Google OAuth client secret (legacy 24 characters)
severity: high
keywords: client_secret clientsecret client-secret
pattern: (?i)client[_-]?secret[\w.-]{0,5}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([A-Za-z0-9_-]{24})(?![A-Za-z0-9_.+/=-])
entropy: 3.6
confidence: medium
positive: GOOGLE_CLIENT_SECRET = 'GM3B0pQt-cH1ifi_RZEAJCso'
positive: "client_secret":"BSctj6OnW0r-GXPey4DuY0w8"
negative: "client_secret":"aaaaaaaaaaaaaaaaaaaaaaa-"
negative: client_secret = "your-client-secret-here"
negative: client_secret = 'xg288qaOdmcgDFpHoGudv260RN69mW3c3jtvdzsy'

id: google-oauth-refresh-token
title: Google OAuth refresh token
severity: high
keywords: 1//0
pattern: \b(1//0[A-Za-z0-9_-]{60,300})(?![A-Za-z0-9_-])
entropy: 4.0
positive: refresh_token: '1//0gFCgYIARAAGAESNwF-L9Ir9b-25qukVg4Y-4kqKEMUSpmXOvRA3yzD-glf9QqbKbHREY-k19nxEgruQSM5EoWUyEnfKWNm-2_2X3ar'
negative: x = 1//0
negative: refresh_token = "1//0xxxx"

id: google-oauth-access-token
title: Google OAuth access token
severity: high
keywords: ya29.
pattern: \b(ya29\.[A-Za-z0-9_-]{30,2000})(?![A-Za-z0-9_-])
entropy: 3.5
window: 2048
positive: Authorization: Bearer ya29.a0xerVNVDIK-BZ52DuYhCZDEUT8Q0tr6jai1v8zhuKLTXnF9yceWpWMk3PRVIkgmqHYheiztDlN1l_PyRUgfy0ZIOr0BCspZkvE9IK2aawiQJre-f2wX-fr144z2_JYtuvUSJwCbA9oD6nj4jFFWT371
positive: access_token = 'ya29.0IXCe2TZ3fRGqjDWjRXFh0ZF58jMSwhLsWd1nxVXQf4uam19IS1506aVA9SL'
negative: token = "ya29.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: ya29.C56OvE4XcK6b

id: google-oauth-client-id
title: Google OAuth client ID
severity: low
keywords: apps.googleusercontent.com
pattern: \b([0-9]{8,14}-[a-z0-9]{32}\.apps\.googleusercontent\.com)\b
positive: CLIENT_ID = '577135121169-w1oecq8r9pxhaam2klbgn6jus3mqa2vr.apps.googleusercontent.com'
negative: CLIENT_ID = 'YOUR_CLIENT_ID.apps.googleusercontent.com'

id: firebase-cloud-messaging-server-key
title: Firebase Cloud Messaging server key
severity: high
keywords: :apa91b
pattern: \b(AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{134})(?![A-Za-z0-9_-])
positive: FCM_SERVER_KEY=AAAA0t6qvMO:APA91b5Hgp0TcgfEUagrSoosLdbdPPfjILNZq2YJNSpjh1dvPVJvWKRadRdMmVMuc4IphS33NHcbzC7eNxflUlU5Em2ve5Zxr1Q3vYoeMP_Dx5l4enOg6-Nbd08iYTtc5yyjCwavZp87
negative: FCM_SERVER_KEY=AAAANlwrUI6:APA91baC1aXIq7HzibNYL2XpRu

id: azure-storage-account-key
title: Azure storage account key in a connection string
severity: critical
keywords: accountkey
pattern: (?i)\bAccountKey\s{0,2}=\s{0,2}(?!Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50|C2y6yDjf5/R\+ob0N8A7Cgv30VRDJIWEHLM\+4QDU5)([A-Za-z0-9+/]{40,100}={0,2})
entropy: 3.5
positive: DefaultEndpointsProtocol=https;AccountName=prodlogs640;AccountKey=p7eZB2VkVUA82244sFRbXP90xPbeVNauhRA0P1Ckaip5pCaEMTZHbiqoJ6hagtYPK3CCpFGdeUUMCDRbO4SB9f==;EndpointSuffix=core.windows.net
positive: "AccountEndpoint=https://cosmos-xvpqmz.documents.azure.com:443/;AccountKey=44IjZMGt1aveZomK+YRSEtYnjrs8tFEPqNuNRAj3/ssoIVrz6LVCToGk0JLiloB9QCFf0LhpzqzKjTNeEiFkT8==;"
negative: DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;
negative: AccountKey=<account-key>;
negative: AccountKey={key};EndpointSuffix=core.windows.net
negative: AccountEndpoint=https://localhost:8081/;AccountKey=C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==

id: azure-storage-key-context
title: Azure storage account key (context)
severity: critical
keywords: azure storage_account storageaccount
pattern: (?i)(?:azure|storage)[\w.-]{0,25}?(?:account[_-]?key|access[_-]?key|storage[_-]?key)[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([A-Za-z0-9+/]{86}==)
entropy: 4.0
confidence: medium
positive: AZURE_STORAGE_ACCOUNT_KEY=FUr10B1+hVInM7Ohf8EAhRsSGrJUIREnSeUFUz6dAfAVRtr96+qrwnwxYZCJCZiHxFMFzstV8WviwNgyCjvOjU==
positive: storage_account_access_key: "mWrz8Q6Z8k8eRyz5qHTIW8y1LamZJK+H7ALV03DXWPpVi1DYfIb/OCTV8HgD98WCRngMAsbEYPgxCkwwcNc00G=="
negative: AZURE_STORAGE_ACCOUNT_KEY=${STORAGE_KEY}
negative: azure_storage_key = "4MDPradAvdjMV3RNmXsYNOPUv00LyYfWxHU6XlBs"

id: azure-shared-access-key
title: Azure Service Bus / Event Hubs / IoT Hub shared access key
severity: high
keywords: sharedaccesskey
pattern: (?i)\bSharedAccessKey\s{0,2}=\s{0,2}([A-Za-z0-9+/]{42,43}=)
entropy: 3.5
positive: Endpoint=sb://orders-dujm1.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=XNmhlGtaK0zhdDNhVAht7XWJJ8XeN994WNmnTtjar2c=
positive: HostName=iot-or03uo.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=o/r/X6xRVknqyh/iCTTu/ZPQ54foa+R8vahj0sWMy1s=
negative: Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=<key>
negative: SharedAccessKey=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=

id: azure-app-configuration-secret
title: Azure App Configuration connection string secret
severity: high
keywords: azconfig.io
pattern: (?i)\.azconfig\.io[\w/.:-]{0,40};\s{0,2}Id=[^;\s]{1,80};\s{0,2}Secret=([A-Za-z0-9+/]{42,43}=)
entropy: 3.5
window: 512
positive: APP_CONFIG="Endpoint=https://cfg-lx9myf.azconfig.io;Id=EFH7-l0-s0:VaXdwmALg7aEnmJSzUHx;Secret=KXu/t3/04BkfAzA0ugSCIE0mgrTJlJh/HqPu9Pt8KUB="
negative: az appconfig kv list --connection-string Endpoint=https://contoso.azconfig.io;Id=xxx;Secret=xxx
negative: Endpoint=https://a.azconfig.io;Id=abc;Secret=<secret>

id: azure-sas-token
title: Azure shared access signature (SAS) token
severity: high
keywords: sig= sv=20
pattern: (?i)\bsv=20\d\d-\d\d-\d\d&[\w\&=%:.,/+-]{0,300}?\bsig=([A-Za-z0-9%+/]{30,120}(?:%3D|=){0,2})
entropy: 3.5
window: 1024
positive: https://backup3t6l.blob.core.windows.net/dumps?sv=2022-11-02&ss=b&srt=sco&sp=rwdlac&se=2026-05-01T00:00:00Z&st=2025-05-01T00:00:00Z&spr=https&sig=i4pWsTueX5q3/5Hd7jcqj89tX8nLbR1vDwkpNkPp%2BXgT%3D
negative: ?sv=2022-11-02&ss=b&srt=sco&sp=rl&sig=<signature>
negative: def verify(sig=None, sv=2):

id: azure-shared-access-signature
title: Azure IoT Hub / Service Bus / Event Hubs shared access signature
severity: high
keywords: sharedaccesssignature
pattern: (?i)SharedAccessSignature\s{1,3}(?:\w{2,4}=[^\&\s"';]{1,200}\&){0,4}?sig=([A-Za-z0-9%+/]{30,120}(?:%3D|=){0,2})
entropy: 3.5
window: 1024
positive: Authorization: SharedAccessSignature sr=acme-t1z5.azure-devices.net%2Fdevices%2Fsensor01&sig=MIKcpQi6xlda0pd83JqV33kpd4Upx0bM894GJo9T%2FJ2v%3D&se=1767225600
positive: SharedAccessSignature=SharedAccessSignature sr=sb%3a%2f%2fns.servicebus.windows.net%2f&sig=hYNIyUaHeLgX4uKs9bzJH6LeSgdHT9TsdkOrjnr0HAz%3d&se=1767225600&skn=RootManageSharedAccessKey
negative: SharedAccessSignature sr={resourceUri}&sig={signature}&se={expiry}
negative: SharedAccessSignature sr=x&sig=<signature>&se=1

id: azure-ad-client-secret
title: Azure AD (Entra ID) application client secret
severity: high
keywords: 0q~ 1q~ 2q~ 3q~ 4q~ 5q~ 6q~ 7q~ 8q~ 9q~
pattern: (?:^|[^\w~.-])([A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34})(?![\w~.-])
entropy: 3.5
positive: AZURE_CLIENT_SECRET=BVX8Q~C243NlC72h_-vUswdrSCGCmIp_65K6N7AB
positive: client_secret: "ilh7Q~thxYBWJLi4nzqVZYK0J9.saR5cL8wCFiNm"
negative: path = "~/abc8Q~"
negative: AZURE_CLIENT_SECRET=abc8Q~short

id: azure-client-secret-context
title: Azure service principal client secret (context)
severity: high
keywords: azure arm_client_secret aad_client
pattern: (?i)(?:azure|\barm|_arm|aad)[\w.-]{0,20}?client[_-]?secret[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([A-Za-z0-9_~.+/=-]{32,44})(?![\w~.+/=-])
entropy: 3.8
confidence: medium
positive: export ARM_CLIENT_SECRET="eiSpUalGdAMV20Q5kf7A3n5wM7G7yM9DBnF3/yQG"
positive: azure.activedirectory.client-secret=-75jh5QlAQYPMhin77cneeuT3cMtZsmRaR
negative: ARM_CLIENT_SECRET="${ARM_CLIENT_SECRET}"
negative: azure_client_secret = "62aQJTwVAdMy"

id: azure-devops-pat
title: Azure DevOps personal access token
severity: critical
keywords: azdo
pattern: \b([A-Za-z0-9]{52}JQQJ[A-Za-z0-9]{20}AZDO[A-Za-z0-9]{4}|[A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4})\b
entropy: 3.5
positive: AZURE_DEVOPS_EXT_PAT=Bab9DZEKw2bdITfGnq5uBbnNoWKGwGSDpKeB0KJcrBcpbeqFWCK3JQQJ99BAACAAAAAAAAAAAAASAZDOfHrV
positive: pat: BJS9NuOtBvJ3JDsrTv35Lgcwe1sBIfuTtxXRrfx6Heus4tDVMYbU7hfB00prY46k2DRz3Ro27DzaAZDO4C2r
negative: pat: HxOagbjTNggBoXYlh05YX9jCqkYoNgZVFUaKYn89AZDOgYj6

id: azure-devops-pat-legacy
title: Azure DevOps personal access token (52-character legacy format)
severity: high
keywords: azure devops ado_ azdo vsts personalaccesstoken personal_access_token
pattern: (?i)(?:azure|devops|\bado|azdo|vsts|personal[_-]?access[_-]?token)[\w.-]{0,25}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([a-z2-7]{52})\b
entropy: 3.8
confidence: medium
positive: AZURE_DEVOPS_PAT=aenjxrjtwraysd63miqsxfxundp3yjkwmqxntikl2azzbwayn56b
positive: var personalAccessToken = "2lf6jtk25lcze25pq2yxxo7pgnkzzgh5udyurq6ginlrubq6de3e";
positive: ado_pat = "snak6h3tarlhe7ivct46ro6dzlhsl76csbx2o5bystaq3m2mbljd"
negative: AZURE_DEVOPS_PAT=$(System.AccessToken)
negative: ado_pat = "hl37j3p4qz4czho2wvxcvygt54q7c72k6khokm5s"
negative: personalAccessToken = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

id: azure-devops-url-credential
title: Azure DevOps token in a Git remote URL
severity: critical
keywords: dev.azure.com visualstudio.com
pattern: (?i)https://[^:@/\s'"]{1,60}:([a-z2-7]{52}|[A-Za-z0-9]{84})@(?:dev\.azure\.com|[\w-]{1,60}\.visualstudio\.com)
positive: git remote add origin https://build:aoex3dbotovofzncotgwvbxd3z7njzjqdfnj53dcpyse7zvsymgw@dev.azure.com/contoso/app/_git/app
negative: https://contoso@dev.azure.com/contoso/app/_git/app
negative: https://dev.azure.com/contoso/_usersSettings/tokens

id: azure-functions-key
title: Azure Functions access key in a function URL
severity: high
keywords: azurewebsites.net
pattern: (?i)\.azurewebsites\.net/api/[\w/-]{1,80}\?(?:[\w=\&.-]{0,100}&)?code=([A-Za-z0-9_/+-]{40,60}={0,2})
entropy: 3.5
window: 512
positive: WEBHOOK=https://ingest-g0sye.azurewebsites.net/api/HttpTrigger1?code=9y3f8qK66zY_r6JSk6Q4yHmpBfUviAODB6LMvnuAO-iHhcVZSpDaH7==
negative: https://app.azurewebsites.net/api/HttpTrigger1?code=<your-function-key>

id: azure-apim-subscription-key
title: Azure API Management / Cognitive Services subscription key
severity: high
keywords: ocp-apim-subscription-key
pattern: (?i)Ocp-Apim-Subscription-Key[\\"']{0,3}\s{0,3}[:=,]\s{0,3}[\\"']{0,3}([a-f0-9]{32})\b
entropy: 3.0
positive: curl -H "Ocp-Apim-Subscription-Key: b33a6ffdba8774f638ff66302b2dad75" https://westus.api.cognitive.microsoft.com/
positive: headers = {'Ocp-Apim-Subscription-Key': '518d4d7284344469160fac05de5f8c60'}
negative: -H "Ocp-Apim-Subscription-Key: {subscription key}"
negative: Ocp-Apim-Subscription-Key: 00000000000000000000000000000000

id: azure-openai-key
title: Azure OpenAI API key (context)
severity: high
keywords: azure_openai azure-openai azureopenai aoai
pattern: (?i)(?:azure[_-]?openai|aoai)[\w.-]{0,20}?(?:key|token)[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([a-f0-9]{32}|[A-Za-z0-9]{84})\b
entropy: 3.0
confidence: medium
positive: AZURE_OPENAI_API_KEY=0c7db51adf50c700eeaebd3ae3b14e48
positive: azure_openai_key: "KlVeb8TuVoEINlJ2vg4CcRuLH967RrVShcncpc9fHdIqKLJ3B5Ye9PtQjn6pJ6S9zc21eR6qOJ2ISvr0j8kN"
negative: AZURE_OPENAI_API_KEY=<your-key>
negative: AZURE_OPENAI_API_KEY=00000000000000000000000000000000

id: azure-cosmosdb-key-context
title: Azure Cosmos DB account key (context)
severity: critical
keywords: cosmos documentdb
pattern: (?i)(?:cosmos|documentdb)[\w.-]{0,25}?(?:key|token|secret)[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}(?!C2y6yDjf5/R\+ob0N8A7Cgv30VRDJIWEHLM\+4QDU5)([A-Za-z0-9+/]{86}==)
entropy: 4.0
confidence: medium
positive: COSMOS_KEY="l3hNvAwf0UoEY++eI1QJf7k+2321XGPscLiWiaXgA12NxXa+6wNFvTp+v8ddCU89GX0y9bN/fZ2lebqk3+DnkG=="
positive: cosmosdb.primary-key=nyA3fslFCLYcjOUOT69uL3JA8W1SxyrXCjnz9wpfnY3K4o1vUPG9MptW2BegxWPu+DpcGSW/MoMK4rmu1ut89d==
negative: COSMOS_KEY="C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
negative: COSMOS_KEY="<key>"

id: digitalocean-personal-access-token
title: DigitalOcean personal access token
severity: critical
keywords: dop_v1_
pattern: \b(dop_v1_[a-f0-9]{64})\b
entropy: 3.0
positive: DIGITALOCEAN_TOKEN=dop_v1_6ea2a9e9af81edfd662c36698969353198e9accd32c3d7431ba3367b5e694984
positive: token = "dop_v1_8233124e6085c56b5f2a689bee65e74274d3f956adf7cebdbe56628610e87880"
negative: DIGITALOCEAN_TOKEN=dop_v1_1880af2fbb3535fe182c7b0a6f35de47
negative: dop_v1_0000000000000000000000000000000000000000000000000000000000000000

id: digitalocean-oauth-token
title: DigitalOcean OAuth access token
severity: high
keywords: doo_v1_
pattern: \b(doo_v1_[a-f0-9]{64})\b
entropy: 3.0
positive: Authorization: Bearer doo_v1_9a783dac83136738ff1bb38dff052d8a4434b3317696c03cefc4c454302f418f
negative: doo_v1_b3b9ee675732fe48aacc22cbf042b6db156e8e5f

id: digitalocean-refresh-token
title: DigitalOcean OAuth refresh token
severity: high
keywords: dor_v1_
pattern: \b(dor_v1_[a-f0-9]{64})\b
entropy: 3.0
positive: "refresh_token": "dor_v1_1011687cf04111447aa88ab4e645acc3b199df915fc4c9341de4e663e501e318"
negative: "refresh_token": "dor_v1_<token>"

id: digitalocean-spaces-access-key
title: DigitalOcean Spaces access key ID
severity: medium
keywords: do00
pattern: \b(DO00[A-Z0-9]{16})\b
entropy: 3.0
positive: SPACES_ACCESS_KEY_ID=DO00I92A1SIZ53E59PGC
negative: SPACES_ACCESS_KEY_ID=DO00XXXXXXXXXXXXXXXX
negative: DO00YGFGFTY8

id: digitalocean-spaces-secret
title: DigitalOcean Spaces secret key (context)
severity: high
keywords: spaces_ spaces- spaces. digitalocean
pattern: (?i)(?:\bspaces|_spaces|digitalocean)[\w.-]{0,20}?secret[\w.-]{0,15}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([A-Za-z0-9+/]{43})(?![A-Za-z0-9+/=])
entropy: 4.0
confidence: medium
positive: SPACES_SECRET_ACCESS_KEY=XVd8Sra8RLkEMPz+0Bvxcf+Y5Li1Ji8HIFcsQLSJqIG
positive: digitalocean_spaces_secret: "Sw+E6o4i/J/bbL05DvDxBHh2KYPC/6nwArIxat/36HP"
negative: SPACES_SECRET_ACCESS_KEY=${SPACES_SECRET}
negative: spaces_secret = "SQ9iHBPfg1kmZovGHUNL"

id: heroku-api-key
title: Heroku API key
severity: high
keywords: hrku-
pattern: \b(HRKU-[A-Za-z0-9_-]{60})(?![A-Za-z0-9_-])
entropy: 3.5
positive: HEROKU_API_KEY=HRKU-AAyvczN1LdapyMGJwgcw6_5b6WuZrFOhoS9Pyam42S29uckTVttnrMJ5gJsE
negative: HEROKU_API_KEY=HRKU-GNQc6ZMll9BG6kqD6A9X
negative: HRKU-AAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

id: heroku-api-key-legacy
title: Heroku API key (legacy UUID, context)
severity: high
keywords: heroku
pattern: (?i)heroku[\w.-]{0,25}?(?:key|token|secret|auth|pass\w{0,4})[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b
entropy: 3.0
confidence: medium
positive: HEROKU_API_KEY: f35d55c9-0165-4477-bddd-b901be51867a
positive: export HEROKU_AUTH_TOKEN="3232df39-bf11-4ab1-92cc-2678ae45f4eb"
negative: curl https://kolkrabbi.heroku.com/apps/d62c4382-fa9e-4516-83a9-d9c9c3ccc191/github/push
negative: HEROKU_API_KEY: 00000000-0000-0000-0000-000000000000

id: aws-appsync-api-key
title: AWS AppSync API key
severity: medium
keywords: da2-
pattern: \b(da2-[a-z0-9]{26})\b
entropy: 3.5
positive: "aws_appsync_apiKey": "da2-kt35s9bywuw8jt3ugi4bvbudtu"
negative: "aws_appsync_apiKey": "da2-xxxxxxxxxxxxxxxxxxxxxxxxxx"
negative: da2-to37fu6v27

id: google-recaptcha-secret
title: Google reCAPTCHA secret key (context)
severity: medium
keywords: recaptcha
pattern: (?i)recaptcha[\w.-]{0,20}?secret[\w.-]{0,10}?[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}(?!6LeIxAcTAAAAAGG-vFI1TnRWxMZNFuojJ4WifJWe)(6L[0-9A-Za-z_-]{38})(?![0-9A-Za-z_-])
entropy: 3.5
confidence: medium
positive: RECAPTCHA_SECRET_KEY=6LGxJLZsEcapnHEfy5u-Is9Sp1Asg1tE7y5zkBbw
negative: RECAPTCHA_SECRET_KEY=6LeIxAcTAAAAAGG-vFI1TnRWxMZNFuojJ4WifJWe
negative: RECAPTCHA_SECRET_KEY=${RECAPTCHA_SECRET}
negative: recaptcha_secret = "6Lxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

id: azure-access-key-connection-string
title: Azure Communication Services / SignalR / Web PubSub access key
severity: high
keywords: accesskey=
pattern: (?i)(?:\.communication\.azure\.com|\.service\.signalr\.net|\.webpubsub\.azure\.com)/?;\s{0,2}AccessKey=([A-Za-z0-9+/]{40,90}={0,2})
entropy: 3.5
positive: endpoint=https://acs-eylu4.communication.azure.com/;accesskey=i39pf/ULtVvdKjhuK+EhGhTPfEr6yZUX9/TX5xQJG54gCq/ak0HGYnW8UoECtq6a0xpjZSs/WSC9CLh5Mc16wE==
positive: Endpoint=https://chat-ohh6.service.signalr.net;AccessKey=fh9szxIo/gV4nvCE+3vj567D5r86FRvVHaGo8Ud1x5N=;Version=1.0;
negative: Endpoint=https://chat.service.signalr.net;AccessKey=<access-key>;Version=1.0;

id: azure-cache-redis-key
title: Azure Cache for Redis access key
severity: high
keywords: redis.cache.windows.net
pattern: (?i)\.redis\.cache\.windows\.net(?::\d{1,5})?,\s{0,2}password=([A-Za-z0-9+/]{43}=)
entropy: 3.5
positive: REDIS="cache-t8liq.redis.cache.windows.net:6380,password=E8c2VK1x7HymAZMurpM2T8epv/nizksQtXC5OglwSHW=,ssl=True,abortConnect=False"
negative: cache.redis.cache.windows.net:6380,password={key},ssl=True

id: azure-bot-app-password
title: Microsoft Bot Framework app password (context)
severity: high
keywords: microsoftapppassword
pattern: (?i)MicrosoftAppPassword[\\"']{0,3}\s{0,3}(?:[:=]{1,2}|=>)\s{0,3}[\\"']{0,3}((?![$%\{<*\[(@#])[^\s"',;]{16,64})
entropy: 3.5
confidence: medium
positive: "MicrosoftAppPassword": "KiyGHO2naYwVwKSbLHIderMSDzrH1XaictfBloZi"
positive: MicrosoftAppPassword=ITq8Q~yJuBqNAsrpdTLd3vx9Gmc_yL_dhne07wxJ
negative: "MicrosoftAppPassword": ""
negative: "MicrosoftAppPassword": "<your-app-password>"
negative: MicrosoftAppPassword=${BOT_PASSWORD}

id: azure-terraform-client-secret
title: Azure client secret in a Terraform azurerm provider block
severity: high
keywords: azurerm
pattern: provider\s{1,3}"azurerm"\s{0,3}\{[\s\S]{0,400}?client_secret\s{0,3}=\s{0,3}"((?![$%\{<*\[(@#])[^"\s]{16,64})"
entropy: 3.5
window: 512
positive: provider "azurerm" {\n  features {}\n  subscription_id = "307649b8-c312-4f8c-adac-5f2df98681a5"\n  client_id       = "464e5cd1-9a4d-4452-be08-3507451408a5"\n  client_secret   = "p6S8Q~Szfou82DlZhzG5mnmEejHgr-vDaLfXa3b2"\n  tenant_id       = "4da236b9-1c9f-4407-bb11-b0502f94154c"\n}
negative: provider "azurerm" {\n  features {}\n  client_secret = var.client_secret\n}
negative: provider "azurerm" {\n  client_secret = "${var.client_secret}"\n}
"""#
}
