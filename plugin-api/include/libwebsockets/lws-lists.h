/*
 * Comlink plugin header: list helpers. Part of <libwebsockets.h>.
 *
 * Two families:
 *  - singly linked lists threaded through a "next" member of the plugin's own
 *    struct (lws_start_foreach_ll ... lws_ll_fwd_remove): header macros;
 *  - lws_dll2: an embeddable doubly linked list node plus an owner that
 *    counts its members (used by lws v4.3+ plugins); the operations are
 *    host functions, as in lws.
 * (lws_list_ptr, the third, is in lws-helpers.h, as lws keeps it with lwsac.)
 */

#ifndef COMLINK_LWS_LISTS_H
#define COMLINK_LWS_LISTS_H

/*
 * Walk a singly linked list:
 *
 *	lws_start_foreach_ll(struct thing *, t, head) {
 *		... use t; `break` leaves the walk ...
 *	} lws_end_foreach_ll(t, next);
 *
 * `it` is declared by the macro and scoped to the walk; `nxt` names the link
 * member. The end macro steps to the next node, so `continue` would skip the
 * step: do not use it inside these walks.
 */
#define lws_start_foreach_ll(type, it, start) \
	{ \
		type it = (start); \
		while (it) {

#define lws_end_foreach_ll(it, nxt) \
			it = (it)->nxt; \
		} \
	}

/* As above, but the body may free `it`: the successor is read first. */
#define lws_start_foreach_ll_safe(type, it, start, nxt) \
	{ \
		type it = (start); \
		while (it) { \
			type next_##it = (it)->nxt;

#define lws_end_foreach_ll_safe(it) \
			it = next_##it; \
		} \
	}

/*
 * Walk the link slots of a singly linked list: `it` points at the head
 * pointer, then at each node's link member, so `*it = (*it)->nxt` unlinks
 * the current node in place.
 *
 *	lws_start_foreach_llp(struct thing **, pt, head) {
 *		if (*pt == victim) { *pt = victim->next; break; }
 *	} lws_end_foreach_llp(pt, next);
 */
#define lws_start_foreach_llp(type, it, start) \
	{ \
		type it = &(start); \
		while (*(it)) {

#define lws_end_foreach_llp(it, nxt) \
			it = &(*(it))->nxt; \
		} \
	}

/* Slot walk where the body may unlink or free the current node. */
#define lws_start_foreach_llp_safe(type, it, start, nxt) \
	{ \
		type it = &(start); \
		type next; \
		while (*(it)) { \
			next = &((*(it))->nxt);

#define lws_end_foreach_llp_safe(it) \
			it = next; \
		} \
	}

/* Push obj on the front of the list whose head pointer is `head`. */
#define lws_ll_fwd_insert(obj, nxt, head) \
	{ \
		(obj)->nxt = (head); \
		(head) = (obj); \
	}

/* Unlink obj (of type `type`) from the list at `head`, if it is there. */
#define lws_ll_fwd_remove(type, nxt, obj, head) \
	{ \
		lws_start_foreach_llp(type **, _lws_slot, head) { \
			if (*_lws_slot == (obj)) { \
				*_lws_slot = (obj)->nxt; \
				break; \
			} \
		} lws_end_foreach_llp(_lws_slot, nxt); \
	}

/* ---------------------------------------------------------------------------
 * lws_dll2: layout as in lws (prev, next, owner / tail, head, count).
 */

struct lws_dll2;
struct lws_dll2_owner;

typedef struct lws_dll2 {
	struct lws_dll2 *prev;
	struct lws_dll2 *next;
	struct lws_dll2_owner *owner;	/* NULL while not in a list */
} lws_dll2_t;

typedef struct lws_dll2_owner {
	struct lws_dll2 *tail;
	struct lws_dll2 *head;
	uint32_t count;
} lws_dll2_owner_t;

typedef int (*lws_dll2_foreach_cb_t)(struct lws_dll2 *d, void *user);

/* Nonzero when d is in no list. */
LWS_VISIBLE LWS_EXTERN int
lws_dll2_is_detached(const struct lws_dll2 *d);

static LWS_INLINE const struct lws_dll2_owner *
lws_dll2_owner(const struct lws_dll2 *d)
{
	return d->owner;
}

