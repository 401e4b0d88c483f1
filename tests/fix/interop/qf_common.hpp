/*
 * qf_common: what the two QuickFIX peers of the interoperability tests
 * (qf_acceptor.cpp, qf_initiator.cpp) share, header-only:
 *
 * - event(): one line on stdout per event, flushed at once, under a
 *   mutex (QuickFIX calls the application from its own threads), so that
 *   a test following the file sees whole lines in order;
 * - a QuickFIX log that writes every message in and out and every session
 *   event to stderr (SOH shown as '|'), for the test's dump on failure;
 * - "--key value" command-line arguments;
 * - UTC timestamps and dates formatted the FIX way, from the clock.
 *
 * Debian's QuickFIX (1.15.1) declares its virtual functions with dynamic
 * exception specifications, which C++14 deprecates; an override must
 * repeat them, so the deprecation warning is off in these two programs.
 */
#ifndef BACKSTOCK_QF_COMMON_HPP
#define BACKSTOCK_QF_COMMON_HPP

#pragma GCC diagnostic ignored "-Wdeprecated"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <string>
#include <sys/time.h>

#include <quickfix/Log.h>
#include <quickfix/SessionID.h>

namespace qf
{

inline std::mutex &out_mutex()
{
  static std::mutex m;
  return m;
}

/* One event line on stdout, flushed. */
__attribute__((format(printf, 1, 2))) inline void event(const char *fmt, ...)
{
  std::lock_guard<std::mutex> g(out_mutex());
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  fputc('\n', stdout);
  fflush(stdout);
}

/* Every message and session event on stderr, one line each. */
class StderrLog : public FIX::Log
{
public:
  explicit StderrLog(const std::string &prefix) : prefix_(prefix)
  {
  }
  void clear() override
  {
  }
  void backup() override
  {
  }
  void onIncoming(const std::string &s) override
  {
    line("in ", s);
  }
  void onOutgoing(const std::string &s) override
  {
    line("out", s);
  }
  void onEvent(const std::string &s) override
  {
    line("evt", s);
  }

private:
  void line(const char *what, std::string s)
  {
    for (char &c : s)
      if (c == '\x01')
        c = '|';
    std::lock_guard<std::mutex> g(out_mutex());
    fprintf(stderr, "%s %s %s\n", prefix_.c_str(), what, s.c_str());
    fflush(stderr);
  }
  std::string prefix_;
};

class StderrLogFactory : public FIX::LogFactory
{
public:
  FIX::Log *create() override
  {
    return new StderrLog("qf");
  }
  FIX::Log *create(const FIX::SessionID &id) override
  {
    return new StderrLog(id.toString());
  }
  void destroy(FIX::Log *log) override
  {
    delete log;
  }
};

/* "--key value" pairs; a bad command line prints @usage and exits 2. */
class Args
{
public:
  Args(int argc, char **argv, const char *usage) : usage_(usage)
  {
    for (int i = 1; i < argc; i += 2) {
      std::string k = argv[i];
      if (k.size() < 3 || k.compare(0, 2, "--") != 0 || i + 1 >= argc)
        die("bad argument: " + k);
      kv_[k.substr(2)] = argv[i + 1];
    }
  }
  std::string get(const std::string &k, const std::string &dflt) const
  {
    auto it = kv_.find(k);
    return it == kv_.end() ? dflt : it->second;
  }
  std::string need(const std::string &k) const
  {
    auto it = kv_.find(k);
    if (it == kv_.end() || it->second.empty())
      die("missing --" + k);
    return it->second;
  }
  long num(const std::string &k, long dflt, long lo, long hi) const
  {
    auto it = kv_.find(k);
    if (it == kv_.end())
      return dflt;
    char *end = nullptr;
    long v = strtol(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || v < lo || v > hi)
      die("bad --" + k + ": " + it->second);
    return v;
  }
  [[noreturn]] void die(const std::string &why) const
  {
    fprintf(stderr, "%s\nusage: %s\n", why.c_str(), usage_);
    exit(2);
  }

private:
  const char *usage_;
  std::map<std::string, std::string> kv_;
};

/* A FIX decimal: digits, at most one point, at least one digit. */
inline bool is_decimal(const std::string &s)
{
  size_t digits = 0, points = 0;
  for (char c : s) {
    if (c >= '0' && c <= '9')
      digits++;
    else if (c == '.')
      points++;
    else
      return false;
  }
  return digits > 0 && points <= 1;
}

/* UTCTimestamp of now, "YYYYMMDD-HH:MM:SS.sss". */
inline std::string utc_now()
{
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char buf[32];
  size_t n = strftime(buf, sizeof buf, "%Y%m%d-%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%03u", (unsigned)(tv.tv_usec / 1000) % 1000u);
  return buf;
}

/* LocalMktDate "YYYYMMDD" of today (UTC) plus @weekdays days Monday to Friday. */
inline std::string utc_date_plus_weekdays(int weekdays)
{
  time_t t = time(nullptr);
  struct tm tm;
  gmtime_r(&t, &tm);
  while (weekdays > 0) {
    t += 86400;
    gmtime_r(&t, &tm);
    if (tm.tm_wday != 0 && tm.tm_wday != 6)
      weekdays--;
  }
  char buf[16];
  strftime(buf, sizeof buf, "%Y%m%d", &tm);
  return buf;
}

/*
 * The session settings both peers share: FIX 4.4 validated by the data
 * dictionary at @dict (unknown fields and out-of-order fields rejected),
 * SendingTime checked within 120 s, sequence numbers kept across logouts
 * and disconnects, and a weekly session (Monday 00:00 to Sunday 23:59:59
 * UTC) so that no daily reset falls inside a test.
 */
inline std::string session_defaults(const std::string &dict)
{
  return "BeginString=FIX.4.4\n"
         "UseDataDictionary=Y\n"
         "DataDictionary=" +
         dict +
         "\n"
         "ValidateUserDefinedFields=Y\n"
         "AllowUnknownMsgFields=N\n"
         "ValidateFieldsOutOfOrder=Y\n"
         "ValidateFieldsHaveValues=Y\n"
         "ValidateLengthAndChecksum=Y\n"
         "CheckLatency=Y\n"
         "MaxLatency=120\n"
         "ResetOnLogout=N\n"
         "ResetOnDisconnect=N\n"
         "PersistMessages=Y\n"
         "StartDay=Mon\n"
         "StartTime=00:00:00\n"
         "EndDay=Sun\n"
         "EndTime=23:59:59\n"
         "TimestampPrecision=3\n"
         "SocketNodelay=Y\n";
}

} // namespace qf

#endif
