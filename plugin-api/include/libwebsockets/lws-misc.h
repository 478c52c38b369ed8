/*
 * Comlink plugin header: connection / vhost / context accessors and small
 * helpers. Part of <libwebsockets.h>.
 */

#ifndef COMLINK_LWS_MISC_H
#define COMLINK_LWS_MISC_H

/* ---------------------------------------------------------------------------
 * Pure helpers (no host involvement).
 */

/*
 * snprintf whose result can be added to a write pointer safely: returns the
 * number of characters stored, or `size` when the output was cut short
 * (never the untruncated length snprintf reports); 0 when size is 0 or str
 * is NULL. The output is always NUL-terminated when size > 0. This is lws's
 * own return convention, kept so that `p += lws_snprintf(p, end - p, ...)`
 * behaves as it does with lws. A host function (exported by lwsws, as lws
 * exports it), so plugins built against lws's own headers find it too.
 */
LWS_VISIBLE LWS_EXTERN int
lws_snprintf(char *str, size_t size, const char *format, ...) LWS_FORMAT(3);

/*
 * Copy at most size - 1 characters of src and always NUL-terminate (unlike
 * strncpy). Returns dest. size must be at least 1.
 */
static LWS_INLINE char *
lws_strncpy(char *dest, const char *src, size_t size)
{
	size_t n = 0;

	if (!size)
		return dest;
	while (n + 1 < size && src[n]) {
		dest[n] = src[n];
		n++;
	}
	dest[n] = '\0';
	return dest;
}

/* lws_strncpy() of at most size1 characters of a possibly unterminated src
 * into a buffer of destsize bytes. */
#define lws_strnncpy(dest, src, size1, destsize) \
	lws_strncpy(dest, src, (size_t)((size1) + 1) < (size_t)(destsize) ? \
				(size_t)((size1) + 1) : (size_t)(destsize))

/*
 * open(2) with close-on-exec set, so that CGI children do not inherit plugin
 * files. The third argument (mode) is read only with O_CREAT / O_TMPFILE.
 */
static LWS_INLINE int
lws_open(const char *file, int oflag, ...)
{
	unsigned int mode = 0;
	va_list ap;

	va_start(ap, oflag);
	if ((oflag & O_CREAT) == O_CREAT
#if defined(O_TMPFILE)
	    || (oflag & O_TMPFILE) == O_TMPFILE
#endif
	)
		mode = va_arg(ap, unsigned int);
	va_end(ap);
#if defined(O_CLOEXEC)
	oflag |= O_CLOEXEC;
#endif
	return open(file, oflag, (mode_t)mode);
}

/* ---------------------------------------------------------------------------
 * Host functions: where a connection belongs.
 */

LWS_VISIBLE LWS_EXTERN struct lws_context * LWS_WARN_UNUSED_RESULT
lws_get_context(const struct lws *wsi);

LWS_VISIBLE LWS_EXTERN struct lws_vhost *
lws_get_vhost(struct lws *wsi);

/* The vhost's configured name. */
LWS_VISIBLE LWS_EXTERN const char *
lws_get_vhost_name(struct lws_vhost *vhost);

/* The port the vhost listens on. */
LWS_VISIBLE LWS_EXTERN int LWS_WARN_UNUSED_RESULT
lws_get_vhost_listen_port(struct lws_vhost *vhost);

/* The vhost's configured interface (address or name), or NULL for all. */
LWS_VISIBLE LWS_EXTERN const char *
lws_get_vhost_iface(struct lws_vhost *vhost);

/* Index of the service thread wsi belongs to (0 .. count_threads - 1). */
LWS_VISIBLE LWS_EXTERN int
lws_get_tsi(struct lws *wsi);

/* The same as lws_get_tsi() (lws has both names). */
LWS_VISIBLE LWS_EXTERN int
lws_wsi_tsi(struct lws *wsi);

/* Number of service threads. */
LWS_VISIBLE LWS_EXTERN int LWS_WARN_UNUSED_RESULT
lws_get_count_threads(struct lws_context *context);

/* The per-session data of wsi (the `user` of its callbacks). */
LWS_VISIBLE LWS_EXTERN void *
lws_wsi_user(struct lws *wsi);

