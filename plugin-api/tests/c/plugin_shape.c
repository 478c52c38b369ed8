/*
 * A small plugin in both lws shapes, touching most of what the header
 * offers. It is only compiled (-Wall -Wextra -Werror), never loaded: the
 * point is that the header is warning-free for plugin code written the lws
 * way.
 */

#if !defined(LWS_DLL)
#define LWS_DLL
#endif
#if !defined(LWS_INTERNAL)
#define LWS_INTERNAL
#endif
#include <libwebsockets.h>

#include <string.h>

struct pss__shape {
	struct pss__shape *next;
	struct lws *wsi;
	uint32_t tail;
	lws_dll2_t list;
};

struct vhd__shape {
	lws_pthread_mutex(lock)
	struct lws_context *context;
	struct lws_vhost *vhost;
	const struct lws_protocols *protocol;
	struct pss__shape *pss_list;
	lws_dll2_owner_t owner;
	lws_sorted_usec_list_t sul;
	struct lws_ring *ring;
	const char *greeting;
};

static void
shape_sul_cb(lws_sorted_usec_list_t *sul)
{
	struct vhd__shape *vhd = lws_container_of(sul, struct vhd__shape, sul);

	lws_callback_on_writable_all_protocol_vhost(vhd->vhost, vhd->protocol);
	lws_sul_schedule(vhd->context, 0, &vhd->sul, shape_sul_cb,
			 50 * LWS_US_PER_MS);
}

