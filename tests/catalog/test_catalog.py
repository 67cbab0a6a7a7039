from importlib import resources

import re

import pytest

from archport import reference
from archport.catalog import CatalogError, load, load_texts
from archport.errors import BadInput
from standins import shared

SHARED = shared.IMAGES_TXT


def _texts():
    root = resources.files("archport.catalog")
    texts = {"releases.toml": (root / "releases.toml").read_text(), "fixups.toml": (root / "fixups.toml").read_text()}
    for e in (root / "components").iterdir():
        if e.name.endswith(".toml"):
            texts[f"components/{e.name}"] = e.read_text()
    return texts


def test_loads_and_is_cached():
    assert load() is load()
    names = {c.name for c in load().components}
    assert {"pause", "coredns", "local-path-provisioner", "metrics-server", "busybox", "klipper-helm",
            "klipper-lb", "traefik"} <= names


def test_every_fact_has_a_source():
    cat = load()
    facts = [r.source for r in cat.releases] + [f.source for f in cat.fixups] + [m.source for m in cat.missing]
    for c in cat.components:
        for group in (c.images, c.go, c.c, c.deb, c.distro, c.contracts, c.releases, c.alternatives, c.knobs):
            facts += [x.source for x in group]
    assert facts
    for s in facts:
        assert s.url.startswith("https://")
        assert s.verified or s.note


def test_images_in_data_have_no_registry_host():
    cat = load()
    images = [i for r in cat.releases for i in r.images]
    images += [i.repository for c in cat.components for i in c.images]
    images += [a.image for c in cat.components for a in c.alternatives]
    for text in images:
        ref = reference.parse(text)
        assert not text.startswith(ref.domain + "/"), text


def test_v1_24_2_matches_the_shared_image_list():
    want = [line.strip() for line in SHARED.read_text().splitlines() if line.strip()]
    rel = load().release("v1.24.2+k3s1")
    assert sorted(rel.references()) == sorted(want)
    assert rel.source.verified


@pytest.mark.parametrize("spelling", ["v1.24.2", "1.24.2", "v1.24.2+k3s1", " v1.24.2+k3s2 "])
def test_release_spellings(spelling):
    assert load().release(spelling).kubernetes == "v1.24.2"


def test_a_kubernetes_version_is_its_newest_k3s_revision_and_says_so():
    rel, why = load().resolve_release("v1.24.2")
    assert rel.version == "v1.24.2+k3s2" and rel.inferred
    assert why == "k3s v1.24.2: v1.24.2+k3s2, its newest k3s revision the catalog knows"
    assert load().resolve_release("v1.24.2+k3s1") == (load().release("v1.24.2+k3s1"), "")
    assert load().resolve_release("v1.24.3") == (load().release("v1.24.3+k3s1"), "")    # one revision: nothing to say


@pytest.mark.parametrize("asked,chosen,how", [
    ("v1.34.11+k3s1", "v1.34.11+k3s1", "exact"), ("v1.34.11", "v1.34.11+k3s2", "revision"),
    ("1.34.11", "v1.34.11+k3s2", "revision"), ("v1.34", "v1.34.12+k3s1", "minor"), ("1.34", "v1.34.12+k3s1", "minor"),
])
def test_versions_match_the_way_k3s_names_them(asked, chosen, how):
    from archport.catalog import versions
    known = ["v1.34.9+k3s1", "v1.34.11+k3s1", "v1.34.11+k3s2", "v1.34.12+k3s1", "v1.35.0+k3s1", "v1.34.10+k3s3"]
    assert versions.pick_k3s(known, asked) == (chosen, how)
    assert versions.pick_k3s(known, "v1.34.13") is None and versions.pick_k3s(known, "v1.34.9+k3s2") is None
    assert versions.pick_k3s(known, "latest") is None and versions.pick_k3s(known, "v1.34+k3s1") is None


def test_current_lines_with_k3ss_packaged_list_of_august_2026():
    """v1.35.8+k3s1 and v1.36.4+k3s1 carry k3s's packaged list of August 2026;
    v1.37.1+k3s1 moves coredns and traefik only (its release notes)."""
    august = sorted([
        "rancher/klipper-helm:v0.13.3-build20260727", "rancher/klipper-lb:v0.4.17",
        "rancher/local-path-provisioner:v0.0.37", "rancher/mirrored-coredns-coredns:1.14.6",
        "rancher/mirrored-library-busybox:1.37.0", "rancher/mirrored-library-traefik:3.7.8",
        "rancher/mirrored-metrics-server:v0.9.0", "rancher/mirrored-pause:3.10.2"])
    cat = load()
    for version in ("v1.35.8+k3s1", "v1.36.4+k3s1"):
        rel = cat.release(version)
        assert sorted(rel.images) == august and not rel.inferred and "August 2026" in rel.source.note
    rel = cat.release("v1.37.1+k3s1")
    assert rel.inferred and sorted(rel.images) == sorted(
        i.replace("coredns:1.14.6", "coredns:1.14.7").replace("traefik:3.7.8", "traefik:3.7.13") for i in august)


