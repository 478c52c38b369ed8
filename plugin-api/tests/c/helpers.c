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

struct item {
	lws_dll2_t list;
	int v;
};

static int
cmp_item(const lws_dll2_t *a, const lws_dll2_t *b)
{
	return lws_container_of(a, struct item, list)->v -
	       lws_container_of(b, struct item, list)->v;
}

static int
sum_items(struct lws_dll2 *d, void *user)
{
	*(int *)user += lws_container_of(d, struct item, list)->v;
	return 0;
}

int
main(void)
{
	char buf[8], big[2 * COMLINK_LOG_LINE_MAX];
	struct node n1 = { NULL, 1 }, n2 = { NULL, 2 }, n3 = { NULL, 3 },
		    *head = NULL;
	struct item i1, i2, i3;
	lws_dll2_owner_t own;
	int n, sum;

	/* lws_snprintf: characters stored, or `size` when cut short */
	CHECK(lws_snprintf(buf, sizeof(buf), "%d", 42) == 2);
	CHECK(!strcmp(buf, "42"));
	CHECK(lws_snprintf(buf, sizeof(buf), "%s", "0123456789") == 8);
	CHECK(!strcmp(buf, "0123456"));
	CHECK(lws_snprintf(buf, 0, "x") == 0);
	CHECK(lws_snprintf(NULL, 4, "x") == 0);

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

	/* lws_dll2 */
	memset(&i1, 0, sizeof(i1));
	memset(&i2, 0, sizeof(i2));
	memset(&i3, 0, sizeof(i3));
	i1.v = 1;
	i2.v = 2;
	i3.v = 3;
	lws_dll2_owner_clear(&own);
	CHECK(lws_dll2_is_detached(&i1.list));
	lws_dll2_add_sorted(&i3.list, &own, cmp_item);
	lws_dll2_add_sorted(&i1.list, &own, cmp_item);
	lws_dll2_add_sorted(&i2.list, &own, cmp_item);
	CHECK(own.count == 3);
	sum = 0;
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&own)) {
		sum = sum * 10 + lws_container_of(d, struct item, list)->v;
	} lws_end_foreach_dll(d);
	CHECK(sum == 123);
	CHECK(lws_dll2_is_in_list(&own, &i2.list));
	lws_dll2_remove(&i2.list);
	CHECK(!lws_dll2_is_in_list(&own, &i2.list));
	CHECK(lws_dll2_is_detached(&i2.list) && own.count == 2);
	lws_dll2_add_head(&i2.list, &own);
	CHECK(lws_dll2_get_head(&own) == &i2.list);
	CHECK(lws_dll2_get_tail(&own) == &i3.list);
	sum = 0;
	CHECK(!lws_dll2_foreach_safe(&own, &sum, sum_items) && sum == 6);
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1,
				   lws_dll2_get_head(&own)) {
		lws_dll2_remove(d);
	} lws_end_foreach_dll_safe(d, d1);
	CHECK(!own.count && !own.head && !own.tail);

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
