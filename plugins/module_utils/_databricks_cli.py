# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Running the real Databricks CLI for OAuth U2M sessions. Private to the collection.

Used by the modules databricks_oauth, databricks_cli_info and token_helper, and at the same time the
body of the token helper script that token_helper writes (see _token_helper.py, which inlines this
file after _ini.py and _workspace.py). So it imports only the standard library and those two, never
Ansible, and runs on Python 3.8 or newer. The rules it applies (profile names, workspace URLs, where
the CLI is, which ``DATABRICKS_*`` variables may reach it) are _workspace.py's.

What it knows:

* how to run the CLI with a bounded wait, even when a browser it starts keeps its output open;
* how to read ``databricks auth token --output json`` (the expiry carries nanoseconds) and how to
  tell a dead session from an unreachable workspace in its error text;
* whether a browser can open for ``databricks auth login``;
* the helper's decision logic (:func:`token_helper_main`).
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import typing as t

from ansible_collections.fmapi.coding_agents.plugins.module_utils._workspace import (
    CLI_INSTALL_HINT,
    CLI_SEARCH_DIRS,
    clean_environment,
    cli_candidates,
    config_file_path,
    is_executable_file,
    login_command,
    read_profile,
)

# Claude Code uses a token for up to its TTL, and a request that starts at the end of the TTL
# still needs a few minutes: the token must live this much longer than the TTL.
SAFETY_MARGIN_SECONDS = 5 * 60
# A token with less life than this is not worth printing.
MIN_USABLE_SECONDS = 60
# `databricks auth token` may have to refresh over the network; it must not hold Claude Code up.
TOKEN_TIMEOUT_SECONDS = 30
# Claude Code and Codex ask again at once when the workspace answers 401: a call that repeats the token
# served this recently is checked with the workspace, and refreshed when the workspace rejects it.
REPEAT_WINDOW_SECONDS = 120
# A caller that holds one token for a whole session and never asks again (the Gemini CLI launcher) sets this
# to 1 in the helper's environment: the token is then checked with the workspace on every call.
VERIFY_VARIABLE = "FMAPI_TOKEN_HELPER_VERIFY"
VERIFY_TIMEOUT_SECONDS = 10
# An authenticated GET every user may make: a 401 there means the token itself is rejected.
VERIFY_PATH = "/api/2.0/preview/scim/v2/Me"
# After the CLI's own --timeout, how long to wait before killing it.
KILL_GRACE_SECONDS = 15

# Outcomes of asking the CLI for a token; the first four are the `session` values of databricks_oauth.
SESSION_ACTIVE = "active"
SESSION_EXPIRED = "expired"
SESSION_NO_PROFILE = "no_profile"
SESSION_ERROR = "error"
SESSION_NO_CLI = "no_cli"
UNSUPPORTED = "unsupported"

_EXPIRY_PATTERN = re.compile(
    r"\A(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?\Z")
# The CLI appends this to most errors, including network ones where logging in again does not help.
_CLI_TRAILER = re.compile(r"\.?\s*Try logging in again with `[^`]*` before retrying\..*\Z", re.DOTALL)

# Lower-case fragments of the CLI's error text, most specific first.
_TLS_MARKERS = ("x509:", "tls:", "certificate")
_NETWORK_MARKERS = (
    "connection refused", "no such host", "i/o timeout", "network is unreachable", "no route to host",
    "context deadline exceeded", "dial tcp", "connection reset", "timeout awaiting", "server misbehaving",
    "unexpected eof",
)
_LOGIN_MARKERS = (
    "refresh token is invalid",
    "databricks oauth is not configured for this host",
    "cached token has no refresh token",
    "no cached credentials",
    "error code: invalid_grant",
)
_NO_PROFILE_MARKERS = (
    "please specify a host using --host",
    "has no host",
    "no profiles configured",
)
_UNSUPPORTED_MARKERS = ("unknown flag", "unknown shorthand flag", "unknown command")


