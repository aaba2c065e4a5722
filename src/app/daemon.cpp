// The only app translation unit that includes Asio.

#include "pxed/app/daemon.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <csignal>
#include <ctime>
#include <functional>
#include <thread>
#include <unordered_map>
#include <utility>

#include "pxed/app/api.hpp"
#include "pxed/app/dashboard.hpp"
#include "pxed/app/daemon_metrics.hpp"
#include "pxed/app/lifecycle_service.hpp"
#include "pxed/app/lease_report.hpp"
#include "pxed/app/access_guard.hpp"
#include "pxed/app/logging.hpp"
#include "pxed/app/privileges.hpp"
#include "pxed/app/sd_notify.hpp"
#include "pxed/app/site_loader.hpp"
#include "pxed/app/trace_service.hpp"
#include "pxed/store/trace.hpp"
#include "pxed/metrics/registry.hpp"
#include "pxed/net/control_server.hpp"
#include "pxed/net/dhcp_server.hpp"
#include "pxed/net/event_loop.hpp"
#include "pxed/net/ftp_server.hpp"
#include "pxed/net/http_server.hpp"
#include "pxed/net/neighbours.hpp"
#include "pxed/net/tftp_server.hpp"
#include "pxed/net/transfer_board.hpp"

namespace pxed::app {
namespace {

// This machine's name: an instance's default name in a shared store.
std::string host_name() { return machine_name().empty() ? "pxed" : machine_name(); }

// A boot storm holds two descriptors per TFTP transfer (its socket and its
// file) and one per HTTP/FTP connection. The usual soft limit of 1024 would
// refuse transfers long before max_transfers; the hard limit is ours to use.
void raise_open_file_limit(std::size_t wanted) {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    if (rl.rlim_cur < rl.rlim_max) {
        const rlim_t before = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &rl) == 0)
            spdlog::info("open-file limit raised from {} to {}", before, rl.rlim_cur);
        else
            rl.rlim_cur = before;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < wanted)
        spdlog::warn("open-file limit is {}: about {} TFTP transfers fit at once; raise it (LimitNOFILE= in the "
                     "service, ulimit -n) for bigger boot storms",
                     rl.rlim_cur, rl.rlim_cur > 64 ? (rl.rlim_cur - 64) / 2 : 0);
}

void log_diagnostics(const std::vector<inventory::diagnostic>& diags) {
    for (const auto& d : diags) {
        if (d.level == inventory::severity::error)
            spdlog::error("{}", d.to_string());
        else
            spdlog::warn("{}", d.to_string());
    }
}

// What a reload came to, for the log, systemd's STATUS= and `pxed reload`.
struct reload_verdict {
    bool ok = false;
    std::string message;
    std::vector<std::string> details;  // diagnostics and restart warnings
};

void log_summary(const loaded_site& l, const char* verb) {
    const auto& s = *l.site;
    spdlog::info("{} {}: {} subnet(s), {} tree(s), {} profile(s), {} host(s); unknown hosts get {}", verb,
                 s.source_file, s.subnets.size(), s.trees.size(), s.profiles.size(), s.hosts.size(),
                 s.menu.unknown_hosts == inventory::unknown_policy::menu    ? "the menu"
                 : s.menu.unknown_hosts == inventory::unknown_policy::local ? "local boot"
                                                                             : "no answer");
}

class daemon {
public:
    explicit daemon(std::string config_path)
        : config_path_(std::move(config_path)),
          signals_(io_),
          lifecycle_timer_(io_),
          trace_timer_(io_),
          dashboard_timer_(io_) {}
    ~daemon() {
        // A reload still being prepared: its result is posted to a loop
        // that no longer runs, and dropped.
        if (reload_worker_.joinable()) reload_worker_.join();
        if (reaper_.joinable()) reaper_.join();
    }
    daemon(const daemon&) = delete;
    daemon& operator=(const daemon&) = delete;

    int run() {
        auto r = load_site(config_path_);
        if (!r.loaded) {
            log_diagnostics(r.diagnostics);
            spdlog::critical("{}: configuration has errors; not starting (run `pxed check --config {}`)", config_path_,
                             config_path_);
            return 1;
        }
        try {
            apply_logging(r.loaded->site->server.log);
        } catch (const std::exception& e) {
            spdlog::critical("cannot open the log file: {}", e.what());
            return 1;
        }
        log_diagnostics(r.diagnostics);
        current_ = r.loaded;
        daemon_metrics_.config_loaded(current_->site->fingerprint, static_cast<std::int64_t>(std::time(nullptr)));
        // The control socket first: it is also how a second pxed on the
        // same state directory finds out before touching anything.
        if (!prepare_state_dir() || !start_control() || !start_lifecycle() || !start_trace()) return 1;
        if (!start_services() || !start_dhcp()) return 1;
        // Every socket is bound and nothing has been read yet: root goes now.
        if (!drop_privileges_after_binding()) return 1;
        log_summary(*current_, "serving");
        notify("READY=1\nSTATUS=" + status_line());

        signals_.add(SIGINT);
        signals_.add(SIGTERM);
        signals_.add(SIGHUP);
        wait_for_signal();
        lifecycle_tick();
        trace_tick();
        dashboard_tick();
        // The loop's log lines go out together, before it sleeps.
        hold_log_lines_on_this_thread();
        net::run(io_, poll_, {log_lines_held, write_held_log_lines});
        hold_log_lines_on_this_thread(false);
        stop_services();
        dashboard_.reset();  // before the trace it observes
        lifecycle_->stop_watching();
        lifecycle_->flush();
        if (trace_) trace_->stop_watching();
        trace_.reset();  // writes what is left
        spdlog::info("stopped");
        return 0;
    }

private:
    // Before anything in it is opened as root: the directory and pxed's
    // files in it must be what pxed left there (privileges.hpp).
    bool prepare_state_dir() {
        const auto& srv = current_->site->server;
        uid_t owner = ::geteuid();
        if (owner == 0 && !srv.user.empty()) {
            std::string why;
            const auto a = lookup_account(srv.user, why);
            if (!a) {
                spdlog::critical("server.user '{}': {}; refusing to keep running as root", srv.user, why);
                return false;
            }
            owner = a->uid;
        }
        if (const auto e = app::prepare_state_dir(srv.state_dir, owner); !e.empty()) {
            spdlog::critical("{}", e);
            notify("STATUS=not started: " + e);
            return false;
        }
        return true;
    }

