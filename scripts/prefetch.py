"""Download, then build, beside a cold test run, what its one-time builds need.

    python scripts/prefetch.py        # scripts/test.sh starts it in the background

On a fresh machine the default run spends most of its time in one-time Go
builds (the bed's components, UPSTREAM's real modules, helm-controller, the
clients), each started only when a test first needs it, while the tests
before that point leave a core idle.  This does them up front, in one
background process: first the downloads (the module proxy, the old Go
toolchains some builds ask for), then the builds at the lowest priority
(nice 19), so the tests keep the CPU they want and the builds take the rest.

Each build goes through the same lock and rename as the test-time path (the
bed's build lock, a lock per client, per module build, on helm-controller's
cache): a test that arrives meanwhile waits for that build and reuses it,
and never sees half a cache.  The clients come first (tests in the middle of
the run use them), then the bed's pieces in the order the bed's start needs
them (tests/conftest.py runs the tests that need the bed last).  What is
cached already is skipped, so on a warm machine it ends in about a second.
Best effort: a failure is logged and left to the test-time build, which
reports it in its own words.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src")]

from standins import gomodules  # noqa: E402
from testbed import build, upstream  # noqa: E402
from testbed.k3s import helm  # noqa: E402


def _log(msg: str) -> None:
    print(f"[prefetch {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def toolchains() -> list[str]:
    """The Go releases some builds pin with GOTOOLCHAIN (the go command downloads each once)."""
    from tests.support import gobuild, port
    wanted = {r.toolchain for r in gomodules.GO_RECIPES.values()} | {helm.TOOLCHAIN, gobuild.OLD_GO, port.OLD_GO}
    env = gomodules.go_env(dict(os.environ))
    modcache = subprocess.run([gomodules.go(), "env", "GOMODCACHE"], capture_output=True, text=True, env=env,
                              check=True).stdout.strip()
    fetched = []
    for tc in sorted(t for t in wanted if t.startswith("go1")):
        if next(Path(modcache, "golang.org").glob(f"toolchain@v0.0.1-{tc}.linux-*"), None):
            continue
        subprocess.run([gomodules.go(), "version"], capture_output=True, timeout=1800,
                       env={**env, "GOTOOLCHAIN": tc, "GOFLAGS": "-mod=readonly"})
        fetched.append(tc)
    return fetched


def upstream_modules() -> list[str]:
    work = upstream.standins_work()
    work.mkdir(parents=True, exist_ok=True)
    storage = upstream.upstream(build.paths.layout()).storage
    return upstream.fetch_modules(upstream.image_set(upstream.images_txt()), work, storage)


def clients() -> list[str]:
    from tests.support import clients as c
    return c.fetch()


def build_clients() -> list[str]:
    from tests.support import clients as c
    return c.build_all()


def build_bed() -> list[str]:
    # ensure() takes the bed's build lock per component: the bed fixture,
    # arriving meanwhile, waits for it and finds the component built.
    return [name for name, seconds in build.ensure_all().items() if seconds]


def build_upstream_modules() -> list[str]:
    work = upstream.standins_work()
    work.mkdir(parents=True, exist_ok=True)
    storage = upstream.upstream(build.paths.layout()).storage
    return upstream.build_modules(upstream.image_set(upstream.images_txt()), work, storage)


def build_helm_controller() -> list[str]:
    from testbed.k3s import bed
    if bed.helm_cache().joinpath("helm-controller").is_file():
        return []
    why = bed.build_helm_controller()       # keeps the reason beside the cache, as the bed does
    if why:
        raise RuntimeError(why)
    return [f"{helm.MODULE}@{helm.VERSION}"]


FETCH = (("the bed's components", lambda: sorted(build.fetch_all())), ("Go toolchains", toolchains),
         ("UPSTREAM's real modules", upstream_modules), ("the clients", clients))
# In the order the run first needs them.
BUILD = (("the clients", build_clients), ("the bed's components", build_bed),
         ("helm-controller", build_helm_controller), ("UPSTREAM's real modules", build_upstream_modules))


def _steps(steps, verb: str) -> None:
    for name, step in steps:
        t = time.monotonic()
        try:
            what = step()
        except Exception as e:          # best effort: the build that needs it reports it
            _log(f"{name}: {verb} failed ({type(e).__name__}: {str(e)[:300]})")
            continue
        _log(f"{name}: {verb} {', '.join(what) if what else 'nothing'} ({time.monotonic() - t:.0f} s)")


def main() -> int:
    # scripts/test.sh ends us with SIGTERM when pytest ends first: leave by an
    # exception, so that each build removes its temporary directory.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t0 = time.monotonic()
    try:
        _steps(FETCH, "fetched")
        os.nice(max(0, 19 - os.nice(0)))     # the builds take only what the tests leave
        _steps(BUILD, "built")
    except SystemExit:
        _log(f"stopped after {time.monotonic() - t0:.0f} s: the test run ended first")
        raise
    _log(f"done in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
