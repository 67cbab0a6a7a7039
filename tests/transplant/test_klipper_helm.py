"""klipper-helm's shape, end to end: packages, an unowned Go binary, a user.

The stand-in has what the real rancher/klipper-helm image has, on Debian
packages (Alpine's repository is unreachable here; the real image is
alpine:3.15): ``busybox-static`` (timeout, base64, tr, grep applets),
``bash``, ``jq`` and ``ca-certificates`` with a real dpkg database; an ELF
binary no package owns, ``/usr/bin/helm_v3``, a Go program with build info
(the fixture module example.test/hello, built for amd64/arm64 with an older
Go, standing in for helm: the real helm is the acceptance run's); the bash
``entry`` script; the plugins directory and the home directory owned by the
``klipper-helm`` user (uid 1000, in /etc/passwd); and the config
(ENTRYPOINT entry, USER 1000, WORKDIR /home/klipper-helm, env).

git is left out of the stand-in (its dependency closure is large and adds
nothing the others do not prove).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.port import OLD_GO, go_install
from tests.support.port import skopeo_raw
from tests.support.cli import archport
from standins import skopeo

from standins.debian import CACHE, PATH_ENV, debian_root, push, suite

REF = "rancher/klipper-helm:v0.7.3-build20220613"
PACKAGES = ("busybox-static", "bash", "jq", "ca-certificates")
CONFIG = {"Entrypoint": ["entry"], "User": "1000", "WorkingDir": "/home/klipper-helm",
          "Env": [PATH_ENV, "STABLE_REPO_URL=https://charts.example.test/stable/", "TIMEOUT="]}

ENTRY = b"""#!/bin/bash
# Stand-in for klipper-helm's entry: the programs it calls, run once.
set -e -o pipefail
echo "stable repo: ${STABLE_REPO_URL}"
helm_v3 version
printf '{"name":"traefik","status":"deployed"}' | jq -r .status
echo ok | base64 | tr 'a-z' 'A-Z'
timeout 5 true
echo "uid $(id -u) can write $(pwd)" > /home/klipper-helm/.probe
cat /home/klipper-helm/.probe
test -s /etc/ssl/certs/ca-certificates.crt && echo "ca bundle present"
"""

# The job helm-controller makes for the packaged traefik HelmChart (its
# pkg/controllers/chart job: the klipper-helm image, args [install], the
# chart's settings as env); only the parts check reads are kept.
HELM_JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: helm-install-traefik
  namespace: kube-system
spec:
  template:
    spec:
      containers:
      - name: helm
        image: rancher/klipper-helm:v0.7.3-build20220613
        args: [install]
        env:
        - {name: NAME, value: traefik}
        - {name: HELM_DRIVER, value: secret}
        - {name: CHART_NAMESPACE, value: kube-system}
        - {name: CHART, value: "https://%{KUBERNETES_API}%/static/charts/traefik-10.19.300.tgz"}
        - {name: TARGET_NAMESPACE, value: kube-system}
      restartPolicy: OnFailure
"""

PASSWD = (b"root:x:0:0:root:/root:/bin/sh\n"
          b"klipper-helm:x:1000:1000:klipper-helm:/home/klipper-helm:/bin/bash\n")
GROUP = b"root:x:0:\nklipper-helm:x:1000:\n"
PLUGINS = "home/klipper-helm/.local/share/helm/plugins"
CHART = Path(__file__).resolve().parents[1] / "fixtures" / "helm" / "chart"


@pytest.fixture(scope="module")
def helm_standin(registry_plain, tmp_path_factory, go_env):
    tmp = tmp_path_factory.mktemp("klipper-helm")
    per_arch = {}
    for arch in ("amd64", "arm64"):
        helm = go_install("example.test/hello@v1.2.3", arch, go_env, tmp, "-X main.version=3.8.1", OLD_GO)
        files = debian_root(arch, PACKAGES)
        files.update({
            "usr/bin/helm_v3": (helm.read_bytes(), 0o755),
            "usr/bin/entry": (ENTRY, 0o755),
            "etc/passwd": PASSWD, "etc/group": GROUP,
            "home/klipper-helm": ("dir", 0o755, 1000, 1000),
            f"{PLUGINS}/helm-mapkubeapis/config/Map.yaml": (b"mappings: []\n", 0o644, 1000, 1000),
        })
        per_arch[arch] = files
    push(tmp, registry_plain, REF, per_arch, CONFIG)
    return registry_plain


