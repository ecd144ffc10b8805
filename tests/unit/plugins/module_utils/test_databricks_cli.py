# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of plugins/module_utils/_databricks_cli.py, including the token helper's decisions
(:func:`token_helper_main`) run against a scripted stand-in for the Databricks CLI."""

from __future__ import annotations

import datetime
import io
import json
import os
import shlex
import stat
import sys
import time

import pytest

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _databricks_cli as dbcli

UTC = datetime.timezone.utc
HOST = "https://my-workspace.cloud.databricks.com"
PROFILE = "fmapi-claudecode-profile"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXYifQ.signature-of-test-token"
OTHER_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXYifQ.signature-of-refreshed-token"

# stderr of the real Databricks CLI v1.12.1 (captured against the workspace double).
REFRESH_INVALID = (
    "Error: A new access token could not be retrieved because the refresh token is invalid. To reauthenticate, "
    "run the following command:\n  $ databricks auth login --profile p1\n")
NO_CACHE = ("Error: cache: databricks OAuth is not configured for this host. no cached credentials; run "
            "`databricks auth login` to sign in\n")
NO_PROFILE = ("Error: the command is being run in a non-interactive environment, please specify a host using "
              "--host\n")
TLS = ("Error: forced token refresh: fetching OAuth endpoints: failed to get OAuth endpoints: Get "
       "\"https://127.0.0.1:34045/oidc/.well-known/oauth-authorization-server\": tls: failed to verify certificate: "
       "x509: certificate signed by unknown authority. Try logging in again with `databricks auth login --profile "
       "p1` before retrying. If this fails, please report this issue to the Databricks CLI maintainers at "
       "https://github.com/databricks/cli/issues/new\n")
SERVER_ERROR = ("Error: token refresh: Injected fault (error code: server_error). Try logging in again with "
                "`databricks auth login --profile p4` before retrying. If this fails, please report this issue to "
                "the Databricks CLI maintainers at https://github.com/databricks/cli/issues/new\n")
REFUSED = ("Warn: [hostmetadata] failed to fetch host metadata for https://127.0.0.1:1, will skip for 1m0s\n"
           "Error: token refresh: Post \"https://127.0.0.1:1/oidc/v1/token\": dial tcp 127.0.0.1:1: connect: "
           "connection refused. Try logging in again with `databricks auth login --profile p` before retrying. If "
           "this fails, please report this issue to the Databricks CLI maintainers at "
           "https://github.com/databricks/cli/issues/new\n")
UNKNOWN_FLAG = "Error: unknown flag: --force-refresh\n"


def in_minutes(minutes: float) -> str:
    """An expiry ``minutes`` from now as the CLI writes it (nanoseconds, Z)."""
    moment = datetime.datetime.now(UTC) + datetime.timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "123456789Z"


def token_json(token: str = TOKEN, minutes: float = 60) -> str:
    return json.dumps({"access_token": token, "token_type": "Bearer", "expiry": in_minutes(minutes),
                       "expires_in": int(minutes * 60)}, indent=2)


# ------------------------------------------------------------------------------- fake Databricks CLI

_FAKE_CLI = r'''
"""Scripted stand-in for the Databricks CLI: answers from a JSON script, logs argv and environment."""
import json, os, sys, time
state_path = os.environ["FAKE_CLI_STATE"]
with open(state_path) as handle:
    state = json.load(handle)
argv = sys.argv[1:]
if argv[:1] == ["--version"]:
    kind = "version"
elif argv[:2] == ["auth", "login"]:
    kind = "login"
elif "--force-refresh" in argv:
    kind = "force"
else:
    kind = "token"
with open(state["log"], "a") as log:
    log.write(json.dumps({{"kind": kind, "argv": argv, "env": dict(os.environ)}}) + "\n")
queue = state["answers"].get(kind) or [{{"rc": 1, "stderr": "Error: unscripted call " + kind + "\n"}}]
answer = queue.pop(0) if len(queue) > 1 else queue[0]
with open(state_path, "w") as handle:
    json.dump(state, handle)
if answer.get("then"):
    state["answers"].update(answer["then"])
    with open(state_path, "w") as handle:
        json.dump(state, handle)
time.sleep(answer.get("sleep", 0))
sys.stdout.write(answer.get("stdout", ""))
sys.stderr.write(answer.get("stderr", ""))
sys.exit(answer.get("rc", 0))
'''


class FakeCli:
    """A script named ``databricks`` whose answers a test scripts per call kind.

    Kinds: ``version``, ``token`` (auth token), ``force`` (auth token --force-refresh), ``login``.
    Each kind has a queue of answers ``{"rc", "stdout", "stderr", "sleep", "then"}``; the last one repeats.
    ``then`` replaces other kinds' queues once that answer is given (a login that fixes the session).
    """

    def __init__(self, directory):
        self.directory = str(directory)
        os.makedirs(self.directory, exist_ok=True)
        self.path = os.path.join(self.directory, "databricks")
        self.state_path = os.path.join(self.directory, "state.json")
        self.log_path = os.path.join(self.directory, "calls.jsonl")
        program = os.path.join(self.directory, "fake_databricks.py")
        with open(program, "w", encoding="utf-8") as handle:
            handle.write(_FAKE_CLI.format())
        # A sh wrapper: the test interpreter's path may be too long for a shebang line.
        with open(self.path, "w", encoding="utf-8") as handle:
            handle.write("#!/bin/sh\nexec %s %s \"$@\"\n" % (shlex.quote(sys.executable), shlex.quote(program)))
        os.chmod(self.path, 0o755)
        self.script(version=[{"stdout": "Databricks CLI v1.12.1\n"}])

    def script(self, **answers):
        state = {"log": self.log_path, "answers": {}}
        if os.path.exists(self.state_path):
            with open(self.state_path, encoding="utf-8") as handle:
                state = json.load(handle)
        state["answers"].update(answers)
        with open(self.state_path, "w", encoding="utf-8") as handle:
            json.dump(state, handle)

    def calls(self, kind=None):
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path, encoding="utf-8") as handle:
            entries = [json.loads(line) for line in handle]
        return [entry for entry in entries if kind is None or entry["kind"] == kind]

    def environ(self, **extra):
        """An environment for code that runs this CLI: the state file and nothing graphical."""
        env = {"PATH": "/usr/bin:/bin", "HOME": self.directory, "FAKE_CLI_STATE": self.state_path}
        env.update(extra)
        return env


@pytest.fixture(name="fake_cli")
def fake_cli_fixture(tmp_path):
    return FakeCli(tmp_path / "cli")


# ------------------------------------------------------------------------------------------ browser

def no_manager():
    raise AssertionError("launchctl must not be asked")


@pytest.mark.parametrize("environ, platform, expected", [
    ({"DISPLAY": ":0"}, "linux", True),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
    ({"DISPLAY": ":0", "SSH_CONNECTION": "1.2.3.4 5 6.7.8.9 22"}, "linux", True),
    ({"SSH_CONNECTION": "1.2.3.4 5 6.7.8.9 22"}, "linux", False),
    ({}, "linux", False),
    ({"DISPLAY": ""}, "linux", False),
    ({"BROWSER": "/usr/bin/firefox"}, "linux", True),
    ({"BROWSER": "/usr/bin/firefox", "SSH_TTY": "/dev/pts/0"}, "darwin", True),
    ({"BROWSER": "none", "DISPLAY": ":0"}, "linux", False),
    ({"BROWSER": "none"}, "darwin", False),
    ({"SSH_CLIENT": "1.2.3.4 5 22"}, "darwin", False),
    ({"SSH_TTY": "/dev/ttys001"}, "darwin", False),
    ({}, "freebsd13", False),
])
def test_browser_detection(environ, platform, expected):
    assert dbcli.browser_can_open(environ, platform, lambda: "Aqua")[0] is expected


@pytest.mark.parametrize("manager, expected", [("Aqua", True), ("Background", False), ("System", False),
                                               (None, True)])
def test_macos_needs_a_desktop_session(manager, expected):
    can_open, reason = dbcli.browser_can_open({}, "darwin", lambda: manager)
    assert can_open is expected
    if not expected:
        assert manager in reason


def test_ssh_on_macos_is_decided_without_asking_launchd():
    assert dbcli.browser_can_open({"SSH_CONNECTION": "x"}, "darwin", no_manager)[0] is False


def test_the_reason_says_what_is_missing():
    can_open, reason = dbcli.browser_can_open({}, "linux")
    assert not can_open and "DISPLAY" in reason and "BROWSER" in reason


# ------------------------------------------------------------------------------------------ expiry

@pytest.mark.parametrize("text, expected", [
    ("2026-11-21T08:37:48.99557761Z", datetime.datetime(2026, 11, 21, 8, 37, 48, 995577, UTC)),
    ("2026-11-21T08:37:48Z", datetime.datetime(2026, 11, 21, 8, 37, 48, 0, UTC)),
    ("2026-11-21T08:37:48.5Z", datetime.datetime(2026, 11, 21, 8, 37, 48, 500000, UTC)),
    ("2026-11-21T09:37:48.123456789+01:00", datetime.datetime(2026, 11, 21, 8, 37, 48, 123456, UTC)),
    ("2026-11-21T03:07:48-0530", datetime.datetime(2026, 11, 21, 8, 37, 48, 0, UTC)),
    ("2026-11-21 08:37:48", datetime.datetime(2026, 11, 21, 8, 37, 48, 0, UTC)),
])
def test_expiry_parsing_handles_what_go_writes(text, expected):
    assert dbcli.parse_expiry(text) == expected


@pytest.mark.parametrize("text", ["", "tomorrow", "2026-13-01T00:00:00Z", "2026-11-21T08:37", None, 1795250268])
def test_unreadable_expiries_are_none(text):
    assert dbcli.parse_expiry(text) is None


def test_iso_utc_is_whole_seconds_in_utc():
    moment = datetime.datetime(2026, 1, 31, 13, 0, 0, 999999, datetime.timezone(datetime.timedelta(hours=1)))
    assert dbcli.iso_utc(moment) == "2026-01-31T12:00:00Z"
    assert dbcli.iso_utc(None) is None


@pytest.mark.parametrize("ttl, needed", [(1, 360), (30, 2100), (60, 3900)])
def test_needed_lifetime_is_the_ttl_plus_a_margin(ttl, needed):
    assert dbcli.needed_lifetime_seconds(ttl) == needed


def test_token_output_is_read_with_its_expiry():
    result = dbcli.parse_token_output(token_json(minutes=42))
    assert result.ok and result.token == TOKEN
    assert 41 * 60 < result.remaining_seconds() <= 42 * 60 + 1


def test_a_zero_expiry_means_the_token_does_not_expire():
    result = dbcli.parse_token_output(json.dumps({"access_token": TOKEN, "expiry": "0001-01-01T00:00:00Z"}))
    assert result.ok and result.expiry is None and result.remaining_seconds() == float("inf")


def test_expires_in_is_used_when_expiry_is_missing():
    result = dbcli.parse_token_output(json.dumps({"access_token": TOKEN, "expires_in": 600}))
    assert 590 < result.remaining_seconds() <= 600


@pytest.mark.parametrize("stdout", ["", "not json", "[]", '{"token_type": "Bearer"}', '{"access_token": ""}',
                                    '{"access_token": "two words"}', '{"access_token": "line\\nbreak"}'])
def test_output_without_a_usable_token_is_an_error(stdout):
    result = dbcli.parse_token_output(stdout)
    assert result.kind == dbcli.SESSION_ERROR and result.token is None and not result.ok


def test_a_token_result_never_shows_its_token():
    result = dbcli.parse_token_output(token_json())
    assert TOKEN not in repr(result) and TOKEN not in str(result)


# ---------------------------------------------------------------------------------- error classes

@pytest.mark.parametrize("stderr, kind, words", [
    (REFRESH_INVALID, dbcli.SESSION_EXPIRED, "session has ended"),
    (NO_CACHE, dbcli.SESSION_EXPIRED, "no cached credentials"),
    ("Error: token refresh: cached token has no refresh token\n", dbcli.SESSION_EXPIRED, "session has ended"),
    ("Error: token refresh: bad grant (error code: invalid_grant)\n", dbcli.SESSION_EXPIRED, "session has ended"),
    (NO_PROFILE, dbcli.SESSION_NO_PROFILE, "not configured"),
    (TLS, dbcli.SESSION_ERROR, "TLS certificate of %s is not trusted" % HOST),
    (REFUSED, dbcli.SESSION_ERROR, "cannot be reached"),
    ("Error: dial tcp: lookup nowhere.example.com: no such host\n", dbcli.SESSION_ERROR, "cannot be reached"),
    (SERVER_ERROR, dbcli.SESSION_ERROR, "Injected fault (error code: server_error)"),
    (UNKNOWN_FLAG, dbcli.UNSUPPORTED, "too old"),
    ("", dbcli.SESSION_ERROR, "no error message"),
])
def test_cli_failures_are_classified(stderr, kind, words):
    found, message = dbcli.classify_cli_failure(stderr, HOST)
    assert found == kind
    assert words in message


@pytest.mark.parametrize("stderr", [TLS, SERVER_ERROR, REFUSED])
def test_the_misleading_try_logging_in_trailer_is_dropped(stderr):
    message = dbcli.classify_cli_failure(stderr, HOST)[1]
    assert "Try logging in again" not in message and "report this issue" not in message


def test_cli_error_text_keeps_the_error_lines_only():
    assert dbcli.cli_error_text(REFUSED).startswith("token refresh: Post")
    assert "Warn:" not in dbcli.cli_error_text(REFUSED)
    assert dbcli.cli_error_text(REFRESH_INVALID).endswith("$ databricks auth login --profile p1")


# ---------------------------------------------------------------------------------------- argv

def test_token_argv_passes_the_profile_as_one_argument_and_bounds_the_time():
    assert dbcli.token_argv("/opt/db/databricks", "p1") == [
        "/opt/db/databricks", "auth", "token", "--profile", "p1", "--output", "json", "--timeout", "30s"]
    assert dbcli.token_argv("/opt/db/databricks", "p1", force_refresh=True)[-1] == "--force-refresh"


def test_login_argv():
    assert dbcli.login_argv("/usr/local/bin/databricks", HOST, "p1", 120) == [
        "/usr/local/bin/databricks", "auth", "login", "--host", HOST, "--profile", "p1", "--timeout", "120s"]


# -------------------------------------------------------------------------------------- run_cli

def test_run_cli_collects_output_and_status():
    run = dbcli.run_cli(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], {"PATH": "/usr/bin:/bin"}, 10)
    assert run == dbcli.CliRun(3, "out\n", "err\n", False, None)


def test_run_cli_kills_a_cli_that_hangs():
    started = time.monotonic()
    run = dbcli.run_cli(["/bin/sh", "-c", "exec sleep 60"], {"PATH": "/usr/bin:/bin"}, 1)
    # Generous on a loaded machine, and still far from the minute the CLI would hang.
    assert run.timed_out and time.monotonic() - started < 30


def test_run_cli_does_not_wait_for_a_browser_that_keeps_the_output_open():
    started = time.monotonic()
    run = dbcli.run_cli(["/bin/sh", "-c", "sleep 60 & echo done"], {"PATH": "/usr/bin:/bin"}, 45)
    assert run.returncode == 0 and not run.timed_out
    assert time.monotonic() - started < 30


def test_run_cli_reports_a_cli_that_cannot_start(tmp_path):
    run = dbcli.run_cli([str(tmp_path / "nothing")], {}, 5)
    assert run.returncode is None and "cannot run" in run.start_error


def test_fetch_token_classifies(fake_cli):
    fake_cli.script(token=[{"stdout": token_json()}, {"rc": 1, "stderr": REFRESH_INVALID}])
    assert dbcli.fetch_token(fake_cli.path, "p1", fake_cli.environ()).ok
    assert dbcli.fetch_token(fake_cli.path, "p1", fake_cli.environ()).kind == dbcli.SESSION_EXPIRED
    assert [call["argv"][:5] for call in fake_cli.calls("token")] == [["auth", "token", "--profile", "p1",
                                                                       "--output"]] * 2


# ------------------------------------------------------------------------------------ session status

@pytest.fixture(name="config_file")
def config_file_fixture(tmp_path):
    """A CLI configuration file outside HOME, as DATABRICKS_CONFIG_FILE names it."""
    path = tmp_path / "cfg" / "databricks.ini"
    path.parent.mkdir()
    path.write_text("[%s]\nhost = %s\nauth_type = databricks-cli\n" % (PROFILE, HOST))
    return path


def test_session_status_of_an_active_session(fake_cli, config_file):
    fake_cli.script(token=[{"stdout": token_json(minutes=45)}])

    status = dbcli.session_status(fake_cli.path, PROFILE, fake_cli.environ(DATABRICKS_CONFIG_FILE=str(config_file)))

    assert (status.session, status.profile_host, status.problem) == (dbcli.SESSION_ACTIVE, HOST, None)
    remaining = dbcli.parse_expiry(status.expires_at) - dbcli.utc_now()
    assert datetime.timedelta(minutes=40) < remaining <= datetime.timedelta(minutes=45)
    assert status.message == "Profile %s has an active session; its access token expires at %s." % (
        PROFILE, status.expires_at)
    assert TOKEN not in repr(status)
    assert fake_cli.calls("token")[0]["argv"][:4] == ["auth", "token", "--profile", PROFILE]


def test_session_status_of_a_profile_missing_from_the_config_file_does_not_ask_the_cli(fake_cli, config_file):
    status = dbcli.session_status(fake_cli.path, "other", fake_cli.environ(DATABRICKS_CONFIG_FILE=str(config_file)))

    assert status == dbcli.SessionStatus(dbcli.SESSION_NO_PROFILE, "Profile other is not in %s." % config_file)
    assert fake_cli.calls("token") == []


def test_session_status_reads_the_config_file_of_home_without_databricks_config_file(fake_cli, config_file):
    status = dbcli.session_status(fake_cli.path, PROFILE, fake_cli.environ())

    assert status.session == dbcli.SESSION_NO_PROFILE
    assert status.message == "Profile %s is not in %s." % (PROFILE, os.path.join(fake_cli.directory, ".databrickscfg"))


@pytest.mark.parametrize("answer, session, words", [
    ({"rc": 1, "stderr": REFRESH_INVALID}, dbcli.SESSION_EXPIRED, "The Databricks login session has ended"),
    ({"rc": 1, "stderr": TLS}, dbcli.SESSION_ERROR, "The TLS certificate of %s is not trusted" % HOST),
    ({"rc": 1, "stderr": UNKNOWN_FLAG}, dbcli.SESSION_ERROR, "This Databricks CLI is too old"),
    ({"rc": 1, "stderr": "Error: dial tcp 127.0.0.1:1: connect: connection refused"}, dbcli.SESSION_ERROR,
     "%s cannot be reached" % HOST),
])
def test_session_status_of_a_failing_session_says_why(fake_cli, config_file, answer, session, words):
    fake_cli.script(token=[answer])

    status = dbcli.session_status(fake_cli.path, PROFILE, fake_cli.environ(DATABRICKS_CONFIG_FILE=str(config_file)))

    assert (status.session, status.profile_host, status.expires_at) == (session, HOST, None)
    assert status.message.startswith("Profile %s: %s" % (PROFILE, words)) and status.message.endswith(".")
    assert not status.message.endswith("..")


def test_session_status_with_an_unreadable_config_file_still_asks_the_cli(fake_cli, tmp_path):
    broken = tmp_path / "broken.cfg"
    broken.write_text("[%s\n" % PROFILE)
    fake_cli.script(token=[{"stdout": token_json()}])

    status = dbcli.session_status(fake_cli.path, PROFILE, fake_cli.environ(DATABRICKS_CONFIG_FILE=str(broken)),
                                  host=HOST)

    assert status.session == dbcli.SESSION_ACTIVE and status.profile_host is None
    assert str(broken) in status.problem and "does not close it" in status.problem


# --------------------------------------------------------------------------------- token helper

class Helper:
    """Runs token_helper_main in-process against the fake CLI."""

    def __init__(self, fake_cli, tmp_path):
        self.fake_cli = fake_cli
        self.lock_path = str(tmp_path / "lock-target")
        with open(self.lock_path, "w", encoding="utf-8") as handle:
            handle.write("helper\n")
        self.config = {"databricks_cli": fake_cli.path, "profile": PROFILE, "host": HOST, "ttl_minutes": 30,
                       "login_timeout": 20}
        self.state_path = str(tmp_path / ".helper.state")
        # What the workspace says of a token: None (not asked, or unreachable) unless a test decides.
        self.verdict = None
        self.verified = []

    def rejected(self, host, token):
        self.verified.append((host, token))
        return self.verdict

    def __call__(self, **environ):
        stdout, stderr = io.StringIO(), io.StringIO()
        env = self.fake_cli.environ(**environ)
        status = dbcli.token_helper_main(self.config, env, stdout, stderr, lock_path=self.lock_path,
                                         state_path=self.state_path, rejected=self.rejected)
        return status, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(name="helper")
def helper_fixture(fake_cli, tmp_path):
    return Helper(fake_cli, tmp_path)


def test_a_token_that_outlives_the_ttl_is_printed_alone(helper, fake_cli):
    fake_cli.script(token=[{"stdout": token_json(minutes=50)}])

    assert helper() == (0, TOKEN + "\n", "")
    assert fake_cli.calls("force") == []


def test_a_token_shorter_than_the_ttl_is_refreshed(helper, fake_cli):
    fake_cli.script(token=[{"stdout": token_json(minutes=20)}], force=[{"stdout": token_json(OTHER_TOKEN, 60)}])

    assert helper() == (0, OTHER_TOKEN + "\n", "")
    assert fake_cli.calls("force")[0]["argv"] == dbcli.token_argv(fake_cli.path, PROFILE, True)[1:]


def test_the_longer_lived_token_wins_when_the_refresh_is_no_better(helper, fake_cli):
    fake_cli.script(token=[{"stdout": token_json(minutes=20)}], force=[{"stdout": token_json(OTHER_TOKEN, 10)}])
    assert helper()[1] == TOKEN + "\n"


def test_a_cli_without_force_refresh_still_serves_the_token(helper, fake_cli):
    fake_cli.script(token=[{"stdout": token_json(minutes=20)}], force=[{"rc": 1, "stderr": UNKNOWN_FLAG}])
    assert helper() == (0, TOKEN + "\n", "")


def test_a_failed_refresh_of_an_almost_dead_token_fails(helper, fake_cli):
    fake_cli.script(token=[{"stdout": token_json(minutes=0.5)}], force=[{"rc": 1, "stderr": SERVER_ERROR}])

    status, stdout, stderr = helper()

    assert status == 1 and stdout == ""
    assert "Injected fault" in stderr


def test_the_cli_runs_without_overriding_variables_and_with_the_profile(helper, fake_cli):
    fake_cli.script(token=[{"stdout": token_json()}])

    helper(DATABRICKS_TOKEN="dapi-junk", DATABRICKS_HOST="https://junk.example.com", DATABRICKS_CONFIG_PROFILE="junk",
           DATABRICKS_AUTH_TYPE="pat", DATABRICKS_CLIENT_ID="x", DATABRICKS_CLIENT_SECRET="y",
           DATABRICKS_AUTH_STORAGE="plaintext", DATABRICKS_CONFIG_FILE="/tmp/cfg", SSL_CERT_FILE="/ca.pem")

    call = fake_cli.calls("token")[0]
    databricks_vars = dict((key, value) for key, value in call["env"].items() if key.startswith("DATABRICKS_"))
    assert databricks_vars == {"DATABRICKS_AUTH_STORAGE": "plaintext", "DATABRICKS_CONFIG_FILE": "/tmp/cfg"}
    assert call["env"]["SSL_CERT_FILE"] == "/ca.pem"
    assert call["argv"][call["argv"].index("--profile") + 1] == PROFILE


@pytest.mark.parametrize("stderr", [REFRESH_INVALID, NO_CACHE, NO_PROFILE])
def test_a_dead_session_without_a_browser_prints_the_fix_on_stderr_only(helper, fake_cli, stderr):
    fake_cli.script(token=[{"rc": 1, "stderr": stderr}])

    status, stdout, err = helper()

    assert status == 1 and stdout == ""
    assert "databricks auth login --host %s --profile %s" % (HOST, PROFILE) in err
    assert fake_cli.calls("login") == []


def test_a_dead_session_with_a_browser_logs_in_and_prints_the_new_token(helper, fake_cli):
    fake_cli.script(token=[{"rc": 1, "stderr": REFRESH_INVALID}],
                    login=[{"stderr": "Profile %s was successfully saved\n" % PROFILE,
                            "then": {"token": [{"stdout": token_json(OTHER_TOKEN)}]}}])

    status, stdout, stderr = helper(BROWSER="/usr/bin/firefox")

    assert (status, stdout) == (0, OTHER_TOKEN + "\n")
    login = fake_cli.calls("login")
    assert len(login) == 1
    assert login[0]["argv"] == ["auth", "login", "--host", HOST, "--profile", PROFILE, "--timeout", "20s"]
    assert login[0]["env"]["BROWSER"] == "/usr/bin/firefox"
    assert "successfully saved" in stderr, "the CLI's own words go to stderr, never stdout"


def test_a_failed_login_names_the_command(helper, fake_cli):
    fake_cli.script(token=[{"rc": 1, "stderr": REFRESH_INVALID}],
                    login=[{"rc": 1, "stderr": "Error: context deadline exceeded\n"}])

    status, stdout, stderr = helper(DISPLAY=":0")

    assert status == 1 and stdout == ""
    assert "within 20 seconds" in stderr
    assert "databricks auth login --host %s --profile %s" % (HOST, PROFILE) in stderr


def test_a_login_that_hangs_is_cut_off(helper, fake_cli, monkeypatch):
    monkeypatch.setattr(dbcli, "KILL_GRACE_SECONDS", 1)
    helper.config["login_timeout"] = 1
    fake_cli.script(token=[{"rc": 1, "stderr": REFRESH_INVALID}], login=[{"sleep": 90}])

    started = time.monotonic()
    status, stdout, stderr = helper(DISPLAY=":0")

    # Generous on a loaded machine, and still far from the login's minute and a half.
    assert time.monotonic() - started < 45
    assert status == 1 and stdout == "" and "within 1 seconds" in stderr


def test_a_dead_refresh_token_behind_a_usable_token_serves_it_without_a_browser(helper, fake_cli):
    fake_cli.script(token=[{"stdout": token_json(minutes=10)}], force=[{"rc": 1, "stderr": REFRESH_INVALID}])

    status, stdout, stderr = helper()

    assert (status, stdout) == (0, TOKEN + "\n")
    assert "Log in again before then" in stderr and "--profile %s" % PROFILE in stderr


def test_a_dead_refresh_token_behind_a_usable_token_logs_in_with_a_browser(helper, fake_cli):
    fake_cli.script(token=[{"stdout": token_json(minutes=10)}], force=[{"rc": 1, "stderr": REFRESH_INVALID}],
                    login=[{"then": {"token": [{"stdout": token_json(OTHER_TOKEN, 60)}]}}])

    assert helper(WAYLAND_DISPLAY="wayland-0")[:2] == (0, OTHER_TOKEN + "\n")


def test_a_network_error_does_not_start_a_login(helper, fake_cli):
    fake_cli.script(token=[{"rc": 1, "stderr": TLS}])

    status, stdout, stderr = helper(BROWSER="/usr/bin/firefox")

    assert status == 1 and stdout == ""
    assert "SSL_CERT_FILE" in stderr
    assert fake_cli.calls("login") == []


def test_a_missing_cli_says_to_reinstall(helper, fake_cli):
    os.unlink(fake_cli.path)
    status, stdout, stderr = helper()
    assert status == 1 and stdout == "" and "not at %s" % fake_cli.path in stderr


def test_a_helper_waiting_for_anothers_login_uses_its_result(helper, fake_cli):
    """The lock holder logged in meanwhile: the waiter's re-check finds a token and no second login runs."""
    fake_cli.script(token=[{"rc": 1, "stderr": REFRESH_INVALID}, {"stdout": token_json(OTHER_TOKEN)}])

    assert helper(DISPLAY=":0")[:2] == (0, OTHER_TOKEN + "\n")
    assert fake_cli.calls("login") == []


