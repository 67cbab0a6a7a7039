"""Stand-ins: the upstream images and archives archport works on, made here.

The public registries and mirrors that archport reads in the field cannot be
reached from the machines that test it, so what they would serve is built
here instead, independently of archport's own writers (plain tarfile, gzip
and json, pushed with skopeo), so that a bug in archport cannot hide in its
own input:

* :mod:`.images`     hand-written OCI/Docker images, layouts and indexes, and
                     their push to a registry (:mod:`.skopeo` runs skopeo);
* :mod:`.gomodules`  the real Go components of k3s's image list, built from
                     their modules with upstream's flags (``GO_RECIPES``);
* :mod:`.programs`   tiny Go programs for images whose binary archport does
                     not rebuild from upstream's (pause, busybox, the rest);
* :mod:`.debian`     the Debian-shaped klipper-lb and the other distro images,
                     with a real dpkg database;
* :mod:`.shared`     where the k3s v1.24.2 facts they copy (image list,
                     packaged manifests) are kept.

The test suite (``tests``), the riscv64 test bed (``testbed``) and the
acceptance run (``acceptance``) all import this package; it imports none of
them, only ``archport`` for the verified fetching of Debian packages and Go
modules.  tests/test_depcheck.py holds that order.
"""
