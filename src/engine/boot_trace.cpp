#include "pxed/engine/boot_trace.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "pxed/engine/dhcp_responder.hpp"
#include "pxed/proto/dhcp.hpp"
#include "pxed/wire/text.hpp"

namespace pxed::trace {
namespace {

constexpr const char* kind_names[] = {"dhcp",     "tftp",    "http",     "ftp",   "document",
                                      "refused",  "callback", "lifecycle", "reload"};
constexpr const char* stage_names[] = {"none",   "dhcp",      "boot loader", "config",
                                       "kernel", "installer", "kickstart",   "done"};

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
    return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

std::string_view base_name(std::string_view path) {
    const auto slash = path.find_last_of('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string human_bytes(std::uint64_t n) {
    if (n < 10 * 1024) return std::to_string(n) + " bytes";
    if (n < 10 * 1024 * 1024) return std::to_string(n / 1024) + " KiB";
    return std::to_string(n / (1024 * 1024)) + " MiB";
}

// "DISCOVER", not "DHCPDISCOVER": the timeline's column is narrow.
std::string type_name(const std::optional<dhcp::message_type>& t, const char* none) {
    if (!t) return none;
    auto s = dhcp::to_string(*t);
    return starts_with(s, "DHCP") ? s.substr(4) : s;
}

bool is_file_kind(kind k) { return k == kind::tftp || k == kind::http || k == kind::ftp; }

constexpr std::string_view arch_mismatch_label = "arch mismatch: ";

bool missing(const event& e) {
    return e.outcome.find("not found") != std::string::npos || starts_with(e.outcome, "404");
}

// pxed said no (access, limits), as opposed to a transfer that broke.
bool refusal(const event& e) {
    return starts_with(e.outcome, "refused") || starts_with(e.outcome, "401") || starts_with(e.outcome, "403") ||
           starts_with(e.outcome, "429") || starts_with(e.outcome, "503");
}

// pxelinux and GRUB look for configs by MAC, by address and by ever
// shorter address prefixes, most of which miss by design.
bool config_probe(std::string_view path) {
    const auto p = lower(path);
    // GRUB also looks for its optional module lists (command.lst, fs.lst,
    // crypto.lst, terminal.lst), absent when its modules are built in.
    return starts_with(p, "pxelinux.cfg/") || starts_with(base_name(p), "grub.cfg-") ||
           p.find("/grub.cfg-") != std::string::npos || ends_with(p, ".lst");
}

}  // namespace

const char* to_string(kind k) { return kind_names[static_cast<std::size_t>(k)]; }

std::optional<kind> kind_from(std::string_view name) {
    for (std::size_t i = 0; i < std::size(kind_names); ++i)
        if (name == kind_names[i]) return static_cast<kind>(i);
    return std::nullopt;
}

const char* to_string(stage s) { return stage_names[static_cast<std::size_t>(s)]; }

event from_dhcp(const dhcp::message& request, const dhcp::arrival& from, const dhcp::outcome& decision) {
    event e;
    e.k = kind::dhcp;
    if (const auto m = request.mac()) e.mac = *m;
    const auto type = request.message_type();
    e.what = type_name(type, "BOOTREQUEST");
    e.client = !request.ciaddr.is_unspecified() ? request.ciaddr.value() : 0;

    std::string detail;
    const auto vendor = request.vendor_class();
    const auto firmware = request.firmware();
    // Boot firmware, or iPXE (a NIC's iPXE ROM is the firmware; a chained
    // iPXE asks within the boot it belongs to): not an installer's client.
    const bool pxe_firmware =
        (vendor && (starts_with(*vendor, "PXEClient") || starts_with(*vendor, "HTTPClient"))) || request.has_ipxe();
    if (pxe_firmware) e.flags |= flag_firmware;
    if (firmware != dhcp::boot_firmware::unknown || pxe_firmware) detail = "arch " + std::string(dhcp::to_string(firmware));
    if (request.has_ipxe()) detail += detail.empty() ? "iPXE" : ", iPXE";
    if (vendor) detail += (detail.empty() ? "vendor " : ", vendor ") + wire::escape_for_log(*vendor, 64);
    if (!request.giaddr.is_unspecified()) detail += (detail.empty() ? "via relay " : ", via relay ") + request.giaddr.to_string();
    if (from.local_port == dhcp::pxe_port) detail += detail.empty() ? "to port 4011" : ", to port 4011";

    if (decision.reply) {
        const auto& r = decision.reply->msg;
        e.flags |= flag_answered;
        const auto rt = r.message_type();
        e.outcome = type_name(rt, "BOOTREPLY");
        if (!r.yiaddr.is_unspecified()) e.outcome += " " + r.yiaddr.to_string();
        if (rt == dhcp::message_type::ack && !r.yiaddr.is_unspecified()) {
            e.flags |= flag_bound;
            e.client = r.yiaddr.value();
        }
        std::string file = r.file;
        if (const auto* o = r.find(dhcp::option_code::bootfile_name))
            file.assign(o->value.begin(), o->value.end());
        if (!file.empty()) {
            e.flags |= flag_boot_file;
            e.outcome += ", boot file " + wire::escape_for_log(file, 200);
            if (!r.siaddr.is_unspecified()) e.outcome += " from " + r.siaddr.to_string();
        } else if (rt == dhcp::message_type::offer || rt == dhcp::message_type::ack) {
            e.outcome += ", no boot file";
        }
    } else {
        e.ok = false;
        e.outcome = "not answered";
    }
    // (Not for a client that asked for no boot file: a laptop's DHCP, or an
    // installer's, needs no reason why it got none.)
    if (!decision.log.empty() && (!decision.reply || (pxe_firmware && !(e.flags & flag_boot_file)))) {
        // The responder's own words: why it did not answer, or answered
        // without a boot file. (An answer with one says it all already.)
        detail += (detail.empty() ? "" : "; ") + wire::escape_for_log(decision.log, 300);
    }
    if (!decision.arch_mismatch.empty()) {
        e.flags |= flag_arch_mismatch;
        detail += (detail.empty() ? "" : "; ") + std::string(arch_mismatch_label) + wire::escape_for_log(decision.arch_mismatch, 300);
    }
    e.detail = std::move(detail);
    return e;
}

std::optional<wire::mac_address> mac_in_path(std::string_view path) {
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
    const auto base = base_name(path);
    // pxelinux.cfg/01-52-54-00-12-34-56, grub.cfg-01-52-54-00-12-34-56:
    // ARP type 01, then the MAC dashed.
    for (std::string_view prefix : {"01-", "grub.cfg-01-"}) {
        if (!starts_with(base, prefix)) continue;
        if (prefix == "01-" && path.find("pxelinux.cfg/") == std::string_view::npos) continue;
        const auto rest = base.substr(prefix.size());
        if (rest.size() == 17) return wire::mac_address::parse(rest);
    }
    // ipxe/<mac>.ipxe, ks/<mac>.ks, grub/<mac>.cfg: the documents pxed publishes.
    if (starts_with(path, "ipxe/") || starts_with(path, "ks/") || starts_with(path, "grub/")) {
        const auto dot = base.find_last_of('.');
        return wire::mac_address::parse(dot == std::string_view::npos ? base : base.substr(0, dot));
    }
    return std::nullopt;
}

role role_of(std::string_view path) {
    auto p = lower(path);
    while (!p.empty() && p.front() == '/') p.erase(0, 1);
    const std::string b(base_name(p));
    if (starts_with(p, "ks/") || ends_with(b, ".ks") || b == "ks.cfg" || b == "kickstart" || b == "preseed.cfg")
        return role::kickstart;
    if (starts_with(p, "pxelinux.cfg/") || starts_with(b, "grub.cfg") || ends_with(b, ".ipxe") || starts_with(p, "ipxe/") ||
        (starts_with(p, "grub/") && ends_with(b, ".cfg")))
        return role::config;
    if (ends_with(b, ".c32") || ends_with(b, ".mod") || ends_with(b, ".lst") || ends_with(b, ".pf2"))
        return role::loader_module;
    if (starts_with(b, "vmlinuz") || b == "linux" || starts_with(b, "bzimage") || starts_with(b, "kernel"))
        return role::kernel;
    if (starts_with(b, "initrd") || starts_with(b, "initramfs")) return role::initrd;
    if (ends_with(b, ".0") || ends_with(b, ".kpxe") || ends_with(b, ".pxe") || ends_with(b, ".efi") ||
        ends_with(b, ".com") || ends_with(b, ".lkrn"))
        return role::boot_loader;
    if (b == ".treeinfo" || b == "treeinfo" || b == ".discinfo" || b == "install.img" || b == "squashfs.img" ||
        b == "repomd.xml" || b == "media.repo" || ends_with(b, ".rpm") || p.find("repodata/") != std::string::npos ||
        p.find("liveos/") != std::string::npos || p.find("images/") != std::string::npos ||
        p.find("dists/") != std::string::npos || ends_with(b, ".udeb") || ends_with(b, ".deb"))
        return role::installer;
    return role::other;
}

// ---- the book ------------------------------------------------------------

book::book(limits l, std::function<bool(const wire::mac_address&)> known) : limits_(l), known_(std::move(known)) {}

book::history& book::host(const wire::mac_address& mac, std::int64_t time_ms) {
    auto [it, fresh] = log_.try_emplace(mac);
    auto& h = it->second;
    if (fresh) {
        h.known = known_ && known_(mac);
        h.first_ms = time_ms;
        if (!h.known) {
            h.lru = strangers_lru_.insert(strangers_lru_.end(), mac);
            ++strangers_seen_;
        }
    } else if (!h.known) {
        strangers_lru_.splice(strangers_lru_.end(), strangers_lru_, h.lru);
    }
    return h;
}

void book::forget(std::unordered_map<wire::mac_address, history>::iterator it) {
    auto& h = it->second;
    (h.known ? size_known_ : size_strangers_) -= h.events.size();
    if (!h.known) strangers_lru_.erase(h.lru);
    log_.erase(it);
}

namespace {

bool is_package(const event& e) {
    if (!e.ok || !is_file_kind(e.k)) return false;
    const auto p = lower(e.what);
    return ends_with(p, ".rpm") || ends_with(p, ".deb") || ends_with(p, ".udeb");
}

// "pub/centos/7/x86_64/Packages/*.rpm" of ".../Packages/zsh-5.0.2-34.el7.x86_64.rpm".
std::string package_pattern(std::string_view path) {
    const auto slash = path.find_last_of('/');
    const auto dot = path.find_last_of('.');
    return std::string(slash == std::string_view::npos ? std::string_view() : path.substr(0, slash + 1)) + "*" +
           std::string(path.substr(dot));
}

constexpr std::int64_t package_fold_ms = 10 * 60 * 1000;

// The same document or HTTP fetch again and again (an installer's retry
// loop, a host or script hammering its kickstart) folds into the event
// that started it, within a minute of it: "200 (x12000)", so that a
// client repeating a request does not make its rate the trace's write
// rate. Among the host's last few HTTP and document events (a document
// and its HTTP request alternate); any other event in between ends it.
constexpr std::int64_t repeat_fold_ms = 60 * 1000;
constexpr int repeat_lookback = 4;

bool is_repeat_kind(const event& e) { return e.k == kind::document || e.k == kind::http; }

// "200 (x12)" -> "200", and the count (1 when there is none).
std::pair<std::string_view, std::uint64_t> repeat_of(std::string_view outcome) {
    if (outcome.size() < 5 || outcome.back() != ')') return {outcome, 1};
    const auto open = outcome.rfind(" (x");
    if (open == std::string_view::npos) return {outcome, 1};
    std::uint64_t n = 0;
    for (std::size_t i = open + 3; i + 1 < outcome.size(); ++i) {
        const char c = outcome[i];
        if (c < '0' || c > '9') return {outcome, 1};
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n >= 2 ? std::pair<std::string_view, std::uint64_t>{outcome.substr(0, open), n}
                  : std::pair<std::string_view, std::uint64_t>{outcome, 1};
}

}  // namespace

// An event grown in place (a repeat, a package count) goes to the store
// again, which replaces the row by its number: if its last copy is still
// among the newest unsaved events, that copy is brought up to date instead
// of queueing another (a storm's repeats of one kickstart, alternating
// with their HTTP requests, are then one row each per flush, not one per
// request).
void book::stage(const event& e) {
    constexpr int lookback = 8;
    int looked = 0;
    for (auto it = unsaved_.rbegin(); it != unsaved_.rend() && looked < lookback; ++it, ++looked)
        if (it->seq == e.seq) {
            *it = e;
            return;
        }
    unsaved_.push_back(e);
    if (unsaved_.size() > max_unsaved)
        unsaved_.erase(unsaved_.begin(), unsaved_.begin() + static_cast<std::ptrdiff_t>(unsaved_.size() / 2));
}

std::uint64_t book::record(event e) {
    const auto mac = e.mac;
    auto& h = host(mac, e.time_ms);
    ++h.count;
    if (is_repeat_kind(e)) {
        int looked = 0;
        for (auto it = h.events.rbegin(); it != h.events.rend() && looked < repeat_lookback; ++it, ++looked) {
            auto& prev = *it;
            // A DHCP request, a TFTP file, a lifecycle change in between is
            // a new attempt: what follows it is not a repeat.
            if (!is_repeat_kind(prev)) break;
            if (prev.k != e.k || prev.ok != e.ok || prev.what != e.what || prev.client != e.client ||
                prev.instance != e.instance || prev.detail != e.detail || e.time_ms - prev.time_ms >= repeat_fold_ms)
                continue;
            const auto [base, n] = repeat_of(prev.outcome);
            if (base != e.outcome) continue;
            // In place: a storm's thousandth repeat allocates nothing.
            prev.outcome.resize(base.size());
            prev.outcome += " (x";
            prev.outcome += std::to_string(n + 1);
            prev.outcome += ')';
            prev.bytes += e.bytes;
            prev.duration_ms += e.duration_ms;
            if (h.known) stage(prev);
            return prev.seq;
        }
    }
    if (is_package(e)) {
        const auto pattern = package_pattern(e.what);
        auto& last = h.events.empty() ? e : h.events.back();
        if (!h.events.empty() && (last.flags & flag_packages) && last.k == e.k && last.what == pattern &&
            last.instance == e.instance && e.time_ms - last.time_ms < package_fold_ms) {
            const auto n = std::stoull(last.outcome) + 1;
            last.outcome = std::to_string(n) + " packages";  // n >= 2
            last.bytes += e.bytes;
            last.duration_ms += e.duration_ms;
            last.detail = "last " + std::string(base_name(e.what));
            if (h.known) stage(last);
            return last.seq;
        }
        e.flags |= flag_packages;
        e.detail = "last " + std::string(base_name(e.what));
        e.what = pattern;
        e.outcome = "1 package";
    }
    e.seq = ++seq_;
    // Only the inventory's events are stored (strangers' are whatever the
    // network sends: kept in memory, not copied for a store).
    if (h.known) unsaved_.push_back(e);
    // Records nobody takes (no store) stay bounded.
    if (unsaved_.size() > max_unsaved)
        unsaved_.erase(unsaved_.begin(), unsaved_.begin() + static_cast<std::ptrdiff_t>(unsaved_.size() / 2));
    return append(h, std::move(e));
}

bool book::adopt(event e) {
    const auto mac = e.mac;
    auto& h = host(mac, e.time_ms);
    // The same event of the same instance: newest first, where a grown
    // package count or a row read twice is.
    for (auto it = h.events.rbegin(); it != h.events.rend(); ++it) {
        if (it->origin_seq == e.origin_seq && it->instance == e.instance) {
            e.seq = it->seq;
            *it = std::move(e);
            return false;
        }
    }
    ++h.count;
    e.seq = ++seq_;
    append(h, std::move(e));
    return true;
}

std::uint64_t book::append(history& h, event e) {
    const auto mac = e.mac;
    h.events.push_back(std::move(e));
    const bool known = h.known;
    auto& size = known ? size_known_ : size_strangers_;
    (known ? order_known_ : order_strangers_).emplace_back(seq_, mac);
    ++size;
    if (h.events.size() > (known ? limits_.per_host : limits_.per_stranger)) {
        h.events.pop_front();
        --size;
    }
    if (known) {
        trim_total(order_known_, size_known_, limits_.total);
    } else {
        // Too many strangers: the one seen least recently goes, whole.
        while (strangers_lru_.size() > limits_.strangers && strangers_lru_.front() != mac)
            forget(log_.find(strangers_lru_.front()));
        trim_total(order_strangers_, size_strangers_, limits_.strangers * limits_.per_stranger);
    }
    return seq_;
}

// Drops the oldest events beyond `cap`. The order queue also holds entries
// of events already gone (the per-host bound, a stranger forgotten):
// skipped, and compacted away when they outnumber the live ones.
void book::trim_total(order_queue& order, std::size_t& size, std::size_t cap) {
    while (size > cap && !order.empty()) {
        const auto [seq, mac] = order.front();
        order.pop_front();
        auto it = log_.find(mac);
        if (it == log_.end() || it->second.events.empty() || it->second.events.front().seq != seq) continue;
        it->second.events.pop_front();
        --size;
        if (it->second.events.empty()) forget(it);
    }
    if (order.size() > 2 * size + 64) {
        order_queue live;
        for (const auto& entry : order) {
            const auto it = log_.find(entry.second);
            if (it != log_.end() && !it->second.events.empty() && it->second.events.front().seq <= entry.first)
                live.push_back(entry);
        }
        order.swap(live);
    }
}

void book::rebuild_orders() {
    std::vector<std::pair<std::uint64_t, wire::mac_address>> known, strangers;
    size_known_ = size_strangers_ = 0;
    for (const auto& [mac, h] : log_) {
        for (const auto& e : h.events) (h.known ? known : strangers).emplace_back(e.seq, mac);
        (h.known ? size_known_ : size_strangers_) += h.events.size();
    }
    std::sort(known.begin(), known.end());
    std::sort(strangers.begin(), strangers.end());
    order_known_.assign(known.begin(), known.end());
    order_strangers_.assign(strangers.begin(), strangers.end());
}

void book::restore(std::vector<event> events, std::uint64_t last_seq) {
    seq_ = std::max(seq_, last_seq);
    std::sort(events.begin(), events.end(), [](const event& a, const event& b) { return a.seq < b.seq; });
    for (auto& e : events) {
        seq_ = std::max(seq_, e.seq);
        auto& h = host(e.mac, e.time_ms);
        ++h.count;
        h.events.push_back(std::move(e));
        if (h.events.size() > (h.known ? limits_.per_host : limits_.per_stranger)) h.events.pop_front();
    }
    while (strangers_lru_.size() > limits_.strangers) forget(log_.find(strangers_lru_.front()));
    rebuild_orders();
    trim_total(order_known_, size_known_, limits_.total);
    trim_total(order_strangers_, size_strangers_, limits_.strangers * limits_.per_stranger);
    strangers_seen_ = 0;  // since start: not the ones the store kept
}

// Moves one host between the pools if the inventory says so; whether it did.
bool book::reclassify_one(const wire::mac_address& mac, history& h) {
    const bool known = known_ && known_(mac);
    if (known == h.known) return false;
    if (h.known)
        h.lru = strangers_lru_.insert(strangers_lru_.end(), mac);
    else
        strangers_lru_.erase(h.lru);
    h.known = known;
    const auto cap = known ? limits_.per_host : limits_.per_stranger;
    while (h.events.size() > cap) h.events.pop_front();
    return true;
}

void book::reclassify() {
    bool moved = false;
    for (auto& [mac, h] : log_) moved |= reclassify_one(mac, h);
    if (moved) rebalance();
}

void book::reclassify(const std::vector<wire::mac_address>& macs) {
    bool moved = false;
    for (const auto& mac : macs)
        if (const auto it = log_.find(mac); it != log_.end()) moved |= reclassify_one(mac, it->second);
    if (moved) rebalance();
}

// The bounds again, after hosts moved between the pools.
void book::rebalance() {
    while (strangers_lru_.size() > limits_.strangers) forget(log_.find(strangers_lru_.front()));
    rebuild_orders();
    trim_total(order_known_, size_known_, limits_.total);
    trim_total(order_strangers_, size_strangers_, limits_.strangers * limits_.per_stranger);
}

std::vector<event> book::of(const wire::mac_address& mac, std::uint64_t after) const {
    std::vector<event> out;
    const auto it = log_.find(mac);
    if (it == log_.end()) return out;
    for (const auto& e : it->second.events)
        if (e.seq > after) out.push_back(e);
    return out;
}

std::vector<stranger> book::strangers() const {
    std::vector<stranger> out;
    for (const auto& [mac, h] : log_) {
        if (h.events.empty() || h.known) continue;
        const event* last_dhcp = nullptr;
        for (const auto& e : h.events)
            if (e.k == kind::dhcp && (!last_dhcp || !e.detail.empty())) last_dhcp = &e;
        if (!last_dhcp) continue;  // only MACs that tried to boot
        stranger s;
        s.mac = mac;
        s.first_ms = h.first_ms;
        s.last_ms = h.events.back().time_ms;
        s.events = h.count;
        s.detail = last_dhcp->detail.substr(0, last_dhcp->detail.find(';'));
        for (const auto& e : h.events)
            if (e.client) s.client = e.client;
        out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end(), [](const stranger& a, const stranger& b) { return a.last_ms > b.last_ms; });
    return out;
}

std::vector<event> book::take_unsaved() {
    std::vector<event> out;
    out.swap(unsaved_);
    return out;
}

// ---- reading a boot --------------------------------------------------------

namespace {

constexpr std::int64_t stall_ms = 30 * 1000;
constexpr std::int64_t new_attempt_gap_ms = 5 * 60 * 1000;

stage stage_of(const event& e) {
    if (!e.ok) return e.k == kind::dhcp ? stage::dhcp : stage::none;
    switch (e.k) {
    case kind::dhcp: return stage::dhcp;
    case kind::document: return e.what == "kickstart" ? stage::kickstart : stage::config;
    case kind::callback: return stage::done;
    case kind::lifecycle: return e.what == "installed" ? stage::done : stage::none;
    case kind::tftp:
    case kind::http:
    case kind::ftp:
        switch (role_of(e.what)) {
        case role::boot_loader:
        case role::loader_module: return stage::boot_loader;
        case role::config: return stage::config;
        case role::kernel:
        case role::initrd: return stage::kernel;
        case role::installer: return stage::installer;
        case role::kickstart: return stage::kickstart;
        case role::other: return stage::none;
        }
        return stage::none;
    case kind::refused:
    case kind::reload: return stage::none;
    }
    return stage::none;
}

std::string ago(std::int64_t ms) {
    const auto s = ms / 1000;
    if (s < 120) return std::to_string(s) + " s ago";
    if (s < 7200) return std::to_string(s / 60) + " min ago";
    return std::to_string(s / 3600) + " h ago";
}

}  // namespace

reading read(const std::vector<event>& events, std::int64_t now_ms, const host_facts& facts) {
    reading r;
    if (events.empty()) {
        if (facts.known)
            r.hints.push_back("no DHCP request from this host has reached pxed: is it set to boot from the network, and "
                              "on a subnet pxed serves, or behind a relay that forwards to pxed (ip helper-address)?");
        return r;
    }
    // The latest attempt: it starts at a request from boot firmware (or
    // iPXE) that follows a boot which got as far as its kernel (the machine
    // rebooted), or a long silence. A chained iPXE asks before any kernel,
    // and installers' DHCP clients are neither.
    std::size_t from = 0;
    stage reached = stage::none;
    for (std::size_t i = 0; i < events.size(); ++i) {
        const auto& e = events[i];
        const bool firmware_dhcp = e.k == kind::dhcp && (e.flags & flag_firmware);
        const bool gap = i > 0 && e.time_ms - events[i - 1].time_ms >= new_attempt_gap_ms;
        if (i > 0 && firmware_dhcp && (reached >= stage::kernel || gap)) {
            from = i;
            reached = stage::none;
        }
        reached = std::max(reached, stage_of(e));
    }
    r.reached = reached;
    r.attempt_from = events[from].seq;
    const auto last_ms = events.back().time_ms;
    const bool stalled = now_ms - last_ms >= stall_ms;

    // What failed, whatever the stage: files missing or cut short, refusals.
    std::vector<std::string> reported;
    auto once = [&reported](const std::string& key) {
        if (std::find(reported.begin(), reported.end(), key) != reported.end()) return false;
        reported.push_back(key);
        return true;
    };
    bool config_ok = false, pxelinux = false, ldlinux_ok = false, ldlinux_missing = false;
    bool kernel_ok = false, initrd_ok = false, initrd_failed = false, answered = false, offered = false, acked = false, boot_file = false;
    bool any_file = false;
    const event* last_ignored = nullptr;
    const event* last_answer = nullptr;
    const event* kickstart_at = nullptr;
    for (std::size_t i = from; i < events.size(); ++i) {
        const auto& e = events[i];
        if (e.k == kind::dhcp) {
            if ((e.flags & flag_arch_mismatch) && once("arch mismatch")) {
                const auto at = e.detail.rfind(arch_mismatch_label);
                r.hints.push_back("pxed answered its firmware with a boot for the wrong CPU: " +
                                  (at == std::string::npos ? std::string("see its DHCP events")
                                                           : e.detail.substr(at + arch_mismatch_label.size())));
            }
            if (e.flags & flag_answered) {
                answered = true;
                last_answer = &e;
                offered |= starts_with(e.outcome, "OFFER");
                acked |= starts_with(e.outcome, "ACK");
                boot_file |= (e.flags & flag_boot_file) != 0;
            } else if (!e.ok) {
                last_ignored = &e;
            }
            continue;
        }
        if (e.k == kind::document && e.ok) {
            if (e.what == "kickstart")
                kickstart_at = &e;
            else
                config_ok = true;
        }
        if (e.k == kind::refused && once("refused " + e.what + e.detail))
            r.hints.push_back("a request from this host was refused: " + e.detail);
        if (!is_file_kind(e.k)) continue;
        any_file = true;
        const auto ro = role_of(e.what);
        const auto b = lower(base_name(e.what));
        if (e.ok) {
            config_ok |= ro == role::config;
            kernel_ok |= ro == role::kernel;
            initrd_ok |= ro == role::initrd;
            pxelinux |= ro == role::boot_loader && ends_with(b, "pxelinux.0");
            ldlinux_ok |= b == "ldlinux.c32";
            if (ro == role::kickstart) kickstart_at = &e;
            continue;
        }
        initrd_failed |= ro == role::initrd;
        if (missing(e)) {
            if (b == "ldlinux.c32") {
                ldlinux_missing = true;
                continue;  // said below, with what it means
            }
            if (config_probe(e.what)) continue;
            if (once("missing " + e.what))
                r.hints.push_back(e.what + " was asked for over " + to_string(e.k) + " but is missing (" + e.outcome +
                                  "): put it in place, or correct the path in the profile or boot config");
        } else if (refusal(e)) {
            if (once("refused " + e.what))
                r.hints.push_back("pxed refused " + e.what + " over " + to_string(e.k) + ": " + e.outcome +
                                  (e.detail.empty() ? std::string() : " (" + e.detail + ")"));
        } else if (once("failed " + e.what)) {
            r.hints.push_back("the " + std::string(to_string(e.k)) + " transfer of " + e.what + " failed: " + e.outcome +
                              (e.bytes ? " after " + human_bytes(e.bytes) : std::string()) +
                              " (a lossy link, a firewall, or the client gave up)");
        }
    }
    // syslinux 4's pxelinux.0 (CentOS 6 and 7) has no ldlinux.c32: not
    // asking for it is a fault only when nothing followed the loader.
    if (pxelinux && !ldlinux_ok && (ldlinux_missing || (stalled && reached == stage::boot_loader)))
        r.hints.push_back(ldlinux_missing
                              ? "fetched pxelinux.0 but never ldlinux.c32: the file is missing from the TFTP root (copy it "
                                "from the syslinux that pxelinux.0 came from)"
                              : "fetched pxelinux.0 but never asked for ldlinux.c32: pxelinux did not start (a BIOS loader "
                                "given to UEFI firmware, or a damaged pxelinux.0?)");
    if (facts.state == "failed")
        r.hints.push_back("its install ran out of time (lifecycle.install_timeout) and is marked failed; the events "
                          "above show the last thing it fetched");

    if (!stalled || reached == stage::done) return r;
    const auto since = ago(now_ms - last_ms);
    switch (reached) {
    case stage::none:
    case stage::dhcp:
        if (!answered) {
            r.hints.push_back("pxed did not answer its DHCP requests" +
                              (last_ignored && !last_ignored->detail.empty() ? ": " + last_ignored->detail
                                                                            : std::string()));
        } else if (offered && !acked && !facts.proxy) {
            r.hints.push_back("pxed OFFERed an address but the host never REQUESTed it: it probably took another DHCP "
                              "server's offer (look for a second DHCP server on this segment)");
        } else if (boot_file && !any_file) {
            r.hints.push_back("DHCP answered (" + last_answer->outcome + ", " + since +
                              ") but no TFTP or HTTP request followed: is another DHCP server answering with another "
                              "next-server, or is the file server unreachable from the host (a firewall on UDP 69)?");
        } else if (!boot_file) {
            r.hints.push_back(facts.state == "installed"
                                  ? "DHCP answered without a boot file: the host is installed and boots its own disk"
                                  : "DHCP answered without a boot file: the DHCP lines above say why where pxed knows "
                                    "(no loader for its architecture, boot: in site.yaml, unknown_hosts, "
                                    "lifecycle.installed_pxe)");
        }
        break;
    case stage::boot_loader:
        if (!pxelinux)
            r.hints.push_back("the boot loader was fetched but not its config (" + since +
                              "): does the loader match the firmware (BIOS or UEFI, x64 or ARM64), and with Secure "
                              "Boot, is it signed?");
        break;
    case stage::config:
        r.hints.push_back(facts.state == "installed"
                              ? "installed: its boot config boots the local disk"
                              : "its boot config was served but no kernel was fetched (" + since +
                                    "): the menu may wait for a key, or the kernel path in the profile is wrong");
        break;
    case stage::kernel:
        if (kernel_ok && !initrd_ok && !initrd_failed)
            r.hints.push_back("the kernel was fetched but no initrd: check the profile's initrd path");
        else if (kernel_ok && !initrd_ok)
            break;  // the initrd's failure is said above
        else
            r.hints.push_back("kernel and initrd were fetched but the installer asked for nothing after (" + since +
                              "): no network driver, a kernel and initrd from another release than the tree, or a "
                              "wrong inst.repo=/inst.ks= (look at the console)");
        break;
    case stage::installer:
        r.hints.push_back("the installer reads its install tree but has not fetched its kickstart: check inst.ks= in "
                          "the boot config");
        break;
    case stage::kickstart:
        r.hints.push_back("installing: the kickstart was fetched " + ago(now_ms - (kickstart_at ? kickstart_at->time_ms : last_ms)) +
                          "; no install-done callback yet (the install runs, or stopped: look at the console; %post "
                          "must call the callback)");
        break;
    case stage::done: break;
    }
    return r;
}

std::string format_line(const event& e, bool utc) {
    const std::time_t secs = static_cast<std::time_t>(e.time_ms / 1000);
    std::tm tm{};
    if (utc)
        gmtime_r(&secs, &tm);
    else
        localtime_r(&secs, &tm);
    char stamp[80];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(e.time_ms % 1000));
    std::string line = stamp;
    line += "  ";
    std::string k = to_string(e.k);
    k.resize(9, ' ');
    line += k;
    if (k.back() != ' ' && !e.ok) line += ' ';  // "lifecycle ! failed", not "lifecycle! failed"
    line += e.ok ? "  " : "! ";
    line += e.what;
    if (!e.outcome.empty()) line += (e.k == kind::dhcp ? " -> " : ": ") + e.outcome;
    if (is_file_kind(e.k) && (e.bytes || e.duration_ms))
        line += ", " + human_bytes(e.bytes) + " in " + std::to_string(e.duration_ms) + " ms";
    if (e.client) line += " [" + wire::ipv4_address(e.client).to_string() + "]";
    if (!e.detail.empty()) line += " (" + e.detail + ")";
    if (!e.instance.empty()) line += " via " + e.instance;
    return line;
}

}  // namespace pxed::trace
