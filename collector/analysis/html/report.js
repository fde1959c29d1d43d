/*
 * The page of `qprof report --html`: draws the report embedded in the page
 * (element #qprof-report-data, the JSON of `qprof report --json`, described
 * in docs/report-json.md) as a summary, the insights, paged sortable tables,
 * SVG charts and a detail view per statement.
 *
 * Written for large reports: tables render one page of rows at a time and
 * sort an array of row indices, so 100,000 statements open in about the
 * time the browser takes to parse the JSON. Everything is built with DOM
 * calls and textContent, never from HTML strings: statement texts and tags
 * are data from the database's clients.
 *
 * When it has drawn the page it sets window.qprofReport = {ready: true,
 * readyMs, errors}; tests read the tables' data-* attributes.
 */
(function () {
  'use strict';

  var SVG_NS = 'http://www.w3.org/2000/svg';
  var PALETTE = ['#2457c5', '#e07b00', '#2e9e5b', '#c0392b', '#7d4cc2', '#138d9c',
    '#b5651d', '#d44f9a', '#5b7c1e', '#4a6fa5', '#a33c6b', '#3f8f8a'];
  var OTHER_COLOR = '#b8bfcc';
  var PAGE_SIZES = [25, 50, 100, 500];

  /* ------------------------------------------------------------ helpers */

  /* An element: el('td', {class: 'num', data: {value: 3}}, 'text', node). */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function svg(tag, attrs) {
    var node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === 'data') {
        Object.keys(value).forEach(function (key) {
          if (value[key] !== null && value[key] !== undefined) node.setAttribute('data-' + key, String(value[key]));
        });
      } else if (name === 'text') {
        node.textContent = String(value);
      } else if (name === 'on') {
        Object.keys(value).forEach(function (event) { node.addEventListener(event, value[event]); });
      } else {
        node.setAttribute(name === 'className' ? 'class' : name, value === true ? '' : String(value));
      }
    });
  }

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }

  function isNum(v) { return typeof v === 'number' && isFinite(v); }

  /* A duration in milliseconds, with the unit that reads best. */
  function fmtMs(ms) {
    if (!isNum(ms)) return '\u2013';
    var a = Math.abs(ms);
    if (a === 0) return '0 ms';
    if (a < 1) return ms.toFixed(3) + ' ms';
    if (a < 10) return ms.toFixed(2) + ' ms';
    if (a < 1000) return ms.toFixed(1) + ' ms';
    if (a < 60000) return (ms / 1000).toFixed(a < 10000 ? 2 : 1) + ' s';
    if (a < 3600000) return Math.floor(a / 60000) + ' min ' + Math.round((a % 60000) / 1000) + ' s';
    return (ms / 3600000).toFixed(1) + ' h';
  }

  /* An integer with thousands separators (not toLocaleString: its first
   * call loads the locale data, hundreds of milliseconds). */
  function grouped(n) {
    var digits = String(Math.abs(Math.round(n)));
    return (n < 0 && Math.round(n) !== 0 ? '-' : '') + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  }

  /* A count, rounded (estimates under sampling are fractional). */
  function fmtCount(n) {
    if (!isNum(n)) return '\u2013';
    return grouped(n);
  }

  /* A share given as a fraction of 1. */
  function fmtPct(share) {
    if (!isNum(share)) return '\u2013';
    var p = share * 100;
    return (p !== 0 && Math.abs(p) < 0.1 ? p.toFixed(2) : p.toFixed(1)) + '%';
  }

  function fmtBytes(b) {
    if (!isNum(b)) return '\u2013';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    while (Math.abs(b) >= 1024 && i < units.length - 1) { b /= 1024; i++; }
    return (i === 0 ? Math.round(b) : b.toFixed(b < 10 ? 2 : 1)) + ' ' + units[i];
  }

  /* Blocks of 8 kB, as a count and what it weighs. */
  function fmtBlocks(n) {
    if (!isNum(n)) return '\u2013';
    return fmtCount(n);
  }

  function fmtFactor(f) {
    if (!isNum(f)) return '\u2013';
    if (f >= 1) return '\u00d7' + (f >= 100 ? grouped(f) : f.toFixed(1));
    return '\u00f7' + (1 / f >= 100 ? grouped(1 / f) : (1 / f).toFixed(1));
  }

  function pad2(n) { return (n < 10 ? '0' : '') + n; }

  /* A time of day from unix microseconds, in UTC. */
  function fmtTime(us, withDate) {
    if (!isNum(us)) return '\u2013';
    var d = new Date(us / 1000);
    var time = pad2(d.getUTCHours()) + ':' + pad2(d.getUTCMinutes()) + ':' + pad2(d.getUTCSeconds());
    if (!withDate) return time;
    return d.getUTCFullYear() + '-' + pad2(d.getUTCMonth() + 1) + '-' + pad2(d.getUTCDate()) + ' ' + time + ' UTC';
  }

  function fmtSeconds(s) {
    if (!isNum(s)) return '\u2013';
    return fmtMs(s * 1000);
  }

  /* One line of a statement's text, cut to `max` characters. */
  function oneLine(text, max) {
    var line = String(text || '').replace(/\s+/g, ' ').trim();
    return line.length > max ? line.slice(0, max - 1) + '\u2026' : line;
  }

  /* A statement's text as a label: one line, without the sqlcommenter
   * comment at its end (the tags of the execution that stored the text). */
  function statementText(text, max) {
    return oneLine(String(text || '').replace(/\s*\/\*[^*]*(?:\*(?!\/)[^*]*)*\*\/\s*;?\s*$/, ''), max);
  }


  function kernelOf(row) { return row && row.kernel ? row.kernel : null; }

  /* ------------------------------------------------------------ the data */

  var started = performance.now();
  var report = JSON.parse(document.getElementById('qprof-report-data').textContent);
  var parsedAt = performance.now();
  var statementByKey = new Map();
  (report.statements || []).forEach(function (s) { statementByKey.set(s.key, s); });
  var planByKey = new Map();
  (report.plans || []).forEach(function (p) { planByKey.set(p.key, p); });
  /* qprof report --clickhouse: the plans are in their statements, and the
   * parts ClickHouse does not answer yet are absent */
  var fromClickHouse = report.source === 'clickhouse';
  var missingFromClickHouse = new Set(fromClickHouse ? report.not_available || [] : []);
  (report.statements || []).forEach(function (s) {
    (s.plans || []).forEach(function (p) { if (p && typeof p === 'object') planByKey.set(p.key, p); });
  });
  function planOf(p) { return p && typeof p === 'object' ? p : planByKey.get(p); }
  /* What ClickHouse does not have yet, where the page would show it. */
  function notAvailable(part, what) {
    return el('p', {class: 'notice', data: {'not-available': part}},
      'Not available from ClickHouse: ' + what + ' (qprof report of the capture files has it; docs/clickhouse.md).');
  }
  var serverByKey = new Map();
  ((report.summary && report.summary.servers) || []).forEach(function (s) { serverByKey.set(s.key, s); });
  var buckets = report.latency_buckets_ms || [];

  function statementLabel(key, max) {
    var s = statementByKey.get(key);
    return s ? statementText(s.text, max || 90) : key;
  }

  /* A link that opens a statement's detail view. */
  function statementLink(key, max) {
    if (!statementByKey.has(key)) return el('span', {class: 'muted'}, key);
    return el('a', {href: '#statement=' + encodeURIComponent(key), class: 'statement-link',
      title: oneLine(statementByKey.get(key).text, 2000), data: {statement: key}}, statementLabel(key, max));
  }

  /* The bound of latency bucket i as text: "≤ 2.5 ms", "> 10 s". */
  function bucketLabel(i) {
    if (buckets[i] === null || buckets[i] === undefined) {
      return '> ' + fmtMs(i > 0 ? buckets[i - 1] : 0);
    }
    return '\u2264 ' + fmtMs(buckets[i]);
  }

  /* ------------------------------------------------------------- tables */

  /*
   * A paged, sortable, filterable table.
   *   name      data-table of the <table>
   *   columns   [{key, label, title, num, value(row), format(value, row) -> text|Node,
   *              cls, sortable (default true), search (text columns: true)}]
   *   rows      the rows (any objects)
   *   sort      {key, desc} at first (rows are kept in their order when absent)
   *   onRow     function(row, tr) when a row is clicked
   *   rowKey    function(row) -> data-key of its <tr>
   *   pageSize  rows a page (50)
   */
  function DataTable(opts) {
    var self = this;
    this.opts = opts;
    this.rows = opts.rows || [];
    this.columns = opts.columns;
    this.pageSize = opts.pageSize || 50;
    this.page = 0;
    this.query = '';
    this.order = null;     // indices into rows, in display order
    this.searchText = null; // lower-case text of each row, built on first search
    this.sortKey = opts.sort ? opts.sort.key : null;
    this.sortDesc = opts.sort ? !!opts.sort.desc : false;

    this.countLabel = el('span', {class: 'count'});
    this.prev = el('button', {type: 'button', on: {click: function () { self.go(self.page - 1); }}}, '\u2039 previous');
    this.next = el('button', {type: 'button', on: {click: function () { self.go(self.page + 1); }}}, 'next \u203a');
    var sizeSelect = el('select', {'aria-label': 'rows a page', on: {change: function () {
      self.pageSize = Number(this.value); self.page = 0; self.render();
    }}});
    PAGE_SIZES.forEach(function (n) {
      append(sizeSelect, el('option', {value: n, selected: n === self.pageSize}, n + ' rows a page'));
    });
    var searchTimer = 0;
    var search = el('input', {type: 'search', placeholder: opts.searchPlaceholder || 'filter rows\u2026',
      'aria-label': 'filter', on: {input: function () {
        var value = this.value;
        clearTimeout(searchTimer);
        searchTimer = setTimeout(function () { self.filter(value); }, 150);
      }}});
    var toolbar = el('div', {class: 'toolbar'});
    if (this.rows.length > 10) append(toolbar, [search, this.countLabel, this.prev, this.next, sizeSelect]);
    else append(toolbar, this.countLabel);

    var headRow = el('tr');
    this.headers = this.columns.map(function (col) {
      var th = el('th', {class: col.num ? 'num' : null, title: col.title || null, scope: 'col',
        data: {col: col.key}}, col.label);
      if (col.sortable !== false) {
        th.addEventListener('click', function () {
          if (self.sortKey === col.key) self.sortDesc = !self.sortDesc;
          else { self.sortKey = col.key; self.sortDesc = !!col.num; }
          self.sort();
          self.page = 0;
          self.render();
        });
      }
      headRow.appendChild(th);
      return th;
    });
    this.tbody = el('tbody');
    this.table = el('table', {class: 'data', data: {table: opts.name}}, el('thead', null, headRow), this.tbody);
    this.element = el('div', {class: 'table-box', data: {'table-box': opts.name}}, toolbar, el('div', {class: 'scroll'}, this.table));
    this.sort();
    this.render();
  }

  DataTable.prototype.column = function (key) {
    for (var i = 0; i < this.columns.length; i++) if (this.columns[i].key === key) return this.columns[i];
    return null;
  };

  DataTable.prototype.value = function (col, row) {
    return col.value ? col.value(row) : row[col.key];
  };

  /* The rows that pass the filter, sorted: an array of indices. */
  DataTable.prototype.sort = function () {
    var self = this;
    var base = this.filtered || null;
    var order = base ? base.slice() : new Array(this.rows.length);
    if (!base) for (var i = 0; i < order.length; i++) order[i] = i;
    var col = this.sortKey ? this.column(this.sortKey) : null;
    if (col) {
      var keys = new Array(this.rows.length);
      order.forEach(function (index) { keys[index] = self.value(col, self.rows[index]); });
      var desc = this.sortDesc ? -1 : 1;
      order.sort(function (a, b) {
        var x = keys[a], y = keys[b];
        var xMissing = x === null || x === undefined || (typeof x === 'number' && !isFinite(x));
        var yMissing = y === null || y === undefined || (typeof y === 'number' && !isFinite(y));
        if (xMissing || yMissing) return xMissing === yMissing ? a - b : (xMissing ? 1 : -1);
        if (x < y) return -desc;
        if (x > y) return desc;
        return a - b;
      });
    }
    this.order = order;
    this.headers.forEach(function (th, i) {
      var key = self.columns[i].key;
      if (key === self.sortKey) th.setAttribute('aria-sort', self.sortDesc ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    });
  };

  DataTable.prototype.filter = function (query) {
    var self = this;
    query = query.trim().toLowerCase();
    if (query === this.query) return;
    this.query = query;
    if (!query) {
      this.filtered = null;
    } else {
      if (!this.searchText) {
        var textCols = this.columns.filter(function (c) { return c.search !== false && !c.num; });
        this.searchText = this.rows.map(function (row) {
          return textCols.map(function (c) {
            var v = self.value(c, row);
            return v === null || v === undefined ? '' : String(v);
          }).join('\u0001').toLowerCase();
        });
      }
      var kept = [];
      for (var i = 0; i < this.searchText.length; i++) if (this.searchText[i].indexOf(query) >= 0) kept.push(i);
      this.filtered = kept;
    }
    this.sort();
    this.page = 0;
    this.render();
  };

  DataTable.prototype.go = function (page) {
    var pages = Math.max(1, Math.ceil(this.order.length / this.pageSize));
    this.page = Math.max(0, Math.min(pages - 1, page));
    this.render();
  };

  /* Draws the current page only. */
  DataTable.prototype.render = function () {
    var self = this;
    var total = this.order.length;
    var first = this.page * this.pageSize;
    var last = Math.min(total, first + this.pageSize);
    var fragment = document.createDocumentFragment();
    for (var i = first; i < last; i++) {
      var row = this.rows[this.order[i]];
      var tr = el('tr', {data: {key: this.opts.rowKey ? this.opts.rowKey(row) : null, index: i}});
      this.columns.forEach(function (col) {
        var value = self.value(col, row);
        var shown = col.format ? col.format(value, row) : value;
        var td = el('td', {class: (col.num ? 'num' : '') + (col.cls ? ' ' + col.cls : ''),
          data: {col: col.key, value: typeof value === 'number' || typeof value === 'string' ? value : null}});
        if (col.cls === 'text' && typeof shown === 'string') td.title = shown;
        append(td, shown === null || shown === undefined ? '\u2013' : shown);
        tr.appendChild(td);
      });
      if (this.opts.onRow) {
        tr.classList.add('clickable');
        tr.addEventListener('click', (function (r, t) {
          return function (event) { if (!event.target.closest('a')) self.opts.onRow(r, t); };
        })(row, tr));
      }
      fragment.appendChild(tr);
    }
    this.tbody.textContent = '';
    this.tbody.appendChild(fragment);
    if (total === 0) {
      this.tbody.appendChild(el('tr', null, el('td', {colspan: this.columns.length, class: 'muted'},
        this.query ? 'no row matches the filter' : 'none')));
    }
    this.table.setAttribute('data-rows', String(total));
    this.table.setAttribute('data-shown', String(last - first));
    this.countLabel.textContent = total === 0 ? '0 rows' :
      'rows ' + fmtCount(first + 1) + '\u2013' + fmtCount(last) + ' of ' + fmtCount(total);
    this.prev.disabled = this.page === 0;
    this.next.disabled = last >= total;
  };

  /* Column helpers. */
  function numCol(key, label, format, extra) {
    var col = {key: key, label: label, num: true, format: format || fmtCount};
    return Object.assign(col, extra || {});
  }
  function msCol(key, label, extra) { return numCol(key, label, fmtMs, extra); }
  function kernelCol(field, label, format, title) {
    return numCol('kernel.' + field, label, format || fmtMs, {
      title: title, value: function (row) { var k = kernelOf(row); return k ? k[field] : null; }});
  }
  /* A share with a small bar. */
  function shareCol(key, label, extra) {
    return numCol(key, label, function (v) {
      if (!isNum(v)) return '\u2013';
      return [el('span', {class: 'bar', style: 'width:' + Math.round(Math.min(1, v) * 60) + 'px'}), fmtPct(v)];
    }, extra);
  }

  /* ------------------------------------------------------------- charts */

  function niceStep(max, ticks) {
    var raw = max / Math.max(1, ticks);
    var magnitude = Math.pow(10, Math.floor(Math.log10(raw || 1)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * magnitude >= raw) return steps[i] * magnitude;
    return 10 * magnitude;
  }

  /* Tick positions for `intervals` intervals of `interval_s` from `start_us`. */
  function timeTicks(startUs, intervalS, intervals, width) {
    var spanS = intervalS * intervals;
    var candidates = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
    var wanted = Math.max(2, Math.floor(width / 110));
    var step = candidates[candidates.length - 1];
    for (var i = 0; i < candidates.length; i++) {
      if (spanS / candidates[i] <= wanted) { step = candidates[i]; break; }
    }
    var ticks = [];
    var startS = startUs / 1e6;
    var first = Math.ceil(startS / step) * step;
    for (var t = first; t <= startS + spanS + 1e-9; t += step) ticks.push((t - startS) / intervalS);
    return ticks;
  }

  /* Shows `lines` near the pointer inside `box`. */
  function Tooltip(box) {
    this.node = el('div', {class: 'tooltip', hidden: true});
    box.appendChild(this.node);
    this.box = box;
  }
  Tooltip.prototype.show = function (event, text) {
    var rect = this.box.getBoundingClientRect();
    this.node.textContent = text;
    this.node.hidden = false;
    var x = event.clientX - rect.left + 14;
    var y = event.clientY - rect.top + 14;
    if (x + this.node.offsetWidth > rect.width) x = Math.max(0, x - this.node.offsetWidth - 28);
    this.node.style.left = x + 'px';
    this.node.style.top = y + 'px';
  };
  Tooltip.prototype.hide = function () { this.node.hidden = true; };

  /*
   * A stacked area chart of database time per interval.
   *   series  [{key, label, values, color, statement}]
   */
  function stackedChart(name, ts, series, valueLabel) {
    var width = 1180, height = 280, left = 70, right = 16, top = 12, bottom = 28;
    var n = ts.intervals;
    var plotW = width - left - right, plotH = height - top - bottom;
    var totals = new Array(n).fill(0);
    series.forEach(function (s) { for (var i = 0; i < n; i++) totals[i] += s.values[i] || 0; });
    var max = Math.max.apply(null, totals.concat([0]));
    var step = niceStep(max || 1, 5);
    var yMax = Math.max(step, Math.ceil(max / step) * step);
    var x = function (i) { return left + (n <= 1 ? plotW / 2 : (i / (n - 1)) * plotW); };
    var y = function (v) { return top + plotH - (v / yMax) * plotH; };

    var chart = svg('svg', {viewBox: '0 0 ' + width + ' ' + height, width: width, height: height,
      role: 'img', 'aria-label': valueLabel, data: {chart: name, series: series.length, intervals: n}});
    for (var v = 0; v <= yMax + 1e-9; v += step) {
      append(chart, svg('line', {class: 'grid', x1: left, x2: width - right, y1: y(v), y2: y(v)}));
      append(chart, svg('text', {x: left - 6, y: y(v) + 4, 'text-anchor': 'end'}, fmtMs(v)));
    }
    timeTicks(ts.start_unix_us, ts.interval_s, Math.max(1, n - 1), plotW).forEach(function (t) {
      append(chart, svg('line', {class: 'axis', x1: x(t), x2: x(t), y1: top + plotH, y2: top + plotH + 4}));
      append(chart, svg('text', {x: x(t), y: height - 8, 'text-anchor': 'middle'},
        fmtTime(ts.start_unix_us + t * ts.interval_s * 1e6)));
    });
    append(chart, svg('line', {class: 'axis', x1: left, x2: width - right, y1: top + plotH, y2: top + plotH}));

    var below = new Array(n).fill(0);
    series.forEach(function (s, index) {
      var upper = [], lower = [], sum = 0;
      for (var i = 0; i < n; i++) {
        var value = s.values[i] || 0;
        sum += value;
        lower.push(x(i).toFixed(1) + ',' + y(below[i]).toFixed(1));
        below[i] += value;
        upper.push(x(i).toFixed(1) + ',' + y(below[i]).toFixed(1));
      }
      var d = n === 1
        ? 'M' + (x(0) - 20) + ',' + y(below[0]) + 'H' + (x(0) + 20) + 'V' + y(below[0] - (s.values[0] || 0)) + 'H' + (x(0) - 20) + 'Z'
        : 'M' + upper.join('L') + 'L' + lower.reverse().join('L') + 'Z';
      append(chart, svg('path', {d: d, fill: s.color, 'fill-opacity': 0.85, stroke: '#fff', 'stroke-width': 0.5,
        data: {key: s.key, kind: s.kind, sum: sum, index: index}},
        svg('title', null, s.label + ': ' + fmtMs(sum) + ' in all')));
    });

    var box = el('div', {class: 'chart', data: {'chart-box': name}});
    append(box, chart);
    var legend = el('div', {class: 'legend'});
    series.forEach(function (s) {
      var label = s.statement ? statementLink(s.statement, 60) : s.label;
      append(legend, el('span', {class: 'item', title: s.label},
        el('span', {class: 'swatch', style: 'background:' + s.color}), label));
    });
    append(box, legend);

    // the values at the interval under the pointer
    var tooltip = new Tooltip(box);
    var cursor = svg('line', {class: 'axis', x1: 0, x2: 0, y1: top, y2: top + plotH, visibility: 'hidden'});
    append(chart, cursor);
    chart.addEventListener('mousemove', function (event) {
      var rect = chart.getBoundingClientRect();
      var px = (event.clientX - rect.left) * (width / rect.width);
      var i = n <= 1 ? 0 : Math.round(((px - left) / plotW) * (n - 1));
      if (i < 0 || i >= n) { tooltip.hide(); cursor.setAttribute('visibility', 'hidden'); return; }
      cursor.setAttribute('x1', x(i)); cursor.setAttribute('x2', x(i));
      cursor.setAttribute('visibility', 'visible');
      var lines = [fmtTime(ts.start_unix_us + i * ts.interval_s * 1e6) + '  ' + fmtMs(totals[i])];
      series.slice().reverse().forEach(function (s) {
        if (s.values[i]) lines.push(fmtMs(s.values[i]).padStart(10) + '  ' + oneLine(s.label, 60));
      });
      tooltip.show(event, lines.join('\n'));
    });
    chart.addEventListener('mouseleave', function () { tooltip.hide(); cursor.setAttribute('visibility', 'hidden'); });
    return box;
  }

  /* Executions per interval (bars) with the errors among them. */
  function executionsChart(ts) {
    var width = 1180, height = 130, left = 70, right = 16, top = 8, bottom = 22;
    var n = ts.intervals, plotW = width - left - right, plotH = height - top - bottom;
    var max = Math.max.apply(null, (ts.executions || []).concat([1]));
    var step = niceStep(max, 3), yMax = Math.ceil(max / step) * step;
    var barW = Math.max(1, plotW / Math.max(1, n));
    var chart = svg('svg', {viewBox: '0 0 ' + width + ' ' + height, width: width, height: height,
      data: {chart: 'executions', intervals: n}});
    for (var v = 0; v <= yMax; v += step) {
      append(chart, svg('line', {class: 'grid', x1: left, x2: width - right, y1: top + plotH - v / yMax * plotH, y2: top + plotH - v / yMax * plotH}));
      append(chart, svg('text', {x: left - 6, y: top + plotH - v / yMax * plotH + 4, 'text-anchor': 'end'}, fmtCount(v)));
    }
    for (var i = 0; i < n; i++) {
      var e = ts.executions[i] || 0, r = ts.errors[i] || 0;
      var h = e / yMax * plotH, hr = Math.min(h, r / yMax * plotH);
      var label = fmtTime(ts.start_unix_us + i * ts.interval_s * 1e6) + ': ' + fmtCount(e) + ' executions, ' + fmtCount(r) + ' errors';
      append(chart, svg('rect', {x: left + i * barW, y: top + plotH - h, width: Math.max(0.5, barW - 0.5), height: h,
        fill: '#9fb3dc', data: {count: e}}, svg('title', null, label)));
      if (hr > 0) append(chart, svg('rect', {x: left + i * barW, y: top + plotH - hr, width: Math.max(0.5, barW - 0.5), height: hr, fill: '#c0392b'}, svg('title', null, label)));
    }
    return el('div', {class: 'chart', data: {'chart-box': 'executions'}}, chart,
      el('div', {class: 'legend'}, el('span', {class: 'item'}, el('span', {class: 'swatch', style: 'background:#9fb3dc'}), 'executions'),
        el('span', {class: 'item'}, el('span', {class: 'swatch', style: 'background:#c0392b'}), 'errors')));
  }

  /* Executions per interval and latency bucket; colour on a log scale. */
  function heatmapChart(hm) {
    var counts = hm.counts || [];
    var n = counts.length;
    var rowsUsed = 0, max = 0, total = 0;
    counts.forEach(function (column) {
      column.forEach(function (c, b) { if (c > 0) { rowsUsed = Math.max(rowsUsed, b + 1); max = Math.max(max, c); total += c; } });
    });
    var low = 0;
    for (; low < rowsUsed; low++) {
      var any = counts.some(function (column) { return column[low] > 0; });
      if (any) break;
    }
    var nb = Math.max(1, rowsUsed - low);
    var width = 1180, left = 90, right = 16, top = 8, bottom = 28;
    var cellH = Math.max(8, Math.min(18, Math.floor(320 / nb)));
    var plotW = width - left - right, plotH = cellH * nb, height = top + plotH + bottom;
    var cellW = plotW / Math.max(1, n);
    var chart = svg('svg', {viewBox: '0 0 ' + width + ' ' + height, width: width, height: height,
      role: 'img', 'aria-label': 'latency heatmap', data: {chart: 'heatmap', total: total, intervals: n, buckets: nb}});
    var logMax = Math.log(max + 1);
    for (var b = low; b < low + nb; b++) {
      var yb = top + plotH - (b - low + 1) * cellH;
      if ((b - low) % Math.max(1, Math.ceil(nb / 12)) === 0) {
        append(chart, svg('text', {x: left - 6, y: yb + cellH / 2 + 4, 'text-anchor': 'end'}, bucketLabel(b)));
      }
    }
    var g = svg('g');
    counts.forEach(function (column, t) {
      for (var b = low; b < low + nb; b++) {
        var c = column[b] || 0;
        if (!c) continue;
        var level = Math.log(c + 1) / logMax;
        var light = Math.round(92 - level * 62);
        append(g, svg('rect', {x: (left + t * cellW).toFixed(1), y: top + plotH - (b - low + 1) * cellH,
          width: Math.max(0.8, cellW - 0.3).toFixed(1), height: cellH - 0.5,
          fill: 'hsl(' + Math.round(220 - level * 200) + ',75%,' + light + '%)', data: {count: c, t: t, bucket: b}},
          svg('title', null, fmtTime(hm.start_unix_us + t * hm.interval_s * 1e6) + ', ' + bucketLabel(b) + ': ' + fmtCount(c) + ' executions')));
      }
    });
    append(chart, g);
    timeTicks(hm.start_unix_us, hm.interval_s, n, plotW).forEach(function (t) {
      append(chart, svg('text', {x: left + t * cellW, y: height - 8, 'text-anchor': 'middle'},
        fmtTime(hm.start_unix_us + t * hm.interval_s * 1e6)));
    });
    append(chart, svg('line', {class: 'axis', x1: left, x2: width - right, y1: top + plotH, y2: top + plotH}));
    return el('div', {class: 'chart', data: {'chart-box': 'heatmap'}}, chart,
      el('p', {class: 'hint'}, 'Each cell counts the executions that ended in that interval with that latency (all statements); darker and redder is more, on a log scale. Hover a cell for its count.'));
  }

  /* A statement's latency histogram: bars over the used buckets. */
  function histogramChart(histogram) {
    var first = histogram.findIndex(function (c) { return c > 0; });
    var last = histogram.length - 1;
    while (last > 0 && !histogram[last]) last--;
    if (first < 0) return el('p', {class: 'muted'}, 'no execution recorded');
    var used = histogram.slice(first, last + 1);
    var max = Math.max.apply(null, used);
    var width = 760, height = 160, left = 40, bottom = 40, top = 8;
    var barW = Math.min(40, (width - left) / used.length);
    var plotH = height - top - bottom;
    var total = used.reduce(function (a, b) { return a + b; }, 0);
    var chart = svg('svg', {viewBox: '0 0 ' + width + ' ' + height, width: width, height: height,
      data: {chart: 'histogram', total: total}});
    used.forEach(function (c, i) {
      var h = (c / max) * plotH;
      append(chart, svg('rect', {x: left + i * barW, y: top + plotH - h, width: barW - 1, height: h, fill: '#2457c5',
        'fill-opacity': 0.75, data: {count: c}}, svg('title', null, bucketLabel(first + i) + ': ' + fmtCount(c))));
      if (i % Math.max(1, Math.ceil(72 / barW)) === 0) {
        append(chart, svg('text', {x: left + i * barW + barW / 2, y: height - bottom + 14, 'text-anchor': 'middle'},
          bucketLabel(first + i)));
      }
    });
    append(chart, svg('text', {x: 4, y: top + 10}, fmtCount(max)));
    append(chart, svg('line', {class: 'axis', x1: left, x2: width, y1: top + plotH, y2: top + plotH}));
    return el('div', {class: 'chart'}, chart);
  }

  /* ------------------------------------------------------------- plans */

  /* Self time of a node: its time less its children's (null without timing). */
  function selfTime(node) {
    if (!isNum(node.total_time_ms)) return null;
    var children = 0;
    (node.children || []).forEach(function (c) { if (isNum(c.total_time_ms)) children += c.total_time_ms; });
    return Math.max(0, node.total_time_ms - children);
  }

  /* The plan tree with per-node actuals, as nested lists. */
  function planTree(root) {
    var rootTime = isNum(root.total_time_ms) ? root.total_time_ms : null;
    function item(node) {
      var name = node.node_type + (node.relation ? ' on ' + node.relation : '') + (node.index ? ' using ' + node.index : '');
      var perExec = node.executions > 0 ? node.executions : 1;
      var stats = [];
      var rowsPerLoop = node.loops > 0 ? node.actual_rows / node.loops : node.actual_rows;
      var factor = node.estimate_factor;
      var off = isNum(factor) && (factor >= 10 || factor <= 0.1);
      stats.push(el('span', {class: off ? 'off' : null, title: 'actual rows a loop against the estimate'},
        'rows ' + fmtCount(rowsPerLoop) + ' (est. ' + fmtCount(node.plan_rows) + (isNum(factor) ? ', ' + fmtFactor(factor) : '') + ')'));
      if (node.loops > perExec) stats.push(' \u00b7 loops ' + fmtCount(node.loops / perExec));
      if (isNum(node.total_time_ms)) stats.push(' \u00b7 ' + fmtMs(node.total_time_ms / perExec) + ' an execution');
      var removed = (node.rows_removed_by_filter || 0) + (node.rows_removed_by_join_filter || 0);
      if (removed > 0) stats.push(el('span', {class: removed > node.actual_rows * 10 ? 'off' : null},
        ' \u00b7 removed by filter ' + fmtCount(removed / perExec)));
      if (node.shared_blks_read) stats.push(' \u00b7 read ' + fmtCount(node.shared_blks_read / perExec) + ' blocks');
      if (node.temp_blks_written) stats.push(el('span', {class: 'off'}, ' \u00b7 temp written ' + fmtCount(node.temp_blks_written / perExec) + ' blocks'));
      var self = selfTime(node);
      var li = el('li', {data: {node: node.node_id, 'node-type': node.node_type}},
        el('span', {class: 'node-name'}, name), ' ',
        rootTime && self !== null ? el('span', {class: 'self-bar', title: 'time in this node itself: ' + fmtPct(self / rootTime),
          style: 'width:' + Math.round((self / rootTime) * 120) + 'px'}) : null,
        el('div', {class: 'node-stats'}, stats),
        node.filter ? el('div', {class: 'node-filter'}, 'Filter: ' + node.filter) : null);
      if (node.children && node.children.length) {
        append(li, el('ul', null, node.children.map(item)));
      }
      return li;
    }
    return el('ul', {class: 'plan-tree'}, item(root));
  }

  function planBlock(plan, change) {
    var slower = change && change.slower_plan === plan.key;
    var box = el('div', {class: 'plan' + (slower ? ' slower' : ''), data: {plan: plan.key}},
      el('h3', null, 'Plan ' + plan.key + (slower ? ' (the slower plan)' : change && change.faster_plan === plan.key ? ' (the faster plan)' : ''),
        ' ', el('span', {class: 'muted'}, 'planid ' + plan.planid)),
      el('div', {class: 'facts'},
        fact('executions', fmtCount(plan.executions)), fact('total', fmtMs(plan.total_ms)),
        fact('mean', fmtMs(plan.mean_ms)), fact('p95', fmtMs(plan.p95_ms)), fact('max', fmtMs(plan.max_ms)),
        fact('first seen', fmtTime(plan.first_unix_us)), fact('last seen', fmtTime(plan.last_unix_us)),
        fact('with per-node actuals', fmtCount(plan.actuals_executions))));
    if (!plan.nodes && missingFromClickHouse.has('plan_tree')) append(box, notAvailable('plan_tree', 'the plan\'s tree with its nodes\' actuals'));
    if (plan.nodes) {
      append(box, el('p', {class: 'hint'}, 'Per-node actuals summed over ' + fmtCount(plan.nodes.executions) +
        ' executions, shown per execution; the red bar is the time spent in the node itself.'));
      append(box, planTree(plan.nodes));
    }
    if (plan.text) {
      append(box, el('details', {open: plan.nodes ? null : true}, el('summary', null, 'EXPLAIN'), el('pre', null, plan.text)));
    }
    return box;
  }

  function fact(label, value) {
    return el('div', null, el('span', {class: 'muted'}, label), el('span', null, value));
  }

  /* ---------------------------------------------------- statement detail */

  var detail = el('section', {id: 'statement-detail', hidden: true, 'aria-live': 'polite'});

  function showStatement(key, scroll) {
    var s = statementByKey.get(key);
    detail.textContent = '';
    if (!s) { detail.hidden = true; return; }
    detail.hidden = false;
    detail.setAttribute('data-statement', key);
    var server = serverByKey.get(s.server);
    append(detail, el('h2', null, 'Statement ' + s.key + ' ', el('span', {class: 'muted'},
      '#' + s.rank + ' by total time \u00b7 queryid ' + s.queryid + (s.database ? ' \u00b7 database ' + s.database : '') +
      (server && serverByKey.size > 1 ? ' \u00b7 ' + serverName(server) : ''))));
    append(detail, el('pre', {class: 'sql statement-text'}, s.text || '(the server no longer knew the text)'));
    var k = kernelOf(s);
    append(detail, el('div', {class: 'facts'},
      fact('total', fmtMs(s.total_ms)), fact('share', fmtPct(s.share)), fact('calls', fmtCount(s.calls)),
      fact('executions recorded', fmtCount(s.executions)), fact('mean', fmtMs(s.mean_ms)),
      fact('p50', fmtMs(s.p50_ms)), fact('p95', fmtMs(s.p95_ms)), fact('p99', fmtMs(s.p99_ms)),
      fact('min', fmtMs(s.min_ms)), fact('max', fmtMs(s.max_ms)), fact('planning', fmtMs(s.plan_ms)),
      fact('rows', fmtCount(s.rows)), fact('shared hit', fmtCount(s.shared_blks_hit)),
      fact('shared read', fmtCount(s.shared_blks_read)), fact('temp written', fmtCount(s.temp_blks_written)),
      fact('WAL', fmtBytes(s.wal_bytes)), fact('errors', fmtCount(s.errors)),
      k ? [fact('on CPU', fmtMs(k.oncpu_ms)), fact('I/O wait', fmtMs(k.io_wait_ms)), fact('other waits', fmtMs(k.other_wait_ms)),
        fact('pages from storage', fmtCount(k.page_cache_misses)), fact('block I/O', fmtBytes(k.block_bytes))] : null));

    var w = waitsOf(s);
    if (w) {
      append(detail, el('h3', null, 'Where the time went'));
      append(detail, waitsBar('statement', w));
      if ((w.events || []).length) append(detail, el('p', {class: 'hint'}, 'Largest wait events: ' + topEvents(w, 8)));
    }

    append(detail, el('h3', null, 'Latency'));
    if (!s.histogram && missingFromClickHouse.has('histogram')) append(detail, notAvailable('histogram', 'the latency histogram'));
    else append(detail, histogramChart(s.histogram || []));

    var insights = (report.insights || []).filter(function (i) { return i.statement === key; });
    if (insights.length) {
      append(detail, el('h3', null, 'Insights'));
      append(detail, el('ul', null, insights.map(function (i) { return el('li', null, i.title); })));
    }

    var nPlusOne = (report.requests && report.requests.n_plus_one || []).filter(function (n) { return n.statement === key; });
    if (nPlusOne.length) {
      append(detail, el('h3', null, 'Run many times by one request (N+1)'));
      append(detail, el('ul', null, nPlusOne.map(function (n) {
        return el('li', null, (n.route || '(no route)') + ': ' + fmtCount(n.requests) + ' requests ran it ' +
          n.mean_per_request.toFixed(1) + ' times each on average, up to ' + fmtCount(n.max_per_request) + ' (' + fmtMs(n.total_ms) + ')');
      })));
    }

    if (!s.routes && fromClickHouse) {
      append(detail, el('h3', null, 'Routes'));
      append(detail, notAvailable('routes', 'the statement\'s routes'));
    }
    if ((s.routes || []).length) {
      append(detail, el('h3', null, 'Routes'));
      append(detail, new DataTable({name: 'statement-routes', rows: s.routes, sort: {key: 'total_ms', desc: true},
        columns: [{key: 'name', label: 'route', cls: 'wrap'}, numCol('calls', 'calls'), msCol('total_ms', 'time'),
          shareCol('share', 'share of the statement', {value: function (r) { return s.total_ms > 0 ? r.total_ms / s.total_ms : null; }})]}).element);
    }
    if ((s.errors_by_sqlstate || []).length) {
      append(detail, el('h3', null, 'Errors'));
      append(detail, el('ul', null, s.errors_by_sqlstate.map(function (e) {
        return el('li', null, el('code', null, e.sqlstate), ' ' + e.name + ': ' + fmtCount(e.count));
      })));
    }

    var change = (report.plan_changes || []).find(function (c) { return c.statement === key; });
    var plans = (s.plans || []).map(planOf).filter(Boolean);
    append(detail, el('h3', null, plans.length === 1 ? 'Plan' : plans.length + ' plans'));
    if (change) {
      append(detail, el('p', {class: 'notice'}, 'The plan changed' + (isNum(change.changed_unix_us) ? ' at ' + fmtTime(change.changed_unix_us, true) : '') +
        ': the executions of plan ' + change.slower_plan + ' cost ' + fmtMs(change.extra_ms) + ' more than they would have at the mean of plan ' + change.faster_plan + '.'));
    }
    if (!plans.length) append(detail, el('p', {class: 'muted'}, 'no plan recorded (utility statement, or plans not captured)'));
    plans.forEach(function (p) { append(detail, planBlock(p, change)); });
    if (scroll) detail.scrollIntoView({block: 'start'});
  }

  function onHash() {
    var match = /^#statement=(.+)$/.exec(location.hash);
    if (match) showStatement(decodeURIComponent(match[1]), true);
  }

  /* ------------------------------------------------------------ sections */

  var main = document.getElementById('report');
  var nav = document.getElementById('nav');

  function section(id, title, intro) {
    var s = el('section', {id: id}, el('h2', null, title));
    if (intro) append(s, el('p', {class: 'hint'}, intro));
    append(nav, el('a', {href: '#' + id}, title));
    main.appendChild(s);
    return s;
  }

  function serverName(server) {
    var where = server.cluster_name || (server.host ? server.host + (server.port ? ':' + server.port : '') : server.key);
    return where + (server.label ? ' (' + server.label + ')' : '');
  }

  function card(key, label, value, detailText, raw) {
    return el('div', {class: 'card', data: {summary: key, value: raw}},
      el('div', {class: 'label'}, label), el('div', {class: 'value'}, value),
      detailText ? el('div', {class: 'detail'}, detailText) : null);
  }

  function renderHeader() {
    var sm = report.summary;
    var servers = sm.servers || [];
    var title = 'pg_qprof report' + (servers.length === 1 ? ' \u2014 ' + serverName(servers[0]) : '');
    document.title = title;
    document.querySelector('#top h1').textContent = title;
    var parts = [];
    if (isNum(sm.start_unix_us)) parts.push(fmtTime(sm.start_unix_us, true) + ' to ' + fmtTime(sm.end_unix_us) + ' (' + fmtSeconds(sm.duration_s) + ')');
    servers.forEach(function (s) { parts.push(serverName(s) + ': ' + oneLine(s.version, 60)); });
    parts.push('made by ' + report.generator + ' at ' + fmtTime(report.generated_unix_us, true));
    document.getElementById('subtitle').textContent = parts.join(' \u00b7 ');
  }

  function renderSummary() {
    var sm = report.summary;
    var s = section('summary', 'Summary');
    var f = report.filters || {};
    var filters = ['since_unix_us', 'until_unix_us', 'route', 'app', 'db', 'user'].filter(function (k) { return f[k] !== null && f[k] !== undefined; });
    if (filters.length) {
      append(s, el('p', {class: 'notice'}, 'Filtered: ' + filters.map(function (k) {
        return k.replace('_unix_us', '') + ' ' + (/_unix_us$/.test(k) ? fmtTime(f[k], true) : f[k]);
      }).join(', ') + '.'));
    }
    var active = sm.duration_s > 0 ? sm.db_time_ms / 1000 / sm.duration_s : null;
    var errorShare = sm.calls > 0 ? sm.errors / sm.calls : null;
    var losses = sm.losses || {};
    var lost = (losses.overwritten || 0) + (losses.reset || 0) + (losses.epoch_changed || 0) + (losses.unknown || 0);
    var kernel = sm.kernel || {};
    var sampling = sm.sampling || {};
    append(s, el('div', {class: 'cards'},
      card('db_time_ms', 'database time', fmtMs(sm.db_time_ms),
        isNum(active) ? active.toFixed(2) + ' statements running on average' : null, sm.db_time_ms),
      card('duration_s', 'time span', fmtSeconds(sm.duration_s),
        isNum(sm.start_unix_us) ? fmtTime(sm.start_unix_us) + ' \u2013 ' + fmtTime(sm.end_unix_us) + ' UTC' : null, sm.duration_s),
      card('executions', 'executions', fmtCount(sm.executions),
        sampling.scaled ? 'recorded; about ' + fmtCount(sm.calls) + ' calls in all' : fmtCount(sm.calls) + ' calls', sm.executions),
      card('statements', 'distinct statements', fmtCount(sm.statements),
        (report.statements || []).length < sm.statements ? fmtCount((report.statements || []).length) + ' in this report' : null, sm.statements),
      card('errors', 'errors', fmtCount(sm.errors), isNum(errorShare) ? fmtPct(errorShare) + ' of calls' : null, sm.errors),
      card('sampling', 'sampling', 'rate ' + sampling.sample_rate,
        (sampling.scaled ? 'totals scaled \u00d7' + sampling.scale + (sampling.track ? '; ' : '') : '') +
        (sampling.track ? 'track ' + sampling.track : '') +
        (sampling.min_duration_ms ? ', min ' + fmtMs(sampling.min_duration_ms) : ''), sampling.sample_rate),
      card('losses', 'samples lost', fmtCount(lost),
        lost || losses.epoch_changes ? fmtCount(losses.overwritten) + ' overwritten, ' + fmtCount(losses.reset) + ' reset, ' +
          fmtCount(losses.epoch_changed) + ' at restarts; ' + fmtCount(losses.epoch_changes) + ' epoch changes' : 'none', lost),
      card('kernel', 'kernel facts', kernel.present ? fmtPct(kernel.share) : 'absent',
        kernel.present ? 'of executions (' + fmtCount(kernel.executions) + ')' + (kernel.syscalls ? ', with system calls' : '') :
          'BPF was off or not loaded', kernel.present ? kernel.share : 0),
      card('node_actuals', 'per-node actuals', fmtCount(sm.node_actuals ? sm.node_actuals.executions : null),
        isNum(sampling.analyze_sample_rate) ? 'executions (analyze_sample_rate ' + sampling.analyze_sample_rate + ')' : 'executions',
        sm.node_actuals ? sm.node_actuals.executions : null)));
    if (sampling.note) append(s, el('p', {class: 'notice'}, sampling.note));
    (sm.notices || []).forEach(function (n) { append(s, el('p', {class: 'notice'}, n)); });
    var files = (report.inputs && report.inputs.files) || [];
    var bad = files.filter(function (f) { return f.status !== 'ok'; });
    if (bad.length || (report.inputs && report.inputs.samples_unresolved)) {
      append(s, el('div', {class: 'notice bad', data: {notice: 'inputs'}},
        el('strong', null, 'Not all of the capture could be read. '),
        bad.length + ' of ' + files.length + ' files had problems; ' + fmtCount(report.inputs.samples_unresolved) +
        ' samples referred to definitions their file lacks. See ', el('a', {href: '#inputs'}, 'Capture files'), '.'));
    }
  }

  function renderInsights() {
    var list = report.insights || [];
    var s = section('insights', 'Insights',
      'What to look at first, ranked by the database time each explains. Each says what the capture shows and what to do next.');
    if (!report.insights && fromClickHouse) { append(s, notAvailable('insights', 'the insights')); return; }
    if (!list.length) { append(s, el('p', {class: 'muted'}, 'No insight: nothing in the capture matched a known problem.')); return; }
    var ol = el('ol', {class: 'insights', data: {count: list.length}});
    list.forEach(function (i, index) {
      var where = [];
      if (i.table) where.push('table ' + i.table + (i.columns && i.columns.length ? ' (' + i.columns.join(', ') + ')' : ''));
      if (i.route) where.push('route ' + i.route);
      var li = el('li', {class: 'insight ' + i.severity, data: {kind: i.kind, severity: i.severity, 'db-time-ms': i.db_time_ms}},
        el('div', {class: 'head'},
          el('span', {class: 'rank'}, (index + 1) + '.'),
          el('span', {class: 'badge ' + i.severity}, i.severity),
          el('span', {class: 'badge kind'}, i.kind.replace(/_/g, ' ')),
          el('span', {class: 'title', title: 'click to show the whole title',
            on: {click: function () { this.classList.toggle('open'); }}}, i.title),
          el('span', {class: 'cost', title: 'database time this explains'}, fmtMs(i.db_time_ms) + ' \u00b7 ' + fmtPct(i.share))),
        where.length ? el('div', {class: 'where'}, where.join(' \u00b7 ')) : null,
        i.statement ? el('div', {class: 'where'}, 'statement ', statementLink(i.statement, 120)) : null,
        (i.evidence || []).length ? el('ul', {class: 'evidence'}, i.evidence.map(function (e) { return el('li', null, e); })) : null,
        el('div', {class: 'action'}, el('strong', null, 'Next step: '), i.action),
        i.sql ? el('pre', {class: 'sql', data: {sql: ''}}, i.sql) : null);
      ol.appendChild(li);
    });
    append(s, ol);
  }

  function statementColumns() {
    return [
      numCol('rank', '#', String, {title: 'rank by total time'}),
      {key: 'text', label: 'statement', cls: 'text', format: function (v, row) {
        return row.key ? statementLink(row.key, 110) : el('span', {title: row.text}, statementText(row.text, 110));
      }, value: function (row) { return row.text; }},
      {key: 'database', label: 'database'},
      {key: 'cmd', label: 'kind'},
      msCol('total_ms', 'total time'),
      shareCol('share', 'share'),
      numCol('cumulative_share', 'running total', fmtPct),
      numCol('calls', 'calls'),
      msCol('mean_ms', 'mean'),
      msCol('p50_ms', 'p50'),
      msCol('p95_ms', 'p95'),
      msCol('p99_ms', 'p99'),
      msCol('max_ms', 'max'),
      numCol('rows', 'rows'),
      numCol('shared_blks_read', 'shared read', fmtBlocks, {title: 'shared blocks read (from the page cache or storage)'}),
      kernelCol('page_cache_misses', 'storage reads', fmtCount, 'pages read from storage (kernel)'),
      kernelCol('io_wait_ms', 'I/O wait', fmtMs, 'off the CPU waiting for I/O (kernel)'),
      numCol('offcpu', 'off-CPU', fmtMs, {title: 'off the CPU: I/O wait and other waits (kernel)', value: function (row) {
        var k = kernelOf(row); return k ? k.io_wait_ms + k.other_wait_ms : null; }}),
      numCol('temp_blks', 'temp blocks', fmtBlocks, {title: 'temporary blocks read and written',
        value: function (row) { return row.key ? row.temp_blks_read + row.temp_blks_written : null; }}),
      numCol('errors', 'errors')
    ];
  }

  /* The statements table's rows: every statement of statement_index, by
   * total time; a statement with its detail in report.statements is that
   * object, the others carry the index's columns only. A report without
   * the index (an older qprof) lists its statements. */
  function statementRows() {
    var idx = report.statement_index;
    if (!idx || !idx.key) return report.statements || [];
    var rows = new Array(idx.count);
    for (var i = 0; i < idx.count; i++) {
      var detailed = idx.key[i] !== null ? statementByKey.get(idx.key[i]) : null;
      rows[i] = detailed || {rank: i + 1, key: null, queryid: idx.queryid[i], calls: idx.calls[i],
        total_ms: idx.total_ms[i], mean_ms: idx.mean_ms[i], p95_ms: idx.p95_ms[i], rows: idx.rows[i],
        errors: idx.errors[i], shared_blks_read: idx.shared_blks_read[i], text: idx.text[i]};
    }
    return rows;
  }

  /* The detail view of a statement the report has no detail of. */
  function showIndexedStatement(row) {
    detail.textContent = '';
    detail.hidden = false;
    detail.setAttribute('data-statement', '#' + row.rank);
    append(detail, el('h2', null, 'Statement #' + row.rank + ' ', el('span', {class: 'muted'},
      'by total time \u00b7 queryid ' + row.queryid)));
    append(detail, el('pre', {class: 'sql statement-text'}, (row.text || '') +
      (String(row.text || '').length >= ((report.statement_index || {}).text_chars || 60) ? '\u2026' : '')));
    append(detail, el('div', {class: 'facts'},
      fact('total', fmtMs(row.total_ms)), fact('calls', fmtCount(row.calls)), fact('mean', fmtMs(row.mean_ms)),
      fact('p95', fmtMs(row.p95_ms)), fact('rows', fmtCount(row.rows)),
      fact('shared read', fmtCount(row.shared_blks_read)), fact('errors', fmtCount(row.errors))));
    append(detail, el('p', {class: 'notice', data: {detail: 'missing'}},
      'Detail not included: rerun with --top ' + row.rank + ' (or more) for its full text, latency histogram, plans and routes.'));
    detail.scrollIntoView({block: 'start'});
  }

  function renderStatements() {
    var list = report.statements || [];
    var rows = statementRows();
    var s = section('statements', 'Statements',
      'By total time (planning and execution). Click a row for its text, latency, plans and routes. ' +
      (rows.length > list.length ? 'All ' + fmtCount(rows.length) + ' statements are listed; the report holds the detail ' +
        '(every column, plans, routes) of ' + fmtCount(list.length) + ' of them: qprof report --top N includes more.' : ''));
    var table = new DataTable({name: 'statements', rows: rows, columns: statementColumns(), sort: {key: 'total_ms', desc: true},
      rowKey: function (r) { return r.key; }, searchPlaceholder: 'filter statements by text, database or kind\u2026',
      onRow: function (row) {
        if (row.key) location.hash = 'statement=' + encodeURIComponent(row.key);
        else showIndexedStatement(row);
      }});
    append(s, table.element);
    append(s, detail);
  }

  function renderPlanChanges() {
    var list = report.plan_changes || [];
    var s = section('plan-changes', 'Plan changes', 'Statements that ran with more than one plan, and what the slower plan cost.');
    append(s, new DataTable({name: 'plan_changes', rows: list, sort: {key: 'extra_ms', desc: true},
      rowKey: function (r) { return r.statement; },
      onRow: function (row) { location.hash = 'statement=' + encodeURIComponent(row.statement); },
      columns: [
        {key: 'statement', label: 'statement', cls: 'text', value: function (r) { return statementLabel(r.statement, 200); },
          format: function (v, r) { return statementLink(r.statement, 100); }},
        {key: 'plans', label: 'plans in order', value: function (r) { return r.plans.join(' \u2192 '); }},
        {key: 'slower_plan', label: 'slower', value: function (r) {
          var p = planByKey.get(r.slower_plan); return r.slower_plan + (p ? ' (' + fmtMs(p.mean_ms) + ' mean)' : ''); }},
        {key: 'faster_plan', label: 'faster', value: function (r) {
          var p = planByKey.get(r.faster_plan); return r.faster_plan + (p ? ' (' + fmtMs(p.mean_ms) + ' mean)' : ''); }},
        msCol('extra_ms', 'cost of the slower plan'),
        numCol('changed_unix_us', 'changed at', function (v) { return fmtTime(v); })]}).element);
  }

  var DIMENSION_TITLES = {route: 'Routes', controller: 'Controllers', app: 'Applications', user: 'Users', db: 'Databases'};

  function renderAttribution() {
    var dims = (report.attribution && report.attribution.dimensions) || [];
    dims.forEach(function (dim) {
      var title = DIMENSION_TITLES[dim.dimension] || ('Tag ' + dim.dimension.replace(/^tag:/, ''));
      var s = section('by-' + dim.dimension.replace(/[^a-z0-9]+/gi, '-'), title,
        'Database time of top-level executions by ' + dim.dimension + (dim.groups_total > dim.groups.length ?
          ' (the top ' + dim.groups.length + ' of ' + fmtCount(dim.groups_total) + ')' : '') +
        '; the groups sum to the database time. The top statement of each is shown; its detail lists the others.');
      append(s, new DataTable({name: 'dimension-' + dim.dimension, rows: dim.groups, sort: {key: 'total_ms', desc: true},
        rowKey: function (r) { return r.name; },
        columns: [
          {key: 'name', label: dim.dimension, cls: 'wrap', format: function (v, r) { return r.tagged ? v : el('span', {class: 'muted'}, v); }},
          msCol('total_ms', 'total time'), shareCol('share', 'share'), numCol('calls', 'calls'),
          msCol('mean_ms', 'mean'), msCol('p95_ms', 'p95'), numCol('errors', 'errors'),
          kernelCol('oncpu_ms', 'on CPU'), kernelCol('io_wait_ms', 'I/O wait'),
          {key: 'top', label: 'top statement', cls: 'text', value: function (r) {
            return r.top_statements.length ? statementLabel(r.top_statements[0].statement, 200) : null; },
          format: function (v, r) {
            if (!r.top_statements.length) return null;
            var t = r.top_statements[0];
            return [statementLink(t.statement, 70), el('span', {class: 'muted'}, ' ' + fmtPct(t.share))];
          }}]}).element);
    });
  }

  function renderRequests() {
    var rq = report.requests || {};
    var s = section('requests', 'Requests and N+1',
      rq.tag ? 'Executions grouped by request (tag ' + rq.tag + '): ' + fmtCount(rq.requests) + ' requests, ' +
        (rq.statements_per_request ? rq.statements_per_request.mean.toFixed(1) + ' statements each on average, at most ' +
          fmtCount(rq.statements_per_request.max) : '') + '. A statement run many times by one request is an N+1 pattern.'
        : 'No execution carries a request id (sqlcommenter traceparent or a request_id tag).');
    append(s, new DataTable({name: 'n_plus_one', rows: rq.n_plus_one || [], sort: {key: 'total_ms', desc: true},
      rowKey: function (r) { return r.statement; },
      onRow: function (row) { location.hash = 'statement=' + encodeURIComponent(row.statement); },
      columns: [
        {key: 'statement', label: 'statement', cls: 'text', value: function (r) { return statementLabel(r.statement, 200); },
          format: function (v, r) { return statementLink(r.statement, 90); }},
        {key: 'route', label: 'route', cls: 'wrap'},
        numCol('requests', 'requests'), numCol('executions', 'executions'),
        numCol('mean_per_request', 'a request (mean)', function (v) { return isNum(v) ? v.toFixed(1) : '\u2013'; }),
        numCol('max_per_request', 'a request (max)'),
        msCol('total_ms', 'total time'), shareCol('share', 'share'),
        {key: 'example_request', label: 'example request', cls: 'text'}]}).element);
  }

  function renderErrors() {
    var list = report.errors || [];
    var s = section('errors', 'Errors', 'Failed executions by SQLSTATE; statement timeouts and cancels are flagged.');
    append(s, new DataTable({name: 'errors', rows: list, sort: {key: 'count', desc: true},
      rowKey: function (r) { return r.sqlstate; },
      columns: [
        {key: 'sqlstate', label: 'SQLSTATE', format: function (v) { return el('code', null, v); }},
        {key: 'name', label: 'name', format: function (v, r) {
          return [v, r.timeout ? el('span', {class: 'flag'}, ' timeout') : null, r.cancel ? el('span', {class: 'flag'}, ' cancel') : null]; }},
        {key: 'class', label: 'class'},
        numCol('count', 'count'),
        {key: 'statements', label: 'statements', cls: 'text', value: function (r) {
          return (r.statements || []).map(function (x) { return statementLabel(x.statement, 60); }).join('; '); },
        format: function (v, r) {
          return (r.statements || []).slice(0, 3).map(function (x, i) {
            return [i ? el('br') : null, statementLink(x.statement, 60),
              isNum(x.count) ? el('span', {class: 'muted'}, ' \u00d7' + fmtCount(x.count)) : null]; }); }},
        {key: 'routes', label: 'routes', cls: 'wrap', value: function (r) {
          if (!r.routes) return fromClickHouse ? 'not available from ClickHouse' : null;
          return r.routes.slice(0, 3).map(function (x) { return x.name + ' \u00d7' + fmtCount(x.calls); }).join('; '); }}]}).element);
  }

  function renderHotspots() {
    var list = report.node_hotspots || [];
    var s = section('plan-nodes', 'Plan nodes',
      'From the executions with per-node actuals: where in the plans the time goes, by node type, relation and index. ' +
      'A large "removed by filter" next to few rows is a scan an index could avoid; an estimate factor of \u00d710 or more misleads the planner.');
    append(s, new DataTable({name: 'node_hotspots', rows: list, sort: {key: 'total_time_ms', desc: true},
      columns: [
        {key: 'node_type', label: 'node'},
        {key: 'relation', label: 'relation'},
        {key: 'index', label: 'index'},
        msCol('total_time_ms', 'time'),
        numCol('executions', 'executions'), numCol('loops', 'loops'),
        numCol('actual_rows', 'rows'), numCol('rows_removed_by_filter', 'removed by filter'),
        numCol('shared_blks_read', 'shared read'), numCol('temp_blks_written', 'temp written'),
        numCol('max_estimate_factor', 'estimate (worst)', fmtFactor),
        {key: 'statements', label: 'statements', cls: 'text', value: function (r) {
          return r.statements.map(function (x) { return statementLabel(x, 60); }).join('; '); },
        format: function (v, r) { return r.statements.slice(0, 2).map(function (x, i) { return [i ? el('br') : null, statementLink(x, 60)]; }); }}]}).element);
  }

  /* What dominates an execution's time, from its kernel facts. */
  function kernelVerdict(row) {
    var k = kernelOf(row);
    if (!k || !(row.total_ms > 0)) return null;
    var covered = row.executions > 0 ? k.executions / row.executions : 1;
    var total = row.total_ms * covered;
    if (k.io_wait_ms > 0.5 * total) return 'I/O bound';
    if (k.other_wait_ms > 0.5 * total) return 'waiting';
    if (k.oncpu_ms > 0.5 * total) return 'on CPU';
    return 'mixed';
  }

  function kernelColumns(first) {
    return [first,
      msCol('total_ms', 'total time'),
      kernelCol('oncpu_ms', 'on CPU'), kernelCol('io_wait_ms', 'I/O wait'), kernelCol('other_wait_ms', 'other waits'),
      kernelCol('page_cache_misses', 'pages from storage', fmtCount), kernelCol('block_bytes', 'block I/O', fmtBytes),
      kernelCol('read_bytes', 'read()', fmtBytes), kernelCol('write_bytes', 'write()', fmtBytes),
      numCol('kernel_share', 'executions with facts', fmtPct, {value: function (r) {
        var k = kernelOf(r); return k && r.executions ? k.executions / r.executions : null; }}),
      {key: 'verdict', label: 'dominated by', value: kernelVerdict, format: function (v) {
        return v === 'I/O bound' || v === 'waiting' ? el('span', {class: 'flag'}, v) : v; }}];
  }

  function renderKernel() {
    var kernel = report.summary.kernel || {};
    var s = section('kernel', 'Kernel facts',
      kernel.present ? 'What the BPF programs saw of each execution: on the CPU, waiting for I/O, waiting otherwise, and the pages it read from storage. ' +
        fmtPct(kernel.share) + ' of the executions have them.' :
        'The capture has no kernel facts (the collector ran with --bpf off, or BPF could not be loaded).');
    var statements = (report.statements || []).filter(function (r) { return r.kernel; });
    append(s, el('h3', null, 'By statement'));
    append(s, new DataTable({name: 'kernel-statements', rows: statements, sort: {key: 'total_ms', desc: true},
      rowKey: function (r) { return r.key; },
      onRow: function (row) { location.hash = 'statement=' + encodeURIComponent(row.key); },
      columns: kernelColumns({key: 'text', label: 'statement', cls: 'text', value: function (r) { return r.text; },
        format: function (v, r) { return statementLink(r.key, 80); }})}).element);
    var routes = ((report.attribution && report.attribution.dimensions) || []).find(function (d) { return d.dimension === 'route'; });
    append(s, el('h3', null, 'By route'));
    append(s, new DataTable({name: 'kernel-routes', rows: routes ? routes.groups.filter(function (g) { return g.kernel; }) : [],
      sort: {key: 'total_ms', desc: true}, rowKey: function (r) { return r.name; },
      columns: kernelColumns({key: 'name', label: 'route', cls: 'wrap'})}).element);
  }

  /* ------------------------------------------- where the time went */

  /* The split of BPF's kernel facts, else the waits the extension sampled
   * (no BPF: classes only). */
  function waitsOf(row) {
    var k = kernelOf(row);
    return k && k.waits ? k.waits : (row && row.sampled_waits) || null;
  }
  function waitClassMs(w, name) {
    var ms = 0;
    (w.classes || []).forEach(function (c) { if (c.class === name) ms += c.ms; });
    return ms;
  }
  /* The parts of the elapsed time, in the order they are drawn. */
  var WAIT_PARTS = [
    {key: 'cpu', label: 'on CPU', title: 'running on a CPU', ms: function (w) { return w.oncpu_ms; }},
    {key: 'runqueue', label: 'run queue', title: 'runnable, waiting for a CPU', ms: function (w) { return w.runqueue_ms; }},
    {key: 'io', label: 'IO', title: 'the IO wait event class (DataFileRead, WALSync...)', ms: function (w) { return waitClassMs(w, 'IO'); }},
    {key: 'lock', label: 'Lock', title: 'heavyweight locks (rows, tables, transactions)', ms: function (w) { return waitClassMs(w, 'Lock'); }},
    {key: 'lwlock', label: 'LWLock', title: 'PostgreSQL internal locks', ms: function (w) { return waitClassMs(w, 'LWLock'); }},
    {key: 'other', label: 'other events', title: 'the other wait event classes (Timeout, Client, IPC, BufferPin...)', ms: function (w) {
      var ms = 0;
      (w.classes || []).forEach(function (c) { if (['IO', 'Lock', 'LWLock'].indexOf(c.class) < 0) ms += c.ms; });
      return ms; }},
    {key: 'noevent', label: 'no wait event', title: 'off the CPU, not runnable, no wait event reported (page faults...)', ms: function (w) { return w.no_wait_event_ms; }}];
  var WAIT_COLORS = {cpu: '#4e79a7', runqueue: '#e15759', io: '#f28e2b', lock: '#b07aa1', lwlock: '#ff9da7', other: '#76b7b2', noevent: '#bab0ac'};

  /* A bar of the parts of `w`'s elapsed time. */
  function waitsBar(name, w) {
    var bar = el('div', {class: 'waits-bar', data: {waits: name, 'elapsed-ms': w.elapsed_ms}});
    WAIT_PARTS.forEach(function (part) {
      var ms = part.ms(w);
      var share = w.elapsed_ms > 0 ? ms / w.elapsed_ms : 0;
      append(bar, el('span', {class: 'part', title: part.label + ': ' + fmtMs(ms) + ' (' + fmtPct(share) + ')',
        style: 'width:' + Math.max(0, Math.min(100, share * 100)).toFixed(2) + '%;background:' + WAIT_COLORS[part.key],
        data: {part: part.key, ms: ms}}));
    });
    var legend = el('div', {class: 'waits-legend'});
    WAIT_PARTS.forEach(function (part) {
      var ms = part.ms(w);
      if (!(ms > 0)) return;
      append(legend, el('span', {title: part.title}, el('span', {class: 'swatch', style: 'background:' + WAIT_COLORS[part.key]}),
        part.label + ' ' + fmtMs(ms) + ' (' + fmtPct(w.elapsed_ms > 0 ? ms / w.elapsed_ms : 0) + ')'));
    });
    return el('div', null, bar, legend);
  }

  function topEvents(w, n) {
    return (w.events || []).slice(0, n).map(function (e) { return e.name + ' ' + fmtMs(e.ms) + ' ×' + fmtCount(e.count); }).join('; ');
  }

  function waitsColumns(first) {
    var cols = [first,
      numCol('waits.elapsed_ms', 'elapsed', fmtMs, {title: 'planning and execution time of the executions with wait facts',
        value: function (r) { var w = waitsOf(r); return w ? w.elapsed_ms : null; }}),
      numCol('waits.share', 'with facts', fmtPct, {title: 'share of the executions with wait facts',
        value: function (r) { var w = waitsOf(r); return w && r.executions ? w.executions / r.executions : null; }})];
    WAIT_PARTS.forEach(function (part) {
      cols.push(numCol('waits.' + part.key, part.label, function (v, r) {
        var w = waitsOf(r);
        if (!isNum(v) || !w) return '–';
        return [fmtMs(v), el('span', {class: 'muted'}, ' ' + fmtPct(w.elapsed_ms > 0 ? v / w.elapsed_ms : 0))];
      }, {title: part.title, value: function (r) { var w = waitsOf(r); return w ? part.ms(w) : null; }}));
    });
    cols.push({key: 'waits.events', label: 'largest wait events', cls: 'wrap', value: function (r) {
      var w = waitsOf(r); return w ? topEvents(w, 3) : null; }});
    return cols;
  }

  function renderWaits() {
    var kernel = report.summary.kernel || {};
    var total = kernel.waits || null;
    var sampledOnly = total && total.sampled_executions === total.executions;
    var intro = !total ?
      'The capture has no wait facts (the collector ran without BPF, or before it recorded wait events, and the extension\'s ' +
        'wait sampler was off).' :
      sampledOnly ?
      'From the waits the extension sampled every ' + fmtCount(total.sample_interval_ms) + ' ms (pg_qprof.wait_sample_interval; ' +
        'no BPF) in ' + fmtPct(kernel.wait_share) + ' of the executions (' + fmtCount(kernel.wait_executions) + '): their elapsed ' +
        'time by the PostgreSQL wait event class the backend reported, an estimate at that resolution; the CPU time and the run ' +
        'queue are not known without BPF.' :
      'From the kernel facts of ' + fmtPct(kernel.wait_share) + ' of the executions (' + fmtCount(kernel.wait_executions) +
        '): their elapsed time on the CPU, waiting for a CPU (run queue), off the CPU by PostgreSQL wait event class, or off it with ' +
        'no wait event. IO is the IO wait event class, not the kernel\'s I/O wait.' +
        (total.sampled_executions > 0 ? ' ' + fmtCount(total.sampled_executions) + ' of them without BPF have only the wait ' +
          'event classes the extension sampled.' : '');
    var s = section('waits', 'Where the time went', intro);
    if (total) {
      append(s, el('h3', null, 'All executions'));
      append(s, waitsBar('all', total));
      var events = el('p', {class: 'hint', data: {'waits-events': 'all'}}, 'Largest wait events: ' + (topEvents(total, 8) || 'none'));
      append(s, events);
    }
    var statements = (report.statements || []).filter(function (r) { return waitsOf(r); });
    append(s, el('h3', null, 'By statement'));
    append(s, new DataTable({name: 'waits-statements', rows: statements, sort: {key: 'waits.elapsed_ms', desc: true},
      rowKey: function (r) { return r.key; },
      onRow: function (row) { location.hash = 'statement=' + encodeURIComponent(row.key); },
      columns: waitsColumns({key: 'text', label: 'statement', cls: 'text', value: function (r) { return r.text; },
        format: function (v, r) { return statementLink(r.key, 70); }})}).element);
    var routes = ((report.attribution && report.attribution.dimensions) || []).find(function (d) { return d.dimension === 'route'; });
    append(s, el('h3', null, 'By route'));
    append(s, new DataTable({name: 'waits-routes', rows: routes ? routes.groups.filter(function (g) { return waitsOf(g); }) : [],
      sort: {key: 'waits.elapsed_ms', desc: true}, rowKey: function (r) { return r.name; },
      columns: waitsColumns({key: 'name', label: 'route', cls: 'wrap'})}).element);
  }

  /* The series of one kind, in the palette, with the rest as "other". */
  function seriesOf(ts, kind, otherLabel) {
    var chosen = (ts.series || []).filter(function (s) { return s.kind === kind; });
    var out = chosen.map(function (s, i) {
      return {key: s.key, kind: s.kind, label: kind === 'statement' ? statementLabel(s.key, 200) : s.label,
        statement: kind === 'statement' && statementByKey.has(s.key) ? s.key : null,
        values: s.db_time_ms, color: PALETTE[i % PALETTE.length]};
    });
    var other = new Array(ts.intervals);
    for (var i = 0; i < ts.intervals; i++) {
      var rest = ts.db_time_ms[i] || 0;
      chosen.forEach(function (s) { rest -= s.db_time_ms[i] || 0; });
      other[i] = Math.max(0, rest);
    }
    if (other.some(function (v) { return v > 0; })) out.push({key: 'other', kind: 'other', label: otherLabel, values: other, color: OTHER_COLOR});
    return out;
  }

  function renderTimeseries() {
    var ts = report.timeseries;
    var s = section('timeseries', 'Over time',
      ts && ts.intervals ? 'Database time per interval of ' + fmtSeconds(ts.interval_s) + ', stacked by the top statements, then by ' +
        ((report.attribution && report.attribution.group_by) || 'route') + '; hover for the values.' : 'No execution in the capture.');
    if (!ts || !ts.intervals) return;
    append(s, el('h3', null, 'Database time by statement'));
    append(s, stackedChart('timeseries-statements', ts, seriesOf(ts, 'statement', 'other statements'), 'database time by statement'));
    append(s, el('h3', null, 'Database time by ' + ((report.attribution && report.attribution.group_by) || 'route')));
    append(s, stackedChart('timeseries-routes', ts, seriesOf(ts, 'route', 'other'), 'database time by route'));
    append(s, el('h3', null, 'Executions and errors'));
    append(s, executionsChart(ts));
  }

  function renderHeatmap() {
    var hm = report.heatmap;
    var s = section('heatmap', 'Latency heatmap', 'Executions by time and latency (log scale).');
    if (!hm || !hm.counts || !hm.counts.length) { append(s, el('p', {class: 'muted'}, 'No execution in the capture.')); return; }
    append(s, heatmapChart(hm));
  }

  function renderInputs() {
    if (!report.inputs && fromClickHouse) {
      append(section('inputs', 'Capture files'), notAvailable('inputs', 'the capture files read (ClickHouse holds their samples)'));
      return;
    }
    var inputs = report.inputs || {files: []};
    var s = section('inputs', 'Capture files',
      fmtCount(inputs.samples_read) + ' samples read, ' + fmtCount(inputs.samples_used) + ' used, ' +
      fmtCount(inputs.samples_filtered_out) + ' filtered out, ' + fmtCount(inputs.samples_unresolved) + ' unresolved.');
    append(s, new DataTable({name: 'inputs', rows: inputs.files, columns: [
      {key: 'path', label: 'file', cls: 'wrap'},
      {key: 'status', label: 'status', format: function (v) { return v === 'ok' ? v : el('span', {class: 'flag'}, v); }},
      numCol('bytes', 'size', fmtBytes), numCol('samples', 'samples'),
      {key: 'problems', label: 'problems', cls: 'wrap', value: function (r) {
        return r.problems.map(function (p) { return p.kind + ' at ' + p.offset + ': ' + p.what; }).join('; '); }}]}).element);
  }

  /* ---------------------------------------------------------------- main */

  var errors = [];
  var stepMs = {};
  function step(name, draw) {
    var t0 = performance.now();
    try {
      draw();
      stepMs[name] = Math.round(performance.now() - t0);
    } catch (e) {
      // one broken part must not hide the others; the error is reported
      errors.push(name + ': ' + e);
      console.error('qprof report: drawing ' + name + ' failed:', e);
      main.appendChild(el('p', {class: 'notice bad'}, 'This page could not draw ' + name + ': ' + e));
    }
  }

  if (report.schema_version !== 1) {
    main.appendChild(el('p', {class: 'notice bad'}, 'This page reads schema version 1; the report is version ' +
      report.schema_version + '. Parts may be missing.'));
  }
  step('the header', renderHeader);
  step('the summary', renderSummary);
  step('the insights', renderInsights);
  step('the statements', renderStatements);
  step('the plan changes', renderPlanChanges);
  step('the attribution', renderAttribution);
  step('the requests', renderRequests);
  step('the errors', renderErrors);
  step('the plan nodes', renderHotspots);
  step('the kernel facts', renderKernel);
  step('where the time went', renderWaits);
  step('the time series', renderTimeseries);
  step('the heatmap', renderHeatmap);
  step('the capture files', renderInputs);
  window.addEventListener('hashchange', onHash);
  if (location.hash) onHash();

  window.qprofReport = {ready: true, readyMs: performance.now(), drawMs: performance.now() - started,
    parseMs: parsedAt - started, stepMs: stepMs, errors: errors, showStatement: showStatement};
})();
