#pragma once
/// How `pxed check` prints what it found: the load's diagnostics and the
/// doctor's findings, as compiler-style lines or as one JSON document
/// (docs/doctor.md).

#include <string>
#include <vector>

#include "pxed/doctor/finding.hpp"
#include "pxed/inventory/diagnostic.hpp"

namespace pxed::app {

struct check_counts {
    int errors = 0;
    int warnings = 0;
};

check_counts count_all(const std::vector<inventory::diagnostic>& diagnostics,
                       const std::vector<doctor::finding>& findings);

/// `site.yaml:12:3: error: message` and, when there is one, an indented
/// `  fix: ...` line under it; one per finding.
std::string findings_text(const std::vector<doctor::finding>& findings);

/// One JSON document: {"config", "ok", "findings": [{file, line, column,
/// severity, topic, message, fix}], "notes", "summary": {errors,
/// warnings}}. Load diagnostics come first, with topic "config".
std::string check_json(const std::string& config, bool loaded, const std::vector<inventory::diagnostic>& diagnostics,
                       const std::vector<doctor::finding>& findings, const std::vector<std::string>& notes);

}  // namespace pxed::app
