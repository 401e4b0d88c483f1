/*
 * custody_semt002.c: the streaming parser of semt.002.001.11 statements
 * of holdings, and the ISO 20022 parsing engine the sese.025 parser
 * shares (custody_xml_int.h).  Longer than most files because the engine,
 * its value helpers and the semt.002 table belong together and the
 * module's file list is fixed.
 *
 * The engine reads through libxml2's xmlTextReader with our own read
 * callback, which counts bytes (max_bytes) and checks the prolog before
 * libxml2 sees it: UTF-8 only, and no "<!" other than a comment before
 * the root, so a DOCTYPE (and with it every entity declaration) is
 * refused before anything is parsed.  Options: NONET, no DTD loading, no
 * entity substitution.  Only the current element path is kept (a fixed
 * stack of at most max_depth frames and one leaf text buffer), so memory
 * does not grow with the number of positions; libxml2's reader frees the
 * nodes behind us.  Element names are compared by length and bytes
 * against per-type child lists; no per-node allocation of ours.
 *
 * Invariants: a frame's seen mask has a bit per known child of its type;
 * known children come in schema order; errors are recorded once (the
 * first), and every exit frees the reader.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>

#include "custody/custody_xml_int.h"

/* libxml2 refuses deeper documents itself (without XML_PARSE_HUGE). */
#define DEPTH_CAP 256
#define T_SKIP    0xFF
#define TYPES_MAX 64
#define RBUF_SIZE (64 * 1024)
#define NAMES_MAX 256

struct frame {
  const xmlNode *node;                  /* the open element: its end comes as the same node */
  const struct custody__xml_child *via; /* NULL: root or skipped element */
  uint8_t type;                         /* 0 leaf, T_SKIP, else a type index */
  uint8_t last;                         /* 1 + index of the last known child seen */
  uint32_t seen;                        /* bit per known child seen */
};

struct custody__xml {
  xmlTextReaderPtr r;
  const struct custody__xml_type *types; /* sc->types and sc->action, at hand */
  custody__xml_action_fn action;
  const struct custody__xml_schema *sc;
  struct custody_error *err;
  void *cls;
  /* input: a window on the caller's buffer, or on rbuf refilled from fd */
  int fd;
  const char *buf;
  char *rbuf;
  const char *win;
  size_t wlen, wpos;
  uint64_t nread, max_bytes, fd_total;
  int io_code; /* an error found by the read callback */
  unsigned pst;
  /* the first libxml2 error */
  bool xml_failed;
  bool stop; /* xml_failed or io_code: checked once per node */
  int xml_code;
  int xml_line;
  char xml_msg[160];
  bool failed; /* an error of ours is recorded */
  /* where we are */
  xmlNsPtr ns;
  /* the child names interned in the reader's dictionary: compared as pointers */
  const xmlChar *names[NAMES_MAX];
  uint16_t base[TYPES_MAX];
  uint32_t req[TYPES_MAX]; /* mask of required children per type */
  bool choice[TYPES_MAX];  /* a choice with children: one is required */
  unsigned depth, max_depth;
  size_t max_text;
  struct frame st[DEPTH_CAP + 2];
  char text[CUSTODY__XML_TEXT_MAX + 1];
  size_t text_len;
  bool text_over;
};

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

static void build_path(const struct custody__xml *x, char *out, size_t size, const char *child)
{
  size_t pos = 0;
  out[0] = '\0';
  /* below the message element (Document/SctiesBalCtdyRpt/...) when there is something below */
  unsigned from = x->depth >= 3 || (x->depth == 2 && child != NULL) ? 3 : 1;
  for (unsigned d = from; d <= x->depth && d < DEPTH_CAP + 2; d++) {
    const char *n = x->st[d].via != NULL ? x->st[d].via->name : "*";
    int w = snprintf(out + pos, size - pos, "%s%s", pos > 0 ? "/" : "", n);
    if (w < 0 || (size_t)w >= size - pos)
      return;
    pos += (size_t)w;
  }
  if (child != NULL)
    snprintf(out + pos, size - pos, "%s%s", pos > 0 ? "/" : "", child);
}

