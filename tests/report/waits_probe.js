// The body of a function (keys) run in the report page by
// tests/t/186_report_waits.pl: the "where the time went" section as the
// page shows it (its bars and tables, cell by cell), and the detail view
// of keys.waiter. Returns a plain object.
function num(v) { return v === null || v === undefined || v === '' ? null : Number(v); }
function bar(node) {
  if (!node) return null;
  var parts = {};
  node.querySelectorAll('.part[data-part]').forEach(function (p) { parts[p.dataset.part] = num(p.dataset.ms); });
  return {elapsed_ms: num(node.dataset.elapsedMs), parts: parts};
}
var result = {draw_errors: window.qprofReport.errors, tables: {}, sections: [],
  insights: Array.from(document.querySelectorAll('li.insight')).map(function (li) { return li.dataset.kind; })};
document.querySelectorAll('main > section[id]').forEach(function (s) { result.sections.push(s.id); });
var section = document.getElementById('waits');
result.intro = section ? section.querySelector('p.hint').textContent : null;
result.all = bar(section && section.querySelector('.waits-bar[data-waits="all"]'));
result.all_events = section && section.querySelector('[data-waits-events="all"]') ?
  section.querySelector('[data-waits-events="all"]').textContent : null;
['waits-statements', 'waits-routes'].forEach(function (name) {
  var t = document.querySelector('table[data-table="' + name + '"]');
  if (!t) return;
  var rows = {};
  t.querySelectorAll('tbody tr[data-index]').forEach(function (tr) {
    var cells = {};
    tr.querySelectorAll('td[data-col]').forEach(function (td) {
      cells[td.dataset.col] = td.dataset.value !== undefined ? num(td.dataset.value) : null;
      if (td.dataset.col === 'waits.events' || td.dataset.col === 'name') cells[td.dataset.col] = td.textContent;
    });
    rows[tr.dataset.key] = cells;
  });
  result.tables[name] = {rows: num(t.dataset.rows), by_key: rows};
});
window.qprofReport.showStatement(keys.waiter, false);
var detail = document.getElementById('statement-detail');
result.waiter_detail = bar(detail.querySelector('.waits-bar[data-waits="statement"]'));
return result;
