// chartscan template studio: teach a form from one example chart. The author clicks a field's
// label, then its value, and confirms; a table by the header of each of its columns; on any
// page of the example. The server builds the template (chart::studio), tries it on the
// facility's other charts and saves it as a new version. OCR text is written with
// textContent only. Uses app.js's helpers ($, el, api, t, loadSession, showMessage).
"use strict";

const TYPES = ["table", "text", "khmer_text", "latin_text", "person", "patient_id", "sex", "date", "integer", "decimal", "phone", "province", "icd10", "blood_pressure", "outcome", "result"];

window.studioPage = async function studioPage() {
  await loadSession();
  // mode: "label", "value", "title", or "column" (a table's headers, column `col` of `columns`).
  const st = { chart: null, page: 1, pages: 1, words: [], known: [], fields: [], label: [], value: [], title: [], mode: "label", columns: [], col: 0 };
  const boxes = {};
  for (const ty of TYPES) $("#type").append(el("option", { value: ty, text: ty }));

  const charts = await api("GET", "/api/studio/charts");
  for (const c of charts) $("#chart").append(el("option", { value: c.chart, text: `${c.facility} · ${c.file} · ${c.form || "?"}` }));
  const wanted = new URLSearchParams(location.search).get("chart");
  if (wanted) $("#chart").value = wanted;

  function currentName() { return $("#field").value === "__custom" ? $("#custom").value.trim() : $("#field").value; }

  function step() {
    const name = currentName() || "…";
    const col = st.columns[st.col];
    const text = st.mode === "title" ? t("Click the title's words, then Enter.")
      : st.mode === "column" ? (col ? `${st.col + 1}/${st.columns.length}. ${t("Click the header of column")} ${col.name} (${t("Enter: not printed")})`
        : `${name}: ${t("Enter to confirm the table")}`)
      : st.mode === "label" ? `1. ${t("Click the label of")} ${name}`
      : `2. ${t("Click the value of")} ${name}${t(", then Enter")}`;
    $("#step").textContent = text;
    $("#page-no").textContent = `${t("Page")} ${st.page} / ${st.pages}`;
    $("#prev-page").disabled = st.page <= 1;
    $("#next-page").disabled = st.page >= st.pages;
  }

  // What the author is showing for the field chosen: a table's columns, one by one, or a label and a value.
  function startField() {
    const spec = st.known.find((f) => f.name === currentName());
    const table = $("#type").value === "table" && spec && spec.columns;
    Object.assign(st, { label: [], value: [], col: 0, mode: table ? "column" : "label",
      columns: table ? spec.columns.map((c) => ({ name: c.name, type: c.type, key: c.key, label: [] })) : [] });
  }

  function paint() {
    const here = st.fields.filter((f) => f.page === st.page);
    const headers = (f) => (f.columns || []).flatMap((c) => c.label);
    for (const [i, b] of Object.entries(boxes)) {
      const n = Number(i);
      const header = st.columns.some((c) => c.label.includes(n));
      b.className = "w" + (st.label.includes(n) || header ? " label" : "") + (st.value.includes(n) ? " value" : "") + (st.page === 1 && st.title.includes(n) ? " title" : "")
        + (here.some((f) => f.label.includes(n) || headers(f).includes(n)) ? " done-label" : "") + (here.some((f) => f.value.includes(n)) ? " done-value" : "");
    }
    const body = $("#taught tbody");
    body.replaceChildren();
    st.fields.forEach((f, k) => {
      const page = f.page > 1 ? ` · p.${f.page}` : "";
      body.append(el("tr", {}, el("td", { text: `${f.name} (${f.type})${page}` }), el("td", { text: f.shown.label }), el("td", { text: f.shown.value }),
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
    startField();
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
  // Shows page `n` of chart `id` with its words to click; the fields shown so far are kept.
  async function loadPage(id, n) {
    const mine = ++loading;
    const page = await api("GET", `/api/studio/charts/${encodeURIComponent(id)}/words?page=${n}`);
    if (mine !== loading) return null; // another chart or page was chosen meanwhile
    for (const b of Object.values(boxes)) b.remove();
    for (const k of Object.keys(boxes)) delete boxes[k];
    Object.assign(st, { chart: id, page: n, pages: page.pages, words: page.words, label: [], value: [] });
    for (const c of st.columns) c.label = [];
    if (st.mode === "column") st.col = 0;
    else if (st.mode !== "title") st.mode = "label";
    const holder = $("#page");
    const img = $("#page-img");
    img.src = `/charts/${encodeURIComponent(st.chart)}/pages/${n}/image?width=1400`;
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
    window.onresize = place;
    return page;
  }

  async function loadChart() {
    const id = $("#chart").value;
    if (!id) { showMessage(t("No read chart to teach from yet: ingest one first.")); return; }
    Object.assign(st, { fields: [], title: [], mode: "label", columns: [] });
    const page = await loadPage(id, 1);
    if (!page) return;
    if (!$("#facility").value) $("#facility").value = page.facility;
    if (page.form && page.form !== "unknown") $("#form").value = page.form;
    if (!$("#name").value) $("#name").value = `${$("#form").value} (${page.facility})`;
    await loadFields();
    paint();
  }

  async function turn(by) {
    const n = st.page + by;
    if (!st.chart || n < 1 || n > st.pages) return;
    if (await loadPage(st.chart, n)) paint();
  }

  function pick(i, keep) {
    const toggle = (list) => { const k = list.indexOf(i); if (k >= 0) list.splice(k, 1); else list.push(i); };
    if (st.mode === "title") { if (st.page === 1) toggle(st.title); }
    else if (st.mode === "column") {
      const col = st.columns[st.col];
      if (col) { toggle(col.label); if (!keep) st.col += 1; }
    }
    else if (st.mode === "label") { toggle(st.label); if (!keep) st.mode = "value"; }
    else { toggle(st.value); }
    paint();
  }

  function confirmField() {
    if (st.mode === "title") { startField(); paint(); return; }
    const name = currentName();
    if (!name || !/^[a-z0-9_]+$/.test(name)) { showMessage(t("Give the field a name: lower-case letters, digits and _.")); return; }
    const words = (idx) => idx.map((i) => st.words[i]?.text || "").join(" ");
    if (st.mode === "column" && st.col < st.columns.length) { st.col += 1; paint(); return; } // this column is not printed
    if ($("#type").value === "table") {
      const spec = st.known.find((f) => f.name === name);
      const columns = st.columns.filter((c) => c.label.length);
      if (!spec || !spec.columns) { showMessage(t("A table is taught from one of the form's tables: choose it in the list.")); return; }
      if (!columns.length) { showMessage(t("Click the header of at least one column first.")); return; }
      showMessage("");
      st.fields = st.fields.filter((f) => f.name !== name);
      st.fields.push({ name, type: "table", label: [], value: [], page: st.page, columns, latest: spec.latest || {}, double_key: false, options: [], required: false,
        shown: { label: columns.map((c) => words(c.label)).join(" | "), value: columns.map((c) => c.name).join(", ") } });
    } else {
      if (!st.value.length) { showMessage(t("Click the value's words first.")); return; }
      showMessage("");
      st.fields = st.fields.filter((f) => f.name !== name);
      const options = $("#options").value.split(",").map((o) => o.trim()).filter((o) => o);
      st.fields.push({ name, type: $("#type").value, label: st.label, value: st.value, page: st.page, double_key: $("#double").checked, options, required: false,
        shown: { label: words(st.label), value: words(st.value) } });
    }
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
          const text = v.value == null ? "—" : v.rows != null ? `${v.rows} ${t("rows")}` : v.value;
          return el("td", { class: v.value == null ? "tried-missing" : v.review ? "tried-review" : "", title: v.issue || "", text });
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
    startField();
    paint();
  });
  $("#type").addEventListener("change", () => { showOptions(); startField(); paint(); });
  $("#prev-page").addEventListener("click", () => turn(-1));
  $("#next-page").addEventListener("click", () => turn(1));
  $("#try").addEventListener("click", tryIt);
  $("#save").addEventListener("click", save);
  $("#reread").addEventListener("click", reread);
  document.addEventListener("keydown", (ev) => {
    const typing = ev.target.matches("input[type=text], input:not([type]), select");
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); save(); }
    else if (ev.key === "Enter" && !typing) { ev.preventDefault(); confirmField(); }
    else if (ev.key === "Escape") { startField(); paint(); }
    else if (ev.key === "PageDown" && !typing) { ev.preventDefault(); turn(1); }
    else if (ev.key === "PageUp" && !typing) { ev.preventDefault(); turn(-1); }
    else if (ev.altKey && ev.key.toLowerCase() === "t") { ev.preventDefault(); tryIt(); }
    else if (ev.altKey && ev.key.toLowerCase() === "h") { ev.preventDefault(); st.mode = "title"; paint(); }
  });
  await loadChart();
};
