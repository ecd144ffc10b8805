# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the managed_paths filter: _managed's paths for the system Ansible names, under a root."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.fmapi.coding_agents.plugins.filter.managed import managed_paths
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _managed as managed


@pytest.mark.parametrize("system, expected", [
    ("Darwin", "/Library/Application Support/ClaudeCode"),
    ("darwin", "/Library/Application Support/ClaudeCode"),
    ("macos", "/Library/Application Support/ClaudeCode"),
    ("Linux", "/etc/claude-code"),
    ("FreeBSD", "/etc/claude-code"),
])
def test_the_system_ansible_names_picks_the_paths(system, expected):
    assert managed_paths("/", system)["claude_code_dir"] == expected


def test_a_root_moves_every_file_but_not_the_helper_the_files_name():
    paths = managed_paths("/srv/emit/linux", "Linux")
    assert paths["codex"] == "/srv/emit/linux/etc/codex/managed_config.toml"
    assert paths["token_helper"] == "/srv/emit/linux" + managed.SYSTEM_TOKEN_HELPER
    assert paths["token_helper_command"] == managed.SYSTEM_TOKEN_HELPER
    assert managed_paths(None, "Linux") == managed_paths("/", "Linux") == managed.paths(managed.LINUX)


def test_a_relative_root_is_refused():
    with pytest.raises(AnsibleFilterError, match="the root must be an absolute path"):
        managed_paths("emit/linux", "Linux")
