// Small drawing helpers: SVG knob dials, level meters, and canvas plots (route, losses).

const SVG = "http://www.w3.org/2000/svg";
const SPLIT_COLOURS = { train: "#4ea1ff", val: "#b58cff", test: "#ffa94d", reference: "#9aa5b1" };

function svgEl(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

// Angles in degrees, clockwise from 12 o'clock.
function polar(r, deg) {
  const a = (deg * Math.PI) / 180;
  return [50 + r * Math.sin(a), 50 - r * Math.cos(a)];
}

function arc(r, a0, a1) {
  const [x0, y0] = polar(r, a0), [x1, y1] = polar(r, a1);
  const large = a1 - a0 > 180 ? 1 : 0;
  return `M${x0.toFixed(2)} ${y0.toFixed(2)} A${r} ${r} 0 ${large} 1 ${x1.toFixed(2)} ${y1.toFixed(2)}`;
}

export function fmt(v, digits = 1) {
  return v == null || Number.isNaN(v) ? "–" : Number(v).toFixed(digits);
}

// A dial for one knob; returns {el, set(value)} so updates touch three attributes only.
export function createDial(knob) {
  const half = (knob.rotation_deg || 300) / 2;
  const wrap = document.createElement("figure");
  wrap.className = "dial" + (knob.fixed != null ? " fixed" : "");
  wrap.dataset.knob = knob.name;
  const svg = svgEl("svg", { viewBox: "0 0 100 100", role: "img" });
  svg.append(svgEl("path", { d: arc(40, -half, half), class: "dial-track" }));
  const value = svgEl("path", { d: "", class: "dial-value" });
  const cap = svgEl("circle", { cx: 50, cy: 50, r: 27, class: "dial-cap" });
  const pointer = svgEl("line", { x1: 50, y1: 50, x2: 50, y2: 28, class: "dial-pointer" });
  const text = svgEl("text", { x: 50, y: 86, class: "dial-text", "text-anchor": "middle" });
  svg.append(value, cap, pointer, text);
  const caption = document.createElement("figcaption");
  caption.textContent = knob.label && knob.label !== knob.name ? `${knob.name} (${knob.label})` : knob.name;
  wrap.append(svg, caption);
  const set = (v) => {
    const known = v != null && !Number.isNaN(v);
    const frac = known ? Math.min(1, Math.max(0, (v - knob.min) / (knob.max - knob.min))) : 0;
    const deg = -half + frac * 2 * half;
    value.setAttribute("d", known && frac > 0.001 ? arc(40, -half, deg) : "");
    pointer.setAttribute("transform", `rotate(${deg.toFixed(1)} 50 50)`);
    text.textContent = known ? fmt(v, 2) : "–";
    wrap.dataset.value = known ? String(v) : "";
  };
  set(null);
  return { el: wrap, set };
}

// Live level meter: RMS as the filled bar, peak as a marker over a -60..0 dBFS scale, and a
// clip lamp that the page latches (see app.js) and a click clears.
export function createMeter(name) {
  const row = document.createElement("div");
  row.className = "meter";
  row.dataset.channel = name;
  row.innerHTML = '<span class="meter-name"></span><div class="meter-track"><div class="meter-cover"></div>' +
    '<div class="meter-peak"></div></div><span class="meter-db"></span>' +
    '<button type="button" class="clip" title="clipped in the last 2 s; click to clear">CLIP</button>';
  row.querySelector(".meter-name").textContent = name;
  const cover = row.querySelector(".meter-cover"), peakMark = row.querySelector(".meter-peak");
  const db = row.querySelector(".meter-db"), clip = row.querySelector(".clip");
  const frac = (v) => (v == null ? 0 : Math.min(1, Math.max(0, (v + 60) / 60)));
  const set = (peak, rms) => {
    cover.style.width = `${((1 - frac(rms)) * 100).toFixed(1)}%`;
    peakMark.style.left = `calc(${(frac(peak) * 100).toFixed(1)}% - 2px)`;
    peakMark.hidden = peak == null;
    db.textContent = peak == null ? "– dB" : `${fmt(peak, 1)} / ${fmt(rms, 1)}`;
    db.title = "peak / RMS, dBFS";
    row.dataset.peak = peak == null ? "" : String(peak);
    row.dataset.rms = rms == null ? "" : String(rms);
  };
  const setClip = (on) => { clip.classList.toggle("on", on); row.dataset.clip = on ? "1" : "0"; };
  set(null, null);
  setClip(false);
  return { el: row, set, setClip, clip };
}

// Canvas sized to its CSS box at the device pixel ratio; returns a context in CSS pixels.
function fit(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = "11px system-ui, sans-serif";
  return [ctx, w, h];
}

const INK = "#c9d1d9", GRID = "#2b3440", MUTED = "#6e7b8b";

function axes(ctx, box, xLabel, yLabel, yGap = 30) {
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  ctx.strokeRect(box.x, box.y, box.w, box.h);
  ctx.fillStyle = MUTED;
  ctx.textAlign = "center";
  ctx.fillText(xLabel, box.x + box.w / 2, box.y + box.h + 26);
  ctx.save();
  ctx.translate(box.x - yGap, box.y + box.h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(yLabel, 0, 0);
  ctx.restore();
}

// The route in the plane of two knobs: done takes filled, remaining hollow, current ringed.
// An active capture adds its accepted settings (dots off the stored route), rings the last
// accepted batch, marks the trainer's pending proposal with diamonds, and shades the error
// or uncertainty map of its surrogate behind them (`mapKind`: "error", "std" or "off").
export function drawRoute(canvas, s, doneIds, xi, yi, settingsById, mapKind = "error") {
  const [ctx, w, h] = fit(canvas);
  const box = { x: 44, y: 10, w: w - 56, h: h - 46 };
  const kx = s.knobs[xi], ky = s.knobs[yi];
  if (!kx || !ky) return;
  const fx = (v) => (v - kx.min) / (kx.max - kx.min), fy = (v) => (v - ky.min) / (ky.max - ky.min);
  const at = (v) => [box.x + fx(v[xi]) * box.w, box.y + (1 - fy(v[yi])) * box.h];
  if (s.active?.map && mapKind !== "off") shadeMap(ctx, box, s.active.map, kx.name, ky.name, mapKind);
  axes(ctx, box, kx.name, ky.name);
  const routed = new Set(s.route);
  const pts = s.route.map((id) => settingsById.get(id)).filter(Boolean).map((set) => ({ p: at(set.v), done: doneIds.has(set.id) }));
  ctx.lineWidth = 1;
  for (let i = 1; i < pts.length; i++) {
    const both = pts[i - 1].done && pts[i].done;
    ctx.strokeStyle = both ? "rgba(78,161,255,0.55)" : "rgba(110,123,139,0.35)";
    ctx.setLineDash(both ? [] : [3, 3]);
    ctx.beginPath();
    ctx.moveTo(...pts[i - 1].p);
    ctx.lineTo(...pts[i].p);
    ctx.stroke();
  }
  ctx.setLineDash([]);
  for (const set of s.settings) {
    if (!routed.has(set.id) && !s.active) continue;
    const colour = SPLIT_COLOURS[set.split] || INK;
    mark(ctx, at(set.v), 3.5, colour, doneIds.has(set.id));
  }
  const last = s.active?.batches?.at(-1);
  for (const id of last?.ids || []) {
    const set = settingsById.get(id);
    if (set) ring(ctx, at(set.v), 6.5, "#ffd43b", 1.5);
  }
  for (const v of pendingProposal(s.active) || []) diamond(ctx, at(v), 5, "#ffd43b");
  const cur = settingsById.get(s.current.setting_id);
  if (cur) ring(ctx, at(cur.v), 8, "#ffffff", 2);
}

// The proposal written for the batch after the last accepted one (not yet accepted), if any.
function pendingProposal(active) {
  const p = active?.proposal, done = active?.batches?.at(-1)?.batch || 0;
  return p && p.batch > done ? p.settings : null;
}

function mark(ctx, [x, y], r, colour, filled) {
  ctx.beginPath();
  ctx.arc(x, y, r, 0, 2 * Math.PI);
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour;
  if (filled) ctx.fill(); else ctx.stroke();
}

function ring(ctx, [x, y], r, colour, width) {
  ctx.beginPath();
  ctx.arc(x, y, r, 0, 2 * Math.PI);
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  ctx.stroke();
  ctx.lineWidth = 1;
}

function diamond(ctx, [x, y], r, colour) {
  ctx.beginPath();
  ctx.moveTo(x, y - r); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r); ctx.lineTo(x - r, y); ctx.closePath();
  ctx.strokeStyle = colour;
  ctx.lineWidth = 1.5;
  ctx.stroke();
  ctx.lineWidth = 1;
}

// The surrogate's map for this knob pair (either order) as shaded cells: error relative to an
// average unseen setting on a log scale (x0.3 .. x10), or its std in log-ESR (0 .. 1.5).
function shadeMap(ctx, box, map, xName, yName, kind) {
  const pair = map.pairs.find((p) => (p.x === xName && p.y === yName) || (p.x === yName && p.y === xName));
  if (!pair) return;
  const swap = pair.x !== xName, n = map.bins, grid = pair[kind === "std" ? "std" : "error"];
  const level = kind === "std" ? (v) => v / 1.5 : (v) => (Math.log10(v) + 0.5) / 1.5;
  const cw = box.w / n, ch = box.h / n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = swap ? grid[j][i] : grid[i][j];
      if (v == null) continue;
      ctx.fillStyle = heat(Math.min(1, Math.max(0, level(v))));
      ctx.fillRect(box.x + i * cw, box.y + box.h - (j + 1) * ch, cw + 0.5, ch + 0.5);
    }
  }
}

