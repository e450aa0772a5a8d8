"""Sphinx configuration of the losskit documentation (``scripts/build_docs.sh`` builds it).

Offline by construction: MathJax is served from the build directory (``npm install mathjax@3``
there, see ``scripts/build_docs.sh``; ``LOSSKIT_MATHJAX`` names the ``es5`` folder), never from a
CDN, and there is no intersphinx. The API reference is generated at build time (``setup`` below)
from the names ``losskit.functional`` and ``losskit.nn`` import, one page per topic stem
(``_focal`` -> ``api/focal``), so a new loss appears on its topic's page and a new stem gets a page
of its own without an edit here. Importing this file does nothing else (pytest collects it).
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

import losskit  # noqa: E402  (after the path: the checkout's losskit, not an installed one)

project = "losskit"
author = "the losskit authors"
copyright = "2026, the losskit authors"
version = release = losskit.__version__  # the one version (src/losskit/__init__.py)

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_generated", "node_modules", "**/node_modules"]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# Every cross-reference must resolve; only names of other libraries (no intersphinx offline) are let through.
nitpicky = True
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(torch|numpy|np|pandas|pd|sklearn|jinja2|matplotlib|triton|transformers|typing|collections|enum|dataclasses|contextlib|os|pathlib|argparse|abc)(\..*)?",
    ),
    # private modules and classes (``losskit.functional._overlap``) are not part of the API: not documented
    (r"py:(mod|class|func|data)", r"losskit(\.\w+)*\._\w+(\..*)?"),
    (
        r"py:.*",
        r"(Tensor|ndarray|DataFrame|Module|Path|Callable|Iterable|Iterator|Sequence|Mapping|Any|Optional|Union|Literal|Self|TypeVar|ProcessGroup|DTensor|DataLoader|Dataset|optional|callable|array-like|dict|list|tuple|str|int|float|bool|None|object|type)",
    ),
]

autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # the signature shows the defaults; Args say the shapes and types
autodoc_preserve_defaults = True
autodoc_member_order = "bysource"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

html_theme = "alabaster"
html_title = f"losskit {release}"
html_static_path: list[str] = []
html_theme_options = {
    "description": "Losses for PyTorch, derived from their likelihoods",
    "fixed_sidebar": True,
    "page_width": "1180px",
    "sidebar_width": "240px",
}

# MathJax 3 from the build directory: copied beside the pages, loaded by a relative path.
# One self-contained file (every TeX extension, SVG output, no font files to fetch).
_mathjax = Path(os.environ.get("LOSSKIT_MATHJAX", ROOT / "build" / "mathjax" / "static"))
if not (_mathjax / "mathjax" / "tex-svg-full.js").is_file():
    raise RuntimeError(
        f"MathJax not found in {_mathjax}: build the docs with scripts/build_docs.sh "
        "(it installs MathJax 3 from npm into build/mathjax; no CDN is used)"
    )
html_static_path.append(str(_mathjax))  # -> _static/mathjax/tex-svg-full.js
mathjax_path = "mathjax/tex-svg-full.js"
mathjax3_config = {"tex": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]]}}

# --- The API reference, generated from what the packages import ------------------------------------

TOPICS = {  # stem -> (title, one line); a stem missing here gets a title made from its name
    "cross_entropy": (
        "Cross-entropy",
        "Categorical negative log-likelihood: cross_entropy, nll_loss, the chunked linear_cross_entropy.",
    ),
    "binary": ("Binary cross-entropy", "Bernoulli negative log-likelihood, from logits or from probabilities."),
    "focal": ("Focal and asymmetric losses", "The Bernoulli and Categorical NLLs reweighted by (1 - p_t)^gamma."),
    "poly": ("Poly-1", "Cross-entropy and focal losses plus the first polynomial term epsilon (1 - p_t)."),
    "segmentation": ("Segmentation (overlap)", "Dice, Jaccard, Tversky and focal Tversky losses."),
    "regression": ("Regression", "Gaussian, Laplace, Huber and Poisson negative log-likelihoods."),
    "margin": ("Margin and embedding losses", "Hinge, soft-margin, ranking and triplet losses (torch twins)."),
    "divergence": ("Divergences", "KL divergence, entropy and Jensen-Shannon divergence."),
    "class_weights": ("Class weights", "Class counts, inverse-frequency and class-balanced (Cui et al. 2019) weights."),
    "labels": ("Label smoothing", "The library's categorical and binary label-smoothing definitions as targets."),
    "combine": ("Combinations", "Weighted sums of losses that share one activation."),
    "base": ("Module base classes", "What every losskit module shares."),
}
ORDER = [
    "cross_entropy",
    "binary",
    "focal",
    "poly",
    "segmentation",
    "regression",
    "margin",
    "divergence",
    "class_weights",
    "labels",
    "combine",
    "base",
]


def _imports(package: Path) -> dict[str, list[str]]:
    """Stem -> public names, read from the ``from ._stem import a, b`` lines of ``package/__init__.py``."""
    tree = ast.parse((package / "__init__.py").read_text(encoding="utf-8"))
    out: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            stem = node.module.lstrip("_")
            out.setdefault(stem, []).extend(a.asname or a.name for a in node.names)
    return out


def _title(stem: str) -> tuple[str, str]:
    return TOPICS.get(stem, (stem.replace("_", " ").capitalize(), ""))


def write_api(out: Path) -> list[str]:
    """Write ``out/<stem>.rst`` for every topic (only files whose text changed), return the page names."""
    import losskit.functional as F
    import losskit.nn as N

    def public(package: Path, names: list[str]) -> dict[str, list[str]]:  # in the order of __all__
        return {s: sorted((n for n in got if n in names), key=names.index) for s, got in _imports(package).items()}

    functional = public(ROOT / "src/losskit/functional", list(F.__all__))
    modules = public(ROOT / "src/losskit/nn", list(N.__all__))
    stems = [s for s in ORDER if functional.get(s) or modules.get(s)]
    stems += sorted(s for s in {*functional, *modules} - set(stems) if functional.get(s) or modules.get(s))
    out.mkdir(parents=True, exist_ok=True)
    pages = []
    for stem in stems:
        title, line = _title(stem)
        name = stem.replace("_", "-")
        text = [title, "=" * len(title), ""]
        if line:
            text += [line, ""]
        if functional.get(stem):
            text += ["Functions (``losskit.functional``)", "-" * 35, "", ".. currentmodule:: losskit.functional", ""]
            for n in functional[stem]:
                obj = getattr(F, n)
                kind = "autoclass" if isinstance(obj, type) else "autofunction"
                text += [f".. {kind}:: {n}", ""]
        if modules.get(stem):
            text += [
                "Modules (``losskit.nn``, also at ``losskit.*``)",
                "-" * 47,
                "",
                ".. currentmodule:: losskit.nn",
                "",
            ]
            for n in modules[stem]:
                text += [f".. autoclass:: {n}", "   :members: forward" if stem != "base" else "   :members:", ""]
        path = out / f"{name}.rst"
        body = "\n".join(text)
        if not path.exists() or path.read_text(encoding="utf-8") != body:
            path.write_text(body, encoding="utf-8")
        pages.append(name)
    toc = [
        "Losses",
        "======",
        "",
        "One page per topic, named as the code's stems (``losskit.functional._focal`` and ``losskit.nn._focal``",
        "are on :doc:`focal`). Every function is also a module: :func:`losskit.functional.focal_loss` and",
        ":class:`losskit.nn.FocalLoss` (also ``losskit.FocalLoss``) give the same numbers.",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
        *(f"   {p}" for p in pages),
        "",
    ]
    index = out / "index.rst"
    if not index.exists() or index.read_text(encoding="utf-8") != "\n".join(toc):
        index.write_text("\n".join(toc), encoding="utf-8")
    for stale in out.glob("*.rst"):
        if stale.stem not in pages and stale.stem != "index":
            stale.unlink()
    return pages


def write_benchmarks(out: Path) -> None:
    """``out/benchmarks.md``: every committed result table of ``benchmarks/results/``, newest first."""
    parts = [
        "# Benchmark results",
        "",
        "Every table committed in `benchmarks/results/` (written by `benchmarks/bench_*.py`), newest first.",
        "",
    ]
    for md in sorted(
        (ROOT / "benchmarks" / "results").glob("*.md"), key=lambda p: (p.stem.rsplit("-", 3)[-3:], p.stem), reverse=True
    ):
        parts += [
            f"## `{md.name}`",
            "",
            "```{include} ../benchmarks/results/" + md.name,
            ":heading-offset: 2",
            "```",
            "",
        ]
    body = "\n".join(parts)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "benchmarks.md"
    if not path.exists() or path.read_text(encoding="utf-8") != body:
        path.write_text(body, encoding="utf-8")


def _public_name(app, env, node, contnode):
    """Resolve an unqualified ``:func:`precomputed``` written inside a stem module against the public
    namespaces (``losskit.functional``, ``losskit.nn``, ``losskit``), where autodoc documents it."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    name = target.rsplit(".", 1)[-1]
    for space in ("losskit.functional", "losskit.nn", "losskit.decision", "losskit"):
        module = sys.modules.get(space)
        if module is not None and name in getattr(module, "__all__", ()) and target != f"{space}.{name}":
            domain = env.get_domain("py")
            new = node.deepcopy()
            new["reftarget"] = f"{space}.{name}"
            found = domain.resolve_xref(
                env, node.get("refdoc", ""), app.builder, node["reftype"], f"{space}.{name}", new, contnode
            )
            if found is not None:
                return found
    return None


def setup(app):  # called by Sphinx only, before it reads the sources
    write_api(HERE / "api")
    write_benchmarks(HERE / "_generated")
    app.connect("missing-reference", _public_name)
    return {"parallel_read_safe": True}
