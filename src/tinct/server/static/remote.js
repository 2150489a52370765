// Talking to the server: POST /api/colorize (hints as JSON [{x, y, color: "#rrggbb", radius}]) and
// POST /api/suggest (the model's likely colours at a hint), one suggestion request at a time.
import { appendReference } from "./reference.js";
import { app, original, result, download, timing, decodeSel, tempInput, state, before, setStatus, setAppStatus, hintPayload, round2 } from "./state.js";

// ---------------------------------------------------------------- colorizing
export function setResult(blob, seconds) {
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

export async function colorize() {
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
      appendReference(form);
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
export function markStale(noDownload) {
  if (!state.resultUrl) return;
  result.classList.add("stale");
  if (noDownload) { download.classList.add("disabled"); download.setAttribute("aria-disabled", "true"); }
}


// suggested colours at a hint: the model's likely colours there (POST /api/suggest). One request at a time,
// and never beside a colorize in flight, so that a busy page cannot fill the server's queue (503s).
// ``show(hint, suggestions)`` puts them on the page (hints.js), so that this module needs no UI of its own.
let suggestSeq = 0, pendingSuggest = null, suggestBusy = false;
export function requestSuggest(i, show) { pendingSuggest = { i, show }; pumpSuggest(); }
export async function pumpSuggest() {
  if (suggestBusy || state.colorizing || pendingSuggest === null) return;
  const { i, show } = pendingSuggest; pendingSuggest = null; suggestBusy = true;
  try { await suggest(i, show); } finally { suggestBusy = false; pumpSuggest(); }
}
export async function suggest(i, show) {
  const h = state.hints[i];
  if (!h || !state.file) return;
  const mine = ++suggestSeq;
  const form = new FormData();
  form.append("image", state.file, state.file.name || "photo");
  form.append("x", String(round2(h.x))); form.append("y", String(round2(h.y)));
  const others = hintPayload().filter((_, k) => k !== i);
  if (others.length) form.append("hints", JSON.stringify(others));
  appendReference(form);
  try {
    const resp = await fetch("/api/suggest", { method: "POST", body: form });
    if (!resp.ok || mine !== suggestSeq) return;
    show(h, (await resp.json()).suggestions || []);
  } catch (_) { /* suggestions are optional; colorize reports a server that is down */ }
}
