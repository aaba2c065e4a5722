#include "pxed/app/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <string>

#include "pxed/wire/text.hpp"
#include "pxed/wire/token.hpp"

namespace pxed::app {
namespace {

// %J: the message as a JSON string body (quotes, backslashes and control
// characters escaped), so one log record is always one valid JSON line.
// Every line passes here: a token (or anything after "token=") is cut to
// its first characters whatever code logged it (docs/security.md).
std::string_view redacted(const spdlog::details::log_msg& msg, std::string& scratch) {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    if (!wire::mentions_token(text)) return text;
    scratch = wire::redact_tokens(text);
    return scratch;
}

// %R: the message, redacted.
class redacted_message_flag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        std::string scratch;
        const auto text = redacted(msg, scratch);
        dest.append(text.data(), text.data() + text.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<redacted_message_flag>(); }
};

class json_message_flag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        std::string scratch;
        for (const char ch : redacted(msg, scratch)) {
            const auto c = static_cast<unsigned char>(ch);
            if (c == '"' || c == '\\') {
                dest.push_back('\\');
                dest.push_back(ch);
            } else if (c < 0x20) {
                const char esc[] = {'\\', 'u', '0', '0', wire::hex_digit(c >> 4), wire::hex_digit(c)};
                dest.append(esc, esc + sizeof esc);
            } else {
                dest.push_back(ch);
            }
        }
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<json_message_flag>(); }
};

// server.log.file, opened (as root, before the drop) without following a
// symlink and refused if it has another name: its directory may be one the
// service user can write to, and a link planted there would have root append
// to, or create, whatever it names. O_APPEND keeps logrotate's copytruncate
// working.
int open_log_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC,
                          0640);
    if (fd < 0) {
        const int err = errno;
        struct stat st{};
        if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
            throw std::runtime_error(path + " is a symbolic link: pxed does not follow one to its log file; set "
                                            "server.log.file to the real path");
        throw std::runtime_error("cannot open " + path + ": " + std::strerror(err));
    }
    struct stat st{};
    std::string problem;
    if (::fstat(fd, &st) != 0)
        problem = std::string("cannot stat it: ") + std::strerror(errno);
    else if (!S_ISREG(st.st_mode))
        problem = "not a regular file";
    else if (st.st_nlink != 1)
        problem = "it has " + std::to_string(st.st_nlink) +
                  " links (a hard link shares its file with another name); remove it and let pxed make its own";
    if (!problem.empty()) {
        ::close(fd);
        throw std::runtime_error(path + ": " + problem);
    }
    // Writes block as a file's always do; O_NONBLOCK was for the open (a FIFO).
    ::fcntl(fd, F_SETFL, O_APPEND);
    return fd;
}

// Lines held by the thread that asked for it (the event loop), for one
// write(2) when it is about to sleep: at 30,000 kickstarts a second, a
// write per access line was 6% of the daemon's CPU. Warnings and errors go
// out at once, with whatever was held before them; so does a line from any
// other thread. Nothing is held past held_for or held_bytes.
thread_local bool holding_lines = false;
std::atomic<bool> lines_waiting{false};
constexpr std::size_t held_bytes = 32 * 1024;
constexpr auto held_for = std::chrono::milliseconds(100);

void write_all(int fd, const char* p, std::size_t left) {
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // a full disk loses lines, not the daemon
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

// spdlog's file sink opens by name and follows links: this one writes to
// the descriptor open_log_file() checked (or to stderr, which it leaves open).
class fd_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    fd_sink(int fd, bool owned) : fd_(fd), owned_(owned) {}
    ~fd_sink() override {
        write_held();
        if (owned_) ::close(fd_);
    }
    fd_sink(const fd_sink&) = delete;
    fd_sink& operator=(const fd_sink&) = delete;

    void write_held() {
        const std::lock_guard<std::mutex> lock(mutex_);
        write_held_locked();
    }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t buf;
        formatter_->format(msg, buf);
        if (holding_lines && msg.level < spdlog::level::warn) {
            if (held_.empty()) held_since_ = msg.time;
            held_.append(buf.data(), buf.size());
            lines_waiting.store(true, std::memory_order_relaxed);
            if (held_.size() >= held_bytes || msg.time - held_since_ >= held_for) write_held_locked();
            return;
        }
        if (!held_.empty()) {
            held_.append(buf.data(), buf.size());
            write_held_locked();
            return;
        }
        write_all(fd_, buf.data(), buf.size());
    }
    void flush_() override {}  // lines are written at once, or held on purpose

private:
    void write_held_locked() {
        if (held_.empty()) return;
        write_all(fd_, held_.data(), held_.size());
        held_.clear();
        lines_waiting.store(false, std::memory_order_relaxed);
    }

    int fd_;
    bool owned_;
    std::string held_;
    spdlog::log_clock::time_point held_since_{};
};

