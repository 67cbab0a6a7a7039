"""--from-text: what people paste into issues and chats."""

from archport.cli.main import main
from archport.doctor import analyze, text

# kubectl get pods -A -o wide, as in k3s-io/k3s#10926 / #1441 pastes (names from k3s v1.24.2)
PODS_WIDE = """\
NAMESPACE     NAME                                      READY   STATUS              RESTARTS      AGE   IP           NODE    NOMINATED NODE   READINESS GATES
kube-system   coredns-b96499967-7xk9p                   0/1     ContainerCreating   0             41m   <none>       lpi4a   <none>           <none>
kube-system   local-path-provisioner-7b7dc8d6f5-q2m8d   0/1     CrashLoopBackOff    7 (2m ago)    41m   10.42.0.5    lpi4a   <none>           <none>
kube-system   metrics-server-668d979685-zt5lw           0/1     ImagePullBackOff    0             41m   10.42.0.6    lpi4a   <none>           <none>
kube-system   svclb-traefik-x2x7c                       2/2     Running             0             40m   10.42.0.7    lpi4a   <none>           <none>
"""

# kubectl describe pod, Events section (format of kubectl's describe printer)
DESCRIBE = """\
Name:             metrics-server-668d979685-zt5lw
Namespace:        kube-system
Priority:         2000001000
Status:           Pending
Events:
  Type     Reason     Age                  From               Message
  ----     ------     ----                 ----               -------
  Normal   Scheduled  41m                  default-scheduler  Successfully assigned kube-system/metrics-server-668d979685-zt5lw to lpi4a
  Normal   Pulling    39m (x4 over 41m)    kubelet            Pulling image "rancher/mirrored-metrics-server:v0.5.2"
  Warning  Failed     39m (x4 over 41m)    kubelet            Failed to pull image "rancher/mirrored-metrics-server:v0.5.2": rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/rancher/mirrored-metrics-server:v0.5.2": no match for platform in manifest: not found
  Warning  Failed     39m (x4 over 41m)    kubelet            Error: ErrImagePull
  Normal   BackOff    1m (x150 over 41m)   kubelet            Back-off pulling image "rancher/mirrored-metrics-server:v0.5.2"
"""

# crictl pods (crictl's table printer)
CRICTL = """\
POD ID              CREATED             STATE               NAME                                      NAMESPACE           ATTEMPT             RUNTIME
7c1e0b4f3a2d1       2 minutes ago       Ready               local-path-provisioner-7b7dc8d6f5-q2m8d   kube-system         2                   (default)
5d2a9c8e7f6b3       20 minutes ago      NotReady            local-path-provisioner-7b7dc8d6f5-q2m8d   kube-system         1                   (default)
0a1b2c3d4e5f6       41 minutes ago      NotReady            local-path-provisioner-7b7dc8d6f5-q2m8d   kube-system         0                   (default)
"""

# journalctl -u k3s with klog structured lines; journald shows the escaped quotes (k3s-io/k3s#1629 style)
JOURNAL = r"""Nov 20 08:40:10 lpi4a k3s[812]: E1120 08:40:10.123456     812 kuberuntime_manager.go:815] "CreatePodSandbox for pod failed" err="rpc error: code = NotFound desc = failed to get sandbox image \"rancher/mirrored-pause:3.6\": failed to pull image \"rancher/mirrored-pause:3.6\": failed to pull and unpack image \"docker.io/rancher/mirrored-pause:3.6\": no match for platform in manifest: not found" pod="kube-system/coredns-b96499967-7xk9p"
Nov 20 08:40:12 lpi4a k3s[812]: E1120 08:40:12.000001     812 pod_workers.go:951] "Error syncing pod, skipping" err="failed to \"StartContainer\" for \"local-path-provisioner\" with RunContainerError: \"failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \\\"local-path-provisioner\\\": executable file not found in $PATH: unknown\"" pod="kube-system/local-path-provisioner-7b7dc8d6f5-q2m8d"
"""


def test_mixed_paste_gives_every_cause():
    facts = text.parse("some chatter first\n\n" + PODS_WIDE + "\n" + DESCRIBE + "\n" + CRICTL + "\n" + JOURNAL)
    assert len(facts.cluster.pods) == 4 and len(facts.cluster.events) == 5
    assert len(facts.sandboxes) == 3 and len(facts.journal) == 2
    rep = analyze.analyze(facts, "linux/riscv64")
    by = {(g.cause, g.sandbox): g for g in rep.groups}
    assert by[("no-platform", True)].pods == ["kube-system/coredns-b96499967-7xk9p"]
    assert by[("no-platform", True)].images == ["rancher/mirrored-pause:3.6"]
    assert by[("no-platform", False)].images == ["rancher/mirrored-metrics-server:v0.5.2"]
    assert by[("entrypoint", False)].pods == ["kube-system/local-path-provisioner-7b7dc8d6f5-q2m8d"]
    assert rep.pods_failing == 3                        # svclb is Running 2/2
    assert any("2 of them are earlier attempts" in n for n in rep.notes)


def test_partial_paste_table_only():
    facts = text.parse(PODS_WIDE)
    rep = analyze.analyze(facts, "linux/riscv64")
    assert rep.pods_failing == 3 and "events" in rep.missing
    assert {g.cause for g in rep.groups} == {"unknown"}


def test_pods_table_without_namespace_column():
    facts = text.parse("NAME                      READY   STATUS             RESTARTS   AGE\n"
                       "web-7c9d8f6b5d-4hx2p      0/1     InvalidImageName   0          5m\n")
    rep = analyze.analyze(facts, "linux/riscv64")
    assert rep.groups[0].cause == "invalid-name" and rep.groups[0].pods == ["default/web-7c9d8f6b5d-4hx2p"]


def test_cli_from_text_stdin(monkeypatch, capsys):
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO(DESCRIBE))
    rc = main(["doctor", "--no-registry", "--from-text", "-"])
    out = capsys.readouterr().out
    assert rc == 1 and "has no linux/riscv64 variant" in out


def test_unrecognizable_text_is_bad_input(tmp_path, capsys):
    p = tmp_path / "paste.txt"
    p.write_text("hello, my cluster is broken, please help\n")
    assert main(["doctor", "--no-registry", "--from-text", str(p)]) == 2
    assert "no kubectl table" in capsys.readouterr().err