static int vfail(struct custody__xml *x, int code, const char *where, const char *child,
                 const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static int vfail(struct custody__xml *x, int code, const char *where, const char *child,
                 const char *fmt, va_list ap)
{
  if (x->failed)
    return code;
  x->failed = true;
  if (x->err == NULL)
    return code;
  x->err->code = code;
  x->err->line = 0;
  if (x->r != NULL) {
    xmlNodePtr node = xmlTextReaderCurrentNode(x->r);
    long line = node != NULL ? xmlGetLineNo(node) : -1;
    x->err->line = line > 0 ? (uint64_t)line : (uint64_t)xmlTextReaderGetParserLineNumber(x->r);
  }
  if (where != NULL)
    snprintf(x->err->where, sizeof x->err->where, "%s", where);
  else
    build_path(x, x->err->where, sizeof x->err->where, child);
  vsnprintf(x->err->msg, sizeof x->err->msg, fmt, ap);
  return code;
}

int custody__xml_fail(struct custody__xml *x, int code, const char *child, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = vfail(x, code, NULL, child, fmt, ap);
  va_end(ap);
  return rc;
}

int custody__xml_fail_at(struct custody__xml *x, int code, const char *where, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = vfail(x, code, where, NULL, fmt, ap);
  va_end(ap);
  return rc;
}

/* The first libxml2 error (entity warnings count: they are refused). */
static void on_xml_error(void *arg, xmlErrorPtr e)
{
  struct custody__xml *x = arg;
  if (x == NULL || e == NULL || x->xml_failed)
    return;
  if (e->level < XML_ERR_ERROR && e->code != XML_WAR_UNDECLARED_ENTITY)
    return;
  x->xml_failed = true;
  x->stop = true;
  x->xml_code = e->code;
  x->xml_line = e->line;
  snprintf(x->xml_msg, sizeof x->xml_msg, "%s", e->message != NULL ? e->message : "XML error");
  size_t n = strlen(x->xml_msg);
  while (n > 0 && (x->xml_msg[n - 1] == '\n' || x->xml_msg[n - 1] == ' '))
    x->xml_msg[--n] = '\0';
}

static int map_xml_error(int code, const char *msg)
{
  switch (code) {
  case XML_ERR_UNDECLARED_ENTITY:
  case XML_WAR_UNDECLARED_ENTITY:
  case XML_ERR_ENTITY_LOOP:
  case XML_ERR_ENTITY_BOUNDARY:
  case XML_ERR_ENTITY_PE_INTERNAL:
  case XML_ERR_ENTITY_IS_EXTERNAL:
  case XML_ERR_ENTITY_IS_PARAMETER:
  case XML_ERR_UNPARSED_ENTITY:
  case XML_ERR_EXT_ENTITY_STANDALONE:
  case XML_ERR_DOCTYPE_NOT_FINISHED:
  case XML_ERR_ENTITY_NOT_STARTED:
  case XML_ERR_ENTITY_NOT_FINISHED:
  case XML_ERR_PEREF_IN_PROLOG:
  case XML_ERR_PEREF_IN_EPILOG:
  case XML_ERR_PEREF_IN_INT_SUBSET:
    return -ERR_CUSTODY_FORBIDDEN;
  default:
    break;
  }
  if (strstr(msg, "Excessive depth") != NULL)
    return -ERR_CUSTODY_DEPTH;
  if (strstr(msg, "huge text") != NULL || strstr(msg, "too long") != NULL ||
      strstr(msg, "length too") != NULL)
    return -ERR_CUSTODY_TEXT_LONG;
  return -ERR_CUSTODY_XML;
}

/* ------------------------------------------------------------------ */
/* Input: counting, and the prolog check                               */
/* ------------------------------------------------------------------ */

enum {
  P_BOM0 = 0, /* at the first byte */
  P_BOM1,
  P_BOM2,
  P_OUT, /* between prolog items */
  P_LT,  /* after '<' */
  P_PI,  /* inside <? ... */
  P_PIQ, /* after '?' inside a PI */
  P_BANG,
  P_BANGD,
  P_COM,
  P_COMD1,
  P_COMD2,
  P_DONE, /* the root element has started */
};

static bool is_ws(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Checks the bytes before the root element: UTF-8 (with or without its
 * BOM), whitespace, the XML declaration and other processing
 * instructions, comments.  "<!" other than a comment is a DOCTYPE (or
 * garbage): refused as forbidden.  Anything else before the root is not
 * a document we read.
 */
static int prolog_scan(struct custody__xml *x, const unsigned char *p, size_t n)
{
  for (size_t i = 0; i < n && x->pst != P_DONE; i++) {
    unsigned char c = p[i];
    switch (x->pst) {
    case P_BOM0:
      if (c == 0xEF) {
        x->pst = P_BOM1;
        break;
      }
      x->pst = P_OUT;
      /* fall through */
    case P_OUT:
      if (is_ws(c))
        break;
      if (c != '<')
        return -ERR_CUSTODY_XML;
      x->pst = P_LT;
      break;
    case P_BOM1:
      if (c != 0xBB)
        return -ERR_CUSTODY_XML;
      x->pst = P_BOM2;
      break;
    case P_BOM2:
      if (c != 0xBF)
        return -ERR_CUSTODY_XML;
      x->pst = P_OUT;
      break;
    case P_LT:
      if (c == '?')
        x->pst = P_PI;
      else if (c == '!')
        x->pst = P_BANG;
      else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' ||
               c >= 0x80)
        x->pst = P_DONE;
      else
        return -ERR_CUSTODY_XML;
      break;
    case P_PI:
      if (c == '?')
        x->pst = P_PIQ;
      break;
    case P_PIQ:
      if (c == '>')
        x->pst = P_OUT;
      else if (c != '?')
        x->pst = P_PI;
      break;
    case P_BANG:
      if (c != '-')
        return -ERR_CUSTODY_FORBIDDEN;
      x->pst = P_BANGD;
      break;
    case P_BANGD:
      if (c != '-')
        return -ERR_CUSTODY_XML;
      x->pst = P_COM;
      break;
    case P_COM:
      if (c == '-')
        x->pst = P_COMD1;
      break;
    case P_COMD1:
      x->pst = c == '-' ? P_COMD2 : P_COM;
      break;
    case P_COMD2:
      if (c != '>')
        return -ERR_CUSTODY_XML;
      x->pst = P_OUT;
      break;
    default:
      break;
    }
  }
  return 0;
}

static int io_fail(struct custody__xml *x, int code)
{
  x->io_code = code;
  x->stop = true;
  return -1;
}

/*
 * libxml2's read callback.  Input comes from a window: the caller's
 * buffer, or RBUF_SIZE bytes read at a time from the descriptor (fewer
 * system calls than libxml2's own 4000-byte reads).  At most max_bytes + 1
 * bytes are ever read from the descriptor: the extra byte tells the end
 * of input (fine) from more input (-ERR_CUSTODY_TOO_LARGE).
 */
static int io_read(void *ctx, char *out, int want)
{
  struct custody__xml *x = ctx;
  if (x->io_code != 0)
    return -1;
  if (want <= 0)
    return 0;
  if (x->wpos == x->wlen) {
    if (x->buf != NULL)
      return 0;
    size_t ask = RBUF_SIZE;
    if (x->max_bytes < UINT64_MAX && x->max_bytes + 1 - x->fd_total < ask)
      ask = (size_t)(x->max_bytes + 1 - x->fd_total);
    ssize_t k;
    while ((k = read(x->fd, x->rbuf, ask)) < 0 && errno == EINTR)
      ;
    if (k < 0)
      return io_fail(x, -ERR_IO);
    if (k == 0)
      return 0;
    x->fd_total += (uint64_t)k;
    x->win = x->rbuf;
    x->wlen = (size_t)k;
    x->wpos = 0;
  }
  size_t n = x->wlen - x->wpos < (size_t)want ? x->wlen - x->wpos : (size_t)want;
  if (n > x->max_bytes - x->nread)
    return io_fail(x, -ERR_CUSTODY_TOO_LARGE);
  memcpy(out, x->win + x->wpos, n);
  x->wpos += n;
  x->nread += n;
  if (x->pst != P_DONE) {
    int rc = prolog_scan(x, (const unsigned char *)out, n);
    if (rc != 0)
      return io_fail(x, rc);
  }
  return (int)n;
}

/* ------------------------------------------------------------------ */
/* The engine                                                          */
/* ------------------------------------------------------------------ */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
  xmlInitParser();
}

/* Attribute and namespace values count as text; entity references are refused. */
static int check_attrs(struct custody__xml *x, xmlNodePtr node)
{
  for (xmlAttrPtr a = node->properties; a != NULL; a = a->next) {
    size_t total = 0;
    for (xmlNodePtr c = a->children; c != NULL; c = c->next) {
      if (c->type == XML_ENTITY_REF_NODE)
        return custody__xml_fail(x, -ERR_CUSTODY_FORBIDDEN, NULL, "entity reference");
      if (c->content != NULL)
        total += strlen((const char *)c->content);
    }
    if (total > x->max_text)
      return custody__xml_fail(x, -ERR_CUSTODY_TEXT_LONG, NULL, "attribute longer than %zu bytes",
                               x->max_text);
  }
  for (xmlNsPtr ns = node->nsDef; ns != NULL; ns = ns->next)
    if (ns->href != NULL && strlen((const char *)ns->href) > x->max_text)
      return custody__xml_fail(x, -ERR_CUSTODY_TEXT_LONG, NULL, "namespace longer than %zu bytes",
                               x->max_text);
  return 0;
}

static inline __attribute__((always_inline)) int on_end(struct custody__xml *x);

