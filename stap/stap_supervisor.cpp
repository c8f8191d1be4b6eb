#include "stap/stap_supervisor.hpp"

#include "base/signals.hpp"
#include "probes/anchors.hpp"
#include "probes/trace_format.hpp"

#include <algorithm>
#include <cerrno>

namespace harness::stap {
namespace {

constexpr std::size_t kKeep = 256 * 1024; // of stap's messages, at each end

std::FILE* open_out(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "we");
  if (f)
    std::setvbuf(f, nullptr, _IOFBF, 1 << 20);
  return f;
}

} // namespace

StapSupervisor::StapSupervisor(SupervisorConfig cfg) : cfg_(std::move(cfg)) {}

StapSupervisor::~StapSupervisor() {
  if (child_ && !stopped_)
    stop(std::chrono::milliseconds(1000));
  flush_files();
  if (trace_)
    std::fclose(trace_);
  if (log_)
    std::fclose(log_);
}

Result<std::unique_ptr<StapSupervisor>> StapSupervisor::start(SupervisorConfig cfg) {
  std::unique_ptr<StapSupervisor> s(new StapSupervisor(std::move(cfg)));
  s->trace_ = open_out(s->cfg_.trace_path);
  if (!s->trace_)
    return fail(Exit::io, s->cfg_.trace_path, errno_text(errno), "check the run directory");
  s->log_ = open_out(s->cfg_.log_path);
  if (!s->log_)
    return fail(Exit::io, s->cfg_.log_path, errno_text(errno), "check the run directory");
  std::fprintf(s->log_, "# harness: %s\n", describe_command(s->cfg_.spec).c_str());
  ChildSpec spec = s->cfg_.spec;
  StapSupervisor* self = s.get();
  spec.on_stdout = [self](std::string_view l) {
    self->on_stdout(l);
  };
  spec.on_stderr = [self](std::string_view l) {
    self->on_stderr(l);
  };
  auto launcher = s->cfg_.launcher ? s->cfg_.launcher : Launcher(&harness::spawn);
  auto child = launcher(spec);
  if (!child) {
    Error e = child.error();
    e.code = Exit::tool_missing;
    return std::unexpected(e);
  }
  s->child_ = std::move(*child);
  s->last_output_ = Clock::now();
  return s;
}

void StapSupervisor::remember(std::string_view line) {
  if (head_.size() < kKeep) {
    head_.append(line);
    head_.push_back('\n');
    return;
  }
  tail_.append(line);
  tail_.push_back('\n');
  if (tail_.size() > 2 * kKeep)
    tail_.erase(0, tail_.size() - kKeep);
}

void StapSupervisor::on_stdout(std::string_view line) {
  last_output_ = Clock::now();
  if (trace_) {
    std::fwrite(line.data(), 1, line.size(), trace_);
    std::fputc('\n', trace_);
  }
  namespace tr = probes::trace;
  const auto head = tr::record_head(line);
  if (!head) {
    // stap's own output on stdout (warnings from the runtime, printf of a broken script).
    if (log_)
      std::fprintf(log_, "[stdout] %.*s\n", static_cast<int>(line.size()), line.data());
    remember(line);
    note_stap_losses(line, losses_);
    return;
  }
  ++records_;
  if (head->kind == tr::kind::event) {
    numbered_ = numbered_ || head->numbered;
    for (std::size_t i = 0; i < probes::completion_anchors.size(); ++i)
      completions_[i] += head->anchor == probes::completion_anchors[i];
  } else if (head->kind == tr::kind::ready && !ready_) {
    ready_ = true;
    if (trace_)
      std::fflush(trace_);
  } else if (head->kind == tr::kind::end) {
    end_seen_ = true;
  }
}

void StapSupervisor::on_stderr(std::string_view line) {
  last_output_ = Clock::now();
  if (log_) {
    std::fwrite(line.data(), 1, line.size(), log_);
    std::fputc('\n', log_);
  }
  remember(line);
  stap::note_stap_losses(line, losses_);
  if (cfg_.on_progress)
    if (auto p = stap::parse_stap_progress(line))
      cfg_.on_progress(*p);
}

