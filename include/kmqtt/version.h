/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmqtt's release, the same for kmqtt.ko, kmqttd and kmqttctl: modinfo,
 * $SYS/broker/version, the packages and DKMS read it here.
 * Macros only: no types, no includes.
 */
#ifndef _KMQTT_VERSION_H
#define _KMQTT_VERSION_H

#define KMQTT_VERSION	"0.9.0"

#endif
