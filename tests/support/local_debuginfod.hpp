#pragma once

// A real debuginfod (elfutils) on 127.0.0.1 for tests: started on a free port with its own
// database, indexing one directory (-F), stopped (and reaped) at scope exit. Shared by
// kernel_source_test and the VM end-to-end test.

#include "base/child_proc.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace harness::testing {

class LocalDebuginfod {
public:
  // Starts the server and waits until it has indexed `dir` (at most `timeout`). Empty
  // error(): ready.
  LocalDebuginfod(const std::string& dir, const std::string& db,
                  std::chrono::seconds timeout = std::chrono::seconds(300)) {
    using namespace std::chrono_literals;
    port_ = free_port();
    if (port_ == 0) {
      error_ = "no free port on 127.0.0.1";
      return;
    }
    ChildSpec spec{.exe = "debuginfod", .args = {"-p", std::to_string(port_), "-d", db, "-F", dir}};
    spec.on_stderr = [this](std::string_view l) {
      log_ += std::string(l) + "\n";
    };
    spec.on_stdout = spec.on_stderr;
    auto child = spawn(spec);
    if (!child) {
      error_ = child.error().why;
      return;
    }
    child_ = std::move(*child);
    const auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - t0 < timeout) {
      if (child_->wait(200ms)) {
        error_ = "debuginfod exited:\n" + log_;
        return;
      }
      if (indexed(metrics())) {
        index_seconds_ =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return;
      }
    }
    error_ = "debuginfod did not finish indexing " + dir + ":\n" + log_;
  }
  ~LocalDebuginfod() { stop(); }
  LocalDebuginfod(const LocalDebuginfod&) = delete;
  LocalDebuginfod& operator=(const LocalDebuginfod&) = delete;

  void stop() {
    if (child_)
      child_->terminate(std::chrono::seconds(3));
    child_.reset();
  }
  const std::string& error() const { return error_; }
  const std::string& log() const { return log_; }
  double index_seconds() const { return index_seconds_; }
  std::string urls() const { return "http://127.0.0.1:" + std::to_string(port_); }

private:
  // The kernel's pick of a free port (a race with another program only makes the server fail
  // to start, which the test reports).
  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
    ::close(fd);
    return port;
  }

  // GET /metrics (plain HTTP/1.0); empty when the server does not answer yet.
  std::string metrics() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      const std::string req = "GET /metrics HTTP/1.0\r\n\r\n";
      if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
        char buf[4096];
        for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
          out.append(buf, static_cast<std::size_t>(n));
      }
    }
    ::close(fd);
    return out;
  }

  // The value of one metric line ("NAME VALUE"), -1 when absent.
  static long long metric(const std::string& m, const std::string& name) {
    const auto at = m.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::atoll(m.c_str() + at + name.size() + 2);
  }

  // Done when a traversal finished and no file waits to be, or is being, scanned.
  static bool indexed(const std::string& m) {
    return metric(m, "thread_work_total{role=\"traverse\"}") > 0 &&
           metric(m, "thread_busy{role=\"traverse\"}") <= 0 &&
           metric(m, "thread_work_pending{role=\"scan\"}") == 0 &&
           metric(m, "thread_busy{role=\"scan\"}") <= 0;
  }

  int port_ = 0;
  std::unique_ptr<ChildProc> child_;
  std::string log_, error_;
  double index_seconds_ = 0;
};

} // namespace harness::testing
