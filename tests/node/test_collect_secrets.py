"""collect redacts every k3s secret, in each spelling k3s accepts it: a key in
config.yaml and its drop-ins, a flag on a command line, an environment
variable, and a NAME=VALUE handed to an embedded component."""

from __future__ import annotations

from pathlib import Path

import pytest

from archport.node import redact
from tests.support.cli import archport

# One planted secret per kind; each is a unique string, so a leak is exact.
PLANTED = {
    "config token": "K10aa11bb22cc33dd44ee55ff::server:cfg-tok-1",
    "config agent-token": "cfg-agent-tok-2",
    "config etcd-s3-access-key": "AKIACFGACCESS3",
    "config etcd-s3-secret-key": "cfg-s3-secret-4",
    "config datastore-endpoint": "postgres://k3s:cfg-dsn-pw-5@db.internal:5432/k3s",
    "config kubelet-arg": "cfg-kubelet-tok-6",
    "drop-in etcd-s3-session-token": "cfgd-session-7",
    "drop-in kube-apiserver-arg": "cfgd-apiserver-pw-8",
    "journal -t": "jrnl-short-tok-9",
    "journal --token=": "jrnl-long-tok-10",
    "journal --token value": "jrnl-long-tok-11",
    "journal --etcd-s3-secret-key=": "jrnl-s3-secret-12",
    "journal --agent-token": "jrnl-agent-tok-13",
    "journal K3S_TOKEN=": "jrnl-env-tok-14",
    "journal K3S_AGENT_TOKEN=": "jrnl-env-agent-15",
    "journal AWS_SECRET_ACCESS_KEY=": "jrnl-env-aws-16",
    "journal --kubelet-arg=": "jrnl-kubelet-tok-17",
    "journal --vpn-auth=": "jrnl-vpn-key-18",
}
P = PLANTED

CONFIG = f"""\
token: {P['config token']}
agent-token: "{P['config agent-token']}"
token-file: /etc/rancher/k3s/token-path-kept
etcd-s3: true
etcd-s3-bucket: bucket-name-kept
etcd-s3-access-key: {P['config etcd-s3-access-key']}
etcd-s3-secret-key: '{P['config etcd-s3-secret-key']}'
datastore-endpoint: {P['config datastore-endpoint']}
kubelet-arg:
  - "max-pods=110"
  - "streaming-connection-idle-timeout=5m"
  - "--bearer-token={P['config kubelet-arg']}"
pause-image: rancher/mirrored-pause:3.6
"""

DROP_IN = f"""\
etcd-s3-session-token: {P['drop-in etcd-s3-session-token']}
kube-apiserver-arg: ["audit-log-maxage=30", "basic-auth-password={P['drop-in kube-apiserver-arg']}"]
"""

JOURNAL = f"""\
Nov 20 08:00:00 lpi4a systemd[1]: Started k3s: /usr/local/bin/k3s server -t {P['journal -t']} --disable traefik
Nov 20 08:00:01 lpi4a k3s[812]: /usr/local/bin/k3s server --token={P['journal --token=']} --etcd-s3-secret-key={P['journal --etcd-s3-secret-key=']}
Nov 20 08:00:02 lpi4a k3s[812]: /usr/local/bin/k3s agent --token {P['journal --token value']} --agent-token "{P['journal --agent-token']}"
Nov 20 08:00:03 lpi4a k3s[812]: environment: K3S_TOKEN={P['journal K3S_TOKEN=']} K3S_AGENT_TOKEN='{P['journal K3S_AGENT_TOKEN=']}' AWS_SECRET_ACCESS_KEY={P['journal AWS_SECRET_ACCESS_KEY=']} K3S_URL=https://server-kept:6443
Nov 20 08:00:04 lpi4a k3s[812]: /usr/local/bin/k3s server --kubelet-arg=token={P['journal --kubelet-arg=']} --vpn-auth=name=tailscale,joinKey={P['journal --vpn-auth=']}
Nov 20 08:00:05 lpi4a k3s[812]: time="x" level=info msg="Running iptables -t nat -A KUBE-kept"
"""

KEPT = ("token-path-kept", "bucket-name-kept", "max-pods=110", "audit-log-maxage=30", "server-kept:6443",
        "iptables -t nat", "rancher/mirrored-pause:3.6", "--disable traefik")


def _board(root: Path) -> Path:
    (root / "etc/rancher/k3s/config.yaml.d").mkdir(parents=True)
    (root / "etc/rancher/k3s/config.yaml").write_text(CONFIG)
    (root / "etc/rancher/k3s/config.yaml.d/10-s3.yaml").write_text(DROP_IN)
    (root / "var/log").mkdir(parents=True)
    (root / "var/log/k3s.log").write_text(JOURNAL)
    return root


def test_the_list_comes_from_k3s_with_its_source():
    k = redact.k3s_secrets()
    assert {"token", "agent-token", "etcd-s3-access-key", "etcd-s3-secret-key", "datastore-endpoint"} <= k.flags
    assert {"K3S_TOKEN", "K3S_AGENT_TOKEN"} <= k.env and "t" in k.short_flags
    assert "kubelet-arg" in k.component_arg_flags and "pkg/cli/cmds" in k.source


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_each_planted_secret_is_redacted_by_the_scrubbers(kind):
    secret = PLANTED[kind]
    out = redact.fact_text("config", CONFIG) + redact.fact_text("config_d", DROP_IN) + \
        redact.fact_text("journal", JOURNAL)
    assert secret not in out
    for kept in KEPT:
        assert kept in out, kept


def test_collect_writes_no_planted_secret(tmp_path):
    root = _board(tmp_path / "root")
    out = tmp_path / "dump"
    archport("collect", "--root", str(root), "--out", str(out))
    blob = "\n".join(p.read_text() for p in out.rglob("*") if p.is_file())
    leaked = [k for k, s in PLANTED.items() if s in blob]
    assert leaked == []
    assert blob.count(redact.MASK) >= len(PLANTED) - 2
    assert "bucket-name-kept" in blob and "token-path-kept" in blob and "iptables -t nat" in blob