static int on_start(struct custody__xml *x, xmlNodePtr node)
{
  const char *name = (const char *)node->name;
  if (x->depth >= x->max_depth)
    return custody__xml_fail(x, -ERR_CUSTODY_DEPTH, NULL, "nested deeper than %u", x->max_depth);
  if (node->properties != NULL || node->nsDef != NULL) {
    int rc = check_attrs(x, node);
    if (rc != 0)
      return rc;
  }
  struct frame *pf = &x->st[x->depth];
  const struct custody__xml_child *k = NULL;
  if (pf->type == 0)
    return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "element <%.40s> inside a value", name);
  if (pf->type == T_SKIP)
    goto push;
  if (x->depth == 0) {
    if (strcmp(name, "Document") != 0 || node->ns == NULL ||
        strcmp((const char *)node->ns->href, x->sc->ns) != 0)
      return custody__xml_fail(
          x, -ERR_CUSTODY_NAMESPACE, NULL, "root <%.40s> in %.80s, expected Document in %s", name,
          node->ns != NULL ? (const char *)node->ns->href : "no namespace", x->sc->ns);
    x->ns = node->ns;
  } else if (node->ns != x->ns &&
             (node->ns == NULL || strcmp((const char *)node->ns->href, x->sc->ns) != 0)) {
    goto push; /* a foreign element: skipped whole */
  }
  const struct custody__xml_type *t = &x->types[pf->type];
  const xmlChar *const *np = &x->names[x->base[pf->type]];
  unsigned i = 0;
  while (i < t->n && np[i] != node->name)
    i++;
  if (i == t->n) { /* not interned alike: by length and bytes */
    size_t nl = strlen(name);
    for (i = 0; i < t->n; i++)
      if (t->kids[i].len == nl && memcmp(t->kids[i].name, name, nl) == 0)
        break;
  }
  if (i == t->n)
    goto push; /* unknown here: skipped */
  k = &t->kids[i];
  uint32_t bit = 1u << i;
  if ((pf->seen & bit) != 0 && (k->flags & CUSTODY__XF_MULTI) == 0)
    return custody__xml_fail(x, -ERR_CUSTODY_XML, k->name, "<%s> repeated", k->name);
  if ((t->flags & CUSTODY__XT_CHOICE) != 0 && (pf->seen & ~bit) != 0)
    return custody__xml_fail(x, -ERR_CUSTODY_XML, k->name, "<%s> beside another choice", k->name);
  if (i + 1 < pf->last)
    return custody__xml_fail(x, -ERR_CUSTODY_XML, k->name, "<%s> out of schema order", k->name);
  pf->seen |= bit;
  pf->last = (uint8_t)(i + 1);
