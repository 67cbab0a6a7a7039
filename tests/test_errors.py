"""The error tree: every class archport raises is in it and drawn in errors.py,
and every message leaves redacted."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import archport
from archport import errors
from archport.errors import ArchportError, BadInput, RegistryError, TransportError

SRC = Path(archport.__file__).parent
_BUILTIN_BASES = {"Exception", "BaseException", "ValueError", "RuntimeError", "OSError", "KeyError",
                  "LookupError", "TypeError"}


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def test_no_class_derives_from_a_builtin_exception():
    """One that escaped would be reported as "internal error", exit 1."""
    offenders = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name != "ArchportError":
                bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
                if bases & _BUILTIN_BASES:
                    offenders.append(f"{path.relative_to(SRC)}: {node.name}({', '.join(sorted(bases))})")
    assert offenders == []


def test_the_docstring_draws_every_error_class():
    for mod in pkgutil.walk_packages([str(SRC)], "archport."):
        importlib.import_module(mod.name)
    names = {c.__name__ for c in _all_subclasses(ArchportError) if c.__module__.startswith("archport.")}
    assert {"NotPortable", "PathError", "BadReference", "Unauthorized"} <= names
    missing = sorted(n for n in names if f" {n} " not in errors.__doc__)
    assert missing == []


def test_not_portable_and_path_error_are_in_the_tree():
    from archport.imagefs import PathError
    from archport.strategies import NotPortable
    assert issubclass(NotPortable, ArchportError) and not issubclass(NotPortable, BadInput)
    assert issubclass(PathError, ArchportError) and not issubclass(PathError, BadInput)


def test_messages_from_outside_are_redacted_on_the_way_out():
    e = RegistryError(400, ("UNSUPPORTED",), "http://127.0.0.1:5000/v2/x/manifests/y",
                      "you sent Authorization: Basic YWxpY2U6czNjcjN0LXB3")
    assert "YWxpY2U6czNjcjN0LXB3" not in str(e) and "YWxpY2U6czNjcjN0LXB3" not in e.detail
    assert "HTTP 400 UNSUPPORTED" in str(e)
    t = TransportError("GET https://bob:hunter2@reg.example/v2/: refused; bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
    assert "hunter2" not in str(t) and "eyJhbGci" not in str(t)
    assert "bob" in str(t) and "reg.example" in str(t)


def test_network_failures_share_one_fetch_error_branch():
    from archport.errors import FetchError, HostUnreachable
    from archport.fetch.alpine import AlpineError
    from archport.fetch.debian import DebianError
    from archport.fetch.goproxy import ModuleUnavailable
    from archport.fetch.http import DownloadError
    for cls in (TransportError, HostUnreachable, DownloadError, DebianError, AlpineError, ModuleUnavailable):
        assert issubclass(cls, FetchError), cls
    assert issubclass(FetchError, ArchportError) and not issubclass(FetchError, BadInput)
    assert not issubclass(RegistryError, FetchError)    # an answer from the registry, not a failure to get one


def test_an_unreachable_board_or_cluster_is_a_failed_operation_not_bad_input():
    """README: exit 1 when the operation failed, 2 only for bad input."""
    from archport.remote import Unreachable
    assert issubclass(Unreachable, ArchportError) and not issubclass(Unreachable, BadInput)
