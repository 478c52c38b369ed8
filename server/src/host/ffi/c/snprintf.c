/*
 * lws_snprintf, exported by lwsws for plugins built against lws's own
 * headers (which declare it as a function). It is variadic, which stable
 * Rust cannot define, so it is this C file, compiled by build.rs.
 *
 * lws's contract: never writes more than size bytes, always terminates when
 * size > 0, and returns the characters stored -- size when the output was
 * cut short, never the untruncated length vsnprintf reports -- so
 * `p += lws_snprintf(p, end - p, ...)` never runs past end.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

__attribute__((visibility("default"))) int
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
