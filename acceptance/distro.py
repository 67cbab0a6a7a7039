"""The distro-based images of k3s v1.24.2: stand-in upstreams and their rows.

klipper-lb, traefik and klipper-helm are an Alpine userland with packages,
shell scripts and (traefik, klipper-helm) Go binaries that no package owns;
archport ports them with its ``transplant`` strategy.  Alpine's repository
is not reachable here, so the stand-ins have the same structure on Debian
packages, with a real dpkg database (standins/debian.py, which the
test suite builds its own from), and are ported onto Debian riscv64:

- klipper-lb v0.3.5: ``standin.root_files`` (busybox-static + iptables,
  the legacy alternatives, an ``entry`` script with klipper-lb's
  behaviour), amd64 + arm64.
- traefik 2.6.2: busybox-static, ca-certificates and tzdata, the REAL
  traefik binary at /usr/local/bin/traefik and /entrypoint.sh, amd64.  The
  module proxy refuses v2.6.2, so the binary is the nearest version it
  serves that builds (:data:`TRAEFIK_CANDIDATES`, tried in order and each
  failure recorded).  It is built in an extracted module tree, as upstream's
  goreleaser builds in a checkout, so its build info names no version
  (``go install MODULE@VERSION`` would record one, but refuses traefik:
  its go.mod has ``replace`` directives).  archport then takes the module
  from the catalog's ``[[binary]]`` at the tag's version, which the proxy
  refuses: the port is given ``--substitute traefik=VERSION``, recorded.
- klipper-helm v0.7.3-build20220613: no stand-in; its row says why
  (:func:`klipper_helm_row`, measured at run time).
"""

from __future__ import annotations

import time
from pathlib import Path

from standins import debian, gomodules, images

KLIPPER_LB = "rancher/klipper-lb"
TRAEFIK = "rancher/mirrored-library-traefik"
KLIPPER_HELM = "rancher/klipper-helm"


TRAEFIK_MODULE = "github.com/traefik/traefik/v2"
TRAEFIK_PACKAGES = ("busybox-static", "ca-certificates", "tzdata")
TRAEFIK_CONFIG = {"Entrypoint": ["/entrypoint.sh"], "Cmd": ["traefik"], "ExposedPorts": {"80/tcp": {}},
                  "Env": [debian.PATH_ENV]}
# The catalog's [[binary]] for traefik v2 (-s -w, version.Version), with
# -trimpath as goreleaser builds; {version} without the "v", as goreleaser's.
TRAEFIK_LDFLAGS = "-s -w -X github.com/traefik/traefik/v2/pkg/version.Version={version}"
# (module version, GOTOOLCHAIN): v2.6.3 is the nearest the proxy serves, but
# its quic-go v0.23.0 refuses Go >= 1.18, hence Go 1.17; v2.10.4 is the
# catalog's proposed substitute (quic-go v0.33.0 refuses Go >= 1.21).
TRAEFIK_CANDIDATES = (("v2.6.3", "go1.17.13"), ("v2.10.4", "go1.20.14"))


def svclb_pod(work: Path) -> Path:
    out = work / "svclb-pod.yaml"
    out.write_text(debian.SVCLB)
    return out


def klipper_lb(work: Path, registry_host: str, repo_tag: str, row: dict) -> None:
    """Push the klipper-lb stand-in (amd64 + arm64) and record it in ``row``."""
    per_arch = {arch: debian.root_files(arch) for arch in ("amd64", "arm64")}
    row["standin"] = {"platforms": ["linux/amd64", "linux/arm64"], "debianSuite": debian.suite(),
                      "packages": list(debian.PACKAGES), "iptables": "legacy (update-alternatives links)",
                      "source": "standins/debian.py: Debian busybox-static + iptables with a dpkg "
                                "database, an entry script with klipper-lb v0.3.5's behaviour, CMD [\"entry\"]"}
    row["standin"]["digests"] = images.push_index(work, registry_host, repo_tag, per_arch, debian.CONFIG)


def standin(component: str, wanted: str, substitute_for: str, work: Path, registry_host: str, repo_tag: str,
            env: dict, row: dict) -> dict:
    """Build and push ``component``'s stand-in; returns what the row's spec
    gains (``built``, ``port_extra``) and records the rest in ``row``."""
    out: dict = {}
    if component == "klipper-lb":
        klipper_lb(work, registry_host, repo_tag, row)
    else:                                           # traefik
        # The k3s version itself when the proxy serves it, else the candidates.
        candidates = TRAEFIK_CANDIDATES if substitute_for else ((wanted, "go1.17.13"),)
        chosen = traefik(work, registry_host, repo_tag, env, row, candidates)
        if chosen is None:
            raise RuntimeError("no traefik version both served and buildable: " + "; ".join(
                f"{t['module']}: {t.get('error', '')[-300:]}" for t in row["standin"]["tried"]))
        version, toolchain = chosen
        extra: tuple[str, ...] = ("--go-version", toolchain.removeprefix("go"))
        if version != wanted:
            extra = ("--substitute", f"traefik={version}", *extra)
            row["version"] = version
            row["substituteNote"] = (f"nearest served that builds, by --substitute traefik={version}; "
                                     f"k3s ships {substitute_for}")
        out = {"built": version, "port_extra": extra}
    row["standin"]["pushedAs"] = f"{registry_host}/{repo_tag}"
    return out


