/*
 * qf_acceptor: QuickFIX (Debian libquickfix-dev) as a FIX 4.4 broker, the
 * peer our connector logs on to in test_fix_interop.c.
 *
 *   qf_acceptor --port P --store DIR --target COMPID --price DECIMAL
 *               [--sender BROKER] [--dict FIX44.xml] [--settle-days 1]
 *
 * One acceptor session SENDER->TARGET on port P (QuickFIX binds every
 * interface; the tests connect on 127.0.0.1 only), messages validated
 * against the data dictionary (a Reject 35=3 for anything a strict broker
 * would refuse), sequence numbers and sent messages in a QuickFIX
 * FileStore under DIR, so that a restart with the same DIR continues the
 * session (and answers resend requests).  DIR also holds orders.txt, the
 * orders received so far (one line each), so that a restarted acceptor
 * still knows them (as filled: a delayed fill lost in a crash is not
 * redone).
 *
 * Every NewOrderSingle is filled at once at --price: ExecutionReport
 * 150=0 39=0, then 150=F 39=2 with CumQty = LastQty = OrderQty,
 * LeavesQty 0, AvgPx = LastPx = price, TradeDate today (UTC) and SettlDate
 * --settle-days weekdays later; ExecIDs are unique across restarts.  An
 * order whose Text (58) is "qf:delay:<ms>" gets its fill <ms> later (from
 * another thread), so that a test can stop the peer in between.  A
 * ClOrdID already filled is not filled again (ignored with PossDup, else
 * rejected 103=6).  OrderStatusRequest gets 150=I with the order's state
 * (unknown: 39=8 103=5), OrderCancelRequest an OrderCancelReject (too
 * late, or unknown order).
 *
 * Stdout, one line per event, flushed:
 *   listening <port>                 accepting connections
 *   logon <peer seq> <next in> <next out>   logged on; the peer's Logon carried <peer seq>
 *   order <ClOrdID> <Symbol> <Side> <Qty>   a new order (filled right after)
 *   exec <ClOrdID> <ExecType> <MsgSeqNum> <PossDup Y|N>   an ExecutionReport goes out
 *                                    (again, with PossDup Y, when resent)
 *   duplicate <ClOrdID> <PossDup Y|N>       a ClOrdID seen before
 *   status <ClOrdID>  /  cancel <ClOrdID> <OrigClOrdID>
 *   resend <begin> <end>             we sent a ResendRequest (a gap in what we received)
 *   resend_in <begin> <end>          the peer asked us to resend
 *   reject <RefSeqNum> <RefTagID> <Reason> <Text>   we rejected a message (35=3)
 *   reject_in <RefSeqNum> <RefTagID> <Reason> <Text>  the peer rejected one of ours
 *   business_reject_in <RefSeqNum> <Reason> <Text>    35=j from the peer
 *   logout_sent <Text>               we sent a Logout
 *   logout <peer seq>                the peer sent a Logout
 *   disconnect                       the session ended (after a logout or a dropped connection)
 *   stopped                          SIGTERM/SIGINT handled, exiting 0
 * Stderr: every message in and out, and QuickFIX's session events.
 */
#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>
#include <vector>

#include <quickfix/Application.h>
#include <quickfix/FileStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketAcceptor.h>

#include "qf_common.hpp"

#ifndef QF_DICT
#define QF_DICT "FIX44.xml"
#endif

