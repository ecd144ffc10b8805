"""Running a module's main() in a unit test and reading its result."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.module_utils.test_databricks_cli import (
    FakeCli,
    token_json,
)


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


def search_only_path(monkeypatch):
    """Make the collection's executable finder (``_workspace.cli_candidates``) look on PATH only.

    It also looks in ~/.local/bin, /opt/homebrew/bin, /usr/local/bin and ~/bin, where the machine running
    the tests may have a real Databricks CLI or Claude Code: with this, a test decides what exists.
    """
    original = _workspace.cli_candidates

    def path_only(environ, name=_workspace.CLI_NAME, search_dirs=()):  # pylint: disable=unused-argument
        return original(environ, name, ())

    monkeypatch.setattr(_workspace, "cli_candidates", path_only)


def use_home(tmp_path, monkeypatch):
    """An empty home directory as HOME, with the Databricks CLI's configuration file at its default place."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("DATABRICKS_CONFIG_FILE", raising=False)
    return home


def scripted_databricks_cli(directory, monkeypatch, token):
    """A scripted stand-in for the Databricks CLI v1.12.1 (see FakeCli) whose profile has an active session."""
    cli = FakeCli(directory)
    monkeypatch.setenv("FAKE_CLI_STATE", cli.state_path)
    cli.script(token=[{"stdout": token_json(token, 60)}])
    return cli


def legacy_databricks_cli(directory):
    """An executable named databricks that is the legacy Python databricks-cli (`--version` says Version 0.18.0)."""
    directory.mkdir(parents=True)
    path = directory / "databricks"
    path.write_text("#!/bin/sh\necho 'Version 0.18.0'\n")
    path.chmod(0o755)
    return str(path)
