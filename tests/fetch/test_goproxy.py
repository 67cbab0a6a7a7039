"""fetch.goproxy: the Go module proxy, with a file:// proxy made here (no network)."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from archport.fetch.goproxy import (ModuleInfo, ModuleUnavailable, download_module, escape, module_info, parse_info,
                                    proxy_list, read_member)

MOD, VER = "example.test/Tool", "v1.0.0"


def _proxy(tmp_path: Path) -> str:
    d = tmp_path / "proxy" / escape(MOD) / "@v"
    d.mkdir(parents=True)
    gomod = f"module {MOD}\n\ngo 1.20\n"
    (d / f"{VER}.mod").write_text(gomod)
    (d / f"{VER}.info").write_text(json.dumps({"Version": VER, "Time": "2020-01-01T00:00:00Z"}))
    (d / "list").write_text(VER + "\n")
    with zipfile.ZipFile(d / f"{VER}.zip", "w") as z:
        z.writestr(f"{MOD}@{VER}/go.mod", gomod)
        z.writestr(f"{MOD}@{VER}/main.go", "package main\n\nfunc main() {}\n")
    return f"file://{tmp_path / 'proxy'}"


def _go_env(tmp_path: Path, proxy: str) -> dict[str, str]:
    go = shutil.which("go") or "/usr/local/go/bin/go"
    return {"PATH": f"{os.path.dirname(go)}:/usr/bin:/bin", "HOME": str(tmp_path), "GOPATH": str(tmp_path / "gopath"),
            "GOMODCACHE": str(tmp_path / "modcache"), "GOCACHE": str(tmp_path / "gocache"), "GOPROXY": proxy,
            "GOSUMDB": "off", "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=vendor"}


def test_proxy_list_reads_only_what_it_is_given(monkeypatch):
    assert proxy_list({"GOPROXY": "https://a.test,https://b.test|direct,https://c.test"}) == ["https://a.test", "https://b.test"]
    assert proxy_list({"GOPROXY": "off"}) == []
    assert proxy_list({"GOPROXY": "https://a.test/"}) == ["https://a.test"]
    # No GOPROXY given and no go on the given PATH: nothing, whatever the process environment says.
    monkeypatch.setenv("GOPROXY", "https://from-the-environment.test")
    assert proxy_list({"PATH": "/nonexistent"}) == []


def test_read_member_names_every_failure(tmp_path):
    proxy = _proxy(tmp_path)
    data, used = read_member(None, [proxy], MOD, VER, "main.go", tmp_path)
    assert data.startswith(b"package main") and used == proxy
    from archport.errors import ArchportError
    with pytest.raises(ArchportError, match="no such file in the module zip"):
        read_member(None, [proxy], MOD, VER, "missing.go", tmp_path)
    with pytest.raises(ArchportError, match="no Go module proxy configured"):
        read_member(None, [], MOD, VER, "main.go", tmp_path)


def test_download_module_through_the_go_command(tmp_path):
    env = _go_env(tmp_path, _proxy(tmp_path))
    d = download_module(shutil.which("go", path=env["PATH"]), env, MOD, VER, tmp_path / "scratch")
    assert (d / "main.go").read_text().startswith("package main")
    assert str(d).startswith(str(tmp_path / "modcache"))      # the module cache the caller named
    assert not any((tmp_path / "scratch").iterdir())          # its scratch directory is gone


def test_download_module_refused_names_the_module(tmp_path):
    env = _go_env(tmp_path, _proxy(tmp_path))
    with pytest.raises(ModuleUnavailable, match=r"go mod download example.test/Tool@v9.9.9: "):
        download_module(shutil.which("go", path=env["PATH"]), env, MOD, "v9.9.9", tmp_path / "scratch")


# -- a version's .info ------------------------------------------------------------

HASH = "0123456789abcdef0123456789abcdef01234567"
INFO = {"Version": VER, "Time": "2021-03-04T05:06:07.5+02:00",
        "Origin": {"VCS": "git", "URL": "https://example.test/tool", "Hash": HASH, "Ref": f"refs/tags/{VER}"}}


def test_parse_info_gives_the_commit_and_the_utc_time():
    info = parse_info(INFO)
    assert (info.version, info.commit, info.time) == (VER, HASH, "2021-03-04T03:06:07Z")
    # Before Go 1.19 proxies record no Origin: no commit, never a guess.
    assert parse_info({"Version": VER, "Time": "2020-01-01T00:00:00Z"}) == ModuleInfo(VER, "2020-01-01T00:00:00Z", "")
    assert parse_info({"Version": VER, "Time": "yesterday"}).time == ""


def test_module_info_reads_the_info_without_the_zip(tmp_path):
    proxy = _proxy(tmp_path)
    (tmp_path / "proxy" / escape(MOD) / "@v" / f"{VER}.info").write_text(json.dumps(INFO))
    env = _go_env(tmp_path, proxy)
    info = module_info(shutil.which("go", path=env["PATH"]), env, MOD, VER, tmp_path / "scratch")
    assert (info.commit, info.time) == (HASH, "2021-03-04T03:06:07Z")
    cached = tmp_path / "modcache" / "cache" / "download" / escape(MOD) / "@v"
    assert (cached / f"{VER}.info").is_file() and not (cached / f"{VER}.zip").exists()
    with pytest.raises(ModuleUnavailable, match=r"go list -m example.test/Tool@v9.9.9: "):
        module_info(shutil.which("go", path=env["PATH"]), env, MOD, "v9.9.9", tmp_path / "scratch")
