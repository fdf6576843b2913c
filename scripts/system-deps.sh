#!/usr/bin/env bash
# Best-effort install of the Debian packages codistill uses when present:
#   wordnet-base  WordNet 3.0, antonyms for the offline counterfactual editor
# plus any extra packages named as arguments (CI adds chromium for the report rendering test).
# Without them codistill still runs (the editor falls back to its packaged lexicons).
set -u
packages=(wordnet-base "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "note: not a Debian system; install ${missing[*]} (WordNet 3.0) yourself for better counterfactuals" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "note: run 'sudo apt-get install -y ${missing[*]}' for better counterfactuals" >&2
    exit 0
  fi
fi
$SUDO apt-get update -qq >/dev/null 2>&1 || true
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
  || echo "note: could not install ${missing[*]}; continuing without" >&2
exit 0
