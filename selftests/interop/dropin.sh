#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kmqttd against Debian's Mosquitto, scenario by scenario, with the same
# configuration files: selftests/interop/dropin.py.  Prints TAP.
exec timeout 900 /usr/bin/python3 "$(dirname "$0")/dropin.py" "$@"
