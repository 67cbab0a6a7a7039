"""The riscv64 test bed: a real Kubernetes node on an x86 machine, shaped like
a k3s board.

The node is real components, built from source and cached by version
(build.py): etcd, kube-apiserver, kube-controller-manager and kube-scheduler
for the host, a kubelet built for riscv64 and run by qemu-user through
binfmt_misc (so the node reports ``kubernetes.io/arch=riscv64``, as a board
does), and a native containerd whose one change is the platform it selects:
linux/riscv64.  Such a runtime pulls what a riscv64 board pulls, fails where
a board fails (``no match for platform in manifest: not found``) and runs
riscv64 containers under qemu-user.

The board lives in its own namespaces (node.py): a mount namespace in which
``/etc/rancher/k3s`` and ``/var/lib/rancher/k3s`` are the bed's directories
and kubelet's sysctl writes land on stand-in files, and a network namespace
with only loopback and CNI's bridge, so the host's links, mounts and sysctls
stay as they were.  Loopback forwarders (forward.py) join the two loopbacks
on chosen ports.  paths.py is the one place that knows ports and paths;
supervise.py keeps the pids in the bed's directory so that ``down`` can stop
everything.  The k3s stand-in (testbed/k3s) sits on top of the node, and
``testbed.k3s.up()`` brings the two up together.  The images the bed's
UPSTREAM serves are built by the repository's ``standins`` package, which the
tests and the acceptance run share.

Use ``scripts/testbed.sh up|down|status|env``.
"""