push:;
  struct frame *f = &x->st[++x->depth];
  f->node = node;
  f->via = k;
  f->type = k != NULL ? k->type : T_SKIP;
  f->seen = 0;
  f->last = 0;
  x->text_len = 0;
  x->text_over = false;
  if (k != NULL && k->act != 0 && (k->type != 0 || (k->flags & CUSTODY__XF_ATTR) != 0)) {
    int rc = x->action(x->cls, x, k->act, CUSTODY__XML_START, NULL, 0);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* The first required child missing from the element that ends (cold). */
static __attribute__((noinline, cold)) int missing(struct custody__xml *x,
                                                   const struct custody__xml_type *t, uint32_t seen)
{
  if ((t->flags & CUSTODY__XT_CHOICE) != 0) {
    char alts[64];
    size_t pos = 0;
    alts[0] = '\0';
    for (unsigned i = 0; i < t->n && pos < sizeof alts; i++) {
      int w = snprintf(alts + pos, sizeof alts - pos, "%s%s", i ? "|" : "", t->kids[i].name);
      if (w < 0)
        break;
      pos += (size_t)w;
    }
    return custody__xml_fail(x, -ERR_CUSTODY_MISSING, alts, "one of %s is required", alts);
  }
  for (unsigned i = 0; i < t->n; i++)
    if ((t->kids[i].flags & CUSTODY__XF_REQ) != 0 && (seen & (1u << i)) == 0)
      return custody__xml_fail(x, -ERR_CUSTODY_MISSING, t->kids[i].name, "<%s> is required",
                               t->kids[i].name);
  return custody__xml_fail(x, -ERR_INTERNAL, NULL, "required element check");
}

static inline __attribute__((always_inline)) int on_end(struct custody__xml *x)
{
  struct frame *f = &x->st[x->depth];
  int rc = 0;
  if (f->type == 0) {
    if (f->via->act != 0) {
      if (x->text_over)
        return custody__xml_fail(x, -ERR_CUSTODY_TEXT_LONG, NULL, "value longer than %d bytes",
                                 CUSTODY__XML_TEXT_MAX);
      x->text[x->text_len] = '\0';
      rc = x->action(x->cls, x, f->via->act, CUSTODY__XML_LEAF, x->text, x->text_len);
    }
  } else if (f->type != T_SKIP) {
    uint32_t req = x->req[f->type];
    if ((f->seen & req) != req || (req == 0 && f->seen == 0 && x->choice[f->type]))
      return missing(x, &x->sc->types[f->type], f->seen);
    if (f->via != NULL && f->via->act != 0)
      rc = x->action(x->cls, x, f->via->act, CUSTODY__XML_END, NULL, 0);
  }
  x->depth--;
  x->text_len = 0;
  return rc;
}

static int on_text(struct custody__xml *x, const char *v)
{
  if (v == NULL)
    return 0;
  size_t n = strlen(v);
  if (n > x->max_text)
    return custody__xml_fail(x, -ERR_CUSTODY_TEXT_LONG, NULL, "text longer than %zu bytes",
                             x->max_text);
  if (x->depth == 0 || x->st[x->depth].type != 0)
    return 0;
  if (x->text_len + n > x->max_text)
    return custody__xml_fail(x, -ERR_CUSTODY_TEXT_LONG, NULL, "text longer than %zu bytes",
                             x->max_text);
  if (x->text_over || x->text_len + n > CUSTODY__XML_TEXT_MAX) {
    x->text_over = true;
    x->text_len += n;
    return 0;
  }
  memcpy(x->text + x->text_len, v, n);
  x->text_len += n;
  return 0;
}

/*
 * One reader step.  The node is read directly (xmlTextReaderNodeType
 * walks up the tree for xml:space on every text node).  The end of an
 * element comes as the same node again; an empty element (<x/>) gets no
 * end at all, so before each node every open element that is neither the
 * node nor its parent has ended.  Only such an empty element can already
 * be freed by the reader (as it moved on), and it is closed at the very
 * next node, by comparing pointers only, before any node can reuse its
 * memory.
 */
static int on_node(struct custody__xml *x)
{
  xmlNodePtr node = xmlTextReaderCurrentNode(x->r);
  if (node == NULL)
    return 0;
  if (x->depth > 0 && x->st[x->depth].node != node && x->st[x->depth].node != node->parent) {
    do {
      int rc = on_end(x);
      if (rc != 0)
        return rc;
    } while (x->depth > 0 && x->st[x->depth].node != node && x->st[x->depth].node != node->parent);
    if (x->depth == 0 && node->type != XML_ELEMENT_NODE)
      return 0;
  }
  switch (node->type) {
  case XML_ELEMENT_NODE:
    if (x->depth > 0 && x->st[x->depth].node == node)
      return on_end(x);
    return on_start(x, node);
  case XML_TEXT_NODE:
  case XML_CDATA_SECTION_NODE:
    return on_text(x, (const char *)node->content);
  case XML_COMMENT_NODE:
  case XML_PI_NODE:
    if (node->content != NULL && strlen((const char *)node->content) > x->max_text)
      return custody__xml_fail(x, -ERR_CUSTODY_TEXT_LONG, NULL, "comment longer than %zu bytes",
                               x->max_text);
    return 0;
  case XML_DTD_NODE:
  case XML_DOCUMENT_TYPE_NODE:
  case XML_ENTITY_REF_NODE:
  case XML_ENTITY_NODE:
  case XML_ENTITY_DECL:
  case XML_NOTATION_NODE:
    return custody__xml_fail(x, -ERR_CUSTODY_FORBIDDEN, NULL, "DTD or entity");
  default:
    return 0;
  }
}

/* Interns the schema's child names in the reader's dictionary. */
static int intern_names(struct custody__xml *x)
{
  size_t k = 0;
  if (x->sc->n_types > TYPES_MAX)
    return custody__xml_fail_at(x, -ERR_INTERNAL, "", "schema table too large");
  for (size_t t = 1; t < x->sc->n_types; t++) {
    const struct custody__xml_type *ty = &x->sc->types[t];
    if (k + ty->n > NAMES_MAX || ty->n > 32)
      return custody__xml_fail_at(x, -ERR_INTERNAL, "", "schema table too large");
    x->base[t] = (uint16_t)k;
    x->req[t] = 0;
    x->choice[t] = (ty->flags & CUSTODY__XT_CHOICE) != 0 && ty->n > 0;
    for (unsigned i = 0; i < ty->n; i++) {
      x->names[k++] = xmlTextReaderConstString(x->r, (const xmlChar *)ty->kids[i].name);
      if ((ty->kids[i].flags & CUSTODY__XF_REQ) != 0)
        x->req[t] |= 1u << i;
    }
  }
  return 0;
}

/* Records the reason the reader stopped and returns its code. */
static int reader_failed(struct custody__xml *x)
{
  if (x->io_code != 0) {
    static const char *const why[] = {"", "document larger than the limit",
                                      "DOCTYPE or declaration before the root",
                                      "not a UTF-8 XML document"};
    const char *m = x->io_code == -ERR_CUSTODY_TOO_LARGE   ? why[1]
                    : x->io_code == -ERR_CUSTODY_FORBIDDEN ? why[2]
                    : x->io_code == -ERR_CUSTODY_XML       ? why[3]
                                                           : "read error";
    return custody__xml_fail_at(x, x->io_code, "", "%s", m);
  }
  if (x->xml_failed) {
    int code = map_xml_error(x->xml_code, x->xml_msg);
    int rc = custody__xml_fail(x, code, NULL, "%s", x->xml_msg);
    if (x->err != NULL && x->xml_line > 0)
      x->err->line = (uint64_t)x->xml_line;
    return rc;
  }
  return custody__xml_fail(x, -ERR_CUSTODY_XML, NULL, "malformed XML");
}

int custody__xml_parse(int fd, const char *buf, size_t len, const struct custody_limits *lim_in,
                       const struct custody__xml_schema *sc, void *cls, struct custody_error *err)
{
  struct custody_limits lim;
  if (lim_in != NULL)
    lim = *lim_in;
  else
    custody_limits_default(&lim);
  if (err != NULL)
    memset(err, 0, sizeof *err);
  struct custody__xml xs;
  struct custody__xml *x = &xs;
  memset(x, 0, offsetof(struct custody__xml, st));
  x->text_len = 0;
  x->text_over = false;
  x->sc = sc;
  x->types = sc->types;
  x->action = sc->action;
  x->err = err;
  x->cls = cls;
  x->fd = fd;
  x->buf = buf;
  x->win = buf;
  x->wlen = buf != NULL ? len : 0;
  x->max_bytes = lim.max_bytes;
  x->max_depth = lim.max_depth < DEPTH_CAP ? lim.max_depth : DEPTH_CAP;
  x->max_text = lim.max_text;
  x->st[0].type = 1;
  x->st[0].node = NULL;
  x->st[0].via = NULL;
  x->st[0].seen = 0;
  x->st[0].last = 0;
  if (buf != NULL && len > lim.max_bytes)
    return custody__xml_fail_at(x, -ERR_CUSTODY_TOO_LARGE, "", "%zu bytes, limit %llu", len,
                                (unsigned long long)lim.max_bytes);
  if (buf == NULL) {
    struct stat sb;
    if (fstat(fd, &sb) != 0)
      return custody__xml_fail_at(x, -ERR_IO, "", "fstat: %s", strerror(errno));
    off_t at = S_ISREG(sb.st_mode) ? lseek(fd, 0, SEEK_CUR) : -1;
    if (at >= 0 && sb.st_size > at && (uint64_t)(sb.st_size - at) > lim.max_bytes)
      return custody__xml_fail_at(x, -ERR_CUSTODY_TOO_LARGE, "", "%llu bytes, limit %llu",
                                  (unsigned long long)(sb.st_size - at),
                                  (unsigned long long)lim.max_bytes);
  }
  if (buf == NULL && (x->rbuf = malloc(RBUF_SIZE)) == NULL)
    return custody__xml_fail_at(x, -ERR_NOMEM, "", "no memory for the read buffer");
  pthread_once(&xml_once, xml_init);

  /* Contextless errors (I/O) go to the thread's handler: ours, for now. */
  xmlStructuredErrorFunc old_fn = xmlStructuredError;
  void *old_ctx = xmlStructuredErrorContext;
  xmlSetStructuredErrorFunc(x, on_xml_error);

  int rc = 0;
  int opts = XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOCDATA | XML_PARSE_COMPACT |
             XML_PARSE_IGNORE_ENC | XML_PARSE_BIG_LINES;
  x->r = xmlReaderForIO(io_read, NULL, x, NULL, NULL, opts);
  if (x->r == NULL) {
    rc = x->io_code != 0 ? reader_failed(x)
                         : custody__xml_fail_at(x, -ERR_NOMEM, "", "cannot create the reader");
    goto out;
  }
  xmlTextReaderSetStructuredErrorHandler(x->r, on_xml_error, x);
  rc = intern_names(x);
  if (rc != 0)
    goto out;
  int got;
  while ((got = xmlTextReaderRead(x->r)) == 1) {
    if (x->stop) {
      got = -1;
      break;
    }
    rc = on_node(x);
    if (rc != 0)
      goto out;
  }
  if (got < 0 || x->xml_failed || x->io_code != 0) {
    rc = reader_failed(x);
    goto out;
  }
  while (x->depth > 0 && rc == 0) /* an empty root, or empty elements at its end */
    rc = on_end(x);
  if (rc == 0 && x->ns == NULL)
    rc = custody__xml_fail(x, -ERR_CUSTODY_XML, NULL, "document incomplete");
out:
  if (x->r != NULL)
    xmlFreeTextReader(x->r);
  x->r = NULL;
  xmlSetStructuredErrorFunc(old_ctx, old_fn);
  free(x->rbuf);
  return rc;
}

int custody__xml_attr(struct custody__xml *x, const char *name, char *out, size_t size)
{
  xmlNodePtr node = x->r != NULL ? xmlTextReaderCurrentNode(x->r) : NULL;
  if (node == NULL || node->type != XML_ELEMENT_NODE)
    return -1;
  for (xmlAttrPtr a = node->properties; a != NULL; a = a->next) {
    if (a->ns != NULL || strcmp((const char *)a->name, name) != 0)
      continue;
    size_t pos = 0;
    for (xmlNodePtr c = a->children; c != NULL; c = c->next) {
      size_t n = c->content != NULL ? strlen((const char *)c->content) : 0;
      if (pos + n + 1 > size)
        return -2;
      memcpy(out + pos, c->content, n);
      pos += n;
    }
    out[pos] = '\0';
    return (int)pos;
  }
  return -1;
}

/* ------------------------------------------------------------------ */
/* semt.002.001.11                                                     */
/* ------------------------------------------------------------------ */

#define SEMT002_NS "urn:iso:std:iso:20022:tech:xsd:semt.002.001.11"

/* clang-format off */
enum {
  T_LEAF = 0, T_ROOT, T_DOC, T_RPT, T_PGNTN, T_GNL, T_STMTDT, T_FRQCY, T_FRQ_PRTRY, T_UPDTP,
  T_BSIS, T_UNSUP, T_OWNR, T_OWNR_ID, T_OWNR_PID, T_SVCR, T_SVCR_ID, T_SVCR_PID, T_SVCR_NM,
  T_SFKACCT, T_BAL, T_FIN, T_AGGT, T_BQ13, T_Q51, T_FIQ, T_OCF, T_GI56, T_AVLBL, T_BQ14, T_PLC,
  T_PLC_FMT, T_PLC_IDTXT, T_PLC_TPID, T_PLC_PRTRY, T_PLC_PTP, T_BRKDWN, T_SUBTP, T_SUB_PRTRY,
  T_B21, T_SBQ8, T_QAA, T_SUBACCT, T_SUBSFK, T_COUNT
};
/* clang-format on */

/* clang-format off */
enum {
  A_NONE = 0, A_PGNTN, A_PGNB, A_LASTPG, A_GNL, A_STMTID, A_DT, A_DTTM, A_FRQ_CD, A_FRQ_PRTRY,
  A_UPD_CD, A_UPD_PRTRY, A_BSIS_CD, A_BSIS_PRTRY, A_ACTV, A_SUBIND, A_OWNR_BIC, A_OWNR_ID,
  A_SVCR_BIC, A_SVCR_ID, A_SVCR_NM, A_SFK_ID, A_BAL_MAIN, A_BAL_SUB, A_ISIN, A_DESC, A_AGGT,
  A_AVLBL, A_NOTAVL, A_BRKDWN, A_SHRT, A_UNIT, A_FACE, A_AMTSD, A_DGTL, A_OCF_FACE, A_PRTRY_BAL,
  A_PLC_ID, A_PLC_BIC, A_PLC_CTRY, A_PLC_TP, A_PLC_PTP, A_PLC_LEI, A_SUB_CD, A_SUB_PRTRY,
  A_SUBACCT, A_SUBACCT_ID
};
/* clang-format on */

#define K(n, t, a, f)                                                                              \
  {                                                                                                \
    n, sizeof(n) - 1, t, a, f                                                                      \
  }
#define REQ   CUSTODY__XF_REQ
#define MULTI CUSTODY__XF_MULTI

static const struct custody__xml_child k_root[] = {K("Document", T_DOC, 0, REQ)};
static const struct custody__xml_child k_doc[] = {K("SctiesBalCtdyRpt", T_RPT, 0, REQ)};
static const struct custody__xml_child k_rpt[] = {K("Pgntn", T_PGNTN, A_PGNTN, REQ),
                                                  K("StmtGnlDtls", T_GNL, A_GNL, REQ),
                                                  K("AcctOwnr", T_OWNR, 0, 0),
                                                  K("AcctSvcr", T_SVCR, 0, 0),
                                                  K("SfkpgAcct", T_SFKACCT, 0, 0),
                                                  K("BalForAcct", T_BAL, A_BAL_MAIN, MULTI),
                                                  K("SubAcctDtls", T_SUBACCT, A_SUBACCT, MULTI)};
static const struct custody__xml_child k_pgntn[] = {K("PgNb", T_LEAF, A_PGNB, REQ),
                                                    K("LastPgInd", T_LEAF, A_LASTPG, REQ)};
static const struct custody__xml_child k_gnl[] = {
    K("StmtId", T_LEAF, A_STMTID, 0),      K("StmtDtTm", T_STMTDT, 0, REQ),
    K("Frqcy", T_FRQCY, 0, REQ),           K("UpdTp", T_UPDTP, 0, REQ),
    K("StmtBsis", T_BSIS, 0, REQ),         K("ActvtyInd", T_LEAF, A_ACTV, REQ),
    K("SubAcctInd", T_LEAF, A_SUBIND, REQ)};
static const struct custody__xml_child k_stmtdt[] = {K("Dt", T_LEAF, A_DT, 0),
                                                     K("DtTm", T_LEAF, A_DTTM, 0)};
static const struct custody__xml_child k_frqcy[] = {K("Cd", T_LEAF, A_FRQ_CD, 0),
                                                    K("Prtry", T_FRQ_PRTRY, 0, 0)};
static const struct custody__xml_child k_frq_prtry[] = {K("Id", T_LEAF, A_FRQ_PRTRY, REQ)};
static const struct custody__xml_child k_updtp[] = {K("Cd", T_LEAF, A_UPD_CD, 0),
                                                    K("Prtry", T_UNSUP, A_UPD_PRTRY, 0)};
static const struct custody__xml_child k_bsis[] = {K("Cd", T_LEAF, A_BSIS_CD, 0),
                                                   K("Prtry", T_UNSUP, A_BSIS_PRTRY, 0)};
static const struct custody__xml_child k_ownr[] = {K("Id", T_OWNR_ID, 0, REQ)};
static const struct custody__xml_child k_ownr_id[] = {K("AnyBIC", T_LEAF, A_OWNR_BIC, 0),
                                                      K("PrtryId", T_OWNR_PID, 0, 0)};
static const struct custody__xml_child k_ownr_pid[] = {K("Id", T_LEAF, A_OWNR_ID, REQ)};
static const struct custody__xml_child k_svcr[] = {K("Id", T_SVCR_ID, 0, REQ)};
static const struct custody__xml_child k_svcr_id[] = {K("AnyBIC", T_LEAF, A_SVCR_BIC, 0),
                                                      K("PrtryId", T_SVCR_PID, 0, 0),
                                                      K("NmAndAdr", T_SVCR_NM, 0, 0)};
static const struct custody__xml_child k_svcr_pid[] = {K("Id", T_LEAF, A_SVCR_ID, REQ)};
static const struct custody__xml_child k_svcr_nm[] = {K("Nm", T_LEAF, A_SVCR_NM, REQ)};
static const struct custody__xml_child k_sfkacct[] = {K("Id", T_LEAF, A_SFK_ID, REQ)};
static const struct custody__xml_child k_bal[] = {
    K("FinInstrmId", T_FIN, 0, REQ),    K("AggtBal", T_AGGT, A_AGGT, REQ),
    K("AvlblBal", T_AVLBL, A_AVLBL, 0), K("NotAvlblBal", T_BQ14, A_NOTAVL, 0),
    K("SfkpgPlc", T_PLC, 0, 0),         K("BalBrkdwn", T_BRKDWN, A_BRKDWN, MULTI)};
static const struct custody__xml_child k_fin[] = {K("ISIN", T_LEAF, A_ISIN, 0),
                                                  K("Desc", T_LEAF, A_DESC, 0)};
static const struct custody__xml_child k_aggt[] = {K("ShrtLngInd", T_LEAF, A_SHRT, REQ),
                                                   K("Qty", T_BQ13, 0, REQ)};
static const struct custody__xml_child k_bq13[] = {K("Qty", T_Q51, 0, 0), K("Prtry", T_GI56, 0, 0)};
static const struct custody__xml_child k_q51[] = {K("Qty", T_FIQ, 0, 0),
                                                  K("OrgnlAndCurFace", T_OCF, 0, 0)};
static const struct custody__xml_child k_fiq[] = {
    K("Unit", T_LEAF, A_UNIT, 0), K("FaceAmt", T_LEAF, A_FACE, 0),
    K("AmtsdVal", T_LEAF, A_AMTSD, 0), K("DgtlTknUnit", T_LEAF, A_DGTL, 0)};
static const struct custody__xml_child k_ocf[] = {K("FaceAmt", T_LEAF, A_OCF_FACE, REQ),
                                                  K("AmtsdVal", T_LEAF, A_AMTSD, REQ)};
static const struct custody__xml_child k_gi56[] = {K("Bal", T_LEAF, A_PRTRY_BAL, REQ)};
static const struct custody__xml_child k_avlbl[] = {K("ShrtLngInd", T_LEAF, A_SHRT, 0),
                                                    K("Qty", T_BQ14, 0, REQ)};
static const struct custody__xml_child k_bq14[] = {K("Qty", T_FIQ, 0, 0), K("Prtry", T_GI56, 0, 0)};
static const struct custody__xml_child k_plc[] = {K("SfkpgPlcFrmt", T_PLC_FMT, 0, 0),
                                                  K("LEI", T_LEAF, A_PLC_LEI, 0)};
static const struct custody__xml_child k_plc_fmt[] = {
    K("Id", T_PLC_IDTXT, 0, 0), K("Ctry", T_LEAF, A_PLC_CTRY, 0), K("TpAndId", T_PLC_TPID, 0, 0),
    K("Prtry", T_PLC_PRTRY, 0, 0)};
static const struct custody__xml_child k_plc_idtxt[] = {K("SfkpgPlcTp", T_LEAF, A_PLC_TP, REQ),
                                                        K("Id", T_LEAF, A_PLC_ID, 0)};
static const struct custody__xml_child k_plc_tpid[] = {K("SfkpgPlcTp", T_LEAF, A_PLC_TP, REQ),
                                                       K("Id", T_LEAF, A_PLC_BIC, REQ)};
static const struct custody__xml_child k_plc_prtry[] = {K("Tp", T_PLC_PTP, 0, REQ),
                                                        K("Id", T_LEAF, A_PLC_ID, 0)};
static const struct custody__xml_child k_plc_ptp[] = {K("Id", T_LEAF, A_PLC_PTP, REQ)};
static const struct custody__xml_child k_brkdwn[] = {K("SubBalTp", T_SUBTP, 0, REQ),
                                                     K("Qty", T_B21, 0, REQ)};
static const struct custody__xml_child k_subtp[] = {K("Cd", T_LEAF, A_SUB_CD, 0),
                                                    K("Prtry", T_SUB_PRTRY, 0, 0)};
static const struct custody__xml_child k_sub_prtry[] = {K("Id", T_LEAF, A_SUB_PRTRY, REQ)};
static const struct custody__xml_child k_b21[] = {K("ShrtLngInd", T_LEAF, A_SHRT, 0),
                                                  K("Qty", T_SBQ8, 0, REQ)};
static const struct custody__xml_child k_sbq8[] = {K("Qty", T_FIQ, 0, 0), K("Prtry", T_GI56, 0, 0),
                                                   K("QtyAndAvlbty", T_QAA, 0, 0)};
static const struct custody__xml_child k_qaa[] = {K("Qty", T_FIQ, 0, REQ)};
static const struct custody__xml_child k_subacct[] = {K("SfkpgAcct", T_SUBSFK, 0, 0),
                                                      K("BalForSubAcct", T_BAL, A_BAL_SUB, MULTI)};
static const struct custody__xml_child k_subsfk[] = {K("Id", T_LEAF, A_SUBACCT_ID, REQ)};

#define TY(k, f)                                                                                   \
  {                                                                                                \
    k, sizeof(k) / sizeof(k[0]), f                                                                 \
  }
#define CHOICE CUSTODY__XT_CHOICE

/* clang-format off */
static const struct custody__xml_type semt_types[T_COUNT] = {
    [T_ROOT] = TY(k_root, 0), [T_DOC] = TY(k_doc, 0), [T_RPT] = TY(k_rpt, 0),
    [T_PGNTN] = TY(k_pgntn, 0), [T_GNL] = TY(k_gnl, 0), [T_STMTDT] = TY(k_stmtdt, CHOICE),
    [T_FRQCY] = TY(k_frqcy, CHOICE), [T_FRQ_PRTRY] = TY(k_frq_prtry, 0),
    [T_UPDTP] = TY(k_updtp, CHOICE), [T_BSIS] = TY(k_bsis, CHOICE), [T_UNSUP] = {NULL, 0, 0},
    [T_OWNR] = TY(k_ownr, 0), [T_OWNR_ID] = TY(k_ownr_id, CHOICE),
    [T_OWNR_PID] = TY(k_ownr_pid, 0), [T_SVCR] = TY(k_svcr, 0),
    [T_SVCR_ID] = TY(k_svcr_id, CHOICE), [T_SVCR_PID] = TY(k_svcr_pid, 0),
    [T_SVCR_NM] = TY(k_svcr_nm, 0), [T_SFKACCT] = TY(k_sfkacct, 0), [T_BAL] = TY(k_bal, 0),
    [T_FIN] = TY(k_fin, 0), [T_AGGT] = TY(k_aggt, 0), [T_BQ13] = TY(k_bq13, CHOICE),
    [T_Q51] = TY(k_q51, CHOICE), [T_FIQ] = TY(k_fiq, CHOICE), [T_OCF] = TY(k_ocf, 0),
    [T_GI56] = TY(k_gi56, 0), [T_AVLBL] = TY(k_avlbl, 0), [T_BQ14] = TY(k_bq14, CHOICE),
    [T_PLC] = TY(k_plc, 0), [T_PLC_FMT] = TY(k_plc_fmt, CHOICE),
    [T_PLC_IDTXT] = TY(k_plc_idtxt, 0), [T_PLC_TPID] = TY(k_plc_tpid, 0),
    [T_PLC_PRTRY] = TY(k_plc_prtry, 0), [T_PLC_PTP] = TY(k_plc_ptp, 0),
    [T_BRKDWN] = TY(k_brkdwn, 0), [T_SUBTP] = TY(k_subtp, CHOICE),
    [T_SUB_PRTRY] = TY(k_sub_prtry, 0), [T_B21] = TY(k_b21, 0), [T_SBQ8] = TY(k_sbq8, CHOICE),
    [T_QAA] = TY(k_qaa, 0), [T_SUBACCT] = TY(k_subacct, 0), [T_SUBSFK] = TY(k_subsfk, 0),
};
/* clang-format on */

struct semt {
  const struct custody_limits *lim;
  struct custody_stmt *st;
  custody_position_fn fn;
  void *cls;
  struct custody_position p;
  struct custody_qty *qt; /* the balance being read */
  char place_alt[CUSTODY_ID_MAX];
  int alt_prio;
  char sub[CUSTODY_ID_MAX]; /* the current SubAcctDtls' account */
  bool have_pg, have_gnl;
  uint64_t n_pos;
};

/* Max35Text kept whole: 1..35 bytes. */
static int put_id(struct custody__xml *x, char *dst, const char *t, size_t n)
{
  if (n == 0)
    return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "empty");
  if (n >= CUSTODY_ID_MAX)
    return custody__xml_fail(x, -ERR_CUSTODY_TEXT_LONG, NULL, "longer than %d bytes",
                             CUSTODY_ID_MAX - 1);
  memcpy(dst, t, n);
  dst[n] = '\0';
  return 0;
}

