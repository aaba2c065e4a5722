#include "pxed/net/dhcp_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <ctime>
#include <system_error>

#include "log_limit.hpp"
#include "pxed/engine/dhcp_pacing.hpp"
#include "pxed/net/event_loop.hpp"
#include "pxed/net/interfaces.hpp"
#include "pxed/metrics/registry.hpp"
#include "pxed/net/udp.hpp"
#include "pxed/wire/text.hpp"

namespace pxed::net {
namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {

// Requests read and committed together per turn of the loop, and replies
// sent back to back per turn (docs/dhcp.md, "Bursts"): 64 replies are
// about 90 KiB in a receiver's socket buffer, under half of the default
// 208 KiB, so a client or relay agent that falls a turn behind still holds
// them. A commit costs about 20 us plus 5-6 us per lease on this project's
// VM: at 64 a lease pays about 1 us more for its commit than at 256.
constexpr dhcp::pacing reply_pacing{64, 64};
// Replies in flight per destination (docs/dhcp.md, "Bursts"): under half
// of a default receive buffer, proven read by the REQUESTs that answer
// OFFERs, else gone after 250 ms.
constexpr dhcp::flow_limits reply_flow_limits{};
// Expired and released leases older than this are deleted at start.
constexpr std::int64_t forget_after = 30 * 24 * 3600;
// How often interfaces are re-read when a request names one we do not know.
constexpr std::int64_t interface_refresh_interval = 2;

dhcp::unix_time wall_clock() { return static_cast<dhcp::unix_time>(std::time(nullptr)); }

udp::socket bind_wildcard(asio::io_context& io, std::uint16_t port) {
    udp::socket s(io);
    s.open(udp::v4());
    s.set_option(asio::socket_base::reuse_address(true));
    s.set_option(asio::socket_base::broadcast(true));
    if (!enable_pktinfo(s.native_handle()))
        throw std::system_error(errno, std::generic_category(), "cannot enable IP_PKTINFO");
    // A rack powering on sends hundreds of DISCOVERs within milliseconds;
    // the default 208 KiB buffer holds about a hundred. SO_RCVBUFFORCE
    // passes net.core.rmem_max while we are still root.
    const int want = 4 << 20;
    if (::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) != 0)
        ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
    s.bind(udp::endpoint(asio::ip::address_v4::any(), port));
    s.non_blocking(true);
    return s;
}

// What the server counts (docs/metrics.md). Every child is made here, so
// the packet path only adds to a counter it already points to.
struct dhcp_metrics {
    static constexpr std::size_t types = 9;  // 0: any other type, 1-8: DISCOVER..INFORM
    using by_type = std::array<metrics::counter*, types>;
    by_type answered{}, ignored{}, not_served{}, shed{}, sent{}, send_failed{}, withheld{}, expired{};
    metrics::counter* malformed;
    metrics::counter* oversized;

    static std::size_t index(std::optional<dhcp::message_type> t) {
        const auto v = t ? static_cast<std::size_t>(*t) : 0;
        return v < types ? v : 0;
    }

