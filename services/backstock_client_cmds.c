/*
 * The client's commands (backstock_client.h, docs/cli.md): one row per
 * command with its words, role, request, options and help.  An option
 * names where its value goes (body member, query, path placeholder) and
 * how it is checked; backstock_client.c does the rest the same way for
 * every row, so a new endpoint is a new row.  Amounts are decimal
 * strings sent exactly as typed; their scale is the API's (quantities and
 * prices 6, cash 2).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "services/backstock_client.h"

/* Body members. */
#define S(n, f, req, mt, hp)                                                                       \
  {                                                                                                \
    .name = n, .field = f, .type = CLIENT_T_STRING, .dest = CLIENT_BODY, .required = req,          \
    .meta = mt, .help = hp                                                                         \
  }
#define D(n, f, sc, req, mt, hp)                                                                   \
  {                                                                                                \
    .name = n, .field = f, .type = CLIENT_T_DECIMAL, .dest = CLIENT_BODY, .scale = sc,             \
    .required = req, .meta = mt, .help = hp                                                        \
  }
#define I(n, f, req, mt, hp)                                                                       \
  {                                                                                                \
    .name = n, .field = f, .type = CLIENT_T_INT, .dest = CLIENT_BODY, .required = req, .meta = mt, \
    .help = hp                                                                                     \
  }
#define E(n, f, req, ch, hp)                                                                       \
  {                                                                                                \
    .name = n, .field = f, .type = CLIENT_T_ENUM, .dest = CLIENT_BODY, .required = req,            \
    .meta = ch, .choices = ch, .help = hp                                                          \
  }
/* Query parameters. */
#define QS(n, f, mt, hp)                                                                           \
  {                                                                                                \
    .name = n, .field = f, .type = CLIENT_T_STRING, .dest = CLIENT_QUERY, .meta = mt, .help = hp   \
  }
#define QI(n, f, mt, hp)                                                                           \
  {                                                                                                \
    .name = n, .field = f, .type = CLIENT_T_ID, .dest = CLIENT_QUERY, .meta = mt, .help = hp       \
  }
#define QE(n, f, ch, hp)                                                                           \
  {                                                                                                \
    .name = n, .field = f, .type = CLIENT_T_ENUM, .dest = CLIENT_QUERY, .meta = ch, .choices = ch, \
    .help = hp                                                                                     \
  }
/* The positional argument, into the path. */
#define P(f, t, mt, hp)                                                                            \
  {                                                                                                \
    .name = NULL, .field = f, .type = t, .dest = CLIENT_PATH, .required = true, .meta = mt,        \
    .help = hp                                                                                     \
  }
#define PAGE                                                                                       \
  QI("--limit", "limit", "N", "at most N items (1-500; default 100)"),                             \
      QS("--cursor", "cursor", "C", "the page after the one whose next_cursor was C")
#define END                                                                                        \
  {                                                                                                \
    .field = NULL                                                                                  \
  }
#define OPTS(...) ((const struct client_opt[]){__VA_ARGS__, END})
#define NO_OPTS   ((const struct client_opt[]){END})

#define ORDER_FILTERS                                                                              \
  QS("--state", "state", "S", "only orders in state S (awaiting_cash, completed, ...)"),           \
      QE("--kind", "kind", "mint|redeem", "only mint or only redeem orders"),                      \
      QS("--symbol", "symbol", "S", "only orders of instrument S"),                                \
      QI("--ap", "ap", "ID", "only orders of AP principal ID (admin and auditor)"), PAGE