    // The host database, and the site's documents following it.
    bool start_lifecycle() {
        const auto& dir = current_->site->server.state_dir;
        const auto so = store_options();
        try {
            lifecycle_ = std::make_unique<lifecycle_service>(so);
            lifecycle_->set_guard(&guard_);
            guard_.set_bound_lookup([this](const wire::mac_address& mac, std::uint32_t address) {
                return bound_to(mac, address);
            });
            lifecycle_->start(current_->site, static_cast<std::int64_t>(std::time(nullptr)));
        } catch (const std::exception& e) {
            if (so.kind == store::backend_kind::postgresql)
                // Without the shared state an instance would give installed
                // hosts their install config, and addresses that are taken.
                spdlog::critical("lifecycle: {}; pxed does not start without its shared store: it would not know "
                                 "which hosts are installed nor which addresses are taken (systemd starts pxed again "
                                 "until the database answers)",
                                 e.what());
            else
                spdlog::critical("lifecycle: {}", e.what());
            return false;
        }
        current_ = with_status(*current_, lifecycle_->status_source());
        daemon_metrics_.count_hosts([this] { return lifecycle_->tracker().inventory_by_state(); });
        const auto counts = lifecycle_->tracker().inventory_by_state();
        const auto where = so.kind == store::backend_kind::postgresql
                               ? "PostgreSQL (" + so.postgres.conninfo + "), shared"
                               : dir + "/" + store::host_file_name;
        spdlog::info("lifecycle: hosts in {}: {} pending, {} installing, {} installed, {} failed", where, counts[1],
                     counts[2], counts[3], counts[4]);
        lifecycle_->watch([this](std::function<void()> f) { boost::asio::post(io_, std::move(f)); });
        return true;
    }

    // server.store as the store's factories take it.
    store::store_options store_options() const {
        const auto& srv = current_->site->server;
        store::store_options o;
        o.state_dir = srv.state_dir;
        if (srv.store.backend == inventory::store_backend::postgresql) {
            o.kind = store::backend_kind::postgresql;
            o.postgres.conninfo = srv.store.conninfo;
            o.postgres.password_file = srv.store.password_file;
            o.postgres.instance = srv.store.instance.empty() ? host_name() : srv.store.instance;
        }
        return o;
    }

    // Whether a request from `address` comes from the host `mac`: the
    // address pxed's DHCP server bound to it, or, where pxed leases nothing
    // (proxyDHCP, or DHCP off), the one the neighbour table maps to it.
    // (There a reservation in site.yaml counts too: the documents check it.)
    bool bound_to(const wire::mac_address& mac, std::uint32_t address) const {
        const auto& dhcp = current_->site->server.dhcp;
        if (!dhcp.enabled || dhcp.mode == inventory::dhcp_mode::proxy) {
            const auto n = neighbour(address, &mac);
            return n && *n == mac;
        }
        if (!dhcp_) return false;
        const auto a = dhcp_->bound_address(mac);
        return a && a->value() == address;
    }

    // The MAC the neighbour table gives `address`: the table as last read,
    // read again on a miss (or when it names another MAC than `expected`)
    // at most 20 times a second: a host whose entry is a moment old is
    // found, and a flood of strangers is not a flood of /proc reads on the
    // event loop's thread.
    std::optional<wire::mac_address> neighbour(std::uint32_t address, const wire::mac_address* expected = nullptr) const {
        const auto lookup = [&]() -> std::optional<wire::mac_address> {
            const auto it = arp_table_.find(address);
            if (it == arp_table_.end()) return std::nullopt;
            return it->second;
        };
        auto n = lookup();
        const auto now = std::chrono::steady_clock::now();
        if ((!n || (expected && *n != *expected)) && now - arp_read_at_ >= std::chrono::milliseconds(50)) {
            arp_table_ = net::parse_neighbours(net::read_neighbour_table());
            arp_read_at_ = now;
            n = lookup();
        }
        return n;
    }

