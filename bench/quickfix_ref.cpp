/*
 * quickfix_ref: the QuickFIX 1.15.1 side of bench_fix, behind extern "C"
 * functions so that the driver (bench_fix.c) stays C.
 *
 * Parse: FIX::Message::setString(text, true) (frame check: BodyLength and
 * CheckSum; no data dictionary is available, so no dictionary), then the
 * same six fields our side reads, through QuickFIX's typed getField
 * (strings, chars, doubles for Qty/Price, int for MsgSeqNum).  One
 * Message object is reused, as an engine would.  The texts are loaded
 * once into std::strings (qf_load) so no copy is timed.
 *
 * Serialize: a FIX44::NewOrderSingle / FIX44::ExecutionReport built from
 * typed fields (std::string, char, int, double prices and quantities,
 * UtcTimeStamp from time_t + milliseconds), then toString() into a
 * reused std::string, copied to the caller's buffer so that the driver
 * can compare the bytes with ours.
 */
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <quickfix/Message.h>
#include <quickfix/fix44/ExecutionReport.h>
#include <quickfix/fix44/NewOrderSingle.h>

namespace
{
std::vector<std::string> ring_text;
FIX::Message parsed;
std::string out_text;

/* What the last qf_parse_* read, for the driver's agreement check. */
std::string got_s1, got_s2, got_s3;
double got_d1, got_d2, got_d3;
long got_i;

FIX::UtcTimeStamp stamp(int64_t unix_ms)
{
  return FIX::UtcTimeStamp((time_t)(unix_ms / 1000), (int)(unix_ms % 1000), 3);
}

size_t emit(const FIX::Message &m, char *out, size_t cap)
{
  m.toString(out_text);
  if (out_text.size() > cap)
    return 0;
  memcpy(out, out_text.data(), out_text.size());
  return out_text.size();
}

void set_header(FIX::Message &m, uint64_t seq, int64_t sending_ms)
{
  FIX::Header &h = m.getHeader();
  h.setField(FIX::BeginString("FIX.4.4"));
  h.setField(FIX::SenderCompID("BACKSTOCK"));
  h.setField(FIX::TargetCompID("BROKER"));
  h.setField(FIX::MsgSeqNum((int)seq));
  h.setField(FIX::SendingTime(stamp(sending_ms), 3));
}
} // namespace

