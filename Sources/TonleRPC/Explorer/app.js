// Tonle explorer: a read-only view of the node's committed ledger, built on the node's own RPC API
// (docs/api.md) from the same origin. Views by location hash:
//   #/                     the latest blocks, live from /v1/events
//   #/block/HEIGHT         a block: header fields, transactions and results, certificate
//   #/tx/ID                a transaction: where it is and its result
//   #/account/ID           an account: balances, keys, history
//   #/validators           the validator set that signs the next block
//   #/gateway[/ID[/DATE]]  a gateway's positions on a business date
// Every text from the node goes into the page as text, never as markup.
"use strict";

const view = document.getElementById("view");
const liveHeight = document.getElementById("live-height");
const liveState = document.getElementById("live-state");
const latest = [];          // the newest block events, newest first
const latestMax = 20;

// An element with attributes and children (strings become text nodes).
function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value !== undefined && value !== null) element.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

const link = (href, text, cls) => h("a", { href, class: cls }, text);
const short = (hex) => (hex && hex.length > 16 ? hex.slice(0, 16) + "…" : hex);
const time = (ms) => new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
const resultCell = (result) => h("td", { class: result === "applied" ? "applied" : "rejected" }, result);
const table = (headers, rows) => h("table", {}, h("thead", {}, h("tr", {}, headers.map((name) => h("th", {}, name)))), h("tbody", {}, rows));
const fields = (pairs) => h("dl", {}, pairs.flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]));

async function api(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`${body.code || response.status}: ${body.message || response.statusText}`);
  return body;
}

function show(title, ...content) {
  view.replaceChildren(h("h1", {}, title), ...content);
}

function fail(error) {
  view.append(h("p", { class: "error" }, String(error.message || error)));
}

// #/ — the latest blocks: a page from /v1/blocks, then one row per block event.
function blockRow(block) {
  const ids = (block.transactions || []).map((t) => h("div", {}, link(`#/tx/${t.id}`, short(t.id), "mono"), " ", h("span", { class: t.result === "applied" ? "applied" : "rejected" }, t.result)));
  return h("tr", {}, h("td", { class: "num" }, link(`#/block/${block.height}`, block.height)), h("td", {}, time(block.time_ms)),
    h("td", { class: "num" }, (block.transactions || []).length), h("td", { class: "mono" }, short(block.hash)), h("td", {}, ids));
}

function home() {
  show("Latest blocks", h("p", { class: "muted" }, "Live: each block appears as this node commits it."),
    table(["Height", "Time (UTC)", "Txs", "Hash", "Transactions"], latest.map(blockRow)));
}

// #/block/H
async function block(height) {
  const b = await api(`/v1/blocks/${encodeURIComponent(height)}`);
  const rows = b.transactions.map((id, index) => h("tr", {}, h("td", { class: "num" }, index), h("td", {}, link(`#/tx/${id}`, id, "mono")), resultCell(b.results[index])));
  show(`Block ${b.height}`,
    fields([["hash", h("span", { class: "mono" }, b.hash)], ["previous", link(`#/block/${b.height - 1}`, b.previous_hash, "mono")],
      ["time", time(b.time_ms)], ["proposer", h("span", { class: "mono" }, b.proposer)], ["state root (after it)", h("span", { class: "mono" }, b.state_root)],
      ["transactions", b.transactions.length]]),
    h("h2", {}, "Transactions and results"), table(["#", "Transaction", "Result"], rows),
    h("h2", {}, "Commit certificate"), h("p", { class: "muted" }, "The precommits of more than 2/3 of the voting power, canonical bytes (check offline with tonle verify block)."),
    h("p", { class: "mono" }, b.certificate), h("h2", {}, "Header"), h("p", { class: "mono" }, b.header));
}

// #/tx/ID
async function transaction(id) {
  const t = await api(`/v1/transactions/${encodeURIComponent(id)}`);
  const pairs = [["id", h("span", { class: "mono" }, t.id)], ["status", t.status]];
  if (t.height !== undefined) pairs.push(["block", link(`#/block/${t.height}`, t.height)], ["index in block", t.index]);
  if (t.result !== undefined) pairs.push(["result", h("span", { class: t.result === "applied" ? "applied" : "rejected" }, t.result)]);
  if (t.command !== undefined) pairs.push(["rejected command", t.command]);
  if (t.detail !== undefined) pairs.push(["rule", t.detail]);
  show("Transaction", fields(pairs), h("p", { class: "muted" }, "Its receipt, with Merkle proofs to certified headers: tonle tx receipt ID."));
}

