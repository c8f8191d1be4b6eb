#include "kernel/debian_kernel.hpp"

#include "base/files.hpp"
#include "base/json_reader.hpp"
#include "base/json_text.hpp"
#include "base/printable.hpp"
#include "kernel/build_id.hpp"

#include <cctype>
#include <filesystem>
#include <unistd.h>

namespace harness::kernel {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::string_view kSchema = "harness.debian-kernel/1";

bool digits(std::string_view s) {
  return !s.empty() && s.size() <= 6 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "6.1.0" (three numbers).
bool upstream_version(std::string_view s) {
  int parts = 0;
  while (true) {
    const auto dot = s.find('.');
    if (!digits(s.substr(0, dot)))
      return false;
    ++parts;
    if (dot == std::string_view::npos)
      return parts == 3;
    s.remove_prefix(dot + 1);
  }
}

std::string image_package(const std::string& release) {
  return "linux-image-" + release + "-unsigned";
}

std::string dbg_package(const std::string& release) {
  return "linux-image-" + release + "-dbg";
}

std::string entry_dir(const DebianKernelRequest& req) {
  return req.cache_dir + "/debian-kernels/" + req.release;
}

// Runs a tool to its end in `cwd`; its stderr becomes the error.
Status run_tool(const std::string& cwd, std::string exe, std::vector<std::string> args,
                std::chrono::milliseconds limit, std::string* out = nullptr) {
  ChildSpec spec{.exe = std::move(exe), .args = std::move(args), .cwd = cwd};
  const std::string what = describe_command(spec);
  auto r = run_captured(spec, limit);
  if (!r)
    return std::unexpected(r.error());
  if (r->timed_out)
    return fail(Exit::io, what,
                "did not finish within " + std::to_string(limit.count() / 60000) + " minutes");
  if (!r->status.success()) {
    std::string err = r->err.size() > 600 ? r->err.substr(r->err.size() - 600) : r->err;
    while (!err.empty() && err.back() == '\n')
      err.pop_back();
    return fail(Exit::io, what, r->status.describe() + (err.empty() ? "" : ": " + err));
  }
  if (out)
    *out = std::move(r->out);
  return {};
}

// dpkg-deb's "Package" and "Version" of a downloaded .deb, checked against the name asked for.
Result<std::string> deb_version(const std::string& dir, const std::string& deb,
                                const std::string& package) {
  std::string out;
  if (auto s = run_tool(dir, "dpkg-deb", {"-f", deb, "Package", "Version"}, 1min, &out); !s)
    return std::unexpected(s.error());
  std::string name, version;
  std::size_t at = 0;
  while (at < out.size()) {
    const auto nl = out.find('\n', at);
    const std::string line = out.substr(at, nl == std::string::npos ? nl : nl - at);
    at = nl == std::string::npos ? out.size() : nl + 1;
    if (line.starts_with("Package: "))
      name = line.substr(9);
    else if (line.starts_with("Version: "))
      version = line.substr(9);
  }
  if (name != package || version.empty())
    return fail(Exit::io, deb,
                "is not the package " + package + " (its control file says '" + name + "' '" +
                    version + "')");
  return version;
}

// The one file of `package`'s downloaded .deb in `dir` (apt-get download names it
// PACKAGE_VERSION_ARCH.deb).
Result<std::string> downloaded_deb(const std::string& dir, const std::string& package) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with(package + "_") && name.ends_with(".deb"))
      return name;
  }
  return fail(Exit::io, "apt-get download " + package, "left no " + package + "_*.deb in " + dir);
}

