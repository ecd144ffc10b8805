"""Helpers for test_operations.py: a developer's laptop (a throwaway HOME on this machine) that
runs the collection's playbooks against the workspace double, and a reader for the reports the
playbooks print."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import select
import subprocess
import termios
import time
import typing as t
from urllib.parse import urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAKE_BROWSER = os.path.join(ROOT, "tests", "harness", "bin", "fake-browser")
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
PROFILE = "fmapi-claudecode-profile"
STATUSES = ("PASS", "FAIL", "WARN", "SKIP", "ACTIVE", "EXPIRED", "MISSING", "ERROR", "OK", "INFO", "UNKNOWN",
            "REMOVED")
# The setup reports on every agent; the other playbooks on Claude Code.
REPORT_TITLES = ("Claude Code x Databricks FMAPI", "Coding agents x Databricks FMAPI")


@dataclasses.dataclass
class Row:
    """One row of a printed dashboard."""

    section: str
    status: str
    label: str
    value: str
    hints: t.List[str]

    def __str__(self) -> str:
        return " | ".join([self.section, self.status, self.label, self.value] + self.hints)


@dataclasses.dataclass
class Run:
    """An ansible-playbook run: its exit status and everything it printed."""

    command: t.List[str]
    returncode: int
    output: str

    def report_lines(self) -> t.List[str]:
        """The lines of the last report the play printed (from its title to the end of the task)."""
        lines = self.output.splitlines()
        starts = [index for index, line in enumerate(lines) if line.startswith(REPORT_TITLES)]
        assert starts, "no report was printed:\n" + self.output[-6000:]
        report = []
        for line in lines[starts[-1]:]:
            if line.startswith(("ok: [", "fatal: [", "[ERROR]", "TASK [", "PLAY RECAP")):
                break
            report.append(line)
        return report

    def rows(self) -> t.List[Row]:
        """The dashboard rows of the last report, with the section each is in."""
        rows: t.List[Row] = []
        section = ""
        for line in self.report_lines()[1:]:
            if not line.strip():
                continue
            if not line.startswith(" "):
                section = line.strip()
                continue
            words = line.split()
            if words[0] in STATUSES:
                parts = line.strip()[len(words[0]):].strip().split("  ", 1)
                rows.append(Row(section, words[0], parts[0].strip(), parts[1].strip() if len(parts) > 1 else "", []))
            elif line.startswith("  ") and not line.startswith("   ") and words[0] != "fix:":
                # A row without a status (the status dashboard's setup values): label, then value.
                parts = line.strip().split("  ", 1)
                rows.append(Row(section, "", parts[0].strip(), parts[1].strip() if len(parts) > 1 else "", []))
            elif words[0] == "fix:" and rows:
                rows[-1].hints.append(line.strip()[len("fix:"):].strip())
            elif line.startswith(" " * 12) and rows and rows[-1].hints:
                rows[-1].hints.append(line.strip())
        return rows

    def row(self, section: str, label: str) -> Row:
        """The one row with this label in this section."""
        found = [row for row in self.rows() if row.section == section and row.label == label]
        assert len(found) == 1, "no single row %r in %r:\n%s" % (label, section, "\n".join(self.report_lines()))
        return found[0]

    def statuses(self, section: t.Optional[str] = None) -> t.Set[str]:
        return {row.status for row in self.rows() if section is None or row.section == section}

    def table(self) -> t.List[t.Tuple[bool, t.List[str]]]:
        """(marked, cells) of each table row of the last report."""
        rows = []
        for line in self.report_lines():
            if line.startswith("  > ") or (line.startswith("    ") and not line.strip().startswith(("-", "ENDPOINT"))):
                cells = line[4:].split()
                if cells:
                    rows.append((line.startswith("  > "), cells))
        return rows

    def __str__(self) -> str:
        return "$ %s  (exit %s)\n%s" % (" ".join(self.command), self.returncode, self.output[-12000:])


def agent_laptop(home: str, double, work_dir: str) -> "Laptop":
    """A laptop that already has the real Codex CLI and Gemini CLI of tests/bin/bootstrap on PATH (as many do):
    the roles use them and install nothing from the npm registry."""
    tools = os.path.join(work_dir, "tools")
    os.makedirs(tools)
    for name, variable in (("codex", "FMAPI_CODEX"), ("gemini", "FMAPI_GEMINI")):
        if not os.environ.get(variable):
            raise RuntimeError("%s is not set: source ~/.cache/fmapi-coding-agents/env.sh" % variable)
        os.symlink(os.environ[variable], os.path.join(tools, name))
    path = os.pathsep.join([os.path.join(home, ".local", "bin"), tools, os.environ.get("PATH", "")])
    return Laptop(home, double, work_dir, extra_env={"PATH": path, "TMPDIR": work_dir})


class Laptop:
    """A developer's account on this machine: its own HOME, trusting the workspace double's CA the
    way a laptop trusts a corporate TLS proxy (the system bundle plus that CA)."""

    def __init__(self, home: str, double, work_dir: str, extra_env: t.Optional[t.Dict[str, str]] = None):
        self.home = home
        self.double = double
        # More environment of this laptop's terminal (DATABRICKS_CONFIG_FILE, a proxy, ...).
        self.extra_env = dict(extra_env or {})
        self.trust_file = os.path.join(work_dir, "trust.pem")
        with open(SYSTEM_CA_BUNDLE, encoding="utf-8") as system, open(double.ca_file, encoding="utf-8") as double_ca:
            bundle = system.read() + "\n" + double_ca.read()
        with open(self.trust_file, "w", encoding="utf-8") as handle:
            handle.write(bundle)
        os.makedirs(home, exist_ok=True)

    @property
    def url(self) -> str:
        return self.double.url

    @property
    def settings_path(self) -> str:
        return os.path.join(self.home, ".claude", "settings.json")

    @property
    def helper_path(self) -> str:
        return os.path.join(self.home, ".local", "share", "fmapi-coding-agents", "fmapi-token-helper")

    def env(self, browser: bool, cwd: t.Optional[str] = None) -> t.Dict[str, str]:
        """The environment of a terminal on this laptop, in ``cwd`` (the home directory by default);
        ``browser`` says whether a login can open one."""
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("DATABRICKS_", "ANTHROPIC_", "CLAUDE_"))
               and key not in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY")}
        env.update({
            "HOME": self.home,
            "PWD": cwd or self.home,
            "PATH": os.path.join(self.home, ".local", "bin") + os.pathsep + os.environ.get("PATH", ""),
            "SSL_CERT_FILE": self.trust_file,
            "REQUESTS_CA_BUNDLE": self.trust_file,
            "NODE_EXTRA_CA_CERTS": self.trust_file,
            "FMAPI_DOUBLE_CA": self.double.ca_file,
            # No keyring on a headless machine: the CLI's documented plaintext token cache.
            "DATABRICKS_AUTH_STORAGE": "plaintext",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
        })
        if browser:
            env["BROWSER"] = FAKE_BROWSER
        env.update(self.extra_env)
        return env

    def play(self, playbook: str, *extra_vars: str, browser: bool = False, cwd: t.Optional[str] = None,
             timeout: int = 600, verbosity: int = 0) -> Run:
        """``ansible-playbook fmapi.coding_agents.<playbook> -e ...`` in ``cwd`` (the home directory by
        default), with no terminal; ``verbosity`` adds that many ``-v``."""
        command = ["ansible-playbook", "fmapi.coding_agents." + playbook] + (["-" + "v" * verbosity] if verbosity else [])
        for extra in extra_vars:
            command += ["-e", extra]
        completed = subprocess.run(command, cwd=cwd or self.home, env=self.env(browser, cwd), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                                   check=False)
        run = Run(command, completed.returncode, completed.stdout)
        # Shown by pytest when the test fails.
        print(run)
        return run

    def play_in_terminal(self, playbook: str, answer: str, *extra_vars: str, timeout: int = 300) -> Run:
        """The playbook in a terminal (a pseudo-terminal of its own), typing ``answer`` at its first
        ``[y/N]`` question."""
        command = ["ansible-playbook", "fmapi.coding_agents." + playbook]
        for extra in extra_vars:
            command += ["-e", extra]
        master, terminal = os.openpty()

        def become_terminal_session() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        # pylint: disable-next=subprocess-popen-preexec-fn
        process = subprocess.Popen(command, cwd=self.home, env=self.env(browser=False), stdin=terminal,
                                   stdout=terminal, stderr=terminal, preexec_fn=become_terminal_session)
        os.close(terminal)
        output, answered, deadline = b"", False, time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                ready = select.select([master], [], [], 1)[0]
                if ready:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:  # the terminal closes when the play ends
                        break
                    if not chunk:
                        break
                    output += chunk
                    continue
                if process.poll() is not None:
                    break
                # Typed after a second of quiet: Ansible discards what was typed before it asked.
                if not answered and b"[y/N]" in output:
                    os.write(master, answer.encode() + b"\r")
                    answered = True
            returncode = process.wait(timeout=max(1, deadline - time.monotonic()))
        finally:
            if process.poll() is None:
                process.kill()
            os.close(master)
        run = Run(command, returncode, output.decode("utf-8", "replace").replace("\r\n", "\n"))
        print(run)
        assert answered, "the playbook asked nothing"
        return run

    def setup(self, *extra_vars: str, host: t.Optional[str] = None) -> Run:
        """The setup playbook, with the tools from the double's release mirror."""
        return self.play("setup", "host=" + (host or self.url),
                         "claude_code_release_url=%s/mirror/claude-code" % self.url,
                         "databricks_cli_release_url=%s/mirror/databricks-cli" % self.url,
                         *extra_vars, browser=True)

    def login(self) -> None:
        """Log the profile in again with the real CLI and the fake browser (repairs an ended session)."""
        cli = os.path.join(self.home, ".local", "bin", "databricks")
        subprocess.run([cli, "auth", "login", "--host", self.url, "--profile", PROFILE, "--timeout", "60s"],
                       cwd=self.home, env=self.env(browser=True), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=90, check=True)

    def end_session(self) -> None:
        """The OAuth session ends: the workspace forgets every token, and time passes on the laptop.

        The CLI trusts its cached access token until the expiry it recorded, so the cache is aged
        as well, as if the laptop had been closed for a day.
        """
        self.double.control.expire_access_tokens()
        self.double.control.invalidate_refresh_tokens()
        cache_path = os.path.join(self.home, ".databricks", "token-cache.json")
        with open(cache_path, encoding="utf-8") as handle:
            cache = json.load(handle)
        for entry in cache["tokens"].values():
            entry["expiry"] = "2020-01-01T00:00:00Z"
        with open(cache_path, "w", encoding="utf-8") as handle:
            json.dump(cache, handle)

    def read_settings(self) -> t.Dict[str, t.Any]:
        with open(self.settings_path, encoding="utf-8") as handle:
            return json.load(handle)


@contextlib.contextmanager
def workspace_down(double) -> t.Iterator[None]:
    """The workspace stops answering (a laptop off the VPN); it comes back on the same port, with
    its tokens, afterwards."""
    port = urlsplit(double.url).port
    double.stop()
    try:
        yield
    finally:
        double.port = port
        double.start()
