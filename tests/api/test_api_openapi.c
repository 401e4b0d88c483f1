/*
 * The OpenAPI document (api/openapi.json, embedded as api_openapi_json)
 * against the routing table (api_routes()), in both directions: every
 * route is documented with its method, and every documented operation is
 * a route.  Also per operation: the security (none exactly for public
 * routes, the bearer scheme otherwise), the x-roles list equal to the
 * route's roles, a 401 and a 403 answer on every route with a key, the
 * Idempotency-Key parameter on every POST, and every "$ref" resolving.
 */
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "api/api.h"
#include "tests/support/testsupport.h"

static yajl_val doc;

static int setup(void **state)
{
  char err[256];
  (void)state;
  char *text = malloc(api_openapi_json_len + 1);
  assert_non_null(text);
  memcpy(text, api_openapi_json, api_openapi_json_len + 1);
  doc = yajl_tree_parse(text, err, sizeof err);
  free(text);
  if (doc == NULL)
    fail_msg("api/openapi.json is not JSON: %s", err);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  yajl_tree_free(doc);
  return 0;
}

static yajl_val member(yajl_val obj, const char *name)
{
  if (!YAJL_IS_OBJECT(obj))
    return NULL;
  for (size_t i = 0; i < obj->u.object.len; i++)
    if (strcmp(obj->u.object.keys[i], name) == 0)
      return obj->u.object.values[i];
  return NULL;
}

static const char *const methods[] = {"get", "post", "put", "patch", "delete", "head", "options"};

static void lower(const char *s, char *out, size_t size)
{
  size_t i = 0;
  for (; s[i] != '\0' && i + 1 < size; i++)
    out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
  out[i] = '\0';
}

static void test_version_and_info(void **state)
{
  (void)state;
  yajl_val v = member(doc, "openapi");
  assert_true(YAJL_IS_STRING(v));
  assert_memory_equal(YAJL_GET_STRING(v), "3.", 2);
  assert_true(YAJL_IS_OBJECT(member(doc, "info")));
  assert_true(
      YAJL_IS_OBJECT(member(member(member(doc, "components"), "securitySchemes"), "apiKey")));
}

/* Every route is an operation of the document. */
static void test_routes_documented(void **state)
{
  size_t n;
  const struct api_route *rt = api_routes(&n);
  yajl_val paths = member(doc, "paths");
  (void)state;
  assert_true(n >= 8);
  for (size_t i = 0; i < n; i++) {
    char m[16];
    lower(rt[i].method, m, sizeof m);
    yajl_val op = member(member(paths, rt[i].path), m);
    if (!YAJL_IS_OBJECT(op))
      fail_msg("route %s %s is not in api/openapi.json", rt[i].method, rt[i].path);
  }
}