#define INSTRUMENT_KNOBS(req)                                                                      \
  I("--settlement-lag-days", "settlement_lag_days", false, "N",                                    \
    "business days from trade to settlement, 0-10 (default 1)"),                                   \
      E("--mint-policy", "mint_policy", req, "at_fill|at_settlement", "when tokens are minted"),   \
      E("--burn-policy", "burn_policy", req, "on_receipt|at_payout", "when tokens are burned"),    \
      D("--min-order-qty", "min_order_qty", 6, req, "Q", "smallest order, shares"),                \
      D("--max-order-qty", "max_order_qty", 6, req, "Q", "largest order, shares"),                 \
      D("--fee-flat", "fee_flat", 2, false, "USD", "flat fee per order (default 0.00)"),           \
      D("--fee-rate", "fee_rate", 6, false, "R",                                                   \
        "fee as a fraction of the order's value (0.0025 is 25 bp)"),                               \
      S("--market-open", "market_open", false, "HH:MM", "New York time (default 09:30)"),          \
      S("--market-close", "market_close", false, "HH:MM", "New York time (default 16:00)"),        \
      S("--cutoff", "cutoff", false, "HH:MM", "last time orders are taken (default 15:30)"),       \
      E("--out-of-hours", "out_of_hours", false, "queue|refuse",                                   \
        "orders outside the hours wait for the next session or are refused")

static int generate_key(const struct client_cmd *cmd, const char *const *vals);

