#!/usr/bin/env bash
# Makes sure a Docker engine answers on the local socket; starts dockerd when none does.
set -euo pipefail

sock=${DOCKER_SOCK:-/var/run/docker.sock}
ping() { curl -sf --max-time 3 --unix-socket "$sock" http://docker/_ping >/dev/null 2>&1; }

if ping; then
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "no Docker engine answers on $sock and dockerd is not installed." >&2
  echo "install one with: sudo apt-get install -y docker.io (or start Docker Desktop)" >&2
  exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "no Docker engine answers on $sock; start it with: sudo dockerd &" >&2
  exit 1
fi

log=/var/log/raftbed-dockerd.log
echo "starting dockerd (log: $log)"
setsid nohup dockerd >"$log" 2>&1 </dev/null &
for _ in $(seq 1 120); do
  if ping; then
    exit 0
  fi
  sleep 0.5
done
tail -n 20 "$log" >&2
echo "dockerd did not answer within 60 s; see $log" >&2
exit 1
