/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fallbacks for older kernels, each keyed on the feature itself rather than
 * on a version number (distribution kernels carry backports).
 */
#ifndef _KMQTT_COMPAT_H
#define _KMQTT_COMPAT_H

#include <linux/bvec.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <linux/uio.h>
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

/*
 * Send @len bytes from @offset of @page without copying them, on into the
 * pages after it when they are one compound page (nvme-tcp sends
 * multi-page bio_vecs so too): kernel_sendpage while the kernel has it,
 * MSG_SPLICE_PAGES after (6.5, when sendpage and
 * MSG_SENDPAGE_NOTLAST went).  Not keyed on MSG_SPLICE_PAGES: 6.1's
 * stable series defines it for UDP, and there TCP copies such a message
 * and kernel TLS refuses it.
 */
static inline int kmqtt_sendpage(struct socket *sock, struct page *page,
				 size_t offset, size_t len, int flags)
{
#ifdef MSG_SENDPAGE_NOTLAST
	return kernel_sendpage(sock, page, offset, len, flags);
#else
	struct msghdr msg = { .msg_flags = flags | MSG_SPLICE_PAGES };
	struct bio_vec bvec;

	bvec_set_page(&bvec, page, len, offset);
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, &bvec, 1, len);
	return sock_sendmsg(sock, &msg);
#endif
}

#endif /* _KMQTT_COMPAT_H */