# ---------------------------------------------------------------- a token the workspace rejects

def test_a_first_call_never_asks_the_workspace(helper, fake_cli):
    fake_cli.script(token=[{"stdout": token_json(minutes=50)}])

    assert helper() == (0, TOKEN + "\n", "")
    assert helper.verified == []


def test_a_repeat_of_a_rejected_token_is_refreshed_and_never_served_again(helper, fake_cli):
    fake_cli.script(token=[{"stdout": token_json(minutes=50)}] * 2, force=[{"stdout": token_json(OTHER_TOKEN, 60)}])
    helper()
    helper.verdict = True

    status, stdout, stderr = helper()

    assert (status, stdout) == (0, OTHER_TOKEN + "\n")
    assert "rejects the access token of profile %s (HTTP 401)" % PROFILE in stderr
    assert helper.verified == [(HOST, TOKEN)]
    assert len(fake_cli.calls("force")) == 1


def test_a_repeat_of_an_accepted_token_refreshes_nothing(helper, fake_cli):
    fake_cli.script(token=[{"stdout": token_json(minutes=50)}] * 2)
    helper()
    helper.verdict = False

    assert helper() == (0, TOKEN + "\n", "")
    assert helper.verified == [(HOST, TOKEN)] and fake_cli.calls("force") == []


