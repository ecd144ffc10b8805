# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Gemini CLI: its file names and variables, the one settings key FMAPI owns, and the launcher script.

Private to the collection; shared by the modules gemini_settings, gemini_launcher and gemini_info.

Gemini CLI (0.40.0 or newer) talks to Databricks when its process environment holds
``GOOGLE_GEMINI_BASE_URL`` (the workspace's Gemini route), ``GEMINI_API_KEY`` (a Databricks access
token), ``GEMINI_API_KEY_AUTH_MECHANISM=bearer`` and ``GEMINI_MODEL``, and its settings select the
API-key auth type (``security.auth.selectedType = "gemini-api-key"``; without it the base URL makes
Gemini CLI pick its ``gateway`` auth type, which ``-p`` refuses). It has no token helper and does not
retry after a 401, so a launcher script (:func:`render_launcher`) stands where the user types
``gemini``: it runs the token helper, exports the variables (the process environment beats any
project ``.env``) and execs the real binary.

Settings files are JSON that Gemini CLI also accepts with comments; this module reads them with
_claude_settings' parser (key order, indentation, BOM kept) and refuses, with the line of the first
comment, a file whose comments a rewrite would lose.
"""

from __future__ import annotations

import copy
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import typing as t

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _claude_settings as cs
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws
from ansible_collections.fmapi.coding_agents.plugins.module_utils._checks import REAUTH_COMMAND, SETUP_COMMAND
from ansible_collections.fmapi.coding_agents.plugins.module_utils._databricks_cli import VERIFY_VARIABLE
from ansible_collections.fmapi.coding_agents.plugins.module_utils._helper_metadata import (
    read_helper_metadata,
    render_helper_metadata,
)

PROGRAM = "Gemini CLI"
GEMINI_NAME = "gemini"
# Where npm (a user prefix, Homebrew's node, a system prefix) puts `gemini`, looked at after PATH.
GEMINI_SEARCH_DIRS = ("~/.local/bin", "~/.npm-global/bin", "/opt/homebrew/bin", "/usr/local/bin")
VERSION_TIMEOUT_SECONDS = 60

# ----------------------------------------------------------------------------------------- files

# GEMINI_CLI_HOME replaces the home directory under which Gemini CLI keeps .gemini/ (0.25.0 and newer).
HOME_VARIABLE = "GEMINI_CLI_HOME"
GEMINI_DIR = ".gemini"
SETTINGS_FILE_NAME = "settings.json"
DEFAULT_SETTINGS_PATH = "~/" + GEMINI_DIR + "/" + SETTINGS_FILE_NAME
# System settings beat the user's (and the project's); Gemini CLI reads them only from a folder that
# others cannot write to.
SYSTEM_SETTINGS_VARIABLE = "GEMINI_CLI_SYSTEM_SETTINGS_PATH"
SYSTEM_SETTINGS_PATHS = {"darwin": "/Library/Application Support/GeminiCli/settings.json"}
DEFAULT_SYSTEM_SETTINGS_PATH = "/etc/gemini-cli/settings.json"
# What the user types; the launcher goes where the role puts it (a folder early on PATH).
DEFAULT_LAUNCHER_PATH = "~/.local/bin/" + GEMINI_NAME
LAUNCHER_MODE = 0o755
LAUNCHER_DIRECTORY_MODE = 0o755
LAUNCHER_MARKER = "# fmapi-coding-agents-launcher: "
LAUNCHER_AGENT = ws.AGENT_GEMINI

# ----------------------------------------------------------------------------------- environment

ENV_BASE_URL = "GOOGLE_GEMINI_BASE_URL"
ENV_API_KEY = "GEMINI_API_KEY"
ENV_AUTH_MECHANISM = "GEMINI_API_KEY_AUTH_MECHANISM"
AUTH_MECHANISM_BEARER = "bearer"
ENV_MODEL = "GEMINI_MODEL"
ENV_CUSTOM_HEADERS = "GEMINI_CLI_CUSTOM_HEADERS"
# Headless runs in a folder the user has not trusted stop (exit 55) unless this is true: the user's
# decision (or a test's), never the launcher's.
ENV_TRUST_WORKSPACE = "GEMINI_CLI_TRUST_WORKSPACE"
# Everything the launcher exports, in this order.
LAUNCHER_VARIABLES = (ENV_BASE_URL, ENV_API_KEY, ENV_AUTH_MECHANISM, ENV_MODEL, ENV_CUSTOM_HEADERS)
DEFAULT_CUSTOM_HEADERS = {cs.CODING_AGENT_HEADER: "true"}
# Headers the launcher's token goes in (Gemini CLI sends both); a custom header must not replace them.
AUTH_HEADERS = ("authorization", "x-goog-api-key")
_HEADER_NAME = re.compile(r"\A[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_SECRET_HEADER_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL|AUTH|COOKIE", re.IGNORECASE)

# -------------------------------------------------------------------------------------- settings

SECURITY = "security"
AUTH = "auth"
SELECTED_TYPE = "selectedType"
ENFORCED_TYPE = "enforcedType"
SELECTED_TYPE_NAME = "security.auth.selectedType"
AUTH_TYPE_API_KEY = "gemini-api-key"
MODEL = "model"
MODEL_NAME = "name"
# The sidecar's record of what the user had before (see merge_present).
RECORD_KEY = "selected_type"
ENFORCED_RECORD_KEY = "enforced_type"
# ... and whether the setup created the file (state=absent deletes it only then).
CREATED_FILE_KEY = "created_file"

_VERSION = re.compile(r"\b(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)")


class MergeResult:  # pylint: disable=too-few-public-methods
    """Settings data after a merge, what changed, and the sidecar record to keep (None: no sidecar)."""

    def __init__(self, data: t.Dict[str, t.Any], record: t.Optional[t.Dict[str, t.Any]]):
        self.data = data
        self.record = record
        self.set_keys = []  # type: t.List[str]
        self.removed_keys = []  # type: t.List[str]
        self.restored_keys = []  # type: t.List[str]
        self.repaired = []  # type: t.List[str]
        self.notes = []  # type: t.List[str]


# ----------------------------------------------------------------------------------------- paths

def gemini_home(environ: t.Mapping[str, str]) -> str:
    """The folder holding ``.gemini/``: ``GEMINI_CLI_HOME``, else ``HOME``."""
    return environ.get(HOME_VARIABLE) or environ.get("HOME") or os.path.expanduser("~")


def settings_path(environ: t.Mapping[str, str]) -> str:
    """Gemini CLI's user settings file: ``$GEMINI_CLI_HOME/.gemini/settings.json``, else ``~/.gemini/settings.json``."""
    return os.path.abspath(os.path.join(os.path.expanduser(gemini_home(environ)), GEMINI_DIR, SETTINGS_FILE_NAME))


