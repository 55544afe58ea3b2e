// The dashboard page: load /api/state, merge what /api/live pushes, redraw only what changed.
// The server does all the folding; the page keeps only the clock-driven figures.
import { merge, phaseNow, watchAt } from "./state.js";
import { createDial, createMeter, drawLoss, drawRoute, esrBand, fmt, heat } from "./draw.js";

const MAX_ROWS = 200; // table rows kept in the DOM; older takes stay in the state
const MAX_ALERT_ROWS = 50;
const FRAME_MS = 250; // at most four redraws a second, whatever the push rate
const STALE_MS = 15000; // no message (the server beats every 5 s): the connection is dead
const OFFLINE_AFTER_MS = 3000; // shorter gaps (a reload, a reconnect) do not dim the page
const CLIP_HOLD_MS = 2000; // a clip lamp stays lit this long after the last clipped block, or until clicked
const LIVE_IDLE_MS = 1500; // no live levels for this long: the meters fall back to idle
const RELOAD_GAP_MS = 2000; // a reload request while one just happened waits this long

const $ = (id) => document.getElementById(id);
const token = takeToken();
let S = null; // the state, as /api/state returns it, kept in step by merge()
let skew = 0; // server clock minus browser clock, seconds
let settingsById = new Map();
let lastUpdate = 0; // browser ms of the last message or load
const dirty = new Set();
const ui = { dials: new Map(), meters: {}, clipUntil: {}, liveAt: 0, rowsShown: 0, hover: null, lossGeom: null, playShown: "" };
const serverNow = () => Date.now() / 1000 + skew;
window.rigState = () => S; // for tests and the curious: the page's copy of /api/state

// The token leaves the address bar (and so history, screenshots, shoulder surfers) at once;
// session storage keeps it for reloads of this tab only.
function takeToken() {
  const params = new URLSearchParams(location.search);
  const given = params.get("token");
  if (given) {
    sessionStorage.setItem("rig-token", given);
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
  }
  return given || sessionStorage.getItem("rig-token");
}

// ---- loading and streaming -------------------------------------------------------------
async function loadState() {
  const res = await fetch("/api/state", { cache: "no-store" });
  if (!res.ok) throw new Error(`state: HTTP ${res.status}`);
  S = await res.json();
  skew = S.now - Date.now() / 1000;
  lastUpdate = Date.now();
  build();
  for (const name of ["header", "run", "progress", "current", "levels", "route", "training", "alerts", "takes"]) dirty.add(name);
  schedule();
}

let ws = null, lastMessage = 0, retryMs = 1000, retryTimer = null, lastReload = 0;

function connect() {
  clearTimeout(retryTimer);
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(`${proto}//${location.host}/api/live?fold=${encodeURIComponent(S.fold)}&rev=${S.rev}`);
  lastMessage = Date.now();
  ws.onmessage = (m) => {
    lastMessage = lastUpdate = Date.now();
    retryMs = 1000;
    const msg = JSON.parse(m.data);
    if (msg.reload) { ws.onclose = null; ws.close(); reload(); return; }
    skew = msg.now - Date.now() / 1000;
    if (msg.live) { renderLive(msg.live); setConn("live"); return; }
    merge(S, msg, dirty);
    setConn("live");
    schedule();
  };
  ws.onclose = () => { setConn("reconnecting"); retryTimer = setTimeout(connect, retryMs); retryMs = Math.min(retryMs * 2, 10000); };
}

// The server refolded (its log shrank or was replaced, or it restarted): one fresh snapshot.
async function reload() {
  const wait = lastReload + RELOAD_GAP_MS - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  lastReload = Date.now();
  try { await loadState(); } catch (err) { setConn("offline"); }
  connect();
}

function watchdog() {
  if (ws && ws.readyState === WebSocket.OPEN && Date.now() - lastMessage > STALE_MS) ws.close();
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible") return;
  if (S && (!ws || ws.readyState === WebSocket.CLOSED)) { retryMs = 1000; connect(); }
  schedule();
});

function setConn(text) {
  const el = $("conn");
  if (el.textContent !== text) { el.textContent = text; el.className = `conn ${text}`; }
  renderOffline();
}

