/*
 * libwebsockets.h -- Comlink's plugin header (lws-compatible names).
 *
 * Comlink is an lwsws-compatible server written in Rust. This header lets a
 * protocol plugin written for libwebsockets ("lws") compile unchanged and load
 * into the Comlink host (the `lwsws` binary). It is NOT the libwebsockets
 * header: it declares only the part of the lws API a protocol plugin uses,
 * with lws's names, numeric values and struct layouts, and the host binary
 * implements (exports) every function declared `LWS_VISIBLE LWS_EXTERN` here.
 * Link nothing: the symbols are resolved against the host when it dlopen()s
 * the plugin (build with `cc -shared -fPIC`); libuv's too, for a plugin
 * that uses it (lwsws then loads libuv.so.1), though linking -luv is usual.
 *
 * What differs from lws, on purpose:
 *  - Variadic lws functions (logging, lws_open) are static inline here,
 *    because the host (stable Rust) cannot define C variadic functions
 *    (lws_snprintf is the exception: the host defines it in C).
 *    Logging formats into a stack buffer and hands the finished line to the
 *    host's comlink_log_line() (see libwebsockets/lws-logs.h).
 *  - LWS_PLUGIN_API_MAGIC is 180 for both plugin shapes (old init_/destroy_
 *    functions and the v4.1+ exported lws_plugin_protocol_t); the host accepts
 *    180, 190, 191 and 192 in an exported struct.
 *  - lws_pthread_mutex*() are real pthread mutexes (lws makes them no-ops in
 *    single-thread builds), because the host may run several service threads.
 *  - Every log level is compiled in; the host filters at run time.
 *
 * Sub-headers under libwebsockets/ are parts of this file; include only
 * <libwebsockets.h>.
 *
 * Source of the facts (names, values, layouts): libwebsockets v4.0.x, v4.3.x
 * and its main branch, read and re-expressed; no lws text is reproduced.
 */

#ifndef COMLINK_LIBWEBSOCKETS_H
#define COMLINK_LIBWEBSOCKETS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/types.h>
#include <sys/time.h>
#include <unistd.h>

/*
 * libuv (lws's LWS_WITH_LIBUV): lwsws gives each service thread a libuv loop
 * (lws_uv_getloop(), libwebsockets/lws-libuv.h), and lws's plugins reach
 * uv_timer_t and friends through this header, as with lws. On whenever
 * libuv's header is there (Debian: libuv1-dev); a plugin may also define
 * LWS_WITH_LIBUV itself, or COMLINK_NO_LIBUV to leave libuv out. Not on by
 * itself under strict ISO C (-std=c99 without a POSIX feature macro), where
 * <uv.h> cannot compile (it needs pthread_rwlock_t).
 */
#if !defined(LWS_WITH_LIBUV) && !defined(COMLINK_NO_LIBUV) && defined(__has_include) && \
	(!defined(__STRICT_ANSI__) || defined(_POSIX_C_SOURCE) || \
	 defined(_XOPEN_SOURCE) || defined(_GNU_SOURCE) || defined(_DEFAULT_SOURCE))
#if __has_include(<uv.h>)
#define LWS_WITH_LIBUV
#endif
#endif
#if defined(LWS_WITH_LIBUV)
#include <uv.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * What this "build" provides. lws plugins test these lws_config.h macros; we
 * define the ones that are true of the Comlink host and leave the rest
 * undefined (no TLS API, no MQTT, no h2 API; libuv: above).
 */

#define COMLINK_PLUGIN_API 1

/* The lws API level this header follows (lws v4.3 plus older calls; with
 * COMLINK_LWS_V5 defined, lws v5.0's plugin shape: see
 * libwebsockets/lws-protocols-plugins.h). */
