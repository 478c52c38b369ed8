/*
 * "client_relay": client connections opened by a plugin.
 *
 * Protocol "relay" (a browser's WebSocket) takes text commands:
 *   "ws SSL HOST PORT PATH PROTO"  open a WebSocket client connection
 *   "wsu SSL HOST PORT PATH PROTO" the same with the plugin's own user
 *                                  data (info.userdata): "established"
 *                                  then says "own-user"
 *   "get SSL HOST PORT PATH"       open an HTTP client connection (GET)
 *   "post SSL HOST PORT PATH N"    the same, POSTing N bytes ('x') in
 *                                  writes of up to 1000
 *                                  (reports "body TEXT" for the answer)
 *   "send TEXT"                    send TEXT on the open WebSocket client
 *   "close"                        close the WebSocket client
 *   "double"                       two lws_write() in one CLIENT_WRITEABLE
 *                                  (the second must fail): "double RC1 RC2"
 * SSL is the ssl_connection bits (0 = plain). The client connections are
 * bound to protocol "relay-client" (local_protocol_name), which reports
 * what happens back to the browser, one message per event:
 *   "established", "rx TEXT", "error REASON", "closed",
 *   "status N CONTENT-TYPE", "completed BYTES PIECES SUM", "http-closed"
 * "relay-client" also appends every event to the file named by its
 * per-vhost option "log" ("init VERSION" at PROTOCOL_INIT, "destroy" at
 * PROTOCOL_DESTROY), and closes its WebSocket clients when its context is
 * being destroyed (the plugin is swapped for a new build).
 *
 * Protocol "relay-target" is a server for the relay to talk to: it says
 * "hdr VALUE" with the X-Relay header of the handshake, then echoes every
 * message as "echo TEXT".
 */
#include <libwebsockets.h>

/* Set by a test that swaps the plugin for another build of it. */
#ifndef VERSION
#define VERSION "1"
#endif

#define QLEN 16
#define QSZ 300

struct pss {			/* relay and relay-target */
	struct lws *client;
	char q[QLEN][QSZ];
	int head, tail;
};

struct cpss {			/* relay-client */
	char out[QSZ];
	int closing, twice;
	long post_left, post_size;
	char answer[200];
	unsigned long bytes, pieces, sum;
};

struct cvhd {
	char log[256];
};

static struct cvhd *the_cvhd;
static struct lws *clients[32];

static void
push(struct lws *wsi, struct pss *pss, const char *text)
{
	if ((pss->head + 1) % QLEN == pss->tail)
		return;
	lws_strncpy(pss->q[pss->head], text, QSZ);
	pss->head = (pss->head + 1) % QLEN;
	lws_callback_on_writable(wsi);
}

static int
pop(struct lws *wsi, struct pss *pss)
{
	unsigned char buf[LWS_PRE + QSZ];
	size_t n;

	if (pss->tail == pss->head)
		return 0;
	n = strlen(pss->q[pss->tail]);
	memcpy(buf + LWS_PRE, pss->q[pss->tail], n);
	pss->tail = (pss->tail + 1) % QLEN;
	if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
		return -1;
	if (pss->tail != pss->head)
		lws_callback_on_writable(wsi);
	return 0;
}

static void
log_line(const char *text)
{
	FILE *f;

	if (!the_cvhd || !the_cvhd->log[0])
		return;
	f = fopen(the_cvhd->log, "a");
	if (!f)
		return;
	fprintf(f, "%s\n", text);
	fclose(f);
}

/* Tells the browser connection behind client `wsi` (if any) about it. */
static void
report(struct lws *wsi, const char *text)
{
	struct lws *server = (struct lws *)lws_get_opaque_user_data(wsi);

	log_line(text);
	if (server)
		push(server, (struct pss *)lws_wsi_user(server), text);
}

static void
forget_client(struct lws *wsi)
{
	struct lws *server = (struct lws *)lws_get_opaque_user_data(wsi);
	int i;

	for (i = 0; i < 32; i++)
		if (clients[i] == wsi)
			clients[i] = NULL;
	if (server && ((struct pss *)lws_wsi_user(server))->client == wsi)
		((struct pss *)lws_wsi_user(server))->client = NULL;
}

static void
remember_client(struct lws *wsi)
{
	int i;

	for (i = 0; i < 32; i++)
		if (!clients[i]) {
			clients[i] = wsi;
			return;
		}
}

static long post_size;
static int own_user;
static struct cpss the_own_user;