// Stale data is dimmed under an overlay that says how old it is.
function renderOffline() {
  const live = $("conn").textContent === "live";
  const off = !live && lastUpdate && Date.now() - lastUpdate > OFFLINE_AFTER_MS;
  document.body.classList.toggle("stale", Boolean(off));
  $("offline").hidden = !off;
  if (off) {
    const ago = Math.round((Date.now() - lastUpdate) / 1000);
    $("offline-when").textContent = `${clock.format(new Date(lastUpdate))} (${duration(ago)} ago)`;
  }
}

// ---- redraw scheduling -------------------------------------------------------------------
let pending = false, lastFrame = 0;

function schedule() {
  if (pending || !S) return;
  pending = true;
  const wait = Math.max(0, FRAME_MS - (performance.now() - lastFrame));
  setTimeout(() => requestAnimationFrame(render), wait);
}

const renderers = {
  build, header: renderHeader, run: renderRun, progress: renderProgress, current: renderCurrent, levels: renderLevels,
  route: renderRoute, training: renderTraining, alerts: renderAlerts, takes: renderTakes, "takes-rebuilt": () => {},
};

function render() {
  pending = false;
  lastFrame = performance.now();
  if (document.hidden) return; // panels stay dirty; drawn when the tab is shown again
  if (dirty.has("build")) { build(); for (const n of ["current", "levels", "route", "takes"]) dirty.add(n); dirty.delete("build"); }
  if (dirty.has("takes-rebuilt")) { $("takes").tBodies[0].replaceChildren(); ui.rowsShown = 0; }
  for (const name of dirty) renderers[name]();
  dirty.clear();
  document.body.dataset.drawn = `${S.fold}:${S.rev}`; // the revision the panels show (tests wait on it)
}

// ---- panels --------------------------------------------------------------------------------
function build() {
  settingsById = new Map(S.settings.map((s) => [s.id, s]));
  const dials = $("dials");
  dials.replaceChildren();
  ui.dials.clear();
  for (const knob of S.knobs) {
    const dial = createDial(knob);
    ui.dials.set(knob.name, dial);
    dials.append(dial.el);
  }
  const meters = $("meters");
  meters.replaceChildren();
  for (const ch of ["loopback", "return"]) {
    ui.meters[ch] = createMeter(ch);
    ui.meters[ch].clip.onclick = () => { ui.clipUntil[ch] = 0; renderClips(); };
    meters.append(ui.meters[ch].el);
  }
  buildAxisPickers();
  $("takes").tBodies[0].replaceChildren();
  ui.rowsShown = 0;
}

function buildAxisPickers() {
  const sampled = S.knobs.map((k, i) => [k, i]).filter(([k]) => k.fixed == null);
  for (const [id, pick] of [["route-x", 0], ["route-y", 1]]) {
    const sel = $(id);
    const keep = sel.value;
    sel.replaceChildren(...sampled.map(([k, i]) => new Option(k.name, String(i))));
    sel.value = keep && sel.querySelector(`option[value="${keep}"]`) ? keep : String(sampled[Math.min(pick, sampled.length - 1)]?.[1] ?? 0);
    sel.onchange = () => { dirty.add("route"); schedule(); };
  }
  $("route-map").onchange = () => { dirty.add("route"); schedule(); };
}

function renderHeader() {
  $("device").textContent = S.device.name || "rig";
  const p = S.plan, splits = Object.entries(p.splits || {}).map(([k, v]) => `${v} ${k}`).join(", ");
  const bits = [p.name && `plan ${p.name}`, S.device.mode, splits && `settings: ${splits}`,
    p.take_seconds && `${p.take_seconds} s takes`, p.interface && `audio: ${p.interface}`, `session ${S.session.name}`];
  $("plan").textContent = bits.filter(Boolean).join(" · ");
  $("footer").textContent = `rig ${S.session.versions?.rig ?? ""} · plan ${S.session.plan_hash ?? ""} · created ${S.session.created ?? ""}`;
  renderTitle();
}

function renderTitle() {
  const ph = phaseNow(S, serverNow());
  const pct = ph.percent == null || ph.name === "done" || ph.name === "aborted" ? "" : ` ${Math.floor(ph.percent)}%`;
  document.title = `${ph.label}${pct} · ${S.device.name || "rig"} · rig`;
}

const ABORT_TEXT = {
  capture: "Abort the capture? Takes recorded so far are kept; continue later with rig capture --resume.",
  training: "Stop training? The trainer keeps its last checkpoint; continue later with rig train.",
  export: "Stop testing and export? The trained checkpoint is kept; export later with rig export.",
};

