/*
 * Test plugin: lws's helper families, each exercised on a callback://
 * mount and reported in the body (the path after the mountpoint names the
 * family):
 *   /dll2      lws_dll2_* : sorted inserts, head/tail/before, search,
 *              foreach_safe removing members, remove, clear
 *   /listptr   lws_list_ptr_insert sorted, walked with lws_list_ptr_advance
 *   /ring      lws_ring_next_linear_insert_range + bump_head, the consume
 *              macros, get_element, dump, update_oldest_tail
 *   /dir?d=    lws_dir listing, lws_dir_glob_cb "*.txt", lws_dir_rm_rf_cb
 *   /tokenize  lws_tokenize over a header-like line, lws_tokenize_cstr
 *   /lwsac     lwsac_use/_zero/_backfill, alignment, totals, extend,
 *              reference/detach/unreference, free
 *   /snprintf  lws_snprintf's return when the output fits and when cut
 *   /tsi       lws_wsi_tsi against lws_get_tsi
 *   /serve?f=  lws_serve_http_file with a content type and an extra header;
 *              HTTP_FILE_COMPLETION then completes the transaction
 *   /peer      lws_get_peer_simple, and how many file completions came
 */
#include <libwebsockets.h>
#include <string.h>

struct pss {
	char body[1024];
	int body_len;
	int headers_sent;
};

/* Appends to the body. */
#define SAY(...) \
	pss->body_len += lws_snprintf(pss->body + pss->body_len, \
				      sizeof(pss->body) - (size_t)pss->body_len, \
				      __VA_ARGS__)

/* ---- dll2 ---- */

struct item {
	lws_dll2_t list;
	const char *name;
	int v;
};

static int
cmp_items(const lws_dll2_t *a, const lws_dll2_t *b)
{
	return lws_container_of(a, struct item, list)->v -
	       lws_container_of(b, struct item, list)->v;
}

static int
cmp_items_priv(void *priv, const lws_dll2_t *a, const lws_dll2_t *b)
{
	(*(int *)priv)++;
	return cmp_items(a, b);
}

static void
say_list(struct pss *pss, lws_dll2_owner_t *o)
{
	int first = 1;

	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(o)) {
		SAY("%s%d", first ? "" : ",",
		    lws_container_of(d, struct item, list)->v);
		first = 0;
	} lws_end_foreach_dll(d);
	SAY(" (%u)", (unsigned int)o->count);
}

static int
drop_odd(struct lws_dll2 *d, void *user)
{
	if (lws_container_of(d, struct item, list)->v & 1)
		lws_dll2_remove(d);
	(*(int *)user)++;
	return 0;
}

static int
stop_at_four(struct lws_dll2 *d, void *user)
{
	(void)user;
	return lws_container_of(d, struct item, list)->v == 4;
}

static void
do_dll2(struct pss *pss)
{
	static const char *names[] = { "c", "a", "d", "a2", "e" };
	static const int vals[] = { 3, 1, 4, 1, 5 };
	struct item it[8];
	lws_dll2_owner_t o;
	struct item *found;
	int i, calls = 0, seen = 0;

	memset(it, 0, sizeof(it));
	lws_dll2_owner_clear(&o);
	for (i = 0; i < 5; i++) {
		it[i].v = vals[i];
		it[i].name = names[i];
		lws_dll2_add_sorted(&it[i].list, &o, cmp_items);
	}
	SAY("sorted=");
	say_list(pss, &o);

	it[5].v = 0;
	lws_dll2_add_head(&it[5].list, &o);
	it[6].v = 9;
	lws_dll2_add_tail(&it[6].list, &o);
	it[7].v = 2;
	lws_dll2_add_before(&it[7].list, &it[0].list); /* before the 3 */
	SAY(" ends=");
	say_list(pss, &o);

	/* already in a list: refused, nothing changes */
	lws_dll2_add_tail(&it[5].list, &o);
	SAY(" again=%u detached=%d", (unsigned int)o.count,
	    lws_dll2_is_detached(&it[5].list));

	found = lws_dll2_search_sz_pl(&o, "d", 1, struct item, list, name);
	SAY(" search=%d", found ? found->v : -1);
	found = lws_dll2_search_sz_pl(&o, "a2x", 2, struct item, list, name);
	SAY(" search2=%s", found ? found->name : "none");

	SAY(" stop=%d", lws_dll2_foreach_safe(&o, NULL, stop_at_four));
	lws_dll2_foreach_safe(&o, &seen, drop_odd);
	SAY(" evens=");
	say_list(pss, &o);
	SAY(" seen=%d", seen);

	lws_dll2_remove(&it[5].list);
	lws_dll2_remove(&it[5].list); /* detached now: harmless */
	SAY(" removed=");
	say_list(pss, &o);
	SAY(" detached=%d", lws_dll2_is_detached(&it[5].list));

	/* a second list through add_sorted_priv */
	lws_dll2_owner_clear(&o);
	for (i = 0; i < 5; i++) {
		lws_dll2_clear(&it[i].list);
		lws_dll2_add_sorted_priv(&it[i].list, &o, &calls,
					 cmp_items_priv);
	}
	SAY(" priv=");
	say_list(pss, &o);
	SAY(" compares=%d", calls);
}