#if defined(COMLINK_LWS_V5)
#define LWS_LIBRARY_VERSION_MAJOR 5
#define LWS_LIBRARY_VERSION_MINOR 0
#else
#define LWS_LIBRARY_VERSION_MAJOR 4
#define LWS_LIBRARY_VERSION_MINOR 3
#endif
#define LWS_LIBRARY_VERSION_PATCH 0
#define LWS_LIBRARY_VERSION_NUMBER \
	((LWS_LIBRARY_VERSION_MAJOR * 1000000) + \
	 (LWS_LIBRARY_VERSION_MINOR * 1000) + LWS_LIBRARY_VERSION_PATCH)
#if defined(COMLINK_LWS_V5)
#define LWS_LIBRARY_VERSION "5.0.0-comlink"
#else
#define LWS_LIBRARY_VERSION "4.3.0-comlink"
#endif

/*
 * lws compares a plugin's build hash with its own (v4.2+). Ours is a fixed
 * string; a build system may predefine its own, which the host then logs.
 */
#ifndef LWS_BUILD_HASH
#define LWS_BUILD_HASH "comlink"
#endif

/* Several service threads may exist (one event loop each, lws-style). */
#define LWS_MAX_SMP 16

#define LWS_ROLE_H1
#define LWS_ROLE_WS
#define LWS_WITH_NETWORK
#define LWS_WITH_SERVER
#define LWS_WITH_CLIENT
#define LWS_ROLE_RAW
#define LWS_ROLE_RAW_FILE
#define LWS_WITH_THREADPOOL
#define LWS_WITH_PLUGINS
#define LWS_WITH_HTTP_UNCOMMON_HEADERS
#define LWS_HAVE_STDINT_H
#define LWS_HAS_INTPTR_T

/* ---------------------------------------------------------------------------
 * Attribute helpers used in lws-style declarations and in plugin sources.
 */

#define LWS_INLINE inline

#if defined(__GNUC__) || defined(__clang__)
#ifndef LWS_VISIBLE
#define LWS_VISIBLE __attribute__((visibility("default")))
#endif
#define LWS_WARN_UNUSED_RESULT __attribute__((warn_unused_result))
#define LWS_WARN_DEPRECATED __attribute__((deprecated))
#define LWS_FORMAT(fmt_idx) __attribute__((format(printf, fmt_idx, fmt_idx + 1)))
#else
#ifndef LWS_VISIBLE
#define LWS_VISIBLE
#endif
#define LWS_WARN_UNUSED_RESULT
#define LWS_WARN_DEPRECATED
#define LWS_FORMAT(fmt_idx)
#endif

#ifndef LWS_EXTERN
#define LWS_EXTERN extern
#endif

/* ---------------------------------------------------------------------------
 * Basic types and units.
 */

typedef int64_t lws_usec_t;		/* microseconds */
typedef unsigned long long lws_filepos_t;
typedef long long lws_fileofs_t;
typedef uint32_t lws_fop_flags_t;
typedef int lws_sockfd_type;
typedef int lws_filefd_type;
typedef intptr_t lws_intptr_t;

#define LWS_US_PER_SEC ((lws_usec_t)1000000)
#define LWS_MS_PER_SEC ((lws_usec_t)1000)
#define LWS_US_PER_MS ((lws_usec_t)1000)
#define LWS_NS_PER_US ((lws_usec_t)1000)
#define LWS_US_TO_MS(x) (((x) + (LWS_US_PER_MS / 2)) / LWS_US_PER_MS)

#define LWS_KI (1024)
#define LWS_MI (LWS_KI * 1024)
#define LWS_GI (LWS_MI * 1024)

#define LWS_INVALID_FILE -1
#define LWS_SOCK_INVALID (-1)
#define LWS_O_RDONLY O_RDONLY
#define LWS_O_WRONLY O_WRONLY
#define LWS_O_CREAT O_CREAT
#define LWS_O_TRUNC O_TRUNC

#define CONTEXT_PORT_NO_LISTEN -1
#define CONTEXT_PORT_NO_LISTEN_SERVER -2

/*
 * Headroom a plugin must leave writable in front of the payload it passes to
 * lws_write(): the host may build the frame header there. 16 on every target
 * lws supports (4 + 10 + 2 rounded up to 16, or to the pointer size).
 */
