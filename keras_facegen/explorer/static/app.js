// keras-facegen explorer page: plain JavaScript, no build step.
// State: one byte per slider (the hex code) and, for "directions" models, a seed.
"use strict";

const $ = (id) => document.getElementById(id);
const DEBOUNCE_MS = 40;

const state = {
  info: null,
  bytes: [],
  seed: 0,
  good: [],
  bad: [],
  offset: null,
  requested: 0, // sequence number of the latest image request
  shown: 0, // sequence number of the image on screen
  timer: null,
  faceUrl: null,
  morphUrl: null,
  morphSeeds: [0, 0],
};

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      detail = (await response.json()).detail;
    } catch (error) {
      // not JSON: keep the status line
    }
    throw new Error(detail);
  }
  return response;
}

const hex = (bytes) => bytes.map((b) => b.toString(16).padStart(2, "0")).join("");
const directions = () => state.info.mode === "directions";

function parseCode(text) {
  const code = text.trim().toLowerCase();
  const length = state.info.code_length;
  if (!/^[0-9a-f]*$/.test(code)) return { error: "Only hex digits 0-9 and a-f are allowed." };
  if (code.length !== length) {
    return { error: `Expected ${length} hex digits; this has ${code.length}.` };
  }
  const bytes = [];
  for (let i = 0; i < code.length; i += 2) bytes.push(parseInt(code.slice(i, i + 2), 16));
  return { bytes };
}

