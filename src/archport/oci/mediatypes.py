"""Media types of the two manifest families and their layers."""

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

# Schema 1 is long deprecated; we name it only to refuse it clearly.
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

IMAGE_MANIFESTS = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEXES = (OCI_INDEX, DOCKER_LIST)
MANIFESTS = IMAGE_MANIFESTS + INDEXES
# Accept header for manifest requests: all four, so the registry never
# down-converts (distribution-spec "Pulling manifests").
ACCEPT = ", ".join(MANIFESTS)


def is_index(media_type: str) -> bool:
    return media_type in INDEXES


def is_image(media_type: str) -> bool:
    return media_type in IMAGE_MANIFESTS


def family_of(media_type: str) -> str:
    """``"oci"`` or ``"docker"``."""
    return "docker" if media_type.startswith("application/vnd.docker.") else "oci"


def index_type_for(family: str) -> str:
    return DOCKER_LIST if family == "docker" else OCI_INDEX


def manifest_type_for(family: str) -> str:
    return DOCKER_MANIFEST if family == "docker" else OCI_MANIFEST


def config_type_for(family: str) -> str:
    return DOCKER_CONFIG if family == "docker" else OCI_CONFIG


def gzip_layer_type_for(family: str) -> str:
    return DOCKER_LAYER_GZIP if family == "docker" else OCI_LAYER_GZIP


def is_layer_compressed(media_type: str) -> str | None:
    """Compression of a layer media type: ``"gzip"``, ``"zstd"`` or ``None``."""
    if media_type.endswith("+gzip") or media_type.endswith(".tar.gzip"):
        return "gzip"
    if media_type.endswith("+zstd"):
        return "zstd"
    return None
