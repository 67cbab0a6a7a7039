"""The board's hardware in doctor: its node section, a container dead of SIGILL
on a board whose extensions are known (an ISA mismatch, its binary read from
the real registry), and the kernel gaps that explain a failure.

The SIGILL is the real one: a Go binary built ``GORISCV64=rva22u64`` exits
132 under qemu-user's RV64GC model ``sifive-u54`` (tests/support/isa.py);
the pod status around it is what the kubelet writes for such a container
(``lastState.terminated`` with exitCode 132, reason Error, then
CrashLoopBackOff and the BackOff event), in a dump as ``archport collect``
writes it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from archport.cli.main import main
from archport.doctor import analyze, hardware
from archport.node import collect
from archport.node import facts as F
from standins import images as ti
from tests.support.isa import run_on

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "doctor"
BOARDS = Path(__file__).resolve().parents[1] / "fixtures" / "boards"
IMAGE = "isatest/app:rva22"
UID = "5b0f0c1e-8c43-4d2a-9b1e-3f6f2a7c9d10"
POD = "app-6c9f7d8b5-q2w7x"


def crashing_pod(image: str = IMAGE, name: str = POD, namespace: str = "default") -> list[dict]:
    """A Deployment's pod whose container was killed by SIGILL three times."""
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "uid": UID, "creationTimestamp": "2026-11-20T08:30:00Z"},
        "spec": {"containers": [{"name": "app", "image": image}], "nodeName": "vf2", "restartPolicy": "Always"},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                   "containerStatuses": [{
                       "name": "app", "image": f"docker.io/{image}", "imageID": "", "ready": False,
                       "restartCount": 3, "started": False,
                       "containerID": "containerd://9d1c2f0e7b6a",
                       "lastState": {"terminated": {"exitCode": 132, "reason": "Error",
                                                    "startedAt": "2026-11-20T08:40:31Z",
                                                    "finishedAt": "2026-11-20T08:40:31Z",
                                                    "containerID": "containerd://9d1c2f0e7b6a"}},
                       "state": {"waiting": {"reason": "CrashLoopBackOff",
                                             "message": f"back-off 40s restarting failed container=app "
                                                        f"pod={name}_{namespace}({UID})"}}}]}}
    event = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{name}.17a9c3e2b4d5f601", "namespace": namespace},
        "involvedObject": {"kind": "Pod", "name": name, "namespace": namespace, "uid": UID,
                           "fieldPath": "spec.containers{app}"},
        "reason": "BackOff", "message": "Back-off restarting failed container app in pod "
                                        f"{name}_{namespace}({UID})",
        "type": "Warning", "count": 4, "lastTimestamp": "2026-11-20T08:41:00Z", "source": {"component": "kubelet"}}
    return [pod, event]


def dump(tmp: Path, board: str = "jh7110", items: list[dict] | None = None) -> Path:
    """The healthy dump, on a recorded board's CPU and kernel, plus the crashing pod."""
    d = tmp / "dump"
    shutil.copytree(FIX / "healthy", d)
    doc = json.loads((d / "kubectl.json").read_text())
    doc["items"].extend(crashing_pod() if items is None else items)
    (d / "kubectl.json").write_text(json.dumps(doc))
    aux = BOARDS / f"{board}.auxv"
    (d / "cpuinfo.txt").write_text((BOARDS / f"{board}.cpuinfo").read_text() + "\n" + F.AUXV_MARK + "\n"
                                   + (aux.read_text() if aux.exists() else ""))
    (d / "kernel.txt").write_text(f"release: 5.15.0-starfive\n{F.FILE_MARK} /proc/config.gz\n"
                                  + (BOARDS / f"{board}.config").read_text())
    return d


def test_the_sigill_is_real(isa_programs):
    rc, _ = run_on(isa_programs["go-rva22u64"], "sifive-u54")
    assert rc == 132


def test_the_node_section_names_profile_extensions_mmu_and_kernel(tmp_path):
    rep = analyze.analyze(collect.read(dump(tmp_path)))
    text = "\n".join(rep.node)
    assert "cpu: meets RVA20U64, no vector, MMU sv39 (isa rv64imafdc_" in text
    assert "extensions: " in text and " zba zbb" in text
    assert "kernel: 5.15.0-starfive: lacks what k3s cannot run without: CONFIG_SECCOMP" in text
    assert rep.hardware["cpu"]["profile"] == "rva20u64" and rep.hardware["kernel"]["check"]["ok"] is False


