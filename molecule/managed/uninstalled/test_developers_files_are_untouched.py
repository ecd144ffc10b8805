"""The developer's own settings files are what they were before the setup, byte for byte."""

from __future__ import annotations

import pytest
from managed_laptop import USER_FILES, content, owners_and_modes, prepared


@pytest.mark.parametrize("name, path", sorted(USER_FILES.items()))
def test_the_developers_file_is_byte_for_byte_theirs(host, name, path):
    assert content(host, path) == prepared(name)
    assert owners_and_modes(host, path)[path][:2] == ("developer", "developer")
