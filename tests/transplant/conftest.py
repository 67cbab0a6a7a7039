"""The Go fixtures of the port tests (the fixture module proxy, the go
environment the CLI gets, the hello catalog with its fixup), shared here:
the transplanted images' unowned binaries are built from the same module."""

from tests.port.conftest import go_env, hello_catalog, proxy_dir  # noqa: F401 (pytest fixtures)

__all__ = ["go_env", "hello_catalog", "proxy_dir"]
