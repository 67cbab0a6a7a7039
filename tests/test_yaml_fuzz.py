"""Generated YAML against every reader of a user's YAML: an answer or one
BadInput, never another exception, within a bound on time and memory.

The readers: k3s manifests (with HelmChart ``valuesContent`` and local-path's
``helperPod.yaml`` inside them) through audit, a k3s ``config.yaml`` and a
``registries.yaml`` through audit (``--config``, ``--registries``), the same
files collected from a node (doctor's facts), an Ansible inventory, a
kubeconfig, deploy's merge into a board's ``registries.yaml``, and collect's
redaction.  Three families of input: depth (up to 3,000 levels, every
nesting style), type confusion (the fields these readers look at, holding
any type), and aliases (bombs, cycles, aliases where a list is expected).
The whole module runs in well under a minute.
"""

from __future__ import annotations

import argparse
import io
import time
import tracemalloc
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from archport.audit import run as audit_run
from archport.catalog import load as load_catalog
from archport.cli import args as argtypes
from archport.cli.cmd_audit import _yaml_file
from archport.deploy import registries as deploy_registries
from archport.errors import ArchportError, BadInput
from archport.k3s.manifests import parse_documents
from archport.node import boards, redact
from archport.node import facts as F

SECONDS = 5.0                       # any one reader, any one input
# Peak memory one reader allocates for one input (tracemalloc, so what the rest
# of the suite allocated before this module does not count).
MEGABYTES = 300
CATALOG = load_catalog()
WANT = deploy_registries.Mirror(endpoint="https://10.0.0.5:5000", host="10.0.0.5:5000", upstreams=("docker.io",))

# Every field name these readers look at: a generated document puts any value under any of them.
KEYS = ("apiVersion", "kind", "metadata", "name", "namespace", "spec", "template", "jobTemplate",
        "containers", "initContainers", "image", "env", "value", "command", "args", "workingDir", "items",
        "data", "helperPod.yaml", "chart", "repo", "version", "set", "valuesContent", "targetNamespace",
        "mirrors", "configs", "docker.io", "endpoint", "rewrite", "auth", "tls", "username", "password",
        "ca_file", "all", "hosts", "children", "vars", "ansible_host", "ansible_user", "ansible_port",
        "ansible_connection", "disable", "disable+", "pause-image", "system-default-registry",
        "disable-helm-controller", "clusters", "cluster", "server", "current-context", "<<")
KINDS = ("Pod", "Deployment", "DaemonSet", "StatefulSet", "Job", "CronJob", "ReplicaSet", "HelmChart",
         "HelmChartConfig", "ConfigMap", "List", "Secret", "Config", 5, None)

_scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
            | st.text(max_size=12) | st.sampled_from(KINDS) | st.sampled_from(("busybox", "a/b:1", "x:")))
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6) | st.integers(0, 3), inner, max_size=5),
    max_leaves=25,
)


def _dump(value) -> str:
    y = YAML(typ="safe", pure=True)
    y.default_flow_style = False
    buf = io.StringIO()
    y.dump(value, buf)
    return buf.getvalue()


# A document whose YAML-in-a-string fields hold YAML too.
_documents = st.recursive(
    _values,
    lambda inner: st.fixed_dictionaries(
        {"kind": st.sampled_from(KINDS)},
        optional={"spec": st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
                  | st.builds(lambda v: {"valuesContent": _dump(v)}, inner),
                  "data": st.builds(lambda v: {"helperPod.yaml": _dump(v)}, inner),
                  "items": st.lists(inner, max_size=3), "all": inner, "mirrors": inner, "configs": inner,
                  "clusters": inner}),
    max_leaves=20,
).map(_dump)


# Valid documents of each reader's kind; type confusion replaces one field of
# one of them (at any depth) with a value of any type.  A dict under
# valuesContent or helperPod.yaml is written as the YAML text k3s expects there.
_POD_SPEC = {"containers": [{"name": "c", "image": "busybox:1", "command": ["sh"], "args": ["-c", "x"],
                             "env": [{"name": "A", "value": "1"}], "workingDir": "/"}],
             "initContainers": [{"name": "i", "image": "busybox:1"}]}
