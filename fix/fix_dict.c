/*
 * The FIX 4.4 dictionary of the message types we use and fix_validate().
 *
 * The tables below are written from the FIX 4.4 specification: one table
 * of field types indexed by tag (with the allowed values of enumerated
 * fields), one list of fields per message type (required or optional, and
 * which repeating group a NumInGroup field opens), the standard header and
 * the groups.  Only the message types of fix.h are described; the fields
 * listed are those the spec defines for them that a cash-equity
 * connector can meet, not every component of the spec.
 *
 * Validation is one pass over the fields in wire order, then a check of
 * the required fields.  It allocates nothing: a bitmap of the tags seen
 * lives on the stack, and a per-message "position of tag" index is built
 * once (pthread_once) from the lists so that looking a tag up is one
 * array read.
 *
 * Choices where the spec leaves room (each tested in test_fix_dict.c):
 * - a group member before the group's delimiter (its first member), a
 *   member out of the order of the group's definition, or a member of one
 *   of the message's groups outside that group: 15 on the member's tag;
 *   too many or too few instances, or a NumInGroup that is not a
 *   non-negative integer: 16 on the NumInGroup tag.  NumInGroup 0 is
 *   accepted (no instances follow).  A member repeated inside one
 *   instance: 13.
 * - a negative HeartBtInt (108=-5) is a well-formed int out of range: 5.
 * - application messages: a tag not in the message's list reaches the
 *   application and is listed in info->unknown_tags (every occurrence;
 *   unknown tags may repeat, as they may belong to a group we do not
 *   know, and their values are not checked beyond being non-empty).
 * - admin messages: a tag not in the message's list is 2 (tag not
 *   defined for this message type) when it is a FIX 4.4 tag (1..956) or a
 *   user-defined one (5000..9999); any other number is 0 (invalid tag).
 * - UTCTimestamp accepts 3, 6 or 9 fraction digits (4.4 says 3; brokers
 *   send more, and a fill must not be rejected for it).  Floats accept a
 *   bare leading or trailing point ("100.", ".5").
 * - 8, 9, 35 not the first three fields, a header tag after the first
 *   body tag, or any field after 10: 14.  A missing CheckSum: 1 on 10.
 * - nested groups (NoPartySubIDs inside Parties, the header's NoHops) and
 *   raw data fields are not described: their tags are unknown.
 */
#include <pthread.h>
#include <string.h>

#include "fix/fix.h"

/* Tags below this are in the tables; larger ones are unknown to us. */
#define FIELD_MAX 1024
/* Highest tag FIX 4.4 defines. */
#define FIX44_TAG_LAST 956

enum ftype {
  FT_NONE = 0, /* not in the dictionary */
  FT_INT,      /* optional '-', digits */
  FT_SEQNUM,   /* digits */
  FT_LENGTH,   /* digits */
  FT_NUMINGROUP,
  FT_FLOAT, /* Qty, Price, Amt, float: optional '-', digits, optional point */
  FT_CHAR,  /* one character */
  FT_BOOL,  /* Y or N */
  FT_STRING,
  FT_UTCTS,    /* YYYYMMDD-HH:MM:SS[.sss] */
  FT_DATE,     /* LocalMktDate, UTCDateOnly: YYYYMMDD */
  FT_MVS,      /* MultipleValueString: space-separated values */
  FT_CHECKSUM, /* three digits */
};

struct fdef {
  uint8_t type;       /* enum ftype */
  uint8_t nonneg;     /* FT_INT: a negative value is out of range (5) */
  const char *values; /* allowed values separated by spaces, or NULL */
};

/* clang-format off */
#define F(t)       {t, 0, NULL}
#define E(t, v)    {t, 0, v}
#define BOOL_FIELD {FT_BOOL, 0, NULL}
#define UINT_FIELD {FT_INT, 1, NULL}
/* clang-format on */