namespace
{

const char usage[] = "qf_acceptor --port P --store DIR --target COMPID --price DECIMAL "
                     "[--sender BROKER] [--dict FILE] [--settle-days N]";

struct Order {
  std::string clordid, order_id, symbol, side, qty, account, security_id, id_source;
};

/* Value of @tag in @m, or "" when absent. */
std::string opt(const FIX::FieldMap &m, int tag)
{
  return m.isSetField(tag) ? m.getField(tag) : std::string();
}

/* Like opt(), "-" when absent (for event lines). */
std::string dash(const FIX::FieldMap &m, int tag)
{
  return m.isSetField(tag) ? m.getField(tag) : std::string("-");
}

class Broker : public FIX::Application
{
public:
  Broker(const std::string &store, const std::string &price, int settle_days)
      : orders_path_(store + "/orders.txt"), price_(price), settle_days_(settle_days)
  {
    struct timeval tv;
    gettimeofday(&tv, nullptr);
    run_id_ = std::to_string((long long)tv.tv_sec * 1000 + tv.tv_usec / 1000) + "." +
              std::to_string(getpid());
    load_orders();
  }

  void onCreate(const FIX::SessionID &) override
  {
  }

  void onLogon(const FIX::SessionID &sid) override
  {
    FIX::Session *s = FIX::Session::lookupSession(sid);
    qf::event("logon %s %d %d", peer_logon_seq_.c_str(), s ? s->getExpectedTargetNum() : 0,
              s ? s->getExpectedSenderNum() : 0);
  }

  void onLogout(const FIX::SessionID &) override
  {
    qf::event("disconnect");
  }

  void toAdmin(FIX::Message &m, const FIX::SessionID &) override
  {
    const std::string t = m.getHeader().getField(35);
    if (t == "2")
      qf::event("resend %s %s", dash(m, 7).c_str(), dash(m, 16).c_str());
    else if (t == "3")
      qf::event("reject %s %s %s %s", dash(m, 45).c_str(), dash(m, 371).c_str(),
                dash(m, 373).c_str(), dash(m, 58).c_str());
    else if (t == "5")
      qf::event("logout_sent %s", dash(m, 58).c_str());
  }

  void toApp(FIX::Message &m, const FIX::SessionID &) throw(FIX::DoNotSend) override
  {
    const FIX::Header &h = m.getHeader();
    if (h.getField(35) == "8")
      qf::event("exec %s %s %s %s", dash(m, 11).c_str(), dash(m, 150).c_str(), dash(h, 34).c_str(),
                opt(h, 43) == "Y" ? "Y" : "N");
  }

  /* Wait for the delayed fills (before the acceptor stops). */
  void join()
  {
    for (auto &t : delayed_)
      t.join();
    delayed_.clear();
  }

  void fromAdmin(const FIX::Message &m,
                 const FIX::SessionID &) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                               FIX::IncorrectTagValue, FIX::RejectLogon) override
  {
    const std::string t = m.getHeader().getField(35);
    const std::string seq = m.getHeader().getField(34);
    if (t == "A")
      peer_logon_seq_ = seq;
    else if (t == "2")
      qf::event("resend_in %s %s", dash(m, 7).c_str(), dash(m, 16).c_str());
    else if (t == "3")
      qf::event("reject_in %s %s %s %s", dash(m, 45).c_str(), dash(m, 371).c_str(),
                dash(m, 373).c_str(), dash(m, 58).c_str());
    else if (t == "5")
      qf::event("logout %s", seq.c_str());
  }

  void fromApp(const FIX::Message &m,
               const FIX::SessionID &sid) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                FIX::IncorrectTagValue,
                                                FIX::UnsupportedMessageType) override
  {
    const std::string t = m.getHeader().getField(35);
    if (t == "D")
      new_order(m, sid);
    else if (t == "H")
      status(m, sid);
    else if (t == "F")
      cancel(m, sid);
    else if (t == "j")
      qf::event("business_reject_in %s %s %s", dash(m, 45).c_str(), dash(m, 380).c_str(),
                dash(m, 58).c_str());
    else
      throw FIX::UnsupportedMessageType();
  }

