#!/usr/bin/env bash
# Run Modella's benchmarks. Usage: bash benchmarks/run.sh downloads [--quick] [--runs N]
# Installs the reference tools it needs from Debian's packages (nginx, curl, aria2) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-}
if [ "$what" != "downloads" ]; then
  echo "usage: bash benchmarks/run.sh downloads [--quick] [--runs N] [--skip-stall]" >&2
  exit 2
fi
shift

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v aria2c >/dev/null 2>&1 || missing+=(aria2)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "missing: ${missing[*]} — install them (Debian: apt-get install ${missing[*]}) and run again" >&2
    exit 1
  fi
  echo "installing from Debian's packages: ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "no .venv here: install Modella first (see README.md: bash scripts/test)" >&2
  exit 1
fi
exec .venv/bin/python benchmarks/downloads.py "$@"
