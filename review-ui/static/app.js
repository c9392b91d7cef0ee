// chartscan review UI. All data arrives as JSON and is written with textContent/value:
// OCR text is untrusted and never becomes markup.
"use strict";

const $ = (sel) => document.querySelector(sel);
let session = null;

// Khmer interface: the English text of an element marked data-i18n (or given to t()) is the
// key. Each user's choice is kept on the server (PUT /api/session/lang).
const KM = {
  "Queue": "បញ្ជីរង់ចាំ", "Dashboard": "ផ្ទាំងគ្រប់គ្រង", "Users": "អ្នកប្រើប្រាស់", "Sign out": "ចាកចេញ",
  "Charts waiting for review": "ឯកសារដែលរង់ចាំការពិនិត្យ", "Chart": "ឯកសារ", "Facility": "មូលដ្ឋានសុខាភិបាល", "Form": "ទម្រង់",
  "Confidence": "ភាពជឿជាក់", "Fields to check": "ចំណុចត្រូវពិនិត្យ", "Nothing to review. Well done.": "គ្មានអ្វីត្រូវពិនិត្យទេ។ ល្អណាស់។",
  "Least confident first.": "មិនសូវប្រាកដមុនគេ។", "to move,": "ដើម្បីផ្លាស់ទី,", "to open.": "ដើម្បីបើក។",
  "save & next": "រក្សាទុក និងបន្ទាប់", "back": "ថយក្រោយ", "undo": "មិនធ្វើវិញ", "next uncertain": "ចំណុចមិនប្រាកដបន្ទាប់",
  "auto-accepted fields": "ចំណុចទទួលយកស្វ័យប្រវត្តិ", "pages": "ទំព័រ", "zoom (drag to pan)": "ពង្រីក (អូសដើម្បីរំកិល)",
  "approve & next chart": "អនុម័ត និងឯកសារបន្ទាប់", "Who is this patient?": "តើអ្នកជំងឺនេះជានរណា?", "Committed under patient": "បានរក្សាទុកក្រោមអ្នកជំងឺ", "Patient: the same as": "អ្នកជំងឺ៖ ដូចគ្នានឹង", "Patient: not seen before (a new patient)": "អ្នកជំងឺ៖ មិនធ្លាប់ឃើញ (អ្នកជំងឺថ្មី)", "clinical facts": "ព័ត៌មានគ្លីនិក", "New patient": "អ្នកជំងឺថ្មី", "born": "កើត", "chart(s)": "ឯកសារ", "reject with a reason": "បដិសេធដោយមានមូលហេតុ",
  "Approve (Ctrl+Enter)": "អនុម័ត (Ctrl+Enter)", "Reject…": "បដិសេធ…", "read: ": "អានបាន៖ ",
  "field(s) auto-accepted (F3 shows them)": "ចំណុចទទួលយកស្វ័យប្រវត្តិ (F3 បង្ហាញ)", "corrected": "បានកែ",
  "Progress": "វឌ្ឍនភាព", "By day": "តាមថ្ងៃ", "By reviewer": "តាមអ្នកពិនិត្យ", "Corrections by field": "ការកែតម្រូវតាមចំណុច", "Export": "នាំចេញ",
  "Add a user": "បន្ថែមអ្នកប្រើប្រាស់", "Batches": "បាច់ស្កេន", "Batch": "បាច់", "Box": "ប្រអប់", "Operator": "អ្នកស្កេន", "Files": "ឯកសារស្កេន",
  "Waiting": "កំពុងរង់ចាំ", "Approved": "បានអនុម័ត", "Rejected": "បានបដិសេធ", "Rejected charts": "ឯកសារដែលបានបដិសេធ", "File": "ឯកសារស្កេន",
  "Reason": "មូលហេតុ", "Reviewer": "អ្នកពិនិត្យ", "Rescan these, or fetch the paper chart.": "ស្កេនឡើងវិញ ឬយកឯកសារក្រដាស។",
  "Batches and rejections": "បាច់ស្កេន និងការបដិសេធ",
  "The programme": "កម្មវិធីឌីជីថលូបនីយកម្ម", "All charts to date; plots show the last 60 days.": "ឯកសារទាំងអស់រហូតមកដល់ពេលនេះ ក្រាហ្វបង្ហាញ ៦០ ថ្ងៃចុងក្រោយ។",
  "Monthly report": "របាយការណ៍ប្រចាំខែ", "Province": "ខេត្ត", "Target": "គោលដៅ", "Scanned": "បានស្កេន", "Boxes": "ប្រអប់", "Forecast finish": "ការព្យាករណ៍បញ្ចប់",
  "The forecast: approvals a day over the last 14 days, and the range from the slowest and the fastest week in them.": "ការព្យាករណ៍៖ ការអនុម័តក្នុងមួយថ្ងៃក្នុងរយៈពេល ១៤ ថ្ងៃចុងក្រោយ និងចន្លោះពីសប្តាហ៍យឺតបំផុតទៅលឿនបំផុត។",
  "Burn-up": "វឌ្ឍនភាពសរុប", "Download the table (CSV)": "ទាញយកតារាង (CSV)", "Daily throughput": "លទ្ធផលប្រចាំថ្ងៃ", "Day (UTC)": "ថ្ងៃ (UTC)", "Extracted": "បានអាន",
  "Review backlog by age": "ឯកសាររង់ចាំតាមអាយុ", "Waiting for": "រង់ចាំអស់", "Charts": "ឯកសារ", "Quality": "គុណភាព", "Fields": "ចំណុច", "Auto-accepted": "ទទួលយកស្វ័យប្រវត្តិ",
  "Corrections": "ការកែតម្រូវ", "Per 100 fields": "ក្នុង ១០០ ចំណុច", "Rejections by reason": "ការបដិសេធតាមមូលហេតុ", "Reviewers": "អ្នកពិនិត្យ", "Charts per hour": "ឯកសារក្នុងមួយម៉ោង",
  "Corrections per field": "ការកែតម្រូវក្នុងមួយចំណុច", "Scanning operators": "អ្នកស្កេន", "Batches": "បាច់ស្កេន", "Rescans": "ស្កេនឡើងវិញ", "All facilities": "មូលដ្ឋានទាំងអស់",
  "only boxes to look at": "តែប្រអប់ដែលត្រូវពិនិត្យ", "Shelf": "ធ្នើ", "Years": "ឆ្នាំ", "Expected": "រំពឹងទុក", "In review": "កំពុងពិនិត្យ", "State": "ស្ថានភាព",
  "not started": "មិនទាន់ចាប់ផ្តើម", "in progress": "កំពុងដំណើរការ", "done": "រួចរាល់", "too many: scanned twice?": "ច្រើនពេក៖ ស្កេនពីរដង?", "too few: charts missing?": "តិចពេក៖ បាត់ឯកសារ?",
  "not in the inventory": "មិនមានក្នុងបញ្ជីប្រអប់", "to check": "ត្រូវពិនិត្យ", "no target": "គ្មានគោលដៅ", "not at this pace": "មិនបញ្ចប់តាមល្បឿននេះ", "(no box)": "(គ្មានប្រអប់)",
  "Total": "សរុប", "Approved charts (JSON lines)": "ឯកសារបានអនុម័ត (JSON lines)", "Approved charts (CSV)": "ឯកសារបានអនុម័ត (CSV)", "All charts (CSV)": "ឯកសារទាំងអស់ (CSV)",
  "Committed records (FHIR R4 bundle)": "កំណត់ត្រាបានរក្សាទុក (FHIR R4)", "Pages": "ទំព័រ", "total": "សរុប", "queued": "រង់ចាំ", "failed": "បរាជ័យ",
  "Committed records": "កំណត់ត្រាបានរក្សាទុក", "patients": "អ្នកជំងឺ", "encounters": "ការមកពិនិត្យ", "change(s) waiting to be pushed to the hospital system": "ការផ្លាស់ប្តូររង់ចាំផ្ញើទៅប្រព័ន្ធមន្ទីរពេទ្យ",
  "Studio": "បង្រៀនទម្រង់", "Teach a form": "បង្រៀនទម្រង់ថ្មី", "Example chart": "ឯកសារគំរូ", "Name": "ឈ្មោះ", "Field": "ចំណុច", "Type": "ប្រភេទ",
  "Custom name": "ឈ្មោះផ្ទាល់ខ្លួន", "double keying": "វាយបញ្ចូលពីរដង", "Label": "ស្លាក", "Value": "តម្លៃ", "confirm": "បញ្ជាក់", "clear": "សម្អាត",
  "label, then value": "ស្លាក រួចតម្លៃ", "mark the title": "សម្គាល់ចំណងជើង", "try": "សាកល្បង", "save": "រក្សាទុក",
  "Try on other charts": "សាកល្បងលើឯកសារផ្សេង", "Save template": "រក្សាទុកទម្រង់", "What it reads on other charts of the facility": "អ្វីដែលវាអានបានលើឯកសារផ្សេងទៀតរបស់មូលដ្ឋាន",
  "Click the label of": "ចុចស្លាករបស់", "Click the value of": "ចុចតម្លៃរបស់", ", then Enter": " រួចចុច Enter", "Click the title's words, then Enter.": "ចុចពាក្យចំណងជើង រួចចុច Enter។",
  "Click the header of column": "ចុចក្បាលជួរឈររបស់", "Enter: not printed": "Enter៖ មិនមានបោះពុម្ព", "Enter to confirm the table": "ចុច Enter ដើម្បីបញ្ជាក់តារាង",
  "Page": "ទំព័រ", "rows": "ជួរ", "Click the header of at least one column first.": "ចុចក្បាលជួរឈរយ៉ាងហោចណាស់មួយជាមុនសិន។",
  "A table is taught from one of the form's tables: choose it in the list.": "តារាងត្រូវបង្រៀនពីតារាងមួយរបស់ទម្រង់៖ ជ្រើសវាក្នុងបញ្ជី។", "page": "ទំព័រ",
  "found": "រកឃើញ", "Saved": "បានរក្សាទុក", "Read the facility's waiting charts again": "អានឯកសាររង់ចាំរបស់មូលដ្ឋានម្តងទៀត", "chart(s) read again": "ឯកសារត្រូវបានអានម្តងទៀត", "Check boxes, in printed order": "ប្រអប់ធីក តាមលំដាប់", "or upload a scan": "ឬផ្ទុកឯកសារស្កេនឡើង", "sent to the scan inbox; choose it above once it has been read (reload the page)": "បានផ្ញើទៅថតស្កេន ជ្រើសវាខាងលើ ពេលវាត្រូវបានអានរួច (ផ្ទុកទំព័រឡើងវិញ)", "fields": "ចំណុច", "custom…": "ផ្ទាល់ខ្លួន…",
  "Second keying: type the highlighted fields from the image, then Ctrl+Enter.": "វាយបញ្ចូលលើកទីពីរ៖ វាយចំណុចទាំងនេះពីរូបភាព រួចចុច Ctrl+Enter។",
  "The two keyings disagree: a senior reviewer will decide.": "ការវាយបញ្ចូលទាំងពីរមិនដូចគ្នា៖ អ្នកពិនិត្យជាន់ខ្ពស់នឹងសម្រេច។",
  "The two keyings disagree: decide the flagged fields, then approve.": "ការវាយបញ្ចូលទាំងពីរមិនដូចគ្នា៖ សម្រេចចំណុចដែលបានសម្គាល់ រួចអនុម័ត។",
  "You approved this chart; it waits for a second reviewer to key ": "អ្នកបានអនុម័តឯកសារនេះ វារង់ចាំអ្នកពិនិត្យទីពីរវាយ ", "Why is this chart rejected? (e.g. illegible, not a patient chart)": "ហេតុអ្វីបដិសេធឯកសារនេះ? (ឧ. អានមិនច្បាស់)",
};
const t = (english) => (session && session.lang === "km" && KM[english]) || english;

