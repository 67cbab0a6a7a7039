"""The stand-in upstream image set, from the k3s v1.24.2 image list (pure)."""

from testbed import upstream
from standins import shared


def test_every_listed_image_has_a_shaped_standin():
    standins = upstream.image_set(shared.IMAGES_TXT.read_text())
    listed = [line.strip() for line in shared.IMAGES_TXT.read_text().splitlines() if line.strip()]
    assert [f"docker.io/{s.repository}:{s.tag}" for s in standins] == listed
    for s in standins:
        assert s.binary != "/standin", f"{s.repository}: no shape recorded"
        assert s.config.get("Entrypoint") or s.config.get("Cmd")
    pause = next(s for s in standins if s.repository == "rancher/mirrored-pause")
    assert (pause.tag, pause.program, pause.config["User"]) == ("3.6", "pause", "65535:65535")


def test_platforms_are_upstream_ones_only():
    assert upstream.PLATFORMS == ("amd64", "arm64")
