"""The build directory as a git repository whose HEAD carries the upstream
tag, so that ``go build`` stamps the main module's real version.

Go 1.24 and later stamp the main module's version from version control
(cmd/go, "go build" in the Go 1.24 release notes): with ``-buildvcs`` on and
HEAD at a semantic-version tag the build info says ``mod M v1.2.3`` instead of
``(devel)``; uncommitted changes add ``+dirty`` and ``vcs.modified=true``; a
commit after the tag gives a pseudo-version.  archport commits the module's
tree exactly as the proxy served it (its go.sum line verified by GOSUMDB) and
tags that commit.  Fixups are not committed: a build with fixups says
``v1.2.3+dirty``, which is the truth (upstream's v1.2.3, changed here), and
its dependency list shows the versions the fixups chose.  A commit on top of
the tag would say neither: a pseudo-version names an upstream commit that
does not exist.

The commit is deterministic (fixed author, committer and date: the Unix
epoch, which ``vcs.time`` then shows), so the same tree gives the same
``vcs.revision``.  That revision is archport's commit of the module zip, not
upstream's; the module's own VCS origin is in the proxy's ``.info``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Mapping

#: A release or pre-release semantic version, not a pseudo-version
#: (golang.org/x/mod/module: pseudo-versions end in a 14-digit time and a
#: 12-hex-digit revision) and without build metadata (``+incompatible``).
_SEMVER = re.compile(r"^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")
_PSEUDO = re.compile(r"\d{14}-[0-9a-f]{12}$")

_IDENTITY = {
    "GIT_AUTHOR_NAME": "archport", "GIT_AUTHOR_EMAIL": "archport@archport.invalid",
    "GIT_COMMITTER_NAME": "archport", "GIT_COMMITTER_EMAIL": "archport@archport.invalid",
    "GIT_AUTHOR_DATE": "1970-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "1970-01-01T00:00:00Z",
    # The user's git configuration (hooks, signing, templates) has no say.
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_TERMINAL_PROMPT": "0",
}


def taggable(version: str) -> bool:
    return bool(_SEMVER.match(version)) and not _PSEUDO.search(version)


def tag_tree(src: Path, version: str, env: Mapping[str, str]) -> str:
    """Make ``src`` a repository with one commit (the tree as it is now)
    tagged ``version``.  Returns "" when done, else why not (no git, a
    version that is no release tag, git failing): the build then runs
    without VCS stamping and says ``(devel)``."""
    if not taggable(version):
        return f"{version} is not a release version to tag"
    git = shutil.which("git", path=env.get("PATH")) or shutil.which("git")
    if git is None:
        return "git is not installed"
    genv = {k: v for k, v in env.items() if k in ("PATH", "HOME", "LANG", "LC_ALL")} | _IDENTITY
    for args in (["init", "-q", "-b", "upstream", "."], ["add", "-A", "-f", "."],
                 ["-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "--allow-empty", "-m",
                  f"{version} as served by the module proxy"],
                 ["-c", "tag.gpgsign=false", "tag", version]):
        try:
            cp = subprocess.run([git, *args], cwd=src, env=genv, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as e:
            shutil.rmtree(src / ".git", ignore_errors=True)
            return f"git {args[0]} failed: {e}"
        if cp.returncode != 0:
            shutil.rmtree(src / ".git", ignore_errors=True)
            lines = (cp.stderr or cp.stdout).strip().splitlines()
            return f"git {args[-1] if args[0] == '-c' else args[0]} failed: {lines[-1] if lines else cp.returncode}"
    return ""