static const struct fdef fields[FIELD_MAX] = {
    [1] = F(FT_STRING),                                       /* Account */
    [6] = F(FT_FLOAT),                                        /* AvgPx */
    [7] = F(FT_SEQNUM),                                       /* BeginSeqNo */
    [8] = F(FT_STRING),                                       /* BeginString */
    [9] = F(FT_LENGTH),                                       /* BodyLength */
    [10] = F(FT_CHECKSUM),                                    /* CheckSum */
    [11] = F(FT_STRING),                                      /* ClOrdID */
    [12] = F(FT_FLOAT),                                       /* Commission */
    [13] = E(FT_CHAR, "1 2 3 4 5 6"),                         /* CommType */
    [14] = F(FT_FLOAT),                                       /* CumQty */
    [15] = F(FT_STRING),                                      /* Currency */
    [16] = F(FT_SEQNUM),                                      /* EndSeqNo */
    [17] = F(FT_STRING),                                      /* ExecID */
    [18] = F(FT_MVS),                                         /* ExecInst */
    [19] = F(FT_STRING),                                      /* ExecRefID */
    [21] = E(FT_CHAR, "1 2 3"),                               /* HandlInst */
    [22] = E(FT_STRING, "1 2 3 4 5 6 7 8 9 A B C D E F G H"), /* SecurityIDSource */
    [29] = E(FT_CHAR, "1 2 3 4"),                             /* LastCapacity */
    [30] = F(FT_STRING),                                      /* LastMkt */
    [31] = F(FT_FLOAT),                                       /* LastPx */
    [32] = F(FT_FLOAT),                                       /* LastQty */
    [34] = F(FT_SEQNUM),                                      /* MsgSeqNum */
    [35] = F(FT_STRING),                                      /* MsgType */
    [36] = F(FT_SEQNUM),                                      /* NewSeqNo */
    [37] = F(FT_STRING),                                      /* OrderID */
    [38] = F(FT_FLOAT),                                       /* OrderQty */
    [39] = E(FT_CHAR, "0 1 2 3 4 5 6 7 8 9 A B C D E"),       /* OrdStatus */
    [40] = E(FT_CHAR, "1 2 3 4 6 7 8 9 D E G I J K L M P"),   /* OrdType */
    [41] = F(FT_STRING),                                      /* OrigClOrdID */
    [43] = BOOL_FIELD,                                        /* PossDupFlag */
    [44] = F(FT_FLOAT),                                       /* Price */
    [45] = F(FT_SEQNUM),                                      /* RefSeqNum */
    [48] = F(FT_STRING),                                      /* SecurityID */
    [49] = F(FT_STRING),                                      /* SenderCompID */
    [50] = F(FT_STRING),                                      /* SenderSubID */
    [52] = F(FT_UTCTS),                                       /* SendingTime */
    [54] = E(FT_CHAR, "1 2 3 4 5 6 7 8 9 A B C D E F G"),     /* Side */
    [55] = F(FT_STRING),                                      /* Symbol */
    [56] = F(FT_STRING),                                      /* TargetCompID */
    [57] = F(FT_STRING),                                      /* TargetSubID */
    [58] = F(FT_STRING),                                      /* Text */
    [59] = E(FT_CHAR, "0 1 2 3 4 5 6 7"),                     /* TimeInForce */
    [60] = F(FT_UTCTS),                                       /* TransactTime */
    [63] = F(FT_STRING),                                      /* SettlType */
    [64] = F(FT_DATE),                                        /* SettlDate */
    [75] = F(FT_DATE),                                        /* TradeDate */
    [97] = BOOL_FIELD,                                        /* PossResend */
    [98] = E(FT_INT, "0 1 2 3 4 5 6"),                        /* EncryptMethod */
    [99] = F(FT_FLOAT),                                       /* StopPx */
    [100] = F(FT_STRING),                                     /* ExDestination */
    [102] = E(FT_INT, "0 1 2 3 4 5 6 99"),                    /* CxlRejReason */
    [103] = F(FT_INT),                   /* OrdRejReason: not enumerated, a fill must pass */
    [108] = UINT_FIELD,                  /* HeartBtInt */
    [110] = F(FT_FLOAT),                 /* MinQty */
    [111] = F(FT_FLOAT),                 /* MaxFloor */
    [112] = F(FT_STRING),                /* TestReqID */
    [115] = F(FT_STRING),                /* OnBehalfOfCompID */
    [116] = F(FT_STRING),                /* OnBehalfOfSubID */
    [118] = F(FT_FLOAT),                 /* NetMoney */
    [119] = F(FT_FLOAT),                 /* SettlCurrAmt */
    [120] = F(FT_STRING),                /* SettlCurrency */
    [122] = F(FT_UTCTS),                 /* OrigSendingTime */
    [123] = BOOL_FIELD,                  /* GapFillFlag */
    [126] = F(FT_UTCTS),                 /* ExpireTime */
    [127] = E(FT_CHAR, "A B C D E F Z"), /* DKReason */
    [128] = F(FT_STRING),                /* DeliverToCompID */
    [129] = F(FT_STRING),                /* DeliverToSubID */
    [141] = BOOL_FIELD,                  /* ResetSeqNumFlag */
    [142] = F(FT_STRING),                /* SenderLocationID */
    [143] = F(FT_STRING),                /* TargetLocationID */
    [144] = F(FT_STRING),                /* OnBehalfOfLocationID */
    [145] = F(FT_STRING),                /* DeliverToLocationID */
    [151] = F(FT_FLOAT),                 /* LeavesQty */
    [150] = E(FT_CHAR, "0 3 4 5 6 7 8 9 A B C D E F G H I"), /* ExecType */
    [198] = F(FT_STRING),                                    /* SecondaryOrderID */
    [207] = F(FT_STRING),                                    /* SecurityExchange */
    [263] = E(FT_CHAR, "0 1 2"),                             /* SubscriptionRequestType */
    [325] = BOOL_FIELD,                                      /* UnsolicitedIndicator */
    [337] = F(FT_STRING),                                    /* ContraTrader */
    [347] = F(FT_STRING),                                    /* MessageEncoding */
    [369] = F(FT_SEQNUM),                                    /* LastMsgSeqNumProcessed */
    [371] = UINT_FIELD,                                      /* RefTagID */
    [372] = F(FT_STRING),                                    /* RefMsgType */
    [373] = E(FT_INT, "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 99"), /* SessionRejectReason */
    [375] = F(FT_STRING),                                                /* ContraBroker */
    [379] = F(FT_STRING),                                                /* BusinessRejectRefID */
    [380] = E(FT_INT, "0 1 2 3 4 5 6 7"),                                /* BusinessRejectReason */
    [381] = F(FT_FLOAT),                                                 /* GrossTradeAmt */
    [382] = F(FT_NUMINGROUP),                                            /* NoContraBrokers */
    [383] = F(FT_LENGTH),                                                /* MaxMessageSize */
    [432] = F(FT_DATE),                                                  /* ExpireDate */
    [434] = E(FT_CHAR, "1 2"),                                           /* CxlRejResponseTo */
    [437] = F(FT_FLOAT),                                                 /* ContraTradeQty */
    [438] = F(FT_UTCTS),                                                 /* ContraTradeTime */
    [447] = F(FT_CHAR),                                                  /* PartyIDSource */
    [448] = F(FT_STRING),                                                /* PartyID */
    [452] = F(FT_INT),                                                   /* PartyRole */
    [453] = F(FT_NUMINGROUP),                                            /* NoPartyIDs */
    [464] = BOOL_FIELD,                                                  /* TestMessageIndicator */
    [526] = F(FT_STRING),                                                /* SecondaryClOrdID */
    [527] = F(FT_STRING),                                                /* SecondaryExecID */
    [544] = E(FT_CHAR, "1 2 3"),                                         /* CashMargin */
    [553] = F(FT_STRING),                                                /* Username */
    [554] = F(FT_STRING),                                                /* Password */
    [581] = F(FT_INT),                                                   /* AccountType */
    [636] = BOOL_FIELD,                                                  /* WorkingIndicator */
    [655] = F(FT_STRING),                                                /* ContraLegRefID */
    [702] = F(FT_NUMINGROUP),                                            /* NoPositions */
    [703] = F(FT_STRING),                                                /* PosType */
    [704] = F(FT_FLOAT),                                                 /* LongQty */
    [705] = F(FT_FLOAT),                                                 /* ShortQty */
    [710] = F(FT_STRING),                                                /* PosReqID */
    [715] = F(FT_DATE),                                                  /* ClearingBusinessDate */
    [721] = F(FT_STRING),                                                /* PosMaintRptID */
    [724] = E(FT_INT, "0 1 2 3"),                                        /* PosReqType */
    [728] = E(FT_INT, "0 1 2 3 4 99"),                                   /* PosReqResult */
    [730] = F(FT_FLOAT),                                                 /* SettlPrice */
    [731] = E(FT_INT, "1 2"),                                            /* SettlPriceType */
    [734] = F(FT_FLOAT),                                                 /* PriorSettlPrice */
    [789] = F(FT_SEQNUM),                                                /* NextExpectedMsgSeqNum */
    [790] = F(FT_STRING),                                                /* OrdStatusReqID */
    [797] = BOOL_FIELD,                                                  /* CopyMsgIndicator */
    [880] = F(FT_STRING),                                                /* TrdMatchID */
};

