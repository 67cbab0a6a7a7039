"""check against real binaries (Go for riscv64/amd64, host gcc) in OCI layouts."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from archport.check import Contract, check_image
from archport.errors import BadInput
from archport.platform import AMD64, RISCV64

from .images import entry, files, layout, raw_layer


def codes(report) -> list[str]:
    return [f.code for f in report.all_findings() if f.is_error]


def only(report):
    (o,) = report.outcomes
    return o


def test_bare_name_outside_path_fails_naming_path(tmp_path, hello):
    src = layout(tmp_path, [files({"hello": (hello["riscv64"], 0o755)})], {"Cmd": ["hello"]})
    report = check_image(src, RISCV64)
    assert not report.ok
    (f,) = only(report).findings
    assert f.code == "not-in-path"
    assert f.runtime_error == 'exec: "hello": executable file not found in $PATH'
    assert "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in f.message
    assert "/hello" in f.message and "StartError, exit code 128" in f.effect


def test_same_binary_in_usr_bin_passes(tmp_path, hello):
    src = layout(tmp_path, [files({"usr/bin/hello": (hello["riscv64"], 0o755)})], {"Cmd": ["hello"]})
    report = check_image(src, RISCV64)
    assert report.ok, report.all_findings()
    steps = only(report).steps
    assert steps[-1].path == "/usr/bin/hello" and "riscv64, statically linked" in steps[-1].note


def test_amd64_binary_in_riscv64_image_is_exec_format_error(tmp_path, hello):
    src = layout(tmp_path, [files({"coredns": (hello["amd64"], 0o755)})], {"Entrypoint": ["/coredns"]})
    report = check_image(src, RISCV64)
    (f,) = only(report).findings
    assert f.code == "wrong-arch"
    assert f.runtime_error == "exec /coredns: exec format error"
    assert "amd64" in f.message and "linux/riscv64" in f.message


def test_image_without_path_uses_containerd_default(tmp_path, hello):
    src = layout(tmp_path, [files({"bin/hello": (hello["riscv64"], 0o755)})], {"Cmd": ["hello"], "Env": []})
    o = only(check_image(src, RISCV64))
    assert o.ok and o.path_env == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def test_whiteout_hides_file(tmp_path, hello):
    lower = files({"usr/bin/hello": (hello["riscv64"], 0o755), "usr/bin/keep": b"k"})
    upper = raw_layer([entry("usr/bin/.wh.hello", mode=0o600)])
    report = check_image(layout(tmp_path, [lower, upper], {"Cmd": ["hello"]}), RISCV64)
    assert codes(report) == ["not-in-path"]


def test_opaque_dir_hides_lower_children_but_keeps_its_own(tmp_path, hello):
    lower = files({"usr/bin/hello": (hello["riscv64"], 0o755)})
    upper = raw_layer([entry("usr/bin", tarfile.DIRTYPE, 0o755), entry("usr/bin/.wh..wh..opq"),
                       (entry("usr/bin/other", mode=0o755), hello["riscv64"])])
    src = layout(tmp_path, [lower, upper], {"Cmd": ["hello"]})
    assert codes(check_image(src, RISCV64)) == ["not-in-path"]
    src2 = layout(tmp_path, [lower, upper], {"Cmd": ["other"]}, name="img2")
    assert check_image(src2, RISCV64).ok


def test_symlink_chain_resolves(tmp_path, hello):
    layer = files({
        "opt/app/v1/hello": (hello["riscv64"], 0o755),
        "opt/app/current": "->v1",
        "usr/bin/hello": "->/opt/app/current/hello",
        "usr/local/bin/hi": "->../../bin/hello",
    })
    o = only(check_image(layout(tmp_path, [layer], {"Entrypoint": ["hi"]}), RISCV64))
    assert o.ok, o.findings
    notes = [(s.path, s.note) for s in o.steps]
    assert ("/usr/local/bin/hi", "symlink -> ../../bin/hello") in notes
    assert ("/usr/bin/hello", "symlink -> /opt/app/current/hello") in notes
    assert o.steps[-1].path == "/opt/app/v1/hello"


def test_symlink_loop_is_eloop(tmp_path):
    layer = files({"bin/a": "->/bin/b", "bin/b": "->/bin/a"})
    o = only(check_image(layout(tmp_path, [layer], {"Entrypoint": ["/bin/a"]}), RISCV64))
    (f,) = o.findings
    assert f.runtime_error == 'exec: "/bin/a": stat /bin/a: too many levels of symbolic links'


def test_layer_writes_through_parent_symlink(tmp_path, hello):
    lower = files({"usr/lib/.keep": b"", "lib": "->usr/lib"})
    # No "lib" directory entry: the parent is resolved through the symlink.
    upper = raw_layer([(entry("lib/app/hello", mode=0o755), hello["riscv64"])])
    o = only(check_image(layout(tmp_path, [lower, upper], {"Entrypoint": ["/usr/lib/app/hello"]}), RISCV64))
    assert o.ok, o.findings
    # A directory entry replaces the symlink, as containerd's applier does.
    upper2 = files({"lib/app/hello": (hello["riscv64"], 0o755)})
    o2 = only(check_image(layout(tmp_path, [lower, upper2], {"Entrypoint": ["/lib/app/hello"]}, name="i2"), RISCV64))
    assert o2.ok and not any(s.path == "/lib" for s in o2.steps)


def test_script_with_missing_interpreter(tmp_path):
    layer = files({"entrypoint.sh": (b"#!/bin/bash\necho hi\n", 0o755)})
    o = only(check_image(layout(tmp_path, [layer], {"Entrypoint": ["/entrypoint.sh"]}), RISCV64))
    (f,) = o.findings
    assert f.code == "missing-interpreter" and f.path == "/bin/bash"
    assert f.runtime_error == "exec /entrypoint.sh: no such file or directory"


def test_script_with_dos_line_endings_is_explained(tmp_path, hello):
    layer = files({"entrypoint.sh": (b"#!/bin/sh\r\necho hi\r\n", 0o755), "bin/sh": (hello["riscv64"], 0o755)})
    (f,) = only(check_image(layout(tmp_path, [layer], {"Entrypoint": ["/entrypoint.sh"]}), RISCV64)).findings
    assert "DOS line endings" in f.message


def test_script_through_busybox_symlink_and_env(tmp_path, hello):
    layer = files({
        "bin/busybox": (hello["riscv64"], 0o755), "bin/sh": "->busybox", "usr/bin/env": "->/bin/busybox",
        "entry": (b"#!/bin/sh -e\nexec foo\n", 0o755), "env-entry": (b"#!/usr/bin/env sh\n", 0o755),
        "env-missing": (b"#!/usr/bin/env python3\n", 0o755),
    })
    src = layout(tmp_path, [layer], {"Entrypoint": ["/entry"]})
    assert check_image(src, RISCV64).ok
    report = check_image(src, RISCV64, [Contract("a", ("/env-entry",)), Contract("b", ("/env-missing",))])
    ok, missing = report.outcomes
    assert ok.ok
    (f,) = missing.findings
    assert f.runtime_error == "/usr/bin/env: 'python3': No such file or directory"


def test_script_of_wrong_arch_interpreter(tmp_path, hello):
    layer = files({"bin/sh": (hello["amd64"], 0o755), "run": (b"#!/bin/sh\n", 0o755)})
    (f,) = only(check_image(layout(tmp_path, [layer], {"Entrypoint": ["/run"]}), RISCV64)).findings
    assert f.code == "wrong-arch" and f.runtime_error == "exec /run: exec format error"


def test_neither_elf_nor_script(tmp_path):
    layer = files({"run": (b"echo hi\n", 0o755), "noexec": (b"#!/bin/sh\n", 0o644), "d/.keep": b""})
    report = check_image(layout(tmp_path, [layer], {"Entrypoint": ["/run"]}), RISCV64,
                         [Contract(), Contract("n", ("/noexec",)), Contract("d", ("/d",)), Contract("m", ("./missing",))])
    fmt, noexec, isdir, missing = (o.findings[0] for o in report.outcomes)
    assert fmt.runtime_error == "exec /run: exec format error"
    assert noexec.runtime_error == 'exec: "/noexec": permission denied'
    assert isdir.runtime_error == 'exec: "/d": is a directory'
    assert missing.runtime_error == 'exec: "./missing": stat ./missing: no such file or directory'


def test_dynamic_elf_missing_interpreter(tmp_path, dynamic_amd64):
    src = layout(tmp_path, [files({"usr/bin/hello": (dynamic_amd64, 0o755)})], {"Cmd": ["hello"]}, platform="linux/amd64")
    (f,) = only(check_image(src, AMD64)).findings
    assert f.code == "missing-interpreter" and f.path == "/lib64/ld-linux-x86-64.so.2"
    assert f.runtime_error == "exec /usr/bin/hello: no such file or directory"


def _host_lib(name: str) -> bytes:
    for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64"):
        p = Path(d) / name
        if p.exists():
            return p.resolve().read_bytes()
    pytest.fail(f"host has no {name}")


def test_dynamic_elf_with_loader_and_libc_passes(tmp_path, dynamic_amd64):
    ld, libc = _host_lib("ld-linux-x86-64.so.2"), _host_lib("libc.so.6")
    base = {"usr/bin/hello": (dynamic_amd64, 0o755), "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": (ld, 0o755),
            "lib64/ld-linux-x86-64.so.2": "->/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "lib": "->usr/lib"}
    src = layout(tmp_path, [files({**base, "usr/lib/x86_64-linux-gnu/libc.so.6": (libc, 0o755)})],
                 {"Cmd": ["hello"]}, platform="linux/amd64")
    o = only(check_image(src, AMD64))
    assert o.ok, o.findings
    assert any(s.note == "library libc.so.6" for s in o.steps)
    src2 = layout(tmp_path, [files(base)], {"Cmd": ["hello"]}, platform="linux/amd64", name="nolibc")
    (f,) = only(check_image(src2, AMD64)).findings
    assert f.code == "missing-library"
    assert f.runtime_error.endswith("libc.so.6: cannot open shared object file: No such file or directory")


def test_pod_command_replaces_entrypoint_and_ignores_cmd(tmp_path, hello):
    layer = files({"local-path-provisioner": (hello["riscv64"], 0o755)})
    src = layout(tmp_path, [layer], {"Entrypoint": ["/local-path-provisioner"], "Cmd": ["start"]})
    assert check_image(src, RISCV64).ok
    pod = Contract("local-storage.yaml", ("local-path-provisioner", "start"), None)
    o = only(check_image(src, RISCV64, [pod]))
    assert o.argv == ("local-path-provisioner", "start")
    assert o.findings[0].runtime_error == 'exec: "local-path-provisioner": executable file not found in $PATH'
    path_override = Contract("env", ("local-path-provisioner",), None, "", {"PATH": "/"})
    assert only(check_image(src, RISCV64, [path_override])).ok


def test_hostile_entries_are_reported_never_followed(tmp_path, hello):
    outside = tmp_path / "evil"
    layer = raw_layer([
        (entry("../../evil", mode=0o755), b"x"),
        (entry("/abs", mode=0o644), b"y"),
        entry("up", tarfile.SYMTYPE, 0o777, "../../../../etc/passwd"),
        entry("dev/null", tarfile.CHRTYPE, 0o666),
        entry("pipe", tarfile.FIFOTYPE, 0o644),
        entry("hard", tarfile.LNKTYPE, 0o644, "does/not/exist"),
        (entry("usr/bin/hello", mode=0o755), hello["riscv64"]),
    ])
    report = check_image(layout(tmp_path, [layer], {"Cmd": ["hello"]}), RISCV64)
    got = {f.code for f in report.findings}
    assert {"hostile-entry", "absolute-entry", "symlink-escapes", "device-file", "hardlink-missing"} <= got
    assert not outside.exists()
    assert only(report).ok and not report.ok       # the contract holds, the layer is hostile


def test_layer_compressions(tmp_path, hello):
    zst = raw_layer([(entry("usr/bin/a", mode=0o755), hello["riscv64"])], "zstd")
    plain = raw_layer([(entry("usr/bin/b", mode=0o755), hello["riscv64"])], "none")
    src = layout(tmp_path, [zst, plain], {"Entrypoint": ["a"]})
    report = check_image(src, RISCV64, [Contract(), Contract("b", ("b",))])
    assert report.ok, report.all_findings()


def test_diff_id_mismatch_is_reported(tmp_path, hello):
    layer = files({"usr/bin/hello": (hello["riscv64"], 0o755)})
    src = layout(tmp_path, [layer], {"Cmd": ["hello"]}, diff_ids=["sha256:" + "0" * 64])
    assert codes(check_image(src, RISCV64)) == ["diff-id-mismatch"]


def test_missing_platform_is_reported_plainly(tmp_path):
    src = layout(tmp_path, [files({"x": b""})], platform="linux/amd64", extra_platforms=("linux/arm64",))
    report = check_image(src, RISCV64)
    (f,) = report.findings
    assert f.code == "platform-missing"
    assert "has no linux/riscv64 image; it offers linux/amd64, linux/arm64" in f.message


def test_single_manifest_labelled_otherwise(tmp_path, hello):
    src = layout(tmp_path, [files({"usr/bin/hello": (hello["amd64"], 0o755)})], {"Cmd": ["hello"]},
                 platform="linux/amd64", index=False)
    assert codes(check_image(src, RISCV64)) == ["platform-mismatch", "wrong-arch"]


def test_no_command_at_all(tmp_path):
    (f,) = only(check_image(layout(tmp_path, [files({"x": b""})], {}), RISCV64)).findings
    assert f.code == "no-command" and f.runtime_error == "no command specified"


@pytest.mark.parametrize("blob", [b"not a tar at all" * 100, b"\x1f\x8b\x08\x00garbage", b"\x28\xb5\x2f\xfdjunk"])
def test_malformed_layer_is_bad_input(tmp_path, blob):
    from standins.images import Blob, sha256
    bad = Blob("application/vnd.oci.image.layer.v1.tar+gzip", blob, None, sha256(blob), len(blob))
    with pytest.raises(BadInput, match="not a readable tar layer"):
        check_image(layout(tmp_path, [bad], {"Cmd": ["x"]}, diff_ids=[sha256(blob)]), RISCV64)


def test_truncated_layer_is_bad_input(tmp_path, hello):
    from standins.images import Blob, sha256
    good = files({"usr/bin/hello": (hello["riscv64"], 0o755)})
    cut = good.data[: len(good.data) // 2]
    bad = Blob(good.media_type, cut, None, sha256(cut), len(cut))
    with pytest.raises(BadInput):
        check_image(layout(tmp_path, [bad], {"Cmd": ["x"]}, diff_ids=[sha256(cut)]), RISCV64)


def test_malformed_elf_is_reported_not_crashed(tmp_path):
    junk = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x02\x00\xf3\x00" + b"\xff" * 200
    (f,) = only(check_image(layout(tmp_path, [files({"bin/x": (junk, 0o755)})], {"Entrypoint": ["/bin/x"]}), RISCV64)).findings
    assert f.code == "malformed-elf" and f.runtime_error == "exec /bin/x: exec format error"


def test_corrupted_layer_blob_is_digest_mismatch(tmp_path, hello):
    from archport.errors import DigestMismatch
    layer = files({"usr/bin/hello": (hello["riscv64"], 0o755)})
    src = layout(tmp_path, [layer], {"Cmd": ["hello"]})
    blob = tmp_path / "img" / "blobs" / "sha256" / layer.digest.split(":", 1)[1]
    data = bytearray(blob.read_bytes())
    data[-20] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises((DigestMismatch, BadInput)):
        check_image(src, RISCV64)
