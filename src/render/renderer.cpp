// The only translation unit that includes kainjow mustache.

#include "pxed/render/renderer.hpp"
#include "pxed/wire/text.hpp"

#include <kainjow/mustache.hpp>

#include "template_syntax.hpp"

#include <algorithm>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace pxed::render {
namespace mstch = kainjow::mustache;
using inventory::diagnostic;
using inventory::severity;

namespace {

// Names of the shipped/overridable templates per document kind.
const char* menu_template(document_kind k) {
    switch (k) {
    case document_kind::pxelinux: return "pxelinux/menu.cfg";
    case document_kind::grub: return "grub/menu.cfg";
    case document_kind::ipxe: return "ipxe/menu.ipxe";
    case document_kind::kickstart: break;
    }
    return "";
}

const char* host_template(document_kind k) {
    switch (k) {
    case document_kind::pxelinux: return "pxelinux/host.cfg";
    case document_kind::grub: return "grub/host.cfg";
    case document_kind::ipxe: return "ipxe/host.ipxe";
    case document_kind::kickstart: break;
    }
    return "";
}

const char* kind_name(document_kind k) {
    switch (k) {
    case document_kind::pxelinux: return "pxelinux";
    case document_kind::grub: return "grub";
    case document_kind::ipxe: return "ipxe";
    case document_kind::kickstart: return "kickstart";
    }
    return "";
}

// Mustache's "standalone tag" rule: a line holding nothing but a section,
// inverted-section, end, comment or partial tag leaves no trace in the
// output. kainjow applies it only in some positions (a skipped section still
// leaves its blank line), which litters boot configs and kickstarts with
// empty lines. So the rule is applied here, to the template text: such a
// line loses its indentation and newline, and gets a marker byte behind the
// tag so that kainjow's own half-working detection never fires on it.
// The markers are removed from the rendered text.
constexpr char standalone_marker = '\x01';

std::string strip_standalone_lines(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto eol = text.find('\n', pos);
        const bool has_newline = eol != std::string::npos;
        if (!has_newline) eol = text.size();
        std::size_t b = pos, e = eol;
        if (e > b && text[e - 1] == '\r') --e;
        while (b < e && (text[b] == ' ' || text[b] == '\t')) ++b;
        while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t')) --e;
        const bool standalone = e - b >= 5 && text.compare(b, 2, "{{") == 0 && text.compare(e - 2, 2, "}}") == 0 &&
                                std::string("#^/!>").find(text[b + 2]) != std::string::npos &&
                                text.find("}}", b + 2) == e - 2;
        if (standalone) {
            out.append(text, b, e - b);
            out.push_back(standalone_marker);
        } else
            out.append(text, pos, (has_newline ? eol + 1 : eol) - pos);
        pos = has_newline ? eol + 1 : eol;
    }
    return out;
}

// Where a template's text comes from, for messages: a template file (the
// shipped ones as templates/<name>) or a string in site.yaml, whose first
// line is line `first_line` there.
struct source {
    const std::string& text;
    std::string file;
    int first_line = 1;
};

}  // namespace

// A template text checked and compiled once per site, not once per
// document: pxed's own syntax walk and kainjow's component tree. kainjow
// renders through non-const members (and records errors in them), so each
// compiled template renders under its own lock: the servers' thread and a
// reload worker (diffing the old site's documents) may share one.
struct compiled_template {
    syntax::parse_result parsed;
    std::mutex lock;
    std::optional<mstch::mustache> tmpl;  // only when `parsed` is ok
};

// Compiled for kainjow on first rendering (a text only checked, such as a
// partial walked by the strict check, never is); under c.lock.
static void compile_for_kainjow(compiled_template& c, const std::string& text) {
    c.tmpl.emplace(strip_standalone_lines(text));
    // Boot loader configs and kickstarts are not HTML: `&` and `<` in kernel
    // arguments or package names must come out as written.
    c.tmpl->set_custom_escape([](const std::string& s) { return s; });
}

class compiled_cache {
public:
    // Site texts (templates, profile appends, URL templates) are few; a
    // site with a distinct uefi-http per host would make many: past the
    // bound, texts are compiled for the one rendering and dropped.
    static constexpr std::size_t max_entries = 4096;

    std::shared_ptr<compiled_template> get(const std::string& text) {
        std::lock_guard<std::mutex> g(lock_);
        const auto it = items_.find(text);
        if (it != items_.end()) return it->second;
        auto c = std::make_shared<compiled_template>();
        c->parsed = syntax::parse(text);
        if (items_.size() < max_entries) items_.emplace(text, c);
        return c;
    }

    std::size_t size() const {
        std::lock_guard<std::mutex> g(lock_);
        return items_.size();
    }

private:
    mutable std::mutex lock_;
    std::unordered_map<std::string, std::shared_ptr<compiled_template>> items_;
};

