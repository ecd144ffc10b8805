"""A fleet of simulated laptops for the benchmark: one podman container running sshd on a loopback port, with one
local account per laptop (its own HOME and its own Databricks login), reached by the controller over SSH.

Why this shape: the controller then does for each laptop what it does for a real one (an SSH connection per host,
a remote temporary directory, the module shipped or piped, a Python on the other end, the laptop's own CLI login),
while 500 laptops still fit on one 2-core machine: 500 containers would measure podman, not Ansible.

The image is the Molecule image (tests/bin/build-image bookworm, debootstrap from this machine's apt mirror) plus
openssh-server, python3-venv and a venv of databricks-sdk installed from wheels downloaded on the host (the
container does not trust this machine's TLS interception, and needs no index). The real Databricks CLI and Claude
Code of the cache are bind-mounted read-only and linked into /usr/local/bin: the tools are installed, as in part 1.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.client
import json
import os
import secrets
import socket
import ssl
import subprocess
import time
import typing as t
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE_IMAGE = "localhost/fmapi-coding-agents-debian:bookworm"
IMAGE = "localhost/fmapi-bench-fleet"
PROFILE = "fmapi-claudecode-profile"
CLIENT_ID = "databricks-cli"
# What the CLI's U2M login uses as its callback; nothing listens: the code is read from the redirect.
REDIRECT_URI = "http://localhost:8020"
SDK_VENV = "/opt/fmapi-sdk"
PACKAGES = "openssh-server,python3-venv"


def sdk_requirements() -> t.List[str]:
    """databricks-sdk, jmespath and tomlkit at the versions tests/requirements.txt pins (the laptop's venv)."""
    wanted = ("databricks-sdk", "jmespath", "tomlkit")
    pins = []
    with open(os.path.join(ROOT, "tests", "requirements.txt"), encoding="utf-8") as handle:
        for line in handle:
            name = line.split("==", 1)[0].strip().lower()
            if name in wanted and "==" in line:
                pins.append(line.split("#", 1)[0].split(";", 1)[0].strip())
    return sorted(pins)


def run(command: t.Sequence[str], stdin: t.Optional[str] = None, timeout: int = 900, check: bool = True,
        env: t.Optional[t.Dict[str, str]] = None) -> subprocess.CompletedProcess:
    completed = subprocess.run(list(command), input=stdin, text=True, capture_output=True, timeout=timeout,
                               check=False, env=env)
    if check and completed.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s"
                           % (" ".join(command[:4]), completed.returncode, (completed.stderr or completed.stdout)[-3000:]))
    return completed


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def user_name(number: int) -> str:
    return "laptop%03d" % number


def inventory(size: int, port: int, key_file: str) -> str:
    """The INI inventory of ``size`` laptops: each a local account of the container, over SSH to 127.0.0.1:port."""
    lines = ["[laptops]"]
    for number in range(1, size + 1):
        lines.append("%s ansible_host=127.0.0.1 ansible_port=%d ansible_user=%s" % (user_name(number), port,
                                                                                    user_name(number)))
    lines += ["", "[laptops:vars]", "ansible_ssh_private_key_file=%s" % key_file,
              "ansible_python_interpreter=/usr/bin/python3",
              "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR'",
              ""]
    return "\n".join(lines)