function renderRun() {
  const run = S.run, ph = S.phase;
  const badge = $("run-state");
  const shown = phaseNow(S, serverNow());
  const paused = ph.name === "capture" && ph.capture.state === "paused";
  badge.textContent = (paused ? "capture paused" : shown.label) + (ph.name === "aborted" && (ph.reason || run.reason) ? `: ${ph.reason || run.reason}` : "") +
    (ph.name === "done" && ph.reason ? " · not trained" : "");
  badge.title = ph.reason || "";
  badge.className = `badge ${paused ? "paused" : ph.name}`;
  badge.dataset.phase = ph.name;
  const controllable = Boolean(run.control && token);
  const working = ["capture", "training", "export"].includes(ph.name);
  $("btn-pause").disabled = !(controllable && ph.name === "capture" && run.state === "running");
  $("btn-resume").disabled = !(controllable && ph.name === "capture" && run.state === "paused");
  $("btn-abort").disabled = !(controllable && working);
  $("btn-abort").textContent = ph.name === "capture" || !working ? "Abort" : "Stop";
  const note = !run.control ? "read-only: not the live run" : !token ? "open the URL printed in the terminal (with ?token=) to control" : "";
  if (!$("control-note").dataset.busy) $("control-note").textContent = note;
  renderPlay();
  renderTitle();
}

function duration(s) {
  if (s == null || !Number.isFinite(s)) return "–";
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h ? `${h} h ${String(m).padStart(2, "0")} min` : `${m} min ${String(sec).padStart(2, "0")} s`;
}

function renderProgress() {
  const p = S.progress;
  const frac = p.total ? Math.min(1, p.done / p.total) : 0;
  $("done").textContent = p.done;
  $("total").textContent = p.total;
  $("percent").textContent = `${(frac * 100).toFixed(1)} %`;
  $("bar-fill").style.width = `${(frac * 100).toFixed(2)}%`;
  $("failed").textContent = p.failed;
  tick();
}

// Clock-driven figures, refreshed every second without touching the rest.
function tick() {
  if (!S) return;
  const now = serverNow();
  for (const key of ["capture", "training", "export"]) {
    const w = S.phase[key], t = watchAt(w, now);
    const row = document.querySelector(`#phases tr[data-phase="${key}"]`);
    row.className = w.state;
    row.cells[1].textContent = w.state === "running" && key === S.phase.name ? "running" : w.state;
    row.cells[2].textContent = duration(t.elapsed);
    row.cells[3].textContent = w.budget_s == null ? "–" : (key === "capture" ? "est. " : "") + duration(w.budget_s);
    row.cells[4].textContent = w.state === "done" ? "done" : w.state === "aborted" ? "stopped" : w.state === "pending" ? "–" : duration(t.eta);
  }
  const cap = S.phase.capture;
  $("elapsed").textContent = duration(watchAt(cap, now).elapsed);
  const eta = watchAt(cap, now).eta;
  $("eta").textContent = cap.state === "done" ? "done" : cap.state === "aborted" ? "stopped" : duration(eta);
  $("eta").dataset.seconds = eta == null ? "" : eta.toFixed(1);
  $("rate").textContent = cap.rate_per_h ? `${fmt(cap.rate_per_h, 1)} takes/h` : "–";
  renderTitle();
  renderClips();
  renderOffline();
}

function currentValues() {
  if (Object.keys(S.current.knobs || {}).length) return S.current.knobs;
  const last = S.takes[S.takes.length - 1];
  return last ? last.knobs : {};
}

function renderCurrent() {
  const values = currentValues();
  for (const knob of S.knobs) ui.dials.get(knob.name)?.set(values[knob.name] ?? knob.fixed ?? null);
  const set = settingsById.get(S.current.setting_id);
  $("current-id").textContent = set ? `#${set.id} · ${set.split}` : "";
  $("robot").textContent = S.current.robot || "–";
}

function renderLevels() {} // the last take's peaks are in the takes table; the meters are live

// The recording path's levels, ~10 Hz while a take records (not part of the state: see push.py).
function renderLive(live) {
  ui.liveAt = Date.now();
  $("meters").dataset.active = live.active ? "1" : "0";
  $("levels-seq").textContent = live.active ? "recording" : "idle";
  for (const ch of ["loopback", "return"]) {
    if (!live.active) { ui.meters[ch].set(null, null); continue; }
    ui.meters[ch].set(live.peak_dbfs?.[ch], live.rms_dbfs?.[ch]);
    if (live.clipped?.[ch] > 0) ui.clipUntil[ch] = Date.now() + CLIP_HOLD_MS;
  }
  renderClips();
}

