from tests.support.sshd import sshd_server  # noqa: F401
