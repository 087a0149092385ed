#!/usr/bin/env python3
"""Servers the registry tests start beside the real registry, on loopback only.

  registry_helper.py token PORTFILE LOG KEY CERT ISSUER SERVICE USER:PASSWORD [OAUTHUSER:PASSWORD]
      A token issuer for the registry's `auth: token`: GET /token?service=&scope= with Basic credentials
      answers {"token": JWT} (RS256, signed with KEY through `openssl dgst`, the certificate in `x5c`),
      granting the scopes asked for; the second user gets {"access_token": JWT} instead. Anonymous or
      wrong credentials get 401. Each request is logged as one line: `token user=NAME|- scope=...`.

  registry_helper.py redirect PORTFILE LOG BLOBFILE USER:PASSWORD
      A stand-in registry that redirects: /v2/<repo>/blobs/<digest> wants Basic credentials, then
      answers 307 to http://localhost:PORT/storage/<digest> (another host name for the same server),
      which serves BLOBFILE; the all-zero digest redirects to /v2/<repo>/blobs/loop/1, and loop/N to
      loop/N+1, forever; the all-one digest redirects to /locked/<digest> on localhost, which answers
      401 with a Bearer realm of its own (/token, which hands out a token). Each request is logged
      as `PATH auth=yes|no`.

  registry_helper.py conditional PORTFILE LOG race|forget|weak|status:CODE|blob500
      A small in-memory registry (blob uploads, manifests by tag or digest) whose manifests carry an
      ETag (the quoted digest) and whose tag writes honour If-Match with RFC 9110's strong comparison
      (412 when it is not the tag's ETag; a weak `W/` tag never matches).
      `race`: the first write of a `sha256-…` referrers tag that carries If-Match finds that another
      writer has just added a descriptor of digest sha256:ff…ff, and is answered 412. `forget`: writes of
      such a tag are answered 201 and not stored. `weak`: manifests carry a weak ETag, as a gzip-ing proxy
      makes of a strong one. `status:CODE`: writes of such a tag are answered CODE. `blob500`: the first
      HEAD of a blob is answered 500, as distribution 2.8 answers one while another client uploads that
      blob. Each manifest write is logged as `PUT REF if-match=VALUE|- -> CODE`.

  registry_helper.py drip PORTFILE
      A registry that answers every GET at once with a 200 head (an OCI manifest of 100,000 bytes, or a
      blob of 100,000 bytes), then sends the body a byte every half second: each read comes well
      within any read timeout, and the whole would take 14 hours. HEAD is answered 200 at once.

The bound port is written to PORTFILE once the server listens.
"""
import base64, hashlib, json, os, signal, subprocess, sys, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def log(path, line):
    with open(path, "a") as f:
        f.write(line + "\n")


def basic_user(header, accounts):
    if not header or not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except Exception:
        return None
    return user if accounts.get(user) == password else None


def token_server(portfile, logfile, key, cert, issuer, service, *accounts):
    users = dict(a.split(":", 1) for a in accounts)
    oauth_user = accounts[1].split(":", 1)[0] if len(accounts) > 1 else None
    der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], check=True, capture_output=True).stdout

    def sign(claims):
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input.encode(),
                             check=True, capture_output=True).stdout
        return signing_input + "." + b64url(sig)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            url = urlparse(self.path)
            query = parse_qs(url.query)
            scopes = query.get("scope", [])
            user = basic_user(self.headers.get("Authorization"), users)
            log(logfile, "token user=%s scope=%s" % (user or "-", " ".join(scopes)))
            if url.path != "/token" or user is None:
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            access = []
            for scope in scopes:
                for one in scope.split(" "):
                    parts = one.split(":")
                    if len(parts) == 3 and parts[0] == "repository":
                        access.append({"type": "repository", "name": parts[1], "actions": parts[2].split(",")})
            now = int(time.time())
            jwt = sign({"iss": issuer, "sub": user, "aud": service, "exp": now + 600, "nbf": now - 60,
                        "iat": now, "jti": str(uuid.uuid4()), "access": access})
            body = json.dumps({"access_token" if user == oauth_user else "token": jwt, "expires_in": 600}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    serve(portfile, Handler)


class Replying(BaseHTTPRequestHandler):
    """A handler that logs nothing on stderr and answers with a body of known length."""

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


def subject_manifest(name):
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2},
                       "layers": [], "annotations": {"name": name}}, sort_keys=True).encode()