private:
  void new_order(const FIX::Message &m, const FIX::SessionID &sid)
  {
    Order o;
    o.clordid = m.getField(11);
    o.symbol = m.getField(55);
    o.side = m.getField(54);
    o.qty = m.getField(38);
    o.account = opt(m, 1);
    o.security_id = opt(m, 48);
    o.id_source = opt(m, 22);
    const bool possdup = opt(m.getHeader(), 43) == "Y";
    const std::string text = opt(m, 58);
    Order known;
    if (find(o.clordid, &known)) {
      qf::event("duplicate %s %s", o.clordid.c_str(), possdup ? "Y" : "N");
      if (!possdup)
        send_er(sid, known, '8', '8', "6", "duplicate ClOrdID");
      return;
    }
    {
      std::lock_guard<std::mutex> g(mu_);
      o.order_id = "O" + run_id_ + "-" + std::to_string(++n_orders_);
      orders_[o.clordid] = o;
      save_order(o);
    }
    qf::event("order %s %s %s %s", o.clordid.c_str(), o.symbol.c_str(), o.side.c_str(),
              o.qty.c_str());
    send_er(sid, o, '0', '0', "", "");
    long delay_ms = 0;
    if (text.compare(0, 9, "qf:delay:") == 0)
      delay_ms = strtol(text.c_str() + 9, nullptr, 10);
    if (delay_ms <= 0) {
      send_er(sid, o, 'F', '2', "", "");
      return;
    }
    delayed_.emplace_back([this, sid, o, delay_ms] {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      send_er(sid, o, 'F', '2', "", "");
    });
  }

  /* The order with ClOrdID @id, copied into *out; false when unknown. */
  bool find(const std::string &id, Order *out)
  {
    std::lock_guard<std::mutex> g(mu_);
    auto it = orders_.find(id);
    if (it == orders_.end())
      return false;
    *out = it->second;
    return true;
  }

  void status(const FIX::Message &m, const FIX::SessionID &sid)
  {
    const std::string id = m.getField(11);
    qf::event("status %s", id.c_str());
    Order o;
    if (find(id, &o)) {
      send_er(sid, o, 'I', '2', "", "", opt(m, 790));
      return;
    }
    o.clordid = id;
    o.order_id = opt(m, 37).empty() ? "NONE" : opt(m, 37);
    o.symbol = opt(m, 55);
    o.side = m.getField(54);
    send_er(sid, o, 'I', '8', "5", "unknown order", opt(m, 790));
  }

  void cancel(const FIX::Message &m, const FIX::SessionID &sid)
  {
    const std::string id = m.getField(11), orig = m.getField(41);
    qf::event("cancel %s %s", id.c_str(), orig.c_str());
    Order o;
    const bool known = find(orig, &o);
    FIX::Message r;
    r.getHeader().setField(35, "9");
    r.setField(37, known ? o.order_id : std::string("NONE"));
    r.setField(11, id);
    r.setField(41, orig);
    r.setField(39, known ? "2" : "8");
    r.setField(434, "1");
    r.setField(102, known ? "0" : "1");
    r.setField(58, known ? "too late to cancel: filled" : "unknown order");
    FIX::Session::sendToTarget(r, sid);
  }

  /*
   * An ExecutionReport on @o: @exec_type / @status; a filled state (39=2)
   * carries the whole quantity at the price, a fill (150=F) also
   * LastQty/LastPx and the dates; @rej_reason and @text when not empty.
   * Sent without holding mu_ (QuickFIX holds its session lock meanwhile).
   */
  void send_er(const FIX::SessionID &sid, const Order &o, char exec_type, char status,
               const std::string &rej_reason, const std::string &text,
               const std::string &status_req_id = std::string())
  {
    const bool filled = status == '2';
    FIX::Message er;
    er.getHeader().setField(35, "8");
    er.setField(37, o.order_id);
    er.setField(11, o.clordid);
    er.setField(17, next_exec_id());
    er.setField(150, std::string(1, exec_type));
    er.setField(39, std::string(1, status));
    if (!o.account.empty())
      er.setField(1, o.account);
    if (!o.symbol.empty())
      er.setField(55, o.symbol);
    if (!o.security_id.empty() && !o.id_source.empty()) {
      er.setField(48, o.security_id);
      er.setField(22, o.id_source);
    }
    er.setField(54, o.side);
    if (!o.qty.empty())
      er.setField(38, o.qty);
    er.setField(14, filled ? o.qty : "0");
    er.setField(151, filled || status == '8' || o.qty.empty() ? "0" : o.qty);
    er.setField(6, filled ? price_ : "0");
    if (exec_type == 'F') {
      er.setField(32, o.qty);
      er.setField(31, price_);
      er.setField(75, qf::utc_date_plus_weekdays(0));
      er.setField(64, qf::utc_date_plus_weekdays(settle_days_));
    }
    if (!rej_reason.empty())
      er.setField(103, rej_reason);
    if (!text.empty())
      er.setField(58, text);
    if (!status_req_id.empty())
      er.setField(790, status_req_id);
    er.setField(60, qf::utc_now());
    FIX::Session::sendToTarget(er, sid);
  }

  std::string next_exec_id()
  {
    std::lock_guard<std::mutex> g(mu_);
    return "E" + run_id_ + "-" + std::to_string(++n_execs_);
  }

  void load_orders()
  {
    std::ifstream in(orders_path_);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      Order o;
      if (f >> o.clordid >> o.order_id >> o.symbol >> o.side >> o.qty) {
        orders_[o.clordid] = o;
        n_orders_++;
      }
    }
  }

  void save_order(const Order &o)
  {
    std::ofstream out(orders_path_, std::ios::app);
    out << o.clordid << ' ' << o.order_id << ' ' << o.symbol << ' ' << o.side << ' ' << o.qty
        << '\n';
  }

  std::string orders_path_, price_, run_id_, peer_logon_seq_ = "0";
  int settle_days_;
  unsigned long n_orders_ = 0, n_execs_ = 0;
  std::mutex mu_;                       /* orders_ and the counters */
  std::map<std::string, Order> orders_; /* by ClOrdID */
  std::vector<std::thread> delayed_;    /* delayed fills; only QuickFIX's thread adds */
};

} // namespace

