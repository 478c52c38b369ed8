/*
 * Comlink plugin header: logging. Part of <libwebsockets.h>.
 *
 * lws logs through a variadic library function; the Comlink host cannot
 * define one, so formatting happens here, in the plugin, and the host gets a
 * finished line:
 *
 *   int  lwsl_visible(int level);                    -- host: is level on?
 *   void comlink_log_line(int level, const char *line); -- host: emit it
 *
 * `level` is one LLL_* bit. `line` is NUL-terminated, at most
 * COMLINK_LOG_LINE_MAX - 1 bytes (longer messages are cut), and usually ends
 * in '\n' as lws log calls do; the host drops one trailing '\n' if present and
 * writes the line with its own timestamp and level tag.
 */

#ifndef COMLINK_LWS_LOGS_H
#define COMLINK_LWS_LOGS_H

#define LLL_ERR (1 << 0)
#define LLL_WARN (1 << 1)
#define LLL_NOTICE (1 << 2)
#define LLL_INFO (1 << 3)
#define LLL_DEBUG (1 << 4)
#define LLL_PARSER (1 << 5)
#define LLL_HEADER (1 << 6)
#define LLL_EXT (1 << 7)
#define LLL_CLIENT (1 << 8)
#define LLL_LATENCY (1 << 9)
#define LLL_USER (1 << 10)
#define LLL_THREAD (1 << 11)
#define LLL_COUNT (12) /* how many level bits exist */

#define LLLF_SECRECY_PII (1 << 16)
#define LLLF_SECRECY_BEARER (1 << 17)
#define LLLF_LOG_TIMESTAMP (1 << 18)
#define LLLF_LOG_CONTEXT_AWARE (1 << 30)

/* Longest line handed to the host, including the NUL. */
#define COMLINK_LOG_LINE_MAX 1024

/* Host: nonzero when messages of this level are currently written. */
LWS_VISIBLE LWS_EXTERN int
lwsl_visible(int level);

/* Host: write one formatted line (see top of file). */
LWS_VISIBLE LWS_EXTERN void
comlink_log_line(int level, const char *line);

/* Host: a short printable id of a connection, for log lines. */
LWS_VISIBLE LWS_EXTERN const char *
lws_wsi_tag(struct lws *wsi);

static LWS_INLINE void
_lws_logv(int filter, const char *format, va_list vl)
{
	char line[COMLINK_LOG_LINE_MAX];

	if (!lwsl_visible(filter))
		return;
	if (vsnprintf(line, sizeof(line), format, vl) < 0)
		return;
	comlink_log_line(filter, line);
}

static LWS_INLINE void
_lws_log(int filter, const char *format, ...) LWS_FORMAT(2);

static LWS_INLINE void
_lws_log(int filter, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	_lws_logv(filter, format, ap);
	va_end(ap);
}

/*
 * One macro per level. All are compiled in (lws drops info/debug from release
 * builds at compile time); the host's lwsl_visible() decides at run time.
 */
#define lwsl_err(...) _lws_log(LLL_ERR, __VA_ARGS__)
#define lwsl_warn(...) _lws_log(LLL_WARN, __VA_ARGS__)
#define lwsl_notice(...) _lws_log(LLL_NOTICE, __VA_ARGS__)
#define lwsl_info(...) _lws_log(LLL_INFO, __VA_ARGS__)
#define lwsl_debug(...) _lws_log(LLL_DEBUG, __VA_ARGS__)
#define lwsl_parser(...) _lws_log(LLL_PARSER, __VA_ARGS__)
#define lwsl_header(...) _lws_log(LLL_HEADER, __VA_ARGS__)
#define lwsl_ext(...) _lws_log(LLL_EXT, __VA_ARGS__)
#define lwsl_client(...) _lws_log(LLL_CLIENT, __VA_ARGS__)
#define lwsl_latency(...) _lws_log(LLL_LATENCY, __VA_ARGS__)
#define lwsl_thread(...) _lws_log(LLL_THREAD, __VA_ARGS__)
#define lwsl_user(...) _lws_log(LLL_USER, __VA_ARGS__)

/*
 * lws v4.3+ "object" logging: lwsl_cx_*(context, ...), lwsl_vhost_*(vhost,
 * ...), lwsl_wsi_*(wsi, ...). The object only labels the line in lws; here it
 * is evaluated and dropped, and the message goes out like lwsl_*().
 */
#define _lws_log_obj(_obj, _lvl, ...) \
	do { (void)(_obj); _lws_log(_lvl, __VA_ARGS__); } while (0)

