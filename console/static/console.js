// recallbot console: read status on demand, selection helpers, and live
// progress over server-sent events. Everything it writes into the page is
// set with textContent: no HTML from the server's data is ever parsed.
(function () {
  'use strict';

  function fill(fmt, values) {
    var s = fmt.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? String(values[k]) : m; });
    // "1 call(s)" reads "1 call", "3 call(s)" "3 calls" (recall.Plurals).
    // "2 person(s)" reads "2 people".
    return s.replace(/\b(\d+) ((?:[A-Za-z-]+ )?[A-Za-z]+)\(s\)/g, function (m, n, w) {
      if (n === '1') return n + ' ' + w;
      return n + ' ' + (/person$/.test(w) ? w.replace(/person$/, 'people') : w + 's');
    });
  }

  // Selection: "select the page", the count, and the preview button.
  var boxes = function () { return document.querySelectorAll('#messages input[name="id"]:not([disabled])'); };
  var counter = document.getElementById('selected-count');
  var preview = document.getElementById('preview');
  function update() {
    var n = 0;
    boxes().forEach(function (b) { if (b.checked) n++; });
    if (counter) counter.textContent = n ? fill(counter.dataset.label, { n: n }) : '';
    if (preview) preview.disabled = n === 0;
  }
  document.querySelectorAll('[data-select-all]').forEach(function (all) {
    all.addEventListener('change', function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
      update();
    });
  });
  boxes().forEach(function (b) { b.addEventListener('change', update); });
  update();

  // Read status, one message at a time: DingTalk is asked only on demand.
  document.querySelectorAll('button[data-read-key]').forEach(function (btn) {
    btn.addEventListener('click', function () {
      var out = btn.nextElementSibling;
      out.className = 'read';
      out.textContent = btn.dataset.loading;
      btn.disabled = true;
      fetch('/ui/read?key=' + encodeURIComponent(btn.dataset.readKey), {
        headers: { 'Accept': 'application/json' }, credentials: 'same-origin'
      }).then(function (r) {
        return r.json().then(function (j) { return { ok: r.ok, j: j }; });
      }).then(function (res) {
        btn.disabled = false;
        if (!res.ok) {
          out.className = 'read err';
          out.textContent = (res.j && res.j.error && res.j.error.message) || 'error';
          return;
        }
        var rs = res.j;
        if (rs.error) { // DingTalk could not say (too early, past its window, unreachable)
          out.className = 'read err';
          out.textContent = rs.error;
          return;
        }
        // Recipients are known for one-to-one messages only.
        out.textContent = fill(rs.recipients ? btn.dataset.fmt : btn.dataset.fmtCount, { read: rs.read || 0, recipients: rs.recipients });
        var readers = (rs.readers || []).filter(function (x) { return typeof x === 'string'; });
        if (readers.length) out.title = btn.dataset.readers + readers.join(', ');
        if (rs.send_status) out.dataset.sendStatus = rs.send_status;
      }).catch(function (e) {
        btn.disabled = false;
        out.className = 'read err';
        out.textContent = String(e);
      });
    });
  });

  // Live progress of a recall or a broadcast; the page reloads when it
  // ends, to show the receipt the server renders.
  var job = document.querySelector('[data-events]');
  if (job && window.EventSource) {
    var bar = document.getElementById('bar');
    var text = document.getElementById('progress');
    var state = document.getElementById('job-state');
    var es = new EventSource(job.dataset.events);
    es.addEventListener('progress', function (ev) {
      var d = JSON.parse(ev.data);
      var done = d.done, requested = d.requested;
      if (d.sent !== undefined) done = d.sent;
      if (bar) { bar.max = requested || 1; bar.value = done; }
      if (text) {
        text.textContent = fill(text.dataset.fmt, {
          done: d.done, requested: requested, calls: d.calls !== undefined ? d.calls : d.recall_calls,
          sent: d.sent, failed: d.failed, pending: d.pending
        });
      }
      if (state && d.state) job.dataset.state = d.state;
    });
    es.addEventListener('end', function () { es.close(); window.location.reload(); });
    es.addEventListener('failure', function (ev) {
      es.close();
      var p = document.createElement('p');
      p.className = 'flash err';
      p.textContent = JSON.parse(ev.data).message;
      job.appendChild(p);
    });
  }
})();