function renderClips() {
  for (const ch of ["loopback", "return"]) ui.meters[ch]?.setClip((ui.clipUntil[ch] || 0) > Date.now());
  if (ui.liveAt && Date.now() - ui.liveAt > LIVE_IDLE_MS && $("meters").dataset.active === "1") {
    renderLive({ active: false });
  }
}

// Settings with a take are filled; references do not count (as in the server's progress).
function renderRoute() {
  const done = new Set(S.takes.filter((r) => r.split !== "reference" && r.setting_id != null).map((r) => r.setting_id));
  drawRoute($("route"), S, done, Number($("route-x").value), Number($("route-y").value), settingsById, $("route-map").value);
  renderActive();
}

// An active capture: what the last batch was and what the trainer proposes next.
function renderActive() {
  const a = S.active;
  $("active-view").hidden = !a;
  if (!a) return;
  const last = a.batches.at(-1), p = a.proposal;
  const bits = [last ? `batch ${last.batch}: ${last.ids.length} setting(s) from the ${last.source}` : "no batch accepted yet"];
  if (p && p.batch > (last?.batch || 0)) bits.push(`batch ${p.batch} proposed (${p.signal}, ${p.based_on_takes} prequential points)`);
  if (!a.map) bits.push("no error map yet: the trainer proposes space-filling settings until it has enough measurements");
  $("active-note").textContent = bits.join(" · ");
  const scale = $("route-map").value === "std" ? "0 .. 1.5 log-ESR" : "x0.3 .. x10";
  $("heat-scale").style.background = `linear-gradient(90deg, ${heat(0)}, ${heat(0.5)}, ${heat(1)})`;
  $("heat-scale").title = scale;
}

// ---- training --------------------------------------------------------------------------------
function pickedModel() {
  const names = Object.keys(S.training.models);
  if (!names.includes(ui.model)) ui.model = S.training.active;
  return S.training.models[ui.model] || null;
}

function renderTraining() {
  const models = Object.values(S.training.models);
  const m = pickedModel();
  ui.lossGeom = drawLoss($("loss"), m, ui.hover);
  renderModelRows(models);
  renderModelStats(m);
  const share = S.plan.models?.length > 1 ? ` (shared by ${S.plan.models.length} models)` : "";
  $("t-budget").textContent = S.plan.budget_minutes ? `${S.plan.budget_minutes} min after capture${share}` : "–";
  renderPerSetting(m);
}

// The picked model (click a row) in figures.
function renderModelStats(m) {
  const last = (xs) => (xs && xs.length ? xs[xs.length - 1] : null);
  $("t-status").textContent = m ? `${m.name}: ${m.status}` : "–";
  $("t-epoch").textContent = m && m.epoch.length ? last(m.epoch) : "–";
  $("t-lr").textContent = m && last(m.lr) != null ? Number(last(m.lr)).toExponential(2) : "–";
  $("t-takes").textContent = m?.takes_used ?? "–";
  $("t-val-esr").textContent = m ? fmt(last(m.val_esr), 4) : "–";
  $("t-test-esr").textContent = m ? fmt(m.test_esr, 4) : "–";
  $("t-export").textContent = m && m.exported.length ? m.exported.map((f) => f.split("/").pop()).join(", ") : m?.status === "finished" ? "none" : "–";
}

