# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of fmapi.coding_agents.claude_plugin: reads the marketplace folder ``src`` where
the playbook runs (a role's ``files/`` folder, as ansible.builtin.copy finds it) and hands its files
to the module in one go, so that installing the plugin is one module run however many files it has."""

from __future__ import annotations

import base64
import os

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

# The plugin is a few Markdown and JSON files; anything this large is the wrong folder.
MAX_TOTAL_BYTES = 4 * 1024 * 1024


def read_folder(root: str) -> dict:
    """``{relative path: base64 of the content}`` of the regular files below ``root``."""
    files, total = {}, 0
    for directory, subdirectories, names in os.walk(root):
        subdirectories.sort()
        for name in sorted(names):
            path = os.path.join(directory, name)
            if not os.path.isfile(path):
                continue
            with open(path, "rb") as handle:
                data = handle.read()
            total += len(data)
            if total > MAX_TOTAL_BYTES:
                raise AnsibleActionFail("%s holds more than %d bytes; is it the plugin's marketplace folder?"
                                        % (root, MAX_TOTAL_BYTES))
            files[os.path.relpath(path, root)] = base64.b64encode(data).decode("ascii")
    return files


class ActionModule(ActionBase):
    """Read ``src`` on the controller, run the module with its files."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        if args.get("files") is not None:
            raise AnsibleActionFail("files is filled from src; give src, the marketplace folder on the controller")
        src = args.pop("src", None)
        if src:
            try:
                root = self._find_needle("files", src)
            except AnsibleError as exc:
                raise AnsibleActionFail("src %s was not found: %s" % (src, to_text(exc))) from None
            if not os.path.isdir(root):
                raise AnsibleActionFail("src %s is not a folder; give the marketplace folder" % root)
            args["files"] = read_folder(root)
        result.update(self._execute_module(module_name="fmapi.coding_agents.claude_plugin", module_args=args,
                                           task_vars=task_vars))
        return result