namespace {

// What every rendering of one site shares.
struct render_env {
    const template_set& templates;
    const std::set<std::string>& known;  // names some document defines
    compiled_cache& compiled;
};

std::string display_name(const template_set& templates, const std::string& name) {
    const auto origin = templates.origin(name);
    return origin.empty() || origin == "built-in" ? "templates/" + name : origin;
}

// The template-set key a partial resolves to ("snippets/x" or "x").
std::string partial_key(const template_set& templates, const std::string& name) {
    return templates.find("snippets/" + name) ? "snippets/" + name : name;
}

rendered failure(inventory::source_location where, std::string what) {
    std::string error = where.file;
    if (where.line > 0) error += ":" + std::to_string(where.line);
    if (!error.empty()) error += ": ";
    error += what;
    return {{}, std::move(error), std::move(where), std::move(what)};
}

// Strict variables (docs/templates.md): walks the tags of a template over
// the data the way kainjow renders it, with kainjow's own name lookup, and
// stops at the first name the document does not define. In branches the
// data does not take (a section whose value is missing or false) names are
// only checked to be defined for some document, so a typo there is found
// even if no host takes that branch.
class strict_walk {
public:
    strict_walk(const mstch::data& root, const render_env& env) : ctx_(&root), env_(env) {}

    void walk(const std::vector<syntax::tag>& tags, const std::string& file, int line_base, bool live) {
        for (const auto& t : tags) {
            if (failed()) return;
            switch (t.kind) {
            case syntax::tag_kind::variable: variable(t, file, line_base, live); break;
            case syntax::tag_kind::section:
            case syntax::tag_kind::inverted: section(t, file, line_base, live); break;
            case syntax::tag_kind::partial: partial(t, file, line_base, live); break;
            }
        }
    }

    bool failed() const { return !problem_.what.empty(); }
    rendered result() const { return problem_; }

private:
    static constexpr int max_depth = 100;

    void fail(const std::string& file, int line, std::string what) {
        if (!failed()) problem_ = failure({file, line, 0}, std::move(what));
    }

    bool known(const std::string& name) const {
        if (name == ".") return true;
        std::size_t b = 0;
        while (b <= name.size()) {
            auto e = name.find('.', b);
            if (e == std::string::npos) e = name.size();
            if (!env_.known.count(name.substr(b, e - b))) return false;
            b = e + 1;
        }
        return true;
    }

    std::string hint(const std::string& name) const {
        const auto best = wire::closest(name, {env_.known.begin(), env_.known.end()});
        return best.empty() ? std::string{} : " (did you mean " + best + "?)";
    }

    void variable(const syntax::tag& t, const std::string& file, int line_base, bool live) {
        if (live ? ctx_.get(t.name) != nullptr : known(t.name)) return;
        if (known(t.name))
            fail(file, line_base + t.line,
                 t.shown + " is not defined for this document; give it a value for every host, or make it optional with {{#" +
                     t.name + "}}" + t.shown + "{{/" + t.name + "}}");
        else
            fail(file, line_base + t.line, t.shown + " is not defined for any document" + hint(t.name) +
                                               "; fix the name or define it in vars");
    }

    void section(const syntax::tag& t, const std::string& file, int line_base, bool live) {
        const mstch::data* v = live ? ctx_.get(t.name) : nullptr;
        if (!v && !known(t.name)) {
            fail(file, line_base + t.line, t.shown + " tests a name defined for no document" + hint(t.name) +
                                               "; fix the name or define it in vars");
            return;
        }
        const bool falsy = !v || v->is_false() || v->is_empty_list();
        const bool taken = t.kind == syntax::tag_kind::section ? !falsy : falsy;
        if (!live || !taken) return walk(t.children, file, line_base, false);
        if (t.kind == syntax::tag_kind::section && v->is_non_empty_list()) {
            for (const auto& item : v->list_value()) {
                ctx_.push(&item);
                walk(t.children, file, line_base, true);
                ctx_.pop();
            }
            return;
        }
        if (v) ctx_.push(v);
        walk(t.children, file, line_base, true);
        if (v) ctx_.pop();
    }

    void partial(const syntax::tag& t, const std::string& file, int line_base, bool live) {
        const auto* text = env_.templates.find_partial(t.name);
        if (!text) {
            fail(file, line_base + t.line, t.shown + ": partial '" + t.name + "' not found (looked for snippets/" + t.name +
                                               " and " + t.name + "); add it to the template directory or fix the name");
            return;
        }
        // Not taken, a partial that includes itself is no loop: stop there.
        if (!live && std::find(chain_.begin(), chain_.end(), t.name) != chain_.end()) return;
        if (chain_.size() >= max_depth) {
            fail(file, line_base + t.line,
                 "partials nested more than " + std::to_string(max_depth) + " deep (does '" + t.name + "' include itself?)");
            return;
        }
        const auto name = display_name(env_.templates, partial_key(env_.templates, t.name));
        const auto compiled = env_.compiled.get(*text);
        const auto& parsed = compiled->parsed;
        if (!parsed.ok()) return fail(name, parsed.error_line, parsed.error);
        chain_.push_back(t.name);
        walk(parsed.tags, name, 0, live);
        chain_.pop_back();
    }

