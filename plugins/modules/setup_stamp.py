#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: setup_stamp
short_description: Tell a scheduled re-run of the setup whether anything changed since its last full run
version_added: 0.3.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - The setup playbook's quick re-run (C(-e fast_rerun=true), for schedules). After a full run that ended
    without a warning, O(state=present) writes a stamp, C(setup-stamp.json) in the user's
    C($XDG_STATE_HOME/fmapi-coding-agents/) (C(~/.local/state/fmapi-coding-agents/)), mode V(0600). It holds the
    digest of the run's values, a fingerprint of every file the run wrote or read, the profile and CLI of the
    session, and the report rows to repeat; digests only, never a file's content or a token.
  - O(state=query) says in RV(current) whether the next run would change nothing. It is V(false), with the
    reason in RV(reason), when there is no stamp, the values or the collection differ (O(inputs_digest)), the last
    full run is older than O(max_age_hours), any fingerprinted file differs, or
    C(databricks auth token --profile PROFILE) fails (the session must be renewed, which the full run does).
  - Fingerprints are made of the owner, mode and SHA-256 of each file up to 1 MiB, the size and modification time
    of a larger one (an executable), through symlinks and down a folder's tree. The Databricks CLI's configuration
    file and the shell start-up files an older setup wrapped are always among them.
  - Files the agents themselves rewrite while they run (C(~/.claude.json), token caches) are not fingerprinted;
    the full run that O(max_age_hours) forces checks them.
  - The stamp is the collection's own record, not the user's setup, so writing it does not count as a change.
  - Runs in check mode (O(state=present) and O(state=absent) then write nothing).
