#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: tool_info
short_description: Find a command-line tool on a laptop and tell its version
version_added: 0.1.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Looks for an executable the way a developer's shell would find it, and also in the places installers
    put tools without always adding them to C(PATH) (C(~/.local/bin), C(~/bin), C(/usr/local/bin),
    C(/opt/homebrew/bin)).
  - Runs it with O(version_args) and reads the first version number (C(X.Y) or C(X.Y.Z)) in the output,
    so a role can skip an install when an acceptable version is there, or upgrade a too-old one.
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
  - fmapi.coding_agents.attributes.INFO_MODULE
options:
  name:
    description: The executable's name, for example V(claude) or V(databricks).
    type: str
    required: true
  extra_paths:
    description:
      - Directories searched after C(PATH), in this order. C(~) is expanded for the user the module runs as.
    type: list
    elements: path
    default: [~/.local/bin, ~/bin, /usr/local/bin, /opt/homebrew/bin]
  version_args:
    description: Arguments that make the tool print its version.
    type: list
    elements: str
    default: [--version]
  min_version:
    description:
      - The oldest acceptable version. RV(version_ok) tells whether the found version is at least this.
      - Without it RV(version_ok) is V(true) whenever a version could be read.
    type: str
  timeout:
    description: Seconds to wait for the version command.
    type: int
    default: 30
"""

EXAMPLES = r"""
- name: Look for the Databricks CLI
  fmapi.coding_agents.tool_info:
    name: databricks
    min_version: 0.296.0
  register: databricks_cli

- name: Tell what was found
  ansible.builtin.debug:
    msg: "{{ databricks_cli.path }} {{ databricks_cli.version }}"
  when: databricks_cli.found
"""

RETURN = r"""
found:
  description: Whether an executable of that name was found.
  returned: always
  type: bool
path:
  description: Absolute path of the executable found first.
  returned: when found
  type: str
  sample: /home/dev/.local/bin/claude
on_path:
  description: Whether the executable was found through C(PATH) (rather than in O(extra_paths)).
  returned: always
  type: bool
version:
  description: The version read from the tool's output; empty when none could be read or it failed.
  returned: always
  type: str
  sample: 2.1.329
version_output:
  description: The first line the version command printed.
  returned: when found
  type: str
  sample: 2.1.329 (Claude Code)
version_ok:
  description: Whether a version was read and is at least O(min_version).
  returned: always
  type: bool
"""

import os
import re
import subprocess

from ansible.module_utils.basic import AnsibleModule

VERSION_PATTERN = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> str:
    """The first X.Y[.Z] in text, or an empty string."""
    match = VERSION_PATTERN.search(text or "")
    return match.group(0) if match else ""


def version_tuple(version: str) -> tuple:
    """A comparable tuple for X.Y[.Z] (missing parts count as 0)."""
    match = VERSION_PATTERN.search(version or "")
    if not match:
        return ()
    return tuple(int(part or 0) for part in match.groups())


def find_executable(name: str, extra_paths: list, path_env: str) -> tuple:
    """(path, on_path) of the first executable named ``name``; (None, False) when there is none."""
    candidates = [(directory, True) for directory in path_env.split(os.pathsep) if directory]
    # extra_paths are of type path: Ansible has expanded ~ already.
    candidates += [(directory, False) for directory in extra_paths]
    for directory, on_path in candidates:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate), on_path
    return None, False


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            extra_paths=dict(type="list", elements="path",
                             default=["~/.local/bin", "~/bin", "/usr/local/bin", "/opt/homebrew/bin"]),
            version_args=dict(type="list", elements="str", default=["--version"]),
            min_version=dict(type="str"),
            timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    name = module.params["name"]
    if os.sep in name:
        module.fail_json(msg=f"name must be a bare executable name, not a path: {name!r}")
    min_version = module.params["min_version"]
    if min_version and not version_tuple(min_version):
        module.fail_json(msg=f"min_version must look like X.Y or X.Y.Z, got {min_version!r}")

    path, on_path = find_executable(name, module.params["extra_paths"], os.environ.get("PATH", ""))
    result = dict(changed=False, found=path is not None, on_path=on_path, version="", version_ok=False)
    if path is None:
        module.exit_json(**result)

    result["path"] = path
    try:
        completed = subprocess.run([path] + module.params["version_args"], capture_output=True, text=True,
                                   timeout=module.params["timeout"], check=False, stdin=subprocess.DEVNULL)
        output = (completed.stdout or completed.stderr or "").strip()
        succeeded = completed.returncode == 0
    except subprocess.TimeoutExpired:
        output, succeeded = f"timed out after {module.params['timeout']} s", False
    except OSError as exc:
        output, succeeded = str(exc), False
    result["version_output"] = output.splitlines()[0] if output else ""
    if succeeded:
        result["version"] = parse_version(output)
    if result["version"]:
        result["version_ok"] = not min_version or version_tuple(result["version"]) >= version_tuple(min_version)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
