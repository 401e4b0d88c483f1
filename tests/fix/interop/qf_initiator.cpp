/*
 * qf_initiator: QuickFIX (Debian libquickfix-dev) as a FIX 4.4 client of
 * our simulated broker (backstock-simbroker), in test_fix_interop.c.
 *
 *   qf_initiator --port P --symbol SYM [--host 127.0.0.1] [--sender QFCLIENT]
 *                [--target BROKER] [--count 3] [--qty 10] [--side 1]
 *                [--prefix QF<pid>-] [--account A] [--isin ISIN] [--limit PRICE]
 *                [--text TEXT] [--timeout-s 30] [--store DIR] [--reset Y|N]
 *                [--dict FIX44.xml]
 *
 * Logs on (HeartBtInt 30; sequence numbers in memory, or in a QuickFIX
 * FileStore under --store; --reset Y sends 141=Y), sends --count
 * NewOrderSingle with ClOrdIDs <prefix>1 .. <prefix>N (market orders, or
 * limit at --limit; 58 = --text when given, e.g. "sim:partial:2:10"),
 * waits until every order is in a final state or --timeout-s has passed
 * since the start, logs out and exits 0 only if every order was filled
 * (OrdStatus 2 with CumQty equal to OrderQty).  Incoming messages are
 * validated against the data dictionary: an invalid ExecutionReport is
 * rejected (35=3, shown as "reject") and never counts as a fill.
 *
 * Stdout, one line per event, flushed:
 *   logon                          logged on
 *   sent <ClOrdID>                 a NewOrderSingle went out
 *   exec <ClOrdID> <ExecType> <OrdStatus> <CumQty> <AvgPx> <ExecID>   each ExecutionReport
 *   filled <ClOrdID> <CumQty> <AvgPx>   an order reached 39=2 (values as received)
 *   rejected <ClOrdID> <OrdStatus> <Text>   an order ended otherwise (8 rejected, 4, C)
 *   reject <RefSeqNum> <RefTagID> <Reason> <Text>   we rejected a message (35=3)
 *   reject_in ... / logout_in <Text>   the peer's Reject / Logout
 *   timeout <n_open>               the wait ended with orders still open
 *   done <n_filled>                last line before the logout
 *   logout                         logged out, exiting
 * Exit status: 0 all filled, 1 not, 2 bad arguments.
 */
#include <chrono>
#include <csignal>
#include <condition_variable>
#include <set>
#include <sstream>
#include <unistd.h>
#include <vector>

#include <quickfix/Application.h>
#include <quickfix/FileStore.h>
#include <quickfix/MessageStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketInitiator.h>

#include "qf_common.hpp"

#ifndef QF_DICT
#define QF_DICT "FIX44.xml"
#endif

namespace
{

const char usage[] =
    "qf_initiator --port P --symbol SYM [--host H] [--sender ID] [--target ID] [--count N] "
    "[--qty Q] [--side 1|2] [--prefix P] [--account A] [--isin ISIN] [--limit PRICE] "
    "[--text T] [--timeout-s S] [--store DIR] [--reset Y|N] [--dict FILE]";

std::string dash(const FIX::FieldMap &m, int tag)
{
  return m.isSetField(tag) ? m.getField(tag) : std::string("-");
}

struct OrderState {
  std::string qty;
  bool final = false;
  bool filled = false;
};

class Client : public FIX::Application
{
public:
  void onCreate(const FIX::SessionID &) override
  {
  }

  void onLogon(const FIX::SessionID &sid) override
  {
    qf::event("logon");
    std::lock_guard<std::mutex> g(mu_);
    sid_ = sid;
    logged_on_ = true;
    cv_.notify_all();
  }

  void onLogout(const FIX::SessionID &) override
  {
    std::lock_guard<std::mutex> g(mu_);
    logged_on_ = false;
    cv_.notify_all();
  }