function cell(tr, text, cls) {
  const td = tr.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function renderModelRows(models) {
  const body = $("models").tBodies[0];
  body.replaceChildren();
  const last = (xs) => (xs && xs.length ? xs[xs.length - 1] : null);
  for (const m of models) {
    const tr = body.insertRow();
    tr.dataset.model = m.name;
    tr.className = m.name === ui.model ? "picked" : "";
    tr.onclick = () => { ui.model = m.name; dirty.add("training"); schedule(); };
    cell(tr, m.name, "name");
    cell(tr, m.status);
    cell(tr, m.params == null ? "–" : Number(m.params).toLocaleString("en"));
    cell(tr, m.epoch.length ? String(last(m.epoch)) : "–");
    cell(tr, m.best_epoch ?? "–");
    cell(tr, fmt(last(m.val_esr), 4));
    const band = esrBand(m.test_esr);
    const test = cell(tr, fmt(m.test_esr, 4), `esr ${band.cls}`);
    test.title = band.text;
    const links = tr.insertCell();
    links.className = "links";
    for (const path of [m.report, ...m.exported].filter(Boolean)) {
      const a = document.createElement("a");
      a.href = `/api/files/${path.split("/").map(encodeURIComponent).join("/")}`;
      a.textContent = path.split("/").pop();
      a.target = "_blank";
      a.rel = "noopener";
      links.append(a, " ");
    }
    if (!links.childNodes.length) links.textContent = m.status === "finished" ? "none" : "–";
  }
  if (!models.length) cell(body.insertRow(), "waiting for the trainer").colSpan = 8;
}

function renderPerSetting(m) {
  const list = $("per-setting");
  const rows = m?.per_setting || [];
  list.replaceChildren(...rows.map((r) => {
    const li = document.createElement("li");
    const band = esrBand(r.esr);
    li.className = band.cls;
    li.textContent = `#${r.setting_id} ${settingText(r.knobs)}: ESR ${fmt(r.esr, 4)} (${band.text})`;
    return li;
  }));
  $("per-setting-note").textContent = rows.length ? `${m.name}, ${rows.length} test settings` : "after training";
}

function lossHover(ev) {
  const g = ui.lossGeom, m = pickedModel();
  if (!g || !m) return;
  const rect = $("loss").getBoundingClientRect();
  const i = g.nearest(ev.clientX - rect.left);
  if (i === ui.hover) return;
  ui.hover = i;
  const tip = $("loss-tip");
  if (i == null) { tip.hidden = true; } else {
    tip.hidden = false;
    tip.textContent = `epoch ${m.epoch[i]} · train ${fmt(m.train[i], 4)} · val ${fmt(m.val[i], 4)} · val ESR ${fmt(m.val_esr[i], 4)}`;
  }
  dirty.add("training");
  schedule();
}

// One formatter: toLocaleTimeString() builds a new one per call, which dominated first paint.
const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

function renderAlerts() {
  const c = S.alert_counts;
  $("alert-counts").textContent = `${c.error || 0} errors · ${c.warning || 0} warnings · ${c.info || 0} info`;
  const items = S.alerts.slice(-MAX_ALERT_ROWS).reverse().map((a) => {
    const li = document.createElement("li");
    li.className = a.level;
    const when = document.createElement("time");
    when.textContent = a.t ? clock.format(new Date(a.t * 1000)) : "";
    const kind = document.createElement("b");
    kind.textContent = a.kind || a.level;
    li.append(when, kind, document.createTextNode(` ${a.message ?? ""}`));
    return li;
  });
  $("alerts").replaceChildren(...items);
}

// Rows are added newest on top; the oldest fall off past MAX_ROWS. A replaced list rebuilds.
function renderTakes() {
  const body = $("takes").tBodies[0];
  const fresh = S.takes.slice(Math.max(ui.rowsShown, S.takes.length - MAX_ROWS));
  const frag = document.createDocumentFragment();
  for (let i = fresh.length - 1; i >= 0; i--) frag.append(takeRow(fresh[i]));
  body.prepend(frag);
  while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
  ui.rowsShown = S.takes.length;
  $("takes-note").textContent = S.takes.length > MAX_ROWS ? `latest ${MAX_ROWS} of ${S.takes.length}` : `${S.takes.length}`;
}

function settingText(knobs) {
  return S.knobs.filter((k) => k.fixed == null).map((k) => `${k.label || k.name} ${fmt(knobs?.[k.name], 2)}`).join("  ");
}

const TAKE_COLUMNS = ["#", "take", "split", "setting", "latency ms", "SNR dB", "send dBFS", "return dBFS", "QC", "retries"];

function takeRow(t) {
  const tr = document.createElement("tr");
  tr.dataset.take = t.take_id;
  const cells = [t.index ?? "", t.take_id, t.split, settingText(t.knobs), fmt(t.latency_ms, 2), fmt(t.snr_db, 1),
    fmt(t.send_dbfs, 1), fmt(t.return_dbfs, 1), t.qc, t.retries];
  cells.forEach((text, i) => { cell(tr, text).dataset.label = TAKE_COLUMNS[i]; });
  const qc = tr.cells[8];
  qc.className = `qc ${t.qc}`;
  if (t.qc_reasons?.length) qc.title = t.qc_reasons.join("; ");
  const audio = tr.insertCell();
  audio.className = "audio";
  if (t.audio) for (const kind of ["dry", "wet"]) audio.append(playButton(t.take_id, kind));
  return tr;
}

// Players are created on demand: hundreds of <audio> elements would slow the page.
function playButton(takeId, kind) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "play";
  b.textContent = `▶ ${kind}`;
  b.onclick = () => {
    const player = document.createElement("audio");
    player.controls = true;
    player.preload = "auto";
    player.src = `/api/takes/${encodeURIComponent(takeId)}/${kind}.wav`;
    player.dataset.kind = kind;
    b.replaceWith(player);
    player.play().catch(() => {});
  };
  return b;
}

