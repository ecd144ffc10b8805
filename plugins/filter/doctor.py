# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters that turn what the doctor role gathered into report sections for people.

The role only collects module results; every judgement (which check passes, what a failure
means, what to run to fix it, which later checks to skip) is made here, in plain Python, so it is
tested without a laptop. The sections are in the shape fmapi.coding_agents.report prints.
"""

from __future__ import annotations

import re
import shlex
import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.fmapi.coding_agents.plugins.filter.models import MODEL_ROLES, model_check_rows

SETUP_COMMAND = "ansible-playbook fmapi.coding_agents.setup"
REAUTH_COMMAND = "ansible-playbook fmapi.coding_agents.reauth"
SETUP_WITH_HOST = SETUP_COMMAND + " -e host=https://<your-workspace>"
DEFAULT_PROFILE = "fmapi-claudecode-profile"
DEFAULT_MIN_CLI_VERSION = "0.296.0"
MIN_PYTHON_VERSION = "3.8"
CATEGORIES = ("Dependencies", "Configuration", "Profile", "Auth", "Connectivity", "Models")

PASS = "PASS"
FAIL = "FAIL"
WARN = "WARN"
SKIP = "SKIP"

# Whatever a token helper prints is treated as a secret; these shapes are masked wherever the
# doctor quotes a tool's error output.
_SECRET_PATTERNS = (
    re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),  # JWT
    re.compile(r"\bdapi[0-9a-f]{20,}\b"),  # Databricks personal access token
    re.compile(r"\bdoau[A-Za-z0-9_-]{10,}\b"),  # Databricks OAuth refresh token
)


def _row(status: str, label: str, value: str = "", hint: str = "") -> t.Dict[str, str]:
    row = {"status": status, "label": label, "value": value}
    if hint:
        row["hint"] = hint
    return row


def _ran(result: t.Any) -> bool:
    """Whether a registered task result is there and the task was not skipped."""
    return isinstance(result, dict) and bool(result) and not result.get("skipped")


def _failed(result: t.Dict[str, t.Any], success_key: str) -> bool:
    """Whether a module failed. The role registers with ``failed_when: false`` (so that the play
    goes on and the output stays calm), which resets ``failed``; a module's successful result
    always carries ``success_key``, its failure never does."""
    return bool(result.get("failed")) or success_key not in result


def _first_line(text: t.Any) -> str:
    for line in str(text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def _last_line(text: t.Any) -> str:
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def mask_secrets(text: t.Any) -> str:
    """``text`` with anything shaped like a Databricks token replaced by ``<hidden>``."""
    masked = str(text or "")
    for pattern in _SECRET_PATTERNS:
        masked = pattern.sub("<hidden>", masked)
    return masked


def _version_tuple(version: t.Any) -> t.Tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", str(version or ""))
    if not match:
        return ()
    return tuple(int(part or 0) for part in match.groups())


def login_command(profile: str, host: t.Optional[str]) -> str:
    """The command that logs the profile in again."""
    if host:
        return "databricks auth login --host %s --profile %s" % (host, profile)
    return "databricks auth login --profile %s" % profile


def _relogin_hint(session: t.Dict[str, t.Any], profile: str, host: t.Optional[str]) -> str:
    command = session.get("login_command") or login_command(profile, host or session.get("host"))
    return "%s\nor: %s" % (command, REAUTH_COMMAND)


# ------------------------------------------------------------------------------ helper output

def helper_interpreter(script: t.Any) -> t.Optional[str]:
    """The Python a token helper script runs with, read from its first lines; None when unknown.

    The helper starts with ``#!<python>``, or, when that path cannot be a shebang line (spaces,
    length), with ``#!/bin/sh`` and an ``exec <python> "$0" "$@"`` line.
    """
    lines = str(script or "").splitlines()
    if not lines or not lines[0].startswith("#!"):
        return None
    shebang = lines[0][2:].strip()
    if shebang and shebang.split()[0] != "/bin/sh":
        interpreter = shebang.split()[0]
        # The collection writes an absolute interpreter; "/usr/bin/env python3" is someone else's helper.
        return interpreter if interpreter.startswith("/") and not interpreter.endswith("/env") else None
    for line in lines[1:6]:
        if line.startswith("exec "):
            try:
                words = shlex.split(line)
            except ValueError:
                return None
            return words[1] if len(words) > 1 else None
    return None


def helper_output_summary(result: t.Any, timeout: t.Any = None) -> t.Dict[str, t.Any]:
    """What the doctor may keep of a token helper run: never the token, only its shape.

    ``result`` is the registered result of running the helper (a command task), or
    ``{"timed_out": true}`` when the task ran out of time.
    """
    if not _ran(result):
        return {"ran": False}
    if result.get("timed_out"):
        return {"ran": True, "timed_out": True, "timeout": timeout, "rc": None, "token_chars": 0, "lines": 0,
                "error": ""}
    stdout = str(result.get("stdout") or "")
    lines = [line for line in stdout.strip().splitlines() if line.strip()]
    token = stdout.strip()
    return {
        "ran": True,
        "timed_out": False,
        "timeout": timeout,
        "rc": result.get("rc"),
        "token_chars": len(token),
        "lines": len(lines),
        "has_spaces": any(char.isspace() for char in token),
        "error": mask_secrets(_error_text(result)),
    }


def _error_text(result: t.Dict[str, t.Any]) -> str:
    stderr = [line.strip() for line in str(result.get("stderr") or "").splitlines() if line.strip()]
    if stderr:
        return " ".join(stderr[-4:])
    return str(result.get("msg") or "")


# ---------------------------------------------------------------------------------- session

def session_problem(session: t.Any, profile: t.Optional[str] = None, host: t.Optional[str] = None) -> str:
    """Empty when the session is active; else what is wrong and the command that fixes it."""
    if not isinstance(session, dict):
        raise AnsibleFilterError("session_problem expects the result of fmapi.coding_agents.databricks_oauth")
    profile = profile or session.get("profile") or DEFAULT_PROFILE
    host = host or session.get("host")
    state = session.get("session")
    if state == "active":
        return ""
    if state == "expired":
        return ("The Databricks login session of profile %s has ended. Log in again with: %s (or: %s)"
                % (profile, session.get("login_command") or login_command(profile, host), REAUTH_COMMAND))
    if state == "no_profile":
        return ("Profile %s is not in ~/.databrickscfg. Run %s to write it and log in, or: %s"
                % (profile, SETUP_COMMAND, login_command(profile, host)))
    if state == "no_cli":
        return "The Databricks CLI was not found. Run %s to install it." % SETUP_COMMAND
    return "The Databricks session of profile %s could not be checked: %s" % (
        profile, mask_secrets(session.get("msg") or "unknown error"))


def _session_row(session: t.Dict[str, t.Any], profile: str, host: t.Optional[str],
                 for_status: bool) -> t.Dict[str, str]:
    """The session as one row; ``for_status`` uses the status dashboard's words."""
    state = session.get("session")
    label = "OAuth session"
    if state == "active":
        expires = session.get("expires_at")
        value = "active, profile %s%s" % (profile, "; access token valid until %s" % expires if expires else "")
        return _row("ACTIVE" if for_status else PASS, label, value)
    if state == "expired":
        return _row("EXPIRED" if for_status else FAIL, label,
                    "expired: the login session of profile %s has ended" % profile,
                    _relogin_hint(session, profile, host))
    if state == "no_profile":
        return _row("MISSING" if for_status else SKIP, label,
                    "profile %s is not in ~/.databrickscfg" % profile,
                    "%s\nor: %s" % (SETUP_COMMAND, login_command(profile, host)) if for_status else "")
    if state == "no_cli":
        return _row("MISSING" if for_status else SKIP, label, "the Databricks CLI was not found",
                    SETUP_COMMAND if for_status else "")
    return _row("ERROR" if for_status else FAIL, label,
                mask_secrets(session.get("msg") or "the Databricks CLI could not check the session"),
                "Check the workspace URL and your network (VPN, proxy), then: %s" % login_command(profile, host))


