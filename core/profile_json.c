/*
 * core/profile_json.c: the JSON profile file (SPEC section 5): reading it
 * into profiles and settings with every error located, and writing it.
 *
 * Reading drives yajl's event parser over the whole buffer and builds the
 * profiles straight from the events, so no document tree is ever held: the
 * memory used is the profiles themselves.  yajl tokenizes; this file only
 * turns yajl's byte offsets into lines and columns.  Values go through
 * profile_set() and settings_set(), so a value is judged here exactly as on
 * the command line.  This module does not know the store: whether a name or
 * the default profile exists there is the caller's question.
 */
#include "core/profile_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "core/text.h"
#include "core/xmalloc.h"

#define SECRET_MASK	"********"
#define SHOWN_MAX	40	/* longest piece of the file in a message */

struct pos {
	int	 line;
	int	 column;
};

enum state {
	ST_START,		/* before the top-level value */
	ST_TOP,			/* top-level object: a key or its end */
	ST_TOP_VALUE,		/* the value of "profiles" or "settings" */
	ST_PROFILES,		/* the "profiles" array */
	ST_PROFILE,		/* a profile object: a key or its end */
	ST_PROFILE_VALUE,	/* the value of a profile key */
	ST_LIST,		/* the strings of a list value */
	ST_SETTINGS,		/* the settings object: a key or its end */
	ST_SETTINGS_VALUE,
	ST_SKIP,		/* skipping a value already reported */
	ST_DONE			/* after the top-level object */
};

/* What yajl handed over, for type checks and messages. */
enum kind {
	K_NULL,
	K_BOOL,
	K_NUMBER,
	K_STRING,
	K_OBJECT,
	K_ARRAY
};

enum top_key {
	TOP_PROFILES,
	TOP_SETTINGS,
	TOP_COUNT
};

static const char *const top_names[TOP_COUNT] = { "profiles", "settings" };

struct value {
	enum kind	 kind;
	const char	*s;	/* number text or string bytes, no NUL */
	size_t		 len;
	int		 b;
};

struct parser {
	const unsigned char	*buf;
	size_t			 len;
	struct profile_file	*f;
	struct diag_list	*errs;
	yajl_handle		 h;
	bool			 completing;	/* inside yajl_complete_parse */

	/* Token ends, as offsets into buf; the running line count. */
	size_t			 prev_end;
	size_t			 tok_end;
	size_t			 at;
	int			 line;
	int			 column;

	enum state		 state;
	enum state		 skip_ret;
	size_t			 skip_depth;

	/* The top-level object. */
	struct pos		 top_pos;
	int			 top_line[TOP_COUNT];	/* 0: not seen yet */
	enum top_key		 top_key;
	bool			 profiles_given;

	/* The profile being read. */
	struct profile		*p;
	struct pos		 obj_pos;
	size_t			 obj_errs;	/* errs->n when it opened */
	int			 key_line[PROFILE_KEY_COUNT];
	bool			 key_bad[PROFILE_KEY_COUNT];
	enum profile_key	 key;
	bool			 port_given;
	bool			 password_given;
	struct pos		 name_pos;

	/* A list value (alt_hosts). */
	char			**items;
	size_t			 items_n;
	size_t			 items_cap;
	bool			 list_bad;
	struct pos		 list_pos;

	/* The settings object. */
	int			 skey_line[SETTINGS_KEY_COUNT];
	enum settings_key	 skey;

	/* Names seen, with the entry index; where each name was. */
	struct profile_names	 names;
	int			*name_line;	/* by entry index */
	size_t			 name_line_cap;

	/* A NUL-terminated copy of the current string; wiped at the end. */
	char			*scratch;
	size_t			 scratch_cap;
};

/* Positions. */

