#pragma once
/// `pxed check`: do the TFTP root, the install trees and the state directory
/// carry SELinux types fit for what pxed does with them (docs/doctor.md,
/// "SELinux")?
///
/// Only where `getenforce` prints "Enforcing": not installed, Permissive or
/// Disabled gives no finding (nothing is denied there), only the sentence
/// in `skipped` for pxed check's notes.
///
/// Which domain pxed runs in: the RPM (packaging/rpm/pxed.spec) installs
/// /usr/sbin/pxed, labelled bin_t by the policy, and ships no policy
/// module; systemd (init_t) starting a bin_t program puts it in
/// unconfined_service_t on CentOS 7. SELinux does not restrict that domain's
/// reads and writes, so these labels do not stop pxed itself today. They are
/// still checked, and as warnings, because:
///   - a type that is not the policy's default for the path (`matchpathcon`)
///     is what `mv` leaves behind (a tree built in /root keeps admin_home_t,
///     one unpacked in /tmp keeps user_tmp_t) or a `chcon` nobody recorded:
///     the next `restorecon -R`, `fixfiles` or autorelabel changes it;
///   - the classic setup this replaces runs confined servers on the same
///     paths (in.tftpd as tftpd_t, httpd_t, vsftpd as ftpd_t), and a
///     confined pxed policy would be written to read the same types. Those
///     domains read tftpdir_t, public_content_t (all three),
///     httpd_sys_content_t (httpd) and a mounted ISO's iso9660_t; home,
///     temporary, default_t and unlabeled types they may not.
/// So: the TFTP root and each tree must carry one of tftpdir_t,
/// tftpdir_rw_t, public_content_t, public_content_rw_t, httpd_sys_content_t,
/// httpd_sys_rw_content_t or iso9660_t; the state directory, which pxed
/// writes, var_lib_t (the default for /var/lib/pxed); and whatever a path
/// carries must be what the policy says for it, or a relabel will undo it.
///
/// The fix: `restorecon -Rv PATH` when the policy's default is already
/// right; otherwise `semanage fcontext -a -t TYPE "PATH(/.*)?"` (records the
/// type, so relabels keep it) and `restorecon -Rv PATH`. Directories are
/// looked at themselves (`stat -c %C`): a `mv` relabels nothing beneath
/// them either, and a tree's thousands of files are not walked. The boot
/// files (boot.bios, ...) and the profiles' kernels and initrds in the TFTP
/// root are looked at one by one (`mv /root/pxelinux.0 /var/lib/tftpboot/`
/// leaves one file wrong in a right directory), with file fixes
/// (`"PATH"`, `restorecon -v`).

#include <string>
#include <vector>

#include "pxed/doctor/finding.hpp"
#include "pxed/inventory/site.hpp"

namespace pxed::doctor {

/// `skipped` (may be null) receives one sentence when nothing was checked
/// ("SELinux is Permissive: contexts not checked").
std::vector<finding> check_selinux(const inventory::site& site, const command_runner& run, const locator& where,
                                   std::string* skipped = nullptr);

}  // namespace pxed::doctor
