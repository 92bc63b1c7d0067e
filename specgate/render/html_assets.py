"""The inline stylesheet and script of the HTML traceability report (``render/html.py``).

Decides how the page looks and behaves in the browser: the verdict banner's colours (solid red
``#cf222e`` on any violation, solid green ``#1a7f37`` when none, white text; the screenshot test
reads them back), and the filters: status, level and a search whose words must all appear in a
requirement (ID, title, text, section, spec file) or in one of its scenarios (name, feature,
feature file, tags). A requirement matched only through some scenarios shows just those, with
its scenario list opened. Filters are read from and written to the URL fragment
(``#status=failing&level=must&q=drain``). Both are kept inline: the page has no external asset.
"""

from __future__ import annotations

BANNER_FAIL = "#cf222e"
"""Background of the verdict banner when there is any violation."""
BANNER_OK = "#1a7f37"
"""Background of the verdict banner when there is none."""

CSS = (
    """
:root{--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--sus:#8250df;--mute:#57606a;--line:#d0d7de}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1200px;
padding:0 1.5rem 1rem;color:#1f2328}
[hidden]{display:none!important}
h1{font-size:1.5rem;margin:.8rem 0 .2rem}h2{font-size:1.15rem;margin:1.4rem 0 .5rem}
.banner{margin:0;padding:.9rem 1rem;font-weight:600;color:#fff;border-radius:0 0 6px 6px}
.banner a{color:inherit}
"""
    + f".banner.ok{{background:{BANNER_OK}}}.banner.fail{{background:{BANNER_FAIL}}}"
    + """
dl.run{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.6rem 0}
dl.run dt{color:var(--mute)}dl.run dd{margin:0}
.partial{display:inline-block;background:#fff8c5;color:#4d2d00;border:1px solid #d4a72c;
border-radius:6px;padding:.2rem .6rem;font-weight:600;margin:.2rem 0}
.cards{display:flex;flex-wrap:wrap;gap:.6rem;margin:.8rem 0}
.card{border:1px solid var(--line);border-radius:6px;padding:.5rem .8rem;min-width:7rem;
cursor:pointer;background:#fff;text-align:left;font:inherit}
.card .count{display:block;font-size:1.6rem;font-weight:700}
.card.covered .count{color:var(--ok)}.card.failing .count{color:var(--bad)}
.card.uncovered .count{color:var(--warn)}.card.suspect .count{color:var(--sus)}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid var(--line);
padding:.35rem .5rem;vertical-align:top;text-align:left}
caption{text-align:left;color:var(--mute);font-size:.85rem;padding:.3rem 0;caption-side:bottom}
table.counts td,table.counts th{text-align:right}table.counts th[scope=row]{text-align:left}
table.counts tr.total{font-weight:700}
dl.legend{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;font-size:.85rem}
dl.legend dd{margin:0;color:var(--mute)}
.badge{display:inline-block;border-radius:1rem;padding:0 .55rem;font-size:.8rem;font-weight:600;
border:1px solid currentColor;white-space:nowrap}
.covered,.passed{color:var(--ok)}.failing,.failed{color:var(--bad)}
.uncovered,.undefined,.waived{color:var(--warn)}.suspect{color:var(--sus)}
.info,.retired,.skipped,.not-run{color:var(--mute)}
th.id{white-space:nowrap}
td.text{color:#1f2328}.title{font-weight:600}.meta{color:var(--mute);font-size:.85rem}
.filters{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;margin:.5rem 0 .8rem;
position:sticky;top:0;background:#fff;padding:.5rem 0;border-bottom:1px solid var(--line)}
.filters input{min-width:18rem}ul.scenarios{margin:.3rem 0;padding-left:1.1rem}
li.scenario{margin:.3rem 0}a.source{font-family:ui-monospace,monospace;font-size:.85rem}
.duration{color:var(--mute);font-size:.85rem;white-space:nowrap}
.reason{color:#1f2328;background:#f6f8fa;border-left:3px solid var(--mute);padding:.1rem .5rem;
margin:.2rem 0;font-size:.85rem}
.failed-step{margin:.2rem 0;font-size:.85rem}.failed-step code{color:var(--bad);font-weight:600}
ol.steps{margin:.2rem 0 .4rem;padding-left:1.3rem;color:#1f2328}
ol.steps .kw{font-weight:600}pre.error{white-space:pre-wrap;background:#fff8f8;
border-left:3px solid var(--bad);padding:.3rem .5rem;font-size:.8rem;max-height:12rem;overflow:auto}
ul.violations li{margin:.2rem 0}
"""
)

JS = """
(function(){
  var rows=[].slice.call(document.querySelectorAll('#requirements tbody tr'));
  var st=document.getElementById('f-status'),lv=document.getElementById('f-level'),
      q=document.getElementById('f-text'),shown=document.getElementById('shown-count');
  rows.forEach(function(r){r.sc=[].slice.call(r.querySelectorAll('li.scenario'));});
  function has(text,words){
    return words.every(function(w){return text.indexOf(w)!==-1;});
  }
  function search(r,words){
    var own=has(r.dataset.search,words),hit=false;
    r.sc.forEach(function(li){
      var show=own||has(r.dataset.search+' '+li.dataset.search,words);
      li.hidden=!show;if(show&&!own){hit=true;}
    });
    var d=r.querySelector('details.scenario-list');
    if(d&&hit){d.open=true;d.dataset.auto='1';}
    else if(d&&d.dataset.auto){d.open=false;delete d.dataset.auto;}
    return own||hit;
  }
  function apply(){
    var s=st.value,l=lv.value,t=q.value.trim().toLowerCase(),n=0;
    var words=t?t.split(/\\s+/):[];
    rows.forEach(function(r){
      var found=search(r,words);
      var ok=(!s||r.dataset.status===s)&&(!l||r.dataset.level===l)&&found;
      r.hidden=!ok;if(ok){n++;}
    });
    shown.textContent=String(n);
    var p=[];if(s){p.push('status='+encodeURIComponent(s));}
    if(l){p.push('level='+encodeURIComponent(l));}if(t){p.push('q='+encodeURIComponent(t));}
    if(history.replaceState){history.replaceState(null,'',p.length?'#'+p.join('&'):' ');}
  }
  var h=new URLSearchParams(location.hash.replace(/^#/,''));
  if(h.get('status')){st.value=h.get('status');}if(h.get('level')){lv.value=h.get('level');}
  if(h.get('q')){q.value=h.get('q');}
  [st,lv].forEach(function(e){e.addEventListener('change',apply);});
  q.addEventListener('input',apply);
  [].slice.call(document.querySelectorAll('.card[data-status]')).forEach(function(c){
    c.addEventListener('click',function(){st.value=c.dataset.status;apply();});
  });
  apply();
})();
"""