def test_release_range_covered():
    cat = load()
    for v in ("v1.24.2", "v1.24.3", "v1.24.4", "v1.24.6", "v1.33.7"):
        assert cat.release(v).images


@pytest.mark.parametrize("version,kubernetes", [
    ("v1.34.9", "v1.34.9"), ("1.35.8", "v1.35.8"), ("v1.36.5+k3s1", "v1.36.5"), ("v1.37.1", "v1.37.1"),
])
def test_current_releases_resolve(version, kubernetes):
    cat = load()
    rel = cat.release(version)
    assert rel.kubernetes == kubernetes and len(rel.images) == 8
    assert rel.source.verified or rel.source.note.startswith("Inferred")
    assert {cat.component(i).name for i in rel.references()} == {
        "klipper-helm", "klipper-lb", "local-path-provisioner", "coredns", "busybox", "traefik",
        "metrics-server", "pause"}


def test_release_images_agree_with_their_components_table():
    """Where a release lists upstream component versions, its image tags carry the same versions."""
    repo_of = {"coredns": "rancher/mirrored-coredns-coredns", "local-path-provisioner": "rancher/local-path-provisioner",
               "metrics-server": "rancher/mirrored-metrics-server", "traefik": "rancher/mirrored-library-traefik"}
    for rel in load().releases:
        comps = dict(rel.components)
        tags = dict(i.rsplit(":", 1) for i in rel.images)
        for name, repo in repo_of.items():
            if name in comps:
                assert tags[repo].lstrip("v") == comps[name].lstrip("v"), (rel.version, name)


def test_unknown_release_lists_known():
    with pytest.raises(BadInput, match="v1.24.2\\+k3s1"):
        load().release("v1.99.0")
    with pytest.raises(BadInput, match="no v1.24.5 release"):
        load().release("1.24.5")


def test_every_release_image_resolves_to_a_component():
    cat = load()
    for r in cat.releases:
        for image in r.references():
            assert cat.component(image).name


@pytest.mark.parametrize("text,name", [
    ("coredns", "coredns"),
    ("rancher/mirrored-coredns-coredns:1.9.1", "coredns"),
    (reference.normalize("rancher/mirrored-pause:3.6"), "pause"),
    ("rancher/mirrored-pause@sha256:" + "a" * 64, "pause"),
    ("registry.example.com:5000/rancher/local-path-provisioner:v0.0.21", "local-path-provisioner"),
    ("registry.example.com/mirror/rancher/mirrored-metrics-server:v0.5.2", "metrics-server"),
])
def test_component_lookup(text, name):
    assert load().component(text).name == name


def test_unknown_component():
    with pytest.raises(BadInput, match="coredns"):
        load().component("nginx:1.25")
    with pytest.raises(BadInput):
        load().component("Not A Ref")


def test_k3s_1_24_components():
    cat = load()
    coredns = cat.component("coredns")
    assert coredns.upstream_version("1.9.1") == "v1.9.1"
    b = coredns.go_build("1.9.1")
    assert (b.module, b.package, b.cgo) == ("github.com/coredns/coredns", ".", False)
    assert "github.com/coredns/coredns/coremain.GitCommit=abc" in b.ldflags_for({"commit": "abc"})
    assert coredns.contract("1.9.1").entrypoint == ("/coredns",)
    assert coredns.release_asset("1.9.1", "riscv64") is None
    url, sums = coredns.release_asset("1.11.1", "riscv64").urls("1.11.1", "riscv64")
    assert url.endswith("/v1.11.1/coredns_1.11.1_linux_riscv64.tgz") and sums == url + ".sha256"
    assert not coredns.alternatives_for("1.10.1", "linux/riscv64")
    assert coredns.alternatives_for("1.11.0", "linux/riscv64")[0].reference("1.11.0") == "coredns/coredns:1.11.0"

    lpp = cat.component("rancher/local-path-provisioner:v0.0.21")
    assert lpp.upstream_version("v0.0.21") == "v0.0.21"
    assert lpp.go_build("v0.0.21").module == "github.com/rancher/local-path-provisioner"
    assert lpp.go_build("v0.0.21").vendored
    assert lpp.contract("v0.0.21").binary == "/usr/bin/local-path-provisioner"

    ms = cat.component("metrics-server")
    g = ms.go_build("v0.5.2")
    assert (g.module, g.package) == ("sigs.k8s.io/metrics-server", "./cmd/metrics-server")
    assert dict(g.x)["k8s.io/client-go/pkg/version.gitVersion"] == "{tag}"

    pause = cat.component("pause")
    assert pause.kind == "c" and pause.c_build("3.6").files == ("build/pause/linux/pause.c",)
    assert pause.contract("3.6").user == "65535:65535"
    assert any(k.name == "--pause-image" for k in pause.knobs)

    assert cat.component("busybox").deb_package("1.34.1", "riscv64").package == "busybox-static"
    for name in ("klipper-helm", "klipper-lb", "traefik"):
        c = cat.component(name)
        assert c.kind == "distro"
        d = c.distro_for(cat.release("v1.24.2+k3s1").images[[reference.parse(i).path for i in
                         cat.release("v1.24.2+k3s1").images].index(c.images[0].repository)].rsplit(":", 1)[1])
        assert d and d.reason and d.transplant_needs


