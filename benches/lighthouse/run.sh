#!/usr/bin/env bash
# Lighthouse's mobile profile (simulated slow 4G, mid-range phone: Lighthouse's defaults) against
# the demo's home page, an org page, the spontaneous form and the notice page. Prints performance,
# bytes transferred, LCP and accessibility per page; never fails. Not part of CI.
#
#   benches/lighthouse/run.sh                 # starts `mypay demo` (target/release, else target/debug)
#   benches/lighthouse/run.sh http://127.0.0.1:8080   # against a demo already running
#
# Needs node/npm (installs the pinned lighthouse of package.json into benches/lighthouse/node_modules,
# ignored by git) and chromium (CHROME_PATH, default /usr/bin/chromium).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CHROME_PATH="${CHROME_PATH:-/usr/bin/chromium}"

if [ ! -x "$here/node_modules/.bin/lighthouse" ]; then
  (cd "$here" && npm install --no-audit --no-fund --silent) || { echo "npm install failed"; exit 0; }
fi

work="$(mktemp -d)"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

base="${1:-}"
if [ -z "$base" ]; then
  bin="$root/target/release/mypay"
  [ -x "$bin" ] || bin="$root/target/debug/mypay"
  [ -x "$bin" ] || { echo "no mypay binary: cargo build --release first"; exit 0; }
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18181)"
  "$bin" --data-dir "$work/data" demo --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
  server=$!
  base="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "$base/healthz" && break
    sleep 0.2
  done
fi

pages=(
  "/"
  "/enti/c_esempio"
  "/spontaneo?codIpaEnte=c_esempio&codTipo=CONTRIBUTO_EVENTI"
  "/avviso"
)
reports=()
for i in "${!pages[@]}"; do
  out="$work/report-$i.json"
  # A fresh profile each run: a first visit, nothing cached.
  "$here/node_modules/.bin/lighthouse" "$base${pages[$i]}" --quiet --output=json --output-path="$out" \
    --only-categories=performance,accessibility \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu" >/dev/null 2>"$work/lh-$i.log" ||
    echo "lighthouse failed on ${pages[$i]}: $(tail -3 "$work/lh-$i.log")"
  reports+=("$out")
done
echo "Lighthouse $("$here/node_modules/.bin/lighthouse" --version), mobile profile, $base"
node "$here/report.mjs" "${reports[@]}"
exit 0
