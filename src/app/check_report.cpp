#include "pxed/app/check_report.hpp"

#include <nlohmann/json.hpp>

namespace pxed::app {

namespace {

const char* level_name(inventory::severity s) { return s == inventory::severity::error ? "error" : "warning"; }

std::string position(const inventory::source_location& w) {
    std::string out = w.file;
    if (w.line > 0) out += ":" + std::to_string(w.line) + ":" + std::to_string(w.column);
    return out;
}

nlohmann::json entry(const inventory::source_location& w, inventory::severity s, const std::string& topic,
                     const std::string& message, const std::string& fix) {
    return {{"file", w.file}, {"line", w.line},   {"column", w.column}, {"severity", level_name(s)},
            {"topic", topic}, {"message", message}, {"fix", fix}};
}

}  // namespace

check_counts count_all(const std::vector<inventory::diagnostic>& diagnostics,
                       const std::vector<doctor::finding>& findings) {
    check_counts c;
    for (const auto& d : diagnostics) (d.level == inventory::severity::error ? c.errors : c.warnings)++;
    for (const auto& f : findings) (f.level == inventory::severity::error ? c.errors : c.warnings)++;
    return c;
}

std::string findings_text(const std::vector<doctor::finding>& findings) {
    std::string out;
    for (const auto& f : findings) {
        out += position(f.where) + ": " + level_name(f.level) + ": " + f.message + "\n";
        if (!f.fix.empty()) out += "  fix: " + f.fix + "\n";
    }
    return out;
}

std::string check_json(const std::string& config, bool loaded, const std::vector<inventory::diagnostic>& diagnostics,
                       const std::vector<doctor::finding>& findings, const std::vector<std::string>& notes) {
    auto list = nlohmann::json::array();
    for (const auto& d : diagnostics) list.push_back(entry(d.where, d.level, "config", d.message, ""));
    for (const auto& f : findings) list.push_back(entry(f.where, f.level, f.topic, f.message, f.fix));
    const auto counts = count_all(diagnostics, findings);
    const nlohmann::json doc{{"config", config},
                             {"ok", loaded && counts.errors == 0},
                             {"findings", std::move(list)},
                             {"notes", notes},
                             {"summary", {{"errors", counts.errors}, {"warnings", counts.warnings}}}};
    // Messages quote file names and YAML as found: never fail on bad UTF-8.
    return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace pxed::app
