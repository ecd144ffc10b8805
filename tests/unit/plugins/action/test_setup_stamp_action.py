# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the controller side of setup_stamp: what makes the next fast_rerun a full run."""

from __future__ import annotations

import shutil

from ansible_collections.fmapi.coding_agents.plugins.action import setup_stamp


def copy_of_collection(tmp_path):
    root = tmp_path / "collection"
    for name in setup_stamp._CONTENT_DIRS:  # pylint: disable=protected-access
        shutil.copytree(f"{setup_stamp.COLLECTION_ROOT}/{name}", root / name)
    shutil.copy(f"{setup_stamp.COLLECTION_ROOT}/galaxy.yml", root / "galaxy.yml")
    return root


def test_an_edit_or_an_upgrade_of_the_collection_changes_its_digest(tmp_path):
    root = copy_of_collection(tmp_path)
    before = setup_stamp.collection_digest(str(root))
    assert setup_stamp.collection_digest(str(root)) == before
    cache = root / "plugins" / "modules" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "setup_stamp.cpython-311.pyc").write_bytes(b"compiled")
    assert setup_stamp.collection_digest(str(root)) == before, "compiled files are not the collection's content"
    defaults = root / "roles" / "claude_code" / "defaults" / "main.yml"
    defaults.write_text(defaults.read_text() + "\n# a local edit\n")
    edited = setup_stamp.collection_digest(str(root))
    assert edited != before
    galaxy = root / "galaxy.yml"
    galaxy.write_text(galaxy.read_text().replace("version:", "version: 99.0.0\nold_version:", 1))
    assert setup_stamp.collection_digest(str(root)) != edited


def test_every_documented_role_variable_is_part_of_the_digest():
    names = setup_stamp.role_variables()
    for name in ("databricks_cli_release_url", "claude_code_release_url", "claude_code_repair_settings",
                 "codex_install", "gemini_settings_scope"):
        assert name in names, name
    assert names == sorted(set(names))