def system_settings_path(environ: t.Mapping[str, str], platform: str) -> str:
    """The system settings file Gemini CLI reads on ``platform`` (``sys.platform``)."""
    return environ.get(SYSTEM_SETTINGS_VARIABLE) or SYSTEM_SETTINGS_PATHS.get(platform, DEFAULT_SYSTEM_SETTINGS_PATH)


def project_settings_path(directory: str) -> str:
    """The settings of the project in ``directory`` (read by Gemini CLI only once the folder is trusted)."""
    return os.path.join(os.path.abspath(directory), GEMINI_DIR, SETTINGS_FILE_NAME)


# ------------------------------------------------------------------------------------- settings

def strip_json_comments(text: str) -> str:
    """``text`` with its comments blanked out (newlines kept, so positions stay), as Gemini CLI reads it."""
    out = []
    index = 0
    in_string = escaped = False
    while index < len(text):
        char = text[index]
        if in_string:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            index += 1
        elif char == '"':
            in_string = True
            out.append(char)
            index += 1
        elif text.startswith("//", index):
            end = text.find("\n", index)
            end = len(text) if end < 0 else end
            out.append(" " * (end - index))
            index = end
        elif text.startswith("/*", index):
            end = text.find("*/", index + 2)
            end = len(text) if end < 0 else end + 2
            out.append("".join(c if c == "\n" else " " for c in text[index:end]))
            index = end
        else:
            out.append(char)
            index += 1
    return "".join(out)


