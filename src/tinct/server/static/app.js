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
  };

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
    if (original.src) URL.revokeObjectURL(original.src);
    setResult(null);
    drop.hidden = true; workspace.hidden = false;
    original.src = URL.createObjectURL(file);
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
    const r = hintRadius();
    return state.hints.map((h) => ({ x: round2(h.x), y: round2(h.y), color: h.color, radius: round2(r) }));
  }
  const round2 = (v) => Math.round(v * 100) / 100;

  async function colorize() {
    if (!state.file) return;
    const seq = ++state.seq;
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;
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
      setAppStatus("error");
      setStatus(`Could not colorize: ${err.message}`, true);
    }
  }

  let timer = 0;
  function changed() {
    renderHints();
    if (autoBox.checked) { clearTimeout(timer); timer = setTimeout(colorize, 120); }
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
    if (i >= 0) picker.value = state.hints[i].color;
    renderHints();
  }
  function removeHint(i) {
    state.hints.splice(i, 1);
    if (state.selected === i) state.selected = -1;
    else if (state.selected > i) state.selected--;
    changed();
  }

  original.addEventListener("click", (e) => {
    if (!state.W) return;
    const p = toImage(e);
    state.hints.push({ x: p.x, y: p.y, color: picker.value });
    state.selected = state.hints.length - 1;
    changed();
  });

  function renderHints() {
    // markers on the photo (percentages: they follow the image whatever its displayed size)
    markers.textContent = "";
    const shown = original.getBoundingClientRect().width || 1;
    const scale = state.W ? shown / state.W : 1;
    const d = Math.max(12, 2 * hintRadius() * scale);
    state.hints.forEach((h, i) => {
      const m = document.createElement("div");
      m.className = "marker" + (i === state.selected ? " selected" : "");
      m.style.left = `${(h.x / state.W) * 100}%`;
      m.style.top = `${(h.y / state.H) * 100}%`;
      m.style.width = m.style.height = `${d}px`;
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
      c.addEventListener("input", () => { h.color = c.value; if (state.selected === i) picker.value = c.value; renderMarkersOnly(); });
      c.addEventListener("change", () => { h.color = c.value; changed(); });
      const where = document.createElement("span");
      where.className = "where";
      where.textContent = `${h.color}  (${Math.round(h.x)}, ${Math.round(h.y)})`;
      where.addEventListener("click", () => select(i));
      const del = document.createElement("button");
      del.type = "button"; del.className = "del"; del.textContent = "×";
      del.title = "Delete this hint"; del.setAttribute("aria-label", `Delete hint ${i + 1}`);
      del.addEventListener("click", () => removeHint(i));
      li.append(c, where, del);
      list.appendChild(li);
    });
    countPill.textContent = String(state.hints.length);
    noHints.hidden = state.hints.length > 0;
  }
  function renderMarkersOnly() {
    [...markers.children].forEach((m) => { m.style.background = state.hints[Number(m.dataset.index)].color; });
  }
  window.addEventListener("resize", renderHints);
  sizeInput.addEventListener("input", renderHints);
  sizeInput.addEventListener("change", () => { if (state.hints.length) changed(); });

  // dragging, selecting and deleting markers
  let drag = null;
  markers.addEventListener("pointerdown", (e) => {
    const m = e.target.closest(".marker");
    if (!m || e.button !== 0) return;
    e.preventDefault();
    m.setPointerCapture(e.pointerId);
    drag = { i: Number(m.dataset.index), el: m, moved: false, x0: e.clientX, y0: e.clientY };
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
    if (d.moved) { state.selected = d.i; changed(); } else select(d.i);
  }
  markers.addEventListener("pointerup", endDrag);
  markers.addEventListener("pointercancel", endDrag);
  markers.addEventListener("contextmenu", (e) => {
    const m = e.target.closest(".marker");
    if (!m) return;
    e.preventDefault();
    removeHint(Number(m.dataset.index));
  });
  window.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && state.selected >= 0) { select(-1); return; }
    if (state.selected < 0 || !["Delete", "Backspace"].includes(e.key)) return;
    if (["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement && document.activeElement.tagName)) return;
    e.preventDefault();
    removeHint(state.selected);
  });

  // the picker: recolours the selected hint, and is the colour of new ones
  picker.addEventListener("input", () => {
    if (state.selected >= 0) { state.hints[state.selected].color = picker.value; renderMarkersOnly(); }
  });
  picker.addEventListener("change", () => { if (state.selected >= 0) { state.hints[state.selected].color = picker.value; changed(); } });
  const swatches = $("swatches");
  SWATCHES.forEach((c) => {
    const b = document.createElement("button");
    b.type = "button"; b.style.background = c; b.title = c; b.setAttribute("aria-label", `Use ${c}`);
    b.addEventListener("click", () => {
      picker.value = c;
      if (state.selected >= 0) { state.hints[state.selected].color = c; changed(); }
    });
    swatches.appendChild(b);
  });

  $("clear-hints").addEventListener("click", () => { if (state.hints.length) { state.hints = []; state.selected = -1; changed(); } });
  $("colorize").addEventListener("click", () => colorize());
  decodeSel.addEventListener("change", () => { if (autoBox.checked) colorize(); });
  tempInput.addEventListener("input", () => { tempOut.textContent = Number(tempInput.value) > 0 ? tempInput.value : "default"; });
  tempInput.addEventListener("change", () => { if (autoBox.checked) colorize(); });
})();
