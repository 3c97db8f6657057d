// The live page of rnbayes serve. Every value from the server or the user is written with
// textContent or as an SVG attribute value, never as HTML. Requests go only to this server.
"use strict";

const ACTION_LABELS = {
  manage: "manage as necrosis (surveillance)", biopsy: "biopsy", treat: "treat as recurrence",
  resect: "re-resect", treat_necrosis: "treat the necrosis (e.g. bevacizumab)",
};
const COLOURS = { manage: "#5b8fd1", biopsy: "#e0b040", treat: "#d0605e", resect: "#a070c0",
  treat_necrosis: "#60a080" };
const SVG = "http://www.w3.org/2000/svg";
let latest = 0;
let valueTimer = null;

function $(id) { return document.getElementById(id); }
function label(action) { return ACTION_LABELS[action] || action; }
function text(error) { return typeof error === "string" ? error : error.message; }

function record() {
  const values = {};
  for (const element of $("lesion").elements) {
    if (element.name && element.value.trim() !== "") values[element.name] = element.value.trim();
  }
  return values;
}

function whatIf() {
  return { pet_tbr: $("whatif-tbr").value, pet_tracer: $("whatif-tracer").value,
           growth: $("whatif-growth").value };
}

async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
                                        body: JSON.stringify(body) });
  try {
    return await response.json();
  } catch {
    return { errors: [{ field: "", message: `the server answered ${response.status}` }], lesions: [] };
  }
}

function svg(name, attributes, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function showErrors(errors) {
  for (const node of document.querySelectorAll(".field")) node.classList.remove("bad");
  for (const node of document.querySelectorAll("[id^=e-]")) node.textContent = "";
  const general = [];
  for (const error of errors) {
    const message = $("e-" + error.field);
    if (message) {
      message.textContent = error.message;
      message.parentElement.classList.add("bad");
    } else {
      general.push((error.field ? error.field + ": " : "") + error.message);
    }
  }
  $("form-error").textContent = general.join("\n");
}

function drawScale(answer) {
  const scale = $("scale");
  scale.replaceChildren();
  const x = (p) => 10 + 380 * p;
  for (const band of answer.bands) {
    scale.append(svg("rect", { x: x(band.from), y: 8, width: Math.max(x(band.to) - x(band.from), 1),
                               height: 16, fill: COLOURS[band.action] || "#999" },));
    scale.lastChild.append(svg("title", {}, label(band.action)));
    if (band.to - band.from > 0.12) {
      scale.append(svg("text", { x: (x(band.from) + x(band.to)) / 2, y: 20, "text-anchor": "middle",
                                 "font-size": 10, fill: "#fff" }, band.action));
    }
  }
  scale.append(svg("line", { x1: x(answer.low), x2: x(answer.high), y1: 32, y2: 32, stroke: "#222",
                             "stroke-width": 2 }));
  scale.append(svg("circle", { cx: x(answer.p), cy: 32, r: 5, fill: "#222" }));
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    scale.append(svg("text", { x: x(tick), y: 52, "text-anchor": "middle", "font-size": 10 },
                     tick.toFixed(2)));
  }
}

function drawWaterfall(terms) {
  const chart = $("waterfall");
  chart.replaceChildren();
  const height = 18 * terms.length + 24;
  chart.setAttribute("viewBox", `0 0 400 ${height}`);
  let total = 0;
  const points = terms.map((term) => { const from = total; total += term.value; return [from, total]; });
  const extent = Math.max(4, ...points.flat().map(Math.abs));
  const x = (v) => 250 + 140 * v / extent;
  chart.append(svg("line", { x1: x(0), x2: x(0), y1: 0, y2: height - 20, stroke: "#888" }));
  terms.forEach((term, i) => {
    const [from, to] = points[i];
    const y = 4 + 18 * i;
    chart.append(svg("text", { x: 4, y: y + 11, "font-size": 11 },
                     `${term.name} ${term.value >= 0 ? "+" : ""}${term.value.toFixed(2)}`));
    chart.append(svg("rect", { x: Math.min(x(from), x(to)), y, width: Math.max(Math.abs(x(to) - x(from)), 1),
                               height: 13, fill: term.value >= 0 ? "#d0605e" : "#5b8fd1" }));
  });
  chart.append(svg("text", { x: 4, y: height - 6, "font-size": 11 },
                   `log-odds ${total >= 0 ? "+" : ""}${total.toFixed(2)} (towards recurrence: right)`));
}

