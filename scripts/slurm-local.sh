#!/usr/bin/env bash
# A real one-node Slurm cluster on 127.0.0.1 for Regbench's Slurm tests and demos (Debian packages
# slurmctld slurmd slurm-client slurm-wlm-basic-plugins munge; run as root).
#
#   scripts/slurm-local.sh start [DIR]   start munged, slurmctld and slurmd with everything under DIR
#                                        (default: a new temporary folder); prints `export SLURM_CONF=...`
#   scripts/slurm-local.sh status [DIR]  the node's state, or "not running"
#   scripts/slurm-local.sh stop [DIR]    cancel every job, then stop the daemons by the pids it wrote
#
# Without DIR, the folder of the last `start` is read from $REGBENCH_SLURM_STATE (default
# ${TMPDIR:-/tmp}/regbench-slurm-local.state). `start` is idempotent: on a running cluster of the
# same DIR it only prints the exports. It refuses to start when something already answers on the
# controller port ($SLURM_LOCAL_PORT; default: the first free port from 6917 on).
# eval "$(scripts/slurm-local.sh start)" sets SLURM_CONF (and REGBENCH_SLURM_DIR) in the caller.
set -euo pipefail

STATE_FILE=${REGBENCH_SLURM_STATE:-${TMPDIR:-/tmp}/regbench-slurm-local.state}
DAEMONS=(slurmd slurmctld munged)

die() { echo "slurm-local: $*" >&2; exit 1; }
say() { echo "slurm-local: $*" >&2; }

# Something listens on 127.0.0.1:$1 (bash's /dev/tcp; no ss/netstat needed).
port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local p=$1
  while port_answers "$p"; do p=$((p + 1)); done
  echo "$p"
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { cat "$DIR/run/$1.pid" 2>/dev/null || true; }

resolve_dir() {
  if [ -n "${1:-}" ]; then
    DIR=$(realpath -m "$1")
  elif [ -f "$STATE_FILE" ]; then
    DIR=$(cat "$STATE_FILE")
  else
    DIR=""
  fi
}

print_exports() {
  echo "export SLURM_CONF=$DIR/etc/slurm.conf"
  echo "export REGBENCH_SLURM_DIR=$DIR"
}

all_running() {
  local d
  for d in "${DAEMONS[@]}"; do pid_alive "$(pid_of "$d")" || return 1; done
}

write_conf() {
  local ctld_port=$1 slurmd_port=$2 host node_line
  host=$(hostname -s)
  # The node's hardware as slurmd sees it (CPUs, sockets, cores, memory); the name is this host.
  node_line=$(slurmd -C | head -n 1)
  cat >"$DIR/etc/slurm.conf" <<EOF
# Written by scripts/slurm-local.sh: a one-node test cluster; everything lives under $DIR.
ClusterName=regbench
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket,cred_expire=10
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/slurmd-%n
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_interval=5,bf_interval=5
# A requeued job waits cred_expire seconds (AuthInfo above; default 120) and the next scheduling pass.
MinJobAge=3600
ReturnToService=2
MailProg=/bin/true
SlurmdTimeout=300
InactiveLimit=0
KillWait=5
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
# MaxTime + EnforcePartLimits: a longer --time is rejected at submission (the tests check that).
EnforcePartLimits=ALL
PartitionName=debug Nodes=$host Default=YES MaxTime=1-00:00:00 State=UP
EOF
}

start_munge() {
  mkdir -p "$DIR/munge" "$DIR/munge-key"
  chmod 0755 "$DIR/munge"
  chmod 0700 "$DIR/munge-key"
  [ -f "$DIR/munge-key/munge.key" ] || mungekey --create --keyfile="$DIR/munge-key/munge.key" >/dev/null
  chmod 0400 "$DIR/munge-key/munge.key"
  munged --force --socket="$DIR/munge/munge.socket" --key-file="$DIR/munge-key/munge.key" \
    --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge-key/munged.seed" \
    || die "munged did not start (see $DIR/log/munged.log)"
}

# Waits (up to $2 tenths of a second) for the shell condition $1.
wait_for() {
  local i
  for ((i = 0; i < $2; i++)); do
    if eval "$1"; then return 0; fi
    sleep 0.1
  done
  return 1
}

