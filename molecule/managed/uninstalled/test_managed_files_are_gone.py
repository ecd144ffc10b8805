"""The uninstall removed exactly what managed scope wrote: the customer's folders hold only their files again, and
the folders managed scope made are gone."""

from __future__ import annotations

import os

from managed_laptop import CUSTOMER_FILES, MANAGED_FOLDERS


def test_the_customers_folders_hold_only_their_files(host):
    folders = sorted({os.path.dirname(path) for path in CUSTOMER_FILES.values()})
    # Hidden files too: the sidecars that recorded what managed scope replaced.
    found = host.run(f"find {' '.join(folders)} ! -type d")
    assert found.rc == 0, found.stderr
    assert sorted(found.stdout.split()) == sorted(CUSTOMER_FILES.values())


def test_the_folders_managed_scope_made_are_gone(host):
    assert [folder for folder in MANAGED_FOLDERS if host.file(folder).exists] == []
