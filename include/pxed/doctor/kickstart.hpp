#pragma once
/// `pxed check`: a rendered kickstart read as anaconda's kickstart parser
/// (pykickstart) of EL 6 or EL 7 would read it (docs/doctor.md,
/// "Kickstarts"). Warnings, one per problem:
///   - a command the release does not know: anaconda stops the install at
///     it ("Unknown command"), with a did-you-mean and, for commands that
///     EL 7 dropped (key, interactive, monitor), what to do instead;
///   - a command the release keeps only as deprecated (monitor on 6,
///     upgrade on 7): parsed, warned about and ignored;
///   - a section (%packages, %pre, %post, ...) left open without %end:
///     EL 7 refuses the file ("Section %post does not end with %end."),
///     EL 6 accepts it with a deprecation warning and closes the section at
///     the next section header or the end of the file;
///   - a section the release does not know (%addon on 6, a typo): both
///     refuse it ("Unknown kickstart section"); a %end that closes nothing.
///
/// The command and section tables are in src/doctor/kickstart.cpp, taken
/// from pykickstart as the releases ship it (1.74 on EL 6, 1.99.66 on EL 7).
///
/// Where: `template_where.file` (the template the kickstart was rendered
/// from) with `line` set to the line in the *rendered* document, which is
/// what anaconda's own messages count; the column is 0. A template's
/// sections and partials shift its lines, so the line is not the
/// template's: `pxed render` shows the document it counts in.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pxed/doctor/finding.hpp"
#include "pxed/inventory/diagnostic.hpp"

namespace pxed::doctor {

/// The lint for EL `el_major` 6 or 7; any other release: nothing (no table).
std::vector<finding> lint_kickstart(const std::string& text, int el_major,
                                    const inventory::source_location& template_where);

/// Which EL release a kickstart is for, best source first: its
/// `#version=RHEL7` line (pykickstart's syntax marker, which ksflatten
/// writes), else the first of `names` (the template's name, then the
/// profile's tree name or path, as the caller has them) that says
/// centos6/el6/rhel6 or 7 ("centos7.ks", "/srv/centos/7/os/x86_64").
/// nullopt: the caller cannot lint it.
std::optional<int> el_major_of(std::string_view text, const std::vector<std::string>& names);

}  // namespace pxed::doctor
