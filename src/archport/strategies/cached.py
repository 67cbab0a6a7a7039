"""Caching by inputs, as a wrapper with the strategy interface.

``Cached(inner)`` decides like ``inner`` and builds like it, but keeps the
files of ``inner``'s expensive step (``make``) under the hash of the inputs
``prepare`` names (:mod:`archport.cache`, one kind per strategy name): a
repeated port with equal inputs neither downloads nor compiles.  A hit
replays the record the first build made, so the image, and its digest, are
the same whether the files came from the cache or not.

A build made of several expensive steps (transplant's Go binaries, one per
binary) asks :meth:`Cached.product` for each step's files the same way.
"""

from __future__ import annotations

from dataclasses import replace

from ..cache import Cache
from ..platform import Platform
from . import Decision, Env, Outcome, Prepared, Product, Staged, Upstream

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
        product, hit = self.product(prepared, target, env)
        outcome = self.inner.finish(up, target, env, prepared, product)
        # The notes describe this run (the image is the same either way).
        return replace(outcome, notes=(*outcome.notes, f"from the build cache ({hit})")) if hit else outcome

    def has(self, prepared: Prepared, env: Env) -> bool:
        """Whether ``prepared``'s files are in the cache already."""
        return Cache(env.cache_dir, self.name).get(prepared.inputs) is not None

    def product(self, prepared: Prepared, target: Platform, env: Env) -> tuple[Product, str]:
        """``inner.make``'s product for ``prepared``: the cached files when
        its inputs were built before (and the entry's short name), else made
        now and kept (and "")."""
        cache = Cache(env.cache_dir, self.name)
        entry = cache.get(prepared.inputs)
        if entry is not None:
            env.log(f"{prepared.label or self.name} from the build cache")
            return Product({n: entry.file(n) for n in entry.meta.get("files", [])},
                           {k: v for k, v in entry.meta.items() if k not in _OWN}), entry.path.name[:12]
        product = self.inner.make(prepared, target, env)
        if product.keep:
            entry = cache.put(prepared.inputs, product.files, product.record)
            if entry is not None:
                product = Product({n: entry.file(n) for n in product.files}, product.record)
        return product, ""


__all__ = ["Cached"]