/* Repeating groups: members[0] is the delimiter. */
struct gdef {
  uint16_t count_tag;
  uint8_t n;
  uint16_t members[6];
};

enum { GRP_NONE = 0, GRP_PARTIES, GRP_CONTRA_BROKERS, GRP_POSITIONS, GRP_N };

static const struct gdef groups[GRP_N] = {
    [GRP_PARTIES] = {453, 3, {448, 447, 452}},
    [GRP_CONTRA_BROKERS] = {382, 5, {375, 337, 437, 438, 655}},
    [GRP_POSITIONS] = {702, 3, {703, 704, 705}},
};

/* Which group a member tag belongs to (each member is in one group). */
static const uint8_t member_group[FIELD_MAX] = {
    [448] = GRP_PARTIES,        [447] = GRP_PARTIES,        [452] = GRP_PARTIES,
    [375] = GRP_CONTRA_BROKERS, [337] = GRP_CONTRA_BROKERS, [437] = GRP_CONTRA_BROKERS,
    [438] = GRP_CONTRA_BROKERS, [655] = GRP_CONTRA_BROKERS, [703] = GRP_POSITIONS,
    [704] = GRP_POSITIONS,      [705] = GRP_POSITIONS,
};

/* One field of a message: required or not, and the group it opens. */
struct mfield {
  uint16_t tag;
  uint8_t req;
  uint8_t group;
};