function translatePage() {
  document.documentElement.lang = session && session.lang === "km" ? "km" : "en";
  document.querySelectorAll("[data-i18n]").forEach((e) => {
    if (!e.dataset.en) e.dataset.en = e.textContent;
    e.textContent = t(e.dataset.en);
  });
  const toggle = $("#lang");
  if (toggle) toggle.textContent = session && session.lang === "km" ? "English" : "ភាសាខ្មែរ";
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function showMessage(text) {
  const m = $("#message");
  if (!m) return;
  m.textContent = text || "";
  m.hidden = !text;
}

async function api(method, url, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && session) headers["X-CSRF-Token"] = session.csrf;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  if (res.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); throw new Error("login required"); }
  const data = res.headers.get("content-type")?.includes("json") ? await res.json() : null;
  if (!res.ok) { const err = new Error((data && data.error) || res.statusText); err.status = res.status; err.data = data; throw err; }
  return data;
}

async function loadSession() {
  session = await api("GET", "/api/session");
  const who = $("#who");
  if (who) who.textContent = session.user + " (" + session.role + ")";
  const dash = $("#nav-dashboard");
  if (dash) dash.hidden = !(session.role === "manager" || session.role === "admin");
  const studio = $("#nav-studio");
  if (studio) studio.hidden = !(session.role === "manager" || session.role === "admin");
  const admin = $("#nav-admin");
  if (admin) admin.hidden = session.role !== "admin";
  $("#logout")?.addEventListener("click", async () => { await api("POST", "/logout"); location.href = "/login"; });
  const bar = $("header.bar");
  if (bar && !$("#lang")) {
    bar.append(el("button", { id: "lang", type: "button", class: "link", lang: "km", onclick: async () => {
      session.lang = session.lang === "km" ? "en" : "km";
      await api("PUT", "/api/session/lang", { lang: session.lang });
      location.reload();
    } }));
  }
  translatePage();
}

