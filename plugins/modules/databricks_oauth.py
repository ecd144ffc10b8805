#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: databricks_oauth
short_description: Report and ensure a Databricks CLI OAuth (U2M) login session for a profile
version_added: 0.1.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Asks the real Databricks CLI (C(databricks auth token --profile PROFILE --output json)) whether a profile has
    a live OAuth login session, and reports it in RV(session) with the expiry of the current access token.
  - With O(state=present) it logs in (C(databricks auth login --host HOST --profile PROFILE)) when the session has
    ended or the profile does not exist yet, provided a browser can open here. A browser can open when
    C(BROWSER) is set (other than V(none)), when C(DISPLAY) or C(WAYLAND_DISPLAY) is set on Linux, or in a macOS
    desktop session that is not an SSH login. C(BROWSER) is passed through to the CLI.
  - When no browser can open, it does not fail by default. It returns RV(login_required=true) and the command to
    run in RV(login_command), so that a role can finish the rest of the setup and tell the user. Set
    O(fail_on_login_required=true) to fail instead.
  - The CLI runs without any C(DATABRICKS_*) environment variable that would override the profile; only
    C(DATABRICKS_AUTH_STORAGE) (where the CLI keeps tokens, for example V(plaintext)) and C(DATABRICKS_CONFIG_FILE)
    (where the profiles are) are passed through as they are.
  - Never returns or logs a token.