  void toAdmin(FIX::Message &m, const FIX::SessionID &) override
  {
    if (m.getHeader().getField(35) == "3")
      qf::event("reject %s %s %s %s", dash(m, 45).c_str(), dash(m, 371).c_str(),
                dash(m, 373).c_str(), dash(m, 58).c_str());
  }

  void toApp(FIX::Message &, const FIX::SessionID &) throw(FIX::DoNotSend) override
  {
  }

  void fromAdmin(const FIX::Message &m,
                 const FIX::SessionID &) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                               FIX::IncorrectTagValue, FIX::RejectLogon) override
  {
    const std::string t = m.getHeader().getField(35);
    if (t == "3")
      qf::event("reject_in %s %s %s %s", dash(m, 45).c_str(), dash(m, 371).c_str(),
                dash(m, 373).c_str(), dash(m, 58).c_str());
    else if (t == "5")
      qf::event("logout_in %s", dash(m, 58).c_str());
  }

  void fromApp(const FIX::Message &m,
               const FIX::SessionID &) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                             FIX::IncorrectTagValue,
                                             FIX::UnsupportedMessageType) override
  {
    if (m.getHeader().getField(35) != "8")
      throw FIX::UnsupportedMessageType();
    const std::string id = m.getField(11), status = m.getField(39);
    const std::string cum = m.getField(14), avg = m.getField(6);
    qf::event("exec %s %s %s %s %s %s", id.c_str(), m.getField(150).c_str(), status.c_str(),
              cum.c_str(), avg.c_str(), m.getField(17).c_str());
    std::lock_guard<std::mutex> g(mu_);
    auto it = orders_.find(id);
    if (it == orders_.end() || it->second.final)
      return;
    if (status == "2") {
      it->second.final = true;
      it->second.filled = same_qty(cum, it->second.qty);
      qf::event("filled %s %s %s", id.c_str(), cum.c_str(), avg.c_str());
    } else if (status == "8" || status == "4" || status == "C") {
      it->second.final = true;
      qf::event("rejected %s %s %s", id.c_str(), status.c_str(), dash(m, 58).c_str());
    }
    cv_.notify_all();
  }

  /* Wait until logged on; false at @deadline. */
  bool wait_logon(std::chrono::steady_clock::time_point deadline)
  {
    std::unique_lock<std::mutex> g(mu_);
    return cv_.wait_until(g, deadline, [this] { return logged_on_; });
  }

  void expect(const std::string &id, const std::string &qty)
  {
    std::lock_guard<std::mutex> g(mu_);
    orders_[id].qty = qty;
  }

  FIX::SessionID session()
  {
    std::lock_guard<std::mutex> g(mu_);
    return sid_;
  }

  /* Wait until every order is final; returns how many are still open. */
  size_t wait_final(std::chrono::steady_clock::time_point deadline)
  {
    std::unique_lock<std::mutex> g(mu_);
    cv_.wait_until(g, deadline, [this] { return n_open() == 0; });
    return n_open();
  }

  size_t n_filled()
  {
    std::lock_guard<std::mutex> g(mu_);
    size_t n = 0;
    for (auto &o : orders_)
      n += o.second.filled;
    return n;
  }

private:
  size_t n_open() const
  {
    size_t n = 0;
    for (auto &o : orders_)
      n += !o.second.final;
    return n;
  }

  /* Two FIX decimals equal in value ("10" and "10.00"). */
  static bool same_qty(const std::string &x, const std::string &y)
  {
    return norm(x) == norm(y);
  }
  static std::string norm(std::string s)
  {
    if (s.find('.') != std::string::npos) {
      while (!s.empty() && s.back() == '0')
        s.pop_back();
      if (!s.empty() && s.back() == '.')
        s.pop_back();
    }
    size_t i = 0;
    while (i + 1 < s.size() && s[i] == '0' && s[i + 1] != '.')
      i++;
    return s.substr(i);
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool logged_on_ = false;
  FIX::SessionID sid_;
  std::map<std::string, OrderState> orders_;
};

} // namespace

