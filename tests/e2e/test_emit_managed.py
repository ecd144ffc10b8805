# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""emit_managed: the managed files of every agent written into a folder for MDM tools, by the real playbook, with no
workspace, no login and no Databricks CLI; the macOS configuration profiles read back with plistlib (the parser of
the format macOS reads) and compared with the Linux files they must carry."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import plistlib
import re
import shutil
import stat
import subprocess
import tomllib

import pytest

HOST = "https://example.cloud.databricks.com"
SYSTEM_HELPER = "/usr/local/libexec/fmapi-coding-agents/fmapi-token-helper"
HELPER = "usr/local/libexec/fmapi-coding-agents/fmapi-token-helper"
CLAUDE_DROP_IN = {"linux": "etc/claude-code/managed-settings.d/50-fmapi-coding-agents.json",
                  "macos": "Library/Application Support/ClaudeCode/managed-settings.d/50-fmapi-coding-agents.json"}
CODEX_CONFIG = "etc/codex/managed_config.toml"
GEMINI_SETTINGS = {"linux": "etc/gemini-cli/settings.json",
                   "macos": "Library/Application Support/GeminiCli/settings.json"}
CLAUDE_PROFILE = "profiles/com.anthropic.claudecode.mobileconfig"
CODEX_PROFILE = "profiles/com.openai.codex.mobileconfig"


