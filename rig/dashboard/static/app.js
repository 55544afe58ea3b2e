// The dashboard page: load /api/state, follow /api/events, redraw only what changed.
import { applyEvent, prepare, timing } from "./state.js";
import { createDial, createMeter, drawLoss, drawRoute, fmt } from "./draw.js";

const MAX_ROWS = 200; // table rows kept in the DOM; older takes stay in the state
const MAX_ALERT_ROWS = 50;
const FRAME_MS = 250; // at most four redraws a second, whatever the event rate
const STALE_MS = 15000; // no message (the server beats every 5 s): the connection is dead
const CLIP_HOLD_S = 5;

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get("token");
let S = null; // state, as /api/state returns it plus indexes (see state.js prepare)
let cursor = 0; // byte offset in events.jsonl up to which S is folded
let skew = 0; // server clock minus browser clock, seconds
let settingsById = new Map();
const dirty = new Set();
const ui = { dials: new Map(), meters: {}, rowsShown: 0 };
const serverNow = () => Date.now() / 1000 + skew;

// ---- loading and streaming -------------------------------------------------------------
async function loadState() {
  const res = await fetch("/api/state", { cache: "no-store" });
  if (!res.ok) throw new Error(`state: HTTP ${res.status}`);
  S = prepare(await res.json());
  cursor = S.cursor;
  skew = S.now - Date.now() / 1000;
  settingsById = new Map(S.settings.map((s) => [s.id, s]));
  build();
  for (const name of ["header", "run", "progress", "current", "levels", "route", "training", "alerts", "takes"]) dirty.add(name);
  schedule();
}

let ws = null, lastMessage = 0, retryMs = 1000, retryTimer = null;

function connect() {
  clearTimeout(retryTimer);
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(`${proto}//${location.host}/api/events?after=${cursor}`);
  lastMessage = Date.now();
  ws.onmessage = (m) => {
    lastMessage = Date.now();
    retryMs = 1000;
    const msg = JSON.parse(m.data);
    if (msg.resync) { ws.onclose = null; ws.close(); resync(); return; }
    for (const e of msg.events) applyEvent(S, e, dirty);
    cursor = msg.cursor;
    setConn("live");
    if (msg.events.length) schedule();
  };
  ws.onclose = () => { setConn("reconnecting"); retryTimer = setTimeout(connect, retryMs); retryMs = Math.min(retryMs * 2, 10000); };
}

// The log was replaced or we are far behind (long sleep): a fresh snapshot is cheaper than a replay.
async function resync() {
  try { await loadState(); } catch (err) { setConn("offline"); }
  connect();
}

function watchdog() {
  if (ws && ws.readyState === WebSocket.OPEN && Date.now() - lastMessage > STALE_MS) ws.close();
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible") return;
  if (!ws || ws.readyState === WebSocket.CLOSED) { retryMs = 1000; connect(); }
  schedule();
});

function setConn(text) {
  const el = $("conn");
  if (el.textContent !== text) { el.textContent = text; el.className = `conn ${text}`; }
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
  header: renderHeader, run: renderRun, progress: renderProgress, current: renderCurrent, levels: renderLevels,
  route: renderRoute, training: renderTraining, alerts: renderAlerts, takes: renderTakes,
};

function render() {
  pending = false;
  lastFrame = performance.now();
  if (document.hidden) return; // panels stay dirty; drawn when the tab is shown again
  for (const name of dirty) renderers[name]();
  dirty.clear();
}

