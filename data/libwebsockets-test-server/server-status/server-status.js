// Comlink server status page: listens to the lws-server-status protocol on
// the host that served the page and shows what it sends, with a small chart
// of open connections and load over time. No dependencies.
//
// Every message is {"i": <server state>, "files": [{"path", "val"}...]}.
// The page keeps its state in the DOM too (body data-state, data-updates;
// #chart data-points), so a headless browser can check it.
"use strict";

var HISTORY = 120; // samples kept for the chart

var samples = [];
var updates = 0;

function $(id) { return document.getElementById(id); }

function wsUrl() {
  var scheme = location.protocol === "https:" ? "wss://" : "ws://";
  return scheme + location.host + "/";
}

function setStatus(text, cls, state) {
  var el = $("ws-status");
  el.textContent = text;
  el.className = "status" + (cls ? " " + cls : "");
  document.body.setAttribute("data-state", state);
}

function num(v) {
  var n = Number(v);
  return isFinite(n) ? n : 0;
}

function formatUptime(secs) {
  secs = Math.floor(num(secs));
  var d = Math.floor(secs / 86400), h = Math.floor(secs / 3600) % 24,
      m = Math.floor(secs / 60) % 60, s = secs % 60;
  function two(n) { return (n < 10 ? "0" : "") + n; }
  return (d ? d + "d " : "") + two(h) + ":" + two(m) + ":" + two(s);
}

function formatBytes(v) {
  var n = num(v), units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(n)) + " " + units[i];
}

// Replaces the rows of table `id`'s body; each row is a list of
// [text, className] cells.
function fillTable(id, rows, attr) {
  var body = $(id).tBodies[0];
  while (body.firstChild) body.removeChild(body.firstChild);
  rows.forEach(function (row) {
    var tr = document.createElement("tr");
    if (row.attr) tr.setAttribute(row.attr[0], row.attr[1]);
    row.cells.forEach(function (c) {
      var td = document.createElement("td");
      td.textContent = c[0];
      if (c[1]) td.className = c[1];
      tr.appendChild(td);
    });
    body.appendChild(tr);
  });
}

function fillList(el, items, make) {
  while (el.firstChild) el.removeChild(el.firstChild);
  items.forEach(function (it) { make(el, it); });
}

function showVhosts(vhosts) {
  var hidden = !Array.isArray(vhosts);
  $("vhosts").hidden = hidden;
  $("vhosts-hidden").hidden = !hidden;
  if (hidden) return;
  fillTable("vhosts", vhosts.map(function (v) {
    return {
      attr: ["data-vhost", String(v.name)],
      cells: [
        [String(v.name), ""],
        [String(v.port), "num"],
        [v.use_ssl === "1" ? "yes" : "no", ""],
        [String(num(v.h1_trans)), "num"],
        [String(num(v.ws_upg)), "num"],
        [String(num(v.rejected)), "num"],
        [formatBytes(v.tx), "num"],
        [(v["ws-protocols"] || []).join("\n"), "list"],
        [(v.mounts || []).map(function (m) { return m.mountpoint; }).join("\n"), "list"]
      ]
    };
  }));
}

function showThreads(pt) {
  fillTable("threads", (pt || []).map(function (t, i) {
    return {
      attr: ["data-thread", String(i)],
      cells: [[String(i), "num"], [String(num(t.fds_count)), "num"],
              [t.accepted === undefined ? "-" : String(num(t.accepted)), "num"], ["", ""]]
    };
  }));
}

function showPlugins(plugins) {
  plugins = plugins || [];
  var ul = $("plugins");
  fillList(ul, plugins, function (parent, p) {
    var li = document.createElement("li");
    var name = String(p);
    li.textContent = name.slice(name.lastIndexOf("/") + 1);
    li.title = name;
    parent.appendChild(li);
  });
  ul.setAttribute("data-count", String(plugins.length));
}

// What plugins report (the packet service's counts, bytes, journal size,
// subscriber lag...), as the metrics endpoint has them.
function showFigures(figures) {
  figures = figures || [];
  $("figures-section").hidden = figures.length === 0;
  fillTable("figures", figures.map(function (f) {
    return {
      attr: ["data-figure", String(f.name)],
      cells: [[String(f.name)], [String(f.labels)], [String(f.value), "num"]]
    };
  }));
}

// The last reload (SIGHUP, systemctl reload, or a watched file changed):
// taken, or refused with each problem as file:line:col.
function showReload(r) {
  var last = r && r.last, p = $("reload");
  if (!last) {
    p.textContent = "none since the start";
    p.className = "";
    p.setAttribute("data-result", "none");
  } else {
    p.textContent = (last.ok ? "taken " : "refused ") + last.at + ": " + last.summary +
      " (" + num(r.taken) + " taken, " + num(r.refused) + " refused so far)";
    p.className = last.ok ? "" : "refused";
    p.setAttribute("data-result", last.ok ? "taken" : "refused");
  }
  fillList($("reload-problems"), (last && last.problems) || [], function (parent, text) {
    var li = document.createElement("li"), code = document.createElement("code");
    code.textContent = String(text);
    li.appendChild(code);
    parent.appendChild(li);
  });
}