static int
open_client(struct lws *wsi, struct pss *pss, char *args, int ws)
{
	struct lws_client_connect_info i;
	char host[128], path[128], proto[64];
	int ssl = 0, port = 0;
	struct lws *made;

	proto[0] = '\0';
	post_size = 0;
	if (ws == 2) {
		if (sscanf(args, "%d %127s %d %127s %ld", &ssl, host, &port,
			   path, &post_size) < 5)
			return 1;
		ws = 0;
	} else
	if (ws && sscanf(args, "%d %127s %d %127s %63s", &ssl, host, &port,
			 path, proto) < 4)
		return 1;
	if (!ws && sscanf(args, "%d %127s %d %127s", &ssl, host, &port,
			  path) < 4)
		return 1;

	memset(&i, 0, sizeof(i));
	i.context = lws_get_context(wsi);
	i.vhost = lws_get_vhost(wsi);
	i.address = host;
	i.port = port;
	i.ssl_connection = ssl;
	i.path = path;
	i.host = host;
	i.origin = host;
	i.protocol = proto[0] ? proto : NULL;
	i.local_protocol_name = "relay-client";
	i.method = ws ? NULL : (post_size ? "POST" : "GET");
	i.opaque_user_data = wsi;
	if (own_user) {
		memset(&the_own_user, 0, sizeof(the_own_user));
		i.userdata = &the_own_user;
	}
	i.pwsi = &pss->client;

	made = lws_client_connect_via_info(&i);
	if (!made) {
		push(wsi, pss, "connect returned NULL");
		return 0;
	}
	if (made != pss->client)
		push(wsi, pss, "pwsi was not set");
	if (ws)
		remember_client(made);
	return 0;
}

static int
callback_relay(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	       void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	char cmd[QSZ];
	struct cpss *c;

	switch (reason) {
	case LWS_CALLBACK_RECEIVE:
		if (len >= sizeof(cmd))
			len = sizeof(cmd) - 1;
		memcpy(cmd, in, len);
		cmd[len] = '\0';
		own_user = !strncmp(cmd, "wsu ", 4);
		if (own_user)
			return open_client(wsi, pss, cmd + 4, 1);
		if (!strncmp(cmd, "ws ", 3))
			return open_client(wsi, pss, cmd + 3, 1);
		if (!strncmp(cmd, "get ", 4))
			return open_client(wsi, pss, cmd + 4, 0);
		if (!strncmp(cmd, "post ", 5))
			return open_client(wsi, pss, cmd + 5, 2);
		if (!strncmp(cmd, "send ", 5) && pss->client) {
			c = (struct cpss *)lws_wsi_user(pss->client);
			lws_strncpy(c->out, cmd + 5, sizeof(c->out));
			lws_callback_on_writable(pss->client);
			break;
		}
		if (!strcmp(cmd, "double") && pss->client) {
			c = (struct cpss *)lws_wsi_user(pss->client);
			c->twice = 1;
			lws_callback_on_writable(pss->client);
			break;
		}
		if (!strcmp(cmd, "close") && pss->client) {
			c = (struct cpss *)lws_wsi_user(pss->client);
			c->closing = 1;
			lws_callback_on_writable(pss->client);
			break;
		}
		push(wsi, pss, "no client");
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		return pop(wsi, pss);

	case LWS_CALLBACK_CLOSED:
		if (pss->client)
			lws_set_opaque_user_data(pss->client, NULL);
		break;

	default:
		break;
	}
	return 0;
}

