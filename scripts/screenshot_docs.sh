#!/usr/bin/env bash
# Screenshots of the built site for the README and docs/img: a loss page and the migration guide.
# Run after scripts/build_docs.sh; needs Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
SITE="${1:-build/docs/html}"
PROFILE=$(mktemp -d)
trap 'rm -rf "$PROFILE"' EXIT
shot() {  # page, png, height
    chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
        --disable-sync --no-first-run --disable-quic --user-data-dir="$PROFILE" --hide-scrollbars \
        --virtual-time-budget=15000 --window-size=1280,"$3" --screenshot="$2" "file://$PWD/$SITE/$1" 2>/dev/null
    echo "wrote $2"
}
shot api/focal.html docs/img/docs-loss-page.png 1500
shot migrating.html docs/img/docs-migrating.png 1100
