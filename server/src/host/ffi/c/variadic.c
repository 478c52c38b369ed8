/*
 * The variadic lws functions lwsws exports, for plugins built against lws's
 * own headers, which declare them as functions (ours makes the logging ones
 * inline). Stable Rust cannot define a C variadic function, so they are this
 * C file, compiled by build.rs; they call into the Rust host only through
 * its exported lwsl_visible() and comlink_log_line().
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#define COMLINK_LOG_LINE_MAX 1024
#define EXPORT __attribute__((visibility("default")))

int lwsl_visible(int level);
void comlink_log_line(int level, const char *line);

struct lws_context;
struct lws_threadpool;
struct lws_threadpool_task;
struct lws_threadpool_create_args;
struct lws_threadpool_task_args;
struct lws_threadpool *
comlink_threadpool_create(struct lws_context *context,
			  const struct lws_threadpool_create_args *args,
			  const char *name);
struct lws_threadpool_task *
comlink_threadpool_enqueue(struct lws_threadpool *tp,
			   const struct lws_threadpool_task_args *args,
			   const char *name);

/*
 * lws's contract: never writes more than size bytes, always terminates when
 * size > 0, and returns the characters stored -- size when the output was
 * cut short, never the untruncated length vsnprintf reports -- so
 * `p += lws_snprintf(p, end - p, ...)` never runs past end.
 */
EXPORT int
lws_snprintf(char *str, size_t size, const char *format, ...)
{
	va_list ap;
	int n;

	if (!str || !size)
		return 0;

	va_start(ap, format);
	n = vsnprintf(str, size, format, ap);
	va_end(ap);

	if (n < 0) {
		str[0] = '\0';
		return 0;
	}
	if ((size_t)n >= size)
		return (int)size;

	return n;
}

/* What lws's lwsl_err() ... lwsl_user() call: one line at level filter. */
EXPORT void
_lws_logv(int filter, const char *format, va_list vl)
{
	char line[COMLINK_LOG_LINE_MAX];

	if (!lwsl_visible(filter))
		return;
	if (vsnprintf(line, sizeof(line), format, vl) < 0)
		return;
	comlink_log_line(filter, line);
}

EXPORT void
_lws_log(int filter, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	_lws_logv(filter, format, ap);
	va_end(ap);
}

/*
 * lws_threadpool_create() and lws_threadpool_enqueue() name the pool or
 * task printf-style: the name is formatted here (lws keeps 32 bytes of
 * it) and the rest is the Rust host's.
 */
EXPORT struct lws_threadpool *
lws_threadpool_create(struct lws_context *context,
		      const struct lws_threadpool_create_args *args,
		      const char *format, ...)
{
	char name[32];
	va_list ap;

	va_start(ap, format);
	vsnprintf(name, sizeof(name), format ? format : "", ap);
	va_end(ap);

	return comlink_threadpool_create(context, args, name);
}

EXPORT struct lws_threadpool_task *
lws_threadpool_enqueue(struct lws_threadpool *tp,
		       const struct lws_threadpool_task_args *args,
		       const char *format, ...)
{
	char name[32];
	va_list ap;

	va_start(ap, format);
	vsnprintf(name, sizeof(name), format ? format : "", ap);
	va_end(ap);

	return comlink_threadpool_enqueue(tp, args, name);
}
