"""The confined side of the emulated fallback: run as a script, standard library only.

``python -I -S _jail.py SPEC STATUS_FD`` (started by :mod:`.sandbox`) puts
the program in new mount, PID, network, IPC and UTS namespaces and a new user
namespace, with the extracted root filesystem as its root (under an overlay
whose writable layer is a size-limited tmpfs, and with RLIMIT_NPROC and
RLIMIT_FSIZE set: what it may write and how many processes it may run are
bounded), then execs qemu
(copied into that root) on the image's program.  A setup failure is written
to STATUS_FD and the process exits 125, before any image code runs; a
successful exec closes STATUS_FD empty.

As host root the namespaces other than the user namespace are made first,
while the process may still mount; it then drops to the unprivileged uid and
enters a user namespace of its own that owns none of them (mapping that uid to
0 inside), so the program cannot undo the mounts.  As any other user the user
namespace comes first (user_namespaces(7)) and owns the rest.  Either way the
old root is detached after ``pivot_root`` (pivot_root(2): ``pivot_root(".",
".")`` then ``umount2(".", MNT_DETACH)``), so no host path stays reachable.
"""

import ctypes
import fcntl
import json
import os
import platform
import resource
import signal
import socket
import stat
import struct
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 8, 4096, 0x4000, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38
# pivot_root has no glibc wrapper: syscall numbers from the kernel's tables.
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "loongarch64": 41, "ppc64le": 203,
                  "ppc64": 203, "s390x": 217, "i686": 217, "armv7l": 218}
DEVICES = ("null", "zero", "full", "random", "urandom")

libc = ctypes.CDLL(None, use_errno=True)


def _call(what: str, rc: int) -> None:
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def unshare(flags: int, what: str) -> None:
    _call(f"unshare({what})", libc.unshare(ctypes.c_int(flags)))


def mount(src, target: str, fstype, flags: int, data=None) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _call(f"mount {target}", libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)))


def map_ids(uid: int, gid: int) -> None:
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"0 {uid} 1\n")
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny\n")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"0 {gid} 1\n")


def real_dir(name: str) -> bool:
    """``name`` (relative to the new root) is a directory and not a symlink,
    creating it when absent: a mount never follows a link the image planted."""
    try:
        st = os.lstat(name)
    except FileNotFoundError:
        os.mkdir(name, 0o755)
        return True
    return stat.S_ISDIR(st.st_mode)


def loopback_up() -> None:
    """Bring ``lo`` of the new network namespace up (netdevice(7):
    SIOCGIFFLAGS/SIOCSIFFLAGS with IFF_UP), for a readiness probe to reach."""
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        flags = struct.unpack("16sh", fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sh", b"lo", 0)))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))


def writable_root(root: str, scratch: str, cap: int, owner) -> str:
    """The extracted root under an overlay whose upper layer is a tmpfs of
    ``cap`` bytes, mounted on ``scratch``: every write the program makes
    lands there, so it is bounded (ENOSPC past the cap) and vanishes with
    the mount namespace; the extracted tree itself is never written.
    ``owner``: (uid, gid) the program runs as (host root's case), who must
    own the upper root to write where the extracted root let it."""
    if any(c in root + scratch for c in ",:\\"):
        raise OSError(0, f"overlay: unusable path {root!r}")
    mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, f"size={cap},mode=700")
    upper, work, merged = (os.path.join(scratch, d) for d in ("upper", "work", "merged"))
    for d in (upper, work, merged):
        os.mkdir(d, 0o755)
    st = os.stat(root)
    os.chmod(upper, stat.S_IMODE(st.st_mode))
    if owner is not None:
        os.chown(upper, st.st_uid, st.st_gid)
    data = f"lowerdir={root},upperdir={upper},workdir={work}" + ("" if owner is not None else ",userxattr")
    mount("overlay", merged, "overlay", MS_NOSUID, data)
    return merged


def enter_root(root: str, scratch: str, cap: int, owner) -> None:
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    os.chdir(writable_root(root, scratch, cap, owner))
    if real_dir("proc"):
        mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    if real_dir("dev"):
        mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=64k")
        for d in DEVICES:
            open(f"dev/{d}", "w").close()
            mount(f"/dev/{d}", f"dev/{d}", None, MS_BIND)
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise OSError(0, f"pivot_root: no syscall number known for {platform.machine()}")
    _call("pivot_root", libc.syscall(ctypes.c_long(number), b".", b"."))
    _call("umount old root", libc.umount2(b".", ctypes.c_int(MNT_DETACH)))
    os.chdir("/")


def main() -> None:
    spec = json.loads(sys.argv[1])
    status = int(sys.argv[2])
    uid, gid = spec["uid"], spec["gid"]
    as_root = os.geteuid() == 0
    try:
        rest = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
        if as_root:
            unshare(rest, "mount, pid, net, ipc, uts")
        else:
            unshare(CLONE_NEWUSER | rest, "user, mount, pid, net, ipc, uts")
            map_ids(os.geteuid(), os.getegid())
        if spec.get("loopback"):
            loopback_up()
        child = os.fork()       # the first child is pid 1 of the new PID namespace
    except OSError as e:
        os.write(status, str(e).encode())
        os._exit(125)
    if child:
        os.close(status)
        _, st = os.waitpid(child, 0)
        os._exit(os.waitstatus_to_exitcode(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st))
    try:
        _call("prctl", libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0))
        enter_root(spec["root"], spec["scratch"], spec["max_write"], (uid, gid) if as_root else None)
        try:
            os.chdir(spec["workdir"])
        except OSError:
            pass
        if as_root:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            # A change of uid makes the process non-dumpable, which leaves its
            # /proc/self files to root (proc(5)): take them back to write the maps.
            _call("prctl", libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
            unshare(CLONE_NEWUSER, "user")
            map_ids(uid, gid)
        # Counted per user namespace (kernel 5.14+, ucounts): the program's
        # own processes and threads, qemu's included, not the host's.
        resource.setrlimit(resource.RLIMIT_NPROC, (spec["max_processes"], spec["max_processes"]))
        # One file past the cap fails at once (SIGXFSZ is ignored: EFBIG).
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (spec["max_write"], spec["max_write"]))
        _call("prctl", libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
        os.set_inheritable(status, False)
        os.execve(spec["argv"][0], spec["argv"], spec["env"])
    except OSError as e:
        os.write(status, str(e).encode())
        os._exit(125)


if __name__ == "__main__":
    main()