/* clang-format off */
#define R(t)    {t, 1, GRP_NONE}
#define O(t)    {t, 0, GRP_NONE}
#define G(t, g) {t, 0, g}
/* clang-format on */

/* The standard header (8, 9, 35 first; checked apart from this list). */
static const struct mfield header[] = {
    R(8),   R(9),  R(35), R(49),  R(56),  R(34),  R(52),  O(43),  O(97),  O(122), O(115),
    O(128), O(50), O(57), O(142), O(143), O(116), O(129), O(144), O(145), O(369), O(347),
};

static const struct mfield m_heartbeat[] = {O(112)};
static const struct mfield m_test_request[] = {R(112)};
static const struct mfield m_resend_request[] = {R(7), R(16)};
static const struct mfield m_reject[] = {R(45), O(371), O(372), O(373), O(58)};
static const struct mfield m_sequence_reset[] = {O(123), R(36)};
static const struct mfield m_logout[] = {O(58)};
static const struct mfield m_logon[] = {R(98),  R(108), O(141), O(789),
                                        O(383), O(464), O(553), O(554)};

static const struct mfield m_new_order_single[] = {
    R(11),  R(21),  R(55),  R(54),  R(60),
    R(40),  O(1),   O(38),  O(44),  O(59),
    O(48),  O(22),  O(544), O(15),  O(18),
    O(58),  O(126), O(110), O(111), O(99),
    O(432), O(526), O(100), O(207), G(453, GRP_PARTIES),
};

static const struct mfield m_execution_report[] = {
    R(37),
    R(17),
    R(150),
    R(39),
    R(55),
    R(54),
    R(151),
    R(14),
    R(6),
    O(11),
    O(41),
    O(1),
    O(38),
    O(44),
    O(40),
    O(59),
    O(31),
    O(32),
    O(64),
    O(75),
    O(58),
    O(103),
    O(60),
    O(19),
    O(48),
    O(22),
    O(15),
    O(527),
    O(880),
    O(18),
    O(126),
    O(432),
    O(198),
    O(526),
    O(21),
    O(544),
    O(12),
    O(13),
    O(381),
    O(118),
    O(119),
    O(120),
    O(63),
    O(30),
    O(29),
    O(636),
    O(797),
    O(99),
    O(110),
    O(111),
    O(100),
    O(207),
    G(453, GRP_PARTIES),
    G(382, GRP_CONTRA_BROKERS),
};

static const struct mfield m_order_cancel_request[] = {
    R(41), R(11), R(55), R(54), R(60), O(37), O(38), O(1), O(48), O(22), O(58), G(453, GRP_PARTIES),
};

static const struct mfield m_order_cancel_reject[] = {
    R(37), R(11), R(41), R(39), R(434), O(102), O(58), O(1), O(60),
};

static const struct mfield m_order_status_request[] = {
    R(11), R(55), R(54), O(37), O(1), O(48), O(22), O(790), G(453, GRP_PARTIES),
};

static const struct mfield m_dont_know_trade[] = {
    R(37), R(17), R(127), R(55), R(54), O(38), O(32), O(31), O(58), O(48), O(22),
};

static const struct mfield m_business_message_reject[] = {
    R(372), R(380), O(45), O(379), O(58),
};

static const struct mfield m_request_for_positions[] = {
    R(710),
    R(724),
    R(715),
    R(60),
    O(1),
    O(581),
    O(263),
    O(55),
    O(48),
    O(22),
    O(15),
    O(58),
    G(453, GRP_PARTIES),
};

