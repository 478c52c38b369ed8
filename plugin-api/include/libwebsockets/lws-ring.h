/*
 * Comlink plugin header: lws_ring, a fixed-size FIFO of equal-sized
 * elements with one head and any number of reader tails. Part of
 * <libwebsockets.h>. The ring lives in the host; it is not thread-safe
 * (guard it with your own mutex if several service threads touch it).
 *
 * Tails are opaque uint32_t positions the plugin keeps per reader (start
 * them at lws_ring_get_oldest_tail(); compare them only for equality; lws
 * uses byte offsets, and so does the host). Elements stay until the ring's
 * "oldest tail" moves past them (lws_ring_update_oldest_tail()), which is
 * what frees room for lws_ring_insert().
 */

#ifndef COMLINK_LWS_RING_H
#define COMLINK_LWS_RING_H

/*
 * A ring of `count` elements of `element_len` bytes each (it can hold
 * count - 1 at once). destroy_element, if not NULL, is called on each
 * element as it is freed (consumed past the oldest tail, or at destroy).
 * Returns NULL on failure.
 */
LWS_VISIBLE LWS_EXTERN struct lws_ring *
lws_ring_create(size_t element_len, size_t count,
		void (*destroy_element)(void *element));

/* Free the ring, running destroy_element on what is still in it. */
LWS_VISIBLE LWS_EXTERN void
lws_ring_destroy(struct lws_ring *ring);

/* Elements that could be inserted now. */
LWS_VISIBLE LWS_EXTERN size_t
lws_ring_get_count_free_elements(struct lws_ring *ring);

/* Elements waiting for the reader at *tail (tail NULL: the oldest tail). */
LWS_VISIBLE LWS_EXTERN size_t
lws_ring_get_count_waiting_elements(struct lws_ring *ring, uint32_t *tail);

/* Copy up to max_count elements from src in; returns how many went in. */
LWS_VISIBLE LWS_EXTERN size_t
lws_ring_insert(struct lws_ring *ring, const void *src, size_t max_count);

/*
 * Take up to max_count elements for the reader at *tail, copying them to dest
 * unless dest is NULL, and advance *tail. With tail NULL (a ring with a
 * single reader) it reads from the oldest tail and also moves the oldest tail
 * on, freeing what it took. Returns how many were taken.
 */
LWS_VISIBLE LWS_EXTERN size_t
lws_ring_consume(struct lws_ring *ring, uint32_t *tail, void *dest,
		 size_t max_count);

/* The next element for the reader at *tail (NULL: oldest), or NULL if none.
 * Does not advance the tail. */
LWS_VISIBLE LWS_EXTERN const void *
lws_ring_get_element(struct lws_ring *ring, uint32_t *tail);

/* Move the oldest tail forward to `tail`, freeing (destroy_element) every
 * element it passes. */
LWS_VISIBLE LWS_EXTERN void
lws_ring_update_oldest_tail(struct lws_ring *ring, uint32_t tail);

LWS_VISIBLE LWS_EXTERN uint32_t
lws_ring_get_oldest_tail(struct lws_ring *ring);

/*
 * Writing in place instead of lws_ring_insert(): *start is where the next
 * element goes and *bytes how many bytes from there are free without
 * wrapping. Write whole elements there, then lws_ring_bump_head() with the
 * bytes written. Returns 0, or 1 (nothing set) when the ring is full.
 */
LWS_VISIBLE LWS_EXTERN int
lws_ring_next_linear_insert_range(struct lws_ring *ring, void **start,
				  size_t *bytes);

/* Moves the head on past `bytes` written in place (whole elements). */
LWS_VISIBLE LWS_EXTERN void
lws_ring_bump_head(struct lws_ring *ring, size_t bytes);

/* Logs the ring's state, and what waits for *tail (NULL: the oldest). */
LWS_VISIBLE LWS_EXTERN void
lws_ring_dump(struct lws_ring *ring, uint32_t *tail);

/*
 * Consume `count` elements for the reader whose tail is *ptail, then, if that
 * reader held the oldest tail, find the reader now furthest behind and make
 * its tail the oldest. Readers are the `type` objects of a singly linked list
 * starting at `list_head`, linked by member `mlist`, tail in member `mtail`.
 */
#define lws_ring_consume_and_update_oldest_tail(ring, type, ptail, count, \
						list_head, mtail, mlist) \
	{ \
		int _lws_was_oldest = \
			lws_ring_get_oldest_tail(ring) == *(ptail); \
		lws_ring_consume(ring, ptail, NULL, count); \
		if (_lws_was_oldest) { \
			uint32_t _lws_oldest = *(ptail); \
			size_t _lws_most = 0; \
			lws_start_foreach_llp(type **, _lws_rd, list_head) { \
				size_t _lws_w = \
					lws_ring_get_count_waiting_elements( \
						ring, &(*_lws_rd)->mtail); \
				if (_lws_w >= _lws_most) { \
					_lws_most = _lws_w; \
					_lws_oldest = (*_lws_rd)->mtail; \
				} \
			} lws_end_foreach_llp(_lws_rd, mlist); \
			lws_ring_update_oldest_tail(ring, _lws_oldest); \
		} \
	}

/* The same with a single reader: consume, and its tail becomes the oldest. */
#define lws_ring_consume_single_tail(ring, ptail, count) \
	{ \
		lws_ring_consume(ring, ptail, NULL, count); \
		lws_ring_update_oldest_tail(ring, *(ptail)); \
	}

#endif /* COMLINK_LWS_RING_H */
