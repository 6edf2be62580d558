// The page's inline style sheet and script (page_style.cpp, page_script.cpp), kept as C++
// raw strings so the binary needs no files beside it.
#pragma once

namespace kiln::report {

extern const char* const kPageStyle;
// Installed first, in its own <script>, so it also catches a syntax error in the main script:
// window.onerror shows the error on the page and in #kiln-js-error's data-error attribute.
extern const char* const kErrorHook;
// Reads #kiln-data, draws every section, then sets <body data-rendered="ok">.
extern const char* const kPageScript;

}  // namespace kiln::report
