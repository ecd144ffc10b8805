"""Beyond one controller: the examples under docs/awx (an AWX / Automation Platform site repository and
execution environment) and docs/ansible-pull (the schedules that run ansible-pull on each laptop), tried
as far as this machine allows.

- The execution environment definition goes through ``ansible-builder create`` (ansible-builder from
  PyPI, in a venv of the test's own), and the build context's galaxy and builder steps run here as the
  image build would run them: they install the collection from the tarball and find its Python and
  system requirements. Building the image itself needs the base image from a container registry, which
  this machine cannot reach.
- The inventory parses, the site playbooks select the laptops, and the AWX configuration playbook (awx.awx)
  passes a syntax check and names only what it creates.
- ansible-pull runs the site repository (a local git repository) on a laptop (a throwaway HOME), with the
  very command lines of the LaunchAgent and the systemd user service, against the workspace double.
"""

from __future__ import annotations

import configparser
import contextlib
import fcntl
import functools
import glob
import http.server
import json
import os
import plistlib
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time

import pytest
import yaml
from operations_support import Laptop

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AWX = os.path.join(ROOT, "docs", "awx")
PULL = os.path.join(ROOT, "docs", "ansible-pull")
EE_DEFINITION = os.path.join(AWX, "ee", "execution-environment.yml")
PLIST = os.path.join(PULL, "com.example.fmapi-ansible-pull.plist")
SERVICE = os.path.join(PULL, "fmapi-ansible-pull.service")
TIMER = os.path.join(PULL, "fmapi-ansible-pull.timer")
SITE_URL = "https://git.corp.example/platform/fmapi-site.git"
WORKSPACE = "https://my-workspace.cloud.databricks.com"
BUILDER_VERSION = "3.2.0"
# What pip says when it cannot reach the package index (then the test is skipped, not failed).
OFFLINE = ("NewConnectionError", "Temporary failure in name resolution", "Network is unreachable",
           "Connection refused", "Max retries exceeded", "(from versions: none)")


def run(command, timeout=600, **kwargs) -> subprocess.CompletedProcess:
    started = time.monotonic()
    completed = subprocess.run(command, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, timeout=timeout, check=False, **kwargs)
    # Shown by pytest when the test fails.
    print(f"$ {' '.join(str(part) for part in command)}  (exit {completed.returncode}, {time.monotonic() - started:.0f} s)\n"
          f"{completed.stdout[-15000:]}")
    return completed


def clean_env(home, **extra) -> dict:
    """This machine's environment without the development checkout on the collections path."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DATABRICKS_", "ANTHROPIC_", "ANSIBLE_COLLECTIONS_PATH"))}
    env.update(HOME=str(home), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", **extra)
    return env


def read_yaml(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def read_bytes(path):
    """A file's bytes, or None when it does not exist."""
    if not os.path.exists(path):
        return None
    with open(path, "rb") as handle:
        return handle.read()


@functools.lru_cache(maxsize=None)
def workspace_minimums() -> dict:
    """The minimum versions of the collection's Python requirements, from plugins/module_utils/_workspace.py."""
    with open(os.path.join(ROOT, "plugins", "module_utils", "_workspace.py"), encoding="utf-8") as handle:
        source = handle.read()
    found = dict(re.findall(r'^MIN_(SDK|JMESPATH|TOMLKIT)_VERSION = "([^"]+)"', source, re.M))
    return {"databricks-sdk": found["SDK"], "jmespath": found["JMESPATH"], "tomlkit": found["TOMLKIT"]}


