"""The setup scenario: fresh Debian laptops set up by the setup playbook, against the double."""

from __future__ import annotations

import os
import re

import pytest
from conftest import container_file, container_playbook

SCENARIO = "setup"
FILES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     "molecule", "setup", "files")
HOME = "/home/developer"


@pytest.fixture(name="laptops", scope="module")
def laptops_fixture(molecule):
    """Laptops created, prepared, run in check mode, converged and found idempotent."""
    molecule("destroy", SCENARIO)
    try:
        for action in ("create", "prepare"):
            assert molecule(action, SCENARIO).returncode == 0, f"molecule {action} failed"
        # A check-mode run on the fresh laptops first (`molecule check` would converge and destroy).
        check = molecule("converge", SCENARIO, "--check")
        assert check.returncode == 0, "the check-mode run failed"
        assert "fmapi-laptop-bookworm" in check.stdout
        for action in ("converge", "idempotence"):
            assert molecule(action, SCENARIO).returncode == 0, f"molecule {action} failed"
        yield molecule
    finally:
        molecule("destroy", SCENARIO)


def test_codex_and_gemini_came_from_the_fleets_npm_registry(laptops):
    """The trixie laptop installed both CLIs with its own npm (from apt) from the registry the double serves,
    Codex's native binary (its aliased optional dependency) included. Runs before verify, which clears the log."""
    fetched = {entry["path"].rsplit("/", 1)[-1]: entry["headers"].get("user-agent", "")
               for entry in laptops.double.control.requests(path_prefix="/mirror/npm/")
               if entry["status"] == 200 and entry["path"].endswith(".tgz")}
    codex, gemini = os.environ.get("FMAPI_CODEX_VERSION"), os.environ.get("FMAPI_GEMINI_VERSION")
    wanted = {f"openai-codex-{codex}.tgz", f"openai-codex-{codex}-linux-x64.tgz", f"google-gemini-cli-{gemini}.tgz"}
    assert wanted <= set(fetched), sorted(fetched)
    assert all(fetched[name].startswith("npm/") for name in wanted), fetched


def test_fresh_laptops_work_end_to_end(laptops):
    """Tools, files and modes, a token from the helper, claude -p through the workspace, the plugin."""
    result = laptops("verify", SCENARIO)
    assert result.returncode == 0
    summary = re.findall(r"=+ (.*(?:passed|failed).*) in [\d.]+s", result.stdout)
    assert summary and "failed" not in summary[-1], summary


def test_uninstall_gives_back_the_users_settings_byte_for_byte(laptops):
    """After setup and uninstall, the developer's own Claude Code settings, Codex config (comments, their model
    and providers) and Gemini settings (their auth type) are exactly what they were; again is safe."""
    laptop = "fmapi-laptop-trixie"
    expected = {}
    for name, path in (("user-settings.json", ".claude/settings.json"),
                       ("user-codex-config.toml", ".codex/config.toml"),
                       ("user-gemini-settings.json", ".gemini/settings.json")):
        with open(os.path.join(FILES, name), "rb") as handle:
            expected[f"{HOME}/{path}"] = handle.read()
    first = container_playbook(laptops.double, laptop, "uninstall", confirm="yes")
    assert first.returncode == 0
    for path, content in expected.items():
        assert container_file(laptop, path) == content, path
    for path in (".local/share/fmapi-coding-agents/fmapi-token-helper", ".local/bin/gemini",
                 ".codex/.config.toml.fmapi-state.json", ".gemini/.settings.json.fmapi-state.json"):
        assert container_file(laptop, f"{HOME}/{path}") is None, path
    again = container_playbook(laptops.double, laptop, "uninstall", confirm="yes")
    assert again.returncode == 0
    assert re.search(r"fmapi-laptop-trixie\s*:\s*ok=\d+\s+changed=0", again.stdout)
