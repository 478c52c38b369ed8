/*
 * Runs the pure-header helpers of <libwebsockets.h> (the code that lives in
 * the plugin, not the host) and checks they behave as lws's do. Plays host
 * for the two logging functions. Prints "ok" and exits 0, or names the
 * first failed check and exits 1.
 */

#include <libwebsockets.h>

#include <stdio.h>
#include <string.h>

static int visible_mask = LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_USER;
static char last_line[COMLINK_LOG_LINE_MAX];
static int last_level, lines;

int
lwsl_visible(int level)
{
	return !!(level & visible_mask);
}

void
comlink_log_line(int level, const char *line)
{
	last_level = level;
	lines++;
	snprintf(last_line, sizeof(last_line), "%s", line);
}

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			printf("FAILED line %d: %s\n", __LINE__, #cond); \
			return 1; \
		} \
	} while (0)

struct node {
	struct node *next;
	int v;
};

int
main(void)
{
	char buf[8], big[2 * COMLINK_LOG_LINE_MAX];
	struct node n1 = { NULL, 1 }, n2 = { NULL, 2 }, n3 = { NULL, 3 },
		    *head = NULL;
	int n, sum;

	/* lws_snprintf and the lws_dll2 operations are host functions: the
	 * server's tests check them (server/tests/plugin_helpers.rs). */

	/* lws_strncpy: always terminated, at most size - 1 characters */
	CHECK(!strcmp(lws_strncpy(buf, "abcdefghij", sizeof(buf)), "abcdefg"));
	CHECK(!strcmp(lws_strncpy(buf, "ab", sizeof(buf)), "ab"));
	lws_strnncpy(buf, "abcdef", 3, sizeof(buf));
	CHECK(!strcmp(buf, "abc"));

	/* write flags for a message sent in parts */
	CHECK(lws_write_ws_flags(LWS_WRITE_TEXT, 1, 1) == LWS_WRITE_TEXT);
	CHECK(lws_write_ws_flags(LWS_WRITE_BINARY, 1, 0) ==
	      (LWS_WRITE_BINARY | LWS_WRITE_NO_FIN));
	CHECK(lws_write_ws_flags(LWS_WRITE_BINARY, 0, 0) ==
	      (LWS_WRITE_CONTINUATION | LWS_WRITE_NO_FIN));
	CHECK(lws_write_ws_flags(LWS_WRITE_TEXT, 0, 1) ==
	      LWS_WRITE_CONTINUATION);

	/* pointer helpers */
	CHECK(lws_ptr_diff(&big[10], &big[3]) == 7);
	CHECK(lws_ptr_diff_size_t(&big[10], &big[3]) == 7);
	CHECK(LWS_ARRAY_SIZE(big) == sizeof(big));

	/* singly linked list macros */
	lws_ll_fwd_insert(&n1, next, head);
	lws_ll_fwd_insert(&n2, next, head);
	lws_ll_fwd_insert(&n3, next, head);
	sum = 0;
	n = 0;
	lws_start_foreach_ll(struct node *, it, head) {
		sum = sum * 10 + it->v;
		n++;
	} lws_end_foreach_ll(it, next);
	CHECK(sum == 321 && n == 3);
	lws_ll_fwd_remove(struct node, next, &n2, head);
	sum = 0;
	lws_start_foreach_ll_safe(struct node *, it, head, next) {
		sum = sum * 10 + it->v;
	} lws_end_foreach_ll_safe(it);
	CHECK(sum == 31);
	lws_start_foreach_llp(struct node **, pp, head) {
		if (*pp == &n3) {
			*pp = n3.next;
			break;
		}
	} lws_end_foreach_llp(pp, next);
	CHECK(head == &n1 && !n1.next);

	/* logging reaches the host as one formatted line, filtered by level */
	lines = 0;
	lwsl_notice("hello %s %d\n", "world", 7);
	CHECK(lines == 1 && last_level == LLL_NOTICE);
	CHECK(!strcmp(last_line, "hello world 7\n"));
	lwsl_info("not visible\n");
	lwsl_debug("not visible\n");
	CHECK(lines == 1);
	lwsl_vhost_err((struct lws_vhost *)NULL, "vh %d", 1);
	CHECK(lines == 2 && last_level == LLL_ERR && !strcmp(last_line, "vh 1"));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	lwsl_user("%s", big);
	CHECK(strlen(last_line) == COMLINK_LOG_LINE_MAX - 1);
	visible_mask |= LLL_DEBUG;
	lines = 0;
	lwsl_hexdump_debug("0123456789abcdefXYZ", 19);
	CHECK(lines == 2 && last_level == LLL_DEBUG);
	CHECK(!strncmp(last_line, "00000010: 58 59 5a ", 19));
	CHECK(strstr(last_line, "XYZ\n") != NULL);

	printf("ok\n");
	return 0;
}