def first_comment_line(text: str) -> t.Optional[int]:
    """The line of the first ``//`` or ``/* */`` comment outside JSON strings, None when there is none."""
    for index, (char, kept) in enumerate(zip(text, strip_json_comments(text))):
        if char != kept:
            return text.count("\n", 0, index) + 1
    return None


class ParsedGeminiSettings(cs.ParsedSettings):  # pylint: disable=too-few-public-methods
    """A settings file as read, and whether its last byte is a newline (Gemini CLI writes none)."""

    def __init__(self, parsed: cs.ParsedSettings, final_newline: bool):
        super().__init__(parsed.data, parsed.text, parsed.indent, parsed.bom)
        self.final_newline = final_newline


def parse_settings(raw: t.Optional[bytes], path: str) -> ParsedGeminiSettings:
    """Parse Gemini CLI settings; SettingsError ``unreadable``, ``not_object`` or ``comments`` says what to fix.

    A file that is valid JSON once its comments are blanked out raises :class:`CommentedSettings`, which
    carries that data (Gemini CLI reads such a file; a rewrite would lose the comments).
    """
    final_newline = raw is None or not raw.strip() or raw.endswith(b"\n")
    try:
        return ParsedGeminiSettings(cs.parse_settings(raw, path, PROGRAM), final_newline)
    except cs.SettingsError as exc:
        if exc.kind != "unreadable" or raw is None:
            raise
        error = exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise error from None
    line = first_comment_line(text)
    if line is None:
        raise error
    try:
        parsed = cs.parse_settings(strip_json_comments(text).encode("utf-8"), path, PROGRAM)
    except cs.SettingsError as stripped_error:
        # Gemini CLI reads past the comments, so the error that counts is the one after them (same positions).
        raise stripped_error from None
    parsed.bom = raw.startswith(cs.UTF8_BOM)
    raise CommentedSettings(
        "%s has comments (the first at line %d). Gemini CLI accepts them, but they would be lost when the file is "
        "written as JSON" % (path, line), ParsedGeminiSettings(parsed, final_newline))


class CommentedSettings(cs.SettingsError):
    """A settings file that is valid once its comments are taken out (``parsed``)."""

    def __init__(self, message: str, parsed: "ParsedGeminiSettings"):
        super().__init__("comments", message)
        self.parsed = parsed


def render_settings(data: t.Dict[str, t.Any], parsed: ParsedGeminiSettings) -> bytes:
    """The bytes of the settings file holding ``data``, in the style ``parsed`` had (final newline included)."""
    rendered = cs.render_settings(data, parsed.indent, parsed.bom)
    return rendered if parsed.final_newline else rendered[:-1]


def selected_type(data: t.Any) -> t.Tuple[bool, t.Any]:
    """``(present, value)`` of ``security.auth.selectedType``."""
    security = data.get(SECURITY) if isinstance(data, dict) else None
    auth = security.get(AUTH) if isinstance(security, dict) else None
    if isinstance(auth, dict) and SELECTED_TYPE in auth:
        return True, auth[SELECTED_TYPE]
    return False, None


def auth_value(data: t.Any, key: str) -> t.Any:
    """``security.auth.<key>`` of settings data, or None."""
    security = data.get(SECURITY) if isinstance(data, dict) else None
    auth = security.get(AUTH) if isinstance(security, dict) else None
    return auth.get(key) if isinstance(auth, dict) else None


def model_name(data: t.Any) -> t.Optional[str]:
    """``model.name`` of settings data, or None."""
    model = data.get(MODEL) if isinstance(data, dict) else None
    value = model.get(MODEL_NAME) if isinstance(model, dict) else None
    return value if isinstance(value, str) and value.strip() else None


def _shape_error(path: str, name: str, value: t.Any) -> cs.SettingsError:
    return cs.SettingsError(
        "bad_shape", "%s: '%s' is a JSON %s, but Gemini CLI expects an object there" % (path, name, cs.json_type_name(value)))


