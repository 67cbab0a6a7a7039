"""What the container will exec, and how runc finds it.

The argv is containerd CRI's ``WithProcessArgs`` (``internal/cri/opts/
spec_opts.go``, migrated from moby's ``daemon/commit.go``): when the pod gives
no ``command``, the image's Entrypoint runs with the pod's ``args`` or else
the image's Cmd; when it gives a ``command``, the image's Entrypoint *and Cmd*
are ignored.  Nothing at all is "no command specified" (CreateContainerError).

``argv[0]`` is then found by Go's ``exec.LookPath`` inside runc init, after
``chdir`` to the working directory and with the container's environment:
a name with a ``/`` is used as is (relative to the working directory), any
other name is searched in ``$PATH``.  An image without ``PATH`` gets
containerd's default (``oci.WithDefaultPathEnv``, ``defaultUnixEnv``).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from ..oci.config import ImageConfig
from ..platform import Platform
from . import findings as F
from ..imagefs import FILE, RootFS, look_path as find_in_path
from ..imagefs.tree import executable
from .binary import Checker, Step
from .findings import ERROR, Finding

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True, slots=True)
class Contract:
    """Where the argv comes from: the image alone, or a pod's container."""

    source: str = "image config"
    command: tuple[str, ...] | None = None
    args: tuple[str, ...] | None = None
    working_dir: str = ""
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Outcome:
    contract: Contract
    argv: tuple[str, ...]
    path_env: str
    working_dir: str
    steps: tuple[Step, ...]
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not any(f.is_error for f in self.findings)

    def to_dict(self) -> dict:
        return {
            "source": self.contract.source,
            "argv": list(self.argv),
            "path": self.path_env,
            "working_dir": self.working_dir,
            "ok": self.ok,
            "resolution": [s.to_dict() for s in self.steps],
            "findings": [f.to_dict() for f in self.findings],
        }


def argv_for(config: ImageConfig, contract: Contract) -> tuple[str, ...]:
    command = list(contract.command) if contract.command is not None else None
    args = list(contract.args or ())
    if not command:
        if not args:
            args = list(config.cmd or ())
        if command is None:
            entry = list(config.entrypoint or ())
            # Entrypoint [""] is docker's way to say "no entrypoint".
            command = [] if entry == [""] else entry
    return tuple((command or []) + args)


def env_of(config: ImageConfig, contract: Contract) -> dict[str, str]:
    env: dict[str, str] = {}
    for e in config.env:
        k, _, v = e.partition("=")
        env[k] = v
    env.update(contract.env)
    return env


def check_contract(fs: RootFS, config: ImageConfig, contract: Contract, platform: Platform) -> Outcome:
    argv = argv_for(config, contract)
    env = env_of(config, contract)
    path_env = env["PATH"] if "PATH" in env else DEFAULT_PATH
    cwd = contract.working_dir or config.working_dir or "/"
    if not cwd.startswith("/"):
        cwd = "/" + cwd
    checker = Checker(fs, platform, cwd, path_env, env)
    if not argv:
        checker.add(Finding(ERROR, "no-command", "neither the pod nor the image says what to run (no command/args, no Entrypoint/Cmd)",
                            runtime_error="no command specified", effect=F.CREATE_CONFIG_FAILURE))
    elif not argv[0]:
        checker.add(Finding(ERROR, "not-in-path", "argv[0] is empty", runtime_error=F.lookup_error("", F.NOT_IN_PATH), effect=F.CREATE_FAILURE))
    else:
        found = look_path(checker, argv[0])
        if found is not None:
            checker.exec(found, top=found)
    return Outcome(contract, argv, path_env, cwd, tuple(checker.steps), tuple(checker.findings))


def _find_executable(fs: RootFS, path: str, cwd: str) -> str | None:
    """Go ``findExecutable``: None when fine, else the error text."""
    err = executable(fs, path, cwd)
    if not err:
        return None
    if err in ("EISDIR", "EACCES"):
        return F.ERRNO_TEXT[err]
    return f"stat {path}: {F.ERRNO_TEXT[err]}"


def look_path(checker: Checker, name: str) -> str | None:
    """``exec.LookPath`` in the image; a finding and None when it fails."""
    fs, cwd = checker.fs, checker.cwd
    found = find_in_path(fs, name, checker.path_env, cwd)
    if "/" in name:
        if found.path is not None:
            return name
        err = _find_executable(fs, name, cwd) or ""
        node = fs.lookup(name, cwd)
        why = {F.EISDIR: "is a directory", F.EACCES: "has no execute permission"}.get(err, "does not exist in the image")
        if node is not None and node.kind not in ("dir", FILE):
            why = f"is a {node.kind}, not a regular file"
        checker.add(Finding(ERROR, "not-executable" if node is not None else "not-found",
                            f"{name} {why}", posixpath.join(cwd, name),
                            runtime_error=F.lookup_error(name, err), effect=F.CREATE_FAILURE))
        return None
    dirs = checker.path_env.split(":")
    if found.path is not None:
        if found.relative:
            checker.add(Finding(ERROR, "relative-path-entry",
                                f"{name} is found only through the relative PATH entry {found.entry or '.'!r}; Go's exec refuses that",
                                found.path, runtime_error=F.lookup_error(name, "cannot run executable found relative to current directory"),
                                effect=F.CREATE_FAILURE))
            return None
        checker.steps.append(Step(found.path, f"found through PATH entry {found.entry}", "path-lookup",
                                  (("entry", found.entry),)))
        return found.path
    elsewhere = [p for p in fs.find_named(name) if p.rsplit("/", 1)[0] not in dirs]
    hint = f"; the image has {', '.join(elsewhere)}, which is not on PATH" if elsewhere else ""
    checker.add(Finding(ERROR, "not-in-path",
                        f"{name!r} is not an executable file in any PATH directory (PATH={checker.path_env}){hint}",
                        elsewhere[0] if elsewhere else "", runtime_error=F.lookup_error(name, F.NOT_IN_PATH),
                        effect=F.CREATE_FAILURE))
    return None