static int
callback_shape(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	       void *in, size_t len)
{
	struct pss__shape *pss = (struct pss__shape *)user;
	struct vhd__shape *vhd = (struct vhd__shape *)lws_protocol_vh_priv_get(
			lws_get_vhost(wsi), lws_get_protocol(wsi));
	uint8_t buf[LWS_PRE + LWS_RECOMMENDED_MIN_HEADER_SPACE];
	uint8_t *start = &buf[LWS_PRE], *p = start,
		*end = &buf[sizeof(buf) - 1];
	const struct lws_protocol_vhost_options *pvo;
	char arg[64], ua[128];
	int n;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		vhd = lws_protocol_vh_priv_zalloc(lws_get_vhost(wsi),
				lws_get_protocol(wsi), sizeof(*vhd));
		if (!vhd)
			return -1;
		lws_pthread_mutex_init(&vhd->lock);
		vhd->context = lws_get_context(wsi);
		vhd->vhost = lws_get_vhost(wsi);
		vhd->protocol = lws_get_protocol(wsi);
		vhd->ring = lws_ring_create(sizeof(void *), 8, NULL);
		pvo = lws_pvo_search((const struct lws_protocol_vhost_options *)in,
				     "greeting");
		if (pvo)
			vhd->greeting = pvo->value;
		if (lws_pvo_get_str(in, "other", &vhd->greeting))
			lwsl_info("%s: no 'other' pvo\n", __func__);
		lws_sul_schedule(vhd->context, 0, &vhd->sul, shape_sul_cb, 1);
		break;

	case LWS_CALLBACK_PROTOCOL_DESTROY:
		if (!vhd)
			break;
		lws_sul_cancel(&vhd->sul);
		lws_ring_destroy(vhd->ring);
		lws_pthread_mutex_destroy(&vhd->lock);
		break;

	case LWS_CALLBACK_ESTABLISHED:
		pss->wsi = wsi;
		pss->tail = lws_ring_get_oldest_tail(vhd->ring);
		lws_pthread_mutex_lock(&vhd->lock);
		lws_ll_fwd_insert(pss, next, vhd->pss_list);
		lws_dll2_add_tail(&pss->list, &vhd->owner);
		lws_pthread_mutex_unlock(&vhd->lock);
		if (lws_get_urlarg_by_name_safe(wsi, "x", arg, sizeof(arg)) < 0)
			arg[0] = '\0';
		if (lws_hdr_copy(wsi, ua, sizeof(ua),
				 WSI_TOKEN_HTTP_USER_AGENT) < 0)
			lws_strncpy(ua, "unknown", sizeof(ua));
		lwsl_wsi_notice(wsi, "%s: arg '%s' ua '%s' from %s\n", __func__,
				arg, ua, lws_wsi_tag(wsi));
		lws_set_timer_usecs(wsi, LWS_USEC_PER_SEC);
		break;

	case LWS_CALLBACK_CLOSED:
		lws_ll_fwd_remove(struct pss__shape, next, pss, vhd->pss_list);
		lws_dll2_remove(&pss->list);
		lws_ring_consume_and_update_oldest_tail(vhd->ring,
			struct pss__shape, &pss->tail, 1, vhd->pss_list, tail,
			next);
		break;

	case LWS_CALLBACK_TIMER:
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_REASON_BASE + 1, 3);
		lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
		lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		do {
			n = lws_snprintf((char *)p, lws_ptr_diff_size_t(end, p),
					 "%s %d", vhd->greeting ? vhd->greeting :
					 "hello", (int)vhd->owner.count);
			if (lws_write(wsi, p, (size_t)n,
				      (enum lws_write_protocol)
				      lws_write_ws_flags(LWS_WRITE_TEXT, 1, 1)) < n)
				return -1;
		} while (0 && !lws_send_pipe_choked(wsi));
		break;

	case LWS_CALLBACK_RECEIVE:
		if (lws_is_first_fragment(wsi) && lws_is_final_fragment(wsi) &&
		    !lws_frame_is_binary(wsi) && !lws_remaining_packet_payload(wsi) &&
		    len >= 7 && !strncmp((const char *)in, "closeme", 7)) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY,
					 (unsigned char *)"bye", 3);
			return -1;
		}
		lws_rx_flow_control(wsi, 0);
		lwsl_hexdump_debug(in, len);
		break;

	case LWS_CALLBACK_HTTP:
		if (lws_add_http_header_status(wsi, HTTP_STATUS_OK, &p, end) ||
		    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
				(const unsigned char *)"text/plain", 10, &p, end) ||
		    lws_add_http_header_content_length(wsi, 2, &p, end) ||
		    lws_finalize_http_header(wsi, &p, end))
			return 1;
		if (lws_write(wsi, start, lws_ptr_diff_size_t(p, start),
			      LWS_WRITE_HTTP_HEADERS) < 0)
			return 1;
		if (lws_http_transaction_completed(wsi))
			return -1;
		break;

	case LWS_CALLBACK_USER:
		lwsl_user("user reason on %s, %d threads, tsi %d\n",
			  lws_get_vhost_name(lws_get_vhost(wsi)),
			  lws_get_count_threads(lws_get_context(wsi)),
			  lws_get_tsi(wsi));
		break;

	default:
		break;
	}

	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

#define LWS_PLUGIN_PROTOCOL_SHAPE \
	{ "shape-protocol", callback_shape, sizeof(struct pss__shape), 128, \
	  0, NULL, 0 }

/* new shape */

LWS_VISIBLE const struct lws_protocols shape_protocols[] = {
	LWS_PLUGIN_PROTOCOL_SHAPE,
	LWS_PROTOCOL_LIST_TERM
};

LWS_VISIBLE const lws_plugin_protocol_t shape = {
	.hdr = {
		"shape",
		"lws_protocol_plugin",
		LWS_BUILD_HASH,
		LWS_PLUGIN_API_MAGIC
	},
	.protocols = shape_protocols,
	.count_protocols = 1,
	.extensions = NULL,
	.count_extensions = 0,
};

/* old shape */

LWS_VISIBLE int
init_protocol_shape(struct lws_context *context,
		    struct lws_plugin_capability *c)
{
	(void)context;
	if (c->api_magic != LWS_PLUGIN_API_MAGIC) {
		lwsl_err("Plugin API %d, library API %d", LWS_PLUGIN_API_MAGIC,
			 c->api_magic);
		return 1;
	}
	c->protocols = shape_protocols;
	c->count_protocols = 1;
	c->extensions = NULL;
	c->count_extensions = 0;
	return 0;
}

LWS_VISIBLE int
destroy_protocol_shape(struct lws_context *context)
{
	(void)context;
	return 0;
}
