// The studio: the user's photo painted again by the instant painter at every change (a style,
// a slider, a toggle, a brush stroke), the newest change winning: one request at a time, and
// while it runs only the newest change waits. Everything the server says goes into the page
// as text (textContent), never as markup. Plain browser JavaScript, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const tg = window.Telegram && window.Telegram.WebApp;
const studio = $("studio");
const MIN_STRENGTH = 0.05, MAX_STRENGTH = 3.0;

const state = {
  words: {},
  choice: { photo: null, style: null, second_style: null, blend: 0.5, strength: 1.0,
            keep_colors: false, keep_faces: true, mask: null },
  inFlight: false,
  waiting: false, // a newer change waits for the request in flight
  shown: null, // object URL of the picture shown
  photos: new Map(), // photo id -> object URL of the photo itself (held to compare)
  brush: null, // "style" | "photo" | null
  maskCanvas: null,
  timings: [], // ms from a change being sent to its picture on screen (benchmarks/studio.py)
};
window.studioTimings = state.timings;

// ---------------------------------------------------------------- talking to the server

function headers(extra) {
  return Object.assign({ Authorization: "tma " + ((tg && tg.initData) || "") }, extra || {});
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({ cache: "no-store" }, options || {},
    { headers: headers((options || {}).headers) }));
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    const error = new Error(body.error || "failed");
    error.code = body.error || "failed";
    error.status = response.status;
    error.retryAfter = Number(response.headers.get("Retry-After") || "1");
    throw error;
  }
  return response;
}

async function pictureUrl(id, size) {
  const response = await api(`api/pictures/${encodeURIComponent(id)}?size=${size}`);
  return URL.createObjectURL(await response.blob());
}

// ---------------------------------------------------------------- words and notes

function word(key) { return state.words[key] || ""; }

function applyWords() {
  for (const node of document.querySelectorAll("[data-word]")) {
    node.textContent = word(node.dataset.word);
  }
  document.title = word("title") || "Studio";
}

