/*
 * "writes": the write rules. Every connection greets with "hello"; then
 * each text command it receives selects what the next WRITEABLE does:
 *   "double"  two lws_write() in one WRITEABLE; the second must fail; the
 *             return codes follow as "double rc1 rc2".
 *   "choked"  write, check lws_send_pipe_choked(), write again;
 *             "choked rc1 choked rc2".
 *   "fail"    RECEIVE returns -1 (close, no reason).
 *   "close"   lws_close_reason(1008, "policy says no") and return -1.
 *   "all"     lws_callback_on_writable_all_protocol(): every connection of
 *             the protocol then sends "gen N".
 *   "info"    "threads=N tsi=T".
 */
#include <libwebsockets.h>

struct vhd {
	volatile int gen;
};

struct pss {
	int greeted;
	int seen_gen;
	char cmd[32];
	char pending[128];
};

static int
callback_writes(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	struct vhd *vhd = (struct vhd *)lws_protocol_vh_priv_get(
			lws_get_vhost(wsi), lws_get_protocol(wsi));
	unsigned char buf[LWS_PRE + 256];
	unsigned char *p = buf + LWS_PRE;
	int n, m1, m2, choked;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		vhd = lws_protocol_vh_priv_zalloc(lws_get_vhost(wsi),
				lws_get_protocol(wsi), sizeof(*vhd));
		break;

	case LWS_CALLBACK_ESTABLISHED:
		pss->seen_gen = vhd->gen;
		lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_RECEIVE:
		if (len >= sizeof(pss->cmd))
			len = sizeof(pss->cmd) - 1;
		memcpy(pss->cmd, in, len);
		pss->cmd[len] = '\0';
		if (!strcmp(pss->cmd, "fail"))
			return -1;
		if (!strcmp(pss->cmd, "close")) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
					 (unsigned char *)"policy says no", 14);
			return -1;
		}
		if (!strcmp(pss->cmd, "all")) {
			vhd->gen++;
			pss->cmd[0] = '\0';
			lws_callback_on_writable_all_protocol(
				lws_get_context(wsi), lws_get_protocol(wsi));
			break;
		}
		lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!pss->greeted) {
			pss->greeted = 1;
			memcpy(p, "hello", 5);
			if (lws_write(wsi, p, 5, LWS_WRITE_TEXT) < 5)
				return -1;
			if (pss->cmd[0] || pss->seen_gen != vhd->gen)
				lws_callback_on_writable(wsi);
			break;
		}
		if (pss->pending[0]) {
			n = (int)strlen(pss->pending);
			memcpy(p, pss->pending, (size_t)n);
			pss->pending[0] = '\0';
			if (lws_write(wsi, p, (size_t)n, LWS_WRITE_TEXT) < n)
				return -1;
			break;
		}
		if (pss->seen_gen != vhd->gen) {
			pss->seen_gen = vhd->gen;
			n = lws_snprintf((char *)p, 64, "gen %d", pss->seen_gen);
			if (lws_write(wsi, p, (size_t)n, LWS_WRITE_TEXT) < n)
				return -1;
			if (pss->cmd[0])
				lws_callback_on_writable(wsi);
			break;
		}
		if (!strcmp(pss->cmd, "double")) {
			pss->cmd[0] = '\0';
			memcpy(p, "first", 5);
			m1 = lws_write(wsi, p, 5, LWS_WRITE_TEXT);
			memcpy(p, "second", 6);
			m2 = lws_write(wsi, p, 6, LWS_WRITE_TEXT);
			lws_snprintf(pss->pending, sizeof(pss->pending),
				     "double %d %d", m1, m2);
			lws_callback_on_writable(wsi);
			break;
		}
		if (!strcmp(pss->cmd, "choked")) {
			pss->cmd[0] = '\0';
			memcpy(p, "one", 3);
			m1 = lws_write(wsi, p, 3, LWS_WRITE_TEXT);
			choked = lws_send_pipe_choked(wsi);
			m2 = -100;
			if (!choked) {
				memcpy(p, "two", 3);
				m2 = lws_write(wsi, p, 3, LWS_WRITE_TEXT);
			}
			lws_snprintf(pss->pending, sizeof(pss->pending),
				     "choked %d %d %d", m1, choked, m2);
			lws_callback_on_writable(wsi);
			break;
		}
		if (!strcmp(pss->cmd, "info")) {
			pss->cmd[0] = '\0';
			n = lws_snprintf((char *)p, 64, "threads=%d tsi=%d",
					 lws_get_count_threads(lws_get_context(wsi)),
					 lws_get_tsi(wsi));
			if (lws_write(wsi, p, (size_t)n, LWS_WRITE_TEXT) < n)
				return -1;
			break;
		}
		break;

	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "writes", callback_writes, sizeof(struct pss), 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

LWS_VISIBLE const lws_plugin_protocol_t writes = {
	.hdr = { "writes", "lws_protocol_plugin", LWS_BUILD_HASH,
		 LWS_PLUGIN_API_MAGIC },
	.protocols = protocols,
	.count_protocols = LWS_ARRAY_SIZE(protocols),
};