static bool
is_space(unsigned char c)
{
	/* yajl's whitespace, which includes \v and \f. */
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

/* Line and column (1-based, in code points) of an offset into buf. */
static struct pos
pos_of(struct parser *ps, size_t off)
{
	struct pos pos;

	if (off > ps->len)
		off = ps->len;
	if (off < ps->at) {
		/* Offsets only grow, but a message may look back: restart. */
		ps->at = 0;
		ps->line = ps->column = 1;
	}
	for (; ps->at < off; ps->at++) {
		unsigned char c = ps->buf[ps->at];

		if (c == '\n') {
			ps->line++;
			ps->column = 1;
		} else if ((c & 0xc0) != 0x80)
			ps->column++;
	}
	pos.line = ps->line;
	pos.column = ps->column;
	return pos;
}

/*
 * Where the current token starts: yajl tells only where it ends, and what
 * lies between two reported tokens is whitespace, ':' and ','.
 */
static size_t
tok_start(struct parser *ps)
{
	size_t off = ps->prev_end;

	while (off < ps->tok_end && (is_space(ps->buf[off]) ||
	    ps->buf[off] == ':' || ps->buf[off] == ','))
		off++;
	return off;
}

static struct pos
tok_pos(struct parser *ps)
{
	return pos_of(ps, tok_start(ps));
}

/* Called first by every callback. */
static void
tok_next(struct parser *ps)
{
	ps->prev_end = ps->tok_end;
	/*
	 * yajl_complete_parse() feeds yajl a buffer of its own (" ") to end a
	 * number left at the end of ours; offsets are then into that buffer.
	 */
	ps->tok_end = ps->completing ? ps->len : yajl_get_bytes_consumed(ps->h);
	if (ps->tok_end > ps->len)
		ps->tok_end = ps->len;
}

/* Helpers for messages. */

static const char *
kind_name(const struct value *v)
{
	switch (v->kind) {
	case K_NULL:
		return "null";
	case K_BOOL:
		return v->b ? "true" : "false";
	case K_NUMBER:
		return "a number";
	case K_STRING:
		return "a string";
	case K_OBJECT:
		return "an object";
	case K_ARRAY:
		return "an array";
	}
	return "a value";
}

static const char *
type_want(enum profile_key_type type)
{
	switch (type) {
	case PROFILE_TYPE_STRING:
	case PROFILE_TYPE_ENUM:
		return "a string";
	case PROFILE_TYPE_BOOL:
		return "true or false";
	case PROFILE_TYPE_INT:
		return "a number";
	case PROFILE_TYPE_LIST:
		return "an array of strings";
	}
	return "a value";
}

/*
 * A piece of the file for a message, cut at SHOWN_MAX bytes (on a character
 * boundary) and at a NUL.  Caller frees.  diag_add() escapes keys and
 * profile names; reasons quote only numbers, which need no escaping.
 */
static char *
shown(const char *s, size_t len)
{
	size_t n = len;
	char *out;

	if (n > SHOWN_MAX) {
		n = SHOWN_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	out = xstrndup(s, n);
	if (n < len && strlen(out) == n) {
		char *longer = xasprintf("%s...", out);

		free(out);
		out = longer;
	}
	return out;
}

/* Edit distance, case-insensitive, for "did you mean". */
static size_t
distance(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b), row[64], diag, up, i, j;

	if (alen >= 64 || blen >= 64)
		return SIZE_MAX;
	for (j = 0; j <= blen; j++)
		row[j] = j;
	for (i = 1; i <= alen; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= blen; j++) {
			size_t best;
			int ca = a[i - 1], cb = b[j - 1];

			if (ca >= 'A' && ca <= 'Z')
				ca += 'a' - 'A';
			up = row[j];
			best = diag + (ca != cb);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[blen];
}

/* The nearest of names[0..n) to s if it is near enough, else NULL. */
static const char *
nearest(const char *s, size_t len, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX, d;

	for (size_t i = 0; i < n; i++) {
		d = distance(s, len, names[i]);
		if (d < best_d) {
			best_d = d;
			best = names[i];
		}
	}
	if (best == NULL || best_d > 2 || best_d >= len)
		return NULL;
	return best;
}

/* "unknown key", with the nearest valid name or else the fallback hint. */
static void
unknown_key(struct parser *ps, const char *s, size_t len,
    const char *const *names, size_t n, const char *what,
    const char *fallback)
{
	struct pos pos = tok_pos(ps);
	const char *hint = nearest(s, len, names, n);
	char *name = shown(s, len);

	if (hint != NULL)
		diag_add(ps->errs, pos.line, pos.column, NULL, name,
		    "unknown %s; did you mean \"%s\"?", what, hint);
	else if (fallback != NULL)
		diag_add(ps->errs, pos.line, pos.column, NULL, name,
		    "unknown %s; %s", what, fallback);
	else
		diag_add(ps->errs, pos.line, pos.column, NULL, name,
		    "unknown %s", what);
	free(name);
}

static void
skip(struct parser *ps, const struct value *v, enum state ret)
{
	ps->skip_ret = ret;
	if (v != NULL && v->kind != K_OBJECT && v->kind != K_ARRAY) {
		ps->state = ret;
		return;
	}
	/* v NULL: the value has not come yet (after a bad key). */
	ps->skip_depth = v != NULL ? 1 : 0;
	ps->state = ST_SKIP;
}

/* The current string, NUL-terminated, in the scratch buffer. */
static char *
scratch(struct parser *ps, const char *s, size_t len)
{
	if (len + 1 > ps->scratch_cap) {
		/* The old contents may be a password: wipe before moving. */
		if (ps->scratch != NULL)
			explicit_bzero(ps->scratch, ps->scratch_cap);
		free(ps->scratch);
		ps->scratch_cap = len + 1 > 256 ? len + 1 : 256;
		ps->scratch = xmalloc(ps->scratch_cap);
	}
	memcpy(ps->scratch, s, len);
	ps->scratch[len] = '\0';
	return ps->scratch;
}

/*
 * Checks a string value yajl accepted: yajl lets \u0000, lone surrogates
 * (as '?'), overlong forms and surrogates encoded in UTF-8 through.
 */
static const char *
string_problem(const struct value *v)
{
	if (memchr(v->s, '\0', v->len) != NULL)
		return "contains a NUL character (\\u0000)";
	if (!text_utf8_valid(v->s, v->len))
		return "is not valid UTF-8";
	return NULL;
}

/* Profiles. */

static void
profile_begin(struct parser *ps)
{
	ps->p = profile_new(NULL);
	ps->obj_pos = tok_pos(ps);
	ps->obj_errs = ps->errs->n;
	memset(ps->key_line, 0, sizeof ps->key_line);
	memset(ps->key_bad, 0, sizeof ps->key_bad);
	ps->port_given = ps->password_given = false;
	ps->state = ST_PROFILE;
}

/* An error at the current token about the current profile key. */
static void __attribute__((format(printf, 2, 3)))
key_error(struct parser *ps, const char *fmt, ...)
{
	struct pos pos = tok_pos(ps);
	va_list ap;
	char *reason;

	va_start(ap, fmt);
	reason = xvasprintf(fmt, ap);
	va_end(ap);
	diag_add(ps->errs, pos.line, pos.column, NULL,
	    profile_key_name(ps->key), "%s", reason);
	free(reason);
	ps->key_bad[ps->key] = true;
}

static void
profile_end(struct parser *ps)
{
	struct profile_file *f = ps->f;
	struct profile *p = ps->p;
	size_t idx;

	ps->p = NULL;
	if (!ps->port_given)
		profile_tls_changed(p, PROFILE_TLS_IMPLICIT);

	/*
	 * Rules between keys, at the brace; none about a refused value.  A
	 * password the file left out is the stored one's business: the
	 * importer validates again once it has merged it.
	 */
	profile_file_validate(p, !ps->password_given, ps->key_bad,
	    ps->obj_pos.line, ps->obj_pos.column, ps->errs);
	idx = f->n;
	profile_file_add(f, p, ps->obj_pos.line, ps->obj_pos.column,
	    ps->password_given);

	if (p->name != NULL) {
		size_t first = idx;

		if (idx >= ps->name_line_cap) {
			ps->name_line_cap = f->cap;
			ps->name_line = xreallocarray(ps->name_line,
			    ps->name_line_cap, sizeof *ps->name_line);
		}
		ps->name_line[idx] = ps->name_pos.line;
		if (!profile_names_add(&ps->names, p->name, &first))
			diag_add(ps->errs, ps->name_pos.line,
			    ps->name_pos.column, NULL, "name",
			    "profile name already used at line %d",
			    ps->name_line[first]);
		/* Every error of this object names it, wherever "name" was. */
		for (size_t i = ps->obj_errs; i < ps->errs->n; i++) {
			if (ps->errs->v[i].profile == NULL)
				ps->errs->v[i].profile = xstrdup(p->name);
		}
	}
	ps->state = ST_PROFILES;
}

static void
apply(struct parser *ps, const char *value)
{
	char *cause = NULL;

	if (profile_set(ps->p, ps->key, value, &cause) != 0) {
		key_error(ps, "%s", cause);
		free(cause);
		return;
	}
	if (ps->key == PROFILE_KEY_NAME)
		ps->name_pos = tok_pos(ps);
}

static void
profile_value(struct parser *ps, const struct value *v)
{
	enum profile_key_type type = profile_key_type(ps->key);
	const char *problem;
	char *s;

	ps->state = ST_PROFILE;
	if (v->kind == K_NULL)
		return;		/* absent: the default */
	if (ps->key == PROFILE_KEY_PORT)
		ps->port_given = true;
	if (ps->key == PROFILE_KEY_PASSWORD)
		ps->password_given = true;

	switch (type) {
	case PROFILE_TYPE_LIST:
		if (v->kind != K_ARRAY)
			break;
		ps->items_n = 0;
		ps->list_bad = false;
		ps->list_pos = tok_pos(ps);
		ps->state = ST_LIST;
		return;
	case PROFILE_TYPE_BOOL:
		if (v->kind != K_BOOL)
			break;
		apply(ps, v->b ? "true" : "false");
		return;
	case PROFILE_TYPE_INT:
		if (v->kind != K_NUMBER)
			break;
		if (memchr(v->s, '.', v->len) != NULL ||
		    memchr(v->s, 'e', v->len) != NULL ||
		    memchr(v->s, 'E', v->len) != NULL) {
			s = shown(v->s, v->len);
			key_error(ps, "expected a whole number, got %s", s);
			free(s);
			return;
		}
		apply(ps, scratch(ps, v->s, v->len));
		return;
	case PROFILE_TYPE_STRING:
	case PROFILE_TYPE_ENUM:
		if (v->kind != K_STRING)
			break;
		if ((problem = string_problem(v)) != NULL) {
			key_error(ps, "%s", problem);
			return;
		}
		s = scratch(ps, v->s, v->len);
		apply(ps, s);
		if (profile_key_secret(ps->key))
			explicit_bzero(s, v->len);
		return;
	}
	{
		struct pos pos = tok_pos(ps);

		diag_add(ps->errs, pos.line, pos.column, NULL,
		    profile_key_name(ps->key), "expected %s, got %s",
		    type_want(type), kind_name(v));
		ps->key_bad[ps->key] = true;
		skip(ps, v, ST_PROFILE);
	}
}

static void
list_item(struct parser *ps, const struct value *v)
{
	const char *problem;

	if (v->kind != K_STRING) {
		key_error(ps, "expected a string in the list, got %s",
		    kind_name(v));
		ps->list_bad = true;
		skip(ps, v, ST_LIST);
		return;
	}
	if ((problem = string_problem(v)) != NULL) {
		key_error(ps, "%s", problem);
		ps->list_bad = true;
		return;
	}
	if (ps->items_n == ps->items_cap) {
		ps->items_cap = ps->items_cap ? ps->items_cap * 2 : 4;
		ps->items = xreallocarray(ps->items, ps->items_cap,
		    sizeof *ps->items);
	}
	ps->items[ps->items_n++] = xstrndup(v->s, v->len);
}

static void
list_end(struct parser *ps)
{
	char *cause = NULL;

	if (!ps->list_bad && profile_set_list(ps->p, ps->key,
	    (const char *const *)ps->items, ps->items_n, &cause) != 0) {
		diag_add(ps->errs, ps->list_pos.line, ps->list_pos.column, NULL,
		    profile_key_name(ps->key), "%s", cause);
		ps->key_bad[ps->key] = true;
		free(cause);
	}
	for (size_t i = 0; i < ps->items_n; i++)
		free(ps->items[i]);
	ps->items_n = 0;
	ps->state = ST_PROFILE;
}

static void
profile_key(struct parser *ps, const char *s, size_t len)
{
	const char *names[PROFILE_KEY_COUNT];
	enum profile_key k;
	struct pos pos;

	if (memchr(s, '\0', len) != NULL ||
	    profile_key_lookup(scratch(ps, s, len), &k) != 0) {
		for (int i = 0; i < PROFILE_KEY_COUNT; i++)
			names[i] = profile_key_name((enum profile_key)i);
		unknown_key(ps, s, len, names, PROFILE_KEY_COUNT, "key", NULL);
		skip(ps, NULL, ST_PROFILE);
		return;
	}
	pos = tok_pos(ps);
	if (ps->key_line[k] != 0) {
		diag_add(ps->errs, pos.line, pos.column, NULL,
		    profile_key_name(k), "given twice (first at line %d)",
		    ps->key_line[k]);
		skip(ps, NULL, ST_PROFILE);
		return;
	}
	ps->key_line[k] = pos.line;
	ps->key = k;
	ps->state = ST_PROFILE_VALUE;
}

/* Settings. */

static void
settings_key(struct parser *ps, const char *s, size_t len)
{
	const char *names[SETTINGS_KEY_COUNT];
	enum settings_key k;
	struct pos pos;

	if (memchr(s, '\0', len) != NULL ||
	    settings_key_lookup(scratch(ps, s, len), &k) != 0) {
		for (int i = 0; i < SETTINGS_KEY_COUNT; i++)
			names[i] = settings_key_name((enum settings_key)i);
		unknown_key(ps, s, len, names, SETTINGS_KEY_COUNT, "setting",
		    "the settings are enabled, default_profile, "
		    "subject_params and subject_delimiter");
		skip(ps, NULL, ST_SETTINGS);
		return;
	}
	pos = tok_pos(ps);
	if (ps->skey_line[k] != 0) {
		diag_add(ps->errs, pos.line, pos.column, NULL,
		    settings_key_name(k), "given twice (first at line %d)",
		    ps->skey_line[k]);
		skip(ps, NULL, ST_SETTINGS);
		return;
	}
	ps->skey_line[k] = pos.line;
	ps->skey = k;
	ps->state = ST_SETTINGS_VALUE;
}

static void
settings_value(struct parser *ps, const struct value *v)
{
	enum profile_key_type type = settings_key_type(ps->skey);
	const char *name = settings_key_name(ps->skey), *text, *problem;
	struct pos pos = tok_pos(ps);
	char *cause = NULL;

	ps->state = ST_SETTINGS;
	if (v->kind == K_NULL)
		return;
	if (type == PROFILE_TYPE_BOOL && v->kind == K_BOOL)
		text = v->b ? "true" : "false";
	else if (type != PROFILE_TYPE_BOOL && v->kind == K_STRING) {
		if ((problem = string_problem(v)) != NULL) {
			diag_add(ps->errs, pos.line, pos.column, NULL, name,
			    "%s", problem);
			return;
		}
		text = scratch(ps, v->s, v->len);
	} else {
		diag_add(ps->errs, pos.line, pos.column, NULL, name,
		    "expected %s, got %s", type_want(type), kind_name(v));
		skip(ps, v, ST_SETTINGS);
		return;
	}
	if (settings_set(&ps->f->settings, ps->skey, text, &cause) != 0) {
		diag_add(ps->errs, pos.line, pos.column, NULL, name, "%s",
		    cause);
		free(cause);
		return;
	}
	ps->f->settings_given[ps->skey] = true;
}

/* The top level. */

static void
top_key(struct parser *ps, const char *s, size_t len)
{
	struct pos pos;
	int k;

	for (k = 0; k < TOP_COUNT; k++) {
		if (strlen(top_names[k]) == len &&
		    memcmp(top_names[k], s, len) == 0)
			break;
	}
	if (k == TOP_COUNT) {
		unknown_key(ps, s, len, top_names, TOP_COUNT, "key",
		    "a profile file has \"profiles\" and \"settings\"");
		skip(ps, NULL, ST_TOP);
		return;
	}
	pos = tok_pos(ps);
	if (ps->top_line[k] != 0) {
		diag_add(ps->errs, pos.line, pos.column, NULL, top_names[k],
		    "given twice (first at line %d)", ps->top_line[k]);
		skip(ps, NULL, ST_TOP);
		return;
	}
	ps->top_line[k] = pos.line;
	ps->top_key = (enum top_key)k;
	ps->state = ST_TOP_VALUE;
}

static void
top_value(struct parser *ps, const struct value *v)
{
	struct pos pos = tok_pos(ps);

	ps->state = ST_TOP;
	if (v->kind == K_NULL)
		return;
	if (ps->top_key == TOP_PROFILES) {
		ps->profiles_given = true;
		if (v->kind == K_ARRAY) {
			ps->state = ST_PROFILES;
			return;
		}
		diag_add(ps->errs, pos.line, pos.column, NULL, "profiles",
		    "expected an array of profile objects, got %s",
		    kind_name(v));
	} else {
		if (v->kind == K_OBJECT) {
			ps->f->has_settings = true;
			ps->f->settings_line = pos.line;
			ps->f->settings_column = pos.column;
			ps->state = ST_SETTINGS;
			return;
		}
		diag_add(ps->errs, pos.line, pos.column, NULL, "settings",
		    "expected an object, got %s", kind_name(v));
	}
	skip(ps, v, ST_TOP);
}

/*
 * Every value event.  Returns 0 to stop the parse (the file is not a
 * profile file at all), 1 to go on.
 */
static int
on_value(struct parser *ps, const struct value *v)
{
	struct pos pos;

	switch (ps->state) {
	case ST_START:
		if (v->kind == K_OBJECT) {
			ps->top_pos = tok_pos(ps);
			ps->state = ST_TOP;
			return 1;
		}
		pos = tok_pos(ps);
		diag_add(ps->errs, pos.line, pos.column, NULL, NULL,
		    "expected a JSON object with a \"profiles\" array, got %s",
		    kind_name(v));
		return 0;
	case ST_TOP_VALUE:
		top_value(ps, v);
		return 1;
	case ST_PROFILES:
		if (v->kind == K_OBJECT) {
			profile_begin(ps);
			return 1;
		}
		pos = tok_pos(ps);
		diag_add(ps->errs, pos.line, pos.column, NULL, NULL,
		    "expected a profile object, got %s", kind_name(v));
		skip(ps, v, ST_PROFILES);
		return 1;
	case ST_PROFILE_VALUE:
		profile_value(ps, v);
		return 1;
	case ST_LIST:
		list_item(ps, v);
		return 1;
	case ST_SETTINGS_VALUE:
		settings_value(ps, v);
		return 1;
	case ST_SKIP:
		if (v->kind == K_OBJECT || v->kind == K_ARRAY)
			ps->skip_depth++;
		else if (ps->skip_depth == 0)
			ps->state = ps->skip_ret;
		return 1;
	case ST_TOP:
	case ST_PROFILE:
	case ST_SETTINGS:
	case ST_DONE:
		break;
	}
	return 1;	/* yajl allows no value where a key is due */
}

static int
on_end(struct parser *ps)
{
	switch (ps->state) {
	case ST_SKIP:
		if (ps->skip_depth > 0 && --ps->skip_depth == 0)
			ps->state = ps->skip_ret;
		break;
	case ST_TOP:
		if (!ps->profiles_given)
			diag_add(ps->errs, ps->top_pos.line, ps->top_pos.column,
			    NULL, "profiles", "is missing: a profile file is "
			    "{\"profiles\": [...]}");
		ps->state = ST_DONE;
		break;
	case ST_PROFILES:
		ps->state = ST_TOP;
		break;
	case ST_PROFILE:
		profile_end(ps);
		break;
	case ST_LIST:
		list_end(ps);
		break;
	case ST_SETTINGS:
		ps->state = ST_TOP;
		break;
	default:
		break;
	}
	return 1;
}

/* yajl callbacks. */

static int
cb_null(void *ctx)
{
	struct value v = { .kind = K_NULL };

	tok_next(ctx);
	return on_value(ctx, &v);
}

static int
cb_boolean(void *ctx, int b)
{
	struct value v = { .kind = K_BOOL, .b = b };

	tok_next(ctx);
	return on_value(ctx, &v);
}

static int
cb_number(void *ctx, const char *s, size_t len)
{
	struct parser *ps = ctx;
	struct value v = { .kind = K_NUMBER, .s = s, .len = len };

	tok_next(ps);
	/*
	 * "01" reaches here as 0, and yajl refuses the 1 next: do not judge
	 * a value that is about to be a syntax error.
	 */
	if (ps->tok_end < ps->len && ps->buf[ps->tok_end] >= '0' &&
	    ps->buf[ps->tok_end] <= '9')
		return 1;
	return on_value(ps, &v);
}

static int
cb_string(void *ctx, const unsigned char *s, size_t len)
{
	struct value v = { .kind = K_STRING, .s = (const char *)s, .len = len };

	tok_next(ctx);
	return on_value(ctx, &v);
}

static int
cb_start_map(void *ctx)
{
	struct value v = { .kind = K_OBJECT };

	tok_next(ctx);
	return on_value(ctx, &v);
}

static int
cb_start_array(void *ctx)
{
	struct value v = { .kind = K_ARRAY };

	tok_next(ctx);
	return on_value(ctx, &v);
}

static int
cb_map_key(void *ctx, const unsigned char *key, size_t len)
{
	struct parser *ps = ctx;
	const char *s = (const char *)key;

	tok_next(ps);
	switch (ps->state) {
	case ST_TOP:
		top_key(ps, s, len);
		break;
	case ST_PROFILE:
		profile_key(ps, s, len);
		break;
	case ST_SETTINGS:
		settings_key(ps, s, len);
		break;
	default:
		break;	/* ST_SKIP: keys of a skipped object */
	}
	return 1;
}

static int
cb_end(void *ctx)
{
	tok_next(ctx);
	return on_end(ctx);
}

static const yajl_callbacks callbacks = {
	.yajl_null = cb_null,
	.yajl_boolean = cb_boolean,
	.yajl_number = cb_number,	/* numbers as text: no rounding */
	.yajl_string = cb_string,
	.yajl_start_map = cb_start_map,
	.yajl_map_key = cb_map_key,
	.yajl_end_map = cb_end,
	.yajl_start_array = cb_start_array,
	.yajl_end_array = cb_end,
};

/* Syntax errors. */

/* yajl's message without its "lexical error: " prefix and final ".\n". */
static char *
yajl_message(struct parser *ps, bool *lexical)
{
	unsigned char *e = yajl_get_error(ps->h, 0, ps->buf, ps->len);
	char *msg, *start;
	size_t n;

	*lexical = false;
	if (e == NULL)
		return xstrdup("syntax error");
	start = (char *)e;
	if (strncmp(start, "lexical error: ", 15) == 0) {
		start += 15;
		*lexical = true;
	} else if (strncmp(start, "parse error: ", 13) == 0)
		start += 13;
	msg = xstrdup(start);
	yajl_free_error(ps->h, e);
	n = strlen(msg);
	while (n > 0 && (is_space((unsigned char)msg[n - 1]) ||
	    msg[n - 1] == '.'))
		msg[--n] = '\0';
	return msg;
}

/* The first byte of buf[from..to) that does not start valid UTF-8. */
static size_t
first_bad_utf8(const unsigned char *buf, size_t len, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		unsigned char c = buf[i];
		size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

		if (i + n > len || !text_utf8_valid((const char *)buf + i, n))
			return i;
		i += n - 1;
	}
	return to > 0 ? to - 1 : 0;
}

static void
syntax_error(struct parser *ps)
{
	size_t end = yajl_get_bytes_consumed(ps->h), off;
	struct pos pos;
	bool lexical;
	char *msg;
	unsigned char last;

	if (end > ps->len)
		end = ps->len;
	if (ps->state == ST_DONE) {
		/* yajl's "trailing garbage": say what it is. */
		off = ps->tok_end;
		while (off < ps->len && is_space(ps->buf[off]))
			off++;
		pos = pos_of(ps, off);
		if (off < ps->len && (ps->buf[off] == '{' ||
		    ps->buf[off] == '['))
			diag_add(ps->errs, pos.line, pos.column, NULL, NULL,
			    "a second JSON value after the top-level object; "
			    "a profile file holds one object");
		else
			diag_add(ps->errs, pos.line, pos.column, NULL, NULL,
			    "unexpected text after the top-level object");
		return;
	}
	msg = yajl_message(ps, &lexical);
	last = end > 0 ? ps->buf[end - 1] : 0;
	/*
	 * Where yajl stopped (see yajl_lex.c): just after the offending byte
	 * for an invalid character or invalid UTF-8, on it for the other
	 * lexical errors, and after the offending token for parse errors.
	 */
	ps->prev_end = ps->tok_end;	/* the last token yajl reported */
	ps->tok_end = end;
	if (lexical && strstr(msg, "UTF8") != NULL) {
		off = first_bad_utf8(ps->buf, ps->len, tok_start(ps), end);
		free(msg);
		msg = xstrdup("invalid UTF-8 (save the file as UTF-8)");
	} else if (lexical && strstr(msg, "invalid char in json text") != NULL)
		off = end > 0 ? end - 1 : 0;
	else if (lexical)
		off = end;
	else if (last != 0 && strchr("{}[],:", last) != NULL)
		off = end - 1;
	else
		off = tok_start(ps);
	pos = pos_of(ps, off);
	diag_add(ps->errs, pos.line, pos.column, NULL, NULL,
	    "not valid JSON: %s", msg);
	free(msg);
}

/* The end of the last thing in the file, for "unexpected end of file". */
static struct pos
end_pos(struct parser *ps)
{
	size_t off = ps->len;

	while (off > 0 && is_space(ps->buf[off - 1]))
		off--;
	return pos_of(ps, off);
}

static void
parser_free(struct parser *ps)
{
	if (ps->h != NULL)
		yajl_free(ps->h);
	if (ps->p != NULL)
		profile_free(ps->p);
	for (size_t i = 0; i < ps->items_n; i++)
		free(ps->items[i]);
	free(ps->items);
	profile_names_clear(&ps->names);
	free(ps->name_line);
	if (ps->scratch != NULL)
		explicit_bzero(ps->scratch, ps->scratch_cap);
	free(ps->scratch);
}

/*
 * f must be initialised (profile_file_init()); profiles are appended to it.
 * The caller owns buf; it is read only.
 */
int
profile_json_read(const char *buf, size_t len, struct profile_file *f,
    struct diag_list *errs)
{
	struct parser ps = { 0 };
	const unsigned char *u = (const unsigned char *)buf;
	size_t errs_before = errs->n, i;
	yajl_status st;

	ps.buf = u;
	ps.len = len;
	ps.f = f;
	ps.errs = errs;
	ps.line = ps.column = 1;

	if (len >= 3 && u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf) {
		diag_add(errs, 1, 1, NULL, NULL, "starts with a UTF-8 byte "
		    "order mark; save the file without it");
		goto fail;
	}
	if (len >= 2 && ((u[0] == 0xff && u[1] == 0xfe) ||
	    (u[0] == 0xfe && u[1] == 0xff))) {
		diag_add(errs, 1, 1, NULL, NULL, "is UTF-16 (it starts with "
		    "a UTF-16 byte order mark); save the file as UTF-8");
		goto fail;
	}
	for (i = 0; i < len && is_space(u[i]); i++)
		/* nothing */;
	if (i == len) {
		diag_add(errs, 1, 1, NULL, NULL, "empty file: expected a JSON "
		    "object with a \"profiles\" array");
		goto fail;
	}

	/*
	 * Strict JSON: yajl's defaults refuse comments, trailing garbage,
	 * several top-level values and partial values; invalid UTF-8 in
	 * strings is refused too when string validation is on.
	 */
	ps.h = yajl_alloc(&callbacks, NULL, &ps);
	if (ps.h == NULL) {
		diag_add(errs, 0, 0, NULL, NULL, "out of memory");
		goto fail;
	}
	yajl_config(ps.h, yajl_dont_validate_strings, 0);
	st = yajl_parse(ps.h, u, len);
	if (st == yajl_status_ok) {
		ps.completing = true;
		st = yajl_complete_parse(ps.h);
		if (st == yajl_status_error) {
			/* All of buf was a valid start: it stopped short. */
			struct pos pos = end_pos(&ps);

			diag_add(errs, pos.line, pos.column, NULL, NULL,
			    "unexpected end of file");
		}
	} else if (st == yajl_status_error)
		syntax_error(&ps);
	/* yajl_status_client_canceled: on_value() said why. */

	if (errs->n != errs_before)
		goto fail;
	parser_free(&ps);
	return 0;

fail:
	parser_free(&ps);
	diag_sort(errs, errs_before);
	return -1;
}

/* Writers. */

struct out {
	FILE	*fp;
	int	 error;		/* errno of the first failed write */
	/*
	 * yajl's beautifier writes an empty array as "[\n\n  ]": a newline
	 * after an opening bracket is held back until the next chunk shows
	 * whether the container is empty.
	 */
	bool	 held;		/* a newline after '[' or '{' is held */
	bool	 empty;		/* dropping indentation before ']' or '}' */
	char	 last;
};

static void
out_write(struct out *o, const char *s, size_t len)
{
	if (len == 0 || o->error != 0)
		return;
	errno = 0;
	if (fwrite(s, 1, len, o->fp) != len)
		o->error = errno != 0 ? errno : EIO;
	o->last = s[len - 1];
}

static void
out_print(void *ctx, const char *s, size_t len)
{
	struct out *o = ctx;

	if (o->empty) {
		if (strspn(s, " ") == len)
			return;
		o->empty = false;
	}
	if (o->held) {
		o->held = false;
		if (len == 1 && s[0] == '\n') {
			o->empty = true;
			return;
		}
		out_write(o, "\n", 1);
	}
	if (len == 1 && s[0] == '\n' && (o->last == '[' || o->last == '{')) {
		o->held = true;
		return;
	}
	out_write(o, s, len);
}

static yajl_gen
gen_new(struct out *o, FILE *fp)
{
	yajl_gen g;

	memset(o, 0, sizeof *o);
	o->fp = fp;
	if ((g = yajl_gen_alloc(NULL)) == NULL)
		return NULL;
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_config(g, yajl_gen_indent_string, "  ");
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	yajl_gen_config(g, yajl_gen_print_callback, out_print, o);
	return g;
}

static int
gen_end(yajl_gen g, struct out *o, yajl_gen_status st, char **cause)
{
	if (g != NULL)
		yajl_gen_free(g);
	if (g == NULL || st != yajl_gen_status_ok) {
		if (cause != NULL) {
			if (g == NULL)
				*cause = xstrdup("out of memory");
			else if (st == yajl_gen_invalid_string)
				*cause = xstrdup("a value is not valid UTF-8");
			else
				*cause = xasprintf("JSON generator error %d",
				    (int)st);
		}
		return -1;
	}
	if (o->held)
		out_write(o, "\n", 1);
	errno = 0;
	if (fflush(o->fp) != 0 && o->error == 0)
		o->error = errno != 0 ? errno : EIO;
	if (o->error == 0 && ferror(o->fp))
		o->error = EIO;
	if (o->error != 0) {
		if (cause != NULL)
			*cause = xasprintf("writing output: %s",
			    strerror(o->error));
		return -1;
	}
	return 0;
}

static yajl_gen_status
gen_str(yajl_gen g, const char *s)
{
	return yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static yajl_gen_status
gen_profile(yajl_gen g, const struct profile *p,
    enum profile_secret_mode secrets)
{
	yajl_gen_status st;
	char *v = NULL;

	if ((st = yajl_gen_map_open(g)) != yajl_gen_status_ok)
		return st;
	for (int i = 0; i < PROFILE_KEY_COUNT; i++) {
		enum profile_key k = (enum profile_key)i;
		bool secret = profile_key_secret(k);

		if (!profile_has(p, k) ||
		    (secret && secrets == PROFILE_SECRET_OMIT))
			continue;
		if ((st = gen_str(g, profile_key_name(k))) !=
		    yajl_gen_status_ok)
			return st;
		switch (profile_key_type(k)) {
		case PROFILE_TYPE_LIST:
			/* The only list is alt_hosts; items may hold no ','. */
			if ((st = yajl_gen_array_open(g)) != yajl_gen_status_ok)
				return st;
			for (size_t j = 0; j < p->alt_hosts_n; j++) {
				if ((st = gen_str(g, p->alt_hosts[j])) !=
				    yajl_gen_status_ok)
					return st;
			}
			st = yajl_gen_array_close(g);
			break;
		case PROFILE_TYPE_BOOL:
			v = profile_get(p, k);
			st = yajl_gen_bool(g, strcmp(v, "true") == 0);
			break;
		case PROFILE_TYPE_INT:
			v = profile_get(p, k);
			st = yajl_gen_integer(g, strtoll(v, NULL, 10));
			break;
		case PROFILE_TYPE_STRING:
		case PROFILE_TYPE_ENUM:
			if (secret && secrets == PROFILE_SECRET_MASK) {
				st = gen_str(g, SECRET_MASK);
				break;
			}
			v = profile_get(p, k);
			st = gen_str(g, v);
			break;
		}
		if (v != NULL) {
			if (secret)
				free_secret(v);
			else
				free(v);
			v = NULL;
		}
		if (st != yajl_gen_status_ok)
			return st;
	}
	return yajl_gen_map_close(g);
}

static yajl_gen_status
gen_profiles(yajl_gen g, struct profile *const *profiles, size_t n,
    enum profile_secret_mode secrets)
{
	yajl_gen_status st;

	if ((st = yajl_gen_array_open(g)) != yajl_gen_status_ok)
		return st;
	for (size_t i = 0; i < n; i++) {
		if ((st = gen_profile(g, profiles[i], secrets)) !=
		    yajl_gen_status_ok)
			return st;
	}
	return yajl_gen_array_close(g);
}

static yajl_gen_status
gen_settings(yajl_gen g, const struct smtp_settings *s)
{
	yajl_gen_status st;
	char *v;

	if ((st = yajl_gen_map_open(g)) != yajl_gen_status_ok)
		return st;
	for (int i = 0; i < SETTINGS_KEY_COUNT; i++) {
		enum settings_key k = (enum settings_key)i;

		if (k == SETTINGS_KEY_DEFAULT_PROFILE &&
		    s->default_profile == NULL)
			continue;
		if ((st = gen_str(g, settings_key_name(k))) !=
		    yajl_gen_status_ok)
			return st;
		v = settings_get(s, k);
		if (settings_key_type(k) == PROFILE_TYPE_BOOL)
			st = yajl_gen_bool(g, strcmp(v, "true") == 0);
		else
			st = gen_str(g, v);
		free(v);
		if (st != yajl_gen_status_ok)
			return st;
	}
	return yajl_gen_map_close(g);
}

int
profile_json_export(FILE *out, struct profile *const *profiles, size_t n,
    const struct smtp_settings *settings, enum profile_secret_mode secrets,
    char **cause)
{
	struct out o;
	yajl_gen g = gen_new(&o, out);
	yajl_gen_status st = yajl_gen_status_ok;

	if (g == NULL)
		return gen_end(g, &o, st, cause);
	if ((st = yajl_gen_map_open(g)) != yajl_gen_status_ok ||
	    (st = gen_str(g, "profiles")) != yajl_gen_status_ok ||
	    (st = gen_profiles(g, profiles, n, secrets)) != yajl_gen_status_ok)
		return gen_end(g, &o, st, cause);
	if (settings != NULL && ((st = gen_str(g, "settings")) !=
	    yajl_gen_status_ok || (st = gen_settings(g, settings)) !=
	    yajl_gen_status_ok))
		return gen_end(g, &o, st, cause);
	st = yajl_gen_map_close(g);
	return gen_end(g, &o, st, cause);
}

int
profile_json_write_profile(FILE *out, const struct profile *p,
    enum profile_secret_mode secrets, char **cause)
{
	struct out o;
	yajl_gen g = gen_new(&o, out);

	if (g == NULL)
		return gen_end(g, &o, yajl_gen_status_ok, cause);
	return gen_end(g, &o, gen_profile(g, p, secrets), cause);
}

int
profile_json_write_list(FILE *out, struct profile *const *profiles,
    size_t n, enum profile_secret_mode secrets, char **cause)
{
	struct out o;
	yajl_gen g = gen_new(&o, out);

	if (g == NULL)
		return gen_end(g, &o, yajl_gen_status_ok, cause);
	return gen_end(g, &o, gen_profiles(g, profiles, n, secrets), cause);
}

int
profile_json_write_settings(FILE *out, const struct smtp_settings *s,
    char **cause)
{
	struct out o;
	yajl_gen g = gen_new(&o, out);

	if (g == NULL)
		return gen_end(g, &o, yajl_gen_status_ok, cause);
	return gen_end(g, &o, gen_settings(g, s), cause);
}
