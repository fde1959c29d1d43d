/*
 * diff_html.cpp — qprof diff as one self-contained page: the JSON document
 * embedded, rendered by inline script (no network).
 */
#include "diff.h"

namespace qprof {

namespace {

const char *kHead = R"(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>qprof diff</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right;vertical-align:top}
td.t,th.t{text-align:left;max-width:45em;word-break:break-word}
.regressed{background:#fde2e2}.improved{background:#e2f5e2}
.new,.vanished{background:#fff6d6}pre{font-size:12px;margin:2px 0;white-space:pre-wrap}
</style></head><body><h1>qprof diff</h1><div id="out"></div>
<script id="data" type="application/json">)";

const char *kTail = R"(</script>
<script>
const d=JSON.parse(document.getElementById('data').textContent);
const e=s=>String(s==null?'':s).replace(/[&<>"]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
const f=(v,n)=>v==null?'-':Number(v).toFixed(n==null?2:n);
let h='<p>BASE: '+e(d.base.executions)+' executions, '+f(d.base.db_time_ms,0)+' ms; NEW: '+
 e(d.new.executions)+' executions, '+f(d.new.db_time_ms,0)+' ms. '+
 (d.same_server?'Same server: matched by queryid.':'Different servers: matched by text and plan shape.')+'</p>';
if(d.options.fail_on_pct!=null)h+='<p><b>--fail-on '+d.options.fail_on_pct+'%: '+(d.failed?'FAILED':'passed')+'</b></p>';
if(d.load_independent_rows)h+='<p>~ judged on the latency less its run-queue time (the machine\'s load): '+d.load_independent_rows+
 ' row(s), both captures with the wait split; '+d.load_changed_verdicts+' verdict(s) differ from the raw latency\'s.</p>';
if(d.within_drift_rows)h+='<p>'+d.within_drift_rows+' row(s) whose executions\' test alone found a change are within the captures\' own drift '+
 '(batches of consecutive executions, Welch t p &ge; '+d.options.alpha+'): unchanged.</p>';
function table(title,rows){
 h+='<h2>'+title+'</h2><table><tr><th class=t>verdict</th><th class=t>name</th><th>p50 base</th><th>p50 new</th>'+
  '<th>median ratio</th><th>p</th><th>tested</th><th>mean base</th><th>mean new</th><th>p95 base</th><th>p95 new</th>'+
  '<th>calls base</th><th>calls new</th><th class=t>route / plan</th></tr>';
 for(const r of rows){const b=r.base||{},n=r.new||{};
  // a route told per request: the values of its requests
  const rq=r.test.unit=='request';
  const p50=s=>rq?s.request_p50_ms:s.p50_ms,mean=s=>rq?s.ms_per_request:s.mean_ms,p95=s=>rq?s.request_p95_ms:s.p95_ms;
  // judged less run-queue time (~): its medians and test, the raw ones kept below
  const l=r.latency_less_runqueue,t=l?l.test:r.test;
  const m50=(s,side)=>l?f(l['p50_'+side+'_ms'],3)+'~':f(p50(s),3);
  let plan='';
  if(r.within_drift){const bt=t.batches;
   plan+='<br>within the captures\' own drift: '+bt.batches_base+'/'+bt.batches_new+' batches of '+bt.batch_size_base+'/'+
    bt.batch_size_new+', ratio '+f(bt.ratio)+' (t '+f(bt.t,1)+', p '+Number(bt.p_value).toPrecision(2)+')';}
  if(l)plan+='<br>~ less run-queue time; with it: p50 '+f(p50(b),3)+' &rarr; '+f(p50(n),3)+' (p '+
   Number(r.test.p_value).toPrecision(2)+'), '+e(r.raw_verdict);
  if(r.waits){const w=r.waits;
   plan+='<br>ms a call: '+w.parts.map(c=>e(c.measure.replace('_ms_per_call',''))+' '+f(c.base,3)+' &rarr; '+
    f(c.new,3)+(c.significant?' (p '+Number(c.p_value).toPrecision(2)+')':'')).join(', ');
   if(w.grew&&w.change_ms>0)plan+='<br><b>+'+f(w.change_ms,3)+' ms a call, of which '+
    f(w.grew.event?w.grew.event_ms:w.grew.ms,3)+' ms '+e(w.grew.event||w.grew.label)+'</b>';}for(const c of r.work||[])if(c.significant)plan+='<br>work changed: '+e(c.measure)+' '+f(c.base)+' &rarr; '+f(c.new)+' (p '+Number(c.p_value).toPrecision(2)+')';
  if(r.plan_changed)plan+='<br>plan changed: cost '+f(r.plan_base.cost)+' &rarr; '+f(r.plan_new.cost)+
   '<pre>'+e(r.plan_base.text)+'</pre><pre>'+e(r.plan_new.text)+'</pre>';
  h+='<tr class="'+r.verdict+'"><td class=t>'+r.verdict+(r.fails?' (fails)':'')+'</td><td class=t>'+e(r.name)+'</td><td>'+m50(b,'base')+
   '</td><td>'+m50(n,'new')+'</td><td>'+f(l?l.median_ratio:r.median_ratio)+'</td><td>'+Number(t.p_value).toPrecision(2)+'</td><td>'+
   t.executions_base+'/'+t.executions_new+' '+e(t.unit)+'s</td><td>'+f(mean(b),3)+'</td><td>'+f(mean(n),3)+'</td><td>'+
   f(p95(b),3)+'</td><td>'+f(p95(n),3)+'</td><td>'+f(b.calls,0)+'</td><td>'+f(n.calls,0)+'</td><td class=t>'+
   e(r.kind=='statement'?r.route:'')+plan+'</td></tr>';}
 h+='</table>';}
table('Statements (per execution)',d.statements);table('Routes (per request of the route, where its requests are told apart)',d.routes);
document.getElementById('out').innerHTML=h;
</script></body></html>
)";

} // namespace

std::string render_diff_html(const std::string &json) {
    /* "</" cannot end the script element early */
    std::string safe;
    safe.reserve(json.size());
    for (size_t i = 0; i < json.size(); ++i) {
        if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/')
            safe += "<\\";
        else
            safe += json[i];
    }
    return std::string(kHead) + safe + kTail;
}

} // namespace qprof
