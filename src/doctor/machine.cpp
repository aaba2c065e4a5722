// This machine as the doctor sees it: its interfaces, its accounts, and the
// system's tools run without a shell (argv as given, nothing interpreted)
// and killed when they hang (firewall-cmd waits on D-Bus forever when
// firewalld is wedged).

#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>

#include "pxed/doctor/doctor.hpp"

namespace pxed::doctor {

namespace {

class process_runner final : public command_runner {
public:
    explicit process_runner(std::chrono::milliseconds timeout) : timeout_(timeout) {}

    command_result run(const std::vector<std::string>& argv) const override {
        command_result r;
        if (argv.empty()) return r;
        int out[2], failed[2];
        if (::pipe2(out, O_CLOEXEC) != 0) return r;
        if (::pipe2(failed, O_CLOEXEC) != 0) {
            ::close(out[0]);
            ::close(out[1]);
            return r;
        }
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        const pid_t pid = ::fork();
        if (pid == 0) {
            // The child: stdout to the pipe, stdin and stderr to /dev/null;
            // exec's errno to `failed` when it cannot start.
            const int null = ::open("/dev/null", O_RDWR);
            if (null >= 0) {
                ::dup2(null, 0);
                ::dup2(null, 2);
            }
            ::dup2(out[1], 1);
            ::execvp(args[0], args.data());
            const int e = errno;
            [[maybe_unused]] const auto n = ::write(failed[1], &e, sizeof e);
            ::_exit(127);
        }
        ::close(out[1]);
        ::close(failed[1]);
        if (pid < 0) {
            ::close(out[0]);
            ::close(failed[0]);
            return r;
        }
        const auto deadline = std::chrono::steady_clock::now() + timeout_;
        bool timed_out = false;
        char buf[4096];
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                timed_out = true;
                break;
            }
            pollfd p{out[0], POLLIN, 0};
            const int n = ::poll(&p, 1, static_cast<int>(left.count()));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                timed_out = n == 0;
                break;
            }
            const auto got = ::read(out[0], buf, sizeof buf);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) break;
            if (r.out.size() < (1u << 20)) r.out.append(buf, static_cast<std::size_t>(got));
        }
        if (timed_out) ::kill(pid, SIGKILL);
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        int exec_errno = 0;
        const bool not_started = ::read(failed[0], &exec_errno, sizeof exec_errno) == sizeof exec_errno;
        ::close(out[0]);
        ::close(failed[0]);
        r.ran = !not_started && !timed_out;
        r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        return r;
    }

private:
    std::chrono::milliseconds timeout_;
};

class real_machine final : public machine {
public:
    real_machine(account_lookup accounts, std::chrono::milliseconds timeout)
        : accounts_(std::move(accounts)), runner_(timeout) {}

    std::vector<interface_info> interfaces() const override {
        std::vector<interface_info> out;
        ifaddrs* list = nullptr;
        if (::getifaddrs(&list) != 0) return out;
        std::map<std::string, interface_info> by_name;
        for (auto* a = list; a; a = a->ifa_next) {
            if (!a->ifa_name) continue;
            auto& i = by_name[a->ifa_name];
            i.name = a->ifa_name;
            i.up = i.up || (a->ifa_flags & IFF_UP);
            if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
            const auto* sin = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
            unsigned prefix = 32;
            if (a->ifa_netmask)
                prefix = static_cast<unsigned>(
                    __builtin_popcount(ntohl(reinterpret_cast<const sockaddr_in*>(a->ifa_netmask)->sin_addr.s_addr)));
            i.addresses.emplace_back(wire::ipv4_address{ntohl(sin->sin_addr.s_addr)}, prefix);
        }
        ::freeifaddrs(list);
        for (auto& [name, i] : by_name) out.push_back(std::move(i));
        return out;
    }

    std::optional<account> find_account(const std::string& user) const override {
        return accounts_ ? accounts_(user) : std::nullopt;
    }

    const command_runner& runner() const override { return runner_; }

private:
    account_lookup accounts_;
    process_runner runner_;
};

}  // namespace

std::unique_ptr<machine> local_machine(account_lookup accounts, std::chrono::milliseconds command_timeout) {
    return std::make_unique<real_machine>(std::move(accounts), command_timeout);
}

}  // namespace pxed::doctor