static int
callback_relay_client(struct lws *wsi, enum lws_callback_reasons reason,
		      void *user, void *in, size_t len)
{
	struct cpss *c = (struct cpss *)user;
	const struct lws_protocol_vhost_options *pvo;
	unsigned char buf[LWS_PRE + QSZ], big[LWS_PRE + 1000];
	char line[QSZ], body[200];
	char *px, **p;
	int lenx, n, i;
	size_t k;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		the_cvhd = lws_protocol_vh_priv_zalloc(lws_get_vhost(wsi),
				lws_get_protocol(wsi), sizeof(*the_cvhd));
		pvo = lws_pvo_search((const struct lws_protocol_vhost_options *)in,
				     "log");
		if (the_cvhd && pvo)
			lws_strncpy(the_cvhd->log, pvo->value,
				    sizeof(the_cvhd->log));
		log_line("init " VERSION);
		break;

	case LWS_CALLBACK_PROTOCOL_DESTROY:
		log_line("destroy");
		break;

	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (!lws_context_is_being_destroyed(lws_get_context(wsi)))
			break;
		log_line("being destroyed");
		for (i = 0; i < 32; i++)
			if (clients[i]) {
				((struct cpss *)lws_wsi_user(clients[i]))->closing = 1;
				lws_callback_on_writable(clients[i]);
			}
		break;

	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		p = (char **)in;
		if (len < 80)
			return -1;
		n = lws_snprintf(*p, len, "X-Relay: from-plugin\r\n");
		*p += n;
		if (post_size) {
			c->post_size = c->post_left = post_size;
			n = lws_snprintf(*p, len - (size_t)n,
					 "Content-Length: %ld\r\n", post_size);
			*p += n;
			lws_client_http_body_pending(wsi, 1);
			lws_callback_on_writable(wsi);
		}
		break;

	case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
		if (c->post_left <= 0)
			break;
		k = c->post_left > 1000 ? 1000 : (size_t)c->post_left;
		memset(big + LWS_PRE, 'x', k);
		c->post_left -= (long)k;
		if (lws_write(wsi, big + LWS_PRE, k, c->post_left ?
			      LWS_WRITE_HTTP : LWS_WRITE_HTTP_FINAL) < (int)k)
			return -1;
		if (c->post_left)
			lws_callback_on_writable(wsi);
		else
			lws_client_http_body_pending(wsi, 0);
		break;

	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		lws_snprintf(line, sizeof(line), "error %s",
			     in ? (const char *)in : "(null)");
		report(wsi, line);
		forget_client(wsi);
		break;

	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		report(wsi, c == &the_own_user ? "established own-user" :
						  "established");
		break;

	case LWS_CALLBACK_CLIENT_RECEIVE:
		k = len < 200 ? len : 200;
		memcpy(body, in, k);
		body[k] = '\0';
		lws_snprintf(line, sizeof(line), "rx %s", body);
		report(wsi, line);
		break;

	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (c->closing)
			return -1;
		if (c->twice) {
			c->twice = 0;
			memcpy(buf + LWS_PRE, "one", 3);
			n = lws_write(wsi, buf + LWS_PRE, 3, LWS_WRITE_TEXT);
			memcpy(buf + LWS_PRE, "two", 3);
			i = lws_write(wsi, buf + LWS_PRE, 3, LWS_WRITE_TEXT);
			lws_snprintf(line, sizeof(line), "double %d %d", n, i);
			report(wsi, line);
			break;
		}
		if (!c->out[0])
			break;
		k = strlen(c->out);
		memcpy(buf + LWS_PRE, c->out, k);
		c->out[0] = '\0';
		if (lws_write(wsi, buf + LWS_PRE, k, LWS_WRITE_TEXT) < (int)k)
			return -1;
		break;

	case LWS_CALLBACK_CLIENT_CLOSED:
		report(wsi, "closed");
		forget_client(wsi);
		break;

	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		if (lws_hdr_copy(wsi, body, sizeof(body),
				 WSI_TOKEN_HTTP_CONTENT_TYPE) < 0)
			body[0] = '\0';
		lws_snprintf(line, sizeof(line), "status %u %s",
			     lws_http_client_http_response(wsi), body);
		report(wsi, line);
		break;

	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
		/* Small reads, so a body comes in several pieces. */
		px = (char *)buf + LWS_PRE;
		lenx = 100;
		if (lws_http_client_read(wsi, &px, &lenx) < 0)
			return -1;
		break;

	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		k = strlen(c->answer);
		if (k + len < sizeof(c->answer)) {
			memcpy(c->answer + k, in, len);
			c->answer[k + len] = '\0';
		}
		c->pieces++;
		c->bytes += len;
		for (k = 0; k < len; k++)
			c->sum += ((unsigned char *)in)[k];
		break;

	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		if (c->post_size)
			lws_snprintf(line, sizeof(line), "body %s", c->answer);
		else
			lws_snprintf(line, sizeof(line), "completed %lu %lu %lu",
				     c->bytes, c->pieces, c->sum);
		report(wsi, line);
		break;

	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		report(wsi, "http-closed");
		forget_client(wsi);
		break;

	default:
		break;
	}
	return 0;
}

static int
callback_relay_target(struct lws *wsi, enum lws_callback_reasons reason,
		      void *user, void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	char line[QSZ], hdr[128];
	size_t k;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		if (lws_hdr_custom_copy(wsi, hdr, sizeof(hdr), "x-relay:", 8) < 0)
			lws_strncpy(hdr, "(none)", sizeof(hdr));
		lws_snprintf(line, sizeof(line), "hdr %s", hdr);
		push(wsi, pss, line);
		break;

	case LWS_CALLBACK_RECEIVE:
		k = len < 200 ? len : 200;
		memcpy(hdr, in, k < sizeof(hdr) - 1 ? k : sizeof(hdr) - 1);
		hdr[k < sizeof(hdr) - 1 ? k : sizeof(hdr) - 1] = '\0';
		lws_snprintf(line, sizeof(line), "echo %s", hdr);
		push(wsi, pss, line);
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		return pop(wsi, pss);

	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "relay", callback_relay, sizeof(struct pss), 0, 0, NULL, 0 },
	{ "relay-client", callback_relay_client, sizeof(struct cpss), 0, 0, NULL, 0 },
	{ "relay-target", callback_relay_target, sizeof(struct pss), 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

LWS_VISIBLE const lws_plugin_protocol_t client_relay = {
	.hdr = { "client_relay", "lws_protocol_plugin", LWS_BUILD_HASH,
		 LWS_PLUGIN_API_MAGIC },
	.protocols = protocols,
	.count_protocols = LWS_ARRAY_SIZE(protocols),
};
