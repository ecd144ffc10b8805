"""Shared fixtures of the module unit tests."""

from __future__ import annotations

import pytest
from ansible.module_utils.common import warnings as ansible_warnings


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    """Module warnings are process-wide: start each test without the previous tests' ones."""
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
    monkeypatch.setattr(ansible_warnings, "_global_deprecations", {})