const pct = (c) => Math.round((c || 0) * 100) + "%";

// Facility names from the registry, by code, in the user's language; a code the registry
// lacks stays a code.
let facilityNames = null;
async function loadFacilityNames() {
  if (facilityNames) return facilityNames;
  facilityNames = {};
  try {
    for (const f of await api("GET", "/api/facilities")) facilityNames[f.code] = session && session.lang === "km" && f.name_km ? f.name_km : f.name;
  } catch (e) { /* names are a convenience: codes still show */ }
  return facilityNames;
}
const facilityLabel = (code) => (facilityNames && facilityNames[code] ? `${facilityNames[code]} (${code})` : code);

// ---------------------------------------------------------------- login
function loginPage() {
  const q = new URLSearchParams(location.search);
  if (q.get("failed")) $("#failed").hidden = false;
  const next = q.get("next");
  if (next && /^\/[A-Za-z0-9/_-]*$/.test(next)) $("#next").value = next;
}

// ---------------------------------------------------------------- queue
async function clerkPage() {
  $("#clerk").hidden = false;
  document.querySelector("main h1").textContent = t("Batches and rejections");
  document.querySelectorAll("#queue, #queue + p, main > p.muted").forEach((e) => { e.hidden = true; });
  const [batches, rejections] = await Promise.all([api("GET", "/api/batches"), api("GET", "/api/rejections"), loadFacilityNames()]);
  // The clerk's own batches (scanned with --operator set to their user name) come first.
  const mine = (b) => b.operator === session.user;
  batches.sort((a, b) => Number(mine(b)) - Number(mine(a)));
  for (const b of batches) {
    const waiting = b.charts.total - b.charts.approved - b.charts.rejected;
    $("#batches tbody").append(el("tr", { class: mine(b) ? "mine" : "" }, ...[facilityLabel(b.facility), b.batch, b.box_label || "—", (b.operator || "—") + (mine(b) ? " ★" : ""), String(b.files), String(waiting), String(b.charts.approved), String(b.charts.rejected)].map((v) => el("td", { text: v }))));
  }
  for (const r of rejections) {
    $("#rejections tbody").append(el("tr", {}, ...[r.file, facilityLabel(r.facility), r.batch, r.reason || "", r.reviewer || ""].map((v) => el("td", { text: v }))));
  }
}

async function queuePage() {
  await loadSession();
  if (session.role === "clerk") return clerkPage();
  let items;
  try { [items] = await Promise.all([api("GET", "/api/queue"), loadFacilityNames()]); } catch (e) { showMessage(e.message); return; }
  const body = $("#queue tbody");
  $("#empty").hidden = items.length > 0;
  items.forEach((it, i) => {
    const open = () => { location.href = "/charts/" + encodeURIComponent(it.chart); };
    const row = el("tr", { tabindex: "0", "data-index": String(i), onclick: open, onkeydown: (ev) => { if (ev.key === "Enter") open(); } },
      el("td", { text: it.chart, class: "mono" }), el("td", { text: facilityLabel(it.facility) }), el("td", { text: it.form || "—" }),
      el("td", { text: pct(it.confidence), class: it.confidence < 0.9 ? "low" : "" }), el("td", { text: String(it.fields_to_review) }));
    body.append(row);
  });
  const rows = () => [...body.querySelectorAll("tr")];
  rows()[0]?.focus();
  document.addEventListener("keydown", (ev) => {
    const r = rows(); const i = r.indexOf(document.activeElement);
    if (ev.key === "j" || ev.key === "ArrowDown") { r[Math.min(i + 1, r.length - 1)]?.focus(); ev.preventDefault(); }
    if (ev.key === "k" || ev.key === "ArrowUp") { r[Math.max(i - 1, 0)]?.focus(); ev.preventDefault(); }
  });
}

// ---------------------------------------------------------------- review
let chart = null;
const images = {};

function chartId() { return decodeURIComponent(location.pathname.split("/")[2] || ""); }

