#!/usr/bin/env bash
# Build the documentation site offline into build/docs/html, or the folder given (warnings are errors).
# MathJax 3 comes from the npm registry into build/mathjax (once), and is served from the site itself.
set -euo pipefail
cd "$(dirname "$0")/.."
MATHJAX_VERSION=3.2.2
if [ ! -f build/mathjax/static/mathjax/tex-svg-full.js ]; then
    mkdir -p build/mathjax/static/mathjax
    npm install --silent --no-audit --no-fund --no-save --prefix build/mathjax "mathjax@${MATHJAX_VERSION}" >/dev/null
    cp build/mathjax/node_modules/mathjax/es5/tex-svg-full.js build/mathjax/static/mathjax/
fi
export LOSSKIT_MATHJAX="$PWD/build/mathjax/static"
OUT="${1:-build/docs/html}"
python -m sphinx -b html -W --keep-going -n -q -j auto docs "$OUT"
echo "docs built: $OUT/index.html"
