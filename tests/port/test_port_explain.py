"""port --explain: honest about what it checked, where it would go, and who wins."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from archport.platform import parse as parse_platform
from archport.strategies.release import ReleaseStrategy
from tests.support.port import CA_BUNDLE, archport, push_image
from tests.strategies.helpers import env, tiny_elf, upstream

HELLO = "rancher/mirrored-example-hello:v1.2.3"


def _explain(reg, catalog, tmp_path, go_env, *extra: str, image: str = HELLO):
    cp = archport("port", image, "--mirror", f"docker.io={reg.host}", "--mirror-only", "--catalog", str(catalog),
                  "--explain", "--json", "--cache-dir", str(tmp_path / "cache"), *extra, env=go_env)
    return cp, json.loads(cp.stdout) if cp.stdout.strip() else None


def test_explain_without_to_says_what_each_destination_gets(hello_upstream, hello_catalog, go_env,
                                                             registry_plain, tmp_path):
    cp, doc = _explain(registry_plain, hello_catalog, tmp_path, go_env)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert doc["complete"] is True and doc["destination"] is None
    (r,) = doc["images"]
    assert r["status"] == "explained" and r["strategy"] == "go", r
    notes = "\n".join(r["notes"])
    assert "already has linux/riscv64: done" in notes and "go would build and push" in notes, notes
    assert "read live from upstream" in notes and "the catalog's" in notes, notes


def test_explain_says_which_strategy_wins(hello_upstream, hello_catalog, go_env, registry_plain, tmp_path):
    cp, doc = _explain(registry_plain, hello_catalog, tmp_path, go_env, "--to", f"{registry_plain.host}/nowhere")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = doc["images"]
    assert any(n.startswith("go wins") for n in r["notes"]), r
    assert any("has no linux/riscv64: go would build" in n for n in r["notes"]), r


def test_explain_says_done_for_a_ported_image(hello_upstream, hello_catalog, go_env, registry_plain, tmp_path):
    reg = registry_plain
    files = {"hello": (tiny_elf("riscv64"), 0o755), "etc/ssl/certs/ca-certificates.crt": CA_BUNDLE}
    push_image(tmp_path, f"already/{HELLO}", reg, {"amd64": files, "riscv64": files}, {"Entrypoint": ["/hello"]})
    cp, doc = _explain(reg, hello_catalog, tmp_path, go_env, "--to", f"{reg.host}/already")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = doc["images"]
    assert r["status"] == "done" and "already has linux/riscv64" in r["reason"], r
    assert r["decisions"] == [], r     # no strategy "applies" to an image that needs nothing
    # The human view says it too.
    cp = archport("port", HELLO, "--mirror", f"docker.io={reg.host}", "--mirror-only", "--catalog",
                  str(hello_catalog), "--explain", "--cache-dir", str(tmp_path / "cache"), "--to",
                  f"{reg.host}/already", env=go_env)
    assert cp.returncode == 0 and "done" in cp.stdout and "applies" not in cp.stdout, cp.stdout + cp.stderr


def test_explain_of_an_unsupported_image_is_not_ok(go_env, registry_plain, tmp_path):
    # The catalog builds pause from C only from 3.1 on: for 3.0 nothing applies.
    reg = registry_plain
    push_image(tmp_path, "rancher/mirrored-pause:3.0", reg, {"amd64": {"pause": (tiny_elf("amd64"), 0o755)}},
               {"Entrypoint": ["/pause"]})
    cp = archport("port", "rancher/mirrored-pause:3.0", "--mirror", f"docker.io={reg.host}", "--mirror-only",
                  "--explain", "--json", "--cache-dir", str(tmp_path / "cache"), env=go_env)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    doc = json.loads(cp.stdout)
    (r,) = doc["images"]
    assert doc["complete"] is False and r["ok"] is False and r["status"] == "unsupported", r
    assert not any(d["applies"] for d in r["decisions"]), r


def test_release_reason_does_not_claim_an_unchecked_asset(tmp_path):
    up = upstream("rancher/mirrored-coredns-coredns:1.11.1", "coredns", {"Entrypoint": ["/coredns"]})
    d = ReleaseStrategy().consider(up, parse_platform("linux/riscv64"), env(tmp_path))
    assert d.applies and d.reason.startswith("the catalog names ") and d.reason.endswith("; not checked"), d.reason


def test_explain_offline_from_the_catalog(hello_catalog, go_env, tmp_path):
    # Nothing answers on port 9: upstream is unreachable, the catalog still speaks.
    cp = archport("port", HELLO, "--mirror", "docker.io=127.0.0.1:9", "--mirror-only", "--catalog",
                  str(hello_catalog), "--explain", "--json", "--cache-dir", str(tmp_path / "cache"), env=go_env)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "explained" and r["strategy"] == "go", r
    go = next(d for d in r["decisions"] if d["strategy"] == "go")
    assert go["applies"] and go["reason"] == "the catalog names Go module example.test/hello; not checked", go
    assert any("upstream unreachable" in n and "nothing was read live" in n for n in r["notes"]), r


def test_explain_says_when_smoke_boots_the_targets_kernel(go_env, tmp_path):
    # klipper-lb's recipe needs netfilter: --explain says so before anything is fetched.
    cp = archport("port", "rancher/klipper-lb:v0.3.5", "--arch", "riscv64", "--mirror", "docker.io=127.0.0.1:9",
                  "--mirror-only", "--explain", "--json", "--cache-dir", str(tmp_path / "cache"), env=go_env)
    (r,) = json.loads(cp.stdout)["images"]
    kernel = [n for n in r["notes"] if n.startswith("smoke boots the target's own kernel")]
    assert len(kernel) == 1 and "iptables -t nat -S" in kernel[0] and "qemu-system" in kernel[0], r["notes"]
    cp = archport("port", "rancher/klipper-lb:v0.3.5", "--arch", "riscv64", "--mirror", "docker.io=127.0.0.1:9",
                  "--mirror-only", "--explain", "--json", "--no-smoke", "--cache-dir", str(tmp_path / "c2"),
                  env=go_env)
    assert not any("kernel" in n for n in json.loads(cp.stdout)["images"][0]["notes"])


class _Refusing(http.server.BaseHTTPRequestHandler):
    """A module proxy that refuses every version (HTTP 403), as some do."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_):
        pass