options:
  state:
    description:
      - V(query) compares; V(present) writes the stamp; V(absent) removes it (the uninstall).
    type: str
    choices: [query, present, absent]
    default: query
  path:
    description:
      - The stamp file. By default C(setup-stamp.json) in C($XDG_STATE_HOME/fmapi-coding-agents/)
        (C(~/.local/state/fmapi-coding-agents/)).
    type: path
  values:
    description:
      - The values given on the command line (the setup playbook's C(fmapi_command_line)). Read by the action
        plugin on the controller, which digests them with O(config) or O(config_url), O(variables), every variable
        the collection's roles document and the collection's own files into O(inputs_digest).
    type: dict
    default: {}
  config:
    description: The config file on the controller (as M(fmapi.coding_agents.setup_config) reads it).
    type: path
  config_url:
    description: The config URL (as M(fmapi.coding_agents.setup_config) fetches it).
    type: str
  ca_path:
    description: CA bundle for O(config_url).
    type: path
  timeout:
    description: Seconds to fetch O(config_url).
    type: int
    default: 30
  variables:
    description: Further variable names whose values decide the run (the playbook's own, such as C(managed_root)).
    type: list
    elements: str
    default: []
  inputs_digest:
    description:
      - The digest of the controller's side. The action plugin computes it when it is not given; give the one a
        query returned (RV(inputs_digest)) to record a run with the values the run started with.
    type: str
  paths:
    description:
      - Files and folders to fingerprint besides the Databricks CLI's configuration file and the shell start-up
        files (O(state=present)). A missing one is fingerprinted as missing.
    type: list
    elements: path
    default: []
  databricks_cli:
    description: The Databricks CLI whose session O(state=query) checks (O(state=present)).
    type: path
  profile:
    description: The Databricks CLI profile of that session (O(state=present)).
    type: str
  summary:
    description: What a quick re-run reports (the last full run's report rows, which must hold no secret).
    type: list
    elements: dict
    default: []
  max_age_hours:
    description:
      - With O(state=query), a stamp older than this is not current, so a full run comes at least this often.
        V(0) makes every run a full run.
    type: int
    default: 24
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
attributes:
  action:
    support: full
    description: Has an action plugin that runs on the controller.
    details:
      - The action plugin digests the controller's side (O(values), the config, the role variables, the
        collection) into O(inputs_digest).
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - The stamp stays on a re-run that does not use C(fast_rerun); the uninstall removes it.
seealso:
  - module: fmapi.coding_agents.setup_config
"""

EXAMPLES = r"""
- name: Ask whether anything changed since the last full run
  fmapi.coding_agents.setup_stamp:
    state: query
  register: stamp

- name: Record the full run
  fmapi.coding_agents.setup_stamp:
    state: present
    paths: [~/.claude/settings.json, ~/.local/share/fmapi-coding-agents/fmapi-token-helper]
    databricks_cli: /usr/local/bin/databricks
    profile: fmapi-claudecode-profile
"""

RETURN = r"""
current:
  description: Whether nothing changed since the last full run (O(state=query)).
  returned: always
  type: bool
  sample: true
reason:
  description: Why RV(current) is V(false), for a person; V(null) when it is V(true).
  returned: always
  type: str
  sample: /home/dev/.claude/settings.json changed since the last full run at 2026-11-30T08:00:00Z
full_run_at:
  description: When the last full run wrote the stamp (UTC, ISO 8601), or V(null).
  returned: always
  type: str
  sample: "2026-11-30T08:00:00Z"
next_full_run_after:
  description: When a quick re-run stops being enough (RV(full_run_at) plus O(max_age_hours)), or V(null).
  returned: always
  type: str
  sample: "2026-12-01T08:00:00Z"
files:
  description: How many files and folders were compared (O(state=query)) or recorded (O(state=present)).
  returned: always
  type: int
  sample: 14
summary:
  description: The report rows the last full run recorded (O(state=query) when RV(current)).
  returned: always
  type: list
  elements: dict
inputs_digest:
  description: The digest of the controller's side that was compared or recorded (a SHA-256, no value in it).
  returned: when O(state) is not V(absent)
  type: str
path:
  description: The stamp file.
  returned: always
  type: str
  sample: /home/dev/.local/state/fmapi-coding-agents/setup-stamp.json
"""

import datetime
import json
import os
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _databricks_cli as dbcli
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws
from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import (
    atomic_write,
    ensure_directory,
    expand,
    fingerprint,
    read_bytes,
    remove_file,
)
from ansible_collections.fmapi.coding_agents.plugins.module_utils._shell_rc import RC_FILES

STAMP_NAME = "setup-stamp.json"
STAMP_VERSION = 1
# The session check: the CLI may refresh the access token over the network, as the token helper would.
SESSION_TIMEOUT_SECONDS = 30


def default_path(environ: t.Mapping[str, str]) -> str:
    """Where the stamp goes: the collection's per-user state folder."""
    return os.path.join(dbcli.state_dir(environ), STAMP_NAME)


def always_fingerprinted(environ: t.Mapping[str, str]) -> t.List[str]:
    """What every stamp covers: the Databricks CLI's configuration file (profiles, personal access tokens an older
    setup left) and the shell start-up files an older setup put wrappers in."""
    return [ws.config_file_path(environ)] + [ws.expand_home(name, environ) for name in RC_FILES]


def read_stamp(path: str) -> t.Tuple[t.Optional[t.Dict[str, t.Any]], t.Optional[str]]:
    """(stamp, why it cannot be used)."""
    try:
        data = read_bytes(path)
    except OSError as exc:
        return None, "the stamp %s cannot be read (%s)" % (path, exc.strerror)
    if data is None:
        return None, "no full run has been recorded yet (%s)" % path
    try:
        stamp = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, "the stamp %s is not valid JSON" % path
    if not isinstance(stamp, dict) or stamp.get("version") != STAMP_VERSION or not isinstance(stamp.get("files"), dict):
        return None, "the stamp %s was written by another version of the collection" % path
    return stamp, None


def compare(stamp: t.Dict[str, t.Any], inputs_digest: str, max_age_hours: int, now: datetime.datetime,
            environ: t.Mapping[str, str]) -> t.Optional[str]:
    """Why the next run would not be a no-op, or None. Cheapest checks first; the session last."""
    full_run_at = dbcli.parse_expiry(stamp.get("full_run_at"))
    if stamp.get("inputs_digest") != inputs_digest:
        return "the values given or the collection changed since the last full run"
    if full_run_at is None or max_age_hours <= 0:
        return "every run is a full run (max_age_hours is 0)" if max_age_hours <= 0 else "the stamp has no time"
    if now - full_run_at >= datetime.timedelta(hours=max_age_hours):
        return "the last full run (%s) is more than %d hours old" % (dbcli.iso_utc(full_run_at), max_age_hours)
    if full_run_at > now + datetime.timedelta(minutes=5):
        return "the last full run (%s) is in the future: the clock changed" % dbcli.iso_utc(full_run_at)
    for path, recorded in sorted(stamp["files"].items()):
        if fingerprint(path) != recorded:
            return "%s changed since the last full run at %s" % (path, dbcli.iso_utc(full_run_at))
    cli, profile = stamp.get("databricks_cli"), stamp.get("profile")
    if cli and profile:
        token = dbcli.fetch_token(cli, profile, environ, timeout=SESSION_TIMEOUT_SECONDS)
        if not token.ok:
            return "the Databricks session of profile %s is not active (%s)" % (profile, token.kind)
    return None


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["query", "present", "absent"], default="query"),
            # Read by the action plugin on the controller; not used here.
            values=dict(type="dict", default={}),
            config=dict(type="path"),
            config_url=dict(type="str"),
            ca_path=dict(type="path"),
            timeout=dict(type="int", default=30),
            variables=dict(type="list", elements="str", default=[]),
            path=dict(type="path"),
            inputs_digest=dict(type="str", no_log=False),
            paths=dict(type="list", elements="path", default=[]),
            databricks_cli=dict(type="path"),
            profile=dict(type="str"),
            summary=dict(type="list", elements="dict", default=[]),
            max_age_hours=dict(type="int", default=24),
        ),
        required_if=[("state", "query", ["inputs_digest"]), ("state", "present", ["inputs_digest"])],
        supports_check_mode=True,
    )
    params = module.params
    environ = dict(os.environ)
    path = expand(params["path"]) if params["path"] else default_path(environ)
    result = dict(changed=False, current=False, reason=None, full_run_at=None, next_full_run_after=None, files=0,
                  summary=[], path=path)
    if params["state"] != "absent":
        result["inputs_digest"] = params["inputs_digest"]
    now = dbcli.utc_now()

    if params["state"] == "absent":
        result["changed"] = os.path.lexists(path)
        if result["changed"] and not module.check_mode:
            remove_file(path)
        module.exit_json(**result)

    if params["state"] == "present":
        files = {}
        for item in always_fingerprinted(environ) + [expand(p) for p in params["paths"] if p]:
            files.setdefault(item, fingerprint(item))
        stamp = dict(version=STAMP_VERSION, full_run_at=dbcli.iso_utc(now), inputs_digest=params["inputs_digest"],
                     files=files, databricks_cli=params["databricks_cli"], profile=params["profile"], summary=params["summary"])
        result.update(files=len(files), full_run_at=stamp["full_run_at"], summary=params["summary"])
        if not module.check_mode:
            try:
                ensure_directory(os.path.dirname(path), 0o700)
                atomic_write(module, path, json.dumps(stamp, indent=1, sort_keys=True) + "\n", 0o600)
            except OSError as exc:
                # Only a quick re-run needs it: the setup itself is done.
                module.warn("The stamp for quick re-runs cannot be written to %s (%s); the next run with "
                            "fast_rerun=true is a full run." % (path, exc.strerror))
        module.exit_json(**result)

    stamp, problem = read_stamp(path)
    if stamp is None:
        result["reason"] = problem
        module.exit_json(**result)
    full_run_at = dbcli.parse_expiry(stamp.get("full_run_at"))
    if full_run_at is not None:
        next_full = full_run_at + datetime.timedelta(hours=max(params["max_age_hours"], 0))
        result.update(full_run_at=dbcli.iso_utc(full_run_at), next_full_run_after=dbcli.iso_utc(next_full))
    reason = compare(stamp, params["inputs_digest"], params["max_age_hours"], now, environ)
    summary = stamp.get("summary") if isinstance(stamp.get("summary"), list) else []
    result.update(current=reason is None, reason=reason, files=len(stamp["files"]),
                  summary=summary if reason is None else [])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
