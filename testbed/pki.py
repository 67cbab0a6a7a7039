"""The control plane's certificates: one cluster CA, one front-proxy CA (the
aggregation layer's, so that an APIService such as metrics-server's can
become Available), the service-account key pair and the leaf certificates.

Written once per bed directory; ``ensure`` keeps existing files.
"""
from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from testbed import paths


@dataclass(frozen=True)
class Leaf:
    name: str
    cn: str
    orgs: tuple[str, ...] = ()
    server: bool = False
    client: bool = False
    sans: tuple[str, ...] = ()
    ca: str = "ca"


def leaves() -> list[Leaf]:
    node = f"system:node:{paths.NODE_NAME}"
    ips = ("127.0.0.1", paths.BOARD_IP, paths.APISERVER_SERVICE_IP)
    dns = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
           f"kubernetes.default.svc.{paths.CLUSTER_DOMAIN}")
    return [
        Leaf("apiserver", "kube-apiserver", server=True, sans=ips + dns),
        Leaf("apiserver-kubelet-client", "kube-apiserver-kubelet-client", ("system:masters",), client=True),
        Leaf("admin", "admin", ("system:masters",), client=True),
        Leaf("controller-manager", "system:kube-controller-manager", client=True),
        Leaf("scheduler", "system:kube-scheduler", client=True),
        Leaf("kube-proxy", "system:kube-proxy", client=True),
        Leaf("kubelet-client", node, ("system:nodes",), client=True),
        Leaf("kubelet", paths.NODE_NAME, server=True, sans=(paths.BOARD_IP, "127.0.0.1", paths.NODE_NAME)),
        Leaf("front-proxy-client", "front-proxy-client", client=True, ca="front-proxy-ca"),
    ]


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _builder(subject: x509.Name, issuer: x509.Name, pub) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(pub)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=3650)))


def _write(d: Path, name: str, cert: x509.Certificate, key) -> None:
    (d / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / f"{name}.key").write_bytes(_pem_key(key))
    (d / f"{name}.key").chmod(0o600)


def _ca(d: Path, name: str, cn: str):
    key = _key()
    subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (_builder(subj, subj, key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
            .sign(key, hashes.SHA256()))
    _write(d, name, cert, key)


def _load(d: Path, name: str):
    cert = x509.load_pem_x509_certificate((d / f"{name}.crt").read_bytes())
    key = serialization.load_pem_private_key((d / f"{name}.key").read_bytes(), None)
    return cert, key


def _san(s: str):
    try:
        return x509.IPAddress(ipaddress.ip_address(s))
    except ValueError:
        return x509.DNSName(s)


def _leaf(d: Path, leaf: Leaf) -> None:
    ca_cert, ca_key = _load(d, leaf.ca)
    key = _key()
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in leaf.orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, leaf.cn))
    usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if leaf.server else []) + \
             ([ExtendedKeyUsageOID.CLIENT_AUTH] if leaf.client else [])
    b = (_builder(x509.Name(attrs), ca_cert.subject, key.public_key())
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
         .add_extension(x509.ExtendedKeyUsage(usages), critical=False))
    if leaf.sans:
        b = b.add_extension(x509.SubjectAlternativeName([_san(s) for s in leaf.sans]), critical=False)
    _write(d, leaf.name, b.sign(ca_key, hashes.SHA256()), key)


def ensure(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    if not (d / "ca.crt").exists():
        _ca(d, "ca", "archport-testbed-ca")
    if not (d / "front-proxy-ca.crt").exists():
        _ca(d, "front-proxy-ca", "archport-testbed-front-proxy-ca")
    if not (d / "sa.key").exists():
        key = _key()
        (d / "sa.key").write_bytes(_pem_key(key))
        (d / "sa.pub").write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    for leaf in leaves():
        if not (d / f"{leaf.name}.crt").exists():
            _leaf(d, leaf)
    return d


def kubeconfig(d: Path, user: str, server: str) -> str:
    """A kubeconfig for ``user`` (a leaf name) with the certificates inline."""
    import base64

    def b64(p: Path) -> str:
        return base64.b64encode(p.read_bytes()).decode()
    return (
        "apiVersion: v1\nkind: Config\n"
        "clusters:\n- name: default\n  cluster:\n"
        f"    server: {server}\n    certificate-authority-data: {b64(d / 'ca.crt')}\n"
        f"users:\n- name: {user}\n  user:\n"
        f"    client-certificate-data: {b64(d / f'{user}.crt')}\n"
        f"    client-key-data: {b64(d / f'{user}.key')}\n"
        f"contexts:\n- name: default\n  context:\n    cluster: default\n    user: {user}\n"
        "current-context: default\n"
    )