int main(int argc, char **argv)
{
  qf::Args a(argc, argv, usage);
  const long port = a.num("port", 0, 1, 65535);
  const std::string store = a.need("store"), target = a.need("target");
  const std::string sender = a.get("sender", "BROKER"), price = a.need("price");
  const std::string dict = a.get("dict", QF_DICT);
  const int settle_days = (int)a.num("settle-days", 1, 0, 30);
  if (port == 0)
    a.die("missing --port");
  if (!qf::is_decimal(price))
    a.die("bad --price: " + price);
  if (access(dict.c_str(), R_OK) != 0)
    a.die("cannot read the data dictionary " + dict);

  /* Signals are taken by sigwait() below: blocked here, before QuickFIX's threads. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string cfg = "[DEFAULT]\nConnectionType=acceptor\nSocketReuseAddress=Y\n"
                    "SocketAcceptPort=" +
                    std::to_string(port) + "\nFileStorePath=" + store + "\n" +
                    qf::session_defaults(dict) + "[SESSION]\nSenderCompID=" + sender +
                    "\nTargetCompID=" + target + "\n";
  try {
    std::istringstream in(cfg);
    FIX::SessionSettings settings(in);
    FIX::FileStoreFactory stores(settings);
    qf::StderrLogFactory logs;
    Broker app(store, price, settle_days);
    FIX::SocketAcceptor acceptor(app, stores, settings, logs);
    acceptor.start();
    qf::event("listening %ld", port);
    int sig = 0;
    sigwait(&sigs, &sig);
    app.join();
    acceptor.stop();
    qf::event("stopped");
  } catch (std::exception &e) {
    fprintf(stderr, "qf_acceptor: %s\n", e.what());
    return 1;
  }
  return 0;
}
