// The stock kernels' initramfs (vm/initramfs.hpp): the archive is checked with the real cpio
// tool, the .modinfo reader with ELF files objcopy writes, the load order with a module graph.
#include "base/child_proc.hpp"
#include "base/files.hpp"
#include "temp_dir.hpp"
#include "vm/initramfs.hpp"

#include <gtest/gtest.h>
#include <map>
#include <sys/stat.h>

namespace harness::vm {
namespace {

using namespace std::chrono_literals;
using harness::testing::TempDir;

Captured run(const std::string& exe, std::vector<std::string> args, const std::string& cwd = "") {
  auto r = run_captured({.exe = exe, .args = std::move(args), .cwd = cwd}, 60s);
  EXPECT_TRUE(r) << exe;
  return r ? *r : Captured{};
}

TEST(Initramfs, ModuleNameIsTheKernelsSpelling) {
  EXPECT_EQ(module_name("kernel/net/9p/9pnet_virtio.ko"), "9pnet_virtio");
  EXPECT_EQ(module_name("kernel/drivers/net/veth.ko"), "veth");
  EXPECT_EQ(module_name("virtio-pci"), "virtio_pci");
  EXPECT_EQ(module_name("/x/sch_tbf.ko.xz"), "sch_tbf");
}

// A real ELF file (a copy of /bin/true) given a .modinfo section by objcopy, as modpost writes
// one: NUL-separated key=value strings.
std::string elf_with_modinfo(const TempDir& dir, const std::string& modinfo) {
  const std::string info = dir.file("modinfo.bin"), out = dir.file("mod.ko");
  EXPECT_TRUE(write_file_atomic(info, modinfo));
  const auto r = run("objcopy", {"--add-section", ".modinfo=" + info, "/bin/true", out});
  EXPECT_TRUE(r.status.success()) << r.err;
  auto bytes = read_file(out);
  return bytes ? *bytes : std::string();
}

TEST(Initramfs, ModinfoDependsFromARealElfFile) {
  TempDir dir;
  using namespace std::string_literals;
  const auto deps = modinfo_depends(
      elf_with_modinfo(dir, "license=GPL\0depends=9pnet,netfs,fscache\0retpoline=Y\0name=9p\0"s));
  ASSERT_TRUE(deps) << deps.error().why;
  EXPECT_EQ(*deps, (std::vector<std::string>{"9pnet", "netfs", "fscache"}));
  const auto none = modinfo_depends(elf_with_modinfo(dir, "license=GPL\0depends=\0name=veth\0"s));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(Initramfs, ModinfoOfWhatIsNotAModuleIsAnError) {
  auto self = read_file("/bin/true");
  ASSERT_TRUE(self);
  auto r = modinfo_depends(*self);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().why.find("no .modinfo"), std::string::npos) << r.error().why;
  for (std::string bad : {std::string("not elf at all, but long enough to hold an ELF header "
                                      "of sixty-four bytes, so the magic is what fails"),
                          std::string()}) {
    auto e = modinfo_depends(bad);
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().why.find("not a 64-bit"), std::string::npos) << e.error().why;
  }
  std::string cut = self->substr(0, 200); // section headers beyond the end
  auto c = modinfo_depends(cut);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().why.find("outside the file"), std::string::npos) << c.error().why;
}