function fieldOrder(c) {
  const names = c.field_order.filter((n) => c.fields[n]);
  // Fields that need a reviewer first, least confident first; then the rest in form order.
  const review = names.filter((n) => c.fields[n].needs_review).sort((a, b) => c.fields[a].confidence - c.fields[b].confidence);
  return review.concat(names.filter((n) => !c.fields[n].needs_review));
}

function drawPages(c) {
  const holder = $("#pages");
  holder.replaceChildren();
  if (c.next_chart) {
    holder.append(el("p", { class: "proposal" }, "This file was cut into several charts at separator sheets. ",
      el("button", { type: "button", class: "link", text: "Merge with the next chart (" + c.next_chart + ")", onclick: mergeNext })));
  }
  for (const p of c.pages) {
    if (p.flag) {
      const undo = p.flag === "blank" ? "Not blank: read this page" : "Not a separator: read this page";
      holder.append(el("p", { class: "proposal" }, `Page ${p.page} was flagged ${p.flag} and is not read. `,
        el("button", { type: "button", class: "link", text: undo, onclick: () => setFlag(p.page, null) })));
    } else if (c.pages.length > 1) {
      holder.append(el("p", { class: "proposal muted" }, `Page ${p.page}. `,
        el("button", { type: "button", class: "link", text: "Flag as blank", onclick: () => setFlag(p.page, "blank") })));
    }
    if (!p.image) { holder.append(el("p", { class: "error", text: "Page " + p.page + ": " + (p.error || p.status) })); continue; }
    const svgNS = "http://www.w3.org/2000/svg";
    const wrap = el("div", { class: "page", "data-page": String(p.page) });
    // Sent at 1000 pixels wide (about 150 KB): readable, and quick on a clinic's link.
    const img = el("img", { src: p.image + "?width=1000", alt: "Scanned page " + p.page, width: String(p.width), height: String(p.height) });
    images[p.page] = img;
    const svg = document.createElementNS(svgNS, "svg");
    svg.setAttribute("viewBox", `0 0 ${p.width} ${p.height}`);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("class", "boxes");
    for (const name of c.field_order) {
      const f = c.fields[name];
      if (!f || f.page !== p.page || !f.bbox) continue;
      const r = document.createElementNS(svgNS, "rect");
      const [x, y, w, h] = f.bbox;
      r.setAttribute("x", x - 6); r.setAttribute("y", y - 6); r.setAttribute("width", w + 12); r.setAttribute("height", h + 12);
      r.setAttribute("class", f.needs_review ? "box doubt" : "box ok");
      r.setAttribute("data-field", name);
      const t = document.createElementNS(svgNS, "title"); t.textContent = name; r.append(t);
      svg.append(r);
    }
    wrap.append(img, svg);
    holder.append(wrap);
  }
}

/** The image of a field's value, cut on the server (a few KB each). */
function snippet(c, name, f) {
  const img = el("img", { class: "crop", alt: "", "aria-hidden": "true", loading: "lazy" });
  if (f.bbox && f.page) img.src = `/api/charts/${encodeURIComponent(c.chart)}/fields/${encodeURIComponent(name)}/snippet?v=${c.version}`;
  else img.hidden = true;
  return img;
}

function highlight(name) {
  document.querySelectorAll("rect.box").forEach((r) => r.classList.toggle("active", r.dataset.field === name));
  const rect = document.querySelector(`rect.box[data-field="${CSS.escape(name)}"]`);
  rect?.scrollIntoView({ block: "center", behavior: "smooth" });
}

function drawFields(c, focusName) {
  const form = $("#fields");
  form.replaceChildren();
  // Auto-accepted fields are folded away but one key (F3) from view.
  const certain = el("details", { class: "certain" });
  const names = fieldOrder(c);
  const sure = names.filter((n) => !c.fields[n].needs_review).length;
  certain.append(el("summary", { text: `${sure} ${t("field(s) auto-accepted (F3 shows them)")}` }));
  for (const name of names) {
    const f = c.fields[name];
    const label = (session.lang === "km" && c.labels_km && c.labels_km[name]) || c.labels[name] || name;
    const meta = el("span", { class: "meta " + (f.needs_review ? "low" : "ok"), text: f.corrected ? t("corrected") : pct(f.confidence) });
    let input;
    let body;
    if (c.columns && c.columns[name]) {
      body = tableInputs(c, name, f, label);
      input = body.querySelector("input");
    } else {
      input = el("input", { name, "aria-label": label, spellcheck: "false" });
      input.value = f.value ?? "";
      input.dataset.original = input.value;
      body = input;
      if (c.suggest && c.suggest[name]) suggestions(input, c.suggest[name]);
      else if (c.terms && c.terms[name]) termList(input, c.terms[name]);
    }
    const row = el("div", { class: "field" + (f.needs_review ? " needs" : "") },
      el("label", { for: "f-" + name, text: label }), meta, snippet(c, name, f), body,
      el("div", { class: "raw", text: f.raw ? t("read: ") + f.raw : "" }),
      el("div", { class: "issue", text: f.issue || "" }));
    input.id = "f-" + name;
    (f.needs_review ? form : certain).append(row);
  }
  if (sure) form.append(certain);
  for (const input of inputs()) {
    input.addEventListener("focus", () => highlight(input.name));
    input.addEventListener("keydown", (ev) => onFieldKey(ev, input.name, input));
  }
  if (blind()) {
    // Only the double-keyed fields, typed from the image; everything else stays as it is.
    for (const input of inputs()) if (!c.blind.includes(input.name)) input.disabled = true;
    form.prepend(el("p", { class: "proposal", text: t("Second keying: type the highlighted fields from the image, then Ctrl+Enter.") }));
    for (const name of c.blind) { const row = $("#f-" + CSS.escape(name))?.closest(".field"); if (row) form.insertBefore(row, form.children[1]); }
    form.querySelector("input:not([disabled])")?.focus();
  } else if (c.status === "second_key") {
    inputs().forEach((i) => { i.disabled = true; });
    form.prepend(el("p", { class: "proposal", text: t("You approved this chart; it waits for a second reviewer to key ") + (c.double_key || []).join(", ") + "." }));
  } else if (c.status === "disputed") {
    form.prepend(el("p", { class: "proposal", text: t("The two keyings disagree: decide the flagged fields, then approve.") }));
  }
  const focus = focusName && $("#f-" + CSS.escape(focusName));
  if (focus && focus.closest("details:not([open])")) certain.open = true;
  (focus || form.querySelector("input"))?.focus();
  $("#status").textContent = `${c.status} · version ${c.version} · ${c.form || "unknown form"} · ${facilityLabel(c.facility)}/${c.batch}`;
  $("#chart-title").textContent = "Chart " + c.chart;
}