def test_klipper_helm_shape_ported_checked_and_smoked(helm_standin, go_env, hello_catalog, tmp_path):
    reg = helm_standin
    cp = archport("port", REF, "--arch", "riscv64", "--strategy", "transplant", "--to", f"{reg.host}/ported",
                  "--mirror", f"docker.io={reg.host}", "--mirror-only", "--cache-dir", str(CACHE / "port"),
                  "--debian-suite", suite(),
                  "--catalog", str(hello_catalog), "--json", env=go_env, environ={}, expect=None, timeout=2400)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "ported" and r["strategy"] == "transplant", r
    assert r["check"].startswith("ok"), r
    assert r["smoke"].startswith("ok (exit 0"), r
    out = r["smokeOutput"]
    assert "hello version=" in out and "arch=riscv64" in out, out          # helm_v3, rebuilt
    assert "deployed" in out and "B2SK" in out, out                          # jq, busybox base64 | tr
    assert "uid 1000 can write /home/klipper-helm" in out, out               # USER, WORKDIR, owner kept
    assert "ca bundle present" in out, out
    assert "stable repo: https://charts.example.test/stable/" in out, out
    notes = " ".join(r["notes"])
    assert "/usr/bin/helm_v3: rebuilt example.test/hello@v1.2.3" in notes, notes
    assert "update-ca-certificates" in notes, notes

    dest = f"{reg.host}/ported/{REF}"
    job = tmp_path / "helm-install-traefik.yaml"
    job.write_text(HELM_JOB)
    c = json.loads(archport("check", dest, "--manifests", str(job), "--image-name", REF, "--json").stdout)
    assert c["ok"] and [o["argv"] for o in c["contracts"]] == [["entry", "install"]], c
    cfg = skopeo.config(f"docker://{dest}", "--tls-verify=false", arch="riscv64")["config"]
    assert cfg["Entrypoint"] == CONFIG["Entrypoint"] and cfg["User"] == "1000"
    man = skopeo_raw(f"{reg.host}/ported/rancher/klipper-helm@{r['platformDigest']}")
    assert man["annotations"]["io.archport.transplant.rebuilt"].startswith(
        "/usr/bin/helm_v3: rebuilt example.test/hello@v1.2.3"), man["annotations"]
    assert "ca-certificates=" in man["annotations"]["io.archport.transplant.packages"]
    assert cfg["WorkingDir"] == "/home/klipper-helm" and cfg["Env"] == CONFIG["Env"]
    assert skopeo_raw(dest) is not None


HELMISH = """
name = "example-helmish"
description = "A klipper-helm-shaped fixture whose tiller was built from a checkout."
kind = "distro"

[[image]]
repository = "example/helmish"
source = "https://example.test/helmish"

[[distro]]
versions = ""
base = "debian:trixie"
reason = "fixture"
source = "https://example.test/helmish"

[[binary]]
versions = ""
path = "/usr/bin/tiller"
module = "example.test/hello"
version = "v1.2.3"
x = { "main.version" = "{version}" }
source = "https://example.test/helmish"
"""


def _checkout_build(go_env, arch: str, tmp) -> bytes:
    """``go build`` inside a copy of the module, as helm's Makefile does: the
    build info then says ``(devel)``, not the version."""
    import shutil
    from tests.support import gobuild, goproxy
    src = tmp / f"checkout-{arch}"
    shutil.copytree(goproxy.FIXTURES / "hello@v1.2.3", src)
    out = gobuild.build(src, arch, tmp / f"tiller-{arch}", flags=["-trimpath"], toolchain=OLD_GO, env=go_env,
                        extra_env={"GOFLAGS": "-mod=mod"}, timeout=1200)
    return out.read_bytes()


def test_a_binary_built_from_a_checkout_is_rebuilt_from_the_catalog(registry_plain, tmp_path, go_env,
                                                                      hello_catalog):
    from archport.binaries.buildinfo import read_buildinfo
    per_arch = {}
    for arch in ("amd64", "arm64"):
        tiller = _checkout_build(go_env, arch, tmp_path)
        assert read_buildinfo(tiller).main.version == "(devel)"
        files = debian_root(arch, ("busybox-static",))
        files["usr/bin/tiller"] = (tiller, 0o755)
        per_arch[arch] = files
    push(tmp_path, registry_plain, "example/helmish:v1", per_arch, {"Entrypoint": ["tiller"], "Env": [PATH_ENV]})
    extra = tmp_path / "helmish.toml"
    extra.write_text(HELMISH)
    reg = registry_plain
    cp = archport("port", "example/helmish:v1", "--arch", "riscv64", "--strategy", "transplant",
                  "--to", f"{reg.host}/ported", "--mirror", f"docker.io={reg.host}", "--mirror-only",
                  "--cache-dir", str(CACHE / "port"), "--debian-suite", suite(), "--catalog", str(hello_catalog),
                  "--catalog", str(extra),
                  "--json", env=go_env, environ={}, expect=None, timeout=2400)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "ported", r
    assert "hello version=1.2.3 arch=riscv64" in r["smokeOutput"], r       # the catalog's -X applied
    notes = " ".join(r["notes"])
    assert ("/usr/bin/tiller: rebuilt example.test/hello@v1.2.3 with" in notes
            and "catalog [[binary]] for /usr/bin/tiller; example.test/hello built from a checkout" in notes), notes


