#pragma once
/// `pxed check`: are the ports pxed serves open in firewalld (docs/doctor.md,
/// "Firewall")?
///
/// Only where firewalld runs (`firewall-cmd --state` prints "running"):
/// firewall-cmd missing, or firewalld stopped, gives no finding (a finding
/// is an error or a warning, and a machine without firewalld has nothing to
/// fix), only the sentence in `skipped` for pxed check's notes.
///
/// What must be let in, from site.yaml:
///   - DHCP server mode: server.dhcp.port/udp (67; firewalld service `dhcp`);
///   - DHCP proxy mode: 67/udp (the clients' broadcasts) and
///     server.dhcp.proxy_port/udp (4011; service `proxy-dhcp`);
///   - TFTP: server.tftp.port/udp (69; service `tftp`). Only the request
///     port: pxed sends each transfer from a port of its own, the reply
///     leaves through firewalld's open OUTPUT and the client's ACKs come
///     back as ESTABLISHED; the `tftp` service's nf_conntrack_tftp helper
///     would relate them too;
///   - HTTP: server.http.port/tcp (80; service `http`);
///   - FTP: server.ftp.port/tcp (21; service `ftp`) and the passive range
///     server.ftp.passive_ports/tcp, unless the `ftp` service is on and pxed
///     listens on 21: that service loads nf_conntrack_ftp, which reads
///     pxed's 227/229 replies on port 21 and lets the data connection in as
///     RELATED. A port opened with --add-port has no helper.
///
/// Where: the zone of each interface in server.interfaces
/// (`--get-zone-of-interface`, the default zone when it is in none), or the
/// default zone when none is listed. The zone `trusted` lets everything in.
/// The runtime configuration is read (what filters packets now); the fix
/// changes the permanent one and reloads, so it survives a reboot.
/// The service-to-port table is firewalld's RHEL 7 definitions
/// (/usr/lib/firewalld/services/*.xml); a service the installed firewalld
/// lacks (`--get-services`: a trimmed or customised set) is replaced by
/// --add-port in the fix.
///
/// Findings are warnings: pxed itself runs, the clients time out.

#include <string>
#include <vector>

#include "pxed/doctor/finding.hpp"
#include "pxed/inventory/site.hpp"

namespace pxed::doctor {

/// `skipped` (may be null) receives one sentence when nothing was checked
/// ("firewalld is not running: firewall not checked").
std::vector<finding> check_firewall(const inventory::site& site, const command_runner& run, const locator& where,
                                    std::string* skipped = nullptr);

}  // namespace pxed::doctor