static const struct mfield m_position_report[] = {
    R(721),
    R(715),
    R(728),
    O(710),
    O(724),
    O(1),
    O(581),
    O(263),
    O(55),
    O(48),
    O(22),
    O(15),
    O(730),
    O(731),
    O(734),
    O(325),
    O(58),
    G(453, GRP_PARTIES),
    G(702, GRP_POSITIONS),
};

struct mdef {
  const char *type;
  uint8_t admin;
  uint8_t n;
  const struct mfield *f;
};

/* clang-format off */
#define MSG(type, admin, list) {type, admin, sizeof list / sizeof list[0], list}
/* clang-format on */

static const struct mdef msgs[] = {
    MSG("0", 1, m_heartbeat),
    MSG("1", 1, m_test_request),
    MSG("2", 1, m_resend_request),
    MSG("3", 1, m_reject),
    MSG("4", 1, m_sequence_reset),
    MSG("5", 1, m_logout),
    MSG("A", 1, m_logon),
    MSG("D", 0, m_new_order_single),
    MSG("8", 0, m_execution_report),
    MSG("F", 0, m_order_cancel_request),
    MSG("9", 0, m_order_cancel_reject),
    MSG("H", 0, m_order_status_request),
    MSG("Q", 0, m_dont_know_trade),
    MSG("j", 0, m_business_message_reject),
    MSG("AN", 0, m_request_for_positions),
    MSG("AP", 0, m_position_report),
};

#define N_MSGS (sizeof msgs / sizeof msgs[0])

/*
 * The other FIX 4.4 message types, all application messages.  fix_validate()
 * returns 1 for them as for any type outside msgs[], with the same 373=11
 * and ref tag 35, but the text "Unsupported Message Type": the session
 * answers these with BusinessMessageReject 380=3 and anything else with
 * Reject 373=11.  ('n', XMLnonFIX, is listed here too.)
 */
static const char *const other_app_types[] = {
    "6",  "7",  "B",  "C",  "E",  "G",  "J",  "K",  "L",  "M",  "N",  "P",  "R",  "S",  "T",  "V",
    "W",  "X",  "Y",  "Z",  "a",  "b",  "c",  "d",  "e",  "f",  "g",  "h",  "i",  "k",  "l",  "m",
    "n",  "o",  "p",  "q",  "r",  "s",  "t",  "u",  "v",  "w",  "x",  "y",  "z",  "AA", "AB", "AC",
    "AD", "AE", "AF", "AG", "AH", "AI", "AJ", "AK", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU",
    "AV", "AW", "AX", "AY", "AZ", "BA", "BB", "BC", "BD", "BE", "BF", "BG", "BH",
};

/* Position + 1 of each tag in each message's list (0: not listed). */
static uint8_t msg_pos[N_MSGS][FIELD_MAX];
static uint8_t hdr_pos[FIELD_MAX];
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void build_index(void)
{
  for (size_t m = 0; m < N_MSGS; m++)
    for (unsigned i = 0; i < msgs[m].n; i++)
      msg_pos[m][msgs[m].f[i].tag] = (uint8_t)(i + 1);
  for (unsigned i = 0; i < sizeof header / sizeof header[0]; i++)
    hdr_pos[header[i].tag] = (uint8_t)(i + 1);
}

/* ------------------------------------------------------------------ */
/* Value formats                                                       */
/* ------------------------------------------------------------------ */

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

static bool all_digits(const char *s, size_t len)
{
  if (len == 0)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!is_digit(s[i]))
      return false;
  return true;
}

/* Value of @len digits at @s (the caller checked they are digits). */
static unsigned digits_value(const char *s, size_t len)
{
  unsigned v = 0;
  for (size_t i = 0; i < len; i++)
    v = v * 10 + (unsigned)(s[i] - '0');
  return v;
}

static bool valid_float(const char *s, size_t len)
{
  size_t i = 0, digits = 0;
  bool point = false;
  if (len > 0 && s[0] == '-')
    i = 1;
  for (; i < len; i++) {
    if (is_digit(s[i]))
      digits++;
    else if (s[i] == '.' && !point)
      point = true;
    else
      return false;
  }
  return digits > 0;
}