/* A pointer-sized slot per connection for the plugin's own use. */
LWS_VISIBLE LWS_EXTERN void *
lws_get_opaque_user_data(const struct lws *wsi);

LWS_VISIBLE LWS_EXTERN void
lws_set_opaque_user_data(struct lws *wsi, void *data);

/* Nonzero if the connection came in over TLS. */
LWS_VISIBLE LWS_EXTERN int
lws_is_ssl(struct lws *wsi);

/*
 * Peer's numeric address as text into name (namelen bytes, NUL-terminated);
 * returns name, or NULL (name untouched) if unknown.
 */
LWS_VISIBLE LWS_EXTERN const char *
lws_get_peer_simple(struct lws *wsi, char *name, size_t namelen);

/* ---------------------------------------------------------------------------
 * Host functions: the server.
 */

/* Version text of the serving library (the host's, lws-style). */
LWS_VISIBLE LWS_EXTERN const char * LWS_WARN_UNUSED_RESULT
lws_get_library_version(void);

/* This machine's host name, as the server reports it. */
LWS_VISIBLE LWS_EXTERN const char * LWS_WARN_UNUSED_RESULT
lws_canonical_hostname(struct lws_context *context);

/*
 * The one call that is safe from any thread: wake every service thread, which
 * then sends LWS_CALLBACK_EVENT_WAIT_CANCELLED to every protocol of every
 * vhost. How other threads hand work to the loop.
 */
LWS_VISIBLE LWS_EXTERN void
lws_cancel_service(struct lws_context *context);

/* Nonzero once the server is stopping (SIGTERM/SIGINT). Every protocol gets
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED when that starts, so one that holds
 * endless responses (event streams, long polls) can end them cleanly.
 */
LWS_VISIBLE LWS_EXTERN int
lws_context_is_being_destroyed(struct lws_context *context);

/* Value of a server command-line option `val` (e.g. "--lws-stub"), or NULL.
 * Comlink passes none through, so this returns NULL. */
LWS_VISIBLE LWS_EXTERN const char *
lws_cmdline_option_cx(const struct lws_context *cx, const char *val);

/*
 * Copy string into escaped (len bytes) for use inside a JSON string, lws's
 * way (\t \n \r \\ escaped, '"' and other control characters as \u00XX),
 * stopping early rather than overflowing. *in_used, if not NULL, gets how
 * many input bytes were used. Returns escaped.
 */
LWS_VISIBLE LWS_EXTERN const char *
lws_json_purify(char *escaped, const char *string, int len, int *in_used);

/*
 * lws-server-status support: write a JSON description of the server (lws's
 * field names) into buf; returns the length written. hide_vhosts nonzero
 * leaves vhost details out.
 */
LWS_VISIBLE LWS_EXTERN int
lws_json_dump_context(const struct lws_context *context, char *buf, int len,
		      int hide_vhosts);

/* Comlink: report a figure for the server's metrics endpoint (the global
 * "metrics-path"). kind is "counter" or "gauge"; labels are Prometheus
 * labels without braces (e.g. "vhost=\"a\""), or "". Returns 0, or -1 when
 * the name is not a valid metric name. */
LWS_VISIBLE LWS_EXTERN int
comlink_metric_set(const char *name, const char *help, const char *kind,
		   const char *labels, double value);

/* Comlink: report on a part of the service this plugin provides, for the
 * server's health check (the global "health-path"). ok 0 makes it answer
 * 503, naming vhost (NULL or "": the whole server), part (e.g. "packet
 * journal") and why, until the same vhost and part report ok nonzero.
 * Returns 0, or -1 when part is NULL or empty. */
LWS_VISIBLE LWS_EXTERN int
comlink_health_set(const char *vhost, const char *part, int ok,
		   const char *why);

/* Comlink: the word the access log shows as this request's user (lws
 * always writes "-"), e.g. the name of the credential the client presented.
 * Call it before answering: by LWS_CALLBACK_HTTP, or in
 * LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION for a WebSocket upgrade. Never
 * pass a secret. NULL clears it. Returns 0, or -1 for a bad wsi. */
LWS_VISIBLE LWS_EXTERN int
comlink_access_log_user(struct lws *wsi, const char *user);

#endif /* COMLINK_LWS_MISC_H */
