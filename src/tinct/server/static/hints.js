// Hints on the photo: markers and the list, adding, selecting, dragging, deleting, keyboard placement.
import { $, original, stage, markers, picker, autoBox, list, noHints, countPill, state, suggestBox, snapshot, record, setStatus, setAppStatus, hintRadius, clamp, suggestions } from "./state.js";
import { colorize, markStale, requestSuggest } from "./remote.js";

// undo / redo: snapshots of the hints
export function restore(from, to) {
  if (!from.length) return;
  to.push(snapshot());
  state.hints = JSON.parse(from.pop());
  if (state.selected >= state.hints.length) state.selected = state.hints.length - 1;
  changed();
}
export const undo = () => restore(state.past, state.future);
export const redo = () => restore(state.future, state.past);

let timer = 0;
export function changed() {
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
export function toImage(e) {
  const r = original.getBoundingClientRect();
  const x = ((e.clientX - r.left) / r.width) * state.W;
  const y = ((e.clientY - r.top) / r.height) * state.H;
  return { x: clamp(x, 0, state.W - 0.01), y: clamp(y, 0, state.H - 0.01) };
}

export function select(i) {
  state.selected = i;
  if (i < 0) suggestBox.hidden = true;
  renderHints();
}
export function removeHint(i) {
  record();
  state.hints.splice(i, 1);
  if (state.selected === i) state.selected = -1;
  else if (state.selected > i) state.selected--;
  changed();
}

export function addHint(p) {
  record();
  state.hints.push({ x: p.x, y: p.y, color: picker.value, radius: hintRadius() });
  state.selected = state.hints.length - 1;
  changed();
  requestSuggest(state.selected, showSuggestions);
}

// the model's suggested colours at hint ``h`` as a palette; one click recolours that hint (an explicit action)
function showSuggestions(h, found) {
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
}

export function renderHints() {
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
export function renderMarkersOnly() {
  [...markers.children].forEach((m) => { m.style.background = state.hints[Number(m.dataset.index)].color; });
}


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
export function endDrag() {
  if (!drag) return;
  const d = drag; drag = null;
  d.el.classList.remove("dragging");
  if (d.moved) { state.past.push(d.before); state.future = []; state.selected = d.i; changed(); requestSuggest(d.i, showSuggestions); }
  else { select(d.i); requestSuggest(d.i, showSuggestions); }
}
markers.addEventListener("pointerup", endDrag);
markers.addEventListener("pointercancel", endDrag);
markers.addEventListener("contextmenu", (e) => {
  const m = e.target.closest(".marker");
  if (!m) return;
  e.preventDefault();
  removeHint(Number(m.dataset.index));
});
export const typing = () => ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement && document.activeElement.tagName)
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