// "#code=<hex>&seed=<n>" (seed only for "directions" models); a bare "#<hex>" works too.
// Returns null without a fragment, { error } for one that names no valid face.
function readFragment() {
  let text = window.location.hash.replace(/^#/, "");
  if (!text) return null;
  try {
    text = decodeURIComponent(text);
  } catch (error) {
    return { error: "The link is not a valid URL fragment." };
  }
  const params = new URLSearchParams(text.includes("=") ? text : `code=${text}`);
  const parsed = parseCode(params.get("code") || "");
  if (parsed.error) return { error: parsed.error };
  const seedText = params.get("seed");
  if (seedText === null || !directions()) return { bytes: parsed.bytes, seed: 0 };
  if (!/^[0-9]+$/.test(seedText) || Number(seedText) > state.info.max_seed) {
    return { error: `The seed must be a whole number from 0 to ${state.info.max_seed}.` };
  }
  return { bytes: parsed.bytes, seed: Number(seedText) };
}

// An invalid permalink is said so, on the page: the face is not silently replaced.
function showLinkError(error, keeping) {
  const box = $("link-error");
  box.textContent =
    `This link does not name a face (${window.location.hash}): ${error} ${keeping}`;
  box.hidden = false;
}

function clearLinkError() {
  $("link-error").hidden = true;
  $("link-error").textContent = "";
}

function fragment() {
  return directions() ? `#code=${hex(state.bytes)}&seed=${state.seed}` : `#code=${hex(state.bytes)}`;
}

function current() {
  return { code: hex(state.bytes), seed: state.seed };
}

function setFace(bytes, seed, source) {
  state.bytes = bytes.slice();
  if (seed !== undefined && seed !== null) state.seed = seed;
  const sliders = $("sliders").querySelectorAll("input[type=range]");
  sliders.forEach((slider, i) => {
    if (source !== "slider") slider.value = String(state.bytes[i]);
    slider.setAttribute("aria-valuetext", `${state.bytes[i]}`);
    slider.nextElementSibling.textContent = String(state.bytes[i]);
  });
  const code = hex(state.bytes);
  if (source !== "code") {
    $("code").value = code;
    $("code").removeAttribute("aria-invalid");
    $("code-error").textContent = "";
  }
  if (directions() && source !== "seed") $("seed").value = String(state.seed);
  const link = fragment();
  if (source !== "hash-error") {
    clearLinkError();
    if (window.location.hash !== link) history.replaceState(null, "", link);
  }
  $("permalink").href = link;
  scheduleRender();
}

function scheduleRender() {
  clearTimeout(state.timer);
  state.timer = setTimeout(render, DEBOUNCE_MS);
}

async function render() {
  const sequence = ++state.requested;
  const face = current();
  const body = directions() ? { code: face.code, seed: face.seed } : { code: face.code };
  $("status").textContent = "Drawing…";
  try {
    const blob = await (await api("/api/generate", body)).blob();
    if (sequence < state.shown) return; // an older answer arriving late: drop it
    state.shown = sequence;
    const url = URL.createObjectURL(blob);
    const img = $("face");
    img.src = url;
    img.alt = `The generated face for code ${face.code}`;
    img.dataset.code = face.code;
    img.dataset.seed = String(face.seed);
    if (state.faceUrl) URL.revokeObjectURL(state.faceUrl);
    state.faceUrl = url;
    if (sequence === state.requested) $("status").textContent = "";
  } catch (error) {
    $("status").textContent = `Could not draw the face: ${error.message}`;
  }
}

function buildSliders() {
  const info = state.info;
  const box = $("sliders");
  box.replaceChildren();
  info.sliders.forEach((name, i) => {
    const row = document.createElement("div");
    row.className = "slider";
    const label = document.createElement("label");
    label.htmlFor = `slider-${i}`;
    label.textContent = name;
    const input = document.createElement("input");
    Object.assign(input, { type: "range", min: "0", max: "255", step: "1", id: `slider-${i}` });
    input.addEventListener("input", () => {
      const bytes = state.bytes.slice();
      bytes[i] = Number(input.value);
      setFace(bytes, null, "slider");
    });
    const value = document.createElement("output");
    value.htmlFor = input.id;
    row.append(label, input, value);
    box.append(row);
  });
  if (directions()) {
    $("sliders-title").textContent = "Directions";
    $("sliders-help").textContent =
      `Sliders move the face along ${info.sliders.length} directions of the ` +
      `${info.latent_dim}-d latent (±${info.direction_spread} at the ends), ` +
      "starting from the latent the seed draws.";
    $("seed-row").hidden = false;
  }
}

async function randomFace() {
  const body = {};
  if ($("apply-offset").checked && state.offset) body.offset = state.offset;
  try {
    const drawn = await (await api("/api/random", body)).json();
    setFace(parseCode(drawn.code).bytes, directions() ? drawn.seed : null, "random");
  } catch (error) {
    $("status").textContent = `Could not draw a random face: ${error.message}`;
  }
}

function renderList(kind) {
  const list = $(`${kind}-list`);
  list.replaceChildren();
  state[kind].forEach((face, i) => {
    const item = document.createElement("li");
    const load = document.createElement("button");
    load.type = "button";
    load.className = "code";
    load.textContent = directions() ? `${face.code} (seed ${face.seed})` : face.code;
    load.title = "Show this face";
    load.addEventListener("click", () => setFace(parseCode(face.code).bytes, face.seed, "list"));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove";
    remove.textContent = "×";
    remove.setAttribute("aria-label", `Remove ${face.code} from the ${kind} list`);
    remove.addEventListener("click", () => {
      state[kind].splice(i, 1);
      renderList(kind);
      updateOffset();
    });
    item.append(load, remove);
    list.append(item);
  });
}

function mark(kind) {
  const face = current();
  const list = state[kind];
  if (!list.some((f) => f.code === face.code && f.seed === face.seed)) list.push(face);
  renderList(kind);
  updateOffset();
}

async function updateOffset() {
  const toggle = $("apply-offset");
  if (!state.good.length || !state.bad.length) {
    state.offset = null;
    toggle.disabled = true;
    toggle.checked = false;
    $("offset-text").textContent = "Mark at least one good and one bad face to get an offset.";
    return;
  }
  try {
    const body = { good: state.good.map((f) => f.code), bad: state.bad.map((f) => f.code) };
    const result = await (await api("/api/offset", body)).json();
    state.offset = result.offset;
    toggle.disabled = false;
    const numbers = result.offset.map((v) => v.toFixed(2)).join(", ");
    $("offset-text").textContent =
      `Offset (mean good − mean bad of ${result.good} good, ${result.bad} bad): [${numbers}]`;
    $("offset-text").dataset.offset = JSON.stringify(result.offset);
  } catch (error) {
    $("offset-text").textContent = `Could not compute the offset: ${error.message}`;
  }
}

async function playMorph() {
  const from = parseCode($("morph-from").value);
  const to = parseCode($("morph-to").value);
  if (from.error || to.error) {
    $("morph-status").textContent = `Give two valid codes: ${from.error || to.error}`;
    return;
  }
  const steps = Number($("morph-steps").value);
  const most = state.info.max_morph_steps;
  if (!Number.isInteger(steps) || steps < 2 || steps > most) {
    $("morph-status").textContent = `Frames must be a whole number from 2 to ${most}.`;
    return;
  }
  const body = {
    from: hex(from.bytes),
    to: hex(to.bytes),
    steps,
    method: $("morph-method").value,
  };
  if (directions()) body.seeds = state.morphSeeds;
  $("morph-status").textContent = "Rendering the morph…";
  try {
    const blob = await (await api("/api/morph", body)).blob();
    const url = URL.createObjectURL(blob);
    const img = $("morph-image");
    img.src = url;
    img.hidden = false;
    const link = $("morph-download");
    link.href = url;
    link.classList.remove("disabled");
    link.removeAttribute("aria-disabled");
    if (state.morphUrl) URL.revokeObjectURL(state.morphUrl);
    state.morphUrl = url;
    $("morph-status").textContent = `Playing ${body.steps} frames (${body.method}).`;
  } catch (error) {
    $("morph-status").textContent = `Could not render the morph: ${error.message}`;
  }
}

const formatScore = (p) => (p >= 0.001 ? p.toFixed(3) : p.toExponential(1));

// The ranking's size, within the limit /api/info serves.
const rankSize = () => {
  const samples = Math.min(64, state.info.max_rank_samples);
  return { num_samples: samples, top_k: Math.min(8, samples) };
};

async function rankFaces() {
  const size = rankSize();
  $("gallery-status").textContent = `Generating and ranking ${size.num_samples} faces…`;
  try {
    const ranking = await (await api("/api/rank", size)).json();
    const gallery = $("gallery");
    gallery.replaceChildren();
    ranking.best.forEach((face) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.title = `Show face ${face.code}`;
      const img = document.createElement("img");
      img.src = face.image;
      img.alt = `Face ${face.code}, real probability ${formatScore(face.score)}`;
      const score = document.createElement("span");
      score.textContent = formatScore(face.score);
      button.append(img, score);
      button.addEventListener("click", () => setFace(parseCode(face.code).bytes, face.seed, "gallery"));
      item.append(button);
      gallery.append(item);
    });
    $("gallery-status").textContent =
      `The ${ranking.best.length} of ${size.num_samples} faces the discriminator finds most ` +
      "real (probability under each); click one to load it.";
  } catch (error) {
    $("gallery-status").textContent = `Could not rank faces: ${error.message}`;
  }
}

