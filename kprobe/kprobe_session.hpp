#pragma once

// The kprobe tracer at run time (docs/DESIGN.md "kprobe tracer"): installs the definitions under
// the group harness_<pid>, enables them only in the private instance harness_<pid> with the
// `mono` clock, writes the READY record, moves trace_pipe lines into the run's trace file as
// harness records while the sender works, and on stop disables, drains, writes HITS and END and
// removes the instance and the events (also from the destructor, so an error path or SIGINT
// leaves nothing behind). What a SIGKILLed run left is removed by the next run (remove_stale).

#include "kprobe/definitions.hpp"
#include "kprobe/trace_lines.hpp"
#include "kprobe/tracefs.hpp"
#include "probes/probe_plan.hpp"
#include "tracer/tracer_session.hpp"

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

namespace harness::kprobe {

struct KprobeSessionConfig {
  KprobeDefs defs;
  probes::ProbePlan plan;
  std::string trace_path;       // harness records, as stap's stdout would be
  std::string raw_path;         // the tracefs lines as read (kept for diagnosis and fixtures)
  std::string log_path;         // what was installed, removed, lost
  std::string running_build_id; // the target kernel's; must equal defs.build_id when both known
  std::string tracefs_root;     // empty: Tracefs::open()
  unsigned buffer_kb = 4096;    // per CPU, of the private instance
  // The names (comm) of the tasks whose sleeps inside tpacket_snd are sched.sleep records: the
  // workload's (its program, or a --pid's threads); empty: this process's own (the sender).
  std::vector<std::string> sleep_comms;
  std::function<void(const std::string&)> on_progress;
};

class KprobeSession : public tracer::TracerSession {
public:
  static Result<std::unique_ptr<KprobeSession>> start(KprobeSessionConfig cfg);
  KprobeSession(const KprobeSession&) = delete;
  KprobeSession& operator=(const KprobeSession&) = delete;
  ~KprobeSession() override;

  Status wait_ready(std::chrono::milliseconds timeout) override;
  std::optional<ExitStatus> pump(std::chrono::milliseconds slice) override;
  ExitStatus stop(std::chrono::milliseconds grace) override;
  Error failure(const ExitStatus& st, const std::string& while_doing) const override;
  bool ended() const override { return ended_; }
  std::uint64_t completions() const override;
  Clock::time_point last_output() const override { return last_output_; }

  const std::string& group() const { return group_; }
  std::uint64_t lost_events() const { return lost_; }

private:
  KprobeSession(KprobeSessionConfig cfg, Tracefs fs);
  Status install();
  void drain();
  void account_losses();
  void widen_sleep_filter();
  void remove_all();
  void log(const std::string& line);
  std::uint32_t tgid_of(std::uint32_t tid);

  KprobeSessionConfig cfg_;
  Tracefs fs_;
  std::string group_, instance_;
  std::vector<std::string> installed_; // event names in kprobe_events
  bool instance_made_ = false;
  int pipe_fd_ = -1;
  std::FILE* trace_ = nullptr;
  std::FILE* raw_ = nullptr;
  std::FILE* log_ = nullptr;
  std::unique_ptr<LineTranslator> translator_;
  std::string partial_; // an incomplete last line from the pipe
  std::string out_;     // translated records waiting to be written
  std::unordered_map<std::uint32_t, std::uint32_t> tgids_;
  // sched.sleep's sched_switch filter: the names it lets through, the translator's sender
  // names already looked at, and the thread that reads (never let through).
  std::vector<std::string> sleep_comms_;
  std::size_t sender_comms_checked_ = 0;
  std::uint32_t reader_tid_ = 0;
  bool ended_ = false;
  std::optional<ExitStatus> stopped_;
  std::uint64_t lost_ = 0;
  Clock::time_point last_output_{};
};

} // namespace harness::kprobe
