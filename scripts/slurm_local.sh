#!/usr/bin/env bash
# A one-node SLURM cluster on this machine (Debian 12, as root), for `pytest -m slurm` and for
# trying `da-train -m hydra/launcher=slurm` locally (docs/SWEEPS.md). Idempotent: when the
# cluster already answers it says so and returns. Starts munged, MariaDB + slurmdbd (accounting:
# submitit reads job states with `sacct`, without it a cancelled job is never seen as done),
# slurmctld and slurmd, then waits until `sinfo` shows the node idle. No cgroup (slurm 22.05
# refuses to start slurmd with `CgroupPlugin=disabled`): proctrack/linuxproc, and task/affinity
# binds each task to its CPUs (sched_setaffinity), so a 1-CPU job's torch uses one thread.
set -uo pipefail
HOST=$(hostname -s)
LOG=/var/log/slurm
# die MESSAGE [LOG...]: one line, the tail of each log, exit 1
die() {
  echo "slurm_local.sh: $1" >&2; shift
  for f in "$@"; do [ -f "$f" ] && tail -n 15 "$f" >&2; done
  exit 1
}
# up: the node is idle/mixed/allocated (not "idle*": not responding), its slurmd answers, and
# so does accounting (sacct)
up() {
  timeout 5 sinfo -h -n "$HOST" -o %T 2>/dev/null | grep -qxE '(idle|mixed|allocated)' &&
    timeout 5 scontrol show slurmd >/dev/null 2>&1 && timeout 5 sacct -n -X -S now >/dev/null 2>&1
}
# wait_for SECONDS COMMAND...: run COMMAND once a second until it succeeds
wait_for() {
  local n=$1; shift
  for _ in $(seq "$n"); do "$@" && return 0; sleep 1; done
  return 1
}

if command -v sinfo >/dev/null && up; then
  echo "slurm_local.sh: cluster already up ($HOST)"; exit 0
fi
[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts daemons)"

# 1. packages (Debian 12: slurm-wlm 22.05, munge, slurmdbd + MariaDB for accounting)
PACKAGES="slurm-wlm slurmdbd munge mariadb-server"
if ! command -v slurmctld >/dev/null || ! command -v slurmdbd >/dev/null ||
   ! command -v mariadbd >/dev/null; then
  command -v apt-get >/dev/null || die "apt-get not found: install $PACKAGES yourself"
  echo "slurm_local.sh: installing $PACKAGES (apt-get)"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends $PACKAGES; } >/tmp/slurm_local_apt.log 2>&1 ||
    die "apt-get install failed (log: /tmp/slurm_local_apt.log)" /tmp/slurm_local_apt.log
fi
mkdir -p "$LOG" /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /run/munge
chown munge:munge /run/munge

# 2. munge: the key (Debian's package makes one), munged as user munge
[ -f /etc/munge/munge.key ] || { mungekey -c && chown munge:munge /etc/munge/munge.key; }
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged || die "munged did not start" /var/log/munge/munged.log
  wait_for 10 sh -c 'munge -n | unmunge >/dev/null 2>&1' ||
    die "munge does not answer" /var/log/munge/munged.log
fi

# 3. stop our slurm daemons that are half up, then write the configs
for d in slurmd slurmctld slurmdbd; do  # by pid file, if that pid is still this daemon
  pid=$(cat /run/$d.pid 2>/dev/null) && [ "$(ps -o comm= -p "$pid")" = "$d" ] &&
    kill "$pid" && wait_for 20 sh -c "! kill -0 $pid 2>/dev/null"
done
cat >/etc/slurm/slurm.conf <<EOF
# written by da's scripts/slurm_local.sh: one node, $HOST, no cgroup
ClusterName=local
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
$(slurmd -C | head -n 1) NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
# slurmdbd as root reaches MariaDB's root account through its unix socket: no password
cat >/etc/slurm/slurmdbd.conf <<EOF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=slurm_acct_db
PidFile=/run/slurmdbd.pid
LogFile=$LOG/slurmdbd.log
EOF
chmod 600 /etc/slurm/slurmdbd.conf

# 4. MariaDB, slurmdbd, slurmctld, slurmd (each daemonizes itself)
mysqladmin ping >/dev/null 2>&1 || /etc/init.d/mariadb start >/dev/null 2>&1 ||
  die "MariaDB did not start" /var/log/mysql/error.log
slurmdbd || die "slurmdbd did not start" $LOG/slurmdbd.log
wait_for 30 sh -c 'sacctmgr -n show cluster >/dev/null 2>&1' ||
  die "slurmdbd does not answer" $LOG/slurmdbd.log
slurmctld || die "slurmctld did not start" $LOG/slurmctld.log
slurmd || die "slurmd did not start" $LOG/slurmd.log
wait_for 60 up || die "node $HOST not idle after 60 s: $(sinfo -h -o '%T %E' 2>&1)" \
  $LOG/slurmctld.log $LOG/slurmd.log
echo "slurm_local.sh: cluster up: $(sinfo -h -o '%P %D node(s) %T, %c CPUs, %m MB')"