/* Every operation of the document is a route, and says what the route does. */
static void test_operations_routed(void **state)
{
  size_t n, ops = 0;
  const struct api_route *rt = api_routes(&n);
  yajl_val paths = member(doc, "paths");
  (void)state;
  assert_true(YAJL_IS_OBJECT(paths));
  for (size_t p = 0; p < paths->u.object.len; p++) {
    const char *path = paths->u.object.keys[p];
    yajl_val item = paths->u.object.values[p];
    for (size_t k = 0; k < item->u.object.len; k++) {
      const char *m = item->u.object.keys[k];
      bool is_method = false;
      for (size_t x = 0; x < sizeof methods / sizeof methods[0]; x++)
        is_method = is_method || strcmp(m, methods[x]) == 0;
      if (!is_method)
        continue; /* "parameters", "summary" ... */
      ops++;
      const struct api_route *r = NULL;
      for (size_t i = 0; i < n && r == NULL; i++) {
        char lm[16];
        lower(rt[i].method, lm, sizeof lm);
        if (strcmp(rt[i].path, path) == 0 && strcmp(lm, m) == 0)
          r = &rt[i];
      }
      if (r == NULL)
        fail_msg("documented %s %s is not a route", m, path);
      yajl_val op = item->u.object.values[k];
      /* Security: [] exactly for public routes. */
      yajl_val sec = member(op, "security");
      if (!YAJL_IS_ARRAY(sec))
        fail_msg("%s %s: no security list", m, path);
      if (r->roles == API_ROLE_PUBLIC) {
        assert_int_equal(sec->u.array.len, 0);
      } else {
        assert_int_equal(sec->u.array.len, 1);
        assert_true(member(sec->u.array.values[0], "apiKey") != NULL);
      }
      /* x-roles: the route's roles. */
      yajl_val xr = member(op, "x-roles");
      if (!YAJL_IS_ARRAY(xr))
        fail_msg("%s %s: no x-roles", m, path);
      unsigned bits = 0;
      for (size_t i = 0; i < xr->u.array.len; i++) {
        enum api_role role;
        assert_true(YAJL_IS_STRING(xr->u.array.values[i]));
        if (api_role_parse(YAJL_GET_STRING(xr->u.array.values[i]), &role) != 0)
          fail_msg("%s %s: unknown role in x-roles", m, path);
        assert_true((bits & role) == 0);
        bits |= role;
      }
      if (bits != r->roles)
        fail_msg("%s %s: x-roles %#x, route %#x", m, path, bits, r->roles);
      yajl_val resp = member(op, "responses");
      assert_true(YAJL_IS_OBJECT(resp));
      if (r->roles != API_ROLE_PUBLIC) {
        if (member(resp, "401") == NULL || member(resp, "403") == NULL)
          fail_msg("%s %s: 401 or 403 not documented", m, path);
      }
      if (strcmp(m, "post") == 0) {
        yajl_val params = member(op, "parameters");
        bool idem = false;
        for (size_t i = 0; YAJL_IS_ARRAY(params) && i < params->u.array.len; i++) {
          const char *ref = YAJL_GET_STRING(member(params->u.array.values[i], "$ref"));
          idem =
              idem || (ref != NULL && strcmp(ref, "#/components/parameters/IdempotencyKey") == 0);
        }
        if (!idem)
          fail_msg("POST %s: no Idempotency-Key parameter", path);
      }
    }
  }
  assert_int_equal(ops, n);
}

/* "#/components/x/y" names a member of the document. */
static bool resolves(const char *ref)
{
  char buf[256];
  if (strncmp(ref, "#/", 2) != 0 || strlen(ref) >= sizeof buf)
    return false;
  snprintf(buf, sizeof buf, "%s", ref + 2);
  yajl_val v = doc;
  for (char *save = NULL, *part = strtok_r(buf, "/", &save); part != NULL;
       part = strtok_r(NULL, "/", &save)) {
    v = member(v, part);
    if (v == NULL)
      return false;
  }
  return true;
}

static void walk_refs(yajl_val v, unsigned *count)
{
  if (YAJL_IS_OBJECT(v)) {
    for (size_t i = 0; i < v->u.object.len; i++) {
      yajl_val x = v->u.object.values[i];
      if (strcmp(v->u.object.keys[i], "$ref") == 0) {
        if (!YAJL_IS_STRING(x) || !resolves(YAJL_GET_STRING(x)))
          fail_msg("$ref %s does not resolve", YAJL_IS_STRING(x) ? YAJL_GET_STRING(x) : "?");
        (*count)++;
      } else {
        walk_refs(x, count);
      }
    }
  } else if (YAJL_IS_ARRAY(v)) {
    for (size_t i = 0; i < v->u.array.len; i++)
      walk_refs(v->u.array.values[i], count);
  }
}

static void test_refs_resolve(void **state)
{
  unsigned count = 0;
  (void)state;
  walk_refs(doc, &count);
  assert_true(count > 20);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version_and_info),
      cmocka_unit_test(test_routes_documented),
      cmocka_unit_test(test_operations_routed),
      cmocka_unit_test(test_refs_resolve),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