/* ---- lws_list_ptr ---- */

struct lp {
	int v;
	lws_list_ptr next;
};

static int
lp_sort(lws_list_ptr a, lws_list_ptr b)
{
	return lws_list_ptr_container(a, struct lp, next)->v -
	       lws_list_ptr_container(b, struct lp, next)->v;
}

static void
do_listptr(struct pss *pss)
{
	struct lp n[4] = { { 30, NULL }, { 10, NULL }, { 20, NULL },
			   { 40, NULL } };
	lws_list_ptr head = NULL, unsorted = NULL, it;
	int i;

	for (i = 0; i < 4; i++)
		lws_list_ptr_insert(&head, &n[i].next, lp_sort);
	SAY("sorted=");
	for (it = head; it; lws_list_ptr_advance(it))
		SAY("%d,", lws_list_ptr_container(it, struct lp, next)->v);

	for (i = 0; i < 4; i++)
		n[i].next = NULL;
	for (i = 0; i < 4; i++)
		lws_list_ptr_insert(&unsorted, &n[i].next, NULL);
	SAY(" pushed=");
	for (it = unsorted; it; lws_list_ptr_advance(it))
		SAY("%d,", lws_list_ptr_container(it, struct lp, next)->v);
}

/* ---- ring ---- */

struct reader {
	struct reader *next;
	uint32_t tail;
};

static int destroyed;

static void
destroy_elem(void *e)
{
	(void)e;
	destroyed++;
}

static void
do_ring(struct pss *pss)
{
	struct lws_ring *r = lws_ring_create(4, 4, destroy_elem);
	struct reader a = { NULL, 0 }, b = { NULL, 0 }, *readers = &a;
	uint32_t t, *w;
	void *start;
	size_t bytes;
	int i;

	destroyed = 0;
	if (!r) {
		SAY("no ring");
		return;
	}
	if (lws_ring_next_linear_insert_range(r, &start, &bytes)) {
		SAY("no range");
		return;
	}
	SAY("range=%d", (int)bytes);
	w = (uint32_t *)start;
	for (i = 0; i < 3; i++)
		w[i] = (uint32_t)(100 + i);
	lws_ring_bump_head(r, 12);
	SAY(" waiting=%d free=%d full=%d", (int)lws_ring_get_count_waiting_elements(r, NULL),
	    (int)lws_ring_get_count_free_elements(r),
	    lws_ring_next_linear_insert_range(r, &start, &bytes));
	lws_ring_dump(r, NULL);

	/* two readers through the list macro */
	a.tail = b.tail = lws_ring_get_oldest_tail(r);
	a.next = &b;
	SAY(" first=%u", *(const uint32_t *)lws_ring_get_element(r, &a.tail));
	lws_ring_consume_and_update_oldest_tail(r, struct reader, &a.tail, 2,
						readers, tail, next);
	SAY(" a_waits=%d b_waits=%d destroyed=%d",
	    (int)lws_ring_get_count_waiting_elements(r, &a.tail),
	    (int)lws_ring_get_count_waiting_elements(r, &b.tail), destroyed);
	lws_ring_consume_and_update_oldest_tail(r, struct reader, &b.tail, 3,
						readers, tail, next);
	SAY(" after_b destroyed=%d free=%d", destroyed,
	    (int)lws_ring_get_count_free_elements(r));

	/* one reader */
	t = lws_ring_get_oldest_tail(r);
	{
		uint32_t v = 7;
		lws_ring_insert(r, &v, 1);
	}
	lws_ring_consume_single_tail(r, &t, 1);
	SAY(" single destroyed=%d waits=%d", destroyed,
	    (int)lws_ring_get_count_waiting_elements(r, &t));
	lws_ring_destroy(r);
}

/* ---- dir ---- */

struct dirlist {
	struct pss *pss;
	int n;
};

static int
list_cb(const char *dirpath, void *user, struct lws_dir_entry *lde)
{
	struct dirlist *dl = (struct dirlist *)user;
	struct pss *pss = dl->pss;

	(void)dirpath;
	SAY("%s%s:%d", dl->n++ ? "," : "", lde->name, (int)lde->type);
	return 0;
}

