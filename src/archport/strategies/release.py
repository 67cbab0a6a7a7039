"""release: upstream publishes a binary for the target; download it, verified.

The catalog's ``[[release]]`` gives the asset URL and its checksum file as
templates (``{version}``, ``{tag}``, ``{arch}``; ``{url}`` in the checksum
URL).  The asset must match the published SHA-256 or nothing is built; an
asset with no published checksum is refused unless the user passed
``--allow-unverified`` (then the result says so).  The binary is taken out of
the archive (``tgz``/``tar.gz``/``zip``/``raw``) and placed at the upstream
path with the upstream config, on scratch.
"""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

from ..assemble.image import History, assemble, provenance
from ..binaries.elf import read_elf
from ..assemble.layer import FileSpec
from ..errors import ArchportError, BadInput, DigestMismatch
from ..platform import Platform, normalize
from ..progress import phase
from . import Decision, Env, NotPortable, Outcome, Upstream, recorded, require
from .contract import binary_path, reference_config, tag_of
from ..fetch.http import DownloadError, fetch, fetch_bytes, http_client, parse_checksum

ARCHIVES = ("tgz", "tar.gz", "zip", "raw")


class ReleaseStrategy:
    name = "release"

    def consider(self, up: Upstream, target: Platform, env: Env) -> Decision:
        target = normalize(target)
        comp = up.component
        if comp is None:
            return Decision(False, "the catalog does not know this image, so it names no release asset")
        if target.os != "linux":
            return Decision(False, f"release assets are catalogued for linux only, not {target.os}")
        asset = comp.release_asset(tag_of(up), target.architecture)
        if asset is None:
            return Decision(False, f"upstream publishes no {target.architecture} release asset for "
                                   f"{comp.name} {tag_of(up)} (catalog)")
        if binary_path(up) is None:
            return Decision(False, "neither the catalog nor the upstream config says where the binary lives")
        url, _ = asset.urls(tag_of(up), target.architecture)
        # consider reads no network: the asset is the catalog's word until build fetches it.
        return Decision(True, f"the catalog names {url}; not checked")

    def build(self, up: Upstream, target: Platform, env: Env, decision: Decision | None = None) -> Outcome:
        target, _ = require(self, up, target, env, decision)
        comp, tag, arch = up.component, tag_of(up), target.architecture
        asset = comp.release_asset(tag, arch)
        if asset.archive not in ARCHIVES:
            raise NotPortable(f"catalog: unknown archive kind {asset.archive!r} for {comp.name}")
        url, sum_url = asset.urls(tag, arch)
        name = Path(urlsplit(url).path).name
        work = Path(env.workdir) / "release" / comp.name / tag / arch
        work.mkdir(parents=True, exist_ok=True)
        notes: list[str] = []
        try:
            with http_client(env.http) as http:
                expected = self._checksum(http, sum_url, name, env, notes)
                with phase(env.log, f"release: download {name}"):
                    got = fetch(http, url, work / name, sha256=expected)
                binary = self._extract(work / name, asset.archive, asset.member, work / "binary")
        except DigestMismatch as e:
            raise NotPortable(f"{name} does not match its published checksum ({sum_url}): expected "
                              f"{e.expected}, got {e.actual}; refused, nothing was built",
                              "the asset or the checksum file was changed; report it upstream") from None
        except ArchportError as e:
            if isinstance(e, NotPortable):
                raise
            raise NotPortable(f"release asset {url}: {e}") from None
        with open(binary, "rb") as fh:
            info = read_elf(fh)
        if info is None:
            raise NotPortable(f"{asset.member} in {name} is not an ELF program")
        if info.goarch != arch:
            raise NotPortable(f"{asset.member} in {name} is built for {info.goarch or info.machine}, not {arch}")
        path = binary_path(up)
        verified = f"sha256:{got} checked against {sum_url}" if expected else "UNVERIFIED (--allow-unverified)"
        built = assemble(None, [FileSpec(path, source=str(binary), mode=0o755)], platform=target,
                         family=up.family, reference_config=reference_config(up),
                         annotations=provenance(source=url, version=comp.upstream_version(tag), strategy="release",
                                                changes=[f"binary from the release asset {name} ({verified})"]),
                         workdir=str(work),
                         history=History(env.source_date_epoch, f"archport release: {name} -> {path}"))
        notes.append("built on scratch: files of the upstream base other than the binary are not carried over")
        return Outcome("release", f"{name} from upstream's release, {verified}, placed at {path}",
                       built=built, notes=tuple(notes),
                       record=recorded.release_record(url, f"sha256:{got}", sum_url if expected else ""))

    # -- helpers ----------------------------------------------------------------
    def _checksum(self, http, sum_url: str, name: str, env: Env, notes: list[str]) -> str | None:
        try:
            text = fetch_bytes(http, sum_url).decode("utf-8", "replace")
        except DownloadError as e:
            if e.status not in (404, 410):
                raise NotPortable(f"checksum file {sum_url}: {e}; nothing was built", "retry later") from None
            problem = f"no published checksum for {name} ({e})"
        except ArchportError as e:
            # Unreachable is not "unpublished": --allow-unverified does not cover it.
            raise NotPortable(f"checksum file {sum_url} could not be fetched: {e}; nothing was built",
                              "check the network or proxy settings and retry") from None
        else:
            digest = parse_checksum(text, name)
            if digest is not None:
                return digest
            problem = f"{sum_url} lists no SHA-256 for {name}"
        if not env.release.allow_unverified:
            raise NotPortable(f"{problem}; refused, nothing was built",
                              "pass --allow-unverified to use the asset without a checksum")
        notes.append(f"{problem}: used UNVERIFIED because --allow-unverified was given")
        return None

    def _extract(self, archive: Path, kind: str, member: str, dest: Path) -> Path:
        """Copy ``member`` (a path or a bare name) out of ``archive`` to ``dest``."""
        want = member.strip("/")
        if kind == "raw":
            shutil.copyfile(archive, dest)
            return dest
        if kind == "zip":
            try:
                with zipfile.ZipFile(archive) as z:
                    info = next((i for i in z.infolist() if not i.is_dir() and _matches(i.filename, want)), None)
                    if info is None:
                        raise NotPortable(f"{archive.name} has no {member}")
                    with z.open(info) as src, open(dest, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
            except zipfile.BadZipFile as e:
                raise BadInput(f"{archive.name} is not a zip archive: {e}") from None
            return dest
        try:
            with tarfile.open(archive, "r:*") as tar:
                for ti in tar:
                    if ti.isfile() and _matches(ti.name, want):
                        src = tar.extractfile(ti)
                        assert src is not None
                        with src, open(dest, "wb") as out:
                            shutil.copyfileobj(src, out, 1 << 20)
                        return dest
        except (tarfile.TarError, OSError, EOFError) as e:
            raise BadInput(f"{archive.name} is not a readable tar archive: {e}") from None
        raise NotPortable(f"{archive.name} has no {member}")


def _matches(name: str, want: str) -> bool:
    name = name[2:] if name.startswith("./") else name
    return name == want or ("/" not in want and name.rsplit("/", 1)[-1] == want)