function note(key, problem) {
  const node = $("note");
  node.textContent = key ? word(key) : "";
  node.className = problem ? "problem" : "";
  studio.dataset.note = key || "";
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- previews

function changed() {
  if (!state.choice.photo || !state.choice.style) return;
  if (state.inFlight) { state.waiting = true; return; }
  paintPreview();
}

async function paintPreview() {
  state.inFlight = true;
  state.waiting = false;
  $("busy").hidden = false;
  const sent = performance.now();
  try {
    const response = await api("api/preview", {
      method: "POST", body: JSON.stringify(state.choice),
      headers: { "Content-Type": "application/json" } });
    await show(URL.createObjectURL(await response.blob()));
    state.timings.push(performance.now() - sent);
    if (state.timings.length === 1) { // since this page began loading (benchmarks/studio.py)
      studio.dataset.firstPictureMs = String(Math.round(performance.now()));
    }
    studio.dataset.previews = String(state.timings.length);
    note(null);
  } catch (error) {
    await previewFailed(error);
  } finally {
    state.inFlight = false;
    $("busy").hidden = true;
  }
  if (state.waiting) paintPreview();
}

async function previewFailed(error) {
  if (error.status === 429) { // too fast: the newest change goes once we may
    await sleep(Math.min(error.retryAfter, 5) * 1000);
    state.waiting = true;
    return;
  }
  if (error.status === 503 && error.code === "painter_starting") {
    note("painter_starting");
    await sleep(2000);
    state.waiting = true;
    return;
  }
  if (error.status === 404 && state.choice.mask) { // the mask is gone: without it
    clearMask();
    state.waiting = true;
    return;
  }
  problem(error);
}

function problem(error) {
  const known = ["signed_out", "photo_gone", "style_gone", "unreachable", "painter_starting",
    "slow_down", "mask_unusable"];
  note(known.includes(error.code) ? error.code : "failed", true);
  studio.dataset.error = error.code || "failed";
}

async function show(url) {
  const image = $("painting");
  image.src = url;
  await image.decode().catch(() => {});
  if (state.shown) URL.revokeObjectURL(state.shown);
  state.shown = url;
  fitBrushLayer();
}

// ---------------------------------------------------------------- choosing

function pick(strip, id, button) {
  for (const other of strip.querySelectorAll("button")) {
    other.setAttribute("aria-selected", String(other === button));
  }
  return id;
}

function pictureButton(strip, id, label, onPick) {
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.id = id;
  button.setAttribute("aria-selected", "false");
  const image = document.createElement("img");
  image.alt = "";
  button.append(image);
  if (label) {
    const caption = document.createElement("span");
    caption.textContent = label;
    button.append(caption);
  }
  button.addEventListener("click", () => onPick(pick(strip, id, button)));
  strip.append(button);
  pictureUrl(id, "thumb").then((url) => { image.src = url; }).catch(() => {});
  return button;
}

// ---------------------------------------------------------------- the photo itself

function wireCompare() {
  const frame = $("frame");
  const image = $("painting");
  const showPhoto = async () => {
    if (state.brush || !state.shown) return;
    const id = state.choice.photo;
    if (!state.photos.has(id)) state.photos.set(id, await pictureUrl(id, "view").catch(() => ""));
    if (state.photos.get(id) && !state.brush) image.src = state.photos.get(id);
  };
  const showPainting = () => { if (state.shown) image.src = state.shown; };
  frame.addEventListener("pointerdown", showPhoto);
  for (const name of ["pointerup", "pointerleave", "pointercancel"]) {
    frame.addEventListener(name, showPainting);
  }
  $("compare-hint").hidden = false;
}

function choosePhoto(id) {
  state.choice.photo = id;
  clearMask();
  $("painting").removeAttribute("src");
  changed();
}

function chooseStyle(id) {
  state.choice.style = id;
  changed();
}

function sliderToStrength(value) {
  return MIN_STRENGTH * Math.pow(MAX_STRENGTH / MIN_STRENGTH, value / 100);
}

function strengthToSlider(strength) {
  return Math.round(100 * Math.log(strength / MIN_STRENGTH) / Math.log(MAX_STRENGTH / MIN_STRENGTH));
}

function wireControls(session) {
  const strength = $("strength");
  strength.value = String(strengthToSlider(state.choice.strength));
  strength.addEventListener("input", () => {
    state.choice.strength = Number(sliderToStrength(Number(strength.value)).toFixed(3));
    changed();
  });
  const second = $("second-style");
  const none = document.createElement("option");
  none.value = "";
  none.textContent = word("blend_none");
  second.append(none);
  for (const style of session.styles.presets) {
    const option = document.createElement("option");
    option.value = style.id;
    option.textContent = style.name;
    second.append(option);
  }
  const blend = $("blend");
  second.addEventListener("change", () => {
    state.choice.second_style = second.value || null;
    blend.disabled = !second.value;
    changed();
  });
  blend.addEventListener("input", () => {
    state.choice.blend = Number(blend.value) / 100;
    if (state.choice.second_style) changed();
  });
  for (const [id, key] of [["keep-colors", "keep_colors"], ["keep-faces", "keep_faces"]]) {
    $(id).addEventListener("change", () => { state.choice[key] = $(id).checked; changed(); });
  }
  $("paint").addEventListener("click", paintCarefully);
  wireBrush();
  wireCompare();
}

// ---------------------------------------------------------------- the brush

function wireBrush() {
  const frame = $("frame");
  const layer = $("brush-layer");
  for (const mode of ["style", "photo"]) {
    $(`brush-${mode}`).addEventListener("click", () => {
      state.brush = state.brush === mode ? null : mode;
      $("brush-style").setAttribute("aria-pressed", String(state.brush === "style"));
      $("brush-photo").setAttribute("aria-pressed", String(state.brush === "photo"));
      frame.classList.toggle("brushing", state.brush !== null);
    });
  }
  $("brush-clear").addEventListener("click", () => { clearMask(); changed(); });
  let drawing = false;
  layer.addEventListener("pointerdown", (event) => {
    if (!state.brush || !state.maskCanvas) return;
    drawing = true;
    layer.setPointerCapture(event.pointerId);
    stroke(event);
  });
  layer.addEventListener("pointermove", (event) => { if (drawing) stroke(event); });
  const finish = () => { if (drawing) { drawing = false; sendMask(); } };
  layer.addEventListener("pointerup", finish);
  layer.addEventListener("pointercancel", finish);
}

function fitBrushLayer() {
  const image = $("painting");
  const layer = $("brush-layer");
  if (!image.naturalWidth) return;
  if (!state.maskCanvas || state.maskCanvas.width !== image.naturalWidth ||
      state.maskCanvas.height !== image.naturalHeight) {
    const mask = document.createElement("canvas");
    mask.width = image.naturalWidth;
    mask.height = image.naturalHeight;
    const context = mask.getContext("2d");
    context.fillStyle = "#fff";
    context.fillRect(0, 0, mask.width, mask.height);
    state.maskCanvas = mask;
    layer.width = mask.width;
    layer.height = mask.height;
    layer.getContext("2d").clearRect(0, 0, layer.width, layer.height);
  }
}

function stroke(event) {
  const layer = $("brush-layer");
  const box = layer.getBoundingClientRect();
  const x = (event.clientX - box.left) * layer.width / box.width;
  const y = (event.clientY - box.top) * layer.height / box.height;
  const radius = Math.max(layer.width, layer.height) / 18;
  const keep = state.brush === "photo";
  const mask = state.maskCanvas.getContext("2d");
  mask.fillStyle = keep ? "#000" : "#fff";
  mask.beginPath();
  mask.arc(x, y, radius, 0, 2 * Math.PI);
  mask.fill();
  const shown = layer.getContext("2d"); // where the photo stays, tinted
  shown.globalCompositeOperation = keep ? "source-over" : "destination-out";
  shown.fillStyle = "#3390ec";
  shown.beginPath();
  shown.arc(x, y, radius, 0, 2 * Math.PI);
  shown.fill();
}

function clearMask() {
  state.choice.mask = null;
  state.maskCanvas = null;
  const layer = $("brush-layer");
  layer.getContext("2d").clearRect(0, 0, layer.width, layer.height);
  fitBrushLayer();
}

async function sendMask() {
  const blob = await new Promise((resolve) => state.maskCanvas.toBlob(resolve, "image/png"));
  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      const response = await api(`api/masks?photo=${encodeURIComponent(state.choice.photo)}`, {
        method: "POST", body: blob, headers: { "Content-Type": "image/png" } });
      state.choice.mask = (await response.json()).mask;
      studio.dataset.mask = state.choice.mask;
      changed();
      return;
    } catch (error) {
      if (error.status !== 429) { problem(error); return; }
      await sleep(Math.min(error.retryAfter, 5) * 1000); // a stroke is never lost to a limit
    }
  }
  note("slow_down", true);
}