def test_an_unreachable_workspace_does_not_stop_the_token(helper, fake_cli):
    fake_cli.script(token=[{"stdout": token_json(minutes=50)}] * 2)
    helper()
    helper.verdict = None

    assert helper() == (0, TOKEN + "\n", "")
    assert fake_cli.calls("force") == []


def test_a_call_long_after_the_last_one_is_not_a_retry(helper, fake_cli, monkeypatch):
    fake_cli.script(token=[{"stdout": token_json(minutes=50)}] * 2)
    helper()
    helper.verdict = True
    later = time.time() + dbcli.REPEAT_WINDOW_SECONDS + 1
    monkeypatch.setattr(dbcli.time, "time", lambda: later)

    assert helper() == (0, TOKEN + "\n", "")
    assert helper.verified == []


def test_a_caller_that_asks_for_verification_gets_a_rejected_token_replaced_on_its_first_call(helper, fake_cli):
    """The Gemini CLI launcher asks once per session, maybe hours after the last call: no repeat to go by."""
    fake_cli.script(token=[{"stdout": token_json(minutes=50)}] * 2, force=[{"stdout": token_json(OTHER_TOKEN, 60)}])
    helper.verdict = True

    status, stdout, stderr = helper(FMAPI_TOKEN_HELPER_VERIFY="1")

    assert (status, stdout) == (0, OTHER_TOKEN + "\n") and "(HTTP 401)" in stderr
    assert helper.verified == [(HOST, TOKEN)]
    helper.verdict = False
    assert helper(FMAPI_TOKEN_HELPER_VERIFY="1")[:2] == (0, TOKEN + "\n"), "an accepted token is served"
    assert helper.verified == [(HOST, TOKEN)] * 2 and len(fake_cli.calls("force")) == 1


def test_a_rejected_token_whose_refresh_fails_is_not_served_and_the_fix_is_named(helper, fake_cli):
    fake_cli.script(token=[{"stdout": token_json(minutes=50)}] * 2, force=[{"rc": 1, "stderr": REFRESH_INVALID}])
    helper()
    helper.verdict = True

    status, stdout, stderr = helper()

    assert status == 1 and stdout == ""
    assert "databricks auth login --host %s --profile %s" % (HOST, PROFILE) in stderr


def test_the_state_file_holds_no_token_and_only_its_owner_reads_it(helper, fake_cli):
    fake_cli.script(token=[{"stdout": token_json(minutes=50)}])
    helper()

    with open(helper.state_path, encoding="utf-8") as handle:
        text = handle.read()
    assert TOKEN not in text and json.loads(text)["fingerprint"] == dbcli.token_fingerprint(TOKEN)
    assert stat.S_IMODE(os.stat(helper.state_path).st_mode) == 0o600
