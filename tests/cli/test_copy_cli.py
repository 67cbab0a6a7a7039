"""``archport copy`` and ``inspect`` from the command line, against the real
registry (plain, TLS + htpasswd, token), validated independently with skopeo."""

from __future__ import annotations

import base64
import json

import pytest

from standins import images as im

from standins import skopeo
from tests.support.cli import archport, archport_json

TLSV = "--tls-verify=false"


@pytest.fixture(scope="module")
def upstream(registry_plain, tmp_path_factory):
    """rancher/mirrored-pause:3.6 (3 platforms, OCI) and a Docker-typed coredns."""
    tmp = tmp_path_factory.mktemp("upstream")
    pause = im.multiarch(tmp / "p", "pause", layers_per_platform=2)
    coredns = im.multiarch(tmp / "c", "coredns", family="docker",
                           config={"Entrypoint": ["/coredns"], "User": "65532", "Env": ["PATH=/usr/bin:/bin"]})
    lay = im.write_layout(tmp / "layout", {"3.6": pause})
    im.push(lay, "3.6", f"{registry_plain.host}/rancher/mirrored-pause:3.6")
    im.push_raw(registry_plain.url, "rancher/mirrored-coredns-coredns", "1.9.1", *coredns)
    return {"pause": pause, "coredns": coredns, "layout": lay, "host": registry_plain.host}


def registry_plain_host(upstream) -> str:
    return upstream["host"]


def _children(raw: bytes) -> list[str]:
    return [m["digest"] for m in json.loads(raw)["manifests"]]


def test_registry_to_registry_preserves_every_digest(registry_plain, upstream):
    h = registry_plain.host
    src, dst = f"{h}/rancher/mirrored-pause:3.6", f"{h}/copies/pause:3.6"
    r = archport_json("copy", src, dst)
    before, after = skopeo.raw(f"docker://{src}", TLSV), skopeo.raw(f"docker://{dst}", TLSV)
    assert before == after and r["digest"] == upstream["pause"][0].digest
    for d in _children(before):
        repo = f"docker://{h}/copies/pause@{d}"
        assert skopeo.raw(repo, TLSV) == skopeo.raw(f"docker://{h}/rancher/mirrored-pause@{d}", TLSV)
    # same registry: layers are mounted, not re-sent
    assert r["blobs"].get("mounted", 0) >= 6 and r["bytesSent"] < 2000
    again = archport("copy", src, dst)
    assert "nothing to copy" in again.stdout


def test_platform_selection_says_it_builds_a_new_index(registry_plain, upstream):
    h = registry_plain.host
    p = archport("copy", "--platform", "linux/arm64", f"{h}/rancher/mirrored-pause:3.6", f"{h}/sel/pause:arm64")
    assert "new index" in p.stdout
    raw = skopeo.raw(f"docker://{h}/sel/pause:arm64", TLSV)
    assert _children(raw) == [upstream["pause"][1][1].manifest.digest]


def test_layouts_and_archives_round_trip(registry_plain, upstream, tmp_path):
    h = registry_plain.host
    src = f"{h}/rancher/mirrored-coredns-coredns:1.9.1"
    top = upstream["coredns"][0]
    # registry -> oci-archive -> oci layout -> registry, digests intact.
    # (skopeo 1.9 reads only OCI-typed entries from oci: layouts, so the
    # Docker-typed coredns is checked where it lands, the pause image here.)
    archport("copy", f"{h}/rancher/mirrored-pause:3.6", f"oci-archive:{tmp_path}/p.tar:3.6")
    assert skopeo.raw(f"oci-archive:{tmp_path}/p.tar:3.6") == upstream["pause"][0].data
    archport("copy", src, f"oci-archive:{tmp_path}/c.tar:1.9.1")
    archport("copy", f"oci-archive:{tmp_path}/c.tar:1.9.1", f"oci:{tmp_path}/lay:1.9.1")
    archport("copy", f"oci:{tmp_path}/lay:1.9.1", f"{h}/back/coredns:1.9.1")
    assert skopeo.raw(f"docker://{h}/back/coredns:1.9.1", TLSV) == top.data
    # docker-archive holds one platform: --platform picks it, skopeo reads it
    bad = archport("copy", src, f"docker-archive:{tmp_path}/d.tar", expect=2)
    assert "pass --platform" in bad.stderr
    archport("copy", "--platform", "linux/amd64", src, f"docker-archive:{tmp_path}/d.tar")
    cfg = json.loads(skopeo.skopeo("inspect", "--config", f"docker-archive:{tmp_path}/d.tar").stdout)
    assert cfg["architecture"] == "amd64" and cfg["config"]["Entrypoint"] == ["/coredns"]
    archport("copy", f"docker-archive:{tmp_path}/d.tar", f"{h}/fromdocker/coredns:amd64")
    # an OCI layout of ours is readable by skopeo
    archport("copy", f"{h}/rancher/mirrored-pause:3.6", f"oci:{tmp_path}/p:3.6")
    skopeo.skopeo("copy", "--all", f"oci:{tmp_path}/p:3.6", f"oci:{tmp_path}/p2:x")


