/*
 * Comlink plugin header: lws's small helper families that plugins use:
 * lws_list_ptr lists, lwsac arenas, lws_dir directory walks and the
 * lws_tokenize tokenizer. Part of <libwebsockets.h>. Names, values and
 * layouts are lws v4.3's; the functions are host functions.
 */

#ifndef COMLINK_LWS_HELPERS_H
#define COMLINK_LWS_HELPERS_H

/* ---------------------------------------------------------------------------
 * lws_list_ptr: singly linked lists whose links point at the next object's
 * link member (not at the object), so one object can be on several lists
 * and the link need not come first. lws_list_ptr_container() gets from a
 * link back to its object.
 */

typedef void *lws_list_ptr;

/* Ordering for lws_list_ptr_insert(): <= 0 puts a before b. */
typedef int (*lws_list_ptr_sort_func_t)(lws_list_ptr a, lws_list_ptr b);

#define lws_list_ptr_container(P, T, M) ((T *)((char *)(P) - offsetof(T, M)))

/* Step a link variable to the next link (NULL at the end). */
#define lws_list_ptr_advance(_lp) _lp = *((void **)_lp)

/*
 * Link `add` (the new object's link member) into the list whose head is
 * *phead: in front of the first member m with sort(add, m) <= 0, or at the
 * head when sort is NULL.
 */
LWS_VISIBLE LWS_EXTERN void
lws_list_ptr_insert(lws_list_ptr *phead, lws_list_ptr *add,
		    lws_list_ptr_sort_func_t sort);

/* ---------------------------------------------------------------------------
 * lwsac: an arena of chunks. Keep a `struct lwsac *` starting NULL; each
 * lwsac_use() hands out pointer-aligned bytes from the newest chunk (a new
 * chunk of chunk_size bytes, 0 meaning 4000, when it lacks room; a bigger
 * one for a bigger request); lwsac_free() frees everything at once. The
 * arena belongs to the host: the pointer is a handle, not memory to read.
 */

typedef unsigned char *lwsac_cached_file_t;

LWS_VISIBLE LWS_EXTERN void *
lwsac_use(struct lwsac **head, size_t ensure, size_t chunk_size);

/* As lwsac_use(), using room left in older chunks first. */
LWS_VISIBLE LWS_EXTERN void *
lwsac_use_backfill(struct lwsac **head, size_t ensure, size_t chunk_size);

/* As lwsac_use(), the bytes zeroed. */
LWS_VISIBLE LWS_EXTERN void *
lwsac_use_zero(struct lwsac **head, size_t ensure, size_t chunk_size);

#define lwsac_use_zeroed lwsac_use_zero

/* Free the arena and set *head to NULL. */
LWS_VISIBLE LWS_EXTERN void
lwsac_free(struct lwsac **head);

/*
 * Shared arenas: holders take lwsac_reference(); the owner lets go with
 * lwsac_detach() (freed now if nobody holds it, else at the last
 * lwsac_unreference()). Both set *head to NULL when they free it.
 */
LWS_VISIBLE LWS_EXTERN void
lwsac_detach(struct lwsac **head);

LWS_VISIBLE LWS_EXTERN void
lwsac_reference(struct lwsac *head);

LWS_VISIBLE LWS_EXTERN void
lwsac_unreference(struct lwsac **head);

/* Grow the piece last handed out by amount bytes (zeroed) if its chunk has
 * room: 0, else 1. */
LWS_VISIBLE LWS_EXTERN int
lwsac_extend(struct lwsac *head, size_t amount);

/* length rounded up to the size of a pointer, as pieces are. */
LWS_VISIBLE LWS_EXTERN size_t
lwsac_align(size_t length);

/* Logs the arena's size at debug level. */
LWS_VISIBLE LWS_EXTERN void
lwsac_info(struct lwsac *head);

/* Bytes the arena allocated (chunks and their bookkeeping); 0 for NULL. */
LWS_VISIBLE LWS_EXTERN uint64_t
lwsac_total_alloc(struct lwsac *head);

/* Bytes allocated but not handed out (and bookkeeping). */
LWS_VISIBLE LWS_EXTERN uint64_t
lwsac_total_overhead(struct lwsac *head);

/* ---------------------------------------------------------------------------
 * lws_dir: a callback for each entry of a directory, in name order, without
 * "." and "..", skipping names that contain '~' (editor backups).
 */

#define LWS_WITH_DIR

typedef enum {
	LDOT_UNKNOWN,
	LDOT_FILE,
	LDOT_DIR,
	LDOT_LINK,
	LDOT_FIFO,
	LDOTT_SOCKET,	/* (sic: lws's name) */
	LDOT_CHAR,
	LDOT_BLOCK
} lws_dir_obj_type_t;

struct lws_dir_entry {
	const char *name;		/* the entry's name, no directory */
	lws_dir_obj_type_t type;
};

/* Return nonzero to stop the walk. */
typedef int
lws_dir_callback_function(const char *dirpath, void *user,
			  struct lws_dir_entry *lde);

/* Calls cb for each entry of dirpath. Returns 0 when cb stopped the walk,
 * 1 when it went through (or the directory could not be read), as lws. */
