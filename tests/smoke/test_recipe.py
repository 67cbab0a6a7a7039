"""Smoke recipes as catalog data: parsing, validation, the shipped recipes,
and how a recipe becomes run options and a port's one-line summary (pure)."""

from __future__ import annotations

import pytest

from archport.catalog import CatalogError, load, load_texts
from archport.catalog.smoke import Signal
from archport.smoke.recipe import apply, summary
from archport.smoke.outcome import SmokeResult
from archport.smoke.run import Options
from standins import shared

COMPONENT = """
name = "example"
description = "x"
kind = "go"
[[image]]
repository = "rancher/example"
source = "https://example.test/images"
[[go]]
module = "example.test/x"
source = "https://example.test/x"
"""


def recipe_of(table: str, tag: str = "v1.2.3"):
    cat = load_texts({"components/example.toml": COMPONENT + "[[smoke]]\n" + table})
    return cat.component("example").smoke_recipe(tag)


def test_a_network_recipe_parses_with_its_files_and_source():
    r = recipe_of('''
args = ["-conf", "/etc/x/Corefile", "-dns.port", "1053"]
files = { "/etc/x/Corefile" = ". {\\n hosts\\n}\\n" }
writable = ["/tmp"]
ready = "dns"
port = 1053
query = "archport.test"
answer = "10.43.0.10"
source = "https://example.test/manifest.yaml"
''')
    assert r.args == ("-conf", "/etc/x/Corefile", "-dns.port", "1053")
    assert r.files == (("/etc/x/Corefile", ". {\n hosts\n}\n"),) and r.writable == ("/tmp",)
    assert r.signal == Signal("dns", None, 1053, "/", "archport.test", "10.43.0.10")
    assert r.signal.network and "10.43.0.10" in r.signal.describe()
    assert r.source.url == "https://example.test/manifest.yaml" and r.source.verified


def test_expect_is_filled_with_the_tag_as_regex_text_and_versions_select():
    table = '''
versions = ">=1.0.0"
args = ["--version"]
expect = "version {tag} \\\\(ok\\\\)"
source = "https://example.test/main.go"
'''
    r = recipe_of(table, "v1.2.3")
    assert r.signal.kind == "exit" and r.signal.expect == r"version v1\.2\.3 \(ok\)"
    assert recipe_of(table, "v0.9.0") is None
    assert recipe_of('source = "https://example.test/x"\n').args is None      # no args: the image's Cmd


@pytest.mark.parametrize("table, message", [
    ('ready = "tcp"\n', "ready must be one of"),
    ('ready = "http"\n', "needs port"),
    ('ready = "http"\nport = 8080\npath = "healthz"\n', "path must start with /"),
    ('ready = "dns"\nport = 53\nquery = "a.test"\n', "needs query and answer"),
    ('ready = "output"\n', "needs expect"),
    ('ready = "running"\n', "seconds"),
    ('expect = "("\n', "not a regular expression"),
    ('files = { "etc/x" = "y" }\n', "absolute paths"),
    ('writable = ["/"]\n', "absolute directories other than /"),
    ('port = 70000\nready = "http"\n', "port number"),
    ('argz = ["x"]\n', "unknown keys"),
    ('args = "--version"\n', "list of strings"),
])
def test_malformed_recipes_are_catalog_errors(table, message):
    with pytest.raises(CatalogError, match=message):
        load_texts({"components/example.toml": COMPONENT + "[[smoke]]\n" + table +
                    'source = "https://example.test/x"\n'})


def test_a_recipe_needs_a_source():
    with pytest.raises(CatalogError, match="source"):
        load_texts({"components/example.toml": COMPONENT + '[[smoke]]\nargs = ["-v"]\n'})


def test_every_v1_24_2_component_has_a_recipe():
    cat = load()
    release = cat.release("v1.24.2+k3s1")
    for image in release.images:
        comp = cat.component(image)
        tag = image.rsplit(":", 1)[1]
        assert comp.smoke_recipe(tag) is not None, f"{comp.name} {tag}: no smoke recipe"