/** A table field (visits, lab results): a grid of inputs, one row per row read and an
 * empty row to add one; Enter and Tab move cell by cell and save the whole table. */
function tableInputs(c, name, f, label) {
  const columns = c.columns[name];
  const rows = Array.isArray(f.value) ? f.value : [];
  const table = el("table", { class: "rows", "aria-label": label });
  table.append(el("thead", {}, el("tr", {}, ...columns.map((col) => el("th", { text: (session.lang === "km" && col.label_km) || col.label })))));
  const tbody = el("tbody");
  rows.concat([{}]).forEach((r, i) => {
    const tr = el("tr");
    for (const col of columns) {
      const input = el("input", { name, "data-row": String(i), "data-col": col.name, "aria-label": `${label} ${i + 1} ${col.label}`, spellcheck: "false" });
      input.value = r[col.name] ?? "";
      input.dataset.original = input.value;
      tr.append(el("td", {}, input));
    }
    tbody.append(tr);
  });
  table.append(tbody);
  return table;
}

/** The rows a table's inputs hold now (rows left empty are dropped). */
function tableValue(name) {
  const rows = [];
  for (const input of inputs().filter((i) => i.name === name && i.dataset.col)) {
    const r = Number(input.dataset.row);
    rows[r] = rows[r] || {};
    rows[r][input.dataset.col] = input.value.trim() === "" ? null : input.value.trim();
  }
  return rows.filter((r) => r && Object.values(r).some((v) => v !== null));
}

/** Suggestions from the gazetteer or the ICD-10 list as the reviewer types (a datalist:
 * arrow keys pick one); places narrowed to the chart's province, district and commune. */
function suggestions(input, kind) {
  const list = el("datalist", { id: "dl-" + input.name });
  input.setAttribute("list", list.id);
  let timer;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = new URLSearchParams({ q: input.value });
      for (const k of ["province", "district", "commune"]) {
        const other = document.querySelector(`#fields input[name="${k}"]`);
        if (other && other !== input && other.value) q.set(k, other.value);
      }
      try {
        const found = await api("GET", `/api/reference/${encodeURIComponent(kind)}?${q}`);
        list.replaceChildren(...found.map((s) => el("option", { value: s.value, label: s.label })));
      } catch (_) { /* suggestions are a help, never in the way */ }
    }, 150);
  });
  // Mount the list beside the input once the row is built.
  queueMicrotask(() => { if (!list.isConnected) input.after(list); });
}

/** The template's vocabulary of a field (its wards) as a datalist: the reviewer types a
 * few letters of a name in either script and picks the canonical value. */
function termList(input, terms) {
  const list = el("datalist", { id: "dl-" + input.name },
    ...terms.map((t) => el("option", { value: t.value, label: t.label })));
  input.setAttribute("list", list.id);
  queueMicrotask(() => { if (!list.isConnected) input.after(list); });
}

/** F2: the next field that needs review after the focused one (wrapping round). */
function nextUncertain() {
  const list = inputs().filter((i) => i.closest(".field.needs"));
  if (!list.length) return;
  const i = list.indexOf(document.activeElement);
  list[(i + 1) % list.length].focus();
}

/** Zoom (Alt+= / Alt+-, Alt+0 to fit) and drag to pan. */
let zoom = 1;
function setZoom(z) {
  zoom = Math.min(4, Math.max(1, z));
  $("#pages").style.setProperty("--zoom", String(zoom));
  const label = $("#zoom-level");
  if (label) label.textContent = Math.round(zoom * 100) + "%";
  const active = document.querySelector("rect.box.active");
  active?.scrollIntoView({ block: "center", inline: "center" });
}
function enablePan() {
  const panel = $("#page-panel");
  let start = null;
  panel.addEventListener("mousedown", (ev) => { start = { x: ev.clientX, y: ev.clientY, left: panel.scrollLeft, top: panel.scrollTop }; panel.classList.add("dragging"); });
  window.addEventListener("mouseup", () => { start = null; panel.classList.remove("dragging"); });
  panel.addEventListener("mousemove", (ev) => { if (start) { panel.scrollLeft = start.left - (ev.clientX - start.x); panel.scrollTop = start.top - (ev.clientY - start.y); } });
  panel.prepend(el("div", { class: "zoom", "aria-live": "polite" }, "Zoom ", el("span", { id: "zoom-level", text: "100%" }), " (Alt+= / Alt+−)"));
}

/** PgDn/PgUp: the next or previous page of a multi-page chart. */
function turnPage(step) {
  const pagesEls = [...document.querySelectorAll("#pages .page")];
  if (pagesEls.length < 2) return;
  const panel = $("#page-panel");
  const top = panel.scrollTop;
  const i = pagesEls.findIndex((p) => p.offsetTop + p.offsetHeight / 2 > top + 1);
  const target = pagesEls[Math.min(pagesEls.length - 1, Math.max(0, (i < 0 ? 0 : i) + step))];
  panel.scrollTo({ top: target.offsetTop - panel.offsetTop, behavior: "smooth" });
}

/** Holds this chart for the reviewer (others skip it); renewed while the page is open. */
async function claim() {
  try { await api("POST", `/api/charts/${encodeURIComponent(chartId())}/claim`); return true; }
  catch (e) {
    showMessage(e.message);
    inputs().forEach((i) => { i.disabled = true; });
    $("#approve").disabled = true; $("#reject").disabled = true;
    return false;
  }
}