/* A MaxNText of at most @max characters, kept cut to 35 bytes on a character boundary. */
static int put_cut(struct custody__xml *x, char *dst, const char *t, size_t n, size_t max)
{
  size_t chars = 0;
  for (size_t i = 0; i < n; i++)
    chars += ((unsigned char)t[i] & 0xC0) != 0x80;
  if (n == 0)
    return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "empty");
  if (chars > max)
    return custody__xml_fail(x, -ERR_CUSTODY_TEXT_LONG, NULL, "longer than %zu characters", max);
  size_t cut = n < CUSTODY_ID_MAX - 1 ? n : CUSTODY_ID_MAX - 1;
  while (cut < n && cut > 0 && ((unsigned char)t[cut] & 0xC0) == 0x80)
    cut--;
  memcpy(dst, t, cut);
  dst[cut] = '\0';
  return 0;
}

static int put_bool(struct custody__xml *x, bool *dst, const char *t, size_t n)
{
  while (n > 0 && is_ws((unsigned char)*t))
    t++, n--;
  while (n > 0 && is_ws((unsigned char)t[n - 1]))
    n--;
  if ((n == 4 && memcmp(t, "true", 4) == 0) || (n == 1 && t[0] == '1'))
    *dst = true;
  else if ((n == 5 && memcmp(t, "false", 5) == 0) || (n == 1 && t[0] == '0'))
    *dst = false;
  else
    return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not a boolean");
  return 0;
}