def _macos_session_manager() -> t.Optional[str]:
    """The launchd session type of this process on macOS (``Aqua`` for a desktop login), None if unknown."""
    try:
        # This code also runs as the token helper, where Ansible is not importable.
        # pylint: disable-next=ansible-bad-function
        completed = subprocess.run(["/bin/launchctl", "managername"], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    name = completed.stdout.decode("utf-8", "replace").strip()
    return name if completed.returncode == 0 and name else None


def browser_can_open(environ: t.Mapping[str, str], platform: t.Optional[str] = None,
                     macos_session_manager: t.Callable[[], t.Optional[str]] = _macos_session_manager
                     ) -> t.Tuple[bool, str]:
    """Whether ``databricks auth login`` can open a browser here, and why (or why not)."""
    platform = sys.platform if platform is None else platform
    browser = environ.get("BROWSER", "")
    if browser == "none":
        return False, "BROWSER=none asks the CLI to print the login URL instead of opening a browser"
    if browser:
        return True, "BROWSER is set"
    if platform == "darwin":
        if any(environ.get(name) for name in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")):
            return False, "this is an SSH session to a Mac (a browser would open on its screen, not yours)"
        manager = macos_session_manager()
        if manager is not None and manager != "Aqua":
            return False, "this process does not run in a macOS desktop session (launchd session %s)" % manager
        return True, "macOS desktop session"
    for name in ("WAYLAND_DISPLAY", "DISPLAY"):
        if environ.get(name):
            return True, "%s is set" % name
    return False, "there is no graphical session (DISPLAY and WAYLAND_DISPLAY are unset) and BROWSER is unset"


# ------------------------------------------------------------------------------------------------ CLI

class CliRun(t.NamedTuple):
    """What one run of the CLI did."""

    returncode: t.Optional[int]
    stdout: str
    stderr: str
    timed_out: bool = False
    start_error: t.Optional[str] = None


def _drain(stream: t.IO[bytes], sink: t.List[bytes]) -> None:
    for chunk in iter(lambda: stream.read(65536), b""):
        sink.append(chunk)


def run_cli(argv: t.Sequence[str], env: t.Mapping[str, str], timeout: float) -> CliRun:
    """Run ``argv`` (no shell, no stdin) and collect its output, giving up after ``timeout`` seconds.

    The wait is for the process, not for the end of its output: a browser the CLI starts may keep
    the output pipes open for as long as it runs.
    """
    try:
        # This code also runs as the token helper, where Ansible is not importable; and the wait must end.
        # pylint: disable-next=ansible-bad-function
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=dict(env), close_fds=True)
    except OSError as exc:
        return CliRun(None, "", "", start_error="cannot run %s: %s" % (argv[0], exc.strerror or exc))
    stdout_chunks = []  # type: t.List[bytes]
    stderr_chunks = []  # type: t.List[bytes]
    readers = [threading.Thread(target=_drain, args=(process.stdout, stdout_chunks), daemon=True),
               threading.Thread(target=_drain, args=(process.stderr, stderr_chunks), daemon=True)]
    for reader in readers:
        reader.start()
    timed_out = False
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        process.kill()
        process.wait()
    for reader in readers:
        reader.join(timeout=2)
    return CliRun(process.returncode, b"".join(stdout_chunks).decode("utf-8", "replace"),
                  b"".join(stderr_chunks).decode("utf-8", "replace"), timed_out)


def token_argv(cli: str, profile: str, force_refresh: bool = False,
               timeout: int = TOKEN_TIMEOUT_SECONDS) -> t.List[str]:
    """``databricks auth token`` for one profile, JSON output, bounded in time."""
    argv = [cli, "auth", "token", "--profile", profile, "--output", "json", "--timeout", "%ds" % timeout]
    if force_refresh:
        argv.append("--force-refresh")
    return argv


def login_argv(cli: str, host: str, profile: str, timeout_seconds: int) -> t.List[str]:
    """``databricks auth login`` for one profile, giving up after ``timeout_seconds``."""
    return [cli, "auth", "login", "--host", host, "--profile", profile, "--timeout", "%ds" % timeout_seconds]


# ------------------------------------------------------------------------------------------ expiry

def parse_expiry(text: t.Any) -> t.Optional[datetime.datetime]:
    """The moment an RFC 3339 expiry (as Go writes it, up to nanoseconds) names, in UTC; None if unreadable."""
    if not isinstance(text, str):
        return None
    match = _EXPIRY_PATTERN.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                                   microsecond, tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    if offset and offset != "Z":
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        moment -= sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment


def iso_utc(moment: t.Optional[datetime.datetime]) -> t.Optional[str]:
    """``2026-01-31T12:00:00Z`` (whole seconds, UTC), or None."""
    if moment is None:
        return None
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> datetime.datetime:
    """The current time, timezone-aware."""
    return datetime.datetime.now(datetime.timezone.utc)


def needed_lifetime_seconds(ttl_minutes: int) -> int:
    """How long a token must still live when the helper prints it for a TTL of ``ttl_minutes``."""
    return int(ttl_minutes) * 60 + SAFETY_MARGIN_SECONDS


class TokenResult(t.NamedTuple):
    """The outcome of ``databricks auth token``: a token (never logged) or a classified failure."""

    kind: str
    token: t.Optional[str] = None
    expiry: t.Optional[datetime.datetime] = None
    message: str = ""

    @property
    def ok(self) -> bool:
        """Whether a token was obtained."""
        return self.kind == SESSION_ACTIVE

    def remaining_seconds(self, now: t.Optional[datetime.datetime] = None) -> float:
        """Seconds the token still lives (infinite when the CLI gave no expiry, 0 without a token)."""
        if not self.ok:
            return 0.0
        if self.expiry is None:
            return float("inf")
        return (self.expiry - (now or utc_now())).total_seconds()

    def __repr__(self) -> str:
        return "TokenResult(kind=%r, expiry=%r, message=%r)" % (self.kind, iso_utc(self.expiry), self.message)


def parse_token_output(stdout: str) -> TokenResult:
    """Read the JSON of ``databricks auth token --output json``."""
    try:
        data = json.loads(stdout)
    except ValueError:
        return TokenResult(SESSION_ERROR, message="the Databricks CLI printed something that is not JSON "
                                                  "where a token was expected")
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token or any(char.isspace() for char in token):
        return TokenResult(SESSION_ERROR, message="the Databricks CLI answered without a usable access_token")
    expiry = parse_expiry(data.get("expiry"))
    if expiry is not None and expiry.year <= 1:
        expiry = None  # Go's zero time: the token does not expire
    elif expiry is None and isinstance(data.get("expires_in"), (int, float)):
        expiry = utc_now() + datetime.timedelta(seconds=data["expires_in"])
    return TokenResult(SESSION_ACTIVE, token=token, expiry=expiry)


def cli_error_text(stderr: str) -> str:
    """The CLI's own error message: its ``Error:`` lines, without the generic "try logging in" trailer."""
    lines = [line.rstrip() for line in (stderr or "").splitlines()]
    start = next((index for index, line in enumerate(lines) if line.startswith("Error: ")), None)
    if start is None:
        text = "\n".join(line for line in lines if line.strip() and not line.startswith("Warn: "))
    else:
        text = "\n".join([lines[start][len("Error: "):]] + [line for line in lines[start + 1:] if line.strip()])
    return _CLI_TRAILER.sub("", text).strip()


def classify_cli_failure(stderr: str, host: t.Optional[str] = None) -> t.Tuple[str, str]:
    """Turn the stderr of a failed ``databricks auth token`` into ``(kind, message for a person)``."""
    detail = cli_error_text(stderr)
    lower = (stderr or "").lower()
    where = host or "the workspace"
    if any(marker in lower for marker in _UNSUPPORTED_MARKERS):
        return UNSUPPORTED, "this Databricks CLI is too old for this command (%s): upgrade it" % detail
    if any(marker in lower for marker in _TLS_MARKERS):
        return SESSION_ERROR, (
            "the TLS certificate of %s is not trusted (%s). If your network inspects TLS, point SSL_CERT_FILE "
            "at a CA bundle that contains your organisation's root certificate." % (where, detail))
    if any(marker in lower for marker in _NETWORK_MARKERS):
        return SESSION_ERROR, (
            "%s cannot be reached (%s). Check the network, the VPN and the proxy variables (HTTPS_PROXY, NO_PROXY), "
            "and that the workspace URL is right." % (where, detail))
    if any(marker in lower for marker in _LOGIN_MARKERS):
        return SESSION_EXPIRED, "the Databricks login session has ended (%s)" % detail
    if any(marker in lower for marker in _NO_PROFILE_MARKERS):
        return SESSION_NO_PROFILE, "the profile is not configured (%s)" % detail
    return SESSION_ERROR, "the Databricks CLI failed: %s" % (detail or "no error message")


def unreachable_message(where: str, seconds: int) -> str:
    """What to say when the CLI (or the workspace) gave no answer in time."""
    return ("%s did not answer within %d seconds: it may be unreachable from here. Check the network, the VPN and "
            "the proxy variables (HTTPS_PROXY, NO_PROXY), and that the workspace URL is right"
            % (where, seconds))


def fetch_token(cli: str, profile: str, env: t.Mapping[str, str], force_refresh: bool = False,
                host: t.Optional[str] = None, timeout: int = TOKEN_TIMEOUT_SECONDS) -> TokenResult:
    """Ask the CLI for the profile's access token (a refreshed one with ``force_refresh``), within about
    ``timeout`` seconds: the CLI's own ``--timeout``, and a kill shortly after."""
    grace = min(KILL_GRACE_SECONDS, max(2, timeout // 2))
    run = run_cli(token_argv(cli, profile, force_refresh, timeout), env, timeout + grace)
    if run.start_error:
        return TokenResult(SESSION_ERROR, message=run.start_error)
    if run.timed_out:
        return TokenResult(SESSION_ERROR, message=unreachable_message(
            "the Databricks CLI, asking %s for a token," % (host or "the workspace"), timeout + grace))
    if run.returncode != 0:
        kind, message = classify_cli_failure(run.stderr, host)
        return TokenResult(kind, message=message)
    return parse_token_output(run.stdout)


class SessionStatus(t.NamedTuple):
    """What the CLI says of a profile's OAuth session (``session`` is one of the SESSION_* values)."""

    session: str
    message: str
    profile_host: t.Optional[str] = None
    expires_at: t.Optional[str] = None
    problem: t.Optional[str] = None


def session_status(cli: str, profile: str, env: t.Mapping[str, str], host: t.Optional[str] = None,
                   timeout: int = TOKEN_TIMEOUT_SECONDS) -> SessionStatus:
    """Whether ``profile`` has a live session, read from the configuration file ``env`` names and the CLI.

    The token the CLI prints is not kept. ``problem`` says why the configuration file could not be read.
    The CLI gets about ``timeout`` seconds (it may refresh the token over the network).
    """
    config_path = config_file_path(env)
    info = read_profile(config_path, profile)
    if info.exists is False:
        return SessionStatus(SESSION_NO_PROFILE, "Profile %s is not in %s." % (profile, config_path))
    token = fetch_token(cli, profile, env, host=info.host or host, timeout=timeout)
    session = token.kind if token.kind != UNSUPPORTED else SESSION_ERROR
    if token.ok:
        expires_at = iso_utc(token.expiry)
        until = "; its access token expires at %s" % expires_at if expires_at else ""
        return SessionStatus(session, "Profile %s has an active session%s." % (profile, until), info.host, expires_at,
                             info.problem)
    # A sentence after the colon, but a URL keeps its own spelling.
    message = token.message if token.message.startswith(("http://", "https://")) else \
        token.message[:1].upper() + token.message[1:]
    return SessionStatus(session, "Profile %s: %s." % (profile, message.rstrip(".")), info.host, None, info.problem)


def run_login(cli: str, host: str, profile: str, env: t.Mapping[str, str], timeout_seconds: int) -> CliRun:
    """Run the browser login; the CLI gives up after ``timeout_seconds``, and is killed soon after."""
    return run_cli(login_argv(cli, host, profile, timeout_seconds), env, timeout_seconds + KILL_GRACE_SECONDS)


def describe_login_failure(run: CliRun, timeout_seconds: int) -> str:
    """Why a login did not work, for a person."""
    if run.start_error:
        return run.start_error
    if run.timed_out:
        return "the login was not completed in the browser within %d seconds" % timeout_seconds
    detail = cli_error_text(run.stderr) or run.stdout.strip() or "exit status %s" % run.returncode
    if "deadline exceeded" in detail.lower() or "timed out" in detail.lower():
        return "the login was not completed in the browser within %d seconds (%s)" % (timeout_seconds, detail)
    return "databricks auth login failed: %s" % detail


# ------------------------------------------------------------------------------------ token helper

def token_fingerprint(token: str) -> str:
    """A short digest that tells two tokens apart and says nothing of either (it is all the state file keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]


def state_file_for(helper_path: str, environ: t.Optional[t.Mapping[str, str]] = None) -> str:
    """The helper's state file: ``.<helper name>.state`` beside it, or, when its folder is not the caller's to
    write (the helper of managed settings, root's, run by every user), in the caller's
    ``$XDG_STATE_HOME/fmapi-coding-agents`` (``~/.local/state/fmapi-coding-agents``)."""
    directory, name = os.path.split(os.path.abspath(helper_path))
    if environ is None or os.access(directory, os.W_OK):
        return os.path.join(directory, "." + name + ".state")
    return os.path.join(state_dir(environ), "." + name + ".state")


def state_dir(environ: t.Mapping[str, str]) -> str:
    """The collection's per-user state folder: ``$XDG_STATE_HOME/fmapi-coding-agents``
    (``~/.local/state/fmapi-coding-agents``)."""
    home = environ.get("HOME") or os.path.expanduser("~")
    state_home = environ.get("XDG_STATE_HOME") or os.path.join(home, ".local", "state")
    return os.path.join(state_home, "fmapi-coding-agents")


def resolve_cli(cli: str, environ: t.Mapping[str, str]) -> str:
    """The helper's Databricks CLI: ``cli`` itself when it is a path; a bare name (the helper of managed settings)
    is looked for on PATH and where installers put it, in the home of whoever runs the helper."""
    if os.sep in cli:
        return cli
    return next((candidate for candidate, _on_path in cli_candidates(environ, cli) if is_executable_file(candidate)),
                cli)


def read_state(path: str) -> t.Dict[str, t.Any]:
    """The helper's last answer (fingerprint and time), ``{}`` when there is none or it is unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(path: str, token: str, now: float) -> None:
    """Record which token was served when (atomically, mode 0600); a failure only costs the recovery."""
    try:
        if not os.path.isdir(os.path.dirname(path)):
            os.makedirs(os.path.dirname(path), 0o700)
        descriptor, temporary = tempfile.mkstemp(prefix=".fmapi-state-", dir=os.path.dirname(path))
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump({"version": 1, "fingerprint": token_fingerprint(token), "served_at": now}, handle)
        os.replace(temporary, path)
    except OSError:
        return


def token_rejected(host: str, token: str, timeout: float = VERIFY_TIMEOUT_SECONDS) -> t.Optional[bool]:
    """Whether the workspace rejects ``token`` (HTTP 401); None when it could not be asked.

    Proxies (HTTPS_PROXY, NO_PROXY) and a custom CA (SSL_CERT_FILE) apply, as for the CLI.
    """
    # Imported here: urllib.request costs the token helper about 30 ms at every start, and only this asks.
    import urllib.error  # pylint: disable=import-outside-toplevel
    import urllib.request  # pylint: disable=import-outside-toplevel

    headers = {"Authorization": "Bearer " + token, "User-Agent": "fmapi-token-helper"}
    request = urllib.request.Request(host + VERIFY_PATH, headers=headers)
    # The standard library's opener, not Ansible's open_url: this code also runs as the token helper,
    # where Ansible is not importable. It honours the same proxy variables and SSL_CERT_FILE.
    opener = urllib.request.build_opener()
    try:
        with opener.open(request, timeout=timeout):
            return False
    except urllib.error.HTTPError as exc:
        return exc.code == 401
    except (OSError, ValueError):
        return None


def _say(stderr: t.TextIO, message: str) -> None:
    stderr.write("fmapi-token-helper: %s\n" % message)
    stderr.flush()


class _LoginLock:
    """An exclusive lock held while one helper logs in, so parallel Claude Code sessions do not all
    open a browser and compete for the CLI's callback port. It locks the helper script itself
    (opened read-only): nothing is written anywhere."""

    def __init__(self, path: str, timeout: float):
        self.path = path
        self.timeout = timeout
        self.handle = None  # type: t.Optional[t.IO[bytes]]

    def __enter__(self) -> bool:
        try:
            self.handle = open(self.path, "rb")  # pylint: disable=consider-using-with
        except OSError:
            return True  # nothing to lock on: proceed alone
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except OSError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.5)

    def __exit__(self, *exc_info: t.Any) -> None:
        if self.handle is not None:
            self.handle.close()  # releases the lock


def token_helper_main(config: t.Mapping[str, t.Any], environ: t.Optional[t.Mapping[str, str]] = None,
                      stdout: t.Optional[t.TextIO] = None, stderr: t.Optional[t.TextIO] = None,
                      lock_path: t.Optional[str] = None, state_path: t.Optional[str] = None,
                      rejected: t.Callable[[str, str], t.Optional[bool]] = token_rejected) -> int:
    """The token helper: print one access token for Claude Code on ``stdout``; exit status.

    ``config`` holds ``databricks_cli``, ``profile``, ``host``, ``ttl_minutes`` and
    ``login_timeout``. Nothing but the token is printed on stdout; everything else goes to stderr.

    A token the workspace stopped accepting before the CLI's cache says it expires (revoked, rotated,
    clock skew) is not served again and again: when a call repeats the token served less than
    :data:`REPEAT_WINDOW_SECONDS` ago (what Claude Code and Codex do after a 401), or any call with
    :data:`VERIFY_VARIABLE` set to 1 (the Gemini CLI launcher's, once per session), the helper asks the
    workspace whether it accepts it, and on a 401 has the CLI refresh it (or logs in again). The state
    file (``state_path``) keeps only a fingerprint of the last token and the time it was served.
    """
    environ = os.environ if environ is None else environ
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    cli = resolve_cli(config["databricks_cli"], environ)
    profile = config["profile"]
    host = config["host"]
    login_timeout = int(config["login_timeout"])
    needed = needed_lifetime_seconds(config["ttl_minutes"])
    hint = login_command(profile, host)
    env = clean_environment(environ)

    state_path = state_path or state_file_for(lock_path or os.path.abspath(__file__), environ)
    rejected_token = None  # type: t.Optional[str]

    def emit(result: TokenResult) -> int:
        stdout.write(t.cast(str, result.token) + "\n")
        stdout.flush()
        write_state(state_path, t.cast(str, result.token), time.time())
        return 0

    def repeated(result: TokenResult) -> bool:
        state = read_state(state_path)
        served_at = state.get("served_at")
        return (state.get("fingerprint") == token_fingerprint(t.cast(str, result.token))
                and isinstance(served_at, (int, float)) and 0 <= time.time() - served_at < REPEAT_WINDOW_SECONDS)

    if os.sep not in cli:
        _say(stderr, "the Databricks CLI (%s) is not on PATH or in %s. %s" % (cli, ", ".join(CLI_SEARCH_DIRS), CLI_INSTALL_HINT))
        return 1
    if not is_executable_file(cli):
        _say(stderr, "the Databricks CLI is not at %s any more: reinstall it, or run the FMAPI setup again so "
                     "that this helper points at its new place." % cli)
        return 1

    first = fetch_token(cli, profile, env, host=host)
    fallback = None  # type: t.Optional[TokenResult]
    verify = environ.get(VERIFY_VARIABLE) == "1"
    if first.ok and first.remaining_seconds() >= needed and (verify or repeated(first)) \
            and rejected(host, t.cast(str, first.token)):
        # Asked again soon for the same token (or asked to check it), and the workspace rejects it: never serve it again.
        rejected_token = first.token
        _say(stderr, "the workspace rejects the access token of profile %s (HTTP 401) although it has not expired; "
                     "refreshing it." % profile)
        refreshed = fetch_token(cli, profile, env, force_refresh=True, host=host)
        if refreshed.ok and refreshed.token != rejected_token:
            return emit(refreshed)
        if refreshed.ok or refreshed.kind in (SESSION_EXPIRED, SESSION_NO_PROFILE):
            first = TokenResult(SESSION_EXPIRED, message="the workspace rejects the access token of profile %s and "
                                                         "the CLI could not get another one" % profile)
        else:
            _say(stderr, "cannot refresh the rejected Databricks token of profile %s: %s" % (profile, refreshed.message))
            return 1
    if first.ok:
        if first.remaining_seconds() >= needed:
            return emit(first)
        # Too short for the TTL: a refresh gives a token with the workspace's full lifetime.
        second = fetch_token(cli, profile, env, force_refresh=True, host=host)
        if second.ok:
            return emit(max((first, second), key=lambda result: result.remaining_seconds()))
        if second.kind not in (SESSION_EXPIRED, SESSION_NO_PROFILE):
            if first.remaining_seconds() >= MIN_USABLE_SECONDS:
                return emit(first)
            _say(stderr, "cannot refresh the Databricks token of profile %s: %s" % (profile, second.message))
            return 1
        fallback = first
        failure = second
    elif first.kind in (SESSION_EXPIRED, SESSION_NO_PROFILE):
        failure = first
    else:
        _say(stderr, "cannot get a Databricks token for profile %s: %s" % (profile, first.message))
        return 1

    usable_fallback = fallback is not None and fallback.remaining_seconds() >= MIN_USABLE_SECONDS
    can_open, reason = browser_can_open(environ)
    if not can_open:
        if usable_fallback:
            _say(stderr, "%s; the current token works until %s. Log in again before then: %s"
                 % (failure.message, iso_utc(t.cast(TokenResult, fallback).expiry), hint))
            return emit(t.cast(TokenResult, fallback))
        _say(stderr, "%s, and no browser can be opened here (%s). Log in again with:\n  %s"
             % (failure.message, reason, hint))
        return 1

    with _LoginLock(lock_path or os.path.abspath(__file__), login_timeout + 2 * KILL_GRACE_SECONDS) as locked:
        if not locked:
            _say(stderr, "another login is still running; finish it in the browser, or log in with:\n  %s" % hint)
            return emit(t.cast(TokenResult, fallback)) if usable_fallback else 1
        # Another helper may have logged in while this one waited for the lock.
        current = fetch_token(cli, profile, env, host=host)
        if current.ok and current.remaining_seconds() >= MIN_USABLE_SECONDS and current.token != rejected_token and (
                fallback is None or current.token != fallback.token):
            return emit(current)
        _say(stderr, "%s; opening the browser to log in to %s (profile %s, up to %d seconds)."
             % (failure.message, host, profile, login_timeout))
        login = run_login(cli, host, profile, env, login_timeout)
        for line in (login.stdout + login.stderr).splitlines():
            if line.strip():
                _say(stderr, "databricks: " + line.rstrip())
        if login.returncode == 0 and not login.timed_out:
            after = fetch_token(cli, profile, env, host=host)
            if after.ok:
                return emit(after)
            _say(stderr, "logged in, but still no token: %s" % after.message)
        else:
            _say(stderr, "%s. Log in with:\n  %s" % (describe_login_failure(login, login_timeout), hint))
    return emit(t.cast(TokenResult, fallback)) if usable_fallback else 1
