/*
 * Help of the client commands (backstock_client.h), written from the
 * command table so that it cannot drift from what is parsed: a usage
 * line, the options, the request made, an example; "backstock help"
 * lists every command by role, then the local (database) commands of
 * services/backstock.c.
 */
#include <string.h>

#include "common/common.h"
#include "services/backstock_client.h"

#define WRAP 100

/* Append @piece to the usage line being written, wrapping at WRAP columns. */
static void put_piece(FILE *out, size_t *col, size_t indent, const char *piece)
{
  size_t n = strlen(piece);
  if (*col + 1 + n > WRAP && *col > indent) {
    fprintf(out, "\n%*s", (int)indent, "");
    *col = indent;
  }
  fprintf(out, " %s", piece);
  *col += 1 + n;
}

/* Write @text from column @col on, wrapped at WRAP with @indent blanks; end the line. */
static void wrapped(FILE *out, size_t col, size_t indent, const char *text)
{
  bool first = true;
  while (*text != '\0') {
    size_t n = strcspn(text, " ");
    if (!first && col + 1 + n > WRAP) {
      fprintf(out, "\n%*s", (int)indent, "");
      col = indent;
    } else if (!first) {
      fputc(' ', out);
      col++;
    }
    fwrite(text, 1, n, out);
    col += n;
    first = false;
    text += n;
    while (*text == ' ')
      text++;
  }
  fputc('\n', out);
}

static bool is_post(const struct client_cmd *cmd)
{
  return cmd->method != NULL && strcmp(cmd->method, "POST") == 0;
}

static void usage_line(FILE *out, const struct client_cmd *cmd)
{
  char piece[256];
  size_t col, indent;
  fprintf(out, "usage: backstock %s", cmd->words);
  col = 17 + strlen(cmd->words);
  indent = 17;
  for (size_t k = 0; cmd->opts[k].field != NULL; k++) {
    const struct client_opt *o = &cmd->opts[k];
    size_t alt = 0, first = k;
    for (size_t j = 0; cmd->opts[j].field != NULL; j++)
      if (strcmp(cmd->opts[j].field, o->field) == 0 && cmd->opts[j].dest == o->dest) {
        if (alt++ == 0)
          first = j;
      }
    if (first != k)
      continue; /* written with the first of its alternatives */
    if (o->name == NULL) {
      snprintf(piece, sizeof piece, "%s", o->meta);
    } else if (alt > 1) {
      size_t p = 0;
      for (size_t j = k; cmd->opts[j].field != NULL; j++)
        if (strcmp(cmd->opts[j].field, o->field) == 0 && cmd->opts[j].dest == o->dest)
          p += (size_t)snprintf(piece + p, sizeof piece - p, "%s%s %s", p == 0 ? "(" : " | ",
                                cmd->opts[j].name, cmd->opts[j].meta);
      snprintf(piece + p, sizeof piece - p, ")");
      if (!o->required)
        piece[0] = '[', piece[strlen(piece) - 1] = ']';
    } else {
      snprintf(piece, sizeof piece, o->required ? "%s %s" : "[%s %s]", o->name, o->meta);
    }
    put_piece(out, &col, indent, piece);
  }
  if (cmd->flags & CLIENT_CMD_SIGN)
    put_piece(out, &col, indent, "[--sign-key FILE [--sign-key-id ID]]");
  if (is_post(cmd))
    put_piece(out, &col, indent, "[--idempotency-key K]");
  if (cmd->local == NULL)
    put_piece(out, &col, indent, "[common options]");
  fputc('\n', out);
}

static void opt_line(FILE *out, const char *name, const char *meta, const char *help)
{
  char left[80];
  snprintf(left, sizeof left, "%s%s%s", name, meta != NULL ? " " : "", meta != NULL ? meta : "");
  if (strlen(left) > 26)
    fprintf(out, "  %s\n  %-26s ", left, "");
  else
    fprintf(out, "  %-26s ", left);
  wrapped(out, 29, 29, help);
}

void client_help_cmd(FILE *out, const struct client_cmd *cmd)
{
  usage_line(out, cmd);
  fputc('\n', out);
  char sentence[512];
  snprintf(sentence, sizeof sentence, "%s.", cmd->summary);
  if (sentence[0] >= 'a' && sentence[0] <= 'z')
    sentence[0] = (char)(sentence[0] - 'a' + 'A');
  wrapped(out, 0, 0, sentence);
  fputc('\n', out);
  if (cmd->local == NULL)
    fprintf(out, "role: %s   request: %s %s\n\n", cmd->role, cmd->method, cmd->path);
  if (cmd->opts[0].field != NULL) {
    fputs("options:\n", out);
    for (size_t k = 0; cmd->opts[k].field != NULL; k++) {
      const struct client_opt *o = &cmd->opts[k];
      opt_line(out, o->name != NULL ? o->name : o->meta, o->name != NULL ? o->meta : NULL, o->help);
    }
  }
  if (cmd->flags & CLIENT_CMD_SIGN) {
    fputs("signed instruction (required once you have an active signing key):\n", out);
    opt_line(out, "--sign-key", "FILE",
             "sign with the Ed25519 seed in FILE (base64 or hex; signing-keys generate)");
    opt_line(out, "--sign-key-id", "ID",
             "the id of its registered public key (default: looked up with GET "
             "/v1/signing-keys)");
  }
  if (cmd->local == NULL) {
    fputs("common options:\n", out);
    if (is_post(cmd))
      opt_line(out, "--idempotency-key", "K",
               "this request's key (default: 128 random bits in hex). The service applies a key "
               "once: after a timeout or a 5xx, run the same command with the same K and it is "
               "done at most once");
    opt_line(out, "--api", "URL",
             "the service (default: $BACKSTOCK_API_URL, else " CLIENT_DEFAULT_URL ")");
    opt_line(out, "--key-file", "FILE",
             "read the API key from FILE (default: $BACKSTOCK_API_KEY). Never an argument: "
             "every user of the machine can read arguments with ps");
    opt_line(out, "--output", "json|table",
             "json (default): the reply, indented; table: lists as columns");
    opt_line(out, "--timeout", "SECONDS",
             "give up after SECONDS (1-3600; default 30, orders wait 120)");
    opt_line(out, "--verbose", NULL, "the request, its status and request id on stderr");
  }
  fprintf(out, "\nexample:\n  %s\n", cmd->example);
  if (cmd->local == NULL)
    fputs("\nexit status: 0 done; 1 the service refused (\"error <code> <name>: <hint>\" on\n"
          "stderr) or could not be reached; 2 bad usage (nothing was sent).\n",
          out);
}

