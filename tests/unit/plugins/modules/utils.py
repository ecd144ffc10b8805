"""Running a module's main() in a unit test and reading its result."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args


def warning_text(warning):
    """The message of a module warning (ansible-core 2.19 returns structured warnings)."""
    return warning["event"]["msg"] if isinstance(warning, dict) else warning


def run_main(main, capsys, module_args, check=False, diff=False, expect_failure=False):
    """Run ``main`` with ``module_args`` (None values dropped); return the result it printed.

    The result also carries ``_stdout`` (the raw output, to assert that no secret is in it) and
    ``_warnings`` (the warning messages as text). Fails the test when the module did not end as expected.
    """
    module_args = {key: value for key, value in module_args.items() if value is not None}
    if check:
        module_args["_ansible_check_mode"] = True
    if diff:
        module_args["_ansible_diff"] = True
    with patch_module_args(module_args):
        with pytest.raises(SystemExit) as exit_info:
            main()
    out = capsys.readouterr().out
    result = json.loads(out)
    result["_stdout"] = out
    result["_warnings"] = [warning_text(warning) for warning in result.get("warnings", [])]
    if expect_failure:
        assert exit_info.value.code == 1 and result.get("failed"), result
    else:
        assert exit_info.value.code == 0 and not result.get("failed"), result.get("msg")
    return result
