"""Against the real docker-registry in its three set-ups (plain, TLS+htpasswd, token)."""

import json
import logging
import uuid
from contextlib import contextmanager

import pytest

from archport.errors import DigestMismatch, NotFound, TransportError, Unauthorized
from archport.oci import Descriptor, Digest, parse_manifest
from archport.oci import mediatypes as mt
from archport.reference import parse
from standins import skopeo
from archport.registry import Chunking, HostOptions, RegistrySink, RegistrySource

pytestmark = pytest.mark.registry


@pytest.fixture(params=["registry_plain", "registry_tls", "registry_token"])
def reg(request):
    return request.getfixturevalue(request.param)


def repo(reg, name="app"):
    return parse(f"{reg.host}/it-{uuid.uuid4().hex[:8]}/{name}")


def blob(data: bytes, media_type=mt.OCI_LAYER_GZIP) -> Descriptor:
    return Descriptor(media_type, Digest.of(data), len(data))


def opener_for(data: bytes, piece: int = 4096):
    @contextmanager
    def opener():
        yield (data[i:i + piece] for i in range(0, len(data), piece))
    return opener


def image(seed: str, layer_size: int = 3000):
    config = json.dumps({"architecture": "riscv64", "os": "linux", "config": {"Entrypoint": ["/pause"]},
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64]}, "seed": seed}).encode()
    layer = (seed.encode() * (layer_size // len(seed) + 1))[:layer_size]
    cdesc, ldesc = blob(config, mt.OCI_CONFIG), blob(layer)
    raw = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                      "config": cdesc.to_dict(), "layers": [ldesc.to_dict()]}, indent=1).encode()
    return parse_manifest(raw, mt.OCI_MANIFEST), {cdesc.digest: config, ldesc.digest: layer}


def push_image(client, ref, seed="s", tag="v1"):
    m, blobs = image(seed)
    for d in m.blobs():
        client.upload_blob(ref, d, opener_for(blobs[d.digest]))
    client.put_manifest(ref.with_digest(str(m.digest)), m)
    client.put_manifest(ref.with_tag(tag), m)
    return m, blobs


def skopeo_raw(reg, ref) -> bytes:
    flags = ["--cert-dir", reg.cert_dir] if reg.ca_file else ["--tls-verify=false"]
    if reg.username:
        flags += ["--creds", f"{reg.username}:{reg.password}"]
    return skopeo.raw(f"docker://{ref}", *flags)


def test_blob_monolithic_and_chunked_roundtrip(reg):
    c = reg.client(chunking=Chunking(10_000, 4_000))
    ref = repo(reg)
    small, big = b"small" * 100, bytes(range(256)) * 100   # 500 B monolithic, 25600 B in 7 PATCHes
    for data in (small, big):
        d = blob(data)
        assert not c.has_blob(ref, d)
        assert c.upload_blob(ref, d, opener_for(data, 1000)) == "uploaded"
        assert c.has_blob(ref, d)
        assert c.upload_blob(ref, d, opener_for(data)) == "exists"
        with c.open_blob(ref, d) as chunks:
            assert b"".join(chunks) == data
    c.close()


def test_mount_across_repositories(reg):
    c = reg.client()
    src, dst = repo(reg, "src"), repo(reg, "dst")
    data = b"mount me" * 50
    d = blob(data)
    c.upload_blob(src, d, opener_for(data))

    def never():
        raise AssertionError("mounted blobs are not re-sent")
    assert c.upload_blob(dst, d, never, mount_from=src) == "mounted"
    assert c.has_blob(dst, d)
    if reg.token_server:
        scopes = reg.token_log[-1][2]
        assert f"repository:{dst.path}:pull,push" in scopes and f"repository:{src.path}:pull" in scopes


