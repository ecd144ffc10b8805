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
    description:
      - The executable's name, for example V(claude) or V(npm). Required unless O(path) is given.
    type: str
  path:
    description:
      - Check this executable rather than looking for O(name); for a tool an install just put at a known place,
        whatever C(PATH) holds.
    type: path
  extra_paths:
    description:
      - Directories searched after C(PATH), in this order. C(~) is expanded for the user the module runs as.
    type: list
    elements: path
    default: [~/.local/bin, /opt/homebrew/bin, /usr/local/bin, ~/bin]
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
- name: Look for npm
  fmapi.coding_agents.tool_info:
    name: npm
    min_version: "9.0"
  register: npm

- name: Tell what was found
  ansible.builtin.debug:
    msg: "{{ npm.path }} {{ npm.version }}"
  when: npm.found

- name: Check the claude an install just put in Homebrew's prefix, whatever PATH holds
  fmapi.coding_agents.tool_info:
    path: /opt/homebrew/bin/claude
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

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws


# The version as the tool prints it: "jq-1.6" is version 1.6, not 1.6.0.
VERSION_PATTERN = re.compile(r"\d+\.\d+(?:\.\d+)?")


def find_executable(name: str, extra_paths: list, environ: dict) -> tuple:
    """(path, on_path) of the first executable named ``name``; (None, False) when there is none."""
    for candidate, on_path in ws.cli_candidates(environ, name, extra_paths):
        if ws.is_executable_file(candidate):
            return candidate, on_path
    return None, False


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str"),
            path=dict(type="path"),
            extra_paths=dict(type="list", elements="path",
                             default=["~/.local/bin", "/opt/homebrew/bin", "/usr/local/bin", "~/bin"]),
            version_args=dict(type="list", elements="str", default=["--version"]),
            min_version=dict(type="str"),
            timeout=dict(type="int", default=30),
        ),
        required_one_of=[("name", "path")],
        supports_check_mode=True,
    )
    name = module.params["name"]
    if name and os.sep in name:
        module.fail_json(msg=f"name must be a bare executable name, not a path: {name!r}; give a path as path")
    min_version = module.params["min_version"]
    if min_version and not ws.version_tuple(min_version):
        module.fail_json(msg=f"min_version must look like X.Y or X.Y.Z, got {min_version!r}")

    if module.params["path"]:
        given = os.path.abspath(module.params["path"])
        path = given if ws.is_executable_file(given) else None
        on_path = bool(path) and os.path.dirname(given) in [
            os.path.abspath(directory) for directory in os.environ.get("PATH", "").split(os.pathsep) if directory]
    else:
        path, on_path = find_executable(name, module.params["extra_paths"], dict(os.environ))
    result = dict(changed=False, found=path is not None, on_path=on_path, version="", version_ok=False)
    if path is None:
        module.exit_json(**result)

    result["path"] = path
    try:
        # A bounded wait, which AnsibleModule.run_command cannot give.
        # pylint: disable-next=ansible-bad-function
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
        match = VERSION_PATTERN.search(output)
        result["version"] = match.group(0) if match else ""
    if result["version"]:
        result["version_ok"] = not min_version or ws.version_at_least(result["version"], min_version)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