// The -dbg package's vmlinux alone (its data archive also holds every module's debug file,
// 1.7-4 GB unpacked): `ar` takes the data member out, tar stops at the first match.
Status extract_vmlinux(const std::string& dir, const std::string& deb, const std::string& release) {
  std::string members;
  if (auto s = run_tool(dir, "ar", {"t", deb}, 1min, &members); !s)
    return s;
  std::string data;
  for (std::size_t at = 0; at < members.size();) {
    const auto nl = members.find('\n', at);
    const std::string m = members.substr(at, nl - at);
    at = nl == std::string::npos ? members.size() : nl + 1;
    if (m.starts_with("data.tar"))
      data = m;
  }
  if (data.empty())
    return fail(Exit::io, deb, "has no data.tar member (not a Debian package?)");
  if (auto s = run_tool(dir, "ar", {"x", deb, data}, 5min); !s)
    return s;
  const std::string member = "./usr/lib/debug/boot/vmlinux-" + release;
  if (auto s = run_tool(dir, "tar", {"-xf", data, "--occurrence=1", member}, 20min); !s)
    return s;
  std::error_code ec;
  fs::rename(dir + "/" + member, dir + "/vmlinux-" + release, ec);
  if (ec)
    return fail(Exit::io, deb, "holds no " + member + ": " + ec.message());
  fs::remove_all(dir + "/usr", ec);
  fs::remove(dir + "/" + data, ec);
  return {};
}

DebianKernel layout(const std::string& release, const std::string& dir) {
  DebianKernel k;
  k.release = release;
  k.dir = dir;
  k.image = dir + "/boot/vmlinuz-" + release;
  k.vmlinux = dir + "/vmlinux-" + release;
  k.modules = dir + "/lib/modules/" + release;
  return k;
}

Result<DebianKernel> fetch(const DebianKernelRequest& req, const std::string& tmp) {
  auto say = [&](const std::string& s) {
    if (req.on_progress)
      req.on_progress(s);
  };
  const std::string image_pkg = image_package(req.release), dbg_pkg = dbg_package(req.release);
  say("downloading " + image_pkg + " and " + dbg_pkg + " (apt-get download; about 1 GB)");
  if (auto s = run_tool(tmp, "apt-get", {"download", image_pkg, dbg_pkg}, 30min); !s)
    return fail(Exit::io, "Debian kernel " + req.release, s.error().what + ": " + s.error().why,
                "check the release (`apt-cache search linux-image-` lists them; run `apt-get "
                "update` first) and that the archive is reachable");
  auto image_deb = downloaded_deb(tmp, image_pkg);
  auto dbg_deb = downloaded_deb(tmp, dbg_pkg);
  if (!image_deb || !dbg_deb)
    return std::unexpected(image_deb ? dbg_deb.error() : image_deb.error());
  auto version = deb_version(tmp, *image_deb, image_pkg);
  auto dbg_version = deb_version(tmp, *dbg_deb, dbg_pkg);
  if (!version || !dbg_version)
    return std::unexpected(version ? dbg_version.error() : version.error());
  if (*version != *dbg_version)
    return fail(Exit::io, "Debian kernel " + req.release,
                image_pkg + " is " + *version + " but " + dbg_pkg + " is " + *dbg_version,
                "run `apt-get update`: the two must come from the same build");
  say("unpacking " + *image_deb + " and the vmlinux of " + *dbg_deb);
  if (auto s = run_tool(tmp, "dpkg-deb", {"-x", *image_deb, "."}, 10min); !s)
    return std::unexpected(s.error());
  if (auto s = extract_vmlinux(tmp, *dbg_deb, req.release); !s)
    return std::unexpected(s.error());
  std::error_code ec;
  fs::remove(tmp + "/" + *image_deb, ec);
  fs::remove(tmp + "/" + *dbg_deb, ec);
  DebianKernel k = layout(req.release, tmp);
  k.version = *version;
  auto id = build_id_of_elf(k.vmlinux);
  if (!id)
    return std::unexpected(id.error());
  k.build_id = *id;
  return k;
}

} // namespace

bool valid_debian_release(std::string_view r) {
  if (r.size() > 64)
    return false;
  for (std::string_view flavor : {"-cloud-amd64", "-rt-amd64", "-amd64"}) {
    if (!r.ends_with(flavor))
      continue;
    const std::string_view abi = r.substr(0, r.size() - flavor.size());
    if (const auto plus = abi.find("+deb"); plus != std::string_view::npos)
      return upstream_version(abi.substr(0, plus)) && digits(abi.substr(plus + 4));
    const auto dash = abi.rfind('-');
    return dash != std::string_view::npos && upstream_version(abi.substr(0, dash)) &&
           digits(abi.substr(dash + 1));
  }
  return false;
}

