"""audit asks each registry host once before it asks it for every image: a
mirror on a closed port, or one that accepts and never answers, costs one
failure, not one per image (33 images once took 240 s)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from archport.errors import ArchportError
from archport.k3s.registries import Endpoint
from archport.reference import parse
from archport.registry import Client, HostOptions, Transfer
from tests.registry.test_dead_or_frozen import Frozen, closed_port
from tests.support.cli import archport

from archport.audit.lookup import registry_lookup

IMAGES = [f"rancher/image-{i}:v{i}" for i in range(33)]


def _endpoints(host: str) -> list[Endpoint]:
    return [Endpoint(f"http://{host}", host, True, parse(f"{host}/{name}"), mirror="docker.io") for name in IMAGES]


def _ask_all(lookup, endpoints) -> list[str]:
    def one(ep):
        try:
            lookup(ep)
        except ArchportError as e:
            return str(e)
        return ""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, endpoints))


def test_a_mirror_on_a_closed_port_fails_once_for_all_33_images():
    host = f"127.0.0.1:{closed_port()}"
    with Client(HostOptions()) as c:
        started = time.monotonic()
        errors = _ask_all(registry_lookup(c), _endpoints(host))
        took = time.monotonic() - started
    assert took < 5, f"{took:.1f} s for 33 images"
    assert len(set(errors)) == 1 and "connection refused" in errors[0] and host in errors[0]


def test_a_frozen_mirror_costs_one_stall_deadline_not_one_per_image():
    f = Frozen("silent")
    try:
        with Client(HostOptions(plain_http=frozenset({f.host})), transfer=Transfer(stall_timeout=1)) as c:
            started = time.monotonic()
            errors = _ask_all(registry_lookup(c), _endpoints(f.host))
            took = time.monotonic() - started
    finally:
        f.close()
    assert took < 5, f"{took:.1f} s for 33 images"
    assert len(set(errors)) == 1 and "no progress for 1 s" in errors[0]
    assert len(f.conns) == 1          # the others never connected


def test_a_host_that_answers_is_asked_for_every_image(audit_registries):
    up, _ = audit_registries
    from tests.audit.conftest import UPSTREAM_IMAGES
    eps = [Endpoint(up.url, up.host, True, parse(f"{up.host}/{n}")) for n in UPSTREAM_IMAGES[:4]]
    eps.append(Endpoint(up.url, up.host, True, parse(f"{up.host}/no/such:1")))
    with Client(HostOptions()) as c:
        lookup = registry_lookup(c)
        assert all(lookup(ep) for ep in eps[:4])
        with pytest.raises(ArchportError):
            lookup(eps[4])
        assert lookup(eps[0])            # a 404 is an answer: the host is still asked


def test_audit_with_a_mirror_on_a_closed_port_reports_it_in_seconds(audit_registries, tmp_path):
    """The command as a user runs it: registries.yaml names a mirror nobody
    listens on; every image falls back to the default endpoint, and the
    dead mirror costs one refused connection, not one per image."""
    up, _ = audit_registries
    dead = f"127.0.0.1:{closed_port()}"
    regs = tmp_path / "registries.yaml"
    regs.write_text(f'mirrors:\n  docker.io:\n    endpoint:\n      - "http://{dead}"\n')
    started = time.monotonic()
    p = archport("audit", "--json", "--k3s", "v1.24.2+k3s1", "--registries", str(regs),
                 "--mirror", f"docker.io={up.host}", "--mirror-only", expect=1)
    took = time.monotonic() - started
    doc = json.loads(p.stdout)
    errors = {row["attempts"][0]["error"] for row in doc["images"]}
    assert len(errors) == 1 and "connection refused" in errors.pop()
    assert all(row["pull_from"]["default"] and row["platforms"] for row in doc["images"])
    assert took < 20, f"{took:.1f} s"
