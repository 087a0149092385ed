"""DSSE interop with the Python in-toto stack (securesystemslib).

  dsse_interop.py verify ENVELOPE PUBKEY.pem   verify a Provenant envelope; exit 0 when it verifies
  dsse_interop.py sign OUTDIR                  write envelopes signed by securesystemslib (ECDSA P-256 and
                                               Ed25519) about OUTDIR/artifact.bin, with their public keys
"""
import base64, hashlib, json, os, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey


def verify(env_path, pub_path):
    with open(pub_path, "rb") as f:
        pub = serialization.load_pem_public_key(f.read())
    env = Envelope.from_dict(json.load(open(env_path)))
    scheme = "ed25519" if isinstance(pub, ed25519.Ed25519PublicKey) else "ecdsa-sha2-nistp256"
    key = SSlibKey.from_crypto(pub, keyid=env.signatures and next(iter(env.signatures)), scheme=scheme)
    env.verify([key], 1)
    stmt = json.loads(env.payload)
    assert stmt["_type"] == "https://in-toto.io/Statement/v1", stmt["_type"]
    print("securesystemslib verified", env_path, "predicateType", stmt["predicateType"])


def sign(outdir):
    os.makedirs(outdir, exist_ok=True)
    artifact = b"built by the python in-toto stack\n"
    open(os.path.join(outdir, "artifact.bin"), "wb").write(artifact)
    stmt = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "artifact.bin", "digest": {"sha256": hashlib.sha256(artifact).hexdigest()}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"runDetails": {"builder": {"id": "https://python.example/builder"}}},
    }
    payload = json.dumps(stmt).encode()
    for name, priv in [("ecdsa", ec.generate_private_key(ec.SECP256R1())), ("ed25519", ed25519.Ed25519PrivateKey.generate())]:
        signer = CryptoSigner(priv)
        env = Envelope(payload=payload, payload_type="application/vnd.in-toto+json", signatures={})
        env.sign(signer)
        d = env.to_dict()
        # Exercise the other base64 alphabet on one of them, as DSSE allows both.
        if name == "ed25519":
            d["payload"] = base64.urlsafe_b64encode(payload).decode()
        json.dump(d, open(os.path.join(outdir, name + ".intoto.json"), "w"))
        pem = priv.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        open(os.path.join(outdir, name + ".pub"), "wb").write(pem)
    print("signed", outdir)


if __name__ == "__main__":
    if sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3])
    else:
        sign(sys.argv[2])