std::uint64_t StapSupervisor::completions() const {
  return std::max(completions_[0], completions_[1]);
}

void StapSupervisor::flush_files() {
  if (trace_)
    std::fflush(trace_);
  if (log_)
    std::fflush(log_);
}

Status StapSupervisor::wait_ready(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!ready_) {
    if (interrupt_requested())
      return fail(Exit::interrupted, "waiting for stap",
                  "interrupted by signal " + std::to_string(interrupt_signal()));
    const auto now = Clock::now();
    if (now >= deadline) {
      flush_files();
      return fail(
          Exit::tracer_timeout, "stap",
          "no READY record within " +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
              " s (still compiling, or hung); full output in " + cfg_.log_path,
          "a cold compile can take minutes: raise --ready-timeout, or check the log");
    }
    if (auto st = pump(std::min<std::chrono::milliseconds>(
            std::chrono::milliseconds(100),
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now)));
        st && !ready_) {
      flush_files();
      return std::unexpected(failure(*st, "before it was ready"));
    }
  }
  return {};
}

std::optional<ExitStatus> StapSupervisor::pump(std::chrono::milliseconds slice) {
  if (stopped_)
    return stopped_;
  auto st = child_->wait(slice);
  if (st) {
    stopped_ = st;
    write_losses();
    flush_files();
  }
  return st;
}

ExitStatus StapSupervisor::stop(std::chrono::milliseconds grace) {
  if (!stopped_)
    stopped_ = child_->terminate(grace);
  write_losses();
  flush_files();
  return *stopped_;
}

// After stap exited: what it said it did not deliver, as LOST records at the end of the trace
// (probes/trace_format.hpp). Skipped probes never ran, so no record number shows them; refused
// messages are placed by the gaps in `sq` when the script numbers its records and its end
// summary (HITS, END) arrived, else only counted.
void StapSupervisor::write_losses() {
  if (losses_written_ || !trace_)
    return;
  losses_written_ = true;
  namespace tf = probes::trace;
  if (losses_.skipped_probes > 0)
    std::fputs(tf::lost_record(std::nullopt, std::nullopt, std::nullopt, losses_.skipped_probes,
                               tf::lost_cause::skipped)
                   .c_str(),
               trace_);
  if (losses_.transport_failures > 0 && (!numbered_ || !end_seen_))
    std::fputs(tf::lost_record(std::nullopt, std::nullopt, std::nullopt, losses_.transport_failures,
                               tf::lost_cause::transport)
                   .c_str(),
               trace_);
}

Error StapSupervisor::failure(const ExitStatus& st, const std::string& while_doing) const {
  const std::string text = head_ + tail_;
  const std::string exe = cfg_.spec.exe;
  if (auto d = stap::diagnose_stap_output(text))
    return Error{d->code, exe + " " + while_doing,
                 d->cause + " (stap said: \"" + d->evidence + "\"); full output in " +
                     cfg_.log_path,
                 d->hint};
  std::string last;
  for (auto pos = text.size(); pos > 0;) {
    const auto b = text.rfind('\n', pos - 1);
    const auto start = b == std::string::npos ? 0 : b + 1;
    if (start < pos && text.find_first_not_of(" \t", start) < pos) {
      last = text.substr(start, std::min<std::size_t>(pos - start, 200));
      break;
    }
    if (b == std::string::npos)
      break;
    pos = b;
  }
  return Error{Exit::tracer_failed, exe + " " + while_doing,
               "it stopped (" + st.describe() + ")" +
                   (last.empty() ? std::string() : ", last words: \"" + last + "\"") +
                   "; full output in " + cfg_.log_path,
               "read the log; `harness doctor` checks what stap needs"};
}

} // namespace harness::stap