std::optional<std::string> release_from_depends(std::string_view out) {
  constexpr std::string_view prefix = "Depends: linux-image-";
  std::size_t at = 0;
  while ((at = out.find(prefix, at)) != std::string_view::npos) {
    at += prefix.size();
    const auto end = out.find_first_of(" \t\r\n", at);
    const std::string_view release = out.substr(at, end == std::string_view::npos ? end : end - at);
    if (valid_debian_release(release))
      return std::string(release);
  }
  return std::nullopt;
}

std::vector<std::string> stock_kernel_metapackages(std::string_view series) {
  std::vector<std::string> out;
  if (!series.empty())
    out.push_back("linux-image-" + std::string(series) + "-amd64");
  out.push_back("linux-image-amd64");
  return out;
}

Result<std::string> current_debian_release(std::string_view series) {
  const std::string of = series.empty() ? "" : " " + std::string(series);
  std::string failures;
  for (const auto& meta : stock_kernel_metapackages(series)) {
    std::string out;
    if (auto s = run_tool("/", "apt-cache", {"depends", meta}, 1min, &out); !s) {
      failures += (failures.empty() ? "" : "; ") + meta + ": " + s.error().why;
      continue;
    }
    auto release = release_from_depends(out);
    if (release && (series.empty() || debian_kernel_series(*release) == series))
      return *release;
    failures += (failures.empty() ? "" : "; ") + meta + ": " +
                (release ? "depends on " + *release : "names no linux-image-RELEASE");
  }
  return fail(Exit::io, "the current Debian" + of + " kernel",
              "apt-cache depends found none (" + printable_bounded(failures, 300) + ")",
              "run `apt-get update`, or name a kernel: --debian-kernel RELEASE (e.g. "
              "6.1.0-57-amd64), or --test-kernel to build the test kernel");
}

std::string debian_kernel_series(std::string_view release) {
  const auto dot = release.find('.');
  const auto end = release.find_first_of(".-+", dot == std::string_view::npos ? 0 : dot + 1);
  return std::string(release.substr(0, end));
}

Error invalid_debian_release(std::string_view option, std::string_view release) {
  return Error{Exit::usage, std::string(option) + " " + std::string(release),
               "is not a Debian kernel release (ABI-FLAVOR as in the package name "
               "linux-image-ABI-FLAVOR, e.g. 6.1.0-57-amd64, 6.1.0-57-cloud-amd64 or the "
               "backport 6.12.118+deb12-amd64; flavors amd64, cloud-amd64, rt-amd64)",
               "list them with `apt-cache search --names-only '^linux-image-[0-9].*-dbg$'`"};
}

std::string debian_kernel_json(const DebianKernel& k) {
  nlohmann::json j = {{"schema", kSchema},
                      {"release", k.release},
                      {"version", k.version},
                      {"build_id", k.build_id},
                      {"image", "boot/vmlinuz-" + k.release},
                      {"vmlinux", "vmlinux-" + k.release},
                      {"modules", "lib/modules/" + k.release}};
  return j.dump(2) + "\n";
}

Result<DebianKernel> parse_debian_kernel_json(std::string_view text, const std::string& dir) {
  auto doc = parse_json(text);
  if (!doc)
    return fail(Exit::io, dir + "/kernel.json", "not JSON: " + doc.error());
  JsonReader r([&](const std::string& field, const std::string& why) {
    return Error{Exit::io, dir + "/kernel.json", field + ": " + why, ""};
  });
  std::string schema, release;
  r.read(*doc, "schema", "", schema, true);
  r.read(*doc, "release", "", release, true);
  if (r.ok() && schema != kSchema)
    r.fail("schema", "is '" + schema + "', not " + std::string(kSchema));
  if (r.ok() && !valid_debian_release(release))
    r.fail("release", "'" + release + "' is not a Debian kernel release");
  DebianKernel k = layout(release, dir);
  r.read(*doc, "version", "", k.version, true);
  r.read(*doc, "build_id", "", k.build_id, true);
  if (r.ok() && !parse_build_id(k.build_id))
    r.fail("build_id", "is not a build id");
  if (!r.ok())
    return std::unexpected(r.error());
  return k;
}

