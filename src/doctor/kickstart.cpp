#include "pxed/doctor/kickstart.hpp"
#include "pxed/wire/text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace pxed::doctor {
namespace {

// Releases a command or section exists in: a bit per EL release, and a bit
// for "deprecated there" (parsed, warned about, ignored).
enum release_bits : std::uint8_t {
    el6 = 1 << 0,
    el7 = 1 << 1,
    el6_deprecated = 1 << 2,
    el7_deprecated = 1 << 3,
};

struct ks_command {
    std::string_view name;
    unsigned releases;
    /// For a command missing from a release: what to do instead.
    std::string_view instead = {};
};

// anaconda's kickstart commands. EL 6: pykickstart 1.74 (tag r1.74.22-1),
// pykickstart/handlers/control.py, commandMap[RHEL6]; EL 7: pykickstart
// 1.99.66 (tag r1.99.66.22-1), pykickstart/handlers/rhel7.py,
// RHEL7Handler.commandMap (github.com/pykickstart/pykickstart). Deprecated:
// the classes deriving from DeprecatedCommand (F10_Monitor, F20_Upgrade).
// Matching is case-sensitive, as pykickstart's dictionary lookup is.
constexpr ks_command commands[] = {
    {"auth", el6 | el7},
    {"authconfig", el6 | el7},
    {"autopart", el6 | el7},
    {"autostep", el6 | el7},
    {"bootloader", el6 | el7},
    {"btrfs", el7},
    {"cdrom", el6 | el7},
    {"clearpart", el6 | el7},
    {"cmdline", el6 | el7},
    {"device", el6 | el7},
    {"deviceprobe", el6 | el7},
    {"dmraid", el6 | el7},
    {"driverdisk", el6 | el7},
    {"eula", el7},
    {"fcoe", el6 | el7},
    {"firewall", el6 | el7},
    {"firstboot", el6 | el7},
    {"graphical", el6 | el7},
    {"group", el6 | el7},
    {"halt", el6 | el7},
    {"harddrive", el6 | el7},
    {"hmc", el7},
    {"ignoredisk", el6 | el7},
    {"install", el6 | el7},
    {"interactive", el6, "delete the line: EL 7 has no interactive kickstart mode"},
    {"iscsi", el6 | el7},
    {"iscsiname", el6 | el7},
    {"key", el6, "delete the line: EL 7 has no installation number"},
    {"keyboard", el6 | el7},
    {"lang", el6 | el7},
    {"liveimg", el7},
    {"logging", el6 | el7},
    {"logvol", el6 | el7},
    {"mediacheck", el6 | el7},
    {"method", el7},
    {"monitor", el6_deprecated, "delete the line: EL 7 sets up the display by itself"},
    {"mount", el7},
    {"multipath", el6 | el7},
    {"network", el6 | el7},
    {"nfs", el6 | el7},
    {"nvdimm", el7},
    {"ostreesetup", el7},
    {"part", el6 | el7},
    {"partition", el6 | el7},
    {"poweroff", el6 | el7},
    {"raid", el6 | el7},
    {"realm", el7},
    {"reboot", el6 | el7},
    {"repo", el6 | el7},
    {"reqpart", el7},
    {"rescue", el6 | el7},
    {"rootpw", el6 | el7},
    {"selinux", el6 | el7},
    {"services", el6 | el7},
    {"shutdown", el6 | el7},
    {"skipx", el6 | el7},
    {"snapshot", el7},
    {"sshkey", el7},
    {"sshpw", el6 | el7},
    {"text", el6 | el7},
    {"timezone", el6 | el7},
    {"unsupported_hardware", el6 | el7},
    {"updates", el6 | el7},
    {"upgrade", el6 | el7_deprecated, "delete the line: EL 7's installer does not upgrade (use redhat-upgrade-tool)"},
    {"url", el6 | el7},
    {"user", el6 | el7},
    {"vnc", el6 | el7},
    {"volgroup", el6 | el7},
    {"xconfig", el6 | el7},
    {"zerombr", el6 | el7},
    {"zfcp", el6 | el7},
};

// Sections. EL 6 (pykickstart 1.74 parser.py) knows %pre, %post,
// %traceback and %packages; EL 7 (1.99.66, KickstartParser.setupSections)
// adds %pre-install, %onerror and the %addon and %anaconda sections it
// passes on. %include and %ksappend are directives, valid anywhere.
constexpr ks_command sections[] = {
    {"%pre", el6 | el7},       {"%post", el6 | el7},    {"%traceback", el6 | el7}, {"%packages", el6 | el7},
    {"%pre-install", el7},     {"%onerror", el7},       {"%addon", el7},           {"%anaconda", el7},
};

unsigned bit_of(int el) { return el == 6 ? el6 : el7; }
unsigned deprecated_bit_of(int el) { return el == 6 ? el6_deprecated : el7_deprecated; }

const ks_command* find(const ks_command* first, const ks_command* last, std::string_view name) {
    const auto it = std::find_if(first, last, [&](const ks_command& c) { return c.name == name; });
    return it == last ? nullptr : it;
}

bool known_section(std::string_view name, int el) {
    const auto* s = find(std::begin(sections), std::end(sections), name);
    return s != nullptr && (s->releases & bit_of(el)) != 0;
}

// The closest name the release knows, within two edits.
std::string did_you_mean(std::string_view name, const ks_command* first, const ks_command* last, int el) {
    std::vector<std::string> known;
    for (auto* c = first; c != last; ++c)
        if ((c->releases & (bit_of(el) | deprecated_bit_of(el))) != 0) known.emplace_back(c->name);
    return wire::closest(std::string(name), known);
}

// The first word of a line, as pykickstart's shlex split sees it for the
// names it compares (commands and section headers carry no quotes).
std::string_view first_word(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    std::size_t j = i;
    while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
    return line.substr(i, j - i);
}

std::string release_name(int el) { return "EL " + std::to_string(el); }

}  // namespace

