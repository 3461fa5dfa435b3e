"""Helpers for namespace tests (importable as ``nshelpers``: pytest puts this folder on sys.path)."""

from __future__ import annotations

import json
import os
import shutil

import pytest


def need(tool: str) -> str:
    path = shutil.which(tool) or (f"/usr/sbin/{tool}" if os.path.exists(f"/usr/sbin/{tool}") else None)
    if path is None:
        pytest.skip(f"{tool} is not installed (apt-get install {tool}); CI installs it")
    return path


def record(name: str, **values: object) -> None:
    """Append a measurement to $PYVRRP_RESULTS (JSON lines) when set: the figures for closing notes and docs."""
    path = os.environ.get("PYVRRP_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"test": name, **values}) + "\n")