def test_manifest_push_get_head_and_skopeo_agrees(reg):
    c = reg.client()
    ref = repo(reg)
    m, _ = push_image(c, ref)
    got = c.get_manifest(ref.with_tag("v1"))
    assert got.raw == m.raw and got.digest == m.digest
    assert c.get_manifest(ref.with_digest(str(m.digest))).raw == m.raw
    head = c.head_manifest(ref.with_tag("v1"))
    assert (head.digest, head.size, head.media_type) == (m.digest, len(m.raw), mt.OCI_MANIFEST)
    assert c.head_manifest(ref.with_tag("nope")) is None
    with pytest.raises(NotFound):
        c.get_manifest(ref.with_tag("nope"))
    assert skopeo_raw(reg, ref.with_tag("v1")) == m.raw


def test_source_and_sink_adapters(reg):
    c = reg.client()
    src = repo(reg, "a")
    m, blobs = push_image(c, src)
    dst = parse(f"{reg.host}/{src.path}-copy:v2")
    source, sink = RegistrySource(c, src.with_tag("v1")), RegistrySink(c, dst, mount_from=src)
    top = source.resolve()
    assert top.digest == m.digest
    for d in top.blobs():
        assert sink.put_blob(d, lambda d=d: source.open_blob(d)) == "mounted"
    assert not sink.has_manifest(top.descriptor())
    sink.put_manifest(top)
    assert sink.has_manifest(top.descriptor())
    sink.tag(top, None)
    assert c.get_manifest(dst).digest == m.digest
    assert source.manifest(top.descriptor()).raw == m.raw


def test_tag_list_pagination(reg):
    c = reg.client()
    ref = repo(reg)
    m, _ = push_image(c, ref, tag="t0")
    for i in range(1, 5):
        c.put_manifest(ref.with_tag(f"t{i}"), m)
    assert sorted(c.list_tags(ref, page_size=2)) == [f"t{i}" for i in range(5)]
    assert sorted(c.list_tags(ref)) == [f"t{i}" for i in range(5)]


def test_corrupt_blob_in_storage_detected_on_download(reg):
    c = reg.client()
    ref = repo(reg)
    data = b"precious bytes" * 100
    d = blob(data)
    c.upload_blob(ref, d, opener_for(data))
    path = reg.blob_path(str(d.digest))
    path.write_bytes(b"X" + data[1:])       # same size, different bytes
    with pytest.raises(DigestMismatch):
        with c.open_blob(ref, d) as chunks:
            for _ in chunks:
                pass


def test_wrong_bytes_rejected_on_upload_and_nothing_tagged(reg):
    c = reg.client()
    ref = repo(reg)
    m, blobs = image("bad")
    cfg, layer = m.config, m.layers[0]
    c.upload_blob(ref, cfg, opener_for(blobs[cfg.digest]))
    lying = bytearray(blobs[layer.digest])
    lying[10] ^= 0xFF
    for threshold in (1 << 30, 1000):      # monolithic, then chunked
        with pytest.raises(DigestMismatch):
            c.upload_blob(ref, layer, opener_for(bytes(lying)), chunked_threshold=threshold, chunk_size=1000)
    assert not c.has_blob(ref, layer)
    with pytest.raises(Exception) as e:   # the registry refuses a manifest whose layer is missing
        c.put_manifest(ref.with_tag("v1"), m)
    assert "MANIFEST_BLOB_UNKNOWN" in getattr(e.value, "codes", ()) or getattr(e.value, "status", 0) == 400
    assert c.head_manifest(ref.with_tag("v1")) is None


def test_credentials_never_in_logs_or_errors(reg, caplog):
    caplog.set_level(logging.DEBUG, logger="archport.registry")
    caplog.set_level(logging.DEBUG, logger="httpx")
    caplog.set_level(logging.DEBUG, logger="httpcore")
    c = reg.client()
    ref = repo(reg)
    push_image(c, ref)
    c.get_manifest(ref.with_tag("v1"))
    assert any("archport.registry" == r.name and "/manifests/" in r.getMessage() for r in caplog.records)
    if reg.username:
        from archport.registry import Credentials
        wrong = Credentials.static({reg.host: (reg.username, "wrong-" + reg.password)})
        bad = reg.client(credentials=wrong)
        with pytest.raises(Unauthorized) as e:
            bad.get_manifest(ref.with_tag("v1"))
        text = caplog.text + str(e.value) + repr(e.value)
        assert reg.password not in text and "wrong-" not in text
        ours = "\n".join(r.getMessage() for r in caplog.records if r.name == "archport.registry")
        assert "Authorization" not in ours and "Bearer " not in ours and "Basic " not in ours