int main(int argc, char **argv)
{
  qf::Args a(argc, argv, usage);
  const long port = a.num("port", 0, 1, 65535);
  const std::string host = a.get("host", "127.0.0.1"), symbol = a.need("symbol");
  const std::string sender = a.get("sender", "QFCLIENT"), target = a.get("target", "BROKER");
  const long count = a.num("count", 3, 1, 10000);
  const std::string qty = a.get("qty", "10"), side = a.get("side", "1");
  const std::string prefix = a.get("prefix", "QF" + std::to_string(getpid()) + "-");
  const std::string account = a.get("account", ""), isin = a.get("isin", "");
  const std::string limit = a.get("limit", ""), text = a.get("text", "");
  const long timeout_s = a.num("timeout-s", 30, 1, 3600);
  const std::string store = a.get("store", ""), reset = a.get("reset", "N");
  const std::string dict = a.get("dict", QF_DICT);
  if (port == 0)
    a.die("missing --port");
  if (!qf::is_decimal(qty) || (!limit.empty() && !qf::is_decimal(limit)))
    a.die("bad --qty or --limit");
  if (side != "1" && side != "2")
    a.die("bad --side: " + side);
  if (reset != "Y" && reset != "N")
    a.die("bad --reset: " + reset);
  if (access(dict.c_str(), R_OK) != 0)
    a.die("cannot read the data dictionary " + dict);
  signal(SIGPIPE, SIG_IGN);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  std::string cfg = "[DEFAULT]\nConnectionType=initiator\nHeartBtInt=30\nReconnectInterval=1\n"
                    "LogonTimeout=10\nLogoutTimeout=5\nResetOnLogon=" +
                    reset + "\nSocketConnectHost=" + host +
                    "\nSocketConnectPort=" + std::to_string(port) + "\n" +
                    (store.empty() ? std::string() : "FileStorePath=" + store + "\n") +
                    qf::session_defaults(dict) + "[SESSION]\nSenderCompID=" + sender +
                    "\nTargetCompID=" + target + "\n";
  size_t filled = 0;
  try {
    std::istringstream in(cfg);
    FIX::SessionSettings settings(in);
    FIX::MemoryStoreFactory memory;
    FIX::FileStoreFactory files(settings);
    qf::StderrLogFactory logs;
    Client app;
    FIX::SocketInitiator initiator(
        app, store.empty() ? (FIX::MessageStoreFactory &)memory : (FIX::MessageStoreFactory &)files,
        settings, logs);
    initiator.start();
    if (!app.wait_logon(deadline)) {
      qf::event("timeout logon");
      initiator.stop(true);
      qf::event("done 0");
      return 1;
    }
    const FIX::SessionID sid = app.session();
    for (long i = 1; i <= count; i++) {
      const std::string id = prefix + std::to_string(i);
      app.expect(id, qty);
      FIX::Message d;
      d.getHeader().setField(35, "D");
      d.setField(11, id);
      if (!account.empty())
        d.setField(1, account);
      d.setField(21, "1");
      d.setField(55, symbol);
      if (!isin.empty()) {
        d.setField(48, isin);
        d.setField(22, "4");
      }
      d.setField(54, side);
      d.setField(60, qf::utc_now());
      d.setField(38, qty);
      d.setField(40, limit.empty() ? "1" : "2");
      if (!limit.empty())
        d.setField(44, limit);
      d.setField(59, "0");
      if (!text.empty())
        d.setField(58, text);
      if (!FIX::Session::sendToTarget(d, sid))
        qf::event("send_failed %s", id.c_str());
      else
        qf::event("sent %s", id.c_str());
    }
    const size_t open = app.wait_final(deadline);
    if (open > 0)
      qf::event("timeout %zu", open);
    filled = app.n_filled();
    qf::event("done %zu", filled);
    initiator.stop();
    qf::event("logout");
  } catch (std::exception &e) {
    fprintf(stderr, "qf_initiator: %s\n", e.what());
    return 1;
  }
  return filled == (size_t)count ? 0 : 1;
}