function showFiles(files) {
  files = files || [];
  $("files-section").hidden = files.length === 0;
  fillList($("files"), files, function (parent, f) {
    var dt = document.createElement("dt"), dd = document.createElement("dd"),
        pre = document.createElement("pre");
    dt.textContent = String(f.path);
    pre.textContent = String(f.val);
    dd.appendChild(pre);
    parent.appendChild(dt);
    parent.appendChild(dd);
  });
}

// The chart: open connections (blue, left scale) and the 1-minute load
// (orange, right scale) for the last HISTORY updates.
function drawChart() {
  var c = $("chart"), g = c.getContext("2d");
  var w = c.width, h = c.height, left = 44, right = 44, top = 12, bottom = 26;
  var pw = w - left - right, ph = h - top - bottom;
  g.clearRect(0, 0, w, h);
  g.font = "12px sans-serif";

  var maxConns = 1, maxLoad = 0.5;
  samples.forEach(function (s) {
    maxConns = Math.max(maxConns, s.conns);
    maxLoad = Math.max(maxLoad, s.load);
  });
  // Four grid steps of whole connections and of tenths of load.
  maxConns = Math.ceil(maxConns * 1.2 / 4) * 4;
  maxLoad = Math.ceil(maxLoad * 1.2 / 0.4) * 0.4;

  // Grid and scales.
  g.strokeStyle = "#e4e4e4";
  g.lineWidth = 1;
  g.textBaseline = "middle";
  for (var i = 0; i <= 4; i++) {
    var y = Math.round(top + ph - ph * i / 4) + 0.5;
    g.beginPath(); g.moveTo(left, y); g.lineTo(left + pw, y); g.stroke();
    g.fillStyle = "#2060c0"; g.textAlign = "right";
    g.fillText(String(Math.round(maxConns * i / 4)), left - 6, y);
    g.fillStyle = "#d07010"; g.textAlign = "left";
    g.fillText((maxLoad * i / 4).toFixed(1), left + pw + 6, y);
  }
  g.strokeStyle = "#999";
  g.strokeRect(left + 0.5, top + 0.5, pw, ph);

  // Time axis: seconds before the newest sample.
  var newest = samples.length ? samples[samples.length - 1].t : 0;
  var oldest = samples.length ? samples[0].t : 0;
  var span = Math.max(newest - oldest, 1);
  g.fillStyle = "#555"; g.textAlign = "center"; g.textBaseline = "top";
  g.fillText("-" + Math.round(span / 1000) + " s", left + 12, top + ph + 6);
  g.fillText("now", left + pw - 12, top + ph + 6);

  function line(colour, value, max) {
    if (!samples.length) return;
    g.strokeStyle = colour;
    g.fillStyle = colour;
    g.lineWidth = 2;
    g.beginPath();
    samples.forEach(function (s, k) {
      var x = left + pw - pw * (newest - s.t) / span;
      if (samples.length === 1) x = left + pw;
      var y = top + ph - ph * Math.min(value(s) / max, 1);
      if (k === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
    var last = samples[samples.length - 1];
    g.beginPath();
    g.arc(left + pw, top + ph - ph * Math.min(value(last) / max, 1), 3, 0, 2 * Math.PI);
    g.fill();
  }
  line("#d07010", function (s) { return s.load; }, maxLoad);
  line("#2060c0", function (s) { return s.conns; }, maxConns);

  var last = samples[samples.length - 1];
  c.setAttribute("data-points", String(samples.length));
  c.setAttribute("data-last", last ? last.conns + " " + last.load : "");
}

function onMessage(text) {
  var msg;
  try {
    msg = JSON.parse(text);
  } catch (e) {
    setStatus("connected, bad message: " + e.message, "closed", "error");
    return;
  }
  var i = msg.i || {};
  var ctx = (i.contexts && i.contexts[0]) || {};
  var conns = num(ctx.wsi_alive), load = num(i.l1);

  $("version").textContent = i.version || "-";
  $("uptime").textContent = formatUptime(i.uptime);
  $("load").textContent = [i.l1, i.l2, i.l3].map(function (v) {
    return v === undefined ? "-" : String(v);
  }).join("  ");
  $("wsi-alive").textContent = String(conns);
  showVhosts(ctx.vhosts);
  showThreads(ctx.pt);
  showPlugins(i.plugins);
  showFigures(i.plugin_figures);
  showReload(i.reload);
  showFiles(msg.files);

  samples.push({ t: Date.now(), conns: conns, load: load });
  if (samples.length > HISTORY) samples.shift();
  drawChart();

  updates++;
  $("updates").textContent = String(updates);
  $("last-update").textContent = new Date().toLocaleTimeString();
  document.body.setAttribute("data-updates", String(updates));
  setStatus("connected", "open", "connected");
}

function connect() {
  var ws;
  setStatus("connecting", "", "connecting");
  try {
    ws = new WebSocket(wsUrl(), "lws-server-status");
  } catch (e) {
    setStatus("cannot connect: " + e.message, "closed", "error");
    return;
  }
  ws.onopen = function () { setStatus("connected", "open", "connected"); };
  ws.onmessage = function (ev) { onMessage(ev.data); };
  ws.onclose = function (ev) {
    setStatus("closed (" + ev.code + (ev.reason ? " " + ev.reason : "") +
      "), reconnecting", "closed", "closed");
    setTimeout(connect, 3000);
  };
}

drawChart();
connect();