node_state() { SLURM_CONF="$DIR/etc/slurm.conf" timeout 5 sinfo -h -N -o '%T' 2>/dev/null | head -n 1; }

cmd_start() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
    || die "slurmctld, slurmd or munged not found (apt-get install slurmctld slurmd slurm-client slurm-wlm-basic-plugins munge)"
  [ "$(id -u)" = 0 ] || die "must run as root (the daemons run as root with SlurmUser=root)"
  if [ -n "$DIR" ] && all_running; then
    say "already running under $DIR"
    print_exports
    return 0
  fi
  if [ -n "$DIR" ] && [ -d "$DIR/run" ]; then stop_daemons; fi
  [ -n "$DIR" ] || DIR=$(mktemp -d "${TMPDIR:-/tmp}/regbench-slurm.XXXXXX")
  local ctld_port=${SLURM_LOCAL_PORT:-} slurmd_port
  if [ -n "$ctld_port" ]; then
    ! port_answers "$ctld_port" || die "another controller (or program) already answers on 127.0.0.1:$ctld_port; stop it or set SLURM_LOCAL_PORT"
  else
    ctld_port=$(free_port 6917)
  fi
  slurmd_port=$(free_port $((ctld_port + 1)))
  mkdir -p "$DIR"/{etc,state,spool,log,run}
  chmod 0755 "$DIR"
  write_conf "$ctld_port" "$slurmd_port"
  echo "$DIR" >"$STATE_FILE"
  start_munge
  wait_for "[ -S '$DIR/munge/munge.socket' ]" 50 || die "munged's socket did not appear"
  # -c: a fresh controller state each start; -i: ignore a stale state from an earlier cluster.
  slurmctld -c -i -f "$DIR/etc/slurm.conf" || die "slurmctld did not start (see $DIR/log/slurmctld.log)"
  wait_for "port_answers $ctld_port" 100 || die "slurmctld does not answer on port $ctld_port (see $DIR/log/slurmctld.log)"
  slurmd -f "$DIR/etc/slurm.conf" -N "$(hostname -s)" || die "slurmd did not start (see $DIR/log/slurmd.log)"
  wait_for '[ "$(node_state)" = idle ]' 150 || die "the node is not idle after 15 s: $(node_state) (see $DIR/log/)"
  wait_for all_running 20 || die "a daemon wrote no pid file under $DIR/run"
  say "cluster up under $DIR (controller 127.0.0.1:$ctld_port, $(grep -o 'CPUs=[0-9]*' "$DIR/etc/slurm.conf"))"
  print_exports
}

stop_daemons() {
  local d pid
  for d in "${DAEMONS[@]}"; do
    pid=$(pid_of "$d")
    if pid_alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for d in "${DAEMONS[@]}"; do
    pid=$(pid_of "$d")
    if pid_alive "$pid" && ! wait_for "! pid_alive $pid" 50; then kill -KILL "$pid" 2>/dev/null || true; fi
    rm -f "$DIR/run/$d.pid"
  done
}

cmd_stop() {
  [ -n "$DIR" ] && [ -d "$DIR/run" ] || { say "not running"; return 0; }
  if pid_alive "$(pid_of slurmctld)"; then
    # slurmd leaves running steps alone on SIGTERM: cancel the jobs first and let them end.
    SLURM_CONF="$DIR/etc/slurm.conf" timeout 10 scancel --full --quiet --user=root 2>/dev/null || true
    wait_for '[ -z "$(SLURM_CONF=$DIR/etc/slurm.conf timeout 5 squeue -h -t running,completing -o %i 2>/dev/null)" ]' 100 || say "jobs still running after 10 s"
  fi
  stop_daemons
  [ "$(cat "$STATE_FILE" 2>/dev/null)" != "$DIR" ] || rm -f "$STATE_FILE"
  say "stopped (files kept under $DIR)"
}

cmd_status() {
  if [ -n "$DIR" ] && all_running; then
    echo "running under $DIR: node $(node_state)"
    print_exports
  else
    echo "not running"
    return 3
  fi
}

resolve_dir "${2:-}"
case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) die "usage: $0 start|stop|status [DIR]" ;;
esac
