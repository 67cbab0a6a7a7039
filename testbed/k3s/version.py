"""What the stand-in says it is: k3s v1.24.2's version, and that it is not k3s."""

VERSION = "v1.24.2+k3s1"
# k3s prints "k3s version <version> (<commit[:8]>)" then "go version <go>"
# (pkg/cli/cmds/root.go, NewApp: app.Version + cli.VersionPrinter).  The go
# version is the release's toolchain (Go 1.18.1); the commit is zeros on
# purpose: this binary was not built from any k3s commit.
COMMIT = "00000000"
GO_VERSION = "go1.18.1"
STANDIN_NOTE = "archport test-bed stand-in for k3s (not k3s): real kubelet/containerd, k3s's file handling re-done"


def version_text() -> str:
    return f"k3s version {VERSION} ({COMMIT})\ngo version {GO_VERSION}\n{STANDIN_NOTE}\n"