@pytest.fixture(name="builder", scope="module")
def builder_fixture(tmp_path_factory) -> str:
    """The python of a venv with ansible-builder from PyPI, kept in the development cache between runs."""
    cache = os.environ.get("FMAPI_DEV_CACHE")
    base = cache if cache and os.path.isdir(cache) else str(tmp_path_factory.mktemp("builder"))
    venv = os.path.join(base, f"ansible-builder-{BUILDER_VERSION}")
    python = os.path.join(venv, "bin", "python")
    done = os.path.join(venv, ".installed")
    with open(os.path.join(base, ".ansible-builder.lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(done):
            shutil.rmtree(venv, ignore_errors=True)
            assert run([sys.executable, "-m", "venv", venv]).returncode == 0
            installed = run([python, "-m", "pip", "install", "--disable-pip-version-check", "-q",
                             f"ansible-builder=={BUILDER_VERSION}"])
            if installed.returncode != 0:
                shutil.rmtree(venv, ignore_errors=True)
                if any(sign in installed.stdout for sign in OFFLINE):
                    pytest.skip(f"ansible-builder {BUILDER_VERSION} cannot be installed: PyPI is not reachable")
                pytest.fail(f"pip could not install ansible-builder {BUILDER_VERSION}")
            open(done, "w", encoding="utf-8").close()
    return python


@pytest.fixture(name="tarball", scope="module")
def tarball_fixture(tmp_path_factory) -> str:
    """The collection built from this checkout with ansible-galaxy, as a team would publish it."""
    work = tmp_path_factory.mktemp("tarball")
    built = run(["ansible-galaxy", "collection", "build", ROOT, "--output-path", str(work)])
    assert built.returncode == 0
    tarballs = glob.glob(str(work / "fmapi-coding_agents-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    return tarballs[0]


@pytest.fixture(name="collections", scope="module")
def collections_fixture(tarball, tmp_path_factory) -> str:
    """A collections path holding only the tarball's collection (the one AWX installs from the site)."""
    work = tmp_path_factory.mktemp("collections")
    path = str(work / "collections")
    installed = run(["ansible-galaxy", "collection", "install", "--offline", "-p", path, tarball],
                    env=clean_env(work, ANSIBLE_COLLECTIONS_PATH=path))
    assert installed.returncode == 0
    return path


# --- the execution environment ---------------------------------------------------------------------


def test_execution_environment_context_installs_the_collection_and_its_requirements(builder, tarball, tmp_path):
    definition = read_yaml(EE_DEFINITION)
    assert definition["version"] == 3
    name = os.path.basename(tarball)
    wanted = [entry["name"] for entry in definition["dependencies"]["galaxy"]["collections"]]
    assert wanted == [f"collections/{name}"], (
        f"docs/awx/ee/execution-environment.yml installs {wanted}; this checkout builds {name} (galaxy.yml's version)")

    ee_dir = tmp_path / "ee"
    ee_dir.mkdir()
    shutil.copy(EE_DEFINITION, ee_dir)
    shutil.copy(tarball, ee_dir)
    context = tmp_path / "context"
    created = run([builder, "-m", "ansible_builder", "create", "-f", str(ee_dir / "execution-environment.yml"),
                   "-c", str(context)])
    assert created.returncode == 0

    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    assert f'ARG EE_BASE_IMAGE="{definition["images"]["base_image"]["name"]}"' in containerfile
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"', containerfile, re.M).group(1).split()
    core = [ref for ref in refs if ref.startswith("ansible-core")]
    assert len(core) == 1 and any(ref.startswith("ansible-runner") for ref in refs), refs
    # The supported range: the oldest ansible-core of meta/runtime.yml up to the newest the tests run.
    specifier = core[0][len("ansible-core"):]
    oldest = read_yaml(os.path.join(ROOT, "meta", "runtime.yml"))["requires_ansible"].lstrip(">=")
    with open(os.path.join(ROOT, "tests", "versions.env"), encoding="utf-8") as handle:
        newest = re.search(r"^NEWEST_ANSIBLE_CORE=(\S+)", handle.read(), re.M).group(1)
    checked = run([sys.executable, "-c", "import sys; from packaging.specifiers import SpecifierSet as S; "
                   "s = S(sys.argv[1]); sys.exit(0 if [v in s for v in sys.argv[2:]] == [True, True, False] else 1)",
                   specifier, oldest, newest, "2.18.99"])
    assert checked.returncode == 0, f"{core[0]} is not the supported range {oldest} .. {newest}"

    # The galaxy stage: the build context lands in /build and ansible-galaxy installs requirements.yml there.
    assert re.search(r"^COPY _build /build$", containerfile, re.M)
    assert re.search(r"^RUN .*ansible-galaxy collection install .*-r requirements\.yml", containerfile, re.M)
    build = context / "_build"
    assert (build / "collections" / name).is_file()
    assert read_yaml(build / "requirements.yml")["collections"] == definition["dependencies"]["galaxy"]["collections"]
    image_collections = tmp_path / "usr-share-ansible" / "collections"
    home = tmp_path / "home"
    home.mkdir()
    galaxy = run(["ansible-galaxy", "collection", "install", "-r", "requirements.yml",
                  "--collections-path", str(image_collections)],
                 cwd=str(build), env=clean_env(home, ANSIBLE_GALAXY_DISABLE_GPG_VERIFY="1"))
    assert galaxy.returncode == 0 and "fmapi.coding_agents" in galaxy.stdout
    assert (image_collections / "ansible_collections" / "fmapi" / "coding_agents" / "MANIFEST.json").is_file()

    # The builder stage: the context's introspect script reads the collection's meta/execution-environment.yml.
    assert "introspect.py introspect --write-bindep=/tmp/src/bindep.txt --write-pip=/tmp/src/requirements.txt" \
        in containerfile
    out = tmp_path / "out"
    introspected = run([builder, str(build / "scripts" / "introspect.py"), "introspect",
                        f"--write-pip={out}/requirements.txt", f"--write-bindep={out}/bindep.txt",
                        str(image_collections)])
    assert introspected.returncode == 0
    pip = {line.split("#")[0].strip() for line in (out / "requirements.txt").read_text(encoding="utf-8").splitlines()}
    assert pip == {f"{package}>={version}" for package, version in workspace_minimums().items()}, pip
    bindep = (out / "bindep.txt").read_text(encoding="utf-8")
    assert "openssh-clients [platform:rpm]" in bindep and "from collection fmapi.coding_agents" in bindep


# --- AWX: inventory, site playbooks, configuration as code ----------------------------------------------


def test_awx_inventory_gives_each_laptop_its_developer_and_the_setup_values(tmp_path):
    listed = run(["ansible-inventory", "-i", os.path.join(AWX, "inventory.yml"), "--list"], env=clean_env(tmp_path))
    assert listed.returncode == 0
    inventory = json.loads(listed.stdout[listed.stdout.index("{"):])
    laptops = inventory["laptops"]["hosts"]
    assert len(laptops) >= 2
    hostvars = inventory["_meta"]["hostvars"]
    users = {hostvars[laptop]["ansible_user"] for laptop in laptops}
    assert len(users) == len(laptops), "each laptop is reached as its own developer"
    for laptop in laptops:
        assert hostvars[laptop]["host"].startswith("https://")
        assert set(hostvars[laptop]["agents"]) <= {"claude_code", "codex", "gemini"}
    assert len({tuple(hostvars[laptop]["agents"]) for laptop in laptops}) > 1, "a laptop's own agents beat the group's"


@pytest.mark.parametrize("playbook, collection_playbook", [("setup.yml", "setup"), ("doctor.yml", "doctor")])
def test_site_playbooks_run_the_collection_on_the_laptops(collections, playbook, collection_playbook, tmp_path):
    env = clean_env(tmp_path, ANSIBLE_COLLECTIONS_PATH=collections)
    inventory = os.path.join(AWX, "inventory.yml")
    listed = run(["ansible-playbook", "-i", inventory, "--list-hosts", os.path.join(AWX, playbook)], env=env)
    assert listed.returncode == 0
    laptops = json.loads(run(["ansible-inventory", "-i", inventory, "--list"], env=env).stdout)["laptops"]["hosts"]
    hosts = re.findall(r"^ {6}(\S+)$", listed.stdout, re.M)
    assert sorted(hosts) == sorted(laptops), "the site playbook targets the laptops group, not localhost"
    assert read_yaml(os.path.join(AWX, playbook))[0]["ansible.builtin.import_playbook"] == \
        f"fmapi.coding_agents.{collection_playbook}"


def test_pull_playbooks_pass_a_syntax_check(collections, tmp_path):
    env = clean_env(tmp_path, ANSIBLE_COLLECTIONS_PATH=collections)
    checked = run(["ansible-playbook", "--syntax-check", os.path.join(AWX, "install-collections.yml"),
                   os.path.join(AWX, "local.yml")], env=env)
    assert checked.returncode == 0


def awx_tasks() -> dict:
    """The tasks of configure-awx.yml by module: {module: [arguments, ...]}."""
    tasks = {}
    for task in read_yaml(os.path.join(AWX, "configure-awx.yml"))[0]["tasks"]:
        module = next(key for key in task if key.startswith("awx.awx."))
        tasks.setdefault(module, []).append(task[module])
    return tasks


def test_awx_configuration_passes_a_syntax_check(tmp_path):
    env = clean_env(tmp_path)
    if run(["ansible-galaxy", "collection", "list", "awx.awx"], env=env).returncode != 0:
        pytest.skip("awx.awx is not installed (the `ansible` package from PyPI bundles it)")
    assert run(["ansible-playbook", "--syntax-check", os.path.join(AWX, "configure-awx.yml")], env=env).returncode == 0


def test_awx_configuration_names_only_what_it_creates_and_what_the_site_holds():
    tasks = awx_tasks()
    ees = {ee["name"] for ee in tasks["awx.awx.execution_environment"]}
    credentials = {credential["name"] for credential in tasks["awx.awx.credential"]}
    projects = {project["name"]: project for project in tasks["awx.awx.project"]}
    inventories = {inventory["name"] for inventory in tasks["awx.awx.inventory"]}
    templates = {template["name"]: template for template in tasks["awx.awx.job_template"]}
    for project in projects.values():
        assert project["default_environment"] in ees
    for source in tasks["awx.awx.inventory_source"]:
        assert source["source_project"] in projects and source["inventory"] in inventories
        assert os.path.isfile(os.path.join(AWX, source["source_path"])), source["source_path"]
    for template in templates.values():
        # AWX refuses a job template whose playbook is not a file of the project.
        assert os.path.isfile(os.path.join(AWX, template["playbook"])), template["playbook"]
        assert template["project"] in projects and template["inventory"] in inventories
        assert set(template["credentials"]) <= credentials and template["execution_environment"] in ees
    assert {template["playbook"] for template in templates.values()} >= {"setup.yml", "doctor.yml"}
    schedules = tasks["awx.awx.schedule"]
    assert [schedule["unified_job_template"] for schedule in schedules] == \
        [name for name, template in templates.items() if template["playbook"] == "setup.yml"]
    assert all(re.match(r"DTSTART[:;]\S+ RRULE:FREQ=", schedule["rrule"]) for schedule in schedules)


# --- ansible-pull: the schedules -------------------------------------------------------------------------


def launch_agent() -> dict:
    with open(PLIST, "rb") as handle:
        return plistlib.load(handle)


def unit(path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    parser.read(path, encoding="utf-8")
    return parser


def pull_arguments(command: str) -> list:
    """The arguments of the ansible-pull in a command line."""
    words = shlex.split(command)
    return words[words.index("ansible-pull") + 1:]


def test_schedules_run_ansible_pull_as_the_user_with_the_same_arguments(tmp_path):
    agent = launch_agent()
    assert agent["Label"] == os.path.basename(PLIST)[:-len(".plist")]
    assert agent["ProgramArguments"][:2] == ["/bin/sh", "-c"] and len(agent["ProgramArguments"]) == 3
    # Runs as the logged-in user: a LaunchAgent has no UserName (that would be a LaunchDaemon's).
    assert "UserName" not in agent and agent["RunAtLoad"] is True
    assert set(agent["StartCalendarInterval"]) <= {"Month", "Day", "Weekday", "Hour", "Minute"}
    macos = pull_arguments(agent["ProgramArguments"][2].split(">>")[0])

    service, timer = unit(SERVICE), unit(TIMER)
    assert service["Service"]["Type"] == "oneshot" and "User" not in service["Service"]
    assert timer["Install"]["WantedBy"] == "timers.target" and timer["Timer"]["OnCalendar"]
    linux = pull_arguments(service["Service"]["ExecStart"])

    # Both fetch the same repository and run the same playbooks (macOS sleeps at random: launchd cannot).
    def without(words, option):
        return words[:words.index(option)] + words[words.index(option) + 2:] if option in words else words

    assert without(without(macos, "--sleep"), "--directory") == without(linux, "--directory")
    assert macos[macos.index("--url") + 1] == SITE_URL
    assert macos[-2:] == ["install-collections.yml", "local.yml"]

    analyze = shutil.which("systemd-analyze")
    if analyze:
        runtime = tmp_path / "runtime"
        runtime.mkdir(mode=0o700)
        verified = run([analyze, "--user", "verify", SERVICE, TIMER], env=dict(os.environ, XDG_RUNTIME_DIR=str(runtime)))
        assert verified.returncode == 0 and not verified.stdout.strip(), "systemd-analyze verify has complaints"


# --- ansible-pull: a laptop pulls the site repository ---------------------------------------------------


@contextlib.contextmanager
def artifact_server(folder):
    """An artifact server on loopback (where a team keeps its collection tarballs), serving ``folder``."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def git(repo, *args) -> str:
    completed = run(["git", "-C", str(repo), *args])
    assert completed.returncode == 0
    return completed.stdout


class Site:
    """The site repository a team keeps (docs/awx, its workspace filled in), and laptops that pull it."""

    def __init__(self, repo, laptop: Laptop, artifacts_url: str, tarball: str):
        self.repo = repo
        self.laptop = laptop
        shutil.copytree(AWX, repo)
        requirements_path = os.path.join(repo, "collections", "requirements.yml")
        requirements = read_yaml(requirements_path)
        url = requirements["collections"][0]["name"]
        assert url.endswith("/" + os.path.basename(tarball)), (
            f"collections/requirements.yml installs {url}; this checkout builds {os.path.basename(tarball)}")
        requirements["collections"][0]["name"] = f"{artifacts_url}/{os.path.basename(tarball)}"
        self.write(requirements_path, requirements)
        # The team's workspace, and (as an air-gapped fleet would) the release mirror of the tools.
        self.edit_local_vars(host=laptop.url, claude_code_release_url=f"{laptop.url}/mirror/claude-code",
                             databricks_cli_release_url=f"{laptop.url}/mirror/databricks-cli")
        git(repo, "init", "-q", "-b", "main")
        self.commit("The site repository")

    @staticmethod
    def write(path, data) -> None:
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(data, handle, sort_keys=False)

    def edit_local_vars(self, **changes) -> None:
        path = os.path.join(self.repo, "local.yml")
        plays = read_yaml(path)
        assert plays[0]["vars"]["host"] in (WORKSPACE, self.laptop.url)
        plays[0]["vars"].update(changes)
        self.write(path, plays)

    def commit(self, message: str) -> None:
        git(self.repo, "add", "-A")
        git(self.repo, "-c", "user.name=Platform team", "-c", "user.email=platform@corp.example", "commit", "-q",
            "-m", message)

    @property
    def url(self) -> str:
        return "file://" + str(self.repo)

    @property
    def checkout(self) -> str:
        return os.path.join(self.laptop.home, ".ansible", "pull", "fmapi-site")

    def env(self) -> dict:
        """The developer's desktop session (a browser could open), with Ansible on PATH and no collection but
        what the site installs."""
        env = self.laptop.env(browser=True)
        env.pop("ANSIBLE_COLLECTIONS_PATH", None)
        return env

    def run(self, command) -> subprocess.CompletedProcess:
        return run(command, timeout=900, cwd=self.laptop.home, env=self.env())


def recap(output: str) -> dict:
    """{counter: total} over the PLAY RECAPs of a run (ansible-playbook prints one per playbook) of its one host."""
    totals = {}
    for block in output.split("PLAY RECAP")[1:]:
        lines = block.splitlines()[1:]
        hosts = lines[:lines.index("")] if "" in lines else lines
        assert len(hosts) == 1, hosts
        for key, value in re.findall(r"(\w+)=(\d+)", hosts[0]):
            totals[key] = totals.get(key, 0) + int(value)
    assert totals, "no PLAY RECAP"
    return totals


@pytest.fixture(name="pulled", scope="module")
def pulled_fixture(workspace_double_session, tarball, tmp_path_factory):
    """A laptop after its LaunchAgent's ansible-pull (the first run) and its systemd service's (the re-run)."""
    double = workspace_double_session
    double.state.reset()
    work = tmp_path_factory.mktemp("pull")
    artifacts = work / "artifacts"
    artifacts.mkdir()
    shutil.copy(tarball, artifacts)
    with artifact_server(artifacts) as artifacts_url:
        laptop = Laptop(str(work / "home" / "developer"), double, str(work))
        site = Site(work / "site", laptop, artifacts_url, tarball)

        script = launch_agent()["ProgramArguments"][2]
        assert SITE_URL in script and "--sleep 900 " in script
        first = site.run(["/bin/sh", "-c", script.replace(SITE_URL, site.url).replace("--sleep 900 ", "")])
        with open(os.path.join(laptop.home, "Library", "Logs", "fmapi-ansible-pull.log"), encoding="utf-8") as handle:
            first_log = handle.read()
        print(first_log[-15000:])
        settings_after_first = read_bytes(laptop.settings_path)

        exec_start = unit(SERVICE)["Service"]["ExecStart"]
        assert SITE_URL in exec_start and "%h" in exec_start
        second = site.run(shlex.split(exec_start.replace(SITE_URL, site.url).replace("%h", laptop.home)))
        yield site, first, first_log, settings_after_first, second


def test_launch_agent_pull_sets_up_claude_code_from_the_site_repository(pulled, tarball):
    site, first, log, _settings, _second = pulled
    assert first.returncode == 0, log[-6000:]
    assert recap(log)["failed"] == 0 and recap(log)["changed"] > 0
    # The collection came from the site's collections/requirements.yml, installed beside its playbooks.
    manifest = os.path.join(site.checkout, "collections", "ansible_collections", "fmapi", "coding_agents", "MANIFEST.json")
    with open(manifest, encoding="utf-8") as handle:
        version = json.load(handle)["collection_info"]["version"]
    assert os.path.basename(tarball) == f"fmapi-coding_agents-{version}.tar.gz"
    settings = site.laptop.read_settings()
    assert shlex.split(settings["apiKeyHelper"]) == [site.laptop.helper_path]
    assert settings["env"]["ANTHROPIC_BASE_URL"].startswith(site.laptop.url + "/")
    assert os.access(os.path.join(site.laptop.home, ".local", "bin", "claude"), os.X_OK)
    # A scheduled run opens no browser: the login waits for the developer (local.yml: databricks_cli_login false).
    assert "not logged in yet" in log
    assert not site.laptop.double.control.requests(path_prefix="/oidc/v1/authorize")


def test_systemd_pull_is_the_reinstall_and_changes_nothing(pulled):
    site, _first, _log, settings_after_first, second = pulled
    assert second.returncode == 0
    counts = recap(second.stdout)
    assert counts["failed"] == 0 and counts["changed"] == 0, counts
    assert read_bytes(site.laptop.settings_path) == settings_after_first


def test_only_if_changed_skips_an_unchanged_repository_and_runs_after_a_commit(pulled):
    site, _first, _log, settings_after_first, _second = pulled
    command = ["ansible-pull", "--url", site.url, "--directory", site.checkout, "--only-if-changed",
               "install-collections.yml", "local.yml"]
    unchanged = site.run(command)
    assert unchanged.returncode == 0
    assert "Repository has not changed, quitting" in unchanged.stdout and "PLAY RECAP" not in unchanged.stdout
    assert read_bytes(site.laptop.settings_path) == settings_after_first

    # The platform team changes the Sonnet model in the site repository: the next pull rolls it out.
    assert site.laptop.read_settings()["env"]["ANTHROPIC_DEFAULT_SONNET_MODEL"] != "databricks-claude-sonnet-4-5"
    site.edit_local_vars(sonnet="databricks-claude-sonnet-4-5")
    site.commit("Sonnet 4.5 for everyone")
    changed = site.run(command)
    assert changed.returncode == 0
    counts = recap(changed.stdout)
    assert counts["failed"] == 0 and counts["changed"] > 0, counts
    assert site.laptop.read_settings()["env"]["ANTHROPIC_DEFAULT_SONNET_MODEL"] == "databricks-claude-sonnet-4-5"