def login_row(result: t.Any, profile: t.Optional[str] = None, host: t.Optional[str] = None) -> t.Dict[str, str]:
    """The outcome of fmapi.coding_agents.databricks_oauth with ``state=present`` as one report row:
    ACTIVE (logged in, or the session was active already), EXPIRED (a person still has to log in:
    the hint is the command) or ERROR."""
    if not isinstance(result, dict):
        raise AnsibleFilterError("login_row expects the result of fmapi.coding_agents.databricks_oauth")
    profile = profile or result.get("profile") or DEFAULT_PROFILE
    host = host or result.get("host")
    label = "OAuth session"
    expires = result.get("expires_at")
    until = "; access token valid until %s" % expires if expires else ""
    if result.get("session") == "active" and not result.get("login_required"):
        if result.get("changed"):
            return _row("ACTIVE", label, "logged in to %s as profile %s%s" % (host, profile, until))
        return _row("ACTIVE", label, "the session of profile %s is active; no login was needed%s" % (profile, until))
    if result.get("login_required"):
        message = " ".join(str(result.get("msg") or "a login is needed").split()).split(" Log in with:", 1)[0]
        why = message
        for marker, meaning in (("No browser can open here:", "no browser can open here"),
                                ("The login did not work:", "the browser login did not finish")):
            if marker in message:
                why = "%s (%s)" % (meaning, message.split(marker, 1)[1].strip().rstrip("."))
                break
        command = result.get("login_command") or login_command(profile, host)
        return _row("EXPIRED", label, "not logged in: " + why,
                    "%s   (in a terminal on this machine, where a browser can open)" % command)
    return _row("ERROR", label, mask_secrets(result.get("msg") or "the login did not work"),
                "Check the workspace URL and your network (VPN, proxy), then: %s" % login_command(profile, host))