    // The boot trace: its database, and what the servers and the
    // lifecycle tell it (docs/troubleshooting.md).
    bool start_trace() {
        const auto& srv = current_->site->server;
        if (!srv.trace.enabled) return true;
        trace::limits l;
        l.per_host = srv.trace.per_host;
        l.total = srv.trace.total;
        l.strangers = srv.trace.unknown_hosts;
        try {
            const auto so = store_options();
            trace_ = std::make_unique<trace_service>(store::open_trace_backend(so), so.postgres.instance, l,
                                                     current_->site);
        } catch (const std::exception& e) {
            spdlog::critical("trace: {}", e.what());
            return false;
        }
        daemon_metrics_.count_trace([this] {
            daemon_metrics::trace_figures f;
            if (!trace_) return f;
            f.events = trace_->book().size();
            f.macs = trace_->book().hosts();
            f.unattributed = trace_->unattributed();
            f.write_failures = trace_->write_failures();
            f.strangers_seen = trace_->book().strangers_seen();
            return f;
        });
        trace_->set_neighbour_lookup([this](std::uint32_t address) { return neighbour(address); });
        lifecycle_->set_trace([this](trace::event&& e, bool attributed) {
            if (!trace_) return;
            if (attributed)
                trace_->host_event(std::move(e), now_ms());
            else
                trace_->client_event(std::move(e), now_ms());
        });
        if (trace_->instance().empty())
            spdlog::info("trace: {} event(s) of {} MAC(s) read back from {}/{}", trace_->book().size(),
                         trace_->book().hosts(), srv.state_dir, store::trace_file_name);
        else
            spdlog::info("trace: {} event(s) of {} MAC(s) read back from the shared store, instance {}",
                         trace_->book().size(), trace_->book().hosts(), trace_->instance());
        trace_->watch([this](std::function<void()> f) { boost::asio::post(io_, std::move(f)); });
        return true;
    }

