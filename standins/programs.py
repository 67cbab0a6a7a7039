"""Tiny Go programs that stand in for an upstream image's binary and say so
when run: they are not upstream's programs.

archport builds pause from source and busybox from a Debian package, never
from the upstream binary, so their stand-ins only need upstream's shape
(paths, config, amd64 + arm64 entries to append to): ``pause`` waits for a
signal as pause does, ``busybox`` prints what it is.  The test bed's
``generic`` program stands in for every other image it serves and names the
image it is in (``STANDIN_IMAGE``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .gomodules import go

_PAUSE = """package main

// Stand-in for the upstream pause binary (archport acceptance): waits for
// SIGINT/SIGTERM like pause does; "-v" prints what it is.
import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "-v" {
		fmt.Println("archport stand-in pause (not upstream)")
		return
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
	<-c
}
"""

_BUSYBOX = """package main

// Stand-in for the upstream busybox binary (archport acceptance): not a shell.
import "fmt"

func main() { fmt.Println("archport stand-in busybox (not upstream)") }
"""

_GENERIC = """package main

// archport test bed: stand-in for an upstream image's binary (not upstream).
import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Printf("archport test-bed stand-in for %s (not upstream), %s/%s\\n", os.Getenv("STANDIN_IMAGE"),
		runtime.GOOS, runtime.GOARCH)
}
"""


PROGRAMS = {"pause": _PAUSE, "busybox": _BUSYBOX, "generic": _GENERIC}


def build(name: str, goarch: str, work: Path, env: dict, *, module: str = "") -> Path:
    """``work/NAME-GOARCH``: program ``name`` built for linux/``goarch``, offline
    (GOPROXY=off), trimmed and stripped.  ``module`` is its go.mod's module path
    (default ``archport.test/standin/NAME``); it is in the binary's build info."""
    src = work / f"tiny-{name}"
    src.mkdir(parents=True, exist_ok=True)
    (src / "go.mod").write_text(f"module {module or 'archport.test/standin/' + name}\n\ngo 1.20\n")
    (src / "main.go").write_text(PROGRAMS[name])
    out = work / f"{name}-{goarch}"
    e = {**env, "GOFLAGS": "-mod=mod", "GOOS": "linux", "GOARCH": goarch, "CGO_ENABLED": "0", "GOPROXY": "off",
         "GOTOOLCHAIN": "local"}
    cp = subprocess.run([go(), "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", str(out), "."],
                        cwd=src, env=e, capture_output=True, text=True, timeout=600)
    if cp.returncode != 0:
        raise RuntimeError(f"stand-in {name} for {goarch} failed:\n{cp.stderr}")
    return out
