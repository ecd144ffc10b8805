"""pytest fixtures for the workspace double.

Enable with ``pytest_plugins = ["workspace_double.pytest_plugin"]`` (done in
``tests/harness/conftest.py``) and ``tests/harness`` on ``PYTHONPATH``.

Fixtures
--------
``workspace_double_session``
    One double per test session (port 0, throwaway CA in a temp directory).
``workspace_double``
    The session double, reset before each test: initial scenario, no tokens,
    no faults, empty request log.  Attributes: ``url``, ``ca_file``,
    ``control`` (:class:`~workspace_double.control.DoubleClient`), ``state``
    (:class:`~workspace_double.state.DoubleState`), ``state_dir``.
    The marker ``@pytest.mark.workspace_double(**scenario)`` resets it with
    those scenario changes instead, e.g. ``workspace_double(ai_gateway=False)``
    for a workspace without AI Gateway v2 (register the marker by importing
    :func:`pytest_configure` into the conftest, as ``tests/harness/conftest.py`` does).
``databricks_cli``
    Path of the real Databricks CLI (``$FMAPI_DATABRICKS_CLI``, default
    ``/root/.cache/fmapi-dev/cli-build/databricks-1.12.1``); fails the test
    when it is missing.
``claude_cli``
    Path of the real Claude Code (``$FMAPI_CLAUDE``, else ``claude`` on PATH).
``codex_cli``, ``gemini_cli``
    Paths of the real Codex CLI (``$FMAPI_CODEX``, else ``codex`` on PATH) and
    Gemini CLI (``$FMAPI_GEMINI``, else ``gemini`` on PATH); tests/bin/bootstrap
    installs the pinned versions.
``fake_browser``
    Path of ``tests/harness/bin/fake-browser``.

:func:`isolated_env` builds a minimal environment (no ``DATABRICKS_*``,
``ANTHROPIC_*``, ``CLAUDE_*``, ``OPENAI_*``, ``CODEX_*``, ``GEMINI_*`` or
``GOOGLE_*`` leaking in from the developer's shell).
"""

from __future__ import annotations

import os
import shutil

import pytest

from .server import WorkspaceDouble

DEFAULT_DATABRICKS_CLI = "/root/.cache/fmapi-dev/cli-build/databricks-1.12.1"
HARNESS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAKE_BROWSER = os.path.join(HARNESS_DIR, "bin", "fake-browser")

_PASS_THROUGH = ("PATH", "LANG", "LC_ALL", "TMPDIR", "TERM", "USER", "LOGNAME")


def isolated_env(home: str, **extra: str) -> dict:
    """A minimal environment for running real tools against the double.

    Only a few harmless variables are inherited (``PATH``, locale, ``TMPDIR``,
    ...); ``HOME`` is replaced; ``extra`` is added.  Nothing named
    ``DATABRICKS_*``, ``ANTHROPIC_*``, ``CLAUDE_*``, ``CODEX_*``, ``GEMINI_*`` (...) is inherited.
    """
    env = {key: os.environ[key] for key in _PASS_THROUGH if key in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    env["HOME"] = str(home)
    env.update({key: str(value) for key, value in extra.items()})
    return env


@pytest.fixture(scope="session")
def workspace_double_session(tmp_path_factory):
    """A workspace double shared by the whole session.

    With ``FMAPI_MIRROR_DIR`` set (tests/bin/bootstrap sets it), it also serves the release mirror of
    the real tools under ``/mirror/``.
    """
    double = WorkspaceDouble(str(tmp_path_factory.mktemp("workspace-double")),
                             mirror_dir=os.environ.get("FMAPI_MIRROR_DIR") or None).start()
    try:
        yield double
    finally:
        double.stop()


MARKER = "workspace_double"


def pytest_configure(config) -> None:
    """Register the ``workspace_double`` marker."""
    config.addinivalue_line(
        "markers", f"{MARKER}(**scenario): reset the workspace double with these scenario changes "
                   "(e.g. ai_gateway=False) instead of the initial scenario")


@pytest.fixture
def workspace_double(workspace_double_session, request):  # pylint: disable=redefined-outer-name
    """The session's double, reset to its initial state (plus the marker's scenario changes) for this test."""
    marker = request.node.get_closest_marker(MARKER)
    workspace_double_session.state.reset(dict(marker.kwargs) if marker else None)
    return workspace_double_session


@pytest.fixture(scope="session")
def databricks_cli() -> str:
    """Path of the real Databricks CLI binary (test fails when absent)."""
    path = os.environ.get("FMAPI_DATABRICKS_CLI", DEFAULT_DATABRICKS_CLI)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"Databricks CLI not found at {path!r}: build it with "
            "`go install github.com/databricks/cli@v1.12.1` (or the project's setup script) "
            "or point FMAPI_DATABRICKS_CLI at the binary",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def claude_cli() -> str:
    """Path of the real Claude Code binary (test fails when absent)."""
    path = os.environ.get("FMAPI_CLAUDE") or shutil.which("claude")
    if not path or not os.access(path, os.X_OK):
        pytest.fail(
            "Claude Code not found: `npm install -g @anthropic-ai/claude-code` or set FMAPI_CLAUDE",
            pytrace=False,
        )
    return path


def _agent_binary(variable: str, name: str, install: str) -> str:
    path = os.environ.get(variable) or shutil.which(name)
    if not path or not os.access(path, os.X_OK):
        pytest.fail(f"{name} not found: run tests/bin/bootstrap ({install}) or set {variable}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def codex_cli() -> str:
    """Path of the real Codex CLI (test fails when absent)."""
    return _agent_binary("FMAPI_CODEX", "codex", "npm install @openai/codex")


@pytest.fixture(scope="session")
def gemini_cli() -> str:
    """Path of the real Gemini CLI (test fails when absent)."""
    return _agent_binary("FMAPI_GEMINI", "gemini", "npm install @google/gemini-cli")


@pytest.fixture(scope="session")
def fake_browser() -> str:
    """Path of the curl-based fake BROWSER script."""
    if shutil.which("curl") is None:
        pytest.fail("curl is needed by tests/harness/bin/fake-browser", pytrace=False)
    return FAKE_BROWSER