def test_sigill_on_a_known_board_is_an_isa_mismatch_without_a_registry(tmp_path, capsys):
    rc = main(["doctor", "--json", "--no-registry", "--from", str(dump(tmp_path))])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1
    (g,) = [g for g in doc["groups"] if g["cause"] == "isa-mismatch"]
    assert g["pods"] == [f"default/{POD}"] and g["images"] == [IMAGE]
    assert g["title"] == (f"1 pod cannot start: image {IMAGE} dies with SIGILL: it was built for more of the "
                          "RISC-V ISA than this board has (RVA20U64, isa rv64imafdc_zicntr_zicsr_zifencei_zihpm_"
                          "zba_zbb)")
    assert "container app exited with code 132 (128 + SIGILL)" in g["evidence"]
    assert g["fix"][0].startswith(f"archport check {IMAGE} --board root@lpi4a    # names each binary")
    assert g["fix"][1].startswith(f"archport port {IMAGE} --arch riscv64 --rebuild --profile rva20 --to ")
    assert doc["node"]["cpu"]["profile"] == "rva20u64" and doc["node"]["mmu"] == "sv39"
    # the StarFive vendor kernel's gap is named: k3s cannot run without it
    (k,) = [g for g in doc["groups"] if g["cause"] == "node-kernel-seccomp"]
    assert k["severity"] == "error" and k["title"].startswith("the kernel lacks CONFIG_SECCOMP: pods fail")


def test_the_text_report_shows_the_node_section(tmp_path, capsys):
    main(["doctor", "--no-registry", "--from", str(dump(tmp_path))])
    out = capsys.readouterr().out
    assert "cpu: meets RVA20U64, no vector, MMU sv39" in out
    assert f"image {IMAGE} dies with SIGILL" in out
    assert f"archport port {IMAGE} --arch riscv64 --rebuild --profile rva20" in out


def test_the_registry_names_the_binary_and_the_extensions(registry_plain, isa_programs, gobuild, tmp_path, capsys):
    hello = Path(__file__).resolve().parents[1] / "fixtures" / "go" / "hello"
    imgs = [ti.make_image("linux/amd64", [ti.layer_from_files({"usr/bin/app": (gobuild(hello, "amd64").read_bytes(),
                                                                                0o755)})]),
            ti.make_image("linux/riscv64", [ti.layer_from_files(
                {"usr/bin/app": (isa_programs["go-rva22u64"].read_bytes(), 0o755)})])]
    layout = ti.write_layout(tmp_path / "layout", {"t": (ti.make_index(imgs), imgs)})
    ti.push(layout, "t", f"{registry_plain.host}/{IMAGE}")
    rc = main(["doctor", "--json", "--mirror", f"docker.io={registry_plain.host}", "--mirror-only",
               "--from", str(dump(tmp_path))])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1
    (g,) = [g for g in doc["groups"] if g["cause"] == "isa-mismatch"]
    line = next(e for e in g["evidence"] if e.startswith(f"{IMAGE}: /usr/bin/app needs "))
    # the JH7110 has Zba and Zbb: what it lacks of RVA22U64 is the rest
    assert line.startswith(f"{IMAGE}: /usr/bin/app needs zbs, zfhmin, zicbom, zicboz, which the board lacks "
                           "(built with Go "), line
    assert line.endswith("GORISCV64=rva22u64)")
    assert not any(f.startswith("archport check") for f in g["fix"])
    assert g["fix"][0].startswith(f"archport port {IMAGE} --arch riscv64 --rebuild --profile rva20 ")


def test_the_k1_board_is_rebuilt_at_rva22(tmp_path):
    rep = analyze.analyze(collect.read(dump(tmp_path, "k1")))
    (g,) = [g for g in rep.groups if g.cause == "isa-mismatch"]
    assert "(RVA22U64, isa " in g.title and "--profile rva22 " in g.fix[1]


def test_without_the_cpu_it_is_sigill_and_says_how_to_find_out(tmp_path):
    facts = replace(collect.read(dump(tmp_path)), cpu=None)
    rep = analyze.analyze(facts)
    (g,) = [g for g in rep.groups if g.cause == "sigill"]
    assert g.title.endswith("dies with SIGILL (illegal instruction): a program in it uses an instruction the "
                            "CPU lacks")
    assert g.fix[0].startswith("the board's CPU was not read: archport doctor --host root@lpi4a reads it")
    assert "--profile <board's profile: rva20|rva22|rva23>" in g.fix[1]


DESCRIBE = f"""$ kubectl describe pod {POD}
Name:             {POD}
Namespace:        default
Node:             vf2/192.168.1.50
Status:           Running
Containers:
  app:
    Container ID:   containerd://9d1c2f0e7b6a
    Image:          {IMAGE}
    Image ID:       docker.io/{IMAGE}@sha256:4c2d8e1f
    Port:           <none>
    State:          Waiting
      Reason:       CrashLoopBackOff
    Last State:     Terminated
      Reason:       Error
      Exit Code:    132
      Started:      Fri, 20 Nov 2026 08:40:31 +0000
      Finished:     Fri, 20 Nov 2026 08:40:31 +0000
    Ready:          False
    Restart Count:  3
Events:
  Type     Reason     Age                From               Message
  ----     ------     ----               ----               -------
  Normal   Pulled     40s (x4 over 2m)   kubelet            Container image "{IMAGE}" already present on machine
  Warning  BackOff    12s (x6 over 1m)   kubelet            Back-off restarting failed container app in pod {POD}_default({UID})
$ kubectl logs {POD}
SIGILL: illegal instruction
PC=0x9a3c4 m=0 sigcode=1
"""


