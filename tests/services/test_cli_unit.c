/*
 * Unit tests of the backstock API client's pure parts
 * (services/backstock_client*.c): the signed payload and Ed25519
 * signatures (RFC 8032 test vectors), seed files in hex and base64, key
 * generation, percent-encoding, the re-indented JSON (numbers and strings
 * exactly as sent), tables, the error line, and the command table (its
 * help, and docs/cli.md showing every command's example).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "services/backstock_client.h"
#include "tests/support/testsupport.h"

/* What @fn printed into a memory stream, NUL-terminated (free()). */
#define CAPTURE(buf, call)                                                                         \
  do {                                                                                             \
    size_t cap_len_;                                                                               \
    FILE *out = open_memstream(&(buf), &cap_len_);                                                 \
    assert_non_null(out);                                                                          \
    call;                                                                                          \
    fclose(out);                                                                                   \
  } while (0)

static void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
}

static void test_payload(void **state)
{
  (void)state;
  size_t n = 0;
  const char *body = "{\"symbol\":\"TSLA\",\"quantity\":\"10\"}";
  unsigned char *p = client_sign_payload("POST", "/v1/orders/mint", "k-1",
                                         (const unsigned char *)body, strlen(body), &n);
  const char *want = "backstock-order-v1\nPOST\n/v1/orders/mint\nk-1\n"
                     "{\"symbol\":\"TSLA\",\"quantity\":\"10\"}";
  assert_int_equal(n, strlen(want));
  assert_memory_equal(p, want, n);
  free(p);
  p = client_sign_payload("POST", "/v1/orders/7/cancel", "x", NULL, 0, &n);
  assert_int_equal(n, strlen("backstock-order-v1\nPOST\n/v1/orders/7/cancel\nx\n"));
  assert_memory_equal(p, "backstock-order-v1\nPOST\n/v1/orders/7/cancel\nx\n", n);
  free(p);
}