def test_fixups():
    cat = load()
    ids = {f.id for f in cat.fixups}
    assert {"x-net-linkname-recvmsg", "x-sys-riscv64", "reflect2-go118", "vendor-consistency"} <= ids
    # coredns v1.9.1 pins this x/net; coredns v1.10.1 pins v0.4.0
    hit = cat.fixups_for("golang.org/x/net", "v0.0.0-20220127200216-cd36cc0744dd", "go1.23.0", "riscv64")
    assert [f.id for f in hit] == ["x-net-linkname-recvmsg"]
    assert hit[0].alternative == "-ldflags=-checklinkname=0"
    assert not cat.fixups_for("golang.org/x/net", "v0.0.0-20220127200216-cd36cc0744dd", "go1.22.5", "riscv64")
    assert not cat.fixups_for("golang.org/x/net", "v0.4.0", "go1.23.0", "riscv64")
    assert cat.fixups_for("golang.org/x/sys", "v0.0.0-20190712062909-fae7ac547cb7", "go1.21.0", "riscv64")
    assert not cat.fixups_for("golang.org/x/sys", "v0.0.0-20190712062909-fae7ac547cb7", "go1.21.0", "arm64")
    assert not cat.fixups_for("golang.org/x/sys", "v0.0.0-20190726091711-fc99dfbffb4e", "go1.21.0", "riscv64")
    assert cat.fixups_for("github.com/modern-go/reflect2", "v1.0.1", "go1.18", "riscv64")
    assert not cat.fixups_for("github.com/modern-go/reflect2", "v1.0.2", "go1.18", "riscv64")
    vendor = next(f for f in cat.fixups if f.id == "vendor-consistency")
    assert vendor.is_procedure and vendor.action == "vendor"


@pytest.mark.parametrize("edit,match", [
    (lambda t: t.replace('source = "https://github.com/coredns/coredns/blob/v1.9.1/Makefile"\n', ""), "source"),
    (lambda t: t.replace('versions = ">=1.11.0"', 'versions = "1.11.0"', 1), "operator"),
    (lambda t: t.replace('repository = "rancher/mirrored-coredns-coredns"', 'repository = "Bad Ref"'), "Bad Ref"),
    (lambda t: t.replace('kind = "go"', 'kind = "rust"'), "kind"),
    (lambda t: t.replace('cgo = false', 'cgo = false\ncgo_typo = 1'), "unknown keys"),
])
def test_validation_rejects(edit, match):
    texts = _texts()
    texts["components/coredns.toml"] = edit(texts["components/coredns.toml"])
    with pytest.raises(CatalogError, match=match):
        load_texts(texts)


def test_validation_unverified_needs_note():
    texts = _texts()
    texts["fixups.toml"] = texts["fixups.toml"].replace(
        'source = "https://github.com/golang/sys/pull/38"', 'source = "https://github.com/golang/sys/pull/38"\nverified = false', 1)
    texts["fixups.toml"] = texts["fixups.toml"].replace("note = \"unix/endian_little.go", "#", 1)
    with pytest.raises(CatalogError):
        load_texts(texts)


def test_validation_release_image_without_component():
    texts = _texts()
    texts["releases.toml"] = texts["releases.toml"].replace('"rancher/mirrored-pause:3.6",', '"rancher/unknown:1",', 1)
    with pytest.raises(CatalogError, match="no component owns"):
        load_texts(texts)


@pytest.mark.parametrize("asked,chosen", [
    ("1.24", "v1.24.6+k3s1"), ("v1.24", "v1.24.6+k3s1"), ("1.33", "v1.33.7+k3s1"), ("v1.37", "v1.37.1+k3s1"),
])
def test_a_minor_version_is_its_newest_known_release(asked, chosen):
    rel, why = load().resolve_release(asked)
    assert rel.version == chosen and chosen in why and "newest" in why


def test_the_reason_for_a_choice_is_one_short_line():
    _, why = load().resolve_release("v1.24.2")
    assert len(why) < 120 and "\n" not in why, why


@pytest.mark.parametrize("asked,nearest", [
    ("v1.34.11", "v1.34.9+k3s1"), ("1.24.5", "v1.24.6+k3s1"), ("v1.99.0", "v1.37.1+k3s1"), ("1.30", "v1.33.7+k3s1"),
])
def test_an_unknown_version_suggests_the_nearest(asked, nearest):
    with pytest.raises(BadInput, match=f"nearest the catalog knows is {re.escape(nearest)}"):
        load().release(asked)
