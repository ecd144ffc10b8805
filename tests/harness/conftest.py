"""pytest configuration of the test harness: the workspace double fixtures.

The fixtures are imported rather than listed in ``pytest_plugins`` because
pytest refuses ``pytest_plugins`` in a conftest below the rootdir when a
parent directory (e.g. ``pytest tests``) is collected.  Elsewhere, enable
them with ``-p workspace_double.pytest_plugin``.
"""

# pylint: disable=unused-import
from workspace_double.pytest_plugin import (  # noqa: F401
    claude_cli,
    codex_cli,
    databricks_cli,
    fake_browser,
    gemini_cli,
    pytest_configure,
    workspace_double,
    workspace_double_session,
)
