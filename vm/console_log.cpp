#include "vm/console_log.hpp"

#include <charconv>
#include <deque>

namespace harness::vm {
namespace {

// "[    1.234567] text" -> "text"; the kernel prefixes printk lines with a timestamp.
std::string_view strip_timestamp(std::string_view line) {
  if (!line.empty() && line.front() == '[') {
    const auto close = line.find("] ");
    if (close != std::string_view::npos && close < 20)
      return line.substr(close + 2);
  }
  return line;
}

std::string_view trim_cr(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
    line.remove_suffix(1);
  return line;
}

bool starts_with_word(std::string_view line, std::string_view m) {
  return line.starts_with(m) && (line.size() == m.size() || line[m.size()] == ' ');
}

} // namespace

std::string_view to_string(ConsoleVerdict v) {
  switch (v) {
  case ConsoleVerdict::ok:
    return "ok";
  case ConsoleVerdict::panic:
    return "panic";
  case ConsoleVerdict::no_kernel:
    return "no kernel output";
  case ConsoleVerdict::no_init:
    return "init not started";
  case ConsoleVerdict::no_ready:
    return "no ready marker";
  case ConsoleVerdict::unfinished:
    return "unfinished";
  }
  return "?";
}

ConsoleFindings scan_console(std::string_view log, std::size_t tail_lines) {
  ConsoleFindings f;
  std::deque<std::string> tail;
  while (!log.empty()) {
    const auto nl = log.find('\n');
    std::string_view raw = log.substr(0, nl);
    log = nl == std::string_view::npos ? std::string_view{} : log.substr(nl + 1);
    const std::string_view line = trim_cr(raw);
    const std::string_view text = strip_timestamp(line);
    if (!line.empty()) {
      tail.emplace_back(line);
      if (tail.size() > tail_lines)
        tail.pop_front();
    }
    if (text.starts_with("Linux version "))
      f.kernel_started = true;
    else if (text.starts_with("Run ") && text.ends_with(" as init process"))
      f.init_started = true;
    else if (text.starts_with("Kernel panic - not syncing") && !f.done && f.panic_line.empty())
      f.panic_line = std::string(text);
    else if (starts_with_word(text, marker::ready))
      f.ready = true;
    else if (starts_with_word(text, marker::error))
      f.errors.emplace_back(text.substr(std::min(text.size(), marker::error.size() + 1)));
    else if (starts_with_word(text, marker::step)) {
      const std::string_view rest = text.substr(std::min(text.size(), marker::step.size() + 1));
      const auto sp = rest.find(' ');
      if (sp != std::string_view::npos && rest.substr(sp + 1) == "start")
        f.last_step = std::string(rest.substr(0, sp));
    } else if (starts_with_word(text, marker::done)) {
      f.done = true;
      const std::string_view num = text.substr(std::min(text.size(), marker::done.size() + 1));
      int v = 0;
      const auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
      if (ec == std::errc{} && p == num.data() + num.size())
        f.done_result = v;
    }
  }
  // Output of the guest's programs can precede the kernel banner only if the banner is
  // suppressed (loglevel); any later marker implies the earlier stages happened.
  if (f.ready)
    f.kernel_started = f.init_started = true;
  if (f.init_started)
    f.kernel_started = true;
  f.tail.assign(tail.begin(), tail.end());
  if (!f.panic_line.empty())
    f.verdict = ConsoleVerdict::panic;
  else if (f.ready && f.done)
    f.verdict = ConsoleVerdict::ok;
  else if (f.ready)
    f.verdict = ConsoleVerdict::unfinished;
  else if (f.init_started)
    f.verdict = ConsoleVerdict::no_ready;
  else if (f.kernel_started)
    f.verdict = ConsoleVerdict::no_init;
  else
    f.verdict = ConsoleVerdict::no_kernel;
  return f;
}

std::string explain(const ConsoleFindings& f) {
  std::string s;
  switch (f.verdict) {
  case ConsoleVerdict::ok:
    return "the guest finished";
  case ConsoleVerdict::panic:
    s = "the guest kernel panicked: " + f.panic_line;
    if (!f.ready)
      s += " (before the guest init was ready)";
    else if (!f.last_step.empty())
      s += " (during step " + f.last_step + ")";
    return s;
  case ConsoleVerdict::no_kernel:
    return "the guest printed nothing from the kernel (firmware or accelerator hang, or not a "
           "bootable bzImage)";
  case ConsoleVerdict::no_init:
    return "the guest kernel booted but never started the init program (root over 9p not "
           "mounted?)";
  case ConsoleVerdict::no_ready:
    return "the guest init started but never printed its ready marker";
  case ConsoleVerdict::unfinished:
    s = "the guest never finished";
    if (!f.last_step.empty())
      s += " (last step started: " + f.last_step + ")";
    return s;
  }
  return s;
}

} // namespace harness::vm