function inputs() { return [...document.querySelectorAll("#fields input")]; }

/** Blind second keying: the double-keyed fields are typed again without seeing the first value. */
const blind = () => Array.isArray(chart?.blind) && chart.blind.length > 0;

async function secondKey(patient) {
  const values = {};
  for (const name of chart.blind) values[name] = $("#f-" + CSS.escape(name))?.value ?? "";
  const body = { version: chart.version, values };
  if (typeof patient === "string") body.patient = patient;
  try {
    const r = await api("POST", `/api/charts/${encodeURIComponent(chart.chart)}/second-key`, body);
    showMessage(r.agreed ? "" : t("The two keyings disagree: a senior reviewer will decide."));
    await goNext();
  } catch (e) {
    if (e.status === 409 && e.data && e.data.candidates) return choosePatient(e.data.candidates);
    showMessage(e.message); if (e.status === 409) await reloadChart();
  }
}

async function saveField(name, input) {
  if (blind()) return true;
  const cells = input.dataset.col ? inputs().filter((i) => i.name === name && i.dataset.col) : [input];
  if (cells.every((i) => i.value === i.dataset.original)) return true;
  const value = input.dataset.col ? tableValue(name) : (input.value.trim() === "" ? null : input.value);
  try {
    chart = await api("PUT", `/api/charts/${encodeURIComponent(chart.chart)}/fields/${encodeURIComponent(name)}`, { value, version: chart.version });
    showMessage("");
    return true;
  } catch (e) {
    if (e.status === 409) { showMessage(e.message); await reloadChart(name); }
    else { showMessage(e.message); input.focus(); input.select(); }
    return false;
  }
}

async function onFieldKey(ev, name, input) {
  if (ev.key === "Escape") { input.value = input.dataset.original; ev.preventDefault(); return; }
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); if (await saveField(name, input)) await approve(); return; }
  if (ev.key === "Enter" || ev.key === "Tab") {
    // Enter and Tab save and move on; Shift+Tab saves and goes back.
    if (ev.key === "Tab" && input.value === input.dataset.original) return;
    ev.preventDefault();
    const list = inputs().filter((x) => x.offsetParent !== null); const i = list.indexOf(input);
    const next = list[i + (ev.shiftKey ? -1 : 1)];
    // Within a table, the next cell; the table is saved when the reviewer leaves it.
    if (input.dataset.col && next && next.name === name) { next.focus(); next.select(); return; }
    if (await saveField(name, input)) { drawFields(chart, next?.name || name); drawPages(chart); }
  }
}

async function reloadChart(focusName) {
  chart = await api("GET", "/api/charts/" + encodeURIComponent(chartId()));
  drawPages(chart);
  drawFields(chart, focusName);
}

async function goNext() {
  const queue = await api("GET", "/api/queue");
  const next = queue.find((q) => q.chart !== chart.chart);
  location.href = next ? "/charts/" + encodeURIComponent(next.chart) : "/";
}

async function approve(patient) {
  if (blind()) return secondKey(patient);
  for (const input of inputs()) if (!(await saveField(input.name, input))) return;
  const body = { version: chart.version };
  if (typeof patient === "string") body.patient = patient;
  try { chart = await api("POST", `/api/charts/${encodeURIComponent(chart.chart)}/approve`, body); await goNext(); }
  catch (e) {
    if (e.status === 409 && e.data && e.data.candidates) return choosePatient(e.data.candidates);
    showMessage(e.message); if (e.status === 409) await reloadChart();
  }
}

/** Matching is unsure who the patient is: the reviewer picks a stored patient (1-5) or a new one (N). */
function choosePatient(candidates) {
  const box = $("#patient-choice");
  box.replaceChildren(el("h3", { text: t("Who is this patient?") }), el("p", { class: "muted", text: t("Stored patients like this one. Press a number for the same patient, N for a new patient, Esc to go back.") }));
  const list = el("ol");
  candidates.forEach((c, i) => {
    const who = [c.names.join(" / "), c.birth_date ? t("born") + " " + c.birth_date : "", c.sex || "", c.charts + " " + t("chart(s)")].filter(Boolean).join(" · ");
    const b = el("button", { type: "button", "data-patient": c.patient, onclick: () => approve(c.patient) }, el("kbd", { text: String(i + 1) }), " ", el("strong", { text: c.patient }), " " + who);
    list.append(el("li", {}, b, el("div", { class: "muted", text: Math.round(c.score * 100) + "% · " + c.reasons.join("; ") })));
  });
  const fresh = el("button", { type: "button", id: "new-patient", onclick: () => approve("new") }, el("kbd", { text: "N" }), " " + t("New patient"));
  box.append(list, fresh);
  box.hidden = false;
  box.querySelector("button").focus();
  box.onkeydown = (ev) => {
    const n = Number(ev.key);
    if (n >= 1 && n <= candidates.length) { ev.preventDefault(); approve(candidates[n - 1].patient); }
    else if (ev.key === "n" || ev.key === "N") { ev.preventDefault(); approve("new"); }
    else if (ev.key === "Escape") { ev.preventDefault(); box.hidden = true; inputs()[0]?.focus(); }
  };
}

/** Says, before approval, who matching thinks the patient is. */
async function showMatch() {
  let m;
  try { m = await api("GET", `/api/charts/${encodeURIComponent(chart.chart)}/patient-match`); } catch (e) { return; }
  const text = m.decision === "link" ? t("Patient: the same as") + " " + m.candidate.patient + " (" + m.candidate.names.join(" / ") + ", " + Math.round(m.candidate.score * 100) + "%)"
    : m.decision === "ask" ? t("Patient: possibly one of") + " " + m.candidates.length + " " + t("stored patients; you will be asked when approving")
    : m.decision === "new" ? t("Patient: not seen before (a new patient)") : "";
  if (text) $("#status").after(el("p", { class: "record", id: "patient-match", text }));
}