static int
stop_cb(const char *dirpath, void *user, struct lws_dir_entry *lde)
{
	(void)dirpath;
	(void)lde;
	(*(int *)user)++;
	return 1;
}

static int
glob_found(void *data, const char *path)
{
	struct pss *pss = (struct pss *)data;
	const char *slash = strrchr(path, '/');

	SAY("%s;", slash ? slash + 1 : path);
	return 0;
}

static void
do_dir(struct lws *wsi, struct pss *pss)
{
	char d[256];
	struct dirlist dl = { pss, 0 };
	lws_dir_glob_t g;
	int calls = 0, r;

	if (!lws_get_urlarg_by_name(wsi, "d", d, sizeof(d))) {
		SAY("no d");
		return;
	}
	SAY("list=");
	r = lws_dir(d, &dl, list_cb);
	SAY(" r=%d", r);
	r = lws_dir(d, &calls, stop_cb);
	SAY(" stopped=%d calls=%d", r, calls);
	g.filter = "*.txt";
	g.cb = glob_found;
	g.user = pss;
	SAY(" glob=");
	lws_dir(d, &g, lws_dir_glob_cb);
	lws_dir(d, NULL, lws_dir_rm_rf_cb);
	dl.n = 0;
	SAY(" after=");
	lws_dir(d, &dl, list_cb);
	SAY(" missing=%d", lws_dir("/nonexistent/dir", &dl, list_cb));
}

/* ---- tokenize ---- */

static const char *
elem_name(lws_tokenize_elem e)
{
	switch (e) {
	case LWS_TOKZE_DELIMITER: return "delim";
	case LWS_TOKZE_TOKEN: return "tok";
	case LWS_TOKZE_INTEGER: return "int";
	case LWS_TOKZE_FLOAT: return "float";
	case LWS_TOKZE_TOKEN_NAME_EQUALS: return "name=";
	case LWS_TOKZE_TOKEN_NAME_COLON: return "name:";
	case LWS_TOKZE_QUOTED_STRING: return "qs";
	case LWS_TOKZE_ENDED: return "end";
	default: return "err";
	}
}

static void
tokenize_line(struct pss *pss, const char *line, int flags)
{
	struct lws_tokenize ts;
	lws_tokenize_elem e;
	char tok[64];

	lws_tokenize_init(&ts, line, flags);
	do {
		e = lws_tokenize(&ts);
		if (e > 0 && !lws_tokenize_cstr(&ts, tok, sizeof(tok)))
			SAY("%s[%s] ", elem_name(e), tok);
		else
			SAY("%s(%d) ", elem_name(e), (int)e);
	} while (e > 0);
}

static void
do_tokenize(struct pss *pss)
{
	struct lws_tokenize ts;
	char small[2];

	tokenize_line(pss, "a=1, b=\"x y\"; c 2.5", 0);
	SAY("| ");
	tokenize_line(pss, "text/html, application/json;q=0.9",
		      LWS_TOKENIZE_F_RFC7230_DELIMS);
	SAY("| ");
	tokenize_line(pss, "a,,b", LWS_TOKENIZE_F_COMMA_SEP_LIST);
	SAY("| ");
	/* a length shorter than the string stops it there */
	lws_tokenize_init(&ts, "abc def", 0);
	ts.len = 5;
	lws_tokenize(&ts);
	lws_tokenize(&ts);
	SAY("cut=%.*s ", (int)ts.token_len, ts.token);
	SAY("small=%d", lws_tokenize_cstr(&ts, small, sizeof(small)));
}

/* ---- lwsac ---- */

