"""A minimal npm registry built from a folder of package tarballs (the mirror's ``npm/``).

Enough for ``npm install --registry <double>/mirror/npm/``: ``GET <prefix><name>`` (a scoped name
arrives as ``@scope%2fname``) answers the package document ("packument") of every version whose
tarball (``npm pack`` output, any file name ending in ``.tgz``) is in the folder; ``GET
<prefix><file>.tgz`` is the tarball itself. A version's entry is its ``package.json`` plus ``_id``
and ``dist`` (``tarball`` URL back at the double, ``integrity`` sha512, ``shasum`` sha1), as the
public registry serves them, so npm checks the download against them. An alias such as
``npm:@openai/codex@0.171.0-linux-x64`` resolves against its real name's document, like there.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tarfile
import threading
from urllib.parse import quote

# A package name as npm sends it (after URL decoding): lower case, optionally scoped.
PACKAGE_NAME = re.compile(r"(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*")
_SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?")


class TarballError(ValueError):
    """A file in the folder is not an npm package tarball."""


def read_manifest(path: str) -> dict:
    """The ``package.json`` of an npm tarball (the one in its top folder, ``package/`` for ``npm pack``)."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                parts = member.name.lstrip("./").split("/")
                if member.isfile() and len(parts) == 2 and parts[1] == "package.json":
                    handle = archive.extractfile(member)
                    manifest = json.loads(handle.read().decode("utf-8"))
                    break
            else:
                raise TarballError(f"{path}: no package.json in the tarball's top folder")
    except (tarfile.TarError, OSError, EOFError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, TarballError):
            raise
        raise TarballError(f"{path}: not an npm package tarball ({exc})") from exc
    if not isinstance(manifest, dict) or not manifest.get("name") or not manifest.get("version"):
        raise TarballError(f"{path}: package.json has no name and version")
    return manifest


def file_digests(path: str) -> tuple[str, str]:
    """``(integrity, shasum)`` of a file as the registry gives them: ``sha512-<base64>`` and sha1 hex."""
    sha512 = hashlib.sha512()
    sha1 = hashlib.sha1()  # noqa: S324 (npm's legacy shasum field, not a security check)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            sha512.update(block)
            sha1.update(block)
    return "sha512-" + base64.b64encode(sha512.digest()).decode("ascii"), sha1.hexdigest()


def version_key(version: str) -> tuple:
    """Semver ordering: by the numbers, a pre-release before its release, pre-release parts compared
    numerically where both are numbers. Versions that are not semver sort first."""
    match = _SEMVER.fullmatch(version)
    if not match:
        return (0, (), 0, ())
    core = tuple(int(part) for part in match.group(1, 2, 3))
    if match.group(4) is None:
        return (1, core, 1, ())
    parts = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in match.group(4).split("."))
    return (1, core, 0, parts)


def latest_version(versions: list[str]) -> str:
    """The ``latest`` dist-tag: the highest release, else the highest pre-release."""
    releases = [version for version in versions if "-" not in version.split("+")[0]]
    return max(releases or versions, key=version_key)


class NpmFolder:
    """The packages of a folder of tarballs; the manifests are read once per file (size and mtime)."""

    def __init__(self, folder: str):
        self.folder = folder
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[tuple[int, int], dict | None, tuple[str, str] | None]] = {}

    def _entry(self, filename: str):
        path = os.path.join(self.folder, filename)
        stat = os.stat(path)
        stamp = (stat.st_size, stat.st_mtime_ns)
        with self._lock:
            cached = self._entries.get(filename)
        if cached is not None and cached[0] == stamp:
            return cached
        try:
            entry = (stamp, read_manifest(path), file_digests(path))
        except TarballError:
            entry = (stamp, None, None)
        with self._lock:
            self._entries[filename] = entry
        return entry

    def packages(self) -> dict[str, dict[str, tuple[str, dict, tuple[str, str]]]]:
        """``{name: {version: (filename, manifest, (integrity, shasum))}}`` of the tarballs in the folder."""
        found: dict = {}
        try:
            names = sorted(os.listdir(self.folder))
        except OSError:
            return found
        for filename in names:
            if not filename.endswith(".tgz") or not os.path.isfile(os.path.join(self.folder, filename)):
                continue
            dummy, manifest, digests = self._entry(filename)
            if manifest is not None:
                found.setdefault(manifest["name"], {})[manifest["version"]] = (filename, manifest, digests)
        return found

    def packument(self, name: str, tarball_base: str) -> dict | None:
        """The registry document of ``name`` (``None`` when no tarball holds it); tarball URLs are
        ``tarball_base`` + the file name."""
        versions = self.packages().get(name)
        if not versions:
            return None
        document = {"_id": name, "name": name, "dist-tags": {"latest": latest_version(list(versions))},
                    "versions": {}}
        ordered = sorted(versions.items(), key=lambda item: version_key(item[0]))
        for version, (filename, manifest, (integrity, shasum)) in ordered:
            entry = {key: value for key, value in manifest.items() if key not in ("readme", "readmeFilename")}
            entry["_id"] = f"{name}@{version}"
            entry["dist"] = {"tarball": tarball_base + quote(filename), "integrity": integrity, "shasum": shasum}
            document["versions"][version] = entry
        return document