// ---- panels --------------------------------------------------------------------------------
function build() {
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
  for (const ch of ["send", "loopback", "return"]) {
    ui.meters[ch] = createMeter(ch);
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
}

function renderHeader() {
  $("device").textContent = S.device.name || "rig";
  document.title = `${S.device.name || "rig"} · rig dashboard`;
  const p = S.plan, splits = Object.entries(p.splits || {}).map(([k, v]) => `${v} ${k}`).join(", ");
  const bits = [p.name && `plan ${p.name}`, S.device.mode, splits && `settings: ${splits}`,
    p.take_seconds && `${p.take_seconds} s takes`, p.interface && `audio: ${p.interface}`, `session ${S.session.name}`];
  $("plan").textContent = bits.filter(Boolean).join(" · ");
  $("footer").textContent = `rig ${S.session.versions?.rig ?? ""} · plan ${S.session.plan_hash ?? ""} · created ${S.session.created ?? ""}`;
}

function renderRun() {
  const run = S.run, st = run.state;
  const badge = $("run-state");
  badge.textContent = st + (run.reason ? `: ${run.reason}` : "");
  badge.className = `badge ${st}`;
  const capturing = !["finished", "aborted"].includes(st);
  const live = run.control && token && capturing;
  // After capture the trainer may still run: abort then stops it (capture's follow loop).
  const training = Object.values(S.training.models).some((m) => !["finished", "waiting"].includes(m.status));
  $("btn-pause").disabled = !(live && st !== "paused");
  $("btn-resume").disabled = !(live && st === "paused");
  $("btn-abort").disabled = !(run.control && token && (capturing || (st === "finished" && training)));
  const note = !run.control ? "read-only: not the live run" : !token ? "open the URL printed in the terminal (with ?token=) to control" : "";
  if (!$("control-note").dataset.busy) $("control-note").textContent = note;
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
  const t = timing(S, serverNow());
  $("elapsed").textContent = duration(t.elapsed);
  $("eta").textContent = S.run.state === "finished" ? "done" : duration(t.eta);
  $("rate").textContent = t.rate ? `${fmt(t.rate, 1)} takes/h` : "–";
  if (S.levels) renderLevels();
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

function renderLevels() {
  const l = S.levels;
  if (!l) return;
  const now = serverNow();
  for (const ch of ["send", "loopback", "return"]) {
    const clipT = l.clip_t?.[ch];
    ui.meters[ch].set(l[`${ch}_dbfs`], clipT != null && now - clipT < CLIP_HOLD_S, l.clip_count?.[ch]);
  }
}

function renderRoute() {
  drawRoute($("route"), S, Number($("route-x").value), Number($("route-y").value), settingsById);
}

function activeModel() {
  const names = Object.keys(S.training.models);
  const pick = $("model-pick");
  if (names.length > 1 && pick.options.length !== names.length) {
    pick.replaceChildren(...names.map((n) => new Option(n, n)));
    pick.value = S.training.active;
    pick.hidden = false;
    pick.onchange = () => { dirty.add("training"); schedule(); };
  }
  return S.training.models[names.length > 1 ? pick.value : S.training.active] || null;
}

function renderTraining() {
  const m = activeModel();
  drawLoss($("loss"), m);
  const last = (xs) => (xs && xs.length ? xs[xs.length - 1] : null);
  $("t-status").textContent = m ? `${m.name}: ${m.status}` : "–";
  $("t-epoch").textContent = m && m.epoch.length ? last(m.epoch) : "–";
  $("t-lr").textContent = m && last(m.lr) != null ? Number(last(m.lr)).toExponential(2) : "–";
  $("t-takes").textContent = m?.takes_used ?? "–";
  $("t-val-esr").textContent = m ? fmt(last(m.val_esr), 4) : "–";
  $("t-test-esr").textContent = m ? fmt(m.test_esr, 4) : "–";
  $("t-export").textContent = m && m.exported.length ? m.exported.map((f) => f.split("/").pop()).join(", ") : m?.status === "finished" ? "none" : "–";
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

// Rows are only ever added (newest on top); the oldest fall off past MAX_ROWS.
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
  return S.knobs.filter((k) => k.fixed == null).map((k) => `${k.label || k.name} ${fmt(knobs[k.name], 2)}`).join("  ");
}

function takeRow(t) {
  const tr = document.createElement("tr");
  tr.dataset.take = t.take_id;
  const cells = [t.index ?? "", t.take_id, t.split, settingText(t.knobs), fmt(t.latency_ms, 2), fmt(t.snr_db, 1), t.qc, t.retries];
  for (const text of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  const qc = tr.cells[6];
  qc.className = `qc ${t.qc}`;
  if (t.qc_reasons?.length) qc.title = t.qc_reasons.join("; ");
  const audio = document.createElement("td");
  audio.className = "audio";
  if (t.audio) for (const kind of ["dry", "wet"]) audio.append(playButton(t.take_id, kind));
  tr.append(audio);
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
  if (action === "abort" && !confirm("Abort the capture run?")) return;
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

for (const action of ["pause", "resume", "abort"]) $(`btn-${action}`).onclick = () => control(action);
window.addEventListener("resize", () => { dirty.add("route").add("training"); schedule(); });
setInterval(tick, 1000);
setInterval(watchdog, 2000);

(async function start() {
  for (;;) {
    try { await loadState(); break; } catch (err) { setConn("offline"); await new Promise((r) => setTimeout(r, 2000)); }
  }
  connect();
})();
