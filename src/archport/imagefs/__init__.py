"""The filesystem an image's layers make.

An image's root filesystem is its layers applied in order (image-spec
``layer.md``): each layer is a tar, possibly compressed; a ``.wh.NAME`` entry
deletes NAME from the layers below and ``.wh..wh..opq`` empties its
directory.  Everything archport reads out of an image's files goes through
this package, so compression, whiteouts and hostile names are handled once:

- :mod:`.compression` — sniff gzip/zstd from the bytes and inflate with
  bounded memory, whatever the ratio; cap what a blob may expand to;
- :mod:`.paths` — clean a name against the image root and judge what an
  entry asks for (a file, a whiteout, an opaque marker), refusing whiteouts
  that name no file of their directory;
- :mod:`.layers` — stream layers into the merged view, reporting hostile
  entries with the reason (:class:`~.layers.Notice`), and iterate a layer's
  entries for readers that act on them one by one;
- :mod:`.tree` — the merged view in memory: lookup and symlink resolution
  with the kernel's rules inside a chroot, ``exec.LookPath`` through
  ``PATH``, walking, and the whole bytes of ELF files when kept;
- :mod:`.extract` — safe, bounded extraction onto the host for the few
  places that need a real tree, and non-recursive removal.

Nothing here knows about registries or findings; callers (``check``,
``smoke``, the *go* strategy, ``inspect --files``) turn what it reports into
their own terms.
"""

from .compression import TooLarge, inflate
from .extract import extract, remove_tree
from .layers import Notice, apply_layer, entries
from .paths import parse_name
from .tree import DIR, FILE, LINK, Found, Node, PathError, RootFS, look_path

__all__ = ["TooLarge", "inflate", "extract", "remove_tree", "Notice", "apply_layer", "entries", "parse_name",
           "DIR", "FILE", "LINK", "Found", "Node", "PathError", "RootFS", "look_path"]