TEMPLATES = (
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"}, "spec": _POD_SPEC},
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
     "spec": {"template": {"metadata": {"name": "t"}, "spec": _POD_SPEC}}},
    {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "j"},
     "spec": {"jobTemplate": {"spec": {"template": {"spec": _POD_SPEC}}}}},
    {"apiVersion": "v1", "kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "p"}, "spec": _POD_SPEC}]},
    {"apiVersion": "helm.cattle.io/v1", "kind": "HelmChart", "metadata": {"name": "traefik", "namespace": "kube-system"},
     "spec": {"chart": "traefik", "repo": "https://charts.example", "version": "1", "jobImage": "klipper-helm:1",
              "set": {"image.tag": "2"}, "valuesContent": {"image": {"repository": "rancher/x", "tag": "1"},
                                                           "global": {"systemDefaultRegistry": "r"}}}},
    {"apiVersion": "helm.cattle.io/v1", "kind": "HelmChartConfig", "metadata": {"name": "traefik"},
     "spec": {"valuesContent": {"image": {"repository": "rancher/y"}}}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "local-path-config", "namespace": "kube-system"},
     "data": {"helperPod.yaml": {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [
         {"name": "helper-pod", "image": "busybox:1"}]}}}},
    {"mirrors": {"docker.io": {"endpoint": ["https://10.0.0.5:5000"], "rewrite": {"^(.*)$": "p/$1"}}},
     "configs": {"10.0.0.5:5000": {"auth": {"username": "u", "password": "p"}, "tls": {"ca_file": "/ca.pem"}}}},
    {"disable": ["traefik"], "disable+": "servicelb", "pause-image": "rancher/mirrored-pause:3.6",
     "system-default-registry": "r.example", "disable-helm-controller": False},
    {"all": {"vars": {"ansible_user": "u"}, "hosts": {"b1": {"ansible_host": "127.0.0.1", "ansible_port": 22}},
             "children": {"g": {"hosts": {"b2": None}, "vars": {"ansible_ssh_private_key_file": "/k"}}}}},
    {"apiVersion": "v1", "kind": "Config", "current-context": "c",
     "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
     "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}], "users": [{"name": "u", "user": {}}]},
)
_TEXT_FIELDS = ("valuesContent", "helperPod.yaml")


def _paths(node, prefix=()):
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        yield from _paths(v, prefix + (k,))


def _as_text(node):
    if isinstance(node, dict):
        return {k: _dump(v) if k in _TEXT_FIELDS and isinstance(v, (dict, list)) else _as_text(v)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_as_text(v) for v in node]
    return node


@st.composite
def _mutated(draw) -> str:
    import copy
    doc = copy.deepcopy(draw(st.sampled_from(TEMPLATES)))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        path = draw(st.sampled_from(paths))
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        parent[path[-1]] = draw(_values)
    return _dump(_as_text(doc))


def _deep(depth: int, style: str) -> str:
    if style == "flow list":
        return "[" * depth + "]" * depth
    if style == "flow map":
        return "{a: " * depth + "1" + "}" * depth
    if style == "block map":  # indentation grows with depth: kept under 1,000 levels (500 kB)
        return "".join(" " * i + "a:\n" for i in range(min(depth, 1000)))
    return "- " * depth + "x\n"          # compact nested block sequences, one line


_deep_texts = st.builds(
    lambda depth, style, key: f"{key}:\n  " + _deep(depth, style).replace("\n", "\n  ") if key else
    _deep(depth, style),
    st.integers(90, 3000), st.sampled_from(("flow list", "flow map", "block map", "block list")),
    st.sampled_from(("", "spec", "mirrors", "all", "clusters", "containers")))


