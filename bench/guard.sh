#!/usr/bin/env bash
# The egress guard beside Squid on loopback: one nginx worker serving a 900-byte file is the upstream;
# wrk (-t2, 64 connections, DURATION seconds, default 10) reaches it directly, through Squid 5.7 configured
# with the same allowlist (one host, one port), and through `provenant guard proxy` with the manifest that
# declares it. wrk speaks to a forward proxy with a Lua script that writes the absolute-form request line.
# Each configuration runs RUNS times (default 3) in turn; the table gives median requests/s and median p99
# latency, and the ratios the issue asks for (guard/Squid requests/s, guard/Squid p99). Then a CONNECT
# tunnel: 1 GB from a local source through each proxy (Python sockets on both ends), in MB/s; and the
# guard's RSS with 10,000 idle client connections. Each wrk line on standard error also gives the proxy's
# CPU time per request (user + system), which shows how much of the shared cores each proxy needs.
# It reports; it never fails on speed.
# Needs: wrk, nginx, squid (Debian: apt-get install wrk nginx-light squid), python3.
# Environment: PROVENANT (a provenant binary; default: builds release), RUNS, DURATION, CONNECTIONS (64),
# THREADS (say "1 2": the guard with each --threads value too, measured in the same rounds).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; repo="$(dirname "$here")"
runs="${RUNS:-3}"; duration="${DURATION:-10}"; conns="${CONNECTIONS:-64}"
for t in wrk nginx squid python3; do command -v "$t" >/dev/null || { echo "needs $t (apt-get install wrk nginx-light squid)" >&2; exit 2; }; done
if [ -z "${PROVENANT:-}" ]; then (cd "$repo" && swift build -c release --static-swift-stdlib --product provenant >&2); PROVENANT="$repo/.build/release/provenant"; fi
work="$here/out/guard"; rm -rf "$work"; mkdir -p "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up_port=$(free_port); squid_port=$(free_port); guard_port=$(free_port); src_port=$(free_port)

# Upstream: nginx, one worker, a 900-byte body.
mkdir -p "$work/www" "$work/nginx"
head -c 900 /dev/zero | tr '\0' 'a' > "$work/www/index.html"
cat > "$work/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$up_port; root $work/www; location / { index index.html; } }
}
EOF
nginx -c "$work/nginx/nginx.conf" -g 'daemon off;' & pids+=($!)

# Squid with the same allowlist: the one host and port; nothing else.
mkdir -p "$work/squid"
cat > "$work/squid/squid.conf" <<EOF
http_port 127.0.0.1:$squid_port
pid_filename $work/squid/squid.pid
cache deny all
cache_mem 0
access_log none
cache_log $work/squid/cache.log
hosts_file $work/squid/hosts
acl allowed_host dstdomain api.example.test
acl allowed_port port $up_port
acl CONNECT method CONNECT
acl tunnel_ip dst 127.0.0.1/32
acl tunnel_port port $src_port
http_access allow CONNECT tunnel_ip tunnel_port
http_access allow allowed_host allowed_port
http_access deny all
EOF
echo "127.0.0.1 api.example.test" > "$work/squid/hosts"
squid -N -f "$work/squid/squid.conf" & pids+=($!)
squid_pid=$!

# The guard, with the manifest that declares the same.
cat > "$work/agent.yaml" <<EOF
apiVersion: provenant.dev/v1
kind: Agent
name: bench-agent
egress:
  - host: api.example.test
    ports: [$up_port]
  - cidr: 127.0.0.1/32
    ports: [$up_port, $src_port]
EOF
"$PROVENANT" guard proxy --manifest "$work/agent.yaml" --listen "127.0.0.1:$guard_port" --resolve api.example.test=127.0.0.1 \
    --max-connections 20000 2>"$work/guard.log" & pids+=($!)
guard_pid=$!
# THREADS="1 2" also measures the guard with each of those --threads values, in the same rounds.
declare -A variant_port variant_pid
variants=""
for t in ${THREADS:-}; do
    p=$(free_port)
    "$PROVENANT" guard proxy --manifest "$work/agent.yaml" --listen "127.0.0.1:$p" --resolve api.example.test=127.0.0.1 \
        --max-connections 20000 --threads "$t" 2>"$work/guard-t$t.log" & pids+=($!)
    variant_port[guard-t$t]=$p; variant_pid[guard-t$t]=$!; variants+=" guard-t$t"
done
sleep 2

cat > "$work/proxy.lua" <<EOF
wrk.path = "http://api.example.test:$up_port/index.html"
wrk.headers["Host"] = "api.example.test:$up_port"
EOF

