"""toolchain: compiling a program for the target platform.

The strategies decide *what* to build; this package knows *how* a build for
another architecture is done, and is the same whoever asks:

- :mod:`.gocompile`: the Go toolchain (``go env``, ``GOTOOLCHAIN`` from
  ``--go-version``, the oldest Go whose runtime survives Sv57), a module
  fetched through the proxy into a writable tree, ``go build`` with
  upstream's flags (:class:`~.gocompile.Recipe`), and the options the CLI
  gives it (:class:`~.gocompile.GoOptions`);
- :mod:`.fixups`: which of the catalog's dependency fixups a module needs,
  before the build (its module graph) and after (the compiler's error);
- :mod:`.substitute`: the version policy when a module version cannot be
  fetched (built only under ``--substitute``, and recorded);
- :mod:`.imagefile`: the upstream binary read out of an image's layers, for
  the build info that says how it was built;
- :mod:`.compilers`: C cross compilers (zig's clang driver, else a GCC cross
  toolchain) for small static programs.

The *go* and *c* strategies and transplant's unowned Go binaries all build
through it.  A build that fails raises
:class:`archport.errors.NotPortable`, with the compiler's words and what to try.
"""
