// chartscan template studio: teach a form from one example chart. The author clicks a field's
// label, then its value, and confirms; the server builds the template (chart::studio), tries
// it on the facility's other charts and saves it as a new version. OCR text is written with
// textContent only. Uses app.js's helpers ($, el, api, t, loadSession, showMessage).
"use strict";

const TYPES = ["text", "khmer_text", "latin_text", "patient_id", "sex", "date", "integer", "decimal", "phone", "province", "icd10", "blood_pressure", "outcome", "result"];

window.studioPage = async function studioPage() {
  await loadSession();
  const st = { chart: null, words: [], known: [], fields: [], label: [], value: [], title: [], mode: "label" };
  const boxes = {};
  for (const ty of TYPES) $("#type").append(el("option", { value: ty, text: ty }));

  const charts = await api("GET", "/api/studio/charts");
  for (const c of charts) $("#chart").append(el("option", { value: c.chart, text: `${c.facility} · ${c.file} · ${c.form || "?"}` }));
  const wanted = new URLSearchParams(location.search).get("chart");
  if (wanted) $("#chart").value = wanted;

  function currentName() { return $("#field").value === "__custom" ? $("#custom").value.trim() : $("#field").value; }

  function step() {
    const name = currentName() || "…";
    const text = st.mode === "title" ? t("Click the title's words, then Enter.")
      : st.mode === "label" ? `1. ${t("Click the label of")} ${name}`
      : `2. ${t("Click the value of")} ${name}${t(", then Enter")}`;
    $("#step").textContent = text;
  }

  function paint() {
    for (const [i, b] of Object.entries(boxes)) {
      const n = Number(i);
      b.className = "w" + (st.label.includes(n) ? " label" : "") + (st.value.includes(n) ? " value" : "") + (st.title.includes(n) ? " title" : "")
        + (st.fields.some((f) => f.label.includes(n)) ? " done-label" : "") + (st.fields.some((f) => f.value.includes(n)) ? " done-value" : "");
    }
    const body = $("#taught tbody");
    body.replaceChildren();
    st.fields.forEach((f, k) => {
      const words = (idx) => idx.map((i) => st.words[i]?.text || "").join(" ");
      body.append(el("tr", {}, el("td", { text: `${f.name} (${f.type})` }), el("td", { text: words(f.label) }), el("td", { text: words(f.value) }),
        el("td", {}, el("button", { type: "button", class: "link", text: "✕", "aria-label": t("remove"), onclick: () => { st.fields.splice(k, 1); paint(); } }))));
    });
    step();
  }

  function chooseNextField() {
    const taken = new Set(st.fields.map((f) => f.name));
    const next = st.known.find((f) => !taken.has(f.name));
    $("#field").value = next ? next.name : "__custom";
    $("#custom-wrap").hidden = $("#field").value !== "__custom";
    const spec = st.known.find((f) => f.name === $("#field").value);
    $("#type").value = spec ? spec.type : "text";
    showOptions();
  }

  // Fields read from a row of check boxes (sex, outcome) may name each box's value.
  function showOptions() {
    $("#options-wrap").hidden = !["sex", "outcome"].includes($("#type").value);
  }

  async function loadFields() {
    st.known = await api("GET", "/api/studio/fields?form=" + encodeURIComponent($("#form").value));
    $("#field").replaceChildren(...st.known.map((f) => el("option", { value: f.name, text: f.label ? `${f.name} — ${f.label}` : f.name })), el("option", { value: "__custom", text: t("custom…") }));
    chooseNextField();
  }

  let loading = 0;
  async function loadChart() {
    const mine = ++loading;
    const id = $("#chart").value;
    if (!id) { showMessage(t("No read chart to teach from yet: ingest one first.")); return; }
    const page = await api("GET", `/api/studio/charts/${encodeURIComponent(id)}/words`);
    if (mine !== loading) return; // another chart was chosen meanwhile
    st.chart = id;
    for (const b of Object.values(boxes)) b.remove();
    for (const k of Object.keys(boxes)) delete boxes[k];
    Object.assign(st, { words: page.words, fields: [], label: [], value: [], title: [], mode: "label" });
    if (!$("#facility").value) $("#facility").value = page.facility;
    if (page.form && page.form !== "unknown") $("#form").value = page.form;
    if (!$("#name").value) $("#name").value = `${$("#form").value} (${page.facility})`;
    const holder = $("#page");
    const img = $("#page-img");
    img.src = `/charts/${encodeURIComponent(st.chart)}/pages/1/image?width=1400`;
    const place = () => {
      const k = img.clientWidth / page.width;
      for (const w of page.words) {
        const b = boxes[w.i] || el("button", { type: "button", class: "w", title: w.text, "data-i": String(w.i), tabindex: "-1",
          onclick: (ev) => pick(w.i, ev.shiftKey) });
        Object.assign(b.style, { left: w.bbox[0] * k + "px", top: w.bbox[1] * k + "px", width: Math.max(4, w.bbox[2] * k) + "px", height: Math.max(4, w.bbox[3] * k) + "px" });
        boxes[w.i] = b;
        holder.append(b);
      }
      paint();
    };
    if (img.complete && img.naturalWidth) place(); else img.onload = place;
    window.addEventListener("resize", place);
    await loadFields();
    paint();
  }

  function pick(i, keep) {
    const toggle = (list) => { const k = list.indexOf(i); if (k >= 0) list.splice(k, 1); else list.push(i); };
    if (st.mode === "title") { toggle(st.title); }
    else if (st.mode === "label") { toggle(st.label); if (!keep) st.mode = "value"; }
    else { toggle(st.value); }
    paint();
  }

  function confirmField() {
    if (st.mode === "title") { st.mode = "label"; paint(); return; }
    const name = currentName();
    if (!name || !/^[a-z0-9_]+$/.test(name)) { showMessage(t("Give the field a name: lower-case letters, digits and _.")); return; }
    if (!st.value.length) { showMessage(t("Click the value's words first.")); return; }
    showMessage("");
    st.fields = st.fields.filter((f) => f.name !== name);
    const options = $("#options").value.split(",").map((o) => o.trim()).filter((o) => o);
    st.fields.push({ name, type: $("#type").value, label: st.label, value: st.value, double_key: $("#double").checked, options, required: false });
    Object.assign(st, { label: [], value: [], mode: "label" });
    $("#double").checked = false;
    $("#options").value = "";
    chooseNextField();
    paint();
  }

  const taught = () => ({ chart: st.chart, taught: { form: $("#form").value.trim(), name: $("#name").value.trim() || $("#form").value, facility: $("#facility").value.trim() || null, title: st.title, fields: st.fields } });

  async function tryIt() {
    try {
      const r = await api("POST", "/api/studio/try", taught());
      showMessage("");
      const head = el("tr", {}, el("th", { text: t("Chart") }), ...r.fields.map((f) => el("th", { text: f })));
      $("#tried thead").replaceChildren(head);
      const found = r.fields.map((f) => r.charts.filter((c) => c.fields[f].value != null).length);
      $("#tried tbody").replaceChildren(
        el("tr", { class: "summary" }, el("td", { text: t("found") }), ...found.map((n) => el("td", { text: `${n}/${r.charts.length}` }))),
        ...r.charts.map((c) => el("tr", {}, el("td", { text: c.chart.slice(0, 10) }), ...r.fields.map((f) => {
          const v = c.fields[f];
          return el("td", { class: v.value == null ? "tried-missing" : v.review ? "tried-review" : "", title: v.issue || "", text: v.value == null ? "—" : v.value });
        }))));
      $("#try-result").hidden = false;
    } catch (e) { showMessage(e.message); }
  }

  async function save() {
    try {
      const r = await api("POST", "/api/studio/save", taught());
      showMessage("");
      $("#saved").textContent = `${t("Saved")}: ${r.form} v${r.version}${r.facility ? " · " + r.facility : ""} (${r.fields} ${t("fields")})`;
      $("#saved").hidden = false;
      $("#reread-wrap").hidden = false;
    } catch (e) { showMessage(e.message); }
  }

  async function reread() {
    try {
      const r = await api("POST", "/api/studio/reextract", { facility: $("#facility").value.trim() });
      $("#reread-result").textContent = `${r.charts} ${t("chart(s) read again")}`;
    } catch (e) { showMessage(e.message); }
  }

  $("#upload").addEventListener("change", async () => {
    const file = $("#upload").files[0];
    if (!file) return;
    try {
      const res = await fetch("/api/studio/upload", { method: "POST", body: file, credentials: "same-origin",
        headers: { "X-CSRF-Token": session.csrf, "X-File-Name": file.name, "Content-Type": "application/octet-stream" } });
      const r = await res.json();
      if (!res.ok) throw new Error(r.error || res.statusText);
      $("#uploaded").textContent = `${r.file}: ${t("sent to the scan inbox; choose it above once it has been read (reload the page)")}`;
    } catch (e) { showMessage(e.message); }
  });
  $("#chart").addEventListener("change", loadChart);
  $("#form").addEventListener("change", loadFields);
  $("#field").addEventListener("change", () => {
    $("#custom-wrap").hidden = $("#field").value !== "__custom";
    const spec = st.known.find((f) => f.name === $("#field").value);
    if (spec) $("#type").value = spec.type;
    showOptions();
    step();
  });
  $("#type").addEventListener("change", showOptions);
  $("#try").addEventListener("click", tryIt);
  $("#save").addEventListener("click", save);
  $("#reread").addEventListener("click", reread);
  document.addEventListener("keydown", (ev) => {
    const typing = ev.target.matches("input[type=text], input:not([type]), select");
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); save(); }
    else if (ev.key === "Enter" && !typing) { ev.preventDefault(); confirmField(); }
    else if (ev.key === "Escape") { Object.assign(st, { label: [], value: [], mode: "label" }); paint(); }
    else if (ev.altKey && ev.key.toLowerCase() === "t") { ev.preventDefault(); tryIt(); }
    else if (ev.altKey && ev.key.toLowerCase() === "h") { ev.preventDefault(); st.mode = "title"; paint(); }
  });
  await loadChart();
};
