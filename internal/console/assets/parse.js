// The console's parsers, apart from the page so that they can be tested
// on their own (internal/console/parse_test.go runs them in Node.js).

// parseMetrics reads the switchyard_<Name>_total series of the Prometheus
// text exposition format (https://prometheus.io/docs/instrumenting/exposition_formats/):
// [{name, labels, value}]. Label values are unescaped (\\, \", \n).
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split("\n")) {
    const m = /^switchyard_(\w+)_total\{((?:[^"}]|"(?:[^"\\]|\\.)*")*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    }
    const value = Number(m[3]);
    if (!Number.isNaN(value)) out.push({ name: m[1], labels, value });
  }
  return out;
}

// sumFor adds up metric name over the series of one rule (scope s =
// {account, region}, bus, rule), or of one of its targets.
export function sumFor(series, name, s, bus, rule, target) {
  let n = 0;
  for (const x of series) {
    const l = x.labels;
    if (x.name === name && l.account === s.account && l.region === s.region && l.bus === bus && l.rule === rule &&
      (target === undefined || l.target === target)) n += x.value;
  }
  return n;
}

// sseParser returns a function to push the text of a Server-Sent Events
// stream to as it arrives, in pieces cut anywhere; it calls
// onEvent(type, data) for each complete event (type "message" unless an
// "event:" line says), as the HTML standard's event stream parsing does
// for the fields the tail sends: "event", "data" (lines joined by "\n"),
// comments (":") ignored, lines ended by LF, CR or CRLF.
export function sseParser(onEvent) {
  let buf = "";
  let type = "", data = [], pendingCR = false;
  const line = (l) => {
    if (l === "") {
      if (data.length) onEvent(type || "message", data.join("\n"));
      type = ""; data = [];
      return;
    }
    if (l.startsWith(":")) return;
    const i = l.indexOf(":");
    const field = i < 0 ? l : l.slice(0, i);
    let value = i < 0 ? "" : l.slice(i + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") type = value;
    else if (field === "data") data.push(value);
  };
  return (chunk) => {
    if (pendingCR && chunk.startsWith("\n")) chunk = chunk.slice(1);
    pendingCR = false;
    buf += chunk;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(buf);
      if (!m) break;
      if (m[0] === "\r" && m.index === buf.length - 1) pendingCR = true; // a CRLF cut between pieces
      line(buf.slice(0, m.index));
      buf = buf.slice(m.index + m[0].length);
    }
  };
}
