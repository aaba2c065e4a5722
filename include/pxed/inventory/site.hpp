#pragma once
/// The site model: what one site.yaml describes, validated and immutable.
/// Built by inventory::load_*; shared read-only (std::shared_ptr<const site>)
/// by every server, so a reload swaps the whole model at once.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "pxed/inventory/diagnostic.hpp"
#include "pxed/wire/ipv4.hpp"
#include "pxed/wire/mac.hpp"

namespace pxed::inventory {

using seconds = std::chrono::seconds;

/// A template variable from `vars:`: a string, a list or a map, as in YAML.
struct value {
    using list = std::vector<value>;
    using object = std::vector<std::pair<std::string, value>>;
    std::variant<std::string, list, object> data;
};
using variables = std::map<std::string, value>;

struct log_settings {
    std::string level = "info";  ///< trace, debug, info, warn, error, critical, off
    std::string format = "text"; ///< text or json
    std::string file;            ///< empty: stderr (journald picks it up)
};

enum class dhcp_mode { server, proxy };

struct dhcp_settings {
    bool enabled = true;
    dhcp_mode mode = dhcp_mode::server;
    std::uint16_t port = 67;
    std::uint16_t proxy_port = 4011;  ///< PXE boot server port (proxyDHCP)
    std::vector<std::string> interfaces;
    /// Relay agents whose relayed packets (giaddr set) are answered, by
    /// source address; empty: no relayed packet is (docs/security.md).
    std::vector<wire::ipv4_network> relay_agents;
    /// New clients (no lease, no reservation) one relay agent or interface
    /// may bring per second, with a burst; the rest wait (their DISCOVER
    /// goes unanswered).
    unsigned new_clients_per_second = 50;
    unsigned new_clients_burst = 500;
    /// Share of a subnet's dynamic addresses that DHCPDECLINEs may take out
    /// of the pool at once, in percent.
    unsigned quarantine_max_percent = 10;
};

struct tftp_settings {
    bool enabled = true;
    std::uint16_t port = 69;
    std::string root;  ///< absolute after loading
    /// After repeated timeouts, send the blocks after the unanswered ones
    /// (docs/tftp.md). Off for clients that ACK stray block numbers
    /// (syslinux 3.x's assembly pxelinux).
    bool look_ahead = true;
    /// Poll for up to this many microseconds, instead of sleeping, for the
    /// ACK of a client whose measured round trip is within it
    /// (docs/tftp.md). 0: never.
    unsigned busy_poll_us = 50;
    /// Transfers at once, all clients together; the rest get "server busy".
    unsigned max_transfers = 4096;
    /// Transfers at once from one client address, whatever its source
    /// ports (docs/security.md, TFTP).
    unsigned max_transfers_per_client = 16;
    /// Threads carrying the transfers' DATA and ACKs (docs/tftp.md, "Data
    /// threads"); 0 or 1: all on the event loop. auto_data_threads: the
    /// CPUs, at most 4.
    static constexpr unsigned auto_data_threads = ~0u;
    unsigned data_threads = auto_data_threads;
};

struct http_settings {
    bool enabled = true;
    std::uint16_t port = 80;
    /// Connections at once; at the cap the most idle or slowest one is
    /// closed to make room (docs/security.md).
    unsigned max_connections = 1024;
    /// Connections at once from one client address; more get 503.
    unsigned max_connections_per_client = 32;
    /// From the first byte of a request to the end of its header, in total.
    seconds header_timeout{20};
    /// A response slower than this many bytes per second, averaged over
    /// min_rate_window, is abandoned; 0: no minimum.
    unsigned min_rate = 1024;
    seconds min_rate_window{30};
};

struct ftp_settings {
    bool enabled = true;
    std::uint16_t port = 21;
    std::uint16_t passive_first = 30000;
    std::uint16_t passive_last = 30100;
    /// PORT/EPRT. Off: in active mode the server connects out to an
    /// address the client names (only the client's own is accepted).
    bool active_mode = false;
    /// Sessions at once, in all and from one client address.
    unsigned max_sessions = 1024;
    unsigned max_sessions_per_client = 8;
    /// A passive listener nobody connects to is closed after this, and its
    /// port goes back to the pool.
    seconds passive_timeout{30};
    /// A session with no command (or whose replies go unread) this long is closed.
    seconds idle_timeout{300};
};

/// Prometheus metrics (docs/metrics.md): GET /metrics, from the networks
/// of access.api.read_from, like the API's reads.
struct metrics_settings {
    bool enabled = true;
    /// A listener of its own ("10.0.0.1:9172"); unset: the HTTP server's port.
    std::optional<wire::ipv4_address> listen_address;
    std::uint16_t listen_port = 0;
};

/// The live web dashboard at /ui/ on the HTTP server (docs/dashboard.md),
/// read from the networks of access.api.read_from, like the API.
struct dashboard_settings {
    bool enabled = true;
    /// Live streams (browser tabs) at once, all clients together; and per
    /// client address.
    unsigned max_streams = 32;
    unsigned max_streams_per_client = 4;
    /// A signed-in session ends after this long without a request, and
    /// after max_session_age in any case.
    seconds session_idle{std::chrono::minutes(30)};
    seconds session_max_age{std::chrono::hours(12)};
};

/// The per-host boot trace (docs/troubleshooting.md).
struct trace_settings {
    bool enabled = true;
    unsigned per_host = 1000;      ///< events kept per inventory host
    unsigned total = 100000;       ///< events kept of all inventory hosts
    unsigned unknown_hosts = 2000; ///< MACs outside the inventory kept (20 events each)
};

enum class store_backend { sqlite, postgresql };

/// server.store (docs/multi-instance.md): where leases (and, as the
/// backends grow, host state and the trace) live.
struct store_settings {
    store_backend backend = store_backend::sqlite;
    /// libpq connection string; no password in it (password_file).
    std::string conninfo;
    std::string password_file;
    /// This instance's name in the shared database; default: the host name.
    std::string instance;
    source_location where;
};

struct server_settings {
    wire::ipv4_address address;  ///< advertised: next-server, URLs in rendered files
    wire::ipv4_address listen;   ///< bind address of TFTP/HTTP/FTP; 0.0.0.0 = all
    std::string state_dir = "/var/lib/pxed";
    std::string user;       ///< drop privileges to this user after binding; empty = stay
    std::string templates;  ///< site template directory overriding the shipped ones
    log_settings log;
    dhcp_settings dhcp;
    tftp_settings tftp;
    http_settings http;
    ftp_settings ftp;
    metrics_settings metrics;
    dashboard_settings dashboard;
    trace_settings trace;
    store_settings store;
};

struct subnet {
    wire::ipv4_network network;
    std::vector<wire::ipv4_range> ranges;
    std::vector<wire::ipv4_address> routers;
    std::vector<wire::ipv4_address> dns;
    std::string domain;
    seconds lease_time{std::chrono::hours(12)};
    seconds max_lease_time{std::chrono::hours(24)};
    std::optional<wire::ipv4_address> next_server;  ///< defaults to server.address
    bool authoritative = true;
    bool relay_only = false;  ///< only reached through a relay agent (giaddr)
    source_location where;