// Dark blue (low) to red (high), translucent so the settings stay readable.
export function heat(t) {
  const r = Math.round(30 + 200 * t), g = Math.round(60 + 60 * Math.sin(Math.PI * t)), b = Math.round(140 * (1 - t) + 30);
  return `rgba(${r},${g},${b},0.55)`;
}

// Decades; 2x and 5x steps below two decades; every digit below half a decade.
function logTicks(lo, hi) {
  const steps = hi - lo >= 2 ? [1] : hi - lo >= 0.5 ? [1, 2, 5] : [1, 2, 3, 4, 5, 6, 7, 8, 9];
  const ticks = [];
  for (let d = Math.floor(lo); d <= Math.ceil(hi); d++) {
    for (const m of steps) if (Math.log10(m * 10 ** d) >= lo && Math.log10(m * 10 ** d) <= hi) ticks.push(m * 10 ** d);
  }
  return ticks;
}

// NAM's ESR bands (S. Atkinson, Neural Amp Modeler, 2023), for the test ESR figures.
const BANDS = [[0.01, "great", "great"], [0.035, "not bad", "ok"], [0.1, "may sound ok", "fair"],
  [0.3, "probably not great", "poor"], [Infinity, "something went wrong", "bad"]];

export function esrBand(esr) {
  if (esr == null || Number.isNaN(esr)) return { text: "no test yet", cls: "none" };
  const [, text, cls] = BANDS.find(([limit]) => esr < limit);
  return { text, cls };
}

