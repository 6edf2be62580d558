// render_page and script_safe_json (see page.h).
#include "report/page.h"

#include "report/page_assets.h"

namespace kiln::report {

std::string script_safe_json(const nlohmann::json& data) {
  // Invalid UTF-8 (a path, a config string) becomes U+FFFD rather than an exception.
  const std::string text = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  // '<' appears only inside JSON strings, where \u003c means the same character.
  for (const char c : text) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

std::string render_page(const nlohmann::json& data) {
  const std::string kind = data.value("kind", "run");
  std::string title = "kiln " + kind + " report: " + data.value("name", std::string());
  // The title is the one piece of data written as HTML text: escape it.
  std::string safe_title;
  for (const char c : title) {
    switch (c) {
      case '<':
        safe_title += "&lt;";
        break;
      case '>':
        safe_title += "&gt;";
        break;
      case '&':
        safe_title += "&amp;";
        break;
      default:
        safe_title += c;
    }
  }
  std::string page;
  page += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  page += "<title>" + safe_title + "</title>\n<script>" + std::string(kErrorHook) + "</script>\n";
  page += "<style>" + std::string(kPageStyle) + "</style>\n</head>\n<body>\n";
  page += "<div id=\"kiln-js-error\" hidden></div>\n<main id=\"kiln-report\"></main>\n";
  page += "<script type=\"application/json\" id=\"kiln-data\">" + script_safe_json(data) + "</script>\n";
  page += "<script>" + std::string(kPageScript) + "</script>\n</body>\n</html>\n";
  return page;
}

}  // namespace kiln::report
