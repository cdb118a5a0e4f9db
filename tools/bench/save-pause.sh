#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# 'make bench-save': what kmqttd's saves (persistence) do to deliveries
# and to new connections while SAVE_SESSIONS persistent sessions are
# offline with one queued message of SAVE_PAYLOAD bytes each (100000 x
# 10 KiB: about 1 GiB in each snapshot).  In the test VM (tools/vm/run,
# SAVE_MEM MiB): tools/bench/save-pause makes the sessions, then kmqttd
# runs twice with them, SAVE_SECONDS each, while save-pause measures: first
# without persistence (the baseline), then saving every SAVE_EVERY
# seconds.  Prints both measurements and the saves kmqttd logged (bytes,
# time taken).  Under emulation (TCG): compare the two runs, not the
# figures with a real machine's.
#
# Environment (defaults in brackets): SAVE_SESSIONS [100000],
# SAVE_PAYLOAD [10240], SAVE_SECONDS [90], SAVE_EVERY [10],
# SAVE_MEM [7168], SAVE_VM_TIMEOUT [3000].

set -u

repo=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
SAVE_SESSIONS=${SAVE_SESSIONS:-100000}
SAVE_PAYLOAD=${SAVE_PAYLOAD:-10240}
SAVE_SECONDS=${SAVE_SECONDS:-90}
SAVE_EVERY=${SAVE_EVERY:-10}
SAVE_MEM=${SAVE_MEM:-7168}
SAVE_VM_TIMEOUT=${SAVE_VM_TIMEOUT:-3000}
tool=$repo/tools/bench/save-pause

if [ "${1:-}" != --guest ]; then
	make -C "$repo/tools/bench" save-pause >/dev/null || exit 1
	exec "$repo/tools/vm/run" --timeout "$SAVE_VM_TIMEOUT" \
		--mem "$SAVE_MEM" \
		--env SAVE_SESSIONS="$SAVE_SESSIONS" \
		--env SAVE_PAYLOAD="$SAVE_PAYLOAD" \
		--env SAVE_SECONDS="$SAVE_SECONDS" \
		--env SAVE_EVERY="$SAVE_EVERY" -- "$0" --guest
fi

. "$repo/selftests/lib/kmqttd.sh"
work=$(mktemp -d /tmp/save-pause.XXXXXX)
trap 'kmqttd_stop; rm -rf "$work"' EXIT
port=$(kmqttd_free_port)

# run NAME PAYLOAD [CONFIGURATION LINES]: kmqttd, one measurement.
run() {
	local name=$1 payload=$2 conf=$work/$1.conf log=$work/$1.log
	shift 2
	printf 'listener %s 127.0.0.1\nallow_anonymous true\nlog_type all\n' \
		"$port" >"$conf"
	printf '%s\n' "$@" >>"$conf"
	# Before it listens, kmqttd saves the whole state: minutes under TCG.
	kmqttd_start "$conf" "$log" 1 900 || exit 1
	echo "== $name"
	"$tool" measure "$port" "$SAVE_SECONDS" "$payload" || status=1
	# The last at exit, after the measurement.
	kmqttd_stop
	grep -oE "(Saved|Autosave) .*" "$log" | sed 's/^/kmqttd: /'
}

status=0
echo "== $SAVE_SESSIONS sessions, one queued message of $SAVE_PAYLOAD bytes each"
start=$(date +%s)
"$tool" populate "$SAVE_SESSIONS" || exit 1
echo "made in $(($(date +%s) - start)) s"
run baseline "$SAVE_PAYLOAD"
# The sessions and their messages stay in the module between the runs.
run saving 0 "persistence true" "persistence_location $work/" \
	"autosave_interval $SAVE_EVERY"
exit $status
