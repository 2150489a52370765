// The page's shared state: its elements, the photo and hints (in the ORIGINAL image's pixel coordinates,
// naturalWidth x naturalHeight, whatever the on-screen size), undo/redo snapshots, the status line.

export const $ = (id) => document.getElementById(id);
export const app = $("app"), drop = $("drop"), workspace = $("workspace"), fileInput = $("file");
export const original = $("original"), result = $("result"), stage = $("stage"), markers = $("markers");
export const picker = $("hint-color"), sizeInput = $("hint-size"), autoBox = $("auto");
export const list = $("hints"), noHints = $("no-hints"), countPill = $("hint-count");
export const download = $("download"), statusEl = $("status"), timing = $("timing");
export const decodeSel = $("decode"), tempInput = $("temperature"), tempOut = $("temperature-out");

export const SWATCHES = ["#2f6fdf", "#1f9e89", "#3f9b3a", "#a3c14a", "#e8c547", "#e8913a", "#d2452f", "#b0306a",
                  "#7a4fbf", "#8a5a3c", "#f2c9a8", "#87b8e8"];

export const state = {
  file: null, name: "photo", W: 0, H: 0, noPreview: false,
  hints: [], selected: -1,
  resultUrl: null, seq: 0, controller: null, results: 0,
  past: [], future: [],                      // undo/redo: snapshots of the hints
};
export const before = $("before"), compare = $("compare"), suggestBox = $("suggest-box"), suggestions = $("suggestions");

// ---------------------------------------------------------------- undo / redo
export const snapshot = () => JSON.stringify(state.hints);
export function record() { state.past.push(snapshot()); state.future = []; if (state.past.length > 200) state.past.shift(); }

// ---------------------------------------------------------------- status
export function setStatus(text, isError = false) {
  statusEl.textContent = text;
  statusEl.classList.toggle("error", isError);
}
export function setAppStatus(s) { app.dataset.status = s; }

export function hintPayload() {
  return state.hints.map((h) => ({ x: round2(h.x), y: round2(h.y), color: h.color, radius: round2(h.radius || hintRadius()) }));
}
export const round2 = (v) => Math.round(v * 100) / 100;

export function hintRadius() { return (Number(sizeInput.value) / 100) * Math.max(state.W, state.H); }
export const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