def _bomb(width: int, levels: int, key: str) -> str:
    lines = [f"l0: &l0 [{', '.join(['x'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    lines.append(f"{key}: *l{levels - 1}")
    return "\n".join(lines) + "\n"


_alias_texts = (
    st.builds(_bomb, st.integers(2, 12), st.integers(2, 12), st.sampled_from(KEYS))
    | st.sampled_from((
        "a: &a [*a]\n", "spec: &s {containers: [*s]}\n", "all: &g {children: {x: *g}}\n",
        "kind: Pod\nspec: &s\n  containers: &c [{image: busybox}]\n  initContainers: *c\n  template: {spec: *s}\n",
        "mirrors: &m {docker.io: {endpoint: [*m]}}\n", "base: &b {image: x}\nkind: Pod\nspec: {containers: [*b, *b]}\n",
        "a: &a {k: v}\nb: {<<: *a, <<: *a}\n", "containers: *nowhere\n",
    ))
)


def _bounded(fn, *a) -> None:
    """``fn(*a)`` answers or refuses with one line, in time."""
    t0 = time.monotonic()
    tracemalloc.start()
    try:
        fn(*a)
    except (ArchportError, argparse.ArgumentTypeError) as e:
        assert "\n" not in str(e).strip(), str(e)
    finally:
        peak = tracemalloc.get_traced_memory()[1] // (1024 * 1024)
        tracemalloc.stop()
    elapsed = time.monotonic() - t0
    assert elapsed < SECONDS, f"{getattr(fn, '__name__', fn)} took {elapsed:.1f}s"
    assert peak < MEGABYTES, f"{getattr(fn, '__name__', fn)} allocated {peak} MB at its peak"


def _audit_manifests(text: str) -> None:
    docs = parse_documents([("m.yaml", text)])
    audit_run.files(audit_run.Given(CATALOG, documents=docs))


def _audit_file(tmp: Path, flag: str, text: str) -> None:
    f = tmp / "given.yaml"
    f.write_text(text)
    doc = _yaml_file(str(f), flag)
    audit_run.files(audit_run.Given(CATALOG, documents=(), **{flag.lstrip("-"): doc}))


def _facts(text: str) -> None:
    raw = {n: F.Raw(text, 0) for n in ("config", "registries")}
    raw["config_d"] = F.Raw(f"{F.FILE_MARK} 10.yaml\n{text}", 0)
    raw["manifests"] = F.Raw(f"{F.FILE_MARK} m.yaml\n{text}", 0)
    F.parse(raw, source="fuzz")


def _kubeconfig(tmp: Path, text: str) -> None:
    f = tmp / "kubeconfig"
    f.write_text(text)
    argtypes.kubeconfig(str(f))


def _merge(text: str) -> None:
    deploy_registries.merge(text.encode(), WANT)


def _redact(text: str) -> None:
    out = redact.yaml_text(text)
    assert isinstance(out, str)


def _every_reader(tmp: Path, text: str) -> None:
    _bounded(_audit_manifests, text)
    _bounded(_audit_file, tmp, "--config", text)
    _bounded(_audit_file, tmp, "--registries", text)
    _bounded(_facts, text)
    _bounded(boards.parse_yaml, text, "inventory.yaml")
    _bounded(_kubeconfig, tmp, text)
    _bounded(_merge, text)
    _bounded(_redact, text)


FUZZ = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


@FUZZ
@given(text=_deep_texts)
def test_depth(tmp_path, text):
    _every_reader(tmp_path, text)


@FUZZ
@given(text=_documents)
def test_type_confusion(tmp_path, text):
    _every_reader(tmp_path, text)


@settings(FUZZ, max_examples=60)
@given(text=_mutated())
def test_type_confusion_in_valid_documents(tmp_path, text):
    _every_reader(tmp_path, text)


@FUZZ
@given(text=_alias_texts)
def test_aliases(tmp_path, text):
    _every_reader(tmp_path, text)


def test_the_bomb_of_the_report_is_refused_fast():
    """A 357-byte alias bomb (9 levels of 9) took 23 s in deploy's merge."""
    bomb = _bomb(9, 9, "mirrors")
    t0 = time.monotonic()
    for fn in (_merge, _audit_manifests, lambda t: boards.parse_yaml(t, "i.yaml")):
        try:
            fn(bomb)
            raise AssertionError("an alias bomb was read")
        except BadInput as e:
            assert "alias" in str(e)
    assert time.monotonic() - t0 < 2


# -- the bounded reader itself ----------------------------------------------------

def test_the_reader_refuses_depth_aliases_and_cycles_in_one_line():
    from archport import yamlsafe
    cases = {
        "a: " + "[" * 5000 + "]" * 5000: "100 levels",
        "".join(" " * i + "a:\n" for i in range(3000)): "100 levels",
        "{a: " * 3000 + "1" + "}" * 3000: "100 levels",
        _bomb(9, 9, "k"): "aliases expand",
        "a: &a [*a]\n": "contains it",
    }
    for text, words in cases.items():
        t0 = time.monotonic()
        try:
            yamlsafe.load(text, "f.yaml")
            raise AssertionError(f"read: {text[:40]!r}")
        except BadInput as e:
            assert str(e).startswith("f.yaml: ") and words in str(e) and "\n" not in str(e)
        assert time.monotonic() - t0 < 2, text[:40]
    # within the bounds: read as the plain loader reads it, aliases shared
    doc = yamlsafe.load("a: &x {b: [1, 2]}\nc: *x\n" + "d: " + "[" * 99 + "]" * 99 + "\n", "f.yaml")
    depth, d = 0, doc["d"]
    while isinstance(d, list) and d:
        depth, d = depth + 1, d[0]
    assert doc["c"] == {"b": [1, 2]} and depth == 98 and d == []
    assert yamlsafe.load_all("a: 1\n---\nb: 2\n", "f.yaml") == [{"a": 1}, {"b": 2}]
    # "[" in a string, a comment or a block scalar is text, not depth
    text = "# " + "[" * 200 + "\na: '" + "[" * 200 + "'\nb: |\n  " + "[" * 200 + "\n"
    assert yamlsafe.load(text, "f.yaml")["a"] == "[" * 200


def test_a_syntax_error_is_the_loaders_own():
    from ruamel.yaml.error import YAMLError

    from archport import yamlsafe
    try:
        yamlsafe.load("a: [1, 2\n", "f.yaml")
        raise AssertionError("read")
    except YAMLError:
        pass