options:
  profile:
    description:
      - The Databricks CLI profile, a section of C(~/.databrickscfg) (or of C(DATABRICKS_CONFIG_FILE)).
      - Letters, digits, V(_) and V(-) only.
    type: str
    default: fmapi-claudecode-profile
  host:
    description:
      - The workspace URL, for example V(https://my-workspace.cloud.databricks.com). Needed to log in when the
        profile does not exist yet; otherwise the profile's own host is used.
      - When the profile exists with another host, O(state=present) fails rather than log in to a workspace
        nobody asked for.
      - Must start with V(https://) and hold nothing but the host name and an optional port; a trailing V(/) is
        removed.
    type: str
  databricks_cli:
    description:
      - Path of the Databricks CLI.
      - By default the first C(databricks) on E(PATH) or in C(/usr/local/bin), C(/opt/homebrew/bin),
        C(~/.local/bin) and C(~/bin) that is the Databricks CLI (the legacy Python C(databricks-cli) is skipped).
    type: path
  state:
    description:
      - V(present) ensures a live session, logging in when needed and possible.
      - V(fresh) logs in again even when the session is active (a re-authentication, for example to switch the
        account behind the profile), when a browser can open; otherwise it behaves like V(present).
      - V(status) only reports. Check mode with V(present) also only reports, and predicts in C(changed) whether a
        login would happen.
    type: str
    choices: [present, fresh, status]
    default: present
  login_timeout:
    description:
      - Seconds to wait for the browser login to finish, from 10 to 3600.
    type: int
    default: 300
  fail_on_login_required:
    description:
      - Fail when a login is needed but cannot happen here (no browser, or no host known for a new profile), or did
        not complete.
      - By default the module succeeds with RV(login_required=true).
    type: bool
    default: false
notes:
  - "Asking for the token is the CLI's normal operation: when the cached access token is (nearly) expired, the CLI
    refreshes it and updates its own token cache, also in check mode and with O(state=status)."
  - An access token that is still valid is reported as V(active) even if the workspace has already revoked the
    refresh token behind it; the session ends when that access token expires.
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
attributes:
  check_mode:
    support: full
    details:
      - In check mode no login happens; C(changed) says whether one would.
  diff_mode:
    support: none
    details:
      - The Databricks CLI writes the profile and its tokens; this module writes no file itself.
  idempotent:
    support: full
seealso:
  - module: fmapi.coding_agents.token_helper
  - name: Databricks OAuth user-to-machine authentication
    description: How the Databricks CLI logs in with a browser.
    link: https://docs.databricks.com/aws/en/dev-tools/auth/oauth-u2m
"""

EXAMPLES = r"""
- name: Make sure the developer is logged in (opens the browser when needed)
  fmapi.coding_agents.databricks_oauth:
    host: https://my-workspace.cloud.databricks.com
    profile: fmapi-claudecode-profile
  register: fmapi_oauth

- name: Tell the developer what to run when no browser could open
  ansible.builtin.debug:
    msg: "Finish the setup by running: {{ fmapi_oauth.login_command }}"
  when: fmapi_oauth.login_required

- name: Only report the session
  fmapi.coding_agents.databricks_oauth:
    profile: fmapi-claudecode-profile
    state: status
  register: fmapi_session

- name: Fail a fleet run on machines that need a login
  fmapi.coding_agents.databricks_oauth:
    host: https://my-workspace.cloud.databricks.com
    fail_on_login_required: true
"""

RETURN = r"""
session:
  description:
    - V(active) when the CLI hands out an access token for the profile.
    - V(expired) when a login is needed (the refresh token is invalid, or the profile has no cached login).
    - V(no_profile) when the profile is not in the CLI's configuration file.
    - V(no_cli) when the Databricks CLI is missing.
    - V(error) when the CLI failed otherwise, for example an unreachable workspace or an untrusted TLS certificate;
      RV(msg) says what to do.
  returned: always
  type: str
  sample: active
expires_at:
  description: When the current access token expires (UTC, ISO 8601), or V(null) without one.
  returned: always
  type: str
  sample: "2026-01-31T12:00:00Z"
cli_version:
  description: The version of the Databricks CLI, or V(null) without one.
  returned: always
  type: str
  sample: 1.12.1
databricks_cli:
  description: The Databricks CLI that was run, or V(null).
  returned: always
  type: str
  sample: /opt/homebrew/bin/databricks
profile:
  description: The profile.
  returned: always
  type: str
  sample: fmapi-claudecode-profile
host:
  description: The profile's workspace URL in the configuration file, or V(null) when the profile is missing.
  returned: always
  type: str
  sample: https://my-workspace.cloud.databricks.com
login_required:
  description: Whether a person still has to log in (see RV(login_command)).
  returned: always
  type: bool
  sample: false
login_command:
  description: The command that logs in, when RV(login_required) is true (or a login was attempted), else V(null).
  returned: always
  type: str
  sample: databricks auth login --host https://my-workspace.cloud.databricks.com --profile fmapi-claudecode-profile
browser_available:
  description: Whether a browser can open for a login here.
  returned: always
  type: bool
  sample: true
msg:
  description: What the module found or did, in words.
  returned: always
  type: str
  sample: "Profile fmapi-claudecode-profile has an active session; its access token expires at 2026-01-31T12:00:00Z."
"""

import os
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _databricks_cli as dbcli
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws

MIN_LOGIN_TIMEOUT = 10
MAX_LOGIN_TIMEOUT = 3600


class OAuthSession:
    """One run of the module."""

    def __init__(self, module: AnsibleModule):
        self.module = module
        self.params = module.params
        self.env = ws.clean_environment(os.environ)
        self.missing_cli = ""
        self.result: t.Dict[str, t.Any] = dict(
            changed=False, session=None, expires_at=None, cli_version=None, databricks_cli=None,
            profile=self.params["profile"], host=None, login_required=False, login_command=None,
            browser_available=False, msg="",
        )

    def fail(self, msg: str) -> None:
        self.result["msg"] = msg
        self.module.fail_json(**self.result)

    def finish(self, msg: str) -> t.Dict[str, t.Any]:
        self.result["msg"] = msg
        return self.result

    # -------------------------------------------------------------------------------- inputs

    def validated(self) -> t.Tuple[str, t.Optional[str]]:
        try:
            profile = ws.validate_profile(self.params["profile"])
            host = ws.normalize_host(self.params["host"]) if self.params["host"] is not None else None
        except ws.ValidationError as exc:
            self.fail(str(exc))
            raise  # unreachable: fail_json exits
        timeout = self.params["login_timeout"]
        if not MIN_LOGIN_TIMEOUT <= timeout <= MAX_LOGIN_TIMEOUT:
            self.fail("login_timeout must be from %d to %d seconds, got %d."
                      % (MIN_LOGIN_TIMEOUT, MAX_LOGIN_TIMEOUT, timeout))
        return profile, host

    def locate_cli(self) -> t.Optional[str]:
        """The CLI's path (and version in the result), or None with the reason in ``self.missing_cli``."""
        found = ws.find_cli(os.environ, self.params["databricks_cli"])
        if found.path is None:
            self.missing_cli = t.cast(str, found.problem)
            return None
        self.result.update(databricks_cli=found.path, cli_version=found.version)
        return found.path

    # ------------------------------------------------------------------------------- session

    def query(self, cli: str, profile: str, host: t.Optional[str]) -> t.Tuple[str, str]:
        """Ask for the session; fills session, expires_at and host; returns (session, message)."""
        status = dbcli.session_status(cli, profile, self.env, host)
        if status.problem:
            self.module.warn(status.problem)
        self.result.update(session=status.session, host=status.profile_host, expires_at=status.expires_at)
        return status.session, status.message

    def login_needed(self, profile: str, login_host: t.Optional[str], why: str) -> t.Dict[str, t.Any]:
        self.result["login_required"] = True
        self.result["login_command"] = ws.login_command(profile, login_host)
        message = "%s Log in with: %s" % (why, self.result["login_command"])
        if self.params["fail_on_login_required"]:
            self.fail(message)
        self.module.warn(message)
        return self.finish(message)

    def ensure(self, cli: str, profile: str, host: t.Optional[str], session: str,
               message: str) -> t.Dict[str, t.Any]:
        profile_host = self.result["host"]
        if host and profile_host and not ws.same_host(host, profile_host):
            self.fail("Profile %s in %s is for %s, not %s. Use another profile name, or remove [%s] from that file "
                      "and run again." % (profile, ws.config_file_path(self.env), profile_host, host, profile))
        if session == dbcli.SESSION_ACTIVE and self.params["state"] != "fresh":
            return self.finish(message)
        if session == dbcli.SESSION_ERROR:
            self.fail(message)
        login_host = host or profile_host
        if not login_host:
            return self.login_needed(profile, None, "%s Set host so that a login can create the profile." % message)
        can_open, reason = dbcli.browser_can_open(os.environ)
        if not can_open:
            if session == dbcli.SESSION_ACTIVE:
                # A re-authentication asked for where no browser opens: the session still works.
                self.result["login_command"] = ws.login_command(profile, login_host)
                return self.finish("%s No browser can open here (%s) to log in again; to do it yourself: %s"
                                   % (message, reason, self.result["login_command"]))
            return self.login_needed(profile, login_host, "%s No browser can open here: %s." % (message, reason))
        self.result["login_command"] = ws.login_command(profile, login_host)
        if self.module.check_mode:
            self.result["changed"] = True
            return self.finish("%s A browser login to %s would run." % (message, login_host))
        timeout = self.params["login_timeout"]
        login = dbcli.run_login(cli, login_host, profile, self.env, timeout)
        if login.returncode != 0 or login.timed_out:
            return self.login_needed(profile, login_host, "%s The login did not work: %s."
                                     % (message, dbcli.describe_login_failure(login, timeout)))
        self.result["changed"] = True
        session, after = self.query(cli, profile, host)
        if session != dbcli.SESSION_ACTIVE:
            self.fail("databricks auth login succeeded, but the session is still not active. %s" % after)
        return self.finish("Logged in to %s. %s" % (login_host, after))

    def run(self) -> t.Dict[str, t.Any]:
        profile, host = self.validated()
        self.result["browser_available"] = dbcli.browser_can_open(os.environ)[0]
        cli = self.locate_cli()
        if cli is None:
            self.result["session"] = dbcli.SESSION_NO_CLI
            if self.params["state"] != "status" and self.module.check_mode:
                # A check-mode setup run before the CLI is installed: the real run would log in.
                self.result["changed"] = True
                return self.finish("%s A login would follow once it is installed." % self.missing_cli)
            if self.params["state"] != "status":
                self.fail(self.missing_cli)
            return self.finish(self.missing_cli)
        session, message = self.query(cli, profile, host)
        if self.params["state"] in ("present", "fresh"):
            return self.ensure(cli, profile, host, session, message)
        if session in (dbcli.SESSION_EXPIRED, dbcli.SESSION_NO_PROFILE):
            self.result["login_required"] = True
            self.result["login_command"] = ws.login_command(profile, host or self.result["host"])
            message = "%s Log in with: %s" % (message, self.result["login_command"])
        return self.finish(message)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            profile=dict(type="str", default=ws.DEFAULT_PROFILE),
            host=dict(type="str"),
            databricks_cli=dict(type="path"),
            state=dict(type="str", choices=["present", "fresh", "status"], default="present"),
            login_timeout=dict(type="int", default=300),
            fail_on_login_required=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**OAuthSession(module).run())


if __name__ == "__main__":
    main()