# CPU time (user + system, clock ticks) a process has used so far; 0 for none.
ticks() { [ -n "${1:-}" ] && awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# requests/s and p99 (ms) from one wrk run; with CPU_PID set, also that process's CPU time per request (µs).
measure() {
    local before; before=$(ticks "${CPU_PID:-}")
    local out; out=$(wrk -t2 -c"$conns" -d"${duration}s" --latency "$@" 2>&1)
    local used=$(( $(ticks "${CPU_PID:-}") - before ))
    local total; total=$(echo "$out" | awk '/requests in/ {print $1}')
    local cpu="-"; [ -n "${CPU_PID:-}" ] && [ "${total:-0}" -gt 0 ] && cpu=$(python3 -c "print(round($used / $(getconf CLK_TCK) * 1e6 / $total))")
    local rps; rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    local p99; p99=$(echo "$out" | awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}')
    local errors; errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
    echo "$rps $p99 cpu-us/req=$cpu ${errors:-}"
}
declare -A rps p99 cpu
names="direct squid guard$variants"
for name in $names; do rps[$name]=""; p99[$name]=""; cpu[$name]=""; done
for i in $(seq "$runs"); do
    for name in $names; do
        case $name in
            direct) r=$(measure "http://127.0.0.1:$up_port/index.html") ;;
            squid) r=$(CPU_PID=$squid_pid measure -s "$work/proxy.lua" "http://127.0.0.1:$squid_port") ;;
            guard) r=$(CPU_PID=$guard_pid measure -s "$work/proxy.lua" "http://127.0.0.1:$guard_port") ;;
            *) r=$(CPU_PID=${variant_pid[$name]} measure -s "$work/proxy.lua" "http://127.0.0.1:${variant_port[$name]}") ;;
        esac
        echo "run $i $name: $r" >&2
        rps[$name]+="$(echo "$r" | awk '{print $1}') "
        p99[$name]+="$(echo "$r" | awk '{print $2}') "
        cpu[$name]+="$(echo "$r" | awk '{sub(/cpu-us\/req=/, "", $3); print $3}') "
    done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
echo
echo "| Path | requests/s (median of $runs) | p99 ms (median) | proxy CPU µs per request (median) |"
echo "|---|---:|---:|---:|"
for name in $names; do
    c="-"; [ "$name" != direct ] && c=$(echo "${cpu[$name]}" | median)
    echo "| $name | $(echo "${rps[$name]}" | median) | $(echo "${p99[$name]}" | median) | $c |"
done
g=$(echo "${rps[guard]}" | median); s=$(echo "${rps[squid]}" | median)
gp=$(echo "${p99[guard]}" | median); sp=$(echo "${p99[squid]}" | median)
echo
echo "guard/Squid requests/s: $(python3 -c "print(round($g/$s, 2))") (target at least 3); guard/Squid p99: $(python3 -c "print(round($gp/$sp, 2))") (target at most 0.5)"
for name in $variants; do
    g=$(echo "${rps[$name]}" | median); gp=$(echo "${p99[$name]}" | median)
    echo "$name/Squid requests/s: $(python3 -c "print(round($g/$s, 2))"); p99: $(python3 -c "print(round($gp/$sp, 2))")"
done

# CONNECT tunnel throughput: 1 GB from a local source, through each proxy (both allow this one port).
python3 - "$src_port" <<'PY' & pids+=($!)
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
block = b"x" * (1 << 20)
while True:
    c, _ = s.accept()
    c.recv(65536)             # the client's first flight (its ClientHello)
    for _ in range(1024):
        c.sendall(block)
    c.close()
PY
sleep 1
# tunnel PORT: 1 GB from the source through the proxy at PORT (CONNECT, then a TLS ClientHello, as a
# client would send); tunnel 0: the same 1 GB read straight from the source, no proxy, which is what
# this machine's loopback and Python allow.
tunnel() {
    python3 - "$1" "$src_port" <<'PY'
import socket, ssl, sys, time
proxy, target = int(sys.argv[1]), int(sys.argv[2])
if proxy == 0:
    s = socket.create_connection(("127.0.0.1", target))
    s.sendall(b"hello")
else:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    i, o = ssl.MemoryBIO(), ssl.MemoryBIO(); t = ctx.wrap_bio(i, o)
    try: t.do_handshake()
    except ssl.SSLWantReadError: pass
    hello = o.read()
    s = socket.create_connection(("127.0.0.1", proxy))
    s.sendall(f"CONNECT 127.0.0.1:{target} HTTP/1.1\r\nHost: 127.0.0.1:{target}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        c = s.recv(1)
        if not c: break
        head += c
    if b" 200" not in head.split(b"\r\n")[0]:
        print("refused:", head.split(b"\r\n")[0].decode()); sys.exit(0)
    s.sendall(hello)
start = time.monotonic(); n = 0
buf = bytearray(1 << 20)
while True:
    k = s.recv_into(buf)
    if not k: break
    n += k
secs = time.monotonic() - start
print(f"{n / 1e6:.0f} MB in {secs:.2f} s = {n / 1e6 / secs:.0f} MB/s")
PY
}
echo
echo "1 GB straight from the source (no proxy, the machine's ceiling): $(tunnel 0)"
echo "CONNECT, 1 GB (1,024 MiB) through the guard: $(tunnel "$guard_port")"
echo "CONNECT, 1 GB through Squid: $(tunnel "$squid_port")"

# Memory with 10,000 idle client connections.
python3 - "$guard_port" "$guard_pid" <<'PY'
import socket, sys, time
port, pid = int(sys.argv[1]), sys.argv[2]
def rss(): return int(open(f"/proc/{pid}/status").read().split("VmRSS:")[1].split()[0])
before = rss()
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(10000)]
time.sleep(2)
print(f"\nguard RSS: {before // 1024} MiB idle, {rss() // 1024} MiB with 10,000 idle client connections")
PY