async function unapprove() {
  const reason = prompt(t("Why take back this approval? (it is audited, and the record is retracted)"));
  if (!reason) return;
  try { chart = await api("POST", `/api/charts/${encodeURIComponent(chart.chart)}/unapprove`, { version: chart.version, reason }); location.reload(); }
  catch (e) { showMessage(e.message); }
}

async function mergeNext() {
  try { chart = await api("POST", `/api/charts/${encodeURIComponent(chart.chart)}/merge-next`, { version: chart.version }); drawPages(chart); drawFields(chart); showMessage(""); }
  catch (e) { showMessage(e.message); if (e.status === 409) await reloadChart(); }
}

async function setFlag(page, flag) {
  try {
    chart = await api("POST", `/api/charts/${encodeURIComponent(chart.chart)}/pages/${page}/flag`, { flag, version: chart.version });
    drawPages(chart); drawFields(chart);
    showMessage(flag ? "" : `Page ${page} is queued to be read; the chart returns to the queue when it is.`);
  } catch (e) { showMessage(e.message); if (e.status === 409) await reloadChart(); }
}

async function reject() {
  const reason = prompt(t("Why is this chart rejected? (e.g. illegible, not a patient chart)"));
  if (!reason) return;
  try { chart = await api("POST", `/api/charts/${encodeURIComponent(chart.chart)}/reject`, { version: chart.version, reason }); await goNext(); }
  catch (e) { showMessage(e.message); if (e.status === 409) await reloadChart(); }
}

async function reviewPage() {
  await loadSession();
  await loadFacilityNames();
  try { await reloadChart(); } catch (e) { showMessage(e.message); return; }
  $("#approve").addEventListener("click", () => approve());
  $("#reject").addEventListener("click", reject);
  if (chart.record) $("#status").after(el("p", { class: "record", id: "record", text: t("Committed under patient") + " " + chart.record.patient + " (" + chart.record.how + (chart.record.score == null ? "" : ", " + Math.round(chart.record.score * 100) + "%") + "), " + chart.record.facts + " " + t("clinical facts") }));
  if (["extracted", "in_review", "disputed"].includes(chart.status)) showMatch();
  const un = $("#unapprove");
  if (chart.status === "approved" && (session.role === "manager" || session.role === "admin")) { un.hidden = false; un.addEventListener("click", unapprove); }
  if (await claim()) setInterval(claim, 5 * 60 * 1000);
  enablePan();
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && !(ev.target instanceof HTMLInputElement)) { ev.preventDefault(); approve(); }
    if ((ev.key === "R" || ev.key === "r") && ev.ctrlKey && ev.shiftKey) { ev.preventDefault(); reject(); }
    if (ev.key === "F2") { ev.preventDefault(); nextUncertain(); }
    if (ev.key === "F3") { ev.preventDefault(); const d = $("details.certain"); if (d) { d.open = !d.open; if (d.open) d.querySelector("input")?.focus(); } }
    if (ev.key === "PageDown" || ev.key === "PageUp") { ev.preventDefault(); turnPage(ev.key === "PageDown" ? 1 : -1); }
    if (ev.altKey && (ev.key === "=" || ev.key === "+")) { ev.preventDefault(); setZoom(zoom * 1.25); }
    if (ev.altKey && ev.key === "-") { ev.preventDefault(); setZoom(zoom / 1.25); }
    if (ev.altKey && ev.key === "0") { ev.preventDefault(); setZoom(1); }
  });
}

// ---------------------------------------------------------------- dashboard
const BOX_STATES = { not_started: "not started", in_progress: "in progress", done: "done", too_many: "too many: scanned twice?", too_few: "too few: charts missing?", not_in_inventory: "not in the inventory" };
const fmt1 = (v) => (v == null ? "–" : (Math.round(v * 10) / 10).toString());
const cells = (values) => values.map((v) => el("td", { text: v == null ? "–" : String(v) }));

