"""Packaging: the extras the README and the docs name exist, the version has one source, and the
files a wheel must carry are declared as package data. (``scripts/check_wheel.sh``, run by CI,
builds the wheel and installs it into a fresh virtual environment.)"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _named_extras(text: str) -> set[str]:
    """Extras in install lines: ``losskit[a,b]``, ``".[a,b]"``, ``whl[a]``."""
    found = set()
    for group in re.findall(r"(?:losskit|\.|\.whl|>)\[([A-Za-z0-9_,\- ]+)\]", text):
        found.update(e.strip() for e in group.split(",") if e.strip())
    return found


def test_every_extra_the_readme_and_docs_name_exists(project):
    extras = set(project["optional-dependencies"])
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / ".ci/run"]:
        named = _named_extras(path.read_text(encoding="utf-8"))
        unknown = named - extras
        assert not unknown, (
            f"{path.name} names extras {sorted(unknown)} that pyproject.toml lacks (has {sorted(extras)})"
        )
    assert _named_extras((ROOT / "README.md").read_text(encoding="utf-8")), "the README names no extra"


def test_the_extra_finder_sees_an_unknown_extra():
    assert _named_extras('pip install "losskit[workbench,gpu]" and pip install -e ".[test]"') == {
        "workbench",
        "gpu",
        "test",
    }


def test_user_extras_are_declared(project):
    extras = project["optional-dependencies"]
    for name in ("workbench", "triton", "all", "test", "docs"):
        assert name in extras, f"extra {name!r} is missing"
    assert any("workbench" in req and "triton" in req for req in extras["all"]), extras["all"]


def test_the_version_has_one_source(project):
    import losskit

    assert "version" not in project and project["dynamic"] == ["version"]
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert setuptools["dynamic"]["version"] == {"attr": "losskit.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.dev\d+)?", losskit.__version__)
    assert f"[Unreleased] ({losskit.__version__})" in (ROOT / "CHANGELOG.md").read_text(
        encoding="utf-8"
    ) or f"[{losskit.__version__}]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_bundled_files_are_package_data():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    patterns = data["losskit"]
    src = ROOT / "src" / "losskit"
    for path in src.rglob("*"):
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts:
            rel = path.relative_to(src).as_posix()
            assert any(Path(rel).match(p) for p in patterns), f"{rel} is in the package but not in package-data"
