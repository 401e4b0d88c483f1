/*
 * What the client prints (backstock_client.h): a reply re-indented by
 * two spaces with every value exactly as the service sent it (yajl's
 * tree keeps a number's text, which is copied, never converted to a
 * double), or a list as aligned columns; and the one error line
 * "error <code> <name>: <hint>" on stderr.
 */
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/common.h"
#include "services/backstock_client.h"

/* ------------------------------------------------------------------ */
/* Re-indented JSON                                                    */
/* ------------------------------------------------------------------ */

static void put_string(FILE *out, const char *s)
{
  fputc('"', out);
  for (; *s != '\0'; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(out, "\\%c", ch);
    else if (ch == '\n')
      fputs("\\n", out);
    else if (ch == '\t')
      fputs("\\t", out);
    else if (ch == '\r')
      fputs("\\r", out);
    else if (ch < 0x20 || ch == 0x7f)
      fprintf(out, "\\u%04x", ch);
    else
      fputc(ch, out);
  }
  fputc('"', out);
}

static void indent(FILE *out, unsigned depth)
{
  for (unsigned k = 0; k < depth; k++)
    fputs("  ", out);
}

/* @v indented at @depth; numbers as their text. */
static void put_value(FILE *out, yajl_val v, unsigned depth)
{
  if (YAJL_IS_OBJECT(v) || YAJL_IS_ARRAY(v)) {
    bool obj = YAJL_IS_OBJECT(v);
    size_t n = obj ? v->u.object.len : v->u.array.len;
    if (n == 0) {
      fputs(obj ? "{}" : "[]", out);
      return;
    }
    fputs(obj ? "{\n" : "[\n", out);
    for (size_t i = 0; i < n; i++) {
      indent(out, depth + 1);
      if (obj) {
        put_string(out, v->u.object.keys[i]);
        fputs(": ", out);
      }
      put_value(out, obj ? v->u.object.values[i] : v->u.array.values[i], depth + 1);
      fputs(i + 1 < n ? ",\n" : "\n", out);
    }
    indent(out, depth);
    fputc(obj ? '}' : ']', out);
  } else if (YAJL_IS_STRING(v)) {
    put_string(out, v->u.string);
  } else if (YAJL_IS_NUMBER(v)) {
    fputs(v->u.number.r, out);
  } else if (YAJL_IS_TRUE(v)) {
    fputs("true", out);
  } else if (YAJL_IS_FALSE(v)) {
    fputs("false", out);
  } else {
    fputs("null", out);
  }
}

/* The JSON text [s, s + len) as a tree (yajl_tree_free()), or NULL. */
static yajl_val parse(const char *s, size_t len)
{
  char *z = malloc(len + 1);
  if (z == NULL)
    return NULL;
  memcpy(z, s, len);
  z[len] = '\0';
  yajl_val v = strlen(z) == len ? yajl_tree_parse(z, NULL, 0) : NULL;
  free(z);
  return v;
}