// ---- controls -------------------------------------------------------------------------------
async function control(action) {
  if (action === "abort" && !confirm(ABORT_TEXT[S.phase.name] || ABORT_TEXT.capture)) return;
  const note = $("control-note");
  note.dataset.busy = "1";
  note.textContent = `${action}…`;
  try {
    const res = await fetch(`/api/control/${action}`, { method: "POST", headers: { "X-Rig-Token": token } });
    const body = await res.json().catch(() => ({}));
    note.textContent = res.ok ? `${action}: ${body.state}` : `${action} refused: ${body.detail || res.status}`;
  } catch (err) {
    note.textContent = `${action} failed: ${err.message}`;
  } finally {
    delete note.dataset.busy;
  }
}

// ---- Play panel: an attached `rig play` (rig/dashboard/play.py) -----------------------------
function renderPlay() {
  const p = S.run.player;
  $("play-card").hidden = !p;
  if (!p) { ui.playShown = ""; return; }
  $("play-model").textContent = p.model;
  $("play-note").textContent = token ? "" : "open the URL printed in the terminal (with ?token=) to move the knobs";
  const shape = JSON.stringify(p.knobs);
  if (ui.playShown !== shape) { buildPlay(p); ui.playShown = shape; }
  for (const k of p.knobs) {
    const input = document.querySelector(`#play-knobs input[data-knob="${CSS.escape(k.name)}"]`);
    if (input && document.activeElement !== input && p.values[k.name] != null) {
      input.value = p.values[k.name];
      input.nextElementSibling.textContent = fmt(p.values[k.name], 2);
    }
  }
}

function buildPlay(p) {
  const box = $("play-knobs");
  box.replaceChildren();
  for (const k of p.knobs) {
    const row = document.createElement("label");
    row.className = "play-knob";
    const name = document.createElement("span");
    name.textContent = k.name;
    const input = document.createElement("input");
    Object.assign(input, { type: "range", min: k.min, max: k.max, step: (k.max - k.min) / 200, value: p.values[k.name] ?? k.min });
    input.dataset.knob = k.name;
    input.disabled = !token;
    const value = document.createElement("span");
    value.className = "play-value";
    value.textContent = fmt(Number(input.value), 2);
    input.oninput = () => { value.textContent = fmt(Number(input.value), 2); sendKnob(k.name, Number(input.value)); };
    row.append(name, input, value);
    box.append(row);
  }
}

// Slider moves are sent at most every 50 ms (the player glides between them), the last one always.
const playPending = new Map();
let playTimer = null;
function sendKnob(name, value) {
  playPending.set(name, value);
  if (!playTimer) playTimer = setTimeout(flushKnobs, 50);
}

async function flushKnobs() {
  playTimer = null;
  const body = Object.fromEntries(playPending);
  playPending.clear();
  try {
    const res = await fetch("/api/play/knobs", {
      method: "POST", headers: { "X-Rig-Token": token, "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const reply = await res.json().catch(() => ({}));
    $("play-note").textContent = res.ok ? "" : `refused: ${reply.detail || res.status}`;
  } catch (err) {
    $("play-note").textContent = `not sent: ${err.message}`;
  }
}

for (const action of ["pause", "resume", "abort"]) $(`btn-${action}`).onclick = () => control(action);
$("loss").addEventListener("mousemove", lossHover);
$("loss").addEventListener("mouseleave", () => { ui.hover = null; $("loss-tip").hidden = true; dirty.add("training"); schedule(); });
window.addEventListener("resize", () => { dirty.add("route").add("training"); schedule(); });
setInterval(tick, 1000);
setInterval(watchdog, 2000);

(async function start() {
  for (;;) {
    try { await loadState(); break; } catch (err) { setConn("offline"); await new Promise((r) => setTimeout(r, 2000)); }
  }
  connect();
})();
