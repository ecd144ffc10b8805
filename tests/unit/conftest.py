# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of every unit test: each test starts from the same process state, whatever ran before it.

ansible-test units runs each test file apart; ``pytest tests/unit`` runs them all in one process.
There, whatever one test or the code under test changes process-wide reaches the tests after it:

* importing any controller code (``ansible.errors`` in a filter plugin, an action plugin) marks the
  whole process as the Ansible controller for good, and from then on ``AnsibleModule.warn`` prints
  warnings through the controller's display instead of returning them with the module's result;
* module warnings and deprecations are collected process-wide;
* modules change ``os.environ`` (claude_plugin sets ``CLAUDE_CONFIG_DIR`` for the ``claude`` it runs)
  and may change the working directory: harmless in a module's own process, not in a shared one.
"""

from __future__ import annotations

import os

import pytest
from ansible.module_utils import _internal as ansible_internal
from ansible.module_utils.common import warnings as ansible_warnings

# Tests of plugins that run on the controller, in folders of tests/unit/plugins named like the plugin types.
CONTROLLER_PLUGIN_TYPES = ("action", "filter")


@pytest.fixture(autouse=True)
def fresh_process_state(request, monkeypatch):
    """Module code runs as on a target, with no earlier warnings; environment and working directory are restored."""
    if request.node.path.parent.name not in CONTROLLER_PLUGIN_TYPES:
        monkeypatch.setattr(ansible_internal, "is_controller", False)
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
    monkeypatch.setattr(ansible_warnings, "_global_deprecations", {})
    environ, cwd = dict(os.environ), os.getcwd()
    yield
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(cwd)
