"""A [[binary]] for a module without go.mod: the catalog's go.mod file and
the local modules it replaces (pure: parsing and the shipped helm v2 entry)."""

from __future__ import annotations

import re

import pytest

from archport.catalog import CatalogError, load, load_texts

DISTRO = """
name = "example"
description = "x"
kind = "distro"
[[image]]
repository = "rancher/example"
source = "https://example.test/images"
[[distro]]
versions = ""
base = "debian:trixie"
reason = "fixture"
source = "https://example.test/x"
[[binary]]
versions = ""
path = "/usr/bin/x"
module = "example.test/x"
version = "v1.0.0"
source = "https://example.test/x"
"""


@pytest.mark.parametrize("extra, message", [
    ('gomod = "../evil.mod"\n', "names a file in catalog/gomod/"),
    ('gomod = "absent.mod"\n', "no such file in catalog/gomod/"),
    ('local = { "vbom.ml/util" = { source = "github.com/fvbommel/sortorder" , files = {} } }\n', "needs source"),
    ('local = { "vbom.ml/util" = { source = "a.test/b@v1.0.0", files = { "../x.go" = "x.go" } } }\n',
     "needs source"),
    ('local = "vbom.ml/util"\n', "local maps module paths"),
])
def test_malformed_gomod_and_local_tables_are_catalog_errors(extra, message):
    with pytest.raises(CatalogError, match=message):
        load_texts({"components/example.toml": DISTRO + extra})


def test_helm_v2_and_tiller_share_the_shipped_go_mod_with_every_dependency_fixed():
    comp = load().component("klipper-helm")
    helm, tiller = (comp.binary("v0.7.3-build20220613", p) for p in ("/usr/bin/helm_v2", "/usr/bin/tiller"))
    assert helm.module == tiller.module == "k8s.io/helm" and helm.version == "v2.17.0+incompatible"
    assert (helm.package, tiller.package) == ("./cmd/helm", "./cmd/tiller")
    assert helm.gomod == tiller.gomod and re.search(r"(?m)^module k8s\.io/helm$", helm.gomod)
    required = set(re.findall(r"(?m)^\t(\S+) v\S+", helm.gomod.split("replace (")[0]))
    replaced = set(re.findall(r"(?m)^\t(\S+) => ", helm.gomod))
    # The resolver chooses nothing that is built: kubernetes is required at
    # glide.yaml's own v1.16.2; packr and mymysql are dependencies' tests only.
    assert required - replaced == {"k8s.io/kubernetes", "github.com/gobuffalo/packr", "github.com/ziutek/mymysql"}
    assert "\tk8s.io/kubernetes v1.16.2\n" in helm.gomod
    assert "github.com/modern-go/reflect2 => github.com/modern-go/reflect2 v1.0.2" in helm.gomod
    (local,) = helm.local
    assert local.module == "vbom.ml/util" and f"vbom.ml/util => ./{local.directory}" in helm.gomod
    assert "-X" in helm.ldflags_for(helm.version) and "k8s.io/helm/pkg/version.Version=v2.17.0" in \
        helm.ldflags_for(helm.version)