def redirect_server(portfile, logfile, blobfile, account):
    users = dict([account.split(":", 1)])
    blob = open(blobfile, "rb").read()
    state = {}

    class Handler(Replying):
        def do_GET(self):
            auth = self.headers.get("Authorization")
            log(logfile, "%s auth=%s" % (self.path, "yes" if auth else "no"))
            port = state["port"]
            parts = self.path.split("/")
            if self.path.startswith("/storage/"):
                self.reply(200, blob, [("Content-Type", "application/octet-stream")])
            elif self.path.startswith("/locked/"):
                realm = "http://localhost:%d/token" % port
                self.reply(401, b"", [("WWW-Authenticate", 'Bearer realm="%s",service="storage"' % realm)])
            elif self.path.startswith("/token"):
                self.reply(200, b'{"token": "storage-token"}', [("Content-Type", "application/json")])
            elif self.path.startswith("/v2/") and basic_user(auth, users) is None:
                self.reply(401, b"", [("WWW-Authenticate", 'Basic realm="helper"')])
            elif self.path.endswith("/manifests/echo"):
                # A registry that echoes what it was sent into its error message.
                sent = base64.b64decode(auth.split(" ", 1)[1]).decode()
                password = sent.split(":", 1)[1]
                message = "no manifest for %s (sent %s as %s; %s, %s)" % (sent.split(":", 1)[0], password, auth, password.upper(), password.lower())
                body = json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN", "message": message}]}).encode()
                self.reply(404, body, [("Content-Type", "application/json")])
            elif "/manifests/echo-body" in self.path:
                # And one that echoes it in the document it sends (found by helper-143).
                password = base64.b64decode(auth.split(" ", 1)[1]).decode().split(":", 1)[1]
                body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                   "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": password, "size": 2},
                                   "layers": []}).encode()
                digest = "sha256:" + hashlib.sha256(body).hexdigest()
                self.reply(200, body, [("Content-Type", "application/vnd.oci.image.manifest.v1+json"), ("Docker-Content-Digest", digest)])
            elif "/manifests/echo-digest" in self.path:
                # And one that echoes the password in a header the client quotes (found by helper-140).
                password = base64.b64decode(auth.split(" ", 1)[1]).decode().split(":", 1)[1]
                body = b'{"schemaVersion":2}'
                self.reply(200, body, [("Content-Type", "application/vnd.oci.image.manifest.v1+json"), ("Docker-Content-Digest", password)])
            elif "/manifests/echo-subject" in self.path or "/manifests/paged-subject" in self.path or "/manifests/looped-subject" in self.path:
                # Images whose referrers the API lists: for echo-subject, a descriptor whose digest is
                # the password; for paged-subject, nothing on the first page and a bundle on the
                # second, which the first names in a Link header (both found by helper-160).
                body = subject_manifest(self.path.rsplit("/", 1)[-1])
                digest = "sha256:" + hashlib.sha256(body).hexdigest()
                self.reply(200, body, [("Content-Type", "application/vnd.oci.image.manifest.v1+json"), ("Docker-Content-Digest", digest)])
            elif "/referrers/" in self.path:
                password = base64.b64decode(auth.split(" ", 1)[1]).decode().split(":", 1)[1]
                bundle = "application/vnd.dev.sigstore.bundle.v0.3+json"
                echo = "sha256:" + hashlib.sha256(subject_manifest("echo-subject")).hexdigest()
                looped = "sha256:" + hashlib.sha256(subject_manifest("looped-subject")).hexdigest()
                if looped in self.path:
                    # A page naming itself as the next, with two relations in one rel (review, helper-162).
                    listed = [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "3" * 64, "size": 10, "artifactType": bundle}]
                    links = [("Link", '<%s>; rel = "prev next"' % self.path)]
                elif echo in self.path:
                    listed = [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": password, "size": 10, "artifactType": bundle}]
                    links = []
                elif "page=2" in self.path:
                    listed = [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "2" * 64, "size": 10, "artifactType": bundle}]
                    links = []
                else:
                    listed = []
                    links = [("Link", '<%s?page=2>; rel="next"' % self.path.split("?")[0])]
                body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": listed}).encode()
                self.reply(200, body, [("Content-Type", "application/vnd.oci.image.index.v1+json")] + links)
            elif "/blobs/loop/" in self.path:
                n = int(parts[-1]) + 1
                self.reply(307, b"", [("Location", "/v2/r/blobs/loop/%d" % n)])
            elif self.path.endswith("/blobs/sha256:" + "1" * 64):
                self.reply(307, b"", [("Location", "http://localhost:%d/locked/%s" % (port, parts[-1]))])
            elif self.path.endswith("/blobs/sha256:" + "0" * 64):
                self.reply(307, b"", [("Location", "/v2/r/blobs/loop/1")])
            elif "/blobs/" in self.path:
                self.reply(307, b"", [("Location", "http://localhost:%d/storage/%s" % (port, parts[-1]))])
            else:
                self.reply(404)

        do_HEAD = do_GET

    serve(portfile, Handler, state)


