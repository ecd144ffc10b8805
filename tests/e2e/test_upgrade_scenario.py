"""The upgrade scenario: a laptop of the original script, set up again; then a re-run and an uninstall."""

from __future__ import annotations

import json
import re

import pytest
from conftest import container_file, container_playbook

SCENARIO = "upgrade"
HOST = "fmapi-upgrade-bookworm"
HOME = "/home/developer"


@pytest.fixture(name="upgraded", scope="module")
def upgraded_fixture(molecule):
    """The old install's PATs in the workspace, the laptop converged (and idempotent)."""
    control = molecule.double.control
    control.reset()
    for comment in ("Claude Code FMAPI (created 2025-09-30)", "Claude Code FMAPI (created 2025-10-01)",
                    "my CI pipeline"):
        control.create_pat(comment=comment)
    molecule("destroy", SCENARIO)
    try:
        for action in ("create", "prepare", "converge", "idempotence"):
            assert molecule(action, SCENARIO).returncode == 0, f"molecule {action} failed"
        yield molecule
    finally:
        molecule("destroy", SCENARIO)


def test_leftovers_are_cleaned_and_the_users_settings_kept(upgraded):
    result = upgraded("verify", SCENARIO)
    assert result.returncode == 0
    summary = re.findall(r"=+ (.*(?:passed|failed).*) in [\d.]+s", result.stdout)
    assert summary and "failed" not in summary[-1], summary


def test_rerun_with_a_changed_model_changes_only_that(upgraded):
    before = json.loads(container_file(HOST, f"{HOME}/.claude/settings.json"))
    helper_before = container_file(HOST, f"{HOME}/.local/share/fmapi-coding-agents/fmapi-token-helper")
    result = container_playbook(upgraded.double, HOST, "setup", "-e", "sonnet=databricks-claude-sonnet-4-6")
    assert result.returncode == 0
    after = json.loads(container_file(HOST, f"{HOME}/.claude/settings.json"))
    assert after["env"].pop("ANTHROPIC_DEFAULT_SONNET_MODEL") == "databricks-claude-sonnet-4-6"
    assert before["env"].pop("ANTHROPIC_DEFAULT_SONNET_MODEL") == "databricks-claude-sonnet-4-5"
    assert after == before
    assert container_file(HOST, f"{HOME}/.local/share/fmapi-coding-agents/fmapi-token-helper") == helper_before
    assert re.search(r"changed=1\b", result.stdout), "only the settings file should have changed"
