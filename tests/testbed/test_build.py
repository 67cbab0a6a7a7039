"""The component builds' source changes, on small inputs."""
from testbed import build, paths

GOMOD = """module k8s.io/kubernetes

require (
	k8s.io/api v0.0.0
	k8s.io/apimachinery v0.0.0
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/apimachinery => ./staging/src/k8s.io/apimachinery
)
"""

DEFAULTS_UNIX = """package platforms

import (
	"runtime"

	specs "github.com/opencontainers/image-spec/specs-go/v1"
)

// DefaultSpec returns the current platform's default platform specification.
func DefaultSpec() specs.Platform {
	return specs.Platform{
		OS:           runtime.GOOS,
		Architecture: runtime.GOARCH,
		// The Variant field will be empty if arch != ARM.
		Variant: cpuVariant(),
	}
}

// Default returns the default matcher for the platform.
func Default() MatchComparer {
	return Only(DefaultSpec())
}
"""


def test_unstage_points_replaces_at_published_modules(tmp_path):
    (tmp_path / "go.mod").write_text(GOMOD)
    (tmp_path / "go.work").write_text("go 1.24\n")
    (tmp_path / "vendor").mkdir()
    assert build.unstage_kubernetes(tmp_path, "v0.34.4") == 2
    text = (tmp_path / "go.mod").read_text()
    assert "k8s.io/api => k8s.io/api v0.34.4" in text
    assert "k8s.io/apimachinery => k8s.io/apimachinery v0.34.4" in text
    assert "./staging" not in text
    assert not (tmp_path / "go.work").exists() and not (tmp_path / "vendor").exists()


def test_platform_patch_is_the_one_named_change(tmp_path):
    (tmp_path / "defaults_unix.go").write_text(DEFAULTS_UNIX)
    build.patch_platforms_default(tmp_path)
    text = (tmp_path / "defaults_unix.go").read_text()
    assert 'Architecture: "riscv64"' in text
    assert build.PLATFORM_PATCH_NOTE in text
    assert "func Default() MatchComparer" in text      # the rest is untouched


def test_cache_keyed_by_name_and_version():
    comps = build.by_name()
    assert comps["kubelet"].dir == paths.CACHE / f"kubelet-{paths.KUBERNETES}-riscv64"
    assert comps["containerd"].dir.name.startswith(f"containerd-{paths.CONTAINERD}")
