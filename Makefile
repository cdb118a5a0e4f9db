# SPDX-License-Identifier: GPL-2.0
#
# make          build kmod/kmqtt.ko, agent/kmqttd, tools/kmqttctl/kmqttctl
# make run      build, load the module and run kmqttd on port 1883
#               (in the test VM when this host cannot load modules)
# make check    every test: unit tests on the host, kernel tests in the VM
# make deps     install the Debian packages the build and the tests need
# make fuzz     fuzz every parser for FUZZ_SECONDS each (default 60)
# make bench    kmqtt against Mosquitto in the test VM (tools/bench/run)
# make bench-idle
#               IDLE_CONNS (default 100000) idle connections in the test VM:
#               time to connect, memory each, a message to a random 1 %
#               (IDLE_CONNS=1000000 needs a 16 GiB VM)
# make soak     SOAK_MINUTES (default 30) of mixed load on the debug kernel,
#               then delivery, memory and kmemleak checks (not in CI)
# make install  kmqttd, kmqttctl, man pages, the systemd unit and (unless one
#               is there) /etc/kmqtt/kmqtt.conf; PREFIX (/usr/local), DESTDIR
# make install-dkms
#               the module's sources and dkms.conf in /usr/src/kmqtt-VERSION,
#               for `dkms install kmqtt/VERSION`
# make deb      the Debian packages kmqtt-dkms and kmqtt in build/deb/
# make check-package
#               those packages installed into a clean Debian 12 root, DKMS
#               builds for 6.1 and 6.12, the packaged kmqttd served in the
#               VM on both (needs the Debian mirror; make check runs it too)
# make check-cluster
#               a bridge to a two-node RabbitMQ cluster whose node fails
#               mid-stream, in the test VM (slow, not in make check)
# make build-kernels TREES="DIR..."
#               kmod/kmqtt.ko built with W=1, not run, against each kernel
#               source tree (5.15.y, mainline, ...), in build/tree-RELEASE/
#               (tools/build-kernels; not in make check: the trees are not
#               on a fresh machine)

# The module is built for the running kernel when its build tree exists,
# otherwise for Debian 12's 6.1 kernel (the test VM's default), in kmod/.
# KVER=6.12 (a series or a release, tools/vm/kdir) builds it for that Debian
# kernel instead, in build/kernel-KVER/kmod/, so that the builds for both
# kernels do not overwrite each other.  KDIR=DIR overrides the kernel.
KDIR ?= $(shell tools/vm/kdir $(KVER))

USER_CFLAGS := -O2 -g -Wall -Wextra -Werror
export USER_CFLAGS

.PHONY: all module agent tools deps check unit run clean checkpatch fuzz bench bench-save bench-ack bench-idle soak \
	check-cluster build-kernels install install-dkms deb check-package

all: module agent tools

module:
ifdef KVER
	+tools/vm/build-ko $(KDIR) build/kernel-$(KVER)
else
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules
endif

agent:
	$(MAKE) -C agent

tools:
	$(MAKE) -C tools/kmqttctl
	$(MAKE) -C tools/bench

deps:
	@tools/deps.sh

check: deps
	@$(MAKE) --no-print-directory all
	@tools/check

unit: deps
	@$(MAKE) --no-print-directory -C selftests/unit run

run: deps
	@$(MAKE) --no-print-directory all
	@tools/run

FUZZ_SECONDS ?= 60
fuzz: deps
	@selftests/fuzz/run $(FUZZ_SECONDS)

checkpatch: deps
	@tools/checkpatch

bench: deps
	@$(MAKE) --no-print-directory all
	@tools/bench/run

# Saves of 100000 sessions' queued messages (1 GiB): about 15 min.
bench-save: deps
	@$(MAKE) --no-print-directory all
	@tools/bench/save-pause.sh

# What kmqtt_save_before_ack costs QoS 1 publishers: a few minutes.
bench-ack: deps
	@$(MAKE) --no-print-directory all
	@tools/bench/save-ack.sh

# Idle connections, their memory and delivery to 1 % of them
# (tools/bench/idle-conns.sh): 100000 in about 3 min under TCG.
bench-idle: deps
	@$(MAKE) --no-print-directory all
	@tools/bench/idle-conns.sh

# RabbitMQ is only installed for this target (tools/deps.sh --cluster).
check-cluster: deps
	@tools/deps.sh --cluster
	@$(MAKE) --no-print-directory all
	@tools/vm/run --timeout 3000 --mem 4096 -- selftests/cluster/bridge-rabbitmq.sh

build-kernels:
	@tools/build-kernels $(TREES)

VERSION := $(shell sed -n 's/^\#define KMQTT_VERSION[[:space:]]*"\(.*\)"/\1/p' include/kmqtt/version.h)
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
LOCALSTATEDIR ?= /var
DKMSDIR ?= /usr/src/kmqtt-$(VERSION)

install: agent tools
	install -D -m 0755 agent/kmqttd $(DESTDIR)$(SBINDIR)/kmqttd
	install -D -m 0755 tools/kmqttctl/kmqttctl $(DESTDIR)$(SBINDIR)/kmqttctl
	install -D -m 0644 Documentation/man/kmqttd.8 $(DESTDIR)$(MANDIR)/man8/kmqttd.8
	install -D -m 0644 Documentation/man/kmqttctl.8 $(DESTDIR)$(MANDIR)/man8/kmqttctl.8
	install -D -m 0644 Documentation/man/kmqtt.conf.5 $(DESTDIR)$(MANDIR)/man5/kmqtt.conf.5
	install -d $(DESTDIR)$(UNITDIR)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		tools/package/kmqttd.service \
		> $(DESTDIR)$(UNITDIR)/kmqttd.service
	@# An operator's configuration is never overwritten.
	[ -e $(DESTDIR)$(SYSCONFDIR)/kmqtt/kmqtt.conf ] || \
		install -D -m 0644 tools/package/kmqtt.conf $(DESTDIR)$(SYSCONFDIR)/kmqtt/kmqtt.conf
	@# persistence_location of that configuration.
	install -d $(DESTDIR)$(LOCALSTATEDIR)/lib/kmqtt

# What Kbuild needs, and nothing of kmqttd's.
install-dkms:
	install -D -m 0644 -t $(DESTDIR)$(DKMSDIR) Kbuild
	install -D -m 0644 -t $(DESTDIR)$(DKMSDIR)/kmod kmod/Kbuild \
		$(filter-out %.mod.c,$(wildcard kmod/*.c)) $(wildcard kmod/*.h)
	install -D -m 0644 -t $(DESTDIR)$(DKMSDIR)/include/uapi/linux \
		include/uapi/linux/kmqtt.h
	install -D -m 0644 -t $(DESTDIR)$(DKMSDIR)/include/kmqtt \
		$(wildcard include/kmqtt/*.h)
	sed 's|@VERSION@|$(VERSION)|g' tools/package/dkms.conf \
		> $(DESTDIR)$(DKMSDIR)/dkms.conf

deb: agent tools
	@tools/package/deb build/deb

check-package: deps
	@$(MAKE) --no-print-directory all
	@selftests/package/run

SOAK_MINUTES ?= 30
soak: deps
	@$(MAKE) --no-print-directory all
	@SOAK_MINUTES=$(SOAK_MINUTES) tools/soak

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C agent clean
	$(MAKE) -C tools/kmqttctl clean
	$(MAKE) -C tools/bench clean
	$(MAKE) -C selftests clean
	$(MAKE) -C selftests/fuzz clean
