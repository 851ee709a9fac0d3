/**
 * The dashboard page's style sheet, served inline under the page's
 * Content-Security-Policy nonce (no file to fetch, no CDN). Text only.
 *
 * @module
 */

/** The CSS of the page. */
export const STYLE = `
:root { color-scheme: light; --fg: #1d232b; --muted: #667085; --line: #e4e7ec;
  --bg: #f7f8fa; --card: #fff; --accent: #2f5bd3; --bad: #c4320a; --good: #067647;
  --warn: #b54708; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
header.top { display: flex; gap: 16px; align-items: center; padding: 10px 24px;
  background: #111827; color: #fff; }
header.top a.brand { color: #fff; font-weight: 700; font-size: 16px; text-decoration: none; }
header.top .spacer { flex: 1; }
.live { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #374151; }
.live.on { background: var(--good); }
.ro { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: var(--warn); }
main { max-width: 1280px; margin: 0 auto; padding: 16px 24px 48px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 14px 16px; margin: 0 0 16px; }
h2 { font-size: 16px; margin: 0 0 10px; }
h3 { font-size: 14px; margin: 14px 0 8px; color: var(--muted); }
a { color: var(--accent); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.mono, td.nowrap { white-space: nowrap; }
input[type=number] { width: 72px; }
td.mono, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
tr.current td { background: #eef2ff; }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px;
  background: #eef0f3; }
.s-waiting { background: #f4ebff; } .s-pending { background: #e0eaff; } .s-processing { background: #fef0c7; }
.s-complete { background: #d1fadf; } .s-failed { background: #fee4e2; }
.s-cancelled { background: #eaecf0; } .paused { background: #fedf89; }
.bar { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 8px 0; }
.tabs a { padding: 4px 10px; border-radius: 6px; text-decoration: none; border: 1px solid var(--line); }
.tabs a.on { background: var(--accent); color: #fff; border-color: var(--accent); }
button { font: inherit; font-size: 12px; padding: 3px 10px; border-radius: 6px;
  border: 1px solid #c7cdd6; background: #fff; cursor: pointer; }
button:hover { background: #f2f4f7; }
button.danger { color: var(--bad); border-color: #f5c2bb; }
input, select { font: inherit; font-size: 13px; padding: 3px 6px; border: 1px solid #c7cdd6;
  border-radius: 6px; }
progress { width: 90px; height: 10px; vertical-align: middle; }
pre { background: #f8fafc; border: 1px solid var(--line); border-radius: 6px; padding: 8px;
  margin: 4px 0 10px; max-height: 320px; overflow: auto; white-space: pre-wrap;
  word-break: break-word; font-size: 12px; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.fields dt { color: var(--muted); }
dl.fields dd { margin: 0; }
.muted { color: var(--muted); }
#notice { position: fixed; right: 16px; bottom: 16px; max-width: 420px; padding: 8px 12px;
  border-radius: 6px; background: #111827; color: #fff; display: none; }
#notice.show { display: block; } #notice.bad { background: var(--bad); }
.limits { color: var(--muted); }
`;
