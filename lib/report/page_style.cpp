// The report's style sheet: light, system fonts only (nothing is fetched), plots in a grid
// of two columns on a wide window and one on a narrow one.
#include "report/page_assets.h"

namespace kiln::report {

const char* const kPageStyle = R"CSS(
:root { --fg: #1f2933; --muted: #616e7c; --line: #d9e2ec; --bg: #ffffff; --panel: #f7f9fb; --accent: #2563eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: var(--fg); background: var(--bg); }
main { max-width: 1240px; margin: 0 auto; padding: 0 20px 40px; }
header.top { border-bottom: 1px solid var(--line); padding: 18px 0 12px; margin-bottom: 8px; }
header.top h1 { font-size: 22px; margin: 0 0 6px; font-weight: 600; }
header.top .sub { color: var(--muted); font-size: 13px; word-break: break-all; }
.badges { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 10px; }
.badge { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
.badge b { display: block; font-size: 11px; color: var(--muted); font-weight: 500; text-transform: uppercase;
           letter-spacing: .04em; }
.badge span { font-size: 16px; font-weight: 600; }
.badge.ok span { color: #15803d; } .badge.warn span { color: #b45309; }
nav { position: sticky; top: 0; background: rgba(255,255,255,.95); border-bottom: 1px solid var(--line);
      padding: 6px 0; z-index: 2; }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; font-size: 13px; }
section { margin-top: 22px; }
section > h2 { font-size: 17px; font-weight: 600; margin: 0 0 10px; padding-bottom: 4px;
               border-bottom: 1px solid var(--line); }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 14px; }
.card { background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; }
.card.wide { margin-top: 12px; }
.card h3 { font-size: 14px; font-weight: 600; margin: 2px 0 4px; }
svg.plot { width: 100%; height: auto; display: block; }
svg.plot text { font: 11px system-ui, sans-serif; fill: var(--muted); }
svg.plot .axis-label { fill: var(--fg); font-size: 12px; }
svg.plot .nodata { font-size: 15px; fill: var(--muted); }
svg.plot .grid-line { stroke: #eef2f6; }
svg.plot .axis-line { stroke: #9aa5b1; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.table-wrap { overflow-x: auto; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px; overflow: auto;
      max-height: 480px; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.note { color: #92400e; background: #fffbeb; border: 1px solid #fde68a; border-radius: 6px; padding: 6px 10px;
        margin: 6px 0; }
.muted { color: var(--muted); }
.verdict { font-size: 15px; margin: 6px 0; } .verdict b { text-transform: uppercase; }
.share-bar { display: inline-block; height: 9px; background: #60a5fa; border-radius: 2px; vertical-align: middle;
             margin-right: 6px; }
.state-COMPLETE { color: #15803d; } .state-PRUNED { color: #b45309; } .state-FAIL { color: #b91c1c; }
.state-RUNNING, .state-WAITING { color: var(--muted); }
tr.best td { background: #ecfdf5; }
#kiln-js-error { background: #fee2e2; color: #991b1b; border-bottom: 2px solid #b91c1c; padding: 10px 20px;
                 font-weight: 600; white-space: pre-wrap; }
.kv td:first-child { color: var(--muted); white-space: nowrap; }
)CSS";

}  // namespace kiln::report
