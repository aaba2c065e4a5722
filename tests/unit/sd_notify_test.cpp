#include "pxed/app/sd_notify.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace app = pxed::app;

namespace {

TEST(parse_notify_address, absolute_path) {
    std::string error;
    const auto a = app::parse_notify_address("/run/systemd/notify", error);
    ASSERT_TRUE(a) << error;
    EXPECT_EQ(a->addr.sun_family, AF_UNIX);
    EXPECT_STREQ(a->addr.sun_path, "/run/systemd/notify");
    EXPECT_EQ(a->length, offsetof(sockaddr_un, sun_path) + sizeof("/run/systemd/notify"));
}

TEST(parse_notify_address, abstract_name) {
    std::string error;
    const auto a = app::parse_notify_address("@/org/freedesktop/systemd1/notify/1234", error);
    ASSERT_TRUE(a) << error;
    EXPECT_EQ(a->addr.sun_path[0], '\0');
    const std::string name(a->addr.sun_path + 1, a->length - offsetof(sockaddr_un, sun_path) - 1);
    // No trailing NUL: the kernel takes the length as the name's end.
    EXPECT_EQ(name, "/org/freedesktop/systemd1/notify/1234");
}

TEST(parse_notify_address, refuses) {
    std::string error;
    EXPECT_FALSE(app::parse_notify_address("", error));
    EXPECT_FALSE(app::parse_notify_address("relative/notify", error));
    EXPECT_NE(error.find("absolute"), std::string::npos);
    EXPECT_FALSE(app::parse_notify_address("vsock:2:1234", error));
    EXPECT_FALSE(app::parse_notify_address("@", error));
    EXPECT_FALSE(app::parse_notify_address("/" + std::string(sizeof(sockaddr_un::sun_path) - 1, 'x'), error));
    EXPECT_TRUE(app::parse_notify_address("/" + std::string(sizeof(sockaddr_un::sun_path) - 2, 'x'), error));
    EXPECT_TRUE(app::parse_notify_address("@" + std::string(sizeof(sockaddr_un::sun_path) - 1, 'x'), error));
    EXPECT_FALSE(app::parse_notify_address("@" + std::string(sizeof(sockaddr_un::sun_path), 'x'), error));
}

// A stand-in for systemd's end: a bound datagram socket.
class listener {
public:
    explicit listener(const std::string& value) {
        std::string error;
        const auto a = app::parse_notify_address(value, error);
        EXPECT_TRUE(a) << error;
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        EXPECT_EQ(bind(fd_, reinterpret_cast<const sockaddr*>(&a->addr), a->length), 0) << std::strerror(errno);
    }
    ~listener() { close(fd_); }

    std::string receive() {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 2000) != 1) return "(nothing)";
        char buf[4096];
        const auto n = recv(fd_, buf, sizeof buf, 0);
        return n < 0 ? "(error)" : std::string(buf, static_cast<std::size_t>(n));
    }

private:
    int fd_ = -1;
};

class notifier_test : public ::testing::Test {
protected:
    void TearDown() override { unsetenv("NOTIFY_SOCKET"); }
};

TEST_F(notifier_test, inactive_without_notify_socket) {
    unsetenv("NOTIFY_SOCKET");
    app::service_notifier n;
    EXPECT_FALSE(n.active());
    EXPECT_TRUE(n.notify("READY=1"));
}

TEST_F(notifier_test, sends_to_a_path) {
    char dir[] = "/tmp/pxed-notify-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir));
    const std::string path = std::string(dir) + "/notify";
    {
        listener l(path);
        setenv("NOTIFY_SOCKET", path.c_str(), 1);
        app::service_notifier n;
        EXPECT_TRUE(n.active());
        EXPECT_TRUE(n.notify("READY=1\nSTATUS=serving")) << n.error();
        EXPECT_EQ(l.receive(), "READY=1\nSTATUS=serving");
        EXPECT_TRUE(n.notify("STOPPING=1"));
        EXPECT_EQ(l.receive(), "STOPPING=1");
    }
    unlink(path.c_str());
    rmdir(dir);
}

TEST_F(notifier_test, sends_to_an_abstract_name) {
    const std::string name = "@pxed-notify-test-" + std::to_string(getpid());
    listener l(name);
    setenv("NOTIFY_SOCKET", name.c_str(), 1);
    app::service_notifier n;
    EXPECT_TRUE(n.notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(app::monotonic_usec()))) << n.error();
    EXPECT_EQ(l.receive().rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u);
}

TEST_F(notifier_test, reports_a_missing_socket) {
    setenv("NOTIFY_SOCKET", "/nonexistent/pxed/notify", 1);
    app::service_notifier n;
    EXPECT_TRUE(n.active());
    EXPECT_FALSE(n.notify("READY=1"));
    EXPECT_NE(n.error().find("NOTIFY_SOCKET"), std::string::npos);
}

TEST_F(notifier_test, reconnects_when_the_manager_recreates_its_socket) {
    // systemctl daemon-reexec: the old socket goes away, a new one appears at the same name.
    const std::string name = "@pxed-notify-reexec-" + std::to_string(getpid());
    setenv("NOTIFY_SOCKET", name.c_str(), 1);
    auto first = std::make_unique<listener>(name);
    app::service_notifier n;
    EXPECT_TRUE(n.notify("READY=1"));
    EXPECT_EQ(first->receive(), "READY=1");
    first.reset();
    listener second(name);
    EXPECT_TRUE(n.notify("STATUS=after reexec")) << n.error();
    EXPECT_EQ(second.receive(), "STATUS=after reexec");
}

TEST(monotonic_usec, advances) {
    const auto a = app::monotonic_usec();
    usleep(2000);
    EXPECT_GE(app::monotonic_usec() - a, 2000u);
}

}  // namespace
