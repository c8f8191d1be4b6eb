#include "harness/report/analyze.hpp"

#include "base/build_info.hpp"
#include "base/files.hpp"
#include "base/json_file.hpp"
#include "harness/report/workload.hpp"
#include "sender/send_record_json.hpp"

#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace harness::report {

Analysis::Analysis(AnalyzeOptions options, AnalyzeInputs inputs)
    : opt_(options), in_(std::move(inputs)),
      window_(options.reorder_window_ns, options.reorder_max_records),
      builder_(options.max_frame_rows) {
  CorrelatorOptions co;
  if (in_.sender) {
    co.sender_pid = static_cast<std::uint32_t>(in_.sender->pid);
    co.ring_frames = in_.sender->ring.frames;
    sender_frame_records_ = in_.sender->frames.size();
    if (!in_.source) {
      // The join consumes the records; the report keeps only the sender's totals and identity.
      in_.source =
          std::make_unique<VectorSenderSource>(std::move(in_.sender->frames), in_.sender->sockets);
      in_.sender->frames.clear();
    }
  } else if (in_.workload) {
    co.sender_pid = in_.workload->pid;
  }
  co.losses = &losses_;
  correlator_ = std::make_unique<Correlator>(co, in_.source.get(),
                                             [this](const FrameTimeline& tl) { builder_.add(tl); });
}

void Analysis::feed_line(std::string_view line) {
  const TraceRecord* r = parser_.feed(line);
  if (!r)
    return;
  switch (r->kind) {
  case RecordKind::event:
    window_.push(*r, [this](const TraceRecord& x) { correlator_->on_event(x); });
    break;
  case RecordKind::end:
    window_.flush([this](const TraceRecord& x) { correlator_->on_event(x); });
    break;
  case RecordKind::ready:
  case RecordKind::hits:
  case RecordKind::lost: // read by the first pass (set_losses)
    break;               // kept in the parser's stats
  }
}

void Analysis::set_losses(LossMap losses) {
  losses_ = std::move(losses);
}

void Analysis::feed_truncated_tail(std::string_view tail) {
  parser_.note_truncated_tail(tail);
}

Report Analysis::finish() {
  window_.flush([this](const TraceRecord& x) { correlator_->on_event(x); });
  correlator_->finish();
  BuildInputs b;
  b.parse = &parser_.stats();
  b.anchors = &parser_.anchors();
  b.kernel = &correlator_->stats();
  b.losses = &losses_;
  b.reordered = window_.reordered();
  b.late = window_.late();
  b.plan = in_.plan ? &*in_.plan : nullptr;
  b.sender = in_.sender ? &*in_.sender : nullptr;
  b.sender_frame_records = sender_frame_records_;
  if (in_.sender && in_.source && sender_frame_records_ == 0)
    b.sender_frame_records = in_.sender->totals.queued; // frames generated on the fly
  b.tpacket = opt_.tpacket;
  b.partial = in_.partial;
  b.partial_reason = in_.partial_reason;
  b.harness_version = std::string(build_info::version);
  Report r = builder_.finish(b);
  if (in_.workload)
    attach_workload(r, std::move(*in_.workload));
  return r;
}

namespace {

// Calls `line` for each line of `text` and `tail` for an unterminated last one.
template <class Line, class Tail>
void split_lines(std::string_view text, Line&& line, Tail&& tail) {
  while (!text.empty()) {
    const auto nl = text.find('\n');
    if (nl == std::string_view::npos) {
      tail(text);
      return;
    }
    line(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
}

// Reads fd in large chunks (memory independent of its size) and calls `line` for each line and
// `tail` for an unterminated last one. Errors: errno.
template <class Line, class Tail> int read_lines(int fd, Line&& line, Tail&& tail) {
  constexpr std::size_t kChunk = 1 << 20;
  constexpr std::size_t kMaxLine = 1 << 16; // a longer "line" is garbage; cut it
  std::vector<char> buf(kChunk + kMaxLine);
  std::size_t have = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data() + have, buf.size() - have);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno;
    if (n == 0)
      break;
    have += static_cast<std::size_t>(n);
    std::size_t start = 0;
    for (;;) {
      const void* nl = std::memchr(buf.data() + start, '\n', have - start);
      if (!nl)
        break;
      const auto end = static_cast<std::size_t>(static_cast<const char*>(nl) - buf.data());
      line(std::string_view(buf.data() + start, end - start));
      start = end + 1;
    }
    if (start == 0 && have == buf.size()) {
      line(std::string_view(buf.data(), have)); // counted as malformed/other
      have = 0;
      continue;
    }
    std::memmove(buf.data(), buf.data() + start, have - start);
    have -= start;
  }
  if (have > 0)
    tail(std::string_view(buf.data(), have));
  return 0;
}

// The first pass (loss.hpp): what the trace says it lost, before any record is correlated.
class LossPass {
public:
  void line(std::string_view l) {
    if (const TraceRecord* r = parser_.feed(l))
      scan_.feed(*r);
  }
  LossMap finish() { return scan_.finish(parser_.stats()); }

private:
  TraceParser parser_;
  LossScan scan_;
};

} // namespace

