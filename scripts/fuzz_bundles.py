"""Mutation sweep over Sigstore bundles: changes one string field of a passing conformance bundle at a
time (a bit flip, a truncation or an extension of base64 bytes; odd values for short fields), runs
`provenant verify` on it and reports any crash (an exit other than 0, 1 or 2) and every mutation that
still verified, with the field it changed. Usage: fuzz_bundles.py PROVENANT BUNDLE_VERIFY_DIR RUNS"""
import json, random, subprocess, os, sys, base64
random.seed(7)
D=sys.argv[2]
P=sys.argv[1]
ID="https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
cases=[c for c in sorted(os.listdir(D)) if os.path.isdir(os.path.join(D,c)) and not c.endswith('_fail')]
crashes=0; verified_bad=0; n=0
def mutate_b64(s):
    try: b=bytearray(base64.b64decode(s))
    except Exception: return s
    if not b: return s
    k=random.choice(['flip','trunc','extend'])
    if k=='flip': i=random.randrange(len(b)); b[i]^=1<<random.randrange(8)
    elif k=='trunc': b=b[:random.randrange(len(b))]
    else: b+=bytes(random.randrange(256) for _ in range(5))
    return base64.b64encode(bytes(b)).decode()
def walk(o, path=()):
    if isinstance(o, dict):
        for k,v in o.items(): yield from walk(v, path+(k,))
    elif isinstance(o, list):
        for i,v in enumerate(o): yield from walk(v, path+(i,))
    else: yield path, o
def setp(o, path, v):
    for p in path[:-1]: o=o[p]
    o[path[-1]]=v
for it in range(int(sys.argv[3])):
    c=random.choice(cases)
    b=json.load(open(f'{D}/{c}/bundle.sigstore.json'))
    leaves=[(p,v) for p,v in walk(b) if isinstance(v,str)]
    p,v=random.choice(leaves)
    nv = mutate_b64(v) if len(v)>20 else random.choice(['', '-1', '0', 'x', '99999999999999999999', v+'x'])
    if nv == v: continue
    setp(b,p,nv)
    open('b.json','w').write(json.dumps(b))
    art=f'{D}/{c}/artifact' if os.path.exists(f'{D}/{c}/artifact') else os.path.join(D, 'a.txt') if os.path.exists(os.path.join(D, 'a.txt')) else os.path.join(D, '..', 'a.txt')
    args=[P,'verify','b.json','--artifact',art]
    if os.path.exists(f'{D}/{c}/key.pub'): args+=['--key',f'{D}/{c}/key.pub']
    else:
        idf=f'{D}/{c}/identity'; isf=f'{D}/{c}/issuer'
        args+=['--certificate-identity', open(idf).read().strip() if os.path.exists(idf) else ID, '--certificate-oidc-issuer', open(isf).read().strip() if os.path.exists(isf) else 'https://token.actions.githubusercontent.com']
    if os.path.exists(f'{D}/{c}/trusted_root.json'): args+=['--trusted-root',f'{D}/{c}/trusted_root.json']
    r=subprocess.run(args,capture_output=True,text=True)
    n+=1
    if r.returncode not in (0,1,2): crashes+=1; print('CRASH',c,p,r.returncode,r.stderr[-300:])
    elif r.returncode==0: verified_bad+=1; print('VERIFIED after mutating',c,p)
print(f'runs={n} crashes={crashes} still-verified={verified_bad}')