std::string debian_kernel_entry_problem(const std::string& dir, const std::string& release,
                                        DebianKernel& k) {
  auto text = read_file(dir + "/kernel.json");
  if (!text)
    return "its record " + dir + "/kernel.json cannot be read";
  auto rec = parse_debian_kernel_json(*text, dir);
  if (!rec)
    return rec.error().why;
  if (rec->release != release)
    return "its record names " + rec->release;
  std::error_code ec;
  for (const auto* p : {&rec->image, &rec->vmlinux})
    if (!fs::is_regular_file(*p, ec) || fs::file_size(*p, ec) == 0)
      return *p + " is missing or empty";
  if (!fs::is_directory(rec->modules, ec))
    return rec->modules + " is missing";
  auto id = build_id_of_elf(rec->vmlinux);
  if (!id)
    return id.error().why;
  if (*id != rec->build_id)
    return "vmlinux has build id " + *id + ", the record says " + rec->build_id;
  k = std::move(*rec);
  return {};
}

Result<DebianKernel> fetch_debian_kernel(const DebianKernelRequest& req) {
  if (!valid_debian_release(req.release))
    return std::unexpected(invalid_debian_release("Debian kernel", req.release));
  const std::string dir = entry_dir(req);
  DebianKernel cached;
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    const std::string problem = debian_kernel_entry_problem(dir, req.release, cached);
    if (problem.empty()) {
      if (req.on_progress)
        req.on_progress("Debian kernel " + req.release + " " + cached.version +
                        " from the cache: " + dir);
      return cached;
    }
    if (req.on_progress)
      req.on_progress("the cached Debian kernel " + dir + " cannot be used (" + problem +
                      "): fetching it again");
  }
  if (auto s = make_dirs(req.cache_dir + "/debian-kernels"); !s)
    return std::unexpected(s.error());
  const std::string tmp = dir + ".part-" + std::to_string(::getpid());
  fs::remove_all(tmp, ec);
  if (auto s = make_dirs(tmp); !s)
    return std::unexpected(s.error());
  // apt-get download drops root to the _apt user, which must be able to enter the directory.
  fs::permissions(tmp,
                  fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                      fs::perms::others_read | fs::perms::others_exec,
                  ec);
  auto k = fetch(req, tmp);
  if (k) {
    if (auto s = write_file_atomic(tmp + "/kernel.json", debian_kernel_json(*k)); !s)
      k = std::unexpected(s.error());
  }
  if (!k) {
    fs::remove_all(tmp, ec);
    return k;
  }
  // Another harness may have fetched the same kernel meanwhile: a whole entry there is kept (it
  // may be in use), only a broken one is replaced.
  DebianKernel theirs;
  if (fs::exists(dir, ec) && debian_kernel_entry_problem(dir, req.release, theirs).empty()) {
    fs::remove_all(tmp, ec);
    return theirs;
  }
  fs::remove_all(dir, ec);
  fs::rename(tmp, dir, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    return fail(Exit::io, dir, "cannot move the fetched kernel into place: " + ec.message());
  }
  DebianKernel out = layout(req.release, dir);
  out.version = k->version;
  out.build_id = k->build_id;
  return out;
}

KernelTree tree_of(const DebianKernel& k) {
  KernelTree t;
  t.build_dir = k.dir;
  t.source_dir = k.dir;
  t.release = k.release;
  t.build_id = k.build_id;
  t.vmlinux = k.vmlinux;
  t.debian_version = k.version;
  return t;
}

} // namespace harness::kernel