    explicit dhcp_metrics(metrics::registry& r)
        : malformed(&r.counters("pxed_dhcp_packets_dropped_total", "DHCP datagrams dropped before decoding.", {"reason"})
                         .with({"malformed"})),
          oversized(&r.counters("pxed_dhcp_packets_dropped_total", "DHCP datagrams dropped before decoding.", {"reason"})
                         .with({"oversized"})) {
        static const char* const names[types] = {"other", "discover", "offer", "request", "decline",
                                                 "ack",   "nak",      "release", "inform"};
        auto& in = r.counters("pxed_dhcp_messages_received_total",
                              "DHCP messages decoded, by type and what became of them (answered, ignored: no "
                              "reply due; not_served: on an interface outside the site's subnets; shed: a "
                              "DISCOVER left undecided while its relay or network had a window of replies "
                              "waiting).",
                              {"type", "outcome"});
        auto& out = r.counters("pxed_dhcp_messages_sent_total",
                               "DHCP replies, by type and outcome (sent; failed: not encoded or not sent; withheld: "
                               "their lease could not be stored; expired: waited a second for room in their "
                               "destination's window and were dropped).",
                               {"type", "outcome"});
        for (std::size_t i = 0; i < types; ++i) {
            answered[i] = &in.with({names[i], "answered"});
            ignored[i] = &in.with({names[i], "ignored"});
            not_served[i] = &in.with({names[i], "not_served"});
            shed[i] = &in.with({names[i], "shed"});
            if (i == 2 || i == 5 || i == 6 || i == 0) {  // what a server sends: OFFER, ACK, NAK (and others)
                sent[i] = &out.with({names[i], "sent"});
                send_failed[i] = &out.with({names[i], "failed"});
                withheld[i] = &out.with({names[i], "withheld"});
                expired[i] = &out.with({names[i], "expired"});
            } else {
                sent[i] = sent[0];
                send_failed[i] = send_failed[0];
                withheld[i] = withheld[0];
                expired[i] = expired[0];
            }
        }
    }
};

}  // namespace

class dhcp_server::impl : public std::enable_shared_from_this<impl> {
public:
    impl(asio::io_context& io, dhcp_server_options o, std::shared_ptr<const inventory::site> site,
         std::shared_ptr<const render::renderer> renderer)
        : io_(io),
          options_(std::move(o)),
          site_(site),
          responder_(site, renderer, options_.responder),
          ticker_(io),
          flow_timer_(io),
          registry_(options_.metrics),
          metrics_(registry_.get()) {}

    void start() {
        const bool proxy = site_->server.dhcp.mode == inventory::dhcp_mode::proxy;
        if (!proxy) {
            store::store_options so;
            so.state_dir = options_.state_dir;
            so.sqlite_durability = options_.durability;
            if (options_.postgres) {
                so.kind = store::backend_kind::postgresql;
                so.postgres = *options_.postgres;
            }
            store_ = store::open_lease_backend(so);
            const auto path = store_->describe();
            store_->set_metrics(registry_.get());
            register_pool_metrics();
            const auto now = wall_clock();
            // Clients gone for a month are forgotten; the rest keep their
            // address for when they come back.
            if (const auto n = store_->forget_before(now - forget_after))
                spdlog::info("dhcp: forgot {} lease(s) of clients not seen for 30 days", n);
            const auto rows = store_->load();
            responder_.restore(rows, now);
            spdlog::info("dhcp: {} lease(s) read back from {}, {} active", rows.size(), path,
                         responder_.active_leases(now));
            if (store_->shared()) watch_store();
        }
        interfaces_.refresh();
        sockets_.push_back({bind_wildcard(io_, options_.port), options_.port});
        if (proxy) sockets_.push_back({bind_wildcard(io_, options_.proxy_port), options_.proxy_port});
        for (std::size_t i = 0; i < sockets_.size(); ++i) wait_readable(i);
        tick();
        log_interfaces();
    }

    void stop() {
        stopped_ = true;
        for (auto& s : sockets_) {
            boost::system::error_code ec;
            s.socket.close(ec);
        }
        ticker_.cancel();
        flow_timer_.cancel();
        replies_.clear();
        flows_.clear();
        // Lease changes already decided reach the disk (their ACKs stay
        // unsent); no completion is posted to the loop after this.
        if (store_) {
            store_->stop_watching();
            store_->stop_writer();
        }
    }

    std::shared_ptr<const dhcp::reserved_addresses> update(std::shared_ptr<const inventory::site> site,
                                                          std::shared_ptr<const render::renderer> renderer,
                                                          std::shared_ptr<const dhcp::reserved_addresses> reserved) {
        site_ = site;
        auto replaced = responder_.update(std::move(site), std::move(renderer), std::move(reserved));
        log_interfaces();
        return replaced;
    }

