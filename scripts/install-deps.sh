#!/usr/bin/env bash
# Installs the Debian packages raftbed needs, only those that are missing.
# Needs root (CI runs as root); otherwise it says what to install and fails.
set -euo pipefail

# command-or-file -> Debian package
declare -A need=(
  [dockerd]=docker.io
  [iptables]=iptables
  [redis-cli]=redis-tools
  [redis-benchmark]=redis-tools
  [chromium]=chromium
  [gcc]=gcc
  [nsenter]=util-linux
  [ip]=iproute2
  [curl]=curl
  [/usr/include/libnetfilter_queue/libnetfilter_queue.h]=libnetfilter-queue-dev
)

missing=()
for what in "${!need[@]}"; do
  if [[ $what == /* ]]; then
    [[ -e $what ]] && continue
  elif command -v "$what" >/dev/null 2>&1; then
    continue
  fi
  missing+=("${need[$what]}")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

if [[ $(id -u) -ne 0 ]]; then
  echo "raftbed needs these Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/raftbed-apt.log 2>&1 || {
  tail -n 30 /tmp/raftbed-apt.log >&2
  echo "apt-get install failed; full log in /tmp/raftbed-apt.log" >&2
  exit 1
}