def emit(home: str, *extra_vars: str) -> subprocess.CompletedProcess:
    """``ansible-playbook fmapi.coding_agents.emit_managed -e ...`` as a platform engineer on a controller that has
    no Databricks CLI, no login and no root to give: an empty HOME, PATH without the CLI."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABRICKS_", "FMAPI_"))}
    env.update(HOME=home, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_LOCALHOST_WARNING="false",
               PATH=os.pathsep.join(part for part in env.get("PATH", "").split(os.pathsep)
                                    if not os.path.exists(os.path.join(part, "databricks"))))
    command = ["ansible-playbook", "fmapi.coding_agents.emit_managed"]
    for extra in extra_vars:
        command += ["-e", extra]
    completed = subprocess.run(command, cwd=home, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    print("$ %s  (exit %s)\n%s" % (" ".join(command), completed.returncode, completed.stdout[-8000:]))
    return completed


def recap(output: str) -> dict:
    """{counter: value} of localhost in the PLAY RECAP."""
    line = re.search(r"^localhost\s*:(.*)$", output[output.rindex("PLAY RECAP"):], re.M).group(1)
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line)}


def tree(root: str) -> dict:
    """Every file and folder below ``root``: relative path -> (mode, digest of a file's bytes)."""
    found = {}
    for directory, folders, names in os.walk(root):
        for name in folders + names:
            path = os.path.join(directory, name)
            digest = None
            if os.path.isfile(path):
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            found[os.path.relpath(path, root)] = (stat.S_IMODE(os.lstat(path).st_mode), digest)
    return found


def read(emit_dir: str, relative: str) -> bytes:
    with open(os.path.join(emit_dir, relative), "rb") as handle:
        return handle.read()


def preference_keys(emit_dir: str, relative: str, domain: str) -> dict:
    profile = plistlib.loads(read(emit_dir, relative))
    assert profile["PayloadType"] == "Configuration" and profile["PayloadScope"] == "System"
    [payload] = profile["PayloadContent"]
    assert payload["PayloadType"] == domain
    return {key: value for key, value in payload.items() if not key.startswith("Payload")}


@pytest.fixture(name="emitted", scope="module")
def emitted_fixture(tmp_path_factory):
    """The folder of one emit for the three agents, the playbook's output, and the controller's HOME."""
    home = str(tmp_path_factory.mktemp("controller"))
    emit_dir = os.path.join(str(tmp_path_factory.mktemp("mdm")), "fmapi-managed")
    run = emit(home, "host=" + HOST, "agents=claude_code,codex,gemini", "emit_dir=" + emit_dir)
    assert run.returncode == 0, run.stdout[-4000:]
    return emit_dir, run, home


def test_every_file_is_there_with_the_owner_modes_of_a_managed_file(emitted):
    emit_dir, run, _home = emitted
    found = tree(emit_dir)

    for system in ("linux", "macos"):
        assert found["%s/%s" % (system, HELPER)][0] == 0o755
        for relative in (CLAUDE_DROP_IN[system], CODEX_CONFIG, GEMINI_SETTINGS[system]):
            assert found["%s/%s" % (system, relative)][0] == 0o644, relative
    assert found[CLAUDE_PROFILE][0] == found[CODEX_PROFILE][0] == found["INSTALL.md"][0] == 0o644
    # Gemini CLI skips system settings under a folder others can write: every folder of the tree is 0755.
    folders = {path: mode for path, (mode, digest) in found.items() if digest is None}
    assert set(folders.values()) == {0o755}, folders
    # The modules' state records stay out of what an MDM ships.
    assert not [path for path in found if path.endswith(".fmapi-state.json")]
    assert recap(run.stdout)["failed"] == 0


def test_the_claude_code_profile_carries_the_linux_drop_in(emitted):
    emit_dir, _run, _home = emitted
    drop_in = json.loads(read(emit_dir, "linux/" + CLAUDE_DROP_IN["linux"]))

    keys = preference_keys(emit_dir, CLAUDE_PROFILE, "com.anthropic.claudecode")

    assert keys == drop_in
    assert json.loads(read(emit_dir, "macos/" + CLAUDE_DROP_IN["macos"])) == drop_in
    # The files name the helper where it goes on a laptop, never the emit folder.
    assert drop_in["apiKeyHelper"] == SYSTEM_HELPER
    assert drop_in["env"]["ANTHROPIC_BASE_URL"] == HOST + "/serving-endpoints/anthropic"


def test_the_codex_profile_carries_the_linux_toml_byte_for_byte(emitted):
    emit_dir, _run, _home = emitted
    toml = read(emit_dir, "linux/" + CODEX_CONFIG)

    keys = preference_keys(emit_dir, CODEX_PROFILE, "com.openai.codex")

    assert list(keys) == ["config_toml_base64"]
    assert base64.b64decode(keys["config_toml_base64"], validate=True) == toml
    assert read(emit_dir, "macos/" + CODEX_CONFIG) == toml
    config = tomllib.loads(toml.decode("utf-8"))
    provider = config["model_providers"][config["model_provider"]]
    assert provider["auth"]["command"] == SYSTEM_HELPER
    assert provider["base_url"] == HOST + "/serving-endpoints/codex/v1"


def test_gemini_settings_enforce_the_api_key_auth(emitted):
    emit_dir, _run, _home = emitted

    for system in ("linux", "macos"):
        auth = json.loads(read(emit_dir, "%s/%s" % (system, GEMINI_SETTINGS[system])))["security"]["auth"]
        assert auth["enforcedType"] == auth["selectedType"] == "gemini-api-key"


def test_the_helper_finds_the_cli_when_it_runs(emitted):
    emit_dir, _run, home = emitted

    metadata = json.loads(read(emit_dir, "linux/" + HELPER).decode().splitlines()[1].split(": ", 1)[1])

    assert metadata["databricks_cli"] == "databricks"
    assert metadata["interpreter"] == "/usr/bin/python3"
    assert metadata["host"] == HOST
    assert read(emit_dir, "macos/" + HELPER) == read(emit_dir, "linux/" + HELPER)
    # No login and no Databricks configuration was made on the controller.
    assert not [name for name in os.listdir(home) if name != ".ansible"]


def test_install_md_names_every_file_and_its_destination(emitted):
    emit_dir, _run, _home = emitted
    text = read(emit_dir, "INSTALL.md").decode()

    for system in ("linux", "macos"):
        for relative in (HELPER, CLAUDE_DROP_IN[system], CODEX_CONFIG, GEMINI_SETTINGS[system]):
            assert "`%s/%s` | `/%s`" % (system, relative, relative) in text
    assert CLAUDE_PROFILE in text and CODEX_PROFILE in text
    assert "install -o root -g wheel -m 0755 'macos/%s' '/%s'" % (HELPER, HELPER) in text


def test_a_rerun_changes_nothing(emitted):
    emit_dir, _run, home = emitted
    before = tree(emit_dir)

    again = emit(home, "host=" + HOST, "agents=claude_code,codex,gemini", "emit_dir=" + emit_dir)

    assert again.returncode == 0
    assert recap(again.stdout)["changed"] == 0
    assert tree(emit_dir) == before


def test_agents_no_longer_selected_leave_the_folder(emitted, tmp_path):
    emit_dir = str(tmp_path / "out")
    shutil.copytree(emitted[0], emit_dir)
    claude_profile = read(emit_dir, CLAUDE_PROFILE)

    run = emit(str(tmp_path), "host=" + HOST, "agents=claude_code", "emit_dir=" + emit_dir,
               "model=databricks-claude-sonnet-4-6")

    assert run.returncode == 0
    found = tree(emit_dir)
    assert not [path for path in found if path.endswith(("managed_config.toml", CODEX_PROFILE, "settings.json"))]
    drop_in = json.loads(read(emit_dir, "linux/" + CLAUDE_DROP_IN["linux"]))
    assert drop_in["env"]["ANTHROPIC_MODEL"] == "databricks-claude-sonnet-4-6"
    assert preference_keys(emit_dir, CLAUDE_PROFILE, "com.anthropic.claudecode") == drop_in
    assert read(emit_dir, CLAUDE_PROFILE) != claude_profile
    assert "managed_config.toml" not in read(emit_dir, "INSTALL.md").decode()


@pytest.mark.parametrize("value", [None, " "])
def test_a_missing_emit_dir_fails_naming_it(tmp_path, value):
    run = emit(str(tmp_path), "host=" + HOST, *(["emit_dir=" + value] if value is not None else []))

    assert run.returncode != 0
    assert "emit_dir is required" in run.stdout
    assert not [name for name in os.listdir(tmp_path) if name != ".ansible"]