def _auth_keys(enforce: bool) -> t.List[t.Tuple[str, str]]:
    """(settings key under ``security.auth``, its sidecar record key) of what a merge sets."""
    return [(SELECTED_TYPE, RECORD_KEY)] + ([(ENFORCED_TYPE, ENFORCED_RECORD_KEY)] if enforce else [])


def records_something(record: t.Optional[t.Dict[str, t.Any]]) -> bool:
    """Whether a sidecar record holds a value the setup wrote (so state=absent has something to undo)."""
    return any(isinstance((record or {}).get(key), dict) for _name, key in _auth_keys(True))


def merge_present(data: t.Dict[str, t.Any], record: t.Optional[t.Dict[str, t.Any]], repair: bool = False,
                  path: str = "settings file", enforce: bool = False) -> MergeResult:
    """Settings data with ``security.auth.selectedType = "gemini-api-key"`` (and, with ``enforce``, the same
    ``enforcedType``, which makes Gemini CLI refuse any other auth type); ``data`` itself is not modified.

    The record says, per key, what the file had: ``{"had": false, "created_security": ..., "created_auth": ...}``
    or ``{"had": true, "previous": <its value>}``. It is made when this merge changes the value, kept while the
    value is still ours, and made anew when someone chose another value since. A value the file already had
    is never recorded, so it is never taken away. Raises SettingsError(``bad_shape``) when ``security`` or
    ``security.auth`` is not an object and not ``repair``.
    """
    data = copy.deepcopy(data)
    result = MergeResult(data, None)
    if SECURITY in data and not isinstance(data[SECURITY], dict):
        if not repair:
            raise _shape_error(path, SECURITY, data[SECURITY])
        data[SECURITY] = {}
        result.repaired.append(SECURITY)
    created_security = SECURITY not in data
    security = data.setdefault(SECURITY, {})
    if AUTH in security and not isinstance(security[AUTH], dict):
        if not repair:
            raise _shape_error(path, SECURITY + "." + AUTH, security[AUTH])
        security[AUTH] = {}
        result.repaired.append(SECURITY + "." + AUTH)
    created_auth = AUTH not in security
    auth = security.setdefault(AUTH, {})
    entries = {}  # type: t.Dict[str, t.Any]
    for key, record_key in _auth_keys(enforce):
        previous_entry = (record or {}).get(record_key)
        name = SECURITY + "." + AUTH + "." + key
        had = key in auth
        current = auth.get(key)
        if had and current == AUTH_TYPE_API_KEY:
            # Ours from an earlier run (recorded), or the file's own choice (never recorded, never removed).
            entry = previous_entry if isinstance(previous_entry, dict) else None
        else:
            auth[key] = AUTH_TYPE_API_KEY
            result.set_keys.append(name)
            entry = {"had": True, "previous": current} if had else \
                {"had": False, "created_security": created_security, "created_auth": created_auth}
            # Only the first key set may claim the objects it created.
            created_security = created_auth = False
        if previous_entry is not None and entry is not previous_entry and had and current != AUTH_TYPE_API_KEY:
            result.notes.append("%s: %s was %r, set since the last setup; it is %r again (state=absent gives %r back)."
                                % (path, name, current, AUTH_TYPE_API_KEY, current))
        if entry:
            entries[record_key] = entry
    enforced = auth.get(ENFORCED_TYPE)
    if enforced is not None and enforced != AUTH_TYPE_API_KEY:
        result.notes.append("%s: security.auth.%s is %r, so Gemini CLI refuses %s. Remove that key (it is not "
                            "the setup's to change)." % (path, ENFORCED_TYPE, enforced, AUTH_TYPE_API_KEY))
    result.record = entries or None
    return result


