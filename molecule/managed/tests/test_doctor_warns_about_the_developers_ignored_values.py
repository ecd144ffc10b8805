"""The doctor, run as the developer, warns about each value of theirs the managed layer silently beats."""

from __future__ import annotations

import pytest
from managed_laptop import playbook


@pytest.fixture(name="doctor", scope="module")
def doctor_fixture():
    return playbook("doctor")


@pytest.mark.parametrize("label, keys", [
    ("Overridden setting", {"apiKeyHelper", "env.ANTHROPIC_BASE_URL", "env.ANTHROPIC_MODEL"}),
    ("Codex overridden setting", {"model", "model_provider"}),
    ("Gemini overridden setting", {"security.auth.selectedType"}),
])
def test_the_doctor_warns_about_each_overridden_value(doctor, label, keys):
    rows = [row for row in doctor.rows() if row.label == label]
    assert all(row.status == "WARN" and "is ignored: managed settings" in row.value for row in rows), rows
    assert {row.value.split(" in ", 1)[0] for row in rows} == keys, "\n".join(doctor.report_lines())


def test_the_doctor_finds_nothing_else_wrong(doctor):
    failed = [str(row) for row in doctor.rows() if row.status == "FAIL"]
    assert doctor.returncode == 0 and not failed, failed