TEST(Initramfs, LoadOrderPutsDependenciesFirstAndSkipsBuiltIns) {
  const std::map<std::string, std::vector<std::string>> graph = {
      {"9p", {"9pnet", "netfs", "fscache"}},
      {"9pnet_virtio", {"9pnet", "virtio_ring"}},
      {"9pnet", {}},
      {"netfs", {"fscache"}},
      {"fscache", {}},
      {"virtio_pci", {"virtio_pci_modern_dev", "virtio-pci-legacy-dev"}},
      {"virtio_pci_modern_dev", {}},
      {"virtio_pci_legacy_dev", {}},
      {"veth", {}}};
  auto deps = [&](const std::string& n) -> Result<std::vector<std::string>> {
    if (auto it = graph.find(n); it != graph.end())
      return it->second;
    return fail(Exit::io, "module " + n, "unknown");
  };
  auto order = load_order({"virtio_pci", "9pnet_virtio", "9p", "veth"}, deps, {"virtio_ring"});
  ASSERT_TRUE(order) << order.error().why;
  EXPECT_EQ(*order, (std::vector<std::string>{"virtio_pci_modern_dev", "virtio_pci_legacy_dev",
                                              "virtio_pci", "9pnet", "9pnet_virtio", "fscache",
                                              "netfs", "9p", "veth"}));
  auto missing = load_order({"veth", "sch_tbf"}, deps, {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().what, "module sch_tbf");
}

TEST(Initramfs, ADependencyCycleIsAnErrorNotALoop) {
  auto deps = [](const std::string& n) -> Result<std::vector<std::string>> {
    return std::vector<std::string>{n == "a" ? "b" : "a"};
  };
  auto r = load_order({"a"}, deps, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().why.find("cycle"), std::string::npos);
}

// The archive as the kernel's unpacker reads it: GNU cpio lists and extracts it the same way.
TEST(Initramfs, TheArchiveIsWhatCpioReads) {
  TempDir dir;
  const std::string archive = dir.file("a.cpio");
  const std::string odd(13, 'x'); // sizes that need padding
  ASSERT_TRUE(write_file_atomic(
      archive,
      cpio_newc({{.name = "dev", .mode = S_IFDIR | 0755},
                 {.name = "dev/console", .mode = S_IFCHR | 0600, .rdev_major = 5, .rdev_minor = 1},
                 {.name = "init", .mode = S_IFREG | 0755, .data = "#!init\n"},
                 {.name = "modules", .mode = S_IFDIR | 0755},
                 {.name = "modules/00-a.ko", .mode = S_IFREG | 0644, .data = odd}})));
  const auto list = run("cpio", {"-itv", "-F", archive});
  ASSERT_TRUE(list.status.success()) << list.err;
  EXPECT_NE(list.out.find("crw-------"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("5,"), std::string::npos) << list.out;
  const std::string into = dir.file("x");
  ASSERT_TRUE(make_dirs(into));
  const auto x =
      run("cpio",
          {"-id", "--no-absolute-filenames", "-F", archive, "init", "modules", "modules/00-a.ko"},
          into);
  ASSERT_TRUE(x.status.success()) << x.err;
  EXPECT_EQ(read_file(into + "/init").value_or(""), "#!init\n");
  EXPECT_EQ(read_file(into + "/modules/00-a.ko").value_or(""), odd);
  struct stat st {};
  ASSERT_EQ(::stat((into + "/init").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
}

TEST(Initramfs, GuestInitramfsHoldsPreinitTheMarkerAndTheModulesInOrder) {
  TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("preinit"), "PREINIT"));
  ASSERT_TRUE(write_file_atomic(dir.file("virtio-pci.ko"), "A"));
  ASSERT_TRUE(write_file_atomic(dir.file("9p.ko"), "B"));
  const std::string archive = dir.file("initramfs.cpio");
  ASSERT_TRUE(write_guest_initramfs(archive, dir.file("preinit"),
                                    {dir.file("virtio-pci.ko"), dir.file("9p.ko")}));
  const auto list = run("cpio", {"-it", "-F", archive});
  ASSERT_TRUE(list.status.success()) << list.err;
  for (const std::string& name : std::vector<std::string>{
           "init", "dev/console", "newroot", "proc", std::string(kInitramfsMarker),
           "modules/00-virtio_pci.ko", "modules/01-9p.ko"})
    EXPECT_NE(list.out.find(name + "\n"), std::string::npos) << name << " in\n" << list.out;
  auto missing = write_guest_initramfs(dir.file("b.cpio"), dir.file("nope"), {});
  EXPECT_FALSE(missing);
}

// A kernel's module directory as Debian ships it: modules.order names NAME.ko, the file may be
// NAME.ko.xz (6.12) or NAME.ko (6.1); built-in modules are in modules.builtin.
TEST(Initramfs, GuestModulesComeInLoadOrderCompressedOrNot) {
  TempDir dir;
  using namespace std::string_literals;
  const std::map<std::string, std::string> modules = {
      {"kernel/drivers/virtio/virtio_pci.ko", "virtio_pci_modern_dev"},
      {"kernel/drivers/virtio/virtio_pci_modern_dev.ko", ""},
      {"kernel/net/9p/9pnet_virtio.ko", "9pnet,virtio_ring"},
      {"kernel/net/9p/9pnet.ko", ""},
      {"kernel/fs/9p/9p.ko", "9pnet"},
      {"kernel/drivers/net/veth.ko", ""},
      {"kernel/net/sched/sch_tbf.ko", ""}};
  std::string order;
  for (const auto& [path, deps] : modules) {
    order += path + "\n";
    const std::string file = dir.file(path);
    ASSERT_TRUE(make_dirs(file.substr(0, file.rfind('/'))));
    ASSERT_TRUE(write_file_atomic(file, elf_with_modinfo(dir, "depends=" + deps + "\0"s)));
    if (path.find("9p") != std::string::npos) { // as Debian 6.12 ships them
      const auto xz = run("xz", {file});
      ASSERT_TRUE(xz.status.success()) << xz.err;
    }
  }
  ASSERT_TRUE(write_file_atomic(dir.file("modules.order"), order));
  ASSERT_TRUE(
      write_file_atomic(dir.file("modules.builtin"), "kernel/drivers/virtio/virtio_ring.ko\n"));
  auto files = guest_module_files(dir.path());
  ASSERT_TRUE(files) << files.error().what << ": " << files.error().why;
  std::vector<std::string> names;
  for (const auto& f : *files)
    names.push_back(f.substr(dir.path().size() + 1));
  EXPECT_EQ(names, (std::vector<std::string>{
                       "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
                       "kernel/drivers/virtio/virtio_pci.ko", "kernel/net/9p/9pnet.ko.xz",
                       "kernel/net/9p/9pnet_virtio.ko.xz", "kernel/fs/9p/9p.ko.xz",
                       "kernel/drivers/net/veth.ko", "kernel/net/sched/sch_tbf.ko"}));
  // The initramfs holds them uncompressed, as the kernel's finit_module reads them.
  const std::string archive = dir.file("initramfs.cpio");
  ASSERT_TRUE(write_guest_initramfs(archive, "/bin/true", *files));
  const std::string into = dir.file("x");
  ASSERT_TRUE(make_dirs(into));
  ASSERT_TRUE(run("cpio", {"-id", "-F", archive}, into).status.success());
  auto plain = read_file(into + "/modules/02-9pnet.ko");
  ASSERT_TRUE(plain);
  auto deps = modinfo_depends(*plain);
  ASSERT_TRUE(deps) << deps.error().why;
  EXPECT_TRUE(deps->empty());
  auto fs9p = modinfo_depends(read_file(into + "/modules/04-9p.ko").value_or(""));
  ASSERT_TRUE(fs9p) << fs9p.error().why;
  EXPECT_EQ(*fs9p, std::vector<std::string>{"9pnet"});
}

TEST(Initramfs, GuestModulesMissingFromTheKernelAreNamed) {
  TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("modules.order"), "kernel/drivers/net/veth.ko\n"));
  auto r = guest_module_files(dir.path());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what, "module virtio_pci");
  EXPECT_NE(r.error().why.find("modules.order"), std::string::npos);
  auto none = guest_module_files(dir.file("absent"));
  EXPECT_FALSE(none);
}

} // namespace
} // namespace harness::vm
