#!/usr/bin/env bash
# Redaction of an agent's log: throughput, peak memory and leaks of `provenant secrets redact`.
# Generates, deterministically from SEED, a SIZE_MB (default 200, in 10^6 bytes) agent-like log (JSON lines
# and plain lines with timestamps, request ids, URLs, hashes, base64 blobs and innocent uses of "token",
# "key", "password") holding exactly 1,000 planted secrets: 500 values of a known-secrets file it also writes
# (bench/out/agent-creds.env, 10 values of 24-48 characters), each planted plain, base64 inside a longer
# base64 payload at a random offset, hex, URL-encoded or JSON-escaped (100 of each); and 500 provider tokens
# (120 each of GitHub ghp_, AWS AKIA, Slack xoxb-, Stripe sk_live_, and 20 PEM private key blocks). The
# ground truth (counts per kind and the literal form of each plant) goes to bench/out/agent-log-truth.json.
# Then times RUNS (default 5) runs of `provenant secrets redact --known bench/out/agent-creds.env < log >
# redacted`, and reports median MB/s, median CPU seconds, median peak RSS, how many planted secrets are
# still readable in the output (per kind; should be 0) and how many `[REDACTED:` markers it holds. Last, the same on a BIG_MB
# (default 1000) file that is one single line (no newline; PEM blocks as JSON-escaped text), written to
# bench/out and deleted afterwards, for the peak RSS of a line that never ends (target: below 200 MiB).
# It reports; it never fails on speed. It fails only when the generated log does not hold exactly its plants.
# Environment: RUNS, BIG_RUNS (default 1; 0 skips the big file), SIZE_MB, BIG_MB, SEED (default 11),
# PROVENANT (a provenant binary to use instead of building one).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; repo="$(dirname "$here")"
runs="${RUNS:-5}"; big_runs="${BIG_RUNS:-1}"; size_mb="${SIZE_MB:-200}"; big_mb="${BIG_MB:-1000}"; seed="${SEED:-11}"
work="$here/out"; mkdir -p "$work"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
env_file="$work/agent-creds.env"; log="$work/agent.log"; truth="$work/agent-log-truth.json"
red="$work/agent.redacted.log"; py="$work/secrets-redact-tool.py"

cat >"$py" <<'PY'
"""gen: writes the known-secrets .env, a log with planted secrets and its ground truth.
check: counts the planted secrets still readable in a file, and the [REDACTED: markers in it."""
import base64, json, mmap, os, random, re, string, sys, urllib.parse

B62 = string.ascii_letters + string.digits
B32 = string.ascii_uppercase + "234567"
VALCHARS = B62 + "/+-_.@"
ENV_NAMES = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DATABASE_PASSWORD", "REDIS_PASSWORD", "JWT_SIGNING_SECRET",
             "WEBHOOK_SECRET", "SMTP_PASSWORD", "INTERNAL_API_TOKEN", "S3_SECRET_ACCESS_KEY", "SESSION_COOKIE_SECRET"]
ENCODINGS = ["plain", "base64", "hex", "url", "json"]            # 100 plants each
PROVIDERS = [("github", 120), ("aws", 120), ("slack", 120), ("stripe", 120), ("pem", 20)]
# The regular expressions that find provider tokens again in a file; a plant counts as still there when
# its exact token is among the matches.
TOKEN_RE = {"github": rb"ghp_[A-Za-z0-9]{36}", "aws": rb"AKIA[A-Z2-7]{16}",
            "slack": rb"xoxb-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{24}", "stripe": rb"sk_live_[A-Za-z0-9]{24}"}

def rs(rng, alphabet, n): return "".join(rng.choice(alphabet) for _ in range(n))

def known_values(seed):
    rng = random.Random(f"env-{seed}")
    vals = []
    for _ in ENV_NAMES:
        n = rng.randint(24, 48)
        v = list(rs(rng, B62, 1) + rs(rng, VALCHARS, n - 2) + rs(rng, B62, 1))
        # Every value holds a '/' and a '+', so its URL-encoded and JSON-escaped forms differ from it.
        i, j = rng.sample(range(1, n - 1), 2); v[i] = "/"; v[j] = "+"
        vals.append("".join(v))
    return vals

