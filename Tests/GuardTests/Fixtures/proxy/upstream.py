"""Loopback upstreams for the proxy tests: an HTTP server that answers every request with what it
received (method, path, headers, body length) and counts requests (except /silent, which it takes and
does not answer for 30 s, and /big, 8 MiB of 'b'), and a TCP echo server for tunnels.
Prints 'http=PORT echo=PORT reset=PORT flood=PORT retry=PORT' (reset resets every connection; retry answers a ClientHello with a HelloRetryRequest) once both listen, then serves until killed."""
import http.server, json, socket, socketserver, sys, threading

count = 0
lock = threading.Lock()

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_any(self):
        global count
        with lock:
            count += 1
            n = count
        if self.path == "/big":
            # 8 MiB, more than the kernel's buffers hold for a client that does not read.
            self.send_response(200)
            self.send_header("Content-Length", str(8 << 20))
            self.end_headers()
            try:
                self.wfile.write(b"b" * (8 << 20))
            except OSError:
                pass
            return
        if self.path == "/silent":
            # An upstream that takes the request and does not answer for a long time.
            threading.Event().wait(30)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        out = json.dumps({"n": n, "method": self.command, "path": self.path,
                          "headers": {k.lower(): v for k, v in self.headers.items()}, "body": len(body)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = do_POST = do_PUT = do_any
    def log_message(self, *a): pass

class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                break
            self.request.sendall(data)
        self.request.shutdown(socket.SHUT_WR)

class Reset(socketserver.BaseRequestHandler):
    """Accepts, reads a little, and resets the connection (SO_LINGER 0): an upstream that fails hard."""
    def handle(self):
        try:
            self.request.recv(1024)
        except OSError:
            pass
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.request.close()

class Flood(socketserver.BaseRequestHandler):
    """Sends 1 MiB blocks as fast as the connection takes them, until it breaks."""
    def handle(self):
        block = b"x" * (1 << 20)
        try:
            while True:
                self.request.sendall(block)
        except OSError:
            pass

class Retry(socketserver.BaseRequestHandler):
    """A TLS server's side of a HelloRetryRequest, canned: reads the first ClientHello record, answers
    with a ServerHello whose random marks it a HelloRetryRequest, then echoes whatever comes next (the
    client's second ClientHello, if the proxy lets it through)."""
    HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
    def handle(self):
        try:
            head = b""
            while len(head) < 5:
                head += self.request.recv(5 - len(head))
            want = int.from_bytes(head[3:5], "big")
            got = 0
            while got < want:
                got += len(self.request.recv(want - got))
            body = b"\x03\x03" + self.HRR_RANDOM + b"\x00" + b"\x13\x01" + b"\x00" + b"\x00\x06" + b"\x00\x2b\x00\x02\x03\x04"
            hs = b"\x02" + len(body).to_bytes(3, "big") + body
            self.request.sendall(b"\x16\x03\x03" + len(hs).to_bytes(2, "big") + hs)
            while True:
                data = self.request.recv(65536)
                if not data:
                    break
                self.request.sendall(data)
        except OSError:
            pass

class ThreadingHTTP(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
class ThreadingTCP(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

h = ThreadingHTTP(("127.0.0.1", 0), Handler)
e = ThreadingTCP(("127.0.0.1", 0), Echo)
r = ThreadingTCP(("127.0.0.1", 0), Reset)
f = ThreadingTCP(("127.0.0.1", 0), Flood)
threading.Thread(target=h.serve_forever, daemon=True).start()
threading.Thread(target=e.serve_forever, daemon=True).start()
threading.Thread(target=r.serve_forever, daemon=True).start()
y = ThreadingTCP(("127.0.0.1", 0), Retry)
threading.Thread(target=f.serve_forever, daemon=True).start()
threading.Thread(target=y.serve_forever, daemon=True).start()
print(f"http={h.server_address[1]} echo={e.server_address[1]} reset={r.server_address[1]} flood={f.server_address[1]} retry={y.server_address[1]}", flush=True)
threading.Event().wait()
