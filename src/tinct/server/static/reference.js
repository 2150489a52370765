// Reference colours (issue 27): drop or choose a colour photo beside the photo; its dominant colours show as
// swatches that can be removed, added (the current colour) or recoloured; a strength slider. While the swatches
// are as analysed, the reference photo itself is sent (field "reference": the server uses its colours per
// lightness band); once edited, the swatches are sent as a palette (field "palette"). Point hints still win.
import { $, picker, autoBox } from "./state.js";

export const ref = { file: null, swatches: [], edited: false, selected: -1 };
const group = $("reference-group"), input = $("reference-file"), preview = $("reference-preview");
const palette = $("palette"), strength = $("reference-strength"), strengthOut = $("strength-out");
let onChange = () => {};

// the dominant colours of an image: 4-bit-per-channel cells of a 64x64 copy, merged greedily
function dominant(img, count = 6) {
  const c = document.createElement("canvas"); c.width = c.height = 64;
  const g = c.getContext("2d"); g.drawImage(img, 0, 0, 64, 64);
  const px = g.getImageData(0, 0, 64, 64).data, cells = new Map();
  for (let i = 0; i < px.length; i += 4) {
    const k = ((px[i] >> 4) << 8) | ((px[i + 1] >> 4) << 4) | (px[i + 2] >> 4);
    const e = cells.get(k) || { n: 0, r: 0, g: 0, b: 0 };
    e.n++; e.r += px[i]; e.g += px[i + 1]; e.b += px[i + 2]; cells.set(k, e);
  }
  const modes = [];
  for (const e of [...cells.values()].sort((a, b) => b.n - a.n)) {
    const rgb = [e.r / e.n, e.g / e.n, e.b / e.n];
    const near = modes.find((m) => Math.hypot(m.rgb[0] - rgb[0], m.rgb[1] - rgb[1], m.rgb[2] - rgb[2]) < 56);
    if (near) near.n += e.n; else modes.push({ rgb, n: e.n });
  }
  const hex = (v) => Math.round(v).toString(16).padStart(2, "0");
  const total = 64 * 64;
  return modes.sort((a, b) => b.n - a.n).slice(0, count)
    .map((m) => ({ color: "#" + m.rgb.map(hex).join(""), weight: Math.round((m.n / total) * 1000) / 1000 }));
}

function render() {
  palette.replaceChildren(...ref.swatches.map((s, i) => {
    const b = document.createElement("button");
    b.type = "button"; b.style.background = s.color; b.title = `${s.color} (weight ${s.weight})`;
    b.setAttribute("aria-label", `Reference colour ${s.color}`);
    b.setAttribute("aria-pressed", String(i === ref.selected));
    b.addEventListener("click", () => { ref.selected = i === ref.selected ? -1 : i; render(); });
    return b;
  }));
  const any = ref.swatches.length > 0 || ref.file;
  group.dataset.swatches = String(ref.swatches.length);
  $("recolour-swatch").disabled = $("remove-swatch").disabled = ref.selected < 0;
  $("clear-reference").hidden = !any;
  preview.hidden = !ref.file;
}

function changed() { render(); if (autoBox.checked) onChange(); }

export function openReference(file) {
  if (!file) return;
  ref.file = file; ref.edited = false; ref.selected = -1; ref.swatches = [];
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(file);
  preview.onload = () => { ref.swatches = dominant(preview); changed(); };
  preview.onerror = () => { changed(); };   // the browser cannot show it (e.g. TIFF): the server still can
}

// -> the form fields for /api/colorize and /api/suggest
export function appendReference(form) {
  if (!ref.file && !ref.swatches.length) return;
  if (ref.edited || !ref.file) {
    if (!ref.swatches.length) return;
    form.append("palette", JSON.stringify(ref.swatches));
  } else {
    form.append("reference", ref.file, ref.file.name || "reference");
  }
  form.append("reference_strength", strength.value);
}

export function setupReference(colorize) {
  onChange = colorize;
  input.addEventListener("change", () => { openReference(input.files[0]); input.value = ""; });
  group.addEventListener("dragover", (e) => { e.preventDefault(); e.stopPropagation(); });
  group.addEventListener("drop", (e) => {
    e.preventDefault(); e.stopPropagation();
    document.body.classList.remove("dragging");
    const f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (f) openReference(f);
  });
  $("add-swatch").addEventListener("click", () => {
    ref.swatches.push({ color: picker.value, weight: ref.swatches.length ? Math.max(...ref.swatches.map((s) => s.weight)) : 1 });
    ref.edited = true; ref.selected = ref.swatches.length - 1; changed();
  });
  $("recolour-swatch").addEventListener("click", () => {
    const s = ref.swatches[ref.selected];
    if (s && s.color !== picker.value) { s.color = picker.value; ref.edited = true; changed(); }
  });
  $("remove-swatch").addEventListener("click", () => {
    if (ref.selected < 0) return;
    ref.swatches.splice(ref.selected, 1); ref.selected = -1; ref.edited = true; changed();
  });
  $("clear-reference").addEventListener("click", () => {
    ref.file = null; ref.swatches = []; ref.edited = false; ref.selected = -1;
    preview.removeAttribute("src"); changed();
  });
  strength.addEventListener("input", () => { strengthOut.textContent = Number(strength.value).toFixed(2); });
  strength.addEventListener("change", () => { if (autoBox.checked) onChange(); });
  render();
}
