// tftp_load: a TFTP load client for benchmarks. Runs N concurrent read
// transfers of one file from one server in a single thread (epoll), asking
// for blksize, tsize and windowsize (RFC 2348, 2349, 7440), and reports the
// aggregate throughput. It works with servers that ignore windowsize (the
// OACK then lacks it and the transfer is lock-step), so every peer server is
// measured with the same client.
//
//   tftp_load --port 69 --file mid.img --clients 200 --blksize 1468 --windowsize 16
//
// Prints one line: key=value pairs (ok, failed, bytes, seconds, mbps,
// retransmits). Exits 1 if any transfer failed or delivered the wrong size.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
    std::string server = "127.0.0.1";
    int port = 69;
    std::string file;
    int clients = 1;
    int blksize = 1468;
    int windowsize = 1;
    long long expect_size = -1;
    int timeout_ms = 1000;
    int max_retries = 8;
};

struct client {
    int fd = -1;
    sockaddr_in server_tid{};
    bool have_tid = false;
    std::uint64_t expected = 1;  // next block wanted (64-bit; wire value is mod 65536)
    int blksize = 512;
    int windowsize = 1;
    int in_window = 0;
    std::uint64_t bytes = 0;
    std::uint64_t tsize = 0;
    bool done = false;
    bool failed = false;
    int retries = 0;
    std::uint64_t resent = 0;
    std::uint64_t last_reack = ~std::uint64_t{0};
    clock_type::time_point last_progress;
    std::vector<std::uint8_t> last_sent;
    std::string error;
};

void put16(std::vector<std::uint8_t>& v, unsigned x) {
    v.push_back(static_cast<std::uint8_t>(x >> 8));
    v.push_back(static_cast<std::uint8_t>(x));
}

void put_str(std::vector<std::uint8_t>& v, const std::string& s) {
    v.insert(v.end(), s.begin(), s.end());
    v.push_back(0);
}