    std::vector<store::lease> leases() const { return responder_.leases(); }
    std::optional<wire::ipv4_address> bound_address(const wire::mac_address& mac) const {
        return responder_.bound_address(mac, static_cast<dhcp::unix_time>(std::time(nullptr)));
    }
    std::uint16_t port() const { return sockets_.empty() ? 0 : sockets_.front().socket.local_endpoint().port(); }

private:
    struct bound_socket {
        udp::socket socket;
        std::uint16_t port;
    };
    struct pending_reply {
        dhcp::reply reply;
        std::size_t mtu;
        std::size_t socket;  // index in sockets_ of the one the request came in on
        // Shared stores: the lease this reply grants, and what to send
        // instead when the store refuses it.
        std::optional<dhcp::reply> if_refused = {};
        std::uint32_t claim_ip = 0;
        std::string claim_key = {};
    };
    using reply_queue = dhcp::reply_queue<pending_reply>;
    // A reply encoded, waiting for room in its destination's window.
    struct outgoing {
        std::vector<std::uint8_t> bytes;
        dhcp::destination to;
        std::size_t socket;
        std::size_t type;  // dhcp_metrics::index
    };
    using flow_control = dhcp::reply_flows<outgoing>;
    using steady = std::chrono::steady_clock;

    void wait_readable(std::size_t i) {
        sockets_[i].socket.async_wait(udp::socket::wait_read,
                                      [self = shared_from_this(), i](const boost::system::error_code& ec) {
                                          if (ec || self->stopped_) return;
                                          self->drain(i);
                                      });
    }

    // One turn of reading: a slice of requests (none while a turn's worth
    // of replies still waits to be sent), decided and committed together;
    // their replies leave in send turns (send_turn), which alternate with
    // these. A socket with more to read comes back after the turns already
    // posted; an empty one waits for the next datagram.
    void drain(std::size_t i) {
        auto& bs = sockets_[i];
        const auto now = wall_clock();
        flow_now_ = steady::now();
        const auto allowed = replies_.reads_allowed();
        std::size_t n = 0;
        bool more = allowed == 0;
        for (; n < allowed; ++n) {
            int err = 0;
            const auto info = receive_datagram(bs.socket.native_handle(), buffer_.data(), buffer_.size(), err);
            if (!info) {
                if (err != EAGAIN && err != EWOULDBLOCK && err != 0) spdlog::debug("dhcp: receive failed: {}", std::strerror(err));
                break;
            }
            contain("dhcp", "handling a packet", [&] { handle_datagram(*info, i, now); });
            if (n + 1 == allowed) more = true;
        }
        // Lease changes not stored stay queued for the next commit.
        contain("dhcp", "committing leases", [&] { flush(); });
        schedule_send();
        if (more)
            asio::post(io_, [self = shared_from_this(), i] {
                if (!self->stopped_) self->drain(i);
            });
        else
            wait_readable(i);
    }

