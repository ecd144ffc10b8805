# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of fmapi.coding_agents.setup_stamp: the digest of everything on the controller that decides
what a setup run does (the values given, the config file or URL, every role variable, the collection's own
files), handed to the module on the laptop as ``inputs_digest``."""

from __future__ import annotations

import hashlib
import json
import os

import yaml
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.fmapi.coding_agents.plugins.action.setup_config import ActionModule as SetupConfigAction
from ansible_collections.fmapi.coding_agents.plugins.module_utils._setup_config import ConfigError

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# What decides a run besides the values: the code that runs. An upgrade or a local edit makes the next run full.
_CONTENT_DIRS = ("plugins", "roles", "playbooks")
_CONTENT_FILES = ("galaxy.yml", "MANIFEST.json")

ACTION_ARGS = ("values", "config", "config_url", "ca_path", "timeout", "variables")


def collection_digest(root: str = COLLECTION_ROOT) -> str:
    """SHA-256 of the collection's plugins, roles and playbooks (names and content)."""
    digest = hashlib.sha256()
    for name in _CONTENT_FILES:
        path = os.path.join(root, name)
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                digest.update(name.encode() + b"\0" + handle.read() + b"\0")
    for top in _CONTENT_DIRS:
        for folder, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith((".pyc", ".pyo")):
                    continue
                path = os.path.join(folder, name)
                with open(path, "rb") as handle:
                    digest.update(os.path.relpath(path, root).encode() + b"\0" + handle.read() + b"\0")
    return digest.hexdigest()


def role_variables(root: str = COLLECTION_ROOT) -> list:
    """Every variable the collection's roles document (their argument specs): what a user can set with -e,
    in the inventory or in group_vars."""
    names = set()
    roles = os.path.join(root, "roles")
    for role in sorted(os.listdir(roles)) if os.path.isdir(roles) else []:
        spec = os.path.join(roles, role, "meta", "argument_specs.yml")
        if not os.path.isfile(spec):
            continue
        with open(spec, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
        for entry in (data.get("argument_specs") or {}).values():
            names.update((entry or {}).get("options") or {})
    return sorted(names)


class ActionModule(ActionBase):
    """Digest the run's inputs here, then compare or record on the laptop."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = dict(self._task.args)
        mine = {name: args.pop(name) for name in ACTION_ARGS if name in args}
        if args.get("state", "query") != "absent" and not args.get("inputs_digest"):
            args["inputs_digest"] = self.inputs_digest(mine, task_vars)
        result.update(self._execute_module(module_name="fmapi.coding_agents.setup_stamp", module_args=args,
                                           task_vars=task_vars))
        return result

    def inputs_digest(self, mine: dict, task_vars: dict) -> str:
        """The digest of what decides the run, or a marker that matches no stamp when the config cannot be read
        (the full run then says why)."""
        config = None
        try:
            if mine.get("config"):
                config = SetupConfigAction._read_file(mine["config"], [])[0]  # pylint: disable=protected-access
            elif mine.get("config_url"):
                config = SetupConfigAction._read_url(  # pylint: disable=protected-access
                    mine["config_url"], mine.get("ca_path"), int(mine.get("timeout") or 30), [])[0]
        except ConfigError as exc:
            return "config-unreadable:" + hashlib.sha256(str(exc).encode()).hexdigest()
        variables = {}
        for name in role_variables() + list(mine.get("variables") or []):
            if name not in task_vars:
                continue
            try:
                variables[name] = self._templar.template(task_vars[name])
            except Exception as exc:  # pylint: disable=broad-exception-caught
                # A default that needs what the run has not computed yet: the same at every check.
                variables[name] = "<not yet known: %s>" % type(exc).__name__
        try:
            text = json.dumps({"collection": collection_digest(), "values": mine.get("values") or {},
                               "config": config, "variables": variables}, sort_keys=True, default=str)
        except (TypeError, ValueError) as exc:
            raise AnsibleActionFail("cannot digest the setup's values: %s" % exc) from None
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
