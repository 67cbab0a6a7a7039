"""--sign: a sigstore bundle (v0.3) with a DSSE envelope over the statement,
deterministic, verified offline with the public key alone."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from archport.attest import sign
from archport.errors import BadInput

STATEMENT = b'{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1"}'


def _pem(key, password: bytes | None = None) -> bytes:
    enc = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


@pytest.fixture
def keyfile(tmp_path):
    k = ec.generate_private_key(ec.SECP256R1())
    p = tmp_path / "cosign.key"
    p.write_bytes(_pem(k))
    return p, k


def test_the_bundle_verifies_with_the_public_key_and_is_deterministic(keyfile):
    path, k = keyfile
    signer = sign.KeySigner.from_file(path)
    b = sign.bundle(STATEMENT, signer)
    assert sign.bundle(STATEMENT, signer) == b                 # RFC 6979: same statement, same bytes
    doc = json.loads(b)
    assert doc["mediaType"] == sign.BUNDLE_V03
    assert doc["verificationMaterial"] == {"publicKey": {"hint": sign.key_hint(signer.public_pem())},
                                           "tlogEntries": []}
    assert doc["dsseEnvelope"]["payloadType"] == "application/vnd.in-toto+json"
    assert sign.verify(b, signer.public_pem()) == STATEMENT
    other = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(sign.BadSignature):
        sign.verify(b, other)
    tampered = json.loads(b)
    tampered["dsseEnvelope"]["payload"] = sign.base64.b64encode(STATEMENT.replace(b"v1", b"v2")).decode()
    with pytest.raises(sign.BadSignature):
        sign.verify(json.dumps(tampered).encode(), signer.public_pem())
    att = sign.attachment(b)
    assert att.artifact_type == sign.BUNDLE_V03 and dict(att.annotations)[sign.CONTENT_ANNOTATION] == "dsse-envelope"


def test_keys_that_cannot_sign_are_bad_input(tmp_path):
    rsa_key = tmp_path / "rsa.key"
    rsa_key.write_bytes(_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    enc = tmp_path / "enc.key"
    enc.write_bytes(_pem(ec.generate_private_key(ec.SECP256R1()), b"secret"))
    cosign = tmp_path / "cosign-enc.key"
    cosign.write_text("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nabc\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    for path, words in ((rsa_key, "P-256"), (enc, "PEM private key"), (cosign, "cosign-encrypted"),
                        (tmp_path / "missing.key", "missing.key")):
        with pytest.raises(BadInput, match=words):
            sign.KeySigner.from_file(path)
    text = tmp_path / "hostname"
    text.write_text("board\n")
    with pytest.raises(BadInput) as e:
        sign.KeySigner.from_file(text)
    assert str(e.value) == f"--sign {text}: not a PEM private key (Unable to load PEM file)"   # no FAQ link
    assert sign.KeySigner.from_file(enc, b"secret")