# ---------------------------------------------------------------------------------- status

def status_sections(facts: t.Any) -> t.List[t.Dict[str, t.Any]]:
    """The status dashboard: Configuration, Auth and Files of an install.

    ``facts``: ``install`` (fmapi.coding_agents.claude_settings_info), ``session``
    (fmapi.coding_agents.databricks_oauth with ``state=status``), ``helper_stat`` and
    ``plugin_stat`` (ansible.builtin.stat), ``settings_path``.
    """
    if not isinstance(facts, dict):
        raise AnsibleFilterError("status_sections expects a dict of the gathered results")
    install = facts.get("install") or {}
    session = facts.get("session") or {}
    settings_path = install.get("settings_path") or facts.get("settings_path") or ""
    if not install.get("installed"):
        return [{"title": "Configuration", "rows": [],
                 "empty": "No FMAPI configuration found in %s; run: %s" % (settings_path, SETUP_WITH_HOST)}]
    profile = install.get("profile") or DEFAULT_PROFILE
    host = install.get("host")
    ttl = install.get("ttl_minutes")
    configuration = [
        _row("", "Workspace", host or "not set"),
        _row("", "Profile", profile),
    ]
    for role, label in zip(MODEL_ROLES, ("Model", "Opus", "Sonnet", "Haiku")):
        configuration.append(_row("", label, install.get(role) or "not set"))
    configuration.append(_row("", "Token refresh", "every %s min" % ttl if ttl else "not set"))

    if _ran(session):
        auth = [_session_row(session, profile, host, for_status=True)]
    else:
        auth = [_row("UNKNOWN", "OAuth session", "not checked")]

    helper_stat = (facts.get("helper_stat") or {}).get("stat") or {}
    plugin_stat = (facts.get("plugin_stat") or {}).get("stat") or {}
    helper_path = install.get("helper_path") or ""
    files = [_row("OK", "Settings", settings_path)]
    if helper_path and helper_stat.get("exists"):
        files.append(_row("OK", "Token helper", helper_path))
    else:
        files.append(_row("MISSING", "Token helper", helper_path or "apiKeyHelper is not set",
                          "%s  (writes the token helper again)" % SETUP_COMMAND))
    plugin_path = facts.get("plugin_dir") or plugin_stat.get("path") or ""
    if plugin_stat.get("exists"):
        files.append(_row("OK", "Plugin", plugin_path))
    else:
        files.append(_row("INFO", "Plugin", "not installed (%s)" % plugin_path if plugin_path else "not installed"))
    return [
        {"title": "Configuration", "rows": configuration},
        {"title": "Auth", "rows": auth},
        {"title": "Files", "rows": files},
    ]


