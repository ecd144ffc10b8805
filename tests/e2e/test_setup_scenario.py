"""The setup scenario: fresh Debian laptops set up by the setup playbook, against the double."""

from __future__ import annotations

import os
import re

import pytest
from conftest import container_file, container_playbook

SCENARIO = "setup"


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


def test_fresh_laptops_work_end_to_end(laptops):
    """Tools, files and modes, a token from the helper, claude -p through the workspace, the plugin."""
    result = laptops("verify", SCENARIO)
    assert result.returncode == 0
    summary = re.findall(r"=+ (.*(?:passed|failed).*) in [\d.]+s", result.stdout)
    assert summary and "failed" not in summary[-1], summary


def test_uninstall_gives_back_the_users_settings_byte_for_byte(laptops):
    """After setup and uninstall, the developer's own settings file is exactly what it was; again is safe."""
    laptop = "fmapi-laptop-trixie"
    original = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                            "molecule", "setup", "files", "user-settings.json")
    with open(original, "rb") as handle:
        expected = handle.read()
    first = container_playbook(laptops.double, laptop, "uninstall", confirm="yes")
    assert first.returncode == 0
    assert container_file(laptop, "/home/developer/.claude/settings.json") == expected
    assert container_file(laptop, "/home/developer/.local/share/fmapi-coding-agents/fmapi-token-helper") is None
    again = container_playbook(laptops.double, laptop, "uninstall", confirm="yes")
    assert again.returncode == 0
    assert re.search(r"fmapi-laptop-trixie\s*:\s*ok=\d+\s+changed=0", again.stdout)