function wire() {
  $("random").addEventListener("click", randomFace);
  $("mark-good").addEventListener("click", () => mark("good"));
  $("mark-bad").addEventListener("click", () => mark("bad"));
  $("code").addEventListener("input", () => {
    const parsed = parseCode($("code").value);
    if (parsed.error) {
      $("code").setAttribute("aria-invalid", "true");
      $("code-error").textContent = parsed.error;
      return;
    }
    $("code").removeAttribute("aria-invalid");
    $("code-error").textContent = "";
    setFace(parsed.bytes, null, "code");
  });
  $("seed").addEventListener("input", () => {
    const seed = Number.parseInt($("seed").value, 10);
    if (Number.isInteger(seed) && seed >= 0 && seed <= state.info.max_seed) {
      setFace(state.bytes, seed, "seed");
    }
  });
  $("morph-from-current").addEventListener("click", () => {
    $("morph-from").value = hex(state.bytes);
    state.morphSeeds[0] = state.seed;
  });
  $("morph-to-current").addEventListener("click", () => {
    $("morph-to").value = hex(state.bytes);
    state.morphSeeds[1] = state.seed;
  });
  $("morph-play").addEventListener("click", playMorph);
  $("rank").addEventListener("click", rankFaces);
  window.addEventListener("hashchange", () => {
    const face = readFragment();
    if (face && face.error) {
      showLinkError(face.error, "The face shown is unchanged.");
      return;
    }
    clearLinkError();
    if (face && (hex(face.bytes) !== hex(state.bytes) || face.seed !== state.seed)) {
      setFace(face.bytes, face.seed, "hash");
    }
  });
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    const typing = target.matches("input:not([type=range]):not([type=checkbox]), select, textarea");
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const actions = { r: randomFace, g: () => mark("good"), b: () => mark("bad") };
    const action = actions[event.key.toLowerCase()];
    if (action) {
      event.preventDefault();
      action();
    }
  });
}

async function start() {
  wire();
  try {
    state.info = await (await api("/api/info")).json();
  } catch (error) {
    $("model-line").textContent = `Could not reach the model: ${error.message}`;
    return;
  }
  const info = state.info;
  $("model-line").textContent =
    `${info.name}: ${info.latent_dim}-d ${info.latent_distribution} latent, ` +
    `${info.resolution}×${info.resolution} images`;
  $("code").maxLength = info.code_length;
  $("code").placeholder = "0".repeat(info.code_length);
  buildSliders();
  const select = $("morph-method");
  info.morph_methods.forEach((method) => select.append(new Option(method, method)));
  select.value = info.default_morph_method;
  $("morph-steps").max = String(info.max_morph_steps);
  $("seed").max = String(info.max_seed);
  $("rank").textContent = `Rank ${rankSize().num_samples} random faces`;
  $("gallery-panel").hidden = !info.has_discriminator;
  const face = readFragment();
  if (face && face.error) {
    // Say so, and start from the centre of the latent space without rewriting the link.
    showLinkError(face.error, "Showing the centre face instead; the link is left as it is.");
    setFace(new Array(info.sliders.length).fill(128), 0, "hash-error");
  } else if (face) {
    setFace(face.bytes, face.seed, "hash");
  } else {
    await randomFace();
  }
  $("morph-from").value = hex(state.bytes);
  state.morphSeeds[0] = state.seed;
  const other = await (await api("/api/random", {})).json();
  $("morph-to").value = other.code;
  state.morphSeeds[1] = other.seed;
  document.body.dataset.ready = "true";
}

start();
