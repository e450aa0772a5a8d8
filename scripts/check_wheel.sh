#!/usr/bin/env bash
# Build the sdist and the wheel, install the wheel (not editable) into a fresh virtual environment,
# and check what a user gets: the import, the bundled template and py.typed, `losskit --version`,
# and a `losskit compare --quick` run that writes its report.
set -euo pipefail
SECONDS=0
step() { echo "[${SECONDS}s] $*"; }
cd "$(dirname "$0")/.."
ROOT="$PWD"
WORK="${LOSSKIT_WHEEL_DIR:-$ROOT/build/wheel-check}"
rm -rf "$WORK" && mkdir -p "$WORK"
step "python -m build"
python -m build --outdir "$WORK/dist" . >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; exit 1; }
WHEEL=$(ls "$WORK"/dist/losskit-*.whl)
SDIST=$(ls "$WORK"/dist/losskit-*.tar.gz)
VERSION=$(python -c "import sys; sys.path.insert(0, 'src'); import ast, pathlib; t = ast.parse(pathlib.Path('src/losskit/__init__.py').read_text()); print(next(n.value.value for n in t.body if isinstance(n, ast.Assign) and n.targets[0].id == '__version__'))")
python - "$WHEEL" "$SDIST" "$VERSION" <<'PY'
import sys, tarfile, zipfile
wheel, sdist, version = sys.argv[1:]
assert f"losskit-{version}-" in wheel, (wheel, version)
names = set(zipfile.ZipFile(wheel).namelist())
for need in ("losskit/py.typed", "losskit/workbench/templates/report.html", "losskit/cli.py"):
    assert need in names, f"the wheel lacks {need}"
assert not any(n.startswith(("tests/", "docs/", "benchmarks/")) for n in names), "the wheel carries non-package files"
members = tarfile.open(sdist).getnames()
for need in ("src/losskit/workbench/templates/report.html", "CHANGELOG.md", "LICENSE", "README.md"):
    assert any(m.endswith(need) for m in members), f"the sdist lacks {need}"
print(f"wheel and sdist of losskit {version}: bundled files present")
PY
step "fresh virtual environment"
python3 -m venv "$WORK/venv"
PY="$WORK/venv/bin/python"
# torch first, pinned to the CPU build on disk (an unpinned torch pulls a multi-GB CUDA build).
"$PY" -m pip install -q torch==2.13.0
step "pip install the wheel with the workbench extra"
"$PY" -m pip install -q "$WHEEL[workbench]"
step "checks of the installed package"
cd "$WORK"   # away from the checkout: the installed package must be the one imported
"$PY" - "$VERSION" <<'PY'
import sys
from importlib import metadata, resources
import losskit
assert "site-packages" in losskit.__file__, losskit.__file__
assert losskit.__version__ == sys.argv[1] == metadata.version("losskit"), (losskit.__version__, metadata.version("losskit"))
assert resources.files("losskit.workbench").joinpath("templates/report.html").is_file()
assert resources.files("losskit").joinpath("py.typed").is_file()
print("installed:", losskit.__file__)
PY
test "$("$WORK/venv/bin/losskit" --version)" = "losskit $VERSION"
"$WORK/venv/bin/losskit" compare --help >/dev/null
step "losskit compare --quick"
"$WORK/venv/bin/losskit" compare --quick --no-progress --out "$WORK/report" | tail -2
test -s "$WORK/report/report.html" && test -s "$WORK/report/results.json" && test -s "$WORK/report/results.csv"
step "wheel check passed: losskit $VERSION"