    mstch::context<std::string> ctx_;
    const render_env& env_;
    std::vector<std::string> chain_;  // the partials being walked, outermost first
    rendered problem_;
};

// Looks partials up in the template set and notices the ones that are
// missing (kainjow would silently render nothing) or recurse forever.
class site_context final : public mstch::basic_context<std::string> {
public:
    site_context(const mstch::data& root, const template_set& templates) : inner_(&root), templates_(templates) {}

    void push(const mstch::data* d) override { inner_.push(d); }
    void pop() override { inner_.pop(); }
    const mstch::data* get(const std::string& name) const override { return inner_.get(name); }

    const mstch::data* get_partial(const std::string& name) const override {
        // Every inclusion counts, so a partial that includes itself stops
        // here instead of exhausting the stack.
        if (++inclusions_ > max_inclusions) {
            if (error_.empty()) error_ = "partials nested more than 1000 deep (does '" + name + "' include itself?)";
            return nullptr;
        }
        const auto it = partials_.find(name);
        if (it != partials_.end()) return &it->second;
        const auto* text = templates_.find_partial(name);
        if (!text) {
            if (error_.empty()) error_ = "partial '" + name + "' not found (looked for snippets/" + name + " and " + name + ")";
            return nullptr;
        }
        const std::string copy = strip_standalone_lines(*text);
        return &partials_.emplace(name, mstch::data(mstch::partial([copy] { return copy; }))).first->second;
    }

