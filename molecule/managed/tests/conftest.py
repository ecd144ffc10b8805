"""The enforced laptop's checks (after converge): the workspace double; the helpers are in ../managed_laptop.py."""

from __future__ import annotations

import os
import sys

import pytest
from workspace_double.control import DoubleClient

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(name="double")
def double_fixture() -> DoubleClient:
    """Client of the workspace double the scenario runs against."""
    return DoubleClient(os.environ["FMAPI_DOUBLE_URL"], os.environ["FMAPI_DOUBLE_CA"])
