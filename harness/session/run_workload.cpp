// The run's live steps: the tracer's READY awaited, the workload (the built-in sender, --exec's
// program, --pid's) run while the tracer's output is drained, the kernel given time to finish,
// the tracer stopped.
#include "harness/session/run_steps.hpp"
#include "sender/sender.hpp"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <thread>

namespace harness::session {

using namespace std::chrono_literals;

// False when the tracer never got ready: it is stopped and the run ends there.
bool Session::wait_ready() {
  say("waiting for " + tracer_name_ + " to get ready (timeout " + seconds(req_.ready_timeout) +
      ")");
  const auto t_start = Clock::now();
  if (auto ready = session_->wait_ready(req_.ready_timeout); !ready) {
    watch();
    if (ready.error().code != Exit::interrupted) {
      failure_ = ready.error();
      partial_reason_ = tracer_name_ + " never became ready: " + ready.error().why;
    }
    say("stopping " + tracer_name_);
    session_->stop(req_.stop_grace);
    return false;
  }
  say(tracer_name_ + " ready after " +
      seconds(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t_start)) +
      (req_.attach_pid     ? "; attached"
       : req_.exec.empty() ? "; sending"
                           : "; starting the workload"));
  return true;
}

void Session::run_workload() {
  if (req_.attach_pid)
    attach_program();
  else if (req_.exec.empty())
    send_builtin();
  else
    run_program();
}

// --pid: the probes watch a program harness did not start, until it ends, --duration passes or
// Ctrl-C, which is the normal end here (a SIGTERM still interrupts the run).
void Session::attach_program() {
  auto p = describe_process(req_.attach_pid);
  if (!p) {
    failure_ = p.error();
    partial_reason_ = "the program to attach to is gone: " + p.error().why;
    return;
  }
  attached_ = std::move(*p);
  const std::string who = "pid " + std::to_string(attached_->pid);
  say("attached to " + who + " (" + attached_->argv.front() + ") until Ctrl-C" +
      (req_.duration ? ", --duration " + seconds(*req_.duration) : "") + " or its end");
  const auto t0 = Clock::now();
  for (;;) {
    if (interrupt_signal() == SIGINT) {
      clear_interrupt();
      say("Ctrl-C: detaching from " + who);
      break;
    }
    if (interrupt_requested() || tracer_died_ || duration_over(t0))
      break;
    if (!process_alive(attached_->pid)) {
      attached_->exited = true;
      say(who + " ended");
      break;
    }
    pump_tracer(who);
  }
}

// One slice of moving the tracer's output while the workload runs; notes a tracer that died.
void Session::pump_tracer(const std::string& what_continues) {
  watch();
  auto st = session_->pump(50ms);
  if (pacer_)
    pacer_->note(session_->completions(), session_->last_output());
  if (st && !tracer_died_) {
    tracer_died_ = st;
    say(tracer_name_ + " exited during the run (" + st->describe() + "); letting " +
        what_continues + " finish");
  }
}

// --exec: the program runs as a child of this thread, which alternates between its output and
// the tracer's. It is stopped only on an interrupt; a tracer that dies lets it finish.
void Session::run_program() {
  ExecRequest er;
  er.argv = req_.exec;
  er.iface = req_.sender.iface;
  er.veth = req_.sender.veth;
  er.netns_path = req_.sender.netns_path;
  er.dir = dir_;
  auto w = ExecWorkload::start(er);
  if (!w) {
    failure_ = w.error();
    partial_reason_ = "the workload could not start: " + w.error().why;
    return;
  }
  program_ = std::move(*w);
  const auto info = program_->info();
  std::string cmd;
  for (const auto& a : info.argv)
    cmd += (cmd.empty() ? "" : " ") + a;
  say("running " + cmd + " (pid " + std::to_string(info.pid) +
      (info.iface.empty() ? "" : ", interface " + info.iface) +
      (info.netns.empty() ? "" : ", network namespace " + info.netns) + ")");
  const auto t0 = Clock::now();
  while (!program_->poll(10ms)) {
    if (interrupt_requested()) {
      program_->stop(req_.stop_grace);
      break;
    }
    if (duration_over(t0)) {
      say("--duration " + seconds(*req_.duration) + " is over: stopping the workload");
      program_->stop(req_.stop_grace);
      break;
    }
    pump_tracer("the workload");
    if (tracer_died_)
      std::this_thread::sleep_for(20ms);
  }
}

