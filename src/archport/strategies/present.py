"""``present``: the tag already offers the target platform; nothing to build.

The port still copies the whole tag to the destination, digest-preserved,
so the destination serves every platform the upstream tag does.
"""

from __future__ import annotations

from ..errors import ArchportError
from ..oci import Index, Manifest
from ..platform import Platform
from . import Decision, Env, NotPortable, Outcome, Upstream


class Present:
    name = "present"

    def consider(self, up: Upstream, target: Platform, env: Env) -> Decision:
        if any(p.matches(target) for p in up.platforms):
            return Decision(True, f"the tag already offers {target}")
        return Decision(False, f"the tag offers {', '.join(map(str, up.platforms)) or 'no platforms'}, not {target}")

    def build(self, up: Upstream, target: Platform, env: Env, decision: Decision | None = None) -> Outcome:
        top = up.top
        if isinstance(top, Manifest):
            return Outcome(self.name, "the tag is a single-platform image for the target", source=up.source,
                           manifest=top)
        assert isinstance(top, Index)
        desc = top.find(target)
        if desc is None:
            raise NotPortable(f"{up.ref} lists no {target} entry")
        try:
            m = up.source.manifest(desc)
        except ArchportError as e:
            raise NotPortable(f"reading the {target} manifest of {up.ref}: {e}") from None
        if not isinstance(m, Manifest):
            raise NotPortable(f"the {target} entry of {up.ref} is a nested index")
        return Outcome(self.name, f"the tag already offers {target}", source=up.source, manifest=m)
