#!/usr/bin/env bash
# Stops the Slurm that scripts/slurm-up.sh started from a state folder: slurmd, slurmctld, munged,
# each by the pid in its pid file (TERM, then KILL after 10 s), and cancels its jobs first.
#
#   scripts/slurm-down.sh [state folder]    (default $RNN_SLURM_DIR, else /tmp/rnn-slurm)
set -uo pipefail
STATE=${1:-${RNN_SLURM_DIR:-/tmp/rnn-slurm}}
if [ -f "$STATE/slurm.conf" ] && [ -f "$STATE/slurmctld.pid" ]; then
  SLURM_CONF="$STATE/slurm.conf" scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
fi
stop() {
  local file="$STATE/$1.pid" pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$file"
}
stop slurmd
stop slurmctld
stop munged
exit 0