    // A send turn when there is something to send now; else, while replies
    // wait for room in their destinations' windows, a timer for when the
    // first of them gets room by linger (or expires). A proof (a REQUEST
    // read in drain) calls this too and may open a window earlier.
    void schedule_send() {
        if (send_scheduled_ || stopped_) return;
        if (replies_.has_sendable() || flows_.sendable(steady::now())) {
            send_scheduled_ = true;
            flow_timer_armed_ = false;
            flow_timer_.cancel();
            asio::post(io_, [self = shared_from_this()] { self->send_turn(); });
            return;
        }
        const auto next = flows_.next_event();
        if (!next || (flow_timer_armed_ && flow_timer_.expiry() <= *next)) return;
        flow_timer_armed_ = true;
        flow_timer_.expires_at(*next);
        flow_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->stopped_) return;
            self->flow_timer_armed_ = false;
            self->schedule_send();
        });
    }

    // At most reply_pacing.send_budget replies back to back, then the rest
    // of the loop (reading above all) gets a turn before the next ones.
    // Replies go through their destination's window (flows_) first.
    void send_turn() {
        send_scheduled_ = false;
        if (stopped_) return;
        const auto now = steady::now();
        // A reply that cannot be sent is dropped (its client retransmits).
        contain("dhcp", "sending replies", [&] {
            for (auto& p : replies_.take()) enqueue(std::move(p), now);
            std::vector<outgoing> expired;
            for (const auto& o : flows_.take(reply_pacing.send_budget, now, &expired)) send(o);
            for (const auto& o : expired) metrics_.expired[o.type]->inc();
        });
        schedule_send();
    }

    void handle_datagram(const datagram_info& info, std::size_t socket, dhcp::unix_time now) {
        const auto* itf = interface_for(static_cast<int>(info.ifindex), now);
        const wire::ipv4_address peer{ntohl(info.peer.sin_addr.s_addr)};
        if (!itf) return;
        if (info.truncated) {
            metrics_.oversized->inc();
            spdlog::debug("dhcp: oversized datagram from {} on {} dropped", peer.to_string(), itf->name);
            return;
        }
        auto decoded = dhcp::decode(buffer_.data(), info.size);
        if (!decoded) {
            metrics_.malformed->inc();
            // Rate-limited: a broken client or a scan must not fill the log.
            if (limiter_.allow()) {
                spdlog::debug("dhcp: malformed packet from {} on {}: {} at offset {}", peer.to_string(), itf->name,
                              dhcp::to_string(decoded.error().code), decoded.error().offset);
            }
            return;
        }
        const auto& req = decoded.value();
        const auto type = dhcp_metrics::index(req.message_type());
        if (!accepts(*itf, req)) {
            metrics_.not_served[type]->inc();
            return;
        }
        if (decoded.quirks().any())
            spdlog::debug("dhcp: tolerated a malformed detail in a packet from {} on {}", peer.to_string(), itf->name);
        if (const auto mt = req.message_type()) {
            // A REQUEST answering one of our OFFERs proves its relay or
            // client read up to that OFFER; a new exchange towards a
            // destination with a window's worth already waiting is shed
            // undecided (the client retries), as Kea sheds at its socket.
            if (*mt == dhcp::message_type::request)
                flows_.on_request(exchange_of(req), flow_now_);
            else if (*mt == dhcp::message_type::discover && !flows_.admits(discover_flow(req, itf->index))) {
                metrics_.shed[type]->inc();
                return;
            }
        }

        dhcp::arrival a;
        a.ifindex = itf->index;
        a.ifname = itf->name;
        a.interface_addresses = itf->addresses;
        a.destination = wire::ipv4_address{ntohl(info.local.s_addr)};
        a.local_port = sockets_[socket].port;
        a.source = peer;
        a.source_port = ntohs(info.peer.sin_port);
        auto o = responder_.handle(req, a, now);
        (o.reply ? metrics_.answered : metrics_.ignored)[type]->inc();
        log(o);
        if (options_.trace && req.mac()) options_.trace(trace::from_dhcp(req, a, o));
        if (!o.changes.empty()) pending_changes_.insert(pending_changes_.end(), o.changes.begin(), o.changes.end());
        if (!o.reply) return;
        pending_reply p{std::move(*o.reply), itf->mtu, socket};
        if (o.if_refused && !o.changes.empty()) {
            p.if_refused = std::move(o.if_refused);
            p.claim_ip = o.changes.front().ip.value();
            p.claim_key = o.changes.front().client_key;
        }
        replies_.push(std::move(p), !o.changes.empty() && store_);
    }

    // Shared stores: rows other instances wrote, adopted on the loop; the
    // database going away and coming back, logged.
    void watch_store() {
        std::weak_ptr<impl> weak = shared_from_this();
        store_->watch(
            [weak](std::vector<store::lease> rows) {
                const auto self = weak.lock();
                if (!self) return;
                asio::post(self->io_, [weak, rows = std::move(rows)] {
                    const auto me = weak.lock();
                    if (!me || me->stopped_) return;
                    me->responder_.adopt(rows, wall_clock());
                    spdlog::debug("dhcp: adopted {} lease row(s) other instances wrote", rows.size());
                });
            },
            [weak](bool up, const std::string& why) {
                const auto self = weak.lock();
                if (!self) return;
                asio::post(self->io_, [weak, up, why] {
                    const auto me = weak.lock();
                    if (!me || me->stopped_) return;
                    me->watcher_up_ = up;
                    me->store_available(up, why);
                });
            });
    }

    // Shared stores: while the database cannot be written only clients it
    // holds a lease of are answered (dhcp::responder::set_store_available).
    void store_available(bool up, const std::string& why) {
        if (up == responder_.store_available()) return;
        responder_.set_store_available(up);
        if (up) {
            spdlog::info("dhcp: the shared lease database is reachable again; new leases are granted again, other "
                         "instances' leases caught up on");
        } else {
            store_down_since_ = steady::now();
            spdlog::error("dhcp: the shared lease database is unreachable ({}); until it is back only clients with a "
                          "stored lease are answered (renewed for what is left of it), new ones wait",
                          why);
        }
    }

    // An interface the inventory describes, or one the operator listed; a
    // relayed request (giaddr set) was unicast to us on purpose.
    bool accepts(const interface_info& itf, const dhcp::message& req) const {
        const auto& srv = site_->server;
        if (!srv.dhcp.interfaces.empty())
            return std::find(srv.dhcp.interfaces.begin(), srv.dhcp.interfaces.end(), itf.name) != srv.dhcp.interfaces.end();
        if (!req.giaddr.is_unspecified()) return true;
        if (srv.dhcp.mode == inventory::dhcp_mode::proxy && site_->subnets.empty()) return !itf.loopback;
        for (const auto& a : itf.addresses)
            for (const auto& sn : site_->subnets)
                if (sn.network.contains(a.base())) return true;
        return false;
    }

    const interface_info* interface_for(int index, dhcp::unix_time now) {
        if (const auto* i = interfaces_.find(index)) return i;
        if (now - last_refresh_ >= interface_refresh_interval || last_refresh_ == 0) {
            last_refresh_ = now;
            interfaces_.refresh();
        }
        return interfaces_.find(index);
    }

    // Commit first, then send: an ACK never leaves before its lease is on
    // disk. The ACKs are held in replies_ under the commit's ticket and
    // become sendable when it is done (on_committed, on the loop): at once
    // when it only wrote to the page cache, else once the lease store's
    // writer thread is through with a checkpoint or an fsync, while the
    // loop goes on reading and sending. Replies that change nothing
    // (OFFERs, NAKs) never wait for a disk.
    void flush() {
        if (pending_changes_.empty() || !store_) {
            pending_changes_.clear();
            return;
        }
        const auto t = replies_.seal();
        auto changes = std::move(pending_changes_);
        pending_changes_.clear();
        // Kept until the commit is done: a failed one's bindings are
        // taken back (responder::unconfirmed).
        auto batch = std::make_shared<const std::vector<store::lease>>(changes);
        try {
            store_->commit(std::move(changes), [self = shared_from_this(), t, batch](const store::commit_outcome& r) {
                if (self->io_.get_executor().running_in_this_thread())
                    self->on_committed(t, *batch, r);
                else
                    asio::post(self->io_, [self, t, batch, r] { self->on_committed(t, *batch, r); });
            });
        } catch (const std::exception& e) {
            // Ticket t must never count as done: its ACKs are dropped here,
            // or a later commit's completion would release them.
            store::commit_outcome failed;
            failed.ok = false;
            failed.error = e.what();
            on_committed(t, *batch, failed);
        }
    }

    void on_committed(reply_queue::ticket t, const std::vector<store::lease>& batch, const store::commit_outcome& r) {
        if (stopped_) return;
        const auto changes = batch.size();
        if (!r.ok) responder_.unconfirmed(batch, wall_clock());
        if (!r.refused.empty()) {
            // Another instance took these addresses first: what it wrote
            // is what holds, and an ACK that granted one becomes a NAK.
            std::vector<store::lease> holders;
            holders.reserve(r.refused.size());
            for (const auto& f : r.refused) holders.push_back(f.holder);
            responder_.adopt(holders, wall_clock());
        }
        const auto withheld = replies_.committed(t, r.ok, [&](pending_reply& p) {
            if (!p.if_refused) return;
            for (const auto& f : r.refused) {
                if (f.change.ip.value() != p.claim_ip || f.change.client_key != p.claim_key) continue;
                if (refusal_limiter_.allow(spdlog::level::info))
                    spdlog::info("dhcp: {} for {} was taken by another instance first; NAK instead of ACK",
                                 f.change.ip.to_string(), f.change.mac ? f.change.mac->to_string() : std::string("a client"));
                p.reply = std::move(*p.if_refused);
                p.if_refused.reset();
                return;
            }
        });
        if (r.ok && store_->shared() && !responder_.store_available() && watcher_up_) store_available(true, "");
        if (!r.ok) {
            if (store_->shared()) store_available(false, r.error);
            spdlog::error("dhcp: cannot store {} lease change(s): {}; withholding the ACKs", changes, r.error);
            for (const auto& p : withheld) metrics_.withheld[dhcp_metrics::index(p.reply.msg.message_type())]->inc();
            return;
        }
        schedule_send();
        // The WAL bound was reached with more than a background pass's worth
        // still to copy: the checkpointer is not keeping up (a slow disk),
        // and the writer thread, so the ACKs, waited for a checkpoint.
        const auto* sqlite = dynamic_cast<const store::lease_store*>(store_.get());
        if (!sqlite) return;
        const auto st = sqlite->stats();
        if (st.writer_checkpoints_behind > checkpoints_behind_seen_) {
            checkpoints_behind_seen_ = st.writer_checkpoints_behind;
            spdlog::warn("dhcp: the lease database's checkpointer fell behind; the writer copied {} WAL page(s) itself "
                         "({} time(s) so far)",
                         st.last_writer_backlog, st.writer_checkpoints_behind);
        }
    }

    static dhcp::exchange_tag exchange_of(const dhcp::message& m) {
        dhcp::exchange_tag t;
        std::copy(m.chaddr.begin(), m.chaddr.end(), t.chaddr.begin());
        t.xid = m.xid;
        return t;
    }
    static dhcp::flow_key flow_of(const dhcp::destination& d) {
        return {d.address.value(), d.port, d.ifindex};
    }
    // Where the OFFER to a DISCOVER will go, known before deciding it: to
    // the relay agent (giaddr, port 67, routed), else to the client's
    // network, as dhcp::responder's reply_destination sends it.
    static dhcp::flow_key discover_flow(const dhcp::message& req, int ifindex) {
        if (!req.giaddr.is_unspecified()) return {req.giaddr.value(), dhcp::server_port, 0};
        if (!req.ciaddr.is_unspecified()) return {req.ciaddr.value(), dhcp::client_port, ifindex};
        return {0xffffffffu, dhcp::client_port, ifindex};  // 255.255.255.255
    }

    void enqueue(pending_reply p, steady::time_point now) {
        const auto& r = p.reply;
        dhcp::encode_options eo;
        eo.max_message_size = std::min(r.max_size, p.mtu);
        auto bytes = dhcp::encode(r.msg, eo);
        const auto mt = r.msg.message_type();
        const auto type = dhcp_metrics::index(mt);
        if (!bytes) {
            metrics_.send_failed[type]->inc();
            spdlog::warn("dhcp: cannot encode a reply to {}: {} (option {})", r.to.address.to_string(),
                         dhcp::to_string(bytes.error().code), bytes.error().option);
            return;
        }
        std::optional<dhcp::exchange_tag> offer;
        if (mt == dhcp::message_type::offer) offer = exchange_of(r.msg);
        // Windows are for relay agents, whose one socket holds the replies
        // of every client behind it (dhcp::reply_flows says why not for
        // broadcasts and clients' own addresses).
        const bool relayed = !r.msg.giaddr.is_unspecified();
        const auto size = bytes.bytes().size();
        if (!flows_.push(flow_of(r.to), outgoing{bytes.bytes(), r.to, p.socket, type}, size, offer, now, relayed))
            metrics_.expired[type]->inc();
    }

    void send(const outgoing& o) {
        const auto& r = o;
        const auto type = o.type;
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(r.to.port);
        to.sin_addr.s_addr = htonl(r.to.address.value());
        iovec iov{const_cast<std::uint8_t*>(o.bytes.data()), o.bytes.size()};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))] = {};
        msghdr msg{};
        msg.msg_name = &to;
        msg.msg_namelen = sizeof to;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        if (r.to.ifindex != 0 || !r.to.source.is_unspecified()) {
            // Out of the interface the request came in on, from the address
            // the client knows us by (RFC 2131 4.1 and option 54).
            msg.msg_control = control;
            msg.msg_controllen = sizeof control;
            auto* c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
            in_pktinfo pi{};
            pi.ipi_ifindex = r.to.ifindex;
            pi.ipi_spec_dst.s_addr = htonl(r.to.source.value());
            std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
        }
        // From the port the request came to: a relay expects port 67, a
        // proxyDHCP boot server client port 4011.
        if (::sendmsg(sockets_[o.socket].socket.native_handle(), &msg, MSG_DONTWAIT) < 0) {
            metrics_.send_failed[type]->inc();
            spdlog::warn("dhcp: cannot send to {}:{}: {}", r.to.address.to_string(), r.to.port, std::strerror(errno));
        } else {
            metrics_.sent[type]->inc();
        }
    }

    void tick() {
        ticker_.expires_after(std::chrono::seconds(1));
        ticker_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->stopped_) return;
            // A shared store that failed a commit while its watcher kept
            // reaching it: new leases are tried again after a few seconds.
            if (!self->responder_.store_available() && self->watcher_up_ &&
                steady::now() - self->store_down_since_ >= std::chrono::seconds(5))
                self->store_available(true, "");
            const auto expired = self->responder_.expire(wall_clock());
            for (const auto& l : expired)
                spdlog::info("dhcp: lease {} of {} {}", l.ip.to_string(), l.mac ? l.mac->to_string() : "a client",
                             l.client_key.empty() ? "back in the pool after its quarantine" : "expired");
            if (!expired.empty()) {
                self->pending_changes_.insert(self->pending_changes_.end(), expired.begin(), expired.end());
                self->flush();
            }
            self->tick();
        });
    }

    void log(const dhcp::outcome& o) {
        if (o.log.empty()) return;
        // What a stranger can cause at will draws on a budget of its own
        // kind: forged relay packets cannot hide the new-client limit.
        if (o.kind != dhcp::log_kind::routine && o.level != dhcp::log_level::debug &&
            !kind_limiters_[static_cast<std::size_t>(o.kind)].allow())
            return;
        // Everything in o.log that came from the wire (MACs are formatted by
        // us; hostnames are not included) is already safe; escape anyway.
        const auto line = wire::escape_for_log(o.log);
        switch (o.level) {
        case dhcp::log_level::debug: spdlog::debug("dhcp: {}", line); break;
        case dhcp::log_level::info: spdlog::info("dhcp: {}", line); break;
        case dhcp::log_level::warn: spdlog::warn("dhcp: {}", line); break;
        }
    }

    void log_interfaces() {
        interfaces_.refresh();
        std::string served;
        for (const auto& [index, itf] : interfaces_.all()) {
            dhcp::message probe;
            if (accepts(itf, probe)) served += (served.empty() ? "" : ", ") + itf.name;
        }
        if (served.empty())
            spdlog::warn("dhcp: no interface has an address in a configured subnet (and server.interfaces is empty): "
                         "only relayed requests will be answered");
        else
            spdlog::info("dhcp: answering on {}", served);
    }

    // Per subnet of the site as loaded now: the dynamic pool's size and the
    // addresses bound (reservations included), counted when scraped.
    void register_pool_metrics() {
        auto& r = registry_.get();
        const std::weak_ptr<impl> weak = shared_from_this();
        r.computed("pxed_dhcp_pool_addresses", "Addresses in a subnet's dynamic ranges.", metrics::kind::gauge,
                   {"subnet"}, [weak](const metrics::sample_sink& emit) {
                       const auto self = weak.lock();
                       if (!self) return;
                       for (const auto& sn : self->site_->subnets) {
                           std::uint64_t n = 0;
                           for (const auto& range : sn.ranges) n += range.size();
                           emit({sn.network.to_string()}, static_cast<double>(n));
                       }
                   });
        r.computed("pxed_dhcp_addresses_in_use", "Addresses of a subnet bound to a client now (reservations too).",
                   metrics::kind::gauge, {"subnet"}, [weak](const metrics::sample_sink& emit) {
                       const auto self = weak.lock();
                       if (!self) return;
                       const auto now = wall_clock();
                       for (const auto& sn : self->site_->subnets)
                           emit({sn.network.to_string()}, static_cast<double>(self->responder_.active_leases(now, &sn)));
                   });
    }

    asio::io_context& io_;
    dhcp_server_options options_;
    std::shared_ptr<const inventory::site> site_;
    dhcp::responder responder_;
    std::unique_ptr<store::lease_backend> store_;
    interface_table interfaces_;
    std::vector<bound_socket> sockets_;
    asio::steady_timer ticker_;
    std::array<std::uint8_t, 65536> buffer_{};
    reply_queue replies_{reply_pacing};
    flow_control flows_{reply_flow_limits};
    asio::steady_timer flow_timer_;
    bool flow_timer_armed_ = false;
    steady::time_point flow_now_{};
    bool send_scheduled_ = false;
    std::vector<store::lease> pending_changes_;
    dhcp::unix_time last_refresh_ = 0;
    log_limiter limiter_{"dhcp"};
    log_limiter refusal_limiter_{"dhcp", 20, spdlog::level::info, "more addresses taken by another instance first"};
    std::array<log_limiter, 6> kind_limiters_{log_limiter{"dhcp"}, log_limiter{"dhcp"}, log_limiter{"dhcp"}, log_limiter{"dhcp"},
                                              log_limiter{"dhcp"}, log_limiter{"dhcp"}};
    std::uint64_t checkpoints_behind_seen_ = 0;
    bool stopped_ = false;
    bool watcher_up_ = true;  // shared stores: what the watcher last said
    steady::time_point store_down_since_{};
    metrics::registry_ref registry_;  // options_.metrics, or a private one
    dhcp_metrics metrics_;
};

dhcp_server::dhcp_server(asio::io_context& io, dhcp_server_options options, std::shared_ptr<const inventory::site> site,
                         std::shared_ptr<const render::renderer> renderer)
    : impl_(std::make_shared<impl>(io, std::move(options), std::move(site), std::move(renderer))) {}

dhcp_server::~dhcp_server() {
    if (impl_) impl_->stop();
}

void dhcp_server::start() { impl_->start(); }
void dhcp_server::stop() { impl_->stop(); }
std::shared_ptr<const dhcp::reserved_addresses> dhcp_server::update(
    std::shared_ptr<const inventory::site> site, std::shared_ptr<const render::renderer> renderer,
    std::shared_ptr<const dhcp::reserved_addresses> reserved) {
    return impl_->update(std::move(site), std::move(renderer), std::move(reserved));
}
std::vector<store::lease> dhcp_server::leases() const { return impl_->leases(); }
std::optional<wire::ipv4_address> dhcp_server::bound_address(const wire::mac_address& mac) const {
    return impl_->bound_address(mac);
}
std::uint16_t dhcp_server::port() const { return impl_->port(); }

}  // namespace pxed::net
