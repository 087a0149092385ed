"""A small in-memory registry for the referrers-tag writer's edge cases, which distribution 2.8 does
not produce on demand.

  conditional_registry.py PORTFILE LOG weak|status:CODE

  weak:        manifests carry a *weak* ETag (W/"digest"), as a gzip-ing proxy makes of a strong one,
               and tag writes honour If-Match with the strong comparison RFC 9110 §13.1.1 requires
               (a weak tag never matches): every conditional write is 412.
  status:CODE: writes of a `sha256-…` referrers tag are answered CODE (403, 404, 500, …).
  blob500:     the first HEAD of a blob is answered 500, as distribution 2.8 answers one while another
               client re-uploads that blob.
Each manifest write is logged as `PUT REF if-match=VALUE|- -> CODE`.
"""
import hashlib, json, os, signal, sys, threading, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs


def main(portfile, logfile, behaviour):
    lock = threading.Lock()
    blobs, manifests, tags = {}, {}, {}
    failed = []

    def digest_of(data):
        return "sha256:" + hashlib.sha256(data).hexdigest()

    def log(line):
        with open(logfile, "a") as f:
            f.write(line + "\n")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, code, body=b"", headers=()):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def do_GET(self):
            path = urlparse(self.path).path
            ref = path.split("/")[-1]
            if "/manifests/" in path:
                with lock:
                    d = tags.get(ref, ref)
                    m = manifests.get(d)
                if m is None:
                    return self.reply(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
                etag = ('W/"%s"' if behaviour == "weak" else '"%s"') % d
                return self.reply(200, m[0], [("Content-Type", m[1]), ("Docker-Content-Digest", d), ("ETag", etag)])
            if "/blobs/" in path:
                with lock:
                    data = blobs.get(ref)
                    if behaviour == "blob500" and self.command == "HEAD" and not failed:
                        failed.append(ref)
                        return self.reply(500)
                return self.reply(200, data) if data is not None else self.reply(404)
            self.reply(404)

        do_HEAD = do_GET

        def do_POST(self):
            self.body()
            repo = self.path.split("/v2/", 1)[1].split("/blobs/", 1)[0]
            self.reply(202, b"", [("Location", "/v2/%s/blobs/uploads/%s" % (repo, uuid.uuid4()))])

        def do_PUT(self):
            url = urlparse(self.path)
            data = self.body()
            if "/blobs/uploads/" in url.path:
                d = parse_qs(url.query).get("digest", [""])[0]
                with lock:
                    blobs[d] = data
                return self.reply(201, b"", [("Docker-Content-Digest", d)])
            ref = url.path.split("/")[-1]
            d = digest_of(data)
            condition = self.headers.get("If-Match")
            code = 201
            with lock:
                current = tags.get(ref)
                if ref.startswith("sha256-") and behaviour.startswith("status:"):
                    code = int(behaviour.split(":")[1])
                elif condition and current and (condition.startswith("W/") or condition != '"%s"' % current):
                    code = 412   # strong comparison: a weak entity tag never matches
                else:
                    manifests[d] = (data, self.headers.get("Content-Type", ""))
                    if not ref.startswith("sha256:"):
                        tags[ref] = d
            log("PUT %s if-match=%s -> %d" % (ref, condition or "-", code))
            if code != 201:
                return self.reply(code, b'{"errors":[{"code":"DENIED","message":"no"}]}')
            self.reply(201, b"", [("Docker-Content-Digest", d)])

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(portfile + ".tmp", portfile)
    server.serve_forever()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    main(*sys.argv[1:])
