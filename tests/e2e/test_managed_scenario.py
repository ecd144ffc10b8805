"""The managed scenario: a fresh Debian laptop set up with settings_scope=managed, against the double.

`molecule test` runs the whole story in its test_sequence (molecule/managed/molecule.yml): a customer's own
managed files and user files that say otherwise (prepare), the managed setup (converge), a re-run that changes
nothing (idempotence), the real agents answering with the workspace's token and the doctor's warnings (verify),
the uninstall (side_effect) and what it left (verify uninstalled).
"""

from __future__ import annotations

import re

SCENARIO = "managed"


def test_managed_settings_win_on_a_laptop_and_the_uninstall_gives_back_the_customers_files(molecule):
    result = molecule("test", SCENARIO)
    assert result.returncode == 0, "molecule test failed"
    # Both verify steps ran tests (Molecule only warns when it finds none), and every one of them passed.
    summaries = re.findall(r"=+ (.*(?:passed|failed|error).*) in [\d.]+s", result.stdout)
    assert len(summaries) == 2, summaries
    assert all("passed" in summary and not re.search(r"failed|error|skipped", summary) for summary in summaries), \
        summaries
