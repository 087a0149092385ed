#!/usr/bin/env python3
"""Checks the secret rule catalog without building Swift: parses the rule text in
Sources/Secrets/Rules/Catalog/*.swift, compiles each pattern with Python's re (the rules keep to the
subset that Python and ICU share), and runs each rule's own positive and negative examples.
With --examples JSONL (kingfisher-examples format) it reports which labelled examples some rule
matches. The Swift test suite runs the same checks through the real engine; this is the quick loop."""
import argparse, glob, json, math, re, sys, collections, os

FIELDS = {"id", "title", "severity", "keywords", "pattern", "entropy", "window", "confidence", "pair", "near", "positive", "negative"}

def unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            out.append({"n": "\n", "t": "\t", "\\": "\\", "r": "\r"}.get(n, "\\" + n)); i += 2
        else:
            out.append(c); i += 1
    return "".join(out)

def parse(path):
    text = open(path, encoding="utf-8").read()
    rules = []
    for m in re.finditer(r'#"""\n(.*?)\n"""#', text, re.S):
        body, base = m.group(1), text[:m.start(1)].count("\n") + 1
        rule, lineno = None, base
        for off, line in enumerate(body.split("\n")):
            ln = base + off
            if line.startswith("#"): continue
            if not line.strip():
                if rule: rules.append(rule); rule = None
                continue
            if ": " not in line and not line.endswith(":"):
                sys.exit(f"{path}:{ln}: expected 'field: value'")
            k, _, v = line.partition(": ")
            if k not in FIELDS: sys.exit(f"{path}:{ln}: unknown field {k!r}")
            if rule is None: rule = {"_where": f"{path}:{ln}", "positive": [], "negative": []}
            if k in ("positive", "negative"): rule[k].append(unescape(v))
            elif k in rule: sys.exit(f"{path}:{ln}: field {k} repeated")
            else: rule[k] = v
        if rule: rules.append(rule)
    return rules

def entropy(s):
    if not s: return 0.0
    c = collections.Counter(s); n = len(s)
    return -sum(v / n * math.log2(v / n) for v in c.values())

def matches(rule, text):
    rx = rule["_rx"]
    found = []
    low = text.lower()
    for kw in rule["_kw"]:
        start = 0
        while True:
            i = low.find(kw, start)
            if i < 0: break
            a, b = max(0, i - 256), min(len(text), i + len(kw) + rule["_window"])
            if "near" in rule and rule["near"] not in text[a:b]:
                start = i + 1
                continue
            for m in rx.finditer(text, a, b):
                val = m.group(1) if rx.groups >= 1 and m.group(1) is not None else m.group(0)
                if entropy(val) < rule["_entropy"]: continue
                found.append((m.start(), m.end(), val, m.group(0)))
            start = i + 1
    return found

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*")
    ap.add_argument("--examples")
    ap.add_argument("--misses", action="store_true", help="print each missed example")
    ap.add_argument("--scan", help="a directory of clean files: print every match there (false positives)")
    a = ap.parse_args()
    files = a.files or sorted(glob.glob(os.path.join(os.path.dirname(__file__), "../Sources/Secrets/Rules/Catalog/*.swift")))
    rules, errors, ids = [], [], {}
    for f in files: rules += parse(f)
    for r in rules:
        w = r["_where"]
        for req in ("id", "title", "severity", "keywords", "pattern"):
            if req not in r: errors.append(f"{w}: missing {req}")
        if any(e.startswith(w + ":") for e in errors): continue
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", r["id"]): errors.append(f"{w}: bad id {r['id']}")
        if r["id"] in ids: errors.append(f"{w}: id {r['id']} already used at {ids[r['id']]}")
        ids[r["id"]] = w
        if r["severity"] not in ("critical", "high", "medium", "low"): errors.append(f"{w}: bad severity")
        if r.get("confidence", "high") not in ("high", "medium", "low"): errors.append(f"{w}: bad confidence")
        r["_kw"] = [k.lower() for k in r["keywords"].split()]
        for k in r["_kw"]:
            if len(k) < 3: errors.append(f"{w}: keyword {k!r} shorter than 3")
            if k in ("key", "token", "api", "secret", "password", "http", "https", "user", "data") and len(r["_kw"]) == 1:
                errors.append(f"{w}: keyword {k!r} is too common to be the only one")
        r["_window"] = int(r.get("window", 256))
        if not 16 <= r["_window"] <= 8192: errors.append(f"{w}: window out of range")
        r["_entropy"] = float(r.get("entropy", 0))
        if "(?<" in r["pattern"].replace("(?<name>", ""): errors.append(f"{w}: lookbehind is not allowed")
        try: r["_rx"] = re.compile(r["pattern"])
        except re.error as e: errors.append(f"{w}: pattern does not compile: {e}"); continue
        if not r["positive"]: errors.append(f"{w}: no positive example")
        if not r["negative"]: errors.append(f"{w}: no negative example")
        for p in r["positive"]:
            ms = matches(r, p)
            if not ms: errors.append(f"{w}: {r['id']} misses its positive {p[:80]!r}")
            for (_, _, val, whole) in ms:
                if not any(k in whole.lower() for k in r["_kw"]):
                    errors.append(f"{w}: {r['id']} match {whole[:60]!r} contains no keyword")
        for n in r["negative"]:
            if matches(r, n): errors.append(f"{w}: {r['id']} matches its negative {n[:80]!r}")
    for e in errors: print(e)
    print(f"{len(rules)} rules in {len(files)} files, {len(errors)} errors")
    if a.examples:
        rows = [json.loads(l) for l in open(a.examples)]
        good = [r for r in rules if "_rx" in r]
        hit, total, missed, fp = 0, 0, collections.Counter(), []
        for row in rows:
            got = [r["id"] for r in good if matches(r, row["text"])]
            if row["label"] == "secret":
                total += 1
                if got: hit += 1
                else:
                    missed[row["rule_id"].split(".")[1]] += 1
                    if a.misses: print("MISS", row["rule_id"], repr(row["text"][:160]))
            elif got: fp.append((row["rule_id"], got))
        print(f"examples: {hit}/{total} positives matched ({100.0 * hit / max(total, 1):.1f}%), {len(fp)} negatives flagged")
        for f in fp: print("FLAGGED NEGATIVE", f)
    if a.scan:
        good = [r for r in rules if "_rx" in r]
        count = collections.Counter()
        for dirpath, _, names in os.walk(a.scan):
            for name in sorted(names):
                path = os.path.join(dirpath, name)
                try: text = open(path, encoding="utf-8", errors="replace").read()
                except OSError: continue
                for r in good:
                    for (s0, _, val, whole) in matches(r, text):
                        count[r["id"]] += 1
                        print(f"FP {r['id']} {path}:{text.count(chr(10), 0, s0) + 1}: {whole[:100]!r}")
        print(f"scan: {sum(count.values())} matches", dict(count.most_common()))
    sys.exit(1 if errors else 0)

if __name__ == "__main__":
    main()