def merge_absent(data: t.Dict[str, t.Any], record: t.Optional[t.Dict[str, t.Any]],
                 path: str = "settings file") -> MergeResult:
    """Settings data with what :func:`merge_present` recorded undone (``data`` itself is not modified).

    Only a value that is still ours is touched: the earlier value comes back in its place, or the key
    goes, with the ``auth`` and ``security`` objects that the merge created and that are empty now.
    """
    data = copy.deepcopy(data)
    result = MergeResult(data, None)
    created_security = created_auth = False
    for key, record_key in reversed(_auth_keys(True)):
        entry = (record or {}).get(record_key)
        if not isinstance(entry, dict):
            continue
        name = SECURITY + "." + AUTH + "." + key
        current = auth_value(data, key)
        present = isinstance(data.get(SECURITY), dict) and isinstance(data[SECURITY].get(AUTH), dict) \
            and key in data[SECURITY][AUTH]
        if not present or current != AUTH_TYPE_API_KEY:
            if present:
                result.notes.append("%s: %s is %r, not what the setup wrote; it was left as it is." % (path, name, current))
            continue
        auth = data[SECURITY][AUTH]
        if entry.get("had"):
            if entry.get("previous") != AUTH_TYPE_API_KEY:
                auth[key] = entry.get("previous")
                result.restored_keys.append(name)
            continue
        del auth[key]
        result.removed_keys.append(name)
        created_security = created_security or bool(entry.get("created_security"))
        created_auth = created_auth or bool(entry.get("created_auth"))
    security = data.get(SECURITY)
    if isinstance(security, dict) and security.get(AUTH) == {} and created_auth:
        del security[AUTH]
        if not security and created_security:
            del data[SECURITY]
    return result


# ------------------------------------------------------------------------------------- launcher

def validate_custom_headers(headers: t.Any) -> str:
    """The GEMINI_CLI_CUSTOM_HEADERS value (``Name: value, Name: value``) for a dict, or ValidationError."""
    if headers is None:
        return ""
    if not isinstance(headers, dict):
        raise ws.ValidationError("custom_headers must be a mapping of header names to values, got %r." % (headers,))
    parts = []
    for name, value in headers.items():
        name = str(name).strip()
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = str(value)
        if not _HEADER_NAME.match(name):
            raise ws.ValidationError("custom_headers: %r is not an HTTP header name (letters, digits, '-')." % name)
        if name.lower() in AUTH_HEADERS or _SECRET_HEADER_NAME.search(name):
            raise ws.ValidationError(
                "custom_headers: %s looks like a credential. The launcher sends the Databricks token itself, and "
                "the launcher file is no place for a secret: leave it out." % name)
        if not isinstance(value, str) or any(ord(char) < 32 or ord(char) == 127 for char in value) \
                or "," in value or not value.strip():
            raise ws.ValidationError("custom_headers: the value of %s must be a non-empty single line without ',' "
                                     "(Gemini CLI separates headers with commas), got %r." % (name, value))
        if ws.token_shaped_values(value):
            raise ws.ValidationError("custom_headers: the value of %s looks like a Databricks token; leave it out." % name)
        parts.append("%s: %s" % (name, value.strip()))
    return ", ".join(parts)


def check_launcher_path(name: str, value: t.Any) -> str:
    """An absolute path the launcher may name, or ValidationError."""
    if not isinstance(value, str) or not os.path.isabs(value):
        raise ws.ValidationError("%s must be an absolute path, got %r." % (name, value))
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ws.ValidationError("%s must not contain control characters (a line break?), got %r." % (name, value))
    return value


def launcher_metadata(text: str) -> t.Optional[t.Dict[str, t.Any]]:
    """The metadata of a launcher of this collection, None for any other file."""
    metadata = read_helper_metadata(text, LAUNCHER_MARKER)
    return metadata if metadata and metadata.get("agent") == LAUNCHER_AGENT else None


