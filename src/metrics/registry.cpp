#include "pxed/metrics/registry.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace pxed::metrics {

histogram::histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
    if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
        std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end())
        throw std::logic_error("histogram bounds must be strictly ascending");
    counts_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
    for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double v) noexcept {
    // A handful of buckets: a linear scan beats a binary search's branches.
    std::size_t i = 0;
    while (i < bounds_.size() && v > bounds_[i]) ++i;
    auto& c = counts_[i];
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    sum_.store(sum_.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
}

namespace {
template <class M>
std::unique_ptr<M> make_child(const std::vector<double>&) {
    return std::make_unique<M>();
}
template <>
std::unique_ptr<histogram> make_child<histogram>(const std::vector<double>& bounds) {
    return std::make_unique<histogram>(bounds);
}
}  // namespace

template <class M>
M& family<M>::with(std::vector<std::string> values) {
    if (values.size() != labels_)
        throw std::logic_error(name_ + ": " + std::to_string(labels_) + " label value(s) wanted");
    for (auto& c : children_)
        if (c.values == values) return *c.metric;
    children_.push_back(child{std::move(values), make_child<M>(bounds_)});
    return *children_.back().metric;
}

template class family<counter>;
template class family<gauge>;
template class family<histogram>;

struct registry::entry {
    std::string name, help;
    kind type;
    std::vector<std::string> labels;
    std::unique_ptr<family<counter>> counters;
    std::unique_ptr<family<gauge>> gauges;
    std::unique_ptr<family<histogram>> histograms;
    collector computed;
    std::vector<double> bounds;
};

registry::registry() = default;
registry::~registry() = default;

bool valid_metric_name(std::string_view s) {
    if (s.empty()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}

bool valid_label_name(std::string_view s) {
    // "le" belongs to histograms, and names starting "__" to Prometheus.
    return valid_metric_name(s) && s.find(':') == std::string_view::npos && s != "le" && s.substr(0, 2) != "__";
}

registry::entry& registry::find_or_add(const std::string& name, kind k, const std::vector<std::string>& labels) {
    if (!valid_metric_name(name)) throw std::logic_error("invalid metric name '" + name + "'");
    for (const auto& l : labels)
        if (!valid_label_name(l)) throw std::logic_error(name + ": invalid label name '" + l + "'");
    for (auto& e : entries_) {
        if (e.name != name) continue;
        if (e.type != k || e.labels != labels || e.computed)
            throw std::logic_error("metric '" + name + "' registered twice, differently");
        return e;
    }
    entries_.emplace_back();
    auto& e = entries_.back();
    e.name = name;
    e.type = k;
    e.labels = labels;
    return e;
}

family<counter>& registry::counters(const std::string& name, const std::string& help, std::vector<std::string> labels) {
    auto& e = find_or_add(name, kind::counter, labels);
    if (!e.counters) {
        e.help = help;
        e.counters = std::make_unique<family<counter>>(name, labels.size());
    }
    return *e.counters;
}

family<gauge>& registry::gauges(const std::string& name, const std::string& help, std::vector<std::string> labels) {
    auto& e = find_or_add(name, kind::gauge, labels);
    if (!e.gauges) {
        e.help = help;
        e.gauges = std::make_unique<family<gauge>>(name, labels.size());
    }
    return *e.gauges;
}

family<histogram>& registry::histograms(const std::string& name, const std::string& help, std::vector<double> bounds,
                                        std::vector<std::string> labels) {
    auto& e = find_or_add(name, kind::histogram, labels);
    if (!e.histograms) {
        e.help = help;
        histogram check(bounds);  // throws on bad bounds, before anything is kept
        e.bounds = bounds;
        e.histograms = std::make_unique<family<histogram>>(name, labels.size(), std::move(bounds));
    } else if (e.bounds != bounds) {
        throw std::logic_error("metric '" + name + "' registered twice with other buckets");
    }
    return *e.histograms;
}

void registry::computed(const std::string& name, const std::string& help, kind k, std::vector<std::string> labels,
                        collector fn) {
    if (k == kind::histogram) throw std::logic_error(name + ": a computed metric is a counter or a gauge");
    for (auto& e : entries_) {
        if (e.name != name) continue;
        if (!e.computed || e.type != k || e.labels != labels)
            throw std::logic_error("metric '" + name + "' registered twice, differently");
        e.help = help;
        e.computed = std::move(fn);
        return;
    }
    auto& e = find_or_add(name, k, labels);
    e.help = help;
    e.computed = std::move(fn);
}

namespace {
// Backslash and newline always; a double quote too inside a label value.
std::string escape(std::string_view s, bool quote) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && quote)
            out += "\\\"";
        else
            out += c;
    }
    return out;
}
}  // namespace

