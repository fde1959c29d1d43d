// The body of a function (keys) run in the report page by
// tests/t/185_report_html.pl: what the page shows, read from the DOM, and
// the detail views of keys.top and keys.hostile. Returns a Promise.
function num(v) { return v === null || v === undefined || v === '' ? null : Number(v); }
var result = {draw_errors: window.qprofReport.errors, pwned: window.pwned || null, cards: {}, tables: {}, charts: {}};
document.querySelectorAll('[data-summary]').forEach(function (c) {
  result.cards[c.dataset.summary] = num(c.dataset.value);
});
document.querySelectorAll('table[data-table]').forEach(function (t) {
  var rows = Array.from(t.querySelectorAll('tbody tr[data-index]'));
  var info = {rows: num(t.dataset.rows), shown: num(t.dataset.shown),
    keys: rows.map(function (r) { return r.dataset.key; }), names: [], by_key: {}};
  rows.forEach(function (r) {
    var name = r.querySelector('td[data-col="name"]');
    if (name) info.names.push(name.textContent);
    var count = r.querySelector('td[data-col="count"]');
    if (count) info.by_key[r.dataset.key] = num(count.dataset.value);
  });
  var total = t.querySelector('tbody tr td[data-col="total_ms"]');
  if (total) info.first_total_ms = num(total.dataset.value);
  result.tables[t.dataset.table] = info;
});
document.querySelectorAll('svg[data-chart]').forEach(function (c) {
  result.charts[c.dataset.chart] = {intervals: num(c.dataset.intervals), total: num(c.dataset.total),
    series: Array.from(c.querySelectorAll('path[data-key]')).map(function (p) {
      return {key: p.dataset.key, kind: p.dataset.kind, sum: num(p.dataset.sum)};
    })};
});
result.sections = Array.from(document.querySelectorAll('main > section[id]')).map(function (s) { return s.id; });
result.insights = Array.from(document.querySelectorAll('li.insight')).map(function (li) { return li.dataset.kind; });
// elements the data could have brought in, had it been parsed as HTML
result.markup_elements = document.querySelectorAll('main b, main img, main iframe, main script').length;

function detailOf(key) {
  if (!key) return null;
  window.qprofReport.showStatement(key, false);
  var d = document.getElementById('statement-detail');
  var histogram = d.querySelector('svg[data-chart="histogram"]');
  return {
    text: d.querySelector('pre.statement-text').textContent,
    histogram_total: histogram ? num(histogram.dataset.total) : null,
    plans: d.querySelectorAll('.plan[data-plan]').length,
    node_types: Array.from(d.querySelectorAll('ul.plan-tree li[data-node-type]')).map(function (li) {
      return li.dataset.nodeType;
    })
  };
}
result.top_detail = detailOf(keys.top);
result.hostile_detail = detailOf(keys.hostile);
// the detail as a reader sees it, for the screenshot
window.qprofReport.showStatement(keys.top, false);
return result;
