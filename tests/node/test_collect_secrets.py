"""collect redacts every k3s secret, in each spelling k3s accepts it: a key in
config.yaml and its drop-ins, a flag on a command line, an environment
variable, and a NAME=VALUE handed to an embedded component; registry
credentials in registries.yaml and in containerd's own log of its CRI config
(JSON inside a quoted string); a chart's values in a HelmChart manifest; a
JSON log line's string credential.  And it keeps what only looks like one: a
token *count* in a JSON log line, a chart's ``existingSecret`` name, a path in
``token-file``."""

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
    "containerd CRI password": "cri-pw-19",
    "containerd CRI identitytoken": "cri-idtok-20",
    "containerd CRI auth": "Y3JpOmF1dGgtMjE=",
    "containerd JSON line token": "ctd-json-tok-22",
    "HelmChart adminPassword": "helm-admin-pw-23",
    "HelmChart nested password": "helm-db-pw-24",
    "HelmChart clientSecret": "helm-oidc-secret-25",
    "HelmChart apiKey": "helm-api-key-26",
    "HelmChart secret_key": "helm-ini-secret-27",
    "HelmChart set adminPassword": "helm-set-pw-28",
    "HelmChartConfig token": "helm-cfg-tok-29",
    "registries password": "reg-pw-30",
    "registries identity_token": "reg-idt-31",
    "registries auth": "cmVnOnJlZy1wdy0zMg==",
    "journal JSON password": "jrnl-json-pw-33",
    "containerd Authorization": "ctd-bearer-token-34",
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

CONTAINERD_LOG = (
    'time="2026-11-20T08:00:06Z" level=info msg="starting cri plugin" config="{\\"containerd\\":'
    '{\\"snapshotter\\":\\"overlayfs\\"},\\"registry\\":{\\"configPath\\":\\"\\",'
    '\\"configs\\":{\\"mirror.internal:5000\\":{\\"auth\\":{\\"username\\":\\"cri-user-kept\\",'
    f'\\"password\\":\\"{P["containerd CRI password"]}\\",\\"auth\\":\\"{P["containerd CRI auth"]}\\",'
    f'\\"identitytoken\\":\\"{P["containerd CRI identitytoken"]}\\"}},\\"tls\\":null}}}}}}}}"\n'
    '{"level":"debug","msg":"token bucket refilled","token":17,"bucket":"pulls"}\n'
    f'{{"level":"info","msg":"resolved","host":"mirror.internal","token":"{P["containerd JSON line token"]}"}}\n'
    f'time="x" level=debug msg="do request" request.header.authorization="Bearer {P["containerd Authorization"]}"\n'
)

MANIFEST = f"""\
apiVersion: helm.cattle.io/v1
kind: HelmChart
metadata:
  name: grafana
  namespace: kube-system
spec:
  chart: grafana
  set:
    grafana.adminPassword: {P['HelmChart set adminPassword']}
  valuesContent: |-
    adminUser: admin-user-kept
    adminPassword: {P['HelmChart adminPassword']}
    admin:
      existingSecret: grafana-admin-creds-kept
    database:
      password: "{P['HelmChart nested password']}"
    oidc:
      clientSecret: {P['HelmChart clientSecret']}
      apiKey: {P['HelmChart apiKey']}
    grafana.ini:
      security:
        secret_key: {P['HelmChart secret_key']}
---
apiVersion: helm.cattle.io/v1
kind: HelmChartConfig
metadata:
  name: traefik
  namespace: kube-system
spec:
  valuesContent: |-
    pilot:
      token: {P['HelmChartConfig token']}
"""

REGISTRIES = f"""\
configs:
  "mirror.internal:5000":
    auth:
      username: reg-user-kept
      password: {P['registries password']}
      identity_token: {P['registries identity_token']}
      auth: {P['registries auth']}
"""

JSON_JOURNAL = f'{{"level":"error","msg":"registry login failed","password":"{P["journal JSON password"]}"}}\n'

# 13 things that look like secrets and are not; each must survive.
KEPT = ("token-path-kept", "bucket-name-kept", "max-pods=110", "audit-log-maxage=30", "server-kept:6443",
        "iptables -t nat", "rancher/mirrored-pause:3.6", "--disable traefik",
        '"token":17', "token bucket refilled", "grafana-admin-creds-kept", "cri-user-kept", "admin-user-kept")


def _board(root: Path) -> Path:
    (root / "etc/rancher/k3s/config.yaml.d").mkdir(parents=True)
    (root / "etc/rancher/k3s/config.yaml").write_text(CONFIG)
    (root / "etc/rancher/k3s/config.yaml.d/10-s3.yaml").write_text(DROP_IN)
    (root / "var/log").mkdir(parents=True)
    (root / "var/log/k3s.log").write_text(JOURNAL + JSON_JOURNAL)
    (root / "etc/rancher/k3s/registries.yaml").write_text(REGISTRIES)
    (root / "var/lib/rancher/k3s/agent/containerd").mkdir(parents=True)
    (root / "var/lib/rancher/k3s/agent/containerd/containerd.log").write_text(CONTAINERD_LOG)
    (root / "var/lib/rancher/k3s/server/manifests").mkdir(parents=True)
    (root / "var/lib/rancher/k3s/server/manifests/grafana.yaml").write_text(MANIFEST)
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
        redact.fact_text("journal", JOURNAL + JSON_JOURNAL) + redact.fact_text("containerd_log", CONTAINERD_LOG) + \
        redact.fact_text("manifests", MANIFEST) + redact.fact_text("registries", REGISTRIES)
    assert secret not in out
    for kept in KEPT:
        assert kept in out, kept


def test_the_corpus_is_34_secrets_and_13_lookalikes():
    assert len(PLANTED) == 34 and len(set(PLANTED.values())) == 34 and len(KEPT) == 13


def test_collect_writes_no_planted_secret(tmp_path):
    root = _board(tmp_path / "root")
    out = tmp_path / "dump"
    archport("collect", "--root", str(root), "--out", str(out))
    blob = "\n".join(p.read_text() for p in out.rglob("*") if p.is_file())
    leaked = [k for k, s in PLANTED.items() if s in blob]
    assert leaked == []
    assert blob.count(redact.MASK) >= len(PLANTED) - 2
    assert [k for k in KEPT if k not in blob] == []
