#!/usr/bin/env bash
# make demo: a demo service under svcwrap, in a temporary tree (no root needed):
# start, status, kill -9 of the daemon and its respawn, custom verbs, stop.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# SVCWRAP_BIN: the binary to demonstrate (the integration test passes its own).
svcwrap=${SVCWRAP_BIN:-$top/bin/svcwrap}
root=$(mktemp -d /tmp/svcwrap-demo.XXXXXX)
trap 'rm -rf "$root"' EXIT
bin=$root/bin
(cd "$top" && go build -o "$bin/demod" ./scripts/demod)
mkdir -p "$root"/{init.d,svcwrap,run,log,default}
export SVCWRAP_INITDIR=$root/init.d SVCWRAP_CONFDIR=$root/svcwrap SVCWRAP_RUNDIR=$root/run/svcwrap \
       SVCWRAP_PIDDIR=$root/run SVCWRAP_LOGDIR=$root/log SVCWRAP_DEFAULTS=$root/default

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@" || echo "(exit $?)"; }

# The env file, as /etc/default/demo would be.
echo 'GREETING="Hello, world"' >"$root/default/demo"
chmod 644 "$root/default/demo"
# The whole init script: a #! line, an LSB header and five keys.
cat >"$root/init.d/demo" <<DEF
#!$svcwrap
### BEGIN INIT INFO
# Provides:          demo
# Required-Start:    \$remote_fs \$syslog
# Required-Stop:     \$remote_fs \$syslog
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: svcwrap demo daemon
### END INIT INFO
DAEMON="$bin/demod -listen 127.0.0.1:0"
SIGNAL_ROTATE=USR1
HELP_ROTATE="ask the daemon to reopen its logs"
COMMAND_GREETING="/bin/sh -c 'echo GREETING is \\\$GREETING'"
RESPAWN_DELAY=0
DEF
chmod 755 "$root/init.d/demo"
say "cat $root/init.d/demo"; cat "$root/init.d/demo"

init=$root/init.d/demo
run "$init" start
run "$init" status
pid=$(cat "$root/run/demo.pid")
say "kill -9 $pid    # the watchdog notices at once and respawns"
kill -9 "$pid"
# Wait (bounded: 5 s) for the respawn: the pidfile names a new, live PID.
new=
for _ in $(seq 500); do
  new=$(cat "$root/run/demo.pid" 2>/dev/null || true)
  [ -n "$new" ] && [ "$new" != "$pid" ] && [ -d "/proc/$new" ] && break
  new=
  sleep 0.01
done
if [ -z "$new" ]; then
  echo "demo: FAILED: no respawn of the daemon within 5 s of kill -9 $pid" >&2
  "$init" status || true
  exit 1
fi
echo "respawned: pid $pid -> $new"
run "$init" status
run "$init" rotate
run "$init" greeting
run "$init" help
run "$svcwrap" list
run "$init" stop
run "$init" status || true
# A zombie is dead: this machine's PID 1 may not reap orphans.
if [ -d "/proc/$new" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$new/status" 2>/dev/null; then
  echo "demo: FAILED: pid $new still runs after stop" >&2
  exit 1
fi
say "cat $root/log/demo.log"; cat "$root/log/demo.log"
