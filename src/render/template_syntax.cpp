#include "template_syntax.hpp"

#include <algorithm>

namespace pxed::render::syntax {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string trim(const std::string& s) {
    std::size_t b = 0, e = s.size();
    while (b < e && is_blank(s[b])) ++b;
    while (e > b && is_blank(s[e - 1])) --e;
    return s.substr(b, e - b);
}

// As kainjow's parse_set_delimiter_tag: "=<% %>=", two delimiters without
// blanks or '='.
bool parse_delimiters(const std::string& contents, std::string& begin, std::string& end) {
    if (contents.size() < 5 || contents.back() != '=') return false;
    const auto inner = trim(contents.substr(1, contents.size() - 2));
    const auto space = inner.find(' ');
    if (space == std::string::npos) return false;
    const auto second = inner.find_first_not_of(' ', space + 1);
    if (second == std::string::npos) return false;
    begin = inner.substr(0, space);
    end = inner.substr(second);
    auto valid = [](const std::string& d) {
        return !d.empty() && std::none_of(d.begin(), d.end(), [](char c) { return is_blank(c) || c == '='; });
    };
    return valid(begin) && valid(end);
}

}  // namespace

int line_of(const std::string& text, std::size_t offset) {
    offset = std::min(offset, text.size());
    return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

parse_result parse(const std::string& text) {
    parse_result out;
    std::string open = "{{", close = "}}";
    // The open sections, innermost last; each collects its children.
    std::vector<tag> stack;
    auto fail = [&](std::size_t at, std::string why) {
        out.error_line = line_of(text, at);
        out.error = std::move(why);
        out.tags.clear();
        return out;
    };
    auto add = [&](tag t) { (stack.empty() ? out.tags : stack.back().children).push_back(std::move(t)); };

    std::size_t pos = 0;
    while ((pos = text.find(open, pos)) != std::string::npos) {
        const std::size_t start = pos;
        std::size_t contents_at = start + open.size();
        // {{{name}}} ends with three braces, with the default delimiters only.
        const bool triple = open == "{{" && contents_at < text.size() && text[contents_at] == '{';
        const std::string end = triple ? "}}}" : close;
        if (triple) ++contents_at;
        const bool comment = !triple && text.compare(contents_at, 1, "!") == 0;
        const auto stop = text.find(end, contents_at);
        const auto eol = text.find('\n', contents_at);
        const std::string opened = text.substr(start, std::min(text.find_first_of("\r\n", start), start + 40) - start);
        if (stop == std::string::npos || (!comment && eol != std::string::npos && eol < stop))
            return fail(start, "'" + opened + "' is not closed on its line; add the missing '" + end + "'");
        std::string raw = text.substr(contents_at, stop - contents_at);
        pos = stop + end.size();
        if (comment) {
            // A comment may span lines, but one that holds a tag has
            // swallowed it: its own closing braces are missing.
            if (raw.find(open) != std::string::npos)
                return fail(start, "the comment '" + opened + "' runs into another tag; close it with '" + close + "'");
            continue;
        }
        const std::string shown = text.substr(start, pos - start);
        std::string contents = trim(raw);
        if (!triple && !contents.empty() && contents[0] == '=') {
            if (!parse_delimiters(contents, open, close))
                return fail(start, "'" + shown + "' is not a valid set-delimiter tag (write it as {{=<% %>=}})");
            continue;
        }
        tag t;
        t.line = line_of(text, start);
        t.shown = shown;
        char sigil = triple ? '&' : (contents.empty() ? ' ' : contents[0]);
        if (std::string("#^/>&").find(sigil) != std::string::npos && !triple)
            contents = trim(contents.substr(1));
        else if (!triple)
            sigil = ' ';
        t.name = contents;
        if (t.name.empty()) return fail(start, "'" + shown + "' names nothing; write a name between the braces");
        if (t.name.find_first_of("{}") != std::string::npos)
            return fail(start, "'" + shown + "' has a brace inside its name; a closing '" + close + "' is missing or one brace too many");
        if (std::any_of(t.name.begin(), t.name.end(), is_blank))
            return fail(start, "'" + shown + "' has a blank inside its name; a closing '" + close + "' is missing or the name is mistyped");
        switch (sigil) {
        case '#': t.kind = tag_kind::section; break;
        case '^': t.kind = tag_kind::inverted; break;
        case '>': t.kind = tag_kind::partial; break;
        case '/': {
            if (stack.empty())
                return fail(start, "'" + shown + "' closes a section that is not open; remove it or add {{#" + t.name + "}} before it");
            if (stack.back().name != t.name)
                return fail(start, "'" + shown + "' closes a section, but the one open is " + stack.back().shown + " from line " +
                                       std::to_string(stack.back().line) + "; close that one first");
            auto done = std::move(stack.back());
            stack.pop_back();
            add(std::move(done));
            continue;
        }
        default: t.kind = tag_kind::variable; break;
        }
        if (t.kind == tag_kind::section || t.kind == tag_kind::inverted)
            stack.push_back(std::move(t));
        else
            add(std::move(t));
    }
    if (!stack.empty()) {
        const auto& t = stack.back();
        out.error_line = t.line;
        out.error = "'" + t.shown + "' is never closed; add {{/" + t.name + "}} where the section ends";
        out.tags.clear();
    }
    return out;
}

}  // namespace pxed::render::syntax