@pytest.fixture
def refusing_proxy():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_explain_does_not_predict_a_build_whose_module_the_proxy_refuses(
        hello_upstream, hello_catalog, go_env, registry_plain, tmp_path, refusing_proxy):
    env = {**go_env, "GOPROXY": refusing_proxy}
    cp, doc = _explain(registry_plain, hello_catalog, tmp_path, env)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    (r,) = doc["images"]
    assert r["status"] == "blocked" and r["ok"] is False and doc["complete"] is False, r
    assert "example.test/hello@v1.2.3 cannot be fetched" in r["reason"] and "HTTP 403" in r["reason"], r
    assert "--substitute hello=VERSION" in r["nextStep"], r
    assert not any("would build and push" in n for n in r["notes"]), r
    # the human view says it, and the exit code
    cp = archport("port", HELLO, "--mirror", f"docker.io={registry_plain.host}", "--mirror-only", "--catalog",
                  str(hello_catalog), "--explain", "--cache-dir", str(tmp_path / "cache"), env=env)
    assert cp.returncode == 1 and "blocked" in cp.stdout and "--substitute" in cp.stdout, cp.stdout + cp.stderr
    # A substitute the user names is what would be built: then the explanation holds.
    cp, doc = _explain(registry_plain, hello_catalog, tmp_path, env, "--substitute", "hello=v1.2.4")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = doc["images"]
    assert r["status"] == "explained" and any("--substitute hello=v1.2.4 builds" in n for n in r["notes"]), r


def test_explain_of_klipper_helm_says_its_plugins_are_refused(go_env, tmp_path, refusing_proxy):
    # The catalog says why (its binaries' notes); the proxy's answer decides.
    env = {**go_env, "GOPROXY": refusing_proxy}
    cp = archport("port", "rancher/klipper-helm:v0.7.3-build20220613", "--mirror", "docker.io=127.0.0.1:9",
                  "--mirror-only", "--explain", "--json", "--cache-dir", str(tmp_path / "cache"), env=env)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "blocked", r
    assert "helm-set-status" in r["reason"] and "HTTP 403" in r["reason"], r
    assert "the proxy refuses the module" in r["nextStep"], r


def test_explain_of_traefik_names_the_substitute_the_catalog_proposes(go_env, tmp_path, refusing_proxy):
    env = {**go_env, "GOPROXY": refusing_proxy}
    argv = ["port", "rancher/mirrored-library-traefik:2.6.2", "--mirror", "docker.io=127.0.0.1:9", "--mirror-only",
            "--explain", "--json", "--cache-dir", str(tmp_path / "cache")]
    cp = archport(*argv, env=env)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "blocked" and "github.com/traefik/traefik/v2@v2.6.2" in r["reason"], r
    assert "--substitute traefik=v2.10.4" in r["nextStep"], r
    cp = archport(*argv, "--substitute", "traefik=v2.10.4", env=env)
    (r,) = json.loads(cp.stdout)["images"]
    assert cp.returncode == 0 and r["status"] == "explained", cp.stdout + cp.stderr


def test_offline_explain_says_unknown_for_what_it_could_not_check(hello_catalog, go_env, tmp_path):
    cp = archport("port", HELLO, "--mirror", "docker.io=127.0.0.1:9", "--mirror-only", "--catalog",
                  str(hello_catalog), "--explain", "--cache-dir", str(tmp_path / "cache"), env=go_env)
    line = next(x for x in cp.stdout.splitlines() if x.strip().startswith("present"))
    assert "unknown" in line and " no " not in line, cp.stdout
    doc = json.loads(archport("port", HELLO, "--mirror", "docker.io=127.0.0.1:9", "--mirror-only", "--catalog",
                              str(hello_catalog), "--explain", "--json", "--cache-dir", str(tmp_path / "cache"),
                              env=go_env).stdout)
    present = next(d for d in doc["images"][0]["decisions"] if d["strategy"] == "present")
    assert present["applies"] is None, present