function showAnswer(answer) {
  showErrors(answer.errors);
  if (answer.errors.length) return;
  $("p").textContent = answer.p.toFixed(3);
  $("interval").textContent = `90% interval ${answer.low.toFixed(3)} to ${answer.high.toFixed(3)}`;
  $("action").textContent = label(answer.action);
  const context = [answer.context.symptomatic ? "symptomatic" : "asymptomatic",
                   answer.context.early ? "early window after RT" : "after the early window"];
  $("context").textContent = `(${context.join(", ")})`;
  const categories = [];
  if (answer.categories.btrads) categories.push("BT-RADS " + answer.categories.btrads);
  if (answer.categories.rano) categories.push("RANO 2.0 " + answer.categories.rano);
  $("categories").textContent = categories.length ? categories.join(" · ") + " (shown beside the model, never counted in it)" : "";
  drawScale(answer);
  drawWaterfall(answer.terms);
  const byKey = Object.fromEntries(answer.what_if.map((w) => [w.key, w]));
  $("whatif-pet").textContent = byKey.pet ? `${byKey.pet.label}: P = ${byKey.pet.p.toFixed(3)} → ${label(byKey.pet.action)}` : "";
  $("whatif-growth-answer").textContent = byKey.growth
    ? `${byKey.growth.label}: P = ${byKey.growth.p.toFixed(3)} → ${label(byKey.growth.action)}`
    : "Give a baseline volume to ask about growth.";
  $("form-error").textContent = answer.what_if_errors.map((e) => `${e.field}: ${e.message}`).join("\n");
  $("notes").replaceChildren(...answer.notes.map((note) => { const li = document.createElement("li"); li.textContent = note; return li; }));
}

function showValue(value) {
  if (value.errors.length) { $("value").textContent = "—"; return; }
  const parts = [`Recommended: ${label(value.recommendation)}; best in ${(100 * value.p_best).toFixed(0)}% of posterior draws (margin ${value.margin.toFixed(2)} ${value.units}).`];
  if (value.evsi_pet !== null) parts.push(`Value of a PET: ${value.evsi_pet.toFixed(2)}.`);
  if (value.tbr_manage_below !== null) parts.push(`A TBR below ${value.tbr_manage_below.toFixed(2)} would favour managing as necrosis.`);
  if (value.tbr_treat_at !== null) parts.push(`A TBR from ${value.tbr_treat_at.toFixed(2)} would favour treating.`);
  if (value.evsi_rescan !== null) parts.push(`Value of a rescan in ${value.rescan_weeks} weeks: ${value.evsi_rescan.toFixed(2)}.`);
  $("value").textContent = parts.join(" ");
}

async function update() {
  const ticket = ++latest;
  const answer = await post("/api/answer", { record: record(), what_if: whatIf() });
  if (ticket !== latest) return;  // a later keystroke has its own answer coming
  showAnswer(answer);
  document.body.dataset.answered = String(ticket);
  clearTimeout(valueTimer);
  if (!answer.errors.length) {
    $("value").textContent = "computing…";
    valueTimer = setTimeout(async () => {
      const value = await post("/api/value", { record: record() });
      if (ticket === latest) showValue(value);
    }, 300);
  }
}

function fill(lesion) {
  for (const element of $("lesion").elements) {
    if (element.name) element.value = lesion[element.name] ?? "";
  }
  update();
}

async function upload(event) {
  const file = event.target.files[0];
  if (!file) return;
  const body = { name: file.name };
  if (file.name.toLowerCase().endsWith(".xlsx")) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    body.data = btoa(binary);
  } else {
    body.text = await file.text();
  }
  const answer = await post("/api/upload", body);
  $("upload-error").textContent = answer.errors.map(text).join("\n");
  const choice = $("lesion-choice");
  choice.replaceChildren();
  choice.hidden = answer.lesions.length < 2;
  answer.lesions.forEach((lesion, i) => {
    const option = document.createElement("option");
    option.value = String(i);
    option.textContent = lesion.patient_id || `lesion ${i + 1}`;
    choice.append(option);
  });
  choice.onchange = () => fill(answer.lesions[Number(choice.value)]);
  if (answer.lesions.length) fill(answer.lesions[0]);
}

function download(content, type, suffix) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([content], { type }));
  link.download = `rnbayes-report-${(record().patient_id || "lesion").replace(/[^A-Za-z0-9_-]/g, "_")}.${suffix}`;
  link.click();
  URL.revokeObjectURL(link.href);
}

async function saveReport(pdf) {
  $("report-error").textContent = pdf ? "printing…" : "";
  const answer = await post("/api/report", { record: record(), pdf });
  $("report-error").textContent = answer.errors.map(text).join("\n");
  if (answer.errors.length) return;
  if (!pdf) { download(answer.html, "text/html", "html"); return; }
  const bytes = Uint8Array.from(atob(answer.pdf), (c) => c.charCodeAt(0));
  download(bytes, "application/pdf", "pdf");
}

document.addEventListener("DOMContentLoaded", () => {
  $("lesion").addEventListener("input", update);
  $("lesion").addEventListener("change", update);
  $("whatif-tbr").addEventListener("input", () => { $("whatif-tbr-value").textContent = Number($("whatif-tbr").value).toFixed(2); update(); });
  $("whatif-growth").addEventListener("input", () => { const g = Number($("whatif-growth").value); $("whatif-growth-value").textContent = `${g >= 0 ? "+" : ""}${(100 * g).toFixed(0)}%`; update(); });
  $("whatif-tracer").addEventListener("change", update);
  $("upload").addEventListener("change", upload);
  $("save-report").addEventListener("click", () => saveReport(false));
  $("save-pdf").addEventListener("click", () => saveReport(true));
});