# The real helm binaries, from the shipped catalog.  helm v2 (helm_v2,
# tiller) has no go.mod: its [[binary]] entries give the go.mod its
# glide.lock pins become; helm_v3 is helm v3.8.1.  The stand-in's three
# binaries are checkout builds of the fixture ("(devel)", as a build in
# helm's own tree records), so only the catalog can say what to build; what
# the port puts in their place is the real helm for riscv64, and both helms
# render a small chart of ours (tests/fixtures/helm/chart), carried as is.
REF_V2 = "rancher/klipper-helm:v0.7.2-build20220526"
V2_ENTRY = b"#!/bin/sh\n# Stand-in entry: helm v2's client, or the command given.\n" \
           b"[ $# -gt 0 ] || set -- helm_v2 version --client\nexec \"$@\"\n"


def test_the_real_helms_are_rebuilt_from_the_catalog_and_render_a_chart(registry_plain, tmp_path, go_env, containerd,
                                                                 binfmt_riscv64):
    per_arch = {}
    for arch in ("amd64", "arm64"):
        devel = _checkout_build(go_env, arch, tmp_path)
        files = debian_root(arch, ("busybox-static",))
        files.update({"usr/bin/helm_v2": (devel, 0o755), "usr/bin/tiller": (devel, 0o755),
                      "usr/bin/helm_v3": (devel, 0o755), "usr/bin/entry": (V2_ENTRY, 0o755)})
        for f in CHART.rglob("*"):
            if f.is_file():
                files[f"chart/{f.relative_to(CHART)}"] = (f.read_bytes(), 0o644)
        per_arch[arch] = files
    push(tmp_path, registry_plain, REF_V2, per_arch, {"Entrypoint": ["entry"], "Env": [PATH_ENV]})
    reg = registry_plain
    cp = archport("port", REF_V2, "--arch", "riscv64", "--strategy", "transplant", "--to", f"{reg.host}/ported",
                  "--mirror", f"docker.io={reg.host}", "--mirror-only", "--cache-dir", str(CACHE / "port"),
                  "--debian-suite", suite(), "--json", env=go_env, environ={}, expect=None, timeout=3600)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "ported" and r["smoke"].startswith("ok (exit 0"), r
    out = r["smokeOutput"]
    assert 'Client: &version.Version{SemVer:"v2.17.0", GitCommit:"a690bad98af45b015bd3da1a41f6218b1a451dbe", ' \
           'GitTreeState:"clean"}' in out, out
    notes = " ".join(r["notes"])
    for path in ("/usr/bin/helm_v2", "/usr/bin/tiller"):
        assert f"{path}: rebuilt k8s.io/helm@v2.17.0+incompatible with" in notes, notes
        assert f"catalog [[binary]] for {path}" in notes, notes
    assert "/usr/bin/helm_v3: rebuilt helm.sh/helm/v3@v3.8.1 with" in notes, notes

    dest = f"{reg.host}/ported/{REF_V2}"

    def smoke(expect: str, *argv: str) -> None:
        s = archport("smoke", dest, "--containerd-address", containerd.address, "--expect", expect, "--json",
                     "--", *argv, expect=None, timeout=600)
        assert s.returncode == 0, s.stdout + s.stderr

    smoke(r"^v2\.17\.0$", "tiller", "--version")
    smoke(r'Version:"v3\.8\.1"', "helm_v3", "version")
    rendered = r'(?s)kind: ConfigMap.*name: probe-probe.*greeting: "hello from riscv64".*archport-probe-0\.1\.0'
    smoke(rendered, "helm_v3", "template", "probe", "/chart")
    smoke(rendered, "helm_v2", "template", "--name", "probe", "/chart")


def test_the_helm_plugins_are_catalogued_and_refused_by_name_where_the_proxy_lacks_them(registry_plain, tmp_path,
                                                                                        go_env):
    # The catalog names what klipper-helm's Dockerfile builds for its two
    # plugins; the module proxy reachable here serves neither (measured), so
    # the port must stop, naming both, and push nothing.
    ref = "rancher/klipper-helm:v0.7.1-build20220101"
    per_arch = {}
    for arch in ("amd64", "arm64"):
        devel = _checkout_build(go_env, arch, tmp_path)
        files = debian_root(arch, ("busybox-static",))
        files.update({f"{PLUGINS}/helm-set-status/helm-set-status": (devel, 0o755),
                      f"{PLUGINS}/helm-mapkubeapis/bin/mapkubeapis": (devel, 0o755),
                      "usr/bin/entry": (V2_ENTRY, 0o755)})
        per_arch[arch] = files
    push(tmp_path, registry_plain, ref, per_arch, {"Entrypoint": ["entry"], "Env": [PATH_ENV]})
    reg = registry_plain
    cp = archport("port", ref, "--arch", "riscv64", "--strategy", "transplant", "--to", f"{reg.host}/ported",
                  "--mirror", f"docker.io={reg.host}", "--mirror-only", "--cache-dir", str(CACHE / "port"),
                  "--debian-suite", suite(), "--json", env=go_env, environ={}, expect=1, timeout=1800)
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "failed" and not r["ok"], r
    for mod in ("github.com/k3s-io/helm-set-status@v0.1.2",
                "github.com/helm/helm-mapkubeapis@v0.1.1-0.20211110122236-09f250b089fa"):
        assert f"{mod} cannot be fetched" in r["reason"], r["reason"]
    assert skopeo_raw(f"{reg.host}/ported/{ref}") is None
