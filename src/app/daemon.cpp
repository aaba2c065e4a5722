// The only app translation unit that includes Asio.

#include "pxed/app/daemon.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <filesystem>

#include "pxed/app/logging.hpp"
#include "pxed/app/site_loader.hpp"
#include "pxed/net/dhcp_server.hpp"
#include "pxed/net/tftp_server.hpp"

namespace pxed::app {
namespace {

void log_diagnostics(const std::vector<inventory::diagnostic>& diags) {
    for (const auto& d : diags) {
        if (d.level == inventory::severity::error)
            spdlog::error("{}", d.to_string());
        else
            spdlog::warn("{}", d.to_string());
    }
}

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
    explicit daemon(std::string config_path) : config_path_(std::move(config_path)), signals_(io_) {}

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
        if (!prepare_state_dir()) return 1;
        if (!start_services() || !start_dhcp()) return 1;
        log_summary(*current_, "serving");
        report_services();

        signals_.add(SIGINT);
        signals_.add(SIGTERM);
        signals_.add(SIGHUP);
        wait_for_signal();
        io_.run();
        stop_services();
        spdlog::info("stopped");
        return 0;
    }

private:
    bool prepare_state_dir() {
        std::error_code ec;
        const auto& dir = current_->site->server.state_dir;
        std::filesystem::create_directories(dir, ec);
        if (ec) {
            spdlog::critical("cannot create state directory {}: {}", dir, ec.message());
            return false;
        }
        return true;
    }

    // Binds every enabled service; a port that cannot be bound is fatal:
    // half a PXE server is worse than a clear refusal to start.
    bool start_services() {
        const auto& srv = current_->site->server;
        if (srv.tftp.enabled) {
            net::tftp_server_options o;
            o.listen_address = srv.listen.to_string();
            o.port = srv.tftp.port;
            tftp_ = std::make_unique<net::tftp_server>(io_, o, [this] { return current_->files; });
            try {
                tftp_->start();
            } catch (const std::exception& e) {
                spdlog::critical("tftp: cannot listen on {}:{}: {}", o.listen_address, o.port, e.what());
                return false;
            }
            spdlog::info("tftp: listening on {}:{}, root {}", o.listen_address, tftp_->port(), srv.tftp.root);
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
        dhcp_ = std::make_unique<net::dhcp_server>(io_, o, current_->site, current_->renderer);
        try {
            dhcp_->start();
        } catch (const std::exception& e) {
            spdlog::critical("dhcp: cannot start: {}", e.what());
            return false;
        }
        if (srv.dhcp.mode == inventory::dhcp_mode::proxy)
            spdlog::info("dhcp: proxyDHCP on ports {} and {}; another server hands out addresses", o.port, o.proxy_port);
        else
            spdlog::info("dhcp: listening on 0.0.0.0:{}, leases in {}/{}", o.port, o.state_dir, store::lease_file_name);
        return true;
    }

    void stop_services() {
        if (dhcp_) dhcp_->stop();
        if (tftp_) tftp_->stop();
    }

    void report_services() {
        const auto& srv = current_->site->server;
        // Honest about what this build does: the protocol servers land one
        // issue at a time, and an operator must not believe a port is served.
        std::string pending;
        if (srv.http.enabled) pending += " http";
        if (srv.ftp.enabled) pending += " ftp";
        if (!pending.empty())
            spdlog::warn("enabled in the config but not served by this build yet:{}", pending);
    }

    void wait_for_signal() {
        signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
            if (ec) return;
            if (signo == SIGHUP) {
                reload();
                wait_for_signal();
                return;
            }
            spdlog::info("received {}, shutting down", signo == SIGINT ? "SIGINT" : "SIGTERM");
            io_.stop();
        });
    }

    void reload() {
        spdlog::info("SIGHUP: reloading {}", config_path_);
        auto r = load_site(config_path_);
        log_diagnostics(r.diagnostics);
        if (!r.loaded) {
            spdlog::error("reload failed; still serving the configuration loaded before");
            return;
        }
        const auto& old_srv = current_->site->server;
        const auto& new_srv = r.loaded->site->server;
        if (old_srv.log.level != new_srv.log.level || old_srv.log.format != new_srv.log.format ||
            old_srv.log.file != new_srv.log.file) {
            try {
                apply_logging(new_srv.log);
            } catch (const std::exception& e) {
                spdlog::error("reload: cannot open the new log file ({}); keeping the old logging", e.what());
            }
        }
        // Sockets stay as bound at start; files, menus and hosts change now.
        if (old_srv.listen != new_srv.listen || old_srv.tftp.enabled != new_srv.tftp.enabled ||
            old_srv.tftp.port != new_srv.tftp.port)
            spdlog::warn("reload: changes to server.listen or server.tftp's port take effect after a restart");
        if (old_srv.dhcp.enabled != new_srv.dhcp.enabled || old_srv.dhcp.mode != new_srv.dhcp.mode ||
            old_srv.dhcp.port != new_srv.dhcp.port || old_srv.state_dir != new_srv.state_dir)
            spdlog::warn("reload: changes to server.dhcp's mode, port or server.state_dir take effect after a restart");
        current_ = r.loaded;
        if (dhcp_) dhcp_->update(current_->site, current_->renderer);
        log_summary(*current_, "reloaded");
    }

    std::string config_path_;
    // One thread runs everything, and signals reach it through Asio's own
    // self-pipe, so the scheduler and reactor need no locks. (A per-packet
    // saving in principle; on this VM it was lost in run-to-run noise.)
    boost::asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE};
    boost::asio::signal_set signals_;
    std::shared_ptr<const loaded_site> current_;
    // Declared after io_: destroyed before it.
    std::unique_ptr<net::tftp_server> tftp_;
    std::unique_ptr<net::dhcp_server> dhcp_;
};

}  // namespace

int run_daemon(const std::string& config_path) {
    daemon d(config_path);
    return d.run();
}

}  // namespace pxed::app
