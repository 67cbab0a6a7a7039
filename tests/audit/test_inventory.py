"""The inventory and the verdicts, from plain data with a fake lookup (no I/O)."""

import json
import threading

from archport.audit import audit, inventory, manifest_images
from archport.catalog import load
from archport.errors import NotFound, TransportError
from archport.k3s import registries as R
from archport.k3s.manifests import load_documents
from archport.platform import RISCV64, parse as P

from standins.shared import MANIFESTS

CATALOG = load()
V1242 = CATALOG.release("v1.24.2+k3s1")


def kinds(inv):
    return {n.image: set(n.kinds) for n in inv.needs}


def test_release_alone_is_the_image_list_with_roles():
    inv = inventory(release=V1242, catalog=CATALOG)
    k = kinds(inv)
    assert set(k) == set(V1242.references())
    assert k["docker.io/rancher/mirrored-pause:3.6"] == {"pause"}
    assert k["docker.io/rancher/klipper-lb:v0.3.5"] == {"servicelb"}
    assert inv.k3s_version == "v1.24.2+k3s1" and not inv.notes


def test_disable_drops_components_and_their_manifests():
    docs = load_documents(MANIFESTS)
    inv = inventory(release=V1242, catalog=CATALOG, documents=docs,
                    config={"disable": ["traefik", "servicelb", "metrics-server"]})
    names = set(kinds(inv))
    assert not any(x in n for n in names for x in ("traefik", "klipper", "metrics-server"))
    assert inv.disabled == ("metrics-server", "servicelb", "traefik")


def test_system_default_registry_prefixes_system_images_only():
    inv = inventory(release=V1242, catalog=CATALOG, config={"system-default-registry": "reg.internal:5000"},
                    pods=[("default/web", "nginx:1.25")])
    names = set(kinds(inv))
    assert "reg.internal:5000/rancher/mirrored-pause:3.6" in names
    assert "reg.internal:5000/rancher/klipper-lb:v0.3.5" in names
    assert "reg.internal:5000/rancher/mirrored-coredns-coredns:1.9.1" in names
    assert "docker.io/library/nginx:1.25" in names           # a user's pod is not a system image
    assert inv.system_default_registry == "reg.internal:5000"


def test_explicit_pause_image_replaces_the_default():
    inv = inventory(release=V1242, catalog=CATALOG, config={"pause-image": "reg.internal/pause:3.9"})
    k = kinds(inv)
    assert k["reg.internal/pause:3.9"] == {"pause"} and "docker.io/rancher/mirrored-pause:3.6" not in k


def test_sources_are_merged_per_image_in_first_seen_order():
    inv = inventory(release=V1242, catalog=CATALOG, documents=load_documents(MANIFESTS),
                    pods=[("kube-system/coredns-x", "rancher/mirrored-coredns-coredns:1.9.1")])
    need = next(n for n in inv.needs if "coredns" in n.image)
    assert need.kinds == ("release", "manifest", "pod")
    assert need.reasons[1][1] == "coredns.yaml: Deployment kube-system/coredns container coredns"


def test_manifest_images_for_port():
    assert manifest_images(load_documents(MANIFESTS)) == [
        "docker.io/rancher/mirrored-coredns-coredns:1.9.1", "docker.io/rancher/local-path-provisioner:v0.0.21",
        "docker.io/rancher/mirrored-library-busybox:1.34.1", "docker.io/rancher/mirrored-metrics-server:v0.5.2",
        "docker.io/rancher/mirrored-library-traefik:2.6.2"]


def test_a_template_placeholder_is_a_note_not_a_crash():
    docs = [("x.yaml", {"kind": "Pod", "metadata": {"name": "p"},
                        "spec": {"containers": [{"name": "c", "image": "%{SYSTEM_DEFAULT_REGISTRY}%rancher/x:1"}]}})]
    inv = inventory(documents=docs)
    assert not inv.needs and any("not an image reference" in n for n in inv.notes)


def test_lookup_walks_endpoints_in_containerd_order():
    regs = R.parse({"mirrors": {"docker.io": {"endpoint": ["http://127.0.0.1:1", "http://127.0.0.1:2"]}}})
    inv = inventory(pods=[("a/b", "rancher/x:1"), ("a/c", "rancher/y:1")])
    asked, lock = [], threading.Lock()

    def lookup(ep):
        with lock:
            asked.append(str(ep.reference))
        if ep.host == "127.0.0.1:1":
            raise TransportError("connection refused")
        if ep.host == "127.0.0.1:2" and "/x" in ep.reference.path:
            raise NotFound(404, ("MANIFEST_UNKNOWN",), "", "manifest 1")
        if ep.host == "127.0.0.1:2":
            return [P("linux/amd64"), P("linux/riscv64")]
        return [P("linux/amd64")]

    result = audit(inv, RISCV64, regs, lookup=lookup, version="v1.24.2+k3s1")
    x, y = result.rows
    assert [a.endpoint.host for a in x.attempts] == ["127.0.0.1:1", "127.0.0.1:2", "docker.io"]
    assert x.status == "missing" and x.answered.endpoint.default and "connection refused" in x.error
    assert [a.endpoint.host for a in y.attempts] == ["127.0.0.1:1", "127.0.0.1:2"]     # stops at the first answer
    assert y.status == "ok"
    assert not result.ok and [r.need.image for r in result.problems] == ["docker.io/rancher/x:1"]
    assert set(asked) == {"127.0.0.1:1/rancher/x:1", "127.0.0.1:2/rancher/x:1", "docker.io/rancher/x:1",
                          "127.0.0.1:1/rancher/y:1", "127.0.0.1:2/rancher/y:1"}


def test_image_store_supplies_what_the_registry_lacks_and_errors_count_as_problems():
    inv = inventory(pods=[("a/b", "rancher/x:1"), ("a/c", "rancher/y:1")])

    def lookup(ep):
        if "y" in ep.reference.path:
            raise TransportError("no route to host")
        return [P("linux/amd64")]

    result = audit(inv, RISCV64, lookup=lookup, in_store={"docker.io/rancher/x:1"})
    x, y = result.rows
    assert x.status == "in-store" and not x.problem
    assert y.status == "unknown" and y.problem and "no route to host" in y.error
    d = result.to_dict()
    assert d["missing"] == ["docker.io/rancher/y:1"] and d["complete"] is False


def test_without_lookup_nothing_is_a_problem():
    result = audit(inventory(release=V1242, catalog=CATALOG), RISCV64)
    assert result.ok and {r.status for r in result.rows} == {"not-checked"}


def test_airgap_archive_names_from_index_and_manifest_json():
    from archport.node import archives as airgap
    from archport.node.facts import BY_NAME
    index = json.dumps({"manifests": [{"annotations": {"io.containerd.image.name": "docker.io/rancher/a:1"}},
                                      {"annotations": {"org.opencontainers.image.ref.name": "1"}}]})
    manifest = json.dumps([{"RepoTags": ["rancher/b:2", "not a ref"]}])
    text = (f"\n{airgap.MARK} one.tar\n{index}\n{airgap.MARK} two.tar.zst\n{index}{manifest}\n"
            f"{airgap.MARK} broken.tar\n{{\"manifests\": [")
    assert airgap.parse(text) == {"docker.io/rancher/a:1": "agent/images/one.tar",
                                  "docker.io/rancher/b:2": "agent/images/two.tar.zst"}
    assert " /var/lib/rancher/k3s/agent/images/*" in BY_NAME["archives"].render()
    assert " /x/var/lib/rancher/k3s/agent/images/*" in BY_NAME["archives"].render("/x/")