/* RFC 8032 section 7.1, tests 1 and 2. */
static void test_rfc8032(void **state)
{
  (void)state;
  unsigned char seed1[32], seed2[32];
  char sig[CLIENT_SIG_MAX], pub[45];
  size_t n;
  assert_int_equal(
      sodium_hex2bin(seed1, 32, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                     64, NULL, &n, NULL),
      0);
  assert_int_equal(
      sodium_hex2bin(seed2, 32, "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                     64, NULL, &n, NULL),
      0);
  client_sign_public(seed1, pub);
  assert_string_equal(pub, "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  assert_int_equal(client_sign_header(seed1, "7", (const unsigned char *)"", 0, sig), 0);
  assert_string_equal(sig, "keyid=7,sig=5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYe"
                           "OXAc+bRr0lv18FlbviRlUUFDjnoQCw==");
  const unsigned char msg2[] = {0x72};
  assert_int_equal(client_sign_header(seed2, "12", msg2, 1, sig), 0);
  assert_string_equal(sig, "keyid=12,sig=kqAJqfDUyrhyDoILX2QlQKKye1QWUD+Ps3YiI+vbadoIWsHkPhWZbkW"
                           "PNhPQ8R2MOHsurrQwKu6wDSkWErsMAA==");
  client_sign_public(seed2, pub);
  assert_string_equal(pub, "PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=");
}

/* A signature over a real payload verifies with the public key. */
static void test_sign_verifies(void **state)
{
  (void)state;
  unsigned char seed[32], pk[32], sk[64], raw[64];
  char sig[CLIENT_SIG_MAX];
  size_t n, plen;
  randombytes_buf(seed, sizeof seed);
  crypto_sign_seed_keypair(pk, sk, seed);
  const char *body = "{\"a\":\"1\"}";
  unsigned char *p = client_sign_payload("POST", "/v1/orders/redeem", "abc",
                                         (const unsigned char *)body, strlen(body), &plen);
  assert_int_equal(client_sign_header(seed, "99", p, plen, sig), 0);
  assert_memory_equal(sig, "keyid=99,sig=", 13);
  assert_int_equal(strlen(sig), 13 + 88);
  assert_int_equal(sodium_base642bin(raw, sizeof raw, sig + 13, 88, NULL, &n, NULL,
                                     sodium_base64_VARIANT_ORIGINAL),
                   0);
  assert_int_equal(n, 64);
  assert_int_equal(crypto_sign_verify_detached(raw, p, plen, pk), 0);
  p[plen - 2] ^= 1; /* one bit of the body */
  assert_int_not_equal(crypto_sign_verify_detached(raw, p, plen, pk), 0);
  free(p);
}

static void test_seed_files(void **state)
{
  (void)state;
  char dir[256], path[300], pub[45], pub2[45];
  unsigned char seed[32];
  ts_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/k", dir);
  const char *forms[] = {
      "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n",
      "  9D61B19DEFFD5A60BA844AF492EC2CC44449C5697B326919703BAC031CAE7F60  ",
      "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n",
      "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
      "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\r\n",
  };
  for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
    write_file(path, forms[k]);
    memset(seed, 0, sizeof seed);
    assert_int_equal(client_sign_key_load(path, seed), 0);
    client_sign_public(seed, pub);
    assert_string_equal(pub, "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  }
  const char *bad[] = {"", "9d61b19d", "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=x",
                       "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A= extra",
                       /* 33 bytes */ "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2AA"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    write_file(path, bad[k]);
    assert_int_equal(client_sign_key_load(path, seed), -ERR_INVALID_ARGUMENT);
  }
  snprintf(path, sizeof path, "%s/missing", dir);
  assert_int_equal(client_sign_key_load(path, seed), -ERR_IO);

  /* generate: a new 0600 file whose seed gives the public key printed. */
  snprintf(path, sizeof path, "%s/new.key", dir);
  assert_int_equal(client_sign_generate(path, pub), 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(st.st_size, 45);
  assert_int_equal(client_sign_key_load(path, seed), 0);
  client_sign_public(seed, pub2);
  assert_string_equal(pub, pub2);
  assert_int_equal(strlen(pub), 44);
  assert_int_equal(client_sign_generate(path, pub2), -ERR_IO); /* never overwritten */
  assert_int_equal(client_sign_key_load(path, seed), 0);
  client_sign_public(seed, pub2);
  assert_string_equal(pub, pub2);
  ts_rmtree(dir);
}

static void test_escape(void **state)
{
  (void)state;
  char out[32];
  assert_int_equal(client_escape("TSLA", out, sizeof out), 0);
  assert_string_equal(out, "TSLA");
  assert_int_equal(client_escape("a b/c?d&e=f%~._-", out, sizeof out), 0);
  assert_string_equal(out, "a%20b%2Fc%3Fd%26e%3Df%25~._-");
  assert_int_equal(client_escape("\xc3\xa9", out, sizeof out), 0);
  assert_string_equal(out, "%C3%A9");
  assert_int_equal(client_escape("../x", out, sizeof out), 0);
  assert_string_equal(out, "..%2Fx");
  char small[4];
  assert_int_equal(client_escape("abcd", small, sizeof small), -ERR_TOO_LONG);
  assert_string_equal(small, "");
  assert_int_equal(client_escape("a b", small, sizeof small), -ERR_TOO_LONG);
  assert_int_equal(client_escape("abc", small, sizeof small), 0);
}

static void test_print_json(void **state)
{
  (void)state;
  char *buf = NULL;
  const char *in = "{\"a\":1.50,\"u\":\"\\u00e9\\u0001/"
                   "\",\"z\":[],\"b\":[12345678901234567890123,{\"c\":null}],\"d\":\"x\\\"y\","
                   "\"e\":{},\"f\":true,\"g\":\"1.000000\"}";
  CAPTURE(buf, assert_int_equal(client_print_json(out, in, strlen(in)), 0));
  assert_string_equal(buf, "{\n"
                           "  \"a\": 1.50,\n"
                           "  \"u\": \"\xc3\xa9\\u0001/\",\n"
                           "  \"z\": [],\n"
                           "  \"b\": [\n"
                           "    12345678901234567890123,\n"
                           "    {\n"
                           "      \"c\": null\n"
                           "    }\n"
                           "  ],\n"
                           "  \"d\": \"x\\\"y\",\n"
                           "  \"e\": {},\n"
                           "  \"f\": true,\n"
                           "  \"g\": \"1.000000\"\n"
                           "}\n");
  free(buf);
  CAPTURE(buf, assert_int_equal(client_print_json(out, "{\"a\":", 5), -ERR_INVALID_ARGUMENT));
  assert_string_equal(buf, "");
  free(buf);
  CAPTURE(buf, assert_int_equal(client_print_json(out, "not json", 8), -ERR_INVALID_ARGUMENT));
  assert_string_equal(buf, "");
  free(buf);
}

static void test_print_table(void **state)
{
  (void)state;
  char *buf = NULL;
  const char *list = "{\"items\":[{\"id\":1,\"name\":\"ops\",\"role\":\"issuer_admin\"},"
                     "{\"id\":22,\"name\":\"Desk\\nAP\",\"role\":\"ap\",\"x\":{\"k\":[1,\"2\"]}},"
                     "{\"id\":3,\"name\":\"\xc3\xa9t\xc3\xa9\",\"role\":null}],"
                     "\"next_cursor\":\"MjI\",\"verified\":true}";
  CAPTURE(buf, assert_int_equal(client_print_table(out, list, strlen(list)), 0));
  assert_string_equal(buf, "id  name     role          x\n"
                           "1   ops      issuer_admin  -\n"
                           "22  Desk AP  ap            {\"k\":[1,\"2\"]}\n"
                           "3   \xc3\xa9t\xc3\xa9      -             -\n"
                           "next_cursor: MjI\n"
                           "verified: true\n");
  free(buf);
  const char *empty = "{\"items\":[],\"next_cursor\":null}";
  CAPTURE(buf, assert_int_equal(client_print_table(out, empty, strlen(empty)), 0));
  assert_string_equal(buf, "(0 items)\nnext_cursor: -\n");
  free(buf);
  const char *one = "{\"order\":{\"id\":5,\"state\":\"awaiting_cash\",\"fees\":{\"flat\":\"1.00\"},"
                    "\"tags\":[\"a\"]},\"ok\":false}";
  CAPTURE(buf, assert_int_equal(client_print_table(out, one, strlen(one)), 0));
  assert_string_equal(buf, "order.id         5\n"
                           "order.state      awaiting_cash\n"
                           "order.fees.flat  1.00\n"
                           "order.tags       [\"a\"]\n"
                           "ok               false\n");
  free(buf);
  const char *alone = "{\"order\":{\"id\":5,\"state\":\"filled\",\"limit_price\":null}}";
  CAPTURE(buf, assert_int_equal(client_print_table(out, alone, strlen(alone)), 0));
  assert_string_equal(buf, "id           5\n"
                           "state        filled\n"
                           "limit_price  -\n");
  free(buf);
}

static void test_print_error(void **state)
{
  (void)state;
  char *buf = NULL;
  struct client_conn conn;
  memset(&conn, 0, sizeof conn);
  char body[] = "{\"code\":3008,\"error\":\"api_unauthorized\",\"hint\":\"missing or invalid API "
                "key\"}";
  struct client_reply r = {.status = 401, .body = body, .len = sizeof body - 1};
  CAPTURE(buf, client_print_error(out, &conn, &r));
  assert_string_equal(buf, "error 3008 api_unauthorized: missing or invalid API key\n");
  free(buf);
  char html[] = "<html>\n<b>Bad gateway</b></html>";
  struct client_reply r2 = {.status = 502, .body = html, .len = sizeof html - 1};
  CAPTURE(buf, client_print_error(out, &conn, &r2));
  assert_string_equal(buf, "error 502 http_502: <html> <b>Bad gateway</b></html>\n");
  free(buf);
  struct client_reply r3 = {.status = 0};
  snprintf(r3.transport, sizeof r3.transport, "http://127.0.0.1:1: Couldn't connect to server");
  CAPTURE(buf, client_print_error(out, &conn, &r3));
  assert_string_equal(buf, "error 4 io: http://127.0.0.1:1: Couldn't connect to server\n");
  free(buf);
}

/* Every command of the table: words unique, options well formed, help written. */
static void test_table(void **state)
{
  (void)state;
  char *buf = NULL;
  for (size_t k = 0; k < client_n_cmds; k++) {
    const struct client_cmd *c = &client_cmds[k];
    for (size_t j = 0; j < k; j++)
      assert_string_not_equal(c->words, client_cmds[j].words);
    assert_true(c->local != NULL || (c->method != NULL && c->path != NULL && c->path[0] == '/'));
    assert_non_null(c->example);
    assert_int_equal(strncmp(c->example, "backstock ", 10), 0);
    assert_int_equal(strncmp(c->example + 10, c->words, strlen(c->words)), 0);
    size_t positional = 0;
    for (size_t o = 0; c->opts[o].field != NULL; o++) {
      assert_non_null(c->opts[o].help);
      assert_non_null(c->opts[o].meta);
      positional += c->opts[o].name == NULL;
      if (c->opts[o].dest == CLIENT_PATH) {
        char ph[80];
        snprintf(ph, sizeof ph, "{%s}", c->opts[o].field);
        assert_non_null(strstr(c->path, ph));
        assert_true(c->opts[o].required);
      }
    }
    assert_true(positional <= 1);
    CAPTURE(buf, client_help_cmd(out, c));
    char want[128];
    snprintf(want, sizeof want, "usage: backstock %s", c->words);
    assert_int_equal(strncmp(buf, want, strlen(want)), 0);
    assert_non_null(strstr(buf, "example:\n  backstock "));
    free(buf);
  }
  CAPTURE(buf, client_help_all(out));
  for (size_t k = 0; k < client_n_cmds; k++) {
    char line[128];
    snprintf(line, sizeof line, "\n  %-26s ", client_cmds[k].words);
    assert_non_null(strstr(buf, line));
  }
  assert_non_null(strstr(buf, "admin bootstrap"));
  free(buf);
  /* docs/cli.md shows every command with its example. */
  char path[4096], *doc = NULL;
  ts_source_path(path, sizeof path, "docs/cli.md");
  assert_int_equal(util_read_file(path, 1 << 20, &doc, NULL), 0);
  for (size_t k = 0; k < client_n_cmds; k++) {
    char line[512];
    snprintf(line, sizeof line, "\n  `%s`\n", client_cmds[k].example);
    if (strstr(doc, line) == NULL)
      fail_msg("docs/cli.md lacks the example of \"%s\"", client_cmds[k].words);
  }
  free(doc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_payload),       cmocka_unit_test(test_rfc8032),
      cmocka_unit_test(test_sign_verifies), cmocka_unit_test(test_seed_files),
      cmocka_unit_test(test_escape),        cmocka_unit_test(test_print_json),
      cmocka_unit_test(test_print_table),   cmocka_unit_test(test_print_error),
      cmocka_unit_test(test_table),
  };
  if (sodium_init() < 0)
    return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
