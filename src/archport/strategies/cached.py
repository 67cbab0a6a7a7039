"""Caching by inputs, as a wrapper with the strategy interface.

``Cached(inner)`` decides like ``inner`` and builds like it, but keeps the
files of ``inner``'s expensive step (``make``) under the hash of the inputs
``prepare`` names (:mod:`archport.cache`, one kind per strategy name): a
repeated port with equal inputs neither downloads nor compiles.  A hit
replays the record the first build made, so the image, and its digest, are
the same whether the files came from the cache or not.
"""

from __future__ import annotations

from dataclasses import replace

from ..cache import Cache
from ..platform import Platform
from . import Decision, Env, Outcome, Product, Staged, Upstream

_OWN = ("inputs", "files")          # what Cache.put adds to the record


class Cached:
    def __init__(self, inner: Staged) -> None:
        self.inner = inner
        self.name = inner.name

    def __repr__(self) -> str:
        return f"Cached({self.inner!r})"

    def consider(self, up: Upstream, target: Platform, env: Env) -> Decision:
        return self.inner.consider(up, target, env)

    def build(self, up: Upstream, target: Platform, env: Env, decision: Decision | None = None) -> Outcome:
        prepared = self.inner.prepare(up, target, env, decision)
        cache = Cache(env.cache_dir, self.name)
        entry = cache.get(prepared.inputs)
        if entry is not None:
            env.log(f"{prepared.label or self.name} from the build cache")
            product = Product({n: entry.file(n) for n in entry.meta.get("files", [])},
                              {k: v for k, v in entry.meta.items() if k not in _OWN})
            outcome = self.inner.finish(up, target, env, prepared, product)
            # The notes describe this run (the image is the same either way).
            return replace(outcome, notes=(*outcome.notes, f"from the build cache ({entry.path.name[:12]})"))
        product = self.inner.make(prepared, target, env)
        if product.keep:
            entry = cache.put(prepared.inputs, product.files, product.record)
            if entry is not None:
                product = Product({n: entry.file(n) for n in product.files}, product.record)
        return self.inner.finish(up, target, env, prepared, product)


__all__ = ["Cached"]