const struct client_cmd client_cmds[] = {
    /* ---------------- authorized participants ---------------- */
    {"mint", "ap", "POST", "/v1/orders/mint",
     "create a mint order: buy Q shares at most at P each, then mint the tokens to ADDR",
     OPTS(S("--symbol", "symbol", true, "S", "the stock's or the token's symbol (TSLA or TSLAx)"),
          D("--quantity", "quantity", 6, true, "Q", "shares, a decimal (up to 6 places)"),
          D("--limit-price", "limit_price", 6, true, "P", "the highest price per share, USD"),
          S("--wallet", "wallet", true, "ADDR", "an allow-listed wallet of yours (0x + 40 hex)"),
          S("--client-ref", "client_ref", false, "R", "your own reference (1-64 bytes)")),
     NULL, false, CLIENT_CMD_SIGN, NULL,
     "backstock mint --symbol TSLA --quantity 10 --limit-price 250.00 --wallet "
     "0x1111111111111111111111111111111111111111"},
    {"redeem", "ap", "POST", "/v1/orders/redeem",
     "create a redeem order: hand in the tokens of Q shares, the shares are sold, the cash paid",
     OPTS(S("--symbol", "symbol", true, "S", "the stock's or the token's symbol"),
          D("--quantity", "quantity", 6, true, "Q", "shares, a decimal (up to 6 places)"),
          D("--limit-price", "limit_price", 6, false, "P",
            "the lowest price per share (none: a market sell)"),
          S("--wallet", "wallet", true, "ADDR", "the allow-listed wallet the tokens come from"),
          S("--client-ref", "client_ref", false, "R", "your own reference (1-64 bytes)")),
     NULL, false, CLIENT_CMD_SIGN, NULL,
     "backstock redeem --symbol TSLA --quantity 4 --wallet "
     "0x1111111111111111111111111111111111111111"},
    {"orders", "ap", "GET", "/v1/orders",
     "list mint and redeem orders (an AP sees its own; admin and auditor all)", OPTS(ORDER_FILTERS),
     NULL, false, CLIENT_CMD_LIST, NULL, "backstock orders --state awaiting_cash --output table"},
    {"orders show", "ap", "GET", "/v1/orders/{id}", "show one order",
     OPTS(P("id", CLIENT_T_ID, "ID", "the order's id")), NULL, false, 0, NULL,
     "backstock orders show 42"},
    {"orders events", "ap", "GET", "/v1/orders/{id}/events",
     "an order's history: every state change with its time and actor",
     OPTS(P("id", CLIENT_T_ID, "ID", "the order's id")), NULL, false, 0, NULL,
     "backstock orders events 42 --output table"},
    {"orders wait", "ap", "GET", "/v1/orders/{id}",
     "wait until an order is in a state or has passed through it (its events), polling every "
     "0.5 s (--timeout bounds the whole wait: default 120 s); each new state is shown on stderr",
     OPTS(P("id", CLIENT_T_ID, "ID", "the order's id"),
          {.name = "--for",
           .field = "for",
           .type = CLIENT_T_STRING,
           .dest = CLIENT_LOCAL,
           .meta = "STATE[,STATE...]",
           .help = "the states to wait for (default completed); a final state or "
                   "requires_attention ends the wait too (exit 1 unless wanted)"}),
     NULL, false, CLIENT_CMD_WAIT, NULL, "backstock orders wait 42 --for completed --timeout 300"},
    {"orders cancel", "ap", "POST", "/v1/orders/{id}/cancel",
     "cancel an order (at once before the broker order, else after the broker confirms)",
     OPTS(P("id", CLIENT_T_ID, "ID", "the order's id"),
          S("--reason", "reason", false, "TEXT", "why (kept in the order's events)")),
     NULL, false, 0, NULL, "backstock orders cancel 42 --reason \"wrong quantity\""},
    {"wallets", "ap", "GET", "/v1/wallets", "list wallets (an AP its own)",
     OPTS(QI("--ap", "ap", "ID", "only the wallets of AP ID (admin and auditor)"), PAGE), NULL,
     false, CLIENT_CMD_LIST, NULL, "backstock wallets"},
    {"balances", "ap", "GET", "/v1/balances", "balances in the books (an AP its own accounts)",
     OPTS(QS("--owner", "owner", "O",
             "one owner's accounts, e.g. custodian or ap:7 (admin and auditor)"),
          PAGE),
     NULL, false, CLIENT_CMD_LIST, NULL, "backstock balances --output table"},
    {"signing-keys list", "ap", "GET", "/v1/signing-keys",
     "list Ed25519 signing keys (an AP its own; admin and auditor all)",
     OPTS(QI("--ap", "ap", "ID", "only AP ID's (admin and auditor)"), PAGE), NULL, false,
     CLIENT_CMD_LIST, NULL, "backstock signing-keys list"},
    {"signing-keys add", "ap", "POST", "/v1/signing-keys",
     "register an Ed25519 public key; once one is active, every order must be signed",
     OPTS({.name = "--public-key-file",
           .field = "public_key",
           .type = CLIENT_T_KEYFILE,
           .dest = CLIENT_BODY,
           .required = true,
           .meta = "FILE",
           .help =
               "a file holding the public key in base64 (signing-keys generate writes FILE.pub)"},
          S("--public-key", "public_key", true, "B64", "the public key itself, base64 of 32 bytes"),
          S("--label", "label", false, "TEXT", "a name for it (up to 100 bytes)")),
     NULL, false, 0, NULL,
     "backstock signing-keys add --public-key-file ap.key.pub --label desk-1"},
    {"signing-keys revoke", "ap", "POST", "/v1/signing-keys/{id}/revoke", "revoke a signing key",
     OPTS(P("id", CLIENT_T_ID, "ID", "the signing key's id")), NULL, false, 0, NULL,
     "backstock signing-keys revoke 3"},
    {"signing-keys generate", "ap", NULL, NULL,
     "make a new Ed25519 key here: the seed into FILE (0600), the public key into FILE.pub and on "
     "stdout",
     OPTS({.name = "--out",
           .field = "out",
           .type = CLIENT_T_STRING,
           .dest = CLIENT_LOCAL,
           .required = true,
           .meta = "FILE",
           .help = "a new file (never overwritten)"}),
     NULL, false, CLIENT_CMD_NOKEY, generate_key, "backstock signing-keys generate --out ap.key"},

    /* ---------------- issuer admin ---------------- */
    {"admin fund", "issuer_admin", "POST", "/v1/admin/orders/{id}/funding",
     "record cash received for a mint order, with the bank's reference",
     OPTS(P("id", CLIENT_T_ID, "ORDER", "the mint order's id"),
          D("--amount", "amount", 2, true, "USD", "the amount received"),
          S("--bank-ref", "bank_ref", true, "R", "the bank's reference (1-64 bytes)")),
     NULL, false, 0, NULL, "backstock admin fund 42 --amount 2505.00 --bank-ref WIRE-0001"},
    {"admin payout", "issuer_admin", "POST", "/v1/admin/orders/{id}/payouts",
     "record cash paid out for an order: a refund (mint) or a redeem's payout",
     OPTS(P("id", CLIENT_T_ID, "ORDER", "the order's id"),
          E("--kind", "kind", true, "refund|payout", "a refund or a payout"),
          D("--amount", "amount", 2, true, "USD", "the amount paid"),
          S("--bank-ref", "bank_ref", true, "R", "the bank's reference (1-64 bytes)")),
     NULL, false, 0, NULL,
     "backstock admin payout 43 --kind payout --amount 1001.20 --bank-ref WIRE-0002"},
    {"admin wallets add", "issuer_admin", "POST", "/v1/admin/aps/{ap}/wallets",
     "allow-list a wallet of an AP",
     OPTS({.name = "--ap",
           .field = "ap",
           .type = CLIENT_T_ID,
           .dest = CLIENT_PATH,
           .required = true,
           .meta = "ID",
           .help = "the AP principal's id"},
          S("--address", "address", true, "ADDR", "0x and 40 hex digits"),
          S("--label", "label", false, "TEXT", "a name for it (up to 100 bytes)")),
     NULL, false, 0, NULL,
     "backstock admin wallets add --ap 2 --address 0x1111111111111111111111111111111111111111"},
    {"admin wallets revoke", "issuer_admin", "POST", "/v1/admin/wallets/{id}/revoke",
     "take a wallet off the allow-list", OPTS(P("id", CLIENT_T_ID, "ID", "the wallet's id")), NULL,
     false, 0, NULL, "backstock admin wallets revoke 5"},
    {"admin wallets list", "issuer_admin", "GET", "/v1/wallets", "list every AP's wallets",
     OPTS(QI("--ap", "ap", "ID", "only AP ID's"), PAGE), NULL, false, CLIENT_CMD_LIST, NULL,
     "backstock admin wallets list --ap 2"},
    {"admin limits set", "issuer_admin", "POST", "/v1/admin/limits",
     "set a limit: at most Q shares minted (or redeemed) per window, per instrument or per AP",
     OPTS(S("--symbol", "symbol", true, "S", "the instrument"),
          I("--ap", "ap", false, "ID", "one AP (none: all APs together)"),
          E("--kind", "kind", true, "mint|redeem", "which orders count"),
          I("--window-seconds", "window_seconds", true, "N", "the window, 60 to 31622400 s"),
          D("--max-qty", "max_qty", 6, true, "Q", "shares per window")),
     NULL, false, 0, NULL,
     "backstock admin limits set --symbol TSLA --kind mint --window-seconds 86400 --max-qty 10000"},
    {"admin limits list", "issuer_admin", "GET", "/v1/admin/limits", "list the limits",
     OPTS(QS("--symbol", "symbol", "S", "only instrument S's"), PAGE), NULL, false, CLIENT_CMD_LIST,
     NULL, "backstock admin limits list --output table"},
    {"admin pause set", "issuer_admin", "POST", "/v1/admin/pauses",
     "pause minting or redeeming, globally or for one instrument",
     OPTS(S("--scope", "scope", true, "global|SYMBOL", "everything or one instrument"),
          E("--kind", "kind", true, "mint|redeem", "what to pause"),
          S("--reason", "reason", true, "TEXT", "why (1-200 bytes; kept in the audit log)")),
     "paused", true, 0, NULL,
     "backstock admin pause set --scope TSLA --kind mint --reason \"split on Friday\""},
    {"admin pause clear", "issuer_admin", "POST", "/v1/admin/pauses", "lift a pause",
     OPTS(S("--scope", "scope", true, "global|SYMBOL", "everything or one instrument"),
          E("--kind", "kind", true, "mint|redeem", "what to resume"),
          S("--reason", "reason", true, "TEXT", "why (1-200 bytes; kept in the audit log)")),
     "paused", false, 0, NULL,
     "backstock admin pause clear --scope TSLA --kind mint --reason \"split done\""},
    {"admin pause list", "issuer_admin", "GET", "/v1/pauses", "the pauses in force", NO_OPTS, NULL,
     false, 0, NULL, "backstock admin pause list"},
    {"admin instruments create", "issuer_admin", "POST", "/v1/admin/instruments",
     "create an instrument (docs/api.md, \"Instruments and pauses\")",
     OPTS(S("--symbol", "symbol", true, "S", "the stock's ticker (TSLA)"),
          S("--isin", "isin", true, "ISIN", "its ISIN (US88160R1014)"),
          S("--token-symbol", "token_symbol", true, "T", "the token's symbol (TSLAx)"),
          I("--token-decimals", "token_decimals", false, "N", "0-18 (default 18)"),
          INSTRUMENT_KNOBS(true)),
     NULL, false, 0, NULL,
     "backstock admin instruments create --symbol TSLA --isin US88160R1014 --token-symbol TSLAx "
     "--mint-policy at_settlement --burn-policy on_receipt --min-order-qty 1 --max-order-qty "
     "100000"},
    {"admin instruments update", "issuer_admin", "POST", "/v1/admin/instruments/{symbol}",
     "change some of an instrument's policy knobs (at least one)",
     OPTS(P("symbol", CLIENT_T_STRING, "SYMBOL", "the instrument"), INSTRUMENT_KNOBS(false)), NULL,
     false, 0, NULL, "backstock admin instruments update TSLA --fee-rate 0.0025"},
    {"admin instruments list", "issuer_admin", "GET", "/v1/instruments", "list the instruments",
     OPTS(PAGE), NULL, false, CLIENT_CMD_LIST, NULL,
     "backstock admin instruments list --output table"},
    {"admin instruments show", "issuer_admin", "GET", "/v1/instruments/{symbol}",
     "show one instrument (supply and multiplier included)",
     OPTS(P("symbol", CLIENT_T_STRING, "SYMBOL", "the instrument")), NULL, false, 0, NULL,
     "backstock admin instruments show TSLA"},
    {"admin principals add", "issuer_admin", "POST", "/v1/admin/principals",
     "create a principal and its first API key (printed this once)",
     OPTS(S("--name", "name", true, "NAME", "a unique name"),
          E("--role", "role", true, "issuer_admin|ap|auditor", "its role"),
          S("--key-expires-at", "key_expires_at", false, "TIME",
            "the key's expiry, RFC 3339 (2026-01-31T00:00:00Z)")),
     NULL, false, 0, NULL, "backstock admin principals add --name \"Desk AP\" --role ap"},
    {"admin principals list", "issuer_admin", "GET", "/v1/admin/principals", "list the principals",
     OPTS(PAGE), NULL, false, CLIENT_CMD_LIST, NULL, "backstock admin principals list"},
    {"admin keys add", "issuer_admin", "POST", "/v1/admin/principals/{id}/keys",
     "make another API key for a principal (printed this once)",
     OPTS(P("id", CLIENT_T_ID, "PRINCIPAL", "the principal's id"),
          S("--expires-at", "expires_at", false, "TIME", "expiry, RFC 3339")),
     NULL, false, 0, NULL, "backstock admin keys add 2"},
    {"admin keys revoke", "issuer_admin", "POST", "/v1/admin/keys/{id}/revoke", "revoke an API key",
     OPTS(P("id", CLIENT_T_STRING, "KEY_ID", "the key's public id (16 hex digits)")), NULL, false,
     0, NULL, "backstock admin keys revoke 0123456789abcdef"},
    {"admin corpact announce", "issuer_admin", "POST",
     "/v1/admin/instruments/{symbol}/corporate-actions",
     "announce a corporate action (split, reverse split, cash dividend ...)",
     OPTS(P("symbol", CLIENT_T_STRING, "SYMBOL", "the instrument"),
          E("--type", "type", true,
            "split|reverse_split|cash_dividend|stock_dividend|symbol_change|merger|delisting",
            "the kind of action"),
          D("--ratio-old", "ratio_old", 6, false, "N", "shares before (1-for-10: old 10)"),
          D("--ratio-new", "ratio_new", 6, false, "N", "shares after"),
          D("--cash-per-share", "cash_per_share", 6, false, "USD", "a dividend per share"),
          S("--currency", "currency", false, "CCY", "the dividend's currency (USD)"),
          S("--new-symbol", "new_symbol", false, "S", "the symbol after a symbol change"),
          S("--record-date", "record_date", false, "DATE", "YYYY-MM-DD"),
          S("--ex-date", "ex_date", false, "DATE", "YYYY-MM-DD"),
          S("--pay-date", "pay_date", false, "DATE", "YYYY-MM-DD"),
          S("--effective-at", "effective_at", true, "TIME", "activation, RFC 3339"),
          S("--window-start", "window_start", false, "TIME", "mint/redeem refused from, RFC 3339"),
          S("--window-end", "window_end", false, "TIME", "... until, RFC 3339")),
     NULL, false, 0, NULL,
     "backstock admin corpact announce TSLA --type split --ratio-old 1 --ratio-new 3 "
     "--effective-at 2025-08-25T13:30:00Z"},
    {"admin corpact schedule", "issuer_admin", "POST", "/v1/admin/corporate-actions/{id}/schedule",
     "schedule an announced action (it applies at its effective time)",
     OPTS(P("id", CLIENT_T_ID, "ID", "the action's id")), NULL, false, 0, NULL,
     "backstock admin corpact schedule 1"},
    {"admin corpact cancel", "issuer_admin", "POST", "/v1/admin/corporate-actions/{id}/cancel",
     "cancel an action not yet applied",
     OPTS(P("id", CLIENT_T_ID, "ID", "the action's id"),
          S("--reason", "reason", false, "TEXT", "why (kept in the audit log)")),
     NULL, false, 0, NULL, "backstock admin corpact cancel 1 --reason \"terms changed\""},
    {"admin corpact reconcile", "issuer_admin", "POST",
     "/v1/admin/corporate-actions/{id}/reconcile",
     "mark an applied action reconciled (supply checked after it)",
     OPTS(P("id", CLIENT_T_ID, "ID", "the action's id")), NULL, false, 0, NULL,
     "backstock admin corpact reconcile 1"},
    {"admin corpact list", "issuer_admin", "GET", "/v1/instruments/{symbol}/corporate-actions",
     "an instrument's corporate actions (any key may read them)",
     OPTS(P("symbol", CLIENT_T_STRING, "SYMBOL", "the instrument"), PAGE), NULL, false,
     CLIENT_CMD_LIST, NULL, "backstock admin corpact list TSLA"},
    {"admin audit", "issuer_admin", "GET", "/v1/admin/audit",
     "the audit log, its hash chain verified by the service", OPTS(PAGE), NULL, false,
     CLIENT_CMD_LIST, NULL, "backstock admin audit --limit 20"},
    {"admin clock show", "issuer_admin", "GET", "/v1/clock",
     "the service's business clock: now and its speed", NO_OPTS, NULL, false, 0, NULL,
     "backstock admin clock show"},
    {"admin clock set", "issuer_admin", "POST", "/v1/admin/clock",
     "move the business clock on, or change its speed (demo and tests)",
     OPTS(I("--advance-seconds", "advance_seconds", false, "N", "move it N seconds on"),
          I("--advance-business-days", "advance_business_days", false, "N",
            "then N NYSE business days on, same time of day (T+1 over a weekend too)"),
          I("--speed", "speed", false, "N", "clock seconds per real second (1 is real time)")),
     NULL, false, 0, NULL, "backstock admin clock set --advance-business-days 1"},
    {"alerts list", "issuer_admin", "GET", "/v1/admin/alerts",
     "the operators' alerts: refused mints, reconciliation breaks, the broker's (docs/alerts.md; "
     "an auditor may list them too)",
     OPTS(QE("--kind", "kind", "secure_mint|recon_break|broker", "only alerts of this kind"),
          QE("--open", "open", "true|false", "true: not yet acknowledged; false: acknowledged"),
          PAGE),
     NULL, false, CLIENT_CMD_LIST, NULL, "backstock alerts list --open true --output table"},
    {"alerts ack", "issuer_admin", "POST", "/v1/admin/alerts/{id}/acknowledge",
     "acknowledge an alert, with a note",
     OPTS(P("id", CLIENT_T_ID, "ID", "the alert's id"),
          S("--note", "note", true, "TEXT", "what was done about it (1-500 bytes)")),
     NULL, false, 0, NULL, "backstock alerts ack 3 --note \"reserves topped up\""},
    {"admin recon resolve", "issuer_admin", "POST", "/v1/admin/recon/breaks/{id}/resolve",
     "explain or resolve a reconciliation break, with a note (docs/reconcile.md)",
     OPTS(P("id", CLIENT_T_ID, "ID", "the break's id"),
          E("--status", "status", true, "explained|resolved",
            "explained: understood, still watched; resolved: closed"),
          S("--note", "note", true, "TEXT", "what it was and what was done (1-500 bytes)")),
     NULL, false, 0, NULL,
     "backstock admin recon resolve 4 --status explained --note \"custodian booked it late\""},
    {"admin attestations publish", "issuer_admin", "POST", "/v1/admin/attestations",
     "reconcile what is new, then publish the next attestation now (prints the signed document)",
     NO_OPTS, NULL, false, 0, NULL, "backstock admin attestations publish"},

    /* ---------------- auditors (read only) ---------------- */
    {"audit books", "auditor", "GET", "/v1/books/check",
     "check the books: every posting balanced, the ledger sums to zero, orders match (exit 1 "
     "when they do not)",
     NO_OPTS, NULL, false, CLIENT_CMD_OKFIELD, NULL, "backstock audit books"},
    {"audit log", "auditor", "GET", "/v1/admin/audit",
     "the audit log, its hash chain verified by the service", OPTS(PAGE), NULL, false,
     CLIENT_CMD_LIST, NULL, "backstock audit log --output table"},
    {"audit orders", "auditor", "GET", "/v1/orders", "every AP's orders, with filters",
     OPTS(ORDER_FILTERS), NULL, false, CLIENT_CMD_LIST, NULL,
     "backstock audit orders --kind redeem --state completed"},
    {"audit balances", "auditor", "GET", "/v1/balances", "balances in the books",
     OPTS(QS("--owner", "owner", "O", "one owner's accounts, e.g. custodian or ap:7"), PAGE), NULL,
     false, CLIENT_CMD_LIST, NULL, "backstock audit balances --output table"},
    {"audit limits", "auditor", "GET", "/v1/admin/limits", "the limits in force",
     OPTS(QS("--symbol", "symbol", "S", "only instrument S's"), PAGE), NULL, false, CLIENT_CMD_LIST,
     NULL, "backstock audit limits"},
    {"audit principals", "auditor", "GET", "/v1/admin/principals", "the principals", OPTS(PAGE),
     NULL, false, CLIENT_CMD_LIST, NULL, "backstock audit principals --output table"},
    {"audit wallets", "auditor", "GET", "/v1/wallets", "every AP's wallets",
     OPTS(QI("--ap", "ap", "ID", "only AP ID's"), PAGE), NULL, false, CLIENT_CMD_LIST, NULL,
     "backstock audit wallets"},
    {"audit recon runs", "auditor", "GET", "/v1/recon/runs",
     "the reconciliation runs: per ISIN and statement cut-off, supply, reserves, coverage, status",
     OPTS(QS("--isin", "isin", "ISIN", "only this ISIN's"),
          QE("--status", "status", "ok|breaks", "only runs with this outcome"), PAGE),
     NULL, false, CLIENT_CMD_LIST, NULL, "backstock audit recon runs --output table"},
    {"audit recon breaks", "auditor", "GET", "/v1/recon/breaks",
     "the reconciliation breaks with their class, amount and lifecycle",
     OPTS(QS("--isin", "isin", "ISIN", "only this ISIN's"),
          QE("--status", "status", "open|explained|aged_out|resolved", "only in this state"),
          QE("--class", "class",
             "timing|pending_settlement|failed_settlement|corporate_action|fees|security_master|"
             "booking|custodian_data",
             "only of this class"),
          PAGE),
     NULL, false, CLIENT_CMD_LIST, NULL, "backstock audit recon breaks --status open"},
    {"attestations fetch", "auditor", "GET", "/v1/attestations/{id}",
     "download an attestation, the public keys, the previous attestation and every evidence file "
     "(SHA-256 checked) into DIR, for backstock audit verify --dir DIR",
     OPTS({.name = NULL,
           .field = "id",
           .type = CLIENT_T_STRING,
           .dest = CLIENT_LOCAL,
           .meta = "[ID|latest]",
           .help = "the attestation (default latest)"},
          {.name = "--out",
           .field = "out",
           .type = CLIENT_T_STRING,
           .dest = CLIENT_LOCAL,
           .required = true,
           .meta = "DIR",
           .help = "the folder to write (made when missing)"}),
     NULL, false, CLIENT_CMD_FETCH, NULL, "backstock attestations fetch latest --out att"},

    /* ---------------- any key ---------------- */
    {"me", "any", "GET", "/v1/me", "who this key belongs to: principal and key", NO_OPTS, NULL,
     false, 0, NULL, "backstock me"},
    {"instruments", "any", "GET", "/v1/instruments", "list the instruments", OPTS(PAGE), NULL,
     false, CLIENT_CMD_LIST, NULL, "backstock instruments --output table"},
    {"instruments show", "any", "GET", "/v1/instruments/{symbol}", "show one instrument",
     OPTS(P("symbol", CLIENT_T_STRING, "SYMBOL", "the instrument")), NULL, false, 0, NULL,
     "backstock instruments show TSLA"},
    {"pauses", "any", "GET", "/v1/pauses", "the pauses in force", NO_OPTS, NULL, false, 0, NULL,
     "backstock pauses"},
    {"attestations list", "any", "GET", "/v1/attestations",
     "the published attestations, oldest first: id, time, hash, previous (no key needed)",
     OPTS(PAGE), NULL, false, CLIENT_CMD_LIST | CLIENT_CMD_NOKEY, NULL,
     "backstock attestations list --output table"},
    {"attestations latest", "any", "GET", "/v1/attestations/latest",
     "the newest signed attestation document (no key needed)", NO_OPTS, NULL, false,
     CLIENT_CMD_NOKEY, NULL, "backstock attestations latest"},
    {"attestations show", "any", "GET", "/v1/attestations/{id}",
     "one signed attestation document (no key needed)",
     OPTS(P("id", CLIENT_T_ID, "ID", "the attestation's id")), NULL, false, CLIENT_CMD_NOKEY, NULL,
     "backstock attestations show 2"},
};

