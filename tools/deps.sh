#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make deps: install what the build and the tests need, if it is missing.
# On Debian, the missing packages are installed with apt-get; elsewhere this
# lists them and fails. Debian's 6.12 kernel, the test VM's second stock
# kernel, comes from bookworm-backports, a source this adds on the mirror
# the system already uses. Then the kernel's test harness headers and
# checkpatch.pl are extracted from linux-source-6.1 into
# $KMQTT_CACHE/linux-source-6.1/ (tree paths kept), and MQTT.js is installed
# in selftests/interop. Quick and silent when everything is there.
#
# tools/deps.sh --cluster: the same, plus what "make check-cluster" alone
# needs (RabbitMQ, for selftests/cluster): not installed by "make deps",
# as Erlang and RabbitMQ would add a lot to every fresh CI machine's setup
# for a test that "make check" does not run.

set -euo pipefail

repo=$(dirname "$(dirname "$(readlink -f "$0")")")
cache=${KMQTT_CACHE:-/var/cache/kmqtt}
kernel_src=$cache/linux-source-6.1
kernel_tarball=/usr/src/linux-source-6.1.tar.xz
kernel_files=(
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/kselftest.h
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
)
packages=(
	build-essential pkg-config libnl-3-dev libnl-genl-3-dev libssl-dev
	libcap-dev qemu-system-x86 linux-image-amd64 linux-headers-amd64
	busybox-static kmod cpio xz-utils linux-source-6.1 mosquitto
	mosquitto-clients python3-paho-mqtt nodejs npm clang libclang-rt-14-dev
	iproute2 flex bison bc libelf-dev python3-yaml e2fsprogs groff-base
	systemd prometheus curl debootstrap dpkg-dev chromium libnss3-tools
)
cluster_packages=(rabbitmq-server)
case ${1:-} in
--cluster) packages+=("${cluster_packages[@]}") ;;
'') ;;
*) echo "usage: tools/deps.sh [--cluster]" >&2; exit 2 ;;
esac

# mosquitto and the kmod tools live in sbin, not in every user's PATH.
PATH=$PATH:/usr/sbin:/sbin

have() {
	local cmd
	for cmd; do
		command -v "$cmd" >/dev/null || return 1
	done
}

kernel_files_present() {
	local f
	for f in "${kernel_files[@]}"; do
		[ -e "$kernel_src/$f" ] || return 1
	done
}

# Whether what a package provides is here, checked by its commands or files
# rather than by dpkg: the same check works on any distribution, and a node
# installed outside Debian's packages counts.
provided() {
	case $1 in
	build-essential) have gcc g++ make ;;
	pkg-config) have pkg-config ;;
	libnl-3-dev) pkg-config --exists libnl-3.0 2>/dev/null ;;
	libnl-genl-3-dev) pkg-config --exists libnl-genl-3.0 2>/dev/null ;;
	libssl-dev) pkg-config --exists openssl 2>/dev/null ;;
	libcap-dev) pkg-config --exists libcap 2>/dev/null ;;
	qemu-system-x86) have qemu-system-x86_64 ;;
	linux-image-amd64) compgen -G '/boot/vmlinuz-6.1.*-amd64' >/dev/null ;;
	linux-headers-amd64) "$repo/tools/vm/kdir" --vm-release 6.1 >/dev/null 2>&1 ;;
	busybox-static) [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 ;;
	kmod) have modinfo depmod insmod ;;
	cpio) have cpio ;;
	xz-utils) have xz ;;
	linux-source-6.1) kernel_files_present || [ -e $kernel_tarball ] ;;
	mosquitto) have mosquitto ;;
	mosquitto-clients) have mosquitto_pub mosquitto_sub ;;
	python3-paho-mqtt) /usr/bin/python3 -c 'import paho.mqtt.client' 2>/dev/null ;;
	nodejs) have node ;;
	npm) have npm ;;
	clang) have clang ;;
	# clang's sanitizer and libFuzzer runtimes (only recommended by clang)
	libclang-rt-14-dev) have clang &&
		[ -e "$(clang -print-file-name="libclang_rt.fuzzer-$(uname -m).a")" ] ;;
	iproute2) have ip ss ;;
	# the debug kernel's build (tools/vm/debug-kernel)
	flex) have flex ;;
	bison) have bison ;;
	bc) have bc ;;
	libelf-dev) [ -e /usr/include/libelf.h ] ;;
	# tools/check-abi reads Documentation/netlink/kmqtt.yaml
	python3-yaml) /usr/bin/python3 -c 'import yaml' 2>/dev/null ;;
	# selftests/package: a clean root, and the packages' dependencies
	debootstrap) have debootstrap ;;
	dpkg-dev) have dpkg-shlibdeps ;;
	# selftests/cluster runs the server and CLI from Debian's directory
	# (the ones in /usr/sbin switch to the rabbitmq user)
	rabbitmq-server) have epmd &&
		[ -x "${RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}/rabbitmq-server" ] ;;
	# selftests/reboot makes and checks ext4 disk images (not "required"
	# in every Debian release: containers may lack it)
	e2fsprogs) have mkfs.ext4 e2fsck ;;
	# selftests/install checks the man pages and the unit
	groff-base) have groff ;;
	systemd) have systemd-analyze ;;
	# promtool checks kmqttd's metrics, and interop/metrics runs the server
	# on a port of its own (under systemd the package also starts one on
	# 9090; the tests do not use it)
	prometheus) have promtool prometheus ;;
	# interop/metrics scrapes kmqttd and queries Prometheus with it
	curl) have curl ;;
	# interop/browser: MQTT.js in headless Chromium, driven over the
	# DevTools protocol on a pipe with Python's standard library alone
	# (no chromedriver or Selenium: browser/chromium.py says why); it runs
	# the binary, not Debian's /usr/bin/chromium wrapper
	chromium) [ -x /usr/lib/chromium/chromium ] ;;
	# certutil: interop/browser's Chromium trusts the test CA through an
	# NSS database
	libnss3-tools) have certutil ;;
	*) echo "tools/deps.sh: no check for $1" >&2; return 1 ;;
	esac
}