#define LWS_PRE 16
#define LWS_SEND_BUFFER_PRE_PADDING LWS_PRE
#define LWS_SEND_BUFFER_POST_PADDING 0
#ifndef LWS_SIZEOFPTR
#define LWS_SIZEOFPTR ((int)sizeof(void *))
#endif

/* Number of elements of a true array (not a pointer). */
#ifndef LWS_ARRAY_SIZE
#define LWS_ARRAY_SIZE(_arr) (sizeof(_arr) / sizeof((_arr)[0]))
#endif

/* From a pointer P to member M of a T, back to the T. */
#ifndef lws_container_of
#define lws_container_of(P, T, M) ((T *)((char *)(P) - offsetof(T, M)))
#endif

/* Round x up in place to a multiple of bou. */
#define LWS_ALIGN_TO(x, bou) x += ((bou) - ((x) % (bou))) % (bou)

/* Byte distance from tail up to head, as an int / as a size_t. */
#define lws_ptr_diff(head, tail) ((int)((char *)(head) - (char *)(tail)))
#define lws_ptr_diff_size_t(head, tail) \
	((size_t)(ssize_t)((char *)(head) - (char *)(tail)))

/* Unused bytes at the end of array _t when _l bytes are left / used so far. */
#define lws_concat_temp(_t, _l) (_t + sizeof(_t) - _l)
#define lws_concat_used(_t, _l) (sizeof(_t) - _l)

/* ---------------------------------------------------------------------------
 * Mutex helpers. `lws_pthread_mutex(name)` declares a struct member and
 * supplies its own ';' (plugins write it without one).
 */

#define lws_pthread_mutex(name) pthread_mutex_t name;

static LWS_INLINE void
lws_pthread_mutex_init(pthread_mutex_t *lock)
{
	pthread_mutex_init(lock, NULL);
}

static LWS_INLINE void
lws_pthread_mutex_destroy(pthread_mutex_t *lock)
{
	pthread_mutex_destroy(lock);
}

static LWS_INLINE void
lws_pthread_mutex_lock(pthread_mutex_t *lock)
{
	pthread_mutex_lock(lock);
}

static LWS_INLINE void
lws_pthread_mutex_unlock(pthread_mutex_t *lock)
{
	pthread_mutex_unlock(lock);
}

/* ---------------------------------------------------------------------------
 * Objects owned by the host. Plugins only ever hold pointers to them.
 */

struct lws;		/* one connection or HTTP transaction ("wsi") */
struct lws_context;	/* the server */
struct lws_vhost;	/* one virtual host */
struct lws_ring;	/* a ring buffer made by lws_ring_create() */
struct lws_extension;	/* ws extensions: never provided, always NULL / 0 */
struct lws_spa;		/* a POST body parser made by lws_spa_create() */
struct lwsac;		/* an lwsac_use() arena (libwebsockets/lws-helpers.h) */
struct lws_protocols;
struct lws_protocol_vhost_options;

#include "libwebsockets/lws-logs.h"
#include "libwebsockets/lws-lists.h"
#include "libwebsockets/lws-callbacks.h"
#include "libwebsockets/lws-protocols-plugins.h"
#include "libwebsockets/lws-timers.h"
#include "libwebsockets/lws-write.h"
#include "libwebsockets/lws-ring.h"
#include "libwebsockets/lws-http.h"
#include "libwebsockets/lws-misc.h"
#include "libwebsockets/lws-x509.h"
#include "libwebsockets/lws-libuv.h"
#include "libwebsockets/lws-helpers.h"
#include "libwebsockets/lws-mount.h"
#include "libwebsockets/lws-adopt.h"
#include "libwebsockets/lws-threadpool.h"
#include "libwebsockets/lws-client.h"

#ifdef __cplusplus
}
#endif

#endif /* COMLINK_LIBWEBSOCKETS_H */
