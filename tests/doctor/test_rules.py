"""Rule table tests on real error strings.

Each string is quoted from the named source.  Public registry hosts and
non-loopback addresses in them are replaced by ``docker.io`` / 127.0.0.1 (our
tests never name other hosts); everything else is verbatim.
"""

import pytest

from archport.doctor.normalize import normalize, unescape
from archport.doctor.rules import classify, rank, secondary

CASES = [
    # (source, text, reason, expected cause, sandbox)
    ("rancher/rancher-cleanup#104 (kubectl describe event)",
     'Failed to pull image "rancher/rancher-cleanup:latest": rpc error: code = NotFound desc = failed to pull and '
     'unpack image "docker.io/rancher/rancher-cleanup:latest": no match for platform in manifest: not found',
     "", "no-platform", False),
    ("rancher/k3os#572 (kuberuntime_manager.go log, containerd 1.3)",
     'container start failed: ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack image '
     '"docker.io/rancher/rancher-agent:v2.4.6-rc10": failed to unpack image on snapshotter overlayfs: no match for '
     'platform in manifest sha256:ff4372e3e2624ae79a52fca8a7c933b20b9b9008ba91ba9245bb6f8a7308372d: not found',
     "", "no-platform", False),
    ("k0sproject/k0s#1919 (journal, double-escaped; pause host replaced)",
     'E1012 00:04:30.485999    2529 kuberuntime_sandbox.go:72] \\"Failed to create sandbox for pod\\" err=\\"rpc '
     'error: code = NotFound desc = failed to get sandbox image \\\\\\"rancher/mirrored-pause:3.6\\\\\\": failed to '
     'pull image \\\\\\"rancher/mirrored-pause:3.6\\\\\\": failed to pull and unpack image \\\\\\"rancher/mirrored-'
     'pause:3.6\\\\\\": no match for platform in manifest: not found\\" pod=\\"kube-system/kube-router-xmbhl\\"',
     "", "no-platform", True),
    ("k3s-io/k3s#11412 (FailedCreatePodSandBox; host and address replaced)",
     'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox image '
     '"rancher/mirrored-pause:3.6": failed to pull image "rancher/mirrored-pause:3.6": failed to pull and unpack '
     'image "docker.io/rancher/mirrored-pause:3.6": failed to resolve reference "docker.io/rancher/mirrored-pause:3.6"'
     ': failed to do request: Head "https://docker.io/v2/rancher/mirrored-pause/manifests/3.6": dial tcp '
     '127.0.0.1:443: connect: connection refused',
     "FailedCreatePodSandBox", "network", True),
    ("k3s-io/k3s#10926 (code DeadlineExceeded, message cut by the user)",
     'Failed to create pod sandbox: rpc error: code = DeadlineExceeded desc = failed to get sandbox image '
     '"rancher/mirrored-pause:3.6": failed to pull image "rancher/mirrored-pause:3.6": failed to pull and unpack '
     'image "docker.io/rancher/mirrored-pause:3.6"',
     "FailedCreatePodSandBox", "network", True),
    ("k3s-io/k3s#12551 (mirror is plain HTTP; address replaced)",
     'Failed to pull image "127.0.0.1:8082/helloworld:latest": failed to pull and unpack image '
     '"127.0.0.1:8082/helloworld:latest": failed to resolve reference "127.0.0.1:8082/helloworld:latest": failed to '
     'do request: Head "https://127.0.0.1:8082/v2/helloworld/manifests/latest": http: server gave HTTP response to '
     'HTTPS client', "", "tls-scheme", False),
    ("kata-containers/kata-containers#10109 (Docker Hub rate limit; host replaced)",
     'Failed to pull image "busybox": rpc error: code = Unknown desc = failed to pull and unpack image '
     '"docker.io/library/busybox:latest": failed to copy: httpReadSeeker: failed open: unexpected status code '
     'https://docker.io/v2/library/busybox/manifests/sha256:50aa4698fa6262977cff89181b2664b99d8a56dbca847bf62f2ef0485'
     '4597cf8: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit. You may '
     'increase the limit by authenticating and upgrading', "", "rate-limit", False),
    ("containerd/containerd#11103 (resolver.go ErrInvalidAuthorization wrap)",
     "pull access denied, repository does not exist or may require authorization: authorization failed: no basic "
     "auth credentials", "", "unauthorized", False),
    ("kubernetes/website#14257 (dockershim era, still pasted today)",
     'Failed to pull image "rmeuser-auth:latest": rpc error: code = Unknown desc = Error response from daemon: pull '
     "access denied for rmeuser-auth, repository does not exist or may require 'docker login'",
     "", "not-found", False),
    ("kubernetes pkg/kubelet/images/image_manager.go (ErrImageNeverPull event)",
     'Container image "rancher/klipper-helm:v0.7.3-build20220613" is not present with pull policy of Never',
     "ErrImageNeverPull", "never-pull", False),
    ("kubernetes pkg/kubelet/images/image_manager.go applyDefaultImageTag (InspectFailed event)",
     'Failed to apply default image tag "busyBOX": couldn\'t parse image reference "busyBOX": invalid reference '
     "format: repository name must be lowercase", "InspectFailed", "invalid-name", False),
    ("kubelet waiting reason alone (kubectl get pods STATUS)", "InvalidImageName", "InvalidImageName",
     "invalid-name", False),
    ("mazay/s3sync-service#52 (runc standard_init_linux.go:211)",
     'standard_init_linux.go:211: exec user process caused "exec format error"', "", "wrong-arch", False),
    ("combor/k8s-mongo-labeler-sidecar#14 (runc 1.0 wording)",
     "standard_init_linux.go:228: exec user process caused: exec format error", "", "wrong-arch", False),
    ("runc >= 1.1 writes the exec error to the container's log (terminationMessagePolicy FallbackToLogsOnError)",
     "exec /whoami: exec format error", "Error", "wrong-arch", False),
    ("opencontainers/runc#4713",
     'runc create failed: unable to start container process: exec: "/cluster/kube-apiserver-operator": executable '
     "file not found in $PATH", "RunContainerError", "entrypoint", False),
    ("jenkins-x/gsm-controller#22 (describe event)",
     'Error: failed to start container "gsm-controller": Error response from daemon: OCI runtime create failed: '
     'container_linux.go:380: starting container process caused: exec: "gsm": executable file not found in $PATH: '
     "unknown", "Failed", "entrypoint", False),
    ("Go crypto/x509 verify.go CertificateInvalidError(Expired), as containerd wraps it",
     'failed to do request: Head "https://docker.io/v2/rancher/mirrored-pause/manifests/3.6": tls: failed to verify '
     "certificate: x509: certificate has expired or is not yet valid: current time 1970-01-01T00:02:11Z is before "
     "2026-06-01T00:00:00Z", "", "clock", False),
    ("Go crypto/x509 UnknownAuthorityError, as containerd wraps it",
     'failed to do request: Head "https://127.0.0.1:5000/v2/rancher/mirrored-pause/manifests/3.6": x509: '
     "certificate signed by unknown authority", "", "tls-cert", False),
    ("Go net/http TLS handshake timeout is the network, not a certificate",
     'failed to do request: Head "https://docker.io/v2/library/busybox/manifests/latest": net/http: TLS handshake '
     "timeout", "", "network", False),
    ("Linux ENOSPC as containerd reports it while extracting a layer",
     'failed to pull and unpack image "docker.io/rancher/mirrored-library-traefik:2.6.2": failed to extract layer '
     "sha256:8d3ac3489996423f53d6087c81180006263b79f206d3fdec9e66f0e27ceb8759: write /var/lib/rancher/k3s/agent/"
     "containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/41/fs/usr/local/bin/traefik: no space left on "
     "device: unknown", "", "disk-full", False),
]


