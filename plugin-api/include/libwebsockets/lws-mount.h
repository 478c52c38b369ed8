/*
 * Comlink plugin header: mounts as plugins see them, and per-mount options
 * ("pmo", lws v5). Part of <libwebsockets.h>.
 *
 * A vhost's "mounts" entry may carry "pmo": [{"name": "value"}, ...]. The
 * protocol serving a callback:// mount gets the list with
 * LWS_CALLBACK_HTTP_PMO; at any time it can find a mount with
 * lws_find_mount() and read its options with lws_pmo_get_str().
 */

#ifndef COMLINK_LWS_MOUNT_H
#define COMLINK_LWS_MOUNT_H

enum lws_mount_protocols {
	LWSMPRO_HTTP		= 0,	/* reverse proxy */
	LWSMPRO_HTTPS		= 1,	/* reverse proxy over TLS */
	LWSMPRO_FILE		= 2,	/* files from a directory */
	LWSMPRO_CGI		= 3,
	LWSMPRO_REDIR_HTTP	= 4,
	LWSMPRO_REDIR_HTTPS	= 5,
	LWSMPRO_CALLBACK	= 6,	/* a protocol's callback */
	LWSMPRO_NO_MOUNT	= 7,
};

/*
 * One mount, read-only, owned by the host for as long as its configuration
 * is served (a reload makes new ones; do not keep the pointer across
 * requests). lws v4.3's layout, with lws v4.4/v5's fields after
 * basic_auth_login_file. mount_next is NULL: the host does not chain them.
 */
struct lws_http_mount {
	const struct lws_http_mount *mount_next;
	const char *mountpoint;		/* "/stuff" */
	const char *origin;		/* a dir, a URL or a protocol name */
	const char *def;		/* "default" */
	const char *protocol;
	const struct lws_protocol_vhost_options *cgienv; /* pmo, then cgi-env */
	const struct lws_protocol_vhost_options *extra_mimetypes;
	const struct lws_protocol_vhost_options *interpret;
	int cgi_timeout;
	int cache_max_age;
	unsigned int auth_mask;
	unsigned int cache_reusable:1;
	unsigned int cache_revalidate:1;
	unsigned int cache_intermediaries:1;
	unsigned int cache_no:1;
	unsigned int exact_match:1;
	unsigned int append_path:1;
	unsigned int no_ws_upgrades:1;
	unsigned char origin_protocol;	/* enum lws_mount_protocols */
	unsigned char mountpoint_len;
	const char *basic_auth_login_file;
	/* lws v4.4 and v5 */
	const char *cgi_chroot_path;
	const char *cgi_wd;
	const struct lws_protocol_vhost_options *headers;
	unsigned int keepalive_timeout;
	const char *interceptor_path;
	uint64_t max_http_body_size;
};

/* The mount of wsi's vhost that serves the uri_len bytes of uri_ptr (the
 * longest mountpoint that is the whole URI or a prefix ending at a '/'), or
 * NULL. */
LWS_VISIBLE LWS_EXTERN const struct lws_http_mount *
lws_find_mount(struct lws *wsi, const char *uri_ptr, int uri_len);

/* The pmo option called name of mount, or NULL (also for a NULL mount). */
LWS_VISIBLE LWS_EXTERN const struct lws_protocol_vhost_options *
lws_pmo_search(const struct lws_http_mount *mount, const char *name);

/* 0 and *result set to the value of mount's pmo option name; nonzero when
 * it has none. */
LWS_VISIBLE LWS_EXTERN int
lws_pmo_get_str(const struct lws_http_mount *mount, const char *name,
		const char **result);

#endif /* COMLINK_LWS_MOUNT_H */
