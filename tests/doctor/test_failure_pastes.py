"""A paste that shows a failure is never called healthy.

tests/fixtures/doctor/pastes/failures holds what people paste first when a
riscv64 board's k3s (v1.24.2) does not come up, written from what the tools
print: the output of ``crictl pull`` (cri-tools logs the CRI client's klog
line, then ``FATA[…] pulling image: …``; also when a plain crictl misses
k3s's containerd socket), a containerd.log excerpt (containerd's
CRI ``PullImage "…" failed`` and ``RunPodSandbox for &PodSandboxMetadata{…}
failed, error`` lines), kubelet journal lines from ``remote_image.go`` that
name no pod, ``kubectl get events -A`` rows without their header, a
``BackOff`` event alone, and ``kubectl get pods -A`` alone.  Each paste stands
alone; together they need not tell one board's story.

The rules: every failure doctor can see is reported (exit 1); one it cannot
classify is reported as unclassified with its lines; an image named in a
failure line is tied to its cause whether or not a pod is named; fixes name
archport's own next command.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archport import catalog
from archport.doctor import analyze, text
from tests.support.cli import archport

FAILURES = Path(__file__).resolve().parents[1] / "fixtures" / "doctor" / "pastes" / "failures"
MS = "rancher/mirrored-metrics-server:v0.5.2"
MS_POD = "kube-system/metrics-server-668d979685-zt5lw"
PAUSE = "rancher/mirrored-pause:3.6"
HELM = "rancher/klipper-helm:v0.7.3-build20220613"
TRAEFIK = "rancher/mirrored-library-traefik:2.6.2"
SYSTEM_PODS = ["kube-system/coredns-b96499967-7xk9p", "kube-system/helm-install-traefik-crd-5k2xq",
               "kube-system/helm-install-traefik-j7h4n", "kube-system/local-path-provisioner-7b7dc8d6f5-q2m8d",
               MS_POD]

# (cause, pods, images) of every group each paste must give, in any order.
EXPECTED: dict[str, list[tuple[str, list[str], list[str]]]] = {
    "01-crictl-pull.txt": [("no-platform", [], [MS])],
    "02-containerd-log.txt": [("no-platform", ["kube-system/coredns-b96499967-7xk9p"], [PAUSE]),
                              ("no-platform", [], [HELM])],
    "03-journal-no-pod.txt": [("no-platform", [], [TRAEFIK])],
    "04-events-no-header.txt": [("no-platform", [MS_POD], [MS])],
    "05-events-backoff.txt": [("pull-failed", [MS_POD], [MS])],
    "06-pods-all.txt": [("unknown", SYSTEM_PODS, [])],
    "07-journal-unclassified.txt": [("unclassified", [], [])],
    "08-crictl-default-socket.txt": [("cri-socket", [], [MS])],
    # crictl ps -a's exited container and crictl inspect's exit status, nothing else:
    # the status is SIGILL's (128 + 4).
    "09-crictl-exited.txt": [("sigill", [], [])],
}


def read(name: str) -> str:
    return (FAILURES / name).read_text()


def report(paste: str, with_catalog: bool = False):
    extra = {"catalog": catalog.load()} if with_catalog else {}
    return analyze.analyze(text.parse(paste), "linux/riscv64", **extra)


def groups(rep) -> list[tuple[str, list[str], list[str]]]:
    return sorted((g.cause, g.pods, g.images) for g in rep.groups)


def test_the_failure_corpus_is_complete():
    assert sorted(p.name for p in FAILURES.glob("*.txt")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_failure_paste_is_reported(name):
    rep = report(read(name))
    assert groups(rep) == sorted(EXPECTED[name])
    assert not rep.healthy
    for g in rep.groups:
        assert g.evidence, g.title             # the lines that show it, always


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_failure_paste_exits_1_through_the_cli(name):
    out = archport("doctor", "--no-registry", "--from", str(FAILURES / name), expect=1).stdout
    assert "healthy" not in out


def test_a_paste_on_stdin_exits_1():
    paste = read("01-crictl-pull.txt")
    for option in ("--from-text", "--from"):
        out = archport("doctor", "--no-registry", option, "-", input=paste, expect=1).stdout
        assert "rancher/mirrored-metrics-server:v0.5.2 has no linux/riscv64 variant" in out


def test_crictl_pull_ties_both_of_its_lines_to_the_image():
    (g,) = report(read("01-crictl-pull.txt")).groups
    assert g.title == "image rancher/mirrored-metrics-server:v0.5.2 has no linux/riscv64 variant"
    assert any(e.startswith("FATA[0002] pulling image:") for e in g.evidence)
    assert any("remote_image.go" in e for e in g.evidence)


def test_crictl_without_a_terminal_logs_the_same_error_as_logfmt():
    # logrus's text format when stderr is not a terminal (crictl run from a script)
    line = ('time="2026-11-20T00:52:05Z" level=fatal msg="pulling image: rpc error: code = NotFound desc = failed '
            'to pull and unpack image \\"docker.io/rancher/mirrored-metrics-server:v0.5.2\\": no match for platform '
            'in manifest: not found"')
    assert groups(report(line)) == [("no-platform", [], [MS])]


def test_a_plain_crictl_on_k3s_is_told_to_use_k3s_crictl():
    (g,) = report(read("08-crictl-default-socket.txt")).groups
    assert len(g.evidence) == 2                         # the FATA line names no image: it joins the klog line's
    assert g.fix[0].startswith(f"k3s crictl pull {MS}")


def test_containerd_names_the_pod_whose_sandbox_failed():
    rep = report(read("02-containerd-log.txt"))
    sandbox = next(g for g in rep.groups if g.sandbox)
    assert sandbox.pods == ["kube-system/coredns-b96499967-7xk9p"] and sandbox.images == [PAUSE]
    assert any("archport deploy --pause-image" in f for f in sandbox.fix)


def test_a_back_off_alone_names_the_image_and_where_the_reason_is():
    (g,) = report(read("05-events-backoff.txt")).groups
    assert "Unknown" not in g.title and MS in g.title
    assert any("describe pod" in f for f in g.fix) and any(f"archport inspect {MS}" in f for f in g.fix)


def test_kubectl_get_pods_alone_says_what_the_catalog_knows():
    (g,) = report(read("06-pods-all.txt"), with_catalog=True).groups
    known = "\n".join(g.known)
    assert "k3s's system pods" in known
    for image in ("rancher/mirrored-pause", "rancher/mirrored-coredns-coredns", "rancher/klipper-helm",
                  "rancher/local-path-provisioner", "rancher/mirrored-metrics-server"):
        assert f"{image} (" in known and "no linux/riscv64" in known, image
    assert any(f.startswith("archport audit") for f in g.fix)
    assert any("kubectl -n kube-system describe pod" in f for f in g.fix)
    assert "no rule matched" not in " ".join(g.fix)


def test_kubectl_get_pods_alone_through_the_cli():
    out = archport("doctor", "--no-registry", "--from", str(FAILURES / "06-pods-all.txt"), expect=1).stdout
    assert "catalog: these are k3s's system pods" in out and "archport audit" in out


def test_an_unclassified_failure_keeps_its_lines():
    (g,) = report(read("07-journal-unclassified.txt")).groups
    assert g.title.startswith("unclassified") and g.severity == "error"
    assert len(g.evidence) == 1 and "Container runtime network not ready" in g.evidence[0]


def test_fixes_name_archports_own_commands():
    describe = (FAILURES.parent / "01-describe-with-command.txt").read_text()
    rep = report(describe + "\n" + read("01-crictl-pull.txt") + "\n" + read("02-containerd-log.txt"))
    assert len(rep.groups) == 3
    for g in rep.groups:
        assert any("archport deploy --registry" in f for f in g.fix), g.fix
        assert not any("mirrors: docker.io: endpoint" in f for f in g.fix), g.fix     # no hand edit


def test_fixes_name_the_board_doctor_read():
    facts = dataclasses.replace(text.parse(read("01-crictl-pull.txt")), source="ssh:sipeed@lpi4a")
    (g,) = analyze.analyze(facts, "linux/riscv64").groups
    assert any("archport deploy --registry <your-registry>/<prefix> --host sipeed@lpi4a" in f for f in g.fix)


def test_a_failure_of_a_pod_that_runs_now_is_still_shown():
    paste = ("NAMESPACE     NAME                              READY   STATUS    RESTARTS   AGE\n"
             "kube-system   metrics-server-668d979685-zt5lw   1/1     Running   0          41m\n"
             + read("04-events-no-header.txt"))
    rep = report(paste)
    assert rep.pods_failing == 0 and not rep.healthy
    assert groups(rep) == [("no-platform", [], [MS])]


def test_all_failure_pastes_mixed():
    rep = report("\n".join(read(n) for n in sorted(EXPECTED)))
    images = {i for g in rep.groups for i in g.images}
    assert {MS, PAUSE, HELM, TRAEFIK} <= images
    assert any(g.cause == "unclassified" for g in rep.groups)


# -- the property: a known failure line, anywhere, among anything ---------------------------------
FAILURE_LINES = sorted({line for name in EXPECTED if name != "06-pods-all.txt" for line in read(name).splitlines()
                        if "error" in line.lower() or "failed" in line.lower() or "back-off" in line.lower()}
                       | {"exec /coredns: exec format error", '    "exitCode": 132,',
                          '    "exitCode": 1,',
                          "  Warning  Failed     39m (x4 over 41m)    kubelet            Failed to pull image "
                          "\"rancher/mirrored-metrics-server:v0.5.2\": rpc error: code = NotFound desc = failed to "
                          "pull and unpack image \"docker.io/rancher/mirrored-metrics-server:v0.5.2\": no match for "
                          "platform in manifest: not found"})
# Lines people paste around them: headers, command lines, healthy rows, chatter.
NEUTRAL = [
    "", "the board says:", "$ kubectl get pods -A", "root@lpi4a:~# crictl ps -a", "# kubectl get events -A",
    "sipeed@lpi4a:~$ sudo kubectl logs -n kube-system coredns-b96499967-7xk9p",
    "NAMESPACE     NAME                    READY   STATUS    RESTARTS   AGE",
    "NAME                    READY   STATUS    RESTARTS   AGE",
    "kube-system   svclb-traefik-x2x7c     2/2     Running   0          40m",
    "svclb-traefik-x2x7c     2/2     Running   0          40m",
    "NAMESPACE     LAST SEEN   TYPE      REASON    OBJECT                                MESSAGE",
    "kube-system   41m         Normal    Pulling   pod/svclb-traefik-x2x7c   "
    "Pulling image \"rancher/klipper-lb:v0.3.5\"",
    "Name:             svclb-traefik-x2x7c", "Namespace:        kube-system", "Status:           Running",
    "Events:", "  Type     Reason     Age   From               Message",
    "  ----     ------     ----  ----               -------",
    "POD ID              CREATED             STATE               NAME                NAMESPACE           ATTEMPT",
    "IMAGE                                     TAG                 IMAGE ID            SIZE",
    'time="2026-11-20T08:41:10.998877665+08:00" level=info msg="PullImage \\"rancher/klipper-lb:v0.3.5\\""',
    "Nov 20 08:39:58 lpi4a k3s[812]: I1120 08:39:58.000120     812 kubelet.go:2010] \"SyncLoop ADD\" source=\"api\"",
]
_ONE_LINE = st.text(st.characters(blacklist_categories=("Cs",),
                                  blacklist_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"), max_size=60)
_OTHER = st.lists(st.one_of(st.sampled_from(NEUTRAL), _ONE_LINE), max_size=8)


@settings(max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=_OTHER, failure=st.sampled_from(FAILURE_LINES), after=_OTHER)
def test_a_paste_with_a_failure_line_is_never_healthy(before, failure, after):
    rep = report("\n".join([*before, failure, *after]))
    assert not rep.healthy, (before, failure, after)
