#pragma once
/// Giving up root once every port is bound, as OpenBSD's tftpd does: look the
/// account up, hand it the state directory, setgroups/setgid/setuid, then
/// prove that root cannot come back and that no capability is left.
///
/// Accounts are read from /etc/passwd and /etc/group directly, not through
/// NSS: the RPM ships a static binary, and a static glibc would dlopen the
/// host's NSS modules (built for another glibc) for anything but local files.
/// server.user is a local system account (the RPM's %pre creates `pxed`).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pxed::app {

/// A local account: passwd(5) entry plus its group(5) memberships.
struct account {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  ///< what setgroups() gets: the primary group first, then the others
};

/// Finds `name` in passwd(5) text and collects its groups from group(5) text.
/// Malformed lines are skipped; nullopt when the name has no entry.
std::optional<account> find_account(std::string_view passwd, std::string_view group, std::string_view name);

/// find_account() on /etc/passwd and /etc/group; `error` says why on nullopt.
std::optional<account> lookup_account(std::string_view name, std::string& error);

/// The identity lines of /proc/<pid>/status (proc(5)).
struct process_credentials {
    uid_t uid[4] = {};  ///< real, effective, saved, filesystem
    gid_t gid[4] = {};
    std::vector<gid_t> groups;
    std::uint64_t cap_inh = 0, cap_prm = 0, cap_eff = 0, cap_amb = 0;
};

/// Parses /proc/<pid>/status text; nullopt when a Uid/Gid/CapPrm/CapEff line is missing or bad.
/// (CapAmb appeared in Linux 4.3: absent means 0, as on CentOS 7's 3.10.)
std::optional<process_credentials> parse_proc_status(std::string_view text);

/// This process's credentials from /proc/self/status.
std::optional<process_credentials> own_credentials();

enum class drop_outcome {
    not_configured,  ///< server.user is empty: stay who we are
    stayed,          ///< not root (or server.user is root): continue as the current user, with a warning
    dropped,         ///< now running as server.user with no capabilities
    failed,          ///< refuse to run: the user is missing, a step failed, or root could come back
};

struct drop_report {
    drop_outcome outcome = drop_outcome::failed;
    std::string message;                ///< one line for the log
    std::vector<std::string> warnings;  ///< e.g. files in the state directory left as they are
};

/// The names pxed keeps in server.state_dir, the only ones it touches
/// there: the host and lease databases, SQLite's -wal, -shm and -journal
/// files beside each, and the control socket.
bool is_state_file_name(std::string_view name);

/// Makes server.state_dir safe to open files in, before anything in it is
/// opened. `owner` is the uid pxed will run as (server.user's once
/// dropped, else the current one). Creates the directory (mode 0750) if it
/// is missing. Refuses, with a message naming the path and what to do:
/// a directory that is a symlink (the last component is never followed),
/// not a directory, group- or world-writable, or owned by anyone but
/// `owner` or root; a root-owned one that is to be handed to `owner` but
/// holds names that are not pxed's (a state_dir: /var/lib mistake); and
/// any of pxed's names (is_state_file_name) that is a symlink, a hard link
/// (more than one name), not a regular file (the control socket: not a
/// socket), or owned by anyone but `owner` or root. Nothing is repaired:
/// surprising ownership is the administrator's to explain. Empty on success.
std::string prepare_state_dir(const std::string& dir, uid_t owner);

/// Checks `state_dir` again (prepare_state_dir()) and hands the directory
/// and pxed's root-owned files in it (regular, one link, never through a
/// symlink) to `user`, then drops to it. Files of other names are never
/// touched, nor the control socket (root's, in the user's group). Call after
/// every socket is bound and before the first packet is read.
drop_report drop_privileges(const std::string& user, const std::string& state_dir);

}  // namespace pxed::app