extern "C" {

/* Keep a copy of ring text @i (0-based, contiguous from 0). */
int qf_load(size_t i, const char *text, size_t len)
{
  try {
    if (ring_text.size() <= i)
      ring_text.resize(i + 1);
    ring_text[i].assign(text, len);
    return 0;
  } catch (...) {
    return -1;
  }
}

/* Parse ring text @i as an ExecutionReport: 17, 37, 150, 14, 6, 31.
   Returns a small number derived from what was read, or -1. */
long qf_parse_er(size_t i)
{
  try {
    parsed.setString(ring_text[i], true);
    FIX::ExecID exec_id;
    FIX::OrderID order_id;
    FIX::ExecType exec_type;
    FIX::CumQty cum_qty;
    FIX::AvgPx avg_px;
    FIX::LastPx last_px;
    parsed.getField(exec_id);
    parsed.getField(order_id);
    parsed.getField(exec_type);
    parsed.getField(cum_qty);
    parsed.getField(avg_px);
    parsed.getField(last_px);
    got_s1 = exec_id.getValue();
    got_s2 = order_id.getValue();
    got_s3.assign(1, exec_type.getValue());
    got_d1 = cum_qty.getValue();
    got_d2 = avg_px.getValue();
    got_d3 = last_px.getValue();
    return (long)(got_s1.size() + got_s2.size()) + (long)got_d1;
  } catch (...) {
    return -1;
  }
}

/* Parse ring text @i as a NewOrderSingle: 11, 55, 54, 38, 44, 34. */
long qf_parse_nos(size_t i)
{
  try {
    parsed.setString(ring_text[i], true);
    FIX::ClOrdID cl_ord_id;
    FIX::Symbol symbol;
    FIX::Side side;
    FIX::OrderQty qty;
    FIX::Price price;
    FIX::MsgSeqNum seq;
    parsed.getField(cl_ord_id);
    parsed.getField(symbol);
    parsed.getField(side);
    parsed.getField(qty);
    parsed.getField(price);
    parsed.getHeader().getField(seq);
    got_s1 = cl_ord_id.getValue();
    got_s2 = symbol.getValue();
    got_s3.assign(1, side.getValue());
    got_d1 = qty.getValue();
    got_d2 = price.getValue();
    got_d3 = 0;
    got_i = seq.getValue();
    return (long)(got_s1.size() + got_s2.size()) + (long)got_d1 + got_i;
  } catch (...) {
    return -1;
  }
}

/* The values of the last qf_parse_*: three strings (NUL-terminated, may
   be truncated to @size), three doubles, one integer. */
void qf_last(char *s1, char *s2, char *s3, size_t size, double *d, long *i)
{
  const std::string *s[3] = {&got_s1, &got_s2, &got_s3};
  char *dst[3] = {s1, s2, s3};
  for (int k = 0; k < 3; k++) {
    size_t n = s[k]->size() < size - 1 ? s[k]->size() : size - 1;
    memcpy(dst[k], s[k]->data(), n);
    dst[k][n] = '\0';
  }
  d[0] = got_d1;
  d[1] = got_d2;
  d[2] = got_d3;
  *i = got_i;
}

/* Build and serialize a NewOrderSingle; returns its length (0: error). */
size_t qf_serialize_nos(char *out, size_t cap, uint64_t seq, int64_t sending_ms,
                        const char *account, const char *cl_ord_id, double order_qty, char ord_type,
                        double price, char side, const char *symbol, char tif, int64_t transact_ms)
{
  try {
    FIX44::NewOrderSingle m;
    set_header(m, seq, sending_ms);
    m.set(FIX::Account(account));
    m.set(FIX::ClOrdID(cl_ord_id));
    m.set(FIX::OrderQty(order_qty));
    m.set(FIX::OrdType(ord_type));
    m.set(FIX::Price(price));
    m.set(FIX::Side(side));
    m.set(FIX::Symbol(symbol));
    m.set(FIX::TimeInForce(tif));
    m.set(FIX::TransactTime(stamp(transact_ms), 3));
    return emit(m, out, cap);
  } catch (...) {
    return 0;
  }
}

/* Build and serialize an ExecutionReport; returns its length (0: error). */
size_t qf_serialize_er(char *out, size_t cap, uint64_t seq, int64_t sending_ms, const char *account,
                       double avg_px, const char *cl_ord_id, double cum_qty, const char *exec_id,
                       double last_px, double last_qty, const char *order_id, double order_qty,
                       char ord_status, double price, char side, const char *symbol,
                       int64_t transact_ms, char exec_type, double leaves_qty)
{
  try {
    FIX44::ExecutionReport m;
    set_header(m, seq, sending_ms);
    m.set(FIX::Account(account));
    m.set(FIX::AvgPx(avg_px));
    m.set(FIX::ClOrdID(cl_ord_id));
    m.set(FIX::CumQty(cum_qty));
    m.set(FIX::ExecID(exec_id));
    m.set(FIX::LastPx(last_px));
    m.set(FIX::LastQty(last_qty));
    m.set(FIX::OrderID(order_id));
    m.set(FIX::OrderQty(order_qty));
    m.set(FIX::OrdStatus(ord_status));
    m.set(FIX::Price(price));
    m.set(FIX::Side(side));
    m.set(FIX::Symbol(symbol));
    m.set(FIX::TransactTime(stamp(transact_ms), 3));
    m.set(FIX::ExecType(exec_type));
    m.set(FIX::LeavesQty(leaves_qty));
    return emit(m, out, cap);
  } catch (...) {
    return 0;
  }
}

} /* extern "C" */