def traefik(work: Path, registry_host: str, repo_tag: str, env: dict, row: dict,
            candidates: tuple[tuple[str, str], ...]) -> tuple[str, str] | None:
    """Build the traefik stand-in from the first candidate that the proxy
    serves and that builds, push it, and return (module version, toolchain);
    None when none does (each attempt is in ``row["standin"]["tried"]``)."""
    tried: list[dict] = []
    row["standin"] = {"platforms": ["linux/amd64"], "tried": tried}
    for version, toolchain in candidates:
        attempt = {"module": f"{TRAEFIK_MODULE}@{version}", "toolchain": toolchain}
        tried.append(attempt)
        started = time.monotonic()
        try:
            info = gomodules.download(TRAEFIK_MODULE, version, env, work)
            built = gomodules.build_module(info, work, package="./cmd/traefik",
                                           ldflags=TRAEFIK_LDFLAGS.format(version=version.removeprefix("v")),
                                           trimpath=True, toolchain=toolchain, goarch="amd64", env=env)
        except (gomodules.Unavailable, RuntimeError) as e:
            attempt["error"] = str(e)[-2000:]
            attempt["seconds"] = round(time.monotonic() - started, 1)
            continue
        attempt.update(built=True, buildSeconds=round(built.seconds, 1), build=built.command,
                       goVersion=built.toolchain)
        files = debian.debian_root("amd64", TRAEFIK_PACKAGES)
        files.update({"usr/local/bin/traefik": (built.binary.read_bytes(), 0o755),
                      "entrypoint.sh": (debian.TRAEFIK_ENTRYPOINT, 0o755)})
        row["standin"].update(module=f"{TRAEFIK_MODULE}@{version}", debianSuite=debian.suite(),
                              packages=list(TRAEFIK_PACKAGES), buildSeconds=round(built.seconds, 1),
                              toolchain=built.toolchain,
                              source="official image's shape (traefik-library-image alpine/Dockerfile at v2.6.2: "
                                     "ca-certificates, tzdata, /usr/local/bin/traefik, /entrypoint.sh); the "
                                     "binary is the real traefik at the version above, built in an extracted "
                                     "module tree (build info: (devel)); /entrypoint.sh is our own script")
        row["standin"]["digests"] = images.push_index(work, registry_host, repo_tag, {"amd64": files},
                                                      TRAEFIK_CONFIG)
        return version, toolchain
    return None


# klipper-helm v0.7.3-build20220613's package/Dockerfile builds these from
# GitHub archives: helm-set-status at its tag, helm-mapkubeapis at a commit.
KLIPPER_HELM_PLUGINS = (("github.com/k3s-io/helm-set-status", "v0.1.2"),
                        ("github.com/helm/helm-mapkubeapis", "09f250b089fa"))


def klipper_helm_row(tag: str, env: dict, work: Path) -> dict:
    """klipper-helm's row: unavailable, with the module proxy's answers for
    its plugins measured now.  (One function, so the row is easy to replace
    once a stand-in exists.)"""
    refused = []
    for module, version in KLIPPER_HELM_PLUGINS:
        try:
            gomodules.download(module, version, env, work)
        except gomodules.Unavailable as e:
            said = str(e).rpartition("server response:")[2].strip() or str(e)
            refused.append(f"{module}@{version}: {said.splitlines()[0]}")
    reason = ("transplant needs klipper-helm's helm plugins rebuilt from their modules, and the module proxy "
              "refuses them (" + "; ".join(refused) + "); upstream's image cannot be read here (no route to "
              "Docker Hub), so no stand-in with its real contents exists" if refused else
              "the plugins are served now, but no stand-in is built yet (upstream's image cannot be read here)")
    return {"component": "klipper-helm", "image": f"{KLIPPER_HELM}:{tag}", "version": tag, "k3sImage": True,
            "status": "unavailable", "unavailable": reason, "unavailableWhat": "transplant: unavailable",
            "command": "; ".join(f"go mod download -json {m}@{v}" for m, v in KLIPPER_HELM_PLUGINS)}


def judge(component: str, row: dict, result: dict | None, need) -> None:
    """The distro rows' own assertions, beside the common ones."""
    if not result:
        return
    if component == "klipper-lb":
        smoke = str(result.get("smoke") or "")
        need("port's smoke: iptables -t nat -S shows 2 of 2 expected lines", "2 of 2 expected lines" in smoke)
        need("port's smoke ran on the target's kernel", "on the target's kernel" in smoke)
        need("archport smoke took the recipe's kernel path",
             ((row.get("smoke") or {}).get("result") or {}).get("path") == "kernel")
    if component == "traefik" and row.get("substituteFor"):
        notes = " ".join(result.get("notes") or ())
        need(f"port records the substitution (instead of v{row['substituteFor']})",
             f"instead of v{row['substituteFor']}" in notes)
