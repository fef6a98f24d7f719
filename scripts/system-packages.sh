#!/usr/bin/env bash
# Debian packages the report needs beyond Python: headless Chromium (the PDF engine and the browser
# the report tests look through), a Chinese font (without one the PDF prints Chinese turns as empty
# boxes) and poppler-utils (pdftoppm/pdftotext/pdffonts, which the PDF tests use).
# Installs what is missing when it can (root or sudo); otherwise says what to install and goes on,
# and the tests that need them say so.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
command -v pdftoppm >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
[ -n "$(fc-list :lang=zh 2>/dev/null)" ] || missing+=(fonts-wqy-microhei)
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "exolab: install ${missing[*]} for the PDF report and its tests (no apt-get here)" >&2
  exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo=(sudo -n); else
    echo "exolab: install ${missing[*]} for the PDF report and its tests (apt-get needs root)" >&2
    exit 0
  fi
fi
echo "exolab: installing ${missing[*]} (Debian packages, first run only) ..." >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >/dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