# as_root CMD...: run CMD as root, with sudo when this is not root.
as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif have sudo; then
		sudo "$@"
	else
		echo "tools/deps.sh: run as root to install what is missing" >&2
		exit 1
	fi
}

apt_install() {
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "$@"
}

missing=()
for p in "${packages[@]}"; do
	provided "$p" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ ! -e /etc/debian_version ] || ! have apt-get; then
		echo "tools/deps.sh: missing (Debian package names):" \
			"${missing[*]}; install them with your package manager" >&2
		exit 1
	fi
	# NodeSource's nodejs ships npm and conflicts with Debian's npm package:
	# installing that would remove the node we have.
	if [[ " ${missing[*]} " == *" npm "* ]] &&
		dpkg-query -W -f '${Version}' nodejs 2>/dev/null | grep -q nodesource; then
		echo "tools/deps.sh: npm is missing but nodejs is NodeSource's, which" \
			"ships npm; reinstall nodejs rather than Debian's npm" >&2
		exit 1
	fi
	echo "tools/deps.sh: installing ${missing[*]}" >&2
	as_root apt-get update -q
	apt_install "${missing[@]}"
fi

# Debian's 6.12 kernel from bookworm-backports: its linux-image-amd64 and
# linux-headers-amd64 there depend on the versioned packages
# (linux-image-6.12.95+deb12-amd64, ...), which are installed by name, so
# that the metapackages, and with them the default kernel, stay at 6.1.
# Backports' priority (100) keeps everything else at Debian 12's versions.
backports=bookworm-backports
if ! "$repo/tools/vm/kdir" --vm-release 6.12 >/dev/null 2>&1; then
	# shellcheck source=/dev/null
	if ! have apt-get || [ "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" != bookworm ]; then
		echo "tools/deps.sh: missing: Debian's 6.12 kernel image and headers" \
			"(linux-image-amd64 and linux-headers-amd64 of $backports)" >&2
		exit 1
	fi
	# shellcheck disable=SC2016 # apt's $(FIELD)s, not the shell's
	if ! apt-get indextargets --format '$(RELEASE)' | grep -qx $backports; then
		mirror=$(apt-get indextargets --format '$(RELEASE) $(TARGET_OF) $(REPO_URI)' |
			awk '$1 == "bookworm" && $2 == "deb" { print $3; exit }')
		[ -n "$mirror" ] ||
			{ echo "tools/deps.sh: no bookworm source to take the mirror from" >&2; exit 1; }
		keyring=/usr/share/keyrings/debian-archive-keyring.gpg
		[ -e $keyring ] || keyring=
		echo "tools/deps.sh: adding $backports on $mirror" \
			"(/etc/apt/sources.list.d/kmqtt-$backports.sources)" >&2
		printf '%s\n' "# Added by kmqtt's tools/deps.sh: Debian's 6.12 kernel" \
			"Types: deb" "URIs: $mirror" "Suites: $backports" "Components: main" \
			${keyring:+"Signed-By: $keyring"} |
			as_root tee /etc/apt/sources.list.d/kmqtt-$backports.sources >/dev/null
	fi
	as_root apt-get update -q
	mapfile -t kernel_packages < <(apt-cache depends linux-image-amd64/$backports \
		linux-headers-amd64/$backports | awk '$1 == "Depends:" &&
			$2 ~ /^linux-(image|headers)-6\.12\./ { print $2 }')
	[ ${#kernel_packages[@]} = 2 ] || {
		echo "tools/deps.sh: $backports has no 6.12 linux-image-amd64" \
			"and linux-headers-amd64" >&2
		exit 1
	}
	echo "tools/deps.sh: installing ${kernel_packages[*]}" >&2
	apt_install "${kernel_packages[@]}"
fi

if ! kernel_files_present; then
	echo "tools/deps.sh: extracting the kselftest harness and checkpatch.pl" \
		"into $kernel_src" >&2
	mkdir -p "$kernel_src"
	# Members are named "linux-source-6.1/PATH": match any top directory.
	tar -xJf $kernel_tarball -C "$kernel_src" --strip-components=1 \
		--wildcards --no-wildcards-match-slash "${kernel_files[@]/#/*/}"
	kernel_files_present ||
		{ echo "tools/deps.sh: $kernel_tarball lacks some of ${kernel_files[*]}" >&2; exit 1; }
fi

if [ ! -e "$repo/selftests/interop/node_modules/mqtt/package.json" ]; then
	echo "tools/deps.sh: installing MQTT.js in selftests/interop" >&2
	(cd "$repo/selftests/interop" && npm ci --no-audit --no-fund --loglevel=error)
fi