static void
do_lwsac(struct pss *pss)
{
	struct lwsac *ac = NULL;
	unsigned char *p1, *p2, *p3, *z;
	int i, aligned = 1, zero = 1;

	p1 = lwsac_use(&ac, 3, 64);
	p2 = lwsac_use(&ac, 8, 64);
	aligned = !((uintptr_t)p1 % sizeof(void *)) &&
		  !((uintptr_t)p2 % sizeof(void *)) &&
		  p2 - p1 == (int)lwsac_align(3);
	memset(p1, 0xaa, 3);
	memset(p2, 0xbb, 8);
	p3 = lwsac_use(&ac, 200, 64);	/* bigger than a chunk */
	memset(p3, 0xcc, 200);
	z = lwsac_use_zero(&ac, 40, 64);
	for (i = 0; i < 40; i++)
		if (z[i])
			zero = 0;
	SAY("aligned=%d zero=%d intact=%d", aligned, zero,
	    p1[2] == 0xaa && p2[7] == 0xbb && p3[199] == 0xcc);
	SAY(" total=%llu", (unsigned long long)lwsac_total_alloc(ac));
	SAY(" extend=%d/%d", lwsac_extend(ac, 8), lwsac_extend(ac, 100000));
	z = lwsac_use_backfill(&ac, 8, 64);	/* room left in the first chunk */
	SAY(" backfill_first=%d", z >= p1 && z < p1 + 64);
	lwsac_info(ac);

	lwsac_reference(ac);
	{
		struct lwsac *owner = ac;

		lwsac_detach(&owner);	/* referenced: kept */
		SAY(" detached_owner=%s kept=%d", owner ? "set" : "null",
		    lwsac_total_alloc(ac) > 0);
	}
	lwsac_unreference(&ac);	/* last reference: freed */
	SAY(" after_unref=%s", ac ? "set" : "null");

	ac = NULL;
	lwsac_use(&ac, 10, 0);
	SAY(" default_total=%d", lwsac_total_alloc(ac) >= 4000);
	lwsac_free(&ac);
	SAY(" freed=%s", ac ? "set" : "null");
	SAY(" null_total=%llu", (unsigned long long)lwsac_total_alloc(NULL));
}

/* ---- snprintf, tsi ---- */

static void
do_snprintf(struct pss *pss)
{
	char b[8];
	int n1 = lws_snprintf(b, sizeof(b), "%s", "0123456789");

	SAY("cut=%d:%s", n1, b);
	SAY(" fits=%d", lws_snprintf(b, sizeof(b), "%d", 42));
	SAY(" zero=%d", lws_snprintf(b, 0, "%d", 42));
}

static int file_completions;

static int
callback_families(struct lws *wsi, enum lws_callback_reasons reason,
		  void *user, void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	unsigned char buf[LWS_PRE + 1100], *start = &buf[LWS_PRE], *p = start,
		      *end = &buf[sizeof(buf) - 1];
	const char *path = (const char *)in;

	switch (reason) {
	case LWS_CALLBACK_HTTP_FILE_COMPLETION:
		file_completions++;
		return lws_http_transaction_completed(wsi) ? -1 : 0;

	case LWS_CALLBACK_HTTP:
		memset(pss, 0, sizeof(*pss));
		if (!strcmp(path, "/serve")) {
			static const char extra[] = "x-extra: served\r\n";
			char f[256];

			if (!lws_get_urlarg_by_name(wsi, "f", f, sizeof(f)))
				return -1;
			return lws_serve_http_file(wsi, f, "text/plain", extra,
						   (int)strlen(extra)) < 0 ? -1 : 0;
		}
		if (!strcmp(path, "/peer")) {
			char ip[64];

			SAY("peer=%s completions=%d",
			    lws_get_peer_simple(wsi, ip, sizeof(ip)) ? ip : "(none)",
			    file_completions);
		} else if (!strcmp(path, "/dll2"))
			do_dll2(pss);
		else if (!strcmp(path, "/listptr"))
			do_listptr(pss);
		else if (!strcmp(path, "/ring"))
			do_ring(pss);
		else if (!strcmp(path, "/dir"))
			do_dir(wsi, pss);
		else if (!strcmp(path, "/tokenize"))
			do_tokenize(pss);
		else if (!strcmp(path, "/lwsac"))
			do_lwsac(pss);
		else if (!strcmp(path, "/snprintf"))
			do_snprintf(pss);
		else if (!strcmp(path, "/tsi"))
			SAY("tsi=%s", lws_wsi_tsi(wsi) == lws_get_tsi(wsi) ?
				"same" : "different");
		else
			SAY("unknown %s", path);
		lws_callback_on_writable(wsi);
		return 0;

	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!pss->headers_sent) {
			if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK,
					"text/plain", (lws_filepos_t)pss->body_len,
					&p, end) ||
			    lws_finalize_write_http_header(wsi, start, &p, end))
				return -1;
			pss->headers_sent = 1;
			lws_callback_on_writable(wsi);
			return 0;
		}
		memcpy(start, pss->body, (size_t)pss->body_len);
		if (lws_write(wsi, start, (size_t)pss->body_len,
			      LWS_WRITE_HTTP_FINAL) < 0)
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;

	default:
		break;
	}

	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "helpers-families", callback_families, sizeof(struct pss), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

LWS_VISIBLE const lws_plugin_protocol_t helpers_families = {
	.hdr = {
		"helpers families",
		"lws_protocol_plugin",
		LWS_BUILD_HASH,
		LWS_PLUGIN_API_MAGIC
	},
	.protocols = protocols,
	.count_protocols = LWS_ARRAY_SIZE(protocols),
	.extensions = NULL,
	.count_extensions = 0,
};