def test_no_credentials_is_unauthorized_except_public_pull(registry_token, registry_tls):
    anon = registry_token.client(credentials=None)
    with pytest.raises(Unauthorized):
        anon.get_manifest(parse(f"{registry_token.host}/private/app:v1"))
    with pytest.raises(Unauthorized):
        registry_tls.client(credentials=None).get_manifest(parse(f"{registry_tls.host}/x/app:v1"))
    # anonymous pull on the public repository works; push does not
    user = registry_token.client()
    pub = parse(f"{registry_token.host}/public/hello")
    m, _ = push_image(user, pub)
    assert anon.get_manifest(pub.with_tag("v1")).digest == m.digest
    with pytest.raises(Unauthorized):
        anon.put_manifest(pub.with_tag("v9"), m)


def test_tokens_cached_per_scope(registry_token):
    c = registry_token.client()
    ref = repo(registry_token)
    push_image(c, ref)
    before = registry_token.token_requests
    for _ in range(5):
        c.get_manifest(ref.with_tag("v1"))
        c.head_manifest(ref.with_tag("v1"))
    assert registry_token.token_requests == before      # pull served by the cached pull,push token
    other = repo(registry_token)
    c.head_manifest(other.with_tag("v1"))
    c.head_manifest(other.with_tag("v1"))
    assert registry_token.token_requests == before + 1


def test_identity_token_against_token_server(registry_token):
    from archport.registry import Credentials
    from tests.support.registry import IDENTITY_TOKEN
    c = registry_token.client(credentials=Credentials.static({registry_token.host: ("<token>", IDENTITY_TOKEN)}))
    ref = repo(registry_token)
    push_image(c, ref)
    assert registry_token.token_log[-1][0] == "POST"


def test_loopback_plain_http_fallback_and_no_fallback_on_bad_certificate(registry_plain, registry_tls):
    c = registry_plain.client()     # no --plain-http: HTTPS tried, plain HTTP detected
    ref = repo(registry_plain)
    push_image(c, ref)
    assert c._schemes[registry_plain.host] == "http"
    untrusting = registry_tls.client(options=HostOptions())   # no CA: must fail, never fall back
    with pytest.raises(TransportError, match="--ca-file"):
        untrusting.head_manifest(repo(registry_tls).with_tag("v1"))


def test_registry_down_is_a_transport_error_and_restart_recovers(registry_plain):
    c = registry_plain.client()
    ref = repo(registry_plain)
    push_image(c, ref)
    registry_plain.kill()
    try:
        with pytest.raises(TransportError):
            c.get_manifest(ref.with_tag("v1"))
    finally:
        registry_plain.start()
    assert c.head_manifest(ref.with_tag("v1")) is not None


def test_registry_killed_mid_upload_retries_in_a_fresh_session(registry_plain):
    import threading
    from archport.registry import RetryPolicy
    c = registry_plain.client(retry=RetryPolicy(attempts=8, base_delay=0.2, max_delay=2.0),
                              chunking=Chunking(1000, 1000))
    ref = repo(registry_plain)
    data = bytes(range(256)) * 20
    d = blob(data)
    opened = []
    restarter = []

    @contextmanager
    def opener():
        opened.append(1)

        def gen():
            for i in range(0, len(data), 500):
                if len(opened) == 1 and i == 1500:
                    registry_plain.kill()
                    t = threading.Thread(target=lambda: (__import__("time").sleep(0.3), registry_plain.start()))
                    t.start()
                    restarter.append(t)
                yield data[i:i + 500]
        yield gen()
    try:
        assert c.upload_blob(ref, d, opener) == "uploaded"
    finally:
        for t in restarter:
            t.join()
        if not registry_plain.running:
            registry_plain.start()
    assert len(opened) >= 2
    with c.open_blob(ref, d) as chunks:
        assert b"".join(chunks) == data
