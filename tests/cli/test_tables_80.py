"""Tables read at 80 columns: short cells, long text as numbered notes under
the table.  A real port run (the port tests' fixture component, built with
real Go) renders its table; on a terminal the same run shows its phases."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from archport.cli import cmd_deploy, cmd_verify
from archport.deploy.fleet import Row
from tests.cli.terminal import on_tty, plain
from tests.support import cli
from tests.support.port import archport

IMAGE = "rancher/mirrored-example-hello:v1.2.3"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "doctor"


def port_args(reg, catalog, cache, to: str) -> list[str]:
    return ["port", IMAGE, "--arch", "riscv64", "--to", f"{reg.host}/{to}", "--mirror", f"docker.io={reg.host}",
            "--mirror-only", "--catalog", str(catalog), "--cache-dir", str(cache), "--no-smoke"]


def check_table(out: str) -> None:
    lines = out.splitlines()
    assert lines and all(len(line) <= 80 for line in lines), "\n".join(f"{len(x):3} {x}" for x in lines)
    (row,) = [i for i, line in enumerate(lines) if line.startswith(IMAGE)]
    assert lines[row].split()[1:4] == ["ported", "[1]", "go"], lines[row]          # one short row
    # The reason is note [1], below the table, with what was done.
    (note,) = [i for i, line in enumerate(lines) if line.startswith("[1] go: ")]
    assert note > row, out
    rest = "\n".join(lines[note:])
    assert "fixups: netx-linkname-recvmsg" in rest and re.search(r"sha256:[0-9a-f]{64}", rest), out
    assert "skipped (--no-smoke)" in rest


def test_port_table_at_80_columns_with_phases_on_a_terminal(hello_upstream, hello_catalog, go_env, registry_plain,
                                                            tmp_path):
    reg = registry_plain
    # A terminal 80 wide: phases with their time on stderr, the table on stdout.
    code, out, tty = on_tty(*port_args(reg, hello_catalog, tmp_path / "cache", "tables-tty"), env=go_env, columns=80)
    assert code == 0, out + tty
    check_table(out)
    seen = plain(tty)
    for done in ("go mod download example.test/hello@v1.2.3", "fixup netx-linkname-recvmsg",
                 "go build example.test/hello@v1.2.3 for linux/riscv64", "check"):
        assert re.search(rf"✓ {re.escape(done)}  \d+\.\ds", seen), seen
    assert "trying go" in seen

    # In a pipe at COLUMNS=80: the same table, and no progress at all.
    env = {**go_env, "COLUMNS": "80"}
    cp = archport(*port_args(reg, hello_catalog, tmp_path / "cache2", "tables-pipe"), env=env)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    check_table(cp.stdout)
    assert cp.stderr == "", cp.stderr


# -- the other tables ------------------------------------------------------------

def lines_at_80(*args: str, expect: int = 0) -> list[str]:
    return cli.archport(*args, env={"COLUMNS": "80"}, expect=expect).stdout.splitlines()


def table_rows(lines: list[str], first: str) -> list[str]:
    """The rows under the header that starts with ``first``, up to a blank line or the source under it."""
    start = next(i for i, line in enumerate(lines) if line.startswith(first)) + 2       # header, rule
    end = next((i for i in range(start, len(lines)) if not lines[i].strip() or lines[i].startswith("source: ")),
               len(lines))
    return lines[start:end]


def test_catalog_tables_keep_one_line_per_row():
    lines = lines_at_80("catalog", "list")
    comps = table_rows(lines, "name ")
    assert len(comps) >= 8 and all(len(x) <= 80 and re.match(r"[\w-]+ \[\d+\] ", x) for x in comps), lines
    assert any(x.lstrip().startswith("[2] Cluster DNS.") for x in lines), lines  # a description, as a note
    lines = lines_at_80("catalog", "release", "v1.24.2")
    rows = table_rows(lines, "image ")
    assert len(rows) == 8 and all(len(x) <= 80 and x.startswith("rancher/") for x in rows), lines
    assert any(x.startswith("rancher/klipper-helm:v0.7.3-build20220613 ") for x in rows)


def test_doctor_table_fits():
    lines = lines_at_80("doctor", "--no-registry", "--from", str(FIXTURES / "broken-riscv64"), expect=1)
    rows = table_rows(lines, "#")
    assert len(rows) >= 5 and all(len(x) <= 80 for x in rows), lines


def console80() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=80, soft_wrap=True, emoji=False), buf


LONG = ("cannot connect to root@board-with-a-long-name.lab.internal:22: ssh: connect to host "
        "board-with-a-long-name.lab.internal port 22: No route to host (check the address and --identity)")


def test_deploy_and_verify_tables_put_reasons_under_them():
    console, buf = console80()
    cmd_deploy.show_table([Row("root@board-with-a-long-name.lab.internal", "failed", LONG),
                           Row("root@b2", "changed", "registries.yaml written; k3s restarted")], console)
    cmd_verify.show_boards([{"board": "root@board-with-a-long-name.lab.internal", "ok": False, "checks": [],
                             "error": LONG},
                            {"board": "root@b2", "ok": False, "checks": [
                                {"name": "dns", "ok": False}, {"name": "pvc", "ok": True}]}], console)
    lines = buf.getvalue().splitlines()
    assert all(len(x) <= 80 for x in lines), buf.getvalue()
    assert re.match(r"root@board-with-a-long-name\.lab\.internal +failed \[1\]\s*$", lines[2]), lines
    assert re.match(r"root@b2 +changed \[2\]\s*$", lines[3]), lines
    assert sum(x.startswith("[1] cannot connect to root@board") for x in lines) == 2, lines
    assert any(re.match(r"root@b2 +failed +dns\s*$", x) for x in lines), lines
