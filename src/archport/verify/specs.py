"""The objects verify creates, as plain data (kubectl takes JSON as well as YAML).

Every check pod: the namespace :data:`NAMESPACE`, ``restartPolicy: Never``,
``imagePullPolicy: IfNotPresent`` and the image the node already uses for
local-path's helper pod, so nothing is pulled that the node would not pull
anyway.  Each pod prints a marker line that the check looks for in its log.
"""

from __future__ import annotations

NAMESPACE = "archport-verify"
LABEL = {"app.kubernetes.io/managed-by": "archport-verify"}
DNS_NAMES = ("kubernetes.default.svc.cluster.local", "kube-dns.kube-system.svc.cluster.local")
MARK = "archport-verify:"


def namespace() -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": dict(LABEL)}}


def _pod(name: str, image: str, script: str, volumes: list | None = None, mounts: list | None = None,
         node: str = "") -> dict:
    spec: dict = {
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "check", "image": image, "imagePullPolicy": "IfNotPresent",
                        "command": ["sh", "-c", script]}],
    }
    if node:
        spec["nodeSelector"] = {"kubernetes.io/hostname": node}
    if volumes:
        spec["volumes"] = volumes
        spec["containers"][0]["volumeMounts"] = mounts or []
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(LABEL)}, "spec": spec}


def dns_pod(image: str, server: str, node: str = "") -> dict:
    """Resolve each name through ``server`` (the cluster DNS Service's IP)."""
    lines = [f'nslookup {n} {server} && echo "{MARK} resolved {n}"' for n in DNS_NAMES]
    return _pod("dns", image, " && ".join(lines), node=node)


def pvc(storage_class: str = "local-path") -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": NAMESPACE, "labels": dict(LABEL)},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                     "resources": {"requests": {"storage": "16Mi"}}}}


def _data_volume() -> tuple[list, list]:
    return ([{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
            [{"name": "data", "mountPath": "/data"}])


def writer_pod(image: str, token: str, node: str = "") -> dict:
    vols, mounts = _data_volume()
    return _pod("writer", image, f'echo {token} > /data/check && sync && echo "{MARK} wrote"', vols, mounts, node)


def reader_pod(image: str, node: str = "") -> dict:
    vols, mounts = _data_volume()
    return _pod("reader", image, f'echo "{MARK} read $(cat /data/check)"', vols, mounts, node)


def http_pod(image: str, address: str, port: str, node: str = "") -> dict:
    """Ask ``address:port`` for a host nobody routes: traefik answers 404.
    busybox wget exits non-zero on 404, so its header lines are what counts."""
    url = f"http://{address}:{port}/"
    return _pod("http", image, f'wget -S -O /dev/null --header "Host: archport-verify.invalid" {url} 2>&1; '
                               f'echo "{MARK} done"', node=node)