// ---------------------------------------------------------------- paint carefully

async function paintCarefully() {
  const button = $("paint");
  button.disabled = true;
  try {
    await api("api/paint", { method: "POST", body: JSON.stringify(state.choice),
                             headers: { "Content-Type": "application/json" } });
    note("sent");
    studio.dataset.state = "sent";
    await sleep(700);
    if (tg) tg.close();
  } catch (error) {
    problem(error);
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- opening

async function wordsWithoutSignIn() {
  const language = (navigator.language || "en").toLowerCase();
  const response = await fetch(`words?language=${encodeURIComponent(language)}`);
  state.words = (await response.json()).words || {};
  applyWords();
}

async function open() {
  if (!tg || !tg.initData) {
    await wordsWithoutSignIn().catch(() => {});
    note("not_in_telegram", true);
    studio.dataset.state = "outside";
    return;
  }
  tg.ready();
  tg.expand();
  const job = new URLSearchParams(location.search).get("job") || "";
  let session;
  try {
    session = await (await api(`api/session?job=${encodeURIComponent(job)}`)).json();
  } catch (error) {
    await wordsWithoutSignIn().catch(() => {});
    problem(error);
    studio.dataset.state = "refused";
    return;
  }
  state.words = session.words;
  document.documentElement.lang = session.language;
  applyWords();
  if (!session.photos.length) {
    note("no_photos");
    studio.dataset.state = "empty";
    return;
  }
  const start = session.start || {};
  const photo = session.photos.find((p) => p.id === start.photo) || session.photos[0];
  const styles = [...session.styles.photos.map((s) => [s.id, ""]),
                  ...session.styles.presets.map((s) => [s.id, s.name])];
  const firstStyle = styles.find(([id]) => id === start.style) || styles.find(([id]) =>
    id.startsWith("preset:")) || styles[0];
  state.choice.photo = photo.id;
  state.choice.style = firstStyle[0];
  for (const [id, label] of styles) {
    const button = pictureButton($("styles"), id, label, chooseStyle);
    if (id === state.choice.style) button.setAttribute("aria-selected", "true");
  }
  for (const p of session.photos) {
    const button = pictureButton($("photos"), p.id, "", choosePhoto);
    if (p.id === state.choice.photo) button.setAttribute("aria-selected", "true");
  }
  wireControls(session);
  $("controls").hidden = false;
  $("actions").hidden = false;
  studio.dataset.state = "ready";
  note("loading");
  changed();
}

open();
