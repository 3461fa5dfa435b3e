"""Test policy shared by every test.

* ``netns`` / ``interop`` tests need root: they are skipped with a reason when not root.
* In CI (``CI=true``) a skipped ``netns`` or ``interop`` test is a failure: the session fails and says which.
"""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
IS_ROOT = os.geteuid() == 0
_skipped_in_ci: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if IS_ROOT:
        return
    skip = pytest.mark.skip(reason="needs root for network namespaces (run as root; CI runs these)")
    for item in items:
        if item.get_closest_marker("netns") or item.get_closest_marker("interop"):
            item.add_marker(skip)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not IN_CI or not report.skipped:
        return
    kw = report.keywords
    if "netns" in kw or "interop" in kw:
        _skipped_in_ci.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped_in_ci:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    if _skipped_in_ci:
        terminalreporter.section("netns/interop tests skipped in CI (this is a failure)")
        for nodeid in _skipped_in_ci:
            terminalreporter.line(nodeid)


def require_tool(name: str) -> str:
    """Path of an external tool a test needs; skip (a failure in CI) with a clear reason when missing."""
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if not path:
        pytest.skip(f"{name} is not installed (apt-get install {name})")
    return path