    bool in_dynamic_range(wire::ipv4_address a) const;
};

/// boot.secure_boot: the signed shim and GRUB pxed serves itself, straight
/// from these files (absolute paths; both empty = off; docs/boot-paths.md).
struct secure_boot_files {
    std::string shim;  ///< served at boot.uefi-x64
    std::string grub;  ///< served as grubx64.efi beside it, where shim looks
    source_location where;

    bool on() const { return !shim.empty(); }
};

/// The name shim loads its second stage by, from its own directory
/// (DEFAULT_LOADER in shim's Makefile; Debian's and EL's shims alike).
inline constexpr const char* shim_second_stage_name = "grubx64.efi";

/// Boot file per client architecture (DHCP option 93, RFC 4578).
struct boot_files {
    std::string bios = "pxelinux.0";
    std::string uefi_x64 = "grubx64.efi";
    std::string uefi_ia32;
    std::string uefi_arm64 = "grubaa64.efi";
    /// URL (a mustache template) that iPXE clients chain to; empty = no chaining,
    /// iPXE is then treated as the plain PXE ROM of its architecture.
    std::string ipxe;
    /// URL (a mustache template) for UEFI HTTP Boot clients (vendor class
    /// "HTTPClient"), unless their profile or host names one; {{boot_file}} is
    /// uefi_x64 or uefi_arm64 by the client's architecture. Defaults to
    /// {{http_url}}/{{boot_file}} when HTTP is on; empty = off.
    std::string uefi_http;
    std::string grub_dir;  ///< where GRUB looks for grub.cfg, relative to the TFTP root
    /// GRUB commands that load the kernel: EL7's GRUB on UEFI needs linuxefi/initrdefi,
    /// upstream GRUB 2.04+ uses linux/initrd everywhere (boot.grub_commands).
    std::string grub_linux = "linuxefi";
    std::string grub_initrd = "initrdefi";
    /// Off unless set; when on, uefi_x64 defaults to shimx64.efi.
    secure_boot_files secure_boot;