/* YYYYMMDD with a real month and day. */
static bool valid_date(const char *s)
{
  static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (!all_digits(s, 8))
    return false;
  unsigned year = digits_value(s, 4);
  unsigned month = digits_value(s + 4, 2);
  unsigned day = digits_value(s + 6, 2);
  if (month < 1 || month > 12 || day < 1 || day > mdays[month - 1])
    return false;
  if (month == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
    return false;
  return true;
}

/* YYYYMMDD-HH:MM:SS, optionally .sss (or 6 or 9 fraction digits). */
static bool valid_utcts(const char *s, size_t len)
{
  if (len != 17 && len != 21 && len != 24 && len != 27)
    return false;
  if (!valid_date(s) || s[8] != '-' || s[11] != ':' || s[14] != ':')
    return false;
  if (!all_digits(s + 9, 2) || !all_digits(s + 12, 2) || !all_digits(s + 15, 2))
    return false;
  if (digits_value(s + 9, 2) > 23 || digits_value(s + 12, 2) > 59 ||
      digits_value(s + 15, 2) > 60) /* 60: a leap second */
    return false;
  if (len > 17 && (s[17] != '.' || !all_digits(s + 18, len - 18)))
    return false;
  return true;
}

/* Whether @s is one of the space-separated @values. */
static bool value_allowed(const char *values, const char *s, size_t len)
{
  const char *p = values;
  while (*p) {
    const char *end = strchr(p, ' ');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n == len && memcmp(p, s, len) == 0)
      return true;
    if (!end)
      break;
    p = end + 1;
  }
  return false;
}

/*
 * Check one value of a known field: 0, FIX_REJ_BAD_FORMAT or
 * FIX_REJ_VALUE_OUT_OF_RANGE.  The value is not empty.
 */
static int check_value(const struct fdef *d, const char *s, size_t len)
{
  switch (d->type) {
  case FT_INT: {
    bool neg = s[0] == '-';
    if (!all_digits(s + neg, len - neg) || len - neg > 18)
      return FIX_REJ_BAD_FORMAT;
    if (neg && d->nonneg && !(len == 2 && s[1] == '0'))
      return FIX_REJ_VALUE_OUT_OF_RANGE;
    break;
  }
  case FT_SEQNUM:
  case FT_LENGTH:
  case FT_NUMINGROUP:
    if (!all_digits(s, len) || len > 18)
      return FIX_REJ_BAD_FORMAT;
    break;
  case FT_FLOAT:
    if (!valid_float(s, len) || len > 40)
      return FIX_REJ_BAD_FORMAT;
    break;
  case FT_CHAR:
    if (len != 1)
      return FIX_REJ_BAD_FORMAT;
    break;
  case FT_BOOL:
    if (len != 1 || (s[0] != 'Y' && s[0] != 'N'))
      return FIX_REJ_BAD_FORMAT;
    break;
  case FT_UTCTS:
    if (!valid_utcts(s, len))
      return FIX_REJ_BAD_FORMAT;
    break;
  case FT_DATE:
    if (len != 8 || !valid_date(s))
      return FIX_REJ_BAD_FORMAT;
    break;
  case FT_CHECKSUM:
    if (len != 3 || !all_digits(s, 3))
      return FIX_REJ_BAD_FORMAT;
    break;
  case FT_MVS: {
    /* Space-separated, no empty value; each one enumerated if listed. */
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
      if (i < len && s[i] != ' ')
        continue;
      if (i == start)
        return FIX_REJ_BAD_FORMAT;
      if (d->values && !value_allowed(d->values, s + start, i - start))
        return FIX_REJ_VALUE_OUT_OF_RANGE;
      start = i + 1;
    }
    return 0;
  }
  default: /* FT_STRING */
    break;
  }
  if (d->values && !value_allowed(d->values, s, len))
    return FIX_REJ_VALUE_OUT_OF_RANGE;
  return 0;
}

/* ------------------------------------------------------------------ */
/* fix_validate                                                        */
/* ------------------------------------------------------------------ */

static const char *reason_text(enum fix_reject_reason r)
{
  switch (r) {
  case FIX_REJ_INVALID_TAG:
    return "Invalid tag number";
  case FIX_REJ_REQUIRED_MISSING:
    return "Required tag missing";
  case FIX_REJ_TAG_NOT_DEFINED:
    return "Tag not defined for this message type";
  case FIX_REJ_UNDEFINED_TAG:
    return "Undefined Tag";
  case FIX_REJ_NO_VALUE:
    return "Tag specified without a value";
  case FIX_REJ_VALUE_OUT_OF_RANGE:
    return "Value is incorrect (out of range) for this tag";
  case FIX_REJ_BAD_FORMAT:
    return "Incorrect data format for value";
  case FIX_REJ_COMPID:
    return "CompID problem";
  case FIX_REJ_SENDING_TIME:
    return "SendingTime accuracy problem";
  case FIX_REJ_INVALID_MSG_TYPE:
    return "Invalid MsgType";
  case FIX_REJ_REPEATED_TAG:
    return "Tag appears more than once";
  case FIX_REJ_OUT_OF_ORDER:
    return "Tag specified out of required order";
  case FIX_REJ_GROUP_ORDER:
    return "Repeating group fields out of order";
  case FIX_REJ_BAD_NUM_IN_GROUP:
    return "Incorrect NumInGroup count for repeating group";
  }
  return "Other";
}