// The sink lines are held in now: write_held_log_lines() goes through it.
std::mutex current_sink_mutex;
std::shared_ptr<fd_sink> current_sink;

// The sd-daemon(3) priority prefix journald reads off the front of a line
// on its stream (and strips): SD_CRIT <2> .. SD_DEBUG <7>. spdlog has no
// notice level, so nothing is <5>.
std::string_view prefix_of(spdlog::level::level_enum level) {
    switch (level) {
    case spdlog::level::critical: return "<2>";
    case spdlog::level::err: return "<3>";
    case spdlog::level::warn: return "<4>";
    case spdlog::level::info: return "<6>";
    case spdlog::level::debug:
    case spdlog::level::trace: return "<7>";
    default: return "<6>";
    }
}

// %P: the line's journal priority prefix.
class journal_prefix_flag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        const auto p = prefix_of(msg.level);
        dest.append(p.data(), p.data() + p.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<journal_prefix_flag>(); }
};

// Where the lines go decides their shape: a terminal gets colour, the
// journal a priority prefix and no timestamp (journald stamps every line
// itself), anything else (a file, a pipe, a redirected stderr) a timestamp.
enum class destination { terminal, journal, plain };

destination stderr_destination() {
    if (isatty(STDERR_FILENO)) return destination::terminal;
    return stderr_is_journal() ? destination::journal : destination::plain;
}

std::unique_ptr<spdlog::formatter> make_formatter(const std::string& format, destination to) {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<journal_prefix_flag>('P');
    const std::string prefix = to == destination::journal ? "%P" : "";
    if (format == "json") {
        f->add_flag<json_message_flag>('J').set_pattern(
            prefix + R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":"%J"})");
    } else if (to == destination::terminal) {
        f->add_flag<redacted_message_flag>('R').set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %R");
    } else if (to == destination::journal) {
        f->add_flag<redacted_message_flag>('R').set_pattern("%P%-5l %R");
    } else {
        f->add_flag<redacted_message_flag>('R').set_pattern("%Y-%m-%d %H:%M:%S.%e %-5l %R");
    }
    return f;
}

}  // namespace

bool is_journal_stream(std::string_view journal_stream, int fd) {
    // "<st_dev>:<st_ino>" in decimal, as systemd writes it (systemd.exec(5)).
    const auto colon = journal_stream.find(':');
    if (colon == std::string_view::npos) return false;
    const auto number = [](std::string_view text, unsigned long long& value) {
        const auto* end = text.data() + text.size();
        const auto r = std::from_chars(text.data(), end, value);
        return !text.empty() && r.ec == std::errc() && r.ptr == end;
    };
    unsigned long long dev = 0, ino = 0;
    if (!number(journal_stream.substr(0, colon), dev) || !number(journal_stream.substr(colon + 1), ino)) return false;
    struct stat st{};
    if (::fstat(fd, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

bool stderr_is_journal() {
    // A child started with the service's environment but its stderr sent
    // elsewhere inherits the variable: only the descriptor itself tells.
    const char* value = std::getenv("JOURNAL_STREAM");
    return value != nullptr && is_journal_stream(value, STDERR_FILENO);
}

std::string_view journal_prefix(std::string_view level) { return prefix_of(spdlog::level::from_str(std::string(level))); }

void init_logging() {
    // Not through the registry's factory, which refuses a second "pxed-boot".
    auto logger = std::make_shared<spdlog::logger>("pxed-boot", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_formatter(make_formatter("text", stderr_destination()));
    write_held_log_lines();
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::info);
    const std::lock_guard<std::mutex> lock(current_sink_mutex);
    current_sink.reset();
}

void apply_logging(const inventory::log_settings& settings) {
    const bool to_stderr = settings.file.empty();
    auto sink = std::make_shared<fd_sink>(to_stderr ? STDERR_FILENO : open_log_file(settings.file), !to_stderr);
    auto logger = std::make_shared<spdlog::logger>("pxed", sink);
    logger->set_formatter(make_formatter(settings.format, to_stderr ? stderr_destination() : destination::plain));
    logger->set_level(spdlog::level::from_str(settings.level));
    // What the old sink holds goes out before the new one's first line.
    write_held_log_lines();
    spdlog::set_default_logger(logger);
    const std::lock_guard<std::mutex> lock(current_sink_mutex);
    current_sink = std::move(sink);
}

void hold_log_lines_on_this_thread(bool on) {
    if (!on && holding_lines) write_held_log_lines();
    holding_lines = on;
}

bool log_lines_held() { return lines_waiting.load(std::memory_order_relaxed); }

void write_held_log_lines() {
    std::shared_ptr<fd_sink> sink;
    {
        const std::lock_guard<std::mutex> lock(current_sink_mutex);
        sink = current_sink;
    }
    if (sink) sink->write_held();
}

}  // namespace pxed::app