const size_t client_n_cmds = sizeof client_cmds / sizeof client_cmds[0];

/* "signing-keys generate --out FILE": FILE (the seed) and FILE.pub. */
static int generate_key(const struct client_cmd *cmd, const char *const *vals)
{
  char pub[45], pubpath[4096];
  const char *path = vals[0];
  (void)cmd;
  int n = snprintf(pubpath, sizeof pubpath, "%s.pub", path);
  if (n < 0 || (size_t)n >= sizeof pubpath) {
    fprintf(stderr, "error %d %s: signing-keys generate: --out: the path is too long\n",
            ERR_TOO_LONG, err_name(ERR_TOO_LONG));
    return CLIENT_EXIT_USAGE;
  }
  if (client_sign_generate(path, pub) != 0) {
    fprintf(stderr, "error %d %s: signing-keys generate: cannot create %s: %s\n", ERR_IO,
            err_name(ERR_IO), path, strerror(errno));
    return CLIENT_EXIT_ERROR;
  }
  FILE *f = fopen(pubpath, "wx");
  bool ok = f != NULL && fprintf(f, "%s\n", pub) > 0;
  if (f != NULL && fclose(f) != 0)
    ok = false;
  if (!ok) {
    fprintf(stderr, "error %d %s: signing-keys generate: cannot write %s: %s\n", ERR_IO,
            err_name(ERR_IO), pubpath, strerror(errno));
    return CLIENT_EXIT_ERROR;
  }
  printf("%s\n", pub);
  fprintf(stderr,
          "backstock: the signing key is in %s (keep it secret); register its public key "
          "(above, also in %s) with: backstock signing-keys add --public-key-file %s\n",
          path, pubpath, pubpath);
  return CLIENT_EXIT_OK;
}