LWS_VISIBLE LWS_EXTERN int
lws_dir(const char *dirpath, void *user, lws_dir_callback_function cb);

/* A ready-made callback: removes each entry, directories with everything
 * in them (symbolic links are removed, not followed). The directory given
 * to lws_dir() itself stays. */
LWS_VISIBLE LWS_EXTERN int
lws_dir_rm_rf_cb(const char *dirpath, void *user, struct lws_dir_entry *lde);

typedef int (*lws_dir_glob_cb_t)(void *data, const char *path);

typedef struct lws_dir_glob {
	const char		*filter;	/* one '*' at most: "*.txt" */
	lws_dir_glob_cb_t	cb;		/* cb(user, "dirpath/name") */
	void			*user;
} lws_dir_glob_t;

/* A ready-made callback (user: an lws_dir_glob_t): calls its cb for each
 * entry that is not a directory and whose name matches its filter. */
LWS_VISIBLE LWS_EXTERN int
lws_dir_glob_cb(const char *dirpath, void *user, struct lws_dir_entry *lde);

/* ---------------------------------------------------------------------------
 * lws_tokenize: one element of a string per call. Tokens are runs of
 * [A-Za-z0-9_] (any non-delimiter with LWS_TOKENIZE_F_RFC7230_DELIMS); any
 * other byte is a delimiter of its own; whitespace separates; "..." is one
 * quoted string. The text ends at its NUL, or after `len` bytes if you set
 * len after lws_tokenize_init().
 */

#define LWS_TOKENIZE_F_MINUS_NONTERM	(1 << 0)	/* '-' is in tokens */
#define LWS_TOKENIZE_F_AGG_COLON	(1 << 1)	/* "name:" is one element */
#define LWS_TOKENIZE_F_COMMA_SEP_LIST	(1 << 2)	/* check a, b, c lists */
#define LWS_TOKENIZE_F_RFC7230_DELIMS	(1 << 3)	/* only RFC 7230 delimiters */
#define LWS_TOKENIZE_F_DOT_NONTERM	(1 << 4)	/* '.' is in tokens */
#define LWS_TOKENIZE_F_NO_FLOATS	(1 << 5)
#define LWS_TOKENIZE_F_NO_INTEGERS	(1 << 6)
#define LWS_TOKENIZE_F_HASH_COMMENT	(1 << 7)	/* '#' to end of line */
#define LWS_TOKENIZE_F_SLASH_NONTERM	(1 << 8)	/* '/' is in tokens */
#define LWS_TOKENIZE_F_ASTERISK_NONTERM	(1 << 9)	/* '*' is in tokens */
#define LWS_TOKENIZE_F_EQUALS_NONTERM	(1 << 10)	/* '=' is in tokens */

typedef enum {
	LWS_TOKZE_ERRS			=  5,	/* how many errors there are */
	LWS_TOKZE_ERR_BROKEN_UTF8	= -5,
	LWS_TOKZE_ERR_UNTERM_STRING	= -4,	/* text ended inside "..." */
	LWS_TOKZE_ERR_MALFORMED_FLOAT	= -3,	/* 1.2.3 */
	LWS_TOKZE_ERR_NUM_ON_LHS	= -2,	/* 12= */
	LWS_TOKZE_ERR_COMMA_LIST	= -1,	/* ",a" or "a,,b" */
	LWS_TOKZE_ENDED = 0,
	LWS_TOKZE_DELIMITER,
	LWS_TOKZE_TOKEN,
	LWS_TOKZE_INTEGER,
	LWS_TOKZE_FLOAT,
	LWS_TOKZE_TOKEN_NAME_EQUALS,	/* "name =", the '=' swallowed */
	LWS_TOKZE_TOKEN_NAME_COLON,	/* "name :", with F_AGG_COLON */
	LWS_TOKZE_QUOTED_STRING,	/* the inside of "..." */
} lws_tokenize_elem;

enum lws_tokenize_delimiter_tracking {
	LWSTZ_DT_NEED_FIRST_CONTENT,
	LWSTZ_DT_NEED_DELIM,
	LWSTZ_DT_NEED_NEXT_CONTENT,
};

typedef struct lws_tokenize {
	const char *start;	/* the rest of the text */
	const char *token;	/* the element found (not NUL-terminated) */
	size_t len;		/* bytes of text left */
	size_t token_len;	/* length of token */
	uint16_t flags;		/* LWS_TOKENIZE_F_* */
	uint8_t delim;		/* comma-list state */
	int8_t e;		/* yours: keep the last result here */
} lws_tokenize_t;

LWS_VISIBLE LWS_EXTERN void
lws_tokenize_init(struct lws_tokenize *ts, const char *start, int flags);

/* The next element; token / token_len say where it is. */
LWS_VISIBLE LWS_EXTERN lws_tokenize_elem
lws_tokenize(struct lws_tokenize *ts);

/* The last element as a C string in str (max bytes): 0, or 1 if it does
 * not fit. */
LWS_VISIBLE LWS_EXTERN int
lws_tokenize_cstr(struct lws_tokenize *ts, char *str, size_t max);

#endif /* COMLINK_LWS_HELPERS_H */