const CURVES = [["train", "#4ea1ff"], ["val", "#ffa94d"], ["val_esr", "#b58cff"]];

// Train loss, val loss and val ESR per epoch on one log scale; `hover` (an index) gets a
// marker line. Returns {nearest(x)}: the epoch index under a pointer at x (CSS pixels).
export function drawLoss(canvas, model, hover) {
  const [ctx, w, h] = fit(canvas);
  const box = { x: 60, y: 10, w: w - 72, h: h - 46 };
  const values = model ? CURVES.flatMap(([key]) => model[key]).filter((v) => v > 0) : [];
  if (!values.length) {
    ctx.fillStyle = MUTED;
    ctx.textAlign = "center";
    ctx.fillText(model ? "waiting for the first epoch" : "waiting for the trainer", w / 2, h / 2);
    return null;
  }
  let lo = Math.log10(Math.min(...values)), hi = Math.log10(Math.max(...values));
  if (hi - lo < 0.2) { lo -= 0.1; hi += 0.1; }
  const epochs = model.epoch.filter((e) => e != null);
  const e0 = Math.min(...epochs), e1 = Math.max(e0 + 1, ...epochs);
  const X = (e) => box.x + ((e - e0) / (e1 - e0)) * box.w;
  const Y = (v) => box.y + (1 - (Math.log10(v) - lo) / (hi - lo)) * box.h;
  axes(ctx, box, "epoch", "loss / ESR (log)", 46);
  ctx.textAlign = "right";
  for (const t of logTicks(lo, hi)) {
    ctx.strokeStyle = GRID;
    ctx.beginPath(); ctx.moveTo(box.x, Y(t)); ctx.lineTo(box.x + box.w, Y(t)); ctx.stroke();
    ctx.fillStyle = MUTED;
    ctx.fillText(t >= 0.01 && t < 1000 ? String(+t.toPrecision(2)) : t.toExponential(0), box.x - 4, Y(t) + 4);
  }
  ctx.textAlign = "center";
  ctx.fillText(String(e0), box.x, box.y + box.h + 13);
  ctx.fillText(String(e1), box.x + box.w, box.y + box.h + 13);
  for (const [key, colour] of CURVES) line(ctx, model.epoch, model[key], X, Y, colour);
  if (model.best_epoch != null) {
    ctx.fillStyle = "#3fb950";
    ctx.beginPath(); ctx.arc(X(model.best_epoch), box.y + box.h, 4, 0, 2 * Math.PI); ctx.fill();
  }
  if (hover != null && model.epoch[hover] != null) {
    ctx.strokeStyle = "#e6edf3";
    ctx.setLineDash([2, 3]);
    ctx.beginPath(); ctx.moveTo(X(model.epoch[hover]), box.y); ctx.lineTo(X(model.epoch[hover]), box.y + box.h); ctx.stroke();
    ctx.setLineDash([]);
  }
  return {
    nearest(x) {
      if (x < box.x - 10 || x > box.x + box.w + 10) return null;
      let best = null;
      model.epoch.forEach((e, i) => { if (e != null && (best == null || Math.abs(X(e) - x) < Math.abs(X(model.epoch[best]) - x))) best = i; });
      return best;
    },
  };
}

function line(ctx, xs, ys, X, Y, colour) {
  ctx.strokeStyle = colour;
  ctx.lineWidth = 1.6;
  ctx.beginPath();
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] == null || !(ys[i] > 0)) { pen = false; continue; }
    if (pen) ctx.lineTo(X(xs[i]), Y(ys[i])); else ctx.moveTo(X(xs[i]), Y(ys[i]));
    pen = true;
  }
  ctx.stroke();
}