    static std::int64_t now_ms() {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

    // What a server hands the trace (TFTP, HTTP, FTP): attributed there.
    std::function<void(trace::event&&)> client_trace() {
        if (!trace_) return {};
        return [this](trace::event&& e) {
            if (trace_) trace_->client_event(std::move(e), now_ms());
        };
    }

    // The trace's events to its writer thread, every second: a kill -9
    // loses at most that much of it.
    void trace_tick() {
        if (!trace_) return;
        trace_->flush();
        trace_timer_.expires_after(std::chrono::seconds(1));
        trace_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) trace_tick();
        });
    }

    // The dashboard's live streams: what changed, once a second.
    void dashboard_tick() {
        if (!dashboard_) return;
        dashboard_->tick(now_ms());
        dashboard_timer_.expires_after(std::chrono::seconds(1));
        dashboard_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) dashboard_tick();
        });
    }

    // What the dashboard's site panel shows of the daemon itself.
    dashboard_status dashboard_status_now() const {
        const auto& srv = current_->site->server;
        dashboard_status st;
        st.version = std::string("pxed ") + PXED_VERSION;
        st.config_path = config_path_;
        st.started_at = started_at_;
        if (store_options().kind == store::backend_kind::postgresql) st.instance = store_options().postgres.instance;
        st.last_reload = last_reload_;
        const auto listen = srv.listen.to_string();
        auto add = [&](const char* name, bool enabled, std::string where, std::string detail) {
            st.services.push_back({name, enabled, std::move(where), std::move(detail)});
        };
        add("dhcp", dhcp_ != nullptr, dhcp_ ? "0.0.0.0:" + std::to_string(srv.dhcp.port) : "",
            !dhcp_ ? "off" : srv.dhcp.mode == inventory::dhcp_mode::proxy ? "proxyDHCP" : "server, " +
                         std::to_string(current_->site->subnets.size()) + " subnet(s)");
        add("tftp", tftp_ != nullptr, tftp_ ? listen + ":" + std::to_string(tftp_->port()) : "",
            tftp_ ? std::to_string(tftp_->active_transfers()) + " transfer(s), root " + srv.tftp.root : "off");
        add("http", http_ != nullptr, http_ ? listen + ":" + std::to_string(http_->port()) : "",
            http_ ? std::to_string(http_->active_connections()) + " connection(s)" : "off");
        add("ftp", ftp_ != nullptr, ftp_ ? listen + ":" + std::to_string(ftp_->port()) : "",
            ftp_ ? std::to_string(ftp_->active_sessions()) + " session(s)" : "off");
        add("trace", trace_ != nullptr, "", trace_ ? std::to_string(trace_->book().size()) + " event(s) kept" : "off");
        return st;
    }

    // Installs that ran out of time, and last-seen times written out.
    void lifecycle_tick() {
        lifecycle_->tick(static_cast<std::int64_t>(std::time(nullptr)));
        lifecycle_timer_.expires_after(std::chrono::seconds(5));
        lifecycle_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) lifecycle_tick();
        });
    }

    // `pxed hosts`, `pxed reinstall`, `pxed mark-installed`, `pxed reload` talk to this.
    bool start_control() {
        const auto path = net::control_socket_path(current_->site->server.state_dir);
        control_ = std::make_unique<net::control_server>(
            io_, path,
            [this](std::string_view request, const std::string& who, net::control_server::reply_fn reply) {
                if (request == "reload") return reload_for(who, std::move(reply));
                reply(make_api().control(request, who));
            });
        try {
            control_->start();
        } catch (const std::exception& e) {
            spdlog::critical("control: {}", e.what());
            return false;
        }
        // root and the service's group may ask; the daemon itself, once it
        // runs as server.user, only answers on the socket it already holds.
        // (Looked up without NSS, like the drop itself: the RPM's binary
        // is static. A missing user is reported by the drop.)
        const auto& user = current_->site->server.user;
        std::string why;
        if (!user.empty() && ::geteuid() == 0)
            if (const auto a = lookup_account(user, why); a && ::lchown(path.c_str(), 0, a->gid) != 0)
                spdlog::warn("control: cannot give {} to group {}: {}", path, a->gid, std::strerror(errno));
        spdlog::info("control: listening on {}", path);
        return true;
    }

    // The JSON API and the control socket's commands, over the current site.
    // /metrics is on the HTTP port unless server.metrics.listen gives it
    // a listener of its own (start_metrics_listener).
    api make_api() {
        api a([this] { return current_->site; }, [this] { return leases_json_now(); }, lifecycle_.get(), &guard_);
        a.set_trace(trace_.get());
        const auto& m = current_->site->server.metrics;
        if (m.enabled && !m.listen_address) a.set_metrics([this] { return metrics_.expose(); });
        return a;
    }

    // server.metrics.listen: an HTTP server with no files that answers
    // /metrics only, under the same access rule (access.api.read_from).
    // Its own requests are not counted.
    bool start_metrics_listener() {
        const auto& m = current_->site->server.metrics;
        if (!m.enabled || !m.listen_address) return true;
        net::http_server_options o;
        o.listen_address = m.listen_address->to_string();
        o.port = m.listen_port;
        o.max_connections = 64;
        o.max_connections_per_client = 8;
        api only_metrics([this] { return current_->site; }, {}, nullptr, &guard_);
        only_metrics.set_metrics([this] { return metrics_.expose(); });
        auto no_files = std::make_shared<const fs::file_namespace>(std::vector<fs::mount>{}, nullptr);
        metrics_http_ = std::make_unique<net::http_server>(
            io_, o, [no_files] { return no_files; },
            [only_metrics](const net::http_api_request& request) {
                if (request.path != "metrics") {
                    net::http_api_reply r;
                    r.status = 404;
                    r.body = "{\"error\": \"only /metrics here\"}\n";
                    return r;
                }
                return only_metrics.handle(request);
            });
        try {
            metrics_http_->start();
        } catch (const std::exception& e) {
            spdlog::critical("metrics: cannot listen on {}:{}: {}", o.listen_address, o.port, e.what());
            return false;
        }
        spdlog::info("metrics: /metrics on {}:{}", o.listen_address, metrics_http_->port());
        return true;
    }

    std::string leases_json_now() const {
        if (!dhcp_) return std::string("[]\n");
        return leases_json(dhcp_->leases(), static_cast<std::int64_t>(std::time(nullptr)));
    }

    // Binds every enabled service; a port that cannot be bound is fatal:
    // half a PXE server is worse than a clear refusal to start.
    bool start_services() {
        const auto& srv = current_->site->server;
        raise_open_file_limit(srv.tftp.enabled ? 2 * std::size_t{srv.tftp.max_transfers} + 64 : 0);
        if (srv.tftp.enabled) {
            net::tftp_server_options o;
            o.transfers = &transfers_;
            if (!srv.tftp.look_ahead) o.transfer.look_ahead_after = 0;
            o.max_transfers = srv.tftp.max_transfers;
            o.max_transfers_per_client = srv.tftp.max_transfers_per_client;
            o.data_threads = srv.tftp.data_threads == inventory::tftp_settings::auto_data_threads
                                 ? net::tftp_server::default_data_threads()
                                 : srv.tftp.data_threads;
            poll_.set_budget(std::chrono::microseconds(srv.tftp.busy_poll_us));
            o.poll = &poll_;
            o.metrics = &metrics_;
            o.trace = client_trace();
            o.listen_address = srv.listen.to_string();
            o.port = srv.tftp.port;
            tftp_ = std::make_unique<net::tftp_server>(io_, o, [this] { return current_->files; });
            try {
                tftp_->start();
            } catch (const std::exception& e) {
                spdlog::critical("tftp: cannot listen on {}:{}: {}", o.listen_address, o.port, e.what());
                return false;
            }
            spdlog::info("tftp: listening on {}:{}, root {}; {}", o.listen_address, tftp_->port(), srv.tftp.root,
                         poll_describe());
        }
        if (srv.http.enabled && !start_http()) return false;
        if (!start_metrics_listener()) return false;
        if (srv.ftp.enabled) {
            net::ftp_server_options o;
            o.transfers = &transfers_;
            o.listen_address = srv.listen.to_string();
            o.port = srv.ftp.port;
            o.passive_first = srv.ftp.passive_first;
            o.passive_last = srv.ftp.passive_last;
            o.allow_active = srv.ftp.active_mode;
            o.max_sessions = srv.ftp.max_sessions;
            o.max_sessions_per_client = srv.ftp.max_sessions_per_client;
            o.passive_timeout = srv.ftp.passive_timeout;
            o.control_timeout = srv.ftp.idle_timeout;
            o.metrics = &metrics_;
            o.trace = client_trace();
            ftp_ = std::make_unique<net::ftp_server>(io_, o, [this] { return current_->files; });
            try {
                ftp_->start();
            } catch (const std::exception& e) {
                spdlog::critical("ftp: cannot listen on {}:{}: {}", o.listen_address, o.port, e.what());
                return false;
            }
            spdlog::info("ftp: listening on {}:{}, passive ports {}-{}", o.listen_address, ftp_->port(),
                         o.passive_first, o.passive_last);
        }
        return true;
    }

    // DHCP last: by the time a client gets an offer, the files it will ask
    // for are served.
    bool start_dhcp() {
        const auto& srv = current_->site->server;
        if (!srv.dhcp.enabled) return true;
        net::dhcp_server_options o;
        o.port = srv.dhcp.port;
        o.proxy_port = srv.dhcp.proxy_port;
        o.state_dir = srv.state_dir;
        if (const auto so = store_options(); so.kind == store::backend_kind::postgresql) {
            o.postgres = so.postgres;
            o.responder.shared_store = true;
        }
        o.metrics = &metrics_;
        if (trace_)
            o.trace = [this](trace::event&& e) {
                if (!trace_) return;
                // proxyDHCP: the site's DHCP server answers REQUESTs; that
                // pxed does not is no failure.
                if (!e.ok && e.what == "REQUEST" && current_->site->server.dhcp.mode == inventory::dhcp_mode::proxy) {
                    e.ok = true;
                    e.outcome = "left to the site's DHCP server (proxyDHCP)";
                    e.detail = e.detail.substr(0, e.detail.find(';'));
                }
                trace_->host_event(std::move(e), now_ms());
            };
        o.responder.no_boot_file = [this](const wire::mac_address& mac) {
            return lifecycle_->tracker().no_boot_file(mac);
        };
        dhcp_ = std::make_unique<net::dhcp_server>(io_, o, current_->site, current_->renderer);
        try {
            dhcp_->start();
        } catch (const std::exception& e) {
            spdlog::critical("dhcp: cannot start: {}", e.what());
            return false;
        }
        // The trace attributes files by the addresses pxed leased: those
        // bound before a restart too.
        if (trace_)
            for (const auto& l : dhcp_->leases())
                if (l.state == store::lease_state::bound && l.mac) trace_->learn(l.ip.value(), *l.mac);
        if (srv.dhcp.mode == inventory::dhcp_mode::proxy)
            spdlog::info("dhcp: proxyDHCP on ports {} and {}; another server hands out addresses", o.port, o.proxy_port);
        else if (o.postgres)
            spdlog::info("dhcp: listening on 0.0.0.0:{}, leases in PostgreSQL ({}), shared with other instances; "
                         "this one is {}",
                         o.port, o.postgres->conninfo, o.postgres->instance);
        else
            spdlog::info("dhcp: listening on 0.0.0.0:{}, leases in {}/{}", o.port, o.state_dir, store::lease_file_name);
        return true;
    }

    bool start_http() {
        const auto& srv = current_->site->server;
        net::http_server_options o;
        o.listen_address = srv.listen.to_string();
        o.port = srv.http.port;
        o.max_connections = srv.http.max_connections;
        o.max_connections_per_client = srv.http.max_connections_per_client;
        o.header_timeout = srv.http.header_timeout;
        o.min_rate = srv.http.min_rate;
        o.min_rate_window = srv.http.min_rate_window;
        o.metrics = &metrics_;
        o.trace = client_trace();
        // Leases as the running DHCP server holds them (the store is only
        // its copy on disk); none when DHCP is off or in proxy mode.
        o.transfers = &transfers_;
        const api json_api = make_api();
        dashboard_sources ds;
        ds.site = [this] { return current_; };
        ds.lifecycle = lifecycle_.get();
        ds.trace = trace_.get();
        ds.guard = &guard_;
        ds.leases = [this] { return dhcp_ ? dhcp_->leases() : std::vector<store::lease>{}; };
        ds.transfers = &transfers_;
        ds.status = [this] { return dashboard_status_now(); };
        dashboard_ = std::make_unique<dashboard>(std::move(ds));
        http_ = std::make_unique<net::http_server>(
            io_, o, [this] { return current_->files; },
            [json_api, this](const net::http_api_request& request) {
                // The dashboard's pages and data under /ui/, the API's the rest.
                if (request.path == "ui" || request.path.substr(0, 3) == "ui/") return dashboard_->handle(request);
                return json_api.handle(request);
            },
            [this](std::string_view path) { return explain_missing_document(*current_->site, path); });
        try {
            http_->start();
        } catch (const std::exception& e) {
            spdlog::critical("http: cannot listen on {}:{}: {}", o.listen_address, o.port, e.what());
            return false;
        }
        spdlog::info("http: listening on {}:{}", o.listen_address, http_->port());
        return true;
    }

    void stop_services() {
        lifecycle_timer_.cancel();
        trace_timer_.cancel();
        dashboard_timer_.cancel();
        if (control_) control_->stop();
        if (http_) http_->stop();
        if (metrics_http_) metrics_http_->stop();
        if (dhcp_) dhcp_->stop();
        if (tftp_) tftp_->stop();
        if (ftp_) ftp_->stop();
    }

    bool drop_privileges_after_binding() {
        const auto& srv = current_->site->server;
        const auto r = drop_privileges(srv.user, srv.state_dir);
        for (const auto& w : r.warnings) spdlog::warn("{}", w);
        switch (r.outcome) {
        case drop_outcome::not_configured:
            if (!r.message.empty()) spdlog::info("{}", r.message);
            return true;
        case drop_outcome::stayed: spdlog::warn("{}", r.message); return true;
        case drop_outcome::dropped: spdlog::info("{}", r.message); return true;
        case drop_outcome::failed: break;
        }
        spdlog::critical("{}", r.message);
        notify("STATUS=not started: " + r.message);
        return false;
    }

    std::string poll_describe() const {
        if (poll_.budget().count() == 0) return "busy poll off";
        if (!poll_.enabled()) return "busy poll off (one usable CPU)";
        return "busy poll for clients answering within " + std::to_string(poll_.budget().count()) + " us";
    }

    // What `systemctl status` shows beside the unit.
    std::string status_line() const {
        const auto& s = *current_->site;
        return "serving " + std::to_string(s.hosts.size()) + " host(s), " + std::to_string(s.profiles.size()) +
               " profile(s) from " + s.source_file;
    }

    void notify(const std::string& state) {
        if (!notifier_.notify(state)) spdlog::warn("systemd notification failed: {}", notifier_.error());
    }

    void wait_for_signal() {
        signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
            if (ec) return;
            if (signo == SIGHUP) {
                reload_notified("SIGHUP", {});
                wait_for_signal();
                return;
            }
            spdlog::info("received {}, shutting down", signo == SIGINT ? "SIGINT" : "SIGTERM");
            notify("STOPPING=1\nSTATUS=shutting down");
            io_.stop();
        });
    }

    // `pxed reload` (systemd's ExecReload): the caller waits for the verdict.
    void reload_for(const std::string& who, net::control_server::reply_fn reply) {
        reload_notified("control: " + who, [reply = std::move(reply)](const reload_verdict& v) {
            reply(control_reply(v.ok, v.message, v.details));
        });
    }

    using verdict_fn = std::function<void(const reload_verdict&)>;

    // systemd hears of the reload either way (RELOADING=1, then READY=1:
    // a rejected config leaves the old one serving, so the service is ready
    // again); whether it failed is ExecReload's exit status and STATUS=.
    //
    // The new site is loaded, validated and built on a worker thread while
    // this loop goes on serving from the old one (docs/site-yaml.md,
    // "Large inventories"); apply_reload() swaps it in here, on the loop,
    // in one assignment. A reload asked for while one is being prepared
    // runs after it (the file may have changed again), once for all who
    // asked in the meantime.
    void reload_notified(const std::string& asked_by, verdict_fn done) {
        if (done) reload_waiters_.push_back(std::move(done));
        if (reload_running_) {
            reload_again_ = true;
            spdlog::info("reload ({}) queued behind the one being prepared", asked_by);
            return;
        }
        start_reload(asked_by);
    }

    // What a reload worker hands back to the loop: the new site and
    // everything the swap needs that walks its hosts, so that the swap
    // costs the hosts that changed, not the inventory.
    struct prepared_reload {
        site_load_result result;
        std::string changes;  // describe_changes(old, new)
        std::vector<trace::event> trace_events;  // documents changed, per host
        lifecycle::reload_plan lifecycle;  // hosts new, renamed or removed
        std::shared_ptr<const trace_service::site_view> trace_view;
        std::vector<wire::mac_address> moved;  // hosts added or removed: the trace's pools
        std::shared_ptr<const dhcp::reserved_addresses> dhcp_reserved;  // the DHCP server's, when it runs
    };

    void start_reload(const std::string& asked_by) {
        notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()) + "\nSTATUS=reloading " +
               config_path_);
        spdlog::info("reloading {} ({})", config_path_, asked_by);
        reload_running_ = true;
        reload_again_ = false;
        auto waiters = std::move(reload_waiters_);
        reload_waiters_.clear();
        if (reload_worker_.joinable()) reload_worker_.join();  // finished: it posted its result
        // The worker gets its inputs by value and touches nothing of the
        // loop's: the old site is immutable and shared, the status source
        // is only stored in the new documents (asked at request time).
        reload_worker_ = std::thread([this, path = config_path_, status = lifecycle_->status_source(), old = current_,
                                      followed = lifecycle_->site(), traced = trace_ != nullptr,
                                      serves_dhcp = dhcp_ != nullptr, waiters = std::move(waiters)]() mutable {
            auto p = std::make_shared<prepared_reload>();
            try {
                p->result = load_site(path, {}, std::move(status));
                if (p->result.loaded) {
                    const auto& site = p->result.loaded->site;
                    p->changes = describe_changes(*old->site, *site);
                    p->lifecycle = lifecycle::plan_reload(std::move(followed), site);
                    if (serves_dhcp) p->dhcp_reserved = dhcp::reserved_addresses::of(*site);
                    if (traced) {
                        p->trace_events = documents_changed(*old, *p->result.loaded);
                        p->trace_view = trace_service::index(site);
                        p->moved = p->lifecycle.removed;
                        for (const auto i : p->lifecycle.touched) p->moved.push_back(site->hosts[i].mac);
                    }
                }
            } catch (const std::exception& e) {
                p->result.loaded.reset();
                p->result.diagnostics.push_back(
                    {inventory::severity::error, {path, 0, 0}, std::string("reload failed: ") + e.what()});
            }
            old.reset();
            boost::asio::post(io_, [this, p = std::move(p), waiters = std::move(waiters)]() mutable {
                reload_running_ = false;
                // Wall time, and the loop thread's own CPU time (what a
                // busy machine's scheduling does not inflate).
                const auto t0 = std::chrono::steady_clock::now();
                const auto c0 = thread_cpu_us();
                graveyard garbage;
                const auto v = apply_reload(*p, garbage);
                garbage.push_back(std::move(p));
                dispose(std::move(garbage));
                spdlog::debug("reload: the swap took {} us on the event loop ({} us of its CPU)",
                              std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::steady_clock::now() - t0)
                                  .count(),
                              thread_cpu_us() - c0);
                for (const auto& w : waiters) w(v);
                if (reload_again_) start_reload("queued");
            });
        });
    }

    static std::int64_t thread_cpu_us() {
        timespec ts{};
        ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
    }

    // What a swap replaced: the old site, its documents and indexes, the
    // worker's plan. Freeing 100,000 hosts' strings takes a while, so the
    // last references go to a thread of their own (dispose), not the loop.
    using graveyard = std::vector<std::shared_ptr<const void>>;

    // The last reload's reaper may still be freeing its site (reloads in
    // quick succession): the new one waits for it, not the loop.
    void dispose(graveyard garbage) {
        reaper_ = std::thread([previous = std::move(reaper_), garbage = std::move(garbage)]() mutable {
            if (previous.joinable()) previous.join();
            garbage.clear();
        });
    }

    reload_verdict apply_reload(prepared_reload& p, graveyard& garbage) {
        auto v = reload(p, garbage);
        daemon_metrics_.reloaded(v.ok);
        last_reload_ = dashboard_status::reload{static_cast<std::int64_t>(std::time(nullptr)), v.ok, v.message, v.details};
        if (v.ok && dashboard_) dashboard_->site_changed();
        if (v.ok) daemon_metrics_.config_loaded(current_->site->fingerprint, static_cast<std::int64_t>(std::time(nullptr)));
        notify("READY=1\nSTATUS=" + status_line() + (v.ok ? "" : " (last reload rejected: " + v.message + ")"));
        return v;
    }

    reload_verdict reload(prepared_reload& p, graveyard& garbage) {
        reload_verdict v;
        auto& r = p.result;
        log_diagnostics(r.diagnostics);
        for (const auto& d : r.diagnostics) v.details.push_back(d.to_string());
        if (!r.loaded) {
            const auto errors = std::count_if(r.diagnostics.begin(), r.diagnostics.end(), [](const auto& d) {
                return d.level == inventory::severity::error;
            });
            v.message = config_path_ + ": " + std::to_string(errors) +
                        " error(s); reload failed; still serving the configuration loaded before";
            spdlog::error("{}", v.message);
            return v;
        }
        // Warnings from here on go to the log and to whoever asked.
        const auto warn = [&v](std::string text) {
            spdlog::warn("{}", text);
            v.details.push_back(std::move(text));
        };
        const auto& old_srv = current_->site->server;
        const auto& new_srv = r.loaded->site->server;
        if (old_srv.log.level != new_srv.log.level || old_srv.log.format != new_srv.log.format ||
            old_srv.log.file != new_srv.log.file) {
            try {
                apply_logging(new_srv.log);
            } catch (const std::exception& e) {
                warn(std::string("reload: cannot open the new log file (") + e.what() + "); keeping the old logging");
            }
        }
        // Sockets stay as bound at start; files, menus and hosts change now.
        if (old_srv.listen != new_srv.listen || old_srv.tftp.enabled != new_srv.tftp.enabled ||
            old_srv.tftp.port != new_srv.tftp.port || old_srv.tftp.look_ahead != new_srv.tftp.look_ahead ||
            old_srv.tftp.max_transfers != new_srv.tftp.max_transfers ||
            old_srv.tftp.max_transfers_per_client != new_srv.tftp.max_transfers_per_client ||
            old_srv.tftp.data_threads != new_srv.tftp.data_threads)
            warn("reload: changes to server.listen or server.tftp's port, look_ahead and max_transfers "
                 "(per_client) and data_threads take effect after a restart");
        const auto &oh = old_srv.http, &nh = new_srv.http;
        if (oh.enabled != nh.enabled || oh.port != nh.port || oh.max_connections != nh.max_connections ||
            oh.max_connections_per_client != nh.max_connections_per_client || oh.header_timeout != nh.header_timeout ||
            oh.min_rate != nh.min_rate || oh.min_rate_window != nh.min_rate_window)
            warn("reload: changes to server.http take effect after a restart");
        const auto &of = old_srv.ftp, &nf = new_srv.ftp;
        if (of.enabled != nf.enabled || of.port != nf.port || of.passive_first != nf.passive_first ||
            of.passive_last != nf.passive_last || of.active_mode != nf.active_mode || of.max_sessions != nf.max_sessions ||
            of.max_sessions_per_client != nf.max_sessions_per_client || of.passive_timeout != nf.passive_timeout ||
            of.idle_timeout != nf.idle_timeout)
            warn("reload: changes to server.ftp take effect after a restart");
        if (old_srv.dhcp.enabled != new_srv.dhcp.enabled || old_srv.dhcp.mode != new_srv.dhcp.mode ||
            old_srv.dhcp.port != new_srv.dhcp.port || old_srv.state_dir != new_srv.state_dir)
            warn("reload: changes to server.dhcp's mode, port or server.state_dir take effect after a restart");
        if (old_srv.store.backend != new_srv.store.backend || old_srv.store.conninfo != new_srv.store.conninfo ||
            old_srv.store.password_file != new_srv.store.password_file || old_srv.store.instance != new_srv.store.instance)
            warn("reload: changes to server.store take effect after a restart");
        poll_.set_budget(std::chrono::microseconds(new_srv.tftp.busy_poll_us));
        lifecycle_->reload(p.lifecycle, static_cast<std::int64_t>(std::time(nullptr)));
        // The swap: every request from here on sees the new site.
        garbage.push_back(std::exchange(current_, r.loaded));
        if (trace_) {
            const auto now = now_ms();
            for (auto& e : p.trace_events) trace_->host_event(std::move(e), now);
            garbage.push_back(trace_->set_site(std::move(p.trace_view), p.moved));
        }
        if (dhcp_) garbage.push_back(dhcp_->update(current_->site, current_->renderer, std::move(p.dhcp_reserved)));
        log_summary(*current_, "reloaded");
        v.ok = true;
        v.message = "reloaded " + config_path_ + ": " + (p.changes.empty() ? "no host, profile or tree added or removed" : p.changes);
        if (!p.changes.empty()) spdlog::info("reload: {}", p.changes);
        return v;
    }

    // Each host whose documents a reload changed gets a line in its trace
    // saying which: "why does it boot something else since this morning?"
    // Runs on the reload worker: the renderers are immutable (each
    // compiled template renders under its own lock).
    static std::vector<trace::event> documents_changed(const loaded_site& before, const loaded_site& after) {
        std::vector<trace::event> out;
        const auto diff = [&](const inventory::host& old, const inventory::host& h) {
            std::string changed;
            for (const auto& [kind, name] : {std::pair{render::document_kind::pxelinux, "pxelinux"},
                                              {render::document_kind::grub, "GRUB"},
                                              {render::document_kind::ipxe, "iPXE"},
                                              {render::document_kind::kickstart, "kickstart"}}) {
                const auto a = before.renderer->host_config(kind, old);
                const auto b = after.renderer->host_config(kind, h);
                if (a.ok() != b.ok() || a.text != b.text) changed += (changed.empty() ? "" : ", ") + std::string(name);
            }
            return changed;
        };
        // A host whose own entry did not change changes its documents as
        // every unchanged host of its kind does (host_kind: templates do
        // not branch on a name or address): one rendering per kind, not
        // per host (100,000 hosts, one profile: one).
        std::unordered_map<std::string, std::string> by_kind;
        for (const auto& h : after.site->hosts) {
            const auto* old = before.site->find_host(h.mac);
            if (!old) continue;
            std::string changed;
            auto kind = after.renderer->host_kind(h, true);
            if (old->hostname == h.hostname && old->ip == h.ip && before.renderer->host_kind(*old, true) == kind) {
                auto [it, first] = by_kind.try_emplace(std::move(kind));
                if (first) it->second = diff(*old, h);
                changed = it->second;
            } else {
                changed = diff(*old, h);
            }
            if (changed.empty()) continue;
            trace::event e;
            e.k = trace::kind::reload;
            e.mac = h.mac;
            e.what = "documents";
            e.outcome = "changed: " + changed;
            e.detail = old->profile != h.profile ? "profile " + old->profile + " -> " + h.profile : "";
            out.push_back(std::move(e));
        }
        return out;
    }

    std::string config_path_;
    // One thread runs every socket and timer, and signals reach it through
    // Asio's own self-pipe, so the reactor needs no locks. The scheduler
    // keeps its lock: a reload worker hands its result back with post().
    boost::asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    boost::asio::signal_set signals_;
    net::busy_poll poll_;  // budget set from server.tftp.busy_poll_us
    std::shared_ptr<const loaded_site> current_;
    service_notifier notifier_;  // connects at construction, while still root
    // Before the servers, which count into it: destroyed after them.
    metrics::registry metrics_;
    net::transfer_board transfers_;  // the transfers running now, for the dashboard
    std::int64_t started_at_ = static_cast<std::int64_t>(std::time(nullptr));
    std::optional<dashboard_status::reload> last_reload_;
    daemon_metrics daemon_metrics_{metrics_, PXED_VERSION, static_cast<std::int64_t>(std::time(nullptr))};
    // Before the servers and the lifecycle, which tell it; run() ends it
    // early (writing what is left), so every caller checks it is there.
    std::unique_ptr<trace_service> trace_;
    // Declared after io_: destroyed before it.
    std::unique_ptr<net::tftp_server> tftp_;
    std::unique_ptr<net::http_server> http_;
    std::unique_ptr<net::http_server> metrics_http_;  // server.metrics.listen
    std::unique_ptr<net::dhcp_server> dhcp_;
    std::unique_ptr<net::ftp_server> ftp_;
    std::unique_ptr<net::control_server> control_;
    access_guard guard_;  // before lifecycle_, which points to it
    mutable net::neighbour_map arp_table_;  // /proc/net/arp as last read (proxyDHCP, DHCP off)
    mutable std::chrono::steady_clock::time_point arp_read_at_{};
    std::unique_ptr<lifecycle_service> lifecycle_;
    boost::asio::steady_timer lifecycle_timer_;
    boost::asio::steady_timer trace_timer_;
    boost::asio::steady_timer dashboard_timer_;
    // After the lifecycle and the trace it reads: destroyed before them.
    std::unique_ptr<dashboard> dashboard_;
    // The reload being prepared off the loop (start_reload), and who waits.
    std::thread reload_worker_;
    std::thread reaper_;  // frees what the last swap replaced (dispose)
    bool reload_running_ = false;
    bool reload_again_ = false;
    std::vector<verdict_fn> reload_waiters_;
};

}  // namespace

int run_daemon(const std::string& config_path) {
    daemon d(config_path);
    return d.run();
}

}  // namespace pxed::app
