#pragma once
// The tags of a mustache template, with the line each one is on, for the
// strict checks kainjow does not make (docs/templates.md, "Strict
// variables"): kainjow reports syntax errors as character offsets of a text
// pxed has already rewritten, and lets a tag run on over lines until the
// next `}}`, so that one missing brace swallows a whole %packages section.
// Pure text work: no kainjow here, so it can be tested alone.

#include <string>
#include <vector>

namespace pxed::render::syntax {

enum class tag_kind { variable, section, inverted, partial };

struct tag {
    tag_kind kind = tag_kind::variable;
    std::string name;   ///< trimmed, without the sigil
    std::string shown;  ///< the tag as written, for messages: `{{#packages}}`
    int line = 0;       ///< 1-based, in the text as given
    std::vector<tag> children;  ///< sections and inverted sections only
};

struct parse_result {
    std::vector<tag> tags;  ///< top level, in text order
    int error_line = 0;     ///< 0: no error
    std::string error;      ///< one sentence, without the location
    bool ok() const { return error.empty(); }
};

/// Checks what kainjow would accept and more: every tag closed on the line
/// it opens on (comments may span lines but hold no `{{`), no braces or
/// blanks inside a name, sections balanced, set-delimiter tags
/// (`{{=<% %>=}}`) well formed and followed.
parse_result parse(const std::string& text);

/// The 1-based line of a byte offset into `text`.
int line_of(const std::string& text, std::size_t offset);


}  // namespace pxed::render::syntax