    /// Where pxed serves the secure-boot GRUB: grubx64.efi in uefi_x64's directory.
    std::string secure_boot_grub() const {
        const auto slash = uefi_x64.rfind('/');
        return (slash == std::string::npos ? std::string{} : uefi_x64.substr(0, slash + 1)) + shim_second_stage_name;
    }
};

enum class tree_protocol { http, ftp };

struct tree {
    std::string name;
    std::string path;  ///< directory on disk, absolute after loading
    std::string url;   ///< URL path, "/pub/centos/7/x86_64"
    tree_protocol protocol = tree_protocol::http;  ///< scheme of {{tree_url}}
    source_location where;
};

/// Where a host is in its life (docs/lifecycle.md): what pxed does with the
/// hosts of site.yaml, set at the top level and overridden per profile and
/// per host.
enum class new_host_state { pending, installed };
enum class install_end { callback, kickstart };
enum class timeout_action { local, install };
enum class installed_pxe { answer, none };

struct lifecycle_policy {
    /// What a host that appears in site.yaml starts as: `installed` adopts a
    /// rack that is already installed without reinstalling it.
    new_host_state new_hosts = new_host_state::pending;
    /// How pxed learns an install finished: the kickstart's %post calls the
    /// install-done URL (callback), or the host's kickstart being fetched
    /// ends it at once (kickstart: server-side one-shot).
    install_end install_done = install_end::callback;
    /// An install not done after this long is marked failed.
    seconds install_timeout{std::chrono::hours(4)};
    /// What a failed host boots next: the local disk, or the installer again.
    timeout_action on_timeout = timeout_action::local;
    /// What DHCP tells an installed host's firmware: the usual boot file
    /// (its boot loader then gets a local-boot config), or no boot file at
    /// all, so the firmware goes on to its next boot device.
    installed_pxe when_installed = installed_pxe::answer;
};

/// The part of a lifecycle policy a profile or host sets; unset fields
/// come from the level above.
struct lifecycle_overrides {
    std::optional<new_host_state> new_hosts;
    std::optional<install_end> install_done;
    std::optional<seconds> install_timeout;
    std::optional<timeout_action> on_timeout;
    std::optional<installed_pxe> when_installed;
    void apply_to(lifecycle_policy& p) const;
};

const char* to_string(new_host_state v);
const char* to_string(install_end v);
const char* to_string(timeout_action v);
const char* to_string(installed_pxe v);

/// Who gets a host's own documents (docs/security.md): its boot configs
/// and its kickstart.
enum class host_document_access {
    /// Boot configs only to the host's address; the kickstart to its
    /// address or with its install token (the default).
    address_or_token,
    /// Boot configs to the host's address; the kickstart needs both.
    address_and_token,
    /// Anyone who names the document (the classic PXE server): explicit only.
    open,
};
const char* to_string(host_document_access v);

/// An API key: a bearer token from server.api.keys_file, named so the
/// log says who did what.
struct api_key {
    std::string name;
    std::string secret;
};

/// `access:` in site.yaml.
struct access_settings {
    host_document_access host_documents = host_document_access::address_or_token;
    /// Networks whose clients may read the JSON API (GET). The install-done
    /// callback is allowed from anywhere: its token is its proof.
    std::vector<wire::ipv4_network> api_read_from;
    /// Show hosts' and profiles' template variables in the JSON API.
    bool api_show_variables = false;
    /// Names clients may put in the Host field of the API's reads and the
    /// dashboard's requests, besides addresses, localhost and this
    /// machine's name (a guard against DNS rebinding).
    std::vector<std::string> api_host_names;
    /// Where the API keys were read from ("" = none: no state changes over HTTP).
    std::string api_keys_file;
    std::vector<api_key> api_keys;
    source_location where;
};

/// A secret value for the templates (`secrets:` of a profile or a host),
/// usually read from a file of its own (docs/security.md). Rendered only
/// into a host's own documents, as {{secrets.<name>}}.
struct secret {
    std::string value;
    std::string file;  ///< absolute path it was read from; empty: written in site.yaml
    source_location where;
};
using secrets = std::map<std::string, secret>;

/// The CPU a profile's kernel is built for (profile `arch:`), named as
/// GRUB's $grub_cpu names it: it picks the GRUB commands of the profile's
/// documents and which firmware's menus list it (docs/boot-paths.md, ARM64).
enum class cpu_arch { x86_64, arm64 };
const char* to_string(cpu_arch a);

struct profile {
    std::string name;
    std::string label;
    std::string inherits;
    std::string tree;
    /// Paths in pxed's file namespace: in the TFTP root, or under the
    /// tree's url when taken from the tree (`tree:PATH` or left out).
    std::string kernel;
    std::string initrd;
    bool kernel_from_tree = false;  ///< kernel is the tree's own file, served from its mount
    bool initrd_from_tree = false;
    std::string append;     ///< kernel arguments, a mustache template
    std::string kickstart;  ///< template name under kickstart/; empty = none
    cpu_arch arch = cpu_arch::x86_64;  ///< `arch:`, inherited like the other fields
    variables vars;
    secrets secret_values;          ///< `secrets:`, inherited per name
    lifecycle_overrides lifecycle;  ///< inherited like the other fields
    /// The UEFI HTTP Boot URL template of its hosts, or "off"; empty: boot.uefi_http.
    std::string uefi_http;
    source_location where;
};

struct host {
    wire::mac_address mac;
    std::string hostname;
    std::optional<wire::ipv4_address> ip;
    std::string profile;
    bool netboot = true;  ///< false: boot from local disk, whatever its state
    variables vars;
    secrets secret_values;  ///< `secrets:`; a name here wins over the profile's
    lifecycle_overrides lifecycle;
    /// Its own UEFI HTTP Boot URL template, or "off"; empty: its profile's.
    std::string uefi_http;
    source_location where;
};

enum class unknown_policy { menu, local, ignore };

struct menu_settings {
    std::string title = "PXE boot menu";
    seconds timeout{30};
    std::string default_entry = "local";
    std::vector<std::string> entries;  ///< profile names and "local"
    unknown_policy unknown_hosts = unknown_policy::menu;
    std::string ui = "menu.c32";  ///< or vesamenu.c32
};

/// The reserved menu entry that boots from the local disk.
inline constexpr const char* local_entry = "local";

struct site {
    std::string source_file;  ///< absolute path of the YAML file
    /// FNV-1a-64 (16 hex digits) of the YAML text as loaded, with the value
    /// of every secret written in it masked: tells configurations apart
    /// (pxed_config_info) without being a function of a secret. Empty when
    /// a secret's value could not be found verbatim to mask (escapes in a
    /// double-quoted string).
    std::string fingerprint;
    std::int64_t loaded_at = 0;  ///< Unix seconds; the mtime of rendered documents
    server_settings server;
    std::vector<subnet> subnets;
    boot_files boot;
    std::map<std::string, tree> trees;
    std::map<std::string, profile> profiles;  ///< with inheritance already applied
    std::vector<host> hosts;
    menu_settings menu;
    lifecycle_policy lifecycle;  ///< the top-level `lifecycle:`
    access_settings access;      ///< the top-level `access:`

    /// The policy in force for a host: the top level, its profile's, its own.
    lifecycle_policy lifecycle_for(const host& h) const;

    const host* find_host(const wire::mac_address& mac) const;
    const host* find_host_by_name(const std::string& hostname) const;
    const profile* find_profile(const std::string& name) const;
    const tree* find_tree(const std::string& name) const;
    /// The subnet whose network contains `a`, if any.
    const subnet* find_subnet(wire::ipv4_address a) const;

    /// Mac address index built by the loader: hashed, since every request
    /// for a host's document looks its host up (often more than once).
    std::unordered_map<wire::mac_address, std::size_t> host_index;
};

}  // namespace pxed::inventory