void send_packet(client& c, const sockaddr_in& to, std::vector<std::uint8_t> pkt) {
    ::sendto(c.fd, pkt.data(), pkt.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    c.last_sent = std::move(pkt);
}

void send_ack(client& c, std::uint64_t block) {
    std::vector<std::uint8_t> ack;
    put16(ack, 4);
    put16(ack, static_cast<unsigned>(block & 0xffff));
    send_packet(c, c.server_tid, std::move(ack));
}

// Option values from an OACK, by name (case-insensitive).
long long oack_value(const std::uint8_t* p, std::size_t n, const char* name) {
    std::size_t i = 2;
    while (i < n) {
        const char* key = reinterpret_cast<const char*>(p + i);
        const std::size_t klen = strnlen(key, n - i);
        if (i + klen + 1 >= n) break;
        const char* val = key + klen + 1;
        const std::size_t vlen = strnlen(val, n - i - klen - 1);
        if (strcasecmp(key, name) == 0) return std::atoll(std::string(val, vlen).c_str());
        i += klen + 1 + vlen + 1;
    }
    return -1;
}

void on_datagram(client& c, const std::uint8_t* p, std::size_t n, const sockaddr_in& from, const options& o) {
    if (n < 4) return;
    if (!c.have_tid) {
        c.server_tid = from;
        c.have_tid = true;
    } else if (from.sin_port != c.server_tid.sin_port) {
        return;
    }
    const auto op = static_cast<unsigned>(p[0] << 8 | p[1]);
    const auto now = clock_type::now();
    if (op == 6) {  // OACK
        const auto b = oack_value(p, n, "blksize");
        const auto w = oack_value(p, n, "windowsize");
        const auto t = oack_value(p, n, "tsize");
        c.blksize = b > 0 ? static_cast<int>(b) : 512;
        c.windowsize = w > 0 ? static_cast<int>(w) : 1;
        if (t > 0) c.tsize = static_cast<std::uint64_t>(t);
        c.last_progress = now;
        c.retries = 0;
        send_ack(c, 0);
        return;
    }
    if (op == 5) {
        c.failed = c.done = true;
        c.error = "ERROR " + std::to_string(p[2] << 8 | p[3]) + ": " +
                  std::string(reinterpret_cast<const char*>(p + 4), strnlen(reinterpret_cast<const char*>(p + 4), n - 4));
        return;
    }
    if (op != 3) return;
    const auto block = static_cast<unsigned>(p[2] << 8 | p[3]);
    const std::size_t len = n - 4;
    if (block != (c.expected & 0xffff)) {
        // Out of order or a duplicate: say once where we are (RFC 7440
        // section 4); the rest of a broken window adds nothing.
        if (c.last_reack != c.expected - 1) {
            c.last_reack = c.expected - 1;
            c.in_window = 0;
            send_ack(c, c.expected - 1);
        }
        return;
    }
    c.bytes += len;
    c.last_progress = now;
    c.retries = 0;
    ++c.in_window;
    const bool last = len < static_cast<std::size_t>(c.blksize);
    if (last || c.in_window >= c.windowsize) {
        send_ack(c, c.expected);
        c.in_window = 0;
    }
    ++c.expected;
    if (last) {
        c.done = true;
        if (o.expect_size >= 0 && c.bytes != static_cast<std::uint64_t>(o.expect_size)) {
            c.failed = true;
            c.error = "got " + std::to_string(c.bytes) + " bytes";
        }
    }
}

bool parse_args(int argc, char** argv, options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--server") o.server = next();
        else if (a == "--port") o.port = std::atoi(next());
        else if (a == "--file") o.file = next();
        else if (a == "--clients") o.clients = std::atoi(next());
        else if (a == "--blksize") o.blksize = std::atoi(next());
        else if (a == "--windowsize") o.windowsize = std::atoi(next());
        else if (a == "--expect-size") o.expect_size = std::atoll(next());
        else if (a == "--timeout-ms") o.timeout_ms = std::atoi(next());
        else return false;
    }
    return !o.file.empty() && o.clients > 0;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    if (!parse_args(argc, argv, o)) {
        std::fprintf(stderr,
                     "usage: tftp_load [--server A] [--port P] --file F [--clients N] [--blksize B] "
                     "[--windowsize W] [--expect-size BYTES] [--timeout-ms MS]\n");
        return 2;
    }
    sockaddr_in server{};
    server.sin_family = AF_INET;
    server.sin_port = htons(static_cast<std::uint16_t>(o.port));
    if (inet_pton(AF_INET, o.server.c_str(), &server.sin_addr) != 1) {
        std::fprintf(stderr, "bad server address %s\n", o.server.c_str());
        return 2;
    }
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    std::vector<client> clients(static_cast<std::size_t>(o.clients));
    std::vector<std::uint8_t> rrq;
    put16(rrq, 1);
    put_str(rrq, o.file);
    put_str(rrq, "octet");
    put_str(rrq, "tsize");
    put_str(rrq, "0");
    put_str(rrq, "blksize");
    put_str(rrq, std::to_string(o.blksize));
    if (o.windowsize > 1) {
        put_str(rrq, "windowsize");
        put_str(rrq, std::to_string(o.windowsize));
    }
    const auto start = clock_type::now();
    for (std::size_t i = 0; i < clients.size(); ++i) {
        auto& c = clients[i];
        c.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        const int buf = 4 << 20;
        ::setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
        c.last_progress = start;
        send_packet(c, server, rrq);
    }
    std::size_t remaining = clients.size();
    std::vector<std::uint8_t> buf(70000);
    std::vector<epoll_event> events(256);
    while (remaining > 0) {
        const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 5);
        for (int e = 0; e < n; ++e) {
            auto& c = clients[events[static_cast<std::size_t>(e)].data.u64];
            for (;;) {
                sockaddr_in from{};
                socklen_t fl = sizeof from;
                const ssize_t got = ::recvfrom(c.fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &fl);
                if (got < 0) break;
                if (c.done) continue;
                on_datagram(c, buf.data(), static_cast<std::size_t>(got), from, o);
                if (c.done) --remaining;
            }
        }
        const auto now = clock_type::now();
        for (auto& c : clients) {
            if (c.done || now - c.last_progress < std::chrono::milliseconds(o.timeout_ms)) continue;
            if (++c.retries > o.max_retries) {
                c.failed = c.done = true;
                c.error = "timed out";
                --remaining;
                continue;
            }
            // Our last packet (RRQ or ACK) was lost, or the server's was.
            ++c.resent;
            c.last_progress = now;
            ::sendto(c.fd, c.last_sent.data(), c.last_sent.size(), 0,
                     reinterpret_cast<const sockaddr*>(c.have_tid ? &c.server_tid : &server), sizeof server);
        }
    }
    const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
    std::uint64_t bytes = 0, resent = 0;
    int ok = 0, failed = 0;
    std::string first_error;
    for (auto& c : clients) {
        ::close(c.fd);
        resent += c.resent;
        if (c.failed) {
            ++failed;
            if (first_error.empty()) first_error = c.error;
        } else {
            ++ok;
            bytes += c.bytes;
        }
    }
    std::printf("ok=%d failed=%d bytes=%llu seconds=%.3f mbps=%.1f client_resends=%llu windowsize=%d%s%s\n", ok,
                failed, static_cast<unsigned long long>(bytes), secs, static_cast<double>(bytes) / secs / 1e6,
                static_cast<unsigned long long>(resent), clients.empty() ? 0 : clients[0].windowsize,
                first_error.empty() ? "" : " error=", first_error.c_str());
    return failed ? 1 : 0;
}
