"""Signing the provenance: a Sigstore bundle (v0.3) holding a DSSE envelope, checkable offline.

The envelope's payload is the in-toto statement itself (payload type
``application/vnd.in-toto+json``); the signature is over DSSE's
pre-authentication encoding (``DSSEv1 <len> <type> <len> <payload>``, DSSE
spec "Protocol"), ECDSA P-256 with SHA-256 as cosign makes with a key
pair.  The bundle (sigstore protobuf-specs ``Bundle``, media type
``application/vnd.dev.sigstore.bundle.v0.3+json``) names the key by a hint
(``verificationMaterial.publicKey.hint``: the SHA-256 of its
SubjectPublicKeyInfo) and carries no transparency-log entry: it is verified
offline with the public key (cosign: ``--key`` with ``--insecure-ignore-tlog``).
It is attached as one more referrer of the platform manifest, the way
cosign attaches bundles (``artifactType`` the bundle media type).

Signatures are deterministic (RFC 6979), so a second port gives the same
bundle too.

Keyless signing (a short-lived Fulcio certificate for an OIDC identity,
and a Rekor entry) needs those services, which are not reachable here.  It
fits the same shape: another :class:`Signer` whose ``material`` is
``{"certificate": …}`` and ``tlogEntries`` filled from the log's answer;
the envelope and the attachment do not change.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import ArchportError, BadInput
from .model import IN_TOTO, PREDICATE_ANNOTATION, SLSA_PREDICATE, Attachment

BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
#: the annotations cosign puts on a bundle referrer
CONTENT_ANNOTATION = "dev.sigstore.bundle.content"
BUNDLE_PREDICATE_ANNOTATION = "dev.sigstore.bundle.predicateType"


class BadSignature(ArchportError):
    """A signature does not verify with the key given."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


class Signer(Protocol):
    def sign(self, message: bytes) -> bytes: ...

    def material(self) -> dict: ...


@dataclass(frozen=True)
class KeySigner:
    """An ECDSA P-256 private key from a PEM file (PKCS#8 or SEC1, unencrypted
    or with ``password``)."""

    key: object

    @classmethod
    def from_file(cls, path: str | Path, password: bytes | None = None) -> "KeySigner":
        _need_cryptography("--sign")
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise BadInput(f"--sign {path}: {e.strerror or e}") from None
        if b"ENCRYPTED SIGSTORE PRIVATE KEY" in data:
            raise BadInput(f"--sign {path}: a cosign-encrypted key; export it as PEM first "
                           "(cosign import-key-pair / openssl ec) or give a PKCS#8 PEM key")
        try:
            key = load_pem_private_key(data, password)
        except (ValueError, TypeError) as e:
            # cryptography's first sentence says what is wrong; the rest points at its FAQ.
            why = str(e).splitlines()[0].split(". See ")[0].rstrip(".")
            raise BadInput(f"--sign {path}: not a PEM private key ({why})") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise BadInput(f"--sign {path}: an ECDSA P-256 key is needed (cosign's default)")
        return cls(key)

    def sign(self, message: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        try:
            algo = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
        except TypeError:          # cryptography < 44: randomized (still valid, not byte-identical)
            algo = ec.ECDSA(hashes.SHA256())
        return self.key.sign(message, algo)  # type: ignore[attr-defined]

    def public_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization
        return self.key.public_key().public_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def material(self) -> dict:
        return {"publicKey": {"hint": key_hint(self.public_pem())}, "tlogEntries": []}


def _need_cryptography(what: str) -> None:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise BadInput(f"{what} needs the cryptography package: pip install 'archport[build]'") from None


def key_hint(public_pem: bytes) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    der = load_pem_public_key(public_pem).public_bytes(serialization.Encoding.DER,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def bundle(statement: bytes, signer: Signer, payload_type: str = IN_TOTO) -> bytes:
    """The bundle's bytes (sorted keys, no spaces: the same statement and key, the same bytes)."""
    sig = signer.sign(pae(payload_type, statement))
    # DSSE's keyid is optional and, as cosign writes it, empty: a verifier
    # that holds a key id of its own (cosign's) skips a signature whose id differs.
    doc = {
        "mediaType": BUNDLE_V03,
        "verificationMaterial": signer.material(),
        "dsseEnvelope": {"payload": base64.b64encode(statement).decode(), "payloadType": payload_type,
                         "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}]},
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def attachment(bundle_bytes: bytes, predicate_type: str = SLSA_PREDICATE) -> Attachment:
    return Attachment(BUNDLE_V03, BUNDLE_V03, bundle_bytes,
                      ((BUNDLE_PREDICATE_ANNOTATION, predicate_type), (CONTENT_ANNOTATION, "dsse-envelope"),
                       (PREDICATE_ANNOTATION, predicate_type)))


def verify(bundle_bytes: bytes, public_pem: bytes) -> bytes:
    """The statement a bundle signs, once its signature checks with the key; BadSignature otherwise."""
    _need_cryptography("checking a signature")
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    try:
        doc = json.loads(bundle_bytes)
        env = doc["dsseEnvelope"]
        payload = base64.b64decode(env["payload"], validate=True)
        sigs = [base64.b64decode(s["sig"], validate=True) for s in env["signatures"]]
        payload_type = env["payloadType"]
    except (ValueError, KeyError, TypeError) as e:
        raise BadSignature(f"not a sigstore bundle with a DSSE envelope ({e})") from None
    if doc.get("mediaType") != BUNDLE_V03:
        raise BadSignature(f"bundle media type {doc.get('mediaType')!r}, not {BUNDLE_V03}")
    try:
        key = load_pem_public_key(public_pem)
    except ValueError:
        raise BadInput("not a PEM public key") from None
    for sig in sigs:
        try:
            key.verify(sig, pae(payload_type, payload), ec.ECDSA(hashes.SHA256()))  # type: ignore[union-attr,call-arg]
            return payload
        except InvalidSignature:
            continue
    raise BadSignature("no signature in the bundle verifies with this key")
