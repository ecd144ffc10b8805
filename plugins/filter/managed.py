# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``managed_paths``: where the managed (enforced) settings layer of each agent lives, for roles and playbooks.
The paths are _managed's; this only hands them to Jinja, so no path is spelled twice in YAML."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _managed as managed


def managed_paths(root: t.Any = "/", system: t.Any = None) -> t.Dict[str, str]:
    """The managed paths on ``system`` (``ansible_facts.system``: V(Darwin) or V(Linux); ``darwin``/``linux``
    work too), under ``root`` (``/`` on a laptop, a folder for emit-only)."""
    if root is None or not str(root).strip():
        root = "/"
    name = str(system or "").lower()
    if name and name not in managed.SYSTEMS:
        name = managed.LINUX if name not in ("macos", "osx") else managed.MACOS
    if not str(root).startswith("/") and not str(root).startswith("~"):
        raise AnsibleFilterError("managed_paths: the root must be an absolute path, not %r" % (root,))
    return managed.paths(name or None, str(root))


class FilterModule:  # pylint: disable=too-few-public-methods
    """The managed-settings filters."""

    def filters(self):
        return {"managed_paths": managed_paths}