def read_launcher_metadata(path: str) -> t.Optional[t.Dict[str, t.Any]]:
    """:func:`launcher_metadata` of the file at ``path`` (its first 64 KiB), None when unreadable."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536)
    except OSError:
        return None
    return launcher_metadata(head.decode("utf-8", "replace"))


def render_launcher(gemini: str, token_helper: str, host: str, endpoint_style: str, model: str,
                    custom_headers: str) -> str:
    """The launcher script: gets a token from ``token_helper``, then execs ``gemini`` with it in its environment.

    Every value is validated by the caller and embedded as one shell-quoted word; the token only ever lives in a
    shell variable and in the environment of the exec'd Gemini CLI.
    """
    base_url = ws.agent_base_url(host, ws.AGENT_GEMINI, endpoint_style)
    quote = shlex.quote
    values = (
        (ENV_BASE_URL, quote(base_url)), (ENV_API_KEY, '"$fmapi_token"'),
        (ENV_AUTH_MECHANISM, AUTH_MECHANISM_BEARER), (ENV_MODEL, quote(model)),
        (ENV_CUSTOM_HEADERS, quote(custom_headers)),
    )
    lines = [
        "#!/bin/sh",
        render_helper_metadata(LAUNCHER_MARKER, agent=LAUNCHER_AGENT, gemini=gemini, token_helper=token_helper,
                               host=host, endpoint_style=endpoint_style, base_url=base_url, model=model,
                               custom_headers=custom_headers),
        "#",
        "# Gemini CLI through Databricks Foundation Model API. Type gemini as usual: this script gets a fresh",
        "# Databricks access token from the token helper, then starts the real Gemini CLI with the token in its",
        "# environment only (never in a file), the workspace's Gemini API as base URL and the model. Gemini CLI",
        "# reads the token once: when a long session fails with HTTP 401, quit and run: gemini --resume latest",
        "#",
        "# Written by the fmapi.coding_agents.gemini_launcher Ansible module: changes are overwritten on its",
        "# next run. Copyright (c) fmapi.coding_agents contributors; GNU General Public License v3.0+",
        "# (see https://www.gnu.org/licenses/gpl-3.0.txt). SPDX-License-Identifier: GPL-3.0-or-later",
        "",
        "fmapi_gemini=" + quote(gemini),
        "fmapi_helper=" + quote(token_helper),
        "fmapi_say() { printf 'gemini: %s\\n' \"$1\" >&2; }",
        'if [ ! -f "$fmapi_gemini" ] || [ ! -x "$fmapi_gemini" ]; then',
        '  fmapi_say "Gemini CLI is missing: $fmapi_gemini is gone or not executable. Fix: %s (installs it again)."'
        % SETUP_COMMAND,
        "  exit 127",
        "fi",
        "# A launcher that started a launcher (itself) would never end.",
        "case $(sed -n '2{p;q;}' \"$fmapi_gemini\" 2>/dev/null) in",
        "  %s*)" % quote(LAUNCHER_MARKER),
        '    fmapi_say "$fmapi_gemini is this launcher, not Gemini CLI, so it was not started. Fix: %s"'
        % SETUP_COMMAND,
        "    exit 1 ;;",
        "esac",
        'if [ ! -f "$fmapi_helper" ] || [ ! -x "$fmapi_helper" ]; then',
        '  fmapi_say "the Databricks token helper $fmapi_helper is missing, so Gemini CLI was not started. Fix: %s"'
        % SETUP_COMMAND,
        "  exit 1",
        "fi",
        "# The helper prints the token on stdout and says on stderr what is wrong. It never reads stdin: a prompt",
        "# piped into gemini is Gemini CLI's. Gemini CLI keeps the token for the whole session, so the helper",
        "# checks it with the workspace first (a revoked one is replaced, not handed out again).",
        'fmapi_token=$(%s=1 "$fmapi_helper" </dev/null)' % VERIFY_VARIABLE,
        "fmapi_status=$?",
        'if [ "$fmapi_status" -ne 0 ] || [ -z "$fmapi_token" ]; then',
        '  fmapi_say "no Databricks token (the token helper $fmapi_helper ended with exit status $fmapi_status), so '
        'Gemini CLI was not started. Fix: %s (or the command above), then run gemini again."' % REAUTH_COMMAND,
        '  [ "$fmapi_status" -ne 0 ] && exit "$fmapi_status"',
        "  exit 1",
        "fi",
        "case $fmapi_token in",
        "  *[[:space:][:cntrl:]]*)",
        '    fmapi_say "the Databricks token helper $fmapi_helper printed more than a token, so Gemini CLI was not '
        'started. Fix: %s"' % SETUP_COMMAND,
        "    exit 1 ;;",
        "esac",
    ]
    lines += ["%s=%s" % pair for pair in values]
    lines += [
        "export " + " ".join(LAUNCHER_VARIABLES),
        "unset fmapi_token fmapi_status fmapi_helper",
        'exec "$fmapi_gemini" "$@"',
        "",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- the binary

def parse_version(text: str) -> t.Optional[str]:
    """``0.61.0`` from what ``gemini --version`` prints."""
    match = _VERSION.search(text or "")
    return match.group(1) if match else None


def gemini_version(path: str, environ: t.Mapping[str, str],
                   timeout: int = VERSION_TIMEOUT_SECONDS) -> t.Tuple[t.Optional[str], str]:
    """``(version, first line of output or error)`` of ``path --version``.

    Gemini CLI writes into its home folder even for ``--version``: it runs with a throwaway GEMINI_CLI_HOME.
    """
    scratch = tempfile.mkdtemp(prefix="fmapi-gemini-version-")
    try:
        # A bounded wait, which AnsibleModule.run_command cannot give (a hung Node must not hang the doctor).
        # pylint: disable-next=ansible-bad-function
        completed = subprocess.run([path, "--version"], stdin=subprocess.DEVNULL, capture_output=True,
                                   env=dict(environ, **{HOME_VARIABLE: scratch}), timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, "%s --version did not answer within %d seconds" % (path, timeout)
    except OSError as exc:
        return None, "%s: %s" % (path, exc.strerror or exc)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    output = (completed.stdout or completed.stderr).decode("utf-8", "replace").strip()
    first = output.splitlines()[0] if output else ""
    if completed.returncode != 0:
        error = (completed.stderr or completed.stdout).decode("utf-8", "replace").strip()
        return None, (error.splitlines() or ["exit status %d" % completed.returncode])[-1]
    return parse_version(first), first


def resolve_command(search_path: str, name: str = GEMINI_NAME) -> t.Optional[str]:
    """What ``command -v name`` finds on ``search_path`` (a PATH value): the first executable, or None."""
    for directory in search_path.split(os.pathsep):
        if not directory:
            continue
        candidate = os.path.join(os.path.abspath(directory), name)
        if ws.is_executable_file(candidate):
            return candidate
    return None


def same_file(first: t.Optional[str], second: t.Optional[str]) -> bool:
    """Whether two paths name the same file (through symlinks)."""
    if not first or not second:
        return False
    try:
        return os.path.samefile(first, second)
    except OSError:
        return os.path.realpath(first) == os.path.realpath(second)


def find_gemini(environ: t.Mapping[str, str], given: t.Optional[str] = None,
                version_of: t.Optional[t.Callable[[str], t.Tuple[t.Optional[str], str]]] = None) -> t.Dict[str, t.Any]:
    """The real Gemini CLI: ``given``, else the first ``gemini`` on PATH or in :data:`GEMINI_SEARCH_DIRS` that
    is not a launcher of this collection. Returns ``found``, ``path``, ``version``, ``version_ok``, ``on_path``,
    ``output`` (the first line ``--version`` printed, or why it failed) and ``skipped`` (launchers passed over)."""
    version_of = version_of or (lambda path: gemini_version(path, environ))
    found = dict(found=False, path=None, version=None, version_ok=False, on_path=False, output="",
                 skipped=[])  # type: t.Dict[str, t.Any]
    candidates = [(os.path.abspath(given), False)] if given else \
        ws.cli_candidates(environ, GEMINI_NAME, GEMINI_SEARCH_DIRS)
    for path, on_path in candidates:
        if not ws.is_executable_file(path):
            continue
        if read_launcher_metadata(path) is not None:
            found["skipped"].append(path)
            continue
        version, output = version_of(path)
        found.update(found=True, path=path, on_path=on_path, version=version, output=output,
                     version_ok=ws.version_at_least(version, ws.MIN_GEMINI_VERSION))
        break
    return found