// #/account/ID
async function account(id) {
  const a = await api(`/v1/accounts/${encodeURIComponent(id)}`);
  const balances = a.balances.map((b) => h("tr", {}, h("td", {}, b.currency), h("td", { class: "num" }, b.balance), h("td", { class: "num" }, b.held), h("td", { class: "num" }, b.available)));
  show(`Account ${a.id}`,
    fields([["as of block", link(`#/block/${a.height}`, a.height)], ["keys", h("span", { class: "mono" }, a.keys.join(", "))], ["quorum", a.quorum],
      ["flags", a.flags.join(", ") || "none"], ["frozen", a.frozen ? "YES" : "no"]]),
    h("h2", {}, "Balances"), table(["Currency", "Balance", "Held", "Available"], balances),
    h("h2", {}, "History"), h("p", { class: "muted" }, "Transactions that named or wrote the account, newest first. Statements: tonle statement ID --date YYYY-MM-DD (ISO 20022 camt.053)."),
    h("div", { id: "history" }, "…"));
  const history = await api(`/v1/accounts/${encodeURIComponent(id)}/transactions?limit=50`);
  document.getElementById("history").replaceChildren(table(["Height", "Index", "Transaction"], history.transactions.map((e) =>
    h("tr", {}, h("td", { class: "num" }, link(`#/block/${e.height}`, e.height)), h("td", { class: "num" }, e.index), h("td", {}, link(`#/tx/${e.id}`, e.id, "mono"))))));
}

// #/validators
async function validators() {
  const set = await api("/v1/validators");
  show("Validators", h("p", {}, `The set that signs block ${set.block_height}: total power ${set.total_power}; a commit needs ${set.quorum_power}.`),
    table(["Name", "Power", "Public key"], set.validators.map((v) => h("tr", {}, h("td", {}, v.name), h("td", { class: "num" }, v.power), h("td", { class: "mono" }, v.public_key)))));
}

// #/gateway[/ID[/DATE]]
async function gateway(id, date) {
  const form = h("form", { id: "gateway-form" }, h("input", { name: "gateway", placeholder: "gateway (upi, alipay, …)", value: id || "" }), " ",
    h("input", { name: "date", placeholder: "YYYY-MM-DD (default: today's)", value: date || "" }), " ", h("button", { type: "submit" }, "Show positions"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/gateway/${encodeURIComponent(form.gateway.value.trim())}` + (form.date.value.trim() ? `/${encodeURIComponent(form.date.value.trim())}` : "");
  });
  show("Gateway positions", form);
  if (!id) return;
  const p = await api(`/v1/gateways/${encodeURIComponent(id)}/positions` + (date ? `?date=${encodeURIComponent(date)}` : ""));
  view.append(h("h2", {}, `${p.gateway} on ${p.business_date} (as of block ${p.height})`),
    table(["Currency", "Entries", "Gross inward", "Gross outward", "Refunds", "Reversals", "Top-ups", "Net settled", "Net position", "Closed by"],
      p.positions.map((q) => h("tr", {}, h("td", {}, q.currency), h("td", { class: "num" }, q.count), h("td", { class: "num" }, q.gross_inward),
        h("td", { class: "num" }, q.gross_outward), h("td", { class: "num" }, q.refunds), h("td", { class: "num" }, q.reversals), h("td", { class: "num" }, q.top_ups),
        h("td", { class: "num" }, q.net_settled), h("td", { class: "num" }, q.net_position), h("td", {}, q.closed_by || "open")))),
    h("h2", {}, "Balances now"),
    table(["Account", "Currency", "Balance"], p.balances.map((b) => h("tr", {}, h("td", {}, link(`#/account/${b.account}`, b.account)), h("td", {}, b.currency), h("td", { class: "num" }, b.balance)))));
}

async function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  try {
    switch (parts[0]) {
      case "block": return await block(parts[1]);
      case "tx": return await transaction(parts[1]);
      case "account": return await account(parts[1]);
      case "validators": return await validators();
      case "gateway": return await gateway(parts[1], parts[2]);
      default: return await home();
    }
  } catch (error) { fail(error); }
}

// The search box: a height, a transaction id, or an account.
document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  const query = document.getElementById("query").value.trim();
  if (/^\d+$/.test(query)) location.hash = `#/block/${query}`;
  else if (/^[0-9a-fA-F]{64}$/.test(query)) location.hash = `#/tx/${query.toLowerCase()}`;
  else if (query.includes("@")) location.hash = `#/account/${encodeURIComponent(query)}`;
});

// Live: the status once, then one event per committed block, from the latest `latestMax` on.
async function follow() {
  let from = 1;
  try {
    const height = (await api("/v1/status")).height;
    liveHeight.textContent = height;
    from = Math.max(1, height - latestMax + 1);
  } catch (error) { liveState.textContent = "unreachable"; }
  const events = new EventSource(`/v1/events?from=${from}`);
  events.addEventListener("open", () => { liveState.textContent = "live"; });
  events.addEventListener("error", () => { liveState.textContent = "reconnecting"; });
  events.addEventListener("block", (message) => {
    const event = JSON.parse(message.data);
    liveHeight.textContent = Math.max(Number(liveHeight.textContent) || 0, event.height);
    if (!latest.some((b) => b.height === event.height)) latest.unshift(event);
    latest.sort((a, b) => b.height - a.height);
    latest.splice(latestMax);
    if (location.hash === "" || location.hash === "#/") {
      const body = view.querySelector("tbody");
      if (body) body.replaceChildren(...latest.map(blockRow));
    }
  });
}

window.addEventListener("hashchange", route);
route();
follow();
