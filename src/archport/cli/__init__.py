"""The command line: the one place that reads flags and the environment,
builds clients, prints and renders (rich tables and progress; ``--json``).

``main`` maps the error tree (:mod:`archport.errors`) to exit codes once:
0 fine, 1 problems found or the operation failed, 2 bad input.  Every command
module exposes ``register(subparsers)`` and ``run(args, ctx) -> int``.
"""
