// pxed command line: run the daemon, check a site, render its documents.

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "pxed/store/backend.hpp"
#include "pxed/app/api.hpp"
#include "pxed/app/check_report.hpp"
#include "pxed/app/daemon.hpp"
#include "pxed/app/import.hpp"
#include "pxed/app/lease_report.hpp"
#include "pxed/app/logging.hpp"
#include "pxed/app/privileges.hpp"
#include "pxed/app/site_loader.hpp"
#include "pxed/doctor/doctor.hpp"
#include "pxed/net/control_server.hpp"
#include "pxed/wire/token.hpp"

namespace {

using namespace pxed;

constexpr const char* default_config = "/etc/pxed/site.yaml";

void print_diagnostics(const std::vector<inventory::diagnostic>& diags) {
    for (const auto& d : diags) std::cerr << d.to_string() << '\n';
}

int count(const std::vector<inventory::diagnostic>& diags, inventory::severity level) {
    int n = 0;
    for (const auto& d : diags) n += d.level == level;
    return n;
}

struct check_args {
    std::string config = default_config;
    doctor::options doctor;
    bool strict = false;
    bool json = false;
    bool config_only = false;
};

// Exit 0: nothing wrong (warnings allowed); 1: errors; 2: warnings only,
// with --strict (docs/doctor.md).
int cmd_check(const check_args& a) {
    const auto r = app::load_site(a.config);
    // The process ends after this: the site (100,000 hosts' strings and
    // indexes) is not freed piece by piece on the way out (a tenth of
    // check's time). Still reachable: no leak to a leak checker.
    static auto* const kept_until_exit = new std::shared_ptr<const app::loaded_site>();
    *kept_until_exit = r.loaded;
    std::vector<doctor::finding> findings;
    std::vector<std::string> notes;
    if (r.loaded && !a.config_only) {
        // The accounts as the privilege drop reads them (/etc/passwd, /etc/group).
        const auto machine = doctor::local_machine([](const std::string& user) -> std::optional<doctor::account> {
            std::string error;
            const auto found = app::lookup_account(user, error);
            if (!found) return std::nullopt;
            return doctor::account{found->uid, found->gid, {found->groups.begin(), found->groups.end()}};
        });
        const doctor::yaml_locator where(inventory::key_locations::from_file(r.loaded->site->source_file));
        findings = doctor::examine(*r.loaded->site, *r.loaded->renderer, *machine, where, a.doctor, &notes);
        // A shared store: the connection and its schema, creating nothing.
        const auto& st = r.loaded->site->server.store;
        if (st.backend == inventory::store_backend::postgresql && !a.doctor.offline) {
            store::postgres_options pg;
            pg.conninfo = st.conninfo;
            pg.password_file = st.password_file;
            pg.instance = st.instance;
            if (const auto why = store::check_postgres(pg); !why.empty())
                findings.push_back({inventory::severity::error, st.where, "store", "the PostgreSQL store: " + why,
                                    "start the database or correct server.store (conninfo, password_file); "
                                    "docs/multi-instance.md"});
        }
    }
    const auto counts = app::count_all(r.diagnostics, findings);
    const int status = counts.errors ? 1 : (counts.warnings && a.strict) ? 2 : 0;
    if (a.json) {
        std::cout << app::check_json(a.config, r.loaded != nullptr, r.diagnostics, findings, notes);
        return r.loaded ? status : 1;
    }
    print_diagnostics(r.diagnostics);
    std::cerr << app::findings_text(findings);
    for (const auto& n : notes) std::cerr << "note: " << n << '\n';
    if (!r.loaded || counts.errors) {
        std::cerr << a.config << ": " << counts.errors << " error(s), " << counts.warnings << " warning(s)\n";
        return 1;
    }
    const auto& s = *r.loaded->site;
    std::cout << a.config << ": OK (" << s.subnets.size() << " subnet(s), " << s.trees.size() << " tree(s), "
              << s.profiles.size() << " profile(s), " << s.hosts.size() << " host(s)";
    if (counts.warnings) std::cout << ", " << counts.warnings << " warning(s)";
    std::cout << ")\n";
    return status;
}

struct render_args {
    std::string config = default_config;
    std::string mac;
    std::string profile;
    std::string what = "pxelinux";
    std::string out;
    bool show_secrets = false;
};

int write_tree(const render::documents& docs, const std::string& dir) {
    namespace stdfs = std::filesystem;
    std::vector<inventory::diagnostic> diags;
    const auto files = docs.render_all(diags);
    print_diagnostics(diags);
    for (const auto& f : files) {
        const auto path = stdfs::path(dir) / f.path;
        std::error_code ec;
        stdfs::create_directories(path.parent_path(), ec);
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        if (ec || !(out << f.text) || !out.flush()) {
            std::cerr << "cannot write " << path.string() << '\n';
            return 1;
        }
    }
    std::cout << "wrote " << files.size() << " file(s) under " << dir << '\n';
    return inventory::has_errors(diags) ? 1 : 0;
}

int cmd_render(const render_args& a) {
    // Rendering is a preview: kernels and trees need not exist on this machine.
    inventory::load_options options;
    options.check_files = false;
    // Secrets show as "<secret NAME>" unless asked for: a preview is
    // pasted into tickets and terminals.
    options.read_secrets = a.show_secrets;
    const auto r = app::load_site(a.config, options);
    print_diagnostics(r.diagnostics);
    if (!r.loaded) return 1;
    const auto& l = *r.loaded;
    if (!a.out.empty()) {
        // Secrets written out are for the one who asked: files 0600, directories 0700.
        if (a.show_secrets) ::umask(077);
        return write_tree(*l.documents, a.out);
    }

    static const std::map<std::string, render::document_kind> kinds{
        {"pxelinux", render::document_kind::pxelinux},
        {"grub", render::document_kind::grub},
        {"ipxe", render::document_kind::ipxe},
        {"kickstart", render::document_kind::kickstart}};
    const auto kind = kinds.at(a.what);
    render::rendered out;
    if (!a.mac.empty()) {
        const auto mac = wire::mac_address::parse(a.mac);
        if (!mac) {
            std::cerr << "'" << a.mac << "' is not a MAC address (expected 52:54:00:12:34:56)\n";
            return 2;
        }
        const auto* h = l.site->find_host(*mac);
        if (!h) {
            // What an unknown machine with this MAC would be served.
            if (kind == render::document_kind::kickstart) {
                std::cerr << "no host with MAC " << mac->to_string() << " in " << a.config
                          << "; unknown hosts get no kickstart of their own (try --profile)\n";
                return 1;
            }
            std::cerr << "# " << mac->to_string() << " is not in " << a.config << "; showing what unknown hosts get\n";
            out = l.renderer->default_config(kind);
        } else {
            out = l.renderer->host_config(kind, *h);
        }
    } else if (!a.profile.empty()) {
        const auto* p = l.site->find_profile(a.profile);
        if (!p) {
            std::cerr << "no profile '" << a.profile << "' in " << a.config << '\n';
            return 1;
        }
        if (kind != render::document_kind::kickstart) {
            std::cerr << "--profile renders a profile's kickstart; add --what kickstart\n";
            return 2;
        }
        out = l.renderer->profile_kickstart(*p);
    } else {
        if (kind == render::document_kind::kickstart) {
            std::cerr << "a kickstart belongs to a host or a profile: give --mac or --profile\n";
            return 2;
        }
        out = l.renderer->default_config(kind);
    }
    if (!out.ok()) {
        std::cerr << out.error << '\n';
        return 1;
    }
    std::cout << out.text;
    return 0;
}

// `pxed api-key NAME`: one line for access.api.keys_file, 32 random bytes.
int cmd_api_key(const std::string& name) {
    const bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
    if (!ok) {
        std::cerr << "a key's name is letters, digits, '-', '_' and '.'\n";
        return 2;
    }
    try {
        std::cout << name << ' ' << wire::random_token(32) << '\n';
    } catch (const std::exception& e) {
        std::cerr << e.what() << '\n';
        return 1;
    }
    return 0;
}

// `pxed leases`: reads the lease database directly, so it works whether
// the daemon runs or not (SQLite WAL lets a reader in beside the writer).
int cmd_leases(const std::string& config, bool json) {
    inventory::load_options options;
    options.check_files = false;
    options.read_secrets = false;  // only state_dir is needed; the secrets may be root's alone
    const auto r = inventory::load_file(config, options);
    if (!r.model) {
        print_diagnostics(r.diagnostics);
        return 1;
    }
    const auto path = r.model->server.state_dir + "/" + store::lease_file_name;
    if (!std::filesystem::exists(path)) {
        std::cerr << "no lease database at " << path << " (pxed has not served DHCP from this state_dir yet)\n";
        return json ? (std::cout << "[]\n", 0) : 0;
    }
    try {
        const auto leases = store::read_leases(path);
        const auto now = static_cast<std::int64_t>(std::time(nullptr));
        std::cout << (json ? app::leases_json(leases, now) : app::leases_table(leases, now));
    } catch (const std::exception& e) {
        std::cerr << e.what() << '\n';
        return 1;
    }
    return 0;
}

// The control socket of the daemon running with `config`'s state_dir:
// sends one request line, returns the answer. Exit codes: 3 when the
// daemon is not running (or not reachable), 1 for other failures. A config
// that does not load cannot name the socket: its errors are printed, then
// `unloadable` (what that means for this request) if given.
struct control_reply {
    int exit_code = 0;
    std::string answer;
};

control_reply ask_daemon(const std::string& config, const std::string& request, const char* unloadable = nullptr) {
    inventory::load_options options;
    options.check_files = false;
    options.read_secrets = false;  // only state_dir is needed; the secrets may be root's alone
    const auto r = inventory::load_file(config, options);
    if (!r.model) {
        print_diagnostics(r.diagnostics);
        if (unloadable)
            std::cerr << config << ": " << count(r.diagnostics, inventory::severity::error) << " error(s); " << unloadable
                      << '\n';
        return {1, {}};
    }
    const auto path = net::control_socket_path(r.model->server.state_dir);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (fd < 0 || path.size() >= sizeof(sa.sun_path)) {
        std::cerr << "cannot use the control socket " << path << '\n';
        if (fd >= 0) ::close(fd);
        return {1, {}};
    }
    std::strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
    // The state directory is the service user's: a link left there in the
    // socket's place would have root's request go wherever it points.
    if (struct stat st{}; ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
        std::cerr << path << " is a symbolic link, not pxed's socket: not connecting (remove it)\n";
        ::close(fd);
        return {1, {}};
    }
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) {
        const int e = errno;
        ::close(fd);
        if (e == ENOENT || e == ECONNREFUSED)
            std::cerr << "pxed is not running with " << config << " (nothing answers on " << path << ")\n";
        else
            std::cerr << "cannot connect to " << path << ": " << std::strerror(e)
                      << (e == EACCES ? " (run as root or as a member of the service's group)" : "") << '\n';
        return {3, {}};
    }
    timeval tv{30, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    const std::string line = request + "\n";
    std::size_t sent = 0;
    while (sent < line.size()) {
        const ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
    }
    std::string answer;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        answer.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    if (answer.empty()) {
        std::cerr << "pxed closed the control connection without an answer\n";
        return {1, {}};
    }
    return {0, answer};
}

int cmd_hosts(const std::string& config, bool json) {
    const auto reply = ask_daemon(config, "hosts");
    if (reply.exit_code) return reply.exit_code;
    if (json) {
        std::cout << reply.answer;
        return 0;
    }
    const auto table = app::hosts_table(reply.answer, static_cast<std::int64_t>(std::time(nullptr)));
    if (table.empty()) {
        bool ok = false;
        std::cerr << app::control_summary(reply.answer, ok);
        return 1;
    }
    std::cout << table;
    return 0;
}

int cmd_change(const std::string& config, const std::string& verb, const std::vector<std::string>& hosts,
               const std::string& profile, bool all, bool yes) {
    if (hosts.empty() && profile.empty() && !all) {
        std::cerr << "name the hosts (MAC or hostname), or give --profile NAME or --all\n";
        return 2;
    }
    if (all && !yes) {
        // Reinstalling a whole site wipes every disk in it: a person says so.
        if (!isatty(STDIN_FILENO)) {
            std::cerr << "--all changes every host of the site; add --yes to confirm without a terminal\n";
            return 2;
        }
        std::cerr << "This will " << verb << " EVERY host in " << config << ". Type 'yes' to go on: ";
        std::string typed;
        std::getline(std::cin, typed);
        if (typed != "yes") {
            std::cerr << "nothing changed\n";
            return 1;
        }
    }
    std::string request = verb;
    for (const auto& h : hosts) {
        if (h.find_first_of(" \t\r\n") != std::string::npos) {
            std::cerr << "'" << h << "' is not a MAC address or hostname\n";
            return 2;
        }
        request += " " + h;
    }
    if (!profile.empty()) request += " --profile " + profile;
    if (all) request += " --all";
    const auto reply = ask_daemon(config, request);
    if (reply.exit_code) return reply.exit_code;
    bool ok = false;
    const auto summary = app::control_summary(reply.answer, ok);
    (ok ? std::cout : std::cerr) << summary;
    return ok ? 0 : 1;
}

// `pxed trace HOST`: the host's boot trace as the running daemon holds it;
// with --follow, what follows as it happens (polled twice a second).
volatile std::sig_atomic_t interrupted = 0;

int cmd_trace(const std::string& config, const std::string& host, bool unknown, bool json, bool follow, bool utc) {
    if (unknown == !host.empty()) {
        std::cerr << "name a host (MAC, hostname or IP address), or give --unknown\n";
        return 2;
    }
    if (host.find_first_of(" \t\r\n") != std::string::npos) {
        std::cerr << "'" << host << "' is not a MAC address, hostname or IP address\n";
        return 2;
    }
    const auto refused = [](const std::string& answer) {
        bool ok = false;
        std::cerr << app::control_summary(answer, ok);
        return 1;
    };
    if (unknown) {
        const auto reply = ask_daemon(config, "trace --unknown");
        if (reply.exit_code) return reply.exit_code;
        const auto text = app::unknown_text(reply.answer, static_cast<std::int64_t>(std::time(nullptr)));
        if (text.empty()) return refused(reply.answer);
        std::cout << (json ? reply.answer : text);
        return 0;
    }
    app::trace_follow state;
    app::trace_print how;
    how.utc = utc;
    auto reply = ask_daemon(config, "trace " + host);
    if (reply.exit_code) return reply.exit_code;
    std::string text;
    if (!app::trace_text(reply.answer, how, state, text)) return refused(reply.answer);
    std::cout << (json ? reply.answer : text) << std::flush;
    if (!follow) return 0;
    std::signal(SIGINT, [](int) { interrupted = 1; });
    std::signal(SIGTERM, [](int) { interrupted = 1; });
    how.header = false;
    while (!interrupted) {
        ::usleep(500 * 1000);
        if (interrupted) break;
        reply = ask_daemon(config, "trace " + host + " " + std::to_string(state.last_seq));
        if (reply.exit_code) return reply.exit_code;
        if (!app::trace_text(reply.answer, how, state, text)) return refused(reply.answer);
        if (json) {
            // One JSON object per answer that brought something new.
            if (!text.empty()) std::cout << reply.answer << std::flush;
        } else {
            std::cout << text << std::flush;
        }
    }
    return 0;
}

// `pxed reload` (the unit's ExecReload): the running daemon reloads its
// site and answers when it has. Exit 0: the new config is in force; 1: it
// was rejected and the old one keeps serving (the errors on stderr, as
// `pxed check` prints them); 3: pxed is not running.
int cmd_reload(const std::string& config) {
    // A config that does not even load cannot name the socket, and the
    // daemon would refuse it anyway.
    const auto reply =
        ask_daemon(config, "reload", "pxed was not asked to reload and keeps serving the configuration it has");
    if (reply.exit_code) return reply.exit_code;
    bool ok = false;
    const auto summary = app::control_summary(reply.answer, ok);
    (ok ? std::cout : std::cerr) << summary;
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App cli{"pxed: PXE provisioning daemon. DHCP, TFTP, HTTP and FTP from one site.yaml.\n"
                 "Without a subcommand, runs in the foreground until SIGINT/SIGTERM; SIGHUP or `pxed reload` reloads.",
                 "pxed"};
    cli.set_version_flag("--version", std::string("pxed ") + PXED_VERSION);
    std::string config = default_config;
    cli.add_option("-c,--config", config, "Site configuration file")->capture_default_str();

    auto* check = cli.add_subcommand(
        "check", "Validate a site config and this machine for it: print every problem, exit 1 on errors");
    check_args ca;
    check->add_option("-c,--config", ca.config, "Site configuration file")->capture_default_str();
    check->add_flag("--offline", ca.doctor.offline,
                    "Checking the file on another machine: skip addresses, interfaces, accounts, firewall, SELinux");
    check->add_flag("--strict", ca.strict, "Exit 2 when there are warnings (and no errors)");
    check->add_flag("--json", ca.json, "Print one JSON document instead of lines");
    check->add_flag("--probe-dhcp", ca.doctor.probe_dhcp,
                    "Ask on each of server.interfaces whether another DHCP server answers (sends DHCPDISCOVERs)");
    check->add_flag("--config-only", ca.config_only,
                    "Only load site.yaml and its templates, as the daemon does at start (the unit's ExecStartPre)");
    check->footer("Exit status: 0 fine, 1 errors, 2 warnings only (with --strict). See docs/doctor.md.");

    auto* render = cli.add_subcommand("render", "Print a rendered document, or write all of them with --out");
    render_args ra;
    render->add_option("-c,--config", ra.config, "Site configuration file")->capture_default_str();
    render->add_option("--mac", ra.mac, "Render for the host with this MAC (unknown MACs get the default)");
    render->add_option("--profile", ra.profile, "Render this profile's kickstart (with --what kickstart)");
    render->add_option("--what", ra.what, "Which document")
        ->check(CLI::IsMember({"pxelinux", "grub", "ipxe", "kickstart"}))
        ->capture_default_str();
    render->add_option("--out", ra.out, "Write every rendered document under this directory");
    render->add_flag("--show-secrets", ra.show_secrets,
                     "Read the secrets (secrets: in site.yaml) and render them; without it they show as <secret NAME>");
    render->footer(
        "Examples:\n"
        "  pxed render --config site.yaml                          # pxelinux.cfg/default\n"
        "  pxed render --config site.yaml --mac 52:54:00:12:34:56 --what kickstart\n"
        "  pxed render --config site.yaml --out /tmp/preview       # the whole tree");
    auto* leases = cli.add_subcommand("leases", "List the DHCP leases in the state directory");
    std::string leases_config = default_config;
    bool leases_as_json = false;
    leases->add_option("-c,--config", leases_config, "Site configuration file")->capture_default_str();
    leases->add_flag("--json", leases_as_json, "Print JSON instead of a table");

    auto* hosts = cli.add_subcommand("hosts", "List every host with its lifecycle state (asks the running daemon)");
    std::string hosts_config = default_config;
    bool hosts_as_json = false;
    hosts->add_option("-c,--config", hosts_config, "Site configuration file")->capture_default_str();
    hosts->add_flag("--json", hosts_as_json, "Print JSON instead of a table");

    struct change_args {
        std::string config = default_config;
        std::vector<std::string> hosts;
        std::string profile;
        bool all = false;
        bool yes = false;
    };
    change_args reinstall_args, mark_args;
    auto add_change = [&](const char* name, const char* help, change_args& a) {
        auto* sub = cli.add_subcommand(name, help);
        sub->add_option("-c,--config", a.config, "Site configuration file")->capture_default_str();
        sub->add_option("hosts", a.hosts, "Hosts by MAC or hostname");
        sub->add_option("--profile", a.profile, "Every host of this profile");
        sub->add_flag("--all", a.all, "Every host of the site (asks for confirmation)");
        sub->add_flag("--yes", a.yes, "Confirm --all without asking");
        return sub;
    };
    auto* reinstall = add_change("reinstall", "Install these hosts again at their next network boot (new generation)",
                                 reinstall_args);
    auto* mark = add_change("mark-installed", "Record hosts as installed (by other means): they boot their disk",
                            mark_args);
    auto* reload = cli.add_subcommand("reload", "Have the running daemon reload its config and wait for the verdict");
    std::string reload_config = default_config;
    reload->add_option("-c,--config", reload_config, "Site configuration file")->capture_default_str();
    reload->footer("Exit status: 0 the new config is in force, 1 it was rejected (the old one keeps serving),\n"
                   "3 pxed is not running. systemd's ExecReload runs it: `systemctl reload pxed` fails on a bad config.");
    auto* trace = cli.add_subcommand("trace", "Show a host's boot trace: every event, the stage reached, hints (asks the running daemon)");
    std::string trace_config = default_config, trace_host;
    bool trace_json = false, trace_follow = false, trace_unknown = false, trace_utc = false;
    trace->add_option("-c,--config", trace_config, "Site configuration file")->capture_default_str();
    trace->add_option("host", trace_host, "The host: MAC address, hostname from site.yaml, or IP address");
    trace->add_flag("-f,--follow", trace_follow, "Keep printing new events as they happen (Ctrl-C to stop)");
    trace->add_flag("--json", trace_json, "Print the API's JSON instead");
    trace->add_flag("--unknown", trace_unknown, "List MACs not in site.yaml that tried to boot");
    trace->add_flag("--utc", trace_utc, "Times in UTC instead of local time");
    trace->footer("Examples:\n"
                  "  pxed trace web01                 # what web01 did, and where its boot stalled\n"
                  "  pxed trace 52:54:00:12:34:56 -f  # watch a boot live\n"
                  "  pxed trace --unknown             # machines that tried to boot and are not in site.yaml\n"
                  "See docs/troubleshooting.md.");
    auto* api_key = cli.add_subcommand("api-key", "Print a new API key line for access.api.keys_file");
    std::string key_name;
    api_key->add_option("name", key_name, "Who the key is for: the log names it (letters, digits, '-', '_', '.')")
        ->required();
    api_key->footer("Example:\n  pxed api-key alice >> /etc/pxed/api-keys   # then: systemctl reload pxed");
    auto* import = cli.add_subcommand("import", "Print the trees: and profiles: entries that boot an install tree");
    std::string import_path, import_append;
    app::import_options io;
    import->add_option("path", import_path, "The tree: a mounted DVD or ISO, a mirror, an unpacked netboot tarball")
        ->required();
    import->add_option("--name", io.name, "Name of the tree and profile (default: from the tree, like centos7)");
    import->add_option("--url", io.url, "Where HTTP and FTP serve the tree (default: /pub/<distro>/<release>/<arch>)");
    import->add_option("--append", import_append, "Insert the entries into this site.yaml, keeping the rest as it is");
    import->footer("Examples:\n"
                   "  pxed import /mnt/centos7                                  # print the entries\n"
                   "  pxed import /srv/debian12 --name debian12 --append /etc/pxed/site.yaml\n"
                   "See docs/import.md.");
    cli.require_subcommand(0, 1);

    CLI11_PARSE(cli, argc, argv);

    if (check->parsed()) return cmd_check(ca);
    if (render->parsed()) return cmd_render(ra);
    if (leases->parsed()) return cmd_leases(leases_config, leases_as_json);
    if (api_key->parsed()) return cmd_api_key(key_name);
    if (import->parsed()) return app::cmd_import(import_path, io, import_append);
    if (hosts->parsed()) return cmd_hosts(hosts_config, hosts_as_json);
    if (reload->parsed()) return cmd_reload(reload_config);
    if (trace->parsed()) return cmd_trace(trace_config, trace_host, trace_unknown, trace_json, trace_follow, trace_utc);
    if (reinstall->parsed())
        return cmd_change(reinstall_args.config, "reinstall", reinstall_args.hosts, reinstall_args.profile,
                          reinstall_args.all, reinstall_args.yes);
    if (mark->parsed())
        return cmd_change(mark_args.config, "mark-installed", mark_args.hosts, mark_args.profile, mark_args.all,
                          mark_args.yes);
    app::init_logging();
    return app::run_daemon(config);
}