class Fleet:
    """The container, its accounts, their logins and the inventory."""

    def __init__(self, work: str, double, cache: str, log=print):
        self.work = os.path.join(work, "fleet")
        self.double = double
        self.cache = cache
        self.log = log
        self.port = 0
        self.size = 0
        self.container = "fmapi-bench-fleet-%d" % os.getpid()
        self.key_file = os.path.join(self.work, "id_ed25519")
        self.logins = os.path.join(self.work, "logins")
        os.makedirs(self.logins, exist_ok=True)

    # ------------------------------------------------------------------ image
    def wheels(self) -> str:
        """The SDK venv's wheels, downloaded once on the host (pip trusts this machine's CA; the container need not)."""
        pins = sdk_requirements()
        digest = hashlib.sha256("\n".join(pins).encode()).hexdigest()[:12]
        directory = os.path.join(self.cache, "bench", "wheels-" + digest)
        if not os.path.isfile(os.path.join(directory, ".complete")):
            os.makedirs(directory, exist_ok=True)
            self.log("downloading %s into %s" % (", ".join(pins), directory))
            run(["python3", "-m", "pip", "download", "-q", "--disable-pip-version-check", "--only-binary=:all:",
                 "-d", directory] + pins)
            open(os.path.join(directory, ".complete"), "w", encoding="utf-8").close()
        return directory

    def image(self) -> str:
        """localhost/fmapi-bench-fleet:<recipe>, built on the Molecule image when missing."""
        run([os.path.join(ROOT, "tests", "bin", "build-image"), "bookworm"], timeout=1800)
        base_id = run(["podman", "image", "inspect", "--format", "{{.Id}}", BASE_IMAGE]).stdout.strip()
        pins = sdk_requirements()
        recipe = hashlib.sha256(("%s|%s|%s" % (base_id, PACKAGES, ",".join(pins))).encode()).hexdigest()[:12]
        image = "%s:%s" % (IMAGE, recipe)
        if run(["podman", "image", "exists", image], check=False).returncode == 0:
            return image
        wheels = self.wheels()
        builder = "fmapi-bench-build-%d" % os.getpid()
        self.log("building %s from %s (apt from the image's mirror, about a minute)" % (image, BASE_IMAGE))
        script = ("set -e; apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                  "--no-install-recommends %s >/dev/null; python3 -m venv %s; %s/bin/pip install -q "
                  "--disable-pip-version-check --no-index --find-links /wheels %s; rm -rf /var/lib/apt/lists/*; "
                  "ln -sf /opt/tools/databricks /usr/local/bin/databricks; ln -sf /opt/tools/claude /usr/local/bin/claude; "
                  "mkdir -p /run/sshd") % (PACKAGES.replace(",", " "), SDK_VENV, SDK_VENV, " ".join(pins))
        try:
            run(["podman", "run", "--name", builder, "--network", "host", "-v", wheels + ":/wheels:ro", BASE_IMAGE,
                 "bash", "-c", script], timeout=1800)
            run(["podman", "commit", "-q", "--change", "CMD [\"sleep\", \"infinity\"]", builder, image])
        finally:
            run(["podman", "rm", "-f", builder], check=False)
        return image

    # -------------------------------------------------------------- container
    def start(self, size: int) -> None:
        """The container with sshd on a free loopback port and ``size`` accounts, each logged in."""
        image = self.image()
        if not os.path.exists(self.key_file):
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.key_file])
        with open(self.key_file + ".pub", encoding="utf-8") as handle:
            public = handle.read()
        with open(os.path.join(self.work, "authorized_keys"), "w", encoding="utf-8") as handle:
            handle.write(public)
        with open(self.double.ca_file, encoding="utf-8") as handle, \
                open(os.path.join(self.work, "double-ca.crt"), "w", encoding="utf-8") as out:
            out.write(handle.read())
        self.port = free_port()
        with open(os.path.join(self.work, "sshd_config"), "w", encoding="utf-8") as handle:
            handle.write("\n".join([
                "Port %d" % self.port, "ListenAddress 127.0.0.1", "HostKey /etc/ssh/ssh_host_ed25519_key",
                "PermitRootLogin no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes", "AuthorizedKeysFile /bench/authorized_keys", "StrictModes no",
                "UsePAM no", "UseDNS no", "PrintMotd no", "PrintLastLog no",
                # Many forks connect at once: the default (10:30:100) would drop connections.
                "MaxStartups 1000:30:1000", "MaxSessions 200", "LogLevel ERROR",
                "Subsystem sftp /usr/lib/openssh/sftp-server", ""]))
        run(["podman", "rm", "-f", self.container], check=False)
        run(["podman", "run", "-d", "--name", self.container, "--network", "host", "--pids-limit", "-1",
             "-v", os.environ["FMAPI_DATABRICKS_CLI"] + ":/opt/tools/databricks:ro",
             "-v", os.environ["FMAPI_CLAUDE"] + ":/opt/tools/claude:ro",
             "-v", self.work + ":/bench:ro", image, "sleep", "infinity"])
        self.exec("set -e; cp /bench/double-ca.crt /usr/local/share/ca-certificates/fmapi-double.crt; "
                  "update-ca-certificates >/dev/null 2>&1; test -f /etc/ssh/ssh_host_ed25519_key || ssh-keygen -A; "
                  "mkdir -p /run/sshd; /usr/sbin/sshd -f /bench/sshd_config")
        self.add_users(size)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.ssh(1, "true", check=False).returncode == 0:
                return
            time.sleep(0.5)
        raise RuntimeError("sshd in %s does not answer on port %d" % (self.container, self.port))

    def exec(self, script: str, timeout: int = 900) -> subprocess.CompletedProcess:
        return run(["podman", "exec", "-i", self.container, "bash", "-s"], stdin=script, timeout=timeout)

    def ssh(self, number: int, command: str, check: bool = True) -> subprocess.CompletedProcess:
        return run(["ssh", "-i", self.key_file, "-p", str(self.port), "-o", "StrictHostKeyChecking=no",
                    "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
                    "%s@127.0.0.1" % user_name(number), command], check=check, timeout=60)

    def add_users(self, size: int) -> None:
        """Accounts laptop001..laptop<size> (more are added as a bigger fleet needs them), each logged in."""
        if size <= self.size:
            return
        started = time.monotonic()
        for number in range(self.size + 1, size + 1):
            self.login(number)
        self.exec("set -e; for i in $(seq %d %d); do u=$(printf 'laptop%%03d' $i); "
                  "useradd -M -p '*' -s /bin/bash $u; done" % (self.size + 1, size))
        self.log("fleet: %d accounts with their own logins in %.0f s" % (size - self.size, time.monotonic() - started))
        self.size = size

    def reset_homes(self, size: int) -> None:
        """Fresh HOMEs for laptop001..laptop<size>: the tools installed, the SDK venv there, logged in, nothing
        configured. The venv is a link to the image's (the same on every laptop, built once)."""
        self.add_users(size)
        self.exec("set -e; for i in $(seq 1 %d); do u=$(printf 'laptop%%03d' $i); h=/home/$u; rm -rf $h; "
                  "mkdir -p $h/.local/share/fmapi-coding-agents $h/.databricks; cp -a /etc/skel/. $h/; "
                  "ln -s %s $h/.local/share/fmapi-coding-agents/venv; cp /bench/logins/$u/databrickscfg $h/.databrickscfg; "
                  "cp /bench/logins/$u/token-cache.json $h/.databricks/token-cache.json; "
                  "chmod 600 $h/.databrickscfg $h/.databricks/token-cache.json; chmod 700 $h/.databricks; "
                  "chown -R $u:$u $h; done" % (size, SDK_VENV), timeout=1800)

    def clone_homes(self, size: int, source: int = 1) -> None:
        """HOMEs for laptop<source+1>..laptop<size> configured as laptop<source>'s is, without running the setup on
        each: its HOME copied, its user name replaced in every text file, then the user's own login put back. The
        re-run that follows must change nothing on any of them (asserted), which checks the copies."""
        self.add_users(size)
        old = user_name(source)
        self.exec("set -e; for i in $(seq %d %d); do u=$(printf 'laptop%%03d' $i); h=/home/$u; rm -rf $h; "
                  "cp -a /home/%s $h; grep -rlI --exclude-dir=venv %s $h | xargs -r sed -i \"s/%s/$u/g\"; "
                  "cp /bench/logins/$u/databrickscfg $h/.databrickscfg; "
                  "cp /bench/logins/$u/token-cache.json $h/.databricks/token-cache.json; "
                  "chown -R $u:$u $h; done" % (source + 1, size, old, old, old), timeout=3600)

    def cpu_seconds(self) -> t.Optional[float]:
        """CPU time the container (every laptop) has used so far, from its cgroup; None where it cannot be read."""
        try:
            pid = run(["podman", "inspect", "--format", "{{.State.Pid}}", self.container]).stdout.strip()
            with open("/proc/%s/cgroup" % pid, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
            for line in lines:
                _number, controllers, path = line.split(":", 2)
                if "cpuacct" in controllers.split(","):
                    with open("/sys/fs/cgroup/cpuacct%s/cpuacct.usage" % path, encoding="utf-8") as usage:
                        return int(usage.read()) / 1e9
                if controllers == "":
                    with open("/sys/fs/cgroup%s/cpu.stat" % path, encoding="utf-8") as stat:
                        for entry in stat:
                            if entry.startswith("usage_usec"):
                                return int(entry.split()[1]) / 1e6
        except (OSError, ValueError, RuntimeError):
            return None
        return None

    def stop(self) -> None:
        run(["podman", "rm", "-f", "-t", "2", self.container], check=False, timeout=120)

    def write_inventory(self, size: int) -> str:
        path = os.path.join(self.work, "inventory-%d.ini" % size)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(inventory(size, self.port, self.key_file))
        return path

    # ------------------------------------------------------------------ login
    def login(self, number: int) -> None:
        """The user's own Databricks login: the CLI's OAuth U2M flow (authorize with PKCE, the code from the redirect,
        the token exchange) done in Python against the double, written where and how the CLI keeps it (the profile
        in ~/.databrickscfg, the tokens in ~/.databricks/token-cache.json under the profile and the host)."""
        url = self.double.url
        parts = urlsplit(url)
        context = ssl.create_default_context(cafile=self.double.ca_file)

        def request(method: str, path: str, body: t.Optional[str] = None) -> t.Tuple[int, t.Dict[str, str], bytes]:
            connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=30, context=context)
            try:
                headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                return response.status, dict(response.getheaders()), response.read()
            finally:
                connection.close()

        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state = secrets.token_urlsafe(16)
        status, headers, _body = request("GET", "/oidc/v1/authorize?" + urlencode({
            "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code",
            "scope": "offline_access all-apis", "code_challenge": challenge, "code_challenge_method": "S256",
            "state": state}))
        location = headers.get("Location") or headers.get("location") or ""
        query = parse_qs(urlsplit(location).query)
        if status != 302 or query.get("state") != [state] or "code" not in query:
            raise RuntimeError("authorize for %s answered %d %s" % (user_name(number), status, location))
        status, _headers, body = request("POST", "/oidc/v1/token", urlencode({
            "grant_type": "authorization_code", "code": query["code"][0], "code_verifier": verifier,
            "redirect_uri": REDIRECT_URI, "client_id": CLIENT_ID}))
        if status != 200:
            raise RuntimeError("token exchange for %s answered %d: %s" % (user_name(number), status, body[:300]))
        tokens = json.loads(body)
        _status, _headers, body = request("GET", "/.well-known/databricks-config")
        metadata = json.loads(body)
        expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=int(tokens["expires_in"]))
        entry = {"access_token": tokens["access_token"], "token_type": tokens.get("token_type", "Bearer"),
                 "refresh_token": tokens["refresh_token"], "expiry": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "expires_in": int(tokens["expires_in"])}
        directory = os.path.join(self.logins, user_name(number))
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "token-cache.json"), "w", encoding="utf-8") as handle:
            json.dump({"version": 1, "tokens": {PROFILE: entry, url: entry}}, handle, indent=2)
        with open(os.path.join(directory, "databrickscfg"), "w", encoding="utf-8") as handle:
            handle.write("[%s]\nhost         = %s\nauth_type    = databricks-cli\naccount_id   = %s\n"
                         "workspace_id = %s\n" % (PROFILE, url, metadata.get("account_id", ""),
                                                  metadata.get("workspace_id", "")))
