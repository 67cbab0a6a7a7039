"""Where the team's shared folder is: beside the repository (as in CI's fresh
clone), else the workplace's usual place."""

from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
ROOT = next((p for p in (_REPO.parent / "shared", Path("/work/shared")) if (p / "k3s").is_dir()),
            _REPO.parent / "shared")
K3S = ROOT / "k3s" / "v1.24.2"
MANIFESTS = K3S / "server-manifests"
IMAGES_TXT = K3S / "k3s-images.txt"