static LWS_INLINE struct lws_dll2 *
lws_dll2_get_head(struct lws_dll2_owner *owner)
{
	return owner->head;
}

static LWS_INLINE struct lws_dll2 *
lws_dll2_get_tail(struct lws_dll2_owner *owner)
{
	return owner->tail;
}

/*
 * The list operations are host functions, as in lws (so plugins built
 * against lws's headers find them). Adding a node that is still in a list,
 * or before a node in none, is refused and logged (lws asserts).
 */

/* Forget any list (prev, next, owner NULL) without unlinking. */
LWS_VISIBLE LWS_EXTERN void
lws_dll2_clear(struct lws_dll2 *d);

/* An empty owner (members are not touched). */
LWS_VISIBLE LWS_EXTERN void
lws_dll2_owner_clear(struct lws_dll2_owner *d);

/* Take d out of whatever list holds it; harmless when detached. */
LWS_VISIBLE LWS_EXTERN void
lws_dll2_remove(struct lws_dll2 *d);

LWS_VISIBLE LWS_EXTERN void
lws_dll2_add_head(struct lws_dll2 *d, struct lws_dll2_owner *owner);

LWS_VISIBLE LWS_EXTERN void
lws_dll2_add_tail(struct lws_dll2 *d, struct lws_dll2_owner *owner);

/* Insert d just in front of `after`, in after's list. */
LWS_VISIBLE LWS_EXTERN void
lws_dll2_add_before(struct lws_dll2 *d, struct lws_dll2 *after);

/*
 * Insert d in an ordered list: d goes in front of the first member i for
 * which compare(i, d) >= 0 (note: the member comes first, as in lws), else
 * at the tail.
 */
LWS_VISIBLE LWS_EXTERN void
lws_dll2_add_sorted(lws_dll2_t *d, lws_dll2_owner_t *own,
		    int (*compare)(const lws_dll2_t *d, const lws_dll2_t *i));

/* The same, compare3 also getting priv first. */
LWS_VISIBLE LWS_EXTERN void
lws_dll2_add_sorted_priv(lws_dll2_t *d, lws_dll2_owner_t *own, void *priv,
			 int (*compare3)(void *priv, const lws_dll2_t *d,
					 const lws_dll2_t *i));

/* Call cb for each member, head first; cb may remove (or free) its own
 * node. A nonzero return from cb stops the walk, and 1 is returned. */
LWS_VISIBLE LWS_EXTERN int
lws_dll2_foreach_safe(struct lws_dll2_owner *owner, void *user,
		      lws_dll2_foreach_cb_t cb);

/*
 * The member object (of `type`, embedding its lws_dll2 as `membd2list`)
 * whose `const char *membptr` equals the namelen bytes at name, or NULL.
 */
LWS_VISIBLE LWS_EXTERN void *
_lws_dll2_search_sz_pl(lws_dll2_owner_t *own, const char *name,
		       size_t namelen, size_t dll2_ofs, size_t ptr_ofs);

#define lws_dll2_search_sz_pl(own, name, namelen, type, membd2list, membptr) \
	((type *)_lws_dll2_search_sz_pl(own, name, namelen, \
					offsetof(type, membd2list), \
					offsetof(type, membptr)))

/* lws logs the list in debug builds; a no-op here. */
#define lws_dll2_describe(x, y)

/* Nonzero if d is a member of owner. Compares addresses only. */
static LWS_INLINE int
lws_dll2_is_in_list(const struct lws_dll2_owner *owner,
		    const struct lws_dll2 *d)
{
	const struct lws_dll2 *i;

	for (i = owner->head; i; i = i->next)
		if (i == d)
			return 1;
	return 0;
}

/* Walk lws_dll2 nodes from `start` (usually lws_dll2_get_head(&owner)). */
#define lws_start_foreach_dll(type, it, start) \
	{ \
		type it = (start); \
		while (it) {

#define lws_end_foreach_dll(it) \
			it = (it)->next; \
		} \
	}

/* As above, safe against removing or freeing `it`; `tmp` holds the next. */
#define lws_start_foreach_dll_safe(type, it, tmp, start) \
	{ \
		type it = (start); \
		while (it) { \
			type tmp = (it)->next;

#define lws_end_foreach_dll_safe(it, tmp) \
			it = tmp; \
		} \
	}

#endif /* COMLINK_LWS_LISTS_H */