    const std::string& error() const { return error_; }

private:
    static constexpr int max_inclusions = 1000;
    mstch::context<std::string> inner_;
    const template_set& templates_;
    mutable std::map<std::string, mstch::data> partials_;
    mutable std::string error_;
    mutable int inclusions_ = 0;
};

rendered render_text(const source& src, const mstch::data& data, const render_env& env) {
    // pxed's own checks first: they know lines, kainjow knows offsets.
    const auto compiled = env.compiled.get(src.text);
    const auto& parsed = compiled->parsed;
    if (!parsed.ok()) return failure({src.file, src.first_line - 1 + parsed.error_line, 0}, parsed.error);
    strict_walk strict(data, env);
    strict.walk(parsed.tags, src.file, src.first_line - 1, true);
    if (strict.failed()) return strict.result();

    std::lock_guard<std::mutex> g(compiled->lock);
    if (!compiled->tmpl) compile_for_kainjow(*compiled, src.text);
    auto& m = *compiled->tmpl;
    if (!m.is_valid()) return failure({src.file, 0, 0}, "template syntax: " + m.error_message());
    site_context ctx(data, env.templates);
    auto text = m.render(ctx);
    if (!m.is_valid()) {
        // kainjow keeps a render error (a partial's) in the template: the
        // next document must not inherit it.
        auto f = failure({src.file, 0, 0}, m.error_message());
        compiled->tmpl.reset();
        return f;
    }
    text.erase(std::remove(text.begin(), text.end(), standalone_marker), text.end());
    if (!ctx.error().empty()) return failure({src.file, 0, 0}, ctx.error());
    return {std::move(text), {}, {}, {}};
}

mstch::data to_data(const inventory::value& v) {
    if (const auto* s = std::get_if<std::string>(&v.data)) return mstch::data(*s);
    if (const auto* l = std::get_if<inventory::value::list>(&v.data)) {
        mstch::data list{mstch::data::type::list};
        for (const auto& item : *l) list.push_back(to_data(item));
        return list;
    }
    mstch::data obj{mstch::data::type::object};
    for (const auto& [k, item] : std::get<inventory::value::object>(v.data)) obj.set(k, to_data(item));
    return obj;
}

std::string url_base(const char* scheme, wire::ipv4_address addr, std::uint16_t port, std::uint16_t default_port) {
    std::string s = std::string(scheme) + "://" + addr.to_string();
    if (port != default_port) s += ":" + std::to_string(port);
    return s;
}

std::string basename_of(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string fqdn_of(const inventory::host& h, const inventory::subnet* sn) {
    if (h.hostname.empty() || h.hostname.find('.') != std::string::npos || !sn || sn->domain.empty()) return h.hostname;
    return h.hostname + "." + sn->domain;
}

// Keys pxed fills in itself; `vars` may not redefine them.
const std::set<std::string>& builtin_keys() {
    static const std::set<std::string> keys{
        "server", "http_port", "tftp_port", "ftp_port", "http_url", "ftp_url", "source",
        "menu_title", "menu_timeout_seconds", "menu_timeout_tenths", "menu_timeout_ms", "menu_ui",
        "default_entry", "entries", "name", "profile", "label", "kernel", "initrd", "initrd_name",
        "kernel_url", "initrd_url", "append", "tree", "tree_url", "tree_http_url", "tree_ftp_url",
        "kickstart_url", "mac", "mac_dashed", "hostname", "fqdn", "ip", "netmask", "gateway",
        "nameservers", "domain", "netboot", "is_default", "is_local", "vars", "grub_linux", "grub_initrd",
        "state", "generation", "install_done_url", "secrets", "local_only", "http_host", "tree_path",
        "prefix_length", "nocloud_url", "grub_append", "arch_menus", "grub_cpu"};
    return keys;
}

// What the shipped templates read when a site defines it (docs/templates.md):
// a section may test these even where no profile or host sets them.
const std::set<std::string>& optional_variables() {
    static const std::set<std::string> names{"lang", "keyboard", "timezone", "rootpw_hash", "disk", "packages",
                                             "post_script"};
    return names;
}

// A variable's name and the keys inside its value (objects, list items).
void add_names(const inventory::value& v, std::set<std::string>& out) {
    if (const auto* l = std::get_if<inventory::value::list>(&v.data)) {
        for (const auto& item : *l) add_names(item, out);
    } else if (const auto* o = std::get_if<inventory::value::object>(&v.data)) {
        for (const auto& [k, item] : *o) {
            out.insert(k);
            add_names(item, out);
        }
    }
}

std::set<std::string> known_names(const inventory::site& s) {
    std::set<std::string> out = builtin_keys();
    out.insert(optional_variables().begin(), optional_variables().end());
    auto add = [&](const inventory::variables& vars, const inventory::secrets& secrets) {
        for (const auto& [k, v] : vars) {
            out.insert(k);
            add_names(v, out);
        }
        for (const auto& kv : secrets) out.insert(kv.first);
    };
    for (const auto& kv : s.profiles) add(kv.second.vars, kv.second.secret_values);
    for (const auto& h : s.hosts) add(h.vars, h.secret_values);
    return out;
}

class context_builder {
public:
    context_builder(const inventory::site& s, const render_env& env) : site_(s), env_(env) {}

    std::string http_url() const {
        return url_base("http", site_.server.address, site_.server.http.port, 80);
    }
    std::string ftp_url() const { return url_base("ftp", site_.server.address, site_.server.ftp.port, 21); }

    // Settings every document can use.
    mstch::data base() const {
        mstch::data d{mstch::data::type::object};
        const auto& srv = site_.server;
        d.set("server", srv.address.to_string());
        d.set("http_port", std::to_string(srv.http.port));
        d.set("tftp_port", std::to_string(srv.tftp.port));
        d.set("ftp_port", std::to_string(srv.ftp.port));
        d.set("http_url", http_url());
        // host[:port], as a Debian preseed's mirror/http/hostname wants it.
        d.set("http_host", http_url().substr(7));
        d.set("ftp_url", ftp_url());
        d.set("source", site_.source_file);
        const auto secs = site_.menu.timeout.count();
        d.set("menu_title", site_.menu.title);
        d.set("menu_timeout_seconds", std::to_string(secs));
        // pxelinux counts tenths and takes 0 as "wait forever"; a zero
        // timeout in site.yaml means "boot the default at once".
        d.set("menu_timeout_tenths", std::to_string(secs > 0 ? secs * 10 : 1));
        d.set("menu_timeout_ms", std::to_string(secs * 1000));
        d.set("menu_ui", site_.menu.ui);
        d.set("default_entry", site_.menu.default_entry);
        d.set("grub_linux", site_.boot.grub_linux);
        d.set("grub_initrd", site_.boot.grub_initrd);
        return d;
    }

    // A profile as booted either from the menu (h == nullptr) or for a host.
    std::string install_done_url(const inventory::host& h, const std::string& token) const {
        return http_url() + "/api/v1/hosts/" + h.mac.to_dashed() + "/install-done?token=" + token;
    }

    rendered profile_data(const inventory::profile& p, const inventory::host* h, const host_status* status,
                          mstch::data& d) const {
        for (const auto& [k, v] : p.vars)
            if (!builtin_keys().count(k)) d.set(k, to_data(v));
        if (h)
            for (const auto& [k, v] : h->vars)
                if (!builtin_keys().count(k)) d.set(k, to_data(v));
        mstch::data vars{mstch::data::type::object};
        for (const auto& [k, v] : p.vars) vars.set(k, to_data(v));
        if (h)
            for (const auto& [k, v] : h->vars) vars.set(k, to_data(v));
        d.set("vars", vars);
        // Secrets go into a host's own documents only: those are released
        // to that host alone (docs/security.md). Menus and profile
        // kickstarts, which any client may fetch, never carry one.
        if (h) {
            mstch::data secrets{mstch::data::type::object};
            auto add = [&](const inventory::secrets& from) {
                for (const auto& [k, v] : from) {
                    secrets.set(k, v.value);
                    if (!builtin_keys().count(k)) d.set(k, v.value);
                }
            };
            add(p.secret_values);
            add(h->secret_values);
            d.set("secrets", secrets);
        }

        const auto base = http_url();
        d.set("name", p.name);
        d.set("profile", p.name);
        d.set("label", p.label);
        d.set("kernel", p.kernel);
        d.set("initrd", p.initrd);
        d.set("initrd_name", basename_of(p.initrd));
        // GRUB for ARM64 has no linuxefi (an EL7 x86 patch): always linux/initrd.
        const bool arm64 = p.arch == inventory::cpu_arch::arm64;
        d.set("grub_linux", arm64 ? std::string("linux") : site_.boot.grub_linux);
        d.set("grub_initrd", arm64 ? std::string("initrd") : site_.boot.grub_initrd);
        d.set("kernel_url", base + "/" + p.kernel);
        d.set("initrd_url", base + "/" + p.initrd);
        if (const auto* t = site_.find_tree(p.tree)) {
            const auto http = base + t->url;
            const auto ftp = ftp_url() + t->url;
            d.set("tree", t->name);
            d.set("tree_path", t->url);
            d.set("tree_http_url", http);
            d.set("tree_ftp_url", ftp);
            d.set("tree_url", t->protocol == inventory::tree_protocol::ftp ? ftp : http);
        }
        if (!p.kickstart.empty()) {
            // A host's kickstart carries its install token while it installs:
            // it is what releases the kickstart to the installer when the
            // address alone cannot (docs/security.md).
            std::string url = h ? base + "/ks/" + h->mac.to_dashed() + ".ks" : base + "/ks/profiles/" + p.name + ".ks";
            if (h && status && status->install && !status->access_token.empty() &&
                site_.access.host_documents != inventory::host_document_access::open)
                url += "?token=" + status->access_token;
            d.set("kickstart_url", url);
            // cloud-init NoCloud (ds=nocloud-net;s=<url>) appends the file
            // names to this URL: the token travels as a path segment,
            // written token=<hex> so that every log line redacts it too.
            std::string nocloud = h ? base + "/ks/nocloud/" + h->mac.to_dashed() + "/" : base + "/ks/nocloud/profiles/" + p.name + "/";
            if (h && status && status->install && !status->access_token.empty() &&
                site_.access.host_documents != inventory::host_document_access::open)
                nocloud += "token=" + status->access_token + "/";
            d.set("nocloud_url", nocloud);
        }
        if (h) add_host(*h, status, d);
        // The kernel arguments are a template too, so they can name
        // {{tree_url}}, {{kickstart_url}} and any variable.
        auto append = render_text({p.append, site_.source_file, p.where.line}, d, env_);
        if (!append.ok()) {
            // The line of the profile: its append may be inherited, and
            // kainjow's lines are those of the folded YAML string anyway.
            append.where.line = p.where.line;
            return failure(append.where, "profile '" + p.name + "' append: " + append.what);
        }
        d.set("append", append.text);
        // GRUB reads `;` as the end of a command: ds=nocloud-net;s=... needs it escaped.
        std::string grub_append;
        for (const char c : append.text) {
            if (c == ';') grub_append += '\\';
            grub_append += c;
        }
        d.set("grub_append", grub_append);
        return {};
    }

    void add_host(const inventory::host& h, const host_status* status, mstch::data& d) const {
        d.set("mac", h.mac.to_string());
        d.set("mac_dashed", h.mac.to_dashed());
        // {{netboot}}: boot the installer now. site.yaml's netboot: false
        // always wins; otherwise the host's state decides.
        d.set("netboot", h.netboot && (!status || status->install));
        if (status) {
            d.set("state", status->state);
            d.set("generation", std::to_string(status->generation));
            if (!status->token.empty()) d.set("install_done_url", install_done_url(h, status->token));
        }
        if (!h.hostname.empty()) d.set("hostname", h.hostname);
        const inventory::subnet* sn = h.ip ? site_.find_subnet(*h.ip) : nullptr;
        if (!h.hostname.empty()) d.set("fqdn", fqdn_of(h, sn));
        if (h.ip) d.set("ip", h.ip->to_string());
        if (sn) {
            d.set("netmask", wire::ipv4_address{sn->network.mask()}.to_string());
            d.set("prefix_length", std::to_string(sn->network.prefix()));
            if (!sn->routers.empty()) d.set("gateway", sn->routers.front().to_string());
            std::string ns;
            for (const auto& a : sn->dns) ns += (ns.empty() ? "" : ",") + a.to_string();
            if (!ns.empty()) d.set("nameservers", ns);
            if (!sn->domain.empty()) d.set("domain", sn->domain);
        }
    }

    // The menu entries a firmware of `arch` can boot (its profiles and the
    // local disk), in menu order; every entry when `arch` is not given.
    std::vector<std::string> entries_for(std::optional<inventory::cpu_arch> arch) const {
        std::vector<std::string> out;
        for (const auto& name : site_.menu.entries) {
            const auto* p = name == inventory::local_entry ? nullptr : site_.find_profile(name);
            if (name != inventory::local_entry && !p) continue;  // validated at load
            if (!arch || !p || p->arch == *arch) out.push_back(name);
        }
        return out;
    }

    // menu.default, where that menu lists it; else the local disk (an
    // unknown machine installs nothing it was not told to), else its first.
    std::string default_in(const std::vector<std::string>& names) const {
        const auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
        if (has(site_.menu.default_entry)) return site_.menu.default_entry;
        if (has(inventory::local_entry) || names.empty()) return inventory::local_entry;
        return names.front();
    }

    rendered entry_list(const std::vector<std::string>& names, const std::string& default_entry, mstch::data& list) const {
        for (const auto& name : names) {
            mstch::data e{mstch::data::type::object};
            e.set("is_default", name == default_entry);
            if (name == inventory::local_entry) {
                e.set("name", name);
                e.set("label", "Boot from local disk");
                e.set("is_local", true);
            } else {
                e.set("is_local", false);
                if (auto r = profile_data(*site_.find_profile(name), nullptr, nullptr, e); !r.ok()) return r;
            }
            list.push_back(e);
        }
        return {};
    }

    // pxelinux and iPXE menus run on x86 (BIOS, or iPXE): the x86_64
    // profiles only. GRUB's menu is one file for x86_64 and ARM64 GRUB
    // alike: {{#arch_menus}} has a group per CPU ({{grub_cpu}}, as GRUB's
    // $grub_cpu says it) with its own entries and default; {{#entries}}
    // stays every entry, for site templates written before.
    rendered menu_entries(document_kind kind, mstch::data& d) const {
        const bool grub = kind == document_kind::grub;
        const auto names = entries_for(grub ? std::nullopt : std::optional(inventory::cpu_arch::x86_64));
        const auto default_entry = grub ? site_.menu.default_entry : default_in(names);
        d.set("default_entry", default_entry);
        mstch::data list{mstch::data::type::list};
        if (auto r = entry_list(names, default_entry, list); !r.ok()) return r;
        d.set("entries", list);
        mstch::data groups{mstch::data::type::list};
        if (grub) {
            for (const auto arch : {inventory::cpu_arch::x86_64, inventory::cpu_arch::arm64}) {
                const auto own = entries_for(arch);
                if (own.empty()) continue;
                mstch::data g{mstch::data::type::object};
                g.set("grub_cpu", std::string(inventory::to_string(arch)));
                g.set("default_entry", default_in(own));
                mstch::data group_entries{mstch::data::type::list};
                if (auto r = entry_list(own, default_in(own), group_entries); !r.ok()) return r;
                g.set("entries", group_entries);
                groups.push_back(g);
            }
        }
        d.set("arch_menus", groups);
        return {};
    }

private:
    const inventory::site& site_;
    const render_env& env_;
};

// A template of the set by name, with its file for messages.
rendered render_template(const std::string& name, const mstch::data& d, const render_env& env) {
    const auto* tmpl = env.templates.find(name);
    if (!tmpl) return {{}, "template " + name + " not found", {}, "template " + name + " not found"};
    return render_text({*tmpl, display_name(env.templates, name)}, d, env);
}

}  // namespace

renderer::renderer(std::shared_ptr<const inventory::site> site, std::shared_ptr<const template_set> templates)
    : site_(std::move(site)),
      templates_(std::move(templates)),
      known_names_(known_names(*site_)),
      compiled_(std::make_shared<compiled_cache>()) {}

std::size_t renderer::compiled_templates() const { return compiled_->size(); }

namespace {

// The shape of a value as a template sees it: which names it defines and
// which sections it takes (a string is always truthy; a list's items are
// walked one by one); with `values`, the text as well.
void shape_of(const inventory::value& v, bool values, std::string& out) {
    if (const auto* s = std::get_if<std::string>(&v.data)) {
        out += 's';
        if (values) {
            out += std::to_string(s->size());
            out += ':';
            out += *s;
        }
        return;
    }
    if (const auto* l = std::get_if<inventory::value::list>(&v.data)) {
        out += '[';
        for (const auto& item : *l) shape_of(item, values, out);
        out += ']';
        return;
    }
    out += '{';
    for (const auto& [k, item] : std::get<inventory::value::object>(v.data)) {
        out += std::to_string(k.size());
        out += ':';
        out += k;
        shape_of(item, values, out);
    }
    out += '}';
}

// Everything of a host that decides whether its documents render (and,
// with `values`, what they say apart from its MAC, name and address).
std::string host_shape(const inventory::site& s, const inventory::host& h, bool values) {
    std::string k;
    const auto add = [&k](const std::string& text) {
        k += std::to_string(text.size());
        k += ':';
        k += text;
    };
    add(h.profile);
    k += h.netboot ? 'n' : '-';
    k += h.hostname.empty() ? '-' : (h.hostname.find('.') == std::string::npos ? 'h' : 'f');
    k += h.ip ? 'i' : '-';
    const inventory::subnet* sn = h.ip ? s.find_subnet(*h.ip) : nullptr;
    k += sn ? std::to_string(sn - s.subnets.data()) : std::string("-");
    k += '|';
    add(h.uefi_http);
    for (const auto& [name, v] : h.vars) {
        add(name);
        shape_of(v, values, k);
    }
    k += '|';
    for (const auto& [name, sec] : h.secret_values) {
        add(name);
        if (values) add(sec.value);
    }
    return k;
}

}  // namespace

std::string renderer::host_kind(const inventory::host& h, bool with_values) const {
    return host_shape(*site_, h, with_values);
}

std::vector<const inventory::host*> renderer::distinct_hosts(bool with_values) const {
    std::vector<const inventory::host*> out;
    std::unordered_set<std::string> seen;
    for (const auto& h : site_->hosts)
        if (seen.insert(host_shape(*site_, h, with_values)).second) out.push_back(&h);
    return out;
}

rendered renderer::default_config(document_kind kind) const {
    if (kind == document_kind::kickstart) return failure({}, "kickstarts belong to a host or a profile");
    const render_env env{*templates_, known_names_, *compiled_};
    context_builder b(*site_, env);
    auto d = b.base();
    // With unknown_hosts local (or ignore), the default config boots the
    // disk: the menu's template sees only the local entry.
    const bool local_only = site_->menu.unknown_hosts != inventory::unknown_policy::menu;
    d.set("local_only", local_only);
    if (!local_only) {
        if (auto r = b.menu_entries(kind, d); !r.ok()) return r;
    }
    return render_template(menu_template(kind), d, env);
}

rendered renderer::host_config(document_kind kind, const inventory::host& h, const host_status* status) const {
    const auto* p = site_->find_profile(h.profile);
    const render_env env{*templates_, known_names_, *compiled_};
    context_builder b(*site_, env);
    auto d = b.base();
    std::string name;
    if (kind == document_kind::kickstart) {
        if (!p || p->kickstart.empty()) return failure({}, "host " + h.mac.to_string() + " has no profile with a kickstart");
        name = "kickstart/" + p->kickstart;
    } else {
        name = host_template(kind);
    }
    if (!templates_->find(name)) return failure({}, "template " + name + " not found");
    if (p) {
        if (auto r = b.profile_data(*p, &h, status, d); !r.ok()) return r;
    } else {
        b.add_host(h, status, d);
    }
    return render_template(name, d, env);
}

rendered renderer::nocloud_meta_data(const inventory::host* h, const inventory::profile& p, const host_status* status) const {
    const render_env env{*templates_, known_names_, *compiled_};
    context_builder b(*site_, env);
    auto d = b.base();
    if (auto r = b.profile_data(p, h, status, d); !r.ok()) return r;
    return render_template("nocloud/meta-data", d, env);
}

rendered renderer::profile_kickstart(const inventory::profile& p) const {
    if (p.kickstart.empty()) return failure({}, "profile '" + p.name + "' has no kickstart");
    const auto name = "kickstart/" + p.kickstart;
    if (!templates_->find(name)) return failure({}, "template " + name + " not found");
    const render_env env{*templates_, known_names_, *compiled_};
    context_builder b(*site_, env);
    auto d = b.base();
    if (auto r = b.profile_data(p, nullptr, nullptr, d); !r.ok()) return r;
    return render_template(name, d, env);
}

std::string renderer::install_done_url(const inventory::host& h, const std::string& token) const {
    const render_env env{*templates_, known_names_, *compiled_};
    return context_builder(*site_, env).install_done_url(h, token);
}

std::string renderer::ipxe_chain_url(const wire::mac_address& mac) const {
    if (site_->boot.ipxe.empty()) return {};
    const render_env env{*templates_, known_names_, *compiled_};
    context_builder b(*site_, env);
    auto d = b.base();
    d.set("mac", mac.to_string());
    d.set("mac_dashed", mac.to_dashed());
    auto r = render_text({site_->boot.ipxe, site_->source_file}, d, env);
    return r.ok() ? r.text : std::string{};
}

std::string renderer::uefi_http_url(const std::string& url, const wire::mac_address& mac, const std::string& boot_file) const {
    if (url.empty() || url == "off") return {};
    const render_env env{*templates_, known_names_, *compiled_};
    context_builder b(*site_, env);
    auto d = b.base();
    d.set("mac", mac.to_string());
    d.set("mac_dashed", mac.to_dashed());
    d.set("boot_file", boot_file);
    auto r = render_text({url, site_->source_file}, d, env);
    return r.ok() ? r.text : std::string{};
}

std::vector<diagnostic> renderer::check() const {
    std::vector<diagnostic> out;
    const auto& s = *site_;
    // A template error is reported at the template's line, once, naming
    // the first document that showed it: thirty hosts sharing a kickstart
    // share its typo.
    std::set<std::pair<std::string, std::string>> seen;
    auto fail = [&](const inventory::source_location& where, const std::string& what, const rendered& r) {
        if (r.where.file.empty()) {
            out.push_back({severity::error, where, what + ": " + r.error});
            return;
        }
        auto where_at = r.where;
        if (!seen.emplace(where_at.file + ":" + std::to_string(where_at.line), r.what).second) return;
        out.push_back({severity::error, std::move(where_at), r.what + " (in " + what + ")"});
    };
    const inventory::source_location top{s.source_file, 0, 0};
    for (const auto kind : {document_kind::pxelinux, document_kind::grub, document_kind::ipxe}) {
        if (auto r = default_config(kind); !r.ok()) fail(top, std::string("the default ") + kind_name(kind) + " menu", r);
    }
    for (const auto& [name, p] : s.profiles) {
        if (p.kickstart.empty()) continue;
        if (!templates_->find("kickstart/" + p.kickstart)) {
            out.push_back({severity::error, p.where,
                           "profile '" + name + "': kickstart template '" + p.kickstart + "' not found (looked for kickstart/" +
                               p.kickstart + " in the site template directory and the shipped templates)"});
            continue;
        }
        if (auto r = profile_kickstart(p); !r.ok()) fail(p.where, "profile '" + name + "' kickstart", r);
    }
    // Both variants a host's state can pick, the install one with an
    // install-done URL: a template may fail in only one of them.
    host_status installing{true, "installing", 1, std::string(32, '0'), std::string(32, '0')};
    host_status installed{false, "installed", 1, std::string(32, '0'), {}};
    // One host of each kind (distinct_hosts): a host renders like the
    // first of its kind. Only a failure that names no template line (so
    // is reported per host) has every host of its kind rendered.
    const auto check_host = [&](const inventory::host& h) {
        bool per_host = false;
        const auto host_fail = [&](const std::string& what, const rendered& r) {
            per_host = per_host || r.where.file.empty();
            fail(h.where, what, r);
        };
        for (const auto kind : {document_kind::pxelinux, document_kind::grub, document_kind::ipxe}) {
            for (const auto* st : {&installing, &installed})
                if (auto r = host_config(kind, h, st); !r.ok()) {
                    host_fail("host " + h.mac.to_string() + " " + kind_name(kind) + " config", r);
                    break;
                }
        }
        const auto* p = s.find_profile(h.profile);
        if (p && !p->kickstart.empty() && templates_->find("kickstart/" + p->kickstart)) {
            if (auto r = host_config(document_kind::kickstart, h, &installing); !r.ok())
                host_fail("host " + h.mac.to_string() + " kickstart", r);
        }
        return per_host;
    };
    std::unordered_map<std::string, bool> kinds;  // shape -> its failures are per host
    for (const auto& h : s.hosts) {
        auto [it, first] = kinds.try_emplace(host_shape(s, h, false), false);
        if (first)
            it->second = check_host(h);
        else if (it->second)
            check_host(h);
    }
    if (!s.boot.ipxe.empty()) {
        const render_env env{*templates_, known_names_, *compiled_};
        context_builder b(s, env);
        auto d = b.base();
        // As ipxe_chain_url fills it in for a client.
        d.set("mac", std::string("52:54:00:00:00:00"));
        d.set("mac_dashed", std::string("52-54-00-00-00-00"));
        if (auto r = render_text({s.boot.ipxe, s.source_file}, d, env); !r.ok()) {
            r.where.line = 0;
            fail(top, "boot.ipxe", r);
        }
    }
    {
        // The UEFI HTTP Boot URLs, as uefi_http_url fills them in for a client.
        const render_env env{*templates_, known_names_, *compiled_};
        context_builder b(s, env);
        auto d = b.base();
        d.set("mac", std::string("52:54:00:00:00:00"));
        d.set("mac_dashed", std::string("52-54-00-00-00-00"));
        d.set("boot_file", s.boot.uefi_x64);
        const auto url = [&](const std::string& u, const inventory::source_location& where, const std::string& what) {
            if (u.empty() || u == "off") return;
            if (auto r = render_text({u, s.source_file}, d, env); !r.ok()) {
                r.where = where;
                fail(where, what, r);
            }
        };
        url(s.boot.uefi_http, top, "boot.uefi-http");
        for (const auto& [name, p] : s.profiles) url(p.uefi_http, p.where, "profile '" + name + "': uefi-http");
        // The URL is the host's only input here: each distinct one once,
        // each host whose URL fails reported.
        std::unordered_map<std::string, bool> url_ok;
        for (const auto& h : s.hosts) {
            if (h.uefi_http.empty() || h.uefi_http == "off") continue;
            auto [it, first] = url_ok.try_emplace(h.uefi_http, true);
            if (first) it->second = render_text({h.uefi_http, s.source_file}, d, env).ok();
            if (!it->second) url(h.uefi_http, h.where, "host " + h.mac.to_string() + ": uefi-http");
        }
    }
    for (const auto& [name, p] : s.profiles)
        for (const auto& [k, v] : p.vars)
            if (builtin_keys().count(k))
                out.push_back({severity::warning, p.where,
                               "profile '" + name + "': variable '" + k + "' has the name of a built-in; use {{vars." + k + "}}"});
    for (const auto& h : s.hosts)
        for (const auto& [k, v] : h.vars)
            if (builtin_keys().count(k))
                out.push_back({severity::warning, h.where,
                               "host " + h.mac.to_string() + ": variable '" + k + "' has the name of a built-in; use {{vars." + k + "}}"});
    return out;
}

}  // namespace pxed::render