static int put_qty(struct custody__xml *x, struct custody_qty *q, enum custody_qty_kind kind,
                   const char *t, size_t n)
{
  unsigned scale, frac, total;
  if (q == NULL || !custody__qty_limits(kind, &scale, &frac, &total))
    return custody__xml_fail(x, -ERR_INTERNAL, NULL, "quantity outside a balance");
  if (q->present)
    return custody__xml_fail(x, -ERR_CUSTODY_XML, NULL, "second quantity in one balance");
  if (custody__decimal(t, n, scale, frac, total, &q->qty) != 0)
    return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL,
                             "not a non-negative decimal of at most %u digits, %u after the point",
                             total, frac);
  q->present = true;
  q->kind = kind;
  return 0;
}

static void put_alt(struct semt *s, int prio, const char *t, size_t n)
{
  if (prio <= s->alt_prio || n >= CUSTODY_ID_MAX)
    return;
  memcpy(s->place_alt, t, n);
  s->place_alt[n] = '\0';
  s->alt_prio = prio;
}

static int stmt_ready(struct semt *s, struct custody__xml *x)
{
  if (!s->have_pg)
    return custody__xml_fail_at(x, -ERR_CUSTODY_MISSING, "Pgntn", "<Pgntn> is required");
  if (!s->have_gnl)
    return custody__xml_fail_at(x, -ERR_CUSTODY_MISSING, "StmtGnlDtls",
                                "<StmtGnlDtls> is required");
  return 0;
}

