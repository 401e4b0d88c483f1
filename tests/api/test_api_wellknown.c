/*
 * GET /.well-known/backstock-keys.json over real HTTP (a fresh database):
 * public (no key, a bad key is not looked at), the exact canonical
 * document of a key store written by hand (a retired key of the fixed
 * seed 00 01 .. 1f and a current one of the seed 20 21 .. 3f), an empty
 * list without a key store, and 500 por_key when the store is unreadable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/api/api_testlib.h"

#define PATH "/.well-known/backstock-keys.json"

static void put(const char *dir, const char *name, const char *text)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_keys(void **state)
{
  struct tl_server s;
  struct tl_reply r;
  char tmp[256], dir[300];
  (void)state;
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, stderr);
  tl_server_start("apiwellknown", &s);

  /* No key store: an empty list. */
  tl_call(&s, "GET", PATH, NULL, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{\"keys\":[]}");
  tl_reply_free(&r);

  ts_tmpdir(tmp, sizeof tmp);
  snprintf(dir, sizeof dir, "%s/keys", tmp);
  assert_int_equal(mkdir(dir, 0700), 0);
  put(dir, "56475aa75463474c.pub",
      "key_id = 56475aa75463474c\nalg = ed25519\n"
      "public_key = A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n"
      "not_before = 1714570000000\nnot_after = 1717250000123\n");
  put(dir, "24f6ed6acbfe1009.pub",
      "key_id = 24f6ed6acbfe1009\nalg = ed25519\n"
      "public_key = Kay64UG8yvCyLhqU000LxzYeUm0L/hLIl5S8kyKWbdc=\n"
      "not_before = 1717250000123\nnot_after = \n");
  put(dir, "current", "24f6ed6acbfe1009\n");
  s.ctx.attestation_key_dir = dir;

  static const char want[] =
      "{\"keys\":[{\"alg\":\"ed25519\",\"current\":false,\"key_id\":\"56475aa75463474c\","
      "\"not_after\":\"2024-06-01T13:53:20.123Z\",\"not_before\":\"2024-05-01T13:26:40.000Z\","
      "\"public_key\":\"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\"},"
      "{\"alg\":\"ed25519\",\"current\":true,\"key_id\":\"24f6ed6acbfe1009\","
      "\"not_after\":null,\"not_before\":\"2024-06-01T13:53:20.123Z\","
      "\"public_key\":\"Kay64UG8yvCyLhqU000LxzYeUm0L/hLIl5S8kyKWbdc=\"}]}";
  tl_call(&s, "GET", PATH, NULL, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, want);
  tl_reply_free(&r);
  /* Public: a bad key is not looked at. */
  tl_request(s.port, "GET", PATH, "Bearer nonsense", NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, want);
  tl_reply_free(&r);
  tl_call_error(&s, "POST", PATH, NULL, "k1", "{}", 405, ERR_API_METHOD, NULL);

  /* A public key file that does not match its id: the store is broken. */
  put(dir, "24f6ed6acbfe1009.pub",
      "key_id = 24f6ed6acbfe1009\nalg = ed25519\n"
      "public_key = A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n"
      "not_before = 1717250000123\nnot_after = \n");
  tl_call_error(&s, "GET", PATH, NULL, NULL, NULL, 500, ERR_POR_KEY, NULL);

  s.ctx.attestation_key_dir = NULL;
  tl_server_stop(&s);
  ts_rmtree(tmp);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