std::string escape_help(std::string_view s) { return escape(s, false); }
std::string escape_label_value(std::string_view s) { return escape(s, true); }

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[32];
    // Whole numbers up to 2^53 print exactly and without an exponent.
    if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0)
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else
        // The shortest form that reads back as the same double (0.005, not
        // 0.0050000000000000001).
        for (int digits = 15; digits <= 17; ++digits) {
            std::snprintf(buf, sizeof buf, "%.*g", digits, v);
            if (std::strtod(buf, nullptr) == v) break;
        }
    return buf;
}

namespace {

const char* type_name(kind k) {
    switch (k) {
    case kind::counter: return "counter";
    case kind::gauge: return "gauge";
    case kind::histogram: return "histogram";
    }
    return "untyped";
}

// {a="x",b="y"} plus an optional extra label (histograms' le); empty
// when there are no labels at all.
std::string label_set(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      std::string_view extra_name = {}, std::string_view extra_value = {}) {
    if (names.empty() && extra_name.empty()) return {};
    std::string out = "{";
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i) out += ',';
        out += names[i];
        out += "=\"";
        out += escape_label_value(i < values.size() ? values[i] : std::string());
        out += '"';
    }
    if (!extra_name.empty()) {
        if (!names.empty()) out += ',';
        out += extra_name;
        out += "=\"";
        out += extra_value;
        out += '"';
    }
    out += '}';
    return out;
}

void write_sample(std::string& out, std::string_view name, std::string_view suffix, const std::string& labels,
            const std::string& value) {
    out += name;
    out += suffix;
    out += labels;
    out += ' ';
    out += value;
    out += '\n';
}

std::string u64(std::uint64_t v) { return std::to_string(v); }

}  // namespace

std::string registry::expose() const {
    std::string out;
    for (const auto& e : entries_) {
        std::string body;
        if (e.computed) {
            e.computed([&](const std::vector<std::string>& values, double v) {
                write_sample(body, e.name, {}, label_set(e.labels, values), format_value(v));
            });
        } else if (e.counters) {
            for (const auto& c : e.counters->children())
                write_sample(body, e.name, {}, label_set(e.labels, c.values), u64(c.metric->value()));
        } else if (e.gauges) {
            for (const auto& c : e.gauges->children())
                write_sample(body, e.name, {}, label_set(e.labels, c.values), format_value(c.metric->value()));
        } else if (e.histograms) {
            for (const auto& c : e.histograms->children()) {
                const auto& h = *c.metric;
                // Buckets are cumulative in the format; the count is read
                // as the +Inf bucket so that the two always agree.
                std::uint64_t seen = 0;
                for (std::size_t i = 0; i < h.bounds().size(); ++i) {
                    seen += h.bucket(i);
                    write_sample(body, e.name, "_bucket", label_set(e.labels, c.values, "le", format_value(h.bounds()[i])),
                           u64(seen));
                }
                seen += h.bucket(h.bounds().size());
                write_sample(body, e.name, "_bucket", label_set(e.labels, c.values, "le", "+Inf"), u64(seen));
                write_sample(body, e.name, "_sum", label_set(e.labels, c.values), format_value(h.sum()));
                write_sample(body, e.name, "_count", label_set(e.labels, c.values), u64(seen));
            }
        }
        out += "# HELP ";
        out += e.name;
        out += ' ';
        out += escape_help(e.help);
        out += "\n# TYPE ";
        out += e.name;
        out += ' ';
        out += type_name(e.type);
        out += '\n';
        out += body;
    }
    return out;
}

}  // namespace pxed::metrics