// The sender runs in its own thread while this one keeps draining the tracer's output: a full
// pipe or ring buffer would drop records.
void Session::send_builtin() {
  std::optional<Result<sender::SenderRecord>> send_result;
  std::atomic<bool> send_done{false};
  sender::SenderConfig config = req_.sender;
  // Fault injection for the tests of lost records (docs/DESIGN.md "Lost records"): the tracer's
  // output is not read while the sender runs, as a reader starved of CPU would not read it.
  const char* stall_env = std::getenv("HARNESS_FAULT_STALL_TRACER");
  const bool stall = stall_env && std::string(stall_env) == "1";
  if (stall)
    say("fault injection (HARNESS_FAULT_STALL_TRACER=1): " + tracer_name_ +
        "'s output is not read until the sender is done");
  if (req_.pace && !stall) {
    // At most nine tenths of what the buffer holds ahead of the records delivered; a buffer that
    // holds the whole run never makes the sender wait; a tracer quiet for 250 ms has nothing
    // left to deliver (trace_buffer.hpp).
    const std::uint64_t held = buffer_.frames_held;
    const bool holds_run =
        req_.sender.count > 0 && held >= static_cast<std::uint64_t>(req_.sender.count);
    pacer_ = std::make_unique<Pacer>(
        holds_run ? UINT64_MAX : std::max<std::uint64_t>(held - held / 10, 1), 250ms);
    pacer_->note(session_->completions(), session_->last_output());
    config.before_send = [p = pacer_.get()](std::uint64_t queued) {
      p->wait(queued);
    };
  }
  std::thread sender_thread([&] {
    send_result = sender::send_frames(config);
    send_done = true;
  });
  while (!send_done) {
    if (stall) {
      std::this_thread::sleep_for(20ms);
      continue;
    }
    pump_tracer("the sender");
    // After the tracer died or an interrupt, wait() returns at once: do not spin while the
    // sender winds down (it sees the interrupt itself; its waits are bounded).
    if (tracer_died_ || interrupt_requested())
      std::this_thread::sleep_for(20ms);
  }
  sender_thread.join();
  if (pacer_ && pacer_->waits() > 0)
    say("paced: the sender waited " + std::to_string(pacer_->waits()) + " time(s), " +
        std::to_string(pacer_->waited().count()) + " ms in all, for " + tracer_name_ +
        " to catch up");
  if (*send_result) {
    sent_ = std::move(**send_result);
  } else {
    failure_ = send_result->error();
    partial_reason_ = "the sender failed: " + send_result->error().why;
  }
}

// Gives the kernel's last records time to arrive: the destructor of the last frames runs after
// the sender's send() returned; stap flushes its buffers periodically.
void Session::settle() {
  if ((!sent_ && !program_ && !attached_) || tracer_died_ || interrupt_requested())
    return;
  step_ = Step::settling;
  if (sent_)
    say("sender done: " + std::to_string(sent_->totals.sent) + " of " +
        std::to_string(sent_->totals.requested) +
        " frames sent; waiting for the last probe records");
  else
    say("workload: " + report::workload_end_text(program_ ? program_->info() : *attached_) +
        "; waiting for the last probe records");
  // A program's frame count is not known: its last records are in once the tracer is quiet.
  const std::uint64_t want = sent_ ? sent_->totals.queued : 0;
  const auto deadline = Clock::now() + req_.settle_timeout;
  while (!interrupt_requested() && Clock::now() < deadline) {
    watch();
    if (auto st = session_->pump(50ms)) {
      tracer_died_ = st;
      break;
    }
    const auto quiet = Clock::now() - session_->last_output();
    if ((want > 0 && session_->completions() >= want && quiet >= 200ms) || quiet >= 1000ms)
      break;
  }
}

void Session::stop_tracer() {
  tracer::TracerSession& sup = *session_;
  if (!tracer_died_) {
    say("stopping " + tracer_name_ + " (" + std::string(tracer_->stop_text()) + ")");
    const ExitStatus st = sup.stop(req_.stop_grace);
    if (!sup.ended() && partial_reason_.empty())
      partial_reason_ = tracer_name_ + " stopped (" + st.describe() + ") before its end probe ran";
    return;
  }
  sup.stop(req_.stop_grace);
  failure_ = sup.failure(*tracer_died_, "during the run");
  failure_->why += "; partial report in " + dir_;
  partial_reason_ = tracer_name_ + " exited during the run (" + tracer_died_->describe() + ")";
}

} // namespace harness::session
