// SPDX-License-Identifier: GPL-2.0
/* Messages of the broker's own: see own_publish.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kmod/codec.h"
#include "own_publish.h"

int own_publish(own_publish_fn fn, struct kmqtt_nl *nl, const char *topic,
		const void *payload, size_t len, uint8_t qos, bool retain)
{
	size_t topic_len = strlen(topic);
	struct kmqtt_nl_msg m = { .qos = qos };
	uint8_t *data, *p;
	int err;

	if (topic_len > UINT16_MAX)
		return -EINVAL;
	/* Topic with its length, no properties, the payload. */
	m.len = 2 + topic_len + 1 + len;
	data = malloc(m.len);
	if (!data)
		return -ENOMEM;
	p = kmqtt_codec_put_u16(data, (uint16_t)topic_len);
	memcpy(p, topic, topic_len);
	p += topic_len;
	*p++ = 0;
	if (len)
		memcpy(p, payload, len);
	m.data = data;
	err = fn(nl, &m, retain);
	free(data);
	return err;
}
