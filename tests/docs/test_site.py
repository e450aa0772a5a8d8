"""The documentation site: it builds offline with warnings as errors, documents every public name,
serves MathJax itself, and a loss page renders its formulas and example in headless Chromium.

The site is built once per session into a temporary folder with ``scripts/build_docs.sh`` (Sphinx,
MathJax from npm into ``build/mathjax``), or taken from ``LOSSKIT_DOCS_HTML`` when CI has just built
it. Without Sphinx (the ``docs`` extra) or without MathJax and npm the tests skip; without Chromium
only the browser test skips.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    given = os.environ.get("LOSSKIT_DOCS_HTML")
    if given:
        path = Path(given).resolve()
        assert (path / "index.html").is_file(), f"LOSSKIT_DOCS_HTML={given} holds no built site"
        return path
    for module in ("sphinx", "myst_parser"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (pip install -e '.[docs]')")
    if not (ROOT / "build/mathjax/static/mathjax/tex-svg-full.js").is_file() and shutil.which("npm") is None:
        pytest.skip("MathJax is not in build/mathjax and npm is not installed to fetch it")
    out = tmp_path_factory.mktemp("site") / "html"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(
        ["bash", str(ROOT / "scripts/build_docs.sh"), str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, f"the docs build failed (warnings are errors):\n{run.stdout}\n{run.stderr}"
    return out


def _pages(site: Path, folder: str) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted((site / folder).glob("*.html")))


def test_every_public_function_and_module_has_an_entry(site):
    import losskit.functional as F
    import losskit.nn as N

    api = _pages(site, "api")
    missing = [f"losskit.functional.{n}" for n in F.__all__ if f'id="losskit.functional.{n}"' not in api]
    missing += [f"losskit.nn.{n}" for n in N.__all__ if f'id="losskit.nn.{n}"' not in api]
    assert not missing, f"public names without an API entry: {missing}"


def test_every_guide_page_is_built(site):
    for page in (
        "index",
        "install",
        "derivations",
        "migrating",
        "workbench",
        "gpu",
        "distributed",
        "benchmarks",
        "changelog",
        "reference/decision",
        "reference/distributed",
        "reference/workbench",
        "reference/compat",
    ):
        assert (site / f"{page}.html").is_file(), f"{page}.html was not built"
    workbench = (site / "workbench.html").read_text(encoding="utf-8")
    assert re.search(r'<img[^>]+src="_images/report[^"]*\.png"', workbench), "the workbench guide shows no report"
    bench = (site / "benchmarks.html").read_text(encoding="utf-8")
    for md in (ROOT / "benchmarks/results").glob("*.md"):
        assert md.name in bench, f"benchmarks page lacks {md.name}"


def test_the_site_loads_nothing_from_the_network(site):
    for page in [site / "index.html", *sorted((site / "api").glob("*.html"))]:
        text = page.read_text(encoding="utf-8")
        remote = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="((?:https?:)?//[^"]+)"', text)
        assert not remote, f"{page.name} loads {remote}"
        if 'class="math' in text:  # a page with formulas
            assert 'src="../_static/mathjax/tex-svg-full.js' in text, f"{page.name} does not load the local MathJax"
    assert (site / "_static/mathjax/tex-svg-full.js").stat().st_size > 100_000


def test_the_version_shown_is_the_package_version(site):
    import losskit

    assert f"losskit {losskit.__version__}" in (site / "index.html").read_text(encoding="utf-8")


def test_a_loss_page_renders_its_formulas_and_example_in_chromium(site, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        pytest.skip("chromium is not installed")
    page = site / "api" / "focal.html"
    run = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = run.stdout
    assert "<html" in dom, f"chromium printed no page: {run.stderr[-2000:]}"
    # MathJax replaced the TeX with its output elements (SVG), and none of them is an error box.
    rendered = dom.count("<mjx-container")
    assert rendered >= 10, f"{rendered} formulas rendered on the focal page"
    assert "data-mjx-error" not in dom and "<mjx-merror" not in dom
    assert "\\(" not in re.sub(r"<(script|pre|code)[\s\S]*?</\1>", "", dom), "TeX left unrendered"
    # The runnable example is shown, with its input and its printed result.
    text = html.unescape(re.sub(r"<[^>]+>", "", dom))
    assert re.search(r">>> .*\bsigmoid_focal_loss\(", text), "the example of sigmoid_focal_loss is not shown"
    assert re.search(r"\n\s*tensor\(|\n\s*0\.\d+", text), "the example's printed result is not shown"
    assert "Likelihood view" in text and "References" in text