def test_the_shipped_server_recipes_use_the_manifests_own_args():
    cat = load()
    ms = cat.component("metrics-server").smoke_recipe("v0.5.2")
    deployment = (shared.MANIFESTS / "metrics-server" / "metrics-server-deployment.yaml").read_text()
    for arg in ms.args:
        assert f"- {arg}\n" in deployment, arg
    assert "/tmp" in ms.writable and any(a.startswith("--cert-dir=/tmp") for a in ms.args)
    assert ms.signal.kind == "output" and "/tmp/" in ms.signal.expect
    dns = cat.component("coredns").smoke_recipe("1.9.1")
    assert dns.args[:2] == ("-conf", "/etc/coredns/Corefile")
    assert '"-conf", "/etc/coredns/Corefile"' in (shared.MANIFESTS / "coredns.yaml").read_text()
    assert dict(dns.files)["/etc/coredns/Corefile"].count("hosts") == 1 and "forward" not in dict(dns.files)[
        "/etc/coredns/Corefile"]
    assert (dns.signal.kind, dns.signal.port, dns.signal.answer) == ("dns", 1053, "10.43.0.10")
    lpp = cat.component("local-path-provisioner").smoke_recipe("v0.0.21")
    assert lpp.args == ("local-path-provisioner", "--version") and lpp.signal.expect == r"version v0\.0\.21"


def test_user_arguments_win_over_the_recipe():
    r = load().component("coredns").smoke_recipe("1.9.1")
    mine = apply(Options(args=("--help",)), r)
    assert mine.args == ("--help",) and mine.signal is None and mine.files == ()
    theirs = apply(Options(), r)
    assert theirs.args == r.args and theirs.signal == r.signal and theirs.files == r.files


def _result(**kw) -> SmokeResult:
    base = dict(image="x", platform="linux/riscv64", path="containerd", argv=("x",), exit_code=None)
    return SmokeResult(**{**base, **kw})


def test_port_summary_says_what_was_seen_and_what_to_do():
    cell, step = summary(_result(signal="HTTP GET 127.0.0.1:8080/healthz answers 2xx", ready=True,
                                 said="GET /healthz answered 200 ok", seconds=2.04), 60)
    assert cell == "ok (ready after 2.0s via containerd: GET /healthz answered 200 ok)" and step == ""
    cell, step = summary(_result(timed_out=True), 60)          # no signal: a server nothing says how to ask
    assert cell == "ok (still running after 60s, a server)" and step == ""
    cell, step = summary(_result(exit_code=0), 60)
    assert cell == "ok (exit 0 via containerd)"
    like = _result(exit_code=2, verdict="fails like upstream: the recipe is wrong (upstream linux/amd64 …)")
    cell, step = summary(like, 60)
    assert cell.startswith("failed: exit 2; fails like upstream: the recipe is wrong")
    assert step.startswith("fails like upstream: the recipe is wrong") and "emulation" not in step
    cell, step = summary(_result(exit_code=3, verdict="does not run under emulation: upstream linux/amd64 "
                                                      "passes the same smoke (exit 0)"), 60)
    assert step == "the image does not run under emulation; nothing was pushed"


def test_archport_smoke_finds_the_recipe_by_image_name():
    from archport.cli.cmd_smoke import _recipe

    def _with_recipe(opts, image):
        return apply(opts, _recipe(image))

    mirrored = _with_recipe(Options(), "127.0.0.1:5000/k3s-riscv64/rancher/mirrored-coredns-coredns:1.9.1")
    assert mirrored.signal is not None and mirrored.signal.kind == "dns" and mirrored.args[0] == "-conf"
    assert _with_recipe(Options(), "oci:/tmp/layout:v1") == Options()
    assert _with_recipe(Options(), "127.0.0.1:5000/some/unknown:1") == Options()