void feed_trace_text(std::string_view text, Analysis& analysis) {
  LossPass pass;
  split_lines(
      text, [&](std::string_view l) { pass.line(l); }, [](std::string_view) {});
  analysis.set_losses(pass.finish());
  split_lines(
      text, [&](std::string_view l) { analysis.feed_line(l); },
      [&](std::string_view t) { analysis.feed_truncated_tail(t); });
}

namespace {

// `--trace -`: standard input, spooled into an unnamed temporary file because the trace is read
// twice (losses first). The file has no name, so nothing is left behind.
Result<int> spool_stdin() {
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = tmp && *tmp ? tmp : "/tmp";
  const int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    return fail(Exit::io, "--trace -",
                "cannot make a temporary file in " + dir + ": " + errno_text(errno),
                "set TMPDIR to a writable directory, or give the trace as a file");
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n == 0)
      break;
    if (n < 0 && errno == EINTR)
      continue;
    bool ok = n > 0;
    for (ssize_t done = 0; ok && done < n;) {
      const ssize_t w = ::write(fd, buf + done, static_cast<std::size_t>(n - done));
      ok = w > 0 || (w < 0 && errno == EINTR);
      done += w > 0 ? w : 0;
    }
    if (!ok) {
      const int e = errno;
      ::close(fd);
      return fail(Exit::io, "--trace -", "standard input: " + errno_text(e));
    }
  }
  if (::lseek(fd, 0, SEEK_SET) < 0) {
    const int e = errno;
    ::close(fd);
    return fail(Exit::io, "--trace -", errno_text(e));
  }
  return fd;
}

} // namespace

Status feed_trace_file(const std::string& path, Analysis& analysis) {
  auto opened = path == "-" ? spool_stdin() : open_regular_file(path);
  if (!opened)
    return fail(opened.error().code, "trace " + path, opened.error().why,
                "give the raw probe output saved by `harness run` (trace.txt)");
  const int fd = *opened;
  LossPass pass;
  int err = read_lines(
      fd, [&](std::string_view l) { pass.line(l); }, [](std::string_view) {});
  if (err == 0 && ::lseek(fd, 0, SEEK_SET) < 0)
    err = errno;
  if (err == 0) {
    analysis.set_losses(pass.finish());
    err = read_lines(
        fd, [&](std::string_view l) { analysis.feed_line(l); },
        [&](std::string_view t) { analysis.feed_truncated_tail(t); });
  }
  ::close(fd);
  if (err != 0)
    return fail(Exit::io, "trace " + path, errno_text(err));
  return {};
}

Result<sender::SenderRecord> load_sender_records(const std::string& path) {
  auto j = load_json_document(path, sender::sender_record_keys(),
                              {"sender records",
                               "give the file written by `harness send --records FILE` or "
                               "`harness run` (sender.json)",
                               "the file must hold harness.sender/1 JSON"});
  if (!j)
    return std::unexpected(j.error());
  auto r = sender::sender_record_from_json(*j);
  if (!r)
    return fail(Exit::usage, "sender records " + path, r.error().what + ": " + r.error().why,
                r.error().hint.empty() ? "the file must hold harness.sender/1 JSON"
                                       : r.error().hint);
  return r;
}

} // namespace harness::report
