"""The fix for each root cause: exact archport / k3s commands or config edits.

Texts are data keyed by rule id; ``{image}`` is the image as the user wrote it
(familiar form), ``{platform}`` the node's platform, ``{host}`` the registry
host the failing request went to, ``{mirror}`` the mirror endpoint from
registries.yaml.  k3s facts used here: registries.yaml ``mirrors``/``configs``
(docs "Private Registry Configuration"), config.yaml ``pause-image`` and
``system-default-registry`` (``k3s server --help``).  Where archport has a
command for the change (``archport deploy`` writes registries.yaml and the
pause image on the boards and restarts k3s), the fix names it rather than an
edit by hand; ``{board}`` is the board as doctor was told it, else a
``<board>`` placeholder.
"""

from __future__ import annotations

from ..node.paths import CONFIG, DATA, DROPIN, IMAGES, REGISTRIES

# Linux 6.4 added no4lvl/no5lvl to riscv: the kernel then stays at Sv48/Sv39.
NO5LVL = "boot the board's kernel with no5lvl on its command line (riscv Linux ≥ 6.4), so it uses Sv48 paging"

FIXES: dict[str, tuple[str, ...]] = {
    "no-platform": (
        "archport port {image} --arch {arch} --to <your-registry>/<prefix>    # build the missing {platform} "
        "variant, keeping the image's contract, appended to the upstream index",
        "then point the board at it: archport deploy --registry <your-registry>/<prefix> --host {board}    "
        "# mirrors the upstream registries to it in " + REGISTRIES + " and restarts k3s",
        "or, for a board that reaches no registry: add --airgap archport.tar.zst to the port command, then "
        "archport deploy --airgap archport.tar.zst --host {board}",
    ),
    "clock": (
        "the board's clock is {clock}: set it (timedatectl set-ntp true, or date -s) — boards without an RTC "
        "start in the past and every certificate looks not yet valid",
    ),
    "never-pull": (
        "import the image under its fully qualified name, as the kubelet asks for it: "
        "k3s ctr -n k8s.io images tag {local} {normalized}  (k3s issue 7015)",
        "or write an OCI-layout tarball with the full name: archport airgap {image} --out "
        + IMAGES + "/{slug}.tar",
    ),
    "invalid-name": ("correct the image reference in the workload spec ({image!r} does not parse)",),
    "disk-full": (
        "free space under " + DATA + " (k3s crictl rmi --prune removes unused images)",
    ),
    "rate-limit": (
        "authenticate pulls in " + REGISTRIES + " (configs.\"{host}\".auth), or pull through a mirror "
        "(mirrors: docker.io: endpoint: [...])",
    ),
    "tls-scheme": (
        "the endpoint {mirror} speaks plain HTTP: write it as http://… in " + REGISTRIES
        + " (mirrors.<registry>.endpoint), then restart k3s",
    ),
    "tls-cert": (
        "give containerd the registry's CA: configs.\"{host}\".tls.ca_file in " + REGISTRIES,
    ),
    "wrong-arch": (
        "the tag holds binaries for another architecture (a single-arch image pulls without complaint): "
        "archport check {image}",
        "archport port {image} --arch {arch} --to <your-registry>/<prefix>    # build a real {platform} variant",
    ),
    # Used when the board's CPU is unknown (pasted text); with it, doctor.hardware writes the fix.
    "sigill": (
        "archport check {image} --board {board}    # names each binary that needs an extension the board lacks",
        "archport port {image} --arch {arch} --rebuild --profile <board's profile: rva20|rva22|rva23> --to "
        "<your-registry>/<prefix>    # rebuild its binaries for the board's profile",
    ),
    "go-sv57": (
        "archport port {image} --arch {arch} --rebuild --to <your-registry>/<prefix>    # rebuild with a "
        "current Go (≥ 1.20), replacing the {platform} image; the other platforms stay as they are",
        "or {no5lvl}",
    ),
    "entrypoint": (
        "the image does not keep the upstream contract (the program the manifest runs is not on PATH): "
        "archport check {image}",
        "rebuild it with archport port {image} --arch {arch} --to <your-registry>/<prefix>, which keeps "
        "Entrypoint, Env (PATH) and file paths",
    ),
    "unauthorized": (
        "add credentials for {host} in " + REGISTRIES + " (configs.\"{host}\".auth.username/password)",
        "on Docker Hub a repository that does not exist answers like a private one: check the name {image}",
    ),
    "not-found": (
        "check the name and tag of {image}; on Docker Hub a repository that does not exist answers "
        "exactly like a private one (pull access denied / 401)",
    ),
    "network": (
        "the node cannot reach {host}: give it a registry it reaches, as its mirror: archport deploy --registry "
        "<reachable-registry>[/<prefix>] --host {board}    # writes the mirrors into " + REGISTRIES,
        "or pre-load the images: archport airgap {images} --out archport.tar, then archport deploy --airgap "
        "archport.tar --host {board}",
    ),
    "sandbox": (
        "the pod sandbox cannot be created; see the quoted error. The sandbox image is k3s's pause-image "
        "(" + CONFIG + " or a drop-in beside it): archport deploy --pause-image "
        "<registry>/rancher/mirrored-pause:3.6 --host {board} sets it in " + DROPIN,
    ),
    # The kubelet's back-off names no reason: the earlier Failed event does.
    "pull-failed": (
        "the pull error itself is not in these lines: kubectl describe pod shows it (the Failed event before "
        "the back-off), and archport doctor --host {board} reads it from the node",
        "archport inspect {image}    # which platforms the tag offers; a missing {platform} is built with "
        "archport port {image} --arch {arch} --to <your-registry>/<prefix>",
    ),
    "cri-socket": (
        "k3s crictl pull {image}    # k3s's crictl talks to k3s's containerd "
        "(unix:///run/k3s/containerd/containerd.sock); a plain crictl tries other runtimes' sockets",
    ),
    "unclassified": (
        "no rule matches the lines above (the node's own words): kubectl describe pod for the pods involved, "
        "or archport doctor --host {board}, which reads pods, events, the journal and containerd.log together, "
        "says more",
    ),
    "unknown": ("no rule matched; the evidence above is the node's own message",),
}

PAUSE_EXTRA = (
    "or point k3s at a pause image that has {platform}: archport deploy --pause-image "
    "<your-registry>/rancher/mirrored-pause:3.6 --host {board}    # sets pause-image: in the drop-in "
    + DROPIN + ", which k3s merges after config.yaml",
)


def render(cause: str, sandbox: bool = False, **values: str) -> list[str]:
    lines = list(FIXES.get(cause, FIXES["unknown"]))
    # A value the evidence did not give (a pasted log line names no image)
    # stays a visible <placeholder>, never an empty gap in a command.
    values = {k: v for k, v in values.items() if v}
    values.setdefault("no5lvl", NO5LVL)
    if "platform" in values and "arch" not in values:
        values["arch"] = values["platform"].split("/")[1] if values["platform"].count("/") else values["platform"]
    if sandbox and cause in ("no-platform", "network", "not-found", "wrong-arch"):
        lines += PAUSE_EXTRA
    out = []
    for line in lines:
        try:
            out.append(line.format_map(_Default(values)))
        except (ValueError, IndexError):
            out.append(line)
    return out


class _Default(dict):
    def __missing__(self, key: str) -> str:
        return "<" + key + ">"
