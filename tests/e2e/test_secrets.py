"""No token reaches a log or a file it does not belong in.

Every playbook runs at -vvv, with Ansible's own log file on, against the workspace double, which
records every access and refresh token it issues. Then the printed output, the log and every file in
the laptop's home except the Databricks CLI's own token store are searched for each of them.
"""

from __future__ import annotations

import os
import stat

import pytest
from operations_support import Laptop
from workspace_double import WorkspaceDouble

# The CLI keeps its tokens here (DATABRICKS_AUTH_STORAGE=plaintext, as on a machine without a keyring).
CLI_TOKEN_STORE = os.path.join(".databricks", "token-cache.json")


@pytest.fixture(name="double")
def double_fixture(tmp_path):
    mirror = os.environ.get("FMAPI_MIRROR_DIR")
    if not mirror or not os.path.isdir(mirror):
        pytest.fail("FMAPI_MIRROR_DIR is not set: source ~/.cache/fmapi-coding-agents/env.sh", pytrace=False)
    double = WorkspaceDouble(str(tmp_path / "double"), mirror_dir=mirror).start()
    try:
        yield double
    finally:
        double.stop()


def record_issued_tokens(double) -> list:
    """Every access and refresh token the double issues from now on."""
    issued = []
    store = double.state.tokens
    original = store.issue_pair

    def issue_pair(*args, **kwargs):
        response = original(*args, **kwargs)
        issued.extend([response["access_token"], response["refresh_token"]])
        return response

    store.issue_pair = issue_pair
    return issued


def files_below(home: str) -> dict:
    found = {}
    for directory, _folders, names in os.walk(home):
        for name in names:
            path = os.path.join(directory, name)
            if os.path.isfile(path) and os.path.relpath(path, home) != CLI_TOKEN_STORE:
                with open(path, "rb") as handle:
                    found[path] = handle.read()
    return found


def test_no_token_reaches_output_logs_or_files_and_private_files_stay_private(double, tmp_path):
    issued = record_issued_tokens(double)
    (tmp_path / "work").mkdir()
    laptop = Laptop(str(tmp_path / "home"), double, str(tmp_path / "work"))
    log = str(tmp_path / "work" / "ansible.log")
    laptop.extra_env["ANSIBLE_LOG_PATH"] = log
    outputs = []

    run = laptop.setup()
    assert run.returncode == 0
    for playbook, browser in (("setup", True), ("status", False), ("doctor", False), ("list_models", False),
                              ("validate_models", False), ("reauth", True)):
        extra = ["host=" + laptop.url, "claude_code_release_url=%s/mirror/claude-code" % laptop.url,
                 "databricks_cli_release_url=%s/mirror/databricks-cli" % laptop.url] if playbook == "setup" else []
        run = laptop.play(playbook, *extra, browser=browser, verbosity=3)
        assert run.returncode == 0, playbook
        outputs.append(run.output)
    # Claude Code's way of asking: the helper's answer goes to Claude Code, nowhere else.
    assert issued, "the double issued no token: nothing was tested"
    files = files_below(laptop.home)

    for token in issued:
        for output in outputs:
            assert token not in output
        with open(log, encoding="utf-8", errors="replace") as handle:
            assert token not in handle.read()
        for path, content in files.items():
            assert token.encode() not in content, path

    for path, mode in ((laptop.settings_path, 0o600), (laptop.helper_path, 0o700),
                       (os.path.join(laptop.home, ".databrickscfg"), 0o600),
                       (os.path.join(os.path.dirname(laptop.helper_path), ".fmapi-token-helper.state"), 0o600),
                       (os.path.join(laptop.home, ".claude"), 0o700)):
        assert stat.S_IMODE(os.stat(path).st_mode) == mode, path

    removed = laptop.play("uninstall", "confirm=yes", verbosity=3)
    assert removed.returncode == 0
    for token in issued:
        assert token not in removed.output
