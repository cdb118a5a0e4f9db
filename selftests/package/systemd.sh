#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# In the test VM booted on the packaged root with its systemd as PID 1
# (tools/vm/run --systemd-root): systemd started kmqttd.service itself at
# boot, its ExecStartPre's modprobe loaded the kmqtt.ko DKMS built, the
# service serves mosquitto_sub and mosquitto_pub (mosquitto-clients of
# the root) and survives "systemctl reload".  Prints TAP.

# shellcheck disable=SC2317 # the check functions run through tap_check
set -u
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=selftests/lib/tap.sh
. "$here/../lib/tap.sh"
kv=$(uname -r)

# Type=notify: active once kmqttd sent READY=1; the boot waited for it.
active() {
	systemctl status --no-pager kmqttd
	systemctl is-active --quiet kmqttd
}

dkms_module() {
	echo "loaded $(cat /sys/module/kmqtt/version), DKMS built $(modinfo -F version kmqtt)"
	[[ $(modinfo -n kmqtt) == /lib/modules/$kv/updates/dkms/kmqtt.ko* ]] &&
		[ "$(cat /sys/module/kmqtt/version)" = "$(modinfo -F version kmqtt)" ]
}

pub_sub() {
	local sub out
	out=$(mktemp)
	timeout 60 mosquitto_sub -h 127.0.0.1 -p 1883 -t package/t -C 1 -W 50 >"$out" &
	sub=$!
	sleep 1
	timeout 30 mosquitto_pub -h 127.0.0.1 -p 1883 -t package/t -m "$1" || return 1
	wait "$sub"
	cat "$out"
	[ "$(cat "$out")" = "$1" ]
}

# ExecReload sends SIGHUP; kmqttd reports RELOADING=1 then READY=1 and
# goes on serving in the same process.
reload() {
	local pid
	pid=$(systemctl show -P MainPID kmqttd)
	systemctl reload kmqttd || return 1
	sleep 2
	systemctl status --no-pager kmqttd
	systemctl is-active --quiet kmqttd &&
		[ "$(systemctl show -P MainPID kmqttd)" = "$pid" ] &&
		pub_sub "after the reload"
}

tap_plan 4
tap_check "$kv: systemd as PID 1 started kmqttd.service, active" active
tap_check "$kv: its modprobe loaded the kmqtt.ko DKMS built" dkms_module
tap_check "$kv: mosquitto_sub receives what mosquitto_pub sends through it" \
	pub_sub "from systemd's kmqttd"
tap_check "$kv: systemctl reload kmqttd, still active and serving" reload
tap_done
