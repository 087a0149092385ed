"""Talks to the proxy the way agents and attackers do, over real sockets, and prints one JSON object
per probe: {"probe": name, "status": int|None, "reason": header, "body": text, "echo": bool, ...}.
Usage: client.py PROXY_PORT HTTP_PORT ECHO_PORT KNOWN_SECRET RETRY_PORT"""
import base64, json, socket, ssl, sys

proxy, http_port, echo_port, known, retry_port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])

def exchange(raw, read_all=True, timeout=5):
    s = socket.create_connection(("127.0.0.1", proxy), timeout=timeout)
    try:
        s.sendall(raw)
    except OSError:
        pass  # the proxy may answer and stop reading before a huge request is all sent
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return data

def parse(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else None
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers.get("x-provenant-reason", ""), body.decode("utf-8", "replace")

def probe(name, raw):
    status, reason, body = parse(exchange(raw))
    print(json.dumps({"probe": name, "status": status, "reason": reason, "body": body}), flush=True)

def get(host, port, path="/x", extra=b"", hosthdr=None, method=b"GET", body=b"", close=True):
    hh = (hosthdr or f"{host}:{port}").encode()
    return (method + b" http://" + f"{host}:{port}".encode() + path.encode() + b" HTTP/1.1\r\nHost: " + hh +
            b"\r\n" + extra + (b"Connection: close\r\n" if close else b"") +
            (b"Content-Length: " + str(len(body)).encode() + b"\r\n" if body else b"") + b"\r\n" + body)

probe("allowed", get("api.example.test", http_port, "/v1/items?q=1", extra=b"Proxy-Connection: keep-alive\r\n"))
probe("undeclared-host", get("evil.example.test", http_port))
probe("undeclared-port", get("api.example.test", 9))
probe("host-mismatch", get("api.example.test", http_port, hosthdr="evil.example.test"))
# HTTP/1.0 made Host optional: the URL names the place; HTTP/1.1 without Host is refused.
probe("http10-no-host", b"GET http://api.example.test:" + str(http_port).encode() + b"/v1/old HTTP/1.0\r\n\r\n")
probe("http11-no-host", b"GET http://api.example.test:" + str(http_port).encode() + b"/v1/old HTTP/1.1\r\nConnection: close\r\n\r\n")
probe("rebinding", get("rebind.example.test", http_port))
probe("metadata", get("meta.example.test", http_port))
probe("integer-literal", get("2130706433", http_port))
probe("userinfo", b"GET http://user:pw@api.example.test:" + str(http_port).encode() + b"/ HTTP/1.1\r\nHost: api.example.test\r\n\r\n")
payload = base64.b64encode(json.dumps({"user": "bob", "note": "sync", "key": known}).encode())
probe("known-secret-base64", get("api.example.test", http_port, "/upload", method=b"POST", body=b"data=" + payload))
# Base64 wrapped at 76 columns (base64.encodebytes, GNU base64), the break inside the secret's form.
dump = base64.encodebytes(b'{"host":"build-7","padding":"' + b"x" * 54 + b'","db_password":"' + known.encode() + b'"}\n')
probe("known-secret-base64-wrapped", get("api.example.test", http_port, "/w", method=b"POST", body=dump))
# The same, form-encoded (curl --data-urlencode: the breaks are %0A), and indented as in a YAML block.
probe("known-secret-base64-wrapped-form", get("api.example.test", http_port, "/w", method=b"POST", body=b"d=" + dump.replace(b"\n", b"%0A").replace(b"+", b"%2B").replace(b"/", b"%2F")))
probe("known-secret-base64-wrapped-indented", get("api.example.test", http_port, "/w", method=b"POST", body=b"data: |\n    " + dump.replace(b"\n", b"\n    ")))
# Joined with spaces (tr '\n' ' '), quoted as in a reply (> ), and form-encoded with an indented
# block whose spaces are the form's + (left undone by the last stop, all passed).
probe("known-secret-base64-wrapped-spaces", get("api.example.test", http_port, "/w", method=b"POST", body=dump.replace(b"\n", b" ")))
probe("known-secret-base64-wrapped-quoted", get("api.example.test", http_port, "/w", method=b"POST", body=b"> " + dump.replace(b"\n", b"\n> ")))
probe("known-secret-base64-wrapped-form-indented", get("api.example.test", http_port, "/w", method=b"POST",
      body=b"d=" + dump.replace(b"+", b"%2B").replace(b"/", b"%2F").replace(b"\n", b"%0A++++")))
# One character percent-encoded, or JSON-escaped, is still the secret.
probe("known-secret-partly-escaped", get("api.example.test", http_port, "/f", method=b"POST", body=b"pw=%" + format(ord(known[0]), "02x").encode() + known[1:].encode()))
probe("known-secret-json-escaped", get("api.example.test", http_port, "/j", method=b"POST", body=b'{"k":"\\u00' + format(ord(known[0]), "02x").encode() + known[1:].replace("/", "\\/").encode() + b'"}'))
probe("gzip-body", get("api.example.test", http_port, "/z", method=b"POST", extra=b"Content-Encoding: gzip\r\n", body=b"\x1f\x8b\x08\x00"))
probe("connection-smuggle", get("api.example.test", http_port, "/s", method=b"POST", extra=b"Connection: content-length\r\n", body=b"GET /admin HTTP/1.1\r\nHost: x\r\n\r\n"))
probe("secret-in-target", b"GET https://api.example.test/reset/" + known.encode() + b" HTTP/1.1\r\nHost: api.example.test\r\n\r\n")
probe("github-token-header", get("api.example.test", http_port, extra=b"Authorization: token ghp_R7wQ2bX9kLm4Np8sT1vY6zC3dF5gH0jK2mQe\r\n"))
# A config file sent base64 in a JSON payload: the token in it is the same leak (betterleaks decodes base64).
probe("github-token-base64-body", get("api.example.test", http_port, "/upload", method=b"POST",
      body=b'{"file":"' + base64.b64encode(b"[auth]\nuser = ci\ntoken = ghp_R7wQ2bX9kLm4Np8sT1vY6zC3dF5gH0jK2mQe\n") + b'"}'))
probe("malformed", b"GET\r\n\r\n")
probe("bare-lf", b"GET http://api.example.test/ HTTP/1.1\nHost: api.example.test\n\n")
probe("huge-header", b"GET http://api.example.test:" + str(http_port).encode() + b"/ HTTP/1.1\r\nHost: api.example.test\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
probe("chunked", get("api.example.test", http_port, extra=b"Transfer-Encoding: chunked\r\n"))
probe("after-abuse", get("api.example.test", http_port, "/still-serving"))

# Keep-alive: two requests pipelined on one connection, the second closing it; both answered in order.
data = exchange(get("api.example.test", http_port, "/first", close=False) + get("api.example.test", http_port, "/second"))
print(json.dumps({"probe": "keep-alive", "status": parse(data)[0], "answers": data.count(b"HTTP/1.1 200 OK"),
                  "order": data.find(b'"/first"') < data.find(b'"/second"') and data.find(b'"/first"') >= 0,
                  "kept": data.split(b"\r\n\r\n")[0].lower().count(b"connection: keep-alive")}), flush=True)
# A request to a host that is not declared, after an allowed one on the same connection, is still refused.
data = exchange(get("api.example.test", http_port, "/ok", close=False) + get("evil.example.test", http_port, "/drop"))
print(json.dumps({"probe": "keep-alive-then-denied", "answers": data.count(b"HTTP/1.1 200 OK"), "denied": data.count(b"HTTP/1.1 403")}), flush=True)

def hello(sni):
    ctx = ssl.create_default_context()
    i, o = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(i, o, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return o.read()

def connect(authority):
    """A socket to the proxy that has sent CONNECT authority, and the proxy's answer head."""
    s = socket.create_connection(("127.0.0.1", proxy), timeout=5)
    s.sendall(b"CONNECT " + authority.encode() + b" HTTP/1.1\r\nHost: " + authority.encode() + b"\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        c = s.recv(1)
        if not c:
            break
        head += c
    return s, head

def tunnel(name, authority, first):
    s, head = connect(authority)
    status = int(head.split()[1]) if head.startswith(b"HTTP/") else None
    echoed = b""
    if status == 200:
        s.sendall(first)
        s.shutdown(socket.SHUT_WR)  # half-close: the echo must still come back
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                echoed += c
        except (socket.timeout, ConnectionResetError):
            pass
    s.close()
    print(json.dumps({"probe": name, "status": status, "echo": echoed == first and len(first) > 0,
                      "reason": head.decode("latin-1")}), flush=True)

tunnel("tunnel-ok", f"api.example.test:{echo_port}", hello("api.example.test"))
tunnel("tunnel-sni-mismatch", f"api.example.test:{echo_port}", hello("evil.example.test"))
tunnel("tunnel-no-tls", f"api.example.test:{echo_port}", b"GET / HTTP/1.1\r\n\r\n")
tunnel("tunnel-undeclared", f"evil.example.test:{echo_port}", hello("evil.example.test"))

def with_extension(hello, ext_type, data):
    """A ClientHello record with one more extension at the end, its three lengths rewritten."""
    body = bytearray(hello[9:])                        # after the record (5) and handshake (4) headers
    at = 2 + 32                                        # legacy_version, random
    at += 1 + body[at]                                 # session id
    at += 2 + int.from_bytes(body[at:at + 2], "big")   # cipher suites
    at += 1 + body[at]                                 # compression methods
    ext_len = int.from_bytes(body[at:at + 2], "big")
    extra = ext_type.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data
    body[at:at + 2] = (ext_len + len(extra)).to_bytes(2, "big")
    body += extra
    hs = b"\x01" + len(body).to_bytes(3, "big") + bytes(body)
    return hello[:3] + len(hs).to_bytes(2, "big") + hs

# An ECH extension (type 0xfe0d) on a hello whose outer name is the CONNECT host: denied.
tunnel("tunnel-ech", f"api.example.test:{echo_port}", with_extension(hello("api.example.test"), 0xfe0d, b"\x00" + b"\x00" * 40))

def retry(name, second_sni):
    """A tunnel whose server answers the first ClientHello with a HelloRetryRequest; the client then
    sends a change_cipher_spec record and a second ClientHello naming second_sni."""
    s, _ = connect(f"api.example.test:{retry_port}")
    s.sendall(hello("api.example.test"))
    hrr = b""
    try:
        while len(hrr) < 55:
            c = s.recv(55 - len(hrr))
            if not c:
                break
            hrr += c
    except socket.timeout:
        pass
    second = b"\x14\x03\x03\x00\x01\x01" + hello(second_sni)
    echoed = b""
    try:
        s.sendall(second)
        while len(echoed) < len(second):
            c = s.recv(65536)
            if not c:
                break
            echoed += c
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        pass
    s.close()
    print(json.dumps({"probe": name, "retry": hrr[11:43] == bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"),
                      "echo": echoed == second}), flush=True)

retry("retry-same-name", "api.example.test")
retry("retry-other-name", "evil.example.test")

# The second ClientHello sent at once with the first, before the server has answered: held until the
# server's HelloRetryRequest shows it must be checked; naming another host, it never reaches the server.
def retry_early(name, second_sni):
    s, _ = connect(f"api.example.test:{retry_port}")
    early = b"\x14\x03\x03\x00\x01\x01" + hello(second_sni)
    s.sendall(hello("api.example.test") + early)
    got = b""
    try:
        while not got.endswith(early):
            c = s.recv(65536)
            if not c:
                break
            got += c
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    print(json.dumps({"probe": name, "echo": got.endswith(early)}), flush=True)

retry_early("retry-early-same-name", "api.example.test")
retry_early("retry-early-other-name", "evil.example.test")
