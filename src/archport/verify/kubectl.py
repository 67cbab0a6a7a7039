"""kubectl where it can reach the cluster, and what its errors mean: whether
the API server answered at all, and its message without the advice it gives
its own users."""

from __future__ import annotations

import json
import re
import shlex

from ..errors import BadInput
from ..remote import Connector, Local, Result, Unreachable

HEREDOC = "ARCHPORT_VERIFY_EOF"

# How long the first call may take to learn that the API server answers at
# all: a refused connection fails at once, a server that accepts and never
# answers is cut off by kubectl's own --request-timeout.
PROBE = 5

# What kubectl (client-go) prints when it never got an answer: a refused or
# reset connection, a name that does not resolve, a deadline.
_NO_ANSWER = re.compile(r"Unable to connect to the server|connection to the server .* was refused|"
                        r"connection refused|connection reset|no such host|i/o timeout|deadline exceeded|"
                        r"Client\.Timeout|timed out after|TLS handshake timeout|no route to host", re.I)

# kubectl's advice is for kubectl's user, not ours (we never turn validation
# off, and the host and port come from the kubeconfig or the board).
_ADVICE = re.compile(r"\s*(?:;\s*if you choose to ignore these errors, turn validation off with "
                     r"--validate=false|\s*-\s*did you specify the right host or port\?)", re.I)


# The shell's status for a command it cannot find (POSIX sh, 2.9.1 "Command
# Search and Execution"): on a board, `k3s` itself is not installed.
_NOT_FOUND = 127


# kubectl could not read its kubeconfig (client-go clientcmd's loader and validation).
_BAD_CONFIG = re.compile(r"error loading config file|invalid configuration", re.I)

# klog's line header (I/W/E/F, MMDD, time): kubectl's -v log, not its message.
_KLOG = re.compile(r"^[IWEF]\d{4} \d")
# The request line -v=6 logs (client-go round_trippers): the server's URL.
_REQUEST = re.compile(r"\b(?:GET|POST|PUT|PATCH|DELETE) (https?://[^/\s?]+)")


def kubectl_message(stderr: str) -> str:
    """kubectl's error as one line, without its advice to kubectl users."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not _KLOG.match(ln)]
    text = lines[-1] if lines else ""
    return _ADVICE.sub("", text).removeprefix("error: ").strip()


class Kubectl:
    """``kubectl`` where it can reach the cluster: ``k3s kubectl`` on a board
    (through an SSH or local connector), or a local ``kubectl --kubeconfig``.
    ``on_node`` runs node-side tools (``crictl``) and exists only on a board."""

    def __init__(self, connector: Connector, prefix: str = "k3s kubectl", on_node: bool = True, name: str = "") -> None:
        self.connector = connector
        self.prefix = prefix
        self.on_node = on_node
        self.name = name or getattr(connector, "name", "")
        self.cap: float | None = None     # no call waits longer (verify sets it from --timeout)
        # The board's name in a sentence.
        self.where = "this machine" if isinstance(connector, Local) and on_node else self.name

    def run(self, *args: str, stdin: str | None = None, timeout: float = 60) -> Result:
        cmd = f"{self.prefix} {shlex.join(args)}"
        if stdin is not None:
            cmd += f" <<'{HEREDOC}'\n{stdin}\n{HEREDOC}"
        return self.connector.run(cmd, timeout=min(timeout, self.cap) if self.cap else timeout)

    def unreachable(self, seconds: float) -> str:
        """Why the API server cannot be reached ("" when it answers, even with
        an error: then the checks say what is wrong)."""
        limit = max(1, int(seconds))
        try:
            # -v=6 logs the request, so the server's URL is known without a
            # second kubectl (even `config view` may wait on the server).
            r = self.run("get", "--raw", "/readyz", f"--request-timeout={limit}s", "-v=6", timeout=2 * limit + 2)
        except Unreachable as e:        # the board itself (ssh) did not answer
            return str(e)
        if r.rc == _NOT_FOUND and self.on_node:
            # Nothing to poll for: no k3s will appear while we wait.
            raise Unreachable(f"{self.where} has no k3s (`k3s` is not on its PATH): run verify on a k3s "
                              "server (install k3s there, or name it with --host [USER@]HOST[:PORT]), or "
                              "reach a cluster with --kubeconfig FILE")
        if r.rc != 0 and _BAD_CONFIG.search(r.stderr) and not self.on_node:
            raise BadInput(f"--kubeconfig {self.name}: {kubectl_message(r.stderr)}")    # the user's file
        if r.rc == 0 or not _NO_ANSWER.search(r.stderr + r.stdout):
            return ""
        url = _REQUEST.search(r.stderr)
        server = url.group(1) if url else ""
        why = kubectl_message(r.stderr) or f"no answer within {limit}s"
        # On a board, k3s is installed (the command ran) but its server is not up.
        hint = f"; is k3s running on {self.where}? (systemctl status k3s)" if self.on_node else ""
        return f"cannot reach the API server at {server or 'the kubeconfig server'}: {why}{hint}"

    def json(self, *args: str, timeout: float = 60) -> dict | None:
        r = self.run(*args, "-o", "json", timeout=timeout)
        if r.rc != 0:
            return None
        try:
            doc = json.loads(r.stdout)
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None

    def raw(self, path: str, timeout: float = 30) -> dict | None:
        r = self.run("get", "--raw", path, timeout=timeout)
        try:
            return json.loads(r.stdout) if r.rc == 0 else None
        except ValueError:
            return None

    def apply(self, *objects: dict) -> Result:
        doc = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
        return self.run("apply", "-f", "-", stdin=json.dumps(doc), timeout=60)

    def inspect_image(self, image_id: str) -> dict | None:
        """``crictl inspecti -o json`` on the node (crictl, else ``k3s crictl``)."""
        if not self.on_node:
            return None
        q = shlex.quote(image_id)
        r = self.connector.run(f"crictl inspecti -o json {q} 2>/dev/null || k3s crictl inspecti -o json {q}",
                               timeout=60)
        try:
            return json.loads(r.stdout) if r.rc == 0 else None
        except ValueError:
            return None
