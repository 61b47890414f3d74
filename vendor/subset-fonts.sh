#!/usr/bin/env bash
# Subsets Bootstrap Italia's fonts (vendor/bootstrap-italia/fonts/, latin + latin-ext) to the
# characters Italian text uses, into web/bootstrap-italia/fonts/ (served and embedded). Run once
# after updating the vendored fonts; its output is committed. Needs fontTools and brotli from PyPI:
#   python3 -m venv /tmp/fontvenv && /tmp/fontvenv/bin/pip install fonttools==4.55.3 brotli==1.1.0
#   PYFTSUBSET=/tmp/fontvenv/bin/pyftsubset vendor/subset-fonts.sh
# Then `MYPAY_WRITE_ASSETS=1 cargo test --test it assets` writes the CSS that points at them.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pyftsubset="${PYFTSUBSET:-pyftsubset}"
# Basic Latin, Latin-1 (à è é ì ò ù, « », °, the no-break space), dashes, quotes, bullet, ellipsis,
# the euro sign, arrows, the minus sign. Names outside it (a Ł, a Ş) fall back to the system font.
unicodes="U+0020-007E,U+00A0-00FF,U+2013-2014,U+2018-201A,U+201C-201E,U+2022,U+2026,U+20AC,U+2190-2193,U+2212"
for src in "$root"/vendor/bootstrap-italia/fonts/*/*.woff2; do
  family="$(basename "$(dirname "$src")")"
  name="$(basename "$src" | sed 's/latin-ext_latin/it/')"
  mkdir -p "$root/web/bootstrap-italia/fonts/$family"
  "$pyftsubset" "$src" --unicodes="$unicodes" --flavor=woff2 --desubroutinize \
    --output-file="$root/web/bootstrap-italia/fonts/$family/$name"
done
for licence in "$root"/vendor/bootstrap-italia/fonts/*/*.txt; do
  cp "$licence" "$root/web/bootstrap-italia/fonts/$(basename "$(dirname "$licence")")/"
done
cp "$root/vendor/bootstrap-italia/LICENSE" "$root/web/bootstrap-italia/LICENSE"
ls -l "$root"/web/bootstrap-italia/fonts/*/
