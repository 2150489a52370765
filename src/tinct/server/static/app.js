// tinct web page: upload a photo, place colour hints on it, get the colorized result back from the server.
// Modules: state.js (elements, state, undo), remote.js (API calls), hints.js (markers and list), this file
// (opening a photo and the controls).
import { $, drop, workspace, fileInput, original, result, picker, autoBox, decodeSel, tempInput, tempOut, SWATCHES, state, before, compare, suggestBox, record, hintRadius } from "./state.js";
import { setResult, colorize } from "./remote.js";
import { changed, toImage, addHint, renderHints, undo, redo } from "./hints.js";
import { setupReference } from "./reference.js";

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

original.addEventListener("click", (e) => {
  if (!state.W) return;
  addHint(toImage(e));
});
window.addEventListener("resize", renderHints);
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
setupReference(() => colorize());
decodeSel.addEventListener("change", () => { if (autoBox.checked) colorize(); });
tempInput.addEventListener("input", () => { tempOut.textContent = Number(tempInput.value) > 0 ? tempInput.value : "default"; });
tempInput.addEventListener("change", () => { if (autoBox.checked) colorize(); });
