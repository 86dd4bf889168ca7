// The emulator's console: live parts from the server, and actions through
// the control API. The only HTML this script puts in the page is what the
// server's html/template rendered (which escaped every user-typed string),
// parsed inertly with DOMParser; what it writes itself goes in textContent.
'use strict';

(() => {
  const chat = document.body.dataset.chat || '';
  const status = document.getElementById('status');
  const live = document.getElementById('live');

  function say(text, bad) {
    status.textContent = text;
    status.className = bad ? 'bad' : 'ok';
  }

  // Live parts. Each "part" event carries one region of the page, rendered
  // by the server, to replace the element with the same id.
  const parser = new DOMParser();

  function swap(id, html) {
    const old = document.getElementById(id);
    const fresh = parser.parseFromString(html, 'text/html').getElementById(id);
    if (!old || !fresh) return;
    // Keep what the tester was looking at: the message list's scroll
    // (following the newest message when it was at the bottom) and which
    // call details were open.
    const oldList = old.querySelector('.msgs');
    const atBottom = !oldList || oldList.scrollHeight - oldList.scrollTop - oldList.clientHeight < 40;
    const scrollTop = oldList ? oldList.scrollTop : 0;
    const open = new Set([...old.querySelectorAll('details[open]')].map((d) => d.dataset.seq));
    for (const d of fresh.querySelectorAll('details')) {
      if (open.has(d.dataset.seq)) d.open = true;
    }
    const node = document.adoptNode(fresh);
    old.replaceWith(node);
    const list = node.querySelector('.msgs');
    if (list) list.scrollTop = atBottom ? list.scrollHeight : scrollTop;
    if (id === 'chat' && !chat && node.dataset.chat) {
      // The page had no chat; now there is one: show it with its composer.
      location.replace('?chat=' + encodeURIComponent(node.dataset.chat));
    }
  }

  const query = new URLSearchParams(location.search).get('q') || '';
  const events = new EventSource('events?chat=' + encodeURIComponent(chat) + '&q=' + encodeURIComponent(query));
  events.addEventListener('part', (e) => {
    const p = JSON.parse(e.data);
    swap(p.id, p.html);
  });
  events.addEventListener('open', () => { live.className = 'on'; live.textContent = 'live'; });
  events.addEventListener('error', () => { live.className = 'off'; live.textContent = 'offline'; });

  const first = document.querySelector('#chat .msgs');
  if (first) first.scrollTop = first.scrollHeight;

  // Actions. A form or a button with data-post calls the control API:
  // forms send their fields as JSON (checkboxes as booleans, numbers as
  // numbers, empty fields left out; fields marked data-path fill the
  // path's {name} instead), buttons send data-body.
  async function call(method, path, body) {
    const res = await fetch(path, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: method === 'GET' ? undefined : JSON.stringify(body || {}),
    });
    let data = null;
    try { data = await res.json(); } catch (_) { /* not JSON */ }
    if (!res.ok) throw new Error((data && data.error) || res.status + ' ' + res.statusText);
    return data;
  }

  function formRequest(form, submitter) {
    const body = {};
    const vars = {};
    for (const el of form.elements) {
      if (!el.name || el.type === 'submit' || el.tagName === 'BUTTON') continue;
      if ('path' in el.dataset) vars[el.name] = el.value;
      else if (el.type === 'checkbox') body[el.name] = el.checked;
      else if (el.type === 'number') body[el.name] = Number(el.value);
      else if (el.value !== '') body[el.name] = el.value;
    }
    if (submitter && submitter.name) body[submitter.name] = submitter.value;
    const path = form.dataset.post.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(vars[k] || ''));
    if (form.id === 'composer' && vars.chat === '-') {
      // The sender's own 1:1 chat with the bot is a one-to-one chat, and
      // the page goes there at once (without waiting for the bot's reply:
      // it shows there live).
      body.conversationType = '1';
      delete body.atBot;
      return { path: path.replace(/\?.*$/, ''), body };
    }
    return { path, body };
  }

  function outcome(data) {
    if (data && Array.isArray(data.replies)) {
      const n = data.replies.length;
      return n ? 'the bot answered (' + n + (n === 1 ? ' message)' : ' messages)') : 'no answer from the bot within 5 s';
    }
    return (data && data.status) || 'done';
  }

  function follow(form, data) {
    const to = data && data.conversationId;
    if ('goto' in form.dataset && to && to !== chat) location.assign('?chat=' + encodeURIComponent(to));
  }

  // The chat search reloads the page with ?q= (the server narrows the
  // list, all chats searched, not only those listed).
  const search = document.getElementById('chatsearch');
  function searchChats(ev) {
    ev.preventDefault();
    const q = search.elements.q.value.trim();
    if (q === query) return;
    // A search opens its first match; clearing it goes back to the chat.
    location.assign(q ? '?q=' + encodeURIComponent(q) : '?chat=' + encodeURIComponent(chat));
  }
  search.addEventListener('submit', searchChats);
  search.elements.q.addEventListener('search', searchChats); // the field's clear button

  document.addEventListener('submit', async (ev) => {
    const form = ev.target.closest('form[data-post]');
    if (!form) return;
    ev.preventDefault();
    const { path, body } = formRequest(form, ev.submitter);
    const text = form.id === 'composer' ? form.elements.text : null;
    if (text) {
      text.value = '';
      say('sent; waiting for the bot…');
    }
    try {
      const data = await call('POST', path, body);
      say(outcome(data));
      follow(form, data);
    } catch (err) {
      if (text && !text.value) text.value = body.text || '';
      say(err.message, true);
    }
  });

  document.addEventListener('click', async (ev) => {
    const button = ev.target.closest('button[data-post]');
    if (!button || button.form) return;
    ev.preventDefault();
    try {
      const data = await call(button.dataset.method || 'POST', button.dataset.post, JSON.parse(button.dataset.body || '{}'));
      say(outcome(data));
    } catch (err) {
      say(err.message, true);
    }
  });
})();
