"""The smoke scenario: real Databricks CLI and Claude Code in Debian containers, against the double."""

from __future__ import annotations

import pytest

SCENARIO = "smoke"


@pytest.fixture(name="converged", scope="module")
def converged_fixture(molecule):
    """The smoke containers, created, prepared and converged (and idempotent); destroyed afterwards."""
    molecule("destroy", SCENARIO)
    try:
        for action in ("create", "prepare", "converge", "idempotence"):
            result = molecule(action, SCENARIO)
            assert result.returncode == 0, f"molecule {action} failed"
        yield molecule
    finally:
        molecule("destroy", SCENARIO)


def test_verify_passes_against_a_working_workspace(converged):
    """Login, token and `claude -p` work in every container."""
    result = converged("verify", SCENARIO)
    assert result.returncode == 0
    assert "6 passed" in result.stdout


def test_verify_fails_when_the_workspace_rejects_tokens(converged):
    """The verify step is not vacuous: a workspace that rejects every bearer token fails it."""
    double = converged.double
    double.control.add_fault("/", reject_all_bearers=True, count=None)
    try:
        result = converged("verify", SCENARIO)
    finally:
        double.control.clear_faults()
    assert result.returncode != 0
    assert "test_cli_returns_a_token_the_workspace_accepts" in result.stdout
    assert "test_claude_answers_through_the_workspace" in result.stdout