static void set_text(struct fix_reject *rej, const char *text)
{
  size_t n = strlen(text);
  if (n >= sizeof rej->text)
    n = sizeof rej->text - 1;
  memcpy(rej->text, text, n);
  rej->text[n] = '\0';
}

static int reject(struct fix_reject *rej, enum fix_reject_reason reason, uint32_t tag)
{
  rej->reason = reason;
  rej->ref_tag = tag;
  set_text(rej, reason_text(reason));
  return -1;
}

static int find_msg(const char *type, size_t len)
{
  for (size_t m = 0; m < N_MSGS; m++)
    if (strlen(msgs[m].type) == len && memcmp(msgs[m].type, type, len) == 0)
      return (int)m;
  return -1;
}

static int unknown_type(const struct fix_msg *msg, struct fix_reject *rej)
{
  rej->reason = FIX_REJ_INVALID_MSG_TYPE;
  rej->ref_tag = FIX_TAG_MSG_TYPE;
  rej->business = false;
  set_text(rej, reason_text(FIX_REJ_INVALID_MSG_TYPE));
  for (size_t i = 0; i < sizeof other_app_types / sizeof other_app_types[0]; i++)
    if (strlen(other_app_types[i]) == msg->msg_type_len &&
        memcmp(other_app_types[i], msg->msg_type, msg->msg_type_len) == 0) {
      rej->business = true;
      set_text(rej, "Unsupported Message Type");
    }
  return 1;
}

static bool test_and_set(uint64_t *seen, uint32_t tag)
{
  uint64_t bit = (uint64_t)1 << (tag % 64);
  bool was = (seen[tag / 64] & bit) != 0;
  seen[tag / 64] |= bit;
  return was;
}

static bool is_set(const uint64_t *seen, uint32_t tag)
{
  return (seen[tag / 64] & ((uint64_t)1 << (tag % 64))) != 0;
}

static void add_unknown(struct fix_valid_info *info, uint32_t tag)
{
  if (info->n_unknown < sizeof info->unknown_tags / sizeof info->unknown_tags[0])
    info->unknown_tags[info->n_unknown] = tag;
  info->n_unknown++;
}

/* The group being read: its definition, count, instances so far. */
struct group_state {
  const struct gdef *g;
  uint32_t count;
  uint32_t instances;
  unsigned last; /* member index of the last member of this instance */
  uint32_t mask; /* members seen in this instance */
};

static int group_index(const struct gdef *g, uint32_t tag)
{
  for (unsigned k = 0; k < g->n; k++)
    if (g->members[k] == tag)
      return (int)k;
  return -1;
}