#define lwsl_cx(_c, _lvl, ...) _lws_log_obj(_c, _lvl, __VA_ARGS__)
#define lwsl_vhost(_v, _lvl, ...) _lws_log_obj(_v, _lvl, __VA_ARGS__)
#define lwsl_wsi(_w, _lvl, ...) _lws_log_obj(_w, _lvl, __VA_ARGS__)

#define lwsl_cx_err(_c, ...) lwsl_cx(_c, LLL_ERR, __VA_ARGS__)
#define lwsl_cx_warn(_c, ...) lwsl_cx(_c, LLL_WARN, __VA_ARGS__)
#define lwsl_cx_notice(_c, ...) lwsl_cx(_c, LLL_NOTICE, __VA_ARGS__)
#define lwsl_cx_info(_c, ...) lwsl_cx(_c, LLL_INFO, __VA_ARGS__)
#define lwsl_cx_debug(_c, ...) lwsl_cx(_c, LLL_DEBUG, __VA_ARGS__)
#define lwsl_cx_user(_c, ...) lwsl_cx(_c, LLL_USER, __VA_ARGS__)

#define lwsl_vhost_err(_v, ...) lwsl_vhost(_v, LLL_ERR, __VA_ARGS__)
#define lwsl_vhost_warn(_v, ...) lwsl_vhost(_v, LLL_WARN, __VA_ARGS__)
#define lwsl_vhost_notice(_v, ...) lwsl_vhost(_v, LLL_NOTICE, __VA_ARGS__)
#define lwsl_vhost_info(_v, ...) lwsl_vhost(_v, LLL_INFO, __VA_ARGS__)
#define lwsl_vhost_debug(_v, ...) lwsl_vhost(_v, LLL_DEBUG, __VA_ARGS__)
#define lwsl_vhost_user(_v, ...) lwsl_vhost(_v, LLL_USER, __VA_ARGS__)

#define lwsl_wsi_err(_w, ...) lwsl_wsi(_w, LLL_ERR, __VA_ARGS__)
#define lwsl_wsi_warn(_w, ...) lwsl_wsi(_w, LLL_WARN, __VA_ARGS__)
#define lwsl_wsi_notice(_w, ...) lwsl_wsi(_w, LLL_NOTICE, __VA_ARGS__)
#define lwsl_wsi_info(_w, ...) lwsl_wsi(_w, LLL_INFO, __VA_ARGS__)
#define lwsl_wsi_debug(_w, ...) lwsl_wsi(_w, LLL_DEBUG, __VA_ARGS__)
#define lwsl_wsi_user(_w, ...) lwsl_wsi(_w, LLL_USER, __VA_ARGS__)

/*
 * Hex dump at a level: one line per 16 bytes, offset, hex bytes and the
 * printable characters.
 */
static LWS_INLINE void
lwsl_hexdump_level(int level, const void *vbuf, size_t len)
{
	const unsigned char *buf = (const unsigned char *)vbuf;
	static const char hex[] = "0123456789abcdef";
	char line[96];
	size_t at, i;
	int shift;

	if (!lwsl_visible(level))
		return;
	if (!buf) {
		_lws_log(level, "(hexdump: NULL ptr)\n");
		return;
	}
	for (at = 0; at < len; at += 16) {
		char *p = line;

		for (shift = 28; shift >= 0; shift -= 4)
			*p++ = hex[(at >> shift) & 15];
		*p++ = ':';
		*p++ = ' ';
		for (i = 0; i < 16; i++) {
			if (at + i < len) {
				*p++ = hex[buf[at + i] >> 4];
				*p++ = hex[buf[at + i] & 15];
			} else {
				*p++ = ' ';
				*p++ = ' ';
			}
			*p++ = ' ';
		}
		*p++ = ' ';
		for (i = 0; i < 16 && at + i < len; i++) {
			unsigned char c = buf[at + i];

			*p++ = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
		}
		*p++ = '\n';
		*p = '\0';
		comlink_log_line(level, line);
	}
}

static LWS_INLINE void
lwsl_hexdump(const void *buf, size_t len)
{
	lwsl_hexdump_level(LLL_DEBUG, buf, len);
}

#define lwsl_hexdump_err(...) lwsl_hexdump_level(LLL_ERR, __VA_ARGS__)
#define lwsl_hexdump_warn(...) lwsl_hexdump_level(LLL_WARN, __VA_ARGS__)
#define lwsl_hexdump_notice(...) lwsl_hexdump_level(LLL_NOTICE, __VA_ARGS__)
#define lwsl_hexdump_info(...) lwsl_hexdump_level(LLL_INFO, __VA_ARGS__)
#define lwsl_hexdump_debug(...) lwsl_hexdump_level(LLL_DEBUG, __VA_ARGS__)

#endif /* COMLINK_LWS_LOGS_H */