static void list_role(FILE *out, const char *role, const char *title)
{
  fprintf(out, "\n%s\n", title);
  for (size_t k = 0; k < client_n_cmds; k++)
    if (strcmp(client_cmds[k].role, role) == 0) {
      fprintf(out, "  %-26s ", client_cmds[k].words);
      wrapped(out, 29, 29, client_cmds[k].summary);
    }
}

void client_help_all(FILE *out)
{
  fputs("usage: backstock COMMAND [OPTIONS]   (backstock COMMAND --help: its options)\n"
        "\n"
        "API commands call a running service over HTTP: --api URL or BACKSTOCK_API_URL\n"
        "(default " CLIENT_DEFAULT_URL "), the API key from BACKSTOCK_API_KEY or --key-file "
        "FILE.\n"
        "Exit status: 0 done, 1 the service refused or could not be reached, 2 bad usage.\n",
        out);
  list_role(out, "ap",
            "Authorized participants (role ap; the lists serve admins and auditors too):");
  list_role(out, "issuer_admin", "Issuer admins (role issuer_admin):");
  list_role(out, "auditor", "Auditors (role auditor, read only; admins may too):");
  list_role(out, "any", "Any key:");
  fputs("\nLocal commands open the database directly (on the service's host, with its\n"
        "configuration: --config FILE, BACKSTOCK_* variables; backstock --help):\n"
        "  serve                      run the service (the default command)\n"
        "  migrate | config | version | pg start|stop\n"
        "  connector                  run the broker connector (FIX)\n"
        "  engine | books check       the order engine alone; the books' checker\n"
        "  order place|cancel|show    a raw broker order by its id, not a mint or redeem\n"
        "                             order (those are \"orders\", over the API)\n"
        "  custody ingest|watch|poll|show\n"
        "  clock show|advance|speed   the business clock, in the database\n"
        "  demo seed|open|next-day    the demo's principals, keys and instruments; its clock\n"
        "  admin bootstrap --name N   the first issuer admin; prints its API key\n",
        out);
}

/* How many of argv[i..]'s words the words of @cmd start with. */
static int prefix_len(const struct client_cmd *cmd, int argc, char **argv, int i)
{
  int n = 0;
  const char *w = cmd->words;
  while (*w != '\0' && i + n < argc) {
    size_t len = strcspn(w, " ");
    if (strlen(argv[i + n]) != len || strncmp(argv[i + n], w, len) != 0)
      break;
    n++;
    w += len;
    while (*w == ' ')
      w++;
  }
  return n;
}

int client_help_group(int argc, char **argv, int i, bool asked)
{
  int best = 0;
  for (size_t k = 0; k < client_n_cmds; k++) {
    int n = prefix_len(&client_cmds[k], argc, argv, i);
    if (n > best)
      best = n;
  }
  if (best == 0) {
    fprintf(stderr, "error %d %s: no command \"%s\" (backstock help)\n", ERR_INVALID_ARGUMENT,
            err_name(ERR_INVALID_ARGUMENT), i < argc ? argv[i] : "");
    return CLIENT_EXIT_USAGE;
  }
  FILE *out = asked ? stdout : stderr;
  if (!asked) {
    fprintf(out, "error %d %s: ", ERR_INVALID_ARGUMENT, err_name(ERR_INVALID_ARGUMENT));
    if (i + best < argc && argv[i + best][0] != '-') {
      fputs("no command \"backstock", out);
      for (int k = 0; k <= best; k++)
        fprintf(out, " %s", argv[i + k]);
      fputs("\"; ", out);
    }
    fputs("\"backstock", out);
    for (int k = 0; k < best; k++)
      fprintf(out, " %s", argv[i + k]);
    fputs("\" wants one of:\n", out);
  }
  for (size_t k = 0; k < client_n_cmds; k++)
    if (prefix_len(&client_cmds[k], argc, argv, i) == best) {
      fprintf(out, "  %-26s ", client_cmds[k].words);
      wrapped(out, 29, 29, client_cmds[k].summary);
    }
  if (best == 1 && strcmp(argv[i], "admin") == 0)
    fprintf(out, "  %-26s %s\n", "admin bootstrap",
            "(local: on the database) the first issuer admin; prints its API key");
  return asked ? CLIENT_EXIT_OK : CLIENT_EXIT_USAGE;
}
