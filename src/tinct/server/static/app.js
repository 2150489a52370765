// tinct web page: upload a photo, place colour hints on it, get the colorized result back from /api/colorize.
// Hints are kept in the ORIGINAL image's pixel coordinates (naturalWidth x naturalHeight), whatever the
// on-screen size, and sent as JSON [{x, y, color: "#rrggbb", radius}].
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const app = $("app"), drop = $("drop"), workspace = $("workspace"), fileInput = $("file");
  const original = $("original"), result = $("result"), stage = $("stage"), markers = $("markers");
  const picker = $("hint-color"), sizeInput = $("hint-size"), autoBox = $("auto");
  const list = $("hints"), noHints = $("no-hints"), countPill = $("hint-count");
  const download = $("download"), statusEl = $("status"), timing = $("timing");
  const decodeSel = $("decode"), tempInput = $("temperature"), tempOut = $("temperature-out");

  const SWATCHES = ["#2f6fdf", "#1f9e89", "#3f9b3a", "#a3c14a", "#e8c547", "#e8913a", "#d2452f", "#b0306a",
                    "#7a4fbf", "#8a5a3c", "#f2c9a8", "#87b8e8"];

  const state = {
    file: null, name: "photo", W: 0, H: 0, noPreview: false,
    hints: [], selected: -1,
    resultUrl: null, seq: 0, controller: null, results: 0,
    past: [], future: [],                      // undo/redo: snapshots of the hints
  };
  const before = $("before"), compare = $("compare"), suggestBox = $("suggest-box"), suggestions = $("suggestions");

  // ---------------------------------------------------------------- undo / redo
  const snapshot = () => JSON.stringify(state.hints);
  function record() { state.past.push(snapshot()); state.future = []; if (state.past.length > 200) state.past.shift(); }
  function restore(from, to) {
    if (!from.length) return;
    to.push(snapshot());
    state.hints = JSON.parse(from.pop());
    if (state.selected >= state.hints.length) state.selected = state.hints.length - 1;
    changed();
  }
  const undo = () => restore(state.past, state.future);
  const redo = () => restore(state.future, state.past);

  // ---------------------------------------------------------------- status
  function setStatus(text, isError = false) {
    statusEl.textContent = text;
    statusEl.classList.toggle("error", isError);
  }
  function setAppStatus(s) { app.dataset.status = s; }

  // ---------------------------------------------------------------- loading a photo
  function openFile(file) {
    if (!file) return;
    state.file = file;
    state.name = (file.name || "photo").replace(/\.[^.]*$/, "") || "photo";
    state.hints = []; state.selected = -1; state.noPreview = false; state.W = state.H = 0;
    state.past = []; state.future = []; suggestBox.hidden = true;
    if (original.src) URL.revokeObjectURL(original.src);
    setResult(null);
    drop.hidden = true; workspace.hidden = false;
    original.src = URL.createObjectURL(file);
    before.src = original.src;
    renderHints();
    colorize();
  }

  original.addEventListener("load", () => {
    state.W = original.naturalWidth; state.H = original.naturalHeight;
    renderHints();
  });
  original.addEventListener("error", () => {
    if (!original.getAttribute("src")) return;
    // e.g. TIFF: the browser cannot show it, but the server can read it; edit on the result instead
    state.noPreview = true;
    original.removeAttribute("src");
    before.removeAttribute("src");
  });

  fileInput.addEventListener("change", () => { openFile(fileInput.files[0]); fileInput.value = ""; });

  let dragDepth = 0;
  window.addEventListener("dragenter", (e) => { e.preventDefault(); dragDepth++; document.body.classList.add("dragging"); });
  window.addEventListener("dragleave", () => { if (--dragDepth <= 0) { dragDepth = 0; document.body.classList.remove("dragging"); } });
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => {
    e.preventDefault(); dragDepth = 0; document.body.classList.remove("dragging");
    const f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (f) openFile(f);
  });
  window.addEventListener("paste", (e) => {
    const item = [...(e.clipboardData ? e.clipboardData.items : [])].find((i) => i.type.startsWith("image/"));
    if (item) openFile(item.getAsFile());
  });

  // ---------------------------------------------------------------- colorizing
  function setResult(blob, seconds) {
    if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
    state.resultUrl = blob ? URL.createObjectURL(blob) : null;
    result.classList.remove("stale");
    before.style.visibility = blob ? "" : "hidden";
    if (state.resultUrl) {
      result.src = state.resultUrl;
      download.href = state.resultUrl;
      download.download = `${state.name}-colorized.png`;
      download.classList.remove("disabled");
      download.removeAttribute("aria-disabled");
      timing.textContent = seconds ? `— ${seconds.toFixed(2)} s` : "";
    } else {
      result.removeAttribute("src");
      download.removeAttribute("href");
      download.classList.add("disabled");
      download.setAttribute("aria-disabled", "true");
      timing.textContent = "";
    }
  }

  function hintPayload() {
    return state.hints.map((h) => ({ x: round2(h.x), y: round2(h.y), color: h.color, radius: round2(h.radius || hintRadius()) }));
  }
  const round2 = (v) => Math.round(v * 100) / 100;

  async function colorize() {
    if (!state.file) return;
    const seq = ++state.seq;
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;
    state.colorizing = true;
    setAppStatus("working");
    setStatus(state.hints.length ? `Colorizing with ${state.hints.length} hint${state.hints.length > 1 ? "s" : ""}…` : "Colorizing…");
    const t0 = performance.now();
    try {
      for (let attempt = 0; ; attempt++) {
        const form = new FormData();
        form.append("image", state.file, state.file.name || "photo");
        if (state.hints.length && state.W) form.append("hints", JSON.stringify(hintPayload()));
        if (decodeSel.value) form.append("decode", decodeSel.value);
        if (Number(tempInput.value) > 0) form.append("temperature", tempInput.value);
        const resp = await fetch("/api/colorize", { method: "POST", body: form, signal: controller.signal });
        if (resp.status === 503 && attempt < 20) {           // server busy: wait and retry
          const wait = Math.min(4, Number(resp.headers.get("Retry-After")) || 1) * 1000 * (0.5 + Math.random() / 2);
          setStatus("Server busy, retrying…");
          await new Promise((ok) => setTimeout(ok, wait));
          if (seq !== state.seq) return;
          continue;
        }
        if (!resp.ok) {
          let msg = `${resp.status} ${resp.statusText}`;
          try { const j = await resp.json(); if (j && j.error) msg = j.error; } catch (_) { /* not JSON */ }
          throw new Error(msg);
        }
        const blob = await resp.blob();
        if (seq !== state.seq) return;                          // a newer request superseded this one
        const secs = (performance.now() - t0) / 1000;
        setResult(blob, secs);
        await result.decode().catch(() => {});
        if (state.noPreview && !original.getAttribute("src")) {   // edit on the result when no preview
          original.src = URL.createObjectURL(blob);
        }
        state.results++;
        app.dataset.results = String(state.results);
        setAppStatus("done");
        setStatus(`Done in ${secs.toFixed(2)} s. ${state.hints.length ? "" : "Click the original to add a colour hint."}`);
        return;
      }
    } catch (err) {
      if (err.name === "AbortError" || seq !== state.seq) return;
      if (err instanceof TypeError) {   // fetch itself failed: the server is not answering
        setAppStatus("offline");
        markStale(true);
        setStatus("The tinct server is not answering (stopped?). The result shown is out of date; start " +
                  "`tinct serve` again, then press Colorize.", true);
        return;
      }
      setAppStatus("error");
      markStale(false);
      setStatus(`Could not colorize: ${err.message}`, true);
    } finally {
      if (seq === state.seq) { state.colorizing = false; pumpSuggest(); }
    }
  }
  function markStale(noDownload) {
    if (!state.resultUrl) return;
    result.classList.add("stale");
    if (noDownload) { download.classList.add("disabled"); download.setAttribute("aria-disabled", "true"); }
  }

  let timer = 0;
  function changed() {
    renderHints();
    $("undo").disabled = !state.past.length; $("redo").disabled = !state.future.length;
    if (autoBox.checked) { clearTimeout(timer); timer = setTimeout(colorize, 120); return; }
    if (state.file) {
      state.seq++; if (state.controller) state.controller.abort();
      setAppStatus("stale"); markStale(false);
      setStatus("Out of date: the hints changed. Press Colorize to update the result.");
    }
  }

  // ---------------------------------------------------------------- hints
  function hintRadius() { return (Number(sizeInput.value) / 100) * Math.max(state.W, state.H); }

  function toImage(e) {
    const r = original.getBoundingClientRect();
    const x = ((e.clientX - r.left) / r.width) * state.W;
    const y = ((e.clientY - r.top) / r.height) * state.H;
    return { x: clamp(x, 0, state.W - 0.01), y: clamp(y, 0, state.H - 0.01) };
  }
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

  function select(i) {
    state.selected = i;
    if (i < 0) suggestBox.hidden = true;
    renderHints();
  }
  function removeHint(i) {
    record();
    state.hints.splice(i, 1);
    if (state.selected === i) state.selected = -1;
    else if (state.selected > i) state.selected--;
    changed();
  }

  original.addEventListener("click", (e) => {
    if (!state.W) return;
    addHint(toImage(e));
  });
  function addHint(p) {
    record();
    state.hints.push({ x: p.x, y: p.y, color: picker.value, radius: hintRadius() });
    state.selected = state.hints.length - 1;
    changed();
    requestSuggest(state.selected);
  }

  // suggested colours at a hint: the model's likely colours there (POST /api/suggest). One request at a time,
  // and never beside a colorize in flight, so that a busy page cannot fill the server's queue (503s).
  let suggestSeq = 0, pendingSuggest = null, suggestBusy = false;
  function requestSuggest(i) { pendingSuggest = i; pumpSuggest(); }
  async function pumpSuggest() {
    if (suggestBusy || state.colorizing || pendingSuggest === null) return;
    const i = pendingSuggest; pendingSuggest = null; suggestBusy = true;
    try { await suggest(i); } finally { suggestBusy = false; pumpSuggest(); }
  }
  async function suggest(i) {
    const h = state.hints[i];
    if (!h || !state.file) return;
    const mine = ++suggestSeq;
    const form = new FormData();
    form.append("image", state.file, state.file.name || "photo");
    form.append("x", String(round2(h.x))); form.append("y", String(round2(h.y)));
    const others = hintPayload().filter((_, k) => k !== i);
    if (others.length) form.append("hints", JSON.stringify(others));
    try {
      const resp = await fetch("/api/suggest", { method: "POST", body: form });
      if (!resp.ok || mine !== suggestSeq) return;
      const found = (await resp.json()).suggestions || [];
      suggestions.textContent = "";
      found.forEach((sg) => {
        const b = document.createElement("button");
        b.type = "button"; b.style.background = sg.color; b.dataset.color = sg.color;
        b.title = `${sg.color} · ${Math.round(sg.probability * 100)}%`;
        b.setAttribute("aria-label", `Use suggested ${sg.color} (${Math.round(sg.probability * 100)}%)`);
        b.textContent = `${Math.round(sg.probability * 100)}%`;
        b.addEventListener("click", () => {
          const k = state.hints.indexOf(h);
          picker.value = sg.color;
          if (k < 0) return;
          record(); h.color = sg.color; state.selected = k; changed();
        });
        suggestions.appendChild(b);
      });
      suggestBox.hidden = !found.length;
    } catch (_) { /* suggestions are optional; colorize reports a server that is down */ }
  }

  function renderHints() {
    // markers on the photo (percentages: they follow the image whatever its displayed size)
    markers.textContent = "";
    const shown = original.getBoundingClientRect().width || 1;
    const scale = state.W ? shown / state.W : 1;
    state.hints.forEach((h, i) => {
      const m = document.createElement("div");
      m.className = "marker" + (i === state.selected ? " selected" : "");
      m.style.left = `${(h.x / state.W) * 100}%`;
      m.style.top = `${(h.y / state.H) * 100}%`;
      m.style.width = m.style.height = `${Math.max(12, 2 * (h.radius || hintRadius()) * scale)}px`;
      m.style.background = h.color;
      m.dataset.index = String(i);
      m.title = `${h.color} at (${Math.round(h.x)}, ${Math.round(h.y)}) — drag to move, right-click to delete`;
      markers.appendChild(m);
    });
    // the list
    list.textContent = "";
    state.hints.forEach((h, i) => {
      const li = document.createElement("li");
      li.className = i === state.selected ? "selected" : "";
      li.dataset.index = String(i);
      const c = document.createElement("input");
      c.type = "color"; c.value = h.color; c.title = "Change this hint's colour";
      c.addEventListener("input", () => { h.color = c.value; renderMarkersOnly(); });
      c.addEventListener("focus", () => record(), { once: true });
      c.addEventListener("change", () => { h.color = c.value; changed(); });
      const where = document.createElement("span");
      where.className = "where";
      where.textContent = `${h.color}  (${Math.round(h.x)}, ${Math.round(h.y)}) r ${Math.round(h.radius || hintRadius())}`;
      where.addEventListener("click", () => select(i));
      const del = document.createElement("button");
      del.type = "button"; del.className = "del"; del.textContent = "×";
      del.title = "Delete this hint"; del.setAttribute("aria-label", `Delete hint ${i + 1}`);
      del.addEventListener("click", () => removeHint(i));
      li.append(c, where, del);
      list.appendChild(li);
    });
    countPill.textContent = String(state.hints.length);
    $("recolour").disabled = $("resize").disabled = state.selected < 0;
    noHints.hidden = state.hints.length > 0;
  }
  function renderMarkersOnly() {
    [...markers.children].forEach((m) => { m.style.background = state.hints[Number(m.dataset.index)].color; });
  }
  window.addEventListener("resize", renderHints);


  // dragging, selecting and deleting markers
  let drag = null;
  markers.addEventListener("pointerdown", (e) => {
    const m = e.target.closest(".marker");
    if (!m || e.button !== 0) return;
    e.preventDefault();
    m.setPointerCapture(e.pointerId);
    drag = { i: Number(m.dataset.index), el: m, moved: false, x0: e.clientX, y0: e.clientY, before: snapshot() };
    m.classList.add("dragging");
  });
  markers.addEventListener("pointermove", (e) => {
    if (!drag) return;
    if (!drag.moved && Math.hypot(e.clientX - drag.x0, e.clientY - drag.y0) < 3) return;
    drag.moved = true;
    const p = toImage(e), h = state.hints[drag.i];
    h.x = p.x; h.y = p.y;
    drag.el.style.left = `${(h.x / state.W) * 100}%`;
    drag.el.style.top = `${(h.y / state.H) * 100}%`;
  });
  function endDrag() {
    if (!drag) return;
    const d = drag; drag = null;
    d.el.classList.remove("dragging");
    if (d.moved) { state.past.push(d.before); state.future = []; state.selected = d.i; changed(); requestSuggest(d.i); }
    else { select(d.i); requestSuggest(d.i); }
  }
  markers.addEventListener("pointerup", endDrag);
  markers.addEventListener("pointercancel", endDrag);
  markers.addEventListener("contextmenu", (e) => {
    const m = e.target.closest(".marker");
    if (!m) return;
    e.preventDefault();
    removeHint(Number(m.dataset.index));
  });
  const typing = () => ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement && document.activeElement.tagName)
    && !["range", "checkbox", "button"].includes(document.activeElement.type);
  window.addEventListener("keydown", (e) => {
    const mod = e.ctrlKey || e.metaKey;
    if (mod && !typing() && e.key.toLowerCase() === "z") { e.preventDefault(); (e.shiftKey ? redo : undo)(); return; }
    if (mod && !typing() && e.key.toLowerCase() === "y") { e.preventDefault(); redo(); return; }
    if (e.key === "Escape" && state.selected >= 0) { select(-1); return; }
    if (state.selected < 0 || !["Delete", "Backspace"].includes(e.key) || typing()) return;
    e.preventDefault();
    removeHint(state.selected);
  });
  // keyboard on the photo: Enter/Space adds a hint (at the centre, or beside the selected one), arrows move it
  stage.addEventListener("keydown", (e) => {
    if (!state.W) return;
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      const s = state.hints[state.selected];
      addHint(s ? { x: clamp(s.x + state.W / 20, 0, state.W - 0.01), y: s.y } : { x: state.W / 2, y: state.H / 2 });
      return;
    }
    const dir = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
    if (!dir || state.selected < 0) return;
    e.preventDefault();
    const h = state.hints[state.selected], step = Math.max(state.W, state.H) / (e.shiftKey ? 20 : 100);
    if (!e.repeat) record();
    h.x = clamp(h.x + dir[0] * step, 0, state.W - 0.01); h.y = clamp(h.y + dir[1] * step, 0, state.H - 0.01);
    changed();
  });
  $("choose").addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); fileInput.click(); }
  });

  // the current colour: for new hints only; recolouring or resizing a hint is an explicit action
  const swatches = $("swatches");
  SWATCHES.forEach((c) => {
    const b = document.createElement("button");
    b.type = "button"; b.style.background = c; b.title = c; b.setAttribute("aria-label", `Current colour ${c}`);
    b.addEventListener("click", () => { picker.value = c; });
    swatches.appendChild(b);
  });
  $("recolour").addEventListener("click", () => {
    const h = state.hints[state.selected];
    if (h && h.color !== picker.value) { record(); h.color = picker.value; changed(); }
  });
  $("resize").addEventListener("click", () => {
    const h = state.hints[state.selected];
    if (h) { record(); h.radius = hintRadius(); changed(); }
  });
  $("undo").addEventListener("click", undo);
  $("redo").addEventListener("click", redo);
  $("reset").addEventListener("click", () => {
    if (state.hints.length) record();
    state.hints = []; state.selected = -1; suggestBox.hidden = true;
    decodeSel.value = ""; tempInput.value = "0"; tempOut.textContent = "default"; compare.value = "100";
    compare.dispatchEvent(new Event("input"));
    changed();
  });
  compare.addEventListener("input", () => {
    result.style.clipPath = `inset(0 ${100 - Number(compare.value)}% 0 0)`;
  });

  $("clear-hints").addEventListener("click", () => { if (state.hints.length) { record(); state.hints = []; state.selected = -1; changed(); } });
  $("colorize").addEventListener("click", () => colorize());
  decodeSel.addEventListener("change", () => { if (autoBox.checked) colorize(); });
  tempInput.addEventListener("input", () => { tempOut.textContent = Number(tempInput.value) > 0 ? tempInput.value : "default"; });
  tempInput.addEventListener("change", () => { if (autoBox.checked) colorize(); });
})();
