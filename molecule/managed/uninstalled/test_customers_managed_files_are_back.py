"""The customer's own managed files are back byte for byte, with their owner and mode."""

from __future__ import annotations

import pytest
from managed_laptop import CUSTOMER_FILES, content, owners_and_modes, prepared


@pytest.mark.parametrize("name, path", sorted(CUSTOMER_FILES.items()))
def test_the_customers_managed_file_is_byte_for_byte_theirs(host, name, path):
    assert content(host, path) == prepared(name)
    assert owners_and_modes(host, path) == {path: ("root", "root", 0o644)}