def conditional_server(portfile, logfile, behaviour):
    import hashlib, threading
    lock = threading.Lock()
    blobs, manifests, tags, uploads = {}, {}, {}, set()
    raced, failed = [], []

    def digest_of(data):
        return "sha256:" + hashlib.sha256(data).hexdigest()

    class Handler(Replying):
        protocol_version = "HTTP/1.1"

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def manifest(self, ref):
            with lock:
                d = tags.get(ref, ref)
                m = manifests.get(d)
            if m is None:
                return self.reply(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
            data, media = m
            etag = ('W/"%s"' if behaviour == "weak" else '"%s"') % d
            self.reply(200, data, [("Content-Type", media), ("Docker-Content-Digest", d), ("ETag", etag)])

        def do_GET(self):
            path = urlparse(self.path).path
            parts = path.split("/")
            if "/manifests/" in path:
                return self.manifest(parts[-1])
            if "/blobs/" in path:
                with lock:
                    data = blobs.get(parts[-1])
                    if behaviour == "blob500" and self.command == "HEAD" and not failed:
                        failed.append(parts[-1])
                        return self.reply(500)
                return self.reply(200, data) if data is not None else self.reply(404)
            self.reply(404)

        do_HEAD = do_GET

        def do_POST(self):
            self.body()
            repo = self.path.split("/v2/", 1)[1].split("/blobs/", 1)[0]
            u = str(uuid.uuid4())
            with lock:
                uploads.add(u)
            self.reply(202, b"", [("Location", "/v2/%s/blobs/uploads/%s" % (repo, u))])

        def do_PUT(self):
            url = urlparse(self.path)
            data = self.body()
            if "/blobs/uploads/" in url.path:
                d = parse_qs(url.query).get("digest", [""])[0]
                if digest_of(data) != d:
                    return self.reply(400, b'{"errors":[{"code":"DIGEST_INVALID"}]}')
                with lock:
                    blobs[d] = data
                return self.reply(201, b"", [("Docker-Content-Digest", d)])
            ref = url.path.split("/")[-1]
            d = digest_of(data)
            condition = self.headers.get("If-Match")
            code = 201
            with lock:
                current = tags.get(ref)
                if ref.startswith("sha256-") and condition and behaviour == "race" and not raced:
                    # Another writer got there first: its entry is added, and this write is now stale.
                    raced.append(ref)
                    index = json.loads(manifests[current][0]) if current else {"schemaVersion": 2, "manifests": []}
                    index["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                               "digest": "sha256:" + "f" * 64, "size": 1})
                    other = json.dumps(index).encode()
                    manifests[digest_of(other)] = (other, "application/vnd.oci.image.index.v1+json")
                    tags[ref] = digest_of(other)
                    code = 412
                elif ref.startswith("sha256-") and behaviour.startswith("status:"):
                    code = int(behaviour.split(":")[1])
                elif condition and current and (condition.startswith("W/") or condition != '"%s"' % current):
                    code = 412   # strong comparison: a weak entity tag never matches
                else:
                    manifests[d] = (data, self.headers.get("Content-Type", ""))
                    if not ref.startswith("sha256:") and not (ref.startswith("sha256-") and behaviour == "forget"):
                        tags[ref] = d
            log(logfile, "PUT %s if-match=%s -> %d" % (ref, condition or "-", code))
            if code == 412:
                return self.reply(412, b'{"errors":[{"code":"PRECONDITION_FAILED"}]}')
            if code != 201:
                return self.reply(code, b'{"errors":[{"code":"DENIED","message":"no"}]}')
            self.reply(201, b"", [("Docker-Content-Digest", d)])

    serve(portfile, Handler)


def drip_server(portfile):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_HEAD(self):
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            self.send_response(200)
            kind = "application/vnd.oci.image.manifest.v1+json" if "/manifests/" in self.path else "application/octet-stream"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(100000):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass

    serve(portfile, Handler)


def serve(portfile, handler, state=None):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if state is not None:
        state["port"] = server.server_address[1]
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, portfile)
    server.serve_forever()


if __name__ == "__main__":
    # The test process spawns us with SIGTERM blocked; unblock it so an ordinary kill ends us too.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    mode, args = sys.argv[1], sys.argv[2:]
    {"token": token_server, "redirect": redirect_server, "conditional": conditional_server, "drip": drip_server}[mode](*args)
