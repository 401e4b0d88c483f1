/*
 * fixclient: a raw FIX 4.4 peer for the session tests.  It speaks bytes
 * over TCP on 127.0.0.1 and knows nothing of sessions: the test writes
 * every message in pipe notation ('|' stands for SOH) and checks every
 * byte that comes back, so the engine under test is judged by the wire
 * alone.
 *
 * Sending.  fc_send() takes the message from 35= on ("35=1|34=2|112=T|")
 * and adds 8=FIX.4.4, 9=BodyLength and 10=CheckSum; when the connection
 * has CompIDs (fc_set_comp_ids) it also adds 49, 56 and 52=<now> where
 * the text has none.  fc_send_raw() sends exactly the text given (for a
 * wrong BeginString, BodyLength or CheckSum), with these placeholders:
 *   <now>  <now-200s>  <now+5s>  <now-1500ms>   a UTCTimestamp with ms
 *   <len>  <len+N>  <len-N>    the BodyLength of the frame (+- N)
 *   <sum>  <badsum>            its CheckSum, or a wrong one
 * (time placeholders work in fc_send() too).
 *
 * Receiving.  fc_recv() frames what arrives with the codec's fix_stream
 * and returns one message at a time; a garbled frame from the engine
 * fails the test.  fc_expect() receives the next message and checks the
 * listed tags' exact values ("35=0|112=T1|"); a value may also be
 * <any> (present), <absent> or <now> (a UTCTimestamp within 10 s of
 * now).  Every message sent and received is kept in a transcript that is
 * printed, with the offending message, when a check fails.
 *
 * Connections are tracked: fc_close_all() in a teardown closes what a
 * failed test left open.  With BACKSTOCK_TEST_FIX_TRACE set in the
 * environment, every transcript is printed when its connection closes.
 */
#ifndef BACKSTOCK_FIXCLIENT_H
#define BACKSTOCK_FIXCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fix/fix.h"

struct fc_conn;

/* What fc_recv() found. */
enum fc_got {
  FC_EOF = -1,    /* the peer closed the connection (or reset it) */
  FC_TIMEOUT = 0, /* nothing within the time given */
  FC_MSG = 1,     /* a message */
};

/**
 * fc_connect() - connect to 127.0.0.1:@port (fails the test on error).
 * @name: a label for the transcript ("C01").  Free with fc_close().
 */
struct fc_conn *fc_connect(uint16_t port, const char *name);

/**
 * fc_listen() - a listening socket on 127.0.0.1:*@port (0: any free
 * port; *@port receives the bound one).  Returns the descriptor (close()
 * it); fails the test on error.
 */
int fc_listen(uint16_t *port);

/**
 * fc_accept() - accept one connection on @lfd within @ms.
 * Returns the connection (free with fc_close()) or NULL on timeout.
 */
struct fc_conn *fc_accept(int lfd, unsigned ms, const char *name);

/** fc_close() - close and free; NULL does nothing. */
void fc_close(struct fc_conn *c);

/** fc_close_all() - close every connection still open (for teardowns). */
void fc_close_all(void);

/** fc_set_comp_ids() - 49 and 56 that fc_send() adds when missing (NULL: none). */
void fc_set_comp_ids(struct fc_conn *c, const char *sender, const char *target);

/** fc_send() - send a message from 35= on; 8, 9, 10 (and 49/56/52) added. */
void fc_send(struct fc_conn *c, const char *pipe);

/** fc_sendf() - fc_send() of a printf-formatted text. */
void fc_sendf(struct fc_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** fc_send_raw() - send exactly @pipe ('|' as SOH, placeholders expanded). */
void fc_send_raw(struct fc_conn *c, const char *pipe);

/** fc_send_rawf() - fc_send_raw() of a printf-formatted text. */
void fc_send_rawf(struct fc_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * fc_recv() - the next message within @ms.
 * @msg: receives it (valid until the next fc_recv/fc_expect on @c); may be NULL.
 * Returns FC_MSG, FC_TIMEOUT or FC_EOF.
 */
enum fc_got fc_recv(struct fc_conn *c, unsigned ms, const struct fix_msg **msg);

/**
 * fc_expect() - receive the next message within @ms and check each
 * "tag=value" of @pipe against the first field with that tag.  Fails the
 * test (printing the message and the transcript) on timeout, EOF or a
 * mismatch.  Returns the message (valid as for fc_recv()).
 */
const struct fix_msg *fc_expect(struct fc_conn *c, unsigned ms, const char *pipe);

/** fc_expectf() - fc_expect() of a printf-formatted text. */
const struct fix_msg *fc_expectf(struct fc_conn *c, unsigned ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** fc_check() - the checks of fc_expect() on the last message received. */
void fc_check(struct fc_conn *c, const char *pipe);

/** fc_expect_absent() - the last message received has none of @tags ("43|122|"). */
void fc_expect_absent(struct fc_conn *c, const char *tags);

/**
 * fc_expect_disconnect() - the peer closes the connection within @ms
 * without sending anything more; fails the test otherwise.
 */
void fc_expect_disconnect(struct fc_conn *c, unsigned ms);

/** fc_expect_nothing() - no message and no disconnect for @ms. */
void fc_expect_nothing(struct fc_conn *c, unsigned ms);

/** fc_get() - value of @tag in the last message received (fails if absent). */
void fc_get(struct fc_conn *c, uint32_t tag, char *buf, size_t size);

/** fc_get_u64() - an unsigned integer value of the last message (fails if not one). */
uint64_t fc_get_u64(struct fc_conn *c, uint32_t tag);

/** fc_last() - the last message received (NULL before any) and its bytes. */
const struct fix_msg *fc_last(struct fc_conn *c);

/** fc_last_ms() - util_mono_ms() when the last message (or EOF) arrived. */
int64_t fc_last_ms(const struct fc_conn *c);

/** fc_pipe() - @len bytes of a frame in pipe notation into @out (truncated). */
void fc_pipe(const char *frame, size_t len, char *out, size_t size);

/** fc_transcript() - print what went both ways on @c to stderr. */
void fc_transcript(const struct fc_conn *c);

/** fc_fail() - print the transcript of @c (may be NULL), then fail the test. */
void fc_fail(const struct fc_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)))
__attribute__((noreturn));

/** fc_timestamp() - @unix_ms as a UTCTimestamp "YYYYMMDD-HH:MM:SS.sss" (@out: 22 bytes). */
void fc_timestamp(int64_t unix_ms, char *out, size_t size);

#endif