# ---------------------------------------------------------------------------------- doctor

class _Doctor:
    """Judges the gathered findings, category by category, in the order a person fixes them."""

    def __init__(self, findings: t.Dict[str, t.Any]):
        self.findings = findings
        self.install = findings.get("install") if _ran(findings.get("install")) else {}
        self.settings_path = self.install.get("settings_path") or findings.get("settings_path") or "the settings file"
        self.profile = self.install.get("profile") or findings.get("profile_name") or DEFAULT_PROFILE
        self.host = self.install.get("host")
        self.installed = bool(self.install.get("installed")) and bool(self.install.get("settings_valid", True))
        self.sdk_ok = False
        self.profile_ok = False
        self.session_active = False
        self.workspace_ok = False

    def sections(self) -> t.List[t.Dict[str, t.Any]]:
        builders = (self.dependencies, self.configuration, self.profile_checks, self.auth, self.connectivity,
                    self.models)
        return [{"title": title, "rows": build()} for title, build in zip(CATEGORIES, builders)]

    # ----------------------------------------------------------------------- dependencies

    def dependencies(self) -> t.List[t.Dict[str, str]]:
        return [self.claude(), self.databricks_cli(), self.helper_python(), self.sdk()]

    def claude(self) -> t.Dict[str, str]:
        tool = self.findings.get("claude")
        if not _ran(tool):
            return _row(SKIP, "Claude Code", "not checked")
        if not tool.get("found"):
            return _row(FAIL, "Claude Code", "claude was not found on PATH or in ~/.local/bin",
                        "%s  (installs Claude Code)" % SETUP_COMMAND)
        if not tool.get("version"):
            return _row(FAIL, "Claude Code", "%s does not run: %s" % (tool.get("path"), tool.get("version_output", "")),
                        "%s  (installs Claude Code again)" % SETUP_COMMAND)
        value = "%s (%s)" % (tool["version"], tool.get("path"))
        if tool.get("on_path") is False:
            directory = str(tool.get("path") or "").rsplit("/", 1)[0]
            return _row(WARN, "Claude Code", value + ", not on PATH",
                        "Add %s to PATH in your shell's startup file (e.g. export PATH=\"%s:$PATH\")"
                        % (directory, directory))
        return _row(PASS, "Claude Code", value)

    def databricks_cli(self) -> t.Dict[str, str]:
        tool = self.findings.get("databricks")
        minimum = str(self.findings.get("min_cli_version") or DEFAULT_MIN_CLI_VERSION)
        helper_cli = self.install.get("databricks_cli")
        if not _ran(tool):
            return _row(SKIP, "Databricks CLI", "not checked")
        if not tool.get("found"):
            if helper_cli:
                return _row(FAIL, "Databricks CLI", "the token helper runs %s, which does not exist" % helper_cli,
                            "%s  (installs the CLI and writes the helper again)" % SETUP_COMMAND)
            return _row(FAIL, "Databricks CLI", "databricks was not found on PATH or in ~/.local/bin",
                        "%s  (installs the Databricks CLI)" % SETUP_COMMAND)
        version = tool.get("version")
        if not version:
            return _row(FAIL, "Databricks CLI", "%s does not run: %s" % (tool.get("path"), tool.get("version_output", "")),
                        "%s  (installs the Databricks CLI again)" % SETUP_COMMAND)
        if not tool.get("version_ok") or _version_tuple(version) < _version_tuple(minimum):
            return _row(FAIL, "Databricks CLI", "%s (%s) is older than %s" % (version, tool.get("path"), minimum),
                        "%s -e dependencies_databricks_cli_upgrade=true" % SETUP_COMMAND)
        return _row(PASS, "Databricks CLI", "%s (%s)" % (version, tool.get("path")))

    def helper_python(self) -> t.Dict[str, str]:
        label = "Helper's Python"
        metadata = self.install.get("helper_metadata") or {}
        if not self.install.get("helper_exists") or "version" not in metadata:
            return _row(SKIP, label, "no token helper of this collection to check")
        interpreter = self.findings.get("helper_interpreter")
        if not interpreter:
            return _row(WARN, label, "cannot tell which Python %s runs with" % self.install.get("helper_path"),
                        "%s  (writes the token helper again)" % SETUP_COMMAND)
        tool = self.findings.get("interpreter")
        if not _ran(tool):
            return _row(SKIP, label, "not checked")
        if not tool.get("found"):
            return _row(FAIL, label, "the token helper runs %s, which does not exist" % interpreter,
                        "%s  (writes the token helper for a Python that exists)" % SETUP_COMMAND)
        if not tool.get("version_ok"):
            return _row(FAIL, label, "%s is %s; the token helper needs Python %s or newer"
                        % (interpreter, tool.get("version") or tool.get("version_output") or "not runnable",
                           MIN_PYTHON_VERSION),
                        "%s  (writes the token helper for a Python that works)" % SETUP_COMMAND)
        return _row(PASS, label, "Python %s (%s)" % (tool.get("version"), interpreter))

    def sdk(self) -> t.Dict[str, str]:
        label = "databricks-sdk"
        check = self.findings.get("sdk")
        python = self.findings.get("sdk_python") or "the Python of the workspace checks"
        if not _ran(check):
            return _row(SKIP, label, "not checked")
        if check.get("rc") == 0 and _first_line(check.get("stdout")):
            self.sdk_ok = True
            return _row(PASS, label, "%s (%s)" % (_first_line(check.get("stdout")), python))
        return _row(WARN, label, "%s cannot import databricks-sdk: %s" % (python, _last_line(check.get("stderr"))
                                                                          or check.get("msg") or "unknown error"),
                    "%s  (installs it in ~/.local/share/fmapi-coding-agents/venv); the connectivity and "
                    "model checks need it" % SETUP_COMMAND)

    # ---------------------------------------------------------------------- configuration

    def configuration(self) -> t.List[t.Dict[str, str]]:
        install = self.install
        if not install:
            return [_row(SKIP, "Settings file", "not checked")]
        path = self.settings_path
        if not install.get("settings_exists"):
            return [_row(FAIL, "Settings file", "No FMAPI configuration found: %s does not exist" % path,
                         SETUP_WITH_HOST)]
        if not install.get("settings_valid", True):
            return [_row(FAIL, "Settings file", install.get("settings_error") or "%s is not valid JSON" % path,
                         "Fix the JSON at the line and column named (claude doctor shows it too), or move the file "
                         "aside and run: %s" % SETUP_COMMAND)]
        rows = []
        if not install.get("installed"):
            rows.append(_row(FAIL, "Settings file", "No FMAPI configuration found in %s" % path, SETUP_WITH_HOST))
        else:
            rows.append(_row(PASS, "Settings file", "%s (valid JSON)" % path))
            rows.append(self.fmapi_keys())
            rows.append(self.api_key_helper())
        rows.append(self.settings_mode())
        rows.extend(self.legacy())
        return rows

    def fmapi_keys(self) -> t.Dict[str, str]:
        install = self.install
        label = "FMAPI settings"
        if install.get("base_url") and not install.get("gateway"):
            return _row(FAIL, label, "env.ANTHROPIC_BASE_URL is %s, not a Databricks serving-endpoints or "
                        "ai-gateway URL" % install["base_url"], SETUP_COMMAND)
        expected = (
            ("env.ANTHROPIC_BASE_URL", install.get("base_url")),
            ("apiKeyHelper", install.get("api_key_helper")),
            ("env.ANTHROPIC_MODEL", install.get("model")),
            ("env.ANTHROPIC_DEFAULT_OPUS_MODEL", install.get("opus")),
            ("env.ANTHROPIC_DEFAULT_SONNET_MODEL", install.get("sonnet")),
            ("env.ANTHROPIC_DEFAULT_HAIKU_MODEL", install.get("haiku")),
            ("env.CLAUDE_CODE_API_KEY_HELPER_TTL_MS", install.get("ttl_minutes")),
        )
        missing = [key for key, value in expected if not value]
        if missing:
            return _row(FAIL, label, "missing or invalid: %s" % ", ".join(missing),
                        "%s  (writes them again; your other settings stay)" % SETUP_COMMAND)
        return _row(PASS, label, "workspace %s via %s, models and token refresh (%s min) set"
                    % (self.host, install.get("gateway"), install.get("ttl_minutes")))

    def api_key_helper(self) -> t.Dict[str, str]:
        install = self.install
        label = "apiKeyHelper"
        command = install.get("api_key_helper")
        path = install.get("helper_path")
        if not command:
            return _row(SKIP, label, "apiKeyHelper is not set")
        if not path:
            return _row(WARN, label, "cannot tell which script apiKeyHelper runs: %s" % command,
                        "%s  (points apiKeyHelper at the token helper)" % SETUP_COMMAND)
        stat = (self.findings.get("helper_stat") or {}).get("stat") or {}
        if not install.get("helper_exists") or not stat.get("exists", True):
            return _row(FAIL, label, "apiKeyHelper runs %s, which does not exist" % path,
                        "%s  (writes the token helper again)" % SETUP_COMMAND)
        try:
            runs_directly = shlex.split(command) == [path]
        except ValueError:
            runs_directly = False
        if runs_directly and stat and stat.get("executable") is False:
            return _row(FAIL, label, "%s is not executable" % path,
                        "chmod 700 %s   or: %s" % (shlex.quote(path), SETUP_COMMAND))
        metadata = install.get("helper_metadata") or {}
        if "version" not in metadata:
            return _row(WARN, label, "%s is not the token helper of this collection (an older setup script's?)" % path,
                        "%s  (replaces it with the current token helper)" % SETUP_COMMAND)
        return _row(PASS, label, "%s (executable)" % path)

    def settings_mode(self) -> t.Dict[str, str]:
        stat = (self.findings.get("settings_stat") or {}).get("stat") or {}
        label = "Settings permissions"
        if not stat.get("exists"):
            return _row(SKIP, label, "not checked")
        mode = str(stat.get("mode") or "")
        if mode and int(mode, 8) & 0o077:
            return _row(WARN, label, "%s has mode %s; others can read it" % (self.settings_path, mode),
                        "chmod 600 %s" % shlex.quote(self.settings_path))
        return _row(PASS, label, "mode %s" % (mode or "unknown"))

    def legacy(self) -> t.List[t.Dict[str, str]]:
        leftovers = self.install.get("legacy") or []
        if not leftovers:
            return [_row(PASS, "Older setups", "no leftovers of older setup scripts")]
        rows = []
        for item in leftovers:
            hint = "%s  (removes it)" % SETUP_COMMAND
            if item.get("name") == "pat_cache":
                hint += "; also revoke the token under Settings > Developer > Access tokens in the workspace"
            rows.append(_row(WARN, "Older setups", "%s: %s" % (item.get("path"), item.get("description")), hint))
        return rows

    # ---------------------------------------------------------------------------- profile

    def profile_checks(self) -> t.List[t.Dict[str, str]]:
        label = "Profile"
        if not self.installed:
            return [_row(SKIP, label, "needs an FMAPI configuration")]
        if not self.host:
            return [_row(SKIP, label, "the settings name no workspace")]
        check = self.findings.get("profile")
        if not _ran(check):
            return [_row(SKIP, label, "not checked")]
        if _failed(check, "created"):
            return [_row(FAIL, label, mask_secrets(check.get("msg") or "~/.databrickscfg cannot be read"),
                         "Fix the line of ~/.databrickscfg named above, then: %s" % SETUP_COMMAND)]
        if check.get("created"):
            return [_row(FAIL, label, "profile %s is not in ~/.databrickscfg" % self.profile,
                         "%s\nor: %s" % (SETUP_COMMAND, login_command(self.profile, self.host)))]
        if check.get("previous_host"):
            return [_row(FAIL, label, "profile %s is for %s, not %s (the workspace in the settings)"
                         % (self.profile, check["previous_host"], self.host),
                         "%s -e host=<the workspace you want>  (rewrites both)" % SETUP_COMMAND)]
        rows = []
        if check.get("removed_keys"):
            rows.append(_row(WARN, "Profile credentials", "profile %s also holds %s, which can stand in for OAuth"
                             % (self.profile, ", ".join(check["removed_keys"])),
                             "%s  (removes them from the profile)" % SETUP_COMMAND))
        elif check.get("changed"):
            rows.append(_row(FAIL, label, "profile %s does not have auth_type = databricks-cli" % self.profile,
                             "%s  (sets it)" % SETUP_COMMAND))
        if not rows or rows[0]["status"] == WARN:
            self.profile_ok = True
            rows.insert(0, _row(PASS, label, "%s in ~/.databrickscfg: host %s, auth_type databricks-cli"
                                % (self.profile, self.host)))
        return rows

    # ------------------------------------------------------------------------------- auth

    def auth(self) -> t.List[t.Dict[str, str]]:
        if not self.installed:
            return [_row(SKIP, "OAuth session", "needs an FMAPI configuration"),
                    _row(SKIP, "Token helper", "needs an FMAPI configuration")]
        session = self.findings.get("session")
        if not _ran(session):
            session_row = _row(SKIP, "OAuth session", "not checked")
        elif session.get("session") == "no_profile":
            session_row = _row(SKIP, "OAuth session", "needs the profile (see Profile)")
        elif session.get("session") == "no_cli":
            session_row = _row(SKIP, "OAuth session", "needs the Databricks CLI (see Dependencies)")
        else:
            session_row = _session_row(session, self.profile, self.host, for_status=False)
        self.session_active = session_row["status"] == PASS
        return [session_row, self.helper_run()]

    def helper_run(self) -> t.Dict[str, str]:
        label = "Token helper"
        run = self.findings.get("helper_run") or {}
        path = self.install.get("helper_path") or "the token helper"
        if not run.get("ran"):
            if not self.install.get("helper_exists"):
                return _row(SKIP, label, "no token helper to run (see Configuration)")
            if not self.session_active:
                return _row(SKIP, label, "needs an active session")
            return _row(SKIP, label, "not run")
        if run.get("timed_out"):
            return _row(FAIL, label, "%s printed no token within %s seconds" % (path, run.get("timeout") or "the allowed"),
                        "Run it yourself to see where it hangs: %s" % self.install.get("api_key_helper"))
        if run.get("rc") != 0:
            return _row(FAIL, label, "%s failed (exit status %s): %s" % (path, run.get("rc"), run.get("error") or "no message"),
                        "Run it yourself: %s   If it asks for a login: %s"
                        % (self.install.get("api_key_helper"), REAUTH_COMMAND))
        if not run.get("token_chars"):
            return _row(FAIL, label, "%s printed nothing" % path, "%s  (writes the token helper again)" % SETUP_COMMAND)
        if run.get("lines", 1) > 1 or run.get("has_spaces"):
            return _row(FAIL, label, "%s printed more than a token (%d lines); Claude Code would send all of it"
                        % (path, run.get("lines", 0)), "%s  (writes the token helper again)" % SETUP_COMMAND)
        return _row(PASS, label, "prints a token (%d characters, not shown)" % run["token_chars"])

    # ----------------------------------------------------------------------- connectivity

    def connectivity(self) -> t.List[t.Dict[str, str]]:
        label = "Workspace"
        if not self.installed:
            return [_row(SKIP, label, "needs an FMAPI configuration")]
        workspace = self.findings.get("workspace")
        if not self.session_active:
            return [_row(SKIP, label, "needs an active session (see Auth)")]
        if not self.sdk_ok and not _ran(workspace):
            return [_row(SKIP, label, "needs databricks-sdk (see Dependencies)")]
        if not _ran(workspace):
            return [_row(SKIP, label, "not checked")]
        host = workspace.get("host") or self.host
        if _failed(workspace, "endpoints"):
            message = mask_secrets(workspace.get("msg") or "the workspace did not answer")
            if "auth login" in message:
                hint = _relogin_hint({}, self.profile, self.host)
            else:
                hint = ("Check that %s is your workspace URL and that this machine reaches it: connect to the VPN "
                        "or network the workspace is on, and check proxy settings (HTTPS_PROXY, NO_PROXY)" % host)
            return [_row(FAIL, label, message, hint)]
        self.workspace_ok = True
        return [_row(PASS, label, "%s answered as profile %s (%s serving endpoints)"
                     % (host, self.profile, workspace.get("count", len(workspace.get("endpoints") or []))))]

    # ------------------------------------------------------------------------------ models

    def models(self) -> t.List[t.Dict[str, str]]:
        if not self.installed:
            return [_row(SKIP, "Models", "needs an FMAPI configuration")]
        workspace = self.findings.get("workspace")
        if self.workspace_ok and isinstance(workspace, dict) and workspace.get("validation") is not None:
            return model_check_rows(workspace["validation"])
        rows = []
        for role in MODEL_ROLES:
            endpoint = self.install.get(role)
            rows.append(_row(SKIP, role, "%s: needs a working connection (see Connectivity)" % endpoint
                             if endpoint else "not configured"))
        return rows


def doctor_sections(findings: t.Any) -> t.List[t.Dict[str, t.Any]]:
    """The six categories of the doctor, each a list of PASS/FAIL/WARN/SKIP rows with fix hints.

    ``findings`` holds the registered results of the doctor role: ``install``, ``settings_stat``,
    ``helper_stat``, ``claude``, ``databricks``, ``helper_interpreter``, ``interpreter``, ``sdk``,
    ``sdk_python``, ``profile``, ``session``, ``helper_run``, ``workspace`` and
    ``min_cli_version``. A check whose task was skipped (or is absent) is reported as ``SKIP``.
    """
    if not isinstance(findings, dict):
        raise AnsibleFilterError("doctor_sections expects a dict of the doctor role's findings")
    return _Doctor(findings).sections()


class FilterModule:
    """The doctor's and the status dashboard's filters."""

    def filters(self):
        return {
            "doctor_sections": doctor_sections,
            "status_sections": status_sections,
            "session_problem": session_problem,
            "login_row": login_row,
            "helper_interpreter": helper_interpreter,
            "helper_output_summary": helper_output_summary,
        }