static int bal_start(struct semt *s, struct custody__xml *x, bool sub)
{
  int rc = stmt_ready(s, x);
  if (rc != 0)
    return rc;
  if (sub && s->sub[0] == '\0')
    return custody__xml_fail_at(x, -ERR_CUSTODY_MISSING, "SubAcctDtls/SfkpgAcct/Id",
                                "a sub-account's balances need its account id");
  /* sub[] entries are cleared one by one as BalBrkdwn starts */
  memset(&s->p, 0, offsetof(struct custody_position, sub));
  s->p.n_sub = 0;
  if (sub)
    memcpy(s->p.sub_account, s->sub, sizeof s->p.sub_account);
  s->place_alt[0] = '\0';
  s->alt_prio = 0;
  s->qt = NULL;
  return 0;
}

static int bal_end(struct semt *s, struct custody__xml *x)
{
  struct custody_position *p = &s->p;
  if (p->isin[0] == '\0')
    return custody__xml_fail(x, -ERR_CUSTODY_MISSING, "FinInstrmId/ISIN",
                             "an ISIN is required for every balance");
  if (!p->aggregate.present)
    return custody__xml_fail(x, -ERR_CUSTODY_MISSING, "AggtBal/Qty", "<AggtBal> has no quantity");
  if (p->place[0] == '\0')
    memcpy(p->place, s->place_alt, sizeof p->place);
  if (++s->n_pos > s->lim->max_positions)
    return custody__xml_fail(x, -ERR_CUSTODY_TOO_LARGE, NULL, "more than %llu positions",
                             (unsigned long long)s->lim->max_positions);
  return s->fn != NULL ? s->fn(s->cls, s->st, p) : 0;
}