def test_inspect_names_missing_platform(registry_plain, upstream):
    ref = f"{registry_plain.host}/rancher/mirrored-coredns-coredns:1.9.1"
    # inspecting succeeded: exit 0, whatever the tag offers; --require-platform makes a missing one exit 1
    p = archport("inspect", ref)
    assert "linux/riscv64 is missing" in p.stdout and "/coredns" in p.stdout
    assert not archport_json("inspect", ref)["hasWanted"]
    archport("inspect", ref, "--require-platform", "linux/riscv64", expect=1)
    archport("inspect", ref, "--require-platform", "linux/amd64")
    doc = archport_json("inspect", ref, "--platform", "linux/arm64")
    assert doc["hasWanted"] and [e["platform"] for e in doc["platforms"]] == ["linux/amd64", "linux/arm64", "linux/arm/v7"]
    assert doc["platforms"][0]["config"]["entrypoint"] == ["/coredns"]
    assert doc["platforms"][0]["config"]["user"] == "65532"
    assert archport("inspect", "--raw", ref).stdout.encode() == upstream["coredns"][0].data


def test_tls_basic_auth_with_docker_config(registry_tls, upstream, docker_config, tmp_path):
    h = registry_tls.host
    auth = base64.b64encode(f"{registry_tls.username}:{registry_tls.password}".encode()).decode()
    cfg = docker_config({"auths": {h: {"auth": auth}}})
    env = {"DOCKER_CONFIG": cfg}
    lay = upstream["layout"]
    dst = f"{h}/rancher/mirrored-pause:3.6"
    # without the CA: verification stays on and the error says what to do
    p = archport("copy", f"oci:{lay}:3.6", dst, env=env, expect=1)
    assert "--ca-file" in p.stderr or "certificate" in p.stderr.lower()
    p = archport("copy", "--debug", "--ca-file", registry_tls.ca_file, f"oci:{lay}:3.6", dst, env=env)
    for text in (p.stdout, p.stderr):
        assert registry_tls.password not in text and auth not in text
    raw = skopeo.raw(f"docker://{dst}", "--cert-dir", registry_tls.cert_dir,
                     "--creds", f"{registry_tls.username}:{registry_tls.password}")
    assert raw == upstream["pause"][0].data
    # no credentials: a clear refusal, exit 1
    p = archport("copy", "--ca-file", registry_tls.ca_file, f"oci:{lay}:3.6", f"{h}/x/y:1",
                 env={"DOCKER_CONFIG": str(tmp_path)}, expect=1)
    assert "401" in p.stderr or "unauthorized" in p.stderr.lower()


def test_token_auth_bearer_flow(registry_token, upstream, docker_config):
    h = registry_token.host
    auth = base64.b64encode(f"{registry_token.username}:{registry_token.password}".encode()).decode()
    env = {"DOCKER_CONFIG": docker_config({"auths": {h: {"auth": auth}}})}
    before = registry_token.token_requests
    p = archport("copy", "--debug", f"{registry_plain_host(upstream)}/rancher/mirrored-coredns-coredns:1.9.1",
                 f"{h}/rancher/coredns:1.9.1", env=env)
    assert registry_token.password not in p.stderr and "Bearer " not in p.stderr
    assert registry_token.token_requests > before
    r = archport_json("copy", f"{h}/rancher/coredns:1.9.1", f"{h}/other/coredns:1.9.1", env=env)
    assert r["digest"] == upstream["coredns"][0].digest


@pytest.mark.parametrize("args,needle", [
    (["copy", "Not A Ref", "oci:/tmp/x"], "invalid reference"),
    (["copy", "dir:/tmp/x", "oci:/tmp/y"], "not supported"),
    (["copy", "ftp://host/x", "oci:/tmp/y"], "unknown transport"),
    (["inspect", "busybox@sha256:1234"], "bad digest"),
    (["copy", "--platform", "linux/", "a", "b"], "invalid platform"),
    (["airgap", "busybox", "--out", "/tmp/x.rar"], "suffix"),
    (["copy", "--mirror", "docker.io", "a", "oci:/tmp/x"], "REGISTRY=HOST"),
    (["copy"], "required"),
])
def test_bad_input_is_one_line_exit_2(args, needle):
    p = archport(*args, expect=2)
    assert needle in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_unsupported_media_type_is_exit_2(tmp_path):
    lay = tmp_path / "lay"
    (lay / "blobs" / "sha256").mkdir(parents=True)
    raw = json.dumps({"schemaVersion": 1, "name": "x", "fsLayers": []}).encode()
    d = im.sha256(raw)
    (lay / "blobs" / "sha256" / d.split(":")[1]).write_bytes(raw)
    (lay / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (lay / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.docker.distribution.manifest.v1+prettyjws", "digest": d, "size": len(raw),
        "annotations": {"org.opencontainers.image.ref.name": "old"}}]}))
    p = archport("copy", f"oci:{lay}:old", f"oci:{tmp_path}/out", expect=2)
    assert "schema 1" in p.stderr.lower() or "media type" in p.stderr.lower()
