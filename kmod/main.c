// SPDX-License-Identifier: GPL-2.0
/*
 * kmqtt: an MQTT broker data plane in the kernel.  The agent (kmqttd)
 * accepts clients and hands their sockets over generic netlink.
 */

#include <linux/module.h>
#include <net/genetlink.h>
#include <linux/kmqtt.h>
#include <kmqtt/version.h>

#include "broker.h"
#include "conn.h"
#include "delivery.h"
#include "msg.h"
#include "netlink.h"
#include "receive.h"
#include "send.h"
#include "session.h"

static int __init kmqtt_init(void)
{
	int ret;

	ret = kmqtt_msg_init();
	if (ret)
		return ret;
	ret = kmqtt_delivery_init();
	if (ret)
		goto err_msg;
	ret = kmqtt_send_init();
	if (ret)
		goto err_delivery;
	ret = kmqtt_conn_init();
	if (ret)
		goto err_send;
	ret = kmqtt_session_init();
	if (ret)
		goto err_conn;
	ret = kmqtt_broker_init();
	if (ret)
		goto err_session;
	ret = kmqtt_netlink_init();
	if (ret)
		goto err_broker;
	return 0;

err_broker:
	kmqtt_broker_exit();
err_session:
	kmqtt_session_exit();
err_conn:
	kmqtt_conn_exit();
err_send:
	kmqtt_send_exit();
err_delivery:
	kmqtt_delivery_exit();
err_msg:
	kmqtt_msg_exit();
	return ret;
}

static void __exit kmqtt_exit(void)
{
	/* No new attach after this; then close what is attached. */
	kmqtt_netlink_exit();
	kmqtt_broker_exit();
	kmqtt_session_exit();
	kmqtt_conn_exit();
	kmqtt_receive_exit();
	kmqtt_send_exit();
	kmqtt_delivery_exit();
	kmqtt_msg_exit();
}

module_init(kmqtt_init);
module_exit(kmqtt_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("MQTT broker data plane");
MODULE_VERSION(KMQTT_VERSION);
MODULE_ALIAS_GENL_FAMILY(KMQTT_GENL_NAME);