@pytest.mark.parametrize("source,text,reason,cause,sandbox", CASES, ids=[c[0] for c in CASES])
def test_real_strings(source, text, reason, cause, sandbox):
    m = classify(text, reason)
    assert m.cause == cause, source
    assert m.sandbox == sandbox, source


def test_specific_before_general():
    # "…: not found" at the end, but the cause is the platform, not a missing image.
    assert classify("no match for platform in manifest: not found").cause == "no-platform"
    assert classify('exec: "coredns": executable file not found in $PATH').cause == "entrypoint"
    assert classify('image "docker.io/rancher/mirrored-pause:3.1": not found').cause == "not-found"


def test_normalize_keeps_code_and_unescapes():
    m = normalize('err="rpc error: code = NotFound desc = failed to get sandbox image \\\\\\"rancher/'
                  'mirrored-pause:3.6\\\\\\": NO MATCH for platform"')
    assert m.codes == ("NotFound",)
    assert "rpc error" not in m.text
    assert 'sandbox image "rancher/mirrored-pause:3.6"' in m.text
    assert "no match for platform" in m.text          # case folded
    assert unescape('a \\\\\\"b\\\\\\" c') == 'a "b" c'


def test_image_and_host_are_extracted():
    m = classify(CASES[3][1], "FailedCreatePodSandBox")
    assert m.image == "rancher/mirrored-pause:3.6"
    assert m.host == "docker.io"


def test_rank_prefers_a_matched_rule_over_backoff_noise():
    noise = classify('Back-off pulling image "rancher/mirrored-coredns-coredns:1.9.1"', "ImagePullBackOff")
    real = classify(CASES[0][1])
    # The back-off says the pull failed, not why: the last rule, below every rule that says why.
    assert noise.cause == "pull-failed" and noise.image == "rancher/mirrored-coredns-coredns:1.9.1"
    assert rank(real) > rank(noise)


@pytest.mark.parametrize("text,sid", [
    # k8s.io/client-go discovery/cached/memory/memcache.go, as k3s logs it while metrics-server is down
    ("couldn't get resource list for metrics.k8s.io/v1beta1: the server is currently unable to handle the request",
     "metrics-api"),
    # kubelet pkg/probe/http: the prober's failure output
    ("Readiness probe failed: HTTP probe failed with statuscode: 503", "coredns-503"),
    ("Failed to pull image: something else", ""),
])
def test_secondary_symptoms(text, sid):
    assert secondary(text) == sid