std::vector<finding> lint_kickstart(const std::string& text, int el_major,
                                    const inventory::source_location& template_where) {
    if (el_major != 6 && el_major != 7) return {};
    std::vector<finding> out;
    auto warn = [&](int line, std::string message, std::string fix) {
        finding f;
        f.level = inventory::severity::warning;
        f.where = {template_where.file, line, 0};
        f.topic = "kickstart";
        f.message = std::move(message);
        f.fix = std::move(fix);
        out.push_back(std::move(f));
    };
    const std::string el = release_name(el_major);

    std::string open;  // the open section, "" in the command section
    int open_line = 0;
    auto unclosed = [&](int at, std::string_view next) {
        if (!known_section(open, el_major)) return;  // already refused as unknown
        const std::string where_closed =
            next.empty() ? std::string("the end of the file") : std::string(next) + " (line " + std::to_string(at) + ")";
        warn(open_line,
             open + " is not closed with %end before " + where_closed + ": " +
                 (el_major == 7 ? "EL 7 refuses the kickstart" : "EL 6 accepts it with a deprecation warning, EL 7 refuses it"),
             "add a line %end after the last line of " + open);
    };

    int n = 0;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        auto nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        std::string_view line(text.data() + pos, nl - pos);
        ++n;
        const bool last = nl == text.size();
        pos = nl + 1;
        if (last && line.empty()) break;

        const auto word = first_word(line);
        if (word.empty() || word[0] == '#') {
            if (last) break;
            continue;
        }
        if (!open.empty()) {
            // In a section only %end and the headers the parser knows count;
            // any other "%..." line belongs to the script.
            if (word == "%end") {
                open.clear();
            } else if (known_section(word, el_major)) {
                unclosed(n, word);
                open = std::string(word);
                open_line = n;
            }
        } else if (word == "%include" || word == "%ksappend") {
            // directives: nothing to check without the file they name
        } else if (word == "%end") {
            warn(n, "%end closes no section: anaconda refuses the kickstart", "delete the line or the %end before it");
        } else if (word[0] == '%') {
            if (!known_section(word, el_major)) {
                const auto guess = did_you_mean(word, std::begin(sections), std::end(sections), el_major);
                warn(n, std::string(word) + " is not an " + el + " kickstart section: anaconda refuses the kickstart",
                     guess.empty() ? "remove the section or correct its name"
                                   : "correct it to " + guess);
            }
            open = std::string(word);  // read on to its %end, whatever it is
            open_line = n;
        } else {
            const auto* c = find(std::begin(commands), std::end(commands), word);
            if (c != nullptr && (c->releases & bit_of(el_major)) != 0) {
                // known
            } else if (c != nullptr && (c->releases & deprecated_bit_of(el_major)) != 0) {
                warn(n, "'" + std::string(word) + "' is deprecated in " + el + " kickstarts and does nothing",
                     c->instead.empty() ? std::string("delete the line") : std::string(c->instead));
            } else {
                std::string fix;
                if (c != nullptr && !c->instead.empty()) {
                    fix = std::string(c->instead);
                } else {
                    const auto guess = did_you_mean(word, std::begin(commands), std::end(commands), el_major);
                    fix = guess.empty() ? "remove the line or correct the command's name"
                                        : "correct it to '" + guess + "'";
                }
                warn(n, "'" + std::string(word) + "' is not an " + el + " kickstart command: anaconda stops at it",
                     std::move(fix));
            }
        }
        if (last) break;
    }
    if (!open.empty()) unclosed(n, "");
    return out;
}

std::optional<int> el_major_of(std::string_view text, const std::vector<std::string>& names) {
    // "#version=RHEL7" (pykickstart's marker; "#version=DEVEL" says nothing).
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        const auto line = text.substr(pos, nl - pos);
        pos = nl + 1;
        for (const std::string_view marker : {"#version=RHEL", "#version=rhel"}) {
            if (line.substr(0, marker.size()) == marker && line.size() > marker.size()) {
                const char d = line[marker.size()];
                if (d == '6' && (line.size() == marker.size() + 1 || !std::isdigit(static_cast<unsigned char>(line[marker.size() + 1]))))
                    return 6;
                if (d == '7' && (line.size() == marker.size() + 1 || !std::isdigit(static_cast<unsigned char>(line[marker.size() + 1]))))
                    return 7;
            }
        }
    }
    // "centos7.ks", "el6", "rhel-7", "centos/7/os": a 6 or 7 standing alone
    // after a family word or a separator.
    for (const auto& raw : names) {
        std::string name;
        for (const char ch : raw) name += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        for (const std::string_view family : {"centos", "rhel", "el", "redhat", "rocky", "alma", "oracle", "ol"}) {
            for (auto at = name.find(family); at != std::string::npos; at = name.find(family, at + 1)) {
                // a word of its own: "el" in "kernel" does not count
                if (at > 0 && std::isalpha(static_cast<unsigned char>(name[at - 1]))) continue;
                std::size_t i = at + family.size();
                while (i < name.size() && (name[i] == '-' || name[i] == '_' || name[i] == '/' || name[i] == ' ')) ++i;
                if (i < name.size() && (name[i] == '6' || name[i] == '7') &&
                    (i + 1 == name.size() || !std::isdigit(static_cast<unsigned char>(name[i + 1]))))
                    return name[i] - '0';
            }
        }
    }
    return std::nullopt;
}

}  // namespace pxed::doctor