static int semt_leaf(struct semt *s, struct custody__xml *x, unsigned act, const char *t, size_t n)
{
  struct custody_stmt *st = s->st;
  struct custody_position *p = &s->p;
  switch (act) {
  case A_PGNB: {
    const char *u = t;
    size_t m = n;
    if (m == 0 || m > 5)
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "page number of 1 to 5 digits");
    uint32_t v = 0;
    for (size_t i = 0; i < m; i++) {
      if (u[i] < '0' || u[i] > '9')
        return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "page number of 1 to 5 digits");
      v = v * 10 + (uint32_t)(u[i] - '0');
    }
    st->page_no = v;
    return 0;
  }
  case A_LASTPG:
    return put_bool(x, &st->last_page, t, n);
  case A_STMTID:
    return put_id(x, st->stmt_id, t, n);
  case A_DT: {
    int32_t day;
    if (custody__date(t, n, &day) != 0)
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not a date YYYY-MM-DD");
    st->stmt_day = day;
    st->stmt_ms = (int64_t)day * 86400000;
    st->stmt_has_time = false;
    return 0;
  }
  case A_DTTM: {
    int64_t ms;
    int32_t local, lo, hi;
    if (custody__datetime(t, n, &ms, &local) != 0)
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not a date and time");
    cal_day(CAL_YEAR_MIN, 1, 1, &lo);
    cal_day(CAL_YEAR_MAX, 12, 31, &hi);
    int32_t day = custody__floor_day(ms);
    if (day < lo || day > hi)
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "date out of range");
    st->stmt_day = day;
    st->stmt_ms = ms;
    st->stmt_has_time = true;
    return 0;
  }
  case A_FRQ_CD:
    if (!custody__freq_code_ok(t, n))
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "unknown frequency code");
    memcpy(st->frequency, t, 4);
    st->frequency[4] = '\0';
    return 0;
  case A_FRQ_PRTRY:
  case A_SUB_PRTRY:
    if (!custody__alnum4_ok(t, n))
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not 4 letters or digits");
    if (act == A_FRQ_PRTRY) {
      memcpy(st->frequency, t, 4);
      st->frequency[4] = '\0';
    } else {
      memcpy(p->sub[p->n_sub].type, t, 4);
      p->sub[p->n_sub].type[4] = '\0';
    }
    return 0;
  case A_UPD_CD: {
    int k = custody__code4(t, n, "COMPDELT"); /* in the order of enum custody_update */
    if (k < 0)
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "update type not COMP or DELT");
    st->update = (enum custody_update)(k + 1);
    return 0;
  }
  case A_BSIS_CD: {
    int k = custody__code4(t, n, "SETTTRADCONT"); /* in the order of enum custody_basis */
    if (k < 0)
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "basis not SETT, TRAD or CONT");
    st->basis = (enum custody_basis)(k + 1);
    return 0;
  }
  case A_ACTV:
    return put_bool(x, &st->activity, t, n);
  case A_SUBIND:
    return put_bool(x, &st->sub_accounts, t, n);
  case A_OWNR_BIC:
  case A_SVCR_BIC:
  case A_PLC_BIC:
    if (!custody__bic_ok(t, n))
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not a BIC");
    return put_id(x,
                  act == A_OWNR_BIC   ? st->account_owner
                  : act == A_SVCR_BIC ? st->account_servicer
                                      : p->place,
                  t, n);
  case A_OWNR_ID:
    return put_id(x, st->account_owner, t, n);
  case A_SVCR_ID:
    return put_id(x, st->account_servicer, t, n);
  case A_SVCR_NM:
    return put_cut(x, st->account_servicer, t, n, 350);
  case A_SFK_ID:
    return put_id(x, st->safekeeping_account, t, n);
  case A_ISIN:
    if (!custody__isin_ok(t, n))
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not an ISIN");
    memcpy(p->isin, t, CUSTODY_ISIN_LEN);
    p->isin[CUSTODY_ISIN_LEN] = '\0';
    return 0;
  case A_DESC:
    return put_cut(x, p->description, t, n, 140);
  case A_SHRT:
    if (s->qt == NULL)
      return custody__xml_fail(x, -ERR_INTERNAL, NULL, "indicator outside a balance");
    switch (custody__code4(t, n, "LONGSHOR")) {
    case 0:
      s->qt->shrt = false;
      return 0;
    case 1:
      s->qt->shrt = true;
      return 0;
    default:
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not LONG or SHOR");
    }
  case A_UNIT:
  case A_PRTRY_BAL:
    return put_qty(x, s->qt, CUSTODY_QTY_UNIT, t, n);
  case A_FACE:
    return put_qty(x, s->qt, CUSTODY_QTY_FACE_AMT, t, n);
  case A_AMTSD:
    return put_qty(x, s->qt, CUSTODY_QTY_AMTSD_VAL, t, n);
  case A_DGTL:
    return put_qty(x, s->qt, CUSTODY_QTY_DGTL_TKN_UNIT, t, n);
  case A_OCF_FACE: {
    struct money m;
    if (custody__decimal(t, n, CUSTODY_QTY_SCALE, 5, 18, &m) != 0)
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not a face amount");
    return 0;
  }
  case A_PLC_ID:
    return put_id(x, p->place, t, n);
  case A_PLC_CTRY:
    if (n != 2 || t[0] < 'A' || t[0] > 'Z' || t[1] < 'A' || t[1] > 'Z')
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not a country code");
    return put_id(x, p->place, t, n);
  case A_PLC_TP:
    if (n != 4 || (memcmp(t, "CUST", 4) != 0 && memcmp(t, "ICSD", 4) != 0 &&
                   memcmp(t, "NCSD", 4) != 0 && memcmp(t, "SHHE", 4) != 0))
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "unknown safekeeping place type");
    put_alt(s, 1, t, n);
    return 0;
  case A_PLC_PTP:
    if (!custody__alnum4_ok(t, n))
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not 4 letters or digits");
    put_alt(s, 1, t, n);
    return 0;
  case A_PLC_LEI:
    if (!custody__lei_ok(t, n))
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not an LEI");
    put_alt(s, 2, t, n);
    return 0;
  case A_SUB_CD:
    if (!custody__subbal_code_ok(t, n))
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "unknown sub-balance type");
    memcpy(p->sub[p->n_sub].type, t, 4);
    p->sub[p->n_sub].type[4] = '\0';
    return 0;
  case A_SUBACCT_ID:
    return put_id(x, s->sub, t, n);
  default:
    return 0;
  }
}

static int semt_action(void *cls, struct custody__xml *x, unsigned act,
                       enum custody__xml_phase phase, const char *t, size_t n)
{
  struct semt *s = cls;
  struct custody_position *p = &s->p;
  if (phase == CUSTODY__XML_LEAF)
    return semt_leaf(s, x, act, t, n);
  bool start = phase == CUSTODY__XML_START;
  switch (act) {
  case A_PGNTN:
    s->have_pg = !start;
    return 0;
  case A_GNL:
    s->have_gnl = !start;
    return 0;
  case A_UPD_PRTRY:
  case A_BSIS_PRTRY:
    return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "proprietary %s not supported",
                             act == A_UPD_PRTRY ? "update type" : "statement basis");
  case A_BAL_MAIN:
  case A_BAL_SUB:
    return start ? bal_start(s, x, act == A_BAL_SUB) : bal_end(s, x);
  case A_SUBACCT:
    if (start) {
      s->sub[0] = '\0';
      return stmt_ready(s, x);
    }
    return 0;
  case A_AGGT:
    s->qt = start ? &p->aggregate : NULL;
    return 0;
  case A_AVLBL:
    s->qt = start ? &p->available : NULL;
    return 0;
  case A_NOTAVL:
    s->qt = start ? &p->not_available : NULL;
    return 0;
  case A_BRKDWN:
    if (start) {
      if (p->n_sub >= CUSTODY_SUBBAL_MAX)
        return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "more than %d sub-balances",
                                 CUSTODY_SUBBAL_MAX);
      memset(&p->sub[p->n_sub], 0, sizeof p->sub[0]);
      s->qt = &p->sub[p->n_sub].qty;
    } else {
      p->n_sub++;
      s->qt = NULL;
    }
    return 0;
  default:
    return 0;
  }
}

static const struct custody__xml_schema semt_schema = {
    .ns = SEMT002_NS, .types = semt_types, .n_types = T_COUNT, .action = semt_action};

static int semt_parse(int fd, const char *buf, size_t len, const struct custody_limits *lim,
                      struct custody_stmt *st, custody_position_fn fn, void *cls,
                      struct custody_error *err)
{
  struct custody_limits dl;
  if (lim == NULL) {
    custody_limits_default(&dl);
    lim = &dl;
  }
  struct custody_stmt local;
  if (st == NULL)
    st = &local;
  memset(st, 0, sizeof *st);
  st->kind = CUSTODY_KIND_SEMT002;
  struct semt s;
  memset(&s, 0, sizeof s);
  s.lim = lim;
  s.st = st;
  s.fn = fn;
  s.cls = cls;
  return custody__xml_parse(fd, buf, len, lim, &semt_schema, &s, err);
}

int custody_semt002_parse_fd(int fd, const struct custody_limits *lim, struct custody_stmt *st,
                             custody_position_fn fn, void *cls, struct custody_error *err)
{
  return semt_parse(fd, NULL, 0, lim, st, fn, cls, err);
}

int custody_semt002_parse_mem(const char *buf, size_t len, const struct custody_limits *lim,
                              struct custody_stmt *st, custody_position_fn fn, void *cls,
                              struct custody_error *err)
{
  if (buf == NULL && len > 0) {
    if (err != NULL) {
      memset(err, 0, sizeof *err);
      err->code = -ERR_INVALID_ARGUMENT;
      snprintf(err->msg, sizeof err->msg, "no buffer");
    }
    return -ERR_INVALID_ARGUMENT;
  }
  return semt_parse(-1, buf != NULL ? buf : "", len, lim, st, fn, cls, err);
}
