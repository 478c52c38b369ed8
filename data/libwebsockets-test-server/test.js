// Comlink test page: the dumb-increment counter and the lws-mirror canvas.
// No dependencies; the WebSocket URL follows the page's own location.
"use strict";

function wsUrl(query) {
  var scheme = location.protocol === "https:" ? "wss://" : "ws://";
  return scheme + location.host + "/" + (query || "");
}

// One WebSocket with a status line; reconnects a few seconds after a close.
function connect(protocol, query, statusEl, handlers) {
  var ws;
  function open() {
    statusEl.textContent = "connecting";
    statusEl.className = "status";
    try {
      ws = new WebSocket(wsUrl(query), protocol);
    } catch (e) {
      statusEl.textContent = "cannot connect: " + e.message;
      statusEl.className = "status closed";
      return;
    }
    ws.onopen = function () {
      statusEl.textContent = "connected";
      statusEl.className = "status open";
      handlers.open(ws);
    };
    ws.onmessage = function (ev) { handlers.message(ev.data); };
    ws.onclose = function (ev) {
      statusEl.textContent = "closed (" + ev.code + (ev.reason ? " " + ev.reason : "") +
        "), reconnecting";
      statusEl.className = "status closed";
      handlers.close();
      setTimeout(open, 3000);
    };
  }
  open();
  return function send(text) {
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(text);
      return true;
    }
    return false;
  };
}

// dumb-increment-protocol: show each number; "reset\n" restarts the count.
(function () {
  var number = document.getElementById("number");
  var reset = document.getElementById("reset");
  var send = connect("dumb-increment-protocol", "",
    document.getElementById("dumb-status"), {
      open: function () { reset.disabled = false; },
      message: function (text) {
        number.textContent = text;
        number.setAttribute("data-count", text);
      },
      close: function () { reset.disabled = true; }
    });
  reset.onclick = function () { send("reset\n"); };
})();

// lws-mirror-protocol: strokes go out as "d #rrggbb x0 y0 x1 y1;", and every
// command that comes back (ours and everyone else's) is drawn. The lws test
// client sends circles, "c #rrggbb x y r;".
(function () {
  var canvas = document.getElementById("canvas");
  var ctx = canvas.getContext("2d");
  var colour = document.getElementById("colour");
  var name = new URLSearchParams(location.search).get("mirror") || "";
  document.getElementById("mirror-name").textContent = JSON.stringify(name);
  var received = 0;

  var send = connect("lws-mirror-protocol",
    name ? "?mirror=" + encodeURIComponent(name) : "",
    document.getElementById("mirror-status"), {
      open: function () {},
      message: function (text) {
        text.split(";").forEach(function (cmd) {
          cmd = cmd.trim();
          if (cmd && draw(cmd)) {
            received++;
            canvas.setAttribute("data-received", String(received));
            canvas.setAttribute("data-last", cmd + ";");
          }
        });
      },
      close: function () {}
    });

  function draw(cmd) {
    var f = cmd.split(/\s+/);
    var n = f.slice(2).map(Number);
    if (!/^#[0-9a-fA-F]{6}$/.test(f[1]) || n.some(isNaN)) {
      return false;
    }
    if (f[0] === "d" && n.length === 4) {
      ctx.strokeStyle = f[1];
      ctx.lineWidth = 2;
      ctx.lineCap = "round";
      ctx.beginPath();
      ctx.moveTo(n[0], n[1]);
      ctx.lineTo(n[2], n[3]);
      ctx.stroke();
      return true;
    }
    if (f[0] === "c" && n.length === 3) {
      ctx.strokeStyle = f[1];
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.arc(n[0], n[1], n[2], 0, 2 * Math.PI);
      ctx.stroke();
      return true;
    }
    return false;
  }

  var last = null;
  function point(ev) {
    // The canvas's own pixels: inside its border, scaled if CSS shrinks it.
    var r = canvas.getBoundingClientRect();
    return {
      x: Math.round((ev.clientX - r.left - canvas.clientLeft) * canvas.width / canvas.clientWidth),
      y: Math.round((ev.clientY - r.top - canvas.clientTop) * canvas.height / canvas.clientHeight)
    };
  }
  canvas.addEventListener("pointerdown", function (ev) {
    last = point(ev);
    canvas.setPointerCapture(ev.pointerId);
    ev.preventDefault();
  });
  canvas.addEventListener("pointermove", function (ev) {
    if (!last) {
      return;
    }
    var p = point(ev);
    if (p.x === last.x && p.y === last.y) {
      return;
    }
    // Drawn when the server mirrors it back, like every other stroke.
    send("d " + colour.value + " " + last.x + " " + last.y + " " + p.x + " " + p.y + ";");
    last = p;
  });
  function up() { last = null; }
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
})();