def test_a_pasted_describe_with_exit_code_132(tmp_path, capsys):
    p = tmp_path / "paste.txt"
    p.write_text(DESCRIBE)
    rc = main(["doctor", "--json", "--no-registry", "--from-text", str(p)])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1
    (g,) = [g for g in doc["groups"] if g["cause"] == "sigill"]
    assert g["images"] == [IMAGE] and g["pods"] == [f"default/{POD}"]
    assert any("illegal instruction" in e.lower() or "132" in e for e in g["evidence"])


def test_kernel_gaps_named_where_they_explain_a_failure(tmp_path):
    facts = collect.read(dump(tmp_path, "k1", items=[]))
    k = facts.kernel
    assert k is not None
    # nothing failing and no blocking gap on the K1's config: no kernel finding
    rep = analyze.analyze(facts)
    assert not [g for g in rep.groups if g.cause.startswith("node-kernel-")]
    # a kernel with no vxlan under flannel's default backend, and no legacy iptables under a failing svclb pod
    text = (BOARDS / "k1.config").read_text()
    for opt in ("VXLAN", "IP_NF_IPTABLES"):
        text = text.replace(f"CONFIG_{opt}=m\n", "").replace(f"CONFIG_{opt}=y\n", "")
    from archport.node.kernel import check_config
    svclb = crashing_pod("rancher/klipper-lb:v0.3.5", "svclb-traefik-7x9q2", "kube-system")
    facts = replace(collect.read(dump(tmp_path / "b", "k1", items=svclb)), kernel=check_config(text), cpu=None)
    rep = analyze.analyze(facts)
    causes = {g.cause: g for g in rep.groups}
    assert "node-kernel-vxlan" in causes and "flannel" in causes["node-kernel-vxlan"].title
    lb = causes["node-kernel-iptables-legacy"]
    assert lb.pods == ["kube-system/svclb-traefik-7x9q2"] and "ServiceLB" in lb.title


def test_a_seccomp_failure_is_tied_to_the_kernel(tmp_path):
    pod, event = crashing_pod()
    status = pod["status"]["containerStatuses"][0]
    status["lastState"] = {}
    status["state"] = {"waiting": {"reason": "CreateContainerError", "message": (
        "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create "
        "failed: unable to start container process: error during container init: seccomp: config provided but "
        "seccomp not supported: unknown")}}
    rep = analyze.analyze(collect.read(dump(tmp_path, items=[pod])))
    (k,) = [g for g in rep.groups if g.cause == "node-kernel-seccomp"]
    assert k.pods == [f"default/{POD}"]
    owner = next(g for g in rep.groups if f"default/{POD}" in g.pods and g is not k)
    assert any("CONFIG_SECCOMP" in c for c in owner.consequences)


def test_blocking_lines_one_per_item():
    from archport.node.kernel import check_config
    k = check_config((BOARDS / "jh7110.config").read_text())
    assert hardware.blocking_lines(k) == [
        "CONFIG_SECCOMP: pods fail to start: the runtime's default seccomp profile cannot be loaded"]


def test_collect_saves_the_board_and_doctor_reads_it_back(sshd_server, tmp_path, capsys):
    """Over a real sshd: collect's dump holds the CPU and the kernel, and doctor
    shows the same board live and from the dump."""
    import platform as host
    import struct

    from tests.support.board import install_standin, make_root

    install_standin(sshd_server.bin_dir)
    root = make_root(tmp_path / "board")
    (root / "proc/cpuinfo").write_text((BOARDS / "jh7110.cpuinfo").read_text())
    (root / "proc/self").mkdir(parents=True)
    (root / "proc/self/auxv").write_bytes(struct.pack("=6Q", 6, 4096, 16, 0x112D, 0, 0))
    (root / "boot").mkdir()
    (root / "boot" / f"config-{host.release()}").write_text((BOARDS / "jh7110.config").read_text())
    ssh = ["--host", sshd_server.destination, "--root", str(root)]
    for o in sshd_server.ssh_options():
        ssh += ["-o", o]
    out = tmp_path / "dump.tar.gz"
    assert main(["collect", "--json", *ssh, "--out", str(out)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["node"]["cpu"]["profile"] == "rva20u64" and doc["node"]["cpu"]["hwcap"] == "0x112d"
    assert doc["node"]["kernel"]["release"] == host.release()
    assert doc["node"]["kernel"]["check"]["missing"][0]["options"] == ["CONFIG_SECCOMP"]
    for args in (["--from", str(out)], ssh):
        main(["doctor", "--json", "--no-registry", *args])
        rep = json.loads(capsys.readouterr().out)
        assert rep["node"]["cpu"]["extensions"] == doc["node"]["cpu"]["extensions"]
        assert rep["node"]["kernel"]["config"] == f"/boot/config-{host.release()}"
        assert "node-kernel-seccomp" in {g["cause"] for g in rep["groups"]}