int client_print_json(FILE *out, const char *s, size_t len)
{
  yajl_val root = parse(s, len);
  if (root == NULL)
    return -ERR_INVALID_ARGUMENT;
  put_value(out, root, 0);
  fputc('\n', out);
  yajl_tree_free(root);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Tables                                                              */
/* ------------------------------------------------------------------ */

/* Write @v compactly into @g (numbers as their text). */
static void gen_value(yajl_gen g, yajl_val v)
{
  if (YAJL_IS_OBJECT(v)) {
    yajl_gen_map_open(g);
    for (size_t i = 0; i < v->u.object.len; i++) {
      yajl_gen_string(g, (const unsigned char *)v->u.object.keys[i], strlen(v->u.object.keys[i]));
      gen_value(g, v->u.object.values[i]);
    }
    yajl_gen_map_close(g);
  } else if (YAJL_IS_ARRAY(v)) {
    yajl_gen_array_open(g);
    for (size_t i = 0; i < v->u.array.len; i++)
      gen_value(g, v->u.array.values[i]);
    yajl_gen_array_close(g);
  } else if (YAJL_IS_STRING(v)) {
    yajl_gen_string(g, (const unsigned char *)v->u.string, strlen(v->u.string));
  } else if (YAJL_IS_NUMBER(v)) {
    yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
  } else if (YAJL_IS_TRUE(v)) {
    yajl_gen_bool(g, 1);
  } else if (YAJL_IS_FALSE(v)) {
    yajl_gen_bool(g, 0);
  } else {
    yajl_gen_null(g);
  }
}

/* The text of a cell (malloc'd): strings raw with control characters as
 * blanks, numbers as sent, null "-", objects and arrays as compact JSON. */
static char *cell_text(yajl_val v)
{
  const char *s;
  if (v == NULL || YAJL_IS_NULL(v))
    s = "-";
  else if (YAJL_IS_STRING(v))
    s = v->u.string;
  else if (YAJL_IS_NUMBER(v))
    s = v->u.number.r;
  else if (YAJL_IS_TRUE(v))
    s = "true";
  else if (YAJL_IS_FALSE(v))
    s = "false";
  else {
    const unsigned char *t;
    size_t n;
    char *r = NULL;
    yajl_gen g = yajl_gen_alloc(NULL);
    if (g == NULL)
      return NULL;
    gen_value(g, v);
    if (yajl_gen_get_buf(g, &t, &n) == yajl_gen_status_ok && (r = malloc(n + 1)) != NULL) {
      memcpy(r, t, n);
      r[n] = '\0';
    }
    yajl_gen_free(g);
    return r;
  }
  char *r = strdup(s);
  for (char *p = r; p != NULL && *p != '\0'; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = ' ';
  return r;
}

/* Characters (not bytes) of UTF-8 text, for alignment. */
static size_t width(const char *s)
{
  size_t w = 0;
  for (; *s != '\0'; s++)
    if (((unsigned char)*s & 0xc0) != 0x80)
      w++;
  return w;
}

static void pad(FILE *out, const char *s, size_t w)
{
  fputs(s, out);
  for (size_t k = width(s); k < w; k++)
    fputc(' ', out);
}

#define MAX_COLS 64

/* Rows of @arr (objects): columns in the order first seen. */
static int print_rows(FILE *out, yajl_val arr)
{
  const char *cols[MAX_COLS];
  size_t wid[MAX_COLS], nc = 0, rows = arr->u.array.len;
  for (size_t r = 0; r < rows; r++) {
    yajl_val o = arr->u.array.values[r];
    for (size_t k = 0; YAJL_IS_OBJECT(o) && k < o->u.object.len; k++) {
      size_t c = 0;
      while (c < nc && strcmp(cols[c], o->u.object.keys[k]) != 0)
        c++;
      if (c == nc && nc < MAX_COLS) {
        cols[nc] = o->u.object.keys[k];
        wid[nc++] = width(o->u.object.keys[k]);
      }
    }
  }
  if (nc == 0) {
    fprintf(out, "(%zu items)\n", rows);
    return 0;
  }
  char **cells = calloc(rows * nc + 1, sizeof *cells);
  if (cells == NULL)
    return -ERR_NOMEM;
  for (size_t r = 0; r < rows; r++)
    for (size_t c = 0; c < nc; c++) {
      const char *path[] = {cols[c], NULL};
      yajl_val o = arr->u.array.values[r];
      char *t = cell_text(YAJL_IS_OBJECT(o) ? yajl_tree_get(o, path, yajl_t_any) : NULL);
      cells[r * nc + c] = t;
      if (t != NULL && width(t) > wid[c])
        wid[c] = width(t);
    }
  for (size_t c = 0; c < nc; c++) {
    if (c + 1 < nc)
      pad(out, cols[c], wid[c] + 2);
    else
      fputs(cols[c], out);
  }
  fputc('\n', out);
  for (size_t r = 0; r < rows; r++) {
    for (size_t c = 0; c < nc; c++) {
      const char *t = cells[r * nc + c] != NULL ? cells[r * nc + c] : "?";
      if (c + 1 < nc)
        pad(out, t, wid[c] + 2);
      else
        fputs(t, out);
    }
    fputc('\n', out);
  }
  for (size_t k = 0; k < rows * nc; k++)
    free(cells[k]);
  free(cells);
  return 0;
}

/*
 * "path  value" lines of an object, nested names joined by '.', the
 * values aligned: with @out NULL only *@wmax grows to the longest path.
 */
static void print_flat(FILE *out, const char *prefix, yajl_val v, unsigned depth, size_t *wmax)
{
  char name[512];
  if (YAJL_IS_OBJECT(v) && v->u.object.len > 0 && depth < 16) {
    for (size_t i = 0; i < v->u.object.len; i++) {
      snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "",
               v->u.object.keys[i]);
      print_flat(out, name, v->u.object.values[i], depth + 1, wmax);
    }
    return;
  }
  const char *n = prefix[0] != '\0' ? prefix : ".";
  if (out == NULL) {
    if (width(n) > *wmax)
      *wmax = width(n);
    return;
  }
  char *t = cell_text(v);
  pad(out, n, *wmax + 2);
  fprintf(out, "%s\n", t != NULL ? t : "?");
  free(t);
}

int client_print_table(FILE *out, const char *s, size_t len)
{
  yajl_val root = parse(s, len);
  if (root == NULL)
    return -ERR_INVALID_ARGUMENT;
  size_t list = (size_t)-1;
  for (size_t i = 0; YAJL_IS_OBJECT(root) && i < root->u.object.len && list == (size_t)-1; i++) {
    yajl_val a = root->u.object.values[i];
    if (YAJL_IS_ARRAY(a) && (a->u.array.len == 0 || YAJL_IS_OBJECT(a->u.array.values[0])))
      list = i;
  }
  int rc = 0;
  if (list == (size_t)-1) {
    /* {"order": {...}} alone: its members without the "order." prefix. */
    yajl_val top = root;
    size_t w = 0;
    if (YAJL_IS_OBJECT(root) && root->u.object.len == 1 &&
        YAJL_IS_OBJECT(root->u.object.values[0]) && root->u.object.values[0]->u.object.len > 0)
      top = root->u.object.values[0];
    print_flat(NULL, "", top, 0, &w);
    print_flat(out, "", top, 0, &w);
  } else {
    rc = print_rows(out, root->u.object.values[list]);
    for (size_t i = 0; i < root->u.object.len; i++)
      if (i != list) {
        char *t = cell_text(root->u.object.values[i]);
        fprintf(out, "%s: %s\n", root->u.object.keys[i], t != NULL ? t : "?");
        free(t);
      }
  }
  yajl_tree_free(root);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

void client_print_error(FILE *err, const struct client_conn *conn, const struct client_reply *r)
{
  (void)conn;
  if (r->status == 0) {
    fprintf(err, "error %d %s: %s\n", ERR_IO, err_name(ERR_IO), r->transport);
    return;
  }
  yajl_val root = r->body != NULL ? yajl_tree_parse(r->body, NULL, 0) : NULL;
  const char *pc[] = {"code", NULL}, *pe[] = {"error", NULL}, *ph[] = {"hint", NULL};
  yajl_val code = root != NULL ? yajl_tree_get(root, pc, yajl_t_number) : NULL;
  yajl_val name = root != NULL ? yajl_tree_get(root, pe, yajl_t_string) : NULL;
  yajl_val hint = root != NULL ? yajl_tree_get(root, ph, yajl_t_string) : NULL;
  if (code != NULL && name != NULL) {
    char *h = cell_text(hint);
    fprintf(err, "error %s %s: %s\n", code->u.number.r, name->u.string,
            h != NULL && hint != NULL ? h : "");
    free(h);
  } else {
    /* Not one of ours (a proxy's page?): the status and the start of the body. */
    char excerpt[161];
    size_t n = 0;
    for (size_t k = 0; r->body != NULL && k < r->len && n < sizeof excerpt - 1; k++)
      excerpt[n++] = (unsigned char)r->body[k] < 0x20 ? ' ' : r->body[k];
    excerpt[n] = '\0';
    fprintf(err, "error %ld http_%ld: %s\n", r->status, r->status,
            n > 0 ? excerpt : "a reply without a backstock error body");
  }
  yajl_tree_free(root);
}