int fix_validate(const struct fix_msg *msg, struct fix_reject *rej, struct fix_valid_info *info)
{
  static const uint32_t first3[3] = {FIX_TAG_BEGIN_STRING, FIX_TAG_BODY_LENGTH, FIX_TAG_MSG_TYPE};
  struct fix_reject rej_unused;
  struct fix_valid_info info_unused;
  uint64_t seen[FIELD_MAX / 64] = {0};
  enum { IN_HEADER, IN_BODY, IN_TRAILER } where = IN_HEADER;
  struct group_state gs = {0};

  if (!rej)
    rej = &rej_unused;
  if (!info)
    info = &info_unused;
  memset(rej, 0, sizeof *rej);
  info->n_unknown = 0;
  pthread_once(&index_once, build_index);

  if (!msg || msg->n_fields < 3 || !msg->msg_type)
    return reject(rej, FIX_REJ_REQUIRED_MISSING, FIX_TAG_MSG_TYPE);
  if (msg->msg_type_len == 0)
    return reject(rej, FIX_REJ_NO_VALUE, FIX_TAG_MSG_TYPE);
  int m = find_msg(msg->msg_type, msg->msg_type_len);
  if (m < 0)
    return unknown_type(msg, rej);
  const struct mdef *md = &msgs[m];

  uint32_t n = msg->n_fields < FIX_FIELDS_MAX ? msg->n_fields : FIX_FIELDS_MAX;
  for (uint32_t i = 0; i < n; i++) {
    const struct fix_field *f = &msg->fields[i];
    uint32_t tag = f->tag;
    if (tag == 0 || tag > INT32_MAX)
      return reject(rej, FIX_REJ_INVALID_TAG, tag);
    if (i < 3 ? tag != first3[i] : (tag == 8 || tag == 9 || tag == 35))
      return reject(rej, FIX_REJ_OUT_OF_ORDER, i < 3 ? first3[i] : tag);
    if (where == IN_TRAILER)
      return reject(rej, FIX_REJ_OUT_OF_ORDER, tag);
    if (f->len == 0)
      return reject(rej, FIX_REJ_NO_VALUE, tag);
    if (f->off > msg->len || f->len > msg->len - f->off)
      return reject(rej, FIX_REJ_BAD_FORMAT, tag);
    const char *val = msg->frame + f->off;
    int rc;

    /* Inside a group: a member continues it, anything else ends it. */
    if (gs.g) {
      int k = group_index(gs.g, tag);
      if (k == 0) {
        if (++gs.instances > gs.count)
          return reject(rej, FIX_REJ_BAD_NUM_IN_GROUP, gs.g->count_tag);
        gs.last = 0;
        gs.mask = 1;
      } else if (k > 0) {
        if (gs.instances == 0 || (unsigned)k < gs.last)
          return reject(rej, FIX_REJ_GROUP_ORDER, tag);
        if (gs.mask & (1u << k))
          return reject(rej, FIX_REJ_REPEATED_TAG, tag);
        gs.mask |= 1u << k;
        gs.last = (unsigned)k;
      }
      if (k >= 0) {
        if ((rc = check_value(&fields[tag], val, f->len)) != 0)
          return reject(rej, rc, tag);
        continue;
      }
      if (gs.instances != gs.count)
        return reject(rej, FIX_REJ_BAD_NUM_IN_GROUP, gs.g->count_tag);
      gs.g = NULL;
    }

    if (tag == FIX_TAG_CHECKSUM) {
      where = IN_TRAILER;
      if ((rc = check_value(&fields[tag], val, f->len)) != 0)
        return reject(rej, rc, tag);
      continue;
    }

    if (tag < FIELD_MAX && hdr_pos[tag]) {
      if (where != IN_HEADER)
        return reject(rej, FIX_REJ_OUT_OF_ORDER, tag);
      if (test_and_set(seen, tag))
        return reject(rej, FIX_REJ_REPEATED_TAG, tag);
      if ((rc = check_value(&fields[tag], val, f->len)) != 0)
        return reject(rej, rc, tag);
      continue;
    }

    where = IN_BODY;
    if (tag < FIELD_MAX && msg_pos[m][tag]) {
      const struct mfield *mf = &md->f[msg_pos[m][tag] - 1];
      if (test_and_set(seen, tag))
        return reject(rej, FIX_REJ_REPEATED_TAG, tag);
      if (mf->group != GRP_NONE) {
        if (!all_digits(val, f->len) || f->len > 9)
          return reject(rej, FIX_REJ_BAD_NUM_IN_GROUP, tag);
        gs.count = digits_value(val, f->len);
        gs.g = gs.count > 0 ? &groups[mf->group] : NULL;
        gs.instances = 0;
        gs.last = 0;
        gs.mask = 0;
        continue;
      }
      if ((rc = check_value(&fields[tag], val, f->len)) != 0)
        return reject(rej, rc, tag);
      continue;
    }

    /* A member of one of this message's groups, outside it. */
    if (tag < FIELD_MAX && member_group[tag] != GRP_NONE &&
        msg_pos[m][groups[member_group[tag]].count_tag])
      return reject(rej, FIX_REJ_GROUP_ORDER, tag);

    if (md->admin) {
      bool defined = tag <= FIX44_TAG_LAST || (tag >= 5000 && tag <= 9999);
      return reject(rej, defined ? FIX_REJ_TAG_NOT_DEFINED : FIX_REJ_INVALID_TAG, tag);
    }
    add_unknown(info, tag);
  }

  if (gs.g && gs.instances != gs.count)
    return reject(rej, FIX_REJ_BAD_NUM_IN_GROUP, gs.g->count_tag);
  if (where != IN_TRAILER)
    return reject(rej, FIX_REJ_REQUIRED_MISSING, FIX_TAG_CHECKSUM);
  for (size_t i = 0; i < sizeof header / sizeof header[0]; i++)
    if (header[i].req && !is_set(seen, header[i].tag))
      return reject(rej, FIX_REJ_REQUIRED_MISSING, header[i].tag);
  for (unsigned i = 0; i < md->n; i++)
    if (md->f[i].req && !is_set(seen, md->f[i].tag))
      return reject(rej, FIX_REJ_REQUIRED_MISSING, md->f[i].tag);
  return 0;
}
