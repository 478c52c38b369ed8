/*
 * Comlink plugin header: protocols, per-vhost options and the two plugin
 * shapes. Part of <libwebsockets.h>.
 *
 * A plugin file libprotocol_<name>.so is found by the host in one of two
 * ways (both supported, checked in this order of preference by the host):
 *
 *  New shape (lws v4.1+): export a const lws_plugin_protocol_t named <name>
 *  (or protocol_<name>), with hdr.api_magic = LWS_PLUGIN_API_MAGIC and
 *  hdr._class = "lws_protocol_plugin".
 *
 *  Old shape (lws v2 - v4.0): export
 *	int init_protocol_<name>(struct lws_context *, struct lws_plugin_capability *);
 *	int destroy_protocol_<name>(struct lws_context *);
 *  The host fills c->api_magic with LWS_PLUGIN_API_MAGIC before calling
 *  init_; the plugin fills the rest and returns 0, or nonzero to refuse.
 */

#ifndef COMLINK_LWS_PROTOCOLS_PLUGINS_H
#define COMLINK_LWS_PROTOCOLS_PLUGINS_H

/*
 * One protocol: a WebSocket subprotocol name, a callback:// target and a
 * ws-protocols key in the config all name it. Layout is lws's and only ever
 * grows at the end; short initialisers leave the tail zero.
 */
struct lws_protocols {
	const char *name;
	lws_callback_function *callback;
	size_t per_session_data_size;	/* bytes of zeroed "user" per connection */
	size_t rx_buffer_size;		/* largest ws fragment delivered at once */
	unsigned int id;		/* the plugin's own; the host ignores it */
	void *user;			/* the plugin's own; the host ignores it */
	size_t tx_packet_size;		/* 0: chunk sends by rx_buffer_size */
};

/* An all-zero entry, for protocol tables terminated the lws way. */
#define LWS_PROTOCOL_LIST_TERM { NULL, NULL, 0, 0, 0, NULL, 0 }

/*
 * Per-vhost options ("pvo"): one node per key of a vhost's ws-protocols
 * entry for this protocol, values always strings. The list arrives as `in`
 * with LWS_CALLBACK_PROTOCOL_INIT. `options` holds nested entries (a child
 * list), where the config nests objects.
 */
struct lws_protocol_vhost_options {
	const struct lws_protocol_vhost_options *next;
	const struct lws_protocol_vhost_options *options;
	const char *name;
	const char *value;
};

/* ---------------------------------------------------------------------------
 * Plugin identification.
 *
 * One magic for both shapes. Plugins compiled against this header carry 180
 * (what old-ABI plugins expect the host to pass); the host also accepts 190,
 * 191 and 192 in an exported struct built against real lws headers.
 *
 * Define COMLINK_LWS_V5 before including <libwebsockets.h> to build a plugin
 * the way lws v5 does: the exported struct carries magic 192 and a
 * `priority` (plugins are ordered by it, highest first, so a plugin's
 * protocols win over a same-named protocol of one with a lower priority;
 * magics below 192 count as 0). Only the exported-struct shape exists in
 * lws v5.
 */
#if defined(COMLINK_LWS_V5)
#define LWS_PLUGIN_API_MAGIC 192
#else
#define LWS_PLUGIN_API_MAGIC 180
#endif

/* Old shape: the host sets api_magic, the plugin fills the rest. */
struct lws_plugin_capability {
	unsigned int api_magic;
	const struct lws_protocols *protocols;
	int count_protocols;
	const struct lws_extension *extensions;	/* must be NULL */
	int count_extensions;			/* must be 0 */
};

typedef int (*lws_plugin_init_func)(struct lws_context *,
				    struct lws_plugin_capability *);
typedef int (*lws_plugin_destroy_func)(struct lws_context *);

/*
 * New shape: common header (lws v4.3 layout; lws v5 adds an `unsigned int
 * priority` after api_magic, which sits in what is tail padding here, and
 * marks it with magic 192).
 */
typedef struct lws_plugin_header {
	const char *name;		/* for logs and duplicate detection */
	const char *_class;		/* "lws_protocol_plugin" */
	const char *lws_build_hash;	/* LWS_BUILD_HASH */
	unsigned int api_magic;		/* LWS_PLUGIN_API_MAGIC */
#if defined(COMLINK_LWS_V5)
	unsigned int priority;		/* higher: earlier (magic 192) */
#endif
} lws_plugin_header_t;

typedef struct lws_plugin_protocol {
	lws_plugin_header_t hdr;
	const struct lws_protocols *protocols;
	const struct lws_extension *extensions;	/* must be NULL */
	int count_protocols;
	int count_extensions;			/* must be 0 */
} lws_plugin_protocol_t;

/* ---------------------------------------------------------------------------
 * Host functions: protocols and their per-vhost state.
 */

/* The protocol this connection is bound to. */
LWS_VISIBLE LWS_EXTERN const struct lws_protocols *
lws_get_protocol(struct lws *wsi);

/* Old name of lws_get_protocol(). */
LWS_VISIBLE LWS_EXTERN const struct lws_protocols *
lws_protocol_get(struct lws *wsi);

/* The protocol called `name` on vhost vh, or NULL. */
LWS_VISIBLE LWS_EXTERN const struct lws_protocols *
lws_vhost_name_to_protocol(struct lws_vhost *vh, const char *name);

/*
 * Zeroed storage of `size` bytes for this vhost + protocol ("vhd"), owned and
 * freed by the host after LWS_CALLBACK_PROTOCOL_DESTROY; NULL on failure.
 * Call it once (usually in PROTOCOL_INIT). `prot` is matched by address, then
 * by name, as lws does.
 */
LWS_VISIBLE LWS_EXTERN void *
lws_protocol_vh_priv_zalloc(struct lws_vhost *vhost,
			    const struct lws_protocols *prot, int size);

/* The block made by lws_protocol_vh_priv_zalloc(), or NULL. */
LWS_VISIBLE LWS_EXTERN void *
lws_protocol_vh_priv_get(struct lws_vhost *vhost,
			 const struct lws_protocols *prot);

/* The pvo node called `name` in the list starting at pvo, or NULL. */
LWS_VISIBLE LWS_EXTERN const struct lws_protocol_vhost_options *
lws_pvo_search(const struct lws_protocol_vhost_options *pvo, const char *name);

/*
 * Look `name` up in the pvo list `in`; on success set *result to its value
 * and return 0, else return nonzero.
 */
LWS_VISIBLE LWS_EXTERN int
lws_pvo_get_str(void *in, const char *name, const char **result);

/*
 * The standard do-nothing callback (what lws uses for protocols[0]): answers
 * HTTP with 404 and completes transactions. Plugins may chain to it.
 */
LWS_VISIBLE LWS_EXTERN int
lws_callback_http_dummy(struct lws *wsi, enum lws_callback_reasons reason,
			void *user, void *in, size_t len);

#endif /* COMLINK_LWS_PROTOCOLS_PLUGINS_H */
