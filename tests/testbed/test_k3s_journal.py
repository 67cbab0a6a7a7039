"""journalctl -u k3s on the board: logs merged by time, journald's short format."""

import datetime as dt

from testbed.k3s import journal

KUBELET = ['E1127 04:40:05.123456    812 pod_workers.go:951] "Error syncing pod, skipping" pod="kube-system/x"\n',
           'I1127 04:40:07.000001    812 kubelet.go:1] "ok"\n']
CONTAINERD = ['time="2026-11-27T04:40:06.5Z" level=info msg="trying next host" error="dial tcp: lookup x" host="h"\n',
              "  continuation without a time\n"]
STANDIN = ['time="2026-11-27T04:40:01Z" level=info msg="Starting k3s"\n']


def test_merge_orders_by_time_and_keeps_continuations_after_their_line():
    merged = journal.merge([STANDIN, KUBELET, CONTAINERD], 2026)
    lines = [line for _, line in merged]
    assert lines[0].startswith('time="2026-11-27T04:40:01Z"')
    assert lines[1].startswith("E1127 04:40:05")
    assert lines[2].startswith('time="2026-11-27T04:40:06.5Z"')
    assert lines[3] == "  continuation without a time"
    assert lines[4].startswith("I1127 04:40:07")


def test_short_format_is_journald_short():
    out = journal.short([(dt.datetime(2026, 11, 27, 4, 40, 5), "msg")], "board", "k3s", 812)
    assert out == ["Nov 27 04:40:05 board k3s[812]: msg"]


def test_args_doctor_uses():
    o = journal.parse_args(["-u", "k3s", "-u", "k3s-agent", "--no-pager", "-q", "-n", "2000"])
    assert o == {"units": ["k3s", "k3s-agent"], "lines": 2000, "follow": False}
    assert journal.parse_args(["-uk3s", "--lines=5"])["lines"] == 5


def test_main_prints_the_tail(tmp_path, capsys):
    files = []
    for name, lines in (("k3s.log", STANDIN), ("kubelet.log", KUBELET), ("containerd.log", CONTAINERD)):
        (tmp_path / name).write_text("".join(lines))
        files.append(str(tmp_path / name))
    assert journal.main(["-u", "k3s", "-n", "2", "--no-pager"], files + [str(tmp_path / "missing")], "board", 7) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[1].startswith("Nov 27 04:40:07 board k3s[7]: I1127")


def test_other_units_have_no_entries(capsys):
    assert journal.main(["-u", "sshd"], [], "board", 1) == 0
    assert capsys.readouterr().out.strip() == "-- No entries --"
