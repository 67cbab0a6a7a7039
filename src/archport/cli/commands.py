"""The commands, in the order a user meets them, with a summary and examples.

``archport --help`` is built from this table alone, without importing any
command's module: start-up time is paid by every script that calls archport
(the module is imported only for the command being run or asked about).
The order follows the journey: find out what is wrong (doctor, audit), make
the missing images (port, check, smoke), put them somewhere (copy, index,
airgap), configure and prove the boards (deploy, verify), then the tools
used along the way.
"""

from __future__ import annotations

from typing import NamedTuple


class Command(NamedTuple):
    name: str
    summary: str        # the command's ``help=``: one line in ``archport --help``
    examples: str       # the epilog of ``archport NAME --help``: commands, each after a "#" line


COMMANDS: tuple[Command, ...] = (
    Command("doctor", "explain why pods fail on a k3s node (live, over SSH, or from a dump or pasted text)", """\
  # this machine, then a board over SSH
  archport doctor
  archport doctor --host root@192.168.1.20
  # text pasted from a board: kubectl get pods -A, crictl pull, journalctl -u k3s
  archport doctor --from-text pasted.txt"""),
    Command("audit", "list every image a k3s node needs, where it pulls each from, and which lack its platform",
            """\
  # what a k3s release needs that has no linux/riscv64 image
  archport audit --k3s 1.33
  # what the boards of an inventory run and pull
  archport audit --inventory boards.yaml"""),
    Command("port", "give images (or a whole k3s release) the platform their tags lack", """\
  # say what would be done for a release, without building
  archport port --k3s 1.33 --explain
  # build the missing linux/riscv64 images and push them to a local registry
  archport port --k3s 1.33 --to 192.168.1.10:5000 \\
      --plain-http 192.168.1.10:5000
  # one image, into an OCI layout
  archport port rancher/mirrored-pause:3.6 --to oci:out"""),
    Command("check", "prove an image's entrypoint resolves to an executable for the platform", """\
  archport check 192.168.1.10:5000/rancher/mirrored-pause:3.6 \\
      --platform linux/riscv64 --plain-http 192.168.1.10:5000
  # also require the ISA extensions the board's CPU has
  archport check 192.168.1.10:5000/rancher/klipper-lb:v0.4.9 \\
      --board root@192.168.1.20 --plain-http 192.168.1.10:5000"""),
    Command("smoke", "run an image's platform under emulation and report exit code and output", """\
  archport smoke 192.168.1.10:5000/rancher/mirrored-pause:3.6 \\
      --platform linux/riscv64 --plain-http 192.168.1.10:5000
  # arguments after -- go to the container
  archport smoke --plain-http 192.168.1.10:5000 \\
      192.168.1.10:5000/rancher/klipper-lb:v0.4.9 -- --help"""),
    Command("copy", "copy an image between registries, OCI layouts and archives", """\
  # every platform, to a registry of your own
  archport copy --all --plain-http 192.168.1.10:5000 \\
      rancher/mirrored-pause:3.6 192.168.1.10:5000/rancher/mirrored-pause:3.6
  # one platform, into a file docker load reads
  archport copy --platform linux/riscv64 --plain-http 192.168.1.10:5000 \\
      192.168.1.10:5000/rancher/mirrored-pause:3.6 docker-archive:pause.tar"""),
    Command("index", "edit multi-arch indexes in a registry", """\
  # add a riscv64 manifest to the index a tag points at
  archport index add 192.168.1.10:5000/rancher/mirrored-pause:3.6 \\
      --manifest 192.168.1.10:5000/rancher/mirrored-pause:3.6-riscv64 \\
      --plain-http 192.168.1.10:5000"""),
    Command("airgap", "write an image archive for /var/lib/rancher/k3s/agent/images/", """\
  archport airgap --out images.tar.zst --platform linux/riscv64 \\
      --plain-http 192.168.1.10:5000 \\
      192.168.1.10:5000/rancher/mirrored-pause:3.6"""),
    Command("deploy", "configure k3s boards to pull the ported images (registries.yaml, drop-in, airgap)", """\
  # show the changes, then make them
  archport deploy --host root@192.168.1.20 --registry 192.168.1.10:5000 \\
      --plain-http 192.168.1.10:5000 --dry-run
  archport deploy --inventory boards.yaml --registry 192.168.1.10:5000 \\
      --plain-http 192.168.1.10:5000 --yes
  # on the board itself
  archport deploy --host localhost --airgap images.tar.zst"""),
    Command("verify", "prove a k3s node is healthy: nodes, system pods, DNS, storage, metrics, ingress", """\
  archport verify --host root@192.168.1.20
  # with a kubeconfig copied from the board (/etc/rancher/k3s/k3s.yaml)
  archport verify --kubeconfig k3s.yaml"""),
    Command("inspect", "list the platforms a tag offers and each platform's config contract", """\
  archport inspect rancher/mirrored-pause:3.6
  archport inspect oci:out:pause --files"""),
    Command("collect", "save what doctor reads (pods, events, logs, k3s config) as a redacted dump", """\
  archport collect --host root@192.168.1.20 --out board.tar.gz
  # then, anywhere
  archport doctor --from board.tar.gz"""),
    Command("catalog", "show what archport knows about k3s releases and their system images", """\
  archport catalog list
  archport catalog release 1.33
  archport catalog update
  archport catalog show klipper-helm"""),
    Command("ls", "list the tags of a registry repository", """\
  archport ls 192.168.1.10:5000/rancher/mirrored-pause \\
      --plain-http 192.168.1.10:5000"""),
)

# ``archport --help``'s epilog: the journey, one command a step.
JOURNEY = """\
  # why do pods fail on the board, and which images lack linux/riscv64?
  archport doctor --host root@192.168.1.20
  archport audit --k3s 1.33
  # build the missing images, prove them, push them to your registry
  archport port --k3s 1.33 --to 192.168.1.10:5000 \\
      --plain-http 192.168.1.10:5000
  # point the board's k3s at them, then check the node
  archport deploy --host root@192.168.1.20 --registry 192.168.1.10:5000 \\
      --plain-http 192.168.1.10:5000
  archport verify --host root@192.168.1.20
  # each command's options and examples
  archport COMMAND --help"""

NAMES: tuple[str, ...] = tuple(c.name for c in COMMANDS)
BY_NAME: dict[str, Command] = {c.name: c for c in COMMANDS}
