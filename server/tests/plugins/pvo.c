/*
 * "pvo-echo" (old init_/destroy_ ABI, libprotocol_pvo.so): PROTOCOL_INIT
 * walks the per-vhost options it gets in `in` and keeps them in its vh_priv;
 * ESTABLISHED sends them to the client. PROTOCOL_DESTROY appends a line to
 * the file named by the "marker" option. "fail-init" makes PROTOCOL_INIT
 * refuse on that vhost.
 */
#include <libwebsockets.h>

struct vhd {
	int initialised;	/* set by INIT: 0 before means the block was fresh */
	int fresh;
	char greeting[64];
	char color[64];
	char keys[256];		/* pvo names in list order, comma separated */
	char marker[512];
	char vhost[64];
	int port;
};

struct pss {
	int sent;
};

/* The last "marker" seen, for destroy_protocol_pvo(). */
static char g_marker[512];

static int
callback_pvo(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	     void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	struct vhd *vhd = (struct vhd *)lws_protocol_vh_priv_get(
			lws_get_vhost(wsi), lws_get_protocol(wsi));
	const struct lws_protocol_vhost_options *pvo;
	unsigned char buf[LWS_PRE + 1024];
	const char *s;
	FILE *f;
	int n;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		if (lws_pvo_search(in, "fail-init")) {
			lwsl_warn("pvo-echo: refusing init on %s\n",
				  lws_get_vhost_name(lws_get_vhost(wsi)));
			return 1;
		}
		vhd = lws_protocol_vh_priv_zalloc(lws_get_vhost(wsi),
				lws_get_protocol(wsi), sizeof(*vhd));
		if (!vhd)
			return 1;
		vhd->fresh = !vhd->initialised;
		vhd->initialised = 1;
		if (!lws_pvo_get_str(in, "greeting", &s))
			lws_strncpy(vhd->greeting, s, sizeof(vhd->greeting));
		pvo = lws_pvo_search(in, "color");
		if (pvo)
			lws_strncpy(vhd->color, pvo->value, sizeof(vhd->color));
		if (!lws_pvo_get_str(in, "marker", &s)) {
			lws_strncpy(vhd->marker, s, sizeof(vhd->marker));
			lws_strncpy(g_marker, s, sizeof(g_marker));
		}
		for (pvo = in; pvo; pvo = pvo->next) {
			if (vhd->keys[0])
				strncat(vhd->keys, ",", sizeof(vhd->keys) -
					strlen(vhd->keys) - 1);
			strncat(vhd->keys, pvo->name, sizeof(vhd->keys) -
				strlen(vhd->keys) - 1);
		}
		lws_strncpy(vhd->vhost, lws_get_vhost_name(lws_get_vhost(wsi)),
			    sizeof(vhd->vhost));
		vhd->port = lws_get_vhost_listen_port(lws_get_vhost(wsi));
		break;

	case LWS_CALLBACK_PROTOCOL_DESTROY:
		if (!vhd || !vhd->marker[0])
			break;
		f = fopen(vhd->marker, "a");
		if (f) {
			fprintf(f, "destroy %s %s\n", vhd->vhost, vhd->greeting);
			fclose(f);
		}
		break;

	case LWS_CALLBACK_ESTABLISHED:
		lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (pss->sent || !vhd)
			break;
		pss->sent = 1;
		n = lws_snprintf((char *)buf + LWS_PRE, 1024,
				 "vhost=%s greeting=%s color=%s keys=%s fresh=%d",
				 vhd->vhost, vhd->greeting, vhd->color,
				 vhd->keys, vhd->fresh);
		if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
			return -1;
		break;

	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "pvo-echo", callback_pvo, sizeof(struct pss), 0, 0, NULL, 0 },
};

LWS_VISIBLE int
init_protocol_pvo(struct lws_context *context, struct lws_plugin_capability *c)
{
	if (c->api_magic != LWS_PLUGIN_API_MAGIC)
		return 1;
	c->protocols = protocols;
	c->count_protocols = LWS_ARRAY_SIZE(protocols);
	c->extensions = NULL;
	c->count_extensions = 0;
	return 0;
}

LWS_VISIBLE int
destroy_protocol_pvo(struct lws_context *context)
{
	FILE *f;

	if (!g_marker[0])
		return 0;
	f = fopen(g_marker, "a");
	if (f) {
		fprintf(f, "destroy_protocol_pvo\n");
		fclose(f);
	}
	return 0;
}
