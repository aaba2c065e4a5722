#include "pxed/wire/token.hpp"

#include "pxed/wire/text.hpp"

#include <cctype>

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <vector>

namespace pxed::wire {
namespace {

// The getrandom system call itself: glibc 2.17 (CentOS 7) has no wrapper.
bool fill_getrandom(unsigned char* p, std::size_t n) {
#ifdef SYS_getrandom
    while (n > 0) {
        const long got = ::syscall(SYS_getrandom, p, n, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            return false;  // ENOSYS on kernels before 3.17
        }
        p += got;
        n -= static_cast<std::size_t>(got);
    }
    return true;
#else
    (void)p;
    (void)n;
    return false;
#endif
}

bool fill_urandom(unsigned char* p, std::size_t n) {
    const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    while (n > 0) {
        const ssize_t got = ::read(fd, p, n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        p += got;
        n -= static_cast<std::size_t>(got);
    }
    ::close(fd);
    return n == 0;
}

}  // namespace

std::string random_token(std::size_t bytes) {
    std::vector<unsigned char> raw(bytes);
    if (!fill_getrandom(raw.data(), raw.size()) && !fill_urandom(raw.data(), raw.size()))
        throw std::runtime_error("no randomness from getrandom(2) or /dev/urandom");
    return hex_encode(raw.data(), raw.size());
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    // volatile: the compiler may not stop at the first difference.
    volatile unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        diff = static_cast<unsigned char>(diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
    return diff == 0;
}

std::string token_prefix(std::string_view token, std::size_t keep) {
    if (token.size() <= keep) return std::string(token.size(), '*');
    return std::string(token.substr(0, keep)) + "...";
}

std::string query_value(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        if (pair.size() > name.size() && starts_with(pair, name) && pair[name.size()] == '=')
            return std::string(pair.substr(name.size() + 1));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return {};
}

bool mentions_token(std::string_view text) {
    for (std::size_t i = 0; i + 5 <= text.size(); ++i) {
        if ((text[i] | 0x20) != 't') continue;
        if ((text[i + 1] | 0x20) == 'o' && (text[i + 2] | 0x20) == 'k' && (text[i + 3] | 0x20) == 'e' &&
            (text[i + 4] | 0x20) == 'n')
            return true;
    }
    return false;
}

std::string redact_tokens(std::string_view text) {
    // Any "token=" or "token%3D" (any case), wherever it is: a query, a
    // percent-encoded or ';'-separated one, a decoded path quoted in a
    // reason. The value is the run of URL-safe characters after it.
    auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
    auto starts_at = [&](std::size_t i, std::string_view key) {
        if (text.size() - i < key.size()) return false;
        for (std::size_t k = 0; k < key.size(); ++k)
            if (lower(text[i + k]) != key[k]) return false;
        return true;
    };
    auto value_char = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '~';
    };
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t key = 0;
        if (lower(text[i]) == 't') {
            if (starts_at(i, "token="))
                key = 6;
            else if (starts_at(i, "token%3d"))
                key = 8;
        }
        if (key == 0) {
            out += text[i++];
            continue;
        }
        out.append(text.substr(i, key));
        i += key;
        std::size_t end = i;
        while (end < text.size() && value_char(text[end])) ++end;
        if (end > i) out += token_prefix(text.substr(i, end - i));
        i = end;
    }
    return out;
}

}  // namespace pxed::wire
