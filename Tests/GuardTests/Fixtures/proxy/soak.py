"""A soak of mixed good and bad clients against the proxy, from 8 threads: allowed requests, denied
hosts, malformed request lines, slowloris heads abandoned half-way, 1 MB headers, tunnels that
half-close, and requests to an upstream that resets. Prints one JSON line of counts.
Usage: soak.py PROXY_PORT HTTP_PORT ECHO_PORT RESET_PORT TOTAL"""
import json, socket, sys, threading

proxy, http_port, echo_port, reset_port, total = (int(a) for a in sys.argv[1:6])
counts = {}
lock = threading.Lock()

def note(k):
    with lock:
        counts[k] = counts.get(k, 0) + 1

def talk(raw, read=True, shut=False, timeout=10):
    s = socket.create_connection(("127.0.0.1", proxy), timeout=timeout)
    try:
        s.sendall(raw)
        if shut:
            s.shutdown(socket.SHUT_WR)
        data = b""
        while read:
            c = s.recv(65536)
            if not c:
                break
            data += c
        return data
    except OSError:
        return b""
    finally:
        s.close()

def status(data):
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0

def one(i):
    k = i % 8
    if k == 0:
        note("allowed-%d" % status(talk(f"GET http://api.example.test:{http_port}/{i} HTTP/1.1\r\nHost: api.example.test:{http_port}\r\nConnection: close\r\n\r\n".encode())))
    elif k == 1:
        note("denied-%d" % status(talk(f"GET http://evil.example.test:{http_port}/ HTTP/1.1\r\nHost: evil.example.test:{http_port}\r\n\r\n".encode())))
    elif k == 2:
        note("malformed-%d" % status(talk(b"\x16\x03\x01 garbage \r\n\r\n")))
    elif k == 3:
        talk(b"GET http://api.example.test/ HTTP/1.1\r\nHost: api.exa", read=False)
        note("slowloris-abandoned")
    elif k == 4:
        note("huge-%d" % status(talk(b"GET http://api.example.test/ HTTP/1.1\r\nX: " + b"a" * (1 << 20) + b"\r\n\r\n")))
    elif k == 5:
        data = talk(f"CONNECT api.example.test:{echo_port} HTTP/1.1\r\n\r\n".encode() + b"not tls", shut=True)
        note("tunnel-%d" % status(data))
    elif k == 6:
        note("reset-%d" % status(talk(f"GET http://api.example.test:{reset_port}/ HTTP/1.1\r\nHost: api.example.test:{reset_port}\r\nConnection: close\r\n\r\n".encode())))
    else:
        note("halfclose-%d" % status(talk(f"GET http://api.example.test:{http_port}/h HTTP/1.1\r\nHost: api.example.test:{http_port}\r\nConnection: close\r\n\r\n".encode(), shut=True)))

def worker(w):
    for i in range(w, total, 8):
        one(i)

threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(counts, sort_keys=True), flush=True)
