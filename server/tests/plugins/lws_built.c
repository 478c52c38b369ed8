/*
 * Test plugin compiled the way one built against lws's own headers is: it
 * does not include Comlink's header, and the lws calls it makes are
 * external functions there -- the logging macros call _lws_log(), and
 * lws_snprintf() is a function -- so it loads only if lwsws exports them.
 * It is an lws v5 plugin (magic 192 with its priority). At PROTOCOL_INIT it
 * logs, at user level, what lws_snprintf made of a too-long string.
 */
#include <stddef.h>
#include <stdint.h>

struct lws;

typedef int lws_callback_function(struct lws *wsi, int reason, void *user,
				  void *in, size_t len);

struct lws_protocols {
	const char *name;
	lws_callback_function *callback;
	size_t per_session_data_size;
	size_t rx_buffer_size;
	unsigned int id;
	void *user;
	size_t tx_packet_size;
};

typedef struct lws_plugin_header {
	const char *name;
	const char *_class;
	const char *lws_build_hash;
	unsigned int api_magic;
	unsigned int priority;
} lws_plugin_header_t;

typedef struct lws_plugin_protocol {
	lws_plugin_header_t hdr;
	const struct lws_protocols *protocols;
	const void *extensions;
	int count_protocols;
	int count_extensions;
} lws_plugin_protocol_t;

/* As lws declares them. */
void _lws_log(int filter, const char *format, ...);
int lws_snprintf(char *str, size_t size, const char *format, ...);

#define LLL_USER (1 << 10)
#define lwsl_user(...) _lws_log(LLL_USER, __VA_ARGS__)
#define LWS_CALLBACK_PROTOCOL_INIT 27

static int
callback_lws_built(struct lws *wsi, int reason, void *user, void *in,
		   size_t len)
{
	char b[16];
	int n;

	(void)wsi;
	(void)user;
	(void)in;
	(void)len;
	if (reason == LWS_CALLBACK_PROTOCOL_INIT) {
		n = lws_snprintf(b, sizeof(b), "%s", "0123456789abcdefghij");
		lwsl_user("lws-built plugin: init, lws_snprintf gave %d: %s\n",
			  n, b);
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "lws-built", callback_lws_built, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

__attribute__((visibility("default"))) const lws_plugin_protocol_t lws_built = {
	{ "lws built", "lws_protocol_plugin", "v5.0.0-lws", 192, 0 },
	protocols, NULL, 1, 0
};
