/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fallbacks for older kernels, each keyed on the feature itself rather than
 * on a version number (distribution kernels carry backports).
 */
#ifndef _KMQTT_COMPAT_H
#define _KMQTT_COMPAT_H

#include <net/genetlink.h>

/* 6.0 */
#ifndef GENL_REQ_ATTR_CHECK
#define GENL_REQ_ATTR_CHECK(info, attr) ({				\
	struct genl_info *__info = (info);				\
	int __missing = !__info->attrs[attr];				\
									\
	if (__missing)							\
		NL_SET_ERR_MSG(__info->extack, "missing attribute");	\
	__missing;							\
})
#endif

#endif /* _KMQTT_COMPAT_H */