async function dashboardPage() {
  await loadSession();
  let p, s;
  try { [p, s] = await Promise.all([api("GET", "/api/programme"), api("GET", "/api/stats")]); } catch (e) { showMessage(e.message); return; }
  $("#report-link").href = "/report?month=" + p.to.slice(0, 7);
  // Facilities: names in the user's language, progress, boxes and forecast.
  const names = {};
  for (const f of p.facilities) {
    names[f.code] = session.lang === "km" && f.name_km ? f.name_km : f.name;
    const c = f.charts;
    const waiting = c.total - c.approved - c.rejected;
    const approved = f.target ? `${c.approved} (${Math.round((100 * c.approved) / f.target)}%)` : String(c.approved);
    const boxes = `${f.boxes.boxes} · ${f.boxes.not_started} ${t("not started")} · ${f.boxes.to_check} ${t("to check")}`;
    const [finish, early, late] = f.forecast_dates;
    const forecast = !f.target ? t("no target") : finish ? `${finish} (${early || "?"} – ${late || t("not at this pace")})` : t("not at this pace");
    const name = el("td", {}, el("span", { text: names[f.code] }), " ", el("code", { text: f.code }));
    if (f.name_km && session.lang !== "km") name.append(el("div", { class: "muted", text: f.name_km, lang: "km" }));
    $("#programme tbody").append(el("tr", {}, name, ...cells([f.province, f.target, c.total, approved, waiting, c.rejected, boxes, forecast])));
    const fig = el("figure", {}, el("img", { src: "/api/plots/burnup.svg?facility=" + encodeURIComponent(f.code), alt: t("Burn-up") + ": " + names[f.code], class: "burnup" }));
    $("#burnups").append(fig);
  }
  const tp = p.totals;
  $("#programme tbody").append(el("tr", { class: "total" }, el("td", { text: t("All facilities") }), ...cells(["", "", tp.total, tp.approved, tp.total - tp.approved - tp.rejected, tp.rejected, "", ""])));
  // The plots, each with its table underneath.
  for (const name of ["throughput", "backlog", "quality", "reviewers", "operators"]) $(`#${name}-plot`).src = `/api/plots/${name}.svg`;
  for (const d of [...p.throughput].reverse()) $("#throughput tbody").append(el("tr", {}, ...cells([d.date, d.scanned, d.extracted, d.approved, d.rejected])));
  for (const b of p.backlog) $("#backlog tbody").append(el("tr", {}, ...cells([b.age, b.charts])));
  for (const q of [...p.quality].reverse()) $("#quality tbody").append(el("tr", {}, ...cells([q.date, q.fields, q.auto_accepted_pct == null ? null : fmt1(q.auto_accepted_pct) + "%", q.corrections, fmt1(q.corrections_per_100), q.rejected])));
  for (const [reason, n] of p.rejection_reasons) $("#reasons tbody").append(el("tr", {}, ...cells([reason || "—", n])));
  for (const r of p.reviewers) $("#people tbody").append(el("tr", {}, ...cells([r.name, r.approved, r.rejected, r.corrections, fmt1(r.charts_per_hour), r.corrections_per_field == null ? null : (Math.round(r.corrections_per_field * 1000) / 1000).toString()])));
  for (const o of p.operators) $("#operators tbody").append(el("tr", {}, ...cells([o.name, o.batches, o.charts, o.rescans, fmt1(o.charts_per_hour)])));
  // Box reconciliation.
  for (const f of p.facilities) $("#box-facility").append(el("option", { value: f.code, text: `${names[f.code]} (${f.code})` }));
  const drawBoxes = async () => {
    const facility = $("#box-facility").value;
    let rows;
    try { rows = await api("GET", "/api/boxes" + (facility ? "?facility=" + encodeURIComponent(facility) : "")); } catch (e) { showMessage(e.message); return; }
    const flaggedOnly = $("#box-flagged").checked;
    const body = $("#boxes tbody");
    body.replaceChildren();
    for (const b of rows) {
      const flag = ["too_many", "too_few", "not_in_inventory"].includes(b.state);
      if (flaggedOnly && !flag) continue;
      const state = el("td", { class: "state", text: t(BOX_STATES[b.state] || b.state) });
      body.append(el("tr", { class: flag ? "flag" : "" }, ...cells([names[b.facility] || b.facility, b.label || t("(no box)"), b.shelf, b.years, b.expected, b.scanned, b.in_review, b.approved, b.rejected]), state));
    }
  };
  $("#box-facility").addEventListener("change", drawBoxes);
  $("#box-flagged").addEventListener("change", drawBoxes);
  await drawBoxes();
  // Counts as before, with names.
  const body = $("#stats tbody");
  const row = (name, c, cls) => body.append(el("tr", { class: cls || "" }, el("td", { text: name }), ...["total", "extracted", "in_review", "approved", "rejected"].map((k) => el("td", { text: String(c[k]) }))));
  for (const [facility, c] of Object.entries(s.by_facility)) row(names[facility] ? `${names[facility]} (${facility})` : facility, c);
  row(t("All facilities"), s.charts, "total");
  $("#pages").textContent = `${t("Pages")}: ${s.pages.total} ${t("total")}, ${s.pages.queued} ${t("queued")}, ${s.pages.done} ${t("done")}, ${s.pages.failed} ${t("failed")}.`;
  const r = s.records || {};
  $("#records").textContent = `${t("Committed records")}: ${r.patients || 0} ${t("patients")}, ${r.encounters || 0} ${t("encounters")}, ${r.facts || 0} ${t("clinical facts")}; ${r.outbox_pending || 0} ${t("change(s) waiting to be pushed to the hospital system")}.`;
  for (const [f, n] of Object.entries(s.corrections_by_field || {}).sort((a, b) => b[1] - a[1])) $("#corrections tbody").append(el("tr", {}, ...cells([f, n])));
}

// ---------------------------------------------------------------- admin
async function adminPage() {
  await loadSession();
  const draw = async () => {
    const users = await api("GET", "/api/users");
    const body = $("#users tbody");
    body.replaceChildren();
    for (const u of users) {
      const toggle = el("button", { type: "button", class: u.disabled ? "" : "danger", text: u.disabled ? "Enable" : "Disable",
        onclick: async () => { try { await api("PUT", `/api/users/${encodeURIComponent(u.name)}/disabled`, { disabled: !u.disabled }); showMessage(""); await draw(); } catch (e) { showMessage(e.message); } } });
      const where = Array.isArray(u.facilities) ? u.facilities.join(", ") : "all";
      body.append(el("tr", { class: u.disabled ? "muted" : "" }, el("td", { text: u.name }), el("td", { text: u.role }), el("td", { text: where }), el("td", { text: u.disabled ? "disabled" : "active" }), el("td", {}, toggle)));
    }
  };
  $("#add-user").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const facilities = String(f.get("facilities") || "").split(/[\s,]+/).filter((c) => c);
    try { await api("POST", "/api/users", { name: f.get("name"), role: f.get("role"), password: f.get("password"), facilities }); ev.target.reset(); showMessage(""); await draw(); }
    catch (e) { showMessage(e.message); }
  });
  try { await draw(); } catch (e) { showMessage(e.message); }
  const templates = await api("GET", "/api/templates");
  for (const tpl of templates) {
    $("#templates tbody").append(el("tr", {}, ...[tpl.form, tpl.name, String(tpl.fields.length), String(tpl.auto_accept), tpl.fields.filter((f) => f.double_key).map((f) => f.name).join(", ") || "—"].map((v) => el("td", { text: v }))));
  }
  $("#check-template").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const res = await fetch("/api/templates/check", { method: "POST", headers: { "X-CSRF-Token": session.csrf, "Content-Type": "text/plain" }, body: ev.target.toml.value, credentials: "same-origin" });
    const r = await res.json();
    $("#check-result").textContent = r.ok ? `ok: form ${r.form}, ${r.fields} field(s)` : (r.problems || [r.error]).join("\n");
  });
}

const pages = { login: loginPage, queue: queuePage, review: reviewPage, dashboard: dashboardPage, admin: adminPage, studio: () => window.studioPage() };
pages[document.body.dataset.page]?.().catch((e) => showMessage(e.message));
