#!/usr/bin/env python3
"""Load, crash and database-restart runs against `provenant server`, driven by bench/server-load.sh.

  server_load.py load    BASE TOKEN N CLIENTS SEED   push N generated SBOMs from CLIENTS threads;
                                                    print throughput and p50/p99, write acks.json
  server_load.py verify  BASE TOKEN ACKS             every acknowledged release is there, whole
  server_load.py sbom    SEED INDEX                  print one generated SBOM (for a look)
  server_load.py advisory BASE TOKEN NAME...         import one OSV record naming these npm packages
                                                    (every version affected); print the time and summary

Every SBOM also holds `common-lib` (one of three versions), as a real fleet's SBOMs share a logging
or HTTP library: an advisory for it re-matches one component in every release, the worst case.

SBOMs are CycloneDX 1.5 JSON with 300 to 3,000 npm components each, generated from SEED so two runs
push the same bytes. Each release is agent `agent-<i mod 97>`, version `1.0.<i>`.
"""
import json
import random
import sys
import threading
import time
import urllib.error
import urllib.request


def sbom(seed, i):
    rng = random.Random(seed * 1_000_003 + i)
    n = rng.randint(300, 3000)
    comps = []
    seen = set()
    while len(comps) < n:
        name = "pkg-%05d" % rng.randint(0, 60000)
        if name in seen:
            continue
        seen.add(name)
        v = "%d.%d.%d" % (rng.randint(0, 9), rng.randint(0, 30), rng.randint(0, 40))
        purl = "pkg:npm/%s@%s" % (name, v)
        comps.append({"type": "library", "bom-ref": purl, "name": name, "version": v, "purl": purl,
                      "licenses": [{"license": {"id": "MIT"}}]})
    common = "pkg:npm/common-lib@1.2.%d" % (i % 3)
    comps.append({"type": "library", "bom-ref": common, "name": "common-lib", "version": "1.2.%d" % (i % 3), "purl": common,
                  "licenses": [{"license": {"id": "MIT"}}]})
    n += 1
    doc = {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
           "serialNumber": "urn:uuid:00000000-0000-4000-8000-%012d" % i,
           "metadata": {"timestamp": "2026-01-01T00:00:00Z", "component": {"type": "application", "name": "agent-%d" % (i % 97), "version": "1.0.%d" % i}},
           "components": comps}
    return json.dumps(doc).encode(), n


def request(method, url, token, body=None, timeout=60):
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except Exception as e:  # connection refused or reset: the server is down
        return 0, str(e).encode()


def load(base, token, n, clients, seed):
    bodies = {}
    lock = threading.Lock()
    next_i = [0]
    lat, acks, statuses = [], [], {}
    def worker():
        while True:
            with lock:
                i = next_i[0]
                if i >= n:
                    return
                next_i[0] += 1
            body, count = sbom(seed, i)
            url = "%s/v1/agents/agent-%d/releases/1.0.%d" % (base, i % 97, i)
            while True:
                t0 = time.perf_counter()
                status, _ = request("POST", url, token, body)
                dt = time.perf_counter() - t0
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                if status in (201, 200):
                    with lock:
                        lat.append(dt)
                        acks.append({"agent": "agent-%d" % (i % 97), "version": "1.0.%d" % i, "components": count})
                    break
                if status in (0, 503, 429):
                    time.sleep(0.2)  # down, unavailable or rate-limited: retry, as push would
                    continue
                print("unexpected %d for %s" % (status, url), file=sys.stderr)
                break
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    comps = sum(a["components"] for a in acks)
    out = {"pushed": len(acks), "wall_s": round(wall, 2), "sboms_per_s": round(len(acks) / wall, 1),
           "components_per_s": round(comps / wall), "p50_ms": round(lat[len(lat) // 2] * 1000, 1) if lat else None,
           "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1) if lat else None,
           "statuses": {str(k): v for k, v in sorted(statuses.items())}}
    json.dump(acks, open("acks.json", "w"))
    print(json.dumps(out))


def verify(base, token, acks_path):
    acks = json.load(open(acks_path))
    missing, partial = 0, 0
    for a in acks:
        status, body = request("GET", "%s/v1/agents/%s/releases/%s" % (base, a["agent"], a["version"]), token)
        if status != 200:
            missing += 1
            continue
        if json.loads(body).get("components") != a["components"]:
            partial += 1
            continue
        status, body = request("GET", "%s/v1/agents/%s/releases/%s/components" % (base, a["agent"], a["version"]), token)
        if status != 200 or len(json.loads(body).get("components", [])) != a["components"]:
            partial += 1
    print(json.dumps({"acknowledged": len(acks), "missing": missing, "incomplete": partial}))
    return 0 if missing == 0 and partial == 0 else 1


def advisory(base, token, names):
    record = {"schema_version": "1.6.0", "id": "BENCH-%s" % "-".join(names)[:60], "modified": "2026-06-01T00:00:00Z",
              "summary": "bench advisory", "database_specific": {"severity": "HIGH"},
              "affected": [{"package": {"ecosystem": "npm", "name": n}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]} for n in names]}
    start = time.monotonic()
    status, body = request("POST", base + "/v1/advisories/import", token, json.dumps(record).encode(), timeout=3600)
    took = time.monotonic() - start
    summary = json.loads(body) if status == 200 else body.decode(errors="replace")
    print(json.dumps({"names": len(names), "status": status, "seconds": round(took, 2), "summary": summary}))
    return 0 if status == 200 else 1


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "load":
        load(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    elif cmd == "verify":
        sys.exit(verify(sys.argv[2], sys.argv[3], sys.argv[4]))
    elif cmd == "advisory":
        sys.exit(advisory(sys.argv[2], sys.argv[3], sys.argv[4:]))
    elif cmd == "sbom":
        sys.stdout.write(sbom(int(sys.argv[2]), int(sys.argv[3]))[0].decode())
