#pragma once
/// Counters, gauges and histograms with fixed buckets, and their Prometheus
/// text exposition (format 0.0.4, docs/metrics.md).
///
/// Threads: metrics are registered and scraped on the event loop's thread.
/// Every metric has one writer at a time (the loop, or whoever holds the
/// lease store's database mutex), so an update is a relaxed load and store
/// of an atomic, a plain add on x86, with no locked instruction on the hot
/// path; the scrape reads with relaxed loads and may see a value one
/// update old, which Prometheus tolerates by design.
/// Children are created up front (or when first asked for, off the hot
/// path); their addresses never change, so servers keep pointers to them.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pxed::metrics {

/// A monotonic count (`..._total`).
class counter {
public:
    void inc(std::uint64_t n = 1) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> v_{0};
};

/// A value that goes up and down.
class gauge {
public:
    void set(double v) noexcept { v_.store(v, std::memory_order_relaxed); }
    void add(double d) noexcept { set(value() + d); }
    double value() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> v_{0.0};
};

/// Observations counted into fixed buckets (upper bounds, ascending, in
/// base units: seconds, bytes), with their sum and count.
class histogram {
public:
    explicit histogram(std::vector<double> bounds);
    void observe(double v) noexcept;
    const std::vector<double>& bounds() const noexcept { return bounds_; }
    /// Observations <= bounds()[i] alone (not cumulative); the last one is
    /// +Inf's. Their total is the count (the exposition's _count).
    std::uint64_t bucket(std::size_t i) const noexcept { return counts_[i].load(std::memory_order_relaxed); }
    double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1
    std::atomic<double> sum_{0.0};
};

enum class kind { counter, gauge, histogram };

/// One metric name with its HELP, TYPE and label names; a child per set of
/// label values. Label values must come from a bounded set (message types,
/// status codes, subnet names), never from the wire (MACs, paths).
template <class M>
class family {
public:
    /// `name` only for error messages; the registry keeps the rest.
    family(std::string name, std::size_t labels, std::vector<double> bounds = {})
        : name_(std::move(name)), labels_(labels), bounds_(std::move(bounds)) {}

    /// The child for these label values (as many as label names), created
    /// on first use. Not for the hot path: look children up once, keep
    /// the reference.
    M& with(std::vector<std::string> values);
    M& only() { return with({}); }

    struct child {
        std::vector<std::string> values;
        std::unique_ptr<M> metric;
    };
    const std::vector<child>& children() const { return children_; }

private:
    std::string name_;
    std::size_t labels_;
    std::vector<double> bounds_;
    std::vector<child> children_;
};

/// Samples computed when scraped (pool sizes, hosts by state, active
/// connections): no cost between scrapes. `emit` takes label values (as
/// many as label names) and the value.
using sample_sink = std::function<void(const std::vector<std::string>& values, double value)>;
using collector = std::function<void(const sample_sink& emit)>;

class registry {
public:
    registry();
    ~registry();
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;

    /// Registering a name twice returns the first family when kind and
    /// labels agree, and throws std::logic_error otherwise (or when a
    /// name or label name is not a valid Prometheus name).
    family<counter>& counters(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
    family<gauge>& gauges(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
    family<histogram>& histograms(const std::string& name, const std::string& help, std::vector<double> bounds,
                                  std::vector<std::string> labels = {});
    /// A gauge or counter family whose samples `fn` emits at every scrape.
    /// Registering the name again replaces the function (a server started
    /// again, a test).
    void computed(const std::string& name, const std::string& help, kind k, std::vector<std::string> labels,
                  collector fn);

    /// Every family in registration order, in the text format.
    std::string expose() const;

    /// The Content-Type of expose()'s text.
    static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

private:
    struct entry;
    entry& find_or_add(const std::string& name, kind k, const std::vector<std::string>& labels);
    std::deque<entry> entries_;
};

/// A gauge read off `owner->active()` at each scrape, while `owner` lives
/// (a server's open connections or running transfers).
template <class T>
void active_gauge(registry& r, const std::string& name, const std::string& help, std::weak_ptr<T> owner) {
    r.computed(name, help, kind::gauge, {}, [owner = std::move(owner)](const sample_sink& emit) {
        if (const auto self = owner.lock()) emit({}, static_cast<double>(self->active()));
    });
}

/// The registry a server was handed (the daemon's), or a private one it
/// owns when it was handed none (tests, tools that never scrape).
class registry_ref {
public:
    explicit registry_ref(registry* given)
        : own_(given ? nullptr : std::make_unique<registry>()), r_(given ? *given : *own_) {}
    registry& get() const noexcept { return r_; }

private:
    std::unique_ptr<registry> own_;
    registry& r_;
};

/// HELP text escaped (backslash, newline) and a label value escaped
/// (backslash, double quote, newline), as the text format wants them.
std::string escape_help(std::string_view s);
std::string escape_label_value(std::string_view s);
/// A sample value: integers without a fraction, +Inf, -Inf, NaN.
std::string format_value(double v);
/// [a-zA-Z_:][a-zA-Z0-9_:]* (labels: no colon).
bool valid_metric_name(std::string_view s);
bool valid_label_name(std::string_view s);

}  // namespace pxed::metrics
