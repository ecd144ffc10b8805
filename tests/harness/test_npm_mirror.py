"""The double's npm registry (``/mirror/npm/``): the documents it builds from a folder of tarballs, and the
real npm installing from it with the double as its only source.

The fast tests use small packages made here: one with an optional dependency aliased to a platform build
of itself (``npm:@fmapi-test/tool@1.0.0-linux-x64``, the shape of ``@openai/codex``) and optional ones the
mirror does not have (the other platforms). The last test installs the real Codex CLI and Gemini CLI from
the tarballs tests/bin/bootstrap packs into ``$FMAPI_MIRROR_DIR/npm/``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile

import pytest
import requests

from workspace_double import WorkspaceDouble
from workspace_double.npm_registry import (
    NpmFolder,
    TarballError,
    file_digests,
    latest_version,
    read_manifest,
    version_key,
)
from workspace_double.pytest_plugin import isolated_env

TOOL = "@fmapi-test/tool"
PLATFORMS = ("linux-x64", "linux-arm64", "darwin-arm64")
TOOL_SCRIPT = "#!/usr/bin/env node\nrequire('@fmapi-test/tool-linux-x64/native.js');\n"


def make_tarball(folder, manifest: dict, files: dict | None = None, filename: str | None = None,
                 top: str = "package") -> str:
    """An npm package tarball (``<top>/package.json`` plus ``files``) in ``folder``; returns its path."""
    name = filename or "%s-%s.tgz" % (manifest["name"].lstrip("@").replace("/", "-"), manifest["version"])
    path = os.path.join(str(folder), name)
    contents = dict(files or {}, **{"package.json": json.dumps(manifest, indent=2)})
    with tarfile.open(path, "w:gz") as archive:
        for relative, text in sorted(contents.items()):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"{top}/{relative}")
            info.size = len(data)
            info.mode = 0o755 if relative.startswith("bin/") else 0o644
            archive.addfile(info, io.BytesIO(data))
    return path


def make_tool(folder) -> None:
    """``@fmapi-test/tool@1.0.0`` (a bin) with its platform build as an aliased optional dependency, as
    ``@openai/codex`` ships its native binary; only the linux-x64 build is in the mirror."""
    make_tarball(folder, {
        "name": TOOL, "version": "1.0.0", "bin": {"fmapi-tool": "bin/tool.js"},
        "optionalDependencies": {f"{TOOL}-{platform}": f"npm:{TOOL}@1.0.0-{platform}" for platform in PLATFORMS},
    }, {"bin/tool.js": TOOL_SCRIPT})
    make_tarball(folder, {"name": TOOL, "version": "1.0.0-linux-x64", "os": ["linux"], "cpu": ["x64"]},
                 {"native.js": "console.log('fmapi-tool 1.0.0 (native linux-x64)');\n"})
    # An older release, which must not become "latest".
    make_tarball(folder, {"name": TOOL, "version": "0.9.0", "bin": {"fmapi-tool": "bin/tool.js"}},
                 {"bin/tool.js": "#!/usr/bin/env node\nconsole.log('old');\n"})


@pytest.fixture(name="mirror", scope="module")
def mirror_fixture(tmp_path_factory):
    """A double serving a mirror whose npm/ holds the test packages (and a file that is no package)."""
    root = tmp_path_factory.mktemp("mirror")
    folder = root / "npm"
    folder.mkdir()
    make_tool(folder)
    make_tarball(folder, {"name": "plain", "version": "2.10.0", "main": "index.js"}, {"index.js": ""})
    (folder / "notes.txt").write_text("not a package\n")
    (folder / "broken.tgz").write_bytes(b"not gzip")
    double = WorkspaceDouble(str(tmp_path_factory.mktemp("double")), mirror_dir=str(root)).start()
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture(name="http")
def http_fixture(mirror):
    session = requests.Session()
    session.trust_env = False
    session.verify = mirror.ca_file
    yield session
    session.close()


# ------------------------------------------------------------------ documents
def test_manifest_is_read_from_the_tarballs_top_folder(tmp_path):
    path = make_tarball(tmp_path, {"name": "x", "version": "1.2.3"}, {"lib/package.json": '{"name": "inner"}'},
                        top="x-top")
    assert read_manifest(path) == {"name": "x", "version": "1.2.3"}
    (tmp_path / "junk.tgz").write_bytes(b"\x1f\x8b junk")
    with pytest.raises(TarballError, match="not an npm package tarball"):
        read_manifest(str(tmp_path / "junk.tgz"))
    nameless = make_tarball(tmp_path, {"name": "", "version": "1.0.0"}, filename="nameless.tgz")
    with pytest.raises(TarballError, match="no name and version"):
        read_manifest(nameless)


def test_digests_are_the_registrys_integrity_and_shasum(tmp_path):
    path = tmp_path / "file.tgz"
    path.write_bytes(b"some bytes" * 1000)
    integrity, shasum = file_digests(str(path))
    assert integrity == "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()
    assert shasum == hashlib.sha1(path.read_bytes()).hexdigest()  # noqa: S324


def test_versions_are_ordered_as_semver():
    ordered = ["not-semver", "0.9.0", "0.171.0-darwin-x64", "0.171.0-linux-x64", "0.171.0", "1.0.0-alpha.2",
               "1.0.0-alpha.10", "1.0.0-beta", "1.0.0", "1.9.0", "1.10.0"]
    assert sorted(reversed(ordered), key=version_key) == ordered
    # "latest" is the highest release; a platform build (a pre-release) never is, unless nothing else is there.
    assert latest_version(["0.171.0-linux-x64", "0.171.0", "0.9.0"]) == "0.171.0"
    assert latest_version(["1.0.0-linux-x64"]) == "1.0.0-linux-x64"


def test_the_folder_is_read_again_only_when_a_tarball_changes(tmp_path):
    path = make_tarball(tmp_path, {"name": "p", "version": "1.0.0"})
    folder = NpmFolder(str(tmp_path))
    first = folder.packument("p", "https://d/npm/")
    assert first["versions"]["1.0.0"]["dist"]["tarball"] == "https://d/npm/p-1.0.0.tgz"
    # Unchanged (size and mtime): the manifest read before is used, even if the bytes were swapped in place.
    stamp = os.stat(path)
    with open(path, "r+b") as handle:
        handle.write(b"\0")
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert folder.packument("p", "https://d/npm/") == first
    # A new tarball of the package is read again.
    make_tarball(tmp_path, {"name": "p", "version": "1.0.0", "description": "new"})
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))
    assert folder.packument("p", "https://d/npm/")["versions"]["1.0.0"]["description"] == "new"
    os.remove(path)
    assert folder.packument("p", "https://d/npm/") is None
    assert NpmFolder(str(tmp_path / "missing")).packument("p", "https://d/npm/") is None


# ------------------------------------------------------------------ over HTTPS
def test_packument_of_a_scoped_package(mirror, http):
    got = http.get(f"{mirror.url}/mirror/npm/@fmapi-test%2ftool", timeout=30)
    assert got.status_code == 200 and got.headers["Content-Type"] == "application/json"
    document = got.json()
    assert document["name"] == TOOL and document["dist-tags"] == {"latest": "1.0.0"}
    assert sorted(document["versions"]) == ["0.9.0", "1.0.0", "1.0.0-linux-x64"]
    release = document["versions"]["1.0.0"]
    assert release["_id"] == f"{TOOL}@1.0.0" and release["bin"] == {"fmapi-tool": "bin/tool.js"}
    assert release["optionalDependencies"][f"{TOOL}-linux-x64"] == f"npm:{TOOL}@1.0.0-linux-x64"
    assert document["versions"]["1.0.0-linux-x64"]["os"] == ["linux"]
    # The tarball URL points back at the double, and what it serves matches the digests.
    dist = document["versions"]["1.0.0-linux-x64"]["dist"]
    assert dist["tarball"] == f"{mirror.url}/mirror/npm/fmapi-test-tool-1.0.0-linux-x64.tgz"
    tarball = http.get(dist["tarball"], timeout=30)
    assert tarball.status_code == 200
    assert dist["integrity"] == "sha512-" + base64.b64encode(hashlib.sha512(tarball.content).digest()).decode()
    assert dist["shasum"] == hashlib.sha1(tarball.content).hexdigest()  # noqa: S324
    # npm sends %2F too; an unscoped name is its plain path.
    assert http.get(f"{mirror.url}/mirror/npm/@fmapi-test%2Ftool", timeout=30).json()["name"] == TOOL
    plain = http.get(f"{mirror.url}/mirror/npm/plain", timeout=30).json()
    assert plain["dist-tags"]["latest"] == "2.10.0"
    logged = mirror.control.requests(path_prefix="/mirror/npm/plain")[-1]
    assert logged["detail"] == {"npm_package": "plain", "npm_versions": ["2.10.0"]}


def test_what_the_mirror_does_not_have_is_npms_404(mirror, http):
    for path in ("/mirror/npm/@fmapi-test%2ftool-darwin-arm64", "/mirror/npm/notes", "/mirror/npm/broken",
                 "/mirror/npm/..%2f..%2fetc%2fpasswd", "/mirror/npm/UPPER", "/mirror/npm/"):
        got = http.get(mirror.url + path, timeout=30)
        assert (got.status_code, got.json()) == (404, {"error": "Not found"}), path
    # Files that are in npm/ are served as they are, packages or not.
    assert http.get(f"{mirror.url}/mirror/npm/notes.txt", timeout=30).text == "not a package\n"
    assert http.get(f"{mirror.url}/mirror/npm/missing.tgz", timeout=30).status_code == 404


def test_npm_installs_from_the_mirror_with_the_double_as_its_only_source(mirror, tmp_path):
    """The real npm: the aliased optional platform build is installed, the missing platforms are skipped."""
    completed = npm_install(mirror, tmp_path, f"{TOOL}@1.0.0")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    tool = subprocess.run([str(tmp_path / "prefix" / "bin" / "fmapi-tool")], capture_output=True, text=True,
                          timeout=60, check=False)
    assert tool.stdout == "fmapi-tool 1.0.0 (native linux-x64)\n", tool.stderr
    fetched = [entry["path"] for entry in mirror.control.requests(path_prefix="/mirror/npm/") if entry["status"] == 200]
    assert "/mirror/npm/fmapi-test-tool-1.0.0-linux-x64.tgz" in fetched


# ------------------------------------------------------------------ the real CLIs
def npm_install(double, work, *specs, timeout=600) -> subprocess.CompletedProcess:
    """``npm install --global --prefix work/prefix SPEC...`` from the double's registry and nothing else: npm
    trusts only the double's CA (``--cafile``), reads no npmrc of this machine, and starts from an empty cache."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed on PATH (Node.js 20 with npm)", pytrace=False)
    home = os.path.join(str(work), "home")
    os.makedirs(home, exist_ok=True)
    for name in ("userrc", "globalrc"):
        with open(os.path.join(str(work), name), "w", encoding="utf-8"):
            pass
    env = isolated_env(home, npm_config_userconfig=os.path.join(str(work), "userrc"),
                       npm_config_globalconfig=os.path.join(str(work), "globalrc"),
                       npm_config_update_notifier="false")
    command = [npm, "install", "--global", "--prefix", os.path.join(str(work), "prefix"), "--no-audit", "--no-fund",
               "--include=optional", "--registry", f"{double.url}/mirror/npm/", "--cafile", double.ca_file,
               "--cache", os.path.join(str(work), "npm-cache"), *specs]
    return subprocess.run(command, cwd=str(work), env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_codex_and_gemini_install_from_the_mirror(tmp_path):
    """What the roles' codex_npm_registry / gemini_npm_registry get on an air-gapped laptop: both CLIs at the
    pinned versions, Codex with its native binary (the aliased optional dependency), from the double alone."""
    mirror_dir = os.environ.get("FMAPI_MIRROR_DIR")
    codex_version = os.environ.get("FMAPI_CODEX_VERSION")
    gemini_version = os.environ.get("FMAPI_GEMINI_VERSION")
    if not (mirror_dir and codex_version and gemini_version
            and os.path.isfile(os.path.join(mirror_dir, "npm", f"openai-codex-{codex_version}-linux-x64.tgz"))):
        pytest.fail("the npm mirror is missing: run tests/bin/bootstrap, then source its env.sh", pytrace=False)
    with WorkspaceDouble(str(tmp_path / "double"), mirror_dir=mirror_dir) as double:
        completed = npm_install(double, tmp_path, f"@openai/codex@{codex_version}",
                                f"@google/gemini-cli@{gemini_version}")
        assert completed.returncode == 0, completed.stdout + completed.stderr[-5000:]
        fetched = {entry["path"] for entry in double.control.requests(path_prefix="/mirror/npm/")
                   if entry["status"] == 200}
    assert {f"/mirror/npm/openai-codex-{codex_version}-linux-x64.tgz",
            f"/mirror/npm/google-gemini-cli-{gemini_version}.tgz"} <= fetched
    env = isolated_env(str(tmp_path / "home"))
    try:
        for tool, expected in (("codex", f"codex-cli {codex_version}"), ("gemini", gemini_version)):
            version = subprocess.run([str(tmp_path / "prefix" / "bin" / tool), "--version"], env=env,
                                     stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False)
            assert version.returncode == 0 and version.stdout.strip() == expected, (tool, version.stdout,
                                                                                    version.stderr)
    finally:
        # Half a gigabyte: not kept among pytest's last temporary directories.
        for folder in ("prefix", "npm-cache"):
            shutil.rmtree(tmp_path / folder, ignore_errors=True)