def write_env(path, seed):
    with open(path, "w") as f:
        f.write("# Known secrets of the benchmark agent (generated; not real credentials)\n")
        for k, v in zip(ENV_NAMES, known_values(seed)): f.write(f"{k}={v}\n")

def b64_core(o, value, b64):
    """The base64 characters every bit of which comes from the value (bytes o..o+len in the payload)."""
    start = -(-8 * o // 6); end = 8 * (o + len(value)) // 6
    return b64[start:end]

class Planter:
    def __init__(self, rng, values, single_line):
        self.rng, self.values, self.single = rng, values, single_line
    def known(self, enc, ts, rid):
        rng = self.rng; k = rng.randrange(len(self.values)); v = self.values[k]; name = ENV_NAMES[k]
        if enc == "plain":
            lit = v
            line = rng.choice([f'{{"ts":"{ts}","level":"debug","request_id":"{rid}","msg":"calling provider","api_key":"{v}"}}',
                               f"{ts} DEBUG [req={rid[:16]}] Authorization: Bearer {v}",
                               f"{ts} INFO [req={rid[:16]}] spawning tool with env {name}={v}"])
        elif enc == "base64":
            o = rng.randint(0, 300); payload = rng.randbytes(o) + v.encode() + rng.randbytes(rng.randint(0, 300))
            b = base64.b64encode(payload).decode(); lit = b64_core(o, v.encode(), b)
            line = rng.choice([f'{{"ts":"{ts}","level":"info","request_id":"{rid}","msg":"tool result","payload_b64":"{b}"}}',
                               f"{ts} DEBUG [req={rid[:16]}] upload chunk data={b}"])
        elif enc == "hex":
            lit = v.encode().hex()
            line = rng.choice([f'{{"ts":"{ts}","level":"trace","request_id":"{rid}","msg":"socket write","bytes_hex":"{lit}"}}',
                               f"{ts} TRACE [req={rid[:16]}] send raw={lit}"])
        elif enc == "url":
            lit = urllib.parse.quote(v, safe="")
            line = rng.choice([f"{ts} INFO [req={rid[:16]}] GET https://api.example.com/v1/export?client=agent&token={lit}&page={rng.randint(1, 99)} -> 200",
                               f'{{"ts":"{ts}","level":"debug","request_id":"{rid}","msg":"POST /oauth/token","body":"grant_type=password&username=svc&password={lit}"}}'])
        else:  # json: the JSON string escaping of the value with '/' written as '\/'
            lit = json.dumps(v)[1:-1].replace("/", "\\/")
            line = f'{{"ts":"{ts}","level":"debug","request_id":"{rid}","msg":"config dump","{name.lower()}":"{lit}"}}'
        return line, {"kind": "known:" + enc, "literals": [lit]}

    def provider(self, kind, ts, rid):
        rng = self.rng
        if kind == "github":
            t = "ghp_" + rs(rng, B62, 36)
            line = rng.choice([f'{{"ts":"{ts}","level":"debug","request_id":"{rid}","msg":"git push","remote":"https://x-access-token:{t}@github.com/acme/agent.git"}}',
                               f"{ts} INFO [req={rid[:16]}] export GITHUB_TOKEN={t}"])
        elif kind == "aws":
            t = "AKIA" + rs(rng, B32, 16)
            line = rng.choice([f"{ts} DEBUG [req={rid[:16]}] aws configure set aws_access_key_id {t}",
                               f'{{"ts":"{ts}","level":"info","request_id":"{rid}","msg":"assumed credentials","AccessKeyId":"{t}"}}'])
        elif kind == "slack":
            t = f"xoxb-{rs(rng, string.digits, rng.randint(10, 13))}-{rs(rng, string.digits, rng.randint(10, 13))}-{rs(rng, B62, 24)}"
            line = rng.choice([f"{ts} INFO [req={rid[:16]}] slack notify with token {t} channel=#alerts",
                               f'{{"ts":"{ts}","level":"debug","request_id":"{rid}","msg":"slack client","token":"{t}"}}'])
        elif kind == "stripe":
            t = "sk_live_" + rs(rng, B62, 24)
            line = rng.choice([f'{{"ts":"{ts}","level":"debug","request_id":"{rid}","msg":"billing init","stripe_key":"{t}"}}',
                               f"{ts} DEBUG [req={rid[:16]}] curl https://api.stripe.com/v1/charges -u {t}:"])
        else:  # pem: a PKCS#8-shaped block; its second and next-to-last body lines are random, so they identify it
            der = bytes.fromhex("308204be020100300d06092a864886f70d0101010500048204a8") + rng.randbytes(1192)
            b = base64.b64encode(der).decode(); body = [b[i:i + 64] for i in range(0, len(b), 64)]
            block = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(body) + "\n-----END PRIVATE KEY-----"
            if self.single or rng.random() < 0.5:
                line = f'{{"ts":"{ts}","level":"debug","request_id":"{rid}","msg":"loaded signing key","key_pem":{json.dumps(block)}}}'
            else:
                line = f"{ts} DEBUG [req={rid[:16]}] loaded signing key:\n{block}"
            return line, {"kind": "provider:pem", "literals": [body[1], body[-2]]}
        return line, {"kind": "provider:" + kind, "literals": [t]}

WORDS = ("agent planner step tool result cache model prompt retry queue worker session tenant upload "
         "fetch parse index shard batch stream chunk window budget schedule").split()
TOOLS = ["web_fetch", "shell", "read_file", "write_file", "search", "python", "sql_query", "git"]
HOSTS = ["api.example.com", "docs.example.org", "cdn.example.net", "internal.acme.test", "pypi.org"]

def filler(rng, ts, rid):
    r = rng.random(); w = rng.choice(WORDS); n = rng.randint(1, 9999)
    if r < 0.14:
        return (f'{{"ts":"{ts}","level":"info","request_id":"{rid}","msg":"tool call finished","tool":"{rng.choice(TOOLS)}",'
                f'"url":"https://{rng.choice(HOSTS)}/{w}/{n}?ref=agent&page={n % 17}","status":200,"duration_ms":{n % 900}}}')
    if r < 0.26: return f"{ts} INFO [req={rid[:16]}] token budget: {n}/200000 tokens used by {w}"
    if r < 0.36:
        return (f'{{"ts":"{ts}","level":"info","request_id":"{rid}","msg":"model response","usage":{{"input_tokens":{n},'
                f'"output_tokens":{n % 700}}},"sha256":"{rng.getrandbits(256):064x}"}}')
    if r < 0.45: return f"{ts} INFO [req={rid[:16]}] GET https://{rng.choice(HOSTS)}/v2/{w}/items?page={n % 40}&limit=50 -> 200 ({n % 300} ms)"
    if r < 0.53: return f'{{"ts":"{ts}","level":"debug","request_id":"{rid}","msg":"cache hit","key":"{w}:{rng.getrandbits(32):08x}","ttl":3600}}'
    if r < 0.60: return f"{ts} DEBUG [req={rid[:16]}] key rotation scheduled for tenant {w}-{n % 97}; the api key field is empty, using the anonymous tier"
    if r < 0.67: return f"{ts} WARN [req={rid[:16]}] auth failed: invalid password for user {w}{n % 50} (attempt {n % 4 + 1}); password=******** token=<redacted>"
    if r < 0.74:
        return (f'{{"ts":"{ts}","level":"info","request_id":"{rid}","msg":"config loaded","password_min_length":12,'
                f'"token_ttl_s":900,"secret_store":"vault","api_key":"<set via env>"}}')
    if r < 0.84:
        blob = base64.b64encode(rng.randbytes(rng.randint(45, 150))).decode()
        return f'{{"ts":"{ts}","level":"debug","request_id":"{rid}","msg":"upload","content_b64":"{blob}"}}'
    if r < 0.92: return f"{ts} INFO [req={rid[:16]}] step {n % 60}: {w} {rng.choice(WORDS)} {rng.choice(WORDS)} done in {n % 5000} ms"
    return f'{{"ts":"{ts}","level":"error","request_id":"{rid}","msg":"{w} failed","error":"timeout after 30s","retry_in_ms":{n % 2000}}}'

def gen(out, truth_path, size, seed, single_line):
    rng = random.Random(f"log-{seed}-{int(single_line)}")
    values = known_values(seed); planter = Planter(rng, values, single_line)
    plan = [("known", e) for e in ENCODINGS for _ in range(100)] + [("provider", k) for k, c in PROVIDERS for _ in range(c)]
    rng.shuffle(plan)
    at = sorted(rng.randrange(0, int(size * 0.995)) for _ in plan)   # byte offsets where a plant is due
    sep = " " if single_line else "\n"
    plants = []; written = 0; ms = 0; nplan = 0; buf = []; bufn = 0
    with open(out, "w", newline="") as f:
        while written + bufn < size or nplan < len(plan):
            ms += rng.randint(1, 40)
            s, mi = divmod(ms, 1000); m, s = divmod(s, 60); h, m = divmod(m, 60)
            ts = f"2026-11-30T{h % 24:02d}:{m:02d}:{s:02d}.{mi:03d}Z"
            rid = f"{rng.getrandbits(128):032x}"
            if nplan < len(plan) and written + bufn >= at[nplan]:
                group, what = plan[nplan]; nplan += 1
                line, p = planter.known(what, ts, rid) if group == "known" else planter.provider(what, ts, rid)
                plants.append(p)
            else:
                line = filler(rng, ts, rid)
            line += sep; buf.append(line); bufn += len(line)   # all ASCII: characters are bytes
            if bufn > 1 << 20: f.write("".join(buf)); written += bufn; buf = []; bufn = 0
        f.write("".join(buf)); written += bufn
    counts = {}
    for p in plants: counts[p["kind"]] = counts.get(p["kind"], 0) + 1
    json.dump({"seed": seed, "single_line": single_line, "bytes": written, "planted": len(plants),
               "counts": dict(sorted(counts.items())), "plants": plants}, open(truth_path, "w"), indent=1)

def count_all(mm, needle):
    n = 0; i = mm.find(needle)
    while i >= 0: n += 1; i = mm.find(needle, i + len(needle))
    return n

def check(truth_path, path, expect_all):
    t = json.load(open(truth_path))
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if os.path.getsize(path) else b""
        found = {}
        for kind, rx in TOKEN_RE.items(): found[kind] = {m.group(0) for m in re.finditer(rx, mm)}
        lit_count = {}
        for p in t["plants"]:
            if p["kind"].split(":")[1] in TOKEN_RE: continue
            for lit in p["literals"]:
                if lit not in lit_count: lit_count[lit] = count_all(mm, lit.encode())
        markers = count_all(mm, b"[REDACTED:")
    # A literal planted k times and found j times in the file: j of those plants are still readable.
    left = {}; planted_with = {}
    for p in t["plants"]:
        for lit in p["literals"]: planted_with[lit] = planted_with.get(lit, 0) + 1
    budget = dict(lit_count)
    for p in t["plants"]:
        kind = p["kind"]; sub = kind.split(":")[1]
        if sub in TOKEN_RE: hit = p["literals"][0].encode() in found[sub]
        else:
            hit = False
            for lit in p["literals"]:
                if budget.get(lit, 0) > 0: budget[lit] -= 1; hit = True; break
        left[kind] = left.get(kind, 0) + int(hit)
    total = sum(left.values())
    if expect_all:   # the generated log itself: every plant must be there exactly as planted
        extra = [l for l, c in lit_count.items() if c != planted_with[l]]
        if total != t["planted"] or extra:
            print(f"generator check failed: {total} of {t['planted']} plants found, {len(extra)} literals with a wrong count", file=sys.stderr)
            sys.exit(1)
        print(f"log: {t['bytes']} bytes, {t['planted']} planted secrets, all present: " +
              ", ".join(f"{k}={v}" for k, v in t["counts"].items()))
        return
    print(f"| kind | planted | still readable |\n|---|---:|---:|")
    for k, v in t["counts"].items(): print(f"| {k} | {v} | {left.get(k, 0)} |")
    print(f"| total | {t['planted']} | {total} |")
    print(f"[REDACTED: markers: {markers} (planted secrets: {t['planted']})")
    print(f"summary left={total} markers={markers}")

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "env": write_env(sys.argv[2], int(sys.argv[3]))
    elif cmd == "gen": gen(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == "single")
    elif cmd == "check": check(sys.argv[2], sys.argv[3], sys.argv[4] == "input")
PY

python3 "$py" env "$env_file" "$seed"
python3 "$py" gen "$log" "$truth" "$((size_mb * 1000000))" "$seed" lines
python3 "$py" check "$truth" "$log" input

# Provenant: built here unless PROVENANT names a binary; without a `secrets` command the timing is skipped.
if [ -n "${PROVENANT:-}" ]; then
  prov="$PROVENANT"
else
  prov="$repo/.build/release/provenant"
  (cd "$repo" && swift build -c release --static-swift-stdlib --product provenant >"$work/provenant-build.log" 2>&1) \
    || echo "provenant: build failed, see $work/provenant-build.log" >&2
fi
if ! { [ -x "$prov" ] && "$prov" --help 2>/dev/null | grep -E '^ +secrets( |$)' >/dev/null; }; then
  echo "provenant: not built ($prov has no secrets command); the log and its ground truth are in $work"
  exit 0
fi

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
redact_runs() { # input, output, runs: prints "median_wall_s min-max median_peak_KiB median_cpu_s", or returns 1
  local in="$1" out="$2" n="$3" rc t m u s times=() mems=() cpus=()
  for _ in $(seq "$n"); do
    rc=0
    /usr/bin/time -f "%e %M %U %S" -o "$work/time.txt" "$prov" secrets redact --known "$env_file" \
      <"$in" >"$out" 2>"$work/secrets-redact.stderr" || rc=$?
    if [ "$rc" -gt 1 ]; then echo "provenant secrets redact: exit $rc; see $work/secrets-redact.stderr" >&2; return 1; fi
    read -r t m u s < <(tail -1 "$work/time.txt"); times+=("$t"); mems+=("$m"); cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN{print u + s}')")
  done
  echo "$(printf '%s\n' "${times[@]}" | median) $(printf '%s\n' "${times[@]}" | sort -n | sed -n '1p;$p' | paste -sd- -) $(printf '%s\n' "${mems[@]}" | median) $(printf '%s\n' "${cpus[@]}" | median)"
}
report() { # label, bytes, "median min-max peakKiB cpu"
  set -- "$1" "$2" $3
  awk -v l="$1" -v b="$2" -v t="$3" -v s="$4" -v m="$5" -v c="$6" 'BEGIN{
    printf "%s: median %.2f s (min-max %s), %.0f MB/s, cpu %.2f s, peak RSS %.0f MiB\n", l, t, s, (t > 0) ? b / 1e6 / t : 0, c, m / 1024}'
}

echo
r="$(redact_runs "$log" "$red" "$runs")"
report "redact ${size_mb} MB log, $runs runs" "$(stat -c %s "$log")" "$r"
python3 "$py" check "$truth" "$red" output

if [ "$big_runs" -gt 0 ]; then
  big="$work/agent-single-line.log"; bigred="$work/agent-single-line.redacted.log"; bigtruth="$work/agent-single-line-truth.json"
  trap 'rm -f "$big" "$bigred"' EXIT
  python3 "$py" gen "$big" "$bigtruth" "$((big_mb * 1000000))" "$seed" single
  echo
  if r="$(redact_runs "$big" "$bigred" "$big_runs")"; then
    report "redact ${big_mb} MB single line, $big_runs run(s)" "$(stat -c %s "$big")" "$r"
    echo "(peak RSS target on the single line: below 200 MiB)"
    python3 "$py" check "$bigtruth" "$bigred" output
  fi
  rm -f "$big" "$bigred"
fi
