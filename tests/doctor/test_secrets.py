"""A password in a URL a node's message quotes never reaches doctor's report."""

from __future__ import annotations

import json

from archport.doctor import analyze, text
from tests.support.cli import archport

PASTE = """\
NAMESPACE     NAME                                      READY   STATUS              RESTARTS      AGE   IP           NODE    NOMINATED NODE   READINESS GATES
kube-system   metrics-server-668d979685-zt5lw           0/1     ImagePullBackOff    0             41m   10.42.0.6    lpi4a   <none>           <none>

Name:             metrics-server-668d979685-zt5lw
Namespace:        kube-system
Status:           Pending
Events:
  Type     Reason     Age                  From               Message
  ----     ------     ----                 ----               -------
  Warning  Failed     39m (x4 over 41m)    kubelet            Failed to pull image "reg.example:5000/rancher/mirrored-metrics-server:v0.5.2": rpc error: code = Unknown desc = failed to pull and unpack image "reg.example:5000/rancher/mirrored-metrics-server:v0.5.2": failed to resolve reference "reg.example:5000/rancher/mirrored-metrics-server:v0.5.2": failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://bob:SECRET-7d1f@reg.example:5000/token?scope=repository: 401 Unauthorized
"""


def test_the_host_drops_userinfo_and_nothing_shows_the_password():
    rep = analyze.analyze(text.parse(PASTE), "linux/riscv64")
    g = next(g for g in rep.groups if g.cause == "unauthorized")
    assert g.host == "reg.example:5000"
    assert "reg.example:5000" in g.title
    assert any('configs."reg.example:5000"' in f for f in g.fix), g.fix
    doc = json.dumps(rep.to_dict())
    assert "SECRET-7d1f" not in doc
    assert "bob:<redacted>@reg.example:5000" in doc        # the evidence still says where it went


def test_cli_output_has_no_password(tmp_path):
    f = tmp_path / "paste.txt"
    f.write_text(PASTE)
    for extra in ((), ("--json",)):
        p = archport("doctor", "--from-text", str(f), "--no-registry", *extra, expect=1)
        assert "SECRET-7d1f" not in p.stdout + p.stderr
        assert "reg.example:5000" in p.stdout


def test_without_userinfo():
    assert analyze.without_userinfo("https://bob:pw@reg:5000/v2/") == "https://reg:5000/v2/"
    assert analyze.without_userinfo("bob:pw@reg:5000") == "reg:5000"
    assert analyze.without_userinfo("http://reg:5000") == "http://reg:5000"
    assert analyze.without_userinfo("reg:5000") == "reg:5000"
